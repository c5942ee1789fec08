"""Projects: create, move through PROJECT_TRANSITIONS, link needs (one plan per household),
post updates with photos, record before/after evidence, and flag overdue updates.

While a project executes it must post an update at least every 90 days; the daily job sets
``update_overdue`` (the donate button reads it, see ``donation_block``) and the next update
clears it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.audit.service import Actor, record
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.core.storage import MAX_PHOTOS
from backend.households import service as households
from backend.needs.models import Need, NeedCategory, NeedState
from backend.organizations.scope import approved_organization, require_member
from backend.outbox.service import emit, record_change
from backend.privacy.gate import gate_public_text
from backend.projects import repository as repo
from backend.projects.models import (
    PROJECT_TRANSITIONS,
    Project,
    ProjectNeed,
    ProjectState,
    ProjectUpdate,
)

# Read queries other domains may call (their only way into this domain's repository).
from backend.projects.repository import (
    projects_of as projects_of,
)
from backend.projects.repository import (
    public_projects_of as public_projects_of,
)
from backend.projects.storage import PhotoStorage
from backend.resources import service as resources_service
from backend.resources.schemas import NeedSummary

UPDATE_INTERVAL = timedelta(days=90)
LINKABLE_NEED_STATES = frozenset({NeedState.PUBLISHED, NeedState.RESERVED, NeedState.IN_PROGRESS})


def _actor(user: CurrentUser) -> Actor:
    return Actor(kind="user", id=user.id)


STATE_BLOCKS: dict[ProjectState, str] = {
    ProjectState.DRAFT: N_("This project is not published yet."),
    ProjectState.FUNDED: N_("This project is fully funded and takes no more donations. Thank you!"),
    ProjectState.EXECUTING: N_(
        "This project is being carried out and no longer raises funds. Its ledger shows how the "
        "money is spent."
    ),
    ProjectState.COMPLETED: N_("This project is finished and takes no more donations."),
    ProjectState.CLOSED: N_("This project is closed and takes no more donations."),
}


def donation_block(project: Project) -> str | None:
    """Why the project itself takes no donations now (a message id), or None when it does.

    Only a fundraising project below its target and not overdue with its progress report takes
    donations. ``donations.service.donation_options`` adds the rest (a pause while a report is
    reviewed, a way to pay); the donate button, the form and the booking all ask it.
    """
    if project.state != ProjectState.FUNDRAISING:
        return STATE_BLOCKS.get(project.state, STATE_BLOCKS[ProjectState.CLOSED])
    if project.raised_fen >= project.target_fen:
        return N_("This project has reached its target and takes no more donations. Thank you!")
    if project.update_overdue:
        return N_(
            "This project's progress report is overdue, so it takes no donations until the "
            "organization publishes it."
        )
    return None


def can_donate(project: Project) -> bool:
    """The project's own rules allow a donation (see ``donation_block``)."""
    return donation_block(project) is None


