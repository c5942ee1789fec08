"""Accounts: sign-up and sign-in, profiles, organization registration and review, role grants.

Services flush and never commit; every state change writes the audit log and the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import repository as repo
from backend.accounts.identity import CurrentUser, OrgMembership, RoleScope
from backend.accounts.models import (
    REGION_SCOPED_ROLES,
    Membership,
    Organization,
    OrgRole,
    OrgStatus,
    OrgType,
    Role,
    RoleGrant,
    User,
    UserStatus,
)
from backend.accounts.passwords import (
    MIN_LENGTH,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)
from backend.accounts.repository import (  # a read query other domains may call
    user_by_email as user_by_email,
)
from backend.audit.service import Actor, record
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from backend.core.i18n import LOCALES, N_
from backend.core.keys import get_keys
from backend.core.ratelimit import Lockout
from backend.core.repository import get_by_id
from backend.outbox.service import record_change
from backend.privacy.gate import gate_public_text
from backend.privacy.uscc import is_valid_uscc, normalize_uscc
from backend.regions.models import Region

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
SELF_SERVICE_ROLES = (Role.VOLUNTEER, Role.DONOR)


def actor_of(user: CurrentUser) -> Actor:
    return Actor(kind="user", id=user.id)


async def load_current_user(session: AsyncSession, user_id: uuid.UUID) -> CurrentUser | None:
    """The user with roles and memberships, from one statement (``repo.identity``)."""
    row = await repo.identity(session, user_id)
    if row is None or UserStatus(row.status) != UserStatus.ACTIVE:
        return None
    return CurrentUser(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        locale=row.locale,
        has_password=bool(row.has_password),
        roles=tuple(RoleScope(Role(role), code, path) for role, code, path in row.grants),
        memberships=tuple(
            OrgMembership(uuid.UUID(org), OrgRole(role), OrgStatus(status), name)
            for org, role, status, name in row.members
        ),
    )


# Where a sign-in without ``next`` lands, by role: a role whose work has one home page goes
# there (the auditor has no other function than its workspace); everyone else gets the home page.
LANDING = {Role.AUDITOR: "/audit"}


async def landing_page(session: AsyncSession, user_id: uuid.UUID) -> str:
    """The page a user lands on after signing in without a ``next``: the workspace of a user
    whose only staff role has one (an auditor who is also a caseworker lands on the home page)."""
    user = await load_current_user(session, user_id)
    if user is None:
        return "/"
    staff = {s.role for s in user.roles} - {Role.VOLUNTEER, Role.DONOR}
    if len(staff) == 1 and (role := next(iter(staff))) in LANDING:
        return LANDING[role]
    return "/"


def _check_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(
            N_("The password must have at least {n} characters."),
            fields={"password": "too_short"},
            n=MIN_LENGTH,
        )


async def sign_up(
    session: AsyncSession, *, email: str, display_name: str, password: str, role: Role, locale: str
) -> User:
    email = email.strip()
    errors: dict[str, str] = {}
    if not EMAIL_RE.match(email):
        errors["email"] = "invalid"
    if not display_name.strip():
        errors["display_name"] = "required"
    if role not in SELF_SERVICE_ROLES:
        errors["role"] = "invalid"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    _check_password(password)
    if await repo.user_by_email(session, email) is not None:
        raise Conflict(N_("An account with this e-mail address exists already. Sign in instead."))
    user = User(
        id=uuid.uuid4(),
        email=email,
        display_name=display_name.strip()[:100],
        password_hash=await hash_password_async(password),
        locale=locale if locale in LOCALES else "zh_CN",
        status=UserStatus.ACTIVE,
    )
    session.add(user)
    await session.flush()
    session.add(RoleGrant(user_id=user.id, role=role))
    await record_change(
        session,
        actor=Actor("user", user.id),
        action="user.signed_up",
        object_type="user",
        object_id=user.id,
        detail={"role": role.value},
    )
    await session.flush()
    return user


async def sign_in(session: AsyncSession, lockout: Lockout, *, email: str, password: str) -> User:
    """The same answer for an unknown account as for a wrong password; locks out after 5 tries.

    Failures are counted per e-mail address in Redis whether or not the account exists, so the
    lockout itself reveals nothing either.
    """
    subject = email.strip().lower()
    if seconds := await lockout.locked_for(subject):
        raise RateLimited(
            N_("Too many failed sign-ins. Try again in {minutes} minutes."),
            code="locked",
            retry_after=seconds,
            minutes=max(1, (seconds + 59) // 60),
        )
    user = await repo.user_by_email(session, subject)
    ok = await verify_password_async(user.password_hash if user else None, password)
    if not ok or user is None or user.status != UserStatus.ACTIVE:
        if seconds := await lockout.fail(subject):
            locked = RateLimited(
                N_("Too many failed sign-ins. Try again in {minutes} minutes."),
                code="locked_out",
                retry_after=seconds,
                minutes=max(1, (seconds + 59) // 60),
            )
            # this failure started the lock: the view tells the account holder (issue 18)
            locked.locked_user_id = user.id if user is not None else None  # type: ignore[attr-defined]
            raise locked
        raise Invalid(N_("Wrong e-mail address or password."), code="bad_credentials")
    await lockout.reset(subject)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = await hash_password_async(password)
    user.last_login_at = utcnow()
    await record(
        session,
        actor=Actor("user", user.id),
        action="user.signed_in",
        object_type="user",
        object_id=user.id,
    )
    await session.flush()
    return user


async def record_sign_in_failure(
    session: AsyncSession, *, email: str, locked_seconds: int, refused_while_locked: bool = False
) -> None:
    """Audit a failed sign-in or a lockout (in its own transaction: the request's is rolled
    back). The row names the account by id when it exists, otherwise by a keyed hash of the
    address; never the address itself."""
    subject = email.strip().lower()
    user = await repo.user_by_email(session, subject) if subject else None
    digest = hmac.new(get_keys().session, subject.encode(), hashlib.sha256).hexdigest()
    object_id = str(user.id) if user else "unknown:" + digest[:24]
    action = (
        "user.sign_in_refused_locked"
        if refused_while_locked
        else ("user.locked_out" if locked_seconds else "user.sign_in_failed")
    )
    await record(
        session,
        actor=Actor("anonymous"),
        action=action,
        object_type="user",
        object_id=object_id,
        detail={"locked_seconds": locked_seconds, "known_account": user is not None},
    )


async def update_profile(
    session: AsyncSession, actor: CurrentUser, *, display_name: str, locale: str
) -> User:
    user = await get_by_id(session, User, actor.id)
    if user is None:
        raise NotFound(N_("Account not found."))
    if not display_name.strip():
        raise Invalid(N_("Please correct the marked fields."), fields={"display_name": "required"})
    if locale not in LOCALES:
        raise Invalid(N_("Please correct the marked fields."), fields={"locale": "invalid"})
    user.display_name = display_name.strip()[:100]
    user.locale = locale
    await record(
        session,
        actor=actor_of(actor),
        action="user.profile_updated",
        object_type="user",
        object_id=user.id,
        detail={"fields": ["display_name", "locale"]},
    )
    await session.flush()
    return user


async def change_password(
    session: AsyncSession, actor: CurrentUser, *, current: str, new: str
) -> None:
    user = await get_by_id(session, User, actor.id)
    if user is None:
        raise NotFound(N_("Account not found."))
    if not await verify_password_async(user.password_hash, current):
        raise Invalid(N_("The current password is wrong."), fields={"current_password": "wrong"})
    _check_password(new)
    user.password_hash = await hash_password_async(new)
    await record(
        session,
        actor=actor_of(actor),
        action="user.password_changed",
        object_type="user",
        object_id=user.id,
    )
    await session.flush()


async def register_organization(
    session: AsyncSession,
    actor: CurrentUser,
    *,
    name: str,
    org_type: str,
    uscc: str,
    region_code: str,
    description: str = "",
    contact_email: str = "",
) -> Organization:
    """The registrant becomes the organization's admin once a platform admin approves it."""
    errors: dict[str, str] = {}
    code = normalize_uscc(uscc)
    if not name.strip():
        errors["name"] = "required"
    if org_type not in {t.value for t in OrgType}:
        errors["org_type"] = "invalid"
    if not is_valid_uscc(code):
        errors["uscc"] = "checksum"
    if await get_by_id(session, Region, region_code) is None:
        errors["region_code"] = "invalid"
    if errors:
        if "uscc" in errors and len(errors) == 1:
            raise Invalid(
                N_("The unified social credit code is not valid: check its 18 characters."),
                fields=errors,
            )
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    gate_public_text({"description": description.strip()})  # shown on the public directory
    if await repo.organization_by_uscc(session, code) is not None:
        raise Conflict(
            N_("An organization with this unified social credit code is registered already.")
        )
    org = Organization(
        id=uuid.uuid4(),
        name=name.strip()[:200],
        org_type=OrgType(org_type),
        uscc=code,
        status=OrgStatus.PENDING,
        description=description.strip(),
        region_code=region_code,
        service_area=[region_code],
        contact_email=contact_email.strip(),
    )
    session.add(org)
    await session.flush()
    session.add(Membership(user_id=actor.id, organization_id=org.id, role=OrgRole.ADMIN))
    await record_change(
        session,
        actor=actor_of(actor),
        action="organization.registered",
        object_type="organization",
        object_id=org.id,
        region_code=region_code,
    )
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration with the same code
        raise Conflict(
            N_("An organization with this unified social credit code is registered already.")
        ) from exc
    return org


