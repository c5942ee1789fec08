"""Receipt attachments of disbursements: cleaned like photos (decoded, re-encoded without
metadata, see :func:`backend.core.storage.clean_receipt`), then stored.

Receipts use the same ``backend.core.storage.Storage`` as photos: files under ``var/uploads``
on the embedded footprint, an S3-compatible bucket when ``TONGXIN_UPLOADS_S3_BUCKET`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.core.errors import Invalid, NotFound
from backend.core.i18n import N_
from backend.core.storage import Storage, clean_receipt, get_storage

if TYPE_CHECKING:
    from backend.core.runtime import Services

# stored extension → media type (receipts are re-encoded images; older PDFs stay readable)
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


def check_receipt(content: bytes, content_type: str) -> tuple[bytes, str]:
    """The cleaned receipt (re-encoded image, no metadata) and its extension; ``Invalid`` (422)
    otherwise. The declared content type is not trusted: the content is decoded."""
    if not content:
        raise Invalid(N_("Attach the receipt (JPEG or PNG)."), fields={"receipt": "required"})
    return clean_receipt(content)


@dataclass
class ReceiptStorage:
    """Receipts in the process's upload storage (``backend.core.storage``: the local directory
    or S3-compatible), under the ``receipts`` area: keys ``receipts/<32 hex>.<ext>``."""

    storage: Storage

    def save(self, content: bytes, content_type: str) -> str:
        cleaned, ext = check_receipt(content, content_type)
        return self.storage.put("receipts", cleaned, ext)

    def load(self, key: str) -> tuple[bytes, str]:
        ext = key.rsplit(".", 1)[-1]
        data = self.storage.get(key) if key.startswith("receipts/") else None
        if data is None or ext not in MEDIA_TYPES:
            raise NotFound(N_("Receipt not found."))
        return data, MEDIA_TYPES[ext]


def receipt_storage(services: Services | None = None) -> ReceiptStorage:
    """The process's receipt storage: the shared upload storage (tests may pass their own)."""
    return ReceiptStorage(get_storage(services))
