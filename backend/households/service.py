"""Households: registration, masking and audited reveal, verification, assessment, consent,
幸福码 and PIN, and 主动发现 referrals.

Personal fields are AES-256-GCM ciphertext (:mod:`backend.privacy.crypto`). They are
decrypted only here, only for a caseworker whose region subtree contains the household, and
every reveal and export writes an audit row naming the fields (never the values). Everything
else (lists, detail pages, the API) shows them masked.

Services flush and never commit. Outbox topics written here (payloads: ids and codes only):

``household.registered``, ``household.updated``, ``household.verified``,
``household.assessed``, ``household.consent_recorded``, ``household.consent_withdrawn``,
``household.code_issued`` (payload ``reissued``), ``household.verification_lapsed``, ``need.hidden`` and
``need.unhidden`` (a need left / re-entered public view without changing state, with
``reason``), ``need.<state>`` through :func:`backend.needs.states.transition`,
``referral.created``, ``referral.converted``, ``referral.dismissed``.
"""

from __future__ import annotations

import asyncio
import calendar
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.accounts.passwords import hash_password, verify_password
from backend.audit.service import Actor, record
from backend.core.csvexport import header
from backend.core.db import queue_of, utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from backend.core.i18n import N_, get_translations
from backend.core.keys import get_keys
from backend.core.repository import get_by_id
from backend.households import blind
from backend.households import code as household_code
from backend.households import repository as repo
from backend.households.models import (
    Assessment,
    AssistanceCategory,
    Consent,
    ConsentPurpose,
    Household,
    HouseholdStatus,
    MemberFlag,
    Referral,
    ReferralState,
    Verification,
)
from backend.households.pinguard import LOCK_SECONDS, PinGuard

# Read queries other domains may call (their only way into this domain's repository).
from backend.households.repository import (
    EXPIRING_DAYS as EXPIRING_DAYS,
)
from backend.households.repository import (
    HouseholdFilter as HouseholdFilter,
)
from backend.households.repository import (
    by_code_hash as by_code_hash,
)
from backend.households.repository import (
    household_with_path as household_with_path,
)
from backend.households.repository import (
    kanon_counts as kanon_counts,
)
from backend.households.repository import (
    population as population,
)
from backend.households.repository import (
    regions_under as regions_under,
)
from backend.households.schemas import DIMENSIONS, PERSONAL_FIELDS, CodeCheck, HouseholdIn
from backend.needs import repository as needs_repo
from backend.needs.models import Need, NeedState
from backend.needs.states import transition
from backend.outbox.service import emit, record_change
from backend.privacy.crypto import FieldCipher, keyed_hash
from backend.privacy.gate import NamesProvider, check_public_text
from backend.privacy.idcard import id_problem, is_valid_id, normalize_id
from backend.privacy.masking import mask_address, mask_id, mask_name, mask_phone
from backend.privacy.phone import normalize_phone
from backend.privacy.scanner import OwnValues
from backend.regions.models import Region, RegionLevel

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTEXTS = {
    "head_name": "households.head_name",
    "id_number": "households.id_number",
    "phone": "households.phone",
    "address": "households.address",
}
HOUSEHOLD_LEVELS = (RegionLevel.TOWNSHIP, RegionLevel.COMMUNITY)
CHILD_UNDER = 14
PIN_LENGTH = 6
MAX_CARDS_PER_BATCH = 40

# Six-dimension vulnerability index (docs: 0 = no difficulty, 100 = severe in every dimension):
#   index = 100 × Σ w_d · score_d / 4, scores 0–4, weights summing to 1.
# Economic hardship weighs most (it defines eligibility); health and housing next (the
# largest costs); employment, education and social participation complete the picture.
WEIGHTS = {
    "economic": 0.25,
    "health": 0.20,
    "housing": 0.15,
    "employment": 0.15,
    "education": 0.10,
    "social": 0.15,
}


def today_local() -> date:
    return datetime.now(SHANGHAI).date()


def actor_of(user: CurrentUser) -> Actor:
    return Actor(kind="user", id=user.id, role="caseworker")


@lru_cache(maxsize=1)
def cipher() -> FieldCipher:
    keys = get_keys()
    return FieldCipher(keys.encryption, keys.current_encryption_id)


def id_hash(id_number: str) -> str:
    return keyed_hash(normalize_id(id_number), get_keys().id_hash)


def _enc(field: str, value: str | None) -> bytes | None:
    return cipher().encrypt(value, context=CONTEXTS[field]) if value else None


def _dec(field: str, blob: bytes | None) -> str:
    return cipher().decrypt(blob, context=CONTEXTS[field]) if blob else ""


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def validity_months(category: AssistanceCategory, unstable_income: bool) -> int:
    """特困 yearly; 低保 with unstable income every six months; otherwise yearly (seed 004 §24)."""
    if category == AssistanceCategory.DIBAO and unstable_income:
        return 6
    return 12


def vulnerability_index(scores: dict[str, int]) -> float:
    return round(100 * sum(WEIGHTS[d] * scores[d] for d in DIMENSIONS) / 4, 1)


def verification_state(verified_until: date | None, today: date | None = None) -> str:
    if verified_until is None:
        return "none"
    return "valid" if verified_until >= (today or today_local()) else "lapsed"


# ---------------------------------------------------------------- access


