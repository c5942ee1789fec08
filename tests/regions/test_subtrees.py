"""``regions.repository.in_subtrees`` in each of its SQL forms selects exactly the subtree."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.households.models import Household
from backend.regions.models import Region
from backend.regions.repository import in_subtree_codes, in_subtrees


def _below(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root + ".") for root in roots)


async def test_every_form_selects_the_subtree(db: Any, demo: Any) -> None:
    regions = {r.code: r.path for r in (await db.scalars(select(Region))).all()}
    households = [(h.id, h.region_code) for h in (await db.scalars(select(Household))).all()]
    assert households
    paths = sorted(regions.values())
    by_depth = {depth: [p for p in paths if p.count(".") == depth] for depth in range(5)}
    cases: list[list[str]] = [[]]
    for depth in range(5):
        cases += [[p] for p in by_depth[depth][:3]]
    cases += [
        [by_depth[0][0], by_depth[2][0]],  # the province and a county inside it
        by_depth[2][:2],  # two counties
        [by_depth[1][0], by_depth[3][-1]],  # a city and a township maybe outside it
        ["999999"],  # no such region
        [by_depth[0][0] + "0"],  # a path sharing the province's prefix: not below it
    ]
    for roots in cases:
        wanted_regions = {c for c, p in regions.items() if _below(p, roots)}
        got_regions = set(
            (await db.scalars(select(Region.code).where(in_subtrees(Region.code, roots)))).all()
        )
        assert got_regions == wanted_regions, roots
        wanted = {i for i, code in households if _below(regions[code], roots)}
        for test in (in_subtrees, in_subtree_codes):
            got = set(
                (
                    await db.scalars(select(Household.id).where(test(Household.region_code, roots)))
                ).all()
            )
            assert got == wanted, (test.__name__, roots)
            inverted = set(
                (
                    await db.scalars(
                        select(Household.id).where(~test(Household.region_code, roots))
                    )
                ).all()
            )
            assert inverted == {i for i, _ in households} - wanted, (test.__name__, roots)


@pytest.mark.parametrize("probe", [False, True])
async def test_a_null_code_is_in_no_subtree(db: Any, demo: Any, probe: bool) -> None:
    from backend.needs.models import Need

    province = (await db.scalars(select(Region.path).where(Region.parent_code.is_(None)))).first()
    rows = await db.scalars(
        select(Need.id).where(
            Need.public_region_code.is_(None),
            in_subtrees(Need.public_region_code, [province], probe=probe),
        )
    )
    assert rows.all() == []
