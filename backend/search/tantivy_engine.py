"""Embedded search engine: a tantivy index on local disk, jieba-segmented Chinese.

Text is analysed in Python (`analysis.py`) and indexed through a whitespace tokenizer, so
queries are built from term queries over exactly the same tokens. Facets are exact terms
aggregations over raw-tokenized fast fields. All tantivy calls are synchronous and run in a
worker thread; writes are serialised by a lock and the searcher is reloaded after commits.

Speed (see `benchmarks/search.py`): filters are term queries (posting lists intersect by
skipping; a term-set query would scan every posting of the value into a bitset); a region is
filtered on, and its facet aggregated over, one hierarchy-level field found with `doc_freq`;
and the facet aggregation runs on a second thread while the page is fetched and highlighted
(tantivy releases the GIL). With facets the total comes from the facet pass (every document
has exactly one kind), so the page query skips counting.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import AsyncIterable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import tantivy

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
    urgency_sort_key,
)

WS_ANALYZER = "tx_ws"
SNIPPET_CHARS = 120
TITLE_BOOST = 2.0
_FACET_FIELDS: tuple[tuple[str, str], ...] = (
    ("kind", "kind"),
    ("category", "category"),
    ("urgency", "urgency"),
    ("state", "state"),
    ("org_type", "org_type"),
)
_REGION_LEVEL_FIELDS = tuple(f"region_l{i}" for i in range(MAX_REGION_DEPTH))
_FACET_SIZE = 65535
_WRITER_HEAP = 256 * 1024 * 1024
#: Seconds to wait for another process's writer to release the index directory.
_LOCK_WAIT = 30.0
#: Facet aggregations run here, beside the thread that fetches and highlights the page.
_FACET_POOL = ThreadPoolExecutor(
    max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="tantivy-facets"
)
#: Bumped whenever the schema or the analysis changes; a mismatching index is rebuilt empty.
SCHEMA_VERSION = "3"
#: The file in the index directory that names the schema version the index was built with.
_MARKER = "tongxin-schema-version"
#: Indexed where a small facet field has no value (no urgency, no organization type): a column
#: with a value in every document aggregates about twice as fast as one with gaps. Never a real
#: value (those are lower-case words), never a facet bucket, never matched by a filter.
_MISSING = "_"


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=False, tokenizer_name="raw", index_option="basic")
    for name in ("kind", "category", "urgency", "state", "org_type"):
        sb.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    for name in _REGION_LEVEL_FIELDS:
        sb.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("title_t", tokenizer_name=WS_ANALYZER, index_option="freq")
    sb.add_text_field("body_t", tokenizer_name=WS_ANALYZER, index_option="freq")
    # Chinese character unigrams and bigrams of the title, body and category names: a query
    # term of one or two characters ("米") matches here although jieba kept "大米" whole.
    sb.add_text_field("gram_t", tokenizer_name=WS_ANALYZER, index_option="basic")
    sb.add_integer_field("deadline_day", indexed=True, fast=True)
    sb.add_integer_field("deadline_sort", fast=True)
    sb.add_integer_field("urgency_key", fast=True)
    sb.add_integer_field("created_ts", fast=True)
    sb.add_bytes_field("payload", stored=True)
    return sb.build()


def _ws_analyzer() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


#: Separates the stored id, kind, title, body and the result line's fields (category, region
#: code, deadline, urgency, amount): cheaper than JSON on a reindex, and a NUL never occurs in
#: their text (PostgreSQL text cannot hold one; `SearchDocument` refuses it).
_PAYLOAD_SEP = "\x00"
_PAYLOAD_KEYS = (
    "id", "kind", "title", "body", "category", "region_code", "deadline", "urgency", "amount"
)  # fmt: skip


@lru_cache(maxsize=8192)
def _segment_name(name: str) -> str:
    """Organization and region names repeat across many documents: segment each once."""
    return analysis.segment(name)


def to_tantivy_document(doc: SearchDocument) -> tantivy.Document:
    """Map one public document to a tantivy document (segmentation happens here).

    Built in one constructor call: a reindex spends most of its time here, and each
    `add_*` call is a crossing into Rust."""
    names = " ".join(
        _segment_name(x) for x in (doc.org_name, doc.region_name, doc.category_label) if x
    )
    fields: dict[str, Any] = dict(zip(_REGION_LEVEL_FIELDS, doc.region_codes, strict=False))
    if doc.deadline is not None:
        fields["deadline_day"] = day_number(doc.deadline)
    return tantivy.Document(
        id=doc.id,
        kind=doc.kind,
        category=doc.category,
        state=doc.state,
        urgency=doc.urgency or _MISSING,
        org_type=doc.org_type or _MISSING,
        title_t=analysis.segment(doc.title),
        body_t=f"{analysis.segment(doc.body)} {names}",
        gram_t=analysis.ngram_segment(f"{doc.title} {doc.body} {doc.category_label}"),
        deadline_sort=deadline_sort_key(doc),
        urgency_key=urgency_sort_key(doc),
        created_ts=created_ts(doc),
        payload=_PAYLOAD_SEP.join(
            (
                doc.id,
                doc.kind,
                doc.title,
                doc.body,
                doc.category,
                doc.region_code,
                doc.deadline.isoformat() if doc.deadline else "",
                doc.urgency or "",
                "" if doc.amount_fen is None else str(doc.amount_fen),
            )
        ).encode(),
        **fields,
    )


def index_is_current(index_dir: Path) -> bool:
    """Whether `index_dir` holds an index of this `SCHEMA_VERSION` (else opening it starts
    an empty one, which `tongxin run` then fills from the database)."""
    marker = Path(index_dir) / _MARKER
    return (
        (Path(index_dir) / "meta.json").exists()
        and marker.exists()
        and marker.read_text() == SCHEMA_VERSION
    )


class TantivyEngine:
    """`SearchEngine` on a tantivy index stored under `index_dir`."""

    def __init__(self, index_dir: Path, *, writer_threads: int = 0) -> None:
        self._dir = Path(index_dir)
        self._schema = build_schema()
        self._index = self._open_index()
        self._index.register_tokenizer(WS_ANALYZER, _ws_analyzer())
        self._writer_threads = writer_threads
        self._write_lock = threading.Lock()
        self._meta = self._dir / "meta.json"
        self._meta_stamp = self._stamp()
        self._searcher = self._index.searcher()
        self._closed = False

    def _open_index(self) -> tantivy.Index:
        reuse = (self._dir / "meta.json").exists()
        if reuse and not index_is_current(self._dir):
            shutil.rmtree(self._dir)
            reuse = False
        self._dir.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(self._schema, path=str(self._dir), reuse=reuse)
        (self._dir / _MARKER).write_text(SCHEMA_VERSION)
        return index

    def _stamp(self) -> tuple[int, int]:
        try:
            st = self._meta.stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_mtime_ns, st.st_size)

    def _current_searcher(self) -> tantivy.Searcher:
        """The searcher, reloaded when any engine on this directory committed (the app, the
        worker and ``tongxin reindex`` each open the index; a stat per search notices)."""
        stamp = self._stamp()
        if stamp != self._meta_stamp:
            self._index.reload()
            self._searcher = self._index.searcher()
            self._meta_stamp = stamp
        return self._searcher

    # ---- writes (serialised) -------------------------------------------------------------
    #
    # The writer holds tantivy's directory lock, so it is opened per write and released after
    # the commit: several processes (app, worker, CLI) may then write in turn. Another holder
    # is waited for up to _LOCK_WAIT seconds.

    def _open_writer(self) -> tantivy.IndexWriter:
        deadline = time.monotonic() + _LOCK_WAIT
        while True:
            try:
                return self._index.writer(_WRITER_HEAP, self._writer_threads)
            except ValueError as exc:
                if "LockBusy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _write(self, work: Callable[[tantivy.IndexWriter], None]) -> None:
        with self._write_lock:
            writer = self._open_writer()
            try:
                work(writer)
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # releases the directory lock
            self._index.reload()
            self._searcher = self._index.searcher()
            self._meta_stamp = self._stamp()

    def upsert_sync(self, docs: Sequence[SearchDocument]) -> None:
        prepared = [to_tantivy_document(doc) for doc in docs]  # analysis outside the lock

        def work(writer: tantivy.IndexWriter) -> None:
            for doc, tdoc in zip(docs, prepared, strict=True):
                writer.delete_documents_by_term("id", doc.id)
                writer.add_document(tdoc)

        self._write(work)

    def delete_sync(self, ids: Sequence[str]) -> None:
        def work(writer: tantivy.IndexWriter) -> None:
            for doc_id in ids:
                writer.delete_documents_by_term("id", doc_id)

        self._write(work)

    def clear_sync(self) -> None:
        self._write(lambda writer: writer.delete_all_documents())

    async def upsert(self, docs: Sequence[SearchDocument]) -> None:
        if docs:
            await asyncio.to_thread(self.upsert_sync, docs)

    async def delete(self, ids: Sequence[str]) -> None:
        if ids:
            await asyncio.to_thread(self.delete_sync, ids)

    async def clear(self) -> None:
        await asyncio.to_thread(self.clear_sync)

    async def rebuild(self, batches: AsyncIterable[Sequence[SearchDocument]]) -> int:
        """Replace every document in one commit: no per-document delete (the index is emptied
        first, inside the same commit), readers keep the old index until the commit."""
        with self._write_lock:
            writer = await asyncio.to_thread(self._open_writer)
            count = 0
            try:
                writer.delete_all_documents()
                async for batch in batches:
                    prepared = await asyncio.to_thread(_prepare_all, batch)
                    await asyncio.to_thread(_add_all, writer, prepared)
                    count += len(prepared)
                await asyncio.to_thread(writer.commit)
            except BaseException:
                writer.rollback()
                raise
            finally:
                await asyncio.to_thread(writer.wait_merging_threads)
            self._index.reload()
            self._searcher = self._index.searcher()
            self._meta_stamp = self._stamp()
        return count

    async def close(self) -> None:
        self._closed = True

    # ---- reads ---------------------------------------------------------------------------

    def get_ids_sync(self) -> set[str]:
        searcher = self._current_searcher()
        n = searcher.num_docs
        if n == 0:
            return set()
        result = searcher.search(tantivy.Query.all_query(), limit=n, count=False)
        return {_payload(searcher, addr)["id"] for _score, addr in result.hits}

    async def get_ids(self) -> set[str]:
        return await asyncio.to_thread(self.get_ids_sync)

    def build_query(self, q: SearchQuery) -> tuple[tantivy.Query, list[str]]:
        """The tantivy query for `q`, and the analysed text terms (for highlighting)."""
        query, terms, _level = self._plan(q, self._current_searcher())
        return query, terms

    def _plan(
        self, q: SearchQuery, searcher: tantivy.Searcher
    ) -> tuple[tantivy.Query, list[str], int | None]:
        """`build_query`, plus the filtered region's hierarchy level (None: no region filter,
        or no document has that region)."""
        schema = self._schema
        level = None if q.region_code is None else _region_level(searcher, q.region_code)
        q_ = tantivy.Query
        must, should = tantivy.Occur.Must, tantivy.Occur.Should
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        terms = analysis.query_tokens(q.text) if q.text.strip() else []
        text_queries = [
            q_.boolean_query(
                [
                    (should, q_.boost_query(q_.term_query(schema, "title_t", term), TITLE_BOOST)),
                    (should, q_.term_query(schema, "body_t", term)),
                    *(
                        [(should, q_.term_query(schema, "gram_t", term))]
                        if analysis.is_short_cjk(term)
                        else []
                    ),
                ]
            )
            for term in terms
        ]
        clauses.extend((must, tq) for tq in text_queries)
        filters: list[tantivy.Query] = []
        for fname, values in (
            ("kind", q.kinds),
            ("category", q.categories),
            ("urgency", q.urgencies),
            ("state", q.states),
            ("org_type", q.org_types),
        ):
            if values:
                filters.append(_any_of(schema, fname, values))
        if q.region_code is not None:
            filters.append(
                q_.empty_query()
                if level is None
                else q_.term_query(schema, _REGION_LEVEL_FIELDS[level], q.region_code)
            )
        if q.deadline_from is not None or q.deadline_to is not None:
            filters.append(
                q_.range_query(
                    schema,
                    "deadline_day",
                    tantivy.FieldType.Integer,
                    None if q.deadline_from is None else day_number(q.deadline_from),
                    None if q.deadline_to is None else day_number(q.deadline_to),
                )
            )
        clauses.extend((must, q_.const_score_query(f, 0.0)) for f in filters)
        if q.text.strip() and not terms:  # only punctuation: nothing can match
            return q_.empty_query(), terms, level
        if not clauses:
            return q_.all_query(), terms, level
        if len(clauses) == 1 and text_queries:
            return text_queries[0], terms, level  # a bare disjunction scores the same, faster
        return q_.boolean_query(clauses), terms, level

    def search_sync(self, q: SearchQuery) -> SearchResults:
        searcher = self._current_searcher()
        query, terms, level = self._plan(q, searcher)
        facets_job = (
            _FACET_POOL.submit(_facets, searcher, query, _region_facet_field(q.region_code, level))
            if q.with_facets
            else None
        )
        kwargs: dict[str, Any] = {
            "limit": q.per_page,
            "offset": q.offset,
            "count": facets_job is None,
        }
        sort = q.sort
        if sort == "relevance" and not terms:
            sort = "newest"
        if sort == "newest":
            kwargs.update(order_by_field="created_ts", order=tantivy.Order.Desc)
        elif sort == "urgency":
            kwargs.update(order_by_field="urgency_key", order=tantivy.Order.Desc)
        elif sort == "deadline":
            kwargs.update(order_by_field="deadline_sort", order=tantivy.Order.Asc)
        result = searcher.search(query, **kwargs)
        mark = analysis.Highlighter(terms)
        hits: list[SearchHit] = []
        for key, addr in result.hits:
            p = _payload(searcher, addr)
            hits.append(
                SearchHit(
                    id=p["id"],
                    kind=p["kind"],
                    title=p["title"],
                    title_html=mark(p["title"]),
                    snippet_html=mark(p["body"], SNIPPET_CHARS),
                    score=float(key) if sort == "relevance" else 0.0,
                    category=p["category"],
                    region_code=p["region_code"],
                    deadline=date.fromisoformat(p["deadline"]) if p["deadline"] else None,
                    urgency=p["urgency"] or None,
                    amount_fen=int(p["amount"]) if p["amount"] else None,
                )
            )
        facets = facets_job.result() if facets_job is not None else {}
        if facets_job is None:
            # `count` exists at runtime but is missing from the bundled stub.
            total = int(getattr(result, "count", 0) or 0)
        else:
            total = sum(facets["kind"].values())  # every document has exactly one kind
        return SearchResults(
            hits=tuple(hits), total=total, page=q.page, per_page=q.per_page, facets=facets
        )

    async def search(self, q: SearchQuery) -> SearchResults:
        return await asyncio.to_thread(self.search_sync, q)


def _any_of(schema: tantivy.Schema, field: str, values: Sequence[str]) -> tantivy.Query:
    """`field` is one of `values`: a term query, or a disjunction of them."""
    values = [v for v in values if v != _MISSING]
    if not values:
        return tantivy.Query.empty_query()
    if len(values) == 1:
        return tantivy.Query.term_query(schema, field, values[0])
    should = tantivy.Occur.Should
    return tantivy.Query.boolean_query(
        [(should, tantivy.Query.term_query(schema, field, v)) for v in values]
    )


def _region_level(searcher: tantivy.Searcher, region_code: str) -> int | None:
    """The hierarchy level of a region code (0 = province), None when no document has it.
    A code sits at one level in every document; `doc_freq` finds it without a search."""
    for level, field in enumerate(_REGION_LEVEL_FIELDS):
        if searcher.doc_freq(field, region_code):
            return level
    return None


def _region_facet_field(region_code: str | None, level: int | None) -> str | None:
    """The region-level field whose values are the facet: the top level without a filter,
    else the level below the filtered region's (None for a leaf or an unknown code)."""
    if region_code is None:
        return _REGION_LEVEL_FIELDS[0]
    if level is None or level + 1 >= len(_REGION_LEVEL_FIELDS):
        return None
    return _REGION_LEVEL_FIELDS[level + 1]


