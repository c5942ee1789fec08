"""Every message id in the code and the templates has a Simplified Chinese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from backend.core.i18n import get_translations

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"N_": None, "_": None, "gettext": None, "ngettext": (1, 2)}
METHODS = [("**.py", "python"), ("**.html", "jinja2")]
OPTIONS = {
    "**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true", "newstyle_gettext": "true"}
}


def _msgids() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in ("backend", "matching", "jobs", "frontend_templates"):
        for filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, METHODS, keywords=KEYWORDS, options_map=OPTIONS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, f"{folder}/{filename}")
    return found


def test_every_message_is_translated_to_chinese() -> None:
    translations = get_translations("zh_CN")
    msgids = _msgids()
    assert len(msgids) > 100
    missing = [
        f"{where}: {msgid!r}"
        for msgid, where in sorted(msgids.items(), key=lambda kv: kv[1])
        if any(c.isascii() and c.islower() for c in msgid)  # "PDF", "CSV" stay as they are
        and translations.gettext(msgid) == msgid
    ]
    assert not missing, "untranslated (add them to your domain's .po):\n" + "\n".join(missing)


def test_english_falls_back_to_the_msgid() -> None:
    assert get_translations("en").gettext("Not found") == "Not found"
    assert get_translations("zh_CN").gettext("Not found") != "Not found"
