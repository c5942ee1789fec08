"""The dashboard's figures move with the data they count, within the coordinator's area only."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest

from backend.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.dashboard import figures, service
from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment
from backend.matches.models import Match, MatchSource, MatchState
from backend.needs.models import NeedState, Urgency
from backend.resources.models import Claim
from tests.matches import factories as fx

COUNTY = "330102"  # 上城区, in the demo coordinator's city (杭州市)
OTHER_COUNTY = "330106"  # 西湖区, same city


def _column(board: service.Dashboard, key: str, col: int) -> float:
    chart = next(c for c in board.charts if c.key == key)
    return sum(float(r[col] or 0) for r in chart.rows)


def _cell(board: service.Dashboard, key: str, label: str, col: int) -> float:
    chart = next(c for c in board.charts if c.key == key)
    return sum(float(r[col] or 0) for r in chart.rows if r[0] == label)


async def _board(db: Any, user: Any, county: str | None) -> service.Dashboard:
    area = await service.area_of(db, user, county, "en")
    return await service.dashboard(db, get_settings(), user, area, "en")


async def test_every_figure_moves_with_its_data(db: Any, demo: dict[str, Any]) -> None:
    user = await fx.user(db, demo["coordinator"])
    before = await _board(db, user, COUNTY)
    other_before = await _board(db, user, OTHER_COUNTY)

    w = await fx.world(db, demo, community=COUNTY + "016001", needs=3, urgency=Urgency.EMERGENCY)
    done, proposed, waiting = w.needs
    org = demo["org:charity"]
    now = utcnow()
    claim = Claim(
        id=uuid.uuid4(),
        need_id=done.id,
        organization_id=org,
        quantity=1,
        claimed_by=demo["org_admin"],
    )
    db.add(claim)
    await db.flush()
    fulfilment = Fulfilment(
        id=uuid.uuid4(), need_id=done.id, organization_id=org, claim_id=claim.id, promised=1
    )
    db.add(fulfilment)
    await db.flush()
    db.add(
        Delivery(
            id=uuid.uuid4(),
            fulfilment_id=fulfilment.id,
            delivered_on=now.date(),
            description="米面油",
            quantity=1,
            recorded_by=demo["org_admin"],
            state=DeliveryState.CONFIRMED,
            confirmed_at=now,
        )
    )
    done.state = NeedState.CONFIRMED
    db.add(
        Match(
            id=uuid.uuid4(),
            need_id=proposed.id,
            resource_id=w.resources[0].id,
            organization_id=org,
            source=MatchSource.ENGINE,
            state=MatchState.PROPOSED,
            quantity=1,
            score=1.0,
            score_parts={},
            explanation=[],
            created_at=now - timedelta(hours=5),  # emergency review deadline: 4 hours
        )
    )
    await db.flush()
    for need in w.needs:  # rows written directly: do what the outbox handlers do on their events
        await figures.refresh_need(db, need.id)
    after = await _board(db, user, COUNTY)

    def moved(key: str, col: int) -> float:
        return _column(after, key, col) - _column(before, key, col)

    assert [moved("flow", c) for c in (1, 2, 3, 4)] == [3, 1, 1, 1]
    assert after.summary.confirmed_needs - before.summary.confirmed_needs == 1
    assert moved("confirm_days", 3) == 1
    food = "Food"
    assert _cell(after, "fill_rate", food, 2) - _cell(before, "fill_rate", food, 2) == 3
    assert _cell(after, "fill_rate", food, 3) - _cell(before, "fill_rate", food, 3) == 1
    assert after.summary.emergencies - before.summary.emergencies == 1  # only `waiting`
    assert moved("emergencies", 1) == 1
    assert any(row[0] == waiting.title for row in after.emergencies)
    assert after.summary.overdue_reviews - before.summary.overdue_reviews == 1
    assert (
        _cell(after, "review_sla", "Emergency (within 4 h)", 3)
        - _cell(before, "review_sla", "Emergency (within 4 h)", 3)
        == 1
    )
    assert [moved("organizations", c) for c in (1, 2, 3)] == [1, 1, 1]
    assert (
        _cell(after, "households", "Never helped", 1)
        - _cell(before, "households", "Never helped", 1)
        == 2
    )
    assert (
        _cell(after, "households", "Helped once", 1) - _cell(before, "households", "Helped once", 1)
        == 1
    )
    assert moved("townships", 3) == 2  # `proposed` and `waiting` are still published

    # another county of the same city does not see them
    other_after = await _board(db, user, OTHER_COUNTY)
    for chart in ("flow", "fill_rate", "emergencies", "organizations", "households", "townships"):
        for col in range(1, len(next(c for c in other_after.charts if c.key == chart).columns)):
            if chart == "households" and col == 2:
                continue  # a share, not a count
            assert _column(other_after, chart, col) == _column(other_before, chart, col), chart
    # the whole city does
    whole = await _board(db, user, None)
    assert _column(whole, "flow", 1) >= _column(after, "flow", 1)


async def test_a_county_outside_the_area_is_not_found(db: Any, demo: dict[str, Any]) -> None:
    user = await fx.user(db, demo["coordinator"])
    with pytest.raises(NotFound):
        await service.area_of(db, user, "331022", "zh_CN")  # 三门县, Taizhou
    area = await service.area_of(db, user, None, "zh_CN")
    assert COUNTY in dict(area.counties) and "331022" not in dict(area.counties)


async def test_csv_has_a_bom_a_translated_header_and_labels(db: Any, demo: dict[str, Any]) -> None:
    user = await fx.user(db, demo["coordinator"])
    w = await fx.world(db, demo, community=COUNTY + "016001", needs=1)
    await figures.refresh_need(db, w.needs[0].id)
    area = await service.area_of(db, user, COUNTY, "zh_CN")
    chart = await service.chart(db, get_settings(), user, area, locale="zh_CN", key="fill_rate")
    data = service.csv_bytes(chart)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["类别", "满足率（%）", "已发布", "已满足"]
    assert "food" not in {r[0] for r in rows[1:]}
    assert len(rows) == len(chart.rows) + 1
    with pytest.raises(NotFound):
        await service.chart(db, get_settings(), user, area, locale="zh_CN", key="nothing")
