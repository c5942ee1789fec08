"""k-anonymity counters kept equal to the households they count.

A listener on every ORM flush turns the households inserted, changed (region, member ages,
flags, status) or deleted in that flush into +1/-1 deltas on their cells
(:func:`backend.privacy.kanon.cells`) and applies them with one upsert in the same
transaction, so no code path that writes households through the ORM can forget them. Bulk
writers that bypass the ORM (``backend.demo.scale``) call :func:`upsert_statement` themselves.

Cells are written in key order, so transactions that touch overlapping cells lock them in the
same order and cannot deadlock on them; the household row is always locked before its cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import Session, UOWTransaction

from backend.households.models import Household, HouseholdStatus, KAnonCell
from backend.privacy.kanon import Cell, cells, household_profile
from backend.regions.models import Region

_WATCHED = ("region_code", "member_ages", "flags", "status")


def upsert_statement(deltas: dict[Cell, int]) -> Insert | None:
    """One ``INSERT … ON CONFLICT DO UPDATE`` adding ``deltas`` (None when nothing changes)."""
    rows = [
        {"location": c[0], "profile_level": c[1], "profile": c[2], "households": n}
        for c, n in sorted(deltas.items())
        if n
    ]
    if not rows:
        return None
    stmt = insert(KAnonCell).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=[KAnonCell.location, KAnonCell.profile_level, KAnonCell.profile],
        set_={"households": KAnonCell.households + stmt.excluded.households},
    )


def add_cells(
    deltas: dict[Cell, int], path: str, ages: Iterable[int], flags: Iterable[str], sign: int
) -> None:
    for c in cells(household_profile(path, list(ages or []), list(flags or []))):
        deltas[c] = deltas.get(c, 0) + sign


def _old(household: Household, attr: str) -> Any:
    history = inspect(household).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    return getattr(household, attr)


def _active(status: Any) -> bool:
    return status is None or status == HouseholdStatus.ACTIVE  # None: the column default


@event.listens_for(Session, "after_flush")
def _count_households(session: Session, flush_context: UOWTransaction) -> None:
    changes: list[tuple[int, str, Any, Any]] = [  # (sign, region code, ages, flags)
        (1, obj.region_code, obj.member_ages, obj.flags)
        for obj in session.new
        if isinstance(obj, Household) and _active(obj.status)
    ]
    for obj in session.dirty:
        if not isinstance(obj, Household):
            continue
        state = inspect(obj)
        if not any(state.attrs[a].history.has_changes() for a in _WATCHED):
            continue
        if _active(_old(obj, "status")):
            old = (_old(obj, "region_code"), _old(obj, "member_ages"), _old(obj, "flags"))
            changes.append((-1, *old))
        if _active(obj.status):
            changes.append((1, obj.region_code, obj.member_ages, obj.flags))
    for obj in session.deleted:
        if isinstance(obj, Household) and _active(_old(obj, "status")):
            old = (_old(obj, "region_code"), _old(obj, "member_ages"), _old(obj, "flags"))
            changes.append((-1, *old))
    if not changes:
        return
    codes = {code for _, code, _, _ in changes}
    connection = session.connection()  # Core execution: no autoflush inside the flush
    paths = dict(
        connection.execute(select(Region.code, Region.path).where(Region.code.in_(codes))).all()
    )
    deltas: dict[Cell, int] = {}
    for sign, code, ages, flags in changes:
        add_cells(deltas, paths[code], ages, flags, sign)
    stmt = upsert_statement(deltas)
    if stmt is not None:
        connection.execute(stmt)
