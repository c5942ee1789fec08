"""Matching runs and the review workflow: propose → approve → accept, or reject / decline / expire.

Services flush and never commit. Every state change writes an audit row and an outbox event
(``match.*``) in the caller's transaction; every coordinator override (reject, reassign) and
every organization decline is audited with its reason.
"""

from __future__ import annotations

import asyncio
import uuid
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.audit.service import Actor, record
from backend.core.db import add_after_commit, queue_of, utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.fulfilment.models import Fulfilment
from backend.matches import queue
from backend.matches import repository as repo
from backend.matches.loader import (
    CountyInput,
    Pass,
    converted_quantities,
    load_county,
    load_needs,
    with_terms,
)
from backend.matches.models import (
    MATCH_TRANSITIONS,
    Match,
    MatchingRun,
    MatchSource,
    MatchState,
    RunState,
)
from backend.needs.models import Need, NeedState
from backend.needs.states import lock_need, transition
from backend.outbox.service import emit, record_change
from backend.resources.models import ResourceKind
from matching import MatchResult, i18n, run_matching
from matching.candidates import check, service_level
from matching.items import Taxonomy
from matching.scoring import SCALE, edge_score
from matching.types import Need as EngineNeed
from matching.types import Offer as EngineOffer
from matching.types import RunConfig

#: A proposal waits this long for the coordinator; an approved match as long for the organization.
PROPOSAL_TTL = timedelta(days=7)
ACCEPT_TTL = timedelta(days=7)
REASON_MAX = 500
#: Explanation item added to a coordinator's reassignment (the engine's own items come first).
REASSIGNED = N_("Reassigned by the coordinator: {reason}")

_RUN_LOCK = 74_787_100  # pg_advisory_xact_lock(key, county) namespace for matching runs

Progress = Callable[[int], Awaitable[None]]


def user_actor(user: CurrentUser, role: str | None = None) -> Actor:
    return Actor(kind="user", id=user.id, role=role)


def coordinator_scope(user: CurrentUser) -> list[str] | None:
    """Region subtrees a coordinator reviews; ``None`` (everything) for an admin."""
    return None if user.is_admin else list(user.region_paths(Role.COORDINATOR))


def covers_need(user: CurrentUser, path: str | None) -> bool:
    """Does the coordinator (or an admin) oversee the region with this path?"""
    return path is not None and (user.is_admin or user.covers(Role.COORDINATOR, path))


def _reason(value: str, *, required: bool) -> str:
    reason = " ".join(value.split())
    if required and not reason:
        raise Invalid(N_("Please give a reason."), fields={"reason": "required"})
    if len(reason) > REASON_MAX:
        raise Invalid(
            N_("The reason is too long (at most {max} characters)."),
            fields={"reason": "too_long"},
            max=REASON_MAX,
        )
    return reason


# ---------------------------------------------------------------- runs


async def request_run(
    session: AsyncSession, user: CurrentUser | None, county_code: str
) -> MatchingRun:
    """Queue a run for the county (or return the one already queued or running)."""
    region = await repo.county(session, county_code)
    if region is None or (user is not None and not covers_need(user, region.path)):
        raise NotFound(N_("County not found."))
    existing = await repo.unfinished_run(session, county_code)
    if existing is not None:
        return existing
    run = MatchingRun(
        id=uuid.uuid4(),
        county_code=county_code,
        requested_by=user.id if user else None,
        state=RunState.QUEUED,
        progress=0,
        stats={},
        error="",
    )
    session.add(run)
    await session.flush()
    await record(
        session,
        actor=user_actor(user) if user else Actor.system(),
        action="matching_run.requested",
        object_type="matching_run",
        object_id=run.id,
        region_code=county_code,
    )
    run_id = str(run.id)

    async def _enqueue(s: AsyncSession) -> None:
        queue = queue_of(s)
        if queue is not None:
            await queue.enqueue("run_matching", run_id, job_id=f"matching:{run_id}")

    add_after_commit(session, _enqueue)
    return run


@dataclass(frozen=True)
class PassResult:
    unit: int
    result: MatchResult


