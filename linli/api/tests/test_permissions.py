"""A token may do only what it was given: 403 naming the missing permission; out-of-scope objects 404."""

from __future__ import annotations

import io

import pytest

from linli.api.tests.conftest import bearer
from linli.epidemic.models import DispatchBatch
from linli.factories import TEST_PASSWORD

DEPARTMENT_CALLS = [
    ("dispatch", "get", "/api/v1/epidemic/dispatch-lists/{batch}"),
    ("dispatch", "get", "/api/v1/epidemic/dispatch-lists/{batch}/report.xlsx"),
    ("reports", "get", "/api/v1/reports/daily?scope=nanli"),
    ("read", "get", "/api/v1/registry/communities"),
    ("read", "get", "/api/v1/registry/residents"),
    ("read", "get", "/api/v1/registry/residents/{resident}"),
    ("webhooks", "get", "/api/v1/webhooks"),
]


@pytest.fixture
def batch(world) -> DispatchBatch:  # type: ignore[no-untyped-def]
    from linli.epidemic.intake import dispatch_list_receive

    content = "姓名,身份证号,手机号\n李秀英,,13812341234\n".encode()
    return dispatch_list_receive(
        actor=world.commander,
        community=world.community,
        content=content,
        filename="list.csv",
        sender="区疾控",
    ).batch


def url_of(template: str, world, batch) -> str:  # type: ignore[no-untyped-def]
    return template.format(batch=batch.pk, resident=world.resident1.pk)


@pytest.mark.parametrize(("permission", "method", "template"), DEPARTMENT_CALLS)
def test_a_token_without_the_permission_is_refused_with_a_clear_message(
    world, client, make_token, batch, permission, method, template
) -> None:
    others = [p for p in ("dispatch", "reports", "read", "webhooks", "broadcasts") if p != permission]
    raw = make_token(*others)
    response = getattr(client, method)(url_of(template, world, batch), headers=bearer(raw))
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert f'"{permission}" permission' in detail and "administrator" in detail


@pytest.mark.parametrize(("permission", "method", "template"), DEPARTMENT_CALLS)
def test_a_token_with_the_permission_gets_through(
    world, client, make_token, batch, permission, method, template
) -> None:
    role = "observer" if permission in ("reports", "read") else "department"
    raw = make_token(permission, role=role)
    response = getattr(client, method)(url_of(template, world, batch), headers=bearer(raw))
    assert response.status_code == 200, response.content


def test_sending_a_dispatched_list_needs_the_dispatch_permission(world, client, make_token) -> None:
    def send(raw: str) -> int:
        upload = io.BytesIO("姓名,身份证号,手机号\n王建国,,13900005678\n".encode())
        upload.name = "list.csv"
        return client.post(
            "/api/v1/epidemic/dispatch-lists?community=nanli", {"file": upload}, headers=bearer(raw)
        ).status_code

    assert send(make_token("reports", "webhooks")) == 403
    assert send(make_token("dispatch")) == 201


def test_a_token_without_listed_permissions_is_limited_by_its_role_alone(world, client, make_token) -> None:
    raw = make_token(role="community_admin")
    assert client.get("/api/v1/reports/daily?scope=nanli", headers=bearer(raw)).status_code == 200
    assert client.get("/api/v1/registry/communities", headers=bearer(raw)).status_code == 200


def test_a_signed_in_person_is_governed_by_their_role_not_token_permissions(world, client) -> None:
    client.login(username="commander", password=TEST_PASSWORD)
    assert client.get("/api/v1/reports/daily?scope=nanli").status_code == 200


def test_out_of_scope_objects_are_404_even_with_the_permission(world, client, make_token, batch) -> None:
    other = make_token("dispatch", "read", scope="other", name="别的社区")
    assert client.get(f"/api/v1/epidemic/dispatch-lists/{batch.pk}", headers=bearer(other)).status_code == 404
    assert (
        client.get(f"/api/v1/registry/residents/{world.resident1.pk}", headers=bearer(other)).status_code
        == 404
    )
    assert (
        client.get(
            "/api/v1/reports/daily?scope=nanli", headers=bearer(make_token("reports", scope="other"))
        ).status_code
        == 404
    )


def test_the_department_role_still_cannot_do_what_its_role_forbids(world, client, make_token) -> None:
    # "read" lets a department read registers, masked; revealing a phone is not for departments.
    raw = make_token("read")
    response = client.post(
        f"/api/v1/registry/residents/{world.resident1.pk}/reveal",
        {"field": "phone"},
        content_type="application/json",
        headers=bearer(raw),
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/responses"),
        ("get", "/api/v1/tasks"),
        ("get", "/api/v1/plans"),
        ("get", "/api/v1/volunteers"),
        ("get", "/api/v1/supplies/balances?community=nanli"),
    ],
)
def test_everything_a_limited_token_was_not_given_is_refused(world, client, make_token, method, path) -> None:
    """Deny by default: an administrator's token with only "webhooks" activates no plan and reads no tasks."""
    raw = make_token("webhooks", "reports", role="community_admin")
    call = getattr(client, method)
    answer = call(
        path, data={} if method == "post" else None, content_type="application/json", headers=bearer(raw)
    )
    assert answer.status_code == 403, answer.content
    assert "full" in answer.json()["detail"]


def test_a_token_given_everything_its_role_allows_gets_through(world, client, make_token) -> None:
    raw = make_token("full", role="community_admin")
    assert client.get("/api/v1/tasks", headers=bearer(raw)).status_code == 200
    assert client.get("/api/v1/plans", headers=bearer(raw)).status_code == 200
