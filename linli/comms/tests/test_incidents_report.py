"""Reporting an incident: where it lands on the site plan (the building's spot, else the GPS fix between the
plan's edges), who hears of it (in-app, the staff groups' robots, the departments' webhook), what it refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from linli.comms.incidents import building_place, building_unplace, gps_to_plan, siteplan_set_corners
from linli.comms.models import Channel, ChannelEndpoint, Incident, Notification, OutboxMessage, SitePlan
from linli.comms.tests.test_incidents_fixtures import (  # noqa: F401 (the autouse fixture)
    EDGES,
    SPOT1,
    SPOT2,
    _incident_env,
    report,
    with_plan,
)
from linli.conftest import World
from linli.core.models import AuditLog
from linli.core.roles import Role
from linli.factories import UserFactory

# --- the plan position ------------------------------------------------------------------------------------


def test_a_gps_fix_maps_linearly_between_the_plans_edges() -> None:
    plan = SitePlan(width=1000, height=700, **EDGES)
    x, y = gps_to_plan(plan, Decimal("39.874000"), Decimal("116.461000")) or (None, None)
    assert (round(x, 3), round(y, 3)) == (0.5, 0.5)
    x, y = gps_to_plan(plan, EDGES["north"], EDGES["west"]) or (None, None)
    assert (x, y) == (0.0, 0.0)
    x, y = gps_to_plan(plan, Decimal("39.8725"), Decimal("116.4585")) or (None, None)
    assert (round(x, 3), round(y, 3)) == (0.25, 0.75)


def test_a_fix_just_off_the_edge_is_drawn_at_the_edge_and_one_far_away_not_at_all() -> None:
    plan = SitePlan(width=1000, height=700, **EDGES)
    assert gps_to_plan(plan, Decimal("39.877100"), Decimal("116.466200")) == (1.0, 0.0)
    assert gps_to_plan(plan, Decimal("39.900000"), Decimal("116.461000")) is None


def test_without_edges_a_gps_fix_is_not_placed() -> None:
    assert gps_to_plan(SitePlan(width=1000, height=700), Decimal("39.874"), Decimal("116.461")) is None
    assert gps_to_plan(None, Decimal("39.874"), Decimal("116.461")) is None


def test_an_incident_at_a_building_takes_the_buildings_spot_even_with_a_gps_fix(world: World) -> None:
    with_plan(world)
    incident = report(world, latitude=Decimal("39.8725"), longitude=Decimal("116.4585"), accuracy_m=30)
    assert (incident.plan_x, incident.plan_y) == SPOT1
    assert incident.latitude == Decimal("39.872500") and incident.accuracy_m == 30


def test_an_incident_in_words_with_a_gps_fix_is_placed_by_the_fix(world: World) -> None:
    with_plan(world)
    incident = report(
        world, building=None, place="地下车库B区", latitude=Decimal("39.8725"), longitude=Decimal("116.4585")
    )
    assert (round(incident.plan_x, 3), round(incident.plan_y, 3)) == (0.25, 0.75)


def test_an_incident_in_words_only_is_not_on_the_plan(world: World) -> None:
    with_plan(world)
    incident = report(world, building=None, place="东门")
    assert not incident.on_plan and incident.where == "东门"


def test_placing_a_building_later_brings_its_incidents_onto_the_plan_and_moving_it_moves_them(
    world: World,
) -> None:
    plan = with_plan(world, edges=False)
    building_unplace(actor=world.commander, building=world.building2)
    earlier = report(world, building=world.building2)
    assert not earlier.on_plan
    building_place(actor=world.commander, building=world.building2, x=0.5, y=0.5)
    earlier.refresh_from_db()
    assert (earlier.plan_x, earlier.plan_y) == (0.5, 0.5)
    building_place(actor=world.commander, building=world.building2, x=0.6, y=0.55)
    earlier.refresh_from_db()
    assert (earlier.plan_x, earlier.plan_y) == (0.6, 0.55)
    assert plan.pk


def test_only_the_communitys_administrators_set_up_the_plan(world: World) -> None:
    plan = with_plan(world)
    with pytest.raises(PermissionDenied):
        building_place(actor=world.alice, building=world.building1, x=0.1, y=0.1)
    with pytest.raises(PermissionDenied):
        building_place(actor=world.charlie, building=world.building1, x=0.1, y=0.1)
    with pytest.raises(PermissionDenied):
        siteplan_set_corners(actor=world.observer, plan=plan, north="", west="", south="", east="")
    assert world.building1.placement.x == SPOT1[0]  # type: ignore[attr-defined]


def test_the_plans_edges_must_be_all_four_and_make_sense(world: World) -> None:
    plan = with_plan(world, edges=False)
    with pytest.raises(ValidationError, match="all four"):
        siteplan_set_corners(
            actor=world.commander, plan=plan, north="39.87", west="116.45", south="", east=""
        )
    with pytest.raises(ValidationError) as exc:
        siteplan_set_corners(
            actor=world.commander, plan=plan, north="39.87", west="116.45", south="39.88", east="116.46"
        )
    assert "north" in exc.value.message_dict
    with pytest.raises(ValidationError, match="20 km"):
        siteplan_set_corners(
            actor=world.commander, plan=plan, north="40.5", west="116.45", south="39.87", east="116.46"
        )
    plan = siteplan_set_corners(
        actor=world.commander, plan=plan, north="39,877", west="116.456", south="39.871", east="116.466"
    )
    assert plan.north == Decimal("39.877000")
    plan = siteplan_set_corners(actor=world.commander, plan=plan, north="", west="", south="", east="")
    assert plan.north is None


# --- raising the alarm ------------------------------------------------------------------------------------


def test_the_commanders_and_the_buildings_grid_worker_and_leader_are_told_urgently(world: World) -> None:
    leader = UserFactory(username="leader1", role=Role.GRID_LEADER, grid=world.grid1)
    world.grid1.leader = leader
    world.grid1.save()
    incident = report(world, urgent=True)
    told = Notification.objects.filter(url=f"/comms/incidents/{incident.pk}/")
    assert set(told.values_list("user__username", flat=True)) == {"commander", "alice", "leader1"}
    assert all(n.urgent for n in told)
    assert "楼道里有烟" in told.first().body  # type: ignore[union-attr]
    # Another grid's worker and another community's commander are not.
    assert not Notification.objects.filter(user__in=[world.bob, world.charlie]).exists()


def test_the_reporter_is_not_told_about_their_own_report(world: World) -> None:
    report(world, actor=world.alice, via="staff")
    assert not Notification.objects.filter(user=world.alice).exists()
    assert Notification.objects.filter(user=world.commander).exists()


def test_the_staff_groups_robots_get_a_post_and_the_departments_a_webhook_without_personal_data(
    world: World,
) -> None:
    wecom = ChannelEndpoint.objects.create(
        kind=Channel.WECOM, name="南里社区工作群", url="http://127.0.0.1:9/wecom", community=world.community
    )
    other = ChannelEndpoint.objects.create(
        kind=Channel.DINGTALK,
        name="别的社区",
        url="http://127.0.0.1:9/ding",
        community=world.charlie.community,
    )
    police = ChannelEndpoint.objects.create(
        kind=Channel.WEBHOOK,
        name="派出所",
        url="http://127.0.0.1:9/hook",
        street=world.community.street,
        events=["incident.reported"],
    )
    ChannelEndpoint.objects.create(
        kind=Channel.WEBHOOK,
        name="疾控",
        url="http://127.0.0.1:9/cdc",
        street=world.community.street,
        events=["case.created"],
    )
    with_plan(world)
    incident = report(world, urgent=True, latitude=Decimal("39.8725"), longitude=Decimal("116.4585"))
    robot = OutboxMessage.objects.get(endpoint=wecom)
    assert robot.key == f"incident:{incident.pk}:e{wecom.pk}" and robot.urgent
    assert "楼道里有烟" in robot.body and "13911112222" not in robot.body and "王女士" not in robot.body
    assert robot.url.endswith(f"/comms/incidents/{incident.pk}/")
    assert not OutboxMessage.objects.filter(endpoint=other).exists()
    hook = OutboxMessage.objects.get(channel=Channel.WEBHOOK)
    assert hook.endpoint_id == police.pk
    data = hook.payload["data"]
    assert hook.payload["event"] == "incident.reported"
    assert data["id"] == incident.pk and data["kind"] == "fire" and data["community"] == "nanli"
    assert data["building"] == "1" and data["place"] == "2单元3层楼道" and data["status"] == "new"
    assert data["latitude"] == "39.872500" and data["plan_x"] == SPOT1[0]
    assert data["url"].endswith(f"/comms/incidents/{incident.pk}/")
    text = str(hook.payload)
    assert "王女士" not in text and "13911112222" not in text and "楼道里有烟" not in text


def test_each_report_is_in_the_audit_log(world: World) -> None:
    incident = report(world)
    entry = AuditLog.objects.get(target_type="comms.incident", target_id=str(incident.pk))
    assert entry.action == "create" and entry.community_id == world.community.pk and entry.actor is None


# --- refusals ---------------------------------------------------------------------------------------------


def test_a_report_needs_a_kind_and_somewhere(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        report(world, kind="meteor", building=None, place="")
    assert {"kind", "place"} <= set(exc.value.message_dict)
    assert not Incident.objects.exists()


def test_a_building_of_another_community_is_refused(world: World) -> None:
    from linli.registry.models import Building

    elsewhere = Building.objects.exclude(community=world.community).first()
    with pytest.raises(ValidationError) as exc:
        report(world, building=elsewhere)
    assert "building" in exc.value.message_dict


def test_a_phone_must_be_a_phone_and_is_stored_normalised(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        report(world, reporter_phone="12345")
    assert "reporter_phone" in exc.value.message_dict
    assert report(world, reporter_phone="+86 139-1111-2222").reporter_phone == "13911112222"


def test_the_token_to_follow_a_report_is_long_and_unique(world: World) -> None:
    a, b = report(world), report(world)
    assert len(a.token) >= 24 and a.token != b.token
    assert SPOT2  # the second building's spot is used by the HTTP tests


def test_the_same_report_sent_again_within_minutes_is_the_same_incident(world: World) -> None:
    from linli.comms.incidents import incident_report

    fields = {
        "community": world.community,
        "kind": Incident.Kind.POWER,
        "description": "整栋楼停电了",
        "building": world.building1,
        "ip": "203.0.113.9",
    }
    first = incident_report(**fields)  # type: ignore[arg-type]
    assert incident_report(**fields) == first  # type: ignore[arg-type]
    assert Incident.objects.count() == 1
    other = incident_report(**{**fields, "description": "3单元也停电"})  # type: ignore[arg-type]
    assert other != first
