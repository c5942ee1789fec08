"""The coordinator dashboard: the figures of a coordinator's area as charts with their tables.

Every figure is read from the cells the outbox handlers maintain (``figures.py``,
``repository.cells_by``): a few hundred rows per area whatever the size of the data; this module
turns the numbers into :class:`Chart` values: a table (header and rows, labels in the reader's
language, never codes) of which some columns are drawn. The same table is the page's "show data"
table, the chart's JSON and the CSV download. Definitions: docs/dashboard.md.

Counts are true counts: the dashboard is seen only by the area's coordinators and the platform
admin (staff), so the small-cell suppression of public figures
(``backend.matches.fairness.public_count``) does not apply here.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.config import Settings
from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.core.i18n import N_, gettext
from backend.dashboard import repository as repo
from backend.grievance import service as grievance
from backend.needs.models import NeedCategory, Urgency
from backend.notifications.deadlines import Thresholds

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKS = 26  # the flow chart's window
PERIOD_DAYS = 365  # the window of the other figures over time
OLDEST_EMERGENCIES = 20
ORGANIZATIONS_MAX = 30
TOWNSHIPS_DRAWN = 30

Cell = str | int | float | None

STEPS = (
    ("published", N_("Published")),
    ("claimed", N_("Claimed")),
    ("delivered", N_("Delivered")),
    ("confirmed", N_("Confirmed")),
)
EMERGENCY_LABELS = (N_("under 1 day"), N_("1–3 days"), N_("3–7 days"), N_("7 days or more"))
SLA_LABELS = (N_("Within the deadline"), N_("Deadline near"), N_("Past the deadline"))
URGENCY_LABELS = {
    Urgency.EMERGENCY: N_("Emergency"),
    Urgency.HIGH: N_("High"),
    Urgency.NORMAL: N_("Normal"),
}
HELP_LABELS = (N_("Never helped"), N_("Helped once"), N_("Helped repeatedly"))
REPORT_TYPE_LABELS = {
    "fraud": N_("Suspected fraud or misuse of funds"),
    "personal_data": N_("Personal data exposed"),
    "delivery": N_("Help not received or not as described"),
    "misconduct": N_("Misconduct by a volunteer or organization (confidential)"),
    "wrong_info": N_("Wrong information"),
    "other": N_("Something else"),
}
REPORT_STAGE_LABELS = {
    "received": N_("Report received"),
    "acknowledged": N_("Acknowledged"),
    "investigating": N_("Being investigated"),
    "resolved": N_("Resolved"),
    "dismissed": N_("Closed without action"),
}


@dataclass(frozen=True)
class Chart:
    """One figure: its table (``columns`` header, ``rows``) and which columns are drawn."""

    key: str
    title: str
    definition: str
    kind: str  # line | bar | hbar | stack (horizontal stacked bars)
    columns: list[str]
    rows: list[list[Cell]]
    drawn: list[int]  # indexes of the columns drawn as series (column 0 labels the axis)
    unit: str = ""
    drawn_rows: int | None = None  # draw only the first n rows (the table has them all)

    @property
    def has_values(self) -> bool:
        """Is anything to draw (a chart of zeros only says "nothing yet" instead)?"""
        return any(row[i] for row in self.rows for i in self.drawn)

    def as_json(self) -> dict[str, object]:
        rows = self.rows if self.drawn_rows is None else self.rows[: self.drawn_rows]
        return {
            "kind": self.kind,
            "unit": self.unit,
            "labels": [str(r[0]) for r in rows],
            "series": [
                {"name": self.columns[i], "values": [r[i] for r in rows]} for i in self.drawn
            ],
        }


@dataclass(frozen=True)
class Summary:
    median_days: float | None
    p90_days: float | None
    confirmed_needs: int
    emergencies: int
    overdue_reviews: int
    reports_on_time: float | None  # share of answered reports answered within the deadline
    reports_answered: int


@dataclass(frozen=True)
class Area:
    """Where the figures are from: the coordinator's whole area or one county of it."""

    roots: list[str] | None  # region paths; None = every region (platform admin)
    county: str | None  # the chosen county's code
    name: str  # the chosen county's name, or "" for the whole area
    counties: list[tuple[str, str]]  # (code, name) of the counties in the whole area

    @property
    def cells(self) -> list[str]:
        """The counties whose maintained cells make the figures: the chosen one, or every
        county of the area (and, for the platform admin, the needs filed above county level,
        kept under the county code '')."""
        if self.county:
            return [self.county]
        codes = [code for code, _name in self.counties]
        return codes if self.roots is not None else [*codes, ""]