def solve(data: CountyInput) -> list[PassResult]:
    """The CPU part of a run (pure; called in a worker thread): text terms, then each pass."""
    data = with_terms(data)
    return [
        PassResult(p.unit, run_matching(p.needs, p.offers, p.config, taxonomy=data.taxonomy))
        for p in data.passes
        if p.needs and p.offers
    ]


def _engine_index(data: CountyInput) -> tuple[dict[str, EngineNeed], dict[str, EngineOffer]]:
    return (
        {n.id: n for p in data.passes for n in p.needs},
        {o.id: o for p in data.passes for o in p.offers},
    )


def _explanation_items(result: MatchResult, i: int) -> list[list[Any]]:
    return [[msgid, dict(params)] for msgid, params in result.explanation(i).items]


async def run_county(
    session: AsyncSession,
    run: MatchingRun,
    *,
    today: date | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Load, solve and store one county's proposals in the caller's transaction.

    Replaces the county's still-proposed engine matches (they expire as "superseded"); runs of
    one county are serialised by an advisory lock, so two runs never interleave their writes.
    """
    today = today or utcnow().date()
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:a, :b)"),
        {"a": _RUN_LOCK, "b": zlib.crc32(run.county_code.encode()) & 0x7FFFFFFF},
    )
    data = await load_county(session, run.county_code, today)
    if progress:
        await progress(40)
    results = await asyncio.to_thread(solve, data)
    if progress:
        await progress(70)
    superseded = await repo.expire_county_proposals(session, run.county_code, run.id)
    expired = len(superseded)
    queued: set[uuid.UUID] = set(superseded)
    now = utcnow()
    engine_needs, engine_offers = _engine_index(data)
    created = 0
    objective = 0.0
    emergency_units = 0
    for pr in results:
        result = pr.result
        objective += result.objective_points
        emergency_units += result.emergency_units
        for i, proposal in enumerate(result.proposals):
            quantity, offer_quantity = converted_quantities(
                data,
                engine_needs[proposal.need_id],
                engine_offers[proposal.offer_id],
                proposal.quantity,
                pr.unit,
            )
            if quantity <= 0:
                continue  # less than one of the need's units after conversion
            session.add(
                Match(
                    id=uuid.uuid4(),
                    need_id=uuid.UUID(proposal.need_id),
                    resource_id=uuid.UUID(proposal.offer_id),
                    organization_id=data.offer_org[proposal.offer_id],
                    run_id=run.id,
                    source=MatchSource.ENGINE,
                    state=MatchState.PROPOSED,
                    quantity=quantity,
                    offer_quantity=offer_quantity,
                    score=proposal.score,
                    score_parts=dict(proposal.parts),
                    explanation=_explanation_items(result, i),
                    expires_at=now + PROPOSAL_TTL,
                    reason="",
                )
            )
            created += 1
            queued.add(uuid.UUID(proposal.need_id))
    await session.flush()
    await queue.refresh(session, queued)
    stats: dict[str, Any] = {
        **data.counts,
        "proposals": created,
        "superseded": expired,
        "objective": round(objective, 3),
        "emergency_units": emergency_units,
        "solve_s": round(sum(pr.result.stats["total_s"] for pr in results), 4),
        "settings": data.settings.as_dict(),
    }
    run.state = RunState.DONE
    run.progress = 100
    run.finished_at = utcnow()
    run.stats = stats
    run.error = ""
    await record(
        session,
        actor=Actor.system(),
        action="matching_run.done",
        object_type="matching_run",
        object_id=run.id,
        region_code=run.county_code,
        detail={k: v for k, v in stats.items() if k != "settings"},
    )
    await emit(
        session,
        topic="match.run_done",
        aggregate_type="matching_run",
        aggregate_id=run.id,
        payload={"county": run.county_code, "proposals": created, "superseded": expired},
    )
    await session.flush()
    return stats


# ---------------------------------------------------------------- review


async def _move(
    session: AsyncSession,
    match: Match,
    target: MatchState,
    *,
    actor: Actor,
    region_code: str | None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    current = match.state
    if target not in MATCH_TRANSITIONS[current]:
        raise Conflict(
            N_("This match is {current} and cannot become {target}."),
            code="match_state",
            current=current.value,
            target=target.value,
        )
    match.state = target
    payload = {
        "from": current.value,
        "to": target.value,
        "need_id": str(match.need_id),
        "organization_id": str(match.organization_id) if match.organization_id else None,
    }
    await record_change(
        session,
        actor=actor,
        action=f"match.{target.value}",
        object_type="match",
        object_id=match.id,
        region_code=region_code,
        detail={**payload, **({"reason": reason} if reason else {}), **(detail or {})},
        payload=payload,
    )
    await session.flush()


async def _coordinated(
    session: AsyncSession, user: CurrentUser, match_id: uuid.UUID
) -> tuple[Match, Need]:
    """The match, locked, if it lies in the coordinator's subtree (404 otherwise)."""
    match = await repo.match_for_update(session, match_id)
    need = await get_by_id(session, Need, match.need_id) if match is not None else None
    if (
        match is None
        or need is None
        or not covers_need(user, await repo.region_path(session, need.region_code))
    ):
        raise NotFound(N_("Match not found."))
    return match, need


async def approve(session: AsyncSession, user: CurrentUser, match_id: uuid.UUID) -> Match:
    match = await _approve(session, user, match_id)
    await queue.refresh(session, [match.need_id])
    return match


async def _approve(session: AsyncSession, user: CurrentUser, match_id: uuid.UUID) -> Match:
    match, need = await _coordinated(session, user, match_id)
    await _move(
        session,
        match,
        MatchState.APPROVED,
        actor=user_actor(user, "coordinator"),
        region_code=need.region_code,
    )
    match.decided_by = user.id
    match.decided_at = utcnow()
    match.expires_at = utcnow() + ACCEPT_TTL
    await session.flush()
    return match


async def reject(
    session: AsyncSession, user: CurrentUser, match_id: uuid.UUID, reason: str
) -> Match:
    reason = _reason(reason, required=True)
    match, need = await _coordinated(session, user, match_id)
    await _move(
        session,
        match,
        MatchState.REJECTED,
        actor=user_actor(user, "coordinator"),
        region_code=need.region_code,
        reason=reason,
    )
    match.decided_by = user.id
    match.decided_at = utcnow()
    match.reason = reason
    await queue.refresh(session, [match.need_id])
    return match


async def bulk_approve(
    session: AsyncSession, user: CurrentUser, match_ids: Sequence[uuid.UUID]
) -> tuple[int, int]:
    """Approve every still-proposed match of the list in the user's subtree; (approved, skipped)."""
    approved = skipped = 0
    needs: set[uuid.UUID] = set()
    for match_id in sorted(set(match_ids)):
        match, _need = await _coordinated(session, user, match_id)
        if match.state != MatchState.PROPOSED:
            skipped += 1
            continue
        await _approve(session, user, match_id)
        needs.add(match.need_id)
        approved += 1
    await queue.refresh(session, needs)  # once, in id order (no lock-order cycle)
    return approved, skipped


@dataclass(frozen=True)
class Candidate:
    resource_id: uuid.UUID
    organization_id: uuid.UUID
    quantity: int
    score: float
    parts: dict[str, float]
    explanation: list[list[Any]]
    offer_quantity: int | None = None


async def _engine_pair_inputs(
    session: AsyncSession, need: Need, today: date
) -> tuple[EngineNeed | None, list[EngineOffer], CountyInput | None, int]:
    """The need and the county's offers as the engine sees them (same loader as the run)."""
    path = await repo.region_path(session, need.region_code)
    parts = (path or "").split(".")
    if len(parts) < 3:
        return None, [], None, 1
    data = await load_county(session, parts[2], today)
    for p in data.passes:
        for n in p.needs:
            if n.id == str(need.id):
                return n, list(p.offers), data, p.unit
    return None, [], data, 1


async def candidates(
    session: AsyncSession, user: CurrentUser, match_id: uuid.UUID, *, today: date | None = None
) -> tuple[Match, Need, list[Candidate]]:
    """Other offers eligible for the match's need, best first, each with its engine explanation."""
    today = today or utcnow().date()
    match, need = await _coordinated(session, user, match_id)
    engine_need, offers, data, unit = await _engine_pair_inputs(session, need, today)
    out: list[Candidate] = []
    if engine_need is None or data is None:
        return match, need, out
    # The match's own units are held by it: the need can take them elsewhere.
    own = match.quantity // unit if match.state in repo.OPEN_STATES else 0
    if match.source != MatchSource.ENGINE or match.state != MatchState.PROPOSED:
        engine_need = _with_remaining(engine_need, engine_need.remaining + own)
    config = RunConfig(
        today=today, per_household_cap=max(engine_need.remaining, 1), weights=data.settings.weights
    )
    data = replace(data, passes=())
    engine_need = with_terms(_one(data, engine_need)).passes[0].needs[0]
    for loaded in offers:
        if loaded.id == str(match.resource_id) or not check(
            loaded, engine_need, today, taxonomy=data.taxonomy
        ):
            continue
        offer = with_terms(_one(data, offer=loaded)).passes[0].offers[0]
        result = run_matching([engine_need], [offer], config, taxonomy=data.taxonomy)
        if not result.proposals:
            continue
        proposal = result.proposals[0]
        quantity, offer_quantity = converted_quantities(
            data, engine_need, offer, proposal.quantity, unit
        )
        if quantity <= 0:
            continue
        items = [item for item in _explanation_items(result, 0) if item[0] != i18n.ONLY_CANDIDATE]
        out.append(
            Candidate(
                uuid.UUID(offer.id),
                data.offer_org[offer.id],
                quantity,
                proposal.score,
                dict(proposal.parts),
                items,
                offer_quantity,
            )
        )
    out.sort(key=lambda c: (-c.score, str(c.resource_id)))
    return match, need, out


@dataclass(frozen=True)
class Alternative:
    """Another offer that may serve a need (same kind or a substitute, units that convert)."""

    resource_id: uuid.UUID
    organization_id: uuid.UUID
    score: float
    remaining: int
    unit: str
    title: str = ""
    organization_name: str = ""


def _alternatives_in(
    data: CountyInput,
    today: date,
    wanted: dict[str, set[str]],
    limit: int,
) -> dict[str, list[Alternative]]:
    """CPU part of :func:`alternatives` (runs in a worker thread)."""
    data = with_terms(data)
    out: dict[str, list[Alternative]] = {}
    for p in data.passes:
        for need in p.needs:
            if need.id not in wanted:
                continue
            found: list[Alternative] = []
            for offer in p.offers:
                if offer.id in wanted[need.id] or not check(
                    offer, need, today, taxonomy=data.taxonomy
                ):
                    continue
                level = service_level(offer, need)
                assert level is not None  # check() passed
                score = edge_score(need, offer, level, today, data.settings.weights) / SCALE
                found.append(
                    Alternative(
                        uuid.UUID(offer.id),
                        data.offer_org[offer.id],
                        score,
                        offer.remaining * p.unit,
                        offer.unit,
                        offer.title,
                        offer.organization_name,
                    )
                )
            found.sort(key=lambda a: (-a.score, str(a.resource_id)))
            out[need.id] = found[:limit]
    return out


def _alternatives_all(
    inputs: Sequence[CountyInput], today: date, wanted: dict[str, set[str]], limit: int
) -> dict[str, list[Alternative]]:
    out: dict[str, list[Alternative]] = {}
    for data in inputs:
        out.update(_alternatives_in(data, today, wanted, limit))
    return out


@dataclass(frozen=True)
class QueueAlternatives:
    """:func:`alternatives`: the best other offers per need, and the taxonomy of each county
    of the page's needs (for the names of item kinds)."""

    by_need: dict[uuid.UUID, list[Alternative]]
    taxonomies: dict[str, Taxonomy]


async def alternatives(
    session: AsyncSession,
    groups: Sequence[repo.NeedGroup],
    *,
    limit: int = 3,
    today: date | None = None,
    amount_codes: set[str] | None = None,
) -> QueueAlternatives:
    """For each need of the queue page, the best other offers that may serve it, best first.

    All needs of the page are loaded at once (:func:`backend.matches.loader.load_needs`: a
    fixed number of statements, only the offers whose service area touches one of the needs);
    only offers the engine would accept as candidates (item kind or substitute, units that
    convert, area, eligibility, window) are listed.
    """
    today = today or utcnow().date()
    wanted = {
        str(g.need.id): {str(r.match.resource_id) for r in g.rows if r.match.resource_id}
        for g in groups
    }
    loaded = await load_needs(
        session, [g.need.id for g in groups], today, amount_codes=amount_codes
    )
    found = await asyncio.to_thread(_alternatives_all, loaded.counties, today, wanted, limit)
    return QueueAlternatives({uuid.UUID(k): v for k, v in found.items()}, loaded.taxonomies)


def _with_remaining(need: EngineNeed, remaining: int) -> EngineNeed:
    return replace(need, remaining=remaining)


def _one(
    data: CountyInput, need: EngineNeed | None = None, offer: EngineOffer | None = None
) -> CountyInput:
    """``data`` reduced to one need or one offer (to segment its text alone)."""
    p = Pass(
        "one",
        (need,) if need else (),
        (offer,) if offer else (),
        RunConfig(today=date.today()),  # noqa: DTZ011 - unused; Pass needs a config
        1,
    )
    return replace(data, passes=(p,))


async def reassign(
    session: AsyncSession,
    user: CurrentUser,
    match_id: uuid.UUID,
    resource_id: uuid.UUID,
    reason: str,
) -> Match:
    """Reject the proposal and approve the need with another eligible offer instead."""
    reason = _reason(reason, required=True)
    match, need, options = await candidates(session, user, match_id)
    chosen = next((c for c in options if c.resource_id == resource_id), None)
    if chosen is None:
        raise Invalid(
            N_("That offer cannot serve this need."), fields={"resource_id": "not_eligible"}
        )
    await _move(
        session,
        match,
        MatchState.REJECTED,
        actor=user_actor(user, "coordinator"),
        region_code=need.region_code,
        reason=reason,
        detail={"reassigned_to": str(resource_id)},
    )
    match.decided_by = user.id
    match.decided_at = utcnow()
    match.reason = reason
    now = utcnow()
    new = Match(
        id=uuid.uuid4(),
        need_id=need.id,
        resource_id=chosen.resource_id,
        organization_id=chosen.organization_id,
        run_id=match.run_id,
        source=MatchSource.COORDINATOR,
        state=MatchState.PROPOSED,
        quantity=chosen.quantity,
        offer_quantity=chosen.offer_quantity,
        score=chosen.score,
        score_parts=chosen.parts,
        explanation=[*chosen.explanation, [REASSIGNED, {"reason": reason}]],
        reason=reason,
        expires_at=now + ACCEPT_TTL,
    )
    session.add(new)
    await session.flush()
    await record(
        session,
        actor=user_actor(user, "coordinator"),
        action="match.reassigned",
        object_type="match",
        object_id=new.id,
        region_code=need.region_code,
        detail={"replaces": str(match.id), "resource_id": str(resource_id), "reason": reason},
    )
    await _move(
        session,
        new,
        MatchState.APPROVED,
        actor=user_actor(user, "coordinator"),
        region_code=need.region_code,
        detail={"replaces": str(match.id)},
    )
    new.decided_by = user.id
    new.decided_at = now
    await queue.refresh(session, [need.id])
    return new


async def _organized(session: AsyncSession, user: CurrentUser, match_id: uuid.UUID) -> Match:
    match = await repo.match_for_update(session, match_id)
    if (
        match is None
        or match.organization_id not in user.approved_org_ids()
        or match.state == MatchState.PROPOSED  # not yet shown to the organization
    ):
        raise NotFound(N_("Match not found."))
    return match


async def accept(session: AsyncSession, user: CurrentUser, match_id: uuid.UUID) -> Fulfilment:
    """The organization takes the approved match: the need is reserved and a fulfilment opens."""
    match = await _organized(session, user, match_id)
    if match.state != MatchState.APPROVED:
        raise Conflict(
            N_("This match is {current} and cannot become {target}."),
            code="match_state",
            current=match.state.value,
            target=MatchState.ACCEPTED.value,
        )
    need = await lock_need(session, match.need_id)
    resource = (
        await repo.resource_for_update(session, match.resource_id) if match.resource_id else None
    )
    if resource is None:
        raise Conflict(N_("The offer of this match no longer exists."), code="match_offer")
    if need.state not in (NeedState.PUBLISHED, NeedState.RESERVED) or need.hidden_reason:
        raise Conflict(N_("This need is no longer open for help."), code="need_closed")
    total = (
        need.amount_fen
        if need.amount_fen is not None and resource.kind == ResourceKind.FUNDS
        else need.quantity
    ) or 0
    if total - need.pledged < match.quantity:
        raise Conflict(
            N_("This need no longer needs that much; ask the coordinator to review it."),
            code="need_short",
        )
    # The offer's units: converted when the need counts in another unit (kg against 斤).
    taken = match.offer_quantity if match.offer_quantity is not None else match.quantity
    if resource.remaining < taken:
        raise Conflict(
            N_("Your offer has only {remaining} left; ask the coordinator to review it."),
            code="offer_short",
            remaining=resource.remaining,
        )
    actor = user_actor(user, "org")
    await _move(session, match, MatchState.ACCEPTED, actor=actor, region_code=need.region_code)
    match.expires_at = None
    need.pledged += match.quantity
    need.helper_organization_id = match.organization_id
    resource.remaining -= taken
    if need.state == NeedState.PUBLISHED:
        await transition(
            session, need, NeedState.RESERVED, actor=actor, detail={"match_id": str(match.id)}
        )
    assert match.organization_id is not None
    fulfilment = Fulfilment(
        id=uuid.uuid4(),
        need_id=need.id,
        organization_id=match.organization_id,
        match_id=match.id,
        promised=match.quantity,
    )
    session.add(fulfilment)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="fulfilment.opened",
        object_type="fulfilment",
        object_id=fulfilment.id,
        region_code=need.region_code,
        detail={"match_id": str(match.id)},
        payload={
            "need_id": str(need.id),
            "match_id": str(match.id),
            "organization_id": str(match.organization_id),
        },
    )
    return fulfilment


