"""Jinja2 set-up: i18n through the request's locale, formatting filters, page/fragment helper."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from backend.core.headers import csp_nonce
from backend.core.i18n import LOCALES, get_translations, render_params
from backend.core.security import current_locale, user_of
from backend.regions.service import bundled_names
from backend.web.landing import landing_for

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "frontend_templates"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _gettext(message: str, **params: Any) -> str:
    text = get_translations(current_locale.get()).gettext(message)
    return text % params if params else text


def _ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = get_translations(current_locale.get()).ngettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


def translate(message: str, **params: Any) -> str:
    """Translate a ``{name}``-style message id (services' error messages) for the request."""
    locale = current_locale.get()
    text = get_translations(locale).gettext(message)
    return text.format(**render_params(params, locale)) if params else text


def local_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC and shown in Asia/Shanghai."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return value.isoformat()


def fen(value: int | None) -> str:
    """Integer fen → "¥1,234.56" (no float arithmetic)."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    yuan, cents = divmod(abs(int(value)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def region_name(code: str | None) -> str:
    """A region code as people read it (西湖区 / Xihu District), never the bare code."""
    if not code:
        return ""
    zh, en = bundled_names().get(code, (code, code))
    return zh if current_locale.get() == "zh_CN" else en


def colon() -> str:
    """The colon after a label: full-width in Chinese (金额：), ": " in English."""
    return "：" if current_locale.get() == "zh_CN" else ": "


def _configure(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["translate"] = translate
    env.globals["LOCALES"] = LOCALES
    env.globals["csp_nonce"] = csp_nonce
    env.globals["colon"] = colon
    env.globals["landing_for"] = landing_for  # the header's "My work" link
    env.filters["local_datetime"] = local_datetime
    env.filters["local_date"] = local_date
    env.filters["fen"] = fen
    env.filters["region_name"] = region_name
    env.policies["ext.i18n.trimmed"] = True


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_configure
    )


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """The full page, or ``fragment`` when the request comes from htmx (and not boosted, and
    not htmx restoring a page for the back button, which replaces the whole body)."""
    name = (
        fragment
        if fragment
        and is_htmx(request)
        and not request.headers.get("hx-boosted")
        and not request.headers.get("hx-history-restore-request")
        else template
    )
    context.setdefault("current_user", user_of(request))
    context.setdefault("locale", current_locale.get())
    context.setdefault("path", request.url.path)
    context.setdefault("query", request.url.query or "")
    return Template(template_name=name, context=context, status_code=status_code)


def safe(html: str) -> Markup:
    return Markup(html)  # noqa: S704 - callers pass HTML they escaped themselves
