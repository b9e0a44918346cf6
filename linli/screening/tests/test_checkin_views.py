"""The site volunteer's check-in page: choosing the site, opening tubes, scanning people, refusals, undo,
search, the code link a phone's camera opens, and who may use it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from linli.core.models import User
from linli.core.roles import Role
from linli.factories import UserFactory
from linli.registry.models import Resident
from linli.screening import codes, services
from linli.screening.models import Campaign, Participant, Tube
from linli.screening.tests.conftest import Area
from linli.volunteers.models import Volunteer

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def scheduled(notified: Campaign) -> Campaign:
    """Scheduled, with its notices out: check-in is open."""
    return notified


def _volunteer(area: Area, status: str = Volunteer.Status.ACTIVE) -> User:
    account = UserFactory(username=f"v-{status}", role=Role.VOLUNTEER)
    Volunteer.objects.create(
        community=area.world.community, name="周志愿", phone="13900001111", status=status, user=account
    )
    return account


def _url(name: str, campaign: Campaign) -> str:
    return reverse(f"screening:{name}", args=[campaign.pk])


def _at_site(client: Client, user: User, campaign: Campaign, *, tube: str = "T-001", pool: int = 10) -> None:
    """Sign in, choose the campaign's site and open a tube, as a volunteer starts a shift."""
    client.force_login(user)
    response = client.post(_url("checkin_site", campaign), {"site": campaign.sites.get().pk})
    assert response.status_code == 302
    if tube:
        response = client.post(_url("checkin_tube", campaign), {"code": tube, "pool": pool}, headers=HX)
        assert response.status_code == 200 and 'data-kind="tube"' in response.content.decode()


def _scan(client: Client, campaign: Campaign, **data: Any) -> str:
    response = client.post(_url("checkin_scan", campaign), data, headers=HX)
    assert response.status_code == 200
    return response.content.decode()


def _code_url(campaign: Campaign, resident: Resident) -> str:
    return f"http://testserver/checkin/c/{codes.person_code(campaign.pk, resident.pk)}/"


