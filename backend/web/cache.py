"""Hot pages from memory: anonymous public pages (shared, in Redis and in each process) and the
signed-in caseworker list (per user, in this process's memory only).

**Public pages.** GET requests without a session cookie to the public pages in :data:`ROUTES`
(needs list with any filters, need detail, projects list and page, resource and task lists
and pages, and the same lists of the JSON API), answered 200 by the app. The key holds the
path, the sorted query, the inputs of the locale (language cookie, Accept-Language), whether
it is an htmx request (boosted, restoring history), and the current **generation** of each
area the page shows.

Invalidation: every outbox event bumps the generation of the areas its topic touches
(:data:`TOPIC_AREAS`; an unknown topic bumps them all), after the job's transaction commits.
A page rendered before the bump was stored under the old generation, which no request asks
for any more: no page is stale once the event's job has run. Entries also expire after
:data:`TTL` seconds.

Browsers: cached pages carry an ``ETag`` and ``Cache-Control: public, no-cache`` (revalidate
every time; a matching ``If-None-Match`` gets 304). Every response to a signed-in request gets
``Cache-Control: private, no-store`` unless its handler chose one.

The CSRF token that pages embed (``hx-headers``, forms) is per browser: it is stored as a
placeholder and filled in on every hit with the browser's own token (a new one, with its
cookie, when the browser has none), exactly as Litestar's CSRF middleware would.

**Signed-in pages** (:data:`PRIVATE_ROUTES`: the caseworker's household registry, an
organization's claimable needs). They show
personal data (masked names), so they are kept **in this process's memory only**
(:class:`PrivateCache`: LRU, bounded in entries and bytes, short TTL), never in Redis. The key
holds the resolved user itself (:class:`~backend.accounts.identity.CurrentUser`: id, locale,
every role with its region, every membership — a role or membership change is a new key), the
path and sorted query, the locale inputs, the htmx flag, and the generations of the areas the
page shows, twice: this process's own counters and the shared ones in Redis.

Read-your-writes: a transaction that wrote rows of those areas (ORM objects, bulk statements,
SQL text, outbox events: :func:`_note_flush`, :func:`_note_statement`) bumps this process's
counters synchronously at its commit, and the shared counters in Redis right after the commit
(before the response is sent), so the very next request — here or in another process — renders
afresh. Outbox jobs bump the shared counters too, for changes made by jobs.

**The hit path** runs in front of Litestar's router (:func:`install`): no routing, no
middleware, no database for a public hit (one Redis ``MGET`` of the generations), and for a
signed-in hit the session (one Redis command) and the user (one statement), which a miss hands
on to :class:`~backend.core.security.SessionAuthMiddleware` instead of resolving them twice.
The security headers (``before_send``) still apply to every answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, Any

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
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from backend.core.db import add_after_commit, queue_of
from backend.core.events import HandlerContext, subscribe
from backend.core.security import LANG_COOKIE
from backend.core.sessions import RESOLVED_AUTH, SESSION_COOKIE

if TYPE_CHECKING:
    from litestar import Litestar
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncSession

    from backend.accounts.identity import CurrentUser
    from backend.core.runtime import Runtime
    from backend.outbox.models import OutboxEvent

log = logging.getLogger(__name__)

TTL = 300  # default of settings.public_cache_seconds
PRIVATE_TTL = 120  # signed-in pages: at most this long (and never longer than TTL)
PRIVATE_ENTRIES = 2000
PRIVATE_BYTES = 64 * 1024 * 1024
PREFIX = "pc"
AREAS = ("needs", "projects", "resources", "tasks")
PRIVATE_AREAS = ("households", "identity")  # areas only signed-in pages show
IDENTITY = "identity"  # users, roles, memberships: the key of every signed-in entry
IDENTITY_TTL = 60.0  # a resolved user is kept at most this long (and while its generation holds)
IDENTITY_ENTRIES = 10_000
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
# signed-in pages kept per user in this process (see the module docstring)
PRIVATE_ROUTES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^/households/?$"), ("households", "needs")),
    # an organization's claimable needs (its service area comes with the identity area)
    (re.compile(rf"^/org/{_UUID}/needs/?$"), ("needs",)),
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
# topic prefix → the signed-in-only areas it touches (unknown topics touch none: the rows
# themselves are seen at commit, see TABLE_AREAS)
PRIVATE_TOPIC_AREAS: dict[str, tuple[str, ...]] = {
    "household": ("households",),
    "referral": ("households",),
    "visit": ("households",),
    "user": (IDENTITY,),
    "organization": (IDENTITY,),
}
# tables written → areas (read-your-writes at commit, in every process that commits)
TABLE_AREAS: dict[str, tuple[str, ...]] = {
    "households": ("households",),
    "household_name_tokens": ("households",),
    "verifications": ("households",),
    "assessments": ("households",),
    "consents": ("households",),
    "referrals": ("households",),
    "assistance_records": ("households",),
    "needs": ("needs",),
    "users": (IDENTITY,),
    "role_grants": (IDENTITY,),
    "memberships": (IDENTITY,),
    "organizations": (IDENTITY,),
}
_KEPT_HEADERS = {"content-type", "content-language", "vary", "x-content-type-options"}
PLACEHOLDER = b"\x00tx-csrf\x00"
_HX_HEADERS = {b"hx-request": "hx", b"hx-boosted": "b", b"hx-history-restore-request": "r"}


def areas_for_topic(topic: str) -> tuple[str, ...]:
    return TOPIC_AREAS.get(topic.split(".", 1)[0], AREAS)


def private_areas_for_topic(topic: str) -> tuple[str, ...]:
    return PRIVATE_TOPIC_AREAS.get(topic.split(".", 1)[0], ())


def route_areas(path: str) -> tuple[str, ...] | None:
    for pattern, areas in ROUTES:
        if pattern.match(path):
            return areas
    return None


def private_route_areas(path: str) -> tuple[str, ...] | None:
    for pattern, areas in PRIVATE_ROUTES:
        if pattern.match(path):
            return areas
    return None


# --- this process's generations, bumped at commit ------------------------------------------

_local_generations: dict[str, int] = {}
_CHANGED = "tx_cache_changed"  # session.info: areas written in the open transaction
_COMMITTED = "tx_cache_committed"  # session.info: areas of the last commit, for Redis
_WRITE = re.compile(r"^\s*(?:update|insert\s+into|delete\s+from)\s+\"?(\w+)", re.IGNORECASE)


def local_generations(areas: Iterable[str]) -> tuple[int, ...]:
    return tuple(_local_generations.get(a, 0) for a in areas)


def bump_local(areas: Iterable[str]) -> None:
    for area in areas:
        _local_generations[area] = _local_generations.get(area, 0) + 1


def _note(session: Session, areas: Iterable[str]) -> None:
    found = set(areas)
    if not found:
        return
    changed: set[str] = session.info.setdefault(_CHANGED, set())
    changed.update(found)
    if _bump_shared not in session.info.get("after_commit", ()):
        add_after_commit(session, _bump_shared)  # type: ignore[arg-type] # info is shared


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _flush: UOWTransaction) -> None:
    areas: list[str] = []
    for obj in chain(session.new, session.dirty, session.deleted):
        table = getattr(type(obj), "__tablename__", "")
        areas.extend(TABLE_AREAS.get(table, ()))
        if table == "outbox_events":
            topic = str(getattr(obj, "topic", ""))
            areas.extend(areas_for_topic(topic))
            areas.extend(private_areas_for_topic(topic))
    _note(session, areas)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table is None:  # SQL text: the table it writes, if any
        match = _WRITE.match(str(state.statement))
        table = match.group(1).lower() if match else None
    if table:
        _note(state.session, TABLE_AREAS.get(table, ()))


@event.listens_for(Session, "after_commit")
def _bump_at_commit(session: Session) -> None:
    """Synchronously at commit: this process's next request renders afresh."""
    changed: set[str] | None = session.info.pop(_CHANGED, None)
    if changed:
        bump_local(changed)
        session.info.setdefault(_COMMITTED, set()).update(changed)