def caseworker_paths(user: CurrentUser) -> tuple[str, ...]:
    return user.region_paths(Role.CASEWORKER)


async def household_for(
    session: AsyncSession, user: CurrentUser, household_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Household, str]:
    """The household if it lies in one of the user's caseworker subtrees; 404 otherwise."""
    found = await repo.household_with_path(session, household_id, for_update=for_update)
    if found is None or not user.covers(Role.CASEWORKER, found[1]):
        raise NotFound(N_("Household not found."))
    return found


async def _region_in_scope(session: AsyncSession, user: CurrentUser, code: str) -> Region | None:
    region = await get_by_id(session, Region, code)
    if region is None or not user.covers(Role.CASEWORKER, region.path):
        return None
    return region


# ---------------------------------------------------------------- registration


@dataclass
class _Clean:
    head_name: str
    id_number: str
    phone: str
    address: str
    ages: list[int]
    flags: list[str]
    category: AssistanceCategory


def _clean(data: HouseholdIn) -> _Clean:
    errors: dict[str, str] = {}
    name = " ".join(data.head_name.split())
    if not name:
        errors["head_name"] = "required"
    elif len(name) > 50:
        errors["head_name"] = "too_long"
    id_number = normalize_id(data.id_number)
    if not id_number:
        errors["id_number"] = "required"
    elif (problem := id_problem(id_number)) is not None:
        # "id_length", "id_format", "id_region", "id_birth_date" or "id_check_char": each has
        # its own sentence next to the field (components/forms.html: error_text).
        errors["id_number"] = f"id_{problem}"
    phone = ""
    if data.phone.strip():
        try:
            phone = normalize_phone(data.phone)
        except ValueError:
            errors["phone"] = "invalid"
    address = " ".join(data.address.split())
    if len(address) > 200:
        errors["address"] = "too_long"
    ages = list(data.member_ages)
    if not ages:
        errors["member_ages"] = "required"
    elif len(ages) > 20 or any(a < 0 or a > 120 for a in ages):
        errors["member_ages"] = "out_of_range"
    known = {f.value for f in MemberFlag}
    if any(f not in known for f in data.flags):
        errors["flags"] = "invalid"
    if data.category not in {c.value for c in AssistanceCategory}:
        errors["category"] = "invalid"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    flags = set(data.flags)
    if any(a < 18 for a in ages):
        flags.add(MemberFlag.MINOR.value)
    if any(a >= 60 for a in ages):
        flags.add(MemberFlag.ELDERLY.value)
    return _Clean(
        name, id_number, phone, address, ages, sorted(flags), AssistanceCategory(data.category)
    )


async def _check_region(session: AsyncSession, user: CurrentUser, code: str) -> Region:
    region = await _region_in_scope(session, user, code)
    if region is None or region.level not in HOUSEHOLD_LEVELS:
        raise Invalid(N_("Please correct the marked fields."), fields={"region_code": "invalid"})
    return region


async def register(session: AsyncSession, user: CurrentUser, data: HouseholdIn) -> Household:
    """Register a household in the caseworker's subtree; one registration per ID number."""
    clean = _clean(data)
    region = await _check_region(session, user, data.region_code)
    digest = id_hash(clean.id_number)
    existing = await repo.by_id_hash(session, digest)
    if existing is not None:
        raise Conflict(
            N_(
                "This ID number is registered already, by {region}. Contact that region's caseworkers."
            ),
            code="duplicate_id",
            region=existing[1].name,
        )
    household = Household(
        id=uuid.uuid4(),
        region_code=region.code,
        head_name_enc=_enc("head_name", clean.head_name),
        id_number_enc=_enc("id_number", clean.id_number),
        id_number_hash=digest,
        phone_enc=_enc("phone", clean.phone),
        phone_hash=blind.phone_hash(clean.phone) or None,
        address_enc=_enc("address", clean.address),
        member_ages=clean.ages,
        flags=clean.flags,
        category=clean.category,
        unstable_income=data.unstable_income,
        registered_by=user.id,
    )
    session.add(household)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same ID number
        raise Conflict(N_("This ID number is registered already."), code="duplicate_id") from exc
    await repo.replace_name_tokens(session, household.id, blind.name_token_hashes(clean.head_name))
    await record_change(
        session,
        actor=actor_of(user),
        action="household.registered",
        object_type="household",
        object_id=household.id,
        region_code=region.code,
        payload={"region_code": region.code},
    )
    if data.referral_id is not None:
        await _convert_referral(session, user, data.referral_id, household)
    await session.flush()
    return household


