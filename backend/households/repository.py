"""Every query of the households domain, scoped to the caseworker's region subtrees."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, false, func, insert, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import capped_count
from backend.households.models import (
    Assessment,
    AssistanceCategory,
    Consent,
    ConsentPurpose,
    Household,
    HouseholdNameToken,
    HouseholdStatus,
    KAnonCell,
    Referral,
    ReferralState,
    Verification,
)
from backend.privacy.kanon import Cell
from backend.regions.models import Region
from backend.regions.repository import in_subtree_codes, in_subtrees


async def household(session: AsyncSession, household_id: uuid.UUID) -> Household | None:
    return await session.get(Household, household_id)


async def households_by_ids(
    session: AsyncSession, household_ids: Sequence[uuid.UUID]
) -> Sequence[Household]:
    return (
        await session.scalars(select(Household).where(Household.id.in_(list(household_ids))))
    ).all()


async def household_with_path(
    session: AsyncSession, household_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Household, str] | None:
    query = (
        select(Household, Region.path)
        .join(Region, Region.code == Household.region_code)
        .where(Household.id == household_id)
    )
    if for_update:
        query = query.with_for_update(of=Household)
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def by_id_hash(session: AsyncSession, id_hash: str) -> tuple[Household, Region] | None:
    row = (
        await session.execute(
            select(Household, Region)
            .join(Region, Region.code == Household.region_code)
            .where(Household.id_number_hash == id_hash)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def by_code_hash(session: AsyncSession, code_hash: str) -> Household | None:
    return (
        await session.scalars(select(Household).where(Household.code_hash == code_hash))
    ).first()


async def region_names(
    session: AsyncSession, household_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    rows = await session.execute(
        select(Household.id, Region.code, Region.name)
        .join(Region, Region.code == Household.region_code)
        .where(Household.id.in_(list(household_ids)))
    )
    return {r[0]: (r[1], r[2]) for r in rows.all()}


@dataclass(frozen=True)
class HouseholdFilter:
    """The caseworker list's filters and the registry search (hashes only, never a value)."""

    category: AssistanceCategory | None = None
    verification: str | None = None  # valid | lapsed | none | expiring (within EXPIRING_DAYS)
    consent: str | None = None  # "none": no active consent to publish needs
    status: HouseholdStatus | None = None
    community: str | None = None
    id_hash: str | None = None
    phone_hash: str | None = None
    name_hashes: tuple[str, ...] = ()


EXPIRING_DAYS = 30


def _filtered(query: Any, f: HouseholdFilter, today: date) -> Any:
    if f.category is not None:
        query = query.where(Household.category == f.category)
    if f.status is not None:
        query = query.where(Household.status == f.status)
    if f.verification == "valid":
        query = query.where(Household.verified_until >= today)
    elif f.verification == "lapsed":
        query = query.where(Household.verified_until < today)
    elif f.verification == "none":
        query = query.where(Household.verified_until.is_(None))
    elif f.verification == "expiring":
        query = query.where(
            Household.verified_until >= today,
            Household.verified_until <= today + timedelta(days=EXPIRING_DAYS),
        )
    if f.consent == "none":
        query = query.where(
            ~exists().where(
                Consent.household_id == Household.id,
                Consent.purpose == ConsentPurpose.PUBLISH_NEEDS,
                Consent.withdrawn_at.is_(None),
            ),
            Household.status == HouseholdStatus.ACTIVE,
        )
    if f.id_hash is not None:
        query = query.where(Household.id_number_hash == f.id_hash)
    if f.phone_hash is not None:
        query = query.where(Household.phone_hash == f.phone_hash)
    if f.name_hashes:
        wanted = sorted(set(f.name_hashes))
        query = query.where(
            Household.id.in_(
                select(HouseholdNameToken.household_id)
                .where(HouseholdNameToken.token_hash.in_(wanted))
                .group_by(HouseholdNameToken.household_id)
                .having(func.count() == len(wanted))
            )
        )
    return query


async def list_households(
    session: AsyncSession,
    root_paths: Sequence[str],
    *,
    today: date,
    filters: HouseholdFilter = HouseholdFilter(),
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[tuple[Household, str]], int]:
    region = in_subtree_codes(Household.region_code, root_paths)
    if filters.community:
        sub = (
            await session.scalars(select(Region.path).where(Region.code == filters.community))
        ).first()
        region = and_(region, in_subtree_codes(Household.region_code, [sub] if sub else []))
    # the count reads ids only: no region join, no row columns (a join made it scan regions)
    ids = _filtered(select(Household.id).where(region), filters, today)
    total = await session.scalar(capped_count(ids)) or 0
    query = _filtered(
        select(Household, Region.name)
        .join(Region, Region.code == Household.region_code)
        .where(region),
        filters,
        today,
    )
    rows = await session.execute(
        # newest first along ix_households_created_at_id
        query.order_by(Household.created_at.desc(), Household.id.desc()).offset(offset).limit(limit)
    )
    return [(h, name) for h, name in rows.all()], total


