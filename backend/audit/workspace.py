"""The auditor's workspace (issue 19 point 4): a read-only view of the audit log, the chain
verified from the page, a CSV export of a filtered range (itself audited) and three reports.

What the auditor sees is built here from the log's own columns and from staff accounts:
actions and objects as labels, actors by display name and role, regions by name, and of an
entry's ``detail`` only what is safe to show (the names of the personal fields read, amounts,
a coordinator's reason with any personal data found in it masked). No household table is read
and nothing is decrypted: an auditor never sees a personal field's value (docs/audit.md).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.accounts.identity import CurrentUser
from backend.audit import repository as repo
from backend.audit.checkpoints import RETENTION, CheckpointRefused, trusted_start
from backend.audit.labels import (
    ACTOR_KIND_LABELS,
    FIELD_LABELS,
    KNOWN_ACTIONS,
    OBJECT_LABELS,
    ROLE_LABELS,
    action_parts,
    object_label,
)
from backend.audit.repository import LogFilter
from backend.audit.service import ALTERED, MISSING, Actor, record, unsealed_entries, verify
from backend.core.csvexport import yuan
from backend.core.errors import Invalid
from backend.core.i18n import N_, get_translations
from backend.privacy.scanner import scan_public_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50
EXPORT_MAX = 100_000  # rows in one CSV export; narrow the filters for more
EXPORT_BATCH = 1000
REPORT_LIMIT = 500
VERIFY_BATCH = 2000  # chain rows per walk: the event loop is never held longer than one batch
VERIFY_SECONDS = 2.0  # then the page asks for the next step (htmx), so no request times out
ACCESS_ACTIONS = (
    "household.revealed",
    "household.exported",
    "household.contact_viewed",
    "referral.revealed",
)
OVERRIDE_ACTIONS = ("match.rejected", "match.reassigned")
_CURSOR = re.compile(r"^(\d{1,20})_([0-9a-f]{32})$")
_SEQ = re.compile(r"^\d{1,18}$")
MASK = "＊＊＊"


# ------------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class LogQuery:
    """The viewer's filters as typed in (for the form) and as the repository takes them."""

    form: dict[str, str]
    filter: LogFilter