@dataclass
class Context:
    session: AsyncSession
    settings: Settings
    user: CurrentUser
    area: Area
    locale: str
    now: datetime = field(default_factory=utcnow)
    _timed: dict[str, list[tuple[datetime, str, int]]] | None = None
    _windowed: dict[str, list[tuple[str, int]]] | None = None
    _categories: Sequence[NeedCategory] | None = None

    def _(self, message: str, **params: object) -> str:
        return gettext(message, self.locale, **params)

    def weeks(self) -> list[date]:
        """Mondays of the flow chart's weeks, oldest first."""
        today = self.now.astimezone(SHANGHAI).date()
        monday = today - timedelta(days=today.weekday())
        return [monday - timedelta(weeks=i) for i in range(WEEKS - 1, -1, -1)]

    def since_day(self) -> datetime:
        """The start of the 12 months' window: local midnight of the day 365 days ago."""
        day = (self.now - timedelta(days=PERIOD_DAYS)).astimezone(SHANGHAI).date()
        return datetime.combine(day, datetime.min.time(), SHANGHAI)

    async def timed(self, metric: str) -> list[tuple[datetime, str, int]]:
        """The area's cells of a metric by bucket: (bucket start, key, count). The first call
        reads every such metric of the page in one statement."""
        if self._timed is None:
            first_week = datetime.combine(self.weeks()[0], datetime.min.time(), SHANGHAI)
            rows = await repo.cells_by(
                self.session,
                self.area.cells,
                [
                    (repo.FLOW_STEPS, first_week),
                    (["confirm_days"], self.since_day().replace(day=1)),
                    (["emergency", "proposed", "households"], None),
                ],
            )
            self._timed = {}
            for m, at, key, n in rows:
                self._timed.setdefault(m, []).append((at, key, n))
        return self._timed.get(metric, [])

    async def categories(self) -> Sequence[NeedCategory]:
        if self._categories is None:
            self._categories = await repo.categories(self.session)
        return self._categories

    async def windowed(self, metric: str) -> list[tuple[str, int]]:
        """The area's counts of a metric over the last 12 months by key; the first call reads
        every such metric of the page in one statement."""
        if self._windowed is None:
            rows = await repo.window_sums(
                self.session, self.area.cells, repo.WINDOW_METRICS, self.since_day()
            )
            self._windowed = {}
            for m, key, n in rows:
                self._windowed.setdefault(m, []).append((key, n))
        return self._windowed.get(metric, [])


@dataclass(frozen=True)
class Dashboard:
    area: Area
    summary: Summary
    charts: list[Chart]
    emergencies: list[list[str]]  # the oldest unmatched emergencies: title, category, place, age
    weeks: int
    period_days: int


def _region_name(region: object, locale: str) -> str:
    name = str(getattr(region, "name", ""))
    name_en = str(getattr(region, "name_en", "") or "")
    return name_en if locale == "en" and name_en else name


async def area_of(
    session: AsyncSession, user: CurrentUser, county: str | None, locale: str
) -> Area:
    """The user's area (a coordinator's regions, everything for the admin), narrowed to one of
    its counties when ``county`` is given (404 for a county outside the area)."""
    roots = None if user.is_admin else list(user.region_paths(Role.COORDINATOR))
    counties = [(r.code, _region_name(r, locale)) for r in await repo.counties(session, roots)]
    if not county:
        return Area(roots, None, "", counties)
    names = dict(counties)
    region = await repo.region_by_code(session, county)
    if region is None or county not in names:
        raise NotFound(N_("This county is not in your area."))
    return Area([region.path], county, names[county], counties)


