from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EpidemicConfig(AppConfig):
    name = "linli.epidemic"
    label = "epidemic"
    verbose_name = _("Epidemic control")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        import linli.epidemic.cases  # noqa: F401  listens to control-case steps
        from linli.epidemic import services  # noqa: F401  listens to verification tasks

        post_migrate.connect(_load_types, sender=self)


def _load_types(**kwargs: object) -> None:
    from linli.epidemic.catalogue import load_control_types

    load_control_types()
