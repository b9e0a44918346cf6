"""Tokens for the API tests: a department's token for the demo community with the permissions asked for."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from linli.api.services import api_token_create
from linli.conftest import World


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def make_token(world: World) -> Callable[..., str]:
    def make(
        *permissions: str,
        role: str = "department",
        scope: str = "nanli",
        name: str = "区疾控中心",
        department: str = "cdc",
    ) -> str:
        return api_token_create(
            actor=None, role=role, scope_code=scope, name=name, department=department, permissions=permissions
        )[1]

    return make
