"""The organizations' figures kept by the outbox handlers equal a recount after random changes
(deliveries recorded, confirmed, disputed and undone; second fulfilments of one need; hours
approved, rejected and attended; disbursements; replayed events), and equal what the changes
add up to, counted independently here."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

import backend.organizations.handlers  # noqa: F401 - registers the subscribers under test
from backend.accounts.models import Organization, OrgStatus, OrgType
from backend.core.db import utcnow
from backend.core.events import HandlerContext, handlers_for
from backend.demo.organizations import make_household, make_published_need
from backend.donations.models import EntryType, LedgerEntry
from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment
from backend.households.models import Household
from backend.needs.models import Need
from backend.organizations import figures
from backend.organizations import repository as repo
from backend.outbox.models import OutboxEvent
from backend.privacy.uscc import make_fake_uscc
from backend.projects.models import Project, ProjectState
from backend.resources.models import Claim
from backend.volunteering.models import HoursLog, HoursState


async def _event(
    session: Any, topic: str, kind: str, object_id: uuid.UUID, payload: dict[str, Any] | None = None
) -> tuple[str, str, uuid.UUID, dict[str, Any]]:
    """Run the figure subscribers of the event, as the outbox job would; returns the event so
    that it can be replayed."""
    event = OutboxEvent(
        id=uuid.uuid4(),
        topic=topic,
        aggregate_type=kind,
        aggregate_id=object_id,
        payload=payload or {},
        created_at=utcnow(),
    )
    ran = 0
    for handler in handlers_for(topic):
        if handler.__name__.startswith("org_figures_of_"):
            await handler(HandlerContext(session=session), event)
            ran += 1
    assert ran == 1
    return topic, kind, object_id, payload or {}


def _uscc() -> str:
    suffix = uuid.uuid4().hex[:10].upper()
    for bad, good in (("I", "1"), ("O", "0"), ("S", "5"), ("V", "7"), ("Z", "2")):
        suffix = suffix.replace(bad, good)
    return make_fake_uscc("5333010" + suffix)


@dataclass
class World:
    """What the test did, to count the expected figures without the database."""

    orgs: list[Organization]
    households: list[Household] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    fulfilments: list[tuple[Fulfilment, Need]] = field(default_factory=list)
    deliveries: list[tuple[Delivery, Fulfilment, Need]] = field(default_factory=list)
    hours: list[HoursLog] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    spent: dict[uuid.UUID, int] = field(default_factory=dict)  # project -> fen

    def expected(self) -> dict[uuid.UUID, tuple[int, int, int, int]]:
        out: dict[uuid.UUID, tuple[int, int, int, int]] = {}
        for org in self.orgs:
            confirmed = [
                (d, f, n)
                for d, f, n in self.deliveries
                if f.organization_id == org.id and d.state == DeliveryState.CONFIRMED
            ]
            needs = {n.id for _, _, n in confirmed}
            households = {n.household_id for _, _, n in confirmed}
            cash = sum(d.quantity for d, _, n in confirmed if n.quantity is None)
            minutes = sum(
                h.minutes
                for h in self.hours
                if h.organization_id == org.id and h.state == HoursState.APPROVED
            )
            spent = sum(
                self.spent.get(p.id, 0) for p in self.projects if p.organization_id == org.id
            )
            figs = (len(needs), len(households), minutes, cash + spent)
            if any(figs):
                out[org.id] = figs
        return out


OPERATIONS = (
    ["deliver"] * 4
    + ["again"] * 2
    + ["confirm"] * 4
    + ["dispute", "undo", "second_org", "hours", "review", "attend", "spend", "replay"]
)


async def _make_world(session: Any) -> World:
    tag = uuid.uuid4().hex[:6]
    orgs = [
        Organization(
            id=uuid.uuid4(),
            name=f"图表测试 {name} {tag}",
            org_type=OrgType.SOCIAL_WORK_AGENCY,
            uscc=_uscc(),
            status=OrgStatus.APPROVED,
            region_code="330106",
            service_area=["330106"],
        )
        for name in "ABC"
    ]
    session.add_all(orgs)
    await session.flush()
    return World(orgs)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_maintained_figures_equal_a_recount_after_random_changes(
    db: Any, demo: dict[str, Any], seed: int
) -> None:
    rnd = random.Random(seed)
    await figures.rebuild(db)  # the demo rows were written without events
    world = await _make_world(db)
    done: list[tuple[str, str, uuid.UUID, dict[str, Any]]] = []

    async def new_fulfilment(org: Organization, need: Need) -> Fulfilment:
        claim = Claim(
            id=uuid.uuid4(),
            need_id=need.id,
            organization_id=org.id,
            quantity=10,
            claimed_by=demo["admin"],
        )
        db.add(claim)
        await db.flush()
        fulfilment = Fulfilment(
            id=uuid.uuid4(), need_id=need.id, organization_id=org.id, claim_id=claim.id, promised=10
        )
        db.add(fulfilment)
        await db.flush()
        world.fulfilments.append((fulfilment, need))
        return fulfilment

    async def deliver(fulfilment: Fulfilment, need: Need) -> None:
        delivery = Delivery(
            id=uuid.uuid4(),
            fulfilment_id=fulfilment.id,
            delivered_on=date.today(),
            description="图表测试",
            quantity=rnd.choice([1, 2, 150_000]),
            state=DeliveryState.RECORDED,
            recorded_by=demo["admin"],
        )
        db.add(delivery)
        await db.flush()
        world.deliveries.append((delivery, fulfilment, need))
        done.append(await _event(db, "delivery.recorded", "delivery", delivery.id))

    for _ in range(70):
        op = rnd.choice(OPERATIONS)
        if op == "deliver" or not world.deliveries:
            if not world.households or rnd.random() < 0.4:
                world.households.append(await make_household(db, registered_by=demo["caseworker"]))
            cash = rnd.random() < 0.4
            need = await make_published_need(
                db,
                household=rnd.choice(world.households),
                created_by=demo["caseworker"],
                title="图表测试需求",
                category="cash" if cash else "goods",
                quantity=None if cash else 5,
                unit="" if cash else "床",
                amount_fen=500_000 if cash else None,
            )
            world.needs.append(need)
            await deliver(await new_fulfilment(rnd.choice(world.orgs), need), need)
        elif op == "again":
            fulfilment, need = rnd.choice(world.fulfilments)
            await deliver(fulfilment, need)
        elif op == "second_org":
            need = rnd.choice(world.needs)
            await deliver(await new_fulfilment(rnd.choice(world.orgs), need), need)
        elif op in {"confirm", "dispute", "undo"}:
            delivery, _, _ = rnd.choice(world.deliveries)
            delivery.state = {
                "confirm": DeliveryState.CONFIRMED,
                "dispute": DeliveryState.DISPUTED,
                "undo": DeliveryState.RECORDED,
            }[op]
            await db.flush()
            topic = "delivery.confirmed" if op == "confirm" else "delivery.disputed"
            done.append(await _event(db, topic, "delivery", delivery.id))
        elif op in {"hours", "attend"}:
            org = rnd.choice(world.orgs)
            log = HoursLog(
                id=uuid.uuid4(),
                volunteer_id=demo["volunteer"],
                organization_id=org.id,
                served_on=utcnow(),
                minutes=rnd.choice([1, 59, 330, 1440]),
                state=HoursState.APPROVED if op == "attend" else HoursState.PENDING,
            )
            db.add(log)
            await db.flush()
            world.hours.append(log)
            done.append(await _event(db, "hours.logged", "hours", log.id))
        elif op == "review" and world.hours:
            log = rnd.choice(world.hours)
            log.state = rnd.choice([HoursState.APPROVED, HoursState.REJECTED])
            await db.flush()
            done.append(await _event(db, f"hours.{log.state.value}", "hours", log.id))
        elif op == "spend":
            org = rnd.choice(world.orgs)
            projects = [p for p in world.projects if p.organization_id == org.id]
            if not projects or rnd.random() < 0.3:
                project = Project(
                    id=uuid.uuid4(),
                    organization_id=org.id,
                    title=f"图表测试项目 {uuid.uuid4().hex[:6]}",
                    category="goods",
                    region_code="330106",
                    target_fen=10_000_000,
                    raised_fen=0,
                    state=ProjectState.EXECUTING,
                    created_by=demo["admin"],
                )
                db.add(project)
                await db.flush()
                world.projects.append(project)
                projects = [project]
            project = rnd.choice(projects)
            amount = rnd.choice([1, 999, 100_000])
            kind = rnd.choice([EntryType.DISBURSEMENT, EntryType.DISBURSEMENT, EntryType.DONATION])
            db.add(
                LedgerEntry(
                    id=uuid.uuid4(),
                    project_id=project.id,
                    entry_type=kind,
                    amount_fen=-amount if kind == EntryType.DISBURSEMENT else amount,
                    balance_after_fen=0,
                    reason="图表测试",
                    created_at=utcnow(),
                )
            )
            await db.flush()
            if kind == EntryType.DISBURSEMENT:
                world.spent[project.id] = world.spent.get(project.id, 0) + amount
            done.append(
                await _event(
                    db,
                    "disbursement.approved",
                    "disbursement",
                    uuid.uuid4(),
                    {"project_id": str(project.id), "amount_fen": amount},
                )
            )
        elif done:  # an event handled again (late, or twice) changes nothing
            await _event(db, *rnd.choice(done))
    # a need's own event (edited, closed) recounts it for every organization: nothing changes
    for need in world.needs[:5]:
        await _event(db, "need.closed", "need", need.id)

    maintained = await repo.org_figure_rows(db)
    mine = {org.id for org in world.orgs}
    assert {k: v for k, v in maintained[0].items() if k in mine} == world.expected()
    await figures.rebuild(db)
    assert await repo.org_figure_rows(db) == maintained
    # the pages read the same numbers
    shown = await repo.figures(db, [org.id for org in world.orgs])
    for org_id, (needs, households, minutes, funds) in world.expected().items():
        figs = shown[org_id]
        assert (
            figs.needs_fulfilled,
            figs.households_helped,
            figs.volunteer_minutes,
            figs.funds_delivered_fen,
        ) == (needs, households, minutes, funds)
    ranked = {
        org.id: figs
        for org, figs in await repo.ranking(db, org_type=OrgType.SOCIAL_WORK_AGENCY.value)
    }
    assert {o for o in ranked if o in mine} == set(world.expected())
