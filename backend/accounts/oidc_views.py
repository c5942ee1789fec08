"""Sign-in with OpenID Connect (start, callback, sign-out) and approval of pending accounts.

The flow's secrets (state, nonce, PKCE verifier, where to go next) stay server-side in Redis
under the hash of a random flow id; the browser holds only that id, in a short-lived HttpOnly
cookie scoped to ``/oidc``. The Redis entry is read and deleted in one step, so each flow can be
completed once.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from backend.accounts import oidc_service as service
from backend.accounts import service as accounts_service
from backend.accounts.models import Role, UserStatus
from backend.accounts.views import session_cookie
from backend.core.errors import DomainError, NotFound
from backend.core.http import DB, Form
from backend.core.i18n import N_
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
from backend.core.templating import page
from backend.integrations.oidc import (
    OIDCError,
    OIDCProvider,
    OIDCRegistry,
    build_registry,
    new_pkce_verifier,
    state_digest,
)
from backend.partner.limits import check_signin_ip
from backend.web.landing import landing_for
from backend.web.views import safe_next

log = logging.getLogger("tongxin.oidc")

FLOW_COOKIE = "tx_oidc_flow"
FLOW_TTL = 600


def registry_of(state: State) -> OIDCRegistry:
    services = runtime_of(state).services
    if services.oidc is None:  # started by backend.wiring; built here for a bare runtime
        services.oidc = build_registry(runtime_of(state).settings.oidc_providers)
    return services.oidc


def _provider(state: State, name: str) -> OIDCProvider:
    provider = registry_of(state).get(name)
    if provider is None:
        raise NotFound(N_("This sign-in method is not available."))
    return provider


def _redirect_uri(state: State, name: str) -> str:
    return str(runtime_of(state).settings.base_url).rstrip("/") + f"/oidc/{name}/callback"


def _flow_key(flow_id: str) -> str:
    return "oidc-flow:" + state_digest(flow_id)


def _logout_key(session_token: str) -> str:
    return "oidc-logout:" + state_digest(session_token)


def refused(
    message: str = N_("The sign-in could not be verified. Please start again."),
) -> DomainError:
    return DomainError(message, code="oidc_refused")


async def provider_logout_url(state: State, session_token: str | None) -> str | None:
    """Where to send the browser after ending a session made by OIDC sign-in (None: nowhere)."""
    if not session_token:
        return None
    redis = runtime_of(state).queue.pool
    raw = await redis.getdel(_logout_key(session_token))
    if raw is None:
        return None
    data = json.loads(raw)
    provider = registry_of(state).get(data.get("provider", ""))
    if provider is None:
        return None
    return await provider.end_session_url(
        id_token_hint=data.get("id_token"),
        post_logout_redirect_uri=runtime_of(state).settings.base_url.rstrip("/") + "/",
    )


class OIDCViews(Controller):
    path = "/oidc"
    include_in_schema = False

    @get("/signin", name="oidc_signin")
    async def choose(
        self,
        request: Request[Any, Any, Any],
        state: State,
        next_: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Template:
        providers = [p.settings for p in registry_of(state).all()]
        return page(
            request, "oidc/signin.html", providers=providers, next=safe_next(next_, default="")
        )

    @get("/{name:str}/start", name="oidc_start")
    async def start(
        self,
        request: Request[Any, Any, Any],
        state: State,
        name: FromPath[str],
        next_: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Redirect:
        await check_signin_ip(request)
        provider = _provider(state, name)
        flow_id = secrets.token_urlsafe(32)
        flow = {
            "provider": name,
            "state": secrets.token_urlsafe(32),
            "nonce": secrets.token_urlsafe(32),
            "verifier": new_pkce_verifier(),
            "next": safe_next(next_, default=""),
        }
        try:
            url = await provider.authorization_url(
                redirect_uri=_redirect_uri(state, name),
                state=flow["state"],
                nonce=flow["nonce"],
                code_verifier=flow["verifier"],
            )
        except OIDCError as exc:
            log.warning("OIDC provider %s unavailable: %s", name, exc)
            raise refused(
                N_("The identity provider cannot be reached. Please try again later.")
            ) from exc
        await runtime_of(state).queue.pool.set(_flow_key(flow_id), json.dumps(flow), ex=FLOW_TTL)
        cookie = Cookie(
            key=FLOW_COOKIE,
            value=flow_id,
            path="/oidc",
            httponly=True,
            samesite="lax",
            secure=runtime_of(state).settings.cookies_secure,
            max_age=FLOW_TTL,
        )
        return Redirect(url, status_code=303, cookies=[cookie])

    @get("/{name:str}/callback", name="oidc_callback")
    async def callback(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        name: FromPath[str],
    ) -> Template | Redirect:
        await check_signin_ip(request)
        provider = _provider(state, name)
        flow_id = request.cookies.get(FLOW_COOKIE)
        raw = await runtime_of(state).queue.pool.getdel(_flow_key(flow_id)) if flow_id else None
        if raw is None:
            raise refused(N_("This sign-in has expired or was used already. Please start again."))
        flow = json.loads(raw)
        params = request.query_params
        got_state = params.get("state") or ""
        if flow["provider"] != name or not hmac.compare_digest(
            got_state.encode(), flow["state"].encode()
        ):
            raise refused()
        if params.get("error"):
            raise refused(N_("The identity provider did not sign you in. Please try again."))
        iss = params.get("iss")
        if iss is not None and iss != provider.settings.issuer:  # RFC 9207 mix-up defence
            raise refused()
        code = params.get("code")
        if not code:
            raise refused()
        try:
            id_token = await provider.exchange_code(
                code=code, redirect_uri=_redirect_uri(state, name), code_verifier=flow["verifier"]
            )
            identity = await provider.verify_id_token(id_token, nonce=flow["nonce"])
        except OIDCError as exc:
            log.warning("OIDC sign-in via %s refused: %s", name, exc)
            raise refused() from exc
        user = await service.sign_in(db, provider.settings, identity)
        clear = Cookie(key=FLOW_COOKIE, value="", path="/oidc", max_age=0)
        if user.status == UserStatus.PENDING:
            return page(
                request,
                "oidc/pending.html",
                provider=provider.settings,
                display_name=user.display_name,
            )
        if user.status != UserStatus.ACTIVE:
            return page(
                request,
                "oidc/pending.html",
                status_code=403,
                provider=provider.settings,
                display_name=user.display_name,
                disabled=True,
            )
        sessions = runtime_of(state).services.sessions
        await sessions.destroy(request.cookies.get(SESSION_COOKIE))
        csrf = new_csrf_token(state)
        token = await sessions.create(user.id, via=f"oidc:{name}", csrf=csrf)
        await runtime_of(state).queue.pool.set(
            _logout_key(token),
            json.dumps({"provider": name, "id_token": id_token}),
            ex=runtime_of(state).settings.session_absolute_hours * 3600,
        )
        # no ``next``: the start page of the user's role (backend/web/landing.py)
        target = flow["next"] or landing_for(await accounts_service.load_current_user(db, user.id))
        return Redirect(
            target,
            status_code=303,
            cookies=[session_cookie(state, token), csrf_cookie(state, csrf), clear],
        )

    @post("/signout", name="oidc_signout")
    async def signout(self, request: Request[Any, Any, Any], state: State) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        target = await provider_logout_url(state, token)
        await runtime_of(state).services.sessions.destroy(token)
        return Redirect(
            target or "/",
            status_code=303,
            cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")],
        )


class PendingUserViews(Controller):
    """Approval of accounts created by OIDC sign-in."""

    include_in_schema = False

    @get("/admin/users/pending", name="admin_pending_users", guards=[roles_required(Role.ADMIN)])
    async def admin_list(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        pager = Page(number=page_no, size=20)
        rows, total = await service.pending_users(
            db, issuers=None, offset=pager.offset, limit=pager.size
        )
        return page(
            request,
            "oidc/pending_users.html",
            fragment="oidc/_pending_users.html",
            rows=rows,
            pager=pager.with_total(total),
            providers=_by_issuer(state),
            base_url="/admin/users/pending",
            action_base="/admin/users",
            org_id=None,
        )

    @post("/admin/users/{user_id:uuid}/review", guards=[roles_required(Role.ADMIN)])
    async def admin_review(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        user_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Redirect:
        await service.review(
            db,
            require_user(request),
            runtime_of(state).settings.oidc_providers,
            user_id,
            approve=data.get("decision") == "approve",
        )
        return Redirect("/admin/users/pending", status_code=303)

    @get(
        "/organizations/{org_id:uuid}/pending-users",
        name="org_pending_users",
        guards=[login_required],
    )
    async def org_list(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        org_id: FromPath[uuid.UUID],
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        service.check_org_reviewer(require_user(request), org_id)
        issuers = [
            p.issuer
            for p in runtime_of(state).settings.oidc_providers
            if p.organization_id and uuid.UUID(p.organization_id) == org_id
        ]
        pager = Page(number=page_no, size=20)
        rows, total = await service.pending_users(
            db, issuers=issuers, offset=pager.offset, limit=pager.size
        )
        base = f"/organizations/{org_id}/pending-users"
        return page(
            request,
            "oidc/pending_users.html",
            fragment="oidc/_pending_users.html",
            rows=rows,
            pager=pager.with_total(total),
            providers=_by_issuer(state),
            base_url=base,
            action_base=base,
            org_id=org_id,
        )

    @post(
        "/organizations/{org_id:uuid}/pending-users/{user_id:uuid}/review", guards=[login_required]
    )
    async def org_review(
        self,
        *,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        org_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Redirect:
        await service.review(
            db,
            require_user(request),
            runtime_of(state).settings.oidc_providers,
            user_id,
            approve=data.get("decision") == "approve",
            org_id=org_id,
        )
        return Redirect(f"/organizations/{org_id}/pending-users", status_code=303)


def _by_issuer(state: State) -> dict[str, Any]:
    return {p.issuer: p for p in runtime_of(state).settings.oidc_providers}
