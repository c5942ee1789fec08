"""Behaviour every SearchEngine must have (tantivy always, Meilisearch when configured)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from search_testdata import corpus

from backend.search import SearchDocument, SearchEngine, SearchQuery, SearchResults
from backend.search.documents import URGENCY_RANK, deadline_sort_key

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def doc(n: int, title: str, body: str = "", **kw: object) -> SearchDocument:
    base: dict[str, object] = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "kind": "need",
        "title": title,
        "body": body,
        "category": "food",
        "region_codes": ("330000", "330100", "330106"),
        "region_name": "西湖区",
        "urgency": "normal",
        "state": "published",
        "org_type": None,
        "org_name": None,
        "deadline": None,
        "created_at": T0 + timedelta(hours=n),
        "lang": "zh",
    }
    base.update(kw)
    return SearchDocument(**base)  # type: ignore[arg-type]


SMALL = [
    doc(
        1,
        "为独居老人送米面油",
        "社区志愿者每周上门",
        urgency="emergency",
        deadline=date(2025, 4, 1),
    ),
    doc(
        2,
        "困难学生助学",
        "资助两名高中生的学费",
        category="education",
        kind="project",
        region_codes=("330000", "330100", "330102"),
        region_name="上城区",
        urgency="high",
        org_type="charity",
        org_name="同心慈善基金",
        deadline=date(2025, 5, 1),
    ),
    doc(
        3,
        "Volunteers deliver rice to elderly residents",
        "We deliver every Friday.",
        lang="en",
        kind="task",
        region_codes=("330000", "330200", "330203"),
        region_name="Haishu",
        state="in_progress",
        org_type="volunteer_team",
    ),
    doc(
        4,
        "暖巢更新：老人住房改造",
        "防滑扶手、照明改造",
        category="housing",
        kind="project",
        region_codes=("330000", "330100", "330106", "330106001"),
        region_name="北山街道",
        urgency=None,
        state="fundraising",
        org_type="union",
        deadline=date(2025, 3, 15),
    ),
    doc(
        5,
        "冬季取暖物资",
        "棉被和电热毯",
        category="goods",
        kind="resource",
        region_codes=("320000", "320100", "320102"),
        region_name="玄武区",
        org_type="company",
    ),
]


async def ids(engine: SearchEngine, **kw: object) -> list[str]:
    res = await engine.search(SearchQuery(per_page=100, **kw))  # type: ignore[arg-type]
    return [h.id for h in res.hits]


def n_of(ids_: list[str]) -> set[int]:
    return {int(i[-12:]) for i in ids_}


async def test_chinese_keywords(engine: SearchEngine) -> None:
    await engine.upsert(SMALL)
    assert n_of(await ids(engine, text="老人")) == {1, 4}
    assert n_of(await ids(engine, text="独居老人")) == {1}
    assert n_of(await ids(engine, text="助学")) == {2}
    assert n_of(await ids(engine, text="老人 助学")) == set()  # every term must match
    assert n_of(await ids(engine, text="暖巢更新")) == {4}
    assert n_of(await ids(engine, text="同心慈善基金")) == {2}  # organization name is searchable
    assert await ids(engine, text="，。！") == []


async def test_english_keywords_are_stemmed_and_case_folded(engine: SearchEngine) -> None:
    await engine.upsert(SMALL)
    assert n_of(await ids(engine, text="delivering")) == {3}
    assert n_of(await ids(engine, text="DELIVERS Volunteer")) == {3}
    assert n_of(await ids(engine, text="rice, elderly!")) == {3}
    assert await ids(engine, text="bicycle") == []


async def test_relevance_prefers_title_matches(engine: SearchEngine) -> None:
    body_only = doc(10, "冬季物资", "其中一部分给老人")
    await engine.upsert([*SMALL, body_only])
    res = await engine.search(SearchQuery(text="老人"))
    assert n_of([h.id for h in res.hits]) == {1, 4, 10}
    assert int(res.hits[-1].id[-12:]) == 10
    assert all(h.score > 0 for h in res.hits)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kinds": ("project",)}, {2, 4}),
        ({"kinds": ("project", "task")}, {2, 3, 4}),
        ({"categories": ("education", "goods")}, {2, 5}),
        ({"urgencies": ("emergency", "high")}, {1, 2}),
        ({"states": ("fundraising",)}, {4}),
        ({"org_types": ("charity", "union")}, {2, 4}),
        ({"deadline_from": date(2025, 3, 20)}, {1, 2}),
        ({"deadline_to": date(2025, 4, 1)}, {1, 4}),
        ({"deadline_from": date(2025, 3, 15), "deadline_to": date(2025, 3, 15)}, {4}),
        ({"region_code": "330000"}, {1, 2, 3, 4}),
        ({"region_code": "330100"}, {1, 2, 4}),
        ({"region_code": "330106"}, {1, 4}),
        ({"region_code": "330106001"}, {4}),
        ({"region_code": "330200"}, {3}),
        ({"region_code": "110000"}, set()),
        ({"kinds": ("project",), "region_code": "330106", "text": "老人"}, {4}),
    ],
)
async def test_filters(
    engine: SearchEngine, filters: dict[str, object], expected: set[int]
) -> None:
    await engine.upsert(SMALL)
    assert n_of(await ids(engine, **filters)) == expected


def brute_force(docs: list[SearchDocument], q: SearchQuery) -> list[SearchDocument]:
    def ok(d: SearchDocument) -> bool:
        return (
            (not q.kinds or d.kind in q.kinds)
            and (not q.categories or d.category in q.categories)
            and (not q.urgencies or d.urgency in q.urgencies)
            and (not q.states or d.state in q.states)
            and (not q.org_types or d.org_type in q.org_types)
            and (q.region_code is None or q.region_code in d.region_codes)
            and (
                q.deadline_from is None
                or (d.deadline is not None and d.deadline >= q.deadline_from)
            )
            and (q.deadline_to is None or (d.deadline is not None and d.deadline <= q.deadline_to))
        )

    return [d for d in docs if ok(d)]


def expected_facets(matched: list[SearchDocument], region: str | None) -> dict[str, dict[str, int]]:
    def count(values: list[str | None]) -> dict[str, int]:
        return dict(Counter(v for v in values if v is not None))

    def child(d: SearchDocument) -> str | None:
        if region is None:
            return d.region_codes[0]
        i = d.region_codes.index(region)
        return d.region_codes[i + 1] if i + 1 < len(d.region_codes) else None

    return {
        "kind": count([d.kind for d in matched]),
        "category": count([d.category for d in matched]),
        "urgency": count([d.urgency for d in matched]),
        "state": count([d.state for d in matched]),
        "org_type": count([d.org_type for d in matched]),
        "region": count([child(d) for d in matched]),
    }


async def test_filters_and_facets_match_brute_force(engine: SearchEngine) -> None:
    docs = corpus(400, seed=11)
    await engine.upsert(docs)
    rng = random.Random(5)
    regions = ["330000", "330100", "330106", "330106001", "330200", "320000", None, None]
    for _ in range(60):
        q = SearchQuery(
            kinds=tuple(rng.sample(["need", "resource", "project", "task"], rng.randrange(3))),
            categories=tuple(
                rng.sample(["food", "education", "housing", "medical"], rng.randrange(3))
            ),
            urgencies=tuple(rng.sample(["emergency", "high", "normal"], rng.randrange(2))),
            states=tuple(rng.sample(["published", "reserved", "in_progress"], rng.randrange(3))),
            org_types=tuple(rng.sample(["charity", "union", "company"], rng.randrange(2))),
            region_code=rng.choice(regions),
            deadline_from=rng.choice([None, date(2025, 3, 1)]),
            deadline_to=rng.choice([None, date(2025, 9, 1)]),
            per_page=100,
            sort="newest",
        )
        matched = brute_force(docs, q)
        res = await engine.search(q)
        assert res.total == len(matched), q
        want_ids = [d.id for d in sorted(matched, key=lambda d: d.created_at, reverse=True)]
        assert [h.id for h in res.hits] == want_ids[:100]
        assert res.facets == expected_facets(matched, q.region_code), q


async def test_region_facet_levels(engine: SearchEngine) -> None:
    await engine.upsert(SMALL)
    top = await engine.search(SearchQuery())
    assert top.facets["region"] == {"330000": 4, "320000": 1}
    assert (await engine.search(SearchQuery(region_code="330000"))).facets["region"] == {
        "330100": 3,
        "330200": 1,
    }
    assert (await engine.search(SearchQuery(region_code="330106"))).facets["region"] == {
        "330106001": 1
    }
    assert (await engine.search(SearchQuery(region_code="330106001"))).facets["region"] == {}
    assert (await engine.search(SearchQuery(kinds=("task",)))).facets["kind"] == {"task": 1}


async def test_sorts(engine: SearchEngine) -> None:
    docs = corpus(120, seed=3)
    await engine.upsert(docs)
    by_id = {d.id: d for d in docs}

    async def order(sort: str) -> list[SearchDocument]:
        res = await engine.search(SearchQuery(sort=sort, per_page=100))  # type: ignore[arg-type]
        return [by_id[h.id] for h in res.hits]

    newest = await order("newest")
    assert newest == sorted(docs, key=lambda d: d.created_at, reverse=True)[:100]
    urgency = await order("urgency")
    keys = [(URGENCY_RANK.get(d.urgency or "", 0), d.created_at) for d in urgency]
    assert keys == sorted(keys, reverse=True)
    assert keys[0][0] == 3
    deadline = await order("deadline")
    dkeys = [deadline_sort_key(d) for d in deadline]
    assert dkeys == sorted(dkeys)
    assert deadline[0].deadline == min(d.deadline for d in docs if d.deadline is not None)
    # relevance without text falls back to newest
    assert await order("relevance") == newest


async def test_pagination(engine: SearchEngine) -> None:
    docs = corpus(47, seed=9)
    await engine.upsert(docs)
    seen: list[str] = []
    for page in range(1, 7):
        res = await engine.search(SearchQuery(sort="newest", page=page, per_page=10))
        assert (res.total, res.page, res.per_page) == (47, page, 10)
        assert len(res.hits) == max(0, min(10, 47 - (page - 1) * 10))
        seen.extend(h.id for h in res.hits)
    assert len(seen) == len(set(seen)) == 47
    assert set(seen) == {d.id for d in docs}


async def test_highlights_are_escaped(engine: SearchEngine) -> None:
    evil = doc(
        20, "<script>alert(1)</script>送米面油", 'body <img src=x onerror="x"> 米面油 & more'
    )
    await engine.upsert([evil])
    res: SearchResults = await engine.search(SearchQuery(text="米面"))
    (hit,) = res.hits
    assert hit.title == evil.title  # plain text, escaped by templates
    assert "<script>" not in hit.title_html
    assert hit.title_html.startswith("&lt;script&gt;alert(1)&lt;/script&gt;送<mark>米面</mark>")
    assert "<img" not in hit.snippet_html
    assert "&lt;img src=x onerror=&quot;x&quot;&gt;" in hit.snippet_html
    assert "<mark>米面</mark>油 &amp; more" in hit.snippet_html
    stripped = hit.snippet_html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped
    assert ">" not in stripped


async def test_upsert_replaces_and_delete_removes(engine: SearchEngine) -> None:
    await engine.upsert(SMALL)
    first = SMALL[0]
    await engine.upsert([replace(first, title="为残疾人送轮椅", urgency="high")])
    assert await ids(engine, text="独居") == []
    assert await ids(engine, text="轮椅") == [first.id]
    assert (await engine.search(SearchQuery())).total == len(SMALL)
    assert await engine.get_ids() == {d.id for d in SMALL}
    await engine.delete([first.id, "00000000-0000-4000-8000-999999999999"])
    assert await ids(engine, text="轮椅") == []
    assert await engine.get_ids() == {d.id for d in SMALL[1:]}
    res = await engine.search(SearchQuery())
    assert res.total == len(SMALL) - 1
    assert res.facets["urgency"] == {"high": 1, "normal": 2}


async def test_clear(engine: SearchEngine) -> None:
    await engine.upsert(SMALL)
    await engine.clear()
    assert await engine.get_ids() == set()
    res = await engine.search(SearchQuery(text="老人"))
    assert (res.total, res.hits) == (0, ())
    await engine.upsert(SMALL[:1])
    assert await engine.get_ids() == {SMALL[0].id}
