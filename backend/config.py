"""Settings from the environment (prefix ``TONGXIN_``), read once through :func:`get_settings`.

Nothing here connects to anything or reads key files at import time; keys are loaded by
:func:`backend.core.keys.load_keys` when the app, the CLI or the worker starts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Environment = Literal["development", "test", "production"]


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"TONGXIN_{name}")
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class OIDCProviderSettings:
    """One OpenID Connect identity provider (see docs/operations.md)."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    label: str = ""
    organization_id: str | None = None
    role: str | None = None
    trusted: bool = False
    claims: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Every setting of the app. docs/operations.md lists them in one table."""

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None
    db_pool_size: int = 10
    secret_key: str | None = None
    encryption_keys: str | None = None
    audit_key: str | None = None
    id_hash_key: str | None = None
    search_engine: Literal["tantivy", "meili"] = "tantivy"
    meili_url: str | None = None
    meili_api_key: str | None = None
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    k_anonymity: int = 5
    default_locale: str = "zh_CN"
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 5
    login_window_minutes: int = 15
    login_lockout_minutes: int = 15
    outbox_sweep_after_seconds: int = 300
    public_cache_seconds: int = 300  # anonymous public pages cached in Redis; 0 turns it off
    pledge_expiry_days: int = 14
    run_worker_in_process: bool = True
    load_demo_data: bool = True
    secure_cookies: bool | None = None
    log_level: str = "INFO"
    oidc_providers: tuple[OIDCProviderSettings, ...] = ()

    @property
    def cookies_secure(self) -> bool:
        """Secure cookies everywhere except plain-http localhost, unless set explicitly."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return not (
            self.base_url.startswith("http://127.0.0.1")
            or self.base_url.startswith("http://localhost")
        )

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_secret_key and self.stripe_webhook_secret)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        port = int(_env("PORT", "8000") or 8000)
        host = _env("HOST", "127.0.0.1") or "127.0.0.1"
        values: dict[str, Any] = {
            "environment": _env("ENV", "development"),
            "host": host,
            "port": port,
            "base_url": _env("BASE_URL", f"http://{host}:{port}"),
            "var_dir": Path(_env("VAR_DIR", "var") or "var").resolve(),
            "database_url": _env("DATABASE_URL"),
            "redis_url": _env("REDIS_URL"),
            "db_pool_size": int(_env("DB_POOL_SIZE", "10") or 10),
            "secret_key": _env("SECRET_KEY"),
            "encryption_keys": _env("ENCRYPTION_KEYS"),
            "audit_key": _env("AUDIT_KEY"),
            "id_hash_key": _env("ID_HASH_KEY"),
            "search_engine": _env("SEARCH_ENGINE", "tantivy"),
            "meili_url": _env("MEILI_URL"),
            "meili_api_key": _env("MEILI_API_KEY"),
            "stripe_secret_key": _env("STRIPE_SECRET_KEY"),
            "stripe_webhook_secret": _env("STRIPE_WEBHOOK_SECRET"),
            "k_anonymity": int(_env("K_ANONYMITY", "5") or 5),
            "default_locale": _env("DEFAULT_LOCALE", "zh_CN"),
            "session_idle_minutes": int(_env("SESSION_IDLE_MINUTES", "30") or 30),
            "session_absolute_hours": int(_env("SESSION_ABSOLUTE_HOURS", "12") or 12),
            "login_max_failures": int(_env("LOGIN_MAX_FAILURES", "5") or 5),
            "login_window_minutes": int(_env("LOGIN_WINDOW_MINUTES", "15") or 15),
            "login_lockout_minutes": int(_env("LOGIN_LOCKOUT_MINUTES", "15") or 15),
            "outbox_sweep_after_seconds": int(_env("OUTBOX_SWEEP_AFTER_SECONDS", "300") or 300),
            "public_cache_seconds": int(_env("PUBLIC_CACHE_SECONDS", "300") or 0),
            "pledge_expiry_days": int(_env("PLEDGE_EXPIRY_DAYS", "14") or 14),
            "run_worker_in_process": _bool("WORKER_IN_PROCESS", True),
            "load_demo_data": _bool("LOAD_DEMO_DATA", True),
            "secure_cookies": None
            if _env("SECURE_COOKIES") is None
            else _bool("SECURE_COOKIES", True),
            "log_level": _env("LOG_LEVEL", "INFO"),
            "oidc_providers": tuple(
                OIDCProviderSettings(**p) for p in json.loads(_env("OIDC_PROVIDERS", "[]") or "[]")
            ),
        }
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values.update(overrides)
        return cls(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
