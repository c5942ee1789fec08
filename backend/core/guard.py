"""Input guard on every request: NUL and other control characters in the path or the query
string, and over-long query strings, are refused with 422 before any handler runs (the
handlers' own typed bounds then check each parameter; see :mod:`backend.core.bounds`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import Invalid
from backend.core.i18n import N_

QUERY_MAX = 4096  # characters of the raw query string
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def bad_parameter(path: str, query: str) -> str | None:
    """The name of the first part that is refused (``"path"``, ``"query"`` or a parameter)."""
    if _CONTROL.search(unquote(path)):
        return "path"
    if len(query) > QUERY_MAX:
        return "query"
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return "query"
    for key, value in pairs:
        if _CONTROL.search(key) or _CONTROL.search(value):
            return key[:64] if not _CONTROL.search(key) else "query"
    return None


class InputGuardMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        raw: Any = scope.get("query_string", b"")
        query = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
        bad = bad_parameter(scope.get("raw_path", b"").decode("latin-1") or scope["path"], query)
        if bad is not None:
            raise Invalid(
                N_("The address contains characters that are not allowed."),
                code="control_chars",
                fields={bad: "control_chars"},
            )
        await next_app(scope, receive, send)
