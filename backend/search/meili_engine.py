"""Production search engine: Meilisearch through `meilisearch_python_sdk.AsyncClient`.

Documents carry, beside the public fields, the same analysed terms as the tantivy engine
(`title_terms`, `body_terms`: jieba-segmented Chinese, stemmed English) and the query is
analysed the same way, so both engines agree on what matches. Filter and sort expressions
are built by pure functions (`build_filter`, `build_sort`) that the tests check exactly.
Highlighting is done locally with `analysis.Highlighter` (escaped, <mark>), like tantivy.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, Sequence
from datetime import date
from typing import Any

from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import MeilisearchApiError
from meilisearch_python_sdk.index import AsyncIndex
from meilisearch_python_sdk.models.settings import (
    Faceting,
    FilterableAttributes,
    MeilisearchSettings,
    Pagination,
)

from backend.search import analysis
from backend.search.documents import (
    MAX_REGION_DEPTH,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResults,
    created_ts,
    day_number,
    deadline_sort_key,
    pick_region_facet,
    urgency_sort_key,
)

SNIPPET_CHARS = 120
REGION_LEVEL_FIELDS = tuple(f"region_l{i}" for i in range(MAX_REGION_DEPTH))
FACET_ATTRIBUTES: tuple[str, ...] = ("kind", "category", "urgency", "state", "org_type")
SEARCHABLE_ATTRIBUTES = ["title_terms", "body_terms", "gram_terms"]
FILTERABLE_ATTRIBUTES: list[str | FilterableAttributes] = [
    *FACET_ATTRIBUTES,
    "lang",
    "region_codes",
    *REGION_LEVEL_FIELDS,
    "deadline_day",
]
SORTABLE_ATTRIBUTES = ["urgency_key", "deadline_sort", "created_ts"]
DISPLAYED_ATTRIBUTES = [
    "id",
    "kind",
    "title",
    "body",
    "category",
    "region_code",
    "deadline",
    "urgency",
    "amount_fen",
]
MAX_TOTAL_HITS = 1_000_000
MAX_VALUES_PER_FACET = 10_000
_TASK_TIMEOUT_MS = 120_000


def index_settings() -> MeilisearchSettings:
    return MeilisearchSettings(
        searchable_attributes=SEARCHABLE_ATTRIBUTES,
        filterable_attributes=FILTERABLE_ATTRIBUTES,
        sortable_attributes=SORTABLE_ATTRIBUTES,
        displayed_attributes=DISPLAYED_ATTRIBUTES,
        faceting=Faceting(max_values_per_facet=MAX_VALUES_PER_FACET),
        pagination=Pagination(max_total_hits=MAX_TOTAL_HITS),
    )


def to_meili_document(doc: SearchDocument) -> dict[str, Any]:
    """JSON document for Meilisearch. Optional facets are omitted rather than null."""
    out: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "body": doc.body,
        "category": doc.category,
        "state": doc.state,
        "lang": doc.lang,
        "region_codes": list(doc.region_codes),
        "region_name": doc.region_name,
        "org_name": doc.org_name,
        "title_terms": analysis.segment(doc.title),
        "body_terms": analysis.segment(
            " ".join(
                x for x in (doc.body, doc.org_name or "", doc.region_name, doc.category_label) if x
            )
        ),
        "gram_terms": analysis.ngram_segment(f"{doc.title} {doc.body} {doc.category_label}"),
        "region_code": doc.region_code,
        "amount_fen": doc.amount_fen,
        "deadline": None if doc.deadline is None else doc.deadline.isoformat(),
        "deadline_sort": deadline_sort_key(doc),
        "urgency_key": urgency_sort_key(doc),
        "created_ts": created_ts(doc),
    }
    for depth, code in enumerate(doc.region_codes):
        out[REGION_LEVEL_FIELDS[depth]] = code
    if doc.urgency is not None:
        out["urgency"] = doc.urgency
    if doc.org_type is not None:
        out["org_type"] = doc.org_type
    if doc.deadline is not None:
        out["deadline_day"] = day_number(doc.deadline)
    return out


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter(q: SearchQuery) -> list[str | list[str]]:
    """Meilisearch filter: a list of expressions that must all hold (empty: no filter)."""
    out: list[str | list[str]] = []
    for attr, values in (
        ("kind", q.kinds),
        ("category", q.categories),
        ("urgency", q.urgencies),
        ("state", q.states),
        ("org_type", q.org_types),
    ):
        if values:
            out.append(f"{attr} IN [{', '.join(_quote(v) for v in values)}]")
    if q.region_code is not None:
        out.append(f"region_codes = {_quote(q.region_code)}")
    if q.deadline_from is not None:
        out.append(f"deadline_day >= {day_number(q.deadline_from)}")
    if q.deadline_to is not None:
        out.append(f"deadline_day <= {day_number(q.deadline_to)}")
    return out


def build_sort(q: SearchQuery) -> list[str]:
    """Meilisearch sort; empty means ranking by relevance."""
    has_text = bool(analysis.query_tokens(q.text)) if q.text.strip() else False
    if q.sort == "urgency":
        return ["urgency_key:desc"]
    if q.sort == "deadline":
        return ["deadline_sort:asc"]
    if q.sort == "newest" or not has_text:
        return ["created_ts:desc"]
    return []


def facet_attributes(q: SearchQuery) -> list[str]:
    regions = REGION_LEVEL_FIELDS if q.region_code is not None else REGION_LEVEL_FIELDS[:1]
    return [*FACET_ATTRIBUTES, *regions]


class MeiliEngine:
    """`SearchEngine` on a Meilisearch index named `<index_prefix>_listings`."""

    def __init__(self, url: str, api_key: str | None, *, index_prefix: str = "tongxin") -> None:
        self._client = AsyncClient(url, api_key)
        self.uid = f"{index_prefix}_listings"
        self._index: AsyncIndex | None = None

    async def _ready(self) -> AsyncIndex:
        if self._index is None:
            index = await self._client.get_or_create_index(self.uid, primary_key="id")
            await self._wait(await index.update_settings(index_settings()))
            self._index = index
        return self._index

    async def _wait(self, task: Any) -> None:
        await self._client.wait_for_task(
            task.task_uid, timeout_in_ms=_TASK_TIMEOUT_MS, raise_for_status=True
        )

    async def upsert(self, docs: Sequence[SearchDocument]) -> None:
        if not docs:
            return
        index = await self._ready()
        payload = [to_meili_document(d) for d in docs]
        tasks = await index.add_documents_in_batches(payload, batch_size=5000, primary_key="id")
        for task in tasks:
            await self._wait(task)

    async def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        index = await self._ready()
        await self._wait(await index.delete_documents(list(ids)))

    async def clear(self) -> None:
        index = await self._ready()
        await self._wait(await index.delete_all_documents())

    async def rebuild(self, batches: AsyncIterable[Sequence[SearchDocument]]) -> int:
        """Build a fresh index beside the live one, then swap them atomically."""
        live = await self._ready()
        tmp_uid = f"{self.uid}_rebuild"
        with contextlib.suppress(MeilisearchApiError):
            await self._client.delete_index_if_exists(tmp_uid)  # a leftover of a failed run
        tmp = await self._client.create_index(tmp_uid, primary_key="id")
        await self._wait(await tmp.update_settings(index_settings()))
        count = 0
        async for batch in batches:
            if batch:
                payload = [to_meili_document(d) for d in batch]
                for task in await tmp.add_documents_in_batches(
                    payload, batch_size=5000, primary_key="id"
                ):
                    await self._wait(task)
                count += len(batch)
        await self._wait(await self._client.swap_indexes([(live.uid, tmp_uid)]))
        await self._client.delete_index_if_exists(tmp_uid)
        self._index = None  # the swapped-in index answers to self.uid
        return count

    async def get_ids(self) -> set[str]:
        index = await self._ready()
        out: set[str] = set()
        offset, limit = 0, 10_000
        while True:
            page = await index.get_documents(offset=offset, limit=limit, fields=["id"])
            out.update(str(d["id"]) for d in page.results)
            offset += limit
            if offset >= page.total or not page.results:
                return out

    async def search(self, q: SearchQuery) -> SearchResults:
        index = await self._ready()
        terms = analysis.query_tokens(q.text) if q.text.strip() else []
        if q.text.strip() and not terms:
            return SearchResults(hits=(), total=0, page=q.page, per_page=q.per_page, facets={})
        facets = facet_attributes(q) if q.with_facets else None
        sort = build_sort(q)
        res = await index.search(
            " ".join(terms) or None,
            filter=build_filter(q) or None,
            sort=sort or None,
            facets=facets,
            page=q.page,
            hits_per_page=q.per_page,
            matching_strategy="all",
            show_ranking_score=True,
            attributes_to_retrieve=DISPLAYED_ATTRIBUTES,
        )
        mark = analysis.Highlighter(terms)
        hits = tuple(
            SearchHit(
                id=str(h["id"]),
                kind=str(h["kind"]),
                title=str(h["title"]),
                title_html=mark(str(h["title"])),
                snippet_html=mark(str(h["body"]), SNIPPET_CHARS),
                score=float(h.get("_rankingScore", 0.0)) if not sort else 0.0,
                category=str(h.get("category") or ""),
                region_code=str(h.get("region_code") or ""),
                deadline=date.fromisoformat(h["deadline"]) if h.get("deadline") else None,
                urgency=h.get("urgency") or None,
                amount_fen=int(h["amount_fen"]) if h.get("amount_fen") is not None else None,
            )
            for h in res.hits
        )
        out_facets: dict[str, dict[str, int]] = {}
        if facets is not None:
            dist: dict[str, dict[str, int]] = res.facet_distribution or {}
            out_facets = {name: dict(dist.get(name, {})) for name in FACET_ATTRIBUTES}
            levels = [dict(dist.get(f, {})) for f in facets if f.startswith("region_l")]
            out_facets["region"] = pick_region_facet(levels, q.region_code)
        return SearchResults(
            hits=hits,
            total=int(res.total_hits or 0),
            page=q.page,
            per_page=q.per_page,
            facets=out_facets,
        )

    async def close(self) -> None:
        await self._client.aclose()
