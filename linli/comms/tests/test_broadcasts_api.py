"""Broadcasts, the API: POST /api/v1/comms/broadcasts creates and sends a notice (the page's services), GET
/api/v1/comms/broadcasts/{id} says how far it got. Tokens need the "broadcasts" permission; a community
outside the caller's area is a 404; refusals are 400s that say what to fix."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from linli.api.services import api_token_create
from linli.comms.models import Broadcast, BroadcastRecipient, OutboxMessage
from linli.comms.tests.test_broadcasts import NOW, People, make_people
from linli.conftest import World

URL = "/api/v1/comms/broadcasts"


@pytest.fixture(autouse=True)
def _morning() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(world: World) -> People:
    return make_people(world)


def token(*permissions: str, role: str = "community_admin", scope: str = "nanli") -> dict[str, str]:
    raw = api_token_create(actor=None, role=role, scope_code=scope, name="区应急局", permissions=permissions)[
        1
    ]
    # The messages below are checked in English (a script may ask for it; the default is Chinese).
    return {"Authorization": f"Bearer {raw}", "Accept-Language": "en"}


def post(headers: dict[str, str], **fields: Any) -> Any:
    body = {
        "community": "nanli",
        "title": "停水通知",
        "text": "明日9:00至17:00停水。",
        "channels": ["sms"],
    } | fields
    return Client().post(URL, json.dumps(body), content_type="application/json", headers=headers)


def test_a_notice_is_created_and_sent_and_its_counts_read(world: World, people: People) -> None:
    headers = token("broadcasts")
    response = post(headers, require_ack=True, ack_deadline="2030-06-03T11:30:00+08:00")
    assert response.status_code == 201, response.content
    data = response.json()
    b = Broadcast.objects.get(pk=data["id"])
    assert data == {"id": b.pk, "recipients": 5}
    assert b.status == "sent" and b.require_ack and b.ack_deadline == NOW + dt.timedelta(hours=2, minutes=30)
    OutboxMessage.objects.filter(broadcast=b, address=world.resident1.phone).update(status="delivered")
    BroadcastRecipient.objects.filter(broadcast=b, resident=world.resident1).update(acked_at=NOW)
    status = Client().get(f"{URL}/{b.pk}", headers=headers)
    assert status.json() == {
        "id": b.pk,
        "status": "sent",
        "recipients": 5,
        "sent": 1,
        "delivered": 1,
        "failed": 0,
        "acknowledged": 1,
        "pending": 1,
    }


def test_buildings_by_number_and_a_template_by_key(world: World, people: People) -> None:
    response = post(token(), scope="buildings", buildings=["2"], template="water-cut", title="", text="")
    assert response.status_code == 400
    assert "Fill in {time}" in response.json()["detail"]  # the template's time is for the sender to write
    response = post(token(), scope="buildings", buildings=[2], template="water-cut", title="")
    assert response.status_code == 201
    b = Broadcast.objects.get()
    assert b.title == "停水通知" and b.body == "明日9:00至17:00停水。" and b.template is not None
    assert list(b.buildings.all()) == [world.building2] and b.recipient_count == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": ""}, "body: Write the text of the notice."),
        ({"channels": ["wecom"]}, "are for staff"),
        ({"scope": "buildings", "buildings": ["99"]}, "buildings: no building 99 in nanli"),
        ({"template": "nosuch"}, "template: no template with the key nosuch"),
        ({"text": "很长的通知。" * 70}, "at most 5 messages"),
        ({"require_ack": True, "ack_deadline": "2030-06-03T08:00:00+08:00"}, "in the past"),
        ({"require_ack": True, "ack_deadline": "2030-06-03T12:00:00"}, "give the time zone"),
    ],
)
def test_refusals_say_what_to_fix(world: World, fields: dict[str, Any], message: str) -> None:
    response = post(token(), **fields)
    assert response.status_code == 400 and message in response.json()["detail"]
    assert not Broadcast.objects.filter(status="sent").exists()


def test_a_token_without_the_permission_is_refused(world: World) -> None:
    assert post(token("reports")).status_code == 403
    assert not Broadcast.objects.exists()


def test_outside_the_callers_area_is_not_found(world: World) -> None:
    other = token(scope="other")
    assert post(other).status_code == 404
    mine = post(token()).json()["id"]
    assert Client().get(f"{URL}/{mine}", headers=other).status_code == 404
    assert Client().get(f"{URL}/999999", headers=token()).status_code == 404


def test_three_seats_through_the_session(world: World) -> None:
    """The site's own accounts use the same API: the commander sends; a grid worker of the community may read
    the counts but not send; an outsider sees nothing."""
    commander, alice, charlie = Client(), Client(), Client()
    commander.force_login(world.commander)
    alice.force_login(world.alice)
    charlie.force_login(world.charlie)
    body = json.dumps({"community": "nanli", "title": "通知", "text": "内容", "channels": ["sms"]})
    created = commander.post(URL, body, content_type="application/json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert alice.post(URL, body, content_type="application/json").status_code == 403
    assert alice.get(f"{URL}/{pk}").status_code == 200
    assert charlie.post(URL, body, content_type="application/json").status_code == 404
    assert charlie.get(f"{URL}/{pk}").status_code == 404


def test_a_department_account_may_not_send(world: World) -> None:
    assert post(token("broadcasts", role="department")).status_code == 403


def test_a_staff_notice_through_the_api(world: World, people: People) -> None:
    response = post(token(), audience="staff", channels=["inapp", "email"], title="值班", text="今晚值班")
    assert response.status_code == 201 and response.json()["recipients"] == 5
    assert not Broadcast.objects.get().public


def test_a_notice_that_reaches_nobody_leaves_no_draft(world: World) -> None:
    response = post(token("broadcasts"), scope="special", special_kinds=["pregnant"])
    assert response.status_code == 400, response.content
    assert not Broadcast.objects.exists()
