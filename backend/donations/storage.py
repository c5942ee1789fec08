"""Receipt attachments of disbursements: cleaned like photos (decoded, re-encoded without
metadata, see :func:`backend.core.storage.clean_receipt`), then stored under ``var/uploads``.

``ReceiptStorage`` is the interface; ``LocalReceiptStorage`` keeps files on disk (both
footprints share a volume in production; an object store would implement the same Protocol).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from backend.config import Settings
from backend.core.errors import Invalid, NotFound
from backend.core.i18n import N_
from backend.core.storage import clean_receipt

# stored extension → media type (receipts are re-encoded images; older PDFs stay readable)
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


def check_receipt(content: bytes, content_type: str) -> tuple[bytes, str]:
    """The cleaned receipt (re-encoded image, no metadata) and its extension; ``Invalid`` (422)
    otherwise. The declared content type is not trusted: the content is decoded."""
    if not content:
        raise Invalid(N_("Attach the receipt (JPEG or PNG)."), fields={"receipt": "required"})
    return clean_receipt(content)


class ReceiptStorage(Protocol):
    def save(self, content: bytes, content_type: str) -> str: ...

    def load(self, key: str) -> tuple[bytes, str]: ...


@dataclass
class LocalReceiptStorage:
    root: Path

    def save(self, content: bytes, content_type: str) -> str:
        cleaned, ext = check_receipt(content, content_type)
        key = f"receipts/{uuid.uuid4().hex}.{ext}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        path.write_bytes(cleaned)
        return key

    def load(self, key: str) -> tuple[bytes, str]:
        name = Path(key).name
        ext = name.rsplit(".", 1)[-1]
        path = self.root / "receipts" / name
        if not key.startswith("receipts/") or ext not in MEDIA_TYPES or not path.is_file():
            raise NotFound(N_("Receipt not found."))
        return path.read_bytes(), MEDIA_TYPES[ext]


def receipt_storage(services: dict[str, Any], settings: Settings) -> ReceiptStorage:
    """The process's storage (built on first use; tests may place their own in ``services``)."""
    storage = services.get("receipts")
    if storage is None:
        storage = LocalReceiptStorage(settings.var_dir / "uploads")
        services["receipts"] = storage
    return storage
