"""Loader, runs, review transitions and acceptance on PostgreSQL (each test rolled back)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.core.errors import Conflict, Invalid, NotFound
from backend.fulfilment.models import Fulfilment
from backend.households.enums import AssistanceCategory
from backend.households.models import Household
from backend.matches import service
from backend.matches.loader import load_county
from backend.matches.models import (
    CountyWeights,
    Match,
    MatchingRun,
    MatchSource,
    MatchState,
    RunState,
)
from backend.needs.models import NeedState, Urgency
from backend.outbox.models import OutboxEvent
from backend.resources.models import ResourceKind
from tests.matches import factories as fx

COUNTY = "330102"


async def _run(db: Any, county: str = COUNTY) -> tuple[MatchingRun, dict[str, Any]]:
    run = MatchingRun(
        id=uuid.uuid4(), county_code=county, state=RunState.RUNNING, stats={}, error=""
    )
    db.add(run)
    await db.flush()
    stats = await service.run_county(db, run)
    return run, stats


async def _proposals(db: Any, county: str = COUNTY) -> list[Match]:
    rows = await db.scalars(
        select(Match)
        .join(MatchingRun, MatchingRun.id == Match.run_id)
        .where(MatchingRun.county_code == county, Match.state == MatchState.PROPOSED)
        .order_by(Match.id)
    )
    return list(rows)


async def test_loader_builds_engine_inputs(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, needs=2, capacity=3)
    w.needs[0].pledged = 0
    w.needs[1].quantity = 4
    w.needs[1].pledged = 1
    db.add(CountyWeights(county_code=COUNTY, weights={"urgency": 10, "per_household_cap": 3}))
    # An offer elsewhere must not appear; a paused org's or a Sanmen-only offer neither.
    sanmen = await fx.make_resource(
        db,
        organization_id=demo["org:union"],
        created_by=demo["union_admin"],
        service_area=("331022",),
    )
    money = await fx.make_resource(
        db,
        organization_id=demo["org:company"],
        created_by=demo["org_admin"],
        kind=ResourceKind.FUNDS,
        category="cash_grant",
        capacity=50_000,
        service_area=("330100",),
        eligibility={"categories": ["tekun"], "flags": [], "max_per_household": 2},
    )
    await db.flush()
    data = await load_county(db, COUNTY, date.today())
    units, cash = data.passes
    assert data.settings.weights.urgency == 10
    assert data.settings.per_household_cap == 3
    by_id = {n.id: n for n in units.needs}
    first, second = by_id[str(w.needs[0].id)], by_id[str(w.needs[1].id)]
    assert second.remaining == 3  # quantity 4 - pledged 1
    assert first.region_path == ("330000", "330100", "330102", "330102016", "330102016001")
    assert first.household_id == str(w.households[0].id)
    assert first.household_flags == frozenset({"elderly"})
    assert first.household_categories == frozenset({"dibao"})
    assert first.vulnerability == pytest.approx(0.2)
    assert first.waiting_days == 3
    # The demo data has offers of its own in Hangzhou: look at this test's offers only.
    offers = {o.id: o for o in units.offers}
    assert str(sanmen.id) not in offers
    mine = offers[str(w.resources[0].id)]
    assert mine.remaining == 3
    assert all(o.id != str(money.id) for o in units.offers)
    (cash_offer,) = [o for o in cash.offers if o.id == str(money.id)]
    assert cash_offer.id == str(money.id)
    assert cash_offer.remaining == 500
    assert cash_offer.eligibility.allowed_categories == frozenset({"tekun"})
    assert cash_offer.eligibility.max_per_household == 2


async def test_loader_skips_hidden_and_held_needs(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, needs=3)
    w.needs[0].hidden_reason = "consent"
    w.needs[1].state = NeedState.DRAFT
    db.add(
        Match(
            need_id=w.needs[2].id,
            resource_id=w.resources[0].id,
            organization_id=demo["org:charity"],
            source=MatchSource.CLAIM,
            state=MatchState.APPROVED,
            quantity=1,
        )
    )
    await db.flush()
    data = await load_county(db, COUNTY, date.today())
    assert data.passes[0].needs == ()
    (offer,) = [o for o in data.passes[0].offers if o.id == str(w.resources[0].id)]
    assert offer.remaining == 2  # 3 less the approved match's unit


async def test_run_stores_proposals_and_rerun_replaces_them(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, needs=2, capacity=1)
    run1, stats = await _run(db)
    assert stats["proposals"] == 1
    assert run1.state == RunState.DONE
    assert run1.progress == 100
    (first,) = await _proposals(db)
    # Higher vulnerability wins the one unit.
    assert first.need_id == w.needs[1].id
    assert first.source == MatchSource.ENGINE
    assert first.organization_id == demo["org:charity"]
    assert first.quantity == 1
    assert first.score == pytest.approx(sum(first.score_parts.values()), abs=1e-6)
    assert all(isinstance(i, list) and len(i) == 2 for i in first.explanation)
    run2, stats2 = await _run(db)
    assert stats2["superseded"] == 1
    (second,) = await _proposals(db)
    assert second.run_id == run2.id
    await db.refresh(first)
    assert first.state == MatchState.EXPIRED


async def test_approve_reject_and_scope(db: Any, demo: dict[str, Any]) -> None:
    await fx.world(db, demo, needs=2, capacity=2)
    await _run(db)
    a, b = await _proposals(db)
    coordinator = await fx.user(db, demo["coordinator"])
    await service.approve(db, coordinator, a.id)
    assert a.state == MatchState.APPROVED
    assert a.decided_by == coordinator.id
    assert a.expires_at is not None
    with pytest.raises(Conflict):
        await service.approve(db, coordinator, a.id)
    with pytest.raises(Invalid):
        await service.reject(db, coordinator, b.id, "  ")
    await service.reject(db, coordinator, b.id, "家庭已获其他帮助")
    assert b.state == MatchState.REJECTED
    assert b.reason == "家庭已获其他帮助"
    audit = (await db.scalars(select(AuditEntry).where(AuditEntry.object_id == str(b.id)))).all()
    assert audit[-1].action == "match.rejected"
    assert audit[-1].detail["reason"] == "家庭已获其他帮助"
    topics = set(
        await db.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.aggregate_id.in_([a.id, b.id]))
        )
    )
    assert topics == {"match.approved", "match.rejected"}
    # A caseworker-only user or a coordinator of another region sees nothing of it.
    sanmen = await fx.user(db, demo["caseworker_sanmen"])
    with pytest.raises(NotFound):
        await service.approve(db, sanmen, a.id)


async def test_out_of_region_match_is_not_found(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, community="331022001", needs=1, org="org:union")
    await _run(db, "331022")
    # The demo data has needs in Sanmen too: take this test's proposal.
    (m,) = [p for p in await _proposals(db, "331022") if p.need_id == w.needs[0].id]
    coordinator = await fx.user(db, demo["coordinator"])
    with pytest.raises(NotFound):
        await service.approve(db, coordinator, m.id)
    with pytest.raises(NotFound):
        await service.request_run(db, coordinator, "331022")


async def test_bulk_approve(db: Any, demo: dict[str, Any]) -> None:
    await fx.world(db, demo, needs=3, capacity=3)
    await _run(db)
    matches = await _proposals(db)
    coordinator = await fx.user(db, demo["coordinator"])
    await service.reject(db, coordinator, matches[0].id, "重复")
    approved, skipped = await service.bulk_approve(db, coordinator, [m.id for m in matches])
    assert (approved, skipped) == (2, 1)
    assert [m.state for m in matches] == [
        MatchState.REJECTED,
        MatchState.APPROVED,
        MatchState.APPROVED,
    ]


async def test_reassign_lists_only_eligible_offers(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, needs=1, capacity=1)
    other = await fx.make_resource(
        db,
        organization_id=demo["org:volunteers"],
        created_by=demo["org_admin"],
        capacity=2,
        service_area=("330102016",),
        title="另一个食品包",
    )
    # Not eligible: wrong area, disabled-only, other category.
    await fx.make_resource(
        db,
        organization_id=demo["org:union"],
        created_by=demo["union_admin"],
        service_area=("331022",),
    )
    await fx.make_resource(
        db,
        organization_id=demo["org:disabled"],
        created_by=demo["union_admin"],
        eligibility={"flags": ["disabled"]},
        service_area=(COUNTY,),
    )
    await fx.make_resource(
        db,
        organization_id=demo["org:charity"],
        created_by=demo["org_admin"],
        category="education",
        service_area=(COUNTY,),
    )
    await _run(db)
    (m,) = await _proposals(db)
    coordinator = await fx.user(db, demo["coordinator"])
    _match, _need, options = await service.candidates(db, coordinator, m.id)
    current = m.resource_id
    ids = {c.resource_id for c in options}
    assert ids == ({other.id, w.resources[0].id} - {current})
    with pytest.raises(Invalid):
        await service.reassign(db, coordinator, m.id, uuid.uuid4(), "换一家")
    target = next(iter(ids))
    new = await service.reassign(db, coordinator, m.id, target, "离家更近")
    assert m.state == MatchState.REJECTED
    assert new.state == MatchState.APPROVED
    assert new.source == MatchSource.COORDINATOR
    assert new.resource_id == target
    assert new.explanation[-1] == [service.REASSIGNED, {"reason": "离家更近"}]


async def test_accept_reserves_need_and_opens_fulfilment(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, needs=1, capacity=3)
    await _run(db)
    (m,) = await _proposals(db)
    coordinator = await fx.user(db, demo["coordinator"])
    member = await fx.user(db, demo["org_member"])
    outsider = await fx.user(db, demo["union_admin"])
    with pytest.raises(NotFound):  # not yet approved: the organization does not see it
        await service.accept(db, member, m.id)
    await service.approve(db, coordinator, m.id)
    with pytest.raises(NotFound):
        await service.accept(db, outsider, m.id)
    fulfilment = await service.accept(db, member, m.id)
    need, resource = w.needs[0], w.resources[0]
    await db.refresh(need)
    await db.refresh(resource)
    assert m.state == MatchState.ACCEPTED
    assert need.state == NeedState.RESERVED
    assert need.pledged == 1
    assert need.helper_organization_id == demo["org:charity"]
    assert resource.remaining == 2
    assert (await db.get(Fulfilment, fulfilment.id)).match_id == m.id
    with pytest.raises(Conflict):
        await service.accept(db, member, m.id)


async def test_accept_conflicts_when_offer_ran_out(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, needs=1, capacity=1)
    await _run(db)
    (m,) = await _proposals(db)
    await service.approve(db, await fx.user(db, demo["coordinator"]), m.id)
    w.resources[0].remaining = 0
    await db.flush()
    with pytest.raises(Conflict):
        await service.accept(db, await fx.user(db, demo["org_member"]), m.id)


async def test_decline_and_expire(db: Any, demo: dict[str, Any]) -> None:
    await fx.world(db, demo, needs=2, capacity=2)
    await _run(db)
    a, b = await _proposals(db)
    coordinator = await fx.user(db, demo["coordinator"])
    await service.approve(db, coordinator, a.id)
    member = await fx.user(db, demo["org_member"])
    with pytest.raises(Invalid):
        await service.decline(db, member, a.id, "")
    await service.decline(db, member, a.id, "本周人手不足")
    assert a.state == MatchState.DECLINED
    from datetime import timedelta

    from backend.core.db import utcnow

    b.expires_at = utcnow() - timedelta(minutes=1)
    await db.flush()
    assert await service.expire_stale(db) >= 1
    assert b.state == MatchState.EXPIRED


async def test_emergency_goes_first(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, needs=2, capacity=1)
    w.needs[0].urgency = Urgency.EMERGENCY
    w.needs[1].urgency = Urgency.NORMAL
    await db.flush()
    await _run(db)
    (m,) = await _proposals(db)
    assert m.need_id == w.needs[0].id
    assert any(item[0].startswith("Emergency need") for item in m.explanation)


async def test_explanations_hold_no_household_data(db: Any, demo: dict[str, Any]) -> None:
    w = await fx.world(db, demo, needs=2, capacity=2)
    house: Household = w.households[0]
    house.category = AssistanceCategory.TEKUN
    await db.flush()
    await _run(db)
    matches = await _proposals(db)
    assert matches
    forbidden = (
        {str(h.id) for h in w.households}
        | {h.region_code for h in w.households}
        | {h.id_number_hash for h in w.households}
        | {"测试户0", "测试户1"}
    )
    for m in matches:
        text = repr(m.explanation) + repr(m.score_parts)
        for value in forbidden:
            assert value not in text, value


async def test_money_needs_match_funds_in_fen(db: Any, demo: dict[str, Any]) -> None:
    await fx.ensure_categories(db)
    household = await fx.make_household(
        db, region_code="330102016003", registered_by=demo["caseworker"]
    )
    need = await fx.make_need(
        db,
        household,
        created_by=demo["caseworker"],
        category="medical",
        quantity=None,
        amount_fen=80_050,
        title="医疗费用",
    )
    fund = await fx.make_resource(
        db,
        organization_id=demo["org:company"],
        created_by=demo["org_admin"],
        kind=ResourceKind.FUNDS,
        category="cash_grant",
        capacity=500_000,
        service_area=(COUNTY,),
        title="慈善救助金",
    )
    fund.item_kind = "general_fund"  # a general relief fund may serve a medical-expense need
    await _run(db)
    (m,) = [p for p in await _proposals(db) if p.need_id == need.id]
    assert m.resource_id == fund.id
    assert m.quantity == 80_000


async def test_request_run_reuses_unfinished(db: Any, demo: dict[str, Any]) -> None:
    coordinator = await fx.user(db, demo["coordinator"])
    first = await service.request_run(db, coordinator, COUNTY)
    again = await service.request_run(db, coordinator, COUNTY)
    assert first.id == again.id
    assert first.state == RunState.QUEUED
    with pytest.raises(NotFound):
        await service.request_run(db, coordinator, "330102016")  # a township is not a county
    total = await db.scalar(
        select(func.count()).select_from(MatchingRun).where(MatchingRun.county_code == COUNTY)
    )
    assert total == 1
