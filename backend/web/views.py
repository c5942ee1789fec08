"""Home page, language switch, and /healthz."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.response import Redirect, Template
from sqlalchemy import text

from backend.core.http import Form
from backend.core.i18n import LOCALES
from backend.core.runtime import runtime_of
from backend.core.security import LANG_COOKIE
from backend.core.templating import page


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths; never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


class SiteController(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "home/index.html")

    @post("/lang", name="set_language")
    async def set_language(self, data: Form) -> Redirect:
        locale = data.get("locale", "")
        target = safe_next(data.get("next"))
        if locale not in LOCALES:
            return Redirect(target, status_code=303)
        return Redirect(
            target,
            status_code=303,
            cookies=[
                Cookie(
                    key=LANG_COOKIE,
                    value=locale,
                    max_age=365 * 24 * 3600,
                    samesite="lax",
                    httponly=True,
                )
            ],
        )


@get("/healthz", include_in_schema=True, tags=["ops"], summary="Database and Redis state")
async def healthz(state: State) -> Response[dict[str, Any]]:
    runtime = runtime_of(state)

    async def database() -> str:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return "ok"

    async def redis() -> str:
        await runtime.queue.pool.ping()
        return "ok"

    results: dict[str, str] = {}
    for name, probe in (("database", database), ("redis", redis)):
        try:
            results[name] = await asyncio.wait_for(probe(), timeout=3)
        except Exception as exc:  # report, don't raise: this is the health endpoint
            results[name] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in results.values())
    return Response(
        {"status": "ok" if healthy else "degraded", **results}, status_code=200 if healthy else 503
    )
