"""Uploaded files (delivery, project and organization photos; quarterly-list PDFs) behind one
small Protocol.

Two implementations, each behind the same Protocol, chosen by ``TONGXIN_UPLOADS_S3_BUCKET``
(:func:`storage_from_settings`, called when the Runtime starts):

* :class:`LocalStorage` — files under ``settings.var_dir / "uploads"`` (the embedded default);
* :class:`S3Storage` — any S3-compatible object store (MinIO, Aliyun OSS, AWS S3). It is
  written against :class:`S3Client`, the three calls of a boto3-style client it uses, and is
  unit-tested here with an in-memory fake only: no S3 server runs in this environment.

Nothing is ever served from ``/static``: files are read back through authorizing routes.
Keys are random (``<area>/<32 hex>.<ext>``); an original file name never becomes a key.

Photos and disbursement receipts are checked by content with Pillow (real JPEG, PNG or WebP; at most
:data:`MAX_PHOTO_BYTES`; at most :data:`MAX_SIDE` px a side before shrinking and
:data:`MAX_PIXELS` in all) and re-encoded, which drops EXIF, GPS and every other metadata block.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.core.errors import Invalid
from backend.core.i18n import N_

if TYPE_CHECKING:
    from backend.config import Settings
    from backend.core.runtime import Services

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 6
MAX_SIDE = 8000  # refused above this, before decoding
MAX_PIXELS = 40_000_000
STORED_SIDE = 2000  # kept photos are shrunk to this
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MEDIA_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
KEY_RE = re.compile(r"^[a-z_]{1,20}/[0-9a-f]{32}\.(jpg|png|webp|pdf)$")


class Storage(Protocol):
    def put(self, area: str, data: bytes, ext: str) -> str:
        """Store ``data``; return its new random key."""

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or None (unknown or malformed key)."""

    def delete(self, key: str) -> None: ...


def media_type(key: str) -> str:
    return MEDIA_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def new_key(area: str, ext: str) -> str:
    key = f"{area}/{uuid.uuid4().hex}.{ext}"
    if not KEY_RE.match(key):
        raise ValueError("bad storage area or extension")
    return key


def clean_photo(data: bytes) -> tuple[bytes, str]:
    """Check an uploaded photo by its content and re-encode it without metadata.

    Returns (bytes, extension); raises :class:`Invalid` (field ``photos``) with the reason.
    """
    return clean_image(data, field="photos", max_bytes=MAX_PHOTO_BYTES)


MAX_RECEIPT_BYTES = 5 * 1024 * 1024


