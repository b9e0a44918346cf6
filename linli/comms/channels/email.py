"""Email through Django's mail backend (SMTP settings EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, …)."""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from linli.comms.channels import OK, Result, failure
from linli.comms.models import OutboxMessage


def configured() -> bool:
    backend = str(getattr(settings, "EMAIL_BACKEND", ""))
    return not backend.endswith("smtp.EmailBackend") or bool(getattr(settings, "EMAIL_HOST", ""))


def send(messages: Sequence[OutboxMessage]) -> dict[int, Result]:
    results: dict[int, Result] = {}
    connection = get_connection(timeout=10)
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        return {m.pk: failure(f"mail server: {exc}") for m in messages}
    try:
        for m in messages:
            body = m.body + (f"\n\n{m.url}" if m.url else "")
            mail = EmailMessage(
                subject=" ".join(m.title.split()),
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[m.address],
                headers={"Message-ID": f"<{m.key.replace(':', '.')}@linli>"},
                connection=connection,
            )
            try:
                mail.send()
                results[m.pk] = OK
            except smtplib.SMTPRecipientsRefused as exc:
                results[m.pk] = failure(f"address refused: {exc}", permanent=True)
            except (OSError, smtplib.SMTPException) as exc:
                results[m.pk] = failure(f"mail server: {exc}")
            except ValueError as exc:  # a header Django refuses (a newline in the subject): this one only
                results[m.pk] = failure(f"cannot be sent as mail: {exc}", permanent=True)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    return results