def _age_days(ctx: Context, at: datetime | None) -> float:
    return 0.0 if at is None else max((ctx.now - at).total_seconds() / 86400, 0.0)


def binned_percentile(counts: Sequence[tuple[int, int]], p: float) -> float:
    """The ``p`` quantile of values counted in whole-day bins [b, b + 1), spread evenly within
    each bin (the days to confirmation are kept as such a histogram)."""
    bins = sorted((b, n) for b, n in counts if n > 0)
    target = p * sum(n for _b, n in bins)
    seen = 0
    for b, n in bins:
        if seen + n >= target:
            return b + (target - seen) / n
        seen += n
    return float(bins[-1][0] + 1)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# ---------------------------------------------------------------- the figures


async def _flow(ctx: Context) -> list[Chart]:
    weeks = ctx.weeks()
    counts: dict[tuple[str, date], int] = {}
    for step in repo.FLOW_STEPS:
        for at, _k, n in await ctx.timed(step):
            counts[(step, at.astimezone(SHANGHAI).date())] = n
    rows: list[list[Cell]] = [
        [w.isoformat()] + [counts.get((s, w), 0) for s, _l in STEPS] for w in weeks
    ]
    return [
        Chart(
            "flow",
            ctx._("Needs published, claimed, delivered and confirmed, by week"),
            ctx._(
                "Each week (Monday to Sunday, Beijing time) of the last {weeks} weeks: needs "
                "published, claims made by organizations, deliveries recorded and deliveries "
                "confirmed by the household, for needs in this area.",
                weeks=WEEKS,
            ),
            "line",
            [ctx._("Week (Monday)")] + [ctx._(label) for _s, label in STEPS],
            rows,
            [1, 2, 3, 4],
        )
    ]


async def _time_to_confirm(ctx: Context) -> tuple[list[Chart], repo.DaysRow | None]:
    months: dict[date, list[tuple[int, int]]] = {}
    for at, key, n in await ctx.timed("confirm_days"):
        months.setdefault(at.astimezone(SHANGHAI).date(), []).append((int(key), n))
    rows = [_days_row(m, months[m]) for m in sorted(months)]
    every = [bin_ for bins in months.values() for bin_ in bins]
    total = _days_row(None, every) if every else None
    table: list[list[Cell]] = [
        [r.month.strftime("%Y-%m"), _days(r.median), _days(r.p90), r.needs]
        for r in rows
        if r.month is not None
    ]
    chart = Chart(
        "confirm_days",
        ctx._("Days from publication to confirmation"),
        ctx._(
            "For each need whose first delivery was confirmed in the month: the days between "
            "its publication and that confirmation. Median: half the needs took less; 90th "
            "percentile: nine in ten took less. Last 12 months."
        ),
        "line",
        [ctx._("Month"), ctx._("Median (days)"), ctx._("90th percentile (days)"), ctx._("Needs")],
        table,
        [1, 2],
        unit=ctx._("days"),
    )
    return [chart], total


def _days_row(month: date | None, bins: list[tuple[int, int]]) -> repo.DaysRow:
    return repo.DaysRow(
        month,
        binned_percentile(bins, 0.5),
        binned_percentile(bins, 0.9),
        sum(n for _b, n in bins),
    )


async def _fill_rate(ctx: Context) -> list[Chart]:
    counts: dict[str, tuple[int, int]] = {}
    for key, n in await ctx.windowed("fill"):
        code, filled_flag = key.rsplit(":", 1)
        published, filled = counts.get(code, (0, 0))
        counts[code] = (published + n, filled + (n if filled_flag == "1" else 0))
    rows: list[list[Cell]] = []
    for category in await ctx.categories():
        n, filled = counts.get(category.code, (0, 0))
        if not n:
            continue
        label = category.name_en if ctx.locale == "en" else category.name_zh
        rows.append([label, _pct(filled, n), n, filled])
    return [
        Chart(
            "fill_rate",
            ctx._("Fill rate by category"),
            ctx._(
                "Of the needs published in the last 12 months, the share that has been "
                "delivered, confirmed or closed, by category. Needs still waiting, withdrawn "
                "or expired count as not filled."
            ),
            "hbar",
            [ctx._("Category"), ctx._("Fill rate (%)"), ctx._("Published"), ctx._("Filled")],
            rows,
            [1],
            unit="%",
        )
    ]


