"""Property: after the outbox jobs ran, the index holds exactly the database's public listings.

Random sequences of create / publish / claim / start / withdraw / expire / redraft and of
consent withdrawal; state moves go through ``backend.needs.states.transition`` (outbox event
in the same transaction), then ``drain_outbox`` runs the handlers as the worker would.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from backend.accounts.models import Organization
from backend.audit.service import Actor
from backend.core.db import utcnow
from backend.households.models import Consent
from backend.needs.models import Need, NeedState
from backend.needs.states import can_move, lock_need, transition
from backend.outbox.service import emit
from backend.projects.models import Project
from backend.search import repository as projections
from backend.search import service
from backend.search.provider import engine_of
from backend.volunteering.models import VolunteerTask
from tests.helpers import drain_outbox
from tests.search.listings import ensure_categories, make_household, make_need

# Repeated entries weight the draw towards moves that make needs public.
OPS = (
    "create",
    "create",
    "publish",
    "publish",
    "publish",
    "claim",
    "claim",
    "start",
    "withdraw",
    "expire",
    "redraft",
    "consent_withdrawn",
)
TARGET = {
    "publish": NeedState.PUBLISHED,
    "claim": NeedState.RESERVED,
    "start": NeedState.IN_PROGRESS,
    "withdraw": NeedState.WITHDRAWN,
    "expire": NeedState.EXPIRED,
    "redraft": NeedState.DRAFT,
}
REGIONS = ("330106", "330106002", "331022", "330100")

op_strategy = st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.sampled_from(REGIONS))


async def _apply(
    runtime: Any,
    demo: dict[str, Any],
    needs: list[tuple[uuid.UUID, uuid.UUID]],
    op: str,
    pick: int,
    region: str,
) -> None:
    actor = Actor(kind="user", id=demo["caseworker"], role="caseworker")
    async with runtime.transaction() as session:
        if op == "create" or not needs:
            # every new need is published at once in this test: a draft is not public anyway
            hh = await make_household(session, demo, consent=pick % 5 != 0, verified=pick % 7 != 0)
            need = await make_need(
                session, demo, hh, public_region=region, title=f"为困难家庭送冬季取暖物资 {pick}"
            )
            needs.append((need.id, hh.id))
            await transition(session, need, NeedState.PUBLISHED, actor=actor)
            return
        need_id, household_id = needs[pick % len(needs)]
        if op == "consent_withdrawn":
            await session.execute(
                update(Consent)
                .where(Consent.household_id == household_id, Consent.withdrawn_at.is_(None))
                .values(withdrawn_at=utcnow())
            )
            await session.execute(
                update(Need)
                .where(Need.household_id == household_id)
                .values(hidden_reason="consent")
            )
            await emit(
                session,
                topic="household.consent_withdrawn",
                aggregate_type="household",
                aggregate_id=household_id,
            )
            return
        need = await lock_need(session, need_id)
        if can_move(need.state, TARGET[op]):
            await transition(session, need, TARGET[op], actor=actor)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op_strategy, min_size=1, max_size=20))
async def test_index_equals_public_projection(
    runtime: Any, demo: dict[str, Any], ops: list[tuple[str, int, str]]
) -> None:
    engine = engine_of(runtime.services)
    async with runtime.transaction() as session:
        await ensure_categories(session)
    await drain_outbox(runtime)
    async with runtime.transaction() as session:
        await service.rebuild(session, engine)
    needs: list[tuple[uuid.UUID, uuid.UUID]] = []
    for op, pick, region in ops:
        await _apply(runtime, demo, needs, op, pick, region)
    await drain_outbox(runtime)
    async with runtime.transaction() as session:
        expected = await projections.public_ids(session)
    assert await engine.get_ids() == expected
    # a second run of every handler (redelivery) changes nothing
    async with runtime.transaction() as session:
        for need_id, _ in needs:
            await service.sync_ids(session, engine, "need", [need_id])
    assert await engine.get_ids() == expected


async def test_hidden_and_unconsented_needs_are_not_public(
    runtime: Any, demo: dict[str, Any]
) -> None:
    """The projection itself: state, hiding, consent and verification all count."""
    async with runtime.transaction() as session:
        await ensure_categories(session)
        ok = await make_need(
            session, demo, await make_household(session, demo), state=NeedState.PUBLISHED
        )
        draft = await make_need(session, demo, await make_household(session, demo))
        hidden = await make_need(
            session, demo, await make_household(session, demo), state=NeedState.PUBLISHED
        )
        hidden.hidden_reason = "verification_lapsed"
        no_consent = await make_need(
            session,
            demo,
            await make_household(session, demo, consent=False),
            state=NeedState.RESERVED,
        )
        lapsed = await make_need(
            session,
            demo,
            await make_household(session, demo, verified=False),
            state=NeedState.IN_PROGRESS,
        )
        await session.flush()
        docs = await projections.documents_for(
            session, "need", [ok.id, draft.id, hidden.id, no_consent.id, lapsed.id]
        )
    assert [d.id for d in docs] == [str(ok.id)]
    doc = docs[0]
    assert doc.region_codes == (
        "330000",
        "330100",
        "330106",
    )  # the generalized region, not the community
    assert doc.org_name is None
    assert doc.org_type is None


async def test_project_and_task_documents_carry_their_own_columns(runtime: Any) -> None:
    """Projects: body = goal, deadline = end date; tasks: body = description, no deadline."""
    async with runtime.transaction() as session:
        for kind, model, body, deadline in (
            ("project", Project, "goal", "ends_on"),
            ("task", VolunteerTask, "description", None),
        ):
            rows = {
                str(row.id): (row, org)
                for row, org in (
                    await session.execute(
                        select(model, Organization).join(
                            Organization, Organization.id == model.organization_id
                        )
                    )
                ).all()
            }
            docs = [d async for batch in projections.iter_documents(session, kind) for d in batch]
            assert docs, f"the demo data has public {kind}s"
            for doc in docs:
                row, org = rows[doc.id]
                assert doc.kind == kind and doc.title == row.title
                assert doc.body == getattr(row, body)
                assert doc.deadline == (getattr(row, deadline) if deadline else None)
                assert doc.region_codes[-1] == row.region_code
                assert (doc.org_name, doc.org_type) == (org.name, org.org_type.value)
                assert doc.state == row.state.value and doc.urgency is None
