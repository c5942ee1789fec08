"""Where uploaded photos go: a small Protocol and a local-directory implementation.

Every image is opened with Pillow, checked, shrunk to at most 2000 px and re-encoded (JPEG, or
PNG when it has transparency) — which drops EXIF, GPS and every other metadata block. Names are
random; the original file name is never used.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.core.errors import Invalid
from backend.core.i18n import N_

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 2000
MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png)$")


class PhotoStorage(Protocol):
    def save(self, data: bytes) -> str:
        """Check and store one image; return its storage name."""

    def open(self, name: str) -> tuple[bytes, str] | None:
        """The stored bytes and media type, or None."""


def clean_image(data: bytes) -> tuple[bytes, str]:
    """Validate the image content and re-encode it without metadata; returns (bytes, extension)."""
    if not data:
        raise Invalid(N_("The photo is empty."), fields={"photos": "invalid"})
    if len(data) > MAX_BYTES:
        raise Invalid(N_("Each photo may have at most 5 MB."), fields={"photos": "too_long"})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise Invalid(N_("Upload photos as JPEG, PNG, WebP or GIF."), fields={"photos": "invalid"})
            if probe.width * probe.height > MAX_PIXELS:
                raise Invalid(N_("The photo is too large."), fields={"photos": "too_long"})
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in {"RGBA", "LA"} or (image.mode == "P" and "transparency" in image.info)
            image = image.convert("RGBA" if has_alpha else "RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            clean = Image.new(image.mode, image.size)
            clean.paste(image)
            out = io.BytesIO()
            if has_alpha:
                clean.save(out, format="PNG", optimize=True)
                return out.getvalue(), "png"
            clean.save(out, format="JPEG", quality=85, optimize=True)
            return out.getvalue(), "jpg"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Invalid(N_("This file is not a photo we can read."), fields={"photos": "invalid"}) from exc


@dataclass
class LocalPhotoStorage:
    """Files under ``<var_dir>/uploads/<area>``."""

    root: Path

    def save(self, data: bytes) -> str:
        clean, ext = clean_image(data)
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.{ext}"
        tmp = self.root / f".{name}.tmp"
        tmp.write_bytes(clean)
        tmp.replace(self.root / name)
        return name

    def open(self, name: str) -> tuple[bytes, str] | None:
        if not _NAME.match(name):
            return None
        path = self.root / name
        if not path.is_file():
            return None
        return path.read_bytes(), "image/png" if name.endswith(".png") else "image/jpeg"


def photo_storage(area: str = "photos") -> PhotoStorage:
    from backend.config import get_settings

    return LocalPhotoStorage(Path(get_settings().var_dir) / "uploads" / area)
