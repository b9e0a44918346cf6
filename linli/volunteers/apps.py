from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "linli.volunteers"
    label = "volunteers"
    verbose_name = _("Volunteers")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from linli.volunteers import io  # noqa: F401  registers the enrolment importer

        post_migrate.connect(_load_skills, sender=self)


def _load_skills(**kwargs: object) -> None:
    from linli.volunteers.catalogue import load_skills

    load_skills()
