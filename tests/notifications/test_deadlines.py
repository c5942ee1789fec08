"""Deadlines move work: the review SLA warns at 75 % and escalates at 100 % (clock injected),
each once; thresholds come from settings; reminders fire once per subject and cycle."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.config import Settings
from backend.core.db import utcnow
from backend.matches.models import Match, MatchSource, MatchState
from backend.needs.models import Need, Urgency
from backend.notifications import deadlines
from backend.notifications.models import Message
from backend.notifications.tasks import daily_reminders, review_deadlines
from backend.outbox.models import Notification, OutboxEvent
from backend.projects.models import Project, ProjectState
from tests.helpers import drain_outbox
from tests.notifications.causes import fresh_need


async def _proposal(
    runtime: Any, demo: dict[str, Any], urgency: Urgency, at: datetime
) -> uuid.UUID:
    async with runtime.transaction() as session:
        need = await fresh_need(session, demo, region_code="330102")
        row = await session.get(Need, need.id)
        assert row is not None
        row.urgency = urgency
        match = Match(
            id=uuid.uuid4(),
            need_id=need.id,
            organization_id=demo["org:charity"],
            source=MatchSource.ENGINE,
            state=MatchState.PROPOSED,
            quantity=1,
            created_at=at,
        )
        session.add(match)
        return match.id


async def _topics(runtime: Any, aggregate_id: uuid.UUID) -> list[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.topic)
            .where(OutboxEvent.aggregate_id == aggregate_id)
            .order_by(OutboxEvent.created_at)
        )
        return list(rows)


def clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at


async def test_emergency_review_warns_at_three_hours_and_escalates_at_four(
    runtime: Any, demo: dict[str, Any]
) -> None:
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=10)
    match_id = await _proposal(runtime, demo, Urgency.EMERGENCY, t0)

    async def at(delta: timedelta) -> list[str]:
        await review_deadlines({"runtime": runtime, "clock": clock(t0 + delta)})
        return await _topics(runtime, match_id)

    assert await at(timedelta(hours=2, minutes=59)) == []
    assert await at(timedelta(hours=3)) == ["review.sla_warning"]
    assert await at(timedelta(hours=3, minutes=30)) == ["review.sla_warning"]  # once
    assert await at(timedelta(hours=4)) == ["review.sla_warning", "review.sla_escalated"]
    assert await at(timedelta(hours=9)) == ["review.sla_warning", "review.sla_escalated"]

    await drain_outbox(runtime)
    async with runtime.sessionmaker() as session:
        events = dict(
            (
                await session.execute(
                    select(OutboxEvent.topic, OutboxEvent.id).where(
                        OutboxEvent.aggregate_id == match_id
                    )
                )
            ).all()
        )
        warned = set(
            await session.scalars(
                select(Notification.user_id).where(
                    Notification.event_id == events["review.sla_warning"]
                )
            )
        )
        escalated = set(
            await session.scalars(
                select(Notification.user_id).where(
                    Notification.event_id == events["review.sla_escalated"]
                )
            )
        )
        mails = set(
            await session.scalars(
                select(Message.recipient).where(Message.event_id == events["review.sla_escalated"])
            )
        )
    assert warned == {demo["coordinator"]}  # the coordinator of Hangzhou (330100)
    assert escalated == {demo["coordinator"], demo["admin"]}  # then the platform admin too
    assert mails == {str(demo["coordinator"]), str(demo["admin"])}


async def test_thresholds_come_from_settings(runtime: Any, demo: dict[str, Any]) -> None:
    limits = deadlines.Thresholds.of(
        Settings.from_env(review_sla_normal_hours=10, review_warn_percent=50)
    )
    t0 = utcnow().replace(microsecond=0) - timedelta(days=1)
    match_id = await _proposal(runtime, demo, Urgency.NORMAL, t0)
    for delta, expected in (
        (timedelta(hours=4, minutes=59), []),
        (timedelta(hours=5), ["review.sla_warning"]),
        (timedelta(hours=9, minutes=59), ["review.sla_warning"]),
        (timedelta(hours=10), ["review.sla_warning", "review.sla_escalated"]),
    ):
        async with runtime.transaction() as session:
            await deadlines.review_sla(session, limits, t0 + delta)
        assert await _topics(runtime, match_id) == expected, delta


async def test_defaults_are_those_of_the_issue() -> None:
    limits = deadlines.Thresholds.of(Settings.from_env())
    assert limits.sla_hours == {Urgency.EMERGENCY: 4, Urgency.HIGH: 24, Urgency.NORMAL: 72}
    assert limits.warn_percent == 75
    assert limits.delivery_confirm_days == 7
    assert (limits.project_warn_days, limits.project_overdue_days) == (75, 90)
    assert limits.verification_warn_days == 30


async def test_a_decided_proposal_is_not_chased(runtime: Any, demo: dict[str, Any]) -> None:
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=30)
    match_id = await _proposal(runtime, demo, Urgency.HIGH, t0)
    async with runtime.transaction() as session:
        match = await session.get(Match, match_id)
        assert match is not None
        match.state = MatchState.REJECTED
    await review_deadlines({"runtime": runtime, "clock": clock(t0 + timedelta(hours=25))})
    assert await _topics(runtime, match_id) == []


async def test_project_update_reminder_once_per_cycle(runtime: Any, demo: dict[str, Any]) -> None:
    now = utcnow()
    async with runtime.transaction() as session:
        project = Project(
            id=uuid.uuid4(),
            organization_id=demo["org:charity"],
            title="暖巢更新测试",
            category="housing_repair",
            region_code="330106",
            target_fen=100_000,
            state=ProjectState.EXECUTING,
            created_by=demo["org_admin"],
            last_update_at=now - timedelta(days=74),
        )
        session.add(project)
    ctx = {"runtime": runtime, "clock": clock(now)}
    await daily_reminders(ctx)
    assert await _topics(runtime, project.id) == []
    ctx["clock"] = clock(now + timedelta(days=2))  # 76 days without an update
    await daily_reminders(ctx)
    await daily_reminders(ctx)
    assert await _topics(runtime, project.id) == ["project.update_due"]
    async with runtime.transaction() as session:  # an update starts a new cycle
        row = await session.get(Project, project.id)
        assert row is not None
        row.last_update_at = now
    ctx["clock"] = clock(now + timedelta(days=76))
    await daily_reminders(ctx)
    assert await _topics(runtime, project.id) == ["project.update_due", "project.update_due"]