async def update(
    session: AsyncSession, user: CurrentUser, household_id: uuid.UUID, data: HouseholdIn
) -> Household:
    household, _ = await household_for(session, user, household_id, for_update=True)
    clean = _clean(data)
    region = await _check_region(session, user, data.region_code)
    digest = id_hash(clean.id_number)
    if digest != household.id_number_hash:
        existing = await repo.by_id_hash(session, digest)
        if existing is not None:
            raise Conflict(
                N_(
                    "This ID number is registered already, by {region}. Contact that region's caseworkers."
                ),
                code="duplicate_id",
                region=existing[1].name,
            )
    changed = [
        f
        for f, new in (
            ("head_name", clean.head_name),
            ("id_number", clean.id_number),
            ("phone", clean.phone),
            ("address", clean.address),
        )
        if _dec(f, getattr(household, f"{f}_enc")) != new
    ]
    household.head_name_enc = _enc("head_name", clean.head_name) or b""
    household.id_number_enc = _enc("id_number", clean.id_number) or b""
    household.id_number_hash = digest
    household.phone_enc = _enc("phone", clean.phone)
    household.phone_hash = blind.phone_hash(clean.phone) or None
    household.address_enc = _enc("address", clean.address)
    household.region_code = region.code
    household.member_ages = clean.ages
    household.flags = clean.flags
    household.category = clean.category
    household.unstable_income = data.unstable_income
    # flush first: the row and its k-anonymity counters are locked before the audit chain's
    # lock, in the same order as a registration (rows first, shared sequencer last)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(N_("This ID number is registered already."), code="duplicate_id") from exc
    if "head_name" in changed:
        await repo.replace_name_tokens(
            session, household.id, blind.name_token_hashes(clean.head_name)
        )
    await record_change(
        session,
        actor=actor_of(user),
        action="household.updated",
        object_type="household",
        object_id=household.id,
        region_code=region.code,
        detail={"personal_fields_changed": changed},
    )
    return household


# ---------------------------------------------------------------- registry search


def blind_index_of(head_name_enc: bytes | None, phone_enc: bytes | None) -> tuple[str, list[str]]:
    """(phone hash, name token hashes) of stored ciphertext: for the backfill migration."""
    phone = _dec("phone", phone_enc)
    return blind.phone_hash(phone), blind.name_token_hashes(_dec("head_name", head_name_enc))


SEARCH_KINDS = ("id_number", "phone", "name")


@dataclass(frozen=True)
class RegistryQuery:
    """What the caseworker typed and chose; ``text`` is an ID number, a phone or a name."""

    text: str = ""
    category: AssistanceCategory | None = None
    verification: str | None = None
    consent: str | None = None
    status: HouseholdStatus | None = None
    community: str | None = None


def search_kind(text: str) -> str:
    """Which index a search text goes to: a valid ID number, else a phone number, else a name."""
    if is_valid_id(text):
        return "id_number"
    try:
        normalize_phone(text)
    except ValueError:
        return "name"
    return "phone"


def registry_filter(query: RegistryQuery) -> tuple[repo.HouseholdFilter, str | None]:
    """The repository filter of a search (hashes only) and which index it used (None: none)."""
    base = repo.HouseholdFilter(
        category=query.category,
        verification=query.verification,
        consent=query.consent,
        status=query.status,
        community=query.community,
    )
    text = query.text.strip()
    if not text:
        return base, None
    kind = search_kind(text)
    if kind == "id_number":
        return replace(base, id_hash=id_hash(text)), kind
    if kind == "phone":
        return replace(base, phone_hash=blind.phone_hash(normalize_phone(text))), kind
    hashes = blind.name_query_hashes(text)
    if hashes is None:
        raise Invalid(
            N_("Type at least two characters of the name, the full ID number or a phone number."),
            code="query_too_short",
            fields={"q": "too_short"},
        )
    return replace(base, name_hashes=tuple(hashes)), kind


async def search_households(
    session: AsyncSession, user: CurrentUser, query: RegistryQuery, *, offset: int, limit: int
) -> tuple[Sequence[tuple[Household, str]], int, str | None]:
    """The caseworker's households matching ``query`` (rows still masked by the caller's
    :func:`masked`). A search by ID number, phone or name is audited with its kind, never its
    text."""
    filters, kind = registry_filter(query)
    rows, total = await repo.list_households(
        session,
        caseworker_paths(user),
        today=today_local(),
        filters=filters,
        offset=offset,
        limit=limit,
    )
    if kind is not None:
        await record(
            session,
            actor=actor_of(user),
            action="household.searched",
            object_type="user",
            object_id=user.id,
            detail={"by": kind, "found": min(total, 1000)},
        )
    return rows, total, kind


async def count_households(
    session: AsyncSession,
    user: CurrentUser,
    filters: repo.HouseholdFilter,
    *,
    cap: int | None = None,
) -> int:
    """A capped count of the caseworker's households passing ``filters`` (start page)."""
    paths = caseworker_paths(user)
    return await repo.count_households(session, paths, today_local(), filters, cap=cap)


async def count_new_referrals(
    session: AsyncSession, user: CurrentUser, *, cap: int | None = None
) -> int:
    return await repo.count_new_referrals(session, caseworker_paths(user), cap=cap)


# ---------------------------------------------------------------- masking, reveal, export


def masked(household: Household) -> dict[str, str]:
    """The personal fields as every caseworker screen shows them by default."""
    name = _dec("head_name", household.head_name_enc)
    phone = _dec("phone", household.phone_enc)
    address = _dec("address", household.address_enc)
    return {
        "head_name": mask_name(name),
        "id_number": mask_id(_dec("id_number", household.id_number_enc)),
        "phone": mask_phone(phone) if phone else "",
        "address": mask_address(address) if address else "",
    }


async def reveal(
    session: AsyncSession, user: CurrentUser, household_id: uuid.UUID, fields: Sequence[str]
) -> dict[str, str]:
    """Plain personal fields, for a caseworker of the household's region; audited (names only)."""
    wanted = [f for f in PERSONAL_FIELDS if f in set(fields)]
    if not wanted:
        raise Invalid(N_("Choose which fields to show."), fields={"fields": "required"})
    household, _ = await household_for(session, user, household_id)
    values = {f: _dec(f, getattr(household, f"{f}_enc")) for f in wanted}
    await record(
        session,
        actor=actor_of(user),
        action="household.revealed",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"fields": wanted},
    )
    return values