def test_a_scanned_qr_url_checks_the_person_into_the_tube_in_hand(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    _at_site(client, area.world.alice, scheduled)
    html = _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    assert 'data-ok="1"' in html and "✓ 张老" in html
    assert "T-001 1/10" in html and "1 / 10" in html
    p = Participant.objects.get(campaign=scheduled, resident=area.elder)
    assert p.checked_in_by == area.world.alice
    assert p.tube is not None and p.tube.code == "T-001" and p.checkin_site == scheduled.sites.get()
    # the recent list comes along out of band, with the undo for the last one
    assert 'id="recent" hx-swap-oob="true"' in html and "undo-last" in html


def test_a_bare_code_typed_by_a_scanner_gun_works_too(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    _at_site(client, area.world.alice, scheduled)
    html = _scan(client, scheduled, code=codes.person_code(scheduled.pk, area.child.pk).lower())
    assert "✓ 张小" in html
    # the child goes to the priority lane: the volunteer sees it in the verdict
    assert "priority lane" in html


def test_a_second_scan_says_when_and_where_the_person_was_checked_in(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    code = _code_url(scheduled, area.elder)
    with time_machine.travel(dt.datetime(2030, 6, 3, 1, 42, tzinfo=dt.UTC), tick=False):
        _at_site(client, area.world.alice, scheduled)  # in the travelled time, or the session has expired
        _scan(client, scheduled, code=code)
        html = _scan(client, scheduled, code=code)
    assert 'data-ok="0"' in html
    assert "Already checked in at 09:42" in html and "T-001" in html
    assert Tube.objects.get(campaign=scheduled, code="T-001").members == 1


def test_a_code_of_another_campaign_is_refused(client: Client, area: Area, scheduled: Campaign) -> None:
    other = services.campaign_open(actor=area.world.commander, community=area.world.community, day=area.day)
    _at_site(client, area.world.alice, scheduled)
    html = _scan(client, scheduled, code=_code_url(other, area.elder))
    assert 'data-ok="0"' in html and "another campaign" in html
    assert not Participant.objects.filter(checked_in_at__isnull=False).exists()


def test_a_full_tube_says_so_and_the_next_person_is_refused(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    _at_site(client, area.world.alice, scheduled, tube="P-1", pool=1)
    html = _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    assert "✓ 张老" in html and "Tube full — scan the next tube" in html
    html = _scan(client, scheduled, code=_code_url(scheduled, area.world.resident1))
    assert 'data-ok="0"' in html and "is full" in html
    waiting = Participant.objects.get(campaign=scheduled, resident=area.world.resident1)
    assert not waiting.is_checked_in
    # the person stays on screen, and after the next tube one tap checks them in
    assert 'id="pending"' in html and "checkin-pending" not in html
    html = _scan(client, scheduled, code="P-2", pending=waiting.pk)
    assert 'id="pending"' in html and "Check in · tube P-2" in html
    assert "✓ 李秀英" in _scan(client, scheduled, participant=waiting.pk)


def test_scanning_a_tube_barcode_starts_the_next_tube_with_the_chosen_pool(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    _at_site(client, area.world.alice, scheduled, tube="P-1", pool=1)
    _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    html = _scan(client, scheduled, code="p-2")
    assert 'data-kind="tube"' in html and "P-2" in html and "0 / 1" in html
    html = _scan(client, scheduled, code=_code_url(scheduled, area.world.resident1))
    assert "✓ 李秀英" in html
    assert Participant.objects.get(campaign=scheduled, resident=area.world.resident1).tube.code == "P-2"  # type: ignore[union-attr]
    # a used tube cannot be opened again
    html = _scan(client, scheduled, code="P-1")
    assert 'data-ok="0"' in html and "already used" in html


def test_without_a_tube_a_person_is_not_checked_in(client: Client, area: Area, scheduled: Campaign) -> None:
    _at_site(client, area.world.alice, scheduled, tube="")
    page = client.get(_url("checkin", scheduled)).content.decode()
    assert "No tube yet" in page
    html = _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    assert 'data-ok="0"' in html and "scan the tube" in html
    assert not Participant.objects.get(campaign=scheduled, resident=area.elder).is_checked_in


def test_the_site_is_chosen_once_and_remembered(client: Client, area: Area, scheduled: Campaign) -> None:
    client.force_login(area.world.alice)
    page = client.get(_url("checkin", scheduled)).content.decode()
    assert 'id="choose-site"' in page and "Door-to-door sampling" in page
    html = _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    assert "Choose your sampling site first" in html
    site = scheduled.sites.get()
    client.post(_url("checkin_site", scheduled), {"site": site.pk})
    page = client.get(_url("checkin", scheduled)).content.decode()
    assert 'id="choose-site"' not in page and site.name in page and 'id="scan-form"' in page


def test_door_to_door_checks_in_without_a_site_and_closes_the_household_task(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    services.campaign_notify(actor=area.world.commander, campaign=scheduled)
    client.force_login(area.world.alice)
    client.post(_url("checkin_site", scheduled), {"site": "door"})
    client.post(_url("checkin_tube", scheduled), {"code": "D-1", "pool": 10}, headers=HX)
    assert "✓" in _scan(client, scheduled, code=_code_url(scheduled, area.bedbound))
    # someone in home isolation is never pooled with others
    assert "single tube" in _scan(client, scheduled, code=_code_url(scheduled, area.isolated))
    client.post(_url("checkin_tube", scheduled), {"code": "D-2", "pool": 1}, headers=HX)
    assert "✓" in _scan(client, scheduled, code=_code_url(scheduled, area.isolated))
    bed = Participant.objects.select_related("door_task").get(campaign=scheduled, resident=area.bedbound)
    assert bed.checkin_site is None and bed.door_task is not None and not bed.door_task.is_open


def test_undo_takes_back_a_wrong_scan(client: Client, area: Area, scheduled: Campaign) -> None:
    _at_site(client, area.world.alice, scheduled)
    _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    p = Participant.objects.get(campaign=scheduled, resident=area.elder)
    response = client.post(_url("checkin_undo", scheduled), {"participant": p.pk}, headers=HX)
    assert "Taken back: 张老" in response.content.decode()
    p.refresh_from_db()
    assert not p.is_checked_in and Tube.objects.get(code="T-001").members == 0
    # someone else's check-in is not this actor's to take back
    _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    client.force_login(area.world.bob)
    assert client.post(_url("checkin_undo", scheduled), {"participant": p.pk}).status_code == 404


def test_search_by_name_or_room_and_check_in_by_tapping(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    _at_site(client, area.world.alice, scheduled)
    html = client.get(_url("checkin_search", scheduled), {"q": "102"}).content.decode()
    assert "张老" in html and "张小" in html and "张中" in html and "李秀英" not in html
    zhong = Participant.objects.get(campaign=scheduled, resident__name="张中")
    html = _scan(client, scheduled, participant=zhong.pk, q="102")
    assert "✓ 张中" in html
    # the search list comes back refreshed: 张中 has no button any more
    assert 'id="search-results" hx-swap-oob="true"' in html
    assert f'name="participant" value="{zhong.pk}"><button class="btn primary ci-go"' not in html
    html = client.get(_url("checkin_search", scheduled), {"q": "张"}).content.decode()
    assert "刘卧" not in html and "张老" in html


def test_someone_of_another_campaign_cannot_be_tapped_in(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    other = services.campaign_open(actor=area.world.commander, community=area.world.community, day=area.day)
    services.campaign_schedule(actor=area.world.commander, campaign=other)
    stranger = Participant.objects.filter(campaign=other).first()
    assert stranger is not None
    _at_site(client, area.world.alice, scheduled)
    assert client.post(_url("checkin_scan", scheduled), {"participant": stranger.pk}).status_code == 404


def test_the_code_link_a_phone_camera_opens_leads_to_the_person(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    code = codes.person_code(scheduled.pk, area.elder.pk)
    link = reverse("screening:checkin_code", args=[code])
    # a resident scanning their own code, not signed in, lands on their household's page
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "screening:household", args=[codes.household_token(scheduled.pk, area.elder.household_id)]
    )
    _at_site(client, area.world.alice, scheduled)
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == f"{_url('checkin', scheduled)}?code={code}"
    page = client.get(response["Location"]).content.decode()
    assert 'id="pending"' in page and "张老" in page and "Check in · tube T-001" in page
    p = Participant.objects.get(campaign=scheduled, resident=area.elder)
    assert "✓ 张老" in _scan(client, scheduled, participant=p.pk)
    page = client.get(response["Location"]).content.decode()
    assert 'id="pending"' not in page and "Already checked in at" in page
    assert client.get(reverse("screening:checkin_code", args=["S1-2-AAAAAAAA"])).status_code == 404


def test_observer_and_another_community_get_404(client: Client, area: Area, scheduled: Campaign) -> None:
    code = codes.person_code(scheduled.pk, area.elder.pk)
    for user in (area.world.observer, area.world.charlie):
        client.force_login(user)
        assert client.get(_url("checkin", scheduled)).status_code == 404
        assert client.post(_url("checkin_site", scheduled), {"site": "door"}).status_code == 404
        assert client.post(_url("checkin_scan", scheduled), {"code": code}, headers=HX).status_code == 404
        assert client.get(_url("checkin_search", scheduled), {"q": "张"}).status_code == 404
        assert client.get(reverse("screening:checkin_code", args=[code])).status_code == 404
        assert "no-campaign" in client.get(reverse("screening:checkin_home")).content.decode()
    assert not Participant.objects.filter(checked_in_at__isnull=False).exists()


def test_grid_workers_and_active_volunteers_of_the_community_check_in(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    volunteer = _volunteer(area)
    seats = [
        (area.world.alice, area.elder, "T-A1"),
        (area.world.bob, area.child, "T-B1"),
        (volunteer, area.world.resident1, "T-V1"),
    ]
    for user, resident, tube in seats:
        _at_site(client, user, scheduled, tube=tube)
        assert f"✓ {resident.name}" in _scan(client, scheduled, code=_code_url(scheduled, resident))
    # one campaign: the check-in entry goes straight to it, for staff and volunteers alike
    response = client.get(reverse("screening:checkin_home"))
    assert response.status_code == 302 and response["Location"] == _url("checkin", scheduled)


def test_an_inactive_volunteer_gets_404(client: Client, area: Area, scheduled: Campaign) -> None:
    client.force_login(_volunteer(area, Volunteer.Status.SUSPENDED))
    assert client.get(_url("checkin", scheduled)).status_code == 404
    assert "no-campaign" in client.get(reverse("screening:checkin_home")).content.decode()


def test_several_campaigns_are_listed_to_choose_from(client: Client, area: Area, scheduled: Campaign) -> None:
    other = services.campaign_open(
        actor=area.world.commander, community=area.world.community, day=area.day, name="第二轮"
    )
    services.campaign_schedule(actor=area.world.commander, campaign=other)
    client.force_login(area.world.alice)
    html = client.get(reverse("screening:checkin_home")).content.decode()
    assert scheduled.name in html and "第二轮" in html


def test_a_closed_campaign_says_so_instead_of_a_form(client: Client, area: Area, scheduled: Campaign) -> None:
    _at_site(client, area.world.alice, scheduled)
    services.campaign_close(actor=area.world.commander, campaign=scheduled)
    page = client.get(_url("checkin", scheduled)).content.decode()
    assert "This campaign is closed" in page and 'id="scan-form"' not in page
    html = _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    assert 'data-ok="0"' in html and "closed" in html


def test_a_scan_takes_few_queries(
    client: Client, area: Area, scheduled: Campaign, django_assert_max_num_queries: Any
) -> None:
    _at_site(client, area.world.alice, scheduled)
    _scan(client, scheduled, code=_code_url(scheduled, area.world.resident1))  # warm the session
    with django_assert_max_num_queries(17):
        html = _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    assert "✓ 张老" in html
    # A repeat also loads where and into which tube the person went (kept out of every first scan's join).
    with django_assert_max_num_queries(11):
        html = _scan(client, scheduled, code=_code_url(scheduled, area.elder))
    assert "Already checked in" in html


def test_search_finds_by_name_or_room_but_never_by_phone_or_id(
    client: Client, area: Area, scheduled: Campaign
) -> None:
    _at_site(client, _volunteer(area), scheduled)
    url = _url("checkin_search", scheduled)
    # a volunteer at a site finds the people called there, not those sampled at home
    assert "刘卧" not in client.get(url, {"q": "刘卧"}).content.decode()
    assert "王建国" in client.get(url, {"q": "王建国"}).content.decode()
    assert "王建国" in client.get(url, {"q": "2-201"}).content.decode()
    assert "王建国" not in client.get(url, {"q": area.world.resident2.phone}).content.decode()
    assert "王建国" not in client.get(url, {"q": area.world.resident2.id_number[-6:]}).content.decode()
