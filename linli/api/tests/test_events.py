"""case.created and response.activated: one queued delivery per matching subscription, none for other areas
or other events; payloads carry ids, codes, types, times and the staff page, with names masked."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from linli.api.models import ApiToken
from linli.api.services import api_token_create
from linli.comms.models import Channel, ChannelEndpoint, OutboxMessage
from linli.comms.webhooks import EVENT_DATA
from linli.conftest import World
from linli.epidemic import cases
from linli.epidemic.catalogue import load_control_types
from linli.epidemic.models import ControlType
from linli.response.services import response_activate


def subscription(world: World, scope: str, events: list[str], name: str) -> ChannelEndpoint:
    token, _raw = api_token_create(
        actor=None, role="department", scope_code=scope, name=name, department="cdc", permissions=["webhooks"]
    )
    account = token.user
    return ChannelEndpoint.objects.create(
        kind=Channel.WEBHOOK,
        name=name,
        url=f"http://10.0.0.1/{name}",
        secret="0123456789abcdef",
        token=token,
        events=events,
        community_id=account.community_id,
        street_id=None if account.community_id else account.street_id,
    )


@pytest.fixture
def subscriptions(world: World) -> dict[str, ChannelEndpoint]:
    street = world.community.street.code
    return {
        "cdc": subscription(world, "nanli", ["case.created"], "cdc"),
        "police": subscription(world, "nanli", ["response.activated", "incident.reported"], "police"),
        "street": subscription(world, street, ["case.created", "response.activated"], "street"),
        "other": subscription(world, "other", ["case.created", "response.activated"], "other"),
    }


def queued(event: str) -> dict[str, OutboxMessage]:
    return {
        m.endpoint.name: m  # type: ignore[union-attr]
        for m in OutboxMessage.objects.filter(channel=Channel.WEBHOOK, title=event).select_related("endpoint")
    }


@pytest.fixture
def close_contact(world: World) -> ControlType:
    load_control_types()
    return ControlType.objects.get(community__isnull=True, key="close_contact")


def test_opening_a_case_queues_case_created_for_each_subscription_in_scope(
    world, subscriptions, close_contact
) -> None:
    case = cases.case_open(actor=world.commander, resident=world.resident1, control_type=close_contact)
    messages = queued("case.created")
    # The community's CDC and the street office subscribed to it; the police did not; the other community's
    # subscription is not in scope.
    assert sorted(messages) == ["cdc", "street"]
    payload = messages["cdc"].payload
    assert payload["event"] == "case.created" and payload["id"] == f"case:{case.pk}:case.created"
    data = payload["data"]
    assert (
        data["id"] == case.pk
        and data["community"] == "nanli"
        and data["street"] == world.community.street.code
    )
    assert data["control_type"] == "close_contact" and data["measure"] == case.measure
    assert data["building"] == "1" and data["status"] == "active"
    assert data["resident"] == "李*英"  # masked, never the full name
    assert "李秀英" not in str(payload) and "13812341234" not in str(payload)
    assert data["url"] == case.get_absolute_url()
    assert set(data) == set(EVENT_DATA["case.created"].model_fields)
    assert messages["cdc"].key == f"wh:case:{case.pk}:case.created:e{subscriptions['cdc'].pk}"
    assert messages["cdc"].community_id == world.community.pk


def test_a_case_in_another_community_reaches_only_that_communitys_and_the_streets(
    world, subscriptions, close_contact
) -> None:
    cases.case_open(actor=world.charlie, resident=world.other_resident, control_type=close_contact)
    assert sorted(queued("case.created")) == ["other", "street"]


def test_activating_a_response_queues_response_activated(world, subscriptions, small_plan) -> None:
    response = response_activate(
        actor=world.commander,
        plan=small_plan,
        level=2,
        reason="2号楼燃气泄漏",
        whole_community=False,
        buildings=[world.building2],
    )
    messages = queued("response.activated")
    assert sorted(messages) == ["police", "street"]
    data = messages["police"].payload["data"]
    assert data["id"] == response.pk and data["level"] == 2 and data["level_colour"] == "orange"
    assert data["drill"] is False and data["whole_community"] is False and data["buildings"] == ["2"]
    assert (
        data["reason"] == "2号楼燃气泄漏"
        and data["status"] == "active"
        and data["category"] == small_plan.category
    )
    assert set(data) == set(EVENT_DATA["response.activated"].model_fields)
    assert not queued("case.created")


def test_the_staff_page_is_absolute_when_the_site_knows_its_address(
    world, subscriptions, close_contact, settings
) -> None:
    settings.PUBLIC_URL = "https://linli.example.gov.cn/"
    case = cases.case_open(actor=world.commander, resident=world.resident1, control_type=close_contact)
    assert (
        queued("case.created")["cdc"].payload["data"]["url"]
        == f"https://linli.example.gov.cn{case.get_absolute_url()}"
    )


def test_a_drill_is_sent_marked_as_a_drill(world, subscriptions, small_plan) -> None:
    response_activate(actor=world.commander, plan=small_plan, level=4, reason="月度演练", drill=True)
    assert queued("response.activated")["police"].payload["data"]["drill"] is True


def test_nothing_is_queued_without_subscriptions_or_for_a_revoked_token(
    world, small_plan, close_contact
) -> None:
    hook = subscription(world, "nanli", ["case.created"], "cdc")
    ApiToken.objects.filter(pk=hook.token_id).update(revoked_at="2026-01-01T00:00:00Z")
    cases.case_open(actor=world.commander, resident=world.resident1, control_type=close_contact)
    response_activate(actor=world.commander, plan=small_plan, level=2, reason="x")
    assert not OutboxMessage.objects.filter(channel=Channel.WEBHOOK).exists()


def test_the_event_is_queued_in_the_cases_transaction(world, subscriptions, close_contact) -> None:
    """A case refused (already under control) queues nothing."""
    cases.case_open(actor=world.commander, resident=world.resident1, control_type=close_contact)
    with pytest.raises(ValidationError):
        cases.case_open(actor=world.commander, resident=world.resident1, control_type=close_contact)
    assert len(queued("case.created")) == 2


def test_the_documented_incident_payload_matches_what_incidents_send(world) -> None:
    """incident.reported is raised by the incidents app; the OpenAPI document describes it from
    IncidentReportedData. The two must not drift apart."""
    from linli.comms.incidents.reporting import webhook_data
    from linli.comms.models import Incident

    incident = Incident.objects.create(
        community=world.community, kind="fire", token="t" * 24, building=world.building1
    )
    data = webhook_data(incident, world.community)
    assert set(data) == set(EVENT_DATA["incident.reported"].model_fields)
    EVENT_DATA["incident.reported"].model_validate(data)
