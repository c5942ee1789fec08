"""Sign-in, sign-up, sign-out, profile, organization registration, and admin review pages."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from backend.accounts import repository as repo
from backend.accounts import service
from backend.accounts.models import OrgStatus, OrgType, Role
from backend.core.errors import DomainError, RateLimited
from backend.core.http import DB, Form, error_context, form_error
from backend.core.pagination import Page
from backend.core.runtime import runtime_of
from backend.core.security import (
    csrf_cookie,
    login_required,
    new_csrf_token,
    require_user,
    roles_required,
)
from backend.core.sessions import SESSION_COOKIE
from backend.core.templating import page, translate
from backend.regions.models import RegionLevel
from backend.regions.service import by_level
from backend.web.landing import landing_for
from backend.web.views import safe_next


def session_cookie(state: State, token: str) -> Cookie:
    settings = runtime_of(state).settings
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        httponly=True,
        samesite="lax",
        secure=settings.cookies_secure,
        path="/",
        max_age=settings.session_absolute_hours * 3600,
    )


class AccountViews(Controller):
    include_in_schema = False

    @get("/signin", name="signin")
    async def signin_form(
        self,
        request: Request[Any, Any, Any],
        next_: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Template:
        return page(request, "accounts/signin.html", form={}, next=safe_next(next_, default=""))

    @post("/signin")
    async def signin(
        self, request: Request[Any, Any, Any], state: State, db: DB, data: Form
    ) -> Template | Redirect:
        from backend.partner.limits import check_signin_ip  # per-IP limit (429), see issue 9

        await check_signin_ip(request)
        sessions = runtime_of(state).services.sessions
        target = safe_next(data.get("next"), default="")
        try:
            user = await service.sign_in(
                db,
                runtime_of(state).services.login_lockout,
                email=data.get("email", ""),
                password=data.get("password", ""),
            )
        except DomainError as exc:
            locked = exc.retry_after if isinstance(exc, RateLimited) else 0
            async with runtime_of(state).transaction() as audit_session:  # survives the rollback
                await service.record_sign_in_failure(
                    audit_session,
                    email=data.get("email", ""),
                    locked_seconds=locked,
                    refused_while_locked=exc.code == "locked",
                )
            if locked_user_id := getattr(exc, "locked_user_id", None):
                from backend.accounts.lifecycle import account_locked  # issue 18

                # this request's transaction rolls back; the lock notice is its own change
                async with runtime_of(state).transaction() as session:
                    await account_locked(session, locked_user_id)
            status = 429 if exc.status_code == 429 else 422
            response = page(
                request,
                "accounts/signin.html",
                status_code=status,
                form={"email": data.get("email", "")},
                next=target,
                **error_context(exc),
            )
            if locked:
                response.headers["Retry-After"] = str(locked)
            return response
        # A fresh session id and a fresh CSRF token bound to it at every sign-in; the old
        # session (if any) is destroyed.
        await sessions.destroy(request.cookies.get(SESSION_COOKIE))
        csrf = new_csrf_token(state)
        token = await sessions.create(user.id, csrf=csrf)
        if not target:  # no ``next``: the start page of the user's role (backend/web/landing.py)
            target = landing_for(await service.load_current_user(db, user.id))
        return Redirect(
            target,
            status_code=303,
            cookies=[session_cookie(state, token), csrf_cookie(state, csrf)],
        )

    @post("/signout", name="signout")
    async def signout(self, request: Request[Any, Any, Any], state: State) -> Redirect:
        from backend.accounts.oidc_views import provider_logout_url  # OIDC end-session, issue 9

        target = await provider_logout_url(state, request.cookies.get(SESSION_COOKIE))
        await runtime_of(state).services.sessions.destroy(request.cookies.get(SESSION_COOKIE))
        return Redirect(
            target or "/",
            status_code=303,
            cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")],
        )

    @get("/signup", name="signup")
    async def signup_form(self, request: Request[Any, Any, Any]) -> Template:
        return page(
            request,
            "accounts/signup.html",
            form={"role": "volunteer"},
            roles=service.SELF_SERVICE_ROLES,
        )

    @post("/signup")
    async def signup(
        self, request: Request[Any, Any, Any], state: State, db: DB, data: Form
    ) -> Template | Redirect:
        from backend.core.security import current_locale

        try:
            user = await service.sign_up(
                db,
                email=data.get("email", ""),
                display_name=data.get("display_name", ""),
                password=data.get("password", ""),
                role=Role(data.get("role", "volunteer"))
                if data.get("role") in {r.value for r in service.SELF_SERVICE_ROLES}
                else Role.AUDITOR,
                locale=current_locale.get(),
            )
        except DomainError as exc:
            form = {k: v for k, v in data.items() if "password" not in k}
            return form_error(
                request, "accounts/signup.html", exc, form=form, roles=service.SELF_SERVICE_ROLES
            )
        csrf = new_csrf_token(state)
        token = await runtime_of(state).services.sessions.create(user.id, csrf=csrf)
        return Redirect(
            "/profile",
            status_code=303,
            cookies=[session_cookie(state, token), csrf_cookie(state, csrf)],
        )

    @get("/profile", name="profile", guards=[login_required])
    async def profile(
        self, request: Request[Any, Any, Any], saved: FromQuery[str | None] = None
    ) -> Template:
        return page(
            request, "accounts/profile.html", user=require_user(request), saved=saved, form={}
        )

    @post("/profile", guards=[login_required])
    async def update_profile(
        self, request: Request[Any, Any, Any], db: DB, data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            await service.update_profile(
                db,
                user,
                display_name=data.get("display_name", ""),
                locale=data.get("locale", user.locale),
            )
        except DomainError as exc:
            return form_error(request, "accounts/profile.html", exc, user=user, form=data)
        return Redirect(
            "/profile?saved=profile",
            status_code=303,
            cookies=[
                Cookie(
                    key="tx_lang",
                    value=data.get("locale", user.locale),
                    path="/",
                    httponly=True,
                    samesite="lax",
                    max_age=365 * 24 * 3600,
                )
            ],
        )

    @post("/profile/password", guards=[login_required])
    async def change_password(
        self, request: Request[Any, Any, Any], state: State, db: DB, data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            await service.change_password(
                db, user, current=data.get("current_password", ""), new=data.get("new_password", "")
            )
        except DomainError as exc:
            return page(
                request,
                "accounts/profile.html",
                status_code=exc.status_code,
                user=user,
                form={},
                password_error=translate(exc.message, **exc.params),
            )
        sessions = runtime_of(state).services.sessions
        await sessions.destroy_all(user.id)
        csrf = new_csrf_token(state)
        token = await sessions.create(user.id, csrf=csrf)
        return Redirect(
            "/profile?saved=password",
            status_code=303,
            cookies=[session_cookie(state, token), csrf_cookie(state, csrf)],
        )


async def _org_form_context(db: DB) -> dict[str, Any]:
    regions = await by_level(db, RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)
    return {"org_types": list(OrgType), "regions": regions}


class OrganizationViews(Controller):
    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/organizations/register", name="org_register")
    async def register_form(self, request: Request[Any, Any, Any], db: DB) -> Template:
        return page(request, "accounts/org_register.html", form={}, **await _org_form_context(db))

    @post("/organizations/register")
    async def register(
        self, request: Request[Any, Any, Any], db: DB, data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            await service.register_organization(
                db,
                user,
                name=data.get("name", ""),
                org_type=data.get("org_type", ""),
                uscc=data.get("uscc", ""),
                region_code=data.get("region_code", ""),
                description=data.get("description", ""),
                contact_email=data.get("contact_email", ""),
            )
        except DomainError as exc:
            return form_error(
                request, "accounts/org_register.html", exc, form=data, **await _org_form_context(db)
            )
        return Redirect("/profile?saved=organization", status_code=303)


class AdminViews(Controller):
    path = "/admin"
    include_in_schema = False
    guards = [roles_required(Role.ADMIN)]  # noqa: RUF012 - Litestar API

    @get("/organizations", name="admin_orgs")
    async def organizations(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        status: FromQuery[str] = "pending",
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        wanted = OrgStatus(status) if status in {s.value for s in OrgStatus} else OrgStatus.PENDING
        pager = Page(number=page_no, size=20)
        rows, total = await repo.organizations(
            db, status=wanted, offset=pager.offset, limit=pager.size
        )
        return page(
            request,
            "admin/organizations.html",
            fragment="admin/_organizations.html",
            orgs=rows,
            pager=pager.with_total(total),
            status=wanted,
            statuses=list(OrgStatus),
        )

    @post("/organizations/{org_id:uuid}/review")
    async def review(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        await service.review_organization(
            db,
            require_user(request),
            org_id,
            approve=data.get("decision") == "approve",
            note=data.get("note", ""),
        )
        return Redirect("/admin/organizations", status_code=303)
