"""The outbox: every message for a channel outside the app (SMS, email, WeCom and DingTalk group robots,
departments' webhooks) is a row here first, written in the same transaction as what caused it, and
delivered by background workers with retries and backoff (comms.outbox). A channel that fails holds up
only its own messages; a message that keeps failing stops after MAX_ATTEMPTS and is listed for staff."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    INAPP = "inapp", _("in-app")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("email")
    WECOM = "wecom", _("WeCom group")
    DINGTALK = "dingtalk", _("DingTalk group")
    WEBHOOK = "webhook", _("webhook")


# Channels whose address is a group robot or a department's URL: a ChannelEndpoint.
ENDPOINT_CHANNELS = frozenset({Channel.WECOM, Channel.DINGTALK, Channel.WEBHOOK})


class ChannelEndpoint(models.Model):
    """A WeCom or DingTalk group robot (a community's staff group, a team's group), or a department's webhook
    subscription (events, signed with `secret`). Robots' URLs carry their key; DingTalk's signing secret
    is `secret`."""

    kind = models.CharField(_("kind"), max_length=10, choices=Channel.choices)
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    url = models.URLField(_("address"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    street = models.ForeignKey(
        "registry.Street", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    community = models.ForeignKey(
        "registry.Community", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.CharField(_("team"), max_length=20, blank=True)
    # Webhooks: the events subscribed to ("case.created", "incident.reported", "response.activated").
    events = models.JSONField(default=list, blank=True)
    # A department's subscription belongs to its API token: revoking the token stops the webhook.
    token = models.ForeignKey(
        "api.ApiToken", null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("channel endpoint")
        verbose_name_plural = _("channel endpoints")
        indexes = [models.Index(fields=["kind", "community"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")  # waiting for its time (a retry waits here too)
        SENDING = "sending", _("sending")  # claimed by a worker until lease_until
        SENT = "sent", _("sent")  # the channel accepted it
        DELIVERED = "delivered", _("delivered")  # the gateway reported it delivered
        DEAD = "dead", _("failed")  # gave up: refused, or MAX_ATTEMPTS failures
        CANCELLED = "cancelled", _("cancelled")

    # Idempotency: the same message is never queued twice (a fan-out run again writes nothing new), and
    # channels pass it on (SMS `id`, webhook X-Linli-Delivery) so a receiver can drop a repeat sent in doubt.
    key = models.CharField(max_length=120, unique=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    address = models.CharField(_("to"), max_length=300, blank=True)  # phone or email
    endpoint = models.ForeignKey(
        ChannelEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    resident = models.ForeignKey(
        "registry.Resident", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    broadcast = models.ForeignKey(
        "comms.Broadcast", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    community = models.ForeignKey(
        "registry.Community", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True)  # a webhook's event body
    urgent = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    # The worker holding the lease (host:pid:start): a worker restarted on the same machine takes back at
    # once what a dead one there held, rather than waiting for the lease to run out.
    claimed_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    last_error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        indexes = [
            # The workers' claim: what is due, oldest first; only the rows still to send are in it.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_due",
                condition=Q(status__in=["queued", "sending"]),
            ),
            models.Index(fields=["broadcast", "status"], name="outbox_broadcast"),
            models.Index(fields=["status", "-created_at"], name="outbox_status"),
            models.Index(fields=["provider_id"], name="outbox_provider", condition=~Q(provider_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.address or self.endpoint_id}: {self.title}"
