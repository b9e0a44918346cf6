from __future__ import annotations

from linli.api.demo import seed_demo_api
from linli.api.models import ApiToken
from linli.comms.models import ChannelEndpoint
from linli.core.models import AuditLog


def test_the_demo_connects_departments_once(world) -> None:
    assert seed_demo_api() is True
    assert seed_demo_api() is False
    tokens = {t.name: t for t in ApiToken.objects.all()}
    assert set(tokens) == {"区疾控中心（旧接口）", "区疾控中心 协查推送", "南里派出所 警务值班系统"}
    assert tokens["区疾控中心（旧接口）"].revoked_at is not None
    assert ChannelEndpoint.objects.filter(token__in=tokens.values(), is_active=True).count() == 2
    assert AuditLog.objects.filter(action="api", community=world.community).count() == 4
