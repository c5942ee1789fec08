"""The catalogue of events that need someone (docs/notifications.md is its table).

Each entry names the outbox topic it reacts to and resolves, from the event, who is told and
the public parameters of the message. Handlers reload rows by id (the outbox payload carries ids
only); parameters are public values: a need's public title, organization, project, task and
region names, amounts. A household is never named.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization, Role, User, UserStatus
from backend.core.repository import get_by_id
from backend.donations.models import Disbursement, Donation
from backend.fulfilment.models import Delivery, Fulfilment, VisitSchedule
from backend.grievance import service as grievance
from backend.households.models import Household, Referral
from backend.matches.models import Match
from backend.needs.models import Need, Urgency
from backend.notifications import repository as repo
from backend.outbox.models import OutboxEvent
from backend.projects.models import Project
from backend.regions.models import Region
from backend.resources.models import Claim
from backend.volunteering.models import HoursLog, VolunteerTask


@dataclass(frozen=True)
class Produced:
    """Who is told of one event: users (in-app, e-mail, SMS) and organizations (in-app on the
    organization, e-mail and SMS to its admins)."""

    users: tuple[uuid.UUID, ...] = ()
    organizations: tuple[uuid.UUID, ...] = ()
    params: Mapping[str, object] = field(default_factory=dict)
    link: str = ""
    urgent: bool = False


Resolver = Callable[[AsyncSession, OutboxEvent], Awaitable[Produced | None]]


@dataclass(frozen=True)
class Entry:
    name: str  # the catalogue's event name (= message key)
    topic: str  # the outbox topic it reacts to
    group: str  # preference group
    resolve: Resolver
    urgent: bool = False  # cannot be silenced in-app
    inapp_elsewhere: bool = False  # in-app rows written by another domain's handler


CATALOGUE: dict[str, Entry] = {}


def entry(
    name: str,
    group: str,
    *,
    topic: str | None = None,
    urgent: bool = False,
    inapp_elsewhere: bool = False,
) -> Callable[[Resolver], Resolver]:
    def decorator(resolve: Resolver) -> Resolver:
        CATALOGUE[name] = Entry(name, topic or name, group, resolve, urgent, inapp_elsewhere)
        return resolve

    return decorator


def entries_for(topic: str) -> list[Entry]:
    return [e for e in CATALOGUE.values() if e.topic == topic]


# --- small loaders -------------------------------------------------------------------------------


def yuan(amount_fen: Any) -> str:
    fen = int(amount_fen or 0)
    yuan_part, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}¥{yuan_part:,}.{cents:02d}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        from backend.core.templating import local_datetime

        return local_datetime(value)
    return value.isoformat()


async def _org_name(session: AsyncSession, org_id: uuid.UUID | None) -> str:
    org = await get_by_id(session, Organization, org_id) if org_id else None
    return org.name if org else ""


async def _region_name(session: AsyncSession, code: str | None) -> str:
    region = await get_by_id(session, Region, code) if code else None
    return region.name if region else (code or "")


def _emergency(need: Need | None) -> bool:
    return need is not None and need.urgency == Urgency.EMERGENCY


async def caseworkers(session: AsyncSession, region_code: str) -> tuple[uuid.UUID, ...]:
    return tuple(await repo.users_with_role(session, Role.CASEWORKER, region_code))


async def admins(session: AsyncSession) -> tuple[uuid.UUID, ...]:
    return tuple(await repo.users_with_role(session, Role.ADMIN))


# --- organizations -------------------------------------------------------------------------------


@entry("organization.registered", "organizations")
async def _org_registered(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    org = await get_by_id(session, Organization, event.aggregate_id)
    if org is None:
        return None
    return Produced(
        users=await admins(session), params={"organization": org.name}, link="/admin/organizations"
    )


async def _org_reviewed(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    org = await get_by_id(session, Organization, event.aggregate_id)
    if org is None:
        return None
    return Produced(
        organizations=(org.id,),
        params={"organization": org.name, "reason": org.review_note},
        link="/org",
    )


entry("organization.approved", "organizations")(_org_reviewed)
entry("organization.rejected", "organizations")(_org_reviewed)


# --- needs, claims, deliveries -------------------------------------------------------------------


async def _with_need(
    session: AsyncSession, model: type[Claim] | type[Match], row_id: uuid.UUID
) -> tuple[Any, Need] | None:
    """The claim or match an event names, with its need (None when either is gone)."""
    row = await get_by_id(session, model, row_id)
    need = await get_by_id(session, Need, row.need_id) if row else None
    return (row, need) if row is not None and need is not None else None


async def _claim(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    found = await _with_need(session, Claim, event.aggregate_id)
    if found is None:
        return None
    claim, need = found
    params = {"title": need.title, "organization": await _org_name(session, claim.organization_id)}
    return Produced(
        users=await caseworkers(session, need.region_code),
        params=params,
        link=f"/households/needs/{need.id}",
        urgent=_emergency(need) and event.topic == "claim.released",
    )


entry("claim.created", "needs")(_claim)
entry("claim.released", "needs")(_claim)


@entry("claim.overdue", "needs")
async def _claim_overdue(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    found = await _with_need(session, Claim, event.aggregate_id)
    if found is None:
        return None
    claim, need = found
    return Produced(
        users=await caseworkers(session, need.region_code),
        organizations=(claim.organization_id,),
        params={
            "title": need.title,
            "organization": await _org_name(session, claim.organization_id),
            "due": day(need.deadline),
        },
        link=f"/needs/{need.id}",
        urgent=_emergency(need),
    )


async def _delivery(
    session: AsyncSession, delivery_id: uuid.UUID
) -> tuple[Delivery, Fulfilment, Need] | None:
    delivery = await get_by_id(session, Delivery, delivery_id)
    fulfilment = await get_by_id(session, Fulfilment, delivery.fulfilment_id) if delivery else None
    need = await get_by_id(session, Need, fulfilment.need_id) if fulfilment else None
    if delivery is None or fulfilment is None or need is None:
        return None
    return delivery, fulfilment, need


@entry("delivery.recorded", "needs")
async def _delivery_recorded(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    found = await _delivery(session, event.aggregate_id)
    if found is None:
        return None
    _, fulfilment, need = found
    return Produced(
        users=await caseworkers(session, need.region_code),
        params={
            "title": need.title,
            "organization": await _org_name(session, fulfilment.organization_id),
        },
        link=f"/households/needs/{need.id}",
    )


@entry("delivery.confirmed", "needs")
async def _delivery_confirmed(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    found = await _delivery(session, event.aggregate_id)
    if found is None:
        return None
    _, fulfilment, need = found
    return Produced(
        organizations=(fulfilment.organization_id,),
        params={"title": need.title},
        link=f"/fulfilments/{fulfilment.id}",
    )


@entry("delivery.disputed", "needs", urgent=True)
async def _delivery_disputed(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    found = await _delivery(session, event.aggregate_id)
    if found is None:
        return None
    _, fulfilment, need = found
    return Produced(
        users=await caseworkers(session, need.region_code),
        organizations=(fulfilment.organization_id,),
        params={"title": need.title},
        link=f"/fulfilments/{fulfilment.id}",
    )


@entry("delivery.unconfirmed", "needs")
async def _delivery_unconfirmed(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    found = await _delivery(session, event.aggregate_id)
    if found is None:
        return None
    _, fulfilment, need = found
    return Produced(
        users=await caseworkers(session, need.region_code),
        organizations=(fulfilment.organization_id,),
        params={"title": need.title, "days": event.payload.get("days", "")},
        link=f"/fulfilments/{fulfilment.id}",
    )


# --- matches (in-app rows come from backend/matches/handlers.py) ---------------------------------


async def _match(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    match = await get_by_id(session, Match, event.aggregate_id)
    if match is None or event.payload.get("to") != event.topic.split(".", 1)[1]:
        return None
    need = await get_by_id(session, Need, match.need_id)
    params: dict[str, object] = {
        "title": need.title if need else "",
        "organization": await _org_name(session, match.organization_id),
        "reason": match.reason,
    }
    urgent = _emergency(need)
    if event.topic == "match.approved" and match.organization_id:
        return Produced(
            organizations=(match.organization_id,),
            params=params,
            link="/organizations/matches",
            urgent=urgent,
        )
    if event.topic in ("match.accepted", "match.declined") and match.decided_by:
        return Produced(
            users=(match.decided_by,), params=params, link="/coordination/matches", urgent=urgent
        )
    if event.topic == "match.expired" and event.payload.get("from") == "approved":
        return Produced(
            users=(match.decided_by,) if match.decided_by else (),
            organizations=(match.organization_id,) if match.organization_id else (),
            params=params,
            link="/coordination/matches",
            urgent=urgent,
        )
    return None


for _name in ("match.approved", "match.accepted", "match.declined", "match.expired"):
    entry(_name, "matches", inapp_elsewhere=True)(_match)


# --- funds ---------------------------------------------------------------------------------------


async def _disbursement(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    disbursement = await get_by_id(session, Disbursement, event.aggregate_id)
    project = await get_by_id(session, Project, disbursement.project_id) if disbursement else None
    if disbursement is None or project is None:
        return None
    params = {"amount": yuan(disbursement.amount_fen), "project": project.title}
    if event.topic == "disbursement.requested":
        approvers = [
            u
            for u in await repo.organization_admins(session, project.organization_id)
            if u != disbursement.requested_by
        ]
        return Produced(
            users=tuple(approvers), params=params, link=f"/donations/manage/{project.id}"
        )
    return Produced(
        users=(disbursement.requested_by,), params=params, link=f"/donations/manage/{project.id}"
    )


for _name in ("disbursement.requested", "disbursement.approved", "disbursement.rejected"):
    entry(_name, "funds")(_disbursement)


async def _donation(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    donation = await get_by_id(session, Donation, event.aggregate_id)
    project = await get_by_id(session, Project, donation.project_id) if donation else None
    if donation is None or project is None:
        return None
    params = {
        "amount": yuan(donation.amount_fen),
        "project": project.title,
        "due": day(donation.expires_at),
    }
    if event.topic == "donation.pledged":
        return Produced(
            organizations=(project.organization_id,),
            params=params,
            link=f"/donations/manage/{project.id}",
        )
    if donation.donor_id is None:
        return None
    return Produced(users=(donation.donor_id,), params=params, link="/me/donations")


for _name in ("donation.pledged", "donation.booked", "donation.expiring"):
    entry(_name, "funds")(_donation)


# --- projects ------------------------------------------------------------------------------------


async def _project(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    project = await get_by_id(session, Project, event.aggregate_id)
    if project is None:
        return None
    days = event.payload.get("days")
    if days is None and event.topic == "project.overdue":
        from backend.config import get_settings

        days = get_settings().project_update_overdue_days
    return Produced(
        organizations=(project.organization_id,),
        params={"project": project.title, "days": days if days is not None else ""},
        link=f"/projects/{project.id}",
    )


entry("project.update_due", "projects")(_project)
entry("project.overdue", "projects")(_project)


# --- volunteering --------------------------------------------------------------------------------


async def _task_org(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    task = await get_by_id(session, VolunteerTask, event.aggregate_id)
    if task is None:
        return None
    return Produced(
        organizations=(task.organization_id,), params={"task": task.title}, link=f"/tasks/{task.id}"
    )


entry("task.signup", "volunteering")(_task_org)
entry("task.signup_cancelled", "volunteering")(_task_org)


async def _task_volunteers(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    task = await get_by_id(session, VolunteerTask, event.aggregate_id)
    if task is None:
        return None
    volunteers = await repo.task_volunteers(session, task.id)
    return Produced(users=tuple(volunteers), params={"task": task.title}, link=f"/tasks/{task.id}")


entry("task.updated", "volunteering")(_task_volunteers)
entry("task.closed", "volunteering")(_task_volunteers)


async def _hours(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    log = await get_by_id(session, HoursLog, event.aggregate_id)
    if log is None:
        return None
    return Produced(
        users=(log.volunteer_id,),
        params={
            "hours": f"{log.minutes / 60:.1f}",
            "organization": await _org_name(session, log.organization_id),
        },
        link="/volunteer/hours",
    )


entry("hours.approved", "volunteering")(_hours)
entry("hours.rejected", "volunteering")(_hours)


# --- referrals, households (caseworkers) ---------------------------------------------------------


@entry("referral.created", "households")
async def _referral_created(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    referral = await get_by_id(session, Referral, event.aggregate_id)
    if referral is None:
        return None
    return Produced(
        users=await caseworkers(session, referral.region_code),
        params={"region": await _region_name(session, referral.region_code)},
        link=f"/households/referrals/{referral.id}",
    )


async def _referral_outcome(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    referral = await get_by_id(session, Referral, event.aggregate_id)
    if referral is None:
        return None
    return Produced(users=(referral.referred_by,), link="/referrals")


entry("referral.converted", "households")(_referral_outcome)
entry("referral.dismissed", "households")(_referral_outcome)


async def _household(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    household = await get_by_id(session, Household, event.aggregate_id)
    if household is None:
        return None
    return Produced(
        users=await caseworkers(session, household.region_code),
        params={
            "region": await _region_name(session, household.region_code),
            "due": day(household.verified_until),
        },
        link=f"/households/{household.id}",
    )


entry("household.verification_expiring", "households")(_household)
entry("household.verification_lapsed", "households")(_household)


async def _visit(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    schedule = await get_by_id(session, VisitSchedule, event.aggregate_id)
    household = await get_by_id(session, Household, schedule.household_id) if schedule else None
    if schedule is None or household is None:
        return None
    users = (
        (schedule.assignee_id,)
        if schedule.assignee_id
        else await caseworkers(session, household.region_code)
    )
    return Produced(
        users=users,
        params={
            "region": await _region_name(session, household.region_code),
            "due": day(schedule.next_due),
        },
        link="/fulfilment/visits",
    )


entry("visit.due", "households")(_visit)
entry("visit.overdue", "households")(_visit)


# --- review deadlines (coordinators) -------------------------------------------------------------


async def _review(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    found = await _with_need(session, Match, event.aggregate_id)
    if found is None:
        return None
    _match, need = found
    county = str(event.payload.get("county") or need.region_code)
    coordinators = tuple(await repo.users_with_role(session, Role.COORDINATOR, county))
    escalated = event.topic == "review.sla_escalated"
    users = (
        coordinators + tuple(a for a in await admins(session) if a not in coordinators)
        if escalated
        else coordinators
    )
    return Produced(
        users=users,
        params={"title": need.title, "due": str(event.payload.get("due", "")).replace("T", " ")},
        link="/coordination/matches",
        urgent=escalated or _emergency(need),
    )


entry("review.sla_warning", "review")(_review)
entry("review.sla_escalated", "review", urgent=True)(_review)


# --- accounts ------------------------------------------------------------------------------------


@entry("user.locked", "account", urgent=True)
async def _locked(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    user = await get_by_id(session, User, event.aggregate_id)
    if user is None:
        return None
    return Produced(users=(user.id,), link="/password/forgot", urgent=True)


@entry("user.oidc_pending", "account", topic="user.signed_up")
async def _oidc_pending(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    user = await get_by_id(session, User, event.aggregate_id)
    if user is None or user.status != UserStatus.PENDING:
        return None
    return Produced(users=await admins(session), link="/admin/users/pending")


# --- reports (the grievance channel) ------------------------------------------------------------


async def _report(session: AsyncSession, event: OutboxEvent) -> Produced | None:
    notice = await grievance.notice_for(session, event.topic, event.aggregate_id)
    if notice is None or not (notice.users or notice.organizations):
        return None
    return Produced(
        users=notice.users,
        organizations=notice.organizations,
        params=notice.params,
        link=notice.link,
        urgent=event.topic in ("report.escalated", "report.held"),
    )


entry("report.received", "reports")(_report)
entry("report.moved", "reports")(_report)
entry("report.escalated", "reports", urgent=True)(_report)
entry("report.held", "reports", urgent=True)(_report)
entry("report.donations_paused", "reports")(_report)
entry("report.donations_resumed", "reports")(_report)
