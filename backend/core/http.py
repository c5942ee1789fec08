"""Request plumbing: the request's transaction (committed only for a success response), the
form-error helper, and error responses."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from backend.core.db import run_after_commit
from backend.core.errors import DomainError, RateLimited
from backend.core.i18n import DEFAULT_LOCALE, N_, default_locale, negotiate, normalize_locale
from backend.core.runtime import runtime_of
from backend.core.security import LANG_COOKIE, current_locale, user_of
from backend.core.templating import page, translate

log = logging.getLogger("tongxin.http")

# The request's database session (see provide_db), as handlers declare it: ``db: DB``.
DB = NamedDependency[AsyncSession]

# An HTML form body (application/x-www-form-urlencoded), as a dict of strings.
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


@dataclass
class _Outcome:
    """The status of the response a request's handler produced (see record_outcome)."""

    status: int | None = None


_outcome: ContextVar[_Outcome | None] = ContextVar("tongxin_response_outcome", default=None)


def outcome_middleware(app: ASGIApp) -> ASGIApp:
    """Give every HTTP request a fresh place to record its response's status."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        token = _outcome.set(_Outcome())
        try:
            await app(scope, receive, send)
        finally:
            _outcome.reset(token)

    return middleware


async def record_outcome(response: Any) -> Any:
    """The app's ``after_request`` hook: note the status the handler's response will have.

    It runs after the handler returned and before the request's dependencies are cleaned up,
    so provide_db sees the status before it decides to commit.
    """
    outcome = _outcome.get()
    if outcome is not None:
        outcome.status = getattr(response, "status_code", None) or HTTP_200_OK
    return response


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request, decided by the response: status < 400 commits, anything
    else (an error page, a form re-rendered with its errors, an exception) rolls back.

    The commit happens after the handler, before the response is sent; work registered with
    ``add_after_commit`` runs only after a commit. Work that must persist although the response
    is an error (the audit row of a refused partner call) uses its own
    ``runtime.transaction()``.
    """
    runtime = runtime_of(state)
    outcome = _outcome.get()
    if outcome is None:
        raise RuntimeError("provide_db needs outcome_middleware (backend.app.create_app adds it)")
    async with runtime.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            session.info.pop("after_commit", None)
            raise
        if outcome.status is None:
            await session.rollback()
            session.info.pop("after_commit", None)
            raise RuntimeError(
                "the response status was not recorded: a handler-level after_request hook "
                "replaced backend.core.http.record_outcome; call it from that hook"
            )
        if outcome.status >= HTTP_400_BAD_REQUEST:
            await session.rollback()
            session.info.pop("after_commit", None)
            return
        await session.commit()
        await run_after_commit(session)


def form_error(
    request: Request[Any, Any, Any],
    template: str,
    exc: DomainError,
    *,
    form: Mapping[str, Any] | None = None,
    **context: Any,
) -> Template:
    """Re-render a form page with the domain error's message and field errors.

    The response carries the error's status (422, 409, 403...), so the request's transaction
    rolls back on its own. ``context`` is whatever else the page needs.
    """
    if form is not None:
        context["form"] = dict(form)
    return page(request, template, status_code=exc.status_code, **error_context(exc), **context)


def error_context(exc: DomainError) -> dict[str, Any]:
    """The template variables of a form error: ``error`` (translated) and ``fields``."""
    return {"error": translate(exc.message, **exc.params), "fields": getattr(exc, "fields", {})}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/oauth/", "/webhooks/", "/healthz")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


TITLES = {
    400: N_("Bad request"),
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    409: N_("Conflict"),
    422: N_("Please check your input"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
}
DEFAULT_MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("You do not have permission to do this."),
    404: N_("The page you asked for does not exist, or you may not see it."),
    405: N_("This action is not available here."),
    409: N_("This changed in the meantime. Reload the page and try again."),
    422: N_("Some of what you entered is not valid."),
    429: N_("Too many attempts. Please wait and try again."),
    500: N_(
        "An unexpected error happened on our side. It has been logged; please try again later."
    ),
}


