"""Quarterly 幸福清单 in bulk: a caseworker starts a batch for a region, an arq job renders one
PDF per household and reports progress in Redis; the page polls it (htmx).

The batch record in Redis and the job's arguments hold ids, codes and counts only.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.audit.service import Actor, record
from backend.core.db import add_after_commit, utcnow
from backend.core.errors import Invalid, NotFound
from backend.core.i18n import N_
from backend.core.queue import JobQueue
from backend.core.repository import get_by_id
from backend.core.storage import Storage
from backend.fulfilment import repository as repo
from backend.fulfilment import service
from backend.fulfilment.models import QuarterlyList
from backend.fulfilment.pdf import ListPage, render_combined_pdf, render_pdf
from backend.households import service as households
from backend.outbox.service import emit
from backend.regions.models import Region

log = logging.getLogger(__name__)
BATCH_TTL = 7 * 24 * 3600
JOB = "generate_quarterly_lists"


def _key(batch_id: uuid.UUID | str) -> str:
    return f"qlist:batch:{batch_id}"


@dataclass(frozen=True)
class BatchStatus:
    batch_id: uuid.UUID
    region_code: str
    quarter: str
    total: int
    done: int
    failed: int
    state: str  # queued | running | done

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.done * 100 // self.total)


async def start_batch(
    session: AsyncSession, user: CurrentUser, queue: JobQueue, *, region_code: str, quarter: str
) -> uuid.UUID:
    region = await service.region_for_caseworker(session, user, region_code)
    service.quarter_bounds(quarter)
    ids = await repo.household_ids_under(session, region.path, utcnow())
    batch_id = uuid.uuid4()
    await queue.pool.hset(
        _key(batch_id),
        mapping={  # type: ignore[misc]
            "region_code": region.code,
            "quarter": quarter,
            "user_id": str(user.id),
            "total": len(ids),
            "done": 0,
            "failed": 0,
            "state": "queued",
        },
    )
    await queue.pool.expire(_key(batch_id), BATCH_TTL)
    await record(
        session,
        actor=Actor(kind="user", id=user.id, role="caseworker"),
        action="quarterly_list.batch_started",
        object_type="region",
        object_id=region.code,
        region_code=region.code,
        detail={"batch_id": str(batch_id), "quarter": quarter, "households": len(ids)},
    )

    async def enqueue(_: AsyncSession) -> None:
        await queue.enqueue(JOB, str(batch_id), job_id=f"qlist:{batch_id}")

    add_after_commit(session, enqueue)
    return batch_id


async def batch_status(redis: Redis, user: CurrentUser, batch_id: uuid.UUID) -> BatchStatus:
    raw: dict[Any, Any] = await redis.hgetall(_key(batch_id))  # type: ignore[misc]
    data = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    if not data or data.get("user_id") != str(user.id):
        raise NotFound(N_("This batch does not exist or has expired."))
    return BatchStatus(
        batch_id,
        data["region_code"],
        data["quarter"],
        int(data["total"]),
        int(data["done"]),
        int(data.get("failed", 0)),
        data["state"],
    )


async def generate_for_household(
    session: AsyncSession, household_id: uuid.UUID, quarter: str, storage: Storage
) -> QuarterlyList:
    start, end = service.quarter_bounds(quarter)
    record_ = await service.household_record(session, household_id, start=start, end=end)
    masked_name, code_tail = await households.list_label(session, household_id)
    pdf = await asyncio.to_thread(
        render_pdf, record_, quarter, start, end, masked_name=masked_name, code_tail=code_tail
    )
    return await service.save_list(session, household_id, quarter, pdf, storage)


async def run_batch(runtime: Any, batch_id: str, storage: Storage) -> int:
    """The job's work: one transaction per household, progress after each; safe to run twice."""
    redis: Redis = runtime.queue.pool
    key = _key(batch_id)
    raw: dict[Any, Any] = await redis.hgetall(key)  # type: ignore[misc]
    data = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    if not data:
        return 0
    await redis.hset(key, mapping={"state": "running", "done": 0, "failed": 0})  # type: ignore[misc]
    async with runtime.transaction() as session:
        region = await get_by_id(session, Region, data["region_code"])
        if region is None:
            return 0
        ids = await repo.household_ids_under(session, region.path, utcnow())
    await redis.hset(key, "total", str(len(ids)))  # type: ignore[misc]
    done = 0
    for household_id in ids:
        try:
            async with runtime.transaction() as session:
                await generate_for_household(session, household_id, data["quarter"], storage)
            done += 1
            await redis.hincrby(key, "done", 1)  # type: ignore[misc]
        except Exception:
            log.exception("quarterly list failed for household %s", household_id)
            await redis.hincrby(key, "failed", 1)  # type: ignore[misc]
            await redis.hincrby(key, "done", 1)  # type: ignore[misc]
    await redis.hset(key, "state", "done")  # type: ignore[misc]
    log.info("quarterly lists: batch %s generated %d of %d", batch_id, done, len(ids))
    async with runtime.transaction() as session:
        await emit(
            session,
            topic="quarterly_list.batch_done",
            aggregate_type="quarterly_batch",
            aggregate_id=uuid.UUID(batch_id),
            payload={"region_code": region.code, "quarter": data["quarter"], "generated": done},
        )
    return done


COMBINED_MAX = 300  # one community's lists; a township prints community by community


async def combined_pdf(
    session: AsyncSession, user: CurrentUser, *, region_code: str, quarter: str
) -> bytes:
    """Every generated list of a community (or any region of the caseworker's) for the quarter,
    in print order, as ONE PDF. Rendered afresh from the same records and labels as each list,
    off the event loop; audited like a batch (counts only)."""
    region = await service.region_for_caseworker(session, user, region_code)
    start, end = service.quarter_bounds(quarter)
    rows = await repo.lists_to_print(session, region.path, quarter, limit=COMBINED_MAX + 1)
    if not rows:
        raise NotFound(N_("No list has been generated for this quarter yet."))
    if len(rows) > COMBINED_MAX:
        raise Invalid(
            N_("More than {n} lists: print one community at a time."),
            fields={"region": "too_many"},
            n=COMBINED_MAX,
        )
    pages = []
    for row in rows:
        record_ = await service.household_record(session, row.household_id, start=start, end=end)
        masked_name, code_tail = await households.list_label(session, row.household_id)
        pages.append(ListPage(record_, masked_name, code_tail))
    pdf = await asyncio.to_thread(render_combined_pdf, pages, quarter, start, end)
    await record(
        session,
        actor=Actor(kind="user", id=user.id, role="caseworker"),
        action="quarterly_list.printed",
        object_type="region",
        object_id=region.code,
        region_code=region.code,
        detail={"quarter": quarter, "lists": len(rows)},
    )
    return pdf
