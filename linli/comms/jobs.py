"""Background work for communications: delivering the outbox, digests, broadcast escalations."""

from __future__ import annotations

from django_tasks import task


@task()
def outbox_deliver_job() -> None:
    """Deliver what is due. Kicked after each commit that queues messages; the periodic run is the net for
    retries coming due and for leases left by a worker that died."""
    from linli.comms.outbox import deliver

    deliver()
