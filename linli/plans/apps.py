from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "linli.plans"
    label = "plans"
    verbose_name = _("Emergency plans")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_load_templates, sender=self)


def _load_templates(**kwargs: object) -> None:
    from linli.plans.builtin import load_builtin_templates

    load_builtin_templates()
