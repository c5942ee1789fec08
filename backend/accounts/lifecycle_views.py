"""Pages of the account lifecycle: verify an e-mail address, forgotten password, e-mail change,
and the invitations addressed to the signed-in user's (verified) address."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from backend.accounts import lifecycle
from backend.accounts.tokens import TokenPurpose
from backend.core.errors import DomainError
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.ratelimit import RateLimit
from backend.core.runtime import runtime_of
from backend.core.security import login_required, require_user
from backend.core.templating import page, translate
from backend.partner.limits import client_ip

Form = URLEncodedBody[dict[str, str]]


def _expired_link(request: Request[Any, Any, Any], title: str, link: tuple[str, str]) -> Template:
    """A one-time link that no longer works (used, expired or unknown): 410, what to do."""
    return _notice(
        request,
        title,
        N_("This link is not valid or has expired. Ask for a new one."),
        link=link,
        status_code=410,
        kind="error",
    )


def _notice(
    request: Request[Any, Any, Any],
    title: str,
    message: str,
    *,
    link: tuple[str, str] | None = None,
    status_code: int = 200,
    kind: str = "success",
    **params: Any,
) -> Template:
    return page(
        request,
        "accounts/notice.html",
        status_code=status_code,
        title=translate(title),
        message=translate(message, **params),
        link=(link[0], translate(link[1])) if link else None,
        kind=kind,
    )


def _error(exc: DomainError) -> str:
    return translate(exc.message, **exc.params)


class LifecycleViews(Controller):
    include_in_schema = False

    # --- e-mail verification and change --------------------------------------------------------

    @get("/account/email", guards=[login_required])
    async def email_card(self, request: Request[Any, Any, Any], db: DB) -> Template:
        """The profile's e-mail card (loaded by htmx): state, resend, change."""
        user = await lifecycle.account(db, require_user(request).id)
        return page(request, "accounts/_email_card.html", account=user, form={})

    @post("/account/email/verify", guards=[login_required])
    async def resend(self, request: Request[Any, Any, Any], db: DB) -> Template:
        try:
            await lifecycle.request_verification(db, require_user(request))
        except DomainError as exc:
            return _notice(
                request,
                N_("E-mail address"),
                exc.message,
                link=("/profile", N_("Back to my account")),
                status_code=exc.status_code,
                kind="error",
            )
        return _notice(
            request,
            N_("Check your mailbox"),
            N_("We sent you a link to confirm your e-mail address."),
            link=("/profile", N_("Back to my account")),
        )

    @post("/account/email/change", guards=[login_required])
    async def change(self, request: Request[Any, Any, Any], db: DB, data: Form) -> Template:
        user = require_user(request)
        try:
            await lifecycle.request_email_change(
                db, user, new_email=data.get("new_email", ""), password=data.get("password", "")
            )
        except DomainError as exc:
            account = await lifecycle.account(db, user.id)
            return page(
                request,
                "accounts/email_change.html",
                status_code=exc.status_code,
                account=account,
                form={"new_email": data.get("new_email", "")},
                error=_error(exc),
                fields=getattr(exc, "fields", {}),
            )
        return _notice(
            request,
            N_("Check your new mailbox"),
            N_(
                "We sent a link to the new address. Your e-mail address changes when you open it; "
                "until then the current one stays."
            ),
            link=("/profile", N_("Back to my account")),
        )

    @get("/account/verify/{token:str}")
    async def verify_form(
        self, request: Request[Any, Any, Any], db: DB, token: FromPath[str]
    ) -> Template:
        if not await lifecycle.peek(db, token, TokenPurpose.VERIFY_EMAIL):
            return _expired_link(
                request, N_("Confirm your e-mail address"), ("/profile", N_("Back to my account"))
            )
        return page(request, "accounts/verify.html", token=token)

    @post("/account/verify/{token:str}")
    async def verify(
        self, request: Request[Any, Any, Any], db: DB, token: FromPath[str]
    ) -> Template:
        try:
            await lifecycle.verify_email(db, token)
        except DomainError as exc:
            return _notice(
                request,
                N_("Confirm your e-mail address"),
                exc.message,
                link=("/profile", N_("Back to my account")),
                status_code=exc.status_code,
                kind="error",
            )
        return _notice(
            request,
            N_("Confirm your e-mail address"),
            N_("Your e-mail address is confirmed."),
            link=("/profile", N_("Back to my account")),
        )

    # --- password reset ------------------------------------------------------------------------

    @get("/password/forgot", name="password_forgot")
    async def forgot_form(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "accounts/password_forgot.html", form={})

    @post("/password/forgot")
    async def forgot(
        self, request: Request[Any, Any, Any], state: State, db: DB, data: Form
    ) -> Template:
        settings = runtime_of(state).settings
        redis = runtime_of(state).queue.pool
        limits = (
            RateLimit(redis, "pwreset", settings.password_reset_per_hour, 3600),
            # one office or campus shares an address: the per-IP allowance is larger
            RateLimit(redis, "pwreset_ip", settings.password_reset_per_hour * 6, 3600),
        )
        try:
            await lifecycle.request_reset(
                db, limits, email=data.get("email", ""), ip=client_ip(request)
            )
        except DomainError as exc:
            return page(
                request,
                "accounts/password_forgot.html",
                status_code=exc.status_code,
                form={"email": data.get("email", "")},
                error=_error(exc),
            )
        return _notice(
            request,
            N_("Check your mailbox"),
            N_(
                "If an account uses this address, we sent it a link to choose a new password. "
                "The link works once, for {minutes} minutes."
            ),
            link=("/signin", N_("Back to sign-in")),
            minutes=settings.password_reset_minutes,
        )

    @get("/password/reset/{token:str}")
    async def reset_form(
        self, request: Request[Any, Any, Any], db: DB, token: FromPath[str]
    ) -> Template:
        if not await lifecycle.peek(db, token, TokenPurpose.RESET_PASSWORD):
            return _expired_link(
                request, N_("Choose a new password"), ("/password/forgot", N_("Ask for a new link"))
            )
        return page(request, "accounts/password_reset.html", token=token)

    @post("/password/reset/{token:str}")
    async def reset(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        token: FromPath[str],
        data: Form,
    ) -> Template:
        try:
            user = await lifecycle.reset_password(db, token, new_password=data.get("password", ""))
        except DomainError as exc:
            if exc.status_code == 422 and getattr(exc, "fields", None):
                return page(
                    request,
                    "accounts/password_reset.html",
                    status_code=422,
                    token=token,
                    error=_error(exc),
                )
            return _notice(
                request,
                N_("Choose a new password"),
                exc.message,
                link=("/password/forgot", N_("Ask for a new link")),
                status_code=exc.status_code,
                kind="error",
            )
        # every session of the account ends: whoever had the old password is signed out
        await runtime_of(state).services.sessions.destroy_all(user.id)
        await runtime_of(state).services.login_lockout.reset(user.email.lower())
        return _notice(
            request,
            N_("Choose a new password"),
            N_(
                "Your password is changed and every device was signed out. Sign in with the new password."
            ),
            link=("/signin", N_("Sign in")),
        )


class InvitationInboxViews(Controller):
    """Invitations e-mailed to an address: the account holding that verified address accepts."""

    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/invitations", name="my_invitations")
    async def listing(self, request: Request[Any, Any, Any], db: DB) -> Template:
        user = await lifecycle.account(db, require_user(request).id)
        rows = await lifecycle.open_invitations(db, user) if user else []
        return page(request, "accounts/invitations.html", account=user, invitations=rows)

    @post("/invitations/{invitation_id:uuid}/accept")
    async def accept(
        self, request: Request[Any, Any, Any], db: DB, invitation_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        try:
            await lifecycle.accept_addressed_invitation(db, require_user(request), invitation_id)
        except DomainError as exc:
            return _notice(
                request,
                N_("Invitations"),
                exc.message,
                link=("/invitations", N_("Back to my invitations")),
                status_code=exc.status_code,
                kind="error",
            )
        return Redirect("/org", status_code=303)
