"""The dashboard figures kept by the outbox handlers equal a recount after random changes.

Random registrations, publications, state changes, claims, deliveries, confirmations,
proposals, decisions, moves, departures and replayed events; each followed by the event the
service would emit, handled as the outbox job would. Then the maintained cells must equal a
rebuild, and every chart of the page (for the whole province and for one county) must equal the
recount queries of ``backend/dashboard/repository.py``. Times are whole days or hours back, so
the hour buckets of the live queues fall in the same bands as the exact times.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.config import get_settings
from backend.core.db import utcnow
from backend.core.events import HandlerContext, handlers_for
from backend.dashboard import figures, service
from backend.dashboard import repository as repo
from backend.demo.matching import ensure_categories, make_household, make_need
from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment
from backend.households.enums import HouseholdStatus
from backend.households.models import Household
from backend.matches.models import Match, MatchSource, MatchState
from backend.needs.models import Need, NeedState, Urgency
from backend.notifications.deadlines import Thresholds
from backend.outbox.models import OutboxEvent
from backend.regions.models import Region, RegionLevel
from backend.resources.models import Claim
from tests.matches import factories as fx


async def _event(session: Any, topic: str, kind: str, object_id: uuid.UUID) -> None:
    """Run the dashboard's subscribers of the event, as the outbox job would."""
    event = OutboxEvent(
        id=uuid.uuid4(),
        topic=topic,
        aggregate_type=kind,
        aggregate_id=object_id,
        payload={},
        created_at=utcnow(),
    )
    ctx = HandlerContext(session=session)
    ran = 0
    for handler in handlers_for(topic):
        if handler.__name__.startswith("dashboard_of_"):
            await handler(ctx, event)
            ran += 1
    assert ran, topic


async def _communities(session: Any) -> list[str]:
    """Two communities in each of two townships of one county, and one in another county."""
    codes = list(
        await session.scalars(
            select(Region.code).where(Region.level == RegionLevel.COMMUNITY).order_by(Region.code)
        )
    )
    first = codes[0][:6]
    same_county = [c for c in codes if c.startswith(first)]
    townships = sorted({c[:9] for c in same_county})[:2]
    picked = [c for t in townships for c in same_county if c.startswith(t)][:4]
    other = next(c for c in codes if not c.startswith(first))
    return [*picked, other]


OPERATIONS = (
    ["register"] * 2
    + ["publish"] * 4
    + ["state"] * 2
    + ["claim", "deliver", "deliver", "confirm", "propose", "propose", "decide"]
    + ["move", "leave", "move_need", "replay"]
)
AGES_DAYS = (0, 1, 2, 3, 6, 7, 8, 30, 200, 364, 400)
AGES_HOURS = (0, 1, 2, 3, 4, 5, 17, 18, 23, 24, 30, 53, 54, 71, 72, 100)


def _rows(chart: service.Chart) -> list[list[Any]]:
    return [list(r) for r in chart.rows]


async def _recount(db: Any, ctx: service.Context, names: dict[str, str]) -> dict[str, Any]:
    """Every chart's figures from the recount queries, in the shape of the page's."""
    roots, now = ctx.area.roots, ctx.now
    out: dict[str, Any] = {}
    today = now.astimezone(service.SHANGHAI).date()
    monday = today - timedelta(days=today.weekday())
    weeks = [monday - timedelta(weeks=i) for i in range(service.WEEKS - 1, -1, -1)]
    since_week = datetime.combine(weeks[0], datetime.min.time(), service.SHANGHAI)
    flow = {(s, w): n for s, w, n in await repo.weekly_flow(db, roots, since_week)}
    out["flow"] = [
        [w.isoformat()] + [flow.get((s, w), 0) for s, _l in service.STEPS] for w in weeks
    ]
    since_day = ctx.since_day()
    days = await repo.days_to_confirmation(db, roots, since_day.replace(day=1))
    out["confirm_days"] = [(r.month, r.needs, r.median, r.p90) for r in days]
    fill = {c: (n, f) for c, n, f in await repo.fill_by_category(db, roots, since_day)}
    out["fill_rate"] = sorted((names[c], n, f) for c, (n, f) in fill.items() if n)
    bands = dict(await repo.emergency_ages(db, roots, now))
    out["emergencies"] = [bands.get(i, 0) for i in range(len(repo.EMERGENCY_BANDS))]
    limits = Thresholds.of(get_settings())
    sla = {
        (u, s): n
        for u, s, n in await repo.review_status(
            db, roots, now, limits.sla_hours, limits.warn_percent
        )
    }
    out["review_sla"] = [[sla.get((u, s), 0) for s in range(3)] for u in service.URGENCY_LABELS]
    per: dict[uuid.UUID, dict[str, int]] = {}
    for org, step, n in await repo.organization_activity(db, roots, since_day):
        per.setdefault(org, {})[step] = n
    out["organizations"] = sorted(
        (c.get("claimed", 0), c.get("delivered", 0), c.get("confirmed", 0)) for c in per.values()
    )
    helped = dict(await repo.households_helped(db, roots, since_day))
    out["households"] = [helped.get(i, 0) for i in range(3)]
    out["townships"] = sorted(
        (t, n, med, mx) for t, n, med, mx in await repo.waiting_by_township(db, roots, now)
    )
    return out


