"""Session authentication middleware, locale selection, and guards.

Guards check role on every route; region and organization checks happen in the services,
which answer 404 for what the user may not see (docs/development.md, "Errors").
"""

from __future__ import annotations

from contextvars import ContextVar
from secrets import compare_digest
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.csrf import generate_csrf_token

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.core.i18n import DEFAULT_LOCALE, default_locale, negotiate, normalize_locale
from backend.core.keys import get_keys
from backend.core.runtime import runtime_of
from backend.core.sessions import RESOLVED_AUTH, SESSION_COOKIE, SessionData, csrf_hash

LANG_COOKIE = "tx_lang"
current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        from backend.accounts.service import load_current_user

        runtime = runtime_of(connection.app.state)
        token = connection.cookies.get(SESSION_COOKIE)
        user: CurrentUser | None = None
        resolved = connection.scope.get("state", {}).get(RESOLVED_AUTH)
        if token and resolved is not None and resolved[0] == token:
            user = resolved[1]  # by the page cache in front of the router (GET: no CSRF check)
        elif token:
            data = await runtime.services.sessions.get(token)
            if data is not None:
                check_csrf_binding(connection, data)
                async with runtime.reader() as session:  # one statement, no transaction
                    user = await load_current_user(session, data.user_id)
        locale = (
            normalize_locale(connection.cookies.get(LANG_COOKIE))
            or (user.locale if user else None)
            or negotiate(
                connection.headers.get("accept-language"),
                default=default_locale(runtime.settings),
            )
        )
        connection.scope.setdefault("state", {})["locale"] = locale
        current_locale.set(locale)
        return AuthenticationResult(user=user, auth=token if user else None)


CSRF_COOKIE = "tx_csrf"
CSRF_EXEMPT_PREFIXES = ("/webhooks", "/oauth", "/api/v1/partner", "/healthz")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def check_csrf_binding(connection: ASGIConnection[Any, Any, Any, Any], data: SessionData) -> None:
    """A session issued at sign-in carries the hash of the CSRF token issued with it: a change
    made with another CSRF cookie (planted before sign-in, or from another session) is refused.
    Litestar's CSRF middleware then checks that the form or header token equals the cookie."""
    if data.csrf_hash is None or connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    if connection.scope["path"].startswith(CSRF_EXEMPT_PREFIXES):
        return
    cookie = connection.cookies.get(CSRF_COOKIE) or ""
    if not compare_digest(csrf_hash(cookie), data.csrf_hash):
        raise PermissionDeniedException(detail="CSRF token does not belong to this session")


def new_csrf_token(state: Any) -> str:
    """A fresh CSRF token (Litestar's format, signed with the app's CSRF secret)."""
    return generate_csrf_token(get_keys().session.hex())


def csrf_cookie(state: Any, token: str) -> Cookie:
    return Cookie(
        key=CSRF_COOKIE,
        value=token,
        path="/",
        samesite="lax",
        secure=runtime_of(state).settings.cookies_secure,
    )


def user_of(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
    user = connection.scope.get("user")
    return user if isinstance(user, CurrentUser) else None


def login_required(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if user_of(connection) is None:
        raise NotAuthorizedException()


def roles_required(*roles: Role) -> Any:
    """Guard: signed in and holding one of ``roles`` (admins pass every role guard)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = user_of(connection)
        if user is None:
            raise NotAuthorizedException()
        if not (user.is_admin or user.has_role(*roles)):
            raise PermissionDeniedException()

    guard.__name__ = "requires_" + "_or_".join(r.value for r in roles)
    return guard


def org_member_required(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    user = user_of(connection)
    if user is None:
        raise NotAuthorizedException()
    if not user.approved_org_ids():
        raise PermissionDeniedException()


def require_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """For handlers behind a login guard: the user, typed."""
    user = user_of(connection)
    if user is None:
        raise NotAuthorizedException()
    return user
