"""Incident pages through HTTP: the resident's report from the building's QR code and their status page, the
signed-in report of staff and volunteers, the staff map and list (three seats, query count), triage forms,
photos and videos served only to those who may see them, and the site plan setup."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from linli.comms.incidents import incident_reply
from linli.comms.models import BuildingPlacement, Incident, IncidentMedia, Notification, SitePlan
from linli.comms.tests.test_badges import volunteer_account
from linli.comms.tests.test_incidents_fixtures import (  # noqa: F401 (the autouse fixture)
    SPOT1,
    _incident_env,
    fake_video,
    image_bytes,
    mp4,
    photo,
    report,
    signed_in,
    text_file,
    with_plan,
)
from linli.comms.views import incidents as views
from linli.conftest import World, one_flood_window
from linli.core.models import AuditLog
from linli.health.selfreport import building_token
from linli.response.models import Response
from linli.tasks.models import Task, Team


def public_url(world: World) -> str:
    return reverse("comms:incident_public", args=[building_token(world.building1.pk)])


def form(**values: object) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": "lift",
        "where": "here",
        "description": "电梯困人，里面有老人",
        "place": "2单元",
    }
    data.update(values)
    return data


# --- the resident's report ------------------------------------------------------------------------------


def test_the_qr_page_opens_for_the_building_without_signing_in(world: World, client: Client) -> None:
    response = client.get(public_url(world))
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex"
    page = response.content.decode()
    assert "Building 1" in page and 'href="tel:119"' in page and 'href="tel:120"' in page
    assert 'name="files"' in page and "multiple" in page


def test_a_wrong_token_is_a_404(world: World, client: Client) -> None:
    token = building_token(world.building1.pk)
    assert client.get(reverse("comms:incident_public", args=[token[:-1] + "0"])).status_code == 404
    assert client.get(reverse("comms:incident_public", args=["999999-abcdef0123"])).status_code == 404


def test_a_resident_reports_with_photos_and_a_video_and_follows_it(world: World, client: Client) -> None:
    response = client.post(
        public_url(world),
        form(urgent="1", reporter_name="王女士", reporter_phone="139 1111 2222", files=[photo(), mp4()]),
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("comms:incident_status", args=[incident.token]) + "?new=1"
    assert incident.building == world.building1 and incident.via == "resident" and incident.urgent
    assert incident.reporter_phone == "13911112222" and incident.ip == "127.0.0.1"
    assert incident.media.count() == 2
    assert Notification.objects.filter(user=world.commander, urgent=True).exists()

    page = client.get(response["Location"])
    assert page.status_code == 200 and page["X-Robots-Tag"] == "noindex"
    text = page.content.decode()
    assert "your report was received" in text and f"#{incident.pk}" in text
    photo_row = incident.media.order_by("id").first()
    assert photo_row is not None
    assert reverse("comms:incident_status_media", args=[incident.token, photo_row.pk]) in text
    assert "<video" in text

    incident_reply(actor=world.alice, incident=incident, note="工作人员五分钟内到")
    assert (
        "工作人员五分钟内到"
        in client.get(reverse("comms:incident_status", args=[incident.token])).content.decode()
    )


def test_another_building_or_a_place_in_words_can_be_chosen(world: World, client: Client) -> None:
    client.post(public_url(world), form(where="other", building=world.building2.pk))
    client.post(public_url(world), form(where="place", place="地下车库入口"))
    other, place = Incident.objects.order_by("id")
    assert other.building == world.building2
    assert place.building is None and place.place == "地下车库入口"


def test_a_location_from_the_phone_is_kept(world: World, client: Client) -> None:
    with_plan(world)
    client.post(
        public_url(world),
        form(where="place", place="", latitude="39.8725", longitude="116.4585", accuracy="12.7"),
    )
    incident = Incident.objects.get()
    assert str(incident.latitude) == "39.872500" and incident.accuracy_m == 12
    assert (round(incident.plan_x, 3), round(incident.plan_y, 3)) == (0.25, 0.75)


def test_bad_files_are_left_out_named_and_the_report_goes_in(world: World, client: Client) -> None:
    response = client.post(
        public_url(world), form(files=[photo(), text_file("note.jpg"), fake_video("x.mp4")]), follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "note.jpg is not a photo or a video" in page and "x.mp4 is not a photo or a video" in page
    incident = Incident.objects.get()
    assert incident.description and IncidentMedia.objects.filter(incident=incident).count() == 1


def test_missing_answers_are_shown_next_to_their_fields(world: World, client: Client) -> None:
    response = client.post(public_url(world), {"where": "place", "place": "", "reporter_phone": "123"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose what happened." in page and "Describe the place" in page
    assert not Incident.objects.exists()


def test_floods_from_one_address_get_429(world: World, client: Client) -> None:
    with one_flood_window(600):
        for n in range(views.POSTS_PER_WINDOW):
            assert client.post(public_url(world), form(description=f"第{n}次")).status_code == 302
        response = client.post(public_url(world), form(description="又一次"))
        assert response.status_code == 429 and response["Retry-After"]
        assert Incident.objects.count() == views.POSTS_PER_WINDOW
        # Another address is not held up.
        assert client.post(public_url(world), form(), REMOTE_ADDR="10.0.0.9").status_code == 302


def test_guessing_status_pages_is_stopped(world: World, client: Client) -> None:
    incident = report(world)
    for n in range(views.TOKEN_MISSES):
        assert client.get(reverse("comms:incident_status", args=[f"guess{n:020d}"])).status_code == 404
    assert client.get(reverse("comms:incident_status", args=[incident.token])).status_code == 429


# --- files --------------------------------------------------------------------------------------------------


def test_photos_and_videos_are_served_to_the_reporter_and_the_communitys_staff_only(
    world: World, client: Client
) -> None:
    incident = report(world, files=[photo(size=(2400, 1800)), mp4()])
    photo_row, video_row = incident.media.order_by("id")
    mine = reverse("comms:incident_status_media", args=[incident.token, photo_row.pk])
    response = client.get(mine)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert (
        response["Cache-Control"] == "private, no-store" and response["X-Content-Type-Options"] == "nosniff"
    )
    preview = client.get(mine + "?size=preview")
    assert len(b"".join(preview.streaming_content)) < len(b"".join(client.get(mine).streaming_content))  # type: ignore[attr-defined]

    staff = reverse("comms:incident_media", args=[video_row.pk])
    assert client.get(staff).status_code == 302  # to the login page
    assert signed_in(world.bob).get(staff).status_code == 200
    assert signed_in(world.observer).get(staff).status_code == 200
    assert signed_in(world.charlie).get(staff).status_code == 404
    # Another report's token does not open this one's files.
    other = report(world)
    assert (
        client.get(reverse("comms:incident_status_media", args=[other.token, photo_row.pk])).status_code
        == 404
    )
    # MEDIA_URL serves nothing: the file's own address is not a way in.
    assert client.get(photo_row.file.url).status_code == 404


def test_videos_are_served_in_byte_ranges_for_phones(world: World) -> None:
    incident = report(world, files=[mp4()])
    url = reverse("comms:incident_media", args=[incident.media.get().pk])
    client = signed_in(world.alice)
    whole = client.get(url)
    size = int(whole["Content-Length"])
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Type"] == "video/mp4"
    part = client.get(url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 0-99/{size}"
    assert len(b"".join(part.streaming_content)) == 100  # type: ignore[attr-defined]
    tail = client.get(url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and tail["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    assert client.get(url, HTTP_RANGE=f"bytes={size + 5}-").status_code == 416


# --- signed in: staff and volunteers ------------------------------------------------------------------------


def test_staff_report_signed_in_and_land_on_the_incident(world: World) -> None:
    client = signed_in(world.alice)
    assert client.get(reverse("comms:incident_new")).status_code == 200
    response = client.post(reverse("comms:incident_new"), form(where="other", building=world.building2.pk))
    incident = Incident.objects.get()
    assert response["Location"] == reverse("comms:incident", args=[incident.pk])
    assert (
        incident.via == "staff"
        and incident.reported_by == world.alice
        and incident.reporter_name == world.alice.name
    )


def test_a_volunteer_reports_for_their_community_and_follows_it(world: World) -> None:
    volunteer = volunteer_account(world, "周晓燕")
    client = signed_in(volunteer)
    page = client.get(reverse("comms:incident_new"))
    assert page.status_code == 200 and "Building 2" in page.content.decode()
    response = client.post(reverse("comms:incident_new"), form(where="place", place="小区东门"))
    incident = Incident.objects.get()
    assert incident.via == "volunteer" and incident.community == world.community
    assert incident.reporter_name == "周晓燕" and incident.reporter_phone.startswith("1390000")
    assert response["Location"].startswith(reverse("comms:incident_status", args=[incident.token]))
    assert "小区东门" in client.get(reverse("comms:incident_new")).content.decode()  # "your recent reports"
    # The staff pages stay closed to them.
    assert client.get(reverse("comms:incidents")).status_code == 302


def test_observers_and_inactive_volunteers_cannot_report_signed_in(world: World) -> None:
    assert signed_in(world.observer).get(reverse("comms:incident_new")).status_code == 403
    applicant = volunteer_account(world, "申请人", status="applied")
    assert signed_in(applicant).get(reverse("comms:incident_new")).status_code == 403


# --- the map and the list: three seats ------------------------------------------------------------------


def test_the_community_sees_its_incidents_on_the_plan_and_in_the_list(world: World) -> None:
    with_plan(world)
    fire = report(world, urgent=True)
    place = report(world, building=None, place="东门", kind=Incident.Kind.SECURITY)
    for user in (world.alice, world.bob, world.observer, world.commander):
        page = signed_in(user).get(reverse("comms:incidents")).content.decode()
        assert f'data-incident="{fire.pk}"' in page  # the marker on the plan
        assert reverse("comms:incident", args=[place.pk]) in page  # in the list, though not on the plan
        assert f'data-incident="{place.pk}"' not in page
    assert signed_in(world.alice).get(reverse("comms:incident", args=[fire.pk])).status_code == 200
    assert signed_in(world.bob).get(reverse("comms:incident", args=[fire.pk])).status_code == 200


def test_another_community_and_outsiders_see_nothing(world: World, client: Client) -> None:
    fire = report(world)
    charlie = signed_in(world.charlie)
    page = charlie.get(reverse("comms:incidents")).content.decode()
    assert reverse("comms:incident", args=[fire.pk]) not in page
    assert charlie.get(reverse("comms:incidents") + "?community=nanli").status_code == 404
    assert charlie.get(reverse("comms:incident", args=[fire.pk])).status_code == 404
    assert (
        charlie.post(reverse("comms:incident_act", args=[fire.pk, "close"]), {"note": "x"}).status_code == 404
    )
    assert client.get(reverse("comms:incidents")).status_code == 302
    assert client.get(reverse("comms:incident", args=[fire.pk])).status_code == 302


def test_a_street_administrator_chooses_the_community(world: World) -> None:
    fire = report(world)
    client = signed_in(world.street_admin)
    page = client.get(reverse("comms:incidents") + "?community=nanli").content.decode()
    assert reverse("comms:incident", args=[fire.pk]) in page and "别的社区" in page


def test_the_list_filters_by_status(world: World) -> None:
    open_one, closed = report(world), report(world, description="已处理的")
    closed.status = Incident.Status.CLOSED
    closed.save()
    client = signed_in(world.alice)
    page = client.get(reverse("comms:incidents")).content.decode()
    assert reverse("comms:incident", args=[open_one.pk]) in page
    assert reverse("comms:incident", args=[closed.pk]) not in page
    page = client.get(reverse("comms:incidents") + "?show=closed").content.decode()
    assert reverse("comms:incident", args=[closed.pk]) in page
    assert reverse("comms:incident", args=[open_one.pk]) not in page


def test_the_map_and_list_keep_their_query_count(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with_plan(world)
    for n in range(12):  # more incidents, photos and buildings must not mean more queries
        report(
            world, building=[world.building1, world.building2, None][n % 3], place=f"地点{n}", files=[photo()]
        )
    client = signed_in(world.commander)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("comms:incidents"))
    assert response.content.decode().count("data-incident=") == 8


def test_the_detail_page_keeps_its_query_count(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with_plan(world)
    incident = report(world, files=[photo(), photo(), mp4()])
    client = signed_in(world.commander)
    client.post(
        reverse("comms:incident_act", args=[incident.pk, "tasks"]),
        {"targets": ["worker", Team.ENGINEERING, Team.MEDICAL], "due_in": "60"},
    )
    with django_assert_max_num_queries(15):
        response = client.get(reverse("comms:incident", args=[incident.pk]))
    assert response.status_code == 200


# --- triage through the page ------------------------------------------------------------------------------


def test_the_detail_page_shows_what_the_reporter_sent_with_their_phone_masked(world: World) -> None:
    with_plan(world)
    incident = report(world, files=[photo(), mp4()])
    page = signed_in(world.alice).get(reverse("comms:incident", args=[incident.pk])).content.decode()
    assert "楼道里有烟" in page and "139****2222" in page and "13911112222" not in page
    assert page.count(reverse("comms:incident_media", args=[incident.media.first().pk])) >= 1  # type: ignore[union-attr]
    assert "<video" in page and "Create the tasks" in page and "Activate the plan" not in page
    # The observer reads, masked, with no forms.
    page = signed_in(world.observer).get(reverse("comms:incident", args=[incident.pk])).content.decode()
    assert "Create the tasks" not in page and "王*士" in page


def test_creating_tasks_from_the_page(world: World) -> None:
    incident = report(world)
    client = signed_in(world.alice)
    response = client.post(
        reverse("comms:incident_act", args=[incident.pk, "tasks"]),
        {"targets": ["worker", Team.SECURITY], "due_in": "30", "instructions": "疏散", "reply": "马上到"},
    )
    assert response.status_code == 302
    tasks = list(Task.objects.filter(source=Task.Source.INCIDENT, source_id=incident.pk).order_by("id"))
    assert [t.assignee_id for t in tasks] == [world.alice.pk, None] and tasks[1].team == Team.SECURITY
    page = client.get(reverse("comms:incident", args=[incident.pk])).content.decode()
    assert reverse("tasks:detail", args=[tasks[0].pk]) in page
    # The task's page links back to the incident.
    task_page = client.get(reverse("tasks:detail", args=[tasks[0].pk])).content.decode()
    assert reverse("comms:incident", args=[incident.pk]) in task_page


def test_a_refused_form_is_shown_again_with_its_error(world: World) -> None:
    incident = report(world)
    response = signed_in(world.alice).post(
        reverse("comms:incident_act", args=[incident.pk, "tasks"]), {"due_in": "30"}
    )
    assert response.status_code == 400
    assert "Choose who does it" in response.content.decode()
    past = (dt.datetime.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = signed_in(world.alice).post(
        reverse("comms:incident_act", args=[incident.pk, "tasks"]),
        {"targets": ["worker"], "due_in": "30", "due_at": past},
    )
    assert response.status_code == 400 and "future" in response.content.decode()


def test_the_commander_activates_the_suggested_plan_from_the_page(world: World, small_plan) -> None:  # type: ignore[no-untyped-def]
    incident = report(world)
    client = signed_in(world.commander)
    page = client.get(reverse("comms:incident", args=[incident.pk])).content.decode()
    assert "Activate the plan" in page and small_plan.title in page
    response = client.post(
        reverse("comms:incident_act", args=[incident.pk, "activate"]),
        {"plan": small_plan.pk, "level": "3", "scope": "building", "reason": ""},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.response == Response.objects.get() and incident.status == "triaged"


def test_observers_cannot_post_the_forms(world: World) -> None:
    incident = report(world)
    client = signed_in(world.observer)
    for action in ("tasks", "close", "reject", "reply", "locate"):
        assert (
            client.post(reverse("comms:incident_act", args=[incident.pk, action]), {"note": "x"}).status_code
            == 403
        )
    assert client.post(reverse("comms:incident_act", args=[incident.pk, "nonsense"])).status_code == 404


def test_closing_and_rejecting_from_the_page(world: World, client: Client) -> None:
    first, second = report(world), report(world)
    staff = signed_in(world.bob)
    assert (
        staff.post(reverse("comms:incident_act", args=[first.pk, "close"]), {"note": ""}).status_code == 400
    )
    assert (
        staff.post(reverse("comms:incident_act", args=[first.pk, "close"]), {"note": "已处理"}).status_code
        == 302
    )
    assert (
        staff.post(
            reverse("comms:incident_act", args=[second.pk, "reject"]), {"note": "重复报告"}
        ).status_code
        == 302
    )
    assert Incident.objects.get(pk=first.pk).status == "closed"
    assert Incident.objects.get(pk=second.pk).status == "rejected"
    assert (
        "Not an incident"
        in client.get(
            reverse("comms:incident_status", args=[second.pk and Incident.objects.get(pk=second.pk).token])
        ).content.decode()
    )


def test_staff_put_an_incident_on_the_plan(world: World) -> None:
    with_plan(world)
    incident = report(world, building=None, place="地下车库")
    client = signed_in(world.alice)
    response = client.post(
        reverse("comms:incident_act", args=[incident.pk, "locate"]),
        {"x": "0.4", "y": "0.9"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and response.json() == {"x": 0.4, "y": 0.9}
    bad = client.post(
        reverse("comms:incident_act", args=[incident.pk, "locate"]),
        {"x": "4", "y": "0.9"},
        HTTP_ACCEPT="application/json",
    )
    assert bad.status_code == 400


def test_revealing_the_phone_through_the_page_is_logged(world: World) -> None:
    incident = report(world)
    response = signed_in(world.alice).post(reverse("comms:incident_reveal", args=[incident.pk]))
    assert "13911112222" in response.content.decode()
    assert AuditLog.objects.filter(action="reveal", target_id=str(incident.pk), actor=world.alice).exists()
    assert (
        signed_in(world.observer).post(reverse("comms:incident_reveal", args=[incident.pk])).status_code
        == 403
    )
    assert (
        signed_in(world.charlie).post(reverse("comms:incident_reveal", args=[incident.pk])).status_code == 404
    )


# --- the site plan setup ----------------------------------------------------------------------------------


def test_the_commander_uploads_the_plan_and_places_buildings(world: World) -> None:
    client = signed_in(world.commander)
    assert client.get(reverse("comms:siteplan")).status_code == 200
    response = client.post(reverse("comms:siteplan"), {"image": photo("plan.png", (1200, 800), "PNG")})
    assert response.status_code == 302
    plan = SitePlan.objects.get()
    assert (plan.width, plan.height) == (1200, 800)
    page = client.get(reverse("comms:siteplan")).content.decode()
    assert reverse("comms:siteplan_image", args=["nanli"]) in page and "Building 1" in page
    placed = client.post(
        reverse("comms:siteplan_place"),
        {"building": world.building1.pk, "x": "0.3", "y": "0.45", "community_code": "nanli"},
        HTTP_ACCEPT="application/json",
    )
    assert placed.status_code == 200 and json.loads(placed.content)["x"] == 0.3
    assert BuildingPlacement.objects.get(building=world.building1).y == 0.45
    removed = client.post(
        reverse("comms:siteplan_place"),
        {"building": world.building1.pk, "remove": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert removed.status_code == 200 and not BuildingPlacement.objects.exists()
    image = client.get(reverse("comms:siteplan_image", args=["nanli"]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_a_plan_that_is_not_an_image_is_refused(world: World) -> None:
    response = signed_in(world.commander).post(reverse("comms:siteplan"), {"image": text_file("plan.png")})
    assert response.status_code == 400 and "not a PNG or JPEG" in response.content.decode()
    assert not SitePlan.objects.exists()


def test_the_gps_edges_are_saved_from_the_form(world: World) -> None:
    with_plan(world, edges=False)
    client = signed_in(world.commander)
    response = client.post(
        reverse("comms:siteplan_corners"),
        {"north": "39.877", "west": "116.456", "south": "39.871", "east": "116.466"},
    )
    assert response.status_code == 302 and str(SitePlan.objects.get().north) == "39.877000"
    response = client.post(
        reverse("comms:siteplan_corners"), {"north": "39.877", "west": "", "south": "", "east": ""}
    )
    assert response.status_code == 400 and "all four" in response.content.decode()


def test_only_the_communitys_administrators_set_up_the_plan(world: World) -> None:
    with_plan(world)
    for user in (world.alice, world.observer):
        client = signed_in(user)
        assert client.get(reverse("comms:siteplan")).status_code == 403
        assert (
            client.post(
                reverse("comms:siteplan_place"), {"building": world.building1.pk, "x": "0.1", "y": "0.1"}
            ).status_code
            == 403
        )
    charlie = signed_in(world.charlie)
    assert charlie.get(reverse("comms:siteplan") + "?community=nanli").status_code == 404
    assert (
        charlie.post(
            reverse("comms:siteplan_place"),
            {"building": world.building1.pk, "x": "0.1", "y": "0.1", "community_code": "nanli"},
        ).status_code
        == 404
    )
    assert charlie.get(reverse("comms:siteplan_image", args=["nanli"])).status_code == 404
    assert BuildingPlacement.objects.get(building=world.building1).x == SPOT1[0]
    # Grid workers see the plan image on the map.
    assert signed_in(world.bob).get(reverse("comms:siteplan_image", args=["nanli"])).status_code == 200
    assert image_bytes  # shared helper, used by other modules


@pytest.mark.parametrize("path", ["/i/new/", "/i/t/abc/", "/comms/incidents/", "/comms/siteplan/"])
def test_anonymous_visitors_of_signed_in_pages_go_to_the_login(
    world: World, client: Client, path: str
) -> None:
    response = client.get(path)
    assert response.status_code in (302, 404)
