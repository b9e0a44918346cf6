from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResponseConfig(AppConfig):
    name = "linli.response"
    label = "response"
    verbose_name = _("Responses")

    def ready(self) -> None:
        from linli.response import services
        from linli.tasks import services as tasks
        from linli.tasks.models import Task

        tasks.on_task_event(Task.Source.RESPONSE, services.on_task_event)
        tasks.on_escalation(Task.Source.RESPONSE, services.on_escalations)
