"""Search layer: one interface (`SearchEngine`), two engines (tantivy embedded, Meilisearch)."""

from backend.search.documents import (
    FACET_NAMES,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResults,
)
from backend.search.engine import SearchEngine, build_engine

__all__ = [
    "FACET_NAMES",
    "SearchDocument",
    "SearchEngine",
    "SearchHit",
    "SearchQuery",
    "SearchResults",
    "build_engine",
]
