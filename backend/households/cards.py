"""Freshly issued 幸福码 cards and PIN slips, held for printing only.

The database keeps only hashes, so the caseworker who issued a batch prints its cards from here:
the codes and PINs are AES-GCM encrypted (the household-field key) under a random batch id in
Redis for 30 minutes, readable only by that caseworker. The cards (codes, no PIN) can be shown
again within that time, to print A6 and then an A4 sheet; the PIN slips are shown **once**: the
request that shows them deletes the PINs. After that, a lost slip means reissuing the code.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from backend.households.service import cipher

TTL_SECONDS = 30 * 60
CONTEXT = "households.card_batch"


@dataclass(frozen=True)
class Card:
    number: int  # 1, 2, … within the batch: matches a card to its PIN slip
    household_id: uuid.UUID
    code: str  # normalized 13 characters ("" on a PIN slip)
    community: str
    region_code: str
    pin: str | None  # None on a card


def office_phone(setting: str, region_code: str) -> str:
    """The caseworker office phone for a region from ``TONGXIN_CASEWORKER_PHONE``: a single
    number, or ``prefix=number`` entries (``*`` for the rest) where the longest prefix wins."""
    entries = [e.strip() for e in setting.split(",") if e.strip()]
    if len(entries) == 1 and "=" not in entries[0]:
        return entries[0]
    best, phone = -1, ""
    for entry in entries:
        prefix, _, number = entry.partition("=")
        prefix = prefix.strip()
        if prefix == "*" and best < 0:
            phone = number.strip()
        elif prefix != "*" and region_code.startswith(prefix) and len(prefix) > best:
            best, phone = len(prefix), number.strip()
    return phone


def _key(batch: str, part: str) -> str:
    return f"cards:{part}:{hashlib.sha256(batch.encode()).hexdigest()}"


@dataclass
class CardStore:
    redis: Redis
    ttl: int = TTL_SECONDS

    def _seal(self, value: object, batch: str) -> bytes:
        return cipher().encrypt(json.dumps(value), context=f"{CONTEXT}:{batch}")

    def _open(self, blob: bytes, batch: str) -> object:
        return json.loads(cipher().decrypt(blob, context=f"{CONTEXT}:{batch}"))

    async def put(self, user_id: uuid.UUID, cards: list[Card]) -> str:
        batch = secrets.token_urlsafe(18)
        codes = [
            {
                "n": c.number,
                "h": str(c.household_id),
                "c": c.code,
                "r": c.community,
                "g": c.region_code,
            }
            for c in cards
        ]
        pins = [c.pin for c in cards]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(_key(batch, "owner"), str(user_id), ex=self.ttl)
            pipe.set(_key(batch, "codes"), self._seal(codes, batch), ex=self.ttl)
            pipe.set(_key(batch, "pins"), self._seal(pins, batch), ex=self.ttl)
            await pipe.execute()
        return batch

    async def _owned(self, batch: str, user_id: uuid.UUID) -> bool:
        if not batch or len(batch) > 64:
            return False
        owner = await self.redis.get(_key(batch, "owner"))
        if owner is None:
            return False
        return (owner.decode() if isinstance(owner, bytes) else str(owner)) == str(user_id)

    async def cards(self, batch: str, user_id: uuid.UUID) -> list[Card] | None:
        """The batch's cards without PINs; None when expired or not this caseworker's."""
        if not await self._owned(batch, user_id):
            return None
        blob = await self.redis.get(_key(batch, "codes"))
        if blob is None:
            return None
        rows = self._open(blob, batch)
        assert isinstance(rows, list)
        return [
            Card(r["n"], uuid.UUID(r["h"]), r["c"], r["r"], r["g"], None)
            for r in rows
            if isinstance(r, dict)
        ]

    async def pins_left(self, batch: str) -> bool:
        return bool(await self.redis.exists(_key(batch, "pins")))

    async def take_slips(self, batch: str, user_id: uuid.UUID) -> list[Card] | None:
        """The cards with their PINs, once: the PINs are deleted as they are read."""
        if not await self._owned(batch, user_id):
            return None
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(_key(batch, "pins"))
            pipe.delete(_key(batch, "pins"))
            blob, _ = await pipe.execute()
        cards = await self.cards(batch, user_id)
        if blob is None or cards is None:
            return None
        pins = self._open(blob, batch)
        assert isinstance(pins, list)
        return [
            Card(c.number, c.household_id, "", c.community, c.region_code, str(pin))
            for c, pin in zip(cards, pins, strict=True)
        ]
