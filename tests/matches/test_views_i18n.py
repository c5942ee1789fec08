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
        [i18n.IN_AREA_LEVEL, {"level": "county"}],
        [i18n.SCORE, {"score": 61.5}],
        [
            i18n.KIND_SUBSTITUTE,
            {
                "offer_kind": {"zh": "助行器", "en": "Walking frame"},
                "need_kind": {"zh": "拐杖", "en": "Crutches"},
            },
        ],
        ["not a msgid", "bad"],
        "junk",
    ]
    token = current_locale.set("zh_CN")
    try:
        first, second, third = explain_lines(items)[:3]
        assert "县（区）级" in first
        assert "服务" in first
        assert third == "助行器可替代所需的拐杖"
        assert "61.5" in second
        assert "得分" in second
    finally:
        current_locale.reset(token)
    token = current_locale.set("en")
    try:
        lines = explain_lines(items)
        assert lines[0] == "Inside the offer's service area (county level)"
        assert lines[2] == "Walking frame may stand in for the Crutches asked for"
    finally:
        current_locale.reset(token)
