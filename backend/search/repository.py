"""Public projections: the database rows that may be listed, turned into `SearchDocument`s.

Only public columns are selected. Needs never join the household's personal columns: the
household is consulted only through ``EXISTS`` conditions on its verification date and its
publication consent (docs/privacy.md: a need is hidden while verification or consent has lapsed),
and the location is the need's generalized ``public_region_code`` with its ancestors.

Which rows are public (everything else is removed from the index):

- needs: ``published``, ``reserved`` or ``in_progress``; not hidden (``hidden_reason IS NULL``);
  a generalized region set; household verified until today or later; a publication consent
  not withdrawn;
- resources: ``active``, offered by an approved organization;
- projects: ``fundraising``, ``funded``, ``executing`` or ``completed``, approved organization;
- volunteer tasks: ``open``, approved organization (the task's ``place`` is never indexed: a
  task tied to a need could name a household's address).

Every ``select()`` of the search layer is here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization, OrgStatus
from backend.core.db import utcnow
from backend.core.i18n import N_, gettext
from backend.households.enums import ConsentPurpose
from backend.households.models import Consent, Household
from backend.needs.models import Need, NeedCategory, NeedState
from backend.projects.models import Project, ProjectState
from backend.regions.models import Region
from backend.resources.models import Resource, ResourceState
from backend.search.documents import KINDS, MAX_REGION_DEPTH, SearchDocument
from backend.volunteering.models import TaskState, VolunteerTask

PUBLIC_NEED_STATES = (NeedState.PUBLISHED, NeedState.RESERVED, NeedState.IN_PROGRESS)
PUBLIC_PROJECT_STATES = (
    ProjectState.FUNDRAISING,
    ProjectState.FUNDED,
    ProjectState.EXECUTING,
    ProjectState.COMPLETED,
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
BATCH = 1000

KindName = Literal["need", "resource", "project", "task"]

#: Volunteer task categories are not rows of ``need_categories``: their names are the
#: msgids the task pages show (``resources/_labels.html: task_category``).
TASK_CATEGORY_NAMES = {
    "visit": N_("Home visit"),
    "micro_wish": N_("Micro-wish delivery"),
    "tutoring": N_("Tutoring"),
    "delivery": N_("Delivery"),
    "repair": N_("Home repair"),
    "companionship": N_("Companionship"),
    "other": N_("Other"),
}


async def _category_labels(session: AsyncSession) -> dict[str, str]:
    """code → the category's names in both languages ("助学 Education"), indexed so that a
    category's name finds its listings. Need categories (used by needs, resources and
    projects) and volunteer task categories share one map: their codes do not collide."""
    labels = {code: f"{zh} {en}" for code, (zh, en) in (await category_names(session)).items()}
    for code, msgid in TASK_CATEGORY_NAMES.items():
        labels.setdefault(code, f"{gettext(msgid, 'zh_CN')} {msgid}")
    return labels


def _today() -> date:
    return utcnow().date()


def public_need_condition(today: date | None = None) -> ColumnElement[bool]:
    """Needs that may be listed. Touches the household only through non-personal columns."""
    today = today or _today()
    verified = exists().where(Household.id == Need.household_id, Household.verified_until >= today)
    consented = exists().where(
        Consent.household_id == Need.household_id,
        Consent.purpose == ConsentPurpose.PUBLISH_NEEDS,
        Consent.withdrawn_at.is_(None),
    )
    return and_(
        Need.state.in_(PUBLIC_NEED_STATES),
        Need.hidden_reason.is_(None),
        Need.public_region_code.is_not(None),
        verified,
        consented,
    )


def public_resource_condition() -> ColumnElement[bool]:
    return and_(Resource.state == ResourceState.ACTIVE, Organization.status == OrgStatus.APPROVED)


def public_project_condition() -> ColumnElement[bool]:
    return and_(Project.state.in_(PUBLIC_PROJECT_STATES), Organization.status == OrgStatus.APPROVED)


def public_task_condition() -> ColumnElement[bool]:
    return and_(VolunteerTask.state == TaskState.OPEN, Organization.status == OrgStatus.APPROVED)


def detect_lang(*texts: str) -> Literal["zh", "en"]:
    return "zh" if any(_CJK.search(t) for t in texts) else "en"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class _Regions:
    """Region chains (root first) and names, loaded once per batch."""

    def __init__(self, rows: Iterable[tuple[str, str, str]]) -> None:
        self.path: dict[str, tuple[str, ...]] = {}
        self.name: dict[str, str] = {}
        for code, path, name in rows:
            self.path[code] = tuple(path.split("."))[:MAX_REGION_DEPTH]
            self.name[code] = name

    @classmethod
    async def load(cls, session: AsyncSession, codes: Iterable[str]) -> _Regions:
        wanted = sorted(set(codes))
        if not wanted:
            return cls(())
        rows = await session.execute(
            select(Region.code, Region.path, Region.name).where(Region.code.in_(wanted))
        )
        return cls((r[0], r[1], r[2]) for r in rows)

    def common(self, codes: Sequence[str]) -> str | None:
        """The deepest region containing all ``codes`` (a resource's service area)."""
        chains = [self.path[c] for c in codes if c in self.path]
        if not chains:
            return None
        prefix: list[str] = []
        for level in zip(*chains, strict=False):
            if len(set(level)) != 1:
                break
            prefix.append(level[0])
        return prefix[-1] if prefix else None


async def _need_docs(session: AsyncSession, condition: ColumnElement[bool]) -> list[SearchDocument]:
    rows = (
        await session.execute(
            select(
                Need.id,
                Need.title,
                Need.body,
                Need.category,
                Need.urgency,
                Need.state,
                Need.deadline,
                Need.published_at,
                Need.created_at,
                Need.public_region_code,
                Need.amount_fen,
            ).where(condition)
        )
    ).all()
    regions = await _Regions.load(session, (r.public_region_code for r in rows))
    labels = await _category_labels(session) if rows else {}
    out = []
    for r in rows:
        code = r.public_region_code
        if code not in regions.path:
            continue
        out.append(
            SearchDocument(
                id=str(r.id),
                kind="need",
                title=r.title,
                body=r.body,
                category=r.category,
                region_codes=regions.path[code],
                region_name=regions.name[code],
                urgency=r.urgency.value,
                state=r.state.value,
                org_type=None,
                org_name=None,
                deadline=r.deadline,
                created_at=_utc(r.published_at or r.created_at),
                lang=detect_lang(r.title, r.body),
                category_label=labels.get(r.category, ""),
                amount_fen=r.amount_fen,
            )
        )
    return out


async def _resource_docs(
    session: AsyncSession, condition: ColumnElement[bool]
) -> list[SearchDocument]:
    rows = (
        await session.execute(
            select(
                Resource.id,
                Resource.title,
                Resource.description,
                Resource.category,
                Resource.state,
                Resource.service_area,
                Resource.available_until,
                Resource.created_at,
                Organization.name.label("org_name"),
                Organization.org_type,
                Organization.region_code.label("org_region"),
            )
            .join(Organization, Organization.id == Resource.organization_id)
            .where(condition)
        )
    ).all()
    regions = await _Regions.load(
        session, [c for r in rows for c in (*(r.service_area or ()), r.org_region)]
    )
    labels = await _category_labels(session) if rows else {}
    out = []
    for r in rows:
        code = regions.common(list(r.service_area or ())) or r.org_region
        if code not in regions.path:
            continue
        out.append(
            SearchDocument(
                id=str(r.id),
                kind="resource",
                title=r.title,
                body=r.description,
                category=r.category,
                region_codes=regions.path[code],
                region_name=regions.name[code],
                urgency=None,
                state=r.state.value,
                org_type=r.org_type.value,
                org_name=r.org_name,
                deadline=r.available_until,
                created_at=_utc(r.created_at),
                lang=detect_lang(r.title, r.description),
                category_label=labels.get(r.category, ""),
            )
        )
    return out


def _listing_docs(
    kind: KindName, model: Any, body: Any, deadline: Any | None, amount: Any | None = None
) -> Any:
    """The document builder of an organization's listing without urgency (project, task):
    `body`, `deadline` and `amount` are the model's columns for them (none: None)."""

    async def build(session: AsyncSession, condition: ColumnElement[bool]) -> list[SearchDocument]:
        columns = [
            model.id,
            model.title,
            body.label("body"),
            model.category,
            model.state,
            model.region_code,
            model.created_at,
            Organization.name.label("org_name"),
            Organization.org_type,
        ]
        if deadline is not None:
            columns.append(deadline.label("deadline"))
        if amount is not None:
            columns.append(amount.label("amount"))
        rows = (
            await session.execute(
                select(*columns)
                .join(Organization, Organization.id == model.organization_id)
                .where(condition)
            )
        ).all()
        regions = await _Regions.load(session, (r.region_code for r in rows))
        labels = await _category_labels(session) if rows else {}
        return [
            SearchDocument(
                id=str(r.id),
                kind=kind,
                title=r.title,
                body=r.body,
                category=r.category,
                region_codes=regions.path[r.region_code],
                region_name=regions.name[r.region_code],
                urgency=None,
                state=r.state.value,
                org_type=r.org_type.value,
                org_name=r.org_name,
                deadline=r.deadline if deadline is not None else None,
                created_at=_utc(r.created_at),
                lang=detect_lang(r.title, r.body),
                category_label=labels.get(r.category, ""),
                amount_fen=r.amount if amount is not None else None,
            )
            for r in rows
            if r.region_code in regions.path
        ]

    return build


_SPEC: dict[str, tuple[Any, Any, Any]] = {
    # kind: (id column, public condition factory, document builder)
    "need": (Need.id, public_need_condition, _need_docs),
    "resource": (Resource.id, public_resource_condition, _resource_docs),
    "project": (
        Project.id,
        public_project_condition,
        _listing_docs("project", Project, Project.goal, Project.ends_on, Project.target_fen),
    ),
    "task": (
        VolunteerTask.id,
        public_task_condition,
        _listing_docs("task", VolunteerTask, VolunteerTask.description, None),
    ),
}


async def documents_for(
    session: AsyncSession, kind: str, ids: Iterable[uuid.UUID]
) -> list[SearchDocument]:
    """The public documents among ``ids`` (those not public are simply absent)."""
    id_col, condition, build = _SPEC[kind]
    wanted = list(ids)
    if not wanted:
        return []
    docs: list[SearchDocument] = await build(session, and_(condition(), id_col.in_(wanted)))
    return docs


async def iter_documents(
    session: AsyncSession, kind: str, *, batch: int = BATCH
) -> AsyncIterator[list[SearchDocument]]:
    """Every public document of ``kind``, in batches (keyset pagination by id)."""
    id_col, condition, build = _SPEC[kind]
    last: uuid.UUID | None = None
    while True:
        page_cond = condition() if last is None else and_(condition(), id_col > last)
        ids = (
            await session.scalars(_id_select(kind).where(page_cond).order_by(id_col).limit(batch))
        ).all()
        if not ids:
            return
        last = ids[-1]
        yield await build(session, id_col.in_(ids))


def _id_select(kind: str) -> Any:
    if kind == "need":
        return select(Need.id)
    model: Any = {"resource": Resource, "project": Project, "task": VolunteerTask}[kind]
    return select(model.id).join(Organization, Organization.id == model.organization_id)


async def public_ids(session: AsyncSession) -> set[str]:
    """Ids of every listing the index must hold (the consistency check's reference)."""
    out: set[str] = set()
    for kind in KINDS:
        async for docs in iter_documents(session, kind, batch=5000):
            out.update(d.id for d in docs)
    return out


async def needs_of_household(session: AsyncSession, household_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (await session.scalars(select(Need.id).where(Need.household_id == household_id))).all()
    )


async def ids_of_organization(
    session: AsyncSession, org_id: uuid.UUID
) -> dict[str, list[uuid.UUID]]:
    out: dict[str, list[uuid.UUID]] = {}
    for kind, model in (("resource", Resource), ("project", Project), ("task", VolunteerTask)):
        out[kind] = list(
            (await session.scalars(select(model.id).where(model.organization_id == org_id))).all()
        )
    return out


async def category_names(session: AsyncSession) -> dict[str, tuple[str, str]]:
    """code → (Chinese name, English name), for facet labels."""
    rows = await session.execute(
        select(NeedCategory.code, NeedCategory.name_zh, NeedCategory.name_en)
    )
    return {r[0]: (r[1], r[2]) for r in rows}


async def region_labels(session: AsyncSession, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Region.code, Region.name, Region.name_en).where(Region.code.in_(wanted))
    )
    return {r[0]: (r[1], r[2] or r[1]) for r in rows}
