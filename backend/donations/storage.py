"""Receipt attachments of disbursements: checked, then stored under ``var/uploads``.

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

MAX_RECEIPT_BYTES = 5 * 1024 * 1024

# content type → (file extension, magic bytes the content must start with)
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "application/pdf": ("pdf", (b"%PDF-",)),
    "image/jpeg": ("jpg", (b"\xff\xd8\xff",)),
    "image/png": ("png", (b"\x89PNG\r\n\x1a\n",)),
}
MEDIA_TYPES = {ext: ctype for ctype, (ext, _) in ALLOWED_TYPES.items()}


def check_receipt(content: bytes, content_type: str) -> str:
    """The file extension for a valid receipt; ``Invalid`` (422) otherwise."""
    if not content:
        raise Invalid(N_("Attach the receipt (PDF, JPEG or PNG)."), fields={"receipt": "required"})
    if len(content) > MAX_RECEIPT_BYTES:
        raise Invalid(N_("The receipt is larger than 5 MB."), fields={"receipt": "too_large"})
    kind = ALLOWED_TYPES.get(content_type.split(";", maxsplit=1)[0].strip().lower())
    if kind is None or not content.startswith(kind[1]):
        raise Invalid(
            N_("The receipt must be a PDF, JPEG or PNG file."), fields={"receipt": "type"}
        )
    return kind[0]


class ReceiptStorage(Protocol):
    def save(self, content: bytes, content_type: str) -> str: ...

    def load(self, key: str) -> tuple[bytes, str]: ...


@dataclass
class LocalReceiptStorage:
    root: Path

    def save(self, content: bytes, content_type: str) -> str:
        ext = check_receipt(content, content_type)
        key = f"receipts/{uuid.uuid4().hex}.{ext}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        path.write_bytes(content)
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
