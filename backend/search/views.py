"""The public search page ``/search`` (all kinds, or one per tab with ``kind=``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.response import Template

from backend.core.errors import Invalid
from backend.core.http import DB
from backend.core.runtime import runtime_of
from backend.core.security import current_locale
from backend.core.templating import is_htmx, page, translate
from backend.search import repository as projections
from backend.search import schemas
from backend.search.documents import KINDS, SearchQuery, SearchResults
from backend.search.provider import engine_of
from backend.search.service import SearchUnavailable, search

SEARCH_PATH = "/search"


async def _labels(db: DB, results: SearchResults, q: SearchQuery) -> dict[str, Any]:
    """Names for facet values and the region breadcrumb, in the request's language."""
    zh = current_locale.get() == "zh_CN"
    categories = {
        code: (zh_name if zh else en_name)
        for code, (zh_name, en_name) in (await projections.category_names(db)).items()
    }
    for code, msgid in projections.TASK_CATEGORY_NAMES.items():
        categories.setdefault(code, translate(msgid))
    region_codes = set(results.facets.get("region", {}))
    region_codes.update(h.region_code for h in results.hits if h.region_code)
    crumbs: list[str] = []
    if q.region_code:
        from backend.regions.service import ancestors

        chain = await ancestors(db, q.region_code)
        crumbs = [r.code for r in chain]
        region_codes.update(crumbs)
    regions = {
        code: (zh_name if zh else en_name)
        for code, (zh_name, en_name) in (await projections.region_labels(db, region_codes)).items()
    }
    return {"category_names": categories, "region_names": regions, "region_crumbs": crumbs}


class SearchViews(Controller):
    include_in_schema = False

    @get(SEARCH_PATH, name="search")
    async def search_page(self, request: Request[Any, Any, Any], state: State, db: DB) -> Template:
        try:
            q = schemas.parse(request.query_params)
        except Invalid as exc:
            return page(
                request,
                "search/page.html",
                fragment="search/_results.html",
                status_code=422,
                q=SearchQuery(),
                results=None,
                error=translate(exc.message),
                fields=exc.fields,
                kinds=KINDS,
                url=_url_builder(SearchQuery()),
                **_empty_labels(),
            )
        try:
            results = await search(engine_of(runtime_of(state).services), q)
        except SearchUnavailable as exc:
            # htmx swaps this fragment in too (the form opts in to swapping a 503).
            return page(
                request,
                "search/page.html",
                fragment="search/_results.html",
                status_code=503,
                q=q,
                results=None,
                error=translate(exc.message),
                unavailable=True,
                fields={},
                kinds=KINDS,
                url=_url_builder(q),
                **_empty_labels(),
            )
        return page(
            request,
            "search/page.html",
            fragment="search/_results.html",
            q=q,
            results=results,
            error=None,
            fields={},
            kinds=KINDS,
            url=_url_builder(q),
            htmx=is_htmx(request),
            **(await _labels(db, results, q)),
        )


def _empty_labels() -> dict[str, Any]:
    return {"category_names": {}, "region_names": {}, "region_crumbs": []}


def _url_builder(q: SearchQuery) -> Any:
    def url(**changes: Any) -> str:
        return schemas.url_for(SEARCH_PATH, q, **changes)

    return url
