"""The building notice, the household slips, the household links, the household's own page and the queue."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from linli.core.identity import mask_name
from linli.core.models import AuditLog, User
from linli.factories import HouseholdFactory
from linli.screening import codes, services
from linli.screening.models import Campaign, Lane, Participant, Site, Slot
from linli.screening.tests.conftest import Area

pytestmark = pytest.mark.django_db

# Every resident of the world and the area fixtures; none may appear in full on anything public.
NAMES = ["李秀英", "王建国", "张老", "张小", "张中", "刘卧", "刘隔", "陈伴", "赵外人"]


def _client(user: User | None = None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def _pdf_text(content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return result.stdout.decode()


def _household_url(campaign: Campaign, household_id: int) -> str:
    return reverse("screening:household", args=[codes.household_token(campaign.pk, household_id)])


def _first_slot_of(campaign: Campaign, building_id: int) -> Slot:
    p = (
        Participant.objects.filter(campaign=campaign, building_id=building_id, slot__isnull=False)
        .exclude(lane=Lane.CONTROLLED)
        .select_related("slot")
        .order_by("slot__starts_at")
        .first()
    )
    assert p is not None and p.slot is not None
    return p.slot


def test_names_are_masked_keeping_the_first_and_last_character() -> None:
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("王") == "王"
    assert mask_name("") == ""


# --- the building notice ---------------------------------------------------------------------------


def test_the_notice_prints_for_staff_of_the_community_and_observers_but_not_other_communities(
    area: Area, notified: Campaign
) -> None:
    url = reverse("screening:notices_pdf", args=[notified.pk])
    for user in (area.world.commander, area.world.alice, area.world.bob, area.world.observer):
        response = _client(user).get(url)
        assert response.status_code == 200, user
        assert response["Content-Type"] == "application/pdf"
    assert _client(area.world.charlie).get(url).status_code == 404
    assert _client().get(url).status_code == 302  # to the login page


def test_the_poster_has_rooms_and_times_but_no_names(area: Area, notified: Campaign) -> None:
    building = area.world.building1
    url = reverse("screening:notices_pdf", args=[notified.pk]) + f"?building={building.pk}"
    text = _pdf_text(_client(area.world.commander).get(url).content)
    slot = _first_slot_of(notified, building.pk)
    assert "101" in text  # the first room of the range
    assert f"{slot}" in text  # "08:00–08:30" in local time
    assert notified.sites.get().name in text
    for name in NAMES:
        assert name not in text
        assert mask_name(name) not in text


def test_the_poster_hides_the_rooms_of_people_on_the_separate_route(area: Area, notified: Campaign) -> None:
    """Room 103 is the monitored companion's, alone and last of its entrance: it gets no late line of its
    own, and the range before it runs over it rather than stopping short at 102."""
    building = area.world.building1
    url = reverse("screening:notices_pdf", args=[notified.pk]) + f"?building={building.pk}"
    text = _pdf_text(_client(area.world.commander).get(url).content)
    monitored = Participant.objects.select_related("slot").get(campaign=notified, resident=area.monitored)
    assert monitored.slot is not None and monitored.lane == Lane.CONTROLLED
    assert f"{monitored.slot}" not in text
    assert "–103" in text


def test_a_range_starts_at_the_first_room_of_the_entrance_even_if_sampled_at_home(
    area: Area, notified: Campaign
) -> None:
    """Building 2: room 201 (resident2) has a time, room 202 only people sampled at home; an entrance
    starting with untimed rooms folds them into its first range."""
    from django.test import RequestFactory

    from linli.screening.views.public import building_notices

    request = RequestFactory().get("/")
    [notice] = building_notices(request, notified, area.world.building2)
    assert [r.last_room for line in notice.lines for r in line.ranges] == ["202"]
    household = HouseholdFactory(building=area.world.building2, room="200")
    Participant.objects.filter(campaign=notified, resident=area.bedbound).update(household=household)
    [notice] = building_notices(request, notified, area.world.building2)
    assert [(r.first_room, r.last_room) for line in notice.lines for r in line.ranges] == [("200", "202")]


def test_without_a_building_the_notice_has_a_page_per_building(area: Area, notified: Campaign) -> None:
    response = _client(area.world.commander).get(reverse("screening:notices_pdf", args=[notified.pk]))
    text = _pdf_text(response.content)
    assert text.count("\f") >= 2  # one form feed per page: buildings 1 and 2


def test_a_building_of_another_community_is_not_found(area: Area, notified: Campaign) -> None:
    other = area.world.other_resident.household.building
    for name in ("screening:notices_pdf", "screening:slips_pdf", "screening:household_links"):
        url = reverse(name, args=[notified.pk]) + f"?building={other.pk}"
        assert _client(area.world.commander).get(url).status_code == 404, name


def test_an_unscheduled_campaign_has_no_notices_or_slips(area: Area, campaign: Campaign) -> None:
    client = _client(area.world.commander)
    building = area.world.building1.pk
    assert client.get(reverse("screening:notices_pdf", args=[campaign.pk])).status_code == 404
    url = reverse("screening:slips_pdf", args=[campaign.pk]) + f"?building={building}"
    assert client.get(url).status_code == 404
    page = client.get(reverse("screening:household_links", args=[campaign.pk])).content.decode()
    assert "not scheduled yet" in page


# --- household slips ---------------------------------------------------------------------------------


def test_slips_print_masked_names_and_codes_and_are_logged(area: Area, notified: Campaign) -> None:
    building = area.world.building1
    url = reverse("screening:slips_pdf", args=[notified.pk]) + f"?building={building.pk}"
    for user in (area.world.commander, area.world.alice):
        response = _client(user).get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "张*" in text and "李*英" in text
    for name in NAMES:
        assert name not in text
    logged = AuditLog.objects.filter(action=AuditLog.Action.EXPORT, target_id=notified.pk)
    assert logged.count() == 2
    assert {log.actor_id for log in logged} == {area.world.commander.pk, area.world.alice.pk}


def test_observers_and_other_communities_cannot_print_slips(area: Area, notified: Campaign) -> None:
    url = reverse("screening:slips_pdf", args=[notified.pk]) + f"?building={area.world.building1.pk}"
    assert _client(area.world.observer).get(url).status_code == 403
    assert _client(area.world.charlie).get(url).status_code == 404
    assert not AuditLog.objects.filter(action=AuditLog.Action.EXPORT).exists()


def test_slips_without_a_building_go_to_the_building_list(area: Area, notified: Campaign) -> None:
    response = _client(area.world.commander).get(reverse("screening:slips_pdf", args=[notified.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("screening:household_links", args=[notified.pk])


# --- household links (staff) ----------------------------------------------------------------------------


def test_the_links_page_lists_each_household_with_its_time_and_link(
    area: Area, notified: Campaign, django_assert_max_num_queries
) -> None:
    building = area.world.building1
    url = reverse("screening:household_links", args=[notified.pk]) + f"?building={building.pk}"
    client = _client(area.world.alice)
    with django_assert_max_num_queries(10):
        page = client.get(url).content.decode()
    link = _household_url(notified, area.elder.household_id)
    assert link in page
    assert str(_first_slot_of(notified, building.pk)) in page
    assert "print-slips" in page
    for name in NAMES:
        assert name not in page


def test_the_building_list_links_each_building(area: Area, notified: Campaign) -> None:
    page = (
        _client(area.world.bob).get(reverse("screening:household_links", args=[notified.pk])).content.decode()
    )
    assert f"?building={area.world.building1.pk}" in page and f"?building={area.world.building2.pk}" in page


def test_observers_see_times_but_no_links_and_outsiders_nothing(area: Area, notified: Campaign) -> None:
    url = reverse("screening:household_links", args=[notified.pk]) + f"?building={area.world.building1.pk}"
    page = _client(area.world.observer).get(url).content.decode()
    assert "/t/" not in page and "print-slips" not in page
    assert _client(area.world.charlie).get(url).status_code == 404


# --- the household's own page --------------------------------------------------------------------------


def test_the_household_page_shows_masked_names_times_and_codes_without_login(
    area: Area, notified: Campaign, django_assert_max_num_queries
) -> None:
    url = _household_url(notified, area.elder.household_id)
    client = _client()
    with django_assert_max_num_queries(2):  # one query: the household's people with their slots
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "张*" in page and "<svg" in page
    slot = Participant.objects.select_related("slot").get(campaign=notified, resident=area.elder).slot
    assert str(slot) in page and notified.sites.get().name in page
    assert reverse("screening:queue", args=[notified.sites.get().token]) in page
    for name in NAMES:
        assert name not in page
    assert area.elder.id_number not in page
    assert "no-cache" in response["Cache-Control"]


def test_the_household_page_explains_sampling_at_home(area: Area, notified: Campaign) -> None:
    page = _client().get(_household_url(notified, area.bedbound.household_id)).content.decode()
    assert "a medical worker will come to your home" in page
    assert "刘*" in page


def test_the_household_page_says_when_a_time_changed_and_who_is_sampled(
    area: Area, notified: Campaign
) -> None:
    commander = area.world.commander
    site = notified.sites.get()
    with time_machine.travel(dt.datetime(2030, 6, 3, 1, 42, tzinfo=dt.UTC), tick=False):  # 09:42 in Shanghai
        services.building_move(
            actor=commander,
            campaign=notified,
            building=area.world.building2,
            site=site,
            start=notified.at(dt.time(15, 0)),
        )
    tube = services.tube_open(actor=commander, campaign=notified, site=None, code="door-1", pool_size=10)
    bed = Participant.objects.get(campaign=notified, resident=area.bedbound)
    with time_machine.travel(dt.datetime(2030, 6, 3, 2, 5, tzinfo=dt.UTC), tick=False):  # 10:05
        services.checkin(actor=commander, campaign=notified, participant=bed, tube=tube, site=None)
    page = _client().get(_household_url(notified, area.world.resident2.household_id)).content.decode()
    assert "Your time changed at" in page and "09:42" in page
    assert "15:00" in page
    page = _client().get(_household_url(notified, area.bedbound.household_id)).content.decode()
    assert "sampled at" in page and "10:05" in page
    assert "Your time changed" not in page


def test_a_tampered_or_foreign_household_token_is_not_found(area: Area, notified: Campaign) -> None:
    token = codes.household_token(notified.pk, area.elder.household_id)
    client = _client()
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert client.get(reverse("screening:household", args=[tampered])).status_code == 404
    assert client.get(reverse("screening:household", args=["H1-1-nonsense"])).status_code == 404
    # Correctly signed, but the household is not in this campaign (another community's).
    foreign = codes.household_token(notified.pk, area.world.other_resident.household_id)
    assert client.get(reverse("screening:household", args=[foreign])).status_code == 404


# --- the queue page ----------------------------------------------------------------------------------------


def test_the_queue_shows_the_slot_being_called_and_refreshes(
    area: Area, notified: Campaign, django_assert_max_num_queries
) -> None:
    site: Site = notified.sites.get()
    slot = _first_slot_of(notified, area.world.building1.pk)
    url = reverse("screening:queue", args=[site.token])
    with time_machine.travel(slot.starts_at + dt.timedelta(minutes=5), tick=False):
        client = _client()
        with django_assert_max_num_queries(9):  # the site, then the queue's fixed set of reads
            response = client.get(url)
        page = response.content.decode()
        assert "Now calling" in page and f"Building {area.world.building1.number}" in page
        assert str(slot) in page
        assert 'hx-trigger="every 30s"' in page
        partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert partial.startswith('<div id="q-panel"') and "<html" not in partial
    for name in NAMES:
        assert name not in page
        assert mask_name(name) not in page


def test_the_queue_says_before_the_day_and_after_the_end(area: Area, notified: Campaign) -> None:
    site = notified.sites.get()
    url = reverse("screening:queue", args=[site.token])
    with time_machine.travel(notified.at(notified.starts_at) - dt.timedelta(hours=12), tick=False):
        page = _client().get(url).content.decode()
    assert "Sampling starts on" in page and "Now calling" not in page
    with time_machine.travel(notified.at(notified.ends_at) + dt.timedelta(minutes=1), tick=False):
        page = _client().get(url).content.decode()
    assert "has ended" in page and "every 30s" not in page


def test_an_unknown_site_token_is_not_found(area: Area, notified: Campaign) -> None:
    assert _client().get(reverse("screening:queue", args=["nope"])).status_code == 404


def test_the_check_in_code_is_a_path_a_phone_camera_opens(area: Area, notified: Campaign) -> None:
    from linli.screening.views.public import checkin_path

    code = codes.person_code(notified.pk, area.elder.pk)
    assert checkin_path(notified.pk, area.elder.pk) == f"/checkin/c/{code}/"
    assert codes.person_code_parse(f"https://example.org{checkin_path(notified.pk, area.elder.pk)}") == (
        notified.pk,
        area.elder.pk,
    )


def test_the_household_page_does_not_say_someone_is_under_monitoring(area: Area, notified: Campaign) -> None:
    page = _client().get(_household_url(notified, area.monitored.household_id)).content.decode()
    assert "arranged separately" in page
    assert "monitoring" not in page and "separate route" not in page
