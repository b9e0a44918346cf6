"""The department API in a browser: the documentation renders on a closed network (every request to another
host is refused), and a commander issues a token, copies it, and revokes it — the next call is a 401."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect

from linli.api.models import ApiToken
from linli.conftest import World
from linli.factories import TEST_PASSWORD
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser


def _closed_network(page: Any, base: str) -> list[str]:
    """Abort every request that does not go to the live server; return what was refused."""
    refused: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    page.context.route("**/*", guard)
    return refused


@pytest.mark.parametrize("seat", ["desk", "phone"])
def test_the_api_documentation_renders_without_the_internet(
    request: pytest.FixtureRequest, live_server: Any, seat: str, shot: Screens
) -> None:
    page = request.getfixturevalue(f"{seat}_page")
    refused = _closed_network(page, live_server.url)
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Linli API")
    expect(page.locator(".swagger-ui .info")).to_contain_text("X-Linli-Signature")
    expect(page.locator(".swagger-ui .opblock-tag", has_text="webhooks").first).to_be_visible()
    expect(page.get_by_text("case.created", exact=True).first).to_be_visible()
    shot(page, seat)
    assert refused == []


def test_a_commander_issues_copies_and_revokes_a_token(world: World, desk_page: Any, shot: Screens) -> None:
    page = desk_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, "commander", TEST_PASSWORD)
    page.goto("/api-tokens/")
    expect(page.locator("a[href='/api/v1/docs']")).to_be_visible()
    page.locator("a.btn.primary[href='/api-tokens/new/']").click()
    page.fill("#id_name", "区疾控中心 协查推送")
    page.select_option("#id_department", "cdc")
    page.locator("input[name=permissions][value=reports]").uncheck()
    shot(page, "1-form")
    page.locator("form.token-form button.btn.primary").click()

    token_box = page.locator("#raw-token")
    raw = token_box.input_value()
    assert raw.startswith("lnl_")
    page.locator("#copy-token").click()
    expect(page.locator("#copy-status")).not_to_be_empty()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    shot(page, "2-shown-once")

    api = Client()
    assert api.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {raw}"}).status_code == 200

    page.locator("a.btn.primary[href='/api-tokens/']").click()
    row = page.locator("table.tokens tbody tr").first
    expect(row).to_contain_text("区疾控中心 协查推送")
    expect(page.locator("body")).not_to_contain_text(raw)
    shot(page, "3-list")

    row.locator("a[href$='/revoke/']").click()
    shot(page, "4-confirm")
    page.locator("form button.btn.danger").click()
    page.wait_for_url("**/api-tokens/")
    expect(page.locator("table.tokens tbody tr.revoked")).to_have_count(1)
    shot(page, "5-revoked")

    assert ApiToken.objects.get(prefix=raw[:12]).revoked_at is not None
    assert api.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
