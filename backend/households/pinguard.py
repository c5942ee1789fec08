"""Wrong-PIN limits for the 幸福码, counted in Redis so they survive the request's rollback.

Two counters, both fixed 15-minute windows:

* per code: 5 wrong PINs lock that code for 15 minutes, wherever the tries come from;
* per client address: 20 wrong PINs or unknown codes, across any codes, lock that address for
  15 minutes (someone trying many cards, or guessing codes).

Keys hold only hashes (the code's keyed hash, a SHA-256 of the address), never a code or an IP.
A typo caught by the check character never reaches here: it costs nothing and reveals nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

CODE_MAX_FAILURES = 5
IP_MAX_FAILURES = 20
WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Failure:
    """After a wrong try: ``remaining`` tries before the code locks, or ``locked_for`` seconds."""

    remaining: int
    locked_for: int


@dataclass
class PinGuard:
    redis: Redis
    window: int = WINDOW_SECONDS
    lock: int = LOCK_SECONDS
    code_max: int = CODE_MAX_FAILURES
    ip_max: int = IP_MAX_FAILURES

    def _keys(self, kind: str, subject: str) -> tuple[str, str]:
        digest = _h(subject)
        return f"pin:fail:{kind}:{digest}", f"pin:lock:{kind}:{digest}"

    async def locked_for(self, code_digest: str | None, ip: str) -> int:
        """Seconds left on the longer of the code's and the address's locks (0: not locked)."""
        keys = [self._keys("ip", ip)[1]]
        if code_digest:
            keys.append(self._keys("code", code_digest)[1])
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.ttl(key)
            ttls = await pipe.execute()
        return max(0, *(int(t) for t in ttls))

    async def _count(self, kind: str, subject: str, limit: int) -> tuple[int, int]:
        fail_key, lock_key = self._keys(kind, subject)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(fail_key, 0, ex=self.window, nx=True)
            pipe.incr(fail_key)
            _, count = await pipe.execute()
        if int(count) >= limit:
            await self.redis.set(lock_key, "1", ex=self.lock)
            await self.redis.delete(fail_key)
            return 0, self.lock
        return limit - int(count), 0

    async def fail(self, code_digest: str | None, ip: str) -> Failure:
        """Count one wrong PIN (or, with ``code_digest`` None, one unknown code)."""
        _, ip_locked = await self._count("ip", ip, self.ip_max)
        if code_digest is None:
            return Failure(remaining=0, locked_for=ip_locked)
        remaining, code_locked = await self._count("code", code_digest, self.code_max)
        return Failure(remaining=remaining, locked_for=max(ip_locked, code_locked))

    async def succeed(self, code_digest: str) -> None:
        """The right PIN clears the code's counter (not the address's)."""
        await self.redis.delete(*self._keys("code", code_digest))
