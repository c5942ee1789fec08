"""Anonymous public pages served from Redis, invalidated by the outbox events that change them.

What is cached: GET requests without a session cookie to the public pages in :data:`ROUTES`
(needs list with any filters, need detail, projects list and page, resource and task lists
and pages, and the same lists of the JSON API), answered 200 by the app. The key holds the
path, the sorted query, the inputs of the locale (language cookie, Accept-Language), whether
it is an htmx request, and the current **generation** of each area the page shows.

Invalidation: every outbox event bumps the generation of the areas its topic touches
(:data:`TOPIC_AREAS`; an unknown topic bumps them all), after the job's transaction commits.
A page rendered before the bump was stored under the old generation, which no request asks
for any more: no page is stale once the event's job has run. Entries also expire after
:data:`TTL` seconds.

Browsers: cached pages carry an ``ETag`` (hash of the body) and ``Cache-Control: public,
no-cache`` (revalidate every time; a matching ``If-None-Match`` gets 304). Every response to a
signed-in request gets ``Cache-Control: private, no-store`` unless its handler chose one.

The CSRF token that pages embed (``hx-headers``, forms) is per browser: it is stored as a
placeholder and filled in on every hit with the browser's own token (a new one, with its
cookie, when the browser has none), exactly as Litestar's CSRF middleware would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware.csrf import generate_csrf_token
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)
from litestar.utils.scope.state import ScopeState

from backend.core.db import add_after_commit
from backend.core.events import HandlerContext, subscribe
from backend.core.security import LANG_COOKIE
from backend.core.sessions import SESSION_COOKIE

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from backend.core.runtime import Runtime
    from backend.outbox.models import OutboxEvent

log = logging.getLogger(__name__)

TTL = 300  # default of settings.public_cache_seconds
PREFIX = "pc"
AREAS = ("needs", "projects", "resources", "tasks")
_UUID = r"[0-9a-fA-F-]{36}"
ROUTES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), areas)
    for pattern, areas in (
        (r"^/needs/?$", ("needs",)),
        (rf"^/needs/{_UUID}$", ("needs",)),
        (r"^/api/v1/needs/?$", ("needs",)),
        (rf"^/api/v1/needs/{_UUID}$", ("needs",)),
        (r"^/projects/?$", ("projects",)),
        (rf"^/projects/{_UUID}$", ("projects", "needs")),
        (r"^/api/v1/projects/?$", ("projects",)),
        (rf"^/api/v1/projects/{_UUID}$", ("projects", "needs")),
        (r"^/resources/?$", ("resources",)),
        (rf"^/resources/{_UUID}$", ("resources",)),
        (r"^/api/v1/resources/?$", ("resources",)),
        (r"^/tasks/?$", ("tasks",)),
        (rf"^/tasks/{_UUID}$", ("tasks",)),
        (r"^/api/v1/tasks/?$", ("tasks",)),
    )
)
# topic prefix → the areas whose pages its changes can show up on
TOPIC_AREAS: dict[str, tuple[str, ...]] = {
    "need": ("needs", "projects"),
    "household": ("needs", "projects"),  # consent, verification: needs hidden or shown again
    "claim": ("needs", "resources"),
    "match": ("needs", "resources"),
    "fulfilment": ("needs", "projects"),
    "delivery": ("needs", "projects"),
    "feedback": ("needs",),
    "project": ("projects",),
    "donation": ("projects",),
    "ledger": ("projects",),
    "disbursement": ("projects",),
    "resource": ("resources",),
    "task": ("tasks",),
    "signup": ("tasks",),
    "slot": ("tasks",),
    "hours": ("tasks",),
}
_KEPT_HEADERS = {"content-type", "content-language", "vary", "x-content-type-options"}
PLACEHOLDER = b"\x00tx-csrf\x00"


def areas_for_topic(topic: str) -> tuple[str, ...]:
    return TOPIC_AREAS.get(topic.split(".", 1)[0], AREAS)


def route_areas(path: str) -> tuple[str, ...] | None:
    for pattern, areas in ROUTES:
        if pattern.match(path):
            return areas
    return None


@dataclass
class PublicCache:
    """Entries and generations in Redis (shared by every app process and worker)."""

    redis: Redis
    ttl: int = TTL
    # one namespace per job queue: the app and its workers share it; parallel test sessions
    # (each with its own queue on one Redis) do not see each other's generations
    prefix: str = PREFIX
    # the hottest entries also in this process: a key holds the generations, so a hit here is
    # as fresh as one from Redis and saves a round trip (the generations are always read)
    local: OrderedDict[str, tuple[float, dict[str, Any]]] = field(default_factory=OrderedDict)
    local_size: int = 256

    async def generations(self, areas: Iterable[str]) -> list[str]:
        values = await self.redis.mget([f"{self.prefix}:gen:{a}" for a in areas])
        return [v.decode() if isinstance(v, bytes) else str(v or 0) for v in values]

    async def bump(self, areas: Iterable[str]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for area in areas:
            pipe.incr(f"{self.prefix}:gen:{area}")
        await pipe.execute()

    async def get(self, key: str) -> dict[str, Any] | None:
        local = self.local.get(key)
        if local is not None and local[0] > time.monotonic():
            self.local.move_to_end(key)
            return local[1]
        raw = await self.redis.get(key)
        if raw is None:
            return None
        head, _, body = raw.partition(b"\n")
        entry: dict[str, Any] = json.loads(head)
        entry["body"] = body
        self._remember(key, entry)
        return entry

    async def put(self, key: str, headers: list[tuple[str, str]], body: bytes) -> None:
        head = json.dumps({"headers": headers}).encode()
        await self.redis.set(key, head + b"\n" + body, ex=self.ttl)
        self._remember(key, {"headers": headers, "body": body})

    def _remember(self, key: str, entry: dict[str, Any]) -> None:
        self.local[key] = (time.monotonic() + self.ttl, entry)
        self.local.move_to_end(key)
        while len(self.local) > self.local_size:
            self.local.popitem(last=False)


def public_cache_of(runtime: Runtime) -> PublicCache:
    """The process's cache (built by ``backend.wiring.start_services``)."""
    return PublicCache(
        runtime.queue.pool,
        runtime.settings.public_cache_seconds,
        f"{PREFIX}:{runtime.queue.queue_name}",
    )


