"""Verifying dispatched records (writes): the worker's two taps, the data group's choice among candidates,
and the batch's completion with its return report. Intake and matching are in intake.py."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.services import notify
from linli.core.audit import audit_record
from linli.core.models import User
from linli.core.roles import SUPERVISOR_ROLES
from linli.epidemic.models import DispatchBatch, DispatchRecord, Evidence, Outcome, Verification
from linli.epidemic.selectors import routing_for
from linli.registry.models import Resident
from linli.tasks.models import Task
from linli.tasks.services import TaskEvent, on_task_event, task_set_status


def verification_task(record: DispatchRecord) -> Task | None:
    return Task.objects.filter(source=Task.Source.VERIFICATION, source_id=record.pk).first()


def can_verify(actor: User, record: DispatchRecord) -> bool:
    """The worker holding the record, its grid's leader, and the community's administrators; the data
    group's records (no worker) by any acting staff of the community. The record was loaded in scope."""
    if not actor.is_active or actor.is_outside or actor.is_read_only:
        return False
    if actor.is_superuser or actor.pk == record.assignee_id or actor.role in SUPERVISOR_ROLES:
        return True
    return record.assignee_id is None and actor.community_id == record.community_id


@transaction.atomic
def record_verify(*, actor: User, record: DispatchRecord, result: str, note: str = "") -> DispatchRecord:
    """Record what the worker found. A second answer corrects the first (both are in the audit log)."""
    if not can_verify(actor, record):
        raise PermissionDenied(_("This record is held by another worker."))
    if result not in Verification.values:
        raise ValidationError(_("Choose what you found."))
    record = DispatchRecord.objects.select_for_update().get(pk=record.pk)
    before = record.result
    now = timezone.now()
    record.result, record.result_note = result, note.strip()[:300]
    if record.verified_at is None:
        record.verified_at, record.verified_by = now, actor
    record.save(update_fields=["result", "result_note", "verified_at", "verified_by"])
    task = verification_task(record)
    if task is not None and task.is_open:
        task_set_status(
            actor=actor,
            task=task,
            status=Task.Status.DONE,
            result=f"{Verification(result).label} {record.result_note}".strip(),
        )
    audit_record(
        actor=actor,
        action="update",
        target=record,
        detail=f"verification {before or '-'} → {result}",
    )
    _complete_if_done(record.batch_id)
    return record


@transaction.atomic
def record_resolve(*, actor: User, record: DispatchRecord, resident: Resident) -> DispatchRecord:
    """The data group names the person among the candidates (or found them by search): the record is
    matched and its verification moves to that building's worker."""
    if not can_verify(actor, record):
        raise PermissionDenied(_("This record is held by another worker."))
    if resident.community_id != record.community_id:
        raise ValidationError(_("That resident is not in this community."))
    if record.verified_at is not None:
        raise ValidationError(_("This record is already verified."))
    record = DispatchRecord.objects.select_for_update().get(pk=record.pk)
    household = resident.household
    grid_id, worker_id, leader_id = routing_for(record.community_id).for_building(household.building_id)
    previous, previous_outcome = record.get_outcome_display(), record.outcome
    record.outcome, record.evidence, record.score = Outcome.RESIDENT, Evidence.CHOSEN, None
    record.resident, record.household_id, record.grid_id = resident, household.pk, grid_id
    record.note = (record.note + "; " if record.note else "")[:200] + _("chosen by %(name)s") % {
        "name": actor.name
    }
    record.assignee_id = worker_id or record.assignee_id
    record.save()
    # The list's counts follow the data group's decision (the board and the API read them).
    batch = DispatchBatch.objects.select_for_update().get(pk=record.batch_id)
    if batch.counts.get(previous_outcome):
        batch.counts[previous_outcome] -= 1
        batch.counts[Outcome.RESIDENT] = batch.counts.get(Outcome.RESIDENT, 0) + 1
        batch.save(update_fields=["counts"])
    task = verification_task(record)
    if task is not None and task.is_open and worker_id:
        Task.objects.filter(pk=task.pk).update(
            assignee_id=worker_id, grid_id=grid_id, team="", leader_id=leader_id or task.leader_id
        )
        notify(
            users=User.objects.filter(pk=worker_id),
            title=_("A record to verify: %(title)s") % {"title": task.title},
            url="/epidemic/mine/",
            kind="assigned",
            urgent=True,
        )
    audit_record(
        actor=actor,
        action="update",
        target=record,
        detail=f"resolved {previous} → resident {resident.pk}",
    )
    return record


def _complete_if_done(batch_id: int) -> None:
    if DispatchRecord.objects.filter(batch_id=batch_id, verified_at__isnull=True).exists():
        return
    # The conditional update makes one caller the one who completes it and tells the sender.
    if not DispatchBatch.objects.filter(pk=batch_id, completed_at__isnull=True).update(
        completed_at=timezone.now()
    ):
        return
    batch = DispatchBatch.objects.select_related("received_by").get(pk=batch_id)
    late = DispatchRecord.objects.filter(batch_id=batch_id, verified_at__gt=F("due_at")).count()
    if batch.received_by is not None:
        notify(
            users=[batch.received_by],
            title=_("List #%(id)d from %(sender)s is verified: the return report is ready")
            % {"id": batch.pk, "sender": batch.sender},
            body=_("%(rows)d records, %(late)d after their deadline.") % {"rows": batch.rows, "late": late},
            url=batch.get_absolute_url(),
        )


def _on_verification_task(event: TaskEvent) -> None:
    """The task page may close or reassign a verification too: keep the record in step."""
    task = event.task
    if task.source_id is None:
        return
    if event.what == "reassigned":
        DispatchRecord.objects.filter(pk=task.source_id).update(assignee_id=task.assignee_id)
        return
    if task.is_open:
        # Reopened: the record is open again, and so is its list.
        if DispatchRecord.objects.filter(pk=task.source_id, verified_at__isnull=False).update(
            verified_at=None, verified_by=None, result=""
        ):
            DispatchBatch.objects.filter(records__pk=task.source_id).update(completed_at=None)
        return
    if task.status in (Task.Status.DONE, Task.Status.CANCELLED):
        # Closed elsewhere (the API, or a list withdrawn): the record counts as handled, with the note.
        note = task.result or (Task.Status(task.status).label if task.status == Task.Status.CANCELLED else "")
        updated = DispatchRecord.objects.filter(pk=task.source_id, verified_at__isnull=True).update(
            verified_at=task.done_at or timezone.now(),
            verified_by=event.actor,
            result_note=str(note)[:300],
        )
        if updated:
            batch_id = (
                DispatchRecord.objects.filter(pk=task.source_id).values_list("batch_id", flat=True).first()
            )
            if batch_id:
                _complete_if_done(batch_id)


on_task_event(Task.Source.VERIFICATION, _on_verification_task)
