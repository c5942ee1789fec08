"""Role × route rows of the item kind pages."""

from __future__ import annotations

import uuid
from typing import Any

from backend.demo.matching import make_household
from backend.needs import service as needs_service
from backend.needs.schemas import NeedIn
from tests.access import Ctx, Row, only, signed_in
from tests.matches import factories as fx

COORD = ("coordinator", "admin")
CASEWORKERS = ("caseworker_x", "caseworker_y", "admin")


async def _kind(ctx: Ctx) -> dict[str, Any]:
    return {
        "county_code": "330106",
        "category": "goods",
        "code": f"k{uuid.uuid4().hex[:8]}",
        "name_zh": "茶具",
        "name_en": "Tea set",
        "units": "套=1",
    }


async def _unsure_need(ctx: Ctx) -> str:
    async with ctx.runtime.transaction() as s:
        household = await make_household(
            s, region_code="330106004053", registered_by=ctx.demo["caseworker"]
        )
        caseworker = await fx.user(s, ctx.demo["caseworker"])
        need = await needs_service.create_draft(
            s, caseworker, household.id, NeedIn(category="goods", title="需要帮助", quantity=1)
        )
    return f"/casework/item-kinds/{need.id}"


ROWS = [
    Row("GET", "/items/suggest", signed_in(200), url="/items/suggest?title=轮椅&category=goods"),
    Row("GET", "/coordination/item-kinds", only(COORD, 200)),
    Row("POST", "/coordination/item-kinds", only(COORD, 303), data=_kind),
    Row("GET", "/casework/item-kinds", only(CASEWORKERS, 200)),
    Row(
        "POST",
        "/casework/item-kinds/{need_id:uuid}",
        only(CASEWORKERS, 303) | {"caseworker_y": 404, "admin": 404},
        url=_unsure_need,
        data={"item_kind": "quilt"},
    ),
]
