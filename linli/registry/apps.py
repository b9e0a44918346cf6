from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "linli.registry"
    label = "registry"
    verbose_name = _("Community registry")

    def ready(self) -> None:
        from linli.registry import io  # noqa: F401  (registers the resident importer)