EXPORT_LIMIT = 1000


# The export's columns (message ids, translated into the header row) and the labels of its
# coded values: a spreadsheet shows words, never codes (docs/operations.md, "CSV exports").
EXPORT_COLUMNS = (
    N_("Region"),
    N_("Category"),
    N_("Head of household"),
    N_("ID card number"),
    N_("Phone"),
    N_("Address"),
    N_("Members"),
    N_("Circumstances"),
    N_("Verified until"),
    N_("Vulnerability"),
)
CATEGORY_LABELS = {
    AssistanceCategory.DIBAO: N_("Minimum living allowance (低保)"),
    AssistanceCategory.DIBAO_EDGE: N_("Near minimum living allowance (低保边缘)"),
    AssistanceCategory.TEKUN: N_("Extreme poverty support (特困)"),
    AssistanceCategory.EXPENSE_POVERTY: N_("Expense-induced poverty (支出型贫困)"),
    AssistanceCategory.TEMPORARY: N_("Temporary assistance (临时救助)"),
    AssistanceCategory.LOW_INCOME_FARMER: N_("Low-income farming household (低收入农户)"),
}
FLAG_LABELS = {
    "disabled": N_("Member with a disability"),
    "seriously_ill": N_("Seriously ill member"),
    "minor": N_("Child"),
    "elderly": N_("Elderly member"),
    "union_hardship": N_("Union member in difficulty"),
    "veteran": N_("Veteran"),
}


async def export_csv(
    session: AsyncSession,
    user: CurrentUser,
    *,
    locale: str,
    category: AssistanceCategory | None = None,
    verification: str | None = None,
    community: str | None = None,
) -> tuple[list[str], list[list[Any]]]:
    """The caseworker's households with personal fields in clear, one audit row each: the
    header (in ``locale``) and the rows, for ``backend.core.csvexport``."""
    rows, _ = await repo.list_households(
        session,
        caseworker_paths(user),
        today=today_local(),
        filters=repo.HouseholdFilter(
            category=category, verification=verification, community=community
        ),
        limit=EXPORT_LIMIT,
    )
    translations = get_translations(locale)
    joiner = "、" if locale == "zh_CN" else ", "
    out: list[list[Any]] = []
    for household, region_name in rows:
        out.append(
            [
                region_name,
                translations.gettext(CATEGORY_LABELS[household.category]),
                *(_dec(f, getattr(household, f"{f}_enc")) or "" for f in PERSONAL_FIELDS),
                len(household.member_ages),
                joiner.join(
                    translations.gettext(FLAG_LABELS[f]) if f in FLAG_LABELS else f
                    for f in household.flags
                ),
                household.verified_until.isoformat() if household.verified_until else "",
                household.vulnerability if household.vulnerability is not None else "",
            ]
        )
        await record(
            session,
            actor=actor_of(user),
            action="household.exported",
            object_type="household",
            object_id=household.id,
            region_code=household.region_code,
            detail={"fields": list(PERSONAL_FIELDS)},
        )
    return header(EXPORT_COLUMNS, locale), out


def claimed_names_provider(session: AsyncSession, organization_id: uuid.UUID) -> NamesProvider:
    """For the public-text gate: the head names of the households this organization knows through
    its claims. The names stay in memory for the comparison; never returned to a page or logged."""

    async def names() -> list[str]:
        blobs = await repo.head_names_claimed_by(session, organization_id)
        return [name for name in (_dec("head_name", b) for b in blobs) if name]

    return names


async def check_organization_text(
    session: AsyncSession, organization_id: uuid.UUID | None, texts: dict[str, str | None]
) -> None:
    """The public-text gate for text written on behalf of an organization."""
    provider = claimed_names_provider(session, organization_id) if organization_id else None
    await check_public_text(texts, names=provider)


async def own_values_for(session: AsyncSession, household_id: uuid.UUID) -> OwnValues | None:
    """:func:`own_values` of a household by id (for a text written about it, e.g. a project plan)."""
    found = await repo.household_with_path(session, household_id)
    return own_values(found[0]) if found else None


def own_values(household: Household) -> OwnValues:
    """The household's stored values for the publication scan. Stays inside this module's callers
    (the needs publish service); never rendered, logged or sent anywhere."""
    return OwnValues(
        name=_dec("head_name", household.head_name_enc) or None,
        phone=_dec("phone", household.phone_enc) or None,
        address=_dec("address", household.address_enc) or None,
        id_number=_dec("id_number", household.id_number_enc) or None,
    )


# ---------------------------------------------------------------- verification


