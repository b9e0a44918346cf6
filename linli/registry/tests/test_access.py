"""Who sees what: in scope (alice, grid 1), same community other grid (bob), outsider (charlie)."""

import io

import openpyxl
import pytest

from linli.core.models import AuditLog


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


@pytest.mark.parametrize(
    "path",
    ["/residents/{r1}/", "/households/{h1}/", "/buildings/{b1}/", "/residents/{r1}/edit/"],
)
def test_grid_worker_sees_own_grid_and_nobody_elses(world, client, path):
    url = path.format(r1=world.resident1.pk, h1=world.resident1.household_id, b1=world.building1.pk)
    assert get(client, world.alice, url).status_code == 200
    assert get(client, world.bob, url).status_code == 404
    assert get(client, world.charlie, url).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(world, client):
    response = client.get(f"/residents/{world.resident1.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_resident_list_is_scoped_to_the_seat(world, client):
    names = lambda user: get(client, user, "/residents/").content.decode()  # noqa: E731
    alice = names(world.alice)
    assert "李秀英" in alice and "王建国" not in alice and "赵外人" not in alice
    bob = names(world.bob)
    assert "王建国" in bob and "李秀英" not in bob
    commander = names(world.commander)
    assert "李秀英" in commander and "王建国" in commander and "赵外人" not in commander
    street = names(world.street_admin)
    assert "赵外人" in street and "李秀英" in street


def test_lists_show_masked_numbers_only(world, client):
    page = get(client, world.commander, "/residents/").content.decode()
    assert world.resident1.masked_id_number in page
    assert world.resident1.id_number not in page
    assert "13812341234" not in page and "138****1234" in page


@pytest.mark.parametrize(
    ("query", "found"),
    [("1234", True), ("5678", False), ("李秀", True), ("1-1-101", True), ("1号楼101", True)],
)
def test_search_by_phone_tail_name_or_address(world, client, query, found):
    page = get(client, world.alice, f"/residents/?q={query}").content.decode()
    assert ("李秀英" in page) is found


def test_search_by_id_tail(world, client):
    tail = world.resident1.id_number[-4:]
    page = get(client, world.alice, f"/residents/?q={tail}").content.decode()
    assert "李秀英" in page


def test_htmx_search_returns_only_the_results_fragment(world, client):
    client.force_login(world.alice)
    response = client.get("/residents/?q=1234", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "李秀英" in body and "<html" not in body


def test_revealing_an_id_is_logged_with_who_and_where(world, client):
    client.force_login(world.alice)
    response = client.post(f"/residents/{world.resident1.pk}/reveal/id_number/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert world.resident1.id_number in response.content.decode()
    entry = AuditLog.objects.get(action="reveal")
    assert (entry.actor, entry.ip, entry.target_id) == (world.alice, "10.1.2.3", str(world.resident1.pk))
    history = client.get(f"/residents/{world.resident1.pk}/").content.decode()
    assert "10.1.2.3" in history


def test_reveal_is_refused_out_of_scope_and_for_observers(world, client):
    client.force_login(world.bob)
    assert client.post(f"/residents/{world.resident1.pk}/reveal/id_number/").status_code == 404
    client.force_login(world.observer)
    assert client.post(f"/residents/{world.resident1.pk}/reveal/phone/").status_code == 403
    assert not AuditLog.objects.filter(action="reveal").exists()


def test_reveal_needs_a_post(world, client):
    client.force_login(world.alice)
    assert client.get(f"/residents/{world.resident1.pk}/reveal/id_number/").status_code == 405


def test_export_is_masked_scoped_and_logged(world, client):
    response = get(client, world.alice, "/residents/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == ["李秀英"]
    assert rows[0][1] == world.resident1.masked_id_number
    assert AuditLog.objects.filter(action="export", actor=world.alice).exists()


def test_unmasked_export_is_for_roles_that_may_reveal(world, client):
    response = get(client, world.commander, "/residents/export.xlsx?unmasked=1")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert world.resident1.id_number in [r[1] for r in sheet.iter_rows(values_only=True)]
    assert get(client, world.observer, "/residents/export.xlsx?unmasked=1").status_code == 403


def edit_form(world, **changes):
    """The resident edit form as alice would submit it for resident1, with some fields changed."""
    r = world.resident1
    data = {
        "name": r.name,
        "id_number": r.id_number,
        "phone": r.phone,
        "building": world.building1.pk,
        "entrance": "1",
        "room": "101",
        "relation": "self",
        "residency": "both",
    }
    return {**data, **changes}


def test_editing_keeps_history_and_moves_the_person(world, client):
    client.force_login(world.alice)
    r = world.resident1
    response = client.post(
        f"/residents/{r.pk}/edit/",
        edit_form(world, phone="+86 139-1111-2222", room="302", special=["elderly_alone"]),
    )
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.phone == "13911112222"
    assert r.household.room == "302"
    entry = AuditLog.objects.get(action="update", target_id=str(r.pk))
    assert entry.changes["phone"] == ["138****1234", "139****2222"]
    assert entry.changes["special"] == [[], ["elderly_alone"]]


def test_an_invalid_edit_shows_inline_errors_and_saves_nothing(world, client):
    client.force_login(world.alice)
    r = world.resident1
    response = client.post(
        f"/residents/{r.pk}/edit/", edit_form(world, id_number="110105198005170018", phone="12345")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "check character" in body and "is not a phone number" in body
    r.refresh_from_db()
    assert r.phone == "13812341234"


def test_grid_worker_cannot_pick_a_building_outside_their_grid(world, client):
    client.force_login(world.alice)
    r = world.resident1
    response = client.post(f"/residents/{r.pk}/edit/", edit_form(world, building=world.building2.pk))
    assert response.status_code == 200
    r.refresh_from_db()
    assert r.household.building == world.building1


def test_observers_cannot_edit(world, client):
    assert get(client, world.observer, f"/residents/{world.resident1.pk}/edit/").status_code == 403


def test_imports_are_for_administrators(world, client):
    assert get(client, world.alice, "/imports/").status_code == 403
    assert get(client, world.commander, "/imports/").status_code == 200


def test_resident_list_runs_a_constant_number_of_queries(world, client, django_assert_max_num_queries):
    from linli.factories import HouseholdFactory, ResidentFactory

    for _ in range(60):
        ResidentFactory(household=HouseholdFactory(building=world.building1))
    client.force_login(world.commander)
    with django_assert_max_num_queries(12):
        page1 = client.get("/residents/")
    with django_assert_max_num_queries(12):
        client.get("/residents/?page=2")
    assert page1.status_code == 200


def test_home_page_per_role(world, client):
    assert "My buildings" in get(client, world.alice, "/").content.decode()
    assert "Grids" in get(client, world.commander, "/").content.decode()
    assert "Communities" in get(client, world.street_admin, "/").content.decode()


def test_audit_log_is_scoped(world, client):
    client.force_login(world.alice)
    client.post(f"/residents/{world.resident1.pk}/reveal/phone/")
    assert "李秀英" in get(client, world.commander, "/audit/").content.decode()
    assert "李秀英" not in get(client, world.charlie, "/audit/").content.decode()
    assert "李秀英" in get(client, world.alice, "/audit/").content.decode()
    assert "李秀英" not in get(client, world.bob, "/audit/").content.decode()


def test_opening_the_edit_form_shows_full_numbers_and_is_logged_as_a_reveal(world, client):
    page = get(client, world.alice, f"/residents/{world.resident1.pk}/edit/").content.decode()
    assert world.resident1.id_number in page
    entry = AuditLog.objects.get(action="reveal", target_id=str(world.resident1.pk))
    assert entry.actor == world.alice and entry.detail == "edit form"


def test_a_bare_room_number_finds_the_household_inside_a_building(world, client):
    page = get(client, world.alice, f"/residents/?building={world.building1.pk}&q=101").content.decode()
    assert "李秀英" in page


def test_import_problems_are_written_in_the_uploaders_language(world):
    from django.utils import translation

    from linli.core.imports import import_create, import_preview
    from linli.registry.io import RESIDENT_KIND
    from linli.registry.tests.helpers import ledger_xlsx

    with translation.override("zh-hans"):
        job = import_create(
            actor=world.commander,
            kind=RESIDENT_KIND,
            community_id=world.community.pk,
            filename="x.xlsx",
            content=ledger_xlsx([["坏电话", world.resident1.id_number, "12345", "1", "1", "101", "", ""]]),
        )
    job = import_preview(job=job)  # as a worker would run it: in English here, no request
    assert "不是有效的电话号码" in job.errors[0]["message"]
