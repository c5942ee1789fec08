"""The household's self-service session: opened with 幸福码 + PIN, scoped to that one household.

A random 256-bit token in an HttpOnly, SameSite=Strict session cookie; only its SHA-256 is a
Redis key (like account sessions), holding the household id and nothing else. The session ends
after 10 idle minutes: every request that finds it starts the 10 minutes again, and the page
itself goes back to the sign-in screen when they are over (a phone left on a table shows
nothing). There is no way to switch households inside a session: every route reads the
household id from here, never from the URL.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

COOKIE = "tx_household"
IDLE_SECONDS = 10 * 60


def _key(token: str) -> str:
    return "selfsvc:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SelfServiceStore:
    redis: Redis
    idle: int = IDLE_SECONDS

    async def open(self, household_id: uuid.UUID) -> str:
        token = secrets.token_urlsafe(32)
        await self.redis.set(_key(token), str(household_id), ex=self.idle)
        return token

    async def household(self, token: str | None) -> uuid.UUID | None:
        """The session's household, and 10 more idle minutes; None when it has ended."""
        if not token or len(token) > 100:
            return None
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(_key(token))
            pipe.expire(_key(token), self.idle)
            raw, _ = await pipe.execute()
        if raw is None:
            return None
        return uuid.UUID(raw.decode() if isinstance(raw, bytes) else str(raw))

    async def close(self, token: str | None) -> None:
        if token:
            await self.redis.delete(_key(token))