def _cutoff(hours: list[tuple[datetime, int]]) -> datetime:
    """The end of the hour by which the oldest ``OLDEST_EMERGENCIES`` were published (the end
    of the last hour when there are fewer)."""
    seen = 0
    for at, n in hours:
        seen += n
        if seen >= OLDEST_EMERGENCIES:
            return at + timedelta(hours=1)
    return hours[-1][0] + timedelta(hours=1)


async def _emergencies(ctx: Context) -> tuple[list[Chart], int, list[list[str]]]:
    bands: dict[int, int] = {}
    hours = sorted((at, n) for at, _k, n in await ctx.timed("emergency"))
    for at, n in hours:
        age = _age_days(ctx, at)
        band = next(
            (i for i, (_low, high) in enumerate(repo.EMERGENCY_BANDS) if high and age < high),
            len(repo.EMERGENCY_BANDS) - 1,
        )
        bands[band] = bands.get(band, 0) + n
    total = sum(bands.values())
    rows: list[list[Cell]] = [
        [ctx._(label), bands.get(i, 0)] for i, label in enumerate(EMERGENCY_LABELS)
    ]
    oldest = (
        await repo.oldest_emergencies(
            ctx.session, ctx.area.roots, limit=OLDEST_EMERGENCIES, before=_cutoff(hours)
        )
        if hours
        else []
    )
    places = await repo.regions_by_code(ctx.session, sorted({e.region_code for e in oldest}))
    names = {c.code: c for c in await ctx.categories()}
    listing: list[list[str]] = []
    for e in oldest:
        category = names.get(e.category)
        days = (ctx.now - (e.published_at or ctx.now)).total_seconds() / 86400
        listing.append(
            [
                e.title,
                (category.name_en if ctx.locale == "en" else category.name_zh) if category else "",
                _region_name(places[e.region_code], ctx.locale) if e.region_code in places else "",
                ctx._("{days} days", days=f"{days:.1f}"),
            ]
        )
    chart = Chart(
        "emergencies",
        ctx._("Unmatched emergencies by age"),
        ctx._(
            "Published emergency needs with no open proposal (proposed or approved), by the "
            "time since publication. Right now."
        ),
        "bar",
        [ctx._("Waiting"), ctx._("Emergency needs")],
        rows,
        [1],
    )
    return [chart], total, listing


async def _review_sla(ctx: Context) -> tuple[list[Chart], int]:
    limits = Thresholds.of(ctx.settings)
    counts: dict[tuple[Urgency, int], int] = {}
    for at, key, n in await ctx.timed("proposed"):
        urgency = Urgency(key)
        hours = _age_days(ctx, at) * 24
        sla = limits.sla_hours.get(urgency, 72)
        status = 2 if hours >= sla else 1 if hours >= sla * limits.warn_percent / 100 else 0
        counts[(urgency, status)] = counts.get((urgency, status), 0) + n
    rows: list[list[Cell]] = [
        [
            ctx._("{urgency} (within {hours} h)", urgency=ctx._(label), hours=limits.sla_hours[u]),
            *[counts.get((u, s), 0) for s in range(len(SLA_LABELS))],
        ]
        for u, label in URGENCY_LABELS.items()
    ]
    overdue = sum(n for (_u, s), n in counts.items() if s == 2)
    chart = Chart(
        "review_sla",
        ctx._("Proposals waiting for review, against the deadline"),
        ctx._(
            "Proposed matches waiting for a coordinator's decision, by urgency: within the "
            "review deadline, past {warn}% of it, or past it. Right now.",
            warn=limits.warn_percent,
        ),
        "stack",
        [ctx._("Urgency"), *[ctx._(label) for label in SLA_LABELS]],
        rows,
        [1, 2, 3],
    )
    return [chart], overdue


