"""Outbox subscribers of ``match.*``: in-app notifications to both sides.

Each runs in the outbox job's transaction, so its rows are written exactly once; the
notification rows are also keyed by the event id (a replay inserts nothing).
Parameters hold public values only: the need's public title, organization and county names.
"""

from __future__ import annotations

import uuid

from backend.accounts.models import Organization
from backend.core.events import HandlerContext, subscribe
from backend.core.repository import get_by_id
from backend.matches import figures, queue
from backend.matches.models import Match, MatchingRun, MatchState
from backend.needs.models import Need
from backend.notifications.service import notify
from backend.outbox.models import OutboxEvent
from backend.regions.models import Region

ORG_LINK = "/organizations/matches"
COORD_LINK = "/coordination/matches"


@subscribe("match.*")
async def notify_match(ctx: HandlerContext, event: OutboxEvent) -> None:
    session = ctx.session
    if event.topic == "match.run_done":
        run = await get_by_id(session, MatchingRun, event.aggregate_id)
        if run is None or run.requested_by is None:
            return
        proposals = run.stats.get("proposals", 0)
        county = await get_by_id(session, Region, run.county_code)
        await notify(
            session,
            event_id=event.id,
            kind=event.topic,
            user_id=run.requested_by,
            params={
                "county": county.name if county else run.county_code,
                "proposals": proposals if isinstance(proposals, int) else 0,
            },
            link=f"{COORD_LINK}?county={run.county_code}",
        )
        return
    match = await get_by_id(session, Match, event.aggregate_id)
    if match is None:
        return
    need = await get_by_id(session, Need, match.need_id)
    org = (
        await get_by_id(session, Organization, match.organization_id)
        if match.organization_id
        else None
    )
    params: dict[str, object] = {
        "title": need.title if need else "",
        "organization": org.name if org else "",
    }
    target = event.payload.get("to")
    if target == MatchState.APPROVED.value and match.organization_id:
        await notify(
            session,
            event_id=event.id,
            kind=event.topic,
            organization_id=match.organization_id,
            params=params,
            link=ORG_LINK,
        )
    elif target in (MatchState.ACCEPTED.value, MatchState.DECLINED.value) and match.decided_by:
        if target == MatchState.DECLINED.value:
            params["reason"] = match.reason
        await notify(
            session,
            event_id=event.id,
            kind=event.topic,
            user_id=match.decided_by,
            params=params,
            link=COORD_LINK,
        )
    elif (
        target == MatchState.EXPIRED.value
        and event.payload.get("from") == MatchState.APPROVED.value
    ):
        for user_id, org_id, link in (
            (match.decided_by, None, COORD_LINK),
            (None, match.organization_id, ORG_LINK),
        ):
            await notify(
                session,
                event_id=event.id,
                kind=event.topic,
                user_id=user_id if isinstance(user_id, uuid.UUID) else None,
                organization_id=org_id,
                params=params,
                link=link,
            )


# The fairness figures (backend/matches/figures.py): the object's contribution, recomputed.


@subscribe("household.*")
async def fairness_of_household(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type == "household":
        await figures.refresh_household(ctx.session, event.aggregate_id)


@subscribe("need.*")
async def fairness_of_need(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type == "need":
        await figures.refresh_need(ctx.session, event.aggregate_id)


@subscribe("match.*")
async def fairness_of_match(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type != "match":
        return
    household_id = await figures.household_of_match(ctx.session, event.aggregate_id)
    if household_id is not None:
        await figures.refresh_household(ctx.session, household_id)


# The coordinator match queue (backend/matches/queue.py): a need's urgency, category and region.


@subscribe("need.*")
async def queue_of_need(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type == "need":
        await queue.refresh_need(ctx.session, event.aggregate_id)
