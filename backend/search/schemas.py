"""Query-string parameters of the search page and API (one parser for both), and URL building.

Parameters (repeat a key for several values; values within a key are OR-ed):
``q`` text · ``kind`` need|resource|project|task · ``category`` · ``region`` (a region code:
its whole subtree) · ``urgency`` emergency|high|normal · ``state`` · ``org_type`` ·
``deadline_from`` / ``deadline_to`` (YYYY-MM-DD, inclusive) · ``sort``
relevance|urgency|deadline|newest · ``page`` (from 1) · ``per_page`` (1..100, default 20).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast
from urllib.parse import urlencode

from litestar.datastructures import MultiDict

from backend.core.errors import Invalid
from backend.core.i18n import N_
from backend.search.documents import (
    KINDS,
    MAX_PER_PAGE,
    SORTS,
    URGENCIES,
    SearchQuery,
    SearchResults,
    SortOrder,
)

MULTI = ("kind", "category", "urgency", "state", "org_type")
SINGLE = ("q", "region", "deadline_from", "deadline_to", "sort", "page", "per_page")
MAX_TEXT = 200
MAX_VALUES = 20


def _multi(params: MultiDict[Any], key: str) -> tuple[str, ...]:
    values = [v.strip() for v in params.getall(key, []) if v and v.strip()]
    return tuple(dict.fromkeys(values))[:MAX_VALUES]


def _date(value: str | None, name: str, fields: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fields[name] = "invalid"
        return None


def parse(params: MultiDict[Any], *, default_per_page: int = 20) -> SearchQuery:
    """Build the query, or raise ``Invalid`` (422) naming the bad parameters."""
    fields: dict[str, str] = {}
    text = (params.get("q") or "").strip()[:MAX_TEXT]
    kinds = tuple(k for k in _multi(params, "kind") if k != "all")
    if any(k not in KINDS for k in kinds):
        fields["kind"] = "invalid"
    urgencies = _multi(params, "urgency")
    if any(u not in URGENCIES for u in urgencies):
        fields["urgency"] = "invalid"
    region = (params.get("region") or "").strip() or None
    if region is not None and not (region.isdigit() and len(region) in (6, 9, 12)):
        fields["region"] = "invalid"
    sort = (params.get("sort") or "relevance").strip()
    if sort not in SORTS:
        fields["sort"] = "invalid"
    page, per_page = 1, default_per_page
    try:
        page = int(params.get("page") or 1)
        per_page = int(params.get("per_page") or default_per_page)
    except ValueError:
        fields["page"] = "invalid"
    if page < 1 or page > 10_000:
        fields["page"] = "invalid"
    if not 1 <= per_page <= MAX_PER_PAGE:
        fields["per_page"] = "invalid"
    deadline_from = _date(params.get("deadline_from"), "deadline_from", fields)
    deadline_to = _date(params.get("deadline_to"), "deadline_to", fields)
    if fields:
        raise Invalid(N_("Some search parameters are not valid."), fields=fields)
    return SearchQuery(
        text=text,
        kinds=kinds,
        categories=_multi(params, "category"),
        region_code=region,
        urgencies=urgencies,
        states=_multi(params, "state"),
        org_types=_multi(params, "org_type"),
        deadline_from=deadline_from,
        deadline_to=deadline_to,
        sort=cast(SortOrder, sort),
        page=page,
        per_page=per_page,
    )


def to_params(q: SearchQuery) -> list[tuple[str, str]]:
    """The query as URL parameters (defaults left out), in a stable order."""
    out: list[tuple[str, str]] = []
    if q.text:
        out.append(("q", q.text))
    for key, values in (
        ("kind", q.kinds),
        ("category", q.categories),
        ("urgency", q.urgencies),
        ("state", q.states),
        ("org_type", q.org_types),
    ):
        out.extend((key, v) for v in values)
    if q.region_code:
        out.append(("region", q.region_code))
    if q.deadline_from:
        out.append(("deadline_from", q.deadline_from.isoformat()))
    if q.deadline_to:
        out.append(("deadline_to", q.deadline_to.isoformat()))
    if q.sort != "relevance":
        out.append(("sort", q.sort))
    if q.page != 1:
        out.append(("page", str(q.page)))
    if q.per_page != 20:
        out.append(("per_page", str(q.per_page)))
    return out


def url_for(path: str, q: SearchQuery, **changes: Any) -> str:
    """``path`` with the query's parameters, some of them replaced (None removes one).

    Any change other than ``page`` returns to page 1.
    """
    params = [(k, v) for k, v in to_params(q) if k not in changes and k != "page"]
    if "page" not in changes:
        params.extend((k, v) for k, v in to_params(q) if k == "page" and not changes)
    for key, value in changes.items():
        if value is None:
            continue
        values: Sequence[str] = value if isinstance(value, list | tuple) else [str(value)]
        params.extend((key, str(v)) for v in values)
    qs = urlencode(params)
    return f"{path}?{qs}" if qs else path


def query_json(q: SearchQuery) -> dict[str, Any]:
    return {
        "q": q.text,
        "kind": list(q.kinds),
        "category": list(q.categories),
        "region": q.region_code,
        "urgency": list(q.urgencies),
        "state": list(q.states),
        "org_type": list(q.org_types),
        "deadline_from": q.deadline_from.isoformat() if q.deadline_from else None,
        "deadline_to": q.deadline_to.isoformat() if q.deadline_to else None,
        "sort": q.sort,
        "page": q.page,
        "per_page": q.per_page,
    }


def results_json(results: SearchResults) -> dict[str, Any]:
    return {
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "hits": [
            {
                "id": h.id,
                "kind": h.kind,
                "title": h.title,
                "title_html": h.title_html,
                "snippet_html": h.snippet_html,
                "score": h.score,
            }
            for h in results.hits
        ],
        "facets": results.facets,
    }
