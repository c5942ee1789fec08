"""Chinese recall: every dictionary word of a templated corpus, engine vs substring scan."""

from __future__ import annotations

import re

import rjieba
from search_testdata import corpus

from backend.search import SearchEngine, SearchQuery

_CJK = re.compile(r"[\u4e00-\u9fff]")


async def test_chinese_recall_against_substring_scan(engine: SearchEngine) -> None:
    docs = corpus(300, seed=21)
    await engine.upsert(docs)
    texts = {d.id: f"{d.title}\n{d.body}" for d in docs}
    words = sorted(
        {w for t in texts.values() for w in rjieba.cut(t) if len(w) >= 2 and _CJK.search(w)}
    )
    assert len(words) > 40
    found = relevant = 0
    misses: dict[str, int] = {}
    for word in words:
        expected = {i for i, t in texts.items() if word in t}
        res = await engine.search(SearchQuery(text=word, per_page=100, with_facets=False))
        got: set[str] = set()
        page = 1
        while True:
            got.update(h.id for h in res.hits)
            if page * 100 >= res.total:
                break
            page += 1
            res = await engine.search(
                SearchQuery(text=word, page=page, per_page=100, with_facets=False)
            )
        hit = len(expected & got)
        found += hit
        relevant += len(expected)
        if hit < len(expected):
            misses[word] = len(expected) - hit
    recall = found / relevant
    assert recall >= 0.99, (recall, misses)
