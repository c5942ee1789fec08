"""The catalogs follow docs/glossary.md: every glossary row whose English term is a message id
translates to the row's Chinese term, the household PIN is always 密码, and Chinese messages use
full-width punctuation next to Chinese characters."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from backend.core.i18n import catalog_files, get_translations

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"
CJK = r"[\u3400-\u9fff]"
ASCII_PUNCT = re.compile(rf"{CJK}\s?[,;:?!()]|[,;:?!()]\s?{CJK}")
# Messages that show ASCII punctuation on purpose (syntax the user must type).
PUNCT_EXEMPT = {"Unit=factor in the base unit, separated by ;, e.g. 斤=1;kg=2 or 件=1;套=1."}


def glossary_rows() -> list[tuple[str, str]]:
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("zh_CN", "---") and not cells[0].startswith("-"):
            rows.append((cells[0], cells[1]))
    return rows


def zh_messages() -> list[tuple[str, str, str]]:
    out = []
    for path in catalog_files("zh_CN"):
        with path.open("rb") as handle:
            for m in read_po(handle):
                if not m.id:
                    continue
                ids = m.id if isinstance(m.id, tuple) else (m.id,)
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                out += [(path.name, str(ids[0]), str(s)) for s in strings if s]
    return out


def test_the_glossary_has_rows() -> None:
    assert len(glossary_rows()) > 40


def test_catalogs_follow_the_glossary() -> None:
    zh = get_translations("zh_CN")
    known = {msgid for _, msgid, _ in zh_messages()}
    wrong = [
        f"{en!r} shows {zh.gettext(en)!r}, glossary says {term!r}"
        for term, en in glossary_rows()
        if en in known and zh.gettext(en) != term
    ]
    assert not wrong, "\n".join(wrong)


def test_one_translation_per_msgid() -> None:
    """A msgid translated differently in two files shows whichever file sorts first."""
    first: dict[str, tuple[str, str]] = {}
    clashes = []
    glossary = {en for _, en in glossary_rows()}
    for name, msgid, text in zh_messages():
        if msgid in first and first[msgid][1] != text and msgid in glossary:
            clashes.append(f"{msgid!r}: {first[msgid]} vs ({name}, {text!r})")
        first.setdefault(msgid, (name, text))
    assert not clashes, "\n".join(clashes)


def test_household_pin_is_mima() -> None:
    bad = [(n, i) for n, i, s in zh_messages() if "PIN码" in s or "PIN 码" in s]
    assert not bad, bad


def test_chinese_punctuation_is_full_width() -> None:
    bad = [
        f"{name}: {text!r}"
        for name, msgid, text in zh_messages()
        if msgid not in PUNCT_EXEMPT and ASCII_PUNCT.search(text)
    ]
    assert not bad, "\n".join(bad)
