"""Role × route rows of resource editing (issue 20): members of the owning organization only
(platform admins too get 404: the offer's public text is the organization's own)."""

from __future__ import annotations

from tests.access import Ctx, Row
from tests.organizations import factories as fx
from tests.organizations.access_rows import org_a


async def _edit_url(ctx: Ctx) -> str:
    return f"/resources/{await fx.fresh_resource(ctx)}/edit"


ROWS = [
    Row("GET", "/resources/{resource_id:uuid}/edit", org_a(200, admin=404), url=_edit_url),
    Row(
        "POST",
        "/resources/{resource_id:uuid}/edit",
        org_a(303, admin=404),
        url=_edit_url,
        data={
            "title": "行测试物资（改）",
            "kind": "goods",
            "category": "goods",
            "capacity": "6",
            "unit": "件",
            "service_area": "330106",
        },
    ),
]
