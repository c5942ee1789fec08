"""For every event of docs/notifications.md, the action that causes it.

Most causes call the real service (or the real deadline job) that emits the event. Where the
causing service needs a long set-up (matches, disbursements with receipts, the referral form,
single-sign-on), the cause writes the rows and the event exactly as that service does
(``as_service``), and says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import lifecycle
from backend.accounts import service as accounts
from backend.accounts.models import OrgType, Role, User, UserStatus
from backend.audit.service import Actor
from backend.core.db import queue_of, utcnow
from backend.core.ratelimit import RateLimit
from backend.core.storage import LocalStorage
from backend.donations import service as donations
from backend.donations.models import (
    Disbursement,
    DisbursementState,
    Donation,
    DonationChannel,
    DonationState,
)
from backend.fulfilment import service as fulfilment
from backend.fulfilment.models import Delivery, VisitSchedule
from backend.households import service as households
from backend.matches.models import Match, MatchSource, MatchState
from backend.needs.models import Need, NeedState, Urgency
from backend.notifications import deadlines
from backend.organizations import service as organizations
from backend.outbox.service import record_change
from backend.privacy.uscc import make_fake_uscc
from backend.projects.models import Project, ProjectState
from backend.projects.service import flag_overdue
from backend.resources import service as resources
from backend.volunteering import service as volunteering
from backend.volunteering.models import HoursLog, Signup, TaskSlot, VolunteerTask
from tests.fulfilment.factories import Story, user
from tests.households.factories import make_household, make_need, make_referral


@dataclass(frozen=True)
class Ctx:
    name: str  # the catalogue event being caused
    tmp: Path  # a folder for uploads


Cause = Callable[[AsyncSession, dict[str, Any], Ctx], Awaitable[None]]
CAUSES: dict[str, Cause] = {}
AS_SERVICE: set[str] = set()  # causes that write the service's rows and event themselves


def cause(*names: str, as_service: bool = False) -> Callable[[Cause], Cause]:
    def decorator(fn: Cause) -> Cause:
        for name in names:
            CAUSES[name] = fn
            if as_service:
                AS_SERVICE.add(name)
        return fn

    return decorator


async def fresh_need(
    session: AsyncSession, demo: dict[str, Any], *, region_code: str = "330106"
) -> Need:
    """A new published need of a new household (the demo's own needs stay for others). Needs
    that stay published use 上城区 (``330102``), outside the demo organizations' lists."""
    from backend.demo.organizations import make_household as demo_household
    from backend.demo.organizations import make_published_need

    household = await demo_household(
        session, registered_by=demo["caseworker"], region_code=region_code
    )
    return await make_published_need(
        session,
        household=household,
        created_by=demo["caseworker"],
        title="需要冬季棉被",
        quantity=2,
        unit="床",
    )


async def claimed_story(session: AsyncSession, demo: dict[str, Any]) -> Story:
    member = await user(session, demo["org_member"])
    caseworker = await user(session, demo["caseworker"])
    need = await fresh_need(session, demo)
    claim = await resources.claim_need(
        session, member, need_id=need.id, organization_id=demo["org:charity"]
    )
    issued = await households.issue_code(session, caseworker, need.household_id)
    return Story(need, claim.id, issued.code, issued.pin, member, caseworker)


def _uscc() -> str:
    digits = "".join(str(int(c, 16) % 10) for c in uuid.uuid4().hex[:9])
    return make_fake_uscc(f"53330106{digits}")


def _limits() -> deadlines.Thresholds:
    from backend.config import get_settings

    return deadlines.Thresholds.of(get_settings())


async def _emit(
    session: AsyncSession, topic: str, kind: str, object_id: uuid.UUID, **payload: Any
) -> None:
    await record_change(
        session,
        actor=Actor.system(),
        action=topic,
        object_type=kind,
        object_id=object_id,
        payload=payload,
    )


# --- organizations -------------------------------------------------------------------------------


async def _registrant(session: AsyncSession) -> uuid.UUID:
    """A fresh volunteer account: registering makes it the organization's admin, which must not
    change what the shared demo volunteer may do in other tests."""
    from backend.accounts.models import RoleGrant

    account = User(
        id=uuid.uuid4(),
        email=f"registrant-{uuid.uuid4().hex[:8]}@example.org",
        display_name="测试注册人",
        locale="zh_CN",
        status=UserStatus.ACTIVE,
    )
    session.add(account)
    await session.flush()
    session.add(RoleGrant(id=uuid.uuid4(), user_id=account.id, role=Role.VOLUNTEER))
    await session.flush()
    return account.id


async def _register(session: AsyncSession, demo: dict[str, Any]) -> uuid.UUID:
    registrant = await user(session, await _registrant(session))
    org = await accounts.register_organization(
        session,
        registrant,
        name=f"测试公益{uuid.uuid4().hex[:4]}",
        org_type=OrgType.CHARITY.value,
        uscc=_uscc(),
        region_code="330106",
    )
    return org.id


@cause("organization.registered")
async def _org_registered(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await _register(session, demo)


@cause("organization.approved", "organization.rejected")
async def _org_reviewed(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    org_id = await _register(session, demo)
    admin = await user(session, demo["admin"])
    approve = ctx.name == "organization.approved"
    await accounts.review_organization(
        session, admin, org_id, approve=approve, note="" if approve else "材料不全"
    )


@cause("invitation.created")
async def _invited(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    admin = await user(session, demo["org_admin"])
    await organizations.invite(
        session,
        admin,
        demo["org:charity"],
        kind="link",
        email=f"invitee-{uuid.uuid4().hex[:6]}@example.org",
    )


# --- needs, claims, deliveries -------------------------------------------------------------------


@cause("claim.created")
async def _claimed(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    member = await user(session, demo["org_member"])
    need = await fresh_need(session, demo)
    await resources.claim_need(
        session, member, need_id=need.id, organization_id=demo["org:charity"]
    )


@cause("claim.released")
async def _released(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    member = await user(session, demo["org_member"])
    need = await fresh_need(session, demo)
    claim = await resources.claim_need(
        session, member, need_id=need.id, organization_id=demo["org:charity"]
    )
    await resources.release_claim(session, member, claim.id, "车辆故障，无法按时送达")


@cause("claim.overdue")
async def _claim_overdue(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    story = await claimed_story(session, demo)
    story.need.deadline = (utcnow() - timedelta(days=2)).date()
    await session.flush()
    await deadlines.reminders(session, _limits(), utcnow())


async def _delivered(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> Any:
    story = await claimed_story(session, demo)
    opened = await fulfilment.open_for_claim(session, story.member, story.claim_id)
    data = fulfilment.DeliveryIn(
        delivered_on=fulfilment.today_local(),
        description="两床棉被",
        quantity=opened.promised,
        volunteer_minutes=60,
    )
    delivery = await fulfilment.record_delivery(
        session, story.member, opened.id, data, photos=[], storage=LocalStorage(ctx.tmp)
    )
    return story, delivery


@cause("delivery.recorded")
async def _recorded(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await _delivered(session, demo, ctx)


@cause("delivery.confirmed")
async def _confirmed(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    story, delivery = await _delivered(session, demo, ctx)
    await fulfilment.confirm_by_caseworker(
        session, story.caseworker, delivery.id, reason="told_by_phone"
    )


@cause("delivery.disputed")
async def _disputed(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    story, delivery = await _delivered(session, demo, ctx)
    await fulfilment.report_not_received(session, delivery.id, user=story.caseworker)


@cause("delivery.unconfirmed")
async def _unconfirmed(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    _story, delivery = await _delivered(session, demo, ctx)
    row = await session.get(Delivery, delivery.id)
    assert row is not None
    row.created_at = utcnow() - timedelta(days=8)
    await session.flush()
    await deadlines.reminders(session, _limits(), utcnow())


# --- matches and the review SLA ------------------------------------------------------------------


async def _match(
    session: AsyncSession, demo: dict[str, Any], state: MatchState, *, age: timedelta
) -> Match:
    need = await fresh_need(session, demo, region_code="330102")
    match = Match(
        id=uuid.uuid4(),
        need_id=need.id,
        organization_id=demo["org:charity"],
        source=MatchSource.ENGINE,
        state=state,
        quantity=1,
        decided_by=demo["coordinator"] if state != MatchState.PROPOSED else None,
        created_at=utcnow() - age,
    )
    session.add(match)
    await session.flush()
    return match


@cause("match.approved", "match.accepted", "match.declined", "match.expired", as_service=True)
async def _match_moved(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    target = MatchState(ctx.name.split(".", 1)[1])
    before = MatchState.PROPOSED if target == MatchState.APPROVED else MatchState.APPROVED
    match = await _match(session, demo, target, age=timedelta(hours=1))
    if target == MatchState.DECLINED:
        match.reason = "本月运力不足"
    await _emit(
        session,
        f"match.{target.value}",
        "match",
        match.id,
        **{"from": before.value, "to": target.value},
    )


@cause("review.sla_warning", "review.sla_escalated")
async def _review(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    # a normal need: SLA 72 h, warning from 54 h
    hours = 60 if ctx.name == "review.sla_warning" else 80
    match = await _match(session, demo, MatchState.PROPOSED, age=timedelta(hours=hours))
    need = await session.get(Need, match.need_id)
    assert need is not None
    need.urgency = Urgency.NORMAL
    await session.flush()
    await deadlines.review_sla(session, _limits(), utcnow())


# --- funds ---------------------------------------------------------------------------------------


async def _project(session: AsyncSession, demo: dict[str, Any], **values: Any) -> Project:
    project = Project(
        id=uuid.uuid4(),
        organization_id=demo["org:charity"],
        title=f"测试项目{uuid.uuid4().hex[:4]}",
        category="goods",
        region_code="330106",
        target_fen=1_000_000,
        state=values.pop("state", ProjectState.FUNDRAISING),
        created_by=demo["org_admin"],
        **values,
    )
    session.add(project)
    await session.flush()
    return project


@cause(
    "disbursement.requested",
    "disbursement.approved",
    "disbursement.rejected",
    as_service=True,
)
async def _disbursement(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    project = await _project(session, demo, state=ProjectState.EXECUTING)
    state = DisbursementState(ctx.name.split(".", 1)[1])
    row = Disbursement(
        id=uuid.uuid4(),
        project_id=project.id,
        amount_fen=12_000,
        purpose="采购棉被",
        receipt_path="receipts/test.pdf",
        state=state,
        requested_by=demo["org_member"],
        approved_by=demo["org_admin"] if state != DisbursementState.REQUESTED else None,
    )
    session.add(row)
    await session.flush()
    await _emit(
        session, ctx.name, "disbursement", row.id, project_id=str(project.id), amount_fen=12_000
    )


async def _pledge(
    session: AsyncSession, demo: dict[str, Any], *, expires_in: timedelta = timedelta(days=10)
) -> Donation:
    project = await _project(session, demo)
    donation = Donation(
        id=uuid.uuid4(),
        project_id=project.id,
        donor_id=demo["donor"],
        amount_fen=50_000,
        channel=DonationChannel.OFFLINE,
        state=DonationState.PENDING,
        expires_at=utcnow() + expires_in,
    )
    session.add(donation)
    await session.flush()
    return donation


@cause("donation.pledged", as_service=True)
async def _pledged(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    donation = await _pledge(session, demo)
    # donations.start_donation emits this (offline channel) without an audit row
    from backend.outbox.service import emit

    await emit(
        session,
        topic="donation.pledged",
        aggregate_type="donation",
        aggregate_id=donation.id,
        payload={
            "project_id": str(donation.project_id),
            "amount_fen": 50_000,
            "channel": "offline",
        },
    )


@cause("donation.booked")
async def _booked(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    donation = await _pledge(session, demo)
    admin = await user(session, demo["org_admin"])
    await donations.confirm_pledge(session, admin, donation.id, reference="BANK-2026-001")


@cause("donation.expiring")
async def _expiring(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await _pledge(session, demo, expires_in=timedelta(hours=20))
    await deadlines.reminders(session, _limits(), utcnow())


# --- projects ------------------------------------------------------------------------------------


@cause("project.update_due")
async def _update_due(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await _project(
        session, demo, state=ProjectState.EXECUTING, last_update_at=utcnow() - timedelta(days=80)
    )
    await deadlines.reminders(session, _limits(), utcnow())


@cause("project.overdue")
async def _overdue(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await _project(
        session, demo, state=ProjectState.EXECUTING, last_update_at=utcnow() - timedelta(days=95)
    )
    await flag_overdue(session)


# --- volunteering --------------------------------------------------------------------------------


async def _task(session: AsyncSession, demo: dict[str, Any], *, signed_up: bool) -> TaskSlot:
    task = VolunteerTask(
        id=uuid.uuid4(),
        organization_id=demo["org:charity"],
        title=f"测试志愿任务{uuid.uuid4().hex[:4]}",
        category="visit",
        region_code="330106",
        created_by=demo["org_admin"],
    )
    session.add(task)
    await session.flush()
    slot = TaskSlot(
        id=uuid.uuid4(),
        task_id=task.id,
        starts_at=utcnow() + timedelta(days=3),
        ends_at=utcnow() + timedelta(days=3, hours=2),
        capacity=5,
        taken=1 if signed_up else 0,
    )
    session.add(slot)
    await session.flush()
    if signed_up:
        session.add(Signup(id=uuid.uuid4(), slot_id=slot.id, volunteer_id=demo["volunteer"]))
        await session.flush()
    return slot


@cause("task.signup")
async def _signup(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    slot = await _task(session, demo, signed_up=False)
    await volunteering.sign_up(session, await user(session, demo["volunteer"]), slot.id)


@cause("task.signup_cancelled")
async def _cancel(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    slot = await _task(session, demo, signed_up=False)
    volunteer = await user(session, demo["volunteer"])
    await volunteering.sign_up(session, volunteer, slot.id)
    await volunteering.cancel_signup(session, volunteer, slot.id)


@cause("task.updated")
async def _slot_added(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    slot = await _task(session, demo, signed_up=True)
    admin = await user(session, demo["org_admin"])
    start = utcnow() + timedelta(days=5)
    await volunteering.add_slot(
        session,
        admin,
        slot.task_id,
        volunteering.SlotIn(starts_at=start, ends_at=start + timedelta(hours=2), capacity=3),
    )


@cause("task.closed")
async def _closed(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    slot = await _task(session, demo, signed_up=True)
    await volunteering.close_task(session, await user(session, demo["org_admin"]), slot.task_id)


@cause("hours.approved", "hours.rejected")
async def _hours(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    log = HoursLog(
        id=uuid.uuid4(),
        volunteer_id=demo["volunteer"],
        organization_id=demo["org:charity"],
        served_on=utcnow() - timedelta(days=1),
        minutes=150,
    )
    session.add(log)
    await session.flush()
    admin = await user(session, demo["org_admin"])
    await volunteering.review_hours(session, admin, log.id, approve=ctx.name == "hours.approved")


# --- referrals and households --------------------------------------------------------------------


@cause("referral.created", as_service=True)
async def _referral(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    referral = await make_referral(session, demo["volunteer"])
    await _emit(session, "referral.created", "referral", referral.id, region_code="330106004")


@cause("referral.dismissed")
async def _dismissed(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    referral = await make_referral(session, demo["volunteer"])
    caseworker = await user(session, demo["caseworker"])
    await households.dismiss_referral(session, caseworker, referral.id, "已在其他渠道救助")


@cause("referral.converted", as_service=True)
async def _converted(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    referral = await make_referral(session, demo["volunteer"])
    household = await make_household(session, demo["caseworker"])
    await _emit(
        session, "referral.converted", "referral", referral.id, household_id=str(household.id)
    )


@cause("household.verification_expiring")
async def _verification_expiring(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    household = await make_household(session, demo["caseworker"])
    household.verified_until = fulfilment.today_local() + timedelta(days=10)
    await session.flush()
    await deadlines.reminders(session, _limits(), utcnow())


@cause("household.verification_lapsed")
async def _verification_lapsed(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    household = await make_household(session, demo["caseworker"])
    await make_need(session, household, demo["caseworker"], state=NeedState.PUBLISHED)
    household.verified_until = fulfilment.today_local() - timedelta(days=1)
    await session.flush()
    await households.lapse_verifications(session)


@cause("visit.due", "visit.overdue")
async def _visit(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    household = await make_household(session, demo["caseworker"])
    today = fulfilment.today_local()
    session.add(
        VisitSchedule(
            id=uuid.uuid4(),
            household_id=household.id,
            interval_days=30,
            assignee_id=demo["caseworker"],
            next_due=today if ctx.name == "visit.due" else today - timedelta(days=10),
        )
    )
    await session.flush()
    await deadlines.reminders(session, _limits(), utcnow())


# --- accounts ------------------------------------------------------------------------------------


@cause("user.locked")
async def _locked(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await lifecycle.account_locked(session, demo["donor"])


@cause("user.oidc_pending", as_service=True)
async def _oidc_pending(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    person = User(
        id=uuid.uuid4(),
        email=f"sso-{uuid.uuid4().hex[:6]}@union.example.org",
        display_name="工会干部",
        password_hash=None,
        status=UserStatus.PENDING,
    )
    session.add(person)
    await session.flush()
    from backend.outbox.service import emit

    await emit(session, topic="user.signed_up", aggregate_type="user", aggregate_id=person.id)


@cause("account.verify_email")
async def _signed_up(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await accounts.sign_up(
        session,
        email=f"new-{uuid.uuid4().hex[:6]}@example.org",
        display_name="新志愿者",
        password="a-long-password-1",
        role=Role.VOLUNTEER,
        locale="zh_CN",
    )


@cause("account.reset_password")
async def _reset(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    queue = queue_of(session)
    assert queue is not None
    redis = queue.pool
    name = f"pwreset-test-{uuid.uuid4().hex[:6]}"
    limits = (RateLimit(redis, name, 5, 3600), RateLimit(redis, name + "-ip", 30, 3600))
    await lifecycle.request_reset(session, limits, email="donor@demo.tongxin.cn", ip="127.0.0.9")


# --- reports (the grievance channel) ------------------------------------------------------------


async def _report(
    session: AsyncSession, demo: dict[str, Any], *, report_type: str, by: str | None = None
) -> uuid.UUID:
    from backend.config import get_settings
    from backend.grievance import service as grievance

    project = await _project(session, demo)
    reporter = grievance.Reporter(user=await user(session, demo[by]) if by else None)
    report = await grievance.submit(
        session,
        get_settings(),
        reporter,
        report_type=report_type,
        subject_type="project",
        subject_id=str(project.id),
        text="项目介绍里写的开始日期不对。",
    )
    return report.id


@cause("report.received")
async def _report_received(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await _report(session, demo, report_type="wrong_info")


@cause("report.moved")
async def _report_moved(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    from backend.grievance import service as grievance

    report_id = await _report(session, demo, report_type="wrong_info", by="donor")
    coordinator = await user(session, demo["coordinator"])
    await grievance.move(
        session, coordinator, report_id, to_stage="acknowledged", reason="已收到，正在核实。"
    )


@cause("report.escalated")
async def _report_escalated(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    from backend.grievance import service as grievance

    await _report(session, demo, report_type="wrong_info")
    await grievance.escalate_overdue(session, now=utcnow() + timedelta(days=30))


@cause("report.held")
async def _report_held(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    await _report(session, demo, report_type="personal_data")


@cause("report.donations_paused", "report.donations_resumed")
async def _report_paused(session: AsyncSession, demo: dict[str, Any], ctx: Ctx) -> None:
    from backend.grievance import service as grievance

    report_id = await _report(session, demo, report_type="fraud")
    admin = await user(session, demo["admin"])
    await grievance.set_donations_paused(
        session, admin, report_id, paused=True, reason="核实期间暂停捐款。"
    )
    if ctx.name == "report.donations_resumed":
        await grievance.set_donations_paused(
            session, admin, report_id, paused=False, reason="核实无误，恢复捐款。"
        )