async def _bump_shared(session: AsyncSession) -> None:
    """Right after the commit: the other processes' next request renders afresh."""
    areas: set[str] | None = session.info.pop(_COMMITTED, None)
    queue = queue_of(session)
    if not areas or queue is None:
        return
    try:
        await PublicCache(queue.pool, prefix=f"{PREFIX}:{queue.queue_name}").bump(sorted(areas))
    except Exception:  # Redis down: other processes' entries expire after their TTL
        log.warning("page cache: could not invalidate %s", areas, exc_info=True)


# --- the stores ------------------------------------------------------------------------------


@dataclass
class PrivateCache:
    """Signed-in pages in this process only: LRU with a cap on entries and bytes, and a TTL."""

    ttl: float = PRIVATE_TTL
    max_entries: int = PRIVATE_ENTRIES
    max_bytes: int = PRIVATE_BYTES
    entries: OrderedDict[tuple[Any, ...], tuple[float, list[tuple[bytes, bytes]], bytes]] = field(
        default_factory=OrderedDict
    )
    size: int = 0

    def get(self, key: tuple[Any, ...]) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._drop(key)
            return None
        self.entries.move_to_end(key)
        return entry[1], entry[2]

    def put(self, key: tuple[Any, ...], headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if len(body) > self.max_bytes // 8:
            return
        self._drop(key)
        self.entries[key] = (time.monotonic() + self.ttl, headers, body)
        self.size += len(body)
        while len(self.entries) > self.max_entries or self.size > self.max_bytes:
            oldest = next(iter(self.entries))
            self._drop(oldest)

    def _drop(self, key: tuple[Any, ...]) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.size -= len(entry[2])

    def clear(self) -> None:
        self.entries.clear()
        self.size = 0


@dataclass
class PublicEntry:
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str  # of the stored body (with the placeholder); a hit mixes in the browser's token
    expires: float = 0.0


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
    local: OrderedDict[tuple[Any, ...], PublicEntry] = field(default_factory=OrderedDict)
    local_size: int = 256
    private: PrivateCache = field(default_factory=PrivateCache)
    _batches: dict[tuple[Any, tuple[str, ...]], asyncio.Future[Any]] = field(
        default_factory=dict, repr=False
    )
    _reads: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    # signed-in users resolved by the hit path: user id → (expires, generations, user)
    identities: OrderedDict[uuid.UUID, tuple[float, tuple[Any, ...], CurrentUser]] = field(
        default_factory=OrderedDict
    )

    def __post_init__(self) -> None:
        self.private.ttl = min(float(PRIVATE_TTL), float(self.ttl))

    def gen_key(self, area: str) -> str:
        return f"{self.prefix}:gen:{area}"

    async def generations(self, areas: Iterable[str]) -> list[str]:
        values = await self.redis.mget([self.gen_key(a) for a in areas])
        return [v.decode() if isinstance(v, bytes) else str(v or 0) for v in values]

    async def current(self, areas: tuple[str, ...]) -> tuple[str, ...]:
        """The generations for a hit: requests that arrive in the same turn of the event loop
        share one ``MGET``, sent after every one of them arrived (so each read is as fresh as
        one of its own: a bump that completed before a request arrived is in its answer)."""
        loop = asyncio.get_running_loop()
        batch = self._batches.get((loop, areas))
        if batch is None:
            batch = self._batches[(loop, areas)] = loop.create_future()
            loop.call_soon(self._read_batch, loop, areas, batch)
        return await asyncio.shield(batch)

    def _read_batch(
        self, loop: asyncio.AbstractEventLoop, areas: tuple[str, ...], batch: asyncio.Future[Any]
    ) -> None:
        del self._batches[(loop, areas)]  # later arrivals start the next batch

        async def read() -> None:
            try:
                batch.set_result(tuple(await self.generations(areas)))
            except Exception as exc:
                batch.set_exception(exc)

        task = loop.create_task(read())
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)

    async def bump(self, areas: Iterable[str]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for area in areas:
            pipe.incr(self.gen_key(area))
        await pipe.execute()

    def redis_key(self, key: tuple[Any, ...]) -> str:
        path, query, lang, accept, hx, gens = key
        accept_hash = hashlib.blake2b(accept.encode("latin-1")).hexdigest()[:12]
        return ":".join(
            (self.prefix, "page", ".".join(gens), lang, accept_hash, hx, path + "?" + query)
        )

    async def get(self, key: tuple[Any, ...]) -> PublicEntry | None:
        local = self.local.get(key)
        if local is not None and local.expires > time.monotonic():
            self.local.move_to_end(key)
            return local
        raw = await self.redis.get(self.redis_key(key))
        if raw is None:
            return None
        head, _, body = raw.partition(b"\n")
        headers = [(k.encode(), v.encode()) for k, v in json.loads(head)["headers"]]
        entry = PublicEntry(headers, body, etag_of(body))
        self._remember(key, entry)
        return entry

    async def put(self, key: tuple[Any, ...], headers: list[tuple[str, str]], body: bytes) -> None:
        head = json.dumps({"headers": headers}).encode()
        await self.redis.set(self.redis_key(key), head + b"\n" + body, ex=self.ttl)
        encoded = [(k.encode(), v.encode()) for k, v in headers]
        self._remember(key, PublicEntry(encoded, body, etag_of(body)))

    def _remember(self, key: tuple[Any, ...], entry: PublicEntry) -> None:
        entry.expires = time.monotonic() + self.ttl
        self.local[key] = entry
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
    areas = areas_for_topic(event.topic) + private_areas_for_topic(event.topic)

    async def bump(_session: Any) -> None:
        try:
            await cache.bump(areas)
        except Exception:  # Redis down: entries expire after TTL; the page is served fresh
            log.warning("public cache: could not invalidate %s", areas, exc_info=True)

    add_after_commit(ctx.session, bump)


# --- the hit path ----------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


@dataclass
class _Request:
    """What the cache reads of a request, from one pass over its headers."""

    cookie: str = ""
    accept_language: str = ""
    hx: str = ""
    if_none_match: str = ""
    cookies: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, scope: Scope) -> _Request:
        req = cls()
        for key, value in scope["headers"]:
            if key == b"cookie":
                req.cookie = value.decode("latin-1")
            elif key == b"accept-language":
                req.accept_language = value.decode("latin-1")
            elif key in _HX_HEADERS:  # page() renders a fragment for htmx, not when boosted
                req.hx += _HX_HEADERS[key]  # or restoring history: each is part of the key
            elif key == b"if-none-match":
                req.if_none_match = value.decode("latin-1")
        if req.cookie:
            for part in req.cookie.split(";"):
                name, _, val = part.strip().partition("=")
                if name:
                    req.cookies[name] = val
        return req


