"""Message bodies in the recipient's language: one short text (in-app, SMS), and an e-mail
with a plain-text and an HTML part rendered from frontend_templates/notifications/email/."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.core.i18n import LOCALES, get_translations
from backend.core.i18n import gettext as _gettext
from backend.core.templating import TEMPLATES_DIR
from backend.notifications.messages import GROUP_LABELS, MESSAGES


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    short: str  # in-app / SMS text


def text_of(kind: str, locale: str, params: dict[str, Any]) -> str:
    msgid = MESSAGES.get(kind)
    if msgid is None:
        return kind
    clean = {k: ("" if v is None else v) for k, v in params.items()}
    try:
        return _gettext(msgid, locale, **clean)
    except (KeyError, IndexError, ValueError):
        return _gettext(msgid, locale).split("{", 1)[0]


@lru_cache(maxsize=len(LOCALES))
def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(get_translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.policies["ext.i18n.trimmed"] = True
    return env


def email(
    *,
    kind: str,
    group: str,
    locale: str,
    params: dict[str, Any],
    base_url: str,
    link: str = "",
    action_url: str = "",
    display_name: str = "",
    lines: list[str] | None = None,
) -> Rendered:
    """``link`` is a path on the site; ``action_url`` a full one-time URL (account mails)."""
    locale = locale if locale in LOCALES else "zh_CN"
    short = text_of(kind, locale, params)
    label = _gettext(GROUP_LABELS.get(group, "Tongxin"), locale)
    subject = f"{_gettext('Tongxin', locale)} · {label}"
    context = {
        "locale": locale,
        "text": short,
        "url": action_url or (base_url.rstrip("/") + link if link else ""),
        "one_time": bool(action_url),
        "settings_url": base_url.rstrip("/") + "/notifications/settings",
        "display_name": display_name,
        "subject": subject,
        "lines": lines or [],
    }
    env = _environment(locale)
    return Rendered(
        subject=subject,
        text=env.get_template("notifications/email/message.txt").render(context),
        html=env.get_template("notifications/email/message.html").render(context),
        short=short,
    )


def sms(kind: str, locale: str, params: dict[str, Any]) -> str:
    locale = locale if locale in LOCALES else "zh_CN"
    return f"【{_gettext('Tongxin', locale)}】{text_of(kind, locale, params)}"[:300]