async def verify(
    session: AsyncSession,
    user: CurrentUser,
    household_id: uuid.UUID,
    *,
    basis: str,
    valid_until: date | None = None,
    verified_on: date | None = None,
) -> Verification:
    """Record a verification; valid-until defaults from the category. Re-verifying republishes
    the needs that the lapse job hid."""
    household, _ = await household_for(session, user, household_id, for_update=True)
    if not basis.strip():
        raise Invalid(N_("Please correct the marked fields."), fields={"basis": "required"})
    start = verified_on or today_local()
    until = valid_until or add_months(
        start, validity_months(household.category, household.unstable_income)
    )
    if until < today_local():
        raise Invalid(N_("Please correct the marked fields."), fields={"valid_until": "past"})
    row = Verification(
        id=uuid.uuid4(),
        household_id=household.id,
        verified_by=user.id,
        verified_at=utcnow(),
        basis=basis.strip()[:2000],
        valid_until=until,
    )
    session.add(row)
    household.verified_until = until
    await record_change(
        session,
        actor=actor_of(user),
        action="household.verified",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"valid_until": until.isoformat()},
        payload={"valid_until": until.isoformat()},
    )
    await _unhide(
        session, household, "verification_lapsed", Actor(kind="user", id=user.id, role="caseworker")
    )
    await session.flush()
    return row


_LIVE = (NeedState.PUBLISHED, NeedState.RESERVED, NeedState.IN_PROGRESS, NeedState.DELIVERED)


async def _hide(session: AsyncSession, household: Household, reason: str, actor: Actor) -> int:
    needs = await needs_repo.live_needs_of_household(session, household.id, _LIVE)
    return await _set_hidden(session, [n for n in needs if n.hidden_reason is None], reason, actor)


async def _unhide(session: AsyncSession, household: Household, reason: str, actor: Actor) -> int:
    needs = await needs_repo.hidden_needs(session, household.id, reason)
    return await _set_hidden(session, list(needs), None, actor, reason=reason)


async def _set_hidden(
    session: AsyncSession,
    needs: list[Need],
    hidden_reason: str | None,
    actor: Actor,
    *,
    reason: str | None = None,
) -> int:
    """Hide needs (``hidden_reason`` set) or show them again (None), audited, with events."""
    why = hidden_reason or reason or ""
    action = "need.hidden" if hidden_reason else "need.unhidden"
    for need in needs:
        need.hidden_reason = hidden_reason
        await record_change(
            session,
            actor=actor,
            action=action,
            object_type="need",
            object_id=need.id,
            region_code=need.region_code,
            detail={"reason": why},
            payload={"reason": why, "state": need.state.value},
        )
    return len(needs)


async def lapse_verifications(session: AsyncSession, today: date | None = None) -> list[uuid.UUID]:
    """The daily job's work: hide the needs of households whose verification lapsed.

    Returns the households that had something hidden this run (safe to run twice: needs
    already hidden are skipped)."""
    day = today or today_local()
    hit: list[uuid.UUID] = []
    for household_id in await repo.lapsed_household_ids(session, day):
        household = await get_by_id(session, Household, household_id)
        if household is None:
            continue
        if await _hide(session, household, "verification_lapsed", Actor.system()):
            await emit(
                session,
                topic="household.verification_lapsed",
                aggregate_type="household",
                aggregate_id=household.id,
                payload={"region_code": household.region_code},
            )
            hit.append(household.id)
    await session.flush()
    return hit


# ---------------------------------------------------------------- assessment


async def assess(
    session: AsyncSession,
    user: CurrentUser,
    household_id: uuid.UUID,
    scores: dict[str, Any],
    note: str = "",
) -> Assessment:
    household, _ = await household_for(session, user, household_id, for_update=True)
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for dim in DIMENSIONS:
        try:
            value = int(scores.get(dim, ""))
        except (TypeError, ValueError):
            errors[dim] = "required"
            continue
        if not 0 <= value <= 4:
            errors[dim] = "invalid"
        clean[dim] = value
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    index = vulnerability_index(clean)
    row = Assessment(
        id=uuid.uuid4(),
        household_id=household.id,
        assessed_by=user.id,
        assessed_at=utcnow(),
        vulnerability=index,
        note=note.strip()[:2000],
        **clean,
    )
    session.add(row)
    household.vulnerability = index
    await record_change(
        session,
        actor=actor_of(user),
        action="household.assessed",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"vulnerability": index},
        payload={"vulnerability": index},
    )
    await session.flush()
    return row


# ---------------------------------------------------------------- consent


def has_child(household: Household) -> bool:
    return any(a < CHILD_UNDER for a in household.member_ages or [])


async def record_consent(
    session: AsyncSession,
    user: CurrentUser,
    household_id: uuid.UUID,
    *,
    purpose: str,
    scope: str = "",
    guardian_consent: bool = False,
    given_on: date | None = None,
) -> Consent:
    household, _ = await household_for(session, user, household_id, for_update=True)
    if purpose not in {p.value for p in ConsentPurpose}:
        raise Invalid(N_("Please correct the marked fields."), fields={"purpose": "invalid"})
    if has_child(household) and not guardian_consent:
        raise Invalid(
            N_("A member of this household is under 14: a guardian's consent is required."),
            fields={"guardian_consent": "required"},
        )
    given = datetime.combine(given_on, datetime.min.time(), SHANGHAI) if given_on else utcnow()
    consent = Consent(
        id=uuid.uuid4(),
        household_id=household.id,
        purpose=ConsentPurpose(purpose),
        scope=scope.strip()[:500],
        given_at=given,
        recorded_by=user.id,
        guardian_consent=guardian_consent,
    )
    session.add(consent)
    await record_change(
        session,
        actor=actor_of(user),
        action="household.consent_recorded",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"purpose": purpose},
        payload={"purpose": purpose},
    )
    if purpose == ConsentPurpose.PUBLISH_NEEDS.value:
        await _unhide(session, household, "consent_withdrawn", actor_of(user))
    await session.flush()
    return consent


