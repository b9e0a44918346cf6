from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command

from linli.api.models import ApiToken
from linli.comms.outbox import WEBHOOK_EVENTS


def test_openapi_describes_authentication_permissions_webhooks_and_signatures(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    text = schema["info"]["description"]
    for words in (
        "Authorization: Bearer",
        "| `dispatch` |",
        "| `webhooks` |",
        "404",
        "X-Linli-Signature: t=<unix seconds>,v1=<hex>",
        "HMAC-SHA256",
        "X-Linli-Delivery",
        "X-Linli-Event",
        "Drop a delivery whose",
    ):
        assert words in text, words
    assert set(schema["webhooks"]) == set(WEBHOOK_EVENTS)
    case = schema["webhooks"]["case.created"]["post"]
    data = case["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert {"id", "community", "control_type", "building", "resident", "url"} <= set(data["properties"])
    assert {p["name"] for p in case["parameters"]} == {
        "X-Linli-Event",
        "X-Linli-Delivery",
        "X-Linli-Signature",
    }
    assert "/api/v1/webhooks" in schema["paths"] and "/api/v1/webhooks/{webhook_id}" in schema["paths"]
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_the_docs_page_loads_swagger_from_this_server_only(client) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert '"validatorUrl": null' in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-init.js"):
        url = f"/api/v1/docs/assets/{asset}"
        assert url in html
        got = client.get(url)
        assert got.status_code == 200 and got["Cache-Control"] == "public, max-age=86400"
        assert b"".join(got.streaming_content)


def test_only_swaggers_own_files_are_served(client) -> None:
    assert client.get("/api/v1/docs/assets/redoc.standalone.js.map").status_code == 404
    assert client.get("/api/v1/docs/assets/..%2F..%2F__init__.py").status_code == 404


def test_an_asset_not_changed_is_not_sent_again(client) -> None:
    first = client.get("/api/v1/docs/assets/swagger-ui.css")
    again = client.get(
        "/api/v1/docs/assets/swagger-ui.css", headers={"If-Modified-Since": first["Last-Modified"]}
    )
    assert again.status_code == 304


def test_the_command_makes_a_departments_token_with_permissions(world, capsys) -> None:
    call_command(
        "create_api_token",
        "--role",
        "department",
        "--scope",
        "nanli",
        "--name",
        "区疾控中心",
        "--department",
        "cdc",
        "--allow",
        "dispatch,webhooks",
        "--allow",
        "reports",
    )
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    token = ApiToken.objects.get(prefix=raw[:12])
    assert (token.department, token.permissions, token.name) == (
        "cdc",
        ["dispatch", "reports", "webhooks"],
        "区疾控中心",
    )
    assert token.created_by is None


def test_the_command_refuses_unknown_permissions(world) -> None:
    with pytest.raises(CommandError, match="unknown permissions"):
        call_command("create_api_token", "--role", "department", "--scope", "nanli", "--allow", "everything")
    assert not ApiToken.objects.exists()
