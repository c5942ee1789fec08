"""Security headers on every response (issue 15 point 3), set in one ``before_send`` hook so
that error pages, 404s and static files get them too.

* ``Content-Security-Policy``: only this origin; scripts and styles from our own files, inline
  ones only with the request's nonce (``csp_nonce()`` in templates); no plugins, no framing
  (``frame-ancestors 'none'``), forms post only here.
* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``,
  ``X-Frame-Options: DENY`` (for old browsers), ``Permissions-Policy`` (camera only for the
  幸福码 scan on this origin).
* ``Strict-Transport-Security`` when the configured base URL is https.
* ``Cache-Control: no-store`` on every response to a signed-in user (session or household
  cookie) except static files, so that after signing out the Back button shows nothing
  personal; responses that set no Cache-Control of their own get ``no-store`` as well unless
  they are static files (public pages that want caching say so explicitly).
"""

from __future__ import annotations

import secrets
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from backend.core.sessions import SESSION_COOKIE

HOUSEHOLD_COOKIE = "tx_household"  # the 幸福码 self-service session (fulfilment.selfservice)
NONCE_KEY = "csp_nonce"
HSTS = "max-age=31536000; includeSubDomains"
STATIC_PREFIXES = ("/static/",)


def nonce_for(scope: Any) -> str:
    """The request's CSP nonce, made on first use (templates call it through ``csp_nonce()``)."""
    state = scope.setdefault("state", {})
    nonce = state.get(NONCE_KEY)
    if nonce is None:
        nonce = state[NONCE_KEY] = secrets.token_urlsafe(18)
    return str(nonce)


@pass_context
def csp_nonce(context: Context) -> str:
    request = context.get("request")
    return nonce_for(request.scope) if request is not None else ""


def content_security_policy(nonce: str | None, form_origins: tuple[str, ...] = ()) -> str:
    """``form_origins``: where a form's POST may be redirected besides this site (the OpenID
    providers' sign-in and sign-out pages, Stripe Checkout): browsers apply form-action to the
    redirect as well."""
    with_nonce = f" 'nonce-{nonce}'" if nonce else ""
    form_action = " ".join(("'self'", *form_origins))
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self'{with_nonce}",
            f"style-src 'self'{with_nonce}",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "connect-src 'self'",
            "media-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        ]
    )


def _signed_in(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            text = value.decode("latin-1")
            if f"{SESSION_COOKIE}=" in text or f"{HOUSEHOLD_COOKIE}=" in text:
                return True
    return scope.get("user") is not None


def make_security_headers(*, https: bool, form_origins: tuple[str, ...] = ()) -> Any:
    async def security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders(message)
        nonce = scope.get("state", {}).get(NONCE_KEY)
        headers["Content-Security-Policy"] = content_security_policy(nonce, form_origins)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Permissions-Policy"] = "camera=(self), geolocation=(), microphone=()"
        if https:
            headers["Strict-Transport-Security"] = HSTS
        path = str(scope.get("path", ""))
        if path.startswith(STATIC_PREFIXES):
            return
        if _signed_in(scope) or "cache-control" not in headers:
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"

    return security_headers
