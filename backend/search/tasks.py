"""arq jobs of the search layer: the nightly full rebuild (catches time-based lapses, such as
a household's verification running out, that no event announces)."""

from __future__ import annotations

from backend.search import service
from backend.search.provider import engine_of
from jobs.context import JobCtx, runtime


async def reindex_search(ctx: JobCtx) -> int:
    rt = runtime(ctx)
    async with rt.transaction() as session:
        return await service.rebuild(session, engine_of(rt.services))
