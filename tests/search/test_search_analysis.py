"""Highlighting: `analysis.Highlighter` against the segmenter's own token spans."""

from __future__ import annotations

import re

import rjieba
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backend.search import analysis
from backend.search.analysis import Highlighter

_WORDS = [
    "独居老人",
    "老人",
    "困难家庭",
    "留守儿童",
    "送米面油",
    "助学金",
    "住房改造",
    "志愿者",
    "上门",
    "Deliveries",
    "delivering",
    "children",
    "Heating",
    "2024",
    "，",
    "。",
    " ",
    "<b>",
    "&",
]


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """(term, start, end) of every index term, from search-mode segmentation."""
    out: list[tuple[str, int, int]] = []
    for raw, start, _end in rjieba.tokenize(text, mode="search"):
        for m in re.finditer(r"[^\W_]+", raw):
            piece = m.group()
            term = piece.lower() if re.search(r"[\u4e00-\u9fff]", piece) else analysis.stem(piece)
            out.append((term, start + m.start(), start + m.end()))
    return out


def test_marks_chinese_sub_words_and_english_stems() -> None:
    mark = Highlighter(analysis.query_tokens("老人 delivery"))
    assert mark("为独居老人送餐 Deliveries weekly") == (
        "为独居<mark>老人</mark>送餐 <mark>Deliveries</mark> weekly"
    )


def test_escapes_and_windows_long_text() -> None:
    mark = Highlighter(["米面"])
    text = "<script>x</script>" + "甲" * 200 + "送米面油 & more" + "乙" * 200
    html = mark(text, 60)
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>米面</mark>油 &amp; more" in html
    assert "<script>" not in mark(text)
    assert "&lt;script&gt;" in mark(text)


def test_no_terms_marks_nothing() -> None:
    assert Highlighter([])("独居老人 <x>") == "独居老人 &lt;x&gt;"


@settings(max_examples=300, deadline=None)
@example(parts=["志愿者"], picks=[0, 1])  # overlapping terms: "志愿" and "愿者"
@given(
    parts=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12),
    picks=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=3),
)
def test_every_matching_token_is_marked_and_every_mark_matches(
    parts: list[str], picks: list[int]
) -> None:
    text = "".join(parts)
    spans = token_spans(text)
    if not spans:
        return
    terms = {spans[i % len(spans)][0] for i in picks}
    ranges = Highlighter(terms).ranges(text)
    for term, s, e in spans:
        if term in terms:
            assert any(rs <= s and e <= re_ for rs, re_ in ranges), (term, text, ranges)
    for rs, re_ in ranges:
        marked = text[rs:re_].lower()
        assert any(t in marked or analysis.stem(marked) == t for t in terms), (marked, terms)
