"""The grievance channel's rules: intake, routing, stages with reasons, deadlines, protection.

Events (outbox topics): ``report.received``, ``report.moved``, ``report.escalated``,
``report.donations_paused``, ``report.donations_resumed``, ``report.hold_released``; every one
is also an audit row. A read of a confidential (misconduct) report is an audit row as well.

Routing (docs/grievance.md): fraud and misconduct go to the platform admin; delivery problems
to the household's caseworkers; everything else to the county's coordinators. Coordinators of
the region see every report in it, but the reporter of a misconduct report stays known to the
platform admin only.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.audit.service import Actor, record
from backend.config import Settings
from backend.core.bounds import has_control_chars
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.keys import get_keys
from backend.core.pagination import Page
from backend.grievance import repository as repo
from backend.grievance.calendar import SHANGHAI, WorkingCalendar, parse_days
from backend.grievance.models import (
    CLOSED_STAGES,
    STAGE_MOVES,
    Report,
    ReportMove,
    ReportStage,
    ReportType,
    Route,
    SubjectType,
)
from backend.households import service as households
from backend.outbox.service import record_change
from backend.privacy.crypto import FieldCipher
from backend.privacy.scanner import Finding, scan_public_text

CONTEXTS = {"text": "reports.text", "contact": "reports.contact"}
HIDDEN_REASON = "report"  # needs.hidden_reason while a personal-data report is reviewed
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base-32: no I, L, O, U
MAX_TEXT = 4000
MAX_CONTACT = 200
MAX_REASON = 2000
SUPPRESS_BELOW = 11  # public counts under this read "<11"


@lru_cache(maxsize=1)
def _cipher() -> FieldCipher:
    keys = get_keys()
    return FieldCipher(keys.encryption, keys.current_encryption_id)


class PersonalDataInAnswer(Invalid):
    """The answer shown to the reporter holds personal data; ``findings`` mark each span."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(
            N_(
                "The answer to the reporter contains personal data (marked below). "
                "Remove it: the reporter's page is open to anyone with the code."
            ),
            code="personal_data",
            fields={"outcome": "personal_data"},
        )
        self.findings = findings


def calendar_of(settings: Settings) -> WorkingCalendar:
    return WorkingCalendar(parse_days(settings.holidays), parse_days(settings.makeup_workdays))


def due_day(deadline: datetime) -> date:
    """The last local day of a deadline that ends at 24:00 Asia/Shanghai (shown to people)."""
    return (deadline - timedelta(seconds=1)).astimezone(SHANGHAI).date()


