from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliesConfig(AppConfig):
    name = "linli.supplies"
    label = "supplies"
    verbose_name = _("Emergency supplies")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from linli.supplies import io  # noqa: F401  registers the opening-stock importer

        post_migrate.connect(_load_catalogue, sender=self)


def _load_catalogue(**kwargs: object) -> None:
    from linli.supplies.catalogue import load_catalogue

    load_catalogue()
