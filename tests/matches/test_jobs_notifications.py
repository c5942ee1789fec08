"""The run job (committed data, its own county) and notifications from the outbox."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.matches import service
from backend.matches.fairness import public_count
from backend.matches.models import Match, MatchingRun, MatchState, RunState
from backend.matches.tasks import execute_run
from backend.notifications import service as notes
from backend.outbox.models import Notification
from tests.helpers import drain_outbox
from tests.matches import factories as fx

COUNTY = "330109"  # 萧山区: no other test writes there


async def test_run_job_is_idempotent_and_notifies(runtime: Any, demo: dict[str, Any]) -> None:
    async with runtime.transaction() as s:
        await fx.world(s, demo, community="330109113023", needs=2, capacity=2)
        coordinator = await fx.user(s, demo["coordinator"])
        run = await service.request_run(s, coordinator, COUNTY)
    assert await execute_run(runtime, run.id) == "done"
    assert await execute_run(runtime, run.id) == "skipped"
    async with runtime.transaction() as s:
        done = await s.get(MatchingRun, run.id)
        assert done.state == RunState.DONE
        assert done.progress == 100
        first = list(await s.scalars(select(Match).where(Match.run_id == run.id)))
        assert len(first) == 2
        run2 = await service.request_run(s, coordinator, COUNTY)
    assert await execute_run(runtime, run2.id) == "done"
    async with runtime.transaction() as s:
        open_ = list(
            await s.scalars(
                select(Match)
                .join(MatchingRun, MatchingRun.id == Match.run_id)
                .where(MatchingRun.county_code == COUNTY, Match.state == MatchState.PROPOSED)
            )
        )
        assert len(open_) == 2
        assert {m.run_id for m in open_} == {run2.id}
        await service.approve(s, coordinator, open_[0].id)
        approved_id = open_[0].id
    await drain_outbox(runtime)
    await drain_outbox(runtime)  # a second pass finds nothing to do
    async with runtime.transaction() as s:
        member = await fx.user(s, demo["org_member"])
        org_notes = list(
            await s.scalars(
                select(Notification).where(
                    Notification.organization_id == demo["org:charity"],
                    Notification.kind == "match.approved",
                )
            )
        )
        assert len([n for n in org_notes if n.link == "/organizations/matches"]) >= 1
        runs_done = list(
            await s.scalars(
                select(Notification).where(
                    Notification.user_id == demo["coordinator"],
                    Notification.kind == "match.run_done",
                )
            )
        )
        assert len(runs_done) >= 2
        assert await notes.unread(s, member) >= 1
        await service.accept(s, member, approved_id)
    await drain_outbox(runtime)
    async with runtime.transaction() as s:
        accepted = list(
            await s.scalars(
                select(Notification).where(
                    Notification.user_id == demo["coordinator"],
                    Notification.kind == "match.accepted",
                )
            )
        )
        assert len(accepted) == 1
        shown, _ = await notes.page_for(
            s,
            await fx.user(s, demo["coordinator"]),
            __import__("backend.core.pagination", fromlist=["Page"]).Page(),
        )
        assert any("萧山区" in n.text or "测试需求" in n.text for n in shown)
        # Replaying the handler for the same event inserts nothing.
        from backend.core.events import HandlerContext
        from backend.matches.handlers import notify_match
        from backend.outbox.models import OutboxEvent

        event = (
            await s.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.topic == "match.accepted", OutboxEvent.aggregate_id == approved_id
                )
            )
        ).one()
        await notify_match(HandlerContext(session=s), event)
        again = list(await s.scalars(select(Notification).where(Notification.event_id == event.id)))
        assert len(again) == 1


@pytest.mark.parametrize(
    ("n", "shown"), [(0, "<11"), (1, "<11"), (10, "<11"), (11, "11"), (250, "250")]
)
def test_public_count(n: int, shown: str) -> None:
    assert public_count(n) == shown


def test_public_count_rejects_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        public_count(-1)
