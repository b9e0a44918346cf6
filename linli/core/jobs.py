"""Background work for core: imports run on the task worker so a 100,000-row file never ties up a page."""

from __future__ import annotations

from django_tasks import task

from linli.core.models import ImportJob, User


@task()
def import_preview_job(job_id: int) -> None:
    from linli.core.imports import import_preview

    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).first()
    if job is not None:
        import_preview(job=job)


@task()
def import_commit_job(job_id: int, actor_id: int) -> None:
    from linli.core.imports import import_commit

    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.COMMITTING).first()
    actor = User.objects.get(pk=actor_id)
    if job is not None:
        import_commit(actor=actor, job=job)