def percent(project: Project) -> int:
    return min(100, project.raised_fen * 100 // project.target_fen) if project.target_fen else 0


async def _project_for_member(
    session: AsyncSession, actor: CurrentUser, project_id: uuid.UUID
) -> Project:
    project = await repo.project_for_update(session, project_id)
    if project is None:
        raise NotFound(N_("Project not found."))
    require_member(actor, project.organization_id)
    return project


async def create_project(
    session: AsyncSession,
    actor: CurrentUser,
    org_id: uuid.UUID,
    *,
    title: str,
    goal: str,
    category: str,
    region_code: str,
    target_fen: int | None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Project:
    await approved_organization(
        session,
        actor,
        org_id,
        refusal=N_("Your organization must be approved before it can start projects."),
    )
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "required"
    elif len(title.strip()) > 120:
        errors["title"] = "too_long"
    if await get_by_id(session, NeedCategory, category) is None:
        errors["category"] = "invalid"
    if not region_code or not await resources_service.known_regions(session, [region_code]):
        errors["region_code"] = "invalid"
    if target_fen is None:
        errors["target"] = "required"
    elif target_fen <= 0:
        errors["target"] = "out_of_range"
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = "before_start"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    await households.check_organization_text(
        session, org_id, {"title": title.strip(), "goal": goal.strip()}
    )
    assert target_fen is not None
    project = Project(
        id=uuid.uuid4(),
        organization_id=org_id,
        title=title.strip(),
        goal=goal.strip(),
        category=category,
        region_code=region_code,
        target_fen=target_fen,
        starts_on=starts_on,
        ends_on=ends_on,
        state=ProjectState.DRAFT,
        created_by=actor.id,
    )
    session.add(project)
    await session.flush()
    await record_change(
        session,
        actor=_actor(actor),
        action="project.created",
        object_type="project",
        object_id=project.id,
        region_code=region_code,
        payload={"organization_id": str(org_id), "state": project.state.value},
    )
    return project


async def move(
    session: AsyncSession, actor: CurrentUser, project_id: uuid.UUID, target: ProjectState
) -> Project:
    project = await _project_for_member(session, actor, project_id)
    current = project.state
    if target not in PROJECT_TRANSITIONS[current]:
        raise Conflict(
            N_("This project is {current} and cannot become {target}."),
            current=current.value,
            target=target.value,
        )
    project.state = target
    if target == ProjectState.EXECUTING and project.last_update_at is None:
        # The first 90 days are counted from the start of execution.
        project.last_update_at = utcnow()
    await record_change(
        session,
        actor=_actor(actor),
        action=f"project.{target.value}",
        object_type="project",
        object_id=project.id,
        region_code=project.region_code,
        detail={"from": current.value, "to": target.value},
        payload={"from": current.value, "to": target.value},
    )
    await session.flush()
    return project


async def link_need(
    session: AsyncSession, actor: CurrentUser, project_id: uuid.UUID, need_id: uuid.UUID, plan: str
) -> ProjectNeed:
    """One plan per household: a need belongs to at most one project."""
    project = await _project_for_member(session, actor, project_id)
    if project.state in {ProjectState.COMPLETED, ProjectState.CLOSED}:
        raise Conflict(N_("A completed or closed project takes no more needs."))
    need = await get_by_id(session, Need, need_id)
    if need is None or need.state not in LINKABLE_NEED_STATES or need.hidden_reason:
        raise Invalid(
            N_("This need cannot be linked: it is not published."), fields={"need_id": "invalid"}
        )
    path = await resources_service.region_path(session, need.region_code)
    project_path = await resources_service.region_path(session, project.region_code)
    if path is None or project_path is None or not resources_service.in_area(path, [project_path]):
        raise Invalid(
            N_("This need lies outside the project's region."), fields={"need_id": "region"}
        )
    if not plan.strip():
        raise Invalid(N_("Describe the plan for this household."), fields={"plan": "required"})
    if await repo.link_of_need(session, need_id) is not None:
        raise Conflict(N_("This need belongs to a project already."))
    gate_public_text(
        {"plan": plan.strip()},
        own_values=await households.own_values_for(session, need.household_id),
        known_names=await households.claimed_names_provider(session, project.organization_id)(),
    )
    link = ProjectNeed(id=uuid.uuid4(), project_id=project.id, need_id=need.id, plan=plan.strip())
    session.add(link)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(N_("This need belongs to a project already.")) from exc
    await record_change(
        session,
        actor=_actor(actor),
        action="project.need_linked",
        object_type="project",
        object_id=project.id,
        region_code=project.region_code,
        detail={"need_id": str(need.id)},
        payload={"need_id": str(need.id)},
    )
    return link


NEED_QUERY_MAX = 60
CANDIDATES_FIRST = 8  # before anything is typed: the most urgent, newest
CANDIDATES_FOUND = 15  # for a search


async def need_candidates(
    session: AsyncSession, actor: CurrentUser, project_id: uuid.UUID, q: str = ""
) -> list[NeedSummary]:
    """The needs this member may link to the project, found by title (public fields only).

    The same rules as ``link_need``: a member of the project's organization, a project not
    completed or closed, needs published (or under way) and not hidden, inside the project's
    region, and not linked to another project.
    """
    found = await repo.project_with_org(session, project_id)
    if found is None:
        raise NotFound(N_("Project not found."))
    project = found[0]
    require_member(actor, project.organization_id)
    if project.state in {ProjectState.COMPLETED, ProjectState.CLOSED}:
        return []
    path = await resources_service.region_path(session, project.region_code)
    if path is None:
        return []
    query = " ".join(q.split())[:NEED_QUERY_MAX]
    needs = await repo.linkable_needs(
        session,
        region_path=path,
        states=sorted(LINKABLE_NEED_STATES),
        q=query,
        limit=CANDIDATES_FOUND if query else CANDIDATES_FIRST,
    )
    return [resources_service.need_summary(n) for n in needs]


def _store(storage: PhotoStorage, photos: Sequence[bytes]) -> list[str]:
    if len(photos) > MAX_PHOTOS:
        raise Invalid(
            N_("Add at most {n} photos at a time."), fields={"photos": "too_many"}, n=MAX_PHOTOS
        )
    return [storage.save(data) for data in photos]


async def post_update(
    session: AsyncSession,
    actor: CurrentUser,
    storage: PhotoStorage,
    project_id: uuid.UUID,
    *,
    body: str,
    photos: Sequence[bytes] = (),
) -> ProjectUpdate:
    project = await _project_for_member(session, actor, project_id)
    if project.state == ProjectState.CLOSED:
        raise Conflict(N_("A closed project takes no more updates."))
    if not body.strip():
        raise Invalid(N_("Write what happened."), fields={"body": "required"})
    await households.check_organization_text(
        session, project.organization_id, {"body": body.strip()}
    )
    names = _store(storage, photos)
    update = ProjectUpdate(
        id=uuid.uuid4(), project_id=project.id, author_id=actor.id, body=body.strip(), photos=names
    )
    session.add(update)
    project.last_update_at = utcnow()
    was_overdue = project.update_overdue
    project.update_overdue = False
    await session.flush()
    await record(
        session,
        actor=_actor(actor),
        action="project.update_posted",
        object_type="project",
        object_id=project.id,
        region_code=project.region_code,
        detail={"update_id": str(update.id), "photos": len(names), "cleared_overdue": was_overdue},
    )
    await emit(
        session,
        topic="project.updated",
        aggregate_type="project",
        aggregate_id=project.id,
        payload={"update_id": str(update.id), "update_overdue": False},
    )
    return update


async def _update_by_author(
    session: AsyncSession, actor: CurrentUser, project_id: uuid.UUID, update_id: uuid.UUID
) -> tuple[Project, ProjectUpdate]:
    project = await _project_for_member(session, actor, project_id)
    update = await repo.update_for_change(session, update_id)
    if update is None or update.project_id != project.id or update.withdrawn_at is not None:
        raise NotFound(N_("Update not found."))
    if update.author_id != actor.id:
        raise Forbidden(N_("Only the author of an update can change or withdraw it."))
    return project, update


async def edit_update(
    session: AsyncSession,
    actor: CurrentUser,
    project_id: uuid.UUID,
    update_id: uuid.UUID,
    *,
    body: str,
) -> ProjectUpdate:
    """The author corrects a published update; the text passes the public-text gate again."""
    project, update = await _update_by_author(session, actor, project_id, update_id)
    if not body.strip():
        raise Invalid(N_("Write what happened."), fields={"body": "required"})
    await households.check_organization_text(
        session, project.organization_id, {"body": body.strip()}
    )
    update.body = body.strip()
    update.edited_at = utcnow()
    await session.flush()
    await record(
        session,
        actor=_actor(actor),
        action="project.update_edited",
        object_type="project",
        object_id=project.id,
        region_code=project.region_code,
        detail={"update_id": str(update.id)},
    )
    await emit(
        session,
        topic="project.updated",
        aggregate_type="project",
        aggregate_id=project.id,
        payload={"update_id": str(update.id), "update_overdue": project.update_overdue},
    )
    return update


async def withdraw_update(
    session: AsyncSession, actor: CurrentUser, project_id: uuid.UUID, update_id: uuid.UUID
) -> ProjectUpdate:
    """The author withdraws a published update: its text and photos leave every public view."""
    project, update = await _update_by_author(session, actor, project_id, update_id)
    update.withdrawn_at = utcnow()
    await session.flush()
    await record(
        session,
        actor=_actor(actor),
        action="project.update_withdrawn",
        object_type="project",
        object_id=project.id,
        region_code=project.region_code,
        detail={"update_id": str(update.id)},
    )
    await emit(
        session,
        topic="project.updated",
        aggregate_type="project",
        aggregate_id=project.id,
        payload={"update_id": str(update.id), "update_overdue": project.update_overdue},
    )
    return update


async def add_evidence(
    session: AsyncSession,
    actor: CurrentUser,
    storage: PhotoStorage,
    link_id: uuid.UUID,
    *,
    kind: str,
    photos: Sequence[bytes],
) -> ProjectNeed:
    link = await repo.link_for_update(session, link_id)
    if link is None:
        raise NotFound(N_("Project not found."))
    project = await _project_for_member(session, actor, link.project_id)
    if kind not in {"before", "after"}:
        raise Invalid(N_("Choose before or after."), fields={"kind": "invalid"})
    if not photos:
        raise Invalid(N_("Choose at least one photo."), fields={"photos": "required"})
    names = _store(storage, photos)
    if kind == "before":
        link.before_photos = [*link.before_photos, *names]
    else:
        link.after_photos = [*link.after_photos, *names]
    await session.flush()
    await record_change(
        session,
        actor=_actor(actor),
        action="project.evidence_added",
        object_type="project",
        object_id=project.id,
        region_code=project.region_code,
        detail={"link_id": str(link.id), "kind": kind, "photos": len(names)},
        payload={"link_id": str(link.id), "kind": kind},
    )
    return link


async def flag_overdue(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Daily: executing projects without an update for 90 days are flagged (idempotent)."""
    cutoff = (now or utcnow()) - UPDATE_INTERVAL
    flagged = 0
    for project in await repo.overdue_candidates(session, cutoff):
        project.update_overdue = True
        await record(
            session,
            actor=Actor.system(),
            action="project.update_overdue",
            object_type="project",
            object_id=project.id,
            region_code=project.region_code,
        )
        await emit(
            session,
            topic="project.overdue",
            aggregate_type="project",
            aggregate_id=project.id,
            payload={"update_overdue": True},
        )
        flagged += 1
    await session.flush()
    return flagged
