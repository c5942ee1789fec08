"""The one search interface and the factory that picks an implementation."""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from backend.search.documents import SearchDocument, SearchQuery, SearchResults


@runtime_checkable
class SearchEngine(Protocol):
    """A search index over `SearchDocument`s. The database stays the source of truth."""

    async def upsert(self, docs: Sequence[SearchDocument]) -> None:
        """Insert or replace (by id) the given documents; visible to `search` on return."""
        ...

    async def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""
        ...

    async def clear(self) -> None:
        """Remove every document."""
        ...

    async def rebuild(self, batches: AsyncIterable[Sequence[SearchDocument]]) -> int:
        """Replace every document with ``batches`` (a full reindex); searches see the old
        documents until the new set is complete. Returns the number of documents."""
        ...

    async def search(self, q: SearchQuery) -> SearchResults: ...

    async def get_ids(self) -> set[str]:
        """Every indexed id, for consistency checks against the database."""
        ...

    async def close(self) -> None: ...


def build_engine(
    kind: str,
    *,
    index_dir: Path | None,
    meili_url: str | None,
    meili_api_key: str | None,
    index_prefix: str = "tongxin",
) -> SearchEngine:
    """`kind` is "tantivy" (embedded, needs `index_dir`) or "meilisearch" (needs `meili_url`)."""
    if kind == "tantivy":
        if index_dir is None:
            raise ValueError("the tantivy engine needs index_dir")
        from backend.search.tantivy_engine import TantivyEngine

        return TantivyEngine(index_dir)
    if kind in ("meilisearch", "meili"):
        if not meili_url:
            raise ValueError("the meilisearch engine needs meili_url")
        from backend.search.meili_engine import MeiliEngine

        return MeiliEngine(meili_url, meili_api_key, index_prefix=index_prefix)
    raise ValueError(f"unknown search engine {kind!r} (expected 'tantivy' or 'meilisearch')")
