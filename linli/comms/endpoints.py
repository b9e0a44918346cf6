"""Group robots: a community's WeCom and DingTalk groups (the staff group, a team's group) that broadcasts,
incident alerts and other posts go to. Administrators add them with the robot's webhook address (and
DingTalk's signing secret), try them with a test message, and switch them off."""

from __future__ import annotations

import urllib.parse

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.models import Channel, ChannelEndpoint, OutboxMessage
from linli.comms.outbox import Outgoing, outbox_enqueue
from linli.core.access import administers, community_ids_in_scope
from linli.core.audit import audit_record
from linli.core.models import User
from linli.registry.models import Community
from linli.tasks.models import Team

ROBOT_KINDS = (Channel.WECOM, Channel.DINGTALK)


def robots_for(actor: User) -> QuerySet[ChannelEndpoint]:
    ids = community_ids_in_scope(actor)
    qs = ChannelEndpoint.objects.filter(kind__in=ROBOT_KINDS).select_related("community")
    return qs if ids is None else qs.filter(community_id__in=ids)


def robot_get(actor: User, pk: int) -> ChannelEndpoint:
    robot = robots_for(actor).filter(pk=pk).first()
    if robot is None:
        raise Http404
    return robot


def _clean(kind: str, name: str, url: str, secret: str, team: str) -> tuple[str, str, str, str, str]:
    errors: dict[str, str] = {}
    if kind not in ROBOT_KINDS:
        errors["kind"] = _("Choose WeCom or DingTalk.")
    name = name.strip()
    if not name:
        errors["name"] = _("Give the group a name (e.g. 南里社区工作群).")
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["url"] = _("Paste the robot's webhook address (it starts with https://).")
    elif kind == Channel.WECOM and "key=" not in parts.query:
        errors["url"] = _(
            "A WeCom robot's address ends with ?key=… — copy it whole from the group's robot settings."
        )
    elif kind == Channel.DINGTALK and "access_token=" not in parts.query:
        errors["url"] = _(
            "A DingTalk robot's address ends with ?access_token=… — copy it whole from the group's robot settings."
        )
    secret = secret.strip()
    if kind == Channel.DINGTALK and secret and not secret.startswith("SEC"):
        errors["secret"] = _("DingTalk signing secrets start with SEC.")
    if team and team not in Team.values:
        errors["team"] = _("Choose a team from the list.")
    if errors:
        raise ValidationError(errors)
    return kind, name, url, secret, team


@transaction.atomic
def robot_save(
    *,
    actor: User,
    community: Community,
    kind: str,
    name: str,
    url: str,
    secret: str = "",
    team: str = "",
    robot: ChannelEndpoint | None = None,
) -> ChannelEndpoint:
    if not administers(actor, community.pk):
        raise PermissionDenied
    kind, name, url, secret, team = _clean(kind, name, url, secret, team)
    if robot is None:
        robot = ChannelEndpoint(community=community, created_by=actor)
    elif robot.community_id != community.pk:
        raise PermissionDenied
    robot.kind, robot.name, robot.url, robot.team = kind, name, url, team
    if secret or robot.kind != Channel.DINGTALK:
        robot.secret = secret
    robot.is_active = True
    robot.save()
    audit_record(
        actor=actor,
        action="update",
        target=robot,
        detail=f"group robot {robot.name}",
        community_id=community.pk,
    )
    return robot


@transaction.atomic
def robot_switch(*, actor: User, robot: ChannelEndpoint, active: bool) -> None:
    if not administers(actor, robot.community_id):
        raise PermissionDenied
    ChannelEndpoint.objects.filter(pk=robot.pk).update(is_active=active)
    if not active:
        # What waits for a robot switched off is not sent any more.
        OutboxMessage.objects.filter(endpoint=robot, status=OutboxMessage.Status.QUEUED).update(
            status=OutboxMessage.Status.CANCELLED, last_error=_("the group robot was switched off")
        )
    audit_record(
        actor=actor,
        action="update",
        target=robot,
        detail="robot on" if active else "robot off",
        community_id=robot.community_id,
    )


@transaction.atomic
def robot_test(*, actor: User, robot: ChannelEndpoint) -> int:
    """Queue a test message to the robot (the page then shows whether it went)."""
    if not administers(actor, robot.community_id):
        raise PermissionDenied
    now = timezone.now()
    return outbox_enqueue(
        [
            Outgoing(
                key=f"robot-test:e{robot.pk}:{now:%Y%m%d%H%M%S%f}",
                channel=robot.kind,
                endpoint_id=robot.pk,
                community_id=robot.community_id,
                title=_("Test message from Linli"),
                body=_("If this group sees this, notices and alerts will reach it. Sent by %(name)s.")
                % {"name": actor.name},
            )
        ]
    )