def _query(scope: Scope) -> str:
    raw: bytes = scope.get("query_string", b"")
    return "&".join(sorted(raw.decode("latin-1").split("&"))) if raw else ""


class HotPages:
    """ASGI app in front of Litestar's router (see the module docstring and :func:`install`)."""

    def __init__(self, app: ASGIApp, csrf: CSRFConfig) -> None:
        self.app = app
        self.csrf = csrf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        req = _Request.of(scope)
        if SESSION_COOKIE in req.cookies:
            if method == "GET":
                areas = private_route_areas(scope["path"])
                if areas is not None:
                    await self._private(scope, receive, send, req, areas)
                    return
            await self.app(scope, receive, _private_headers(send))
            return
        areas = route_areas(scope["path"]) if method in ("GET", "HEAD") else None
        cache = _cache_of(scope) if areas else None
        if areas is None or cache is None:
            await self.app(scope, receive, send)
            return
        try:
            generations = await cache.current(areas)
        except Exception:
            log.warning("public cache unavailable", exc_info=True)
            await self.app(scope, receive, send)
            return
        key = (
            scope["path"],
            _query(scope),
            req.cookies.get(LANG_COOKIE, ""),
            req.accept_language,
            req.hx,
            generations,
        )
        entry = await cache.get(key)
        if entry is not None:
            await self._serve_public(scope, send, entry, req)
            return
        await self.app(scope, receive, self._recorder(scope, send, cache, key, private=False))

    def _token(self, req: _Request, headers: list[tuple[bytes, bytes]]) -> str:
        """The browser's CSRF token; a new one with its cookie when it has none."""
        token = req.cookies.get(self.csrf.cookie_name)
        if token:
            return token
        token = generate_csrf_token(secret=self.csrf.secret)
        headers.append((b"set-cookie", self._cookie_head + token.encode() + self._cookie_tail))
        return token

    @cached_property
    def _cookie_head(self) -> bytes:
        return self.csrf.cookie_name.encode() + b"="

    @cached_property
    def _cookie_tail(self) -> bytes:
        """The CSRF cookie's attributes, as Litestar's CSRF middleware writes them (tokens are
        hex: never quoted), made once."""
        cookie = Cookie(
            key=self.csrf.cookie_name,
            value="0",
            path=self.csrf.cookie_path,
            secure=self.csrf.cookie_secure,
            httponly=self.csrf.cookie_httponly,
            samesite=self.csrf.cookie_samesite,
            domain=self.csrf.cookie_domain,
        )
        header = cookie.to_header(header="").encode()
        assert header.startswith(self._cookie_head + b"0")
        return header[len(self._cookie_head) + 1 :]

    async def _serve_public(
        self, scope: Scope, send: Send, entry: PublicEntry, req: _Request
    ) -> None:
        body = entry.body
        headers = list(entry.headers)
        etag = entry.etag
        if PLACEHOLDER in body:
            token = self._token(req, headers)
            body = body.replace(PLACEHOLDER, token.encode())
            etag = (
                etag[:-1] + "-" + hashlib.blake2b(token.encode(), digest_size=6).hexdigest() + '"'
            )
        headers += [(b"etag", etag.encode()), (b"cache-control", b"public, no-cache")]
        status = 304 if req.if_none_match == etag else 200
        if status == 304 or scope["method"] == "HEAD":  # type: ignore[typeddict-item]
            body = b""
        else:
            headers.append((b"content-length", str(len(body)).encode()))
        await _answer(send, status, headers, body)

    async def _private(
        self, scope: Scope, receive: Receive, send: Send, req: _Request, areas: tuple[str, ...]
    ) -> None:
        send = _private_headers(send)
        cache = _cache_of(scope)
        if cache is None:
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope["app"].state.runtime
        token = req.cookies[SESSION_COOKIE]
        try:
            user, shared = await resolve_user(runtime, cache, token, areas)
        except Exception:
            log.warning("page cache: could not resolve the session", exc_info=True)
            await self.app(scope, receive, send)
            return
        if user is None:  # expired session: the app answers as it does for anyone signed out
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[RESOLVED_AUTH] = (token, user)
        key = (
            user,
            scope["path"],
            _query(scope),
            req.cookies.get(LANG_COOKIE, ""),
            req.accept_language,
            req.hx,
            local_generations((*areas, IDENTITY)),
            shared,
        )
        hit = cache.private.get(key)
        if hit is None:
            await self.app(scope, receive, self._recorder(scope, send, cache, key, private=True))
            return
        headers, body = list(hit[0]), hit[1]
        if PLACEHOLDER in body:
            body = body.replace(PLACEHOLDER, self._token(req, headers).encode())
        headers.append((b"content-length", str(len(body)).encode()))
        await _answer(send, 200, headers, body)

    def _recorder(
        self, scope: Scope, send: Send, cache: PublicCache, key: tuple[Any, ...], *, private: bool
    ) -> Send:
        state: dict[str, Any] = {"status": 0, "headers": [], "chunks": []}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["headers"] = list(message.get("headers", ()))
                chosen = any(k.lower() == b"cache-control" for k, _ in state["headers"])
                if state["status"] == 200 and not chosen and not private:
                    message["headers"] = [
                        *state["headers"],
                        (b"cache-control", b"public, no-cache"),
                    ]
            elif message["type"] == "http.response.body" and state["status"] == 200:
                state["chunks"].append(message.get("body", b""))
                if not message.get("more_body") and scope["method"] == "GET":  # type: ignore[typeddict-item]
                    await self._store(scope, cache, key, state, private=private)
            await send(message)

        return recording_send

    async def _store(
        self,
        scope: Scope,
        cache: PublicCache,
        key: tuple[Any, ...],
        state: dict[str, Any],
        *,
        private: bool,
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
        if private:
            cache.private.put(key, [(k.encode(), v.encode("latin-1")) for k, v in kept], body)
            return
        try:
            await cache.put(key, kept, body)
        except Exception:
            log.warning("public cache: could not store %s", key[0], exc_info=True)


def install(app: Litestar, csrf: CSRFConfig) -> None:
    """Put the hit path in front of the router (inside ``before_send``, so hits get the
    security headers like every answer)."""
    app.asgi_handler = HotPages(app.asgi_handler, csrf)


def _cache_of(scope: Scope) -> PublicCache | None:
    runtime = getattr(scope["app"].state, "runtime", None)
    cache: PublicCache | None = runtime.services.public_cache if runtime else None
    return cache if cache is not None and cache.ttl > 0 else None


async def resolve_user(
    runtime: Runtime, cache: PublicCache, token: str, areas: tuple[str, ...]
) -> tuple[CurrentUser | None, tuple[str, ...]]:
    """The signed-in user of a session cookie, and the shared generations of ``areas`` and of
    the identity (an organization's service area, say, is in the identity area).

    The session is read and refreshed and the generations (``areas`` and the identity's) are
    read in one Redis round trip. The user with roles and memberships comes from this
    process's memory while the identity generations (this process's and the shared one) are
    those it was loaded under and for at most IDENTITY_TTL seconds; otherwise from one
    statement (``accounts.repository.identity``). Any commit that writes users, role grants,
    memberships or organizations bumps those generations (see TABLE_AREAS)."""
    from backend.accounts.service import load_current_user

    data, shared = await runtime.services.sessions.get_with(
        token, [cache.gen_key(a) for a in (*areas, IDENTITY)]
    )
    values = tuple(v.decode() if isinstance(v, bytes) else str(v or 0) for v in shared)
    if data is None:
        return None, ()
    generations = (values[-1], _local_generations.get(IDENTITY, 0))
    known = cache.identities.get(data.user_id)
    now = time.monotonic()
    if known is not None and known[0] > now and known[1] == generations:
        return known[2], values
    async with runtime.reader() as session:
        user = await load_current_user(session, data.user_id)
    cache.identities.pop(data.user_id, None)
    if user is not None:
        cache.identities[data.user_id] = (now + IDENTITY_TTL, generations, user)
        while len(cache.identities) > IDENTITY_ENTRIES:
            cache.identities.popitem(last=False)
    return user, values


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)


def _private_headers(send: Send) -> Send:
    """Signed-in responses never go to shared caches."""

    async def private_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if not any(k.lower() == b"cache-control" for k, _ in headers):
                message["headers"] = [*headers, (b"cache-control", b"private, no-store")]
        await send(message)

    return private_send
