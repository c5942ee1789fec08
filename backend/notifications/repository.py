"""Queries of notifications: a user's own and those of their organizations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, false, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.accounts.models import Membership, OrgRole, Role, RoleGrant, User, UserStatus
from backend.core.db import utcnow
from backend.donations.models import Donation, DonationChannel, DonationState
from backend.fulfilment.models import Delivery, DeliveryState, VisitSchedule
from backend.households.models import Household, HouseholdStatus
from backend.matches.models import Match, MatchState
from backend.needs.models import Need, NeedState, Urgency
from backend.notifications.models import (
    Channel,
    Contact,
    DeadlineMark,
    Message,
    MessageState,
    Preference,
)
from backend.outbox.models import Notification
from backend.projects.models import Project, ProjectState
from backend.regions.models import Region
from backend.resources.models import Claim, ClaimState
from backend.volunteering.models import Signup, SignupState, TaskSlot

MAX_ATTEMPTS = 8


def _visible(user_id: uuid.UUID, org_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    conditions = [Notification.user_id == user_id]
    if org_ids:
        conditions.append(Notification.organization_id.in_(list(org_ids)))
    return or_(*conditions) if conditions else false()


async def insert_once(session: AsyncSession, **values: object) -> bool:
    """Insert unless the (event, user, organization, kind) row exists; True when inserted.

    The unique constraint treats NULLs as distinct, so the row is looked up first (NULL-safe);
    the outbox job runs each event once anyway, this makes a replay harmless too.
    """
    exists = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.event_id.is_not_distinct_from(values.get("event_id")),
            Notification.user_id.is_not_distinct_from(values.get("user_id")),
            Notification.organization_id.is_not_distinct_from(values.get("organization_id")),
            Notification.kind == values["kind"],
        )
    )
    if exists:
        return False
    stmt = (
        insert(Notification)
        .values(id=uuid.uuid4(), **values)
        .on_conflict_do_nothing(index_elements=["event_id", "user_id", "organization_id", "kind"])
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def listing(
    session: AsyncSession,
    user_id: uuid.UUID,
    org_ids: Sequence[uuid.UUID],
    *,
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[Notification], int]:
    query = select(Notification).where(_visible(user_id, org_ids))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id).offset(offset).limit(limit)
    )
    return rows.all(), total


async def unread_count(
    session: AsyncSession, user_id: uuid.UUID, org_ids: Sequence[uuid.UUID]
) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(_visible(user_id, org_ids), Notification.read_at.is_(None))
        )
        or 0
    )


async def mark_read(session: AsyncSession, user_id: uuid.UUID, org_ids: Sequence[uuid.UUID]) -> int:
    result = await session.execute(
        update(Notification)
        .where(_visible(user_id, org_ids), Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- recipients, preferences, outgoing messages (issue 18) -------------------------------------


async def users_with_role(
    session: AsyncSession, role: Role, region_code: str | None = None
) -> list[uuid.UUID]:
    """Active users holding ``role``; with a region, those whose subtree contains it."""
    query = (
        select(RoleGrant.user_id)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == role, User.status == UserStatus.ACTIVE)
    )
    if region_code is not None:
        path = await session.scalar(select(Region.path).where(Region.code == region_code))
        if path is None:
            return []
        grant_region = aliased(Region)
        query = query.join(grant_region, grant_region.code == RoleGrant.region_code).where(
            literal(path).startswith(grant_region.path)
        )
    rows = await session.scalars(query.distinct().order_by(RoleGrant.user_id))
    return list(rows)


async def organization_admins(session: AsyncSession, org_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organization_id == org_id,
            Membership.role == OrgRole.ADMIN,
            User.status == UserStatus.ACTIVE,
        )
        .order_by(Membership.user_id)
    )
    return list(rows)


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> list[Preference]:
    return list(await session.scalars(select(Preference).where(Preference.user_id == user_id)))


async def save_preference(
    session: AsyncSession,
    user_id: uuid.UUID,
    group: str,
    channel: Channel,
    *,
    enabled: bool,
    digest: bool,
) -> None:
    stmt = insert(Preference).values(
        user_id=user_id, group=group, channel=channel, enabled=enabled, digest=digest
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id", "group", "channel"],
            set_={"enabled": stmt.excluded.enabled, "digest": stmt.excluded.digest},
        )
    )


async def contact(session: AsyncSession, user_id: uuid.UUID) -> Contact | None:
    return await session.get(Contact, user_id)


async def insert_message(session: AsyncSession, **values: object) -> uuid.UUID | None:
    """Insert one outgoing message unless (event, recipient, channel) exists; its id if new."""
    new_id = uuid.uuid4()
    result = await session.execute(
        insert(Message)
        .values(id=new_id, **values)
        .on_conflict_do_nothing(index_elements=["event_id", "recipient", "channel"])
        .returning(Message.id)
    )
    return result.scalar_one_or_none()


async def lock_message(session: AsyncSession, message_id: uuid.UUID) -> Message | None:
    return (
        await session.scalars(
            select(Message).where(Message.id == message_id).with_for_update(skip_locked=True)
        )
    ).first()


async def pending_message_ids(
    session: AsyncSession, *, older_than: datetime, limit: int = 200
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Message.id)
        .where(
            Message.state == MessageState.PENDING,
            Message.created_at < older_than,
            Message.attempts < MAX_ATTEMPTS,
        )
        .order_by(Message.created_at)
        .limit(limit)
    )
    return list(rows)


async def digest_rows(session: AsyncSession, *, limit: int = 2000) -> list[Message]:
    rows = await session.scalars(
        select(Message)
        .where(Message.state == MessageState.DIGEST)
        .order_by(Message.user_id, Message.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def mailbox(
    session: AsyncSession, *, offset: int = 0, limit: int = 20
) -> tuple[list[Message], int]:
    query = select(Message)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Message.created_at.desc(), Message.id).offset(offset).limit(limit)
    )
    return list(rows), total


async def mark_once(session: AsyncSession, kind: str, subject_id: uuid.UUID) -> bool:
    """True the first time (kind, subject) is marked: a deadline event is emitted once."""
    result = await session.execute(
        insert(DeadlineMark)
        .values(id=uuid.uuid4(), kind=kind, subject_id=subject_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["kind", "subject_id"])
        .returning(DeadlineMark.id)
    )
    return result.scalar_one_or_none() is not None


# --- deadline candidates (read-only; the deadline jobs emit events for them) ---------------------


async def task_volunteers(session: AsyncSession, task_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Signup.volunteer_id)
        .join(TaskSlot, TaskSlot.id == Signup.slot_id)
        .where(TaskSlot.task_id == task_id, Signup.state == SignupState.SIGNED_UP)
        .distinct()
    )
    return list(rows)


async def proposals_awaiting_review(
    session: AsyncSession, *, limit: int = 5000
) -> list[tuple[uuid.UUID, datetime, Urgency]]:
    rows = await session.execute(
        select(Match.id, Match.created_at, Need.urgency)
        .join(Need, Need.id == Match.need_id)
        .where(Match.state == MatchState.PROPOSED)
        .order_by(Match.created_at)
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def claims_past_deadline(
    session: AsyncSession, today: date, *, limit: int = 5000
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Claim.id)
        .join(Need, Need.id == Claim.need_id)
        .where(
            Claim.state == ClaimState.ACTIVE,
            Need.deadline.is_not(None),
            Need.deadline < today,
            Need.state.in_([NeedState.RESERVED, NeedState.IN_PROGRESS]),
        )
        .limit(limit)
    )
    return list(rows)


async def deliveries_unconfirmed(
    session: AsyncSession, before: datetime, *, limit: int = 5000
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Delivery.id)
        .where(Delivery.state == DeliveryState.RECORDED, Delivery.created_at < before)
        .limit(limit)
    )
    return list(rows)


async def projects_without_update(
    session: AsyncSession, before: datetime, *, limit: int = 5000
) -> list[tuple[uuid.UUID, datetime]]:
    since = func.coalesce(Project.last_update_at, Project.created_at)
    rows = await session.execute(
        select(Project.id, since)
        .where(Project.state == ProjectState.EXECUTING, since < before)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


async def pledges_expiring(
    session: AsyncSession, now: datetime, until: datetime, *, limit: int = 5000
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Donation.id)
        .where(
            Donation.state == DonationState.PENDING,
            Donation.channel == DonationChannel.OFFLINE,
            Donation.donor_id.is_not(None),
            Donation.expires_at > now,
            Donation.expires_at <= until,
        )
        .limit(limit)
    )
    return list(rows)


async def verifications_expiring(
    session: AsyncSession, today: date, until: date, *, limit: int = 5000
) -> list[tuple[uuid.UUID, date]]:
    rows = await session.execute(
        select(Household.id, Household.verified_until)
        .where(
            Household.status == HouseholdStatus.ACTIVE,
            Household.verified_until.is_not(None),
            Household.verified_until >= today,
            Household.verified_until <= until,
        )
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows if r[1] is not None]


async def visits_by_due(
    session: AsyncSession, start: date, end: date, *, limit: int = 5000
) -> list[tuple[uuid.UUID, date]]:
    rows = await session.execute(
        select(VisitSchedule.id, VisitSchedule.next_due)
        .where(
            VisitSchedule.next_due >= start,
            VisitSchedule.next_due <= end,
            or_(VisitSchedule.ends_on.is_(None), VisitSchedule.ends_on >= start),
        )
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows]
