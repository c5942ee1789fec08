"""Embedded search engine: a tantivy index on local disk, jieba-segmented Chinese.

Text is analysed in Python (`analysis.py`) and indexed through a whitespace tokenizer, so
queries are built from term queries over exactly the same tokens. Facets are exact terms
aggregations over raw-tokenized fast fields. All tantivy calls are synchronous and run in a
worker thread; writes are serialised by a lock and the searcher is reloaded after commits.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import AsyncIterable, Callable, Sequence
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
    pick_region_facet,
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
#: Bumped whenever the schema or the analysis changes; a mismatching index is rebuilt empty.
SCHEMA_VERSION = "1"


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=False, tokenizer_name="raw", index_option="basic")
    for name in ("kind", "category", "urgency", "state", "org_type", "lang"):
        sb.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("region_codes", tokenizer_name="raw", index_option="basic")
    for name in _REGION_LEVEL_FIELDS:
        sb.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("title_t", tokenizer_name=WS_ANALYZER, index_option="freq")
    sb.add_text_field("body_t", tokenizer_name=WS_ANALYZER, index_option="freq")
    sb.add_integer_field("deadline_day", indexed=True, fast=True)
    sb.add_integer_field("deadline_sort", fast=True)
    sb.add_integer_field("urgency_key", fast=True)
    sb.add_integer_field("created_ts", indexed=True, fast=True)
    sb.add_bytes_field("payload", stored=True)
    return sb.build()


def _ws_analyzer() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def to_tantivy_document(doc: SearchDocument) -> tantivy.Document:
    """Map one public document to a tantivy document (segmentation happens here)."""
    d = tantivy.Document()
    d.add_text("id", doc.id)
    d.add_text("kind", doc.kind)
    d.add_text("category", doc.category)
    d.add_text("state", doc.state)
    d.add_text("lang", doc.lang)
    if doc.urgency is not None:
        d.add_text("urgency", doc.urgency)
    if doc.org_type is not None:
        d.add_text("org_type", doc.org_type)
    for depth, code in enumerate(doc.region_codes):
        d.add_text("region_codes", code)
        d.add_text(_REGION_LEVEL_FIELDS[depth], code)
    d.add_text("title_t", analysis.segment(doc.title))
    extra = " ".join(x for x in (doc.body, doc.org_name or "", doc.region_name) if x)
    d.add_text("body_t", analysis.segment(extra))
    if doc.deadline is not None:
        d.add_integer("deadline_day", day_number(doc.deadline))
    d.add_integer("deadline_sort", deadline_sort_key(doc))
    d.add_integer("urgency_key", urgency_sort_key(doc))
    d.add_integer("created_ts", created_ts(doc))
    payload = {"id": doc.id, "kind": doc.kind, "title": doc.title, "body": doc.body}
    d.add_bytes("payload", json.dumps(payload, ensure_ascii=False).encode())
    return d


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
        self._dir.mkdir(parents=True, exist_ok=True)
        marker = self._dir / "tongxin-schema-version"
        if marker.exists() and marker.read_text() != SCHEMA_VERSION:
            shutil.rmtree(self._dir)
            self._dir.mkdir(parents=True)
        reuse = (self._dir / "meta.json").exists()
        index = tantivy.Index(self._schema, path=str(self._dir), reuse=reuse)
        marker.write_text(SCHEMA_VERSION)
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
        schema = self._schema
        q_ = tantivy.Query
        must, should = tantivy.Occur.Must, tantivy.Occur.Should
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        terms = analysis.query_tokens(q.text) if q.text.strip() else []
        for term in terms:
            either = q_.boolean_query(
                [
                    (should, q_.boost_query(q_.term_query(schema, "title_t", term), TITLE_BOOST)),
                    (should, q_.term_query(schema, "body_t", term)),
                ]
            )
            clauses.append((must, either))
        filters: list[tantivy.Query] = []
        for fname, values in (
            ("kind", q.kinds),
            ("category", q.categories),
            ("urgency", q.urgencies),
            ("state", q.states),
            ("org_type", q.org_types),
        ):
            if values:
                filters.append(q_.term_set_query(schema, fname, list(values)))
        if q.region_code is not None:
            filters.append(q_.term_query(schema, "region_codes", q.region_code))
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
            return q_.empty_query(), terms
        if not clauses:
            return q_.all_query(), terms
        return q_.boolean_query(clauses), terms

    def search_sync(self, q: SearchQuery) -> SearchResults:
        searcher = self._current_searcher()
        query, terms = self.build_query(q)
        kwargs: dict[str, Any] = {"limit": q.per_page, "offset": q.offset, "count": True}
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
        hits: list[SearchHit] = []
        for key, addr in result.hits:
            p = _payload(searcher, addr)
            hits.append(
                SearchHit(
                    id=p["id"],
                    kind=p["kind"],
                    title=p["title"],
                    title_html=analysis.highlight(p["title"], terms),
                    snippet_html=analysis.highlight(p["body"], terms, SNIPPET_CHARS),
                    score=float(key) if sort == "relevance" else 0.0,
                )
            )
        # `count` exists at runtime but is missing from the bundled stub.
        total = int(getattr(result, "count", 0) or 0)
        facets = self._facets(searcher, query, q) if q.with_facets else {}
        return SearchResults(
            hits=tuple(hits), total=total, page=q.page, per_page=q.per_page, facets=facets
        )

    def _facets(
        self, searcher: tantivy.Searcher, query: tantivy.Query, q: SearchQuery
    ) -> dict[str, dict[str, int]]:
        aggs: dict[str, Any] = {
            name: {"terms": {"field": field, "size": _FACET_SIZE}} for name, field in _FACET_FIELDS
        }
        if q.region_code is None:
            region_fields: tuple[str, ...] = _REGION_LEVEL_FIELDS[:1]
        else:
            region_fields = _REGION_LEVEL_FIELDS
        for field in region_fields:
            aggs[field] = {"terms": {"field": field, "size": _FACET_SIZE}}
        raw = searcher.aggregate(query, aggs)

        def buckets(name: str) -> dict[str, int]:
            return {str(b["key"]): int(b["doc_count"]) for b in raw[name]["buckets"]}

        facets = {name: buckets(name) for name, _ in _FACET_FIELDS}
        facets["region"] = pick_region_facet([buckets(f) for f in region_fields], q.region_code)
        return facets

    async def search(self, q: SearchQuery) -> SearchResults:
        return await asyncio.to_thread(self.search_sync, q)


def _prepare_all(docs: Sequence[SearchDocument]) -> list[tantivy.Document]:
    return [to_tantivy_document(d) for d in docs]


def _add_all(writer: tantivy.IndexWriter, docs: list[tantivy.Document]) -> None:
    for d in docs:
        writer.add_document(d)


def _payload(searcher: tantivy.Searcher, addr: tantivy.DocAddress) -> dict[str, str]:
    raw = searcher.doc(addr).get_first("payload")
    assert isinstance(raw, bytes | bytearray | list), "payload is stored for every document"
    data: dict[str, str] = json.loads(bytes(raw))
    return data
