"""What the incident tests share: files to upload (real photos, fake and real video headers), a community with
its site plan and buildings placed, a report, a signed-in client. Imported by the test_incidents_* modules;
it has no tests of its own."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from linli.comms.incidents import building_place, incident_report, siteplan_set_corners, siteplan_upload
from linli.comms.models import Incident, SitePlan
from linli.comms.views import incidents as views
from linli.conftest import World

# Buildings 1 and 2 of the world: where they are on the plan.
SPOT1 = (0.25, 0.4)
SPOT2 = (0.75, 0.6)
EDGES = {
    "north": Decimal("39.877000"),
    "south": Decimal("39.871000"),
    "west": Decimal("116.456000"),
    "east": Decimal("116.466000"),
}


@pytest.fixture(autouse=True)
def _incident_env(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Files go to a fresh folder; the in-memory flood counters start from zero."""
    settings.MEDIA_ROOT = tmp_path / "media"
    views.reset_rate_limits()


def image_bytes(size: tuple[int, int] = (800, 600), kind: str = "JPEG") -> bytes:
    image = Image.new("RGB", size, (180, 60, 40))
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def photo(
    name: str = "scene.jpg", size: tuple[int, int] = (800, 600), kind: str = "JPEG"
) -> SimpleUploadedFile:
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}[kind]
    return SimpleUploadedFile(name, image_bytes(size, kind), content_type=content_type)


def mp4(name: str = "clip.mp4", brand: bytes = b"isom") -> SimpleUploadedFile:
    head = b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"mp41"
    return SimpleUploadedFile(name, head + b"\x00\x00\x00\x08free" + b"\x00" * 4000, content_type="video/mp4")


def webm(name: str = "clip.webm", doctype: bytes = b"webm") -> SimpleUploadedFile:
    ebml = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84"
    return SimpleUploadedFile(
        name, ebml + doctype + b"\x42\x87\x81\x04" + b"\x00" * 4000, content_type="video/webm"
    )


def fake_video(name: str = "clip.mp4") -> SimpleUploadedFile:
    """A file that says it is a video and is not."""
    return SimpleUploadedFile(name, b"<html><script>alert(1)</script></html>" * 50, content_type="video/mp4")


def text_file(name: str = "notes.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, "这不是照片".encode() * 100, content_type="image/jpeg")


def with_plan(world: World, *, edges: bool = True) -> SitePlan:
    """The world's community with a site plan, building 1 and building 2 placed, and (by default) GPS edges."""
    plan = siteplan_upload(
        actor=world.commander,
        community=world.community,
        image=photo("plan.png", (1000, 700), "PNG"),
    )
    building_place(actor=world.commander, building=world.building1, x=SPOT1[0], y=SPOT1[1])
    building_place(actor=world.commander, building=world.building2, x=SPOT2[0], y=SPOT2[1])
    if edges:
        plan = siteplan_set_corners(actor=world.commander, plan=plan, **EDGES)
    return plan


_SEEN = itertools.count(1)


def report(world: World, **values: Any) -> Incident:
    """A new report each call (the same words twice within minutes would be the same report)."""
    fields: dict[str, Any] = {
        "community": world.community,
        "kind": Incident.Kind.FIRE,
        "description": f"楼道里有烟（{next(_SEEN)}）",
        "building": world.building1,
        "place": "2单元3层楼道",
        "reporter_name": "王女士",
        "reporter_phone": "13911112222",
    }
    fields.update(values)
    return incident_report(**fields)


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client