async def count_households(
    session: AsyncSession,
    root_paths: Sequence[str],
    today: date,
    filters: HouseholdFilter,
    *,
    cap: int | None = None,
) -> int:
    """How many of the caseworker's households pass ``filters`` (capped at ``cap`` + 1,
    COUNT_CAP by default)."""
    query = select(Household.id).where(in_subtree_codes(Household.region_code, root_paths))
    return await session.scalar(capped_count(_filtered(query, filters, today), cap)) or 0


async def replace_name_tokens(
    session: AsyncSession, household_id: uuid.UUID, token_hashes: Sequence[str]
) -> None:
    """The household's name blind index, replaced (backend.households.blind)."""
    await session.execute(
        delete(HouseholdNameToken).where(HouseholdNameToken.household_id == household_id)
    )
    if token_hashes:
        await session.execute(
            insert(HouseholdNameToken),
            [{"token_hash": t, "household_id": household_id} for t in sorted(set(token_hashes))],
        )


async def count_new_referrals(
    session: AsyncSession, root_paths: Sequence[str], *, cap: int | None = None
) -> int:
    return (
        await session.scalar(
            capped_count(
                select(Referral.id).where(
                    in_subtrees(Referral.region_code, root_paths),
                    Referral.state == ReferralState.NEW,
                ),
                cap,
            )
        )
        or 0
    )


async def count_lapsed(session: AsyncSession, root_paths: Sequence[str], today: date) -> int:
    """Capped like the lists (above COUNT_CAP means "more than that")."""
    return (
        await session.scalar(
            capped_count(
                select(Household.id).where(
                    in_subtree_codes(Household.region_code, root_paths),
                    Household.verified_until < today,
                )
            )
        )
        or 0
    )


async def lapsed_household_ids(session: AsyncSession, today: date) -> Sequence[uuid.UUID]:
    return (
        await session.scalars(
            select(Household.id)
            .where(Household.verified_until < today, Household.status == HouseholdStatus.ACTIVE)
            .order_by(Household.id)
        )
    ).all()


async def population(
    session: AsyncSession, root_path: str
) -> Sequence[tuple[str, list[int], list[str]]]:
    """(region path, member ages, flags) of every active household under ``root_path``."""
    rows = await session.execute(
        select(Region.path, Household.member_ages, Household.flags)
        .join(Region, Region.code == Household.region_code)
        .where(
            Household.status == HouseholdStatus.ACTIVE,
            (Region.path == root_path) | Region.path.startswith(root_path + ".", autoescape=True),
        )
    )
    return [(p, list(a or []), list(f or [])) for p, a, f in rows.all()]


async def kanon_counts(session: AsyncSession, wanted: Sequence[Cell]) -> dict[Cell, int]:
    """The counters of the given cells (cells never counted are absent)."""
    if not wanted:
        return {}
    rows = await session.execute(
        select(
            KAnonCell.location, KAnonCell.profile_level, KAnonCell.profile, KAnonCell.households
        ).where(tuple_(KAnonCell.location, KAnonCell.profile_level, KAnonCell.profile).in_(wanted))
    )
    return {(loc, level, profile): n for loc, level, profile, n in rows.all()}


async def all_kanon_counts(session: AsyncSession) -> dict[Cell, int]:
    """Every non-zero counter (for checks and tests)."""
    rows = await session.execute(
        select(
            KAnonCell.location, KAnonCell.profile_level, KAnonCell.profile, KAnonCell.households
        ).where(KAnonCell.households != 0)
    )
    return {(loc, level, profile): n for loc, level, profile, n in rows.all()}


async def verifications(session: AsyncSession, household_id: uuid.UUID) -> Sequence[Verification]:
    return (
        await session.scalars(
            select(Verification)
            .where(Verification.household_id == household_id)
            .order_by(Verification.verified_at.desc())
        )
    ).all()


async def assessments(session: AsyncSession, household_id: uuid.UUID) -> Sequence[Assessment]:
    return (
        await session.scalars(
            select(Assessment)
            .where(Assessment.household_id == household_id)
            .order_by(Assessment.assessed_at.desc())
        )
    ).all()