async def withdraw_consent(
    session: AsyncSession, user: CurrentUser, household_id: uuid.UUID, consent_id: uuid.UUID
) -> Consent:
    """Withdrawal takes effect at once: published needs go back to draft (out of public view and
    the search index); claimed ones in progress are hidden until consent is given again."""
    # Lock order: household → consent → the household's live needs (by id), all before
    # anything is audited; claims and door confirmations lock the household or the need first
    # in the same order, so neither can deadlock with a withdrawal.
    household, _ = await household_for(session, user, household_id, for_update=True)
    consent = await get_by_id(session, Consent, consent_id, for_update=True)
    if consent is None or consent.household_id != household.id:
        raise NotFound(N_("Consent not found."))
    if consent.withdrawn_at is not None:
        raise Conflict(N_("This consent was withdrawn already."))
    if consent.purpose == ConsentPurpose.PUBLISH_NEEDS:
        await needs_repo.live_needs_of_household(session, household.id, _LIVE)
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by = user.id
    actor = actor_of(user)
    await record_change(
        session,
        actor=actor,
        action="household.consent_withdrawn",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"purpose": consent.purpose.value},
        payload={"purpose": consent.purpose.value},
    )
    if consent.purpose == ConsentPurpose.PUBLISH_NEEDS and (
        await repo.active_consent(session, household.id, ConsentPurpose.PUBLISH_NEEDS) is None
    ):
        for need in await needs_repo.live_needs_of_household(
            session, household.id, [NeedState.PUBLISHED]
        ):
            await transition(
                session,
                need,
                NeedState.DRAFT,
                actor=actor,
                reason="consent_withdrawn",
                detail={"cause": "consent_withdrawn"},
            )
            need.public_region_code = None
            need.public_profile = {}
        await _hide(session, household, "consent_withdrawn", actor)
    await session.flush()
    return consent


async def can_publish(session: AsyncSession, household: Household) -> bool:
    consent = await repo.active_consent(session, household.id, ConsentPurpose.PUBLISH_NEEDS)
    if consent is None:
        return False
    return consent.guardian_consent or not has_child(household)


# ---------------------------------------------------------------- 幸福码 and PIN


@dataclass(frozen=True)
class IssuedCode:
    """Shown once (card and sealed PIN slip); only hashes are stored."""

    household_id: uuid.UUID
    code: str  # normalized, 13 characters; household_code.display() groups it
    pin: str


CODE_MESSAGES = {
    "empty": N_("Scan or type the household's code."),
    "length": N_("The code has 13 characters: three groups of four and one more."),
    "chars": N_("The code has a character that is not on any card. Check it and try again."),
    "check": N_("This code has a typo. Check each character against the card."),
}


def parse_code(raw: str) -> str:
    """The normalized code, or ``Invalid`` on field ``code`` (a typo is caught here, before any
    lookup and without counting as a wrong try)."""
    try:
        return household_code.normalize(raw)
    except household_code.CodeFormatError as exc:
        raise Invalid(
            CODE_MESSAGES[exc.reason], code=f"code_{exc.reason}", fields={"code": exc.reason}
        ) from exc


async def _issue(session: AsyncSession, user: CurrentUser, household: Household) -> IssuedCode:
    reissue = household.code_hash is not None
    code = household_code.generate()
    pin = f"{secrets.randbelow(1_000_000):06d}"
    household.code_hash = household_code.code_hash(code)
    household.code_tail = code[-4:]
    household.pin_hash = await asyncio.to_thread(hash_password, pin)
    household.code_issued_at = utcnow()
    await record_change(
        session,
        actor=actor_of(user),
        action="household.code_issued",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"reissued": reissue},
        payload={"reissued": reissue},
    )
    return IssuedCode(household.id, code, pin)


async def issue_code(
    session: AsyncSession, user: CurrentUser, household_id: uuid.UUID
) -> IssuedCode:
    """A new random code and 6-digit PIN; the previous code and PIN stop working at once."""
    household, _ = await household_for(session, user, household_id, for_update=True)
    issued = await _issue(session, user, household)
    await session.flush()
    return issued


async def issue_codes(
    session: AsyncSession, user: CurrentUser, household_ids: Sequence[uuid.UUID]
) -> list[IssuedCode]:
    """Codes for several households at once (a sheet of cards); each is audited on its own."""
    if not household_ids:
        raise Invalid(N_("Choose at least one household."), fields={"households": "required"})
    if len(household_ids) > MAX_CARDS_PER_BATCH:
        raise Invalid(
            N_("At most {n} cards at a time."),
            fields={"households": "too_many"},
            n=MAX_CARDS_PER_BATCH,
        )
    issued = []
    for household_id in sorted(set(household_ids)):  # one lock order for every batch
        household, _ = await household_for(session, user, household_id, for_update=True)
        issued.append(await _issue(session, user, household))
    await session.flush()
    order = {h: n for n, h in enumerate(household_ids)}
    return sorted(issued, key=lambda i: order[i.household_id])


