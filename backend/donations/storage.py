"""Receipt attachments of disbursements: checked, then stored in the shared upload storage.

Receipts use the same ``backend.core.storage.Storage`` as photos: files under ``var/uploads``
on the embedded footprint, an S3-compatible bucket when ``TONGXIN_UPLOADS_S3_BUCKET`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.core.errors import Invalid, NotFound
from backend.core.i18n import N_
from backend.core.storage import Storage, get_storage

if TYPE_CHECKING:
    from backend.core.runtime import Services

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


@dataclass
class ReceiptStorage:
    """Receipts in the process's upload storage (``backend.core.storage``: the local directory
    or S3-compatible), under the ``receipts`` area: keys ``receipts/<32 hex>.<ext>``."""

    storage: Storage

    def save(self, content: bytes, content_type: str) -> str:
        ext = check_receipt(content, content_type)
        return self.storage.put("receipts", content, ext)

    def load(self, key: str) -> tuple[bytes, str]:
        ext = key.rsplit(".", 1)[-1]
        data = self.storage.get(key) if key.startswith("receipts/") else None
        if data is None or ext not in MEDIA_TYPES:
            raise NotFound(N_("Receipt not found."))
        return data, MEDIA_TYPES[ext]


def receipt_storage(services: Services | None = None) -> ReceiptStorage:
    """The process's receipt storage: the shared upload storage (tests may pass their own)."""
    return ReceiptStorage(get_storage(services))