async def decline(
    session: AsyncSession, user: CurrentUser, match_id: uuid.UUID, reason: str
) -> Match:
    reason = _reason(reason, required=True)
    match = await _organized(session, user, match_id)
    need = await get_by_id(session, Need, match.need_id)
    await _move(
        session,
        match,
        MatchState.DECLINED,
        actor=user_actor(user, "org"),
        region_code=need.region_code if need else None,
        reason=reason,
    )
    match.reason = reason
    match.expires_at = None
    await session.flush()
    return match


async def expire_stale(session: AsyncSession) -> int:
    """Proposed and approved matches past their ``expires_at`` → expired (one event each)."""
    count = 0
    proposed: set[uuid.UUID] = set()
    for match in await repo.stale_matches(session, utcnow()):
        if match.state == MatchState.PROPOSED:
            proposed.add(match.need_id)
        need = await get_by_id(session, Need, match.need_id)
        await _move(
            session,
            match,
            MatchState.EXPIRED,
            actor=Actor.system(),
            region_code=need.region_code if need else None,
            detail={"stale": True},
        )
        count += 1
    await queue.refresh(session, proposed)
    return count


async def visible_run(session: AsyncSession, user: CurrentUser, run_id: uuid.UUID) -> MatchingRun:
    """A matching run for a coordinator whose region covers its county; 404 otherwise."""
    run = await get_by_id(session, MatchingRun, run_id)
    if run is None or not covers_need(user, await repo.region_path(session, run.county_code)):
        raise NotFound(N_("Matching run not found."))
    return run


async def rows_to_approve(
    session: AsyncSession, user: CurrentUser, ids: Sequence[uuid.UUID]
) -> list[repo.MatchRow]:
    """The proposals a coordinator asked to approve in bulk; 404 if any is not theirs to see."""
    rows = [r for r in [await repo.match_row(session, i) for i in ids] if r is not None]
    visible = [
        r for r in rows if covers_need(user, await repo.region_path(session, r.need.region_code))
    ]
    if len(visible) != len(set(ids)):
        raise NotFound(N_("Match not found."))
    return visible
