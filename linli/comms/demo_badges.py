"""Demo badges for the demo community: every staff member and volunteer with an account gets one, with a
placeholder portrait (a coloured disc with the surname, marked 示例 / SAMPLE: clearly not a photo). One grid
worker lost a badge (revoked, re-issued), the commander and a grid leader are on duty, the deputy's role shown
was set by hand."""

from __future__ import annotations

import colorsys
import datetime as dt
import glob
import hashlib
import io
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from linli.comms.badges import STAFF_ROLES, TOKEN_BYTES
from linli.comms.models import Badge
from linli.core.models import User
from linli.core.roles import Role
from linli.registry.models import Community
from linli.volunteers.models import Volunteer

PORTRAIT_SIZE = (300, 400)
# Usernames of the demo accounts whose badges tell a story.
LOST_AND_REISSUED = "worker2"
ON_DUTY = {"commander": 8, "leader1": 4}
TITLES = {"deputy": "社区副主任 · 现场指挥"}


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    for pattern in (
        "/usr/share/fonts/**/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/**/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/**/NotoSansCJK*.ttc",
    ):
        for path in sorted(glob.glob(pattern, recursive=True)):
            try:
                # Face 2 of the collection is Simplified Chinese (0 JP, 1 KR, 2 SC, 3 TC, 4 HK).
                return ImageFont.truetype(path, size, index=2)
            except OSError:
                continue
    return ImageFont.load_default(size)


def placeholder_portrait(name: str) -> bytes:
    """A 300 × 400 JPEG: a disc in a colour of the name, the surname in white, 示例 SAMPLE underneath."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(name.encode()).digest()
    hue = digest[0] / 255
    r, g, b = (round(c * 255) for c in colorsys.hls_to_rgb(hue, 0.45, 0.55))
    image = Image.new("RGB", PORTRAIT_SIZE, (236, 239, 243))
    draw = ImageDraw.Draw(image)
    width, _height = PORTRAIT_SIZE
    box = (40, 70, width - 40, 70 + width - 80)
    draw.ellipse(box, fill=(r, g, b))
    surname = (name.strip() or "?")[0]
    draw.text(
        ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), surname, font=_font(120), fill="white", anchor="mm"
    )
    draw.text((width / 2, 345), "示例 SAMPLE", font=_font(26), fill=(92, 104, 119), anchor="mm")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def _people(community: Community) -> list[User]:
    staff = User.objects.filter(is_active=True, role__in=STAFF_ROLES, community=community).order_by("id")
    volunteers = User.objects.filter(
        is_active=True,
        role=Role.VOLUNTEER,
        volunteer__community=community,
        volunteer__status=Volunteer.Status.ACTIVE,
    ).order_by("id")
    return [*staff, *volunteers]


def seed_badges(community: Community) -> None:
    """Badges for the community's staff and volunteers with accounts (idempotent: people who have a badge,
    valid or revoked, are left alone)."""
    people = _people(community)
    have = set(Badge.objects.filter(user__in=people).values_list("user_id", flat=True))
    issuer = (
        User.objects.filter(community=community, role=Role.COMMUNITY_ADMIN, is_active=True, grid__isnull=True)
        .order_by("id")
        .first()
    )
    now = timezone.now()
    with transaction.atomic():
        for user in people:
            if user.pk in have:
                continue
            photo = default_storage.save(
                f"badges/{user.pk}-{secrets.token_hex(8)}.jpg", ContentFile(placeholder_portrait(user.name))
            )
            if user.username == LOST_AND_REISSUED:
                lost = Badge.objects.create(
                    user=user, token=secrets.token_urlsafe(TOKEN_BYTES), issued_by=issuer
                )
                Badge.objects.filter(pk=lost.pk).update(
                    issued_at=now - dt.timedelta(days=40), revoked_at=now - dt.timedelta(days=3)
                )
            hours = ON_DUTY.get(user.username)
            badge = Badge.objects.create(
                user=user,
                token=secrets.token_urlsafe(TOKEN_BYTES),
                issued_by=issuer,
                photo=photo,
                title=TITLES.get(user.username, ""),
                on_duty_until=now + dt.timedelta(hours=hours) if hours else None,
            )
            days = 3 if user.username == LOST_AND_REISSUED else 30
            Badge.objects.filter(pk=badge.pk).update(issued_at=now - dt.timedelta(days=days))
