"""arq job: generate a region's quarterly 幸福清单 PDFs (argument: the batch id only)."""

from __future__ import annotations

from backend.core.storage import get_storage
from backend.fulfilment.lists import run_batch
from jobs.context import JobCtx, runtime


async def generate_quarterly_lists(ctx: JobCtx, batch_id: str) -> int:
    rt = runtime(ctx)
    return await run_batch(rt, batch_id, get_storage(rt.services))