def _local_day(value: str, field_name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2999:  # also keeps day + 1 inside the calendar
        raise Invalid(N_("Please give a valid date."), fields={field_name: "invalid"})
    return day


def _utc_start(day: date) -> datetime:
    return datetime.combine(day, dtime.min, SHANGHAI).astimezone(UTC)


async def parse_filter(
    session: AsyncSession, raw: dict[str, str], *, region_path_of: Any
) -> LogQuery:
    """Read the filter form. ``region_path_of(code)`` gives a region's path (regions service)."""
    form = {k: (raw.get(k) or "").strip() for k in FILTER_FIELDS}
    actor_ids: tuple[uuid.UUID, ...] | None = None
    if form["who"]:
        actor_ids = await repo.users_matching(session, form["who"][:254])
    kind = form["kind"] if form["kind"] in ACTOR_KIND_LABELS else ""
    action = form["action"] if re.fullmatch(r"[a-z_.]{1,64}", form["action"]) else ""
    object_type = form["object"] if form["object"] in OBJECT_LABELS else ""
    object_id = form["object_id"][:64]
    region_codes = None
    if form["region"]:
        region_path = await region_path_of(form["region"][:12])
        if region_path is None:
            raise Invalid(N_("Unknown region."), fields={"region": "invalid"})
        region_codes = await repo.subtree_codes(session, region_path)
    since_day = _local_day(form["since"], "since")
    until_day = _local_day(form["until"], "until")
    if since_day and until_day and until_day < since_day:
        raise Invalid(N_("The end date is before the start date."), fields={"until": "invalid"})
    seq = None
    if form["row"]:
        if not _SEQ.match(form["row"]):
            raise Invalid(N_("Please give a row number."), fields={"row": "invalid"})
        seq = int(form["row"])
    return LogQuery(
        form=form,
        filter=LogFilter(
            actor_ids=actor_ids,
            actor_kind=kind or None,
            action=action or None,
            object_type=object_type or None,
            object_id=object_id or None,
            region_codes=region_codes,
            since=_utc_start(since_day) if since_day else None,
            until=_utc_start(until_day + timedelta(days=1)) if until_day else None,
            seq=seq,
        ),
    )


FILTER_FIELDS = ("who", "kind", "action", "object", "object_id", "region", "since", "until", "row")


def encode_cursor(occurred_at: datetime, entry_id: uuid.UUID) -> str:
    micros = int(occurred_at.timestamp() * 1_000_000)
    return f"{micros}_{entry_id.hex}"


def decode_cursor(value: str) -> tuple[datetime, uuid.UUID] | None:
    found = _CURSOR.match(value or "")
    if not found:
        return None
    moment = datetime.fromtimestamp(int(found[1]) / 1_000_000, UTC)
    return moment, uuid.UUID(found[2])


# ------------------------------------------------------------------------------- the viewer


@dataclass(frozen=True)
class Detail:
    label: str  # message id
    value: str  # already safe to show (field labels are message ids, translated at render)
    translate: bool = False


@dataclass(frozen=True)
class LogRow:
    occurred_at: datetime
    seq: int | None
    actor: str  # a display name, or "" when the actor is not a user
    actor_kind: str  # message id
    roles: tuple[str, ...]  # message ids
    action_object: str  # message id
    action_verb: str  # message id
    object: str  # message id
    ref: str  # a short, non-identifying reference of the object (first 8 hex digits)
    object_id: str  # the full id, for the link "every entry on this object" (never shown)
    region: str
    details: tuple[Detail, ...] = field(default_factory=tuple)


def mask_personal(text: str) -> str:
    """``text`` with every ID number, phone, e-mail, account and person's name found masked."""
    findings = scan_public_text(text)
    out, pos = [], 0
    for finding in sorted(findings, key=lambda f: f.start):
        if finding.start < pos:
            continue
        out.append(text[pos : finding.start])
        out.append(MASK)
        pos = finding.end
    out.append(text[pos:])
    return "".join(out)


def _yuan(amount_fen: int) -> str:
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(int(amount_fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def _details(detail: dict[str, Any]) -> tuple[Detail, ...]:
    """The parts of an entry's detail an auditor may read; everything else is left out."""
    out: list[Detail] = []
    fields = detail.get("fields")
    if isinstance(fields, list):
        out.extend(
            Detail(N_("Field read"), FIELD_LABELS[name], translate=True)
            for name in fields
            if isinstance(name, str) and name in FIELD_LABELS
        )
    amount = detail.get("amount_fen")
    if isinstance(amount, int) and not isinstance(amount, bool):
        out.append(Detail(N_("Amount"), _yuan(amount)))
    reason = detail.get("reason")
    if isinstance(reason, str) and reason.strip():
        out.append(Detail(N_("Reason"), mask_personal(reason.strip()[:500])))
    count = detail.get("rows")
    if isinstance(count, int) and not isinstance(count, bool):
        out.append(Detail(N_("Rows"), str(count)))
    return tuple(out)


def _actor_kind(value: str) -> tuple[str, str | None]:
    kind, _, role = value.partition(":")
    return kind, role or None


def _region(row: Any, locale: str) -> str:
    if row.region_name is None:
        return ""
    return str(row.region_name_en or row.region_name) if locale == "en" else str(row.region_name)


def _log_rows(rows: Sequence[Any], roles: dict[uuid.UUID, set[Any]], locale: str) -> list[LogRow]:
    out = []
    for row in rows:
        kind, role = _actor_kind(row.actor_kind)
        if role:
            role_labels: tuple[str, ...] = (ROLE_LABELS.get(role, N_("Other role")),)
        elif kind == "user" and row.actor_id in roles:
            role_labels = tuple(
                sorted(ROLE_LABELS[r.value] for r in roles[row.actor_id] if r.value in ROLE_LABELS)
            )
        else:
            role_labels = ()
        obj, verb = action_parts(row.action)
        out.append(
            LogRow(
                occurred_at=row.occurred_at,
                seq=row.seq,
                actor=str(row.actor_name) if kind == "user" and row.actor_name else "",
                actor_kind=ACTOR_KIND_LABELS.get(kind, N_("Other")),
                roles=role_labels,
                action_object=obj,
                action_verb=verb,
                object=object_label(row.object_type),
                ref=str(row.object_id).replace("-", "")[:8],
                object_id=str(row.object_id),
                region=_region(row, locale),
                details=_details(row.detail or {}),
            )
        )
    return out


@dataclass(frozen=True)
class LogView:
    rows: list[LogRow]
    next_cursor: str | None


async def log_view(
    session: AsyncSession, query: LogQuery, *, cursor: str = "", locale: str
) -> LogView:
    rows = await repo.log_page(
        session, query.filter, before=decode_cursor(cursor), limit=PAGE_SIZE + 1
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    users = [r.actor_id for r in rows if r.actor_id and r.actor_kind == "user"]
    roles = await repo.roles_of(session, users)
    next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].id) if more and rows else None
    return LogView(_log_rows(rows, roles, locale), next_cursor)


def action_choices() -> list[tuple[str, str, str]]:
    """(code, object message id, verb message id) of the actions the filter offers."""
    return [(code, *action_parts(code)) for code in KNOWN_ACTIONS]


# ------------------------------------------------------------------------------- the export

EXPORT_COLUMNS = (
    N_("Time (Beijing)"),
    N_("Chain row"),
    N_("Who"),
    N_("Role"),
    N_("Action"),
    N_("Object"),
    N_("Reference"),
    N_("Region"),
    N_("Details"),
)


async def record_export(session: AsyncSession, user: CurrentUser, query: LogQuery) -> uuid.UUID:
    """The export's own audit entry, written (and committed) before the file is streamed.

    Its detail keeps the filters as codes and ids (never a typed e-mail or name)."""
    f = query.filter
    export_id = uuid.uuid4()
    filters: dict[str, Any] = {
        "actor_ids": [str(i) for i in f.actor_ids] if f.actor_ids is not None else None,
        "kind": f.actor_kind,
        "action": f.action,
        "object_type": f.object_type,
        "object_id": f.object_id,
        "region": query.form["region"] or None,
        "since": query.form["since"] or None,
        "until": query.form["until"] or None,
        "row": f.seq,
    }
    await record(
        session,
        actor=Actor(kind="user", id=user.id, role="auditor"),
        action="audit.exported",
        object_type="audit_log",
        object_id=export_id,
        detail={"filters": {k: v for k, v in filters.items() if v is not None}},
    )
    return export_id


def _detail_text(details: Sequence[Detail], translate: Any, *, chinese: bool) -> str:
    colon, separator = ("：", "；") if chinese else (": ", "; ")
    return separator.join(
        f"{translate(d.label)}{colon}{translate(d.value) if d.translate else d.value}"
        for d in details
    )


def _csv_line(view: LogRow, tr: Any, locale: str) -> list[Any]:
    chinese = locale == "zh_CN"
    return [
        view.occurred_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        view.seq if view.seq is not None else "",
        view.actor or tr(view.actor_kind),
        ("、" if chinese else ", ").join(tr(r) for r in view.roles),
        f"{tr(view.action_object)}{'：' if chinese else ': '}{tr(view.action_verb)}",
        tr(view.object),
        view.ref,
        view.region,
        _detail_text(view.details, tr, chinese=chinese),
    ]


async def export_batches(
    sessionmaker: async_sessionmaker[Any], query: LogQuery, *, locale: str
) -> AsyncIterator[list[list[Any]]]:
    """The filtered range as CSV rows, newest first, a keyset batch at a time, read in its own
    short read-only session per batch (the request's transaction has committed by then)."""
    translations = get_translations(locale)
    tr = translations.gettext
    cursor: tuple[datetime, uuid.UUID] | None = None
    sent = 0
    while sent < EXPORT_MAX:
        async with sessionmaker() as session:
            rows = await repo.log_page(
                session, query.filter, before=cursor, limit=min(EXPORT_BATCH, EXPORT_MAX - sent)
            )
            users = [r.actor_id for r in rows if r.actor_id and r.actor_kind == "user"]
            roles = await repo.roles_of(session, users)
        if not rows:
            return
        yield [_csv_line(view, tr, locale) for view in _log_rows(rows, roles, locale)]
        sent += len(rows)
        cursor = (rows[-1].occurred_at, rows[-1].id)
        if len(rows) < EXPORT_BATCH:
            return


# ------------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerifyStep:
    """One bounded step of a verification run started from the page."""

    full: bool
    ok: bool
    done: bool
    started_after: int  # 0: from the first row
    next_from: int  # the next chain row to verify when not done
    checked: int  # rows verified in this run so far
    total: int  # the chain's last row when the step ran
    first_bad_seq: int | None = None
    problem: str = ""  # MISSING | OUT_OF_ORDER | ALTERED | UNSEALED | "checkpoint"
    unsealed: int = 0

    @property
    def percent(self) -> int:
        span = self.total - self.started_after
        if span <= 0:
            return 100
        return min(100, int(100 * (self.next_from - 1 - self.started_after) / span))


async def verify_step(
    session: AsyncSession, *, full: bool, from_seq: int | None, checked: int, started_after: int
) -> VerifyStep:
    """Verify the chain for at most about ``VERIFY_SECONDS``, ``VERIFY_BATCH`` rows at a time.

    The first step (``from_seq`` None) starts after the latest signed checkpoint (``full``:
    from the first row, or after the last retention checkpoint) and checks the checkpoint's
    signature and its row; a later step continues at ``from_seq``, chained to the stored hash
    of the row before it, which the previous step verified. The last step also checks that no
    entry waits unsealed too long. The page records no checkpoint: the daily job and
    ``tongxin verify-audit`` do.
    """
    total = await repo.last_seq(session)
    prev_hash: str | None = None
    if from_seq is None:
        try:
            start = await trusted_start(session, kind=RETENTION if full else None)
        except CheckpointRefused:
            return VerifyStep(full, False, True, 0, 1, 0, total, None, "checkpoint")
        if start is None:
            from_seq, started_after = 1, 0
        else:
            stored = await repo.link_hash(session, start.seq)
            if stored != start.hash:
                problem = MISSING if stored is None else ALTERED
                return VerifyStep(
                    full, False, True, start.seq, start.seq, 0, total, start.seq, problem
                )
            from_seq, started_after, prev_hash = start.seq + 1, start.seq, start.hash
    deadline = time.monotonic() + VERIFY_SECONDS
    while True:
        to_seq = from_seq + VERIFY_BATCH - 1
        result = await verify(
            session, from_seq=from_seq, to_seq=to_seq, prev_hash=prev_hash, stale_after=None
        )
        checked += result.checked
        if not result.ok:
            return VerifyStep(
                full,
                False,
                True,
                started_after,
                from_seq,
                checked,
                total,
                result.first_bad_seq,
                result.problem,
            )
        if result.checked < VERIFY_BATCH:
            count, _oldest = await unsealed_entries(session)
            if count:
                return VerifyStep(
                    full,
                    False,
                    True,
                    started_after,
                    to_seq + 1,
                    checked,
                    total,
                    None,
                    "unsealed",
                    count,
                )
            return VerifyStep(full, True, True, started_after, result.last_seq + 1, checked, total)
        from_seq, prev_hash = to_seq + 1, result.last_hash
        if time.monotonic() > deadline:
            return VerifyStep(full, True, False, started_after, from_seq, checked, total)


# ------------------------------------------------------------------------------- reports


def month_range(since: str, until: str) -> tuple[date, date]:
    """First days of the first and the last month asked (``YYYY-MM``); default: the last
    twelve months. At most 36 months."""
    today = datetime.now(SHANGHAI).date()

    def month(value: str, name: str) -> date | None:
        if not value:
            return None
        try:
            day = datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a month, no time
        except ValueError:
            day = None
        if day is None or not 2000 <= day.year <= 2999:
            raise Invalid(N_("Please give a month."), fields={name: "invalid"})
        return day

    last = month(until, "until") or today.replace(day=1)
    first = month(since, "since") or _add_months(last, -11)
    if first > last:
        raise Invalid(N_("The end date is before the start date."), fields={"until": "invalid"})
    if (last.year - first.year) * 12 + last.month - first.month >= 36:
        first = _add_months(last, -35)
    return first, last


def _add_months(day: date, n: int) -> date:
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class AccessLine:
    month: date
    actor: str
    reveals: int
    revealed_households: int
    exports: int
    exported_households: int


async def access_report(session: AsyncSession, first: date, last: date) -> list[AccessLine]:
    """Personal-data reveals and exports per caseworker per month (Asia/Shanghai)."""
    rows = await repo.access_counts(
        session,
        ACCESS_ACTIONS,
        since=_utc_start(first),
        until=_utc_start(_add_months(last, 1)),
    )
    lines: dict[tuple[date, uuid.UUID | None], dict[str, Any]] = {}
    for row in rows:
        key = (row.month.date(), row.actor_id)
        line = lines.setdefault(
            key,
            {"actor": row.display_name or "", "reveals": 0, "rh": 0, "exports": 0, "eh": 0},
        )
        if row.action == "household.exported":
            line["exports"] += row.entries
            line["eh"] += row.objects
        else:
            line["reveals"] += row.entries
            line["rh"] += row.objects
    return [
        AccessLine(month, v["actor"], v["reveals"], v["rh"], v["exports"], v["eh"])
        for (month, _actor), v in lines.items()
    ]


async def overrides_report(
    session: AsyncSession, first: date, last: date, *, locale: str
) -> list[LogRow]:
    rows = await repo.entries_with_actions(
        session,
        OVERRIDE_ACTIONS,
        since=_utc_start(first),
        until=_utc_start(_add_months(last, 1)),
        limit=REPORT_LIMIT,
    )
    users = [r.actor_id for r in rows if r.actor_id]
    return _log_rows(rows, await repo.roles_of(session, users), locale)


@dataclass(frozen=True)
class DisbursementLine:
    decided_at: datetime
    project: str
    amount_fen: int
    approved: bool
    purpose: str
    requested_by: str
    decided_by: str


async def disbursements_report(
    session: AsyncSession, first: date, last: date
) -> list[DisbursementLine]:
    rows = await repo.decided_disbursements(
        session, since=_utc_start(first), until=_utc_start(_add_months(last, 1)), limit=REPORT_LIMIT
    )
    return [
        DisbursementLine(
            decided_at=row.decided_at,
            project=row.project_title,
            amount_fen=row.amount_fen,
            approved=row.state.value == "approved",
            purpose=mask_personal(row.purpose or ""),
            requested_by=row.requested_by or "",
            decided_by=row.decided_by or "",
        )
        for row in rows
    ]


# ------------------------------------------------------------------------------- report files

REPORT_KINDS = ("access", "overrides", "disbursements")
REPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "access": (
        N_("Month"),
        N_("Person"),
        N_("Reveals"),
        N_("Households revealed"),
        N_("Households exported"),
    ),
    "overrides": (
        N_("Time (Beijing)"),
        N_("Who"),
        N_("Action"),
        N_("Reference"),
        N_("Region"),
        N_("Reason"),
    ),
    "disbursements": (
        N_("Decided"),
        N_("Project"),
        N_("Amount (yuan)"),
        N_("Decision"),
        N_("Requested by"),
        N_("Decided by"),
        N_("Purpose"),
    ),
}


async def report_rows(
    session: AsyncSession, user: CurrentUser, kind: str, first: date, last: date, *, locale: str
) -> list[list[Any]]:
    """A report as CSV rows (same lines as the page), its download audited like the log's."""
    tr = get_translations(locale).gettext
    chinese = locale == "zh_CN"
    rows: list[list[Any]] = []
    if kind == "access":
        rows = [
            [
                line.month.strftime("%Y-%m"),
                line.actor or tr("Unknown account"),
                line.reveals,
                line.revealed_households,
                line.exported_households,
            ]
            for line in await access_report(session, first, last)
        ]
    elif kind == "overrides":
        for view in await overrides_report(session, first, last, locale=locale):
            reason = next((d.value for d in view.details if d.label == N_("Reason")), "")
            rows.append(
                [
                    view.occurred_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                    view.actor or tr(view.actor_kind),
                    f"{tr(view.action_object)}{'：' if chinese else ': '}{tr(view.action_verb)}",
                    view.ref,
                    view.region,
                    reason,
                ]
            )
    else:
        rows = [
            [
                line.decided_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                line.project,
                yuan(line.amount_fen),
                tr(N_("Approved") if line.approved else N_("Rejected")),
                line.requested_by,
                line.decided_by,
                line.purpose,
            ]
            for line in await disbursements_report(session, first, last)
        ]
    await record(
        session,
        actor=Actor(kind="user", id=user.id, role="auditor"),
        action="audit.exported",
        object_type="audit_log",
        object_id=uuid.uuid4(),
        detail={"report": kind, "since": first.isoformat(), "until": last.isoformat()},
    )
    return rows
