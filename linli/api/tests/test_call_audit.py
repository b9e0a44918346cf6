"""Every API call is in the audit log: who, when, from where, method, path and status; never the body or the
query string; one INSERT per call; refused calls too."""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from linli.api.models import ApiToken
from linli.api.services import api_token_revoke
from linli.api.tests.conftest import bearer
from linli.core.models import AuditLog
from linli.factories import TEST_PASSWORD


def api_rows() -> list[AuditLog]:
    return list(AuditLog.objects.filter(action="api").order_by("id"))


def test_a_token_call_is_logged_with_who_where_method_path_and_status(world, client, make_token) -> None:
    raw = make_token("read")
    token = ApiToken.objects.get(prefix=raw[:12])
    response = client.get(
        "/api/v1/registry/residents?q=13812341234&community=nanli",
        headers={**bearer(raw), "User-Agent": "cdc-sync/1.0"},
        REMOTE_ADDR="10.20.1.15",
    )
    assert response.status_code == 200
    [row] = api_rows()
    assert row.actor == token.user and row.actor_label == "区疾控中心"
    assert row.ip == "10.20.1.15" and row.user_agent == "cdc-sync/1.0" and row.via == "api"
    assert row.target_label == "GET /api/v1/registry/residents"
    assert (row.target_type, row.target_id) == ("api.apitoken", str(token.pk))
    assert row.detail == f"200 · token {token.prefix}…"
    assert row.community_id == world.community.pk
    # The query string (here a phone number) is never written.
    assert "1381234" not in f"{row.target_label} {row.detail} {row.changes}"


def test_the_body_of_a_post_is_not_logged(world, client, make_token) -> None:
    raw = make_token("webhooks")
    client.post(
        "/api/v1/webhooks",
        {"url": "http://10.20.1.15/hook", "events": ["case.created"], "secret": "s3cret-s3cret-s3cret"},
        content_type="application/json",
        headers=bearer(raw),
    )
    call = AuditLog.objects.get(action="api")
    assert call.target_label == "POST /api/v1/webhooks" and call.detail.startswith("201")
    everything = " ".join(f"{e.target_label} {e.detail} {e.changes}" for e in AuditLog.objects.all())
    assert "s3cret" not in everything


def test_a_call_without_credentials_is_logged_with_an_unknown_actor(world, client) -> None:
    assert client.get("/api/v1/registry/communities", REMOTE_ADDR="10.9.9.9").status_code == 401
    [row] = api_rows()
    assert row.actor is None and row.actor_label == ""
    assert row.ip == "10.9.9.9" and row.detail == "401 · no credentials"
    assert row.target_label == "GET /api/v1/registry/communities"


def test_a_bad_token_is_logged_by_its_prefix_only(world, client) -> None:
    client.get("/api/v1/registry/communities", headers=bearer("lnl_notarealtokenatall"))
    client.get("/api/v1/registry/communities", headers=bearer("my-password-123"))
    first, second = api_rows()
    assert first.detail == "401 · unknown token lnl_notareal…"
    assert second.detail == "401 · no credentials"
    assert "password" not in second.detail


def test_a_revoked_tokens_refused_call_is_logged_in_its_area_without_an_actor(
    world, client, make_token
) -> None:
    raw = make_token("read")
    token = ApiToken.objects.get(prefix=raw[:12])
    api_token_revoke(actor=world.commander, token=token)
    assert client.get("/api/v1/registry/communities", headers=bearer(raw)).status_code == 401
    [row] = api_rows()
    assert row.actor is None
    assert row.detail == f"401 · token {token.prefix}… refused (revoked)"
    assert (row.target_type, row.target_id) == ("api.apitoken", str(token.pk))
    assert row.community_id == world.community.pk


def test_refused_and_missing_objects_are_logged_with_their_status(world, client, make_token) -> None:
    raw = make_token("read")
    client.get("/api/v1/reports/daily", headers=bearer(raw))
    client.get(f"/api/v1/registry/residents/{world.other_resident.pk}", headers=bearer(raw))
    assert [r.detail.split(" ")[0] for r in api_rows()] == ["403", "404"]


def test_a_signed_in_person_calling_the_api_is_logged_as_themselves(world) -> None:
    client = Client()
    client.login(username="commander", password=TEST_PASSWORD)
    assert client.get("/api/v1/registry/communities").status_code == 200
    [row] = api_rows()
    assert row.actor == world.commander and row.detail == "200 · signed in"
    assert row.target_type == ""


def test_each_call_writes_exactly_one_audit_row(world, client, make_token) -> None:
    raw = make_token("read")
    client.get(
        "/api/v1/registry/communities", headers=bearer(raw)
    )  # the first call also touches last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/registry/communities", headers=bearer(raw)).status_code == 200
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "core_auditlog" in inserts[0]
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/registry/communities").status_code == 401
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1


def test_every_endpoint_is_covered(world) -> None:
    """Each operation of the API is wrapped: a call to each without credentials leaves one row (public
    callbacks, which check their own signatures, included)."""
    client = Client(raise_request_exception=False)
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    calls = 0
    for path, methods in paths.items():
        concrete = re.sub(r"{[^}]+}", "1", path)
        for method in methods:
            if method in ("get", "post", "put", "patch", "delete"):
                getattr(client, method)(concrete)
                calls += 1
    assert calls > 20
    assert AuditLog.objects.filter(action="api").count() == calls
