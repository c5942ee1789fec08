"""Account lifecycle by e-mail: address verification, password reset, e-mail change, lockout.

Requests write an outbox event only; the outbox handler mints the one-time token and writes
the e-mail in its own transaction, so the token exists nowhere but in that e-mail (the table
keeps its SHA-256). Tokens are single-use; a reset link lives 30 minutes (settings).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import repository as accounts_repo
from backend.accounts.identity import CurrentUser
from backend.accounts.models import Invitation, Membership, User, UserStatus
from backend.accounts.passwords import hash_password, verify_password
from backend.accounts.service import EMAIL_RE, _check_password, actor_of
from backend.accounts.tokens import AccountToken, TokenPurpose
from backend.audit.service import Actor
from backend.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from backend.core.i18n import N_
from backend.core.ratelimit import RateLimit
from backend.core.repository import get_by_id
from backend.organizations import service as organizations_service
from backend.outbox.service import emit, record_change


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def mint(
    session: AsyncSession, user: User, purpose: TokenPurpose, *, email: str | None = None
) -> str:
    """A new one-time token for ``user``; returns the token itself (for the e-mail only)."""
    settings = get_settings()
    token = secrets.token_urlsafe(32)
    lifetime = (
        timedelta(minutes=settings.password_reset_minutes)
        if purpose == TokenPurpose.RESET_PASSWORD
        else timedelta(hours=settings.email_verify_hours)
    )
    session.add(
        AccountToken(
            id=uuid.uuid4(),
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            email=email or user.email,
            expires_at=utcnow() + lifetime,
        )
    )
    await session.flush()
    return token


async def _usable(session: AsyncSession, token: str, purpose: TokenPurpose) -> AccountToken:
    row = await accounts_repo.account_token(session, token_hash(token), purpose)
    if row is None or row.expires_at <= utcnow():
        raise Invalid(
            N_("This link is not valid or has expired. Ask for a new one."), code="bad_token"
        )
    if row.used_at is not None:
        raise Conflict(N_("This link has been used already. Ask for a new one."))
    return row


async def peek(session: AsyncSession, token: str, purpose: TokenPurpose) -> bool:
    """True while the link can still be used (the confirmation page asks before using it)."""
    try:
        await _usable(session, token, purpose)
    except (Invalid, Conflict):
        return False
    return True


# --- e-mail verification -------------------------------------------------------------------------


async def request_verification(session: AsyncSession, actor: CurrentUser) -> None:
    """Send (again) a verification link to the account's current address."""
    user = await get_by_id(session, User, actor.id)
    if user is None:
        raise NotFound(N_("Account not found."))
    if user.email_verified_at is not None:
        raise Conflict(N_("Your e-mail address is confirmed already."))
    await emit(
        session, topic="user.verification_requested", aggregate_type="user", aggregate_id=user.id
    )


async def request_email_change(
    session: AsyncSession, actor: CurrentUser, *, new_email: str, password: str
) -> None:
    """The new address takes effect when its link is opened; the current one stays until then."""
    user = await get_by_id(session, User, actor.id)
    if user is None:
        raise NotFound(N_("Account not found."))
    new_email = new_email.strip()
    if not EMAIL_RE.match(new_email):
        raise Invalid(N_("Please correct the marked fields."), fields={"new_email": "invalid"})
    if user.password_hash and not verify_password(user.password_hash, password):
        raise Invalid(N_("The current password is wrong."), fields={"password": "wrong"})
    existing = await accounts_repo.user_by_email(session, new_email)
    if existing is not None:
        raise Conflict(N_("An account with this e-mail address exists already. Sign in instead."))
    # the row is armed (its real hash set) by the outbox handler that writes the e-mail
    row = AccountToken(
        id=uuid.uuid4(),
        user_id=user.id,
        purpose=TokenPurpose.VERIFY_EMAIL,
        token_hash=token_hash(secrets.token_urlsafe(32)),
        email=new_email,
        expires_at=utcnow() + timedelta(hours=get_settings().email_verify_hours),
    )
    session.add(row)
    await session.flush()
    await record_change(
        session,
        actor=actor_of(actor),
        action="user.email_change_requested",
        object_type="user",
        object_id=user.id,
        payload={"token_id": str(row.id)},
    )


async def arm(session: AsyncSession, token_id: uuid.UUID) -> tuple[AccountToken, str] | None:
    """Give a pre-created token row its real secret (in the handler that sends the e-mail)."""
    row = await get_by_id(session, AccountToken, token_id, for_update=True)
    if row is None or row.used_at is not None:
        return None
    token = secrets.token_urlsafe(32)
    row.token_hash = token_hash(token)
    await session.flush()
    return row, token


