"""Load GB/T 2260 regions from CSV (code, parent_code, level, name, name_en), and what other
domains ask of the region tree (their views list regions to choose from; search names a
region's ancestors). Region subtree filters for queries stay in ``repository.py``: other
domains' repositories compose ``in_subtrees`` into their own queries."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.regions import repository as repo
from backend.regions.models import Region, RegionLevel

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


async def import_regions(session: AsyncSession, rows: list[dict[str, str]]) -> int:
    """Insert or update regions; parents first. Returns the number of rows written."""
    by_code = {row["code"]: row for row in rows}
    paths: dict[str, str] = {}

    def path_of(code: str) -> str:
        if code not in paths:
            parent = by_code[code]["parent_code"] or None
            paths[code] = code if parent is None else f"{path_of(parent)}.{code}"
        return paths[code]

    ordered = sorted(rows, key=lambda r: path_of(r["code"]).count("."))
    for row in ordered:
        values = {
            "code": row["code"],
            "parent_code": row["parent_code"] or None,
            "name": row["name"],
            "name_en": row.get("name_en", ""),
            "level": RegionLevel(row["level"]),
            "path": path_of(row["code"]),
        }
        stmt = insert(Region).values(**values)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Region.code],
                set_={
                    k: stmt.excluded[k] for k in ("parent_code", "name", "name_en", "level", "path")
                },
            )
        )
    await session.flush()
    return len(ordered)


@lru_cache(maxsize=1)
def bundled_names() -> dict[str, tuple[str, str]]:
    """GB/T 2260 code → (Chinese name, English name) of the bundled regions, read once: what
    pages show for a code without asking the database (the template filter ``region_name``)."""
    return {
        row["code"]: (row["name"], row.get("name_en") or row["name"])
        for path in sorted(DATA_DIR.glob("*.csv"))
        for row in read_csv(path)
    }


async def import_bundled(session: AsyncSession) -> int:
    total = 0
    for path in sorted(DATA_DIR.glob("*.csv")):
        total += await import_regions(session, read_csv(path))
    return total


async def by_level(session: AsyncSession, *levels: RegionLevel) -> Sequence[Region]:
    """Every region of these levels, in tree order."""
    return await repo.by_level(session, *levels)


async def ancestors(session: AsyncSession, code: str) -> Sequence[Region]:
    """From the province down to the region itself."""
    return await repo.ancestors(session, code)


async def get_region(session: AsyncSession, code: str) -> Region | None:
    return await repo.get(session, code)