async def card_regions(
    session: AsyncSession, household_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Each household's region code and name, for its card (never its name or address)."""
    return await repo.region_names(session, household_ids)


async def pin_slips_shown(
    session: AsyncSession, user: CurrentUser, household_ids: Sequence[uuid.UUID]
) -> None:
    """Audit that the caseworker was shown these households' PINs (the one time they are)."""
    regions = await repo.region_names(session, household_ids)
    for household_id in household_ids:
        await record(
            session,
            actor=actor_of(user),
            action="household.pin_slip_shown",
            object_type="household",
            object_id=household_id,
            region_code=regions[household_id][0] if household_id in regions else None,
        )


def _locked(seconds: int) -> RateLimited:
    return RateLimited(
        N_("Too many wrong PINs. Try again in {minutes} minutes."),
        retry_after=seconds,
        minutes=max(1, (seconds + 59) // 60),
    )


def _guard(session: AsyncSession) -> PinGuard:
    queue = queue_of(session)
    if queue is None:
        raise RuntimeError("the 幸福码 checks need a session with the job queue (Redis)")
    return PinGuard(queue.pool)


async def household_by_code(session: AsyncSession, raw: str, *, client_ip: str) -> CodeCheck:
    """Which household a scanned code belongs to (for the deliverer at the door, no PIN).

    An unknown code counts against the caller's address like a wrong PIN does.
    """
    code = parse_code(raw)
    guard = _guard(session)
    if seconds := await guard.locked_for(None, client_ip):
        raise _locked(seconds)
    household = await repo.by_code_hash(session, household_code.code_hash(code))
    if household is None:
        if (await guard.fail(None, client_ip)).locked_for:
            raise _locked(LOCK_SECONDS)
        raise Invalid(
            N_("This code is not valid. It may have been reissued."),
            code="unknown_code",
            fields={"code": "unknown"},
        )
    return CodeCheck(household_id=household.id, region_code=household.region_code)


async def verify_code_and_pin(
    session: AsyncSession, raw_code: str, pin: str, *, client_ip: str
) -> CodeCheck:
    """Check a typed or scanned 幸福码 and the household's 6-digit ``pin``.

    Returns :class:`CodeCheck` (household id and region code, nothing personal). Raises
    ``Invalid`` on ``code`` for a malformed code or a typo (nothing counted) and for an unknown
    or reissued code (counted against the address), ``Invalid`` (code ``wrong_pin``, param ``remaining``) for a
    wrong PIN, and ``RateLimited`` (429, ``Retry-After``) once 5 wrong PINs on this code, or 20
    failures from this address, within 15 minutes have locked it for 15 minutes. A success is
    audited (actor: household). Neither the code nor the PIN is ever logged or echoed.
    """
    code = parse_code(raw_code)
    digest = household_code.code_hash(code)
    guard = _guard(session)
    if seconds := await guard.locked_for(digest, client_ip):
        raise _locked(seconds)
    pin = pin.strip()
    if not pin:
        raise Invalid(N_("Type the PIN."), code="pin_missing", fields={"pin": "required"})
    if len(pin) != PIN_LENGTH or not (pin.isascii() and pin.isdigit()):
        # cannot be right: not a try, not counted
        raise Invalid(N_("The PIN has 6 digits."), code="pin_format", fields={"pin": "invalid"})
    household = await repo.by_code_hash(session, digest)
    if household is None:
        await asyncio.to_thread(verify_password, None, pin)  # same time as a real check
        if (await guard.fail(None, client_ip)).locked_for:
            raise _locked(LOCK_SECONDS)
        raise Invalid(
            N_("This code is not valid. It may have been reissued."),
            code="unknown_code",
            fields={"code": "unknown"},
        )
    if not await asyncio.to_thread(verify_password, household.pin_hash, pin):
        failure = await guard.fail(digest, client_ip)
        if failure.locked_for:
            raise _locked(failure.locked_for)
        raise Invalid(
            N_("Wrong PIN. {remaining} tries left before the code is locked for 15 minutes."),
            code="wrong_pin",
            fields={"pin": "wrong"},
            remaining=failure.remaining,
        )
    await guard.succeed(digest)
    await record(
        session,
        actor=Actor(kind="household", id=household.id),
        action="household.code_verified",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
    )
    return CodeCheck(household_id=household.id, region_code=household.region_code)


# ---------------------------------------------------------------- referrals (主动发现)

REFERRAL_CONTEXTS = {"text": "referrals.text", "contact": "referrals.contact"}


async def refer(
    session: AsyncSession, user: CurrentUser, *, region_code: str, text: str, contact: str = ""
) -> Referral:
    errors: dict[str, str] = {}
    region = await get_by_id(session, Region, region_code)
    if region is None or region.level in (RegionLevel.PROVINCE, RegionLevel.CITY):
        errors["region_code"] = "invalid"
    if not text.strip():
        errors["text"] = "required"
    elif len(text) > 4000:
        errors["text"] = "too_long"
    if len(contact) > 200:
        errors["contact"] = "too_long"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    assert region is not None
    referral = Referral(
        id=uuid.uuid4(),
        region_code=region.code,
        referred_by=user.id,
        text_enc=cipher().encrypt(text.strip(), context=REFERRAL_CONTEXTS["text"]),
        contact_enc=cipher().encrypt(contact.strip(), context=REFERRAL_CONTEXTS["contact"])
        if contact.strip()
        else None,
        state=ReferralState.NEW,
    )
    session.add(referral)
    await session.flush()
    await record_change(
        session,
        actor=Actor(kind="user", id=user.id),
        action="referral.created",
        object_type="referral",
        object_id=referral.id,
        region_code=region.code,
        payload={"region_code": region.code},
    )
    return referral


async def referral_for(
    session: AsyncSession, user: CurrentUser, referral_id: uuid.UUID, *, for_update: bool = False
) -> Referral:
    found = await repo.referral_with_path(session, referral_id, for_update=for_update)
    if found is None or not user.covers(Role.CASEWORKER, found[1]):
        raise NotFound(N_("Referral not found."))
    return found[0]


async def open_referral(
    session: AsyncSession, user: CurrentUser, referral_id: uuid.UUID
) -> dict[str, str]:
    """The referral's text and contact for a caseworker of its region (audited as a reveal)."""
    referral = await referral_for(session, user, referral_id)
    values = {
        "text": cipher().decrypt(referral.text_enc, context=REFERRAL_CONTEXTS["text"]),
        "contact": cipher().decrypt(referral.contact_enc, context=REFERRAL_CONTEXTS["contact"])
        if referral.contact_enc
        else "",
    }
    await record(
        session,
        actor=actor_of(user),
        action="referral.revealed",
        object_type="referral",
        object_id=referral.id,
        region_code=referral.region_code,
        detail={"fields": ["text", "contact"]},
    )
    return values


async def dismiss_referral(
    session: AsyncSession, user: CurrentUser, referral_id: uuid.UUID, reason: str
) -> Referral:
    referral = await referral_for(session, user, referral_id, for_update=True)
    if referral.state != ReferralState.NEW:
        raise Conflict(N_("This referral was handled already."))
    if not reason.strip():
        raise Invalid(N_("Give a reason for dismissing it."), fields={"reason": "required"})
    referral.state = ReferralState.DISMISSED
    referral.dismiss_reason = reason.strip()[:1000]
    referral.handled_by = user.id
    referral.handled_at = utcnow()
    await record_change(
        session,
        actor=actor_of(user),
        action="referral.dismissed",
        object_type="referral",
        object_id=referral.id,
        region_code=referral.region_code,
    )
    await session.flush()
    return referral


async def _convert_referral(
    session: AsyncSession, user: CurrentUser, referral_id: uuid.UUID, household: Household
) -> None:
    referral = await referral_for(session, user, referral_id, for_update=True)
    if referral.state != ReferralState.NEW:
        raise Conflict(N_("This referral was handled already."))
    referral.state = ReferralState.CONVERTED
    referral.household_id = household.id
    referral.handled_by = user.id
    referral.handled_at = utcnow()
    await record_change(
        session,
        actor=actor_of(user),
        action="referral.converted",
        object_type="referral",
        object_id=referral.id,
        region_code=referral.region_code,
        payload={"household_id": str(household.id)},
    )


# --- contact details for a claiming organization ------------------------------------------


@dataclass(frozen=True)
class ContactDetails:
    head_name: str
    phone: str
    address: str


async def has_share_contact_consent(session: AsyncSession, household_id: uuid.UUID) -> bool:
    return await repo.active_share_consent(session, household_id) is not None


async def contact_for_claim(
    session: AsyncSession,
    household_id: uuid.UUID,
    *,
    actor: Actor,
    claim_id: uuid.UUID,
    organization_id: uuid.UUID,
) -> ContactDetails:
    """Decrypt the household's contact details for the members of an organization whose claim
    on one of its needs is active (the caller, ``resources.service.contact_details``, checks
    the claim). Needs the household's share-contact consent; every read is audited."""
    if not await has_share_contact_consent(session, household_id):
        raise Forbidden(
            N_("The household has not agreed to share its contact details."), code="no_consent"
        )
    row = await repo.contact_columns(session, household_id)
    if row is None:
        raise NotFound(N_("Claim not found."))
    values = {
        "head_name": _dec("head_name", row.head_name_enc),
        "phone": _dec("phone", row.phone_enc),
        "address": _dec("address", row.address_enc),
    }
    await record(
        session,
        actor=actor,
        action="household.contact_viewed",
        object_type="household",
        object_id=row.id,
        region_code=row.region_code,
        detail={
            "fields": [name for name, value in values.items() if value],
            "claim_id": str(claim_id),
            "organization_id": str(organization_id),
        },
    )
    return ContactDetails(**values)


async def region_code_of(session: AsyncSession, household_id: uuid.UUID) -> str:
    """The household's region code ("" when it does not exist); no personal field."""
    found = await repo.household(session, household_id)
    return found.region_code if found is not None else ""


async def masked_head_name(session: AsyncSession, household_id: uuid.UUID) -> str:
    """The head's name masked as printed on the household's own list (张*三)."""
    found = await repo.household(session, household_id)
    if found is None:
        raise NotFound(N_("Household not found."))
    return masked(found)["head_name"]


async def list_label(session: AsyncSession, household_id: uuid.UUID) -> tuple[str, str]:
    """What a printed quarterly list names a household by: the head's masked name and the last
    four characters of its 幸福码 ("" when the code predates stored tails)."""
    found = await repo.household(session, household_id)
    if found is None:
        raise NotFound(N_("Household not found."))
    return masked(found)["head_name"], found.code_tail or ""


async def masked_head_names(
    session: AsyncSession, household_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The heads' masked names of several households at once (a page of quarterly lists)."""
    if not household_ids:
        return {}
    return {
        h.id: mask_name(_dec("head_name", h.head_name_enc))
        for h in await repo.households_by_ids(session, household_ids)
    }
