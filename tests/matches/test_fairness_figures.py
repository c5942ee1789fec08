"""The fairness figures kept by the outbox handlers equal a recount after random changes, and
the page shows staff their county's true counts (small numbers suppressed for others)."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.core.db import utcnow
from backend.core.events import HandlerContext, handlers_for
from backend.demo.matching import ensure_categories, make_household, make_need
from backend.households.enums import HouseholdStatus
from backend.households.models import Household
from backend.matches import fairness, figures
from backend.matches import repository as repo
from backend.matches.models import Match, MatchSource, MatchState
from backend.needs.models import Need, NeedState
from backend.outbox.models import OutboxEvent
from backend.regions.models import Region, RegionLevel
from tests.helpers import drain_outbox, sign_in_as
from tests.matches import factories as fx


async def _event(session: Any, topic: str, kind: str, object_id: uuid.UUID) -> None:
    """Run every subscriber of the event, as the outbox job would."""
    event = OutboxEvent(
        id=uuid.uuid4(),
        topic=topic,
        aggregate_type=kind,
        aggregate_id=object_id,
        payload={},
        created_at=utcnow(),
    )
    ctx = HandlerContext(session=session)
    for handler in handlers_for(topic):
        if handler.__name__.startswith("fairness_of_"):
            await handler(ctx, event)


async def _communities(session: Any) -> list[str]:
    """One community in each of four counties."""
    found: dict[str, str] = {}
    for code in await session.scalars(
        select(Region.code).where(Region.level == RegionLevel.COMMUNITY).order_by(Region.code)
    ):
        found.setdefault(code[:6], code)
        if len(found) == 4:
            break
    assert len(found) == 4
    return list(found.values())


OPERATIONS = (
    ["register"] * 2 + ["publish"] * 2 + ["close"] + ["help"] * 2 + ["move", "leave", "replay"]
)
WAIT_LIMITS = (7, 30, 90)


def _figures_by_county(rows: list[repo.CountyFigures]) -> dict[str, tuple[int, ...]]:
    return {
        r.county_code: (r.households, r.helped_once_or_more, r.helped_twice_or_more, *r.waiting)
        for r in rows
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_maintained_figures_equal_a_recount_after_random_changes(
    db: Any, demo: dict[str, Any], seed: int
) -> None:
    rnd = random.Random(seed)
    await ensure_categories(db)
    await figures.rebuild(db)  # the demo rows were written without events
    today = figures.local_day(utcnow())
    period = fairness.PERIOD_DAYS
    start = _figures_by_county(await repo.fairness_figures(db, None, today, period_days=period))
    communities = await _communities(db)
    waited: dict[uuid.UUID, int] = {}
    helped: dict[uuid.UUID, list[int]] = {}  # need id -> days since each accepted match
    households: list[Household] = []
    needs: list[Need] = []
    for _ in range(60):
        op = rnd.choice(OPERATIONS)
        if op == "register" or not households:
            h = await make_household(
                db, region_code=rnd.choice(communities), registered_by=demo["caseworker"]
            )
            households.append(h)
            await _event(db, "household.registered", "household", h.id)
        elif op == "publish":
            need = await make_need(
                db,
                rnd.choice(households),
                created_by=demo["caseworker"],
                waited_days=rnd.choice([0, 3, 7, 8, 29, 31, 90, 91, 400]),
            )
            needs.append(need)
            assert need.published_at is not None
            waited[need.id] = (utcnow() - need.published_at).days
            await _event(db, "need.published", "need", need.id)
        elif op == "close" and needs:
            need = rnd.choice(needs)
            need.state = rnd.choice([NeedState.DELIVERED, NeedState.WITHDRAWN, NeedState.PUBLISHED])
            await db.flush()
            await _event(db, f"need.{need.state.value}", "need", need.id)
        elif op == "help" and needs:
            need = rnd.choice(needs)
            ago = rnd.choice([0, 1, 100, 364, 366, 700])
            helped.setdefault(need.id, []).append(ago)
            match = Match(
                id=uuid.uuid4(),
                need_id=need.id,
                source=MatchSource.CLAIM,
                state=MatchState.ACCEPTED,
                quantity=1,
                updated_at=utcnow() - timedelta(days=ago),
            )
            db.add(match)
            await db.flush()
            await _event(db, "match.accepted", "match", match.id)
        elif op == "move":
            h = rnd.choice(households)
            h.region_code = rnd.choice(communities)
            await db.flush()
            await _event(db, "household.updated", "household", h.id)
        elif op == "leave":
            h = rnd.choice(households)
            h.status = rnd.choice([HouseholdStatus.LEFT, HouseholdStatus.ACTIVE])
            await db.flush()
            await _event(db, "household.updated", "household", h.id)
        else:  # an event handled again changes nothing
            h = rnd.choice(households)
            await _event(db, "household.updated", "household", h.id)
    maintained = await repo.fairness_cells(db)
    await figures.rebuild(db)
    assert await repo.fairness_cells(db) == maintained
    # and the page's figures moved by exactly what the changes add up to
    end = _figures_by_county(await repo.fairness_figures(db, None, today, period_days=period))
    expected: dict[str, list[int]] = {}
    for h in households:
        if h.status != HouseholdStatus.ACTIVE:
            continue
        row = expected.setdefault(h.region_code[:6], [0] * 7)
        recent = sum(
            1 for n in needs if n.household_id == h.id for d in helped.get(n.id, []) if d < period
        )
        row[0] += 1
        row[1] += recent >= 1
        row[2] += recent >= 2
    for n in needs:
        if n.state == NeedState.PUBLISHED:
            row = expected.setdefault(n.region_code[:6], [0] * 7)
            row[3 + sum(waited[n.id] > limit for limit in WAIT_LIMITS)] += 1
    for county in {c[:6] for c in communities}:
        moved = tuple(
            e - s
            for e, s in zip(end.get(county, (0,) * 7), start.get(county, (0,) * 7), strict=True)
        )
        assert moved == tuple(expected.get(county, [0] * 7)), county


async def test_events_keep_the_page_current_and_staff_see_true_counts(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    community = "330102016004"  # 上城区 (杭州市): in the demo coordinator's city
    async with runtime.transaction() as s:
        assert await s.get(Region, community) is not None
        coordinator = await fx.user(s, demo["coordinator"])
        before = {c.code: c for c in (await fairness.report(s, coordinator)).counties}
        await ensure_categories(s)
        households = [
            await make_household(s, region_code=community, registered_by=demo["caseworker"])
            for _ in range(3)
        ]
        needs = [
            await make_need(s, h, created_by=demo["caseworker"], waited_days=3) for h in households
        ]
        for h in households:
            await _emit(s, "household.registered", "household", h.id)
        for n in needs:
            await _emit(s, "need.published", "need", n.id)
    try:
        await drain_outbox(runtime)
        async with runtime.transaction() as s:
            after = {c.code: c for c in (await fairness.report(s, coordinator)).counties}
        old = before.get("330102")
        row = after["330102"]
        assert sum(row.households) == (sum(old.households) if old else 0) + 3
        assert row.waiting[0] == (old.waiting[0] if old else 0) + 3  # waited 3 days
        assert row.exact
        await sign_in_as(client, runtime, demo["coordinator"])
        page = await client.get("/coordination/fairness")
        assert page.status_code == 200
        assert re.search(rf"<td[^>]*>{row.waiting[0]}</td>", page.text)
        # someone who is not on the county's staff sees small numbers suppressed
        async with runtime.transaction() as s:
            admin = await fx.user(s, demo["admin"])
            seen = {c.code: c for c in (await fairness.report(s, admin)).counties}
        assert not seen["330102"].exact
        assert seen["330102"].shown(3) == "<11"
        assert row.shown(3) == "3"
    finally:
        async with runtime.transaction() as s:  # leave nothing published for other tests' runs
            for n in needs:
                need = await s.get(Need, n.id)
                need.state = NeedState.WITHDRAWN
                await _emit(s, "need.withdrawn", "need", n.id)
        await drain_outbox(runtime)


async def _emit(session: Any, topic: str, kind: str, object_id: uuid.UUID) -> None:
    from backend.outbox.service import emit

    await emit(session, topic=topic, aggregate_type=kind, aggregate_id=object_id)