async def consents(session: AsyncSession, household_id: uuid.UUID) -> Sequence[Consent]:
    return (
        await session.scalars(
            select(Consent)
            .where(Consent.household_id == household_id)
            .order_by(Consent.given_at.desc())
        )
    ).all()


async def active_consent(
    session: AsyncSession, household_id: uuid.UUID, purpose: ConsentPurpose
) -> Consent | None:
    return (
        await session.scalars(
            select(Consent)
            .where(
                Consent.household_id == household_id,
                Consent.purpose == purpose,
                Consent.withdrawn_at.is_(None),
            )
            .order_by(Consent.given_at.desc())
        )
    ).first()


async def referrals_for(
    session: AsyncSession,
    root_paths: Sequence[str],
    *,
    state: ReferralState | None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[tuple[Referral, str]], int]:
    query = (
        select(Referral, Region.name)
        .join(Region, Region.code == Referral.region_code)
        .where(in_subtrees(Referral.region_code, root_paths))
    )
    if state is not None:
        query = query.where(Referral.state == state)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(Referral.created_at.desc()).offset(offset).limit(limit)
    )
    return [(r, n) for r, n in rows.all()], total


async def count_referrals(
    session: AsyncSession, root_paths: Sequence[str], *, state: ReferralState
) -> int:
    """Referrals in the subtrees in one state, capped like the lists (one statement)."""
    return (
        await session.scalar(
            capped_count(
                select(Referral.id).where(
                    in_subtree_codes(Referral.region_code, root_paths), Referral.state == state
                )
            )
        )
        or 0
    )


async def referral_with_path(
    session: AsyncSession, referral_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Referral, str] | None:
    query = (
        select(Referral, Region.path)
        .join(Region, Region.code == Referral.region_code)
        .where(Referral.id == referral_id)
    )
    if for_update:
        query = query.with_for_update(of=Referral)
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def referrals_by(session: AsyncSession, user_id: uuid.UUID) -> Sequence[tuple[Referral, str]]:
    rows = await session.execute(
        select(Referral, Region.name)
        .join(Region, Region.code == Referral.region_code)
        .where(Referral.referred_by == user_id)
        .order_by(Referral.created_at.desc())
        .limit(100)
    )
    return [(r, n) for r, n in rows.all()]


async def regions_under(
    session: AsyncSession,
    root_paths: Sequence[str],
    levels: Sequence[str],
    *,
    limit: int | None = None,
) -> Sequence[Region]:
    from backend.regions.models import RegionLevel

    return (
        await session.scalars(
            select(Region)
            .where(
                # the path prefix itself (ix_regions_path_pattern), not codes of a subquery
                or_(
                    false(),
                    *(
                        or_(
                            Region.path == root, Region.path.startswith(root + ".", autoescape=True)
                        )
                        for root in root_paths
                    ),
                ),
                Region.level.in_([RegionLevel(lv) for lv in levels]),
            )
            .order_by(Region.path)
            .limit(limit)
        )
    ).all()


async def active_share_consent(session: AsyncSession, household_id: uuid.UUID) -> Consent | None:
    return (
        await session.scalars(
            select(Consent)
            .where(
                Consent.household_id == household_id,
                Consent.purpose == ConsentPurpose.SHARE_CONTACT,
                Consent.withdrawn_at.is_(None),
            )
            .order_by(Consent.given_at.desc())
        )
    ).first()


async def contact_columns(session: AsyncSession, household_id: uuid.UUID) -> Any:
    """The encrypted contact columns; only ``service.contact_for_claim`` calls this."""
    return (
        await session.execute(
            select(
                Household.id,
                Household.region_code,
                Household.head_name_enc,
                Household.phone_enc,
                Household.address_enc,
            ).where(Household.id == household_id)
        )
    ).first()


async def head_names_claimed_by(
    session: AsyncSession, organization_id: uuid.UUID, *, limit: int = 500
) -> Sequence[bytes]:
    """Encrypted head names of the households whose needs this organization holds an active or
    fulfilled claim on (for the public-text gate; decrypted only by the households service)."""
    from backend.needs.models import Need
    from backend.resources.models import Claim, ClaimState

    rows = await session.scalars(
        select(Household.head_name_enc)
        .join(Need, Need.household_id == Household.id)
        .join(Claim, Claim.need_id == Need.id)
        .where(
            Claim.organization_id == organization_id,
            Claim.state.in_((ClaimState.ACTIVE, ClaimState.FULFILLED)),
        )
        .distinct()
        .limit(limit)
    )
    return [r for r in rows if r]