async def _organizations(ctx: Context) -> list[Chart]:
    per: dict[uuid.UUID, dict[str, int]] = {}
    for metric, step in repo.ORG_STEPS.items():
        for key, n in await ctx.windowed(metric):
            per.setdefault(uuid.UUID(key), {})[step] = n
    ranked = sorted(
        per.items(),
        key=lambda kv: (
            -kv[1].get("confirmed", 0),
            -kv[1].get("delivered", 0),
            -kv[1].get("claimed", 0),
        ),
    )[:ORGANIZATIONS_MAX]
    orgs = await repo.organizations_by_id(ctx.session, [o for o, _c in ranked])
    rows: list[list[Cell]] = []
    for ranked_id, c in ranked:
        org = orgs.get(ranked_id)
        if org is None:
            continue
        name = org.name_en if ctx.locale == "en" and org.name_en else org.name
        rows.append([name, c.get("claimed", 0), c.get("delivered", 0), c.get("confirmed", 0)])
    return [
        Chart(
            "organizations",
            ctx._("Organizations' activity"),
            ctx._(
                "For needs in this area over the last 12 months: claims each organization made, "
                "deliveries it recorded and deliveries the households confirmed. The {n} most "
                "active organizations.",
                n=ORGANIZATIONS_MAX,
            ),
            "hbar",
            [ctx._("Organization"), ctx._("Claimed"), ctx._("Delivered"), ctx._("Confirmed")],
            rows,
            [1, 2, 3],
            drawn_rows=15,
        )
    ]


async def _households(ctx: Context) -> list[Chart]:
    everyone = sum(n for _at, _k, n in await ctx.timed("households"))
    once = sum(n for _k, n in await ctx.windowed("help_latest"))
    twice = sum(n for _k, n in await ctx.windowed("help_second"))
    buckets = {0: everyone - once, 1: once - twice, 2: twice}
    total = sum(buckets.values())
    rows: list[list[Cell]] = [
        [ctx._(label), buckets.get(i, 0), _pct(buckets.get(i, 0), total)]
        for i, label in enumerate(HELP_LABELS)
    ]
    return [
        Chart(
            "households",
            ctx._("Households helped repeatedly and never"),
            ctx._(
                "Active households of this area by the number of deliveries to them that they "
                "confirmed in the last 12 months: none, one, two or more."
            ),
            "bar",
            [ctx._("Households"), ctx._("Number"), ctx._("Share (%)")],
            rows,
            [1],
        )
    ]


async def _townships(ctx: Context) -> list[Chart]:
    data = []
    for w in await repo.waiting_by_township_cells(ctx.session, ctx.area.cells):
        low, high = _age_days(ctx, w.median_low), _age_days(ctx, w.median_high)
        data.append(
            (w.township, w.needs, low + (high - low) * w.fraction, _age_days(ctx, w.oldest))
        )
    places = await repo.regions_by_code(ctx.session, sorted({t for t, *_r in data if t}))
    rows: list[list[Cell]] = []
    for code, n, median, longest in sorted(data, key=lambda r: (-r[2], r[0])):
        name = (
            _region_name(places[code], ctx.locale)
            if code in places
            else ctx._("County level (no township)")
        )
        rows.append([name, round(median, 1), round(longest, 1), n])
    return [
        Chart(
            "townships",
            ctx._("Waiting time by township"),
            ctx._(
                "Needs published and still waiting for help, by township: the median and the "
                "longest number of days since publication, and how many wait. Right now; the "
                "{n} longest waits are drawn, the table has every township.",
                n=TOWNSHIPS_DRAWN,
            ),
            "hbar",
            [
                ctx._("Township"),
                ctx._("Median wait (days)"),
                ctx._("Longest wait (days)"),
                ctx._("Needs waiting"),
            ],
            rows,
            [1, 2],
            unit=ctx._("days"),
            drawn_rows=TOWNSHIPS_DRAWN,
        )
    ]