@subscribe("*")
async def invalidate(ctx: HandlerContext, event: OutboxEvent) -> None:
    """Bump the generations of the areas this event touches, once the job's work committed."""
    cache: PublicCache | None = ctx.services.public_cache if ctx.services else None
    if cache is None:
        return
    areas = areas_for_topic(event.topic)

    async def bump(_session: Any) -> None:
        try:
            await cache.bump(areas)
        except Exception:  # Redis down: entries expire after TTL; the page is served fresh
            log.warning("public cache: could not invalidate %s", areas, exc_info=True)

    add_after_commit(ctx.session, bump)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _cookies(scope: Scope) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in _header(scope, b"cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            cookies[name] = value
    return cookies


def _method(scope: Scope) -> str:
    return str(cast("dict[str, Any]", scope).get("method", ""))


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


class PublicCacheMiddleware:
    """ASGI middleware in front of the app (see the module docstring)."""

    def __init__(self, app: ASGIApp, csrf: CSRFConfig) -> None:
        self.app = app
        self.csrf = csrf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = _method(scope)
        cookies = _cookies(scope)
        if SESSION_COOKIE in cookies:
            await self.app(scope, receive, _private(send))
            return
        areas = route_areas(scope["path"]) if method in ("GET", "HEAD") else None
        runtime = getattr(scope["app"].state, "runtime", None) if areas else None
        cache: PublicCache | None = runtime.services.public_cache if runtime else None
        if areas is None or cache is None or cache.ttl <= 0:
            await self.app(scope, receive, send)
            return
        try:
            generations = await cache.generations(areas)
        except Exception:
            log.warning("public cache unavailable", exc_info=True)
            await self.app(scope, receive, send)
            return
        query = "&".join(sorted(scope.get("query_string", b"").decode("latin-1").split("&")))
        key = ":".join(
            (
                cache.prefix,
                "page",
                ".".join(generations),
                cookies.get(LANG_COOKIE, ""),
                hashlib.blake2b(_header(scope, b"accept-language").encode()).hexdigest()[:12],
                "hx" if _header(scope, b"hx-request") else "",
                scope["path"] + "?" + query,
            )
        )
        entry = await cache.get(key)
        if entry is not None:
            await self._serve(scope, send, entry, cookies)
            return
        await self.app(scope, receive, self._recorder(scope, send, cache, key))

    async def _serve(
        self, scope: Scope, send: Send, entry: dict[str, Any], cookies: dict[str, str]
    ) -> None:
        body: bytes = entry["body"]
        etag = etag_of(body)
        headers = [(k.encode(), v.encode()) for k, v in entry["headers"]]
        headers += [(b"etag", etag.encode()), (b"cache-control", b"public, no-cache")]
        if PLACEHOLDER in body:
            token = cookies.get(self.csrf.cookie_name)
            if not token:
                token = generate_csrf_token(secret=self.csrf.secret)
                cookie = Cookie(
                    key=self.csrf.cookie_name,
                    value=token,
                    path=self.csrf.cookie_path,
                    secure=self.csrf.cookie_secure,
                    httponly=self.csrf.cookie_httponly,
                    samesite=self.csrf.cookie_samesite,
                    domain=self.csrf.cookie_domain,
                )
                headers.append((b"set-cookie", cookie.to_header(header="").encode()))
            body = body.replace(PLACEHOLDER, token.encode())
        status = 304 if _header(scope, b"if-none-match") == etag else 200
        if status == 304 or _method(scope) == "HEAD":
            body = b""
        else:
            headers.append((b"content-length", str(len(body)).encode()))
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": headers,
        }
        await send(start)
        end: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": body,
            "more_body": False,
        }
        await send(end)

    def _recorder(self, scope: Scope, send: Send, cache: PublicCache, key: str) -> Send:
        state: dict[str, Any] = {"status": 0, "headers": [], "chunks": []}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["headers"] = list(message.get("headers", ()))
                chosen = any(k.lower() == b"cache-control" for k, _ in state["headers"])
                if state["status"] == 200 and not chosen:
                    message["headers"] = [
                        *state["headers"],
                        (b"cache-control", b"public, no-cache"),
                    ]
            elif message["type"] == "http.response.body" and state["status"] == 200:
                state["chunks"].append(message.get("body", b""))
                if not message.get("more_body") and _method(scope) == "GET":
                    await self._store(scope, cache, key, state)
            await send(message)

        return recording_send

    async def _store(
        self, scope: Scope, cache: PublicCache, key: str, state: dict[str, Any]
    ) -> None:
        headers = [(k.decode().lower(), v.decode("latin-1")) for k, v in state["headers"]]
        if any(k == "cache-control" for k, _ in headers):
            return  # the handler decided about caching itself
        if any(
            k == "set-cookie" and not v.startswith(self.csrf.cookie_name + "=") for k, v in headers
        ):
            return  # a cookie for this browser only (e.g. a message): not for everyone
        body = b"".join(state["chunks"])
        token = ScopeState.from_scope(scope).csrf_token
        if isinstance(token, str) and token:
            body = body.replace(token.encode(), PLACEHOLDER)
        kept = [(k, v) for k, v in headers if k in _KEPT_HEADERS]
        try:
            await cache.put(key, kept, body)
        except Exception:
            log.warning("public cache: could not store %s", key, exc_info=True)


def _private(send: Send) -> Send:
    """Signed-in responses never go to shared caches."""

    async def private_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if not any(k.lower() == b"cache-control" for k, _ in headers):
                message["headers"] = [*headers, (b"cache-control", b"private, no-store")]
        await send(message)

    return private_send
