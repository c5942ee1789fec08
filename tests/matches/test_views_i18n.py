"""Explanations are rendered in the reader's language through the gettext catalogs."""

from __future__ import annotations

import re

from backend.core.i18n import get_translations
from backend.core.security import current_locale
from backend.matches.views import explain_lines
from matching import i18n


def test_every_engine_msgid_has_chinese() -> None:
    zh = get_translations("zh_CN")
    for msgid in [*i18n.ZH]:
        translated = zh.gettext(msgid)
        assert translated != msgid, msgid
        assert any("\u4e00" <= c <= "\u9fff" for c in translated), msgid
        # the same placeholders survive the translation
        assert sorted(re.findall(r"{(\w+)}", translated)) == sorted(
            re.findall(r"{(\w+)}", msgid)
        ), msgid


def test_explain_lines_in_both_languages() -> None:
    items = [
        [i18n.IN_AREA, {"level": "county", "code": "330106"}],
        [i18n.SCORE, {"score": 61.5}],
        ["not a msgid", "bad"],
        "junk",
    ]
    token = current_locale.set("zh_CN")
    try:
        first, second = explain_lines(items)[:2]
        assert "330106" in first
        assert "服务" in first
        assert "61.5" in second
        assert "得分" in second
    finally:
        current_locale.reset(token)
    token = current_locale.set("en")
    try:
        assert (
            explain_lines(items)[0] == "In the offer's service area at county level (region 330106)"
        )
    finally:
        current_locale.reset(token)