async def review_organization(
    session: AsyncSession, actor: CurrentUser, org_id: uuid.UUID, *, approve: bool, note: str = ""
) -> Organization:
    if not actor.is_admin:
        raise Forbidden(N_("Only a platform administrator can review organizations."))
    org = await get_by_id(session, Organization, org_id, for_update=True)
    if org is None:
        raise NotFound(N_("Organization not found."))
    if org.status != OrgStatus.PENDING:
        raise Conflict(N_("This organization was reviewed already."))
    if not approve and not note.strip():
        raise Invalid(N_("Give a reason for the rejection."), fields={"note": "required"})
    org.status = OrgStatus.APPROVED if approve else OrgStatus.REJECTED
    org.reviewed_by = actor.id
    org.reviewed_at = utcnow()
    org.review_note = note.strip()
    action = "organization.approved" if approve else "organization.rejected"
    await record_change(
        session,
        actor=actor_of(actor),
        action=action,
        object_type="organization",
        object_id=org.id,
        region_code=org.region_code,
    )
    await session.flush()
    return org


async def grant_role(
    session: AsyncSession,
    actor: CurrentUser,
    *,
    user_id: uuid.UUID,
    role: Role,
    region_code: str | None,
) -> RoleGrant:
    if not actor.is_admin:
        raise Forbidden(N_("Only a platform administrator can grant roles."))
    if (role in REGION_SCOPED_ROLES) != (region_code is not None):
        raise Invalid(N_("Caseworkers and coordinators need a region; other roles take none."))
    if region_code is not None and await get_by_id(session, Region, region_code) is None:
        raise Invalid(N_("Unknown region."), fields={"region_code": "invalid"})
    if await get_by_id(session, User, user_id) is None:
        raise NotFound(N_("Account not found."))
    grant = RoleGrant(user_id=user_id, role=role, region_code=region_code)
    session.add(grant)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(N_("This user holds this role already.")) from exc
    await record_change(
        session,
        actor=actor_of(actor),
        action="role.granted",
        object_type="user",
        object_id=user_id,
        region_code=region_code,
        detail={"role": role.value},
    )
    return grant
