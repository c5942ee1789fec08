"""Outbox subscribers: every catalogue event becomes notifications; account events become
one-time links by e-mail. The mail and SMS providers are built by ``backend.wiring``."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import lifecycle
from backend.accounts import service as accounts_service
from backend.accounts.models import Invitation, Organization, User
from backend.accounts.tokens import TokenPurpose
from backend.config import get_settings
from backend.core.events import HandlerContext, subscribe
from backend.notifications.catalogue import CATALOGUE, entries_for
from backend.notifications.dispatch import produce, write_email
from backend.outbox.models import OutboxEvent


async def on_catalogue_event(ctx: HandlerContext, event: OutboxEvent) -> None:
    for entry in entries_for(event.topic):
        produced = await entry.resolve(ctx.session, event)
        if produced is not None:
            await produce(ctx.session, event, entry, produced)


subscribe(*sorted({e.topic for e in CATALOGUE.values()}))(on_catalogue_event)


def _url(path: str) -> str:
    return get_settings().base_url.rstrip("/") + path


async def _link_mail(
    session: AsyncSession,
    event: OutboxEvent,
    user: User,
    *,
    kind: str,
    address: str,
    url: str,
) -> None:
    settings = get_settings()
    await write_email(
        session,
        event_id=event.id,
        kind=kind,
        group="account",
        address=address,
        locale=user.locale,
        params={"hours": settings.email_verify_hours, "minutes": settings.password_reset_minutes},
        user=user,
        action_url=url,
    )


@subscribe("user.signed_up", "user.verification_requested")
async def send_verification(ctx: HandlerContext, event: OutboxEvent) -> None:
    """A new local account (or a repeat request) gets a one-time verification link."""
    user = await ctx.session.get(User, event.aggregate_id)
    if user is None or user.email_verified_at is not None or not user.email:
        return
    if event.topic == "user.signed_up" and user.password_hash is None:
        return  # single sign-on accounts verify from their profile when they want e-mail
    token = await lifecycle.mint(ctx.session, user, TokenPurpose.VERIFY_EMAIL)
    await _link_mail(
        ctx.session,
        event,
        user,
        kind="account.verify_email",
        address=user.email,
        url=_url(f"/account/verify/{token}"),
    )


@subscribe("user.email_change_requested")
async def send_email_change(ctx: HandlerContext, event: OutboxEvent) -> None:
    """The link goes to the NEW address: opening it proves the address and switches to it."""
    user = await ctx.session.get(User, event.aggregate_id)
    token_id = event.payload.get("token_id")
    if user is None or not isinstance(token_id, str):
        return
    armed = await lifecycle.arm(ctx.session, uuid.UUID(token_id))
    if armed is None:
        return
    row, token = armed
    await _link_mail(
        ctx.session,
        event,
        user,
        kind="account.verify_email",
        address=row.email,
        url=_url(f"/account/verify/{token}"),
    )


@subscribe("user.password_reset_requested")
async def send_reset(ctx: HandlerContext, event: OutboxEvent) -> None:
    user = await ctx.session.get(User, event.aggregate_id)
    if user is None or not user.email:
        return
    token = await lifecycle.mint(ctx.session, user, TokenPurpose.RESET_PASSWORD)
    await _link_mail(
        ctx.session,
        event,
        user,
        kind="account.reset_password",
        address=user.email,
        url=_url(f"/password/reset/{token}"),
    )


@subscribe("invitation.created")
async def send_invitation(ctx: HandlerContext, event: OutboxEvent) -> None:
    """Invitations bound to an address are e-mailed too: the link opens the invitee's
    invitations page, where an account with that (verified) address accepts it."""
    invitation_id = event.payload.get("invitation_id")
    if not isinstance(invitation_id, str):
        return
    invitation = await ctx.session.get(Invitation, uuid.UUID(invitation_id))
    if invitation is None or not invitation.email:
        return
    org = await ctx.session.get(Organization, invitation.organization_id)
    invitee = await accounts_service.user_by_email(ctx.session, invitation.email)
    await write_email(
        ctx.session,
        event_id=event.id,
        kind="invitation.created",
        group="organizations",
        address=invitation.email,
        locale=invitee.locale if invitee else get_settings().default_locale,
        params={"organization": org.name if org else ""},
        user=invitee,
        link="/invitations",
    )
