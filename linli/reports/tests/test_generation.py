from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from linli.comms.models import Notification
from linli.core.models import AuditLog
from linli.core.roles import Role
from linli.factories import UserFactory
from linli.registry.models import Community, Grid, Street
from linli.reports.jobs import daily_report_job
from linli.reports.models import DailyReport
from linli.reports.services import daily_reports_due, daily_reports_generate, daily_reports_send
from linli.reports.tests.conftest import DAY, Scene, at

pytestmark = pytest.mark.django_db


def _expected_reports() -> int:
    streets = Street.objects.filter(communities__isnull=False).distinct().count()
    return Grid.objects.count() + Community.objects.count() + streets


def test_nothing_is_generated_at_0829(scene: Scene) -> None:
    with time_machine.travel(at(DAY, 8, 29), tick=False):
        daily_report_job.enqueue()
    assert not DailyReport.objects.exists()
    assert not Notification.objects.exists()


def test_at_0830_the_job_generates_every_report_and_tells_the_street_office_once(scene: Scene) -> None:
    w = scene.world
    daily_report_job.enqueue()  # the tests' clock stands at DAY 08:30
    reports = DailyReport.objects.filter(day=DAY)
    assert reports.count() == _expected_reports() == 6  # 3 grids, 2 communities, 1 street
    assert set(reports.values_list("scope", "code")) == {("grid", g.code) for g in Grid.objects.all()} | {
        ("community", "nanli"),
        ("community", "other"),
        ("street", w.community.street.code),
    }
    assert all(r.sent_at is not None and r.generated_at == at(DAY, 8, 30) for r in reports)
    street = reports.get(scope="street")
    assert street.data["figures"]["reporting"]["reported"] == 5
    notes = Notification.objects.order_by("user__username")
    # The street office gets the street's report; each community's commander their community's.
    assert [(n.user.username, n.url) for n in notes] == [
        ("charlie", f"/reports/daily/?scope=other&date={DAY}"),
        ("commander", f"/reports/daily/?scope=nanli&date={DAY}"),
        ("streetadmin", f"/reports/daily/?scope={w.community.street.code}&date={DAY}"),
    ]
    assert DAY.isoformat() in notes[2].title


def test_running_again_makes_nothing_twice(scene: Scene) -> None:
    first = daily_reports_due()
    assert (first.generated, first.sent) == (6, 1)
    sent_at = dict(DailyReport.objects.values_list("pk", "sent_at"))
    with time_machine.travel(at(DAY, 8, 35), tick=False):
        again = daily_reports_due()
        daily_report_job.enqueue()
    assert (again.generated, again.sent) == (0, 0)
    assert DailyReport.objects.count() == 6
    assert Notification.objects.count() == 3
    assert dict(DailyReport.objects.values_list("pk", "sent_at")) == sent_at


def test_generating_again_updates_the_same_rows_and_keeps_sent_at(scene: Scene) -> None:
    daily_reports_due()
    before = dict(DailyReport.objects.values_list("code", "pk"))
    sent = DailyReport.objects.get(scope="street").sent_at
    with time_machine.travel(at(DAY, 11), tick=False):
        assert daily_reports_generate(day=DAY) == 6
    assert dict(DailyReport.objects.values_list("code", "pk")) == before
    street = DailyReport.objects.get(scope="street")
    assert street.sent_at == sent and street.generated_at == at(DAY, 11)
    # Still as at 08:30: the same figures.
    assert street.data["as_at"].startswith("2030-06-04T08:30")


def test_a_second_worker_finding_the_claim_does_not_generate(scene: Scene) -> None:
    """Another worker has inserted the first street's report (the claim) and is generating: this run
    neither generates nor sends a report whose figures are not written yet."""
    street = Street.objects.get(pk=scene.world.community.street_id)
    DailyReport.objects.create(
        scope="street", code=street.code, street=street, day=DAY, generated_at=at(DAY, 8, 30), data={}
    )
    result = daily_reports_due()
    assert (result.generated, result.sent) == (0, 0)
    assert DailyReport.objects.count() == 1
    assert not Notification.objects.exists()


def test_sending_is_claimed_once_per_street(scene: Scene) -> None:
    daily_reports_generate(day=DAY)
    assert daily_reports_send(day=DAY) == 1
    assert daily_reports_send(day=DAY) == 0
    assert Notification.objects.count() == 3


def test_the_generation_time_comes_from_the_setting(scene: Scene) -> None:
    with override_settings(DAILY_REPORT_TIME="07:45"), time_machine.travel(at(DAY, 7, 50), tick=False):
        assert daily_reports_due().generated == 6
    assert DailyReport.objects.get(scope="street").data["as_at"].startswith("2030-06-04T07:45")


def test_inactive_accounts_and_grid_staff_are_not_told(scene: Scene) -> None:
    UserFactory(username="gone", role=Role.STREET_ADMIN, street=scene.world.community.street, is_active=False)
    daily_reports_due()
    users = set(Notification.objects.values_list("user__username", flat=True))
    assert users == {"streetadmin", "commander", "charlie"}


def test_generation_and_sending_are_audited(scene: Scene) -> None:
    daily_reports_due()
    details = list(AuditLog.objects.filter(actor__isnull=True).values_list("action", "detail"))
    assert ("create", "6 reports generated") in details
    assert any(action == "update" and "street office" in detail for action, detail in details)


def test_tomorrow_morning_makes_tomorrows_reports(scene: Scene) -> None:
    daily_reports_due()
    with time_machine.travel(at(DAY + dt.timedelta(days=1), 8, 30), tick=False):
        assert daily_reports_due().generated == 6
    assert DailyReport.objects.count() == 12
