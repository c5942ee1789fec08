"""Fixed-window counters and lockouts in Redis (sign-in, PIN tries, API calls)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass
class Lockout:
    """``max_failures`` failures within ``window`` seconds lock the subject for ``lock`` seconds.

    The subject is hashed, so e-mail addresses or codes never appear in Redis keys.
    """

    redis: Redis
    name: str
    max_failures: int = 5
    window: int = 15 * 60
    lock: int = 15 * 60

    async def locked_for(self, subject: str) -> int:
        """Seconds left on the lock, 0 when not locked."""
        ttl = await self.redis.ttl(f"lock:{self.name}:{_h(subject)}")
        return max(0, int(ttl))

    async def fail(self, subject: str) -> int:
        """Count a failure; returns seconds locked (0 when still under the limit)."""
        key = f"fail:{self.name}:{_h(subject)}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(
                key, 0, ex=self.window, nx=True
            )  # starts the window (Redis 6 has no EXPIRE NX)
            pipe.incr(key)
            _, count = await pipe.execute()
        if int(count) >= self.max_failures:
            await self.redis.set(f"lock:{self.name}:{_h(subject)}", "1", ex=self.lock)
            await self.redis.delete(key)
            return self.lock
        return 0

    async def reset(self, subject: str) -> None:
        await self.redis.delete(
            f"fail:{self.name}:{_h(subject)}", f"lock:{self.name}:{_h(subject)}"
        )


@dataclass
class RateLimit:
    """At most ``limit`` hits per ``window`` seconds; returns seconds to wait when exceeded."""

    redis: Redis
    name: str
    limit: int
    window: int = 60

    async def hit(self, subject: str) -> int:
        key = f"rl:{self.name}:{_h(subject)}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=self.window, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
        if int(count) > self.limit:
            return max(1, int(ttl))
        return 0