def _maintained(board: service.Dashboard, names: dict[str, str]) -> dict[str, Any]:
    charts = {c.key: c for c in board.charts}
    out: dict[str, Any] = {"flow": _rows(charts["flow"])}
    out["fill_rate"] = sorted((r[0], r[2], r[3]) for r in charts["fill_rate"].rows)
    out["emergencies"] = [r[1] for r in charts["emergencies"].rows]
    out["review_sla"] = [r[1:] for r in charts["review_sla"].rows]
    out["organizations"] = sorted(tuple(r[1:]) for r in charts["organizations"].rows)
    out["households"] = [r[1] for r in charts["households"].rows]
    return out


async def _compare(db: Any, user: Any, area: service.Area, names: dict[str, str]) -> None:
    now = utcnow()
    board = await service.dashboard(db, get_settings(), user, area, "en", now=now)
    ctx = service.Context(db, get_settings(), user, area, "en", now)
    expected = await _recount(db, ctx, names)
    got = _maintained(board, names)
    for key in ("flow", "fill_rate", "emergencies", "review_sla", "households"):
        assert got[key] == expected[key], key
    assert got["organizations"] == expected["organizations"]
    # days to confirmation: whole-day histogram, so the quantiles agree to within a day
    confirm = next(c for c in board.charts if c.key == "confirm_days")
    months = [(r[0], r[1]) for r in expected["confirm_days"] if r[0] is not None]
    assert [(m.strftime("%Y-%m"), n) for m, n in months] == [(r[0], r[3]) for r in confirm.rows]
    for (_m, _n, med, p90), row in zip(
        [r for r in expected["confirm_days"] if r[0] is not None], confirm.rows, strict=True
    ):
        assert abs(med - float(row[1] or 0)) <= 1.05 and abs(p90 - float(row[2] or 0)) <= 1.05
    total = next((r for r in expected["confirm_days"] if r[0] is None), None)
    assert board.summary.confirmed_needs == (total[1] if total else 0)
    # townships: hour buckets, so the waits agree to within an hour
    townships = next(c for c in board.charts if c.key == "townships")
    assert sum(int(r[3] or 0) for r in townships.rows) == sum(t[1] for t in expected["townships"])
    assert sorted(float(r[2] or 0) for r in townships.rows) == pytest.approx(
        sorted(t[3] for t in expected["townships"]), abs=0.1
    )
    assert sorted(float(r[1] or 0) for r in townships.rows) == pytest.approx(
        sorted(t[2] for t in expected["townships"]), abs=0.1
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_maintained_figures_equal_a_recount_after_random_changes(
    db: Any, demo: dict[str, Any], seed: int
) -> None:
    rnd = random.Random(seed)
    await ensure_categories(db)
    await figures.rebuild(db)  # rows other tests wrote without events
    communities = await _communities(db)
    orgs = [demo["org:charity"], demo["org:union"], demo["org:redcross"]]
    now = utcnow()
    households: list[Household] = []
    needs: list[Need] = []
    deliveries: list[Delivery] = []
    proposals: list[Match] = []
    for _ in range(80):
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
                category=rnd.choice(["food", "medical", "education"]),
                urgency=rnd.choice(list(Urgency)),
                waited_days=rnd.choice(AGES_DAYS),
            )
            needs.append(need)
            await _event(db, "need.published", "need", need.id)
        elif op == "state" and needs:
            need = rnd.choice(needs)
            need.state = rnd.choice(
                [NeedState.PUBLISHED, NeedState.DELIVERED, NeedState.CONFIRMED, NeedState.WITHDRAWN]
            )
            await db.flush()
            await _event(db, f"need.{need.state.value}", "need", need.id)
        elif op == "claim" and needs:
            claim = Claim(
                id=uuid.uuid4(),
                need_id=rnd.choice(needs).id,
                organization_id=rnd.choice(orgs),
                quantity=1,
                claimed_by=demo["org_admin"],
                created_at=now - timedelta(days=rnd.choice(AGES_DAYS)),
            )
            db.add(claim)
            await db.flush()
            await _event(db, "claim.created", "claim", claim.id)
        elif op == "deliver" and needs:
            need = rnd.choice(needs)
            claim = Claim(
                id=uuid.uuid4(),
                need_id=need.id,
                organization_id=rnd.choice(orgs),
                quantity=1,
                claimed_by=demo["org_admin"],
            )
            db.add(claim)
            await db.flush()
            fulfilment = Fulfilment(
                id=uuid.uuid4(),
                need_id=need.id,
                organization_id=claim.organization_id,
                claim_id=claim.id,
                promised=1,
            )
            db.add(fulfilment)
            await db.flush()
            ago = rnd.choice(AGES_DAYS)
            delivery = Delivery(
                id=uuid.uuid4(),
                fulfilment_id=fulfilment.id,
                delivered_on=(now - timedelta(days=ago)).astimezone(service.SHANGHAI).date(),
                description="米面油",
                quantity=1,
                recorded_by=demo["org_admin"],
                state=DeliveryState.RECORDED,
            )
            db.add(delivery)
            await db.flush()
            deliveries.append(delivery)
            await _event(db, "claim.created", "claim", claim.id)
            await _event(db, "delivery.recorded", "delivery", delivery.id)
        elif op == "confirm" and deliveries:
            delivery = rnd.choice(deliveries)
            delivery.state = DeliveryState.CONFIRMED
            delivery.confirmed_at = now - timedelta(days=rnd.choice(AGES_DAYS))
            await db.flush()
            await _event(db, "delivery.confirmed", "delivery", delivery.id)
        elif op == "propose" and needs:
            match = Match(
                id=uuid.uuid4(),
                need_id=rnd.choice(needs).id,
                organization_id=rnd.choice(orgs),
                source=MatchSource.ENGINE,
                state=MatchState.PROPOSED,
                quantity=1,
                score=1.0,
                score_parts={},
                explanation=[],
                created_at=now - timedelta(hours=rnd.choice(AGES_HOURS)),
            )
            db.add(match)
            await db.flush()
            proposals.append(match)
            await _event(db, "match.proposed", "match", match.id)
        elif op == "decide" and proposals:
            match = rnd.choice(proposals)
            match.state = rnd.choice(
                [MatchState.APPROVED, MatchState.DECLINED, MatchState.ACCEPTED, MatchState.PROPOSED]
            )
            await db.flush()
            await _event(db, f"match.{match.state.value}", "match", match.id)
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
        elif op == "move_need" and needs:
            need = rnd.choice(needs)
            need.region_code = rnd.choice(communities)
            await db.flush()
            await _event(db, "need.edited", "need", need.id)
        else:  # an event handled again changes nothing
            if needs:
                await _event(db, "need.edited", "need", rnd.choice(needs).id)
            await _event(db, "household.updated", "household", rnd.choice(households).id)
    maintained = await repo.all_cells(db)
    await figures.rebuild(db)
    assert await repo.all_cells(db) == maintained

    names = {c.code: c.name_en for c in await repo.categories(db)}
    admin = await fx.user(db, demo["admin"])
    everywhere = await service.area_of(db, admin, None, "en")
    await _compare(db, admin, everywhere, names)
    county = await repo.region_by_code(db, communities[0][:6])
    assert county is not None
    await _compare(db, admin, service.Area([county.path], county.code, county.name, []), names)


