"""Project-update, evidence and logo photos: the shared upload storage under one area.

Photos are checked and re-encoded without metadata by `backend.core.storage.clean_photo` (the
same rules as delivery photos) and stored under ``<area>/<32 hex>.<ext>`` in whatever
`Storage` the process uses (local directory, or S3-compatible). Rows keep only the file name;
the area is fixed per use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from backend.core.storage import Storage, clean_photo, get_storage, media_type

if TYPE_CHECKING:
    from backend.core.runtime import Services

_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


class PhotoStorage(Protocol):
    def save(self, data: bytes) -> str:
        """Check and store one image; return its storage name."""

    def open(self, name: str) -> tuple[bytes, str] | None:
        """The stored bytes and media type, or None."""


@dataclass
class AreaPhotoStorage:
    """Photos in one area of a `Storage`; names are the key without the area."""

    storage: Storage
    area: str = "photos"

    def save(self, data: bytes) -> str:
        clean, ext = clean_photo(data)
        return self.storage.put(self.area, clean, ext).split("/", 1)[1]

    def open(self, name: str) -> tuple[bytes, str] | None:
        if not _NAME.match(name):
            return None
        key = f"{self.area}/{name}"
        data = self.storage.get(key)
        return None if data is None else (data, media_type(key))


def photo_storage(services: Services | None = None) -> PhotoStorage:
    """The process's photo storage (``runtime.services.uploads``, else the local directory)."""
    return AreaPhotoStorage(get_storage(services))
