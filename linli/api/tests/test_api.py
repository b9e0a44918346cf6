import io

import pytest
from django.core.management import call_command

from linli.api.models import ApiToken
from linli.api.services import api_token_create, api_token_revoke
from linli.core.models import AuditLog
from linli.registry.models import Resident
from linli.registry.tests.helpers import ledger_xlsx
from linli.registry.tests.test_import import ID_A, good_rows


def bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def grid_token(world):
    return api_token_create(actor=None, role="grid_worker", scope_code=world.grid1.code)[1]


@pytest.fixture
def admin_token(world):
    return api_token_create(actor=None, role="community_admin", scope_code=world.community.code)[1]


def test_create_api_token_command_prints_the_token_last(world, capsys):
    call_command("create_api_token", "--role", "community_admin", "--scope", "nanli")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    assert raw.startswith("lnl_")
    assert ApiToken.objects.filter(prefix=raw[:12]).exists()


def test_a_token_for_the_wrong_level_is_refused(world):
    from linli.api.services import ScopeNotFound

    with pytest.raises(ScopeNotFound):
        api_token_create(actor=None, role="grid_worker", scope_code="nanli")


def test_openapi_is_published(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/registry/residents" in paths and "/api/v1/registry/imports" in paths


def test_no_token_or_a_bad_token_is_401(world, client):
    assert client.get("/api/v1/registry/residents").status_code == 401
    assert client.get("/api/v1/registry/residents", headers=bearer("lnl_nope")).status_code == 401


def test_a_revoked_token_is_refused_at_once(world, client, admin_token):
    assert client.get("/api/v1/registry/communities", headers=bearer(admin_token)).status_code == 200
    api_token_revoke(actor=None, token=ApiToken.objects.get(prefix=admin_token[:12]))
    assert client.get("/api/v1/registry/communities", headers=bearer(admin_token)).status_code == 401


def test_communities_list_codes_names_and_counts(world, client, admin_token):
    data = client.get("/api/v1/registry/communities", headers=bearer(admin_token)).json()
    assert data == [
        {
            "code": "nanli",
            "name": "南里社区",
            "street": world.community.street.code,
            "residents": 2,
            "households": 2,
        }
    ]


def test_residents_are_scoped_paginated_and_masked(world, client, grid_token):
    data = client.get("/api/v1/registry/residents?q=1234", headers=bearer(grid_token)).json()
    assert data["count"] == 1
    item = data["items"][0]
    assert item["name"] == "李秀英"
    assert item["id_number"] == world.resident1.masked_id_number
    assert item["phone"] == "138****1234"
    everyone = client.get("/api/v1/registry/residents", headers=bearer(grid_token)).json()
    assert [i["name"] for i in everyone["items"]] == ["李秀英"]


def test_out_of_scope_resident_is_404(world, client, grid_token):
    url = f"/api/v1/registry/residents/{world.resident2.pk}"
    assert client.get(url, headers=bearer(grid_token)).status_code == 404


def test_reveal_through_the_api_is_logged(world, client, grid_token):
    url = f"/api/v1/registry/residents/{world.resident1.pk}/reveal"
    response = client.post(
        url, {"field": "phone"}, content_type="application/json", headers=bearer(grid_token)
    )
    assert response.json() == {"field": "phone", "value": "13812341234"}
    entry = AuditLog.objects.get(action="reveal")
    assert entry.via == "api" and entry.actor.is_service_account


def test_page_size_is_bounded(world, client, grid_token):
    assert (
        client.get("/api/v1/registry/residents?page_size=1000", headers=bearer(grid_token)).status_code == 400
    )


def test_import_preview_then_commit(world, client, admin_token):
    content = ledger_xlsx(good_rows())

    def post(commit):
        return client.post(
            f"/api/v1/registry/imports?community=nanli&commit={'true' if commit else 'false'}",
            {"file": io.BytesIO(content)},
            headers=bearer(admin_token),
        )

    preview = post(False).json()
    assert (preview["rows"], preview["accepted"], preview["rejected"], preview["errors"]) == (3, 3, 0, [])
    assert preview["created"] is None
    assert not Resident.objects.filter(id_number=ID_A).exists()
    committed = post(True).json()
    assert (committed["created"], committed["updated"]) == (3, 0)
    again = post(True).json()
    assert (again["created"], again["unchanged"]) == (0, 3)


def test_import_errors_come_back_by_row(world, client, admin_token):
    content = ledger_xlsx([["坏电话", ID_A, "12345", "1", "1", "101", "", ""]])
    body = client.post(
        "/api/v1/registry/imports?community=nanli", {"file": io.BytesIO(content)}, headers=bearer(admin_token)
    ).json()
    assert body["rejected"] == 1
    assert body["errors"][0]["row"] == 4 and body["errors"][0]["column"] == "手机"


def test_import_of_a_non_spreadsheet_is_422_with_the_reason(world, client, admin_token):
    upload = io.BytesIO(b"hello")
    upload.name = "ledger.xlsx"
    response = client.post(
        "/api/v1/registry/imports?community=nanli", {"file": upload}, headers=bearer(admin_token)
    )
    assert response.status_code == 422
    assert "not one" in response.json()["message"]


def test_import_is_refused_for_grid_workers_and_other_communities(world, client, grid_token, admin_token):
    content = ledger_xlsx(good_rows())
    response = client.post(
        "/api/v1/registry/imports?community=nanli", {"file": io.BytesIO(content)}, headers=bearer(grid_token)
    )
    assert response.status_code == 403
    response = client.post(
        "/api/v1/registry/imports?community=other", {"file": io.BytesIO(content)}, headers=bearer(admin_token)
    )
    assert response.status_code == 404