async def _reports(ctx: Context) -> tuple[list[Chart], grievance.Figures]:
    figures = await grievance.figures(ctx.session, ctx.settings, ctx.user, now=ctx.now)
    whole = ctx._("Reports from the whole of your area, last 12 months.")
    by_type: list[list[Cell]] = [
        [ctx._(label), figures.by_type.get(code, 0)] for code, label in REPORT_TYPE_LABELS.items()
    ]
    by_stage: list[list[Cell]] = [
        [ctx._(label), figures.by_stage.get(code, 0)] for code, label in REPORT_STAGE_LABELS.items()
    ]
    by_age: list[list[Cell]] = [
        [ctx._("{band} working days", band=band), n] for band, n in figures.by_age.items()
    ]
    reports = ctx._("Reports")
    return [
        Chart(
            "reports_type",
            ctx._("Reports by type"),
            whole,
            "hbar",
            [ctx._("Type"), reports],
            by_type,
            [1],
        ),
        Chart(
            "reports_stage",
            ctx._("Reports by stage"),
            whole,
            "hbar",
            [ctx._("Stage"), reports],
            by_stage,
            [1],
        ),
        Chart(
            "reports_age",
            ctx._("Open reports by age"),
            ctx._("Reports not yet resolved or closed, by working days since they arrived."),
            "bar",
            [ctx._("Age"), reports],
            by_age,
            [1],
        ),
    ], figures


CHART_KEYS = (
    "flow",
    "confirm_days",
    "fill_rate",
    "emergencies",
    "review_sla",
    "organizations",
    "households",
    "townships",
    "reports_type",
    "reports_stage",
    "reports_age",
)


async def dashboard(
    session: AsyncSession,
    settings: Settings,
    user: CurrentUser,
    area: Area,
    locale: str,
    *,
    now: datetime | None = None,
) -> Dashboard:
    ctx = Context(session, settings, user, area, locale, now or utcnow())
    flow = await _flow(ctx)
    confirm, total = await _time_to_confirm(ctx)
    emergencies, open_emergencies, oldest = await _emergencies(ctx)
    sla, overdue = await _review_sla(ctx)
    reports, figures = await _reports(ctx)
    charts = [
        *flow,
        *confirm,
        *await _fill_rate(ctx),
        *emergencies,
        *sla,
        *await _organizations(ctx),
        *await _households(ctx),
        *await _townships(ctx),
        *reports,
    ]
    summary = Summary(
        median_days=_days(total.median) if total else None,
        p90_days=_days(total.p90) if total else None,
        confirmed_needs=total.needs if total else 0,
        emergencies=open_emergencies,
        overdue_reviews=overdue,
        reports_on_time=None
        if figures.on_time_share is None
        else round(100 * figures.on_time_share),
        reports_answered=figures.answered,
    )
    return Dashboard(area, summary, charts, oldest, WEEKS, PERIOD_DAYS)


_ONE: dict[str, Callable[[Context], Awaitable[list[Chart]]]] = {
    "flow": _flow,
    "fill_rate": _fill_rate,
    "organizations": _organizations,
    "households": _households,
    "townships": _townships,
}


async def chart(
    session: AsyncSession,
    settings: Settings,
    user: CurrentUser,
    area: Area,
    *,
    locale: str,
    key: str,
    now: datetime | None = None,
) -> Chart:
    """One figure (for its CSV): computes only the queries that figure needs."""
    if key not in CHART_KEYS:
        raise NotFound(N_("There is no such figure."))
    ctx = Context(session, settings, user, area, locale, now or utcnow())
    charts: Sequence[Chart]
    if key in _ONE:
        charts = await _ONE[key](ctx)
    elif key == "confirm_days":
        charts = (await _time_to_confirm(ctx))[0]
    elif key == "emergencies":
        charts = (await _emergencies(ctx))[0]
    elif key == "review_sla":
        charts = (await _review_sla(ctx))[0]
    else:
        charts = (await _reports(ctx))[0]
    return next(c for c in charts if c.key == key)


def csv_bytes(chart: Chart) -> bytes:
    """The chart's table as CSV: UTF-8 with a byte order mark (Excel opens it right), one
    header row in the reader's language, labels not codes, empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(chart.columns)
    for row in chart.rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue().encode("utf-8-sig")