def error_response(
    request: Request[Any, Any, Any],
    status: int,
    message: str,
    *,
    code: str = "error",
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    spans: list[dict[str, Any]] | None = None,
) -> Response[Any]:
    _ensure_locale(request)
    if _wants_json(request):
        body: dict[str, Any] = {"error": code, "message": message, "status": status}
        if fields:
            body["fields"] = {name: str(value) for name, value in fields.items()}
        if spans:
            body["spans"] = spans  # personal data found: each span (field, kind, start, end)
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)
    return Template(
        template_name="errors/error.html",
        context={
            "status_code": status,
            "title": translate(TITLES.get(status, TITLES[400])),
            "message": message,
            "current_user": user_of(request),
            "locale": current_locale.get(),
            "path": request.url.path,
            "query": "",
        },
        status_code=status,
        headers=headers,
    )


def _ensure_locale(request: Request[Any, Any, Any]) -> None:
    """Unmatched routes never reach the auth middleware: pick the locale from the request here."""
    if "locale" in request.scope.get("state", {}):
        return
    runtime = getattr(request.app.state, "runtime", None)
    default = default_locale(runtime.settings) if runtime is not None else DEFAULT_LOCALE
    locale = normalize_locale(request.cookies.get(LANG_COOKIE)) or negotiate(
        request.headers.get("accept-language"), default=default
    )
    request.scope.setdefault("state", {})["locale"] = locale
    current_locale.set(locale)


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    _ensure_locale(request)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    fields = getattr(exc, "fields", None)
    return error_response(
        request,
        exc.status_code,
        translate(exc.message, **exc.params),
        code=exc.code,
        fields=fields,
        headers=headers,
        spans=getattr(exc, "spans", None),
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    _ensure_locale(request)
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException):
        if not _wants_json(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return Redirect(f"/signin?next={quote(target)}", status_code=303)
        return error_response(
            request,
            401,
            translate(TITLES[401]),
            code="unauthenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, ValidationException):
        return error_response(
            request,
            422,
            translate(DEFAULT_MESSAGES[422]),
            code="invalid",
            fields=_validation_fields(exc),
        )
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        return error_response(
            request,
            403,
            translate(N_("Your form expired. Go back, reload the page and submit it again.")),
            code="csrf",
        )
    message = translate(DEFAULT_MESSAGES.get(status, DEFAULT_MESSAGES[400]))
    return error_response(request, status, message, code=f"http_{status}", headers=exc.headers)


def _validation_fields(exc: ValidationException) -> dict[str, str]:
    """Litestar's validation details (body fields, query and path parameters) as field codes."""
    fields: dict[str, str] = {}
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("key"):
            key = str(item["key"]).removeprefix("$.")
            fields[key[:64]] = "invalid"
    return fields or {"request": "invalid"}


def _is_data_error(exc: DBAPIError) -> bool:
    """SQLSTATE class 22 (data exception) or a driver-side DataError anywhere in the chain."""
    if isinstance(exc, DataError):
        return True
    seen: BaseException | None = exc.orig
    for _ in range(4):
        if seen is None:
            return False
        if str(getattr(seen, "sqlstate", "") or "").startswith("22") or any(
            "DataError" in cls.__name__ for cls in type(seen).__mro__
        ):
            return True
        seen = seen.__cause__
    return False


def handle_data_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A value the database cannot store (NUL byte, integer out of range, over-long text) that
    slipped past the typed bounds: the request is bad input, never a server error."""
    if not _is_data_error(exc):
        return handle_unexpected(request, exc)
    log.info("refused a value the database cannot store on %s", request.url.path)
    return error_response(
        request,
        422,
        translate(DEFAULT_MESSAGES[422]),
        code="invalid",
        fields={"request": "invalid"},
    )


def handle_stale(request: Request[Any, Any, Any], exc: StaleDataError) -> Response[Any]:
    return error_response(request, 409, translate(DEFAULT_MESSAGES[409]), code="stale")


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _ensure_locale(request)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        translate(DEFAULT_MESSAGES[500]),
        code="server_error",
    )
