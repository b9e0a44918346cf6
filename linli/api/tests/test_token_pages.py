from __future__ import annotations

import re

import pytest
from django.test import Client

from linli.api.models import ApiToken
from linli.api.services import api_token_create
from linli.api.tests.conftest import bearer
from linli.comms.models import Channel, ChannelEndpoint
from linli.conftest import World
from linli.core.models import AuditLog
from linli.factories import TEST_PASSWORD


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(headers={"Accept-Language": "en"})
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.fixture
def tokens(world: World) -> dict[str, ApiToken]:
    made = {
        "nanli": api_token_create(
            actor=world.commander,
            role="department",
            scope_code="nanli",
            name="区疾控中心 协查推送",
            department="cdc",
            permissions=["dispatch", "webhooks"],
        )[0],
        "other": api_token_create(
            actor=world.charlie,
            role="department",
            scope_code="other",
            name="派出所 别的社区",
            department="police",
        )[0],
        "street": api_token_create(
            actor=world.street_admin,
            role="observer",
            scope_code=world.community.street.code,
            name="街道办 数据平台",
            department="street",
            permissions=["reports"],
        )[0],
    }
    return made


def raw_of(html: str) -> str:
    found = re.search(r'id="raw-token"[^>]*>(lnl_[^<]+)<', html)
    assert found is not None
    return found.group(1)


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.name for t in response.context["tokens"]]


def test_the_community_commander_sees_only_their_communitys_tokens(world, tokens) -> None:
    response = signed_in(world.commander).get("/api-tokens/")
    assert response.status_code == 200
    assert names(response) == ["区疾控中心 协查推送"]
    html = response.content.decode()
    assert "CDC (disease control)" in html and "dispatched lists" in html and "webhooks" in html
    assert "/api/v1/docs" in html


def test_the_street_administrator_sees_the_streets_and_its_communities_tokens(world, tokens) -> None:
    response = signed_in(world.street_admin).get("/api-tokens/")
    assert sorted(names(response)) == sorted(["区疾控中心 协查推送", "派出所 别的社区", "街道办 数据平台"])


def test_another_communitys_administrator_sees_only_their_own(world, tokens) -> None:
    assert names(signed_in(world.charlie).get("/api-tokens/")) == ["派出所 别的社区"]


@pytest.mark.parametrize("who", ["alice", "bob", "observer"])
def test_staff_who_are_not_administrators_are_refused(world, tokens, who) -> None:
    client = signed_in(getattr(world, who))
    assert client.get("/api-tokens/").status_code == 403
    assert client.get("/api-tokens/new/").status_code == 403
    assert client.post(f"/api-tokens/{tokens['nanli'].pk}/revoke/").status_code == 403
    assert ApiToken.objects.get(pk=tokens["nanli"].pk).revoked_at is None


def test_signed_out_visitors_are_sent_to_sign_in(client, world) -> None:
    response = client.get("/api-tokens/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_list_shows_each_tokens_webhooks_in_a_fixed_number_of_queries(
    world, tokens, django_assert_max_num_queries
) -> None:
    for i, token in enumerate(ApiToken.objects.all()):
        for n in range(2):
            ChannelEndpoint.objects.create(
                kind=Channel.WEBHOOK,
                name=f"hook {i}-{n}",
                url=f"http://10.0.0.{i}:8080/hook{n}",
                token=token,
                events=["case.created"],
                community_id=token.user.community_id,
                street_id=token.user.street_id,
            )
    client = signed_in(world.street_admin)
    with django_assert_max_num_queries(12):
        response = client.get("/api-tokens/")
    assert response.content.decode().count("http://10.0.0.") == 6


