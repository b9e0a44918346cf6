"""Small helpers the incident modules share."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _


def site_text(message: str, **values: object) -> str:
    """A sentence that is stored (the audit log's detail): in the site's language, whoever's page it was.
    Mark the message with gettext_noop so that it is still extracted for translation."""
    with translation.override(settings.LANGUAGE_CODE):
        text = _(message)
        return text % values if values else text


def absolute(path: str) -> str:
    """A link for messages read outside the site (group robots, webhooks, SMS): PUBLIC_URL + path when set."""
    base = getattr(settings, "PUBLIC_URL", "")
    return base.rstrip("/") + path if base else path
