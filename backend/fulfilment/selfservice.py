"""The household's self-service session: opened with 幸福码 + PIN, scoped to that one household.

A random 256-bit token in an HttpOnly, SameSite=Strict cookie; only its SHA-256 is a Redis key
(like account sessions), holding the household id and nothing else. It lives 15 minutes and is
never extended: the household enters its PIN again after that. There is no way to switch
households inside a session: every route reads the household id from here, never from the URL.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

COOKIE = "tx_household"
TTL_SECONDS = 15 * 60


def _key(token: str) -> str:
    return "selfsvc:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SelfServiceStore:
    redis: Redis
    ttl: int = TTL_SECONDS

    async def open(self, household_id: uuid.UUID) -> str:
        token = secrets.token_urlsafe(32)
        await self.redis.set(_key(token), str(household_id), ex=self.ttl)
        return token

    async def household(self, token: str | None) -> uuid.UUID | None:
        if not token or len(token) > 100:
            return None
        raw = await self.redis.get(_key(token))
        if raw is None:
            return None
        return uuid.UUID(raw.decode() if isinstance(raw, bytes) else str(raw))

    async def close(self, token: str | None) -> None:
        if token:
            await self.redis.delete(_key(token))
