"""Rate limits of the partner API, the token endpoint and sign-in (password and OIDC).

Fixed windows in Redis (``backend.core.ratelimit.RateLimit``); exceeding one raises
``RateLimited`` (429 with ``Retry-After``). The limits are module constants so a test can lower
them; per IP they are generous because offices and campuses share addresses.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from backend.core.errors import RateLimited
from backend.core.i18n import N_
from backend.core.ratelimit import RateLimit
from backend.core.runtime import runtime_of

WINDOW = 60
LIMITS = {
    "api_client": 120,  # partner API calls per client per minute
    "api_ip": 300,  # partner API calls per IP per minute (all clients together)
    "token_ip": 100,  # token requests per IP per minute
    "signin_ip": 60,  # sign-in attempts (password and OIDC) per IP per minute
}


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def check(request: Request[Any, Any, Any], name: str, subject: str) -> None:
    """Count one hit of ``subject`` against the limit ``name``; raise 429 when over it."""
    runtime = runtime_of(request.app.state)
    limit = RateLimit(runtime.queue.pool, name, LIMITS[name], WINDOW)
    if wait := await limit.hit(subject):
        raise RateLimited(
            N_("Too many requests. Try again in {seconds} seconds."), retry_after=wait, seconds=wait
        )


async def check_signin_ip(request: Request[Any, Any, Any]) -> None:
    await check(request, "signin_ip", client_ip(request))
