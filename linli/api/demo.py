"""Demo: the departments connected to 南里社区 — the district CDC sends dispatched lists and hears of new control
cases, the police station's duty system hears of incidents and activations (its receiver is failing right
now), the street office reads the daily report; an old CDC token was revoked. Idempotent."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from linli.api.models import ApiToken
from linli.api.services import api_call_record, api_token_create, api_token_revoke
from linli.comms.models import Channel, ChannelEndpoint
from linli.core.models import AuditLog, User
from linli.core.request_context import Origin, origin

CDC_NAME = "区疾控中心 协查推送"


def _hook(token: ApiToken, url: str, events: list[str], secret: str, **state: object) -> ChannelEndpoint:
    account = token.user
    endpoint = ChannelEndpoint.objects.create(
        kind=Channel.WEBHOOK,
        name=f"{token.name} → {url.split('/')[2]}"[:100],
        url=url,
        secret=secret,
        community_id=account.community_id,
        street_id=account.street_id,
        events=events,
        token=token,
        created_by=account,
    )
    if state:
        ChannelEndpoint.objects.filter(pk=endpoint.pk).update(**state)
    return endpoint


def seed_demo_api(community_code: str = "nanli") -> bool:
    commander = User.objects.filter(username="commander").first()
    street_admin = User.objects.filter(username="street").first()
    if commander is None or commander.community is None or commander.community.code != community_code:
        return False
    if ApiToken.objects.filter(name=CDC_NAME, user__community=commander.community).exists():
        return False
    now = timezone.now()
    with transaction.atomic():
        old, _raw = api_token_create(
            actor=commander,
            role="department",
            scope_code=community_code,
            name="区疾控中心（旧接口）",
            department="cdc",
            permissions=["dispatch"],
        )
        api_token_revoke(actor=commander, token=old)
        ApiToken.objects.filter(pk=old.pk).update(
            created_at=now - dt.timedelta(days=75),
            last_used_at=now - dt.timedelta(days=21),
            revoked_at=now - dt.timedelta(days=20),
        )

        cdc, _raw = api_token_create(
            actor=commander,
            role="department",
            scope_code=community_code,
            name=CDC_NAME,
            department="cdc",
            permissions=["dispatch", "reports", "webhooks"],
        )
        ApiToken.objects.filter(pk=cdc.pk).update(
            created_at=now - dt.timedelta(days=20, hours=3), last_used_at=now - dt.timedelta(minutes=55)
        )
        _hook(
            cdc,
            "http://10.20.1.15:8080/linli/events",
            ["case.created"],
            "cdc-demo-7f3a9c2e41b8d605",
            last_success_at=now - dt.timedelta(hours=2, minutes=10),
        )

        police, _raw = api_token_create(
            actor=commander,
            role="department",
            scope_code=community_code,
            name="南里派出所 警务值班系统",
            department="police",
            permissions=["webhooks", "read"],
        )
        ApiToken.objects.filter(pk=police.pk).update(
            created_at=now - dt.timedelta(days=9), last_used_at=now - dt.timedelta(hours=5)
        )
        _hook(
            police,
            "http://10.30.8.2/duty/linli",
            ["incident.reported", "response.activated"],
            "police-demo-b51e0d77c2a94f18",
            last_success_at=now - dt.timedelta(days=1, hours=4),
            last_failure_at=now - dt.timedelta(minutes=40),
            last_error="answered 503",
        )

        if street_admin is not None and street_admin.street is not None:
            street, _raw = api_token_create(
                actor=street_admin,
                role="observer",
                scope_code=street_admin.street.code,
                name="街道办 应急指挥平台",
                department="street",
                permissions=["reports"],
            )
            ApiToken.objects.filter(pk=street.pk).update(
                created_at=now - dt.timedelta(days=30), last_used_at=now - dt.timedelta(hours=1, minutes=20)
            )

        # A morning of the CDC's calls, as the audit log shows them.
        from linli.epidemic.models import DispatchBatch

        batch = DispatchBatch.objects.filter(community=commander.community).order_by("-id").first()
        batch_path = f"/api/v1/epidemic/dispatch-lists/{batch.pk if batch else 1}"
        calls = [
            ("POST", "/api/v1/epidemic/dispatch-lists", 201, 62),
            ("GET", batch_path, 200, 58),
            ("GET", "/api/v1/reports/daily", 200, 55),
        ]
        cdc.refresh_from_db()
        with origin(Origin(ip="10.20.1.15", user_agent="cdc-sync/2.3", via="api")):
            for method, path, status, minutes in calls:
                row = api_call_record(method=method, path=path, status=status, token=cdc)
                AuditLog.objects.filter(pk=row.pk).update(at=now - dt.timedelta(minutes=minutes))
            row = api_call_record(method="GET", path=batch_path, status=401, refused=old)
            AuditLog.objects.filter(pk=row.pk).update(at=now - dt.timedelta(days=2))
    return True
