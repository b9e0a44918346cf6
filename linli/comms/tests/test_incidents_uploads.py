"""What may be sent with an incident, and the site plan image: checked by content and size, never by name or
the browser's content type; a report with one bad file keeps nothing."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.comms.incidents import uploads
from linli.comms.incidents.uploads import check_all, check_media, check_plan_image
from linli.comms.models import Incident, IncidentMedia
from linli.comms.tests.test_incidents_fixtures import (  # noqa: F401 (the autouse fixture)
    _incident_env,
    fake_video,
    image_bytes,
    mp4,
    photo,
    report,
    text_file,
    webm,
)
from linli.conftest import World


def test_photos_are_recognised_by_their_content_whatever_their_name() -> None:
    checked = check_media(SimpleUploadedFile("IMG_0001.HEIC.txt", image_bytes(), content_type="text/plain"))
    assert (checked.kind, checked.ext, checked.content_type) == ("photo", "jpg", "image/jpeg")
    assert check_media(photo("a.png", kind="PNG")).content_type == "image/png"


def test_mp4_quicktime_and_webm_videos_are_recognised_by_their_first_bytes() -> None:
    assert check_media(mp4()).content_type == "video/mp4"
    assert check_media(mp4("IMG_0002.MOV", brand=b"qt  ")).content_type == "video/quicktime"
    assert check_media(webm()).content_type == "video/webm"


def test_a_file_that_only_claims_to_be_a_video_or_photo_is_refused_with_its_name() -> None:
    with pytest.raises(ValidationError) as exc:
        check_media(fake_video("evil.mp4"))
    assert "evil.mp4 is not a photo or a video" in exc.value.messages[0]
    with pytest.raises(ValidationError, match=re.escape("notes.jpg is not a photo")):
        check_media(text_file("notes.jpg"))
    with pytest.raises(ValidationError, match=re.escape("film.mkv is not a photo")):
        check_media(webm("film.mkv", doctype=b"matroska"))


def test_empty_files_are_refused() -> None:
    with pytest.raises(ValidationError, match=re.escape("empty.jpg: the file is empty")):
        check_media(SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg"))


def test_a_photo_over_10_mb_and_a_video_over_50_mb_are_refused() -> None:
    big_photo = photo("big.jpg")
    big_photo.size = uploads.PHOTO_MAX_BYTES + 1
    with pytest.raises(ValidationError, match=re.escape("big.jpg: a photo may be at most 10 MB")):
        check_media(big_photo)
    big_video = mp4("long.mp4")
    big_video.size = uploads.VIDEO_MAX_BYTES + 1
    with pytest.raises(ValidationError, match=re.escape("long.mp4: a video may be at most 50 MB")):
        check_media(big_video)
    # A video of 20 MB is fine: the photo limit does not apply to it.
    medium = mp4("medium.mp4")
    medium.size = 20 * 1024 * 1024
    assert check_media(medium).kind == "video"


def test_every_bad_file_is_named_at_once_and_more_than_five_are_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        check_all([photo(), text_file("a.jpg"), fake_video("b.mp4")])
    messages = exc.value.message_dict["files"]
    assert len(messages) == 2 and "a.jpg" in messages[0] and "b.mp4" in messages[1]
    with pytest.raises(ValidationError, match="at most 5"):
        check_all([photo(f"{n}.jpg") for n in range(6)])


def test_a_report_with_one_bad_file_keeps_nothing(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        report(world, files=[photo("good.jpg"), mp4(), fake_video("bad.mp4")])
    assert "bad.mp4" in exc.value.message_dict["files"][0]
    assert not Incident.objects.exists()
    assert not IncidentMedia.objects.exists()
    media_root = settings.MEDIA_ROOT
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


def test_a_good_report_keeps_its_files_out_of_public_names_with_a_preview_of_each_photo(world: World) -> None:
    incident = report(world, files=[photo("IMG_1.jpg", (3000, 2000)), mp4()])
    media = list(incident.media.order_by("id"))
    assert [m.kind for m in media] == ["photo", "video"]
    assert all(incident.token in m.file.name and "IMG_1" not in m.file.name for m in media)
    assert default_storage.exists(media[0].file.name + ".preview.jpg")
    assert media[0].size > 0 and media[1].content_type == "video/mp4"


def test_the_site_plan_must_be_a_png_or_jpeg_big_enough_to_place_buildings_on() -> None:
    assert check_plan_image(photo("plan.png", (1600, 1100), "PNG")) == ("png", 1600, 1100)
    assert check_plan_image(photo("plan.jpg", (1200, 900)))[0] == "jpg"
    with pytest.raises(ValidationError, match="not a PNG or JPEG"):
        check_plan_image(photo("plan.gif", (800, 600), "GIF"))
    with pytest.raises(ValidationError, match="not a PNG or JPEG"):
        check_plan_image(text_file("plan.png"))
    with pytest.raises(ValidationError, match="too small"):
        check_plan_image(photo("thumb.png", (120, 90), "PNG"))
    huge = photo("huge.png", (800, 600), "PNG")
    huge.size = uploads.PLAN_MAX_BYTES + 1
    with pytest.raises(ValidationError, match="at most 10 MB"):
        check_plan_image(huge)
