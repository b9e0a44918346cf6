"""Small helpers the incident modules share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from linli.core.http import public_url

if TYPE_CHECKING:
    from linli.comms.models import Incident


def site_text(message: str, **values: object) -> str:
    """A sentence that is stored (the audit log's detail): in the site's language, whoever's page it was.
    Mark the message with gettext_noop so that it is still extracted for translation."""
    with translation.override(settings.LANGUAGE_CODE):
        text = _(message)
        return text % values if values else text


def tell_reporter(incident: Incident, text: str, *, key: str) -> int:
    """An SMS to a reporter who left a mobile number: `text` and the link to their report's page, where staff's
    words to them appear. A resident who closed the page finds their report again through it."""
    from django.urls import reverse

    from linli.comms.models import Channel
    from linli.comms.outbox import Outgoing, outbox_enqueue
    from linli.core.identity import mobile_number

    phone = mobile_number(incident.reporter_phone)
    if not phone:
        return 0
    link = public_url(reverse("comms:incident_status", args=[incident.token]))
    return outbox_enqueue(
        [
            Outgoing(
                key=key,
                channel=Channel.SMS,
                address=phone,
                title=text[:100],
                body=text,
                url=link,
                community_id=incident.community_id,
                payload={"sms": f"{text} {link}"},
            )
        ]
    )