def test_issuing_a_token_shows_it_once_and_keeps_only_its_hash(world) -> None:
    client = signed_in(world.commander)
    form = client.get("/api-tokens/new/")
    once = form.context["form"].initial["once"]
    response = client.post(
        "/api-tokens/new/",
        {
            "name": "区疾控中心 协查推送",
            "department": "cdc",
            "scope": "nanli",
            "permissions": ["dispatch", "webhooks"],
            "role": "department",
            "once": once,
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = raw_of(response.content.decode())
    assert "shown only this once" in response.content.decode()
    token = ApiToken.objects.get(prefix=raw[:12])
    assert raw not in token.key_hash
    assert (token.name, token.department, token.permissions) == (
        "区疾控中心 协查推送",
        "cdc",
        ["dispatch", "webhooks"],
    )
    assert token.created_by == world.commander
    assert (token.user.role, token.user.community, token.user.is_service_account) == (
        "department",
        world.community,
        True,
    )
    entry = AuditLog.objects.get(action="token", target_id=str(token.pk))
    assert entry.actor == world.commander and entry.community_id == world.community.pk
    assert "created for department nanli" in entry.detail
    # The list never shows the token again, only its prefix.
    listing = client.get("/api-tokens/").content.decode()
    assert raw not in listing and token.prefix in listing
    # Sending the same form again (a reload) makes no second token.
    again = client.post(
        "/api-tokens/new/",
        {
            "name": "区疾控中心 协查推送",
            "department": "cdc",
            "scope": "nanli",
            "permissions": ["dispatch"],
            "role": "department",
            "once": once,
        },
    )
    assert again.status_code == 302
    assert ApiToken.objects.count() == 1


def test_the_token_issued_on_the_page_works_at_once(world, client) -> None:
    admin = signed_in(world.commander)
    once = admin.get("/api-tokens/new/").context["form"].initial["once"]
    page = admin.post(
        "/api-tokens/new/",
        {
            "name": "区疾控",
            "department": "cdc",
            "scope": "nanli",
            "permissions": ["read"],
            "role": "department",
            "once": once,
        },
    ).content.decode()
    raw = raw_of(page)
    assert client.get("/api/v1/registry/communities", headers=bearer(raw)).status_code == 200
    assert client.get("/api/v1/reports/daily", headers=bearer(raw)).status_code == 403


def test_a_community_commander_cannot_issue_for_another_community_or_the_street(world) -> None:
    client = signed_in(world.commander)
    form = client.get("/api-tokens/new/")
    assert [code for code, _label in form.context["form"].fields["scope"].choices] == ["nanli"]
    once = form.context["form"].initial["once"]
    for scope in ("other", world.community.street.code):
        response = client.post(
            "/api-tokens/new/",
            {
                "name": "x",
                "department": "cdc",
                "scope": scope,
                "permissions": ["read"],
                "role": "department",
                "once": once,
            },
        )
        assert response.status_code == 200
        assert "scope" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_a_street_administrator_issues_for_the_street_or_one_of_its_communities(world) -> None:
    client = signed_in(world.street_admin)
    form = client.get("/api-tokens/new/")
    codes = [code for code, _label in form.context["form"].fields["scope"].choices]
    assert codes[0] == world.community.street.code and set(codes[1:]) == {"other", "nanli"}
    response = client.post(
        "/api-tokens/new/",
        {
            "name": "街道办 应急平台",
            "department": "street",
            "scope": world.community.street.code,
            "permissions": ["reports", "broadcasts"],
            "role": "admin",
            "once": form.context["form"].initial["once"],
        },
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.user.role == "street_admin" and token.user.street == world.community.street
    assert token.user.community is None


def test_the_form_asks_for_a_name_a_department_and_at_least_one_permission(world) -> None:
    client = signed_in(world.commander)
    once = client.get("/api-tokens/new/").context["form"].initial["once"]
    response = client.post("/api-tokens/new/", {"scope": "nanli", "role": "department", "once": once})
    errors = response.context["form"].errors
    assert {"name", "department", "permissions"} <= set(errors)
    assert "Tick at least one" in str(errors["permissions"])
    assert not ApiToken.objects.exists()


def test_revoking_asks_first_then_the_next_call_is_refused(world, client, make_token) -> None:
    raw = make_token("read", "webhooks")
    token = ApiToken.objects.get(prefix=raw[:12])
    ChannelEndpoint.objects.create(
        kind=Channel.WEBHOOK, name="cdc", url="http://10.0.0.1/h", token=token, events=["case.created"]
    )
    assert client.get("/api/v1/registry/communities", headers=bearer(raw)).status_code == 200
    admin = signed_in(world.commander)
    confirm = admin.get(f"/api-tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200
    assert (
        "next call" in confirm.content.decode() and "webhook subscription stops" in confirm.content.decode()
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None  # looking is not revoking
    response = admin.post(f"/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert client.get("/api/v1/registry/communities", headers=bearer(raw)).status_code == 401
    entry = AuditLog.objects.filter(action="token", target_id=str(token.pk)).first()
    assert entry is not None and entry.actor == world.commander and entry.detail.startswith("revoked")
    assert entry.community_id == world.community.pk
    assert not ChannelEndpoint.objects.get(token=token).is_active


def test_another_communitys_token_cannot_be_revoked_or_even_seen(world, tokens) -> None:
    client = signed_in(world.commander)
    other = tokens["other"]
    assert client.get(f"/api-tokens/{other.pk}/revoke/").status_code == 404
    assert client.post(f"/api-tokens/{other.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=other.pk).revoked_at is None


def test_the_street_administrator_may_revoke_a_communitys_token(world, tokens) -> None:
    response = signed_in(world.street_admin).post(f"/api-tokens/{tokens['nanli'].pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=tokens["nanli"].pk).revoked_at is not None
