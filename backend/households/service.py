"""Households: registration, masking and audited reveal, verification, assessment, consent,
幸福码 and PIN, and 主动发现 referrals.

Personal fields are AES-256-GCM ciphertext (:mod:`backend.privacy.crypto`). They are
decrypted only here, only for a caseworker whose region subtree contains the household, and
every reveal and export writes an audit row naming the fields (never the values). Everything
else (lists, detail pages, the API) shows them masked.

Services flush and never commit. Outbox topics written here (payloads: ids and codes only):

``household.registered``, ``household.updated``, ``household.verified``,
``household.assessed``, ``household.consent_recorded``, ``household.consent_withdrawn``,
``household.code_issued``, ``household.verification_lapsed``, ``need.hidden`` and
``need.unhidden`` (a need left / re-entered public view without changing state, with
``reason``), ``need.<state>`` through :func:`backend.needs.states.transition`,
``referral.created``, ``referral.converted``, ``referral.dismissed``.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
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
from backend.core.db import utcnow
from backend.core.errors import Conflict, Invalid, NotFound, RateLimited
from backend.core.i18n import N_
from backend.core.keys import get_keys
from backend.core.ratelimit import Lockout
from backend.households import repository as repo
from backend.households.models import (
    Assessment,
    AssistanceCategory,
    Consent,
    ConsentPurpose,
    Household,
    MemberFlag,
    Referral,
    ReferralState,
    Verification,
)
from backend.households.schemas import DIMENSIONS, PERSONAL_FIELDS, CodeCheck, HouseholdIn
from backend.needs import repository as needs_repo
from backend.needs.models import Need, NeedState
from backend.needs.states import transition
from backend.outbox.service import emit, record_change
from backend.privacy.crypto import FieldCipher, keyed_hash
from backend.privacy.idcard import is_valid_id, normalize_id
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
PIN_MAX_FAILURES = 5
PIN_LOCK_SECONDS = 15 * 60

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


def token_hash(token: str) -> str:
    """The 幸福码 token is 192 random bits: an unkeyed SHA-256 is enough to store it."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


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
    region = await session.get(Region, code)
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
    elif not is_valid_id(id_number):
        errors["id_number"] = "checksum"
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
        errors["member_ages"] = "invalid"
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


async def export_csv(
    session: AsyncSession,
    user: CurrentUser,
    *,
    category: AssistanceCategory | None = None,
    verification: str | None = None,
    community: str | None = None,
) -> str:
    """CSV of the caseworker's households, personal fields in clear: one audit row each."""
    rows, _ = await repo.list_households(
        session,
        caseworker_paths(user),
        today=today_local(),
        category=category,
        verification=verification,
        community=community,
        limit=EXPORT_LIMIT,
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "region",
            "category",
            "head_name",
            "id_number",
            "phone",
            "address",
            "members",
            "flags",
            "verified_until",
            "vulnerability",
        ]
    )
    for household, region_name in rows:
        writer.writerow(
            [
                household.id,
                region_name,
                household.category.value,
                *(_dec(f, getattr(household, f"{f}_enc")) for f in PERSONAL_FIELDS),
                len(household.member_ages),
                " ".join(household.flags),
                household.verified_until or "",
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
    return out.getvalue()


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
        raise Invalid(N_("Please correct the marked fields."), fields={"valid_until": "invalid"})
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


async def _hide(session: AsyncSession, household: Household, reason: str, actor: Actor) -> int:
    live = (NeedState.PUBLISHED, NeedState.RESERVED, NeedState.IN_PROGRESS, NeedState.DELIVERED)
    needs = await needs_repo.live_needs_of_household(session, household.id, live)
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
        household = await session.get(Household, household_id)
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
    household, _ = await household_for(session, user, household_id, for_update=True)
    consent = await session.get(Consent, consent_id, with_for_update=True)
    if consent is None or consent.household_id != household.id:
        raise NotFound(N_("Consent not found."))
    if consent.withdrawn_at is not None:
        raise Conflict(N_("This consent was withdrawn already."))
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
    """Shown once, on the printable card; only hashes are stored."""

    token: str
    pin: str


async def issue_code(
    session: AsyncSession, user: CurrentUser, household_id: uuid.UUID
) -> IssuedCode:
    """A new random token and 6-digit PIN; the previous code and PIN stop working at once."""
    household, _ = await household_for(session, user, household_id, for_update=True)
    reissue = household.code_token_hash is not None
    token = secrets.token_urlsafe(24)
    pin = f"{secrets.randbelow(1_000_000):06d}"
    household.code_token_hash = token_hash(token)
    household.pin_hash = hash_password(pin)
    household.pin_failures = 0
    household.pin_locked_until = None
    household.code_issued_at = utcnow()
    await record_change(
        session,
        actor=actor_of(user),
        action="household.code_issued",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"reissued": reissue},
    )
    await session.flush()
    return IssuedCode(token, pin)


def _pin_lockout(session: AsyncSession) -> Lockout:
    queue = session.info.get("queue")
    if queue is None:
        raise RuntimeError("verify_code_and_pin needs a session with the job queue (Redis)")
    return Lockout(
        queue.pool,
        "household_pin",
        max_failures=PIN_MAX_FAILURES,
        window=PIN_LOCK_SECONDS,
        lock=PIN_LOCK_SECONDS,
    )


async def verify_code_and_pin(session: AsyncSession, token: str, pin: str) -> CodeCheck:
    """Check a scanned 幸福码 ``token`` and the household's 6-digit ``pin``.

    Returns :class:`CodeCheck` (household id and region code, nothing personal). Raises
    ``NotFound`` for an unknown or reissued code, ``Invalid`` (code ``wrong_pin``, param
    ``remaining``) for a wrong PIN, ``RateLimited`` once 5 wrong PINs within 15 minutes have
    locked the code for 15 minutes. Failures are counted in Redis (per code), so they survive
    the rollback of the request that raised. A success is audited (actor: household).
    """
    digest = token_hash(token)
    lockout = _pin_lockout(session)
    if seconds := await lockout.locked_for(digest):
        raise RateLimited(
            N_("Too many wrong PINs. Try again in {minutes} minutes."),
            retry_after=seconds,
            minutes=max(1, (seconds + 59) // 60),
        )
    household = await repo.by_code_hash(session, digest)
    if household is None:
        verify_password(None, pin)  # same time as a real check
        raise NotFound(N_("This code is not valid. It may have been reissued."))
    if not pin.isdigit() or len(pin) != 6 or not verify_password(household.pin_hash, pin):
        if seconds := await lockout.fail(digest):
            raise RateLimited(
                N_("Too many wrong PINs. Try again in {minutes} minutes."),
                retry_after=seconds,
                minutes=max(1, (seconds + 59) // 60),
            )
        raise Invalid(N_("Wrong PIN."), code="wrong_pin", fields={"pin": "wrong"})
    await lockout.reset(digest)
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
    region = await session.get(Region, region_code)
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