def new_tracking_code() -> str:
    """``R`` and 10 Crockford characters (50 random bits), shown as R-XXXXX-XXXXX."""
    return "R" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def normalize_code(raw: str) -> str:
    """Case- and separator-insensitive; O→0, I/L→1 as Crockford reads them."""
    cleaned = "".join(ch for ch in raw.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if cleaned.startswith("R") is False and len(cleaned) == 10:
        cleaned = "R" + cleaned
    return cleaned


def display_code(code: str) -> str:
    return f"{code[0]}-{code[1:6]}-{code[6:]}" if len(code) == 11 else code


def route_for(report_type: ReportType, subject: repo.Subject | None, from_household: bool) -> Route:
    if report_type in (ReportType.FRAUD, ReportType.MISCONDUCT):
        return Route.ADMIN
    region = subject.region_code if subject else None
    if report_type == ReportType.DELIVERY and (
        from_household or (subject is not None and subject.household_id is not None)
    ):
        return Route.CASEWORKERS
    return Route.COORDINATORS if region else Route.ADMIN


@dataclass(frozen=True)
class Reporter:
    """Who reports: a signed-in user, a household in its self-service session, or nobody known."""

    user: CurrentUser | None = None
    household_id: uuid.UUID | None = None

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return Actor(kind="user", id=self.user.id)
        if self.household_id is not None:
            return Actor(kind="household", id=self.household_id)
        return Actor(kind="public")


def _bounded(value: str, limit: int, field: str) -> str:
    """The value stripped and cut to ``limit``; control characters are refused on ``field``."""
    if has_control_chars(value):
        raise Invalid(N_("Please correct the marked fields."), fields={field: "control_chars"})
    return value.strip()[:limit]


async def submit(
    session: AsyncSession,
    settings: Settings,
    reporter: Reporter,
    *,
    report_type: str,
    subject_type: str,
    subject_id: str,
    text: str,
    contact: str = "",
    locale: str = "zh_CN",
    now: datetime | None = None,
) -> Report:
    now = now or utcnow()
    errors: dict[str, str] = {}
    try:
        kind = ReportType(report_type)
    except ValueError:
        kind = None
        errors["type"] = "required" if not report_type else "invalid"
    try:
        about = SubjectType(subject_type or "none")
    except ValueError:
        about = SubjectType.NONE
    if not text.strip():
        errors["text"] = "required"
    elif len(text) > MAX_TEXT:
        errors["text"] = "too_long"
    if len(contact) > MAX_CONTACT:
        errors["contact"] = "too_long"
    subject: repo.Subject | None = None
    if about != SubjectType.NONE:
        try:
            sid = uuid.UUID(subject_id)
        except ValueError:
            raise NotFound(N_("What you want to report was not found.")) from None
        subject = await repo.subject(session, about, sid)
        if subject is None:
            raise NotFound(N_("What you want to report was not found."))
        if about == SubjectType.DELIVERY and subject.household_id != reporter.household_id:
            raise NotFound(N_("What you want to report was not found."))
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    assert kind is not None
    body = _bounded(text, MAX_TEXT, "text")
    contact = _bounded(contact, MAX_CONTACT, "contact")
    region = subject.region_code if subject else None
    if region is None and reporter.household_id is not None:
        region = await households.region_code_of(session, reporter.household_id) or None
    route = route_for(kind, subject, reporter.household_id is not None)
    calendar = calendar_of(settings)
    report = Report(
        id=uuid.uuid4(),
        tracking_code=new_tracking_code(),
        type=kind,
        subject_type=about,
        subject_id=subject.id if subject else None,
        subject_title=(subject.title if subject else "")[:200],
        region_code=region,
        route=route,
        text_enc=_cipher().encrypt(body, context=CONTEXTS["text"]),
        text_clean=not scan_public_text(body),
        contact_enc=_cipher().encrypt(contact, context=CONTEXTS["contact"]) if contact else None,
        reporter_user_id=reporter.user.id if reporter.user else None,
        reporter_household_id=reporter.household_id,
        locale=locale if locale in ("zh_CN", "en") else "zh_CN",
        stage=ReportStage.RECEIVED,
        ack_due_at=calendar.add_working_days(now, settings.report_ack_working_days),
        answer_due_at=calendar.add_working_days(now, settings.report_answer_working_days),
        held=False,
    )
    report.created_at = now
    session.add(report)
    await session.flush()
    detail = {"type": kind.value, "subject_type": about.value, "route": route.value}
    await record_change(
        session,
        actor=reporter.actor if kind != ReportType.MISCONDUCT else Actor(kind="public"),
        action="report.received",
        object_type="report",
        object_id=report.id,
        region_code=region,
        detail=detail,
        payload=detail,
    )
    if kind == ReportType.PERSONAL_DATA and subject is not None:
        await _hold(session, report, subject, Actor.system())
    return report


async def _hold(session: AsyncSession, report: Report, subject: repo.Subject, actor: Actor) -> None:
    """Hide the reported text at once, pending review (and tell its author through the event)."""
    report.held = True
    if (
        subject.type == SubjectType.NEED
        and subject.need_id is not None
        and await repo.hide_need(session, subject.need_id, HIDDEN_REASON)
    ):
        await record_change(
            session,
            actor=actor,
            action="need.hidden",
            object_type="need",
            object_id=subject.need_id,
            region_code=subject.region_code,
            detail={"reason": HIDDEN_REASON},
            payload={"reason": HIDDEN_REASON},
        )
    await record_change(
        session,
        actor=actor,
        action="report.held",
        object_type="report",
        object_id=report.id,
        region_code=report.region_code,
        payload={"subject_type": subject.type.value, "subject_id": str(subject.id)},
    )
    await session.flush()


async def subject_title(session: AsyncSession, on: str, subject_id: str) -> str:
    """The public title of what a visitor wants to report ("" when unknown or not public)."""
    try:
        kind = SubjectType(on)
        sid = uuid.UUID(subject_id)
    except ValueError:
        return ""
    if kind in (SubjectType.NONE, SubjectType.DELIVERY):
        return ""
    found = await repo.subject(session, kind, sid)
    return found.title if found else ""


# ---------------------------------------------------------------- who may handle


def may_handle(user: CurrentUser, report: Report, region_path: str | None) -> bool:
    if user.is_admin:
        return True
    if region_path is None:
        return False
    if user.covers(Role.COORDINATOR, region_path):
        return True
    return report.route == Route.CASEWORKERS and user.covers(Role.CASEWORKER, region_path)


def is_handler(user: CurrentUser) -> bool:
    return user.is_admin or user.has_role(Role.COORDINATOR, Role.CASEWORKER)


async def report_for(
    session: AsyncSession, user: CurrentUser, report_id: uuid.UUID, *, for_update: bool = False
) -> Report:
    if not is_handler(user):
        raise Forbidden(N_("Only caseworkers, coordinators and the platform admin handle reports."))
    report = await repo.get(session, report_id, for_update=for_update)
    if report is None:
        raise NotFound(N_("Report not found."))
    if not may_handle(user, report, await repo.region_path(session, report.region_code)):
        raise NotFound(N_("Report not found."))
    return report


@dataclass(frozen=True)
class HandlerView:
    report: Report
    text: str
    findings: list[Finding]
    contact: str | None  # None: hidden from this reader (confidential type)
    reporter_known: bool
    moves: list[ReportMove]
    next_stages: list[ReportStage]
    overdue: bool


async def open_report(
    session: AsyncSession, user: CurrentUser, report_id: uuid.UUID, *, now: datetime | None = None
) -> HandlerView:
    now = now or utcnow()
    report = await report_for(session, user, report_id)
    confidential = report.type == ReportType.MISCONDUCT
    text = _cipher().decrypt(report.text_enc, context=CONTEXTS["text"])
    shows_reporter = user.is_admin or not confidential
    contact: str | None = None
    if shows_reporter:
        contact = (
            _cipher().decrypt(report.contact_enc, context=CONTEXTS["contact"])
            if report.contact_enc
            else ""
        )
    await record(
        session,
        actor=Actor(kind="user", id=user.id),
        action="report.read",
        object_type="report",
        object_id=report.id,
        region_code=report.region_code,
        detail={"confidential": confidential, "reporter_shown": shows_reporter},
    )
    return HandlerView(
        report=report,
        text=text,
        findings=scan_public_text(text),
        contact=contact,
        reporter_known=shows_reporter
        and (report.reporter_user_id is not None or report.reporter_household_id is not None),
        moves=await repo.moves(session, report.id),
        next_stages=sorted(STAGE_MOVES[report.stage], key=list(ReportStage).index),
        overdue=report.stage not in CLOSED_STAGES and report.answer_due_at < now,
    )


async def move(
    session: AsyncSession,
    user: CurrentUser,
    report_id: uuid.UUID,
    *,
    to_stage: str,
    reason: str,
    outcome: str = "",
    now: datetime | None = None,
) -> Report:
    now = now or utcnow()
    report = await report_for(session, user, report_id, for_update=True)
    try:
        target = ReportStage(to_stage)
    except ValueError:
        raise Invalid(
            N_("Please correct the marked fields."), fields={"stage": "invalid"}
        ) from None
    if target not in STAGE_MOVES[report.stage]:
        raise Conflict(N_("This report has moved on already. Reload the page to see its stage."))
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "required"
    elif len(reason) > MAX_REASON:
        errors["reason"] = "too_long"
    closing = target in CLOSED_STAGES
    if closing and not outcome.strip():
        errors["outcome"] = "required"
    elif len(outcome) > MAX_TEXT:
        errors["outcome"] = "too_long"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    findings = scan_public_text(outcome) if closing else []
    if findings:
        raise PersonalDataInAnswer(findings)
    session.add(
        ReportMove(
            id=uuid.uuid4(),
            report_id=report.id,
            from_stage=report.stage.value,
            to_stage=target.value,
            reason=_bounded(reason, MAX_REASON, "reason"),
            actor_id=user.id,
            at=now,
        )
    )
    previous = report.stage
    report.stage = target
    if target != ReportStage.DISMISSED and report.acknowledged_at is None:
        report.acknowledged_at = now
    if previous == ReportStage.RECEIVED and target == ReportStage.DISMISSED:
        report.acknowledged_at = now
    if closing:
        report.closed_at = now
        report.outcome = _bounded(outcome, MAX_TEXT, "outcome")
        if target == ReportStage.DISMISSED and report.held:
            await _release(session, report, Actor(kind="user", id=user.id))
        if report.donations_paused:
            report.donations_paused = False
            await _pause_event(session, report, user, paused=False)
    await record_change(
        session,
        actor=Actor(kind="user", id=user.id),
        action="report.moved",
        object_type="report",
        object_id=report.id,
        region_code=report.region_code,
        detail={"from": previous.value, "to": target.value},
        payload={"from": previous.value, "to": target.value},
    )
    await session.flush()
    return report


async def _release(session: AsyncSession, report: Report, actor: Actor) -> None:
    report.held = False
    if (
        report.subject_type in (SubjectType.NEED,)
        and report.subject_id is not None
        and not await repo.other_open_holds(
            session, report.subject_type, report.subject_id, report.id
        )
        and await repo.unhide_need(session, report.subject_id, HIDDEN_REASON)
    ):
        await record_change(
            session,
            actor=actor,
            action="need.unhidden",
            object_type="need",
            object_id=report.subject_id,
            region_code=report.region_code,
            detail={"reason": HIDDEN_REASON},
            payload={"reason": HIDDEN_REASON},
        )
    await record_change(
        session,
        actor=actor,
        action="report.hold_released",
        object_type="report",
        object_id=report.id,
        region_code=report.region_code,
    )


async def release_hold(
    session: AsyncSession, user: CurrentUser, report_id: uuid.UUID, *, reason: str
) -> Report:
    """Show the reported text again (the author fixed it, or it held no personal data)."""
    report = await report_for(session, user, report_id, for_update=True)
    if not report.held:
        raise Conflict(N_("The reported text is not hidden."))
    if not reason.strip():
        raise Invalid(N_("Please correct the marked fields."), fields={"reason": "required"})
    session.add(
        ReportMove(
            id=uuid.uuid4(),
            report_id=report.id,
            from_stage=report.stage.value,
            to_stage=report.stage.value,
            reason=_bounded(reason, MAX_REASON, "reason"),
            actor_id=user.id,
            at=utcnow(),
        )
    )
    await _release(session, report, Actor(kind="user", id=user.id))
    await session.flush()
    return report


async def _pause_event(
    session: AsyncSession, report: Report, user: CurrentUser, *, paused: bool
) -> None:
    await record_change(
        session,
        actor=Actor(kind="user", id=user.id),
        action="report.donations_paused" if paused else "report.donations_resumed",
        object_type="report",
        object_id=report.id,
        region_code=report.region_code,
        detail={"project_id": str(report.subject_id)},
        payload={"project_id": str(report.subject_id)},
    )


async def set_donations_paused(
    session: AsyncSession, user: CurrentUser, report_id: uuid.UUID, *, paused: bool, reason: str
) -> Report:
    """A coordinator's (or the admin's) decision on a fraud report about a project."""
    report = await report_for(session, user, report_id, for_update=True)
    path = await repo.region_path(session, report.region_code)
    if not (user.is_admin or (path is not None and user.covers(Role.COORDINATOR, path))):
        raise Forbidden(N_("Only the county's coordinators can pause donations."))
    if report.type != ReportType.FRAUD or report.subject_type != SubjectType.PROJECT:
        raise Conflict(N_("Only a fraud report about a project can pause its donations."))
    if report.stage in CLOSED_STAGES:
        raise Conflict(N_("This report is closed."))
    if report.donations_paused == paused:
        raise Conflict(N_("This was done already. Reload the page."))
    if not reason.strip():
        raise Invalid(N_("Please correct the marked fields."), fields={"reason": "required"})
    report.donations_paused = paused
    session.add(
        ReportMove(
            id=uuid.uuid4(),
            report_id=report.id,
            from_stage=report.stage.value,
            to_stage=report.stage.value,
            reason=_bounded(reason, MAX_REASON, "reason"),
            actor_id=user.id,
            at=utcnow(),
        )
    )
    await _pause_event(session, report, user, paused=paused)
    await session.flush()
    return report


# ---------------------------------------------------------------- reading, without an account


@dataclass(frozen=True)
class Tracked:
    code: str
    type: ReportType
    subject_type: SubjectType
    subject_title: str
    stage: ReportStage
    created_at: datetime
    ack_due_at: datetime
    answer_due_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    outcome: str
    held: bool

    @property
    def ack_due_day(self) -> date:
        return due_day(self.ack_due_at)

    @property
    def answer_due_day(self) -> date:
        return due_day(self.answer_due_at)


def tracked(report: Report) -> Tracked:
    return Tracked(
        code=display_code(report.tracking_code),
        type=report.type,
        subject_type=report.subject_type,
        subject_title=report.subject_title,
        stage=report.stage,
        created_at=report.created_at,
        ack_due_at=report.ack_due_at,
        answer_due_at=report.answer_due_at,
        acknowledged_at=report.acknowledged_at,
        closed_at=report.closed_at,
        outcome=report.outcome,
        held=report.held,
    )


async def track(session: AsyncSession, raw_code: str) -> Tracked:
    code = normalize_code(raw_code)
    report = await repo.by_code(session, code) if len(code) == 11 else None
    if report is None:
        raise NotFound(N_("No report has this code. Check it and try again."))
    return tracked(report)


async def mine(session: AsyncSession, user: CurrentUser) -> list[Tracked]:
    return [tracked(r) for r in await repo.of_user(session, user.id)]


async def of_household(session: AsyncSession, household_id: uuid.UUID) -> list[Tracked]:
    return [tracked(r) for r in await repo.of_household(session, household_id)]


async def held(session: AsyncSession, subject_type: SubjectType, subject_id: uuid.UUID) -> bool:
    return await repo.held(session, subject_type, subject_id)


async def donations_paused(session: AsyncSession, project_id: uuid.UUID) -> bool:
    return await repo.donations_paused(session, project_id)


async def queue(
    session: AsyncSession,
    user: CurrentUser,
    pager: Page,
    *,
    stage: str = "",
    report_type: str = "",
) -> tuple[list[Report], Page]:
    if not is_handler(user):
        raise Forbidden(N_("Only caseworkers, coordinators and the platform admin handle reports."))
    try:
        stage_f = ReportStage(stage) if stage else None
    except ValueError:
        raise Invalid(
            N_("Please correct the marked fields."), fields={"stage": "invalid"}
        ) from None
    try:
        type_f = ReportType(report_type) if report_type else None
    except ValueError:
        raise Invalid(N_("Please correct the marked fields."), fields={"type": "invalid"}) from None
    rows, total = await repo.listing(
        session,
        is_admin=user.is_admin,
        coordinator_paths=user.region_paths(Role.COORDINATOR),
        caseworker_paths=user.region_paths(Role.CASEWORKER),
        stage=stage_f,
        report_type=type_f,
        open_only=not stage,
        offset=pager.offset,
        limit=pager.size,
    )
    return rows, pager.with_total(total)


# ---------------------------------------------------------------- deadlines


async def escalate_overdue(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Mark open reports past a deadline as escalated (once per deadline); the event notifies."""
    now = now or utcnow()
    count = 0
    for report in await repo.overdue(session, now):
        level = "answer" if report.answer_due_at < now else "ack"
        if report.escalation == level:
            continue
        report.escalation = level
        await record_change(
            session,
            actor=Actor.system(),
            action="report.escalated",
            object_type="report",
            object_id=report.id,
            region_code=report.region_code,
            detail={"deadline": level},
            payload={"deadline": level},
        )
        count += 1
    await session.flush()
    return count


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    by_type: dict[str, int]
    by_stage: dict[str, int]
    by_age: dict[str, int]  # open reports by working days since arrival
    answered: int
    answered_on_time: int
    median_days_to_answer: float | None

    @property
    def on_time_share(self) -> float | None:
        return self.answered_on_time / self.answered if self.answered else None


AGE_BANDS = (("0-1", 0, 1), ("2-5", 2, 5), ("6-10", 6, 10), ("11+", 11, 10**6))


async def figures(
    session: AsyncSession, settings: Settings, user: CurrentUser, *, now: datetime | None = None
) -> Figures:
    """The handler's own region's true counts (staff see their county's real figures)."""
    now = now or utcnow()
    if not (user.is_admin or user.has_role(Role.COORDINATOR)):
        raise Forbidden(N_("Only coordinators and the platform admin see these figures."))
    counts = await repo.figure_counts(
        session,
        is_admin=user.is_admin,
        coordinator_paths=user.region_paths(Role.COORDINATOR),
        since=now - timedelta(days=365),
    )
    calendar = calendar_of(settings)
    by_age = {band: 0 for band, _a, _b in AGE_BANDS}
    for arrived in counts.open_since:
        age = calendar.working_days_between(arrived, now)
        band = next(b for b, low, high in AGE_BANDS if low <= age <= high)
        by_age[band] += 1
    return Figures(
        by_type={t.value: counts.by_type.get(t.value, 0) for t in ReportType},
        by_stage={s.value: counts.by_stage.get(s.value, 0) for s in ReportStage},
        by_age=by_age,
        answered=counts.answered,
        answered_on_time=counts.on_time,
        median_days_to_answer=None if counts.median_days is None else round(counts.median_days, 1),
    )


def public_count(n: int) -> str:
    return "<11" if n < SUPPRESS_BELOW else str(n)


@dataclass(frozen=True)
class MonthRow:
    month: str
    counts: dict[str, str]  # type → shown count (small counts suppressed)
    total: str
    on_time_share: str  # "87%", or "—" when too few answered to show


async def transparency(session: AsyncSession, *, now: datetime | None = None) -> list[MonthRow]:
    now = now or utcnow()
    rows = await repo.monthly_public(session, now - timedelta(days=366))
    months: dict[str, dict[str, tuple[int, int, int]]] = {}
    for month, kind, n, closed, ok in rows:
        months.setdefault(month, {})[kind] = (n, closed, ok)
    out: list[MonthRow] = []
    for month in sorted(months, reverse=True):
        per = months[month]
        total = sum(v[0] for v in per.values())
        closed = sum(v[1] for v in per.values())
        ok = sum(v[2] for v in per.values())
        out.append(
            MonthRow(
                month=month,
                counts={t.value: public_count(per.get(t.value, (0, 0, 0))[0]) for t in ReportType},
                total=public_count(total),
                on_time_share=f"{round(100 * ok / closed)}%" if closed >= SUPPRESS_BELOW else "—",
            )
        )
    return out


# --- who is told (the notification catalogue asks through here) -------------------------------


@dataclass(frozen=True)
class Notice:
    """Recipients and public parameters of one ``report.*`` event: the tracking code and the
    subject's public title only, never the report's text or the reporter's contact."""

    users: tuple[uuid.UUID, ...]
    organizations: tuple[uuid.UUID, ...]
    params: dict[str, object]
    link: str


async def notice_for(session: AsyncSession, topic: str, report_id: uuid.UUID) -> Notice | None:
    """Who is told of ``topic`` on this report (docs/notifications.md): the handlers of a new
    report (and the county's coordinators for a regional fraud report); handlers, coordinators
    and platform admins of an overdue one; the signed-in reporter of a move; the owning
    organization of hidden text or paused donations."""
    report = await repo.get(session, report_id)
    if report is None:
        return None
    params: dict[str, object] = {
        "code": display_code(report.tracking_code),
        "title": report.subject_title,
    }
    handler_link = f"/reports/{report.id}"
    if topic == "report.received":
        users = set(await repo.handler_ids(session, report.route, report.region_code))
        if report.route == Route.ADMIN and report.region_code and report.type == ReportType.FRAUD:
            users |= set(await repo.handler_ids(session, Route.COORDINATORS, report.region_code))
        return Notice(tuple(sorted(users)), (), params, handler_link)
    if topic == "report.escalated":
        users = {
            *await repo.handler_ids(session, report.route, report.region_code),
            *await repo.admin_ids(session),
        }
        if report.region_code:
            users |= set(await repo.handler_ids(session, Route.COORDINATORS, report.region_code))
        return Notice(tuple(sorted(users)), (), params, handler_link)
    if topic == "report.moved":
        if report.reporter_user_id is None:
            return None
        link = f"/report/track/{report.tracking_code}"
        return Notice((report.reporter_user_id,), (), params, link)
    if topic in ("report.held", "report.donations_paused", "report.donations_resumed"):
        if report.subject_id is None:
            return None
        subject = await repo.subject(session, report.subject_type, report.subject_id)
        if subject is None or subject.organization_id is None:
            return None
        return Notice((), (subject.organization_id,), params, "/org")
    return None
