"""docs/notifications.md is the contract: every event in its table has a producer, and the
action that causes it tells each recipient exactly once per channel — after commit, never
on rollback, and not again when the outbox event is processed a second time."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.core.db import utcnow
from backend.notifications import handlers
from backend.notifications.catalogue import CATALOGUE
from backend.notifications.models import Message
from backend.outbox.models import Notification, OutboxEvent, OutboxState
from tests.helpers import drain_outbox
from tests.notifications.causes import AS_SERVICE, CAUSES, Ctx

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "notifications.md"
ROW = re.compile(r"^\|\s*`([a-z_]+\.[a-z_]+)`\s*\|")

#: events produced by the account handlers (one-time links), not by the catalogue
ACCOUNT_EVENTS = {
    "invitation.created": handlers.send_invitation,
    "account.verify_email": handlers.send_verification,
    "account.reset_password": handlers.send_reset,
}


def documented() -> list[str]:
    return [m.group(1) for line in DOC.read_text().splitlines() if (m := ROW.match(line))]


def test_the_document_lists_the_issue_events() -> None:
    names = documented()
    assert len(names) == len(set(names)), "an event is listed twice"
    for required in (
        "organization.registered",
        "organization.approved",
        "organization.rejected",
        "invitation.created",
        "claim.created",
        "claim.released",
        "delivery.recorded",
        "delivery.confirmed",
        "delivery.disputed",
        "match.approved",
        "match.accepted",
        "match.declined",
        "match.expired",
        "disbursement.requested",
        "disbursement.approved",
        "disbursement.rejected",
        "donation.pledged",
        "donation.booked",
        "donation.expiring",
        "project.update_due",
        "project.overdue",
        "task.signup",
        "task.updated",
        "task.closed",
        "hours.approved",
        "hours.rejected",
        "referral.created",
        "referral.converted",
        "referral.dismissed",
        "household.verification_expiring",
        "household.verification_lapsed",
        "visit.due",
        "visit.overdue",
        "delivery.unconfirmed",
        "user.locked",
        "user.oidc_pending",
        "review.sla_warning",
        "review.sla_escalated",
        "claim.overdue",
    ):
        assert required in names, required


def _source_emits(topic: str) -> bool:
    """Some module outside the notifications package emits the topic (a literal, or an
    f-string over its prefix such as ``f"match.{target.value}"``)."""
    prefix = topic.split(".", 1)[0]
    for path in (ROOT / "backend").rglob("*.py"):
        if path.parent.name == "notifications" and path.name in {"catalogue.py", "messages.py"}:
            continue
        text = path.read_text()
        if f'"{topic}"' in text or f'f"{prefix}.{{' in text:
            return True
    return False


@pytest.mark.parametrize("name", documented())
def test_every_documented_event_has_a_producer(name: str) -> None:
    entry = CATALOGUE.get(name)
    assert entry is not None or name in ACCOUNT_EVENTS, f"{name} has no producer"
    if entry is not None:
        assert _source_emits(entry.topic), f"nothing emits the topic {entry.topic}"
    assert name in CAUSES, f"{name} has no causing action in tests/notifications/causes.py"


def test_every_catalogue_entry_is_documented() -> None:
    assert set(CATALOGUE) <= set(documented())


async def _produced(runtime: Any, since: datetime, kind: str) -> list[tuple[str, str, str]]:
    """(event id, recipient, channel) of every row of this kind written since ``since``."""
    async with runtime.sessionmaker() as session:
        inapp = (
            await session.execute(
                select(
                    Notification.event_id, Notification.user_id, Notification.organization_id
                ).where(Notification.kind == kind, Notification.created_at >= since)
            )
        ).all()
        messages = (
            await session.execute(
                select(Message.event_id, Message.recipient, Message.channel).where(
                    Message.kind == kind, Message.created_at >= since
                )
            )
        ).all()
    rows = [(str(e), f"user:{u}" if u else f"org:{o}", "inapp") for e, u, o in inapp]
    rows += [(str(e), r, c.value) for e, r, c in messages]
    return rows


async def _events(runtime: Any, since: datetime, topic: str) -> list[uuid.UUID]:
    async with runtime.sessionmaker() as session:
        return list(
            await session.scalars(
                select(OutboxEvent.id).where(
                    OutboxEvent.topic == topic, OutboxEvent.created_at >= since
                )
            )
        )


def _topic(name: str) -> str:
    if name in CATALOGUE:
        return CATALOGUE[name].topic
    return {
        "invitation.created": "invitation.created",
        "account.verify_email": "user.signed_up",
        "account.reset_password": "user.password_reset_requested",
    }[name]


@pytest.mark.parametrize("name", sorted(CAUSES))
async def test_the_cause_tells_each_recipient_once(
    runtime: Any, demo: dict[str, Any], tmp_path: Path, name: str
) -> None:
    ctx = Ctx(name=name, tmp=tmp_path)
    await drain_outbox(runtime)  # leftovers of other tests first

    # rolled back: no event, nobody told
    before = utcnow()
    async with runtime.sessionmaker() as session:
        await CAUSES[name](session, demo, ctx)
        await session.rollback()
    await drain_outbox(runtime)
    assert await _events(runtime, before, _topic(name)) == []
    assert await _produced(runtime, before, name) == []

    # committed: told only once the outbox job ran
    since = utcnow()
    async with runtime.transaction() as session:
        await CAUSES[name](session, demo, ctx)
    assert await _produced(runtime, since, name) == [], "told before the outbox job ran"
    events = await _events(runtime, since, _topic(name))
    assert events, f"{name}: the cause emitted no {_topic(name)} event"
    await drain_outbox(runtime)
    rows = await _produced(runtime, since, name)
    assert rows, f"{name}: nobody was told"
    counts = Counter(rows)
    assert max(counts.values()) == 1, counts
    assert {event for event, _, _ in rows} <= {str(e) for e in events}

    # processed again (a replayed job): still one row per recipient and channel
    async with runtime.transaction() as session:
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(events)).values(state=OutboxState.PENDING)
        )
    await drain_outbox(runtime)
    assert Counter(await _produced(runtime, since, name)) == counts


async def test_exact_recipients_of_a_few_events(
    runtime: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    """Who is told, precisely: an approval goes to the organization (inbox) and its admin
    (e-mail); a dispute is urgent and reaches the caseworker's inbox even when silenced."""
    from backend.notifications.models import Channel
    from backend.notifications.repository import save_preference

    async with runtime.transaction() as session:
        await save_preference(
            session, demo["caseworker"], "needs", Channel.INAPP, enabled=False, digest=False
        )
    try:
        since = utcnow()
        async with runtime.transaction() as session:
            await CAUSES["delivery.disputed"](session, demo, Ctx("delivery.disputed", tmp_path))
        await drain_outbox(runtime)
        rows = {(r, c) for _, r, c in await _produced(runtime, since, "delivery.disputed")}
        assert (f"user:{demo['caseworker']}", "inapp") in rows  # urgent: not silenced
        assert (f"org:{demo['org:charity']}", "inapp") in rows
        assert (str(demo["org_admin"]), "email") in rows

        since = utcnow()
        async with runtime.transaction() as session:
            await CAUSES["delivery.recorded"](session, demo, Ctx("delivery.recorded", tmp_path))
        await drain_outbox(runtime)
        rows = {(r, c) for _, r, c in await _produced(runtime, since, "delivery.recorded")}
        assert (f"user:{demo['caseworker']}", "inapp") not in rows  # silenced, not urgent
        assert (str(demo["caseworker"]), "email") in rows
    finally:
        async with runtime.transaction() as session:
            await save_preference(
                session, demo["caseworker"], "needs", Channel.INAPP, enabled=True, digest=False
            )


def test_causes_written_as_the_service_does_are_few() -> None:
    """Most events are caused by the real service or job; the rest are listed here on purpose."""
    assert {
        "match.approved",
        "match.accepted",
        "match.declined",
        "match.expired",
        "disbursement.requested",
        "disbursement.approved",
        "disbursement.rejected",
        "donation.pledged",
        "referral.created",
        "referral.converted",
        "user.oidc_pending",
    } == AS_SERVICE
