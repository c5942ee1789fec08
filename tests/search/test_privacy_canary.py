"""Canary: personal fields of households never reach the index; consent withdrawal removes."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import tantivy
from sqlalchemy import update

from backend.audit.service import Actor
from backend.core.db import utcnow
from backend.households.models import Consent
from backend.needs.models import Need, NeedState
from backend.needs.states import transition
from backend.outbox.service import emit
from backend.search import repository as projections
from backend.search import service
from backend.search.provider import engine_of
from backend.search.tantivy_engine import TantivyEngine
from tests.helpers import drain_outbox
from tests.search.listings import ensure_categories, make_household, make_need


async def test_no_personal_marker_reaches_the_index(runtime: Any, demo: dict[str, Any]) -> None:
    engine = engine_of(runtime.services)
    assert isinstance(engine, TantivyEngine)
    markers: list[str] = []
    need_ids = []
    async with runtime.transaction() as session:
        await ensure_categories(session)
        for n in range(5):
            tag = uuid.uuid4().hex[:10].upper()
            personal = {
                "name": f"姓名标记{tag}",
                "id_number": f"ID{tag}X",
                "phone": f"PHONE{tag}",
                "address": f"住址标记{tag}",
            }
            markers.extend(personal.values())
            hh = await make_household(session, demo, personal=personal)
            need = await make_need(
                session, demo, hh, title=f"为困难家庭送米面油 {n}", state=NeedState.PUBLISHED
            )
            need_ids.append(need.id)
    async with runtime.transaction() as session:
        await service.rebuild(session, engine)
        docs = await projections.documents_for(session, "need", need_ids)
    assert {d.id for d in docs} == {str(i) for i in need_ids}
    for doc in docs:
        flat = json.dumps(dataclasses.asdict(doc), ensure_ascii=False, default=str)
        assert not [m for m in markers if m in flat]
    # the raw stored tantivy documents (everything the index keeps on disk that is retrievable)
    searcher = engine._current_searcher()
    hits = searcher.search(tantivy.Query.all_query(), limit=searcher.num_docs).hits
    stored = " ".join(
        json.dumps(searcher.doc(addr).to_dict(), ensure_ascii=False, default=repr)
        for _, addr in hits
    )
    assert stored, "the index holds documents"
    assert not [m for m in markers if m in stored]
    # and every marker text queried as keywords finds nothing
    from backend.search import SearchQuery

    for m in markers:
        assert (await engine.search(SearchQuery(text=m))).total == 0


async def test_consent_withdrawal_removes_the_households_needs(
    runtime: Any, demo: dict[str, Any]
) -> None:
    engine = engine_of(runtime.services)
    actor = Actor(kind="user", id=demo["caseworker"], role="caseworker")
    async with runtime.transaction() as session:
        await ensure_categories(session)
        hh = await make_household(session, demo)
        first = await make_need(session, demo, hh)
        second = await make_need(session, demo, hh, title="助学金资助")
        await transition(session, first, NeedState.PUBLISHED, actor=actor)
        await transition(session, second, NeedState.PUBLISHED, actor=actor)
    await drain_outbox(runtime)
    ids = await engine.get_ids()
    assert {str(first.id), str(second.id)} <= ids
    async with runtime.transaction() as session:
        await session.execute(
            update(Consent).where(Consent.household_id == hh.id).values(withdrawn_at=utcnow())
        )
        await session.execute(
            update(Need).where(Need.household_id == hh.id).values(hidden_reason="consent")
        )
        await emit(
            session,
            topic="household.consent_withdrawn",
            aggregate_type="household",
            aggregate_id=hh.id,
        )
    await drain_outbox(runtime)
    assert not {str(first.id), str(second.id)} & await engine.get_ids()
