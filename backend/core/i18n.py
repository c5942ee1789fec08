"""Translations: Babel catalogs under frontend_templates/translations (zh_CN default, en).

Message ids are English. Catalogs are compiled in memory at start-up from the .po files, so
no compiled .mo file is ever committed. Code marks strings with ``N_`` (extracted, translated
later at render time) or translates directly with ``gettext`` when the locale is known.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

if TYPE_CHECKING:
    from backend.config import Settings

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "frontend_templates" / "translations"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class Terms(tuple[str, ...]):
    """Message ids passed as one parameter of an error message (``flags=Terms(...)``): each is
    translated where the message is shown and they are joined the locale's way (、 or , )."""

    __slots__ = ()

    def render(self, translations: NullTranslations, locale: str) -> str:
        sep = "、" if locale == "zh_CN" else ", "
        return sep.join(translations.gettext(term) for term in self)


def catalog_files(locale: str) -> list[Path]:
    """``messages.po`` first, then one ``<domain>.po`` per domain (each domain owns its file)."""
    folder = TRANSLATIONS_DIR / locale / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))


@lru_cache(maxsize=len(LOCALES))
def get_translations(locale: str) -> NullTranslations:
    """All of a locale's .po files merged (the first translation of a msgid wins)."""
    files = catalog_files(locale)
    if not files:
        return NullTranslations()
    merged = None
    for po_path in files:
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if (
                message.id
                and message.string
                and not (merged.get(message.id) and merged[message.id].string)
            ):
                merged[message.id] = message
    assert merged is not None
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(buffer)


def render_params(params: dict[str, object], locale: str) -> dict[str, object]:
    """Parameters ready for ``str.format``: ``Terms`` translated into ``locale``."""
    translations = get_translations(locale)
    return {
        k: v.render(translations, locale) if isinstance(v, Terms) else v for k, v in params.items()
    }


def gettext(message: str, locale: str, **params: object) -> str:
    text = get_translations(locale).gettext(message)
    return text.format(**render_params(params, locale)) if params else text


def default_locale(settings: Settings) -> str:
    """``TONGXIN_DEFAULT_LOCALE`` (zh_CN or en): the language of a visitor whose browser asks
    for neither; anything else falls back to zh_CN."""
    return normalize_locale(settings.default_locale) or DEFAULT_LOCALE


def negotiate(accept_language: str | None, *, default: str = DEFAULT_LOCALE) -> str:
    """Pick zh_CN or en from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return default
    choices: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        tag = lang.strip().lower().replace("_", "-")
        if tag.startswith("zh"):
            choices.append((weight, "zh_CN"))
        elif tag.startswith("en"):
            choices.append((weight, "en"))
    if not choices:
        return default
    return max(choices, key=lambda c: c[0])[1]


def normalize_locale(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.replace("-", "_")
    if value.lower().startswith("zh"):
        return "zh_CN"
    if value.lower().startswith("en"):
        return "en"
    return None
