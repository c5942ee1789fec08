"""The coordinator match queue's maintained rows equal a recount after random runs, approvals,
rejections, reassignments, acceptances, declines, expiries, need edits and replays; the page
reads them in order; the alternatives of a page equal the per-county computation."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.core.db import utcnow
from backend.core.errors import Conflict
from backend.core.events import HandlerContext, handlers_for
from backend.matches import queue, service
from backend.matches import repository as repo
from backend.matches.loader import load_county
from backend.matches.models import Match, MatchingRun, MatchSource, MatchState, RunState
from backend.needs.models import Need, Urgency
from backend.outbox.models import OutboxEvent
from backend.regions.models import Region, RegionLevel
from tests.matches import factories as fx

COUNTIES = ("330102", "330106")


async def _community(db: Any, county: str) -> str:
    code = await db.scalar(
        select(Region.code)
        .where(Region.level == RegionLevel.COMMUNITY, Region.code.startswith(county))
        .order_by(Region.code)
        .limit(1)
    )
    assert code is not None
    return str(code)


async def _run(db: Any, county: str) -> None:
    run = MatchingRun(
        id=uuid.uuid4(), county_code=county, state=RunState.RUNNING, stats={}, error=""
    )
    db.add(run)
    await db.flush()
    await service.run_county(db, run)


async def _need_event(db: Any, need_id: uuid.UUID) -> None:
    """The ``need.*`` subscribers of the queue, as the outbox job would run them."""
    event = OutboxEvent(
        id=uuid.uuid4(),
        topic="need.updated",
        aggregate_type="need",
        aggregate_id=need_id,
        payload={},
        created_at=utcnow(),
    )
    for handler in handlers_for("need.updated"):
        if handler.__name__ == "queue_of_need":
            await handler(HandlerContext(session=db), event)


async def _matches(db: Any, need_ids: list[uuid.UUID], *states: MatchState) -> list[Match]:
    return list(
        await db.scalars(
            select(Match)
            .where(Match.need_id.in_(need_ids), Match.state.in_(states))
            .order_by(Match.id)
        )
    )


OPERATIONS = (
    ["run"] * 3
    + ["approve", "reject", "bulk", "reassign", "accept", "decline", "expire"] * 2
    + ["urgency", "replay"]
)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_maintained_queue_equals_a_recount_after_random_changes(
    db: Any, demo: dict[str, Any], seed: int
) -> None:
    rnd = random.Random(seed)
    await queue.rebuild(db)
    assert await repo.queue_rows(db) == await repo.queue_recount(db)
    need_ids: list[uuid.UUID] = []
    for county in COUNTIES:
        w = await fx.world(db, demo, community=await _community(db, county), needs=4, capacity=3)
        need_ids += [n.id for n in w.needs]
        extra = await fx.make_resource(
            db,
            organization_id=demo["org:charity"],
            created_by=demo["org_admin"],
            capacity=2,
            service_area=(county,),
            title="另一个食品包",
        )
        assert extra.id is not None
    await db.flush()
    coordinator = await fx.user(db, demo["coordinator"])
    member = await fx.user(db, demo["org_member"])
    done: dict[str, int] = {}
    steps = 0
    while len(done) < len(set(OPERATIONS)) or steps < 40:  # each kind at least once
        steps += 1
        assert steps < 400, done
        op = rnd.choice(OPERATIONS)
        proposed = await _matches(db, need_ids, MatchState.PROPOSED)
        approved = await _matches(db, need_ids, MatchState.APPROVED)
        if op == "run":
            await _run(db, rnd.choice(COUNTIES))
        elif op == "approve" and proposed:
            await service.approve(db, coordinator, rnd.choice(proposed).id)
        elif op == "reject" and proposed:
            await service.reject(db, coordinator, rnd.choice(proposed).id, "已有其他帮助")
        elif op == "bulk" and proposed:
            chosen = rnd.sample(proposed, k=min(len(proposed), rnd.randint(1, 3)))
            await service.bulk_approve(db, coordinator, [m.id for m in chosen])
        elif op == "reassign" and proposed:
            match = rnd.choice(proposed)
            _m, _n, options = await service.candidates(db, coordinator, match.id)
            if not options:
                continue
            await service.reassign(db, coordinator, match.id, options[0].resource_id, "更近")
        elif op == "accept" and approved:
            try:
                await service.accept(db, member, rnd.choice(approved).id)
            except Conflict:
                continue
        elif op == "decline" and approved:
            await service.decline(db, member, rnd.choice(approved).id, "本周人手不足")
        elif op == "expire" and (proposed or approved):
            for match in rnd.sample(
                proposed + approved, k=min(len(proposed + approved), rnd.randint(1, 2))
            ):
                match.expires_at = utcnow() - timedelta(minutes=1)
            await db.flush()
            await service.expire_stale(db)
        elif op == "urgency":
            need = await db.get(Need, rnd.choice(need_ids))
            need.urgency = rnd.choice(list(Urgency))
            await db.flush()
            await _need_event(db, need.id)
        elif op == "replay":  # a refresh or an event handled twice changes nothing
            chosen_ids = rnd.sample(need_ids, k=3)
            await queue.refresh(db, chosen_ids)
            await queue.refresh(db, chosen_ids)
            await _need_event(db, chosen_ids[0])
        else:
            continue
        done[op] = done.get(op, 0) + 1
        db.expire_all()
        assert await repo.queue_rows(db) == await repo.queue_recount(db), (seed, op)

    # The page reads the rows in order: urgency, then best score; the count is of needs.
    rows = await repo.queue_recount(db)
    groups, total = await repo.coordinator_queue_by_need(db, None, limit=100)
    assert total == len(rows)
    keys = [(rows[g.need.id][2], -rows[g.need.id][3]) for g in groups]
    assert keys == sorted(keys)
    for g in groups:
        assert len(g.rows) == rows[g.need.id][4]
        assert all(r.match.state == MatchState.PROPOSED for r in g.rows)


async def test_page_alternatives_equal_the_county_computation(
    db: Any, demo: dict[str, Any]
) -> None:
    for county in COUNTIES:
        await fx.world(db, demo, community=await _community(db, county), needs=3, capacity=1)
        for title in ("另一个食品包", "爱心粮油"):
            await fx.make_resource(
                db,
                organization_id=demo["org:volunteers"],
                created_by=demo["org_admin"],
                capacity=4,
                service_area=(county,),
                title=title,
            )
        await _run(db, county)
    groups, _total = await repo.coordinator_queue_by_need(db, None, limit=100)
    assert groups
    found = await service.alternatives(db, groups)
    today = utcnow().date()
    expected: dict[uuid.UUID, list[service.Alternative]] = {}
    for county in {g.need.region_code[:6] for g in groups}:
        wanted = {
            str(g.need.id): {str(r.match.resource_id) for r in g.rows}
            for g in groups
            if g.need.region_code.startswith(county)
        }
        data = await load_county(db, county, today)
        for need_id, alts in service._alternatives_in(data, today, wanted, 3).items():
            expected[uuid.UUID(need_id)] = alts
    assert {k: v for k, v in found.by_need.items() if v} == {k: v for k, v in expected.items() if v}
    assert any(found.by_need.values())
    assert set(found.taxonomies) >= {g.need.region_code[:6] for g in groups}


async def test_two_transactions_on_one_need_leave_a_true_row(
    runtime: Any, demo: dict[str, Any]
) -> None:
    """Two coordinators reject the two proposals of one need at the same time: the second
    waits for the first's row lock and recounts after its commit (no lost update)."""
    async with runtime.transaction() as s:
        w = await fx.world(s, demo, community=await _community(s, "330106"), needs=1)
        need_id = w.needs[0].id
        ids = [uuid.uuid4(), uuid.uuid4()]
        for match_id, score in zip(ids, (9.0, 7.0), strict=True):
            s.add(
                Match(
                    id=match_id,
                    need_id=need_id,
                    resource_id=w.resources[0].id,
                    organization_id=demo["org:charity"],
                    source=MatchSource.COORDINATOR,
                    state=MatchState.PROPOSED,
                    quantity=1,
                    score=score,
                    score_parts={},
                    explanation=[],
                )
            )
        await queue.refresh(s, [need_id])
    async with runtime.transaction() as s:
        assert (await repo.queue_rows(s))[need_id][4] == 2
    first_done = asyncio.Event()

    async def reject(match_id: uuid.UUID, *, hold: bool) -> None:
        async with runtime.transaction() as s:
            await service.reject(s, await fx.user(s, demo["coordinator"]), match_id, "重复")
            if hold:  # keep the row locked until the other one is waiting
                await asyncio.sleep(0.5)
                first_done.set()

    first = asyncio.create_task(reject(ids[0], hold=True))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(reject(ids[1], hold=False))
    await asyncio.gather(first, second)
    assert first_done.is_set()
    async with runtime.transaction() as s:
        rows, recount = await repo.queue_rows(s), await repo.queue_recount(s)
        assert need_id not in rows  # no proposal left: out of the queue
        assert rows == recount
