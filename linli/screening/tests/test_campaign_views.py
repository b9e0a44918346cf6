from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from linli.epidemic.models import ControlCase
from linli.screening import services
from linli.screening.models import Campaign, Participant, Tube
from linli.screening.tests.conftest import Area
from linli.tasks.models import Task

pytestmark = pytest.mark.django_db


def _login(client: Client, user: object) -> Client:
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_the_commander_opens_a_campaign_from_the_page(client: Client, area: Area) -> None:
    _login(client, area.world.commander)
    page = client.get(reverse("screening:campaign_new"))
    assert page.status_code == 200
    response = client.post(
        reverse("screening:campaign_new"),
        {
            "name": "第一轮",
            "day": area.day.isoformat(),
            "starts_at": "08:00",
            "ends_at": "12:00",
            "slot_minutes": "30",
            "pool_size": "10",
            "buildings": [str(area.world.building1.pk)],
            "site-name": "东门",
            "site-place": "东门广场",
            "site-normal_per_hour": "100",
            "site-priority_per_hour": "20",
            "site-controlled_per_hour": "10",
        },
    )
    campaign = Campaign.objects.get(name="第一轮")
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    assert campaign.counts["people"] == 5  # building 1 only
    assert campaign.sites.get().name == "东门"


def test_a_grid_worker_cannot_open_a_campaign(client: Client, area: Area) -> None:
    _login(client, area.world.alice)
    assert client.get(reverse("screening:campaign_new")).status_code == 403


def test_a_bad_day_is_refused_on_the_form(client: Client, area: Area) -> None:
    _login(client, area.world.commander)
    response = client.post(
        reverse("screening:campaign_new"),
        {
            "day": "2001-01-01",
            "starts_at": "08:00",
            "ends_at": "07:00",
            "slot_minutes": "30",
            "pool_size": "10",
            "site-normal_per_hour": "100",
            "site-priority_per_hour": "0",
            "site-controlled_per_hour": "0",
        },
    )
    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_the_campaign_page_from_three_seats(client: Client, area: Area, campaign: Campaign) -> None:
    url = campaign.get_absolute_url()
    _login(client, area.world.alice)
    page = client.get(url)
    assert page.status_code == 200 and "run-schedule" not in page.content.decode()
    _login(client, area.world.bob)
    assert client.get(url).status_code == 200
    _login(client, area.world.charlie)
    assert client.get(url).status_code == 404
    assert client.get(reverse("screening:campaigns")).content.decode().count("data-campaign=") == 0


