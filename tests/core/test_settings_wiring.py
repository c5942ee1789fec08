"""Settings are written once (the dataclass default) and every one of them is read somewhere:
TONGXIN_DEFAULT_LOCALE picks the language of a visitor whose browser asks for neither, and
TONGXIN_UPLOADS_S3_BUCKET puts photos and receipts into an S3-compatible bucket."""

from __future__ import annotations

import io
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from backend.config import Settings
from backend.core.i18n import default_locale
from backend.core.storage import LocalStorage, S3Storage, storage_from_settings
from backend.donations.storage import ReceiptStorage


def test_defaults_are_written_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("TONGXIN_")]:
        monkeypatch.delenv(name)
    from_env = Settings.from_env()
    plain = Settings()
    for f in fields(Settings):
        if f.name != "var_dir":
            assert getattr(from_env, f.name) == getattr(plain, f.name), f.name
    assert from_env.var_dir == Path("var").resolve()


def test_environment_values_take_the_field_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXIN_PORT", "9100")
    monkeypatch.setenv("TONGXIN_WORKER_IN_PROCESS", "false")
    monkeypatch.setenv("TONGXIN_SECURE_COOKIES", "yes")
    monkeypatch.setenv("TONGXIN_K_ANONYMITY", "7")
    monkeypatch.setenv("TONGXIN_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("TONGXIN_UPLOADS_S3_BUCKET", "bucket")
    monkeypatch.delenv("TONGXIN_BASE_URL", raising=False)
    monkeypatch.delenv("TONGXIN_HOST", raising=False)
    s = Settings.from_env()
    assert (s.port, s.base_url) == (9100, "http://127.0.0.1:9100")
    assert s.run_worker_in_process is False
    assert s.secure_cookies is True
    assert s.k_anonymity == 7
    assert s.default_locale == "en"
    assert s.uploads_s3_bucket == "bucket"


def test_default_locale_is_wired() -> None:
    assert default_locale(Settings()) == "zh_CN"
    assert default_locale(Settings(default_locale="en")) == "en"
    assert default_locale(Settings(default_locale="fr")) == "zh_CN"


async def test_default_locale_serves_a_visitor_without_preference(
    database_url: str, redis_url: str
) -> None:
    from litestar.testing import AsyncTestClient

    from backend.app import create_app

    app = create_app(
        Settings.from_env(default_locale="en"),
        database_url=database_url,
        redis_url=redis_url,
        start_worker=False,
    )
    async with AsyncTestClient(app=app) as client:
        page = await client.get("/signin")
        assert 'lang="en"' in page.text
        page = await client.get("/signin", headers={"accept-language": "zh-CN"})
        assert 'lang="zh-CN"' in page.text


class _FakeS3:
    """The three calls S3Storage makes, in memory (no S3 server runs here)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}

    def put_object(self, **kw: Any) -> None:
        self.objects[(kw["Bucket"], kw["Key"])] = kw

    def get_object(self, **kw: Any) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[(kw["Bucket"], kw["Key"])]["Body"])}

    def delete_object(self, **kw: Any) -> None:
        self.objects.pop((kw["Bucket"], kw["Key"]), None)


def test_uploads_and_receipts_go_to_s3_when_a_bucket_is_set(tmp_path: Path) -> None:
    local = storage_from_settings(Settings(var_dir=tmp_path))
    assert isinstance(local, LocalStorage)
    fake = _FakeS3()
    s3 = storage_from_settings(Settings(var_dir=tmp_path, uploads_s3_bucket="tx"), s3_client=fake)
    assert isinstance(s3, S3Storage)
    receipts = ReceiptStorage(s3)
    from PIL import Image

    scan = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(scan, format="PNG")
    key = receipts.save(scan.getvalue(), "image/png")
    assert key.startswith("receipts/")
    assert ("tx", "uploads/" + key) in fake.objects
    content, content_type = receipts.load(key)
    assert content_type.startswith("image/")  # re-encoded without metadata
    assert content
    assert not list(tmp_path.rglob("receipts/*"))


def test_receipts_saved_before_keep_loading_from_the_local_directory(tmp_path: Path) -> None:
    """The old receipt storage wrote var/uploads/receipts/<32 hex>.<ext>: same keys, same place."""
    old = tmp_path / "receipts" / ("a" * 32 + ".png")
    old.parent.mkdir(parents=True)
    old.write_bytes(b"\x89PNG\r\n\x1a\nold")
    assert ReceiptStorage(LocalStorage(tmp_path)).load("receipts/" + old.name) == (
        b"\x89PNG\r\n\x1a\nold",
        "image/png",
    )
