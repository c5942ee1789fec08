"""Server-side sessions in Redis: a random id in an HttpOnly cookie, 30-minute idle and
12-hour absolute expiry, a fresh id at every sign-in. Only the id's SHA-256 is a Redis key."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

SESSION_COOKIE = "tx_session"
# scope state: ``(cookie, CurrentUser)`` when the page cache in front of the router already
# resolved the session (backend/web/cache.py); SessionAuthMiddleware then does not again
RESOLVED_AUTH = "tx_resolved_auth"


def _key(token: str) -> str:
    return "sess:" + hashlib.sha256(token.encode()).hexdigest()


def _user_index(user_id: uuid.UUID) -> str:
    return f"sess-user:{user_id}"


@dataclass(frozen=True)
class SessionData:
    user_id: uuid.UUID
    created_at: float
    via: str = "password"
    csrf_hash: str | None = None  # SHA-256 of the CSRF token issued with this session


def csrf_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SessionStore:
    redis: Redis
    idle_seconds: int = 30 * 60
    absolute_seconds: int = 12 * 3600

    async def create(
        self, user_id: uuid.UUID, *, via: str = "password", csrf: str | None = None
    ) -> str:
        """A new session; ``csrf`` binds the CSRF token issued with it (see core.security)."""
        token = secrets.token_urlsafe(32)
        data: dict[str, object] = {"user_id": str(user_id), "created_at": time.time(), "via": via}
        if csrf:
            data["csrf"] = csrf_hash(csrf)
        key = _key(token)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(data), ex=self.idle_seconds)
            pipe.sadd(_user_index(user_id), key)
            pipe.expire(_user_index(user_id), self.absolute_seconds)
            await pipe.execute()
        return token

    async def get(self, token: str | None) -> SessionData | None:
        """The live session for this cookie, refreshing its idle timer; None when expired."""
        data, _ = await self.get_with(token, [])
        return data

    async def get_with(
        self, token: str | None, keys: list[str]
    ) -> tuple[SessionData | None, list[Any]]:
        """The session (as :meth:`get`) and the values of other Redis ``keys``, in one round
        trip: ``GETEX`` reads and refreshes the session; a second round trip only in the
        session's last idle period, to cut the refresh at its absolute expiry."""
        if not token or len(token) > 100:
            return None, list(await self.redis.mget(keys)) if keys else []
        key = _key(token)
        if keys:
            pipe = self.redis.pipeline(transaction=False)
            pipe.getex(key, ex=self.idle_seconds)
            pipe.mget(keys)
            raw, values = await pipe.execute()
        else:
            raw, values = await self.redis.getex(key, ex=self.idle_seconds), []
        if raw is None:
            return None, values
        data = json.loads(raw)
        age = time.time() - float(data["created_at"])
        if age >= self.absolute_seconds:
            await self.redis.delete(key)
            return None, values
        remaining = int(self.absolute_seconds - age)
        if remaining < self.idle_seconds:
            await self.redis.expire(key, max(1, remaining))
        session = SessionData(
            uuid.UUID(data["user_id"]),
            float(data["created_at"]),
            data.get("via", "password"),
            data.get("csrf"),
        )
        return session, list(values)

    async def destroy(self, token: str | None) -> None:
        if token:
            await self.redis.delete(_key(token))

    async def destroy_all(self, user_id: uuid.UUID) -> None:
        keys: set[bytes] = await self.redis.smembers(_user_index(user_id))  # type: ignore[misc]
        if keys:
            await self.redis.delete(*keys)
        await self.redis.delete(_user_index(user_id))
