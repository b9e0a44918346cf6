from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "linli.core"
    label = "core"
    verbose_name = _("Accounts and audit")

    def ready(self) -> None:
        from django_tasks.signals import task_started

        from linli.core import auth  # noqa: F401  (signal receivers)
        from linli.core.warmup import freeze_in_worker

        task_started.connect(freeze_in_worker, dispatch_uid="linli.core.warmup")