def _facets(
    searcher: tantivy.Searcher, query: tantivy.Query, region_field: str | None
) -> dict[str, dict[str, int]]:
    """Counts per facet value over every match of `query` (one aggregation pass)."""
    aggs: dict[str, Any] = {
        name: {"terms": {"field": field, "size": _FACET_SIZE}} for name, field in _FACET_FIELDS
    }
    if region_field is not None:
        aggs["region"] = {"terms": {"field": region_field, "size": _FACET_SIZE}}
    raw = searcher.aggregate(query, aggs)

    def buckets(name: str) -> dict[str, int]:
        return {
            str(b["key"]): int(b["doc_count"]) for b in raw[name]["buckets"] if b["key"] != _MISSING
        }

    facets = {name: buckets(name) for name, _ in _FACET_FIELDS}
    facets["region"] = buckets("region") if region_field is not None else {}
    return facets


def _prepare_all(docs: Sequence[SearchDocument]) -> list[tantivy.Document]:
    return [to_tantivy_document(d) for d in docs]


def _add_all(writer: tantivy.IndexWriter, docs: list[tantivy.Document]) -> None:
    for d in docs:
        writer.add_document(d)


def _payload(searcher: tantivy.Searcher, addr: tantivy.DocAddress) -> dict[str, str]:
    """The stored id, kind, title, body and result-line fields of a hit."""
    raw = searcher.doc(addr).get_first("payload")
    assert isinstance(raw, bytes | bytearray | list), "payload is stored for every document"
    values = bytes(raw).decode().split(_PAYLOAD_SEP, len(_PAYLOAD_KEYS) - 1)
    return dict(zip(_PAYLOAD_KEYS, values, strict=True))