async def test_outbox_events_keep_the_page_current(runtime: Any, demo: dict[str, Any]) -> None:
    """Through the real outbox: the events a registration and a publication emit move the
    county's figures once the jobs ran."""
    from backend.outbox.service import emit
    from tests.helpers import drain_outbox

    community, county = "330102016004", "330102"  # 上城区, in the demo coordinator's city

    async def board() -> service.Dashboard:
        async with runtime.transaction() as s:
            user = await fx.user(s, demo["coordinator"])
            area = await service.area_of(s, user, county, "en")
            return await service.dashboard(s, get_settings(), user, area, "en")

    def total(b: service.Dashboard, key: str, col: int) -> float:
        chart = next(c for c in b.charts if c.key == key)
        return sum(float(r[col] or 0) for r in chart.rows)

    await drain_outbox(runtime)
    before = await board()
    async with runtime.transaction() as s:
        await ensure_categories(s)
        household = await make_household(s, region_code=community, registered_by=demo["caseworker"])
        need = await make_need(
            s, household, created_by=demo["caseworker"], urgency=Urgency.EMERGENCY, waited_days=0
        )
        await emit(
            s, topic="household.registered", aggregate_type="household", aggregate_id=household.id
        )
        await emit(s, topic="need.published", aggregate_type="need", aggregate_id=need.id)
    try:
        assert total(await board(), "flow", 1) == total(before, "flow", 1)  # not before the job
        await drain_outbox(runtime)
        after = await board()
        assert total(after, "flow", 1) == total(before, "flow", 1) + 1
        assert after.summary.emergencies == before.summary.emergencies + 1
        assert total(after, "households", 1) == total(before, "households", 1) + 1
        assert total(after, "townships", 3) == total(before, "townships", 3) + 1
    finally:
        async with runtime.transaction() as s:  # leave nothing published for other tests
            row = await s.get(Need, need.id)
            row.state = NeedState.WITHDRAWN
            await emit(s, topic="need.withdrawn", aggregate_type="need", aggregate_id=need.id)
        await drain_outbox(runtime)
    assert (await board()).summary.emergencies == before.summary.emergencies
