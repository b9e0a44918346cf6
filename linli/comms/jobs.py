"""Background work for communications: delivering the outbox, digests, broadcast escalations."""

from __future__ import annotations

from django_tasks import task


@task()
def outbox_deliver_job() -> None:
    """Deliver what is due. Kicked after each commit that queues messages; the periodic run is the net for
    retries coming due and for leases left by a worker that died."""
    from linli.comms.outbox import deliver

    deliver()


@task()
def digest_job() -> None:
    """Non-urgent messages held for people who asked for a digest: one summary each, when due."""
    from linli.comms.preferences import digests_due

    digests_due()


@task()
def broadcast_escalate_job() -> None:
    """Residents who did not confirm a notice by its deadline: their building contact and grid worker knock."""
    from linli.comms.broadcasts import broadcast_escalations_due

    broadcast_escalations_due()
