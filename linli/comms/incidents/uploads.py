"""Checking what people send with an incident: photos (by Pillow, up to 10 MB) and short videos (MP4, WebM or
QuickTime by their first bytes, up to 50 MB), and the site plan image (PNG or JPEG, up to 10 MB). A file's
name and the browser's content type are never trusted; a file that is anything else is refused with a
sentence that names it."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from linli.core.uploads import image_format

PHOTO_MAX_BYTES = 10 * 1024 * 1024
VIDEO_MAX_BYTES = 50 * 1024 * 1024
PLAN_MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
# A preview for phones: the original photo may be 10 MB; the page shows this one.
PREVIEW_PX = 960

_PHOTO_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "MPO": ("jpg", "image/jpeg"), "PNG": ("png", "image/png")}
_PHOTO_FORMATS |= {"WEBP": ("webp", "image/webp"), "GIF": ("gif", "image/gif")}
# QuickTime files from older phones start with one of these atoms instead of `ftyp`.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


@dataclass(frozen=True)
class Checked:
    upload: UploadedFile
    kind: str  # "photo" | "video"
    ext: str
    content_type: str
    size: int


def _name(upload: UploadedFile) -> str:
    return (upload.name or _("file")).rsplit("/", 1)[-1][:80]


def _head(upload: UploadedFile, n: int = 64) -> bytes:
    upload.seek(0)
    head = upload.read(n)
    upload.seek(0)
    return head


def _size(upload: UploadedFile) -> int:
    if upload.size is not None:
        return int(upload.size)
    upload.seek(0, io.SEEK_END)
    size = upload.tell()
    upload.seek(0)
    return size


def video_type(head: bytes) -> tuple[str, str] | None:
    """(extension, content type) of an MP4, QuickTime or WebM file from its first bytes; else None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov", "video/quicktime"
        return "mp4", "video/mp4"
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS:
        return "mov", "video/quicktime"
    # WebM is Matroska (EBML header 1A 45 DF A3) whose DocType says "webm".
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in head[:64]:
        return "webm", "video/webm"
    return None


def check_media(upload: UploadedFile) -> Checked:
    """A photo or a video of an incident, or ValidationError naming the file and what is wrong."""
    name = _name(upload)
    size = _size(upload)
    if size == 0:
        raise ValidationError(_("%(name)s: the file is empty.") % {"name": name})
    head = _head(upload)
    video = video_type(head)
    if video is not None:
        if size > VIDEO_MAX_BYTES:
            raise ValidationError(
                _("%(name)s: a video may be at most 50 MB; record a shorter one.") % {"name": name}
            )
        return Checked(upload, "video", video[0], video[1], size)
    if size > PHOTO_MAX_BYTES:
        # Too big to be read as a photo; say so if it looks like one.
        raise ValidationError(
            _("%(name)s: a photo may be at most 10 MB; send a smaller one.") % {"name": name}
        )
    found = image_format(upload, PHOTO_MAX_BYTES)
    if found is None or found[0] not in _PHOTO_FORMATS:
        raise ValidationError(
            _(
                "%(name)s is not a photo or a video we can take (photos: JPEG or PNG; videos: MP4, WebM or MOV)."
            )
            % {"name": name}
        )
    ext, content_type = _PHOTO_FORMATS[found[0]]
    return Checked(upload, "photo", ext, content_type, size)


def check_all(uploads: list[UploadedFile]) -> list[Checked]:
    """Every file checked before anything is kept: ValidationError({"files": [one line per bad file]})."""
    if len(uploads) > MAX_FILES:
        raise ValidationError(
            {"files": [_("Send at most %(n)s photos or videos with one report.") % {"n": MAX_FILES}]}
        )
    checked: list[Checked] = []
    errors: list[str] = []
    for upload in uploads:
        try:
            checked.append(check_media(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"files": errors})
    return checked


def usable_media(uploads: list[UploadedFile]) -> tuple[list[UploadedFile], list[str]]:
    """(the photos and videos that pass check_media, at most MAX_FILES; one line for each left out): a
    report goes in without its bad files rather than not at all."""
    kept: list[UploadedFile] = []
    dropped: list[str] = []
    for upload in uploads:
        if len(kept) >= MAX_FILES:
            dropped.append(
                _("%(name)s: at most %(n)s files per report") % {"name": upload.name, "n": MAX_FILES}
            )
            continue
        try:
            check_media(upload)
        except ValidationError as exc:
            dropped.extend(exc.messages)
            continue
        upload.seek(0)
        kept.append(upload)
    return kept, dropped


def check_plan_image(upload: UploadedFile) -> tuple[str, int, int]:
    """The site plan: (extension, width, height) of a PNG or JPEG of at most 10 MB."""
    name = _name(upload)
    if _size(upload) > PLAN_MAX_BYTES:
        raise ValidationError(_("%(name)s: the site plan may be at most 10 MB.") % {"name": name})
    found = image_format(upload, PLAN_MAX_BYTES)
    if found is None or found[0] not in ("PNG", "JPEG", "MPO"):
        raise ValidationError(
            _("%(name)s is not a PNG or JPEG image. Save the site plan as PNG or JPEG and upload it again.")
            % {"name": name}
        )
    kind, width, height = found
    if width < 200 or height < 200:
        raise ValidationError(
            _("%(name)s is only %(w)s × %(h)s pixels: too small to place buildings on.")
            % {"name": name, "w": width, "h": height}
        )
    return ("png" if kind == "PNG" else "jpg"), width, height


def photo_preview(data: bytes) -> bytes | None:
    """A JPEG at most PREVIEW_PX on its long side, turned upright, for the pages; None if it fails."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image) or image
            upright.thumbnail((PREVIEW_PX, PREVIEW_PX))
            out = io.BytesIO()
            upright.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return None
    return out.getvalue()