def clean_receipt(data: bytes) -> tuple[bytes, str]:
    """A disbursement receipt, cleaned like a photo: its type is found by decoding it (never by
    the declared content type or the first bytes), it is re-encoded, which drops EXIF, GPS and
    every other metadata block, and size and pixel limits apply. Receipts are public on the
    ledger. PDFs are refused: no checker here can prove a PDF free of metadata, scripts,
    attachments or hidden layers, so receipts are images only (docs/storage.md)."""
    if data.startswith(b"%PDF"):
        raise Invalid(
            N_("Upload the receipt as a photo or scan (JPEG, PNG or WebP). PDFs are not accepted."),
            fields={"receipt": "type"},
        )
    return clean_image(data, field="receipt", max_bytes=MAX_RECEIPT_BYTES, keep_side=MAX_SIDE // 2)


def clean_image(
    data: bytes, *, field: str, max_bytes: int, keep_side: int = STORED_SIDE
) -> tuple[bytes, str]:
    """Decode ``data`` as JPEG, PNG or WebP within the limits and re-encode it from its pixels
    alone (JPEG, or PNG when it has transparency). Raises :class:`Invalid` on ``field``."""
    if not data:
        raise Invalid(N_("The photo is empty."), fields={field: "invalid"})
    if len(data) > max_bytes:
        raise Invalid(
            N_("Each photo may be at most {mb} MB."),
            fields={field: "too_long"},
            mb=max_bytes // (1024 * 1024),
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            if fmt not in ALLOWED_FORMATS:
                raise Invalid(N_("Upload photos as JPEG, PNG or WebP."), fields={field: "invalid"})
            if max(probe.size) > MAX_SIDE or probe.width * probe.height > MAX_PIXELS:
                raise Invalid(
                    N_("The photo is too large: at most {side} pixels a side."),
                    fields={field: "too_long"},
                    side=MAX_SIDE,
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            oriented = ImageOps.exif_transpose(image)
            alpha = oriented.mode in {"RGBA", "LA"} or (
                oriented.mode == "P" and "transparency" in oriented.info
            )
            pixels = oriented.convert("RGBA" if alpha else "RGB")
            pixels.thumbnail((keep_side, keep_side))
            clean = Image.new(pixels.mode, pixels.size)  # a fresh image: no info, no EXIF
            clean.paste(pixels)
            out = io.BytesIO()
            if alpha:
                clean.save(out, format="PNG", optimize=True)
                return out.getvalue(), "png"
            clean.save(out, format="JPEG", quality=85, optimize=True)
            return out.getvalue(), "jpg"
    except Invalid:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise Invalid(
            N_("This file is not a photo we can read."), fields={field: "invalid"}
        ) from exc


@dataclass
class LocalStorage:
    """Files under ``root`` (``<var_dir>/uploads``), written atomically."""

    root: Path

    def _path(self, key: str) -> Path | None:
        return self.root / key if KEY_RE.match(key) else None

    def put(self, area: str, data: bytes, ext: str) -> str:
        key = new_key(area, ext)
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return key

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        return path.read_bytes()

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path is not None:
            path.unlink(missing_ok=True)


class S3Client(Protocol):
    """The part of a boto3-style S3 client that :class:`S3Storage` uses."""

    def put_object(self, **kwargs: Any) -> Any: ...

    def get_object(self, **kwargs: Any) -> Any: ...

    def delete_object(self, **kwargs: Any) -> Any: ...


@dataclass
class S3Storage:
    """An S3-compatible bucket; objects are private (no public ACL), read back through the app."""

    client: S3Client
    bucket: str
    prefix: str = "uploads/"

    def put(self, area: str, data: bytes, ext: str) -> str:
        key = new_key(area, ext)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=data,
            ContentType=media_type(key),
            ServerSideEncryption="AES256",
        )
        return key

    def get(self, key: str) -> bytes | None:
        if not KEY_RE.match(key):
            return None
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except Exception as exc:  # botocore's NoSuchKey is a ClientError subclass
            if _is_missing(exc):
                return None
            raise
        body = response["Body"].read()
        return bytes(body)

    def delete(self, key: str) -> None:
        if KEY_RE.match(key):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)


def _is_missing(exc: Exception) -> bool:
    error = getattr(exc, "response", {}).get("Error", {}) if hasattr(exc, "response") else {}
    return type(exc).__name__ == "NoSuchKey" or error.get("Code") in {"NoSuchKey", "404"}


def get_storage(services: Services | None = None) -> Storage:
    """The process's storage (``runtime.services.uploads``), else the local directory."""
    if services is not None and services.uploads is not None:
        return services.uploads
    from backend.config import get_settings

    return LocalStorage(Path(get_settings().var_dir) / "uploads")


def storage_from_settings(settings: Settings, *, s3_client: S3Client | None = None) -> Storage:
    """The process's upload storage: S3-compatible when ``TONGXIN_UPLOADS_S3_BUCKET`` is set
    (``TONGXIN_UPLOADS_S3_ENDPOINT`` for a non-AWS store; boto3 must then be installed, or a
    client passed), else the directory ``var_dir/uploads``."""
    bucket = settings.uploads_s3_bucket
    if not bucket:
        return LocalStorage(Path(settings.var_dir) / "uploads")
    if s3_client is None:
        import importlib

        boto3 = importlib.import_module("boto3")  # optional dependency of the production image
        s3_client = boto3.client("s3", endpoint_url=settings.uploads_s3_endpoint or None)
    return S3Storage(client=s3_client, bucket=bucket)
