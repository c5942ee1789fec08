"""Keep the index equal to the database's public projection: by id, or all at once."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.core.i18n import N_
from backend.search import repository as projections
from backend.search.documents import KINDS, SearchDocument, SearchQuery, SearchResults
from backend.search.engine import SearchEngine

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]


async def sync_ids(
    session: AsyncSession, engine: SearchEngine, kind: str, ids: Iterable[uuid.UUID]
) -> tuple[int, int]:
    """Upsert the public ones among ``ids``, delete the others; idempotent.

    Returns (upserted, deleted)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return 0, 0
    docs = await projections.documents_for(session, kind, wanted)
    public = {d.id for d in docs}
    gone = [str(i) for i in wanted if str(i) not in public]
    await engine.upsert(docs)
    await engine.delete(gone)
    return len(docs), len(gone)


async def all_documents(
    session: AsyncSession, progress: Progress | None = None
) -> AsyncIterator[list[SearchDocument]]:
    for kind in KINDS:
        count = 0
        async for batch in projections.iter_documents(session, kind):
            count += len(batch)
            if progress is not None:
                progress(kind, count)
            yield batch


async def rebuild(
    session: AsyncSession, engine: SearchEngine, progress: Progress | None = None
) -> int:
    """Replace the whole index with the database's public projection; readers see the old
    index until the new one is complete. Returns the number of documents indexed."""
    count = await engine.rebuild(all_documents(session, progress))
    log.info("search index rebuilt: %d documents", count)
    return count


class SearchUnavailable(DomainError):
    status_code = 503
    code = "search_unavailable"


async def search(engine: SearchEngine, q: SearchQuery) -> SearchResults:
    """Run ``q``; an engine that cannot answer (Meilisearch down, index unreadable) → 503."""
    try:
        return await engine.search(q)
    except Exception as exc:  # any engine failure is the same outage to users
        log.warning("search engine failed: %s: %s", type(exc).__name__, exc)
        raise SearchUnavailable(
            N_("Search is unavailable at the moment. Please try again in a few minutes.")
        ) from exc
