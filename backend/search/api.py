"""``GET /api/v1/search``: the search page's parameters, JSON out."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State

from backend.core.runtime import runtime_of
from backend.search import schemas
from backend.search.provider import engine_of
from backend.search.service import search


class SearchAPI(Controller):
    path = "/search"
    tags = ["search"]  # noqa: RUF012 - Litestar API

    @get("/", summary="Search public listings (needs, resources, projects, volunteer tasks)")
    async def search_listings(
        self, request: Request[Any, Any, Any], state: State
    ) -> dict[str, Any]:
        """Parameters as on ``/search``: ``q``, ``kind``, ``category``, ``region``, ``urgency``,
        ``state``, ``org_type`` (repeatable), ``deadline_from``, ``deadline_to``, ``sort``,
        ``page``, ``per_page``. 422 for bad parameters, 503 when the engine is unavailable."""
        q = schemas.parse(request.query_params)
        results = await search(engine_of(runtime_of(state).services), q)
        return {"query": schemas.query_json(q), **schemas.results_json(results)}
