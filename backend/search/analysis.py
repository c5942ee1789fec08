"""Text analysis shared by indexing, querying and highlighting.

Chinese is segmented with jieba (rjieba): documents in search mode (`cut_for_search`, which
also emits the shorter dictionary words inside long words, so "老人" finds "独居老人"),
queries in precise mode (`cut`). Latin text is lower-cased and stemmed with the Snowball
English stemmer that ships inside tantivy (no extra dependency). Punctuation is dropped.

jieba keeps dictionary words whole ("大米" is one token), so a single character ("米") or a
two-character piece of a longer word would find nothing through the words alone. Every run of
Chinese characters is therefore also indexed as character n-grams (`cjk_ngrams`: each
character and each pair of neighbours) in a separate field, and a query term of one or two
Chinese characters also matches there (`is_short_cjk`).

The tantivy engine indexes the whitespace-joined tokens with a plain whitespace tokenizer,
so index-time and query-time analysis are this module and nothing else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache

import rjieba
import tantivy

_WORD = re.compile(r"[^\W_]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTERS = re.compile(r"^[a-z\u00c0-\u024f]+$")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

_STEMMER = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)

MARK_OPEN = "<mark>"
MARK_CLOSE = "</mark>"


@lru_cache(maxsize=131072)
def stem(word: str) -> str:
    """Lower-cased Snowball (English) stem of one Latin word; other words lower-cased only."""
    lowered = word.lower()
    if not _LATIN_LETTERS.match(lowered):
        return lowered
    out: list[str] = _STEMMER.analyze(lowered)
    return out[0] if out else lowered


def _normalise(raw: str) -> list[str]:
    """Turn one jieba token into zero or more index terms."""
    if _CJK.search(raw):
        pieces = _WORD.findall(raw)
        if len(pieces) == 1:
            return [pieces[0].lower()]
        return [stem(p) for p in pieces]
    return [stem(p) for p in _WORD.findall(raw)]


def index_tokens(text: str) -> list[str]:
    """Terms of a document text, in order (overlapping sub-words included)."""
    out: list[str] = []
    for raw in rjieba.cut_for_search(text):
        out.extend(_normalise(raw))
    return out


def segment(text: str) -> str:
    """Whitespace-joined `index_tokens`; what the tantivy whitespace analyzer receives."""
    return " ".join(index_tokens(text))


def cjk_ngrams(text: str) -> list[str]:
    """Distinct unigrams and bigrams of every run of Chinese characters in `text`, in order
    of first occurrence ("买大米" → 买, 买大, 大, 大米, 米)."""
    seen: dict[str, None] = {}
    for run in _CJK_RUN.findall(text):
        for i, char in enumerate(run):
            seen.setdefault(char, None)
            if i + 1 < len(run):
                seen.setdefault(run[i : i + 2], None)
    return list(seen)


def ngram_segment(text: str) -> str:
    """Whitespace-joined `cjk_ngrams`: what the n-gram field receives."""
    return " ".join(cjk_ngrams(text))


def is_short_cjk(term: str) -> bool:
    """A query term the n-gram field can answer: one or two Chinese characters."""
    return len(term) <= 2 and all(_CJK.match(c) for c in term)


def query_tokens(text: str) -> list[str]:
    """Distinct terms of a query, in order. Every one of them must match."""
    seen: dict[str, None] = {}
    for raw in rjieba.cut(text):
        for tok in _normalise(raw):
            seen.setdefault(tok, None)
    return list(seen)


#: A run of word characters without CJK: the Latin (or digit) words jieba keeps whole.
_NON_CJK_RUN = re.compile(r"[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


class Highlighter:
    """Finds where the query's terms occur in result texts; built once per query.

    Chinese terms are marked wherever they occur in the text (a substring scan: the index's
    search-mode segmentation emits every dictionary word inside longer words, so an
    occurrence is, but for rare segmentation boundaries, exactly a matching token). Latin
    and digit words are marked when their stem is a term. No segmenter runs per result.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        wanted = set(terms)
        cjk = sorted((t for t in wanted if _CJK.search(t)), key=len, reverse=True)
        # A lookahead finds overlapping occurrences too ("志愿" and "愿者" in "志愿者").
        alternatives = "|".join(map(re.escape, cjk))
        self._cjk = re.compile(f"(?=({alternatives}))", re.IGNORECASE) if cjk else None
        self._other = wanted.difference(cjk)

    def ranges(self, text: str) -> list[tuple[int, int]]:
        """Merged [start, end) character ranges of `text` that match a term."""
        if not text:
            return []
        found: list[tuple[int, int]] = []
        if self._cjk is not None:
            found.extend(m.span(1) for m in self._cjk.finditer(text))
        if self._other:
            found.extend(
                m.span() for m in _NON_CJK_RUN.finditer(text) if stem(m.group()) in self._other
            )
        found.sort()
        merged: list[tuple[int, int]] = []
        for s, e in found:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return merged

    def __call__(self, text: str, max_chars: int | None = None) -> str:
        """Escaped HTML of `text` (or of a window of about `max_chars` around the first
        match) with the matches in <mark>."""
        ranges = self.ranges(text)
        if max_chars is None or len(text) <= max_chars:
            return render_marked(text, ranges)
        start = max(0, ranges[0][0] - max_chars // 4) if ranges else 0
        end = min(len(text), start + max_chars)
        start = max(0, min(start, end - max_chars))
        window = [
            (max(s, start) - start, min(e, end) - start) for s, e in ranges if s < end and e > start
        ]
        body = render_marked(text[start:end], window)
        return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def render_marked(text: str, ranges: list[tuple[int, int]]) -> str:
    """HTML-escape `text` and wrap `ranges` in <mark>."""
    parts: list[str] = []
    pos = 0
    for s, e in ranges:
        parts.append(html.escape(text[pos:s]))
        parts.append(MARK_OPEN + html.escape(text[s:e]) + MARK_CLOSE)
        pos = e
    parts.append(html.escape(text[pos:]))
    return "".join(parts)
