"""Session authentication middleware, locale selection, and guards.

Guards check role on every route; region and organization checks happen in the services,
which answer 404 for what the user may not see (docs/development.md, "Errors").
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.core.i18n import DEFAULT_LOCALE, default_locale, negotiate, normalize_locale
from backend.core.runtime import runtime_of
from backend.core.sessions import SESSION_COOKIE

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
        if token:
            data = await runtime.services.sessions.get(token)
            if data is not None:
                async with runtime.sessionmaker() as session:
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
