"""Deadlines from data: each check finds what is late (or soon due) and emits an outbox event
once per subject and deadline (a ``deadline_marks`` row), and the catalogue handlers tell people.

Every function takes ``now`` (the clock is injected; jobs pass the real time). Thresholds are
settings (docs/operations.md) with the defaults of docs/notifications.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.needs.models import Urgency
from backend.notifications import repository as repo
from backend.outbox.service import emit

SHANGHAI = ZoneInfo("Asia/Shanghai")
_NS = uuid.UUID("6f1c3a52-9d0e-4a8b-bb0e-5d7e1f1a2c33")


@dataclass(frozen=True)
class Thresholds:
    """The review SLA and reminder thresholds, as shown on the coordinator's pages."""

    sla_hours: dict[Urgency, int]
    warn_percent: int
    delivery_confirm_days: int
    project_warn_days: int
    project_overdue_days: int
    pledge_warn_hours: int
    verification_warn_days: int
    visit_overdue_days: int

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(
            sla_hours={
                Urgency.EMERGENCY: settings.review_sla_emergency_hours,
                Urgency.HIGH: settings.review_sla_high_hours,
                Urgency.NORMAL: settings.review_sla_normal_hours,
            },
            warn_percent=settings.review_warn_percent,
            delivery_confirm_days=settings.delivery_confirm_days,
            project_warn_days=settings.project_update_warn_days,
            project_overdue_days=settings.project_update_overdue_days,
            pledge_warn_hours=settings.pledge_expiry_warn_hours,
            verification_warn_days=settings.verification_warn_days,
            visit_overdue_days=settings.visit_overdue_days,
        )


def _mark_id(*parts: object) -> uuid.UUID:
    """One deadline of one subject (e.g. a project's update cycle) → a stable id to mark."""
    return uuid.uuid5(_NS, ":".join(str(p) for p in parts))


def _local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def _once(
    session: AsyncSession,
    kind: str,
    mark: uuid.UUID,
    *,
    topic: str,
    aggregate_type: str,
    aggregate_id: uuid.UUID,
    payload: Mapping[str, object] | None = None,
) -> bool:
    if not await repo.mark_once(session, kind, mark):
        return False
    await emit(
        session,
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=dict(payload or {}),
    )
    return True


async def review_sla(session: AsyncSession, limits: Thresholds, now: datetime) -> dict[str, int]:
    """Proposals waiting for a coordinator: warn at ``warn_percent`` of the SLA, escalate at it."""
    counts = {"warned": 0, "escalated": 0}
    for match_id, created_at, urgency in await repo.proposals_awaiting_review(session):
        sla = timedelta(hours=limits.sla_hours[urgency])
        due = created_at + sla
        payload = {"due": _local(due), "urgency": urgency.value}
        if now >= due:
            if await _once(
                session,
                "review.escalate",
                match_id,
                topic="review.sla_escalated",
                aggregate_type="match",
                aggregate_id=match_id,
                payload=payload,
            ):
                counts["escalated"] += 1
        elif now >= created_at + sla * (limits.warn_percent / 100) and await _once(
            session,
            "review.warn",
            match_id,
            topic="review.sla_warning",
            aggregate_type="match",
            aggregate_id=match_id,
            payload=payload,
        ):
            counts["warned"] += 1
    return counts


def _today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


async def reminders(session: AsyncSession, limits: Thresholds, now: datetime) -> dict[str, int]:
    """The daily reminders: claims past the need's deadline, deliveries unconfirmed, project
    updates due, pledges about to expire, verifications expiring, visits due and overdue."""
    today = _today(now)
    counts: dict[str, int] = {}

    def bump(key: str, fired: bool) -> None:
        counts[key] = counts.get(key, 0) + int(fired)

    for claim_id in await repo.claims_past_deadline(session, today):
        bump(
            "claim.overdue",
            await _once(
                session,
                "claim.overdue",
                claim_id,
                topic="claim.overdue",
                aggregate_type="claim",
                aggregate_id=claim_id,
            ),
        )
    days = limits.delivery_confirm_days
    for delivery_id in await repo.deliveries_unconfirmed(session, now - timedelta(days=days)):
        bump(
            "delivery.unconfirmed",
            await _once(
                session,
                "delivery.unconfirmed",
                delivery_id,
                topic="delivery.unconfirmed",
                aggregate_type="delivery",
                aggregate_id=delivery_id,
                payload={"days": days},
            ),
        )
    warn = limits.project_warn_days
    for project_id, since in await repo.projects_without_update(
        session, now - timedelta(days=warn)
    ):
        if now - since >= timedelta(days=limits.project_overdue_days):
            continue  # overdue: the projects domain flags it (project.overdue)
        bump(
            "project.update_due",
            await _once(
                session,
                "project.update_due",
                _mark_id(project_id, since.isoformat()),
                topic="project.update_due",
                aggregate_type="project",
                aggregate_id=project_id,
                payload={"days": warn},
            ),
        )
    until = now + timedelta(hours=limits.pledge_warn_hours)
    for donation_id in await repo.pledges_expiring(session, now, until):
        bump(
            "donation.expiring",
            await _once(
                session,
                "donation.expiring",
                donation_id,
                topic="donation.expiring",
                aggregate_type="donation",
                aggregate_id=donation_id,
            ),
        )
    horizon = today + timedelta(days=limits.verification_warn_days)
    for household_id, valid_until in await repo.verifications_expiring(session, today, horizon):
        bump(
            "household.verification_expiring",
            await _once(
                session,
                "household.verification_expiring",
                _mark_id(household_id, valid_until),
                topic="household.verification_expiring",
                aggregate_type="household",
                aggregate_id=household_id,
            ),
        )
    for schedule_id, due in await repo.visits_by_due(session, today, today + timedelta(days=1)):
        bump(
            "visit.due",
            await _once(
                session,
                "visit.due",
                _mark_id(schedule_id, due),
                topic="visit.due",
                aggregate_type="visit_schedule",
                aggregate_id=schedule_id,
            ),
        )
    overdue_before = today - timedelta(days=limits.visit_overdue_days)
    for schedule_id, due in await repo.visits_by_due(session, date.min, overdue_before):
        bump(
            "visit.overdue",
            await _once(
                session,
                "visit.overdue",
                _mark_id(schedule_id, due),
                topic="visit.overdue",
                aggregate_type="visit_schedule",
                aggregate_id=schedule_id,
            ),
        )
    return counts