def test_schedule_notify_and_close_from_the_page(
    client: Client, area: Area, campaign: Campaign, django_assert_max_num_queries: object
) -> None:
    _login(client, area.world.commander)
    client.post(reverse("screening:schedule", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert 'id="slots"' in page and "send-notices" in page
    client.post(reverse("screening:notify", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.NOTIFIED
    with django_assert_max_num_queries(30):  # type: ignore[operator]
        assert client.get(campaign.get_absolute_url()).status_code == 200
    # alice (a grid worker) may not schedule or close
    _login(client, area.world.alice)
    client.post(reverse("screening:close", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.NOTIFIED
    _login(client, area.world.commander)
    response = client.post(reverse("screening:close", args=[campaign.pk]), follow=True)
    assert "follow-up" in response.content.decode()
    assert Task.objects.filter(source=Task.Source.SCREENING, title__startswith="Not tested").count() == 2


def test_sites_are_edited_and_a_bad_capacity_is_refused(
    client: Client, area: Area, campaign: Campaign
) -> None:
    _login(client, area.world.commander)
    site = campaign.sites.get()
    client.post(
        reverse("screening:site_save", args=[campaign.pk]),
        {
            "site": site.pk,
            f"s{site.pk}-name": "北门",
            f"s{site.pk}-place": "",
            f"s{site.pk}-normal_per_hour": "90",
            f"s{site.pk}-priority_per_hour": "0",
            f"s{site.pk}-controlled_per_hour": "0",
        },
    )
    site.refresh_from_db()
    assert site.name == "北门" and site.normal_per_hour == 90
    response = client.post(
        reverse("screening:site_save", args=[campaign.pk]),
        {
            "site": site.pk,
            f"s{site.pk}-name": "x",
            f"s{site.pk}-normal_per_hour": "-5",
            f"s{site.pk}-priority_per_hour": "0",
            f"s{site.pk}-controlled_per_hour": "0",
        },
        follow=True,
    )
    assert "0 to 2,000" in response.content.decode()
    site.refresh_from_db()
    assert site.normal_per_hour == 90


def test_coverage_page_lists_the_missing_of_a_building(
    client: Client, area: Area, campaign: Campaign
) -> None:
    services.campaign_schedule(actor=area.world.commander, campaign=campaign)
    _login(client, area.world.alice)
    page = client.get(
        reverse("screening:coverage", args=[campaign.pk]) + f"?building={area.world.building1.pk}"
    )
    text = page.content.decode()
    assert page.status_code == 200 and "张老" in text and "0 of 8 sampled" in text
    _login(client, area.world.charlie)
    assert client.get(reverse("screening:coverage", args=[campaign.pk])).status_code == 404


def _results_file(rows: list[tuple[str, str]]) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["核酸检测结果"])
    sheet.append(["管号", "结果"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "results.xlsx"
    return out


def test_results_import_is_all_or_nothing_and_idempotent(
    client: Client, area: Area, campaign: Campaign
) -> None:
    commander = area.world.commander
    services.campaign_schedule(actor=commander, campaign=campaign)
    services.campaign_notify(actor=commander, campaign=campaign)
    campaign.refresh_from_db()
    site = campaign.sites.get()
    neg = services.tube_open(actor=commander, campaign=campaign, site=site, code="A1")
    pos = services.tube_open(actor=commander, campaign=campaign, site=site, code="A2")
    services.checkin(
        actor=commander,
        campaign=campaign,
        participant=Participant.objects.get(campaign=campaign, resident=area.world.resident1),
        tube=neg,
        site=site,
    )
    services.checkin(
        actor=commander,
        campaign=campaign,
        participant=Participant.objects.get(campaign=campaign, resident=area.world.resident2),
        tube=pos,
        site=site,
    )
    _login(client, commander)
    url = reverse("screening:results", args=[campaign.pk])
    bad = client.post(url, {"file": _results_file([("A1", "阴性"), ("ZZ9", "阴性"), ("A2", "不知道")])})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Row 4" in text and "ZZ9" in text and "Row 5" in text
    assert not Tube.objects.exclude(result="").exists()
    good = _results_file([("a1", "阴性"), ("A2", "阳性")])
    assert client.post(url, {"file": good}).status_code == 302
    assert Tube.objects.get(code="A2").result == "positive"
    assert ControlCase.objects.filter(resident=area.world.resident2, status="active").count() == 1
    again = client.post(url, {"file": _results_file([("A1", "阴性"), ("A2", "阳性")])}, follow=True)
    assert "2 already recorded" in again.content.decode()
    assert ControlCase.objects.filter(resident=area.world.resident2).count() == 1
    _login(client, area.world.alice)
    assert client.post(url, {"tube": neg.pk, "result": "negative"}).status_code == 403


def test_api_open_schedule_coverage_and_checkin(client: Client, area: Area) -> None:
    _login(client, area.world.commander)
    created = client.post(
        "/api/v1/screening/campaigns",
        {
            "scope": "nanli",
            "date": area.day.isoformat(),
            "sites": [
                {"name": "东门", "normal_per_hour": 60, "priority_per_hour": 20, "controlled_per_hour": 10}
            ],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    scheduled = client.post(f"/api/v1/screening/campaigns/{campaign_id}/schedule")
    assert scheduled.status_code == 200
    body = scheduled.json()
    assert body["people"] == 8 and body["door"] == 2
    assert all(s["load"] <= s["capacity"] for s in body["slots"])
    assert body["max_load"] <= body["capacity"]
    assert client.post(f"/api/v1/screening/campaigns/{campaign_id}/notify").status_code == 200
    from linli.screening.codes import person_code

    payload = {
        "code": person_code(campaign_id, area.elder.pk),
        "tube": "API-1",
        "site": body["slots"][0]["site_id"],
    }
    first = client.post(
        f"/api/v1/screening/campaigns/{campaign_id}/checkins", payload, content_type="application/json"
    )
    assert first.status_code == 201 and first.json()["tube_members"] == 1
    second = client.post(
        f"/api/v1/screening/campaigns/{campaign_id}/checkins", payload, content_type="application/json"
    )
    assert second.status_code == 409 and "Already checked in" in second.json()["detail"]
    coverage = client.get(f"/api/v1/screening/campaigns/{campaign_id}/coverage").json()
    assert coverage["tested"] == 1 and coverage["people"] == 8
    _login(client, area.world.charlie)
    assert client.get(f"/api/v1/screening/campaigns/{campaign_id}/coverage").status_code == 404
    bad = client.post(
        "/api/v1/screening/campaigns",
        {"scope": "nanli", "date": (area.day - dt.timedelta(days=30)).isoformat()},
        content_type="application/json",
    )
    assert bad.status_code == 404  # charlie cannot even see the community


def test_a_campaign_is_deleted_only_before_its_notices(
    client: Client, area: Area, campaign: Campaign
) -> None:
    _login(client, area.world.alice)
    assert client.post(reverse("screening:delete", args=[campaign.pk])).status_code == 302
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    services.campaign_schedule(actor=area.world.commander, campaign=campaign)
    services.campaign_notify(actor=area.world.commander, campaign=campaign)
    _login(client, area.world.commander)
    client.post(reverse("screening:delete", args=[campaign.pk]))
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    fresh = services.campaign_open(actor=area.world.commander, community=area.world.community, day=area.day)
    services.campaign_schedule(actor=area.world.commander, campaign=fresh)
    assert client.post(reverse("screening:delete", args=[fresh.pk])).status_code == 302
    assert not Campaign.objects.filter(pk=fresh.pk).exists()
    assert not Participant.objects.filter(campaign_id=fresh.pk).exists()


def test_who_is_missing_is_shown_to_the_buildings_own_grid_and_not_to_observers(
    client: Client, area: Area, campaign: Campaign
) -> None:
    services.campaign_schedule(actor=area.world.commander, campaign=campaign)
    url = reverse("screening:coverage", args=[campaign.pk]) + f"?building={area.world.building1.pk}"
    _login(client, area.world.alice)  # grid 1, building 1
    assert "陈伴" in client.get(url).content.decode()
    _login(client, area.world.bob)  # grid 2
    assert client.get(url).status_code == 404
    _login(client, area.world.observer)
    page = client.get(url).content.decode()
    assert "陈伴" not in page and "张老" not in page
