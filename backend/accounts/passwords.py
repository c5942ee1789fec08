"""argon2id password hashing (m = 19 MiB, t = 2, p = 1: OWASP's minimum)."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the account does not exist, so both answers take the same time.
_DUMMY = _hasher.hash("tongxin-dummy-password")

MIN_LENGTH = 10


async def hash_password_async(password: str) -> str:
    """:func:`hash_password` in a worker thread: argon2 takes tens of milliseconds of CPU, which
    must not stall the event loop (every other request of the process waits meanwhile)."""
    return await anyio.to_thread.run_sync(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` in a worker thread (see :func:`hash_password_async`)."""
    return await anyio.to_thread.run_sync(verify_password, password_hash, password)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