async def verify_email(session: AsyncSession, token: str) -> User:
    row = await _usable(session, token, TokenPurpose.VERIFY_EMAIL)
    user = await get_by_id(session, User, row.user_id, for_update=True)
    if user is None or user.status == UserStatus.DISABLED:
        raise Invalid(
            N_("This link is not valid or has expired. Ask for a new one."), code="bad_token"
        )
    changed = row.email.lower() != user.email.lower()
    if changed and await accounts_repo.user_by_email(session, row.email) is not None:
        raise Conflict(N_("An account with this e-mail address exists already. Sign in instead."))
    row.used_at = utcnow()
    user.email = row.email
    user.email_verified_at = utcnow()
    await record_change(
        session,
        actor=Actor("user", user.id),
        action="user.email_changed" if changed else "user.email_verified",
        object_type="user",
        object_id=user.id,
    )
    await session.flush()
    return user


# --- password reset ------------------------------------------------------------------------------


async def request_reset(
    session: AsyncSession, limits: tuple[RateLimit, RateLimit], *, email: str, ip: str
) -> None:
    """The same answer whether or not the address has an account; rate-limited per address and
    per IP (``limits``). Only a known, active account gets an e-mail (through the outbox)."""
    subject = email.strip().lower()
    for limit, key in zip(limits, (f"email:{subject}", f"ip:{ip}"), strict=True):
        if wait := await limit.hit(key):
            raise RateLimited(
                N_("Too many requests. Try again in {minutes} minutes."),
                retry_after=wait,
                minutes=max(1, (wait + 59) // 60),
            )
    user = await accounts_repo.user_by_email(session, subject)
    if user is None or user.status != UserStatus.ACTIVE:
        return
    await record_change(
        session,
        actor=Actor.system(),
        action="user.password_reset_requested",
        object_type="user",
        object_id=user.id,
    )


async def reset_password(session: AsyncSession, token: str, *, new_password: str) -> User:
    """Set the new password and use up every open reset link; the caller ends all sessions."""
    row = await _usable(session, token, TokenPurpose.RESET_PASSWORD)
    _check_password(new_password)
    user = await get_by_id(session, User, row.user_id, for_update=True)
    if user is None or user.status != UserStatus.ACTIVE:
        raise Invalid(
            N_("This link is not valid or has expired. Ask for a new one."), code="bad_token"
        )
    now = utcnow()
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == TokenPurpose.RESET_PASSWORD,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    user.password_hash = hash_password(new_password)
    # the link reached this address: it is verified too
    if user.email_verified_at is None and row.email.lower() == user.email.lower():
        user.email_verified_at = now
    await record_change(
        session,
        actor=Actor("user", user.id),
        action="user.password_reset",
        object_type="user",
        object_id=user.id,
    )
    await session.flush()
    return user


async def account_locked(session: AsyncSession, user_id: uuid.UUID) -> None:
    """The sign-in lockout (kept in Redis) tells the account holder, once per lock."""
    await record_change(
        session,
        actor=Actor.system(),
        action="user.locked",
        object_type="user",
        object_id=user_id,
    )


# --- invitations sent by e-mail ------------------------------------------------------------------


async def open_invitations(session: AsyncSession, user: User) -> list[tuple[Invitation, str]]:
    if user.email_verified_at is None:
        return []
    return await accounts_repo.open_invitations_for(session, user.email)


async def accept_addressed_invitation(
    session: AsyncSession, actor: CurrentUser, invitation_id: uuid.UUID
) -> None:
    """Join through an invitation addressed to the actor's verified e-mail address (no code
    needed: the verified address is the proof)."""
    user = await get_by_id(session, User, actor.id)
    invitation = await get_by_id(session, Invitation, invitation_id, for_update=True)
    if (
        user is None
        or invitation is None
        or invitation.email.lower() != user.email.lower()
        or invitation.expires_at <= utcnow()
    ):
        raise NotFound(N_("This invitation is not valid or has expired. Ask for a new one."))
    if user.email_verified_at is None:
        raise Forbidden(N_("Confirm your e-mail address first: we sent you a link."))
    if invitation.used_at is not None:
        raise Conflict(N_("This invitation has been used already."))
    if await organizations_service.membership(session, user.id, invitation.organization_id):
        raise Conflict(N_("You are a member of this organization already."))
    invitation.used_at = utcnow()
    invitation.used_by = user.id
    session.add(
        Membership(
            user_id=user.id, organization_id=invitation.organization_id, role=invitation.role
        )
    )
    await session.flush()
    await record_change(
        session,
        actor=actor_of(actor),
        action="membership.joined",
        object_type="organization",
        object_id=invitation.organization_id,
        detail={"invitation_id": str(invitation.id), "role": invitation.role.value},
        payload={"user_id": str(user.id)},
    )


async def account(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The signed-in user's own account row (e-mail, verification state)."""
    return await get_by_id(session, User, user_id)
