"""Uploaded pictures, checked by their content (never by their name): residents' test photos, questions'
photos, incident photos, site plans, badge photos."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import UploadedFile

# The picture formats phones send, and the extension each is stored under.
IMAGE_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "MPO": "jpg"}


def image_format(upload: UploadedFile, max_bytes: int) -> tuple[str, int, int] | None:
    """(Pillow format, width, height) when the file is an image Pillow can read whole (at most `max_bytes`
    are read); else None. The upload is left at its start."""
    from PIL import Image, UnidentifiedImageError

    try:
        upload.seek(0)
        data = upload.read(max_bytes + 1)
        with Image.open(io.BytesIO(data)) as image:
            kind, size = image.format or "", image.size
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return None
    finally:
        upload.seek(0)
    return kind, size[0], size[1]


def photo_extension(upload: UploadedFile, max_bytes: int) -> str | None:
    """The extension to store a photo under when the file is a picture of a format phones send; else None."""
    found = image_format(upload, max_bytes)
    return IMAGE_EXTENSIONS.get(found[0]) if found is not None else None
