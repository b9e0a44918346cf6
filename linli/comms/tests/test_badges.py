"""Staff badges through their services: issuing, re-issuing a lost badge, revoking, the role shown, photos,
the on-duty rule (switch, active response, volunteer shift, testing-site scans) and the public check."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from linli.comms import badges as svc
from linli.comms.models import Badge
from linli.conftest import World
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.factories import UserFactory
from linli.registry.models import Grid
from linli.volunteers.models import Need, Shift, Volunteer

NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def volunteer_account(world: World, name: str = "周晓燕", status: str = Volunteer.Status.ACTIVE) -> User:
    account = UserFactory(username=f"v{Volunteer.objects.count()}", role=Role.VOLUNTEER, display_name=name)
    Volunteer.objects.create(
        community=world.community,
        name=name,
        phone=f"1390000{Volunteer.objects.count():04d}",
        status=status,
        user=account,
    )
    return User.objects.select_related("volunteer__community").get(pk=account.pk)


def photo_upload(
    size: tuple[int, int] = (1200, 1600), kind: str = "JPEG", exif_rotate: bool = False
) -> SimpleUploadedFile:
    image = Image.new("RGB", size, (200, 30, 30))
    # A marker in the top-left corner, to see where it ends up after rotation.
    image.paste((0, 0, 255), (0, 0, size[0] // 4, size[1] // 4))
    buffer = io.BytesIO()
    if exif_rotate:
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it
        image.save(buffer, kind, exif=exif)
    else:
        image.save(buffer, kind)
    return SimpleUploadedFile("me.jpg", buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


# --- issuing, re-issuing, revoking -----------------------------------------------------------------------------


def test_an_administrator_issues_a_badge_with_an_unguessable_code(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    assert len(badge.token) >= 16 and svc.token_looks_valid(badge.token)
    assert badge.issued_by == world.commander and badge.revoked_at is None
    other = svc.badge_issue(actor=world.commander, user=world.bob)
    assert other.token != badge.token
    entry = AuditLog.objects.filter(target_type="comms.badge", target_id=str(badge.pk)).get()
    assert entry.action == AuditLog.Action.CREATE and entry.community_id == world.community.pk
    assert entry.actor == world.commander


def test_a_second_click_does_not_issue_a_second_badge(world: World) -> None:
    svc.badge_issue(actor=world.commander, user=world.alice)
    with pytest.raises(ValidationError, match="already has a valid badge"):
        svc.badge_issue(actor=world.commander, user=world.alice)
    assert Badge.objects.filter(user=world.alice).count() == 1


def test_re_issuing_a_lost_badge_revokes_the_old_one_and_keeps_photo_and_title(world: World) -> None:
    old = svc.badge_issue(actor=world.commander, user=world.alice)
    svc.badge_photo_set(actor=world.alice, badge=old, upload=photo_upload())
    svc.badge_title_set(actor=world.commander, badge=old, title="网格员 · 第1网格")
    photo = Badge.objects.get(pk=old.pk).photo.name
    new = svc.badge_issue(actor=world.commander, user=world.alice, replace=True)
    old.refresh_from_db()
    assert old.revoked_at is not None and not old.photo
    assert new.revoked_at is None and new.photo.name == photo and new.title == "网格员 · 第1网格"
    assert svc.badge_check(old.token).valid is False  # type: ignore[union-attr]
    assert svc.badge_check(new.token).valid is True  # type: ignore[union-attr]
    assert AuditLog.objects.filter(target_id=str(new.pk), detail__contains="re-issued").exists()


def test_revoking_stops_the_badge_at_once_and_is_logged(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    svc.badge_revoke(actor=world.commander, badge=badge)
    check = svc.badge_check(badge.token)
    assert check is not None and not check.valid and check.community == world.community
    with pytest.raises(ValidationError):
        svc.badge_revoke(actor=world.commander, badge=badge)
    assert AuditLog.objects.filter(target_id=str(badge.pk), detail="revoked").count() == 1


def test_only_the_communitys_administrators_and_street_issue_badges(world: World) -> None:
    with pytest.raises(PermissionDenied):
        svc.badge_issue(actor=world.charlie, user=world.alice)
    with pytest.raises(PermissionDenied):
        svc.badge_issue(actor=world.bob, user=world.alice)
    badge = svc.badge_issue(actor=world.street_admin, user=world.alice)
    with pytest.raises(PermissionDenied):
        svc.badge_revoke(actor=world.charlie, badge=badge)
    with pytest.raises(PermissionDenied):
        svc.badge_title_set(actor=world.alice, badge=badge, title="总指挥")


def test_observers_and_street_accounts_carry_no_badge(world: World) -> None:
    with pytest.raises(ValidationError):
        svc.badge_issue(actor=world.commander, user=world.observer)
    with pytest.raises(ValidationError):
        svc.badge_issue(actor=world.street_admin, user=world.street_admin)


def test_volunteers_get_badges_from_their_records_community(world: World) -> None:
    account = volunteer_account(world)
    assert svc.holder_community(account) == world.community
    with pytest.raises(PermissionDenied):
        svc.badge_issue(actor=world.charlie, user=account)
    badge = svc.badge_issue(actor=world.commander, user=account)
    check = svc.badge_check(badge.token)
    assert check is not None and check.valid and check.title == "Volunteer"


def test_a_suspended_volunteers_badge_is_not_valid(world: World) -> None:
    account = volunteer_account(world)
    badge = svc.badge_issue(actor=world.commander, user=account)
    Volunteer.objects.filter(user=account).update(status=Volunteer.Status.SUSPENDED)
    check = svc.badge_check(badge.token)
    assert check is not None and not check.valid
    pending = volunteer_account(world, "新报名", status=Volunteer.Status.APPLIED)
    with pytest.raises(ValidationError, match="not active"):
        svc.badge_issue(actor=world.commander, user=pending)


def test_a_deactivated_accounts_badge_is_not_valid(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    User.objects.filter(pk=world.alice.pk).update(is_active=False)
    check = svc.badge_check(badge.token)
    assert check is not None and not check.valid


def test_unknown_and_malformed_codes_name_nothing(world: World) -> None:
    svc.badge_issue(actor=world.commander, user=world.alice)
    assert svc.badge_check("A" * 20) is None
    assert svc.badge_check("short") is None
    assert svc.badge_check("../../etc/passwd/xxxxxxxx") is None


# --- the role shown -----------------------------------------------------------------------------------------


def test_the_default_role_is_the_account_role_with_the_post_in_the_plans(world: World, small_plan) -> None:  # type: ignore[no-untyped-def]
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    check = svc.badge_check(badge.token)
    assert check is not None and check.title == "Grid worker · 联络组长"
    other = svc.badge_issue(actor=world.commander, user=world.commander)
    assert svc.badge_check(other.token).title == "Community commander / administrator · 总指挥"  # type: ignore[union-attr]


def test_an_administrator_sets_the_role_shown_and_empty_goes_back_to_the_default(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    svc.badge_title_set(actor=world.commander, badge=badge, title="  楼栋 1–3 网格员 ")
    assert svc.badge_check(badge.token).title == "楼栋 1–3 网格员"  # type: ignore[union-attr]
    entry = AuditLog.objects.get(target_id=str(badge.pk), action=AuditLog.Action.UPDATE)
    assert entry.changes == {"title": ["", "楼栋 1–3 网格员"]}
    with pytest.raises(ValidationError):
        svc.badge_title_set(actor=world.commander, badge=badge, title="长" * 51)
    svc.badge_title_set(actor=world.commander, badge=badge, title="")
    assert svc.badge_check(badge.token).title == "Grid worker"  # type: ignore[union-attr]


# --- photos ----------------------------------------------------------------------------------------------------


def test_a_photo_is_made_small_and_upright_and_the_old_file_goes(
    world: World, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        svc.badge_photo_set(
            actor=world.alice, badge=badge, upload=photo_upload((1600, 1200), exif_rotate=True)
        )
    first = Badge.objects.get(pk=badge.pk).photo.name
    with default_storage.open(first) as handle, Image.open(handle) as stored:
        assert stored.format == "JPEG"
        # 1600 × 1200 landscape, to be turned 90°: a 300 × 400 portrait, the marker now top-right.
        assert stored.size == (300, 400)
        assert stored.getpixel((290, 10))[2] > 200 and stored.getpixel((10, 10))[2] < 100
    with django_capture_on_commit_callbacks(execute=True):
        svc.badge_photo_set(actor=world.commander, badge=badge, upload=photo_upload(kind="PNG"))
    assert not default_storage.exists(first)
    assert AuditLog.objects.filter(target_id=str(badge.pk), detail="photo replaced").exists()


def test_a_file_that_is_not_an_image_is_refused(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    fake = SimpleUploadedFile("me.jpg", b"%PDF-1.4 not a photo at all", content_type="image/jpeg")
    with pytest.raises(ValidationError, match="not a photo"):
        svc.badge_photo_set(actor=world.alice, badge=badge, upload=fake)
    assert not Badge.objects.get(pk=badge.pk).photo


def test_a_photo_over_5_mb_is_refused(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    big = SimpleUploadedFile("me.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024), content_type="image/jpeg")
    with pytest.raises(ValidationError, match="5 MB"):
        svc.badge_photo_set(actor=world.alice, badge=badge, upload=big)


def test_someone_elses_photo_is_changed_only_by_an_administrator(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    with pytest.raises(PermissionDenied):
        svc.badge_photo_set(actor=world.bob, badge=badge, upload=photo_upload())


# --- on duty ----------------------------------------------------------------------------------------------------


def test_the_switch_puts_staff_on_duty_for_the_hours_chosen(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    with time_machine.travel(NOON, tick=False):
        assert not svc.duty_of(world.alice.pk).on
        svc.badge_duty_set(actor=world.alice, badge=badge, hours=4)
        duty = svc.duty_of(world.alice.pk)
        assert duty.on and duty.by_switch and duty.until == NOON + dt.timedelta(hours=4)
    with time_machine.travel(NOON + dt.timedelta(hours=3, minutes=59), tick=False):
        assert svc.duty_of(world.alice.pk).on
    with time_machine.travel(NOON + dt.timedelta(hours=4), tick=False):
        assert not svc.duty_of(world.alice.pk).on
    with time_machine.travel(NOON, tick=False):
        svc.badge_duty_set(actor=world.alice, badge=badge, hours=8)
        svc.badge_duty_set(actor=world.alice, badge=badge, hours=None)
        assert not svc.duty_of(world.alice.pk).on
    assert AuditLog.objects.filter(target_id=str(badge.pk), detail="off duty").exists()


def test_the_switch_is_the_holders_own_and_takes_only_the_offered_hours(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    with pytest.raises(PermissionDenied):
        svc.badge_duty_set(actor=world.commander, badge=badge, hours=2)
    with pytest.raises(ValidationError):
        svc.badge_duty_set(actor=world.alice, badge=badge, hours=24)
    account = volunteer_account(world)
    volunteer_badge = svc.badge_issue(actor=world.commander, user=account)
    with pytest.raises(ValidationError, match="shift"):
        svc.badge_duty_set(actor=account, badge=volunteer_badge, hours=2)


def test_a_revoked_badge_is_never_on_duty(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    svc.badge_duty_set(actor=world.alice, badge=badge, hours=12)
    svc.badge_revoke(actor=world.commander, badge=badge)
    assert not svc.duty_of(world.alice.pk).on


def test_an_assignment_in_an_active_response_is_on_duty_until_it_ends(world: World, small_plan) -> None:  # type: ignore[no-untyped-def]
    from linli.response.services import response_activate, response_terminate

    with time_machine.travel(NOON, tick=False):
        response = response_activate(actor=world.commander, plan=small_plan, level=3, reason="燃气泄漏")
    with time_machine.travel(NOON + dt.timedelta(hours=30), tick=False):
        duty = svc.duty_of(world.alice.pk)
        assert duty.on and duty.by_response and duty.since == NOON and duty.until is None
        assert duty.team_label == "Liaison & communications"
        response_terminate(
            actor=world.commander, response=response, criteria_met=small_plan.termination_criteria_list
        )
        assert not svc.duty_of(world.alice.pk).on


def test_a_volunteer_is_on_duty_during_an_accepted_shift_or_once_checked_in(world: World) -> None:
    account = volunteer_account(world)
    volunteer = account.volunteer  # type: ignore[attr-defined]
    start = NOON + dt.timedelta(hours=2)
    need = Need.objects.create(
        community=world.community,
        title="核酸采样点秩序维护",
        count=2,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
    )
    shift = Shift.objects.create(
        need=need,
        volunteer=volunteer,
        starts_at=need.starts_at,
        ends_at=need.ends_at,
        status=Shift.Status.ACCEPTED,
    )
    with time_machine.travel(NOON, tick=False):
        assert not svc.duty_of(account.pk).on
    # Checked in 40 minutes early: on duty from then.
    early = start - dt.timedelta(minutes=40)
    Shift.objects.filter(pk=shift.pk).update(checked_in_at=early)
    with time_machine.travel(early + dt.timedelta(minutes=5), tick=False):
        duty = svc.duty_of(account.pk)
        assert duty.on and duty.since == early and duty.until == need.ends_at
        assert duty.shift_title == "核酸采样点秩序维护"
    Shift.objects.filter(pk=shift.pk).update(checked_in_at=None)
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        assert svc.duty_of(account.pk).on
    with time_machine.travel(need.ends_at, tick=False):
        assert not svc.duty_of(account.pk).on
    Shift.objects.filter(pk=shift.pk).update(checked_out_at=start + dt.timedelta(hours=1))
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        assert not svc.duty_of(account.pk).on
    Shift.objects.filter(pk=shift.pk).update(checked_out_at=None, status=Shift.Status.DECLINED)
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        assert not svc.duty_of(account.pk).on


def test_checking_people_in_at_a_testing_site_counts_as_on_duty_for_half_an_hour(world: World) -> None:
    from linli.screening.models import Campaign, Participant

    today = timezone.localdate(NOON)
    campaign = Campaign.objects.create(
        community=world.community, name="全员核酸", day=today, status=Campaign.Status.NOTIFIED
    )
    Participant.objects.create(
        campaign=campaign,
        resident=world.resident1,
        household=world.resident1.household,
        building=world.building1,
        checked_in_at=NOON,
        checked_in_by=world.bob,
    )
    with time_machine.travel(NOON + dt.timedelta(minutes=10), tick=False):
        duty = svc.duty_of(world.bob.pk)
        assert duty.on and duty.by_testing and duty.until is None
        assert not svc.duty_of(world.alice.pk).on
    with time_machine.travel(NOON + dt.timedelta(minutes=31), tick=False):
        assert not svc.duty_of(world.bob.pk).on
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    with time_machine.travel(NOON + dt.timedelta(minutes=10), tick=False):
        assert not svc.duty_of(world.bob.pk).on


def test_the_duty_of_many_people_is_one_query(world: World, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    people = [world.alice, world.bob, world.commander, volunteer_account(world)]
    with django_assert_num_queries(1):
        states = svc.duty_states([p.pk for p in people])
    assert set(states) == {p.pk for p in people}


# --- the list -----------------------------------------------------------------------------------------------------


def test_the_list_holds_staff_and_volunteers_in_scope_only(world: World) -> None:
    account = volunteer_account(world)
    UserFactory(
        username="charlies_worker",
        role=Role.GRID_WORKER,
        grid=Grid.objects.get(community=world.charlie.community),
    )
    svc.badge_issue(actor=world.commander, user=world.alice)
    found = svc.holders_for(world.commander)
    names = {h.user.username for h in found.page.object_list}
    assert names == {"alice", "bob", "commander", account.username}
    assert found.counts == {"active": 1, "none": 3, "revoked": 0}
    assert {h.user.username for h in svc.holders_for(world.commander, status="active").page.object_list} == {
        "alice"
    }
    assert "alice" not in {h.user.username for h in svc.holders_for(world.charlie).page.object_list}
    assert "charlies_worker" in {
        h.user.username for h in svc.holders_for(world.street_admin).page.object_list
    }
    with pytest.raises(PermissionDenied):
        svc.holders_for(world.alice)


def test_badges_are_rolled_out_to_everyone_in_scope_without_one(world: World) -> None:
    account = volunteer_account(world)
    volunteer_account(world, "还在审核", status=Volunteer.Status.APPLIED)
    svc.badge_issue(actor=world.commander, user=world.alice)
    revoked = svc.badge_issue(actor=world.commander, user=world.bob)
    svc.badge_revoke(actor=world.commander, badge=revoked)
    made = svc.badges_issue_missing(actor=world.commander)
    # Bob's badge was revoked: not given a new one behind the administrator's back.
    assert {b.user_id for b in made} == {world.commander.pk, account.pk}
    assert svc.badges_issue_missing(actor=world.commander) == []
    assert not Badge.objects.filter(user=world.charlie).exists()
    with pytest.raises(PermissionDenied):
        svc.badges_issue_missing(actor=world.alice)


def test_the_demo_seeder_gives_everyone_a_placeholder_portrait_once(world: World) -> None:
    from linli.comms.demo_badges import seed_badges

    account = volunteer_account(world)
    seed_badges(world.community)
    seed_badges(world.community)
    badges = list(Badge.objects.filter(revoked_at__isnull=True))
    assert {b.user_id for b in badges} == {world.alice.pk, world.bob.pk, world.commander.pk, account.pk}
    for badge in badges:
        with default_storage.open(badge.photo.name) as handle, Image.open(handle) as portrait:
            assert portrait.size == (300, 400)
    assert svc.badge_check(badges[0].token).valid  # type: ignore[union-attr]


def test_off_duty_holds_against_a_running_response_for_the_night(world: World, monkeypatch) -> None:
    """A worker who presses 下岗 at 22:00 is not shown on duty at a door at 02:00 because a response she has a
    post in is still running; the next morning the response counts again."""
    from linli.comms.badges import Duty

    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    evening = NOON + dt.timedelta(hours=10)
    with time_machine.travel(evening, tick=False):
        svc.badge_duty_set(actor=world.alice, badge=badge, hours=None)
    running = Duty(response_since=NOON)
    assert running.on
    with time_machine.travel(evening + dt.timedelta(hours=4), tick=False):
        state = svc.duty_of(world.alice.pk)
        assert state.off_since is not None and not Duty(response_since=NOON, off_since=state.off_since).on
    with time_machine.travel(evening + dt.timedelta(hours=13), tick=False):
        assert svc.duty_of(world.alice.pk).off_since is None
