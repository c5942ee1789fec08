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
from typing import Any, Literal, get_args, get_type_hints

Environment = Literal["development", "test", "production"]


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"TONGXIN_{name}")
    return value if value not in (None, "") else default


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
    # arq: the job queue's Redis key, and how long a job may run. A worker that dies (SIGKILL,
    # power) leaves its jobs "in progress" for job_timeout + 10 s; another worker retakes them then.
    queue_name: str = "tongxin:queue"
    job_timeout_seconds: int = 300
    outbox_retention_days: int = 30
    audit_retention_months: int = 0  # 0 = forever; otherwise at least 6 (enforced in SQL too)
    public_cache_seconds: int = 300  # anonymous public pages cached in Redis; 0 turns it off
    pledge_expiry_days: int = 14
    report_ack_working_days: int = 1
    report_answer_working_days: int = 5
    report_limit_per_hour: int = 5
    holidays: str = ""
    makeup_workdays: str = ""
    # The caseworker office phone printed on the 幸福码 card: one number, or per region code
    # prefix "330106=0571-8765 4321,331022=0576-8331 2345,*=12345" (longest prefix wins).
    caseworker_phone: str = "12345"
    run_worker_in_process: bool = True
    load_demo_data: bool = False  # a development setting: on in `make run`, off in the image
    allow_demo_accounts: bool = False  # let a production start go on with demo accounts present
    secure_cookies: bool | None = None
    log_level: str = "INFO"
    oidc_providers: tuple[OIDCProviderSettings, ...] = ()
    # Uploaded photos and receipts go to this S3-compatible bucket when it is set (boto3 must
    # then be installed); otherwise to var_dir/uploads.
    uploads_s3_bucket: str | None = None
    uploads_s3_endpoint: str | None = None
    # notifications (docs/notifications.md): e-mail, SMS and deadline thresholds
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_from: str = "Tongxin <noreply@localhost>"
    sms_provider: Literal["", "aliyun"] = ""
    sms_access_key_id: str | None = None
    sms_access_key_secret: str | None = None
    sms_sign_name: str = ""
    sms_template_code: str = ""
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    review_sla_emergency_hours: int = 4
    review_sla_high_hours: int = 24
    review_sla_normal_hours: int = 72
    review_warn_percent: int = 75
    delivery_confirm_days: int = 7
    project_update_warn_days: int = 75
    project_update_overdue_days: int = 90
    pledge_expiry_warn_hours: int = 48
    verification_warn_days: int = 30
    visit_overdue_days: int = 7
    password_reset_minutes: int = 30
    email_verify_hours: int = 48
    password_reset_per_hour: int = 5

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

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Every field from ``TONGXIN_<FIELD NAME>`` (a few shorter names in ``ENV_NAMES``);
        an unset or empty variable keeps the field's default above, written once."""
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = _env(ENV_NAMES.get(f.name, f.name.upper()))
            if raw is not None:
                values[f.name] = _parse(f.name, hints[f.name], raw)
        if "base_url" not in values:
            host = values.get("host", cls.host)
            values["base_url"] = f"http://{host}:{values.get('port', cls.port)}"
        values["var_dir"] = Path(values.get("var_dir", cls.var_dir)).resolve()
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values.update(overrides)
        return cls(**values)


# Environment names that are not simply TONGXIN_<FIELD NAME>.
ENV_NAMES = {"environment": "ENV", "run_worker_in_process": "WORKER_IN_PROCESS"}


def _parse(name: str, kind: Any, raw: str) -> Any:
    """One environment value as the field's type."""
    if name == "oidc_providers":
        return tuple(OIDCProviderSettings(**p) for p in json.loads(raw))
    base = {a for a in get_args(kind) if a is not type(None)} or {kind}
    if bool in base:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if int in base:
        return int(raw)
    if Path in base:
        return Path(raw)
    return raw


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
