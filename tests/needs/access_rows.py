"""Role × route rows of the public need pages and API: everyone sees published needs only."""

from __future__ import annotations

from tests.access import Ctx, Row, everyone
from tests.households.access_rows import _draft_need, _published_need


async def _api_published(ctx: Ctx) -> str:
    return "/api/v1" + await _published_need(ctx)


async def _api_draft(ctx: Ctx) -> str:
    return "/api/v1" + await _draft_need(ctx)


ROWS = [
    Row("GET", "/needs", everyone(200)),
    Row("GET", "/needs/{need_id:uuid}", everyone(200), url=_published_need, note="published"),
    Row("GET", "/needs/{need_id:uuid}", everyone(404), url=_draft_need, note="draft"),
    Row("GET", "/api/v1/needs", everyone(200), json=True),
    Row(
        "GET",
        "/api/v1/needs/{need_id:uuid}",
        everyone(200),
        url=_api_published,
        json=True,
        note="published",
    ),
    Row(
        "GET",
        "/api/v1/needs/{need_id:uuid}",
        everyone(404),
        url=_api_draft,
        json=True,
        note="draft",
    ),
]
