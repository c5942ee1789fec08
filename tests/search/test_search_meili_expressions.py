"""Exact Meilisearch filter/sort expressions and document mapping (no server needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from backend.search import SearchDocument, SearchQuery
from backend.search.meili_engine import (
    FILTERABLE_ATTRIBUTES,
    SORTABLE_ATTRIBUTES,
    build_filter,
    build_sort,
    facet_attributes,
    to_meili_document,
)


def test_empty_query_has_no_filter_and_sorts_newest() -> None:
    assert build_filter(SearchQuery()) == []
    assert build_sort(SearchQuery()) == ["created_ts:desc"]


def test_every_filter_expression() -> None:
    q = SearchQuery(
        text="老人",
        kinds=("need", "task"),
        categories=('food "x"', "a\\b"),
        region_code="330100",
        urgencies=("emergency",),
        states=("published",),
        org_types=("charity", "union"),
        deadline_from=date(2025, 1, 1),
        deadline_to=date(2025, 1, 31),
    )
    assert build_filter(q) == [
        'kind IN ["need", "task"]',
        'category IN ["food \\"x\\"", "a\\\\b"]',
        'urgency IN ["emergency"]',
        'state IN ["published"]',
        'org_type IN ["charity", "union"]',
        'region_codes = "330100"',
        "deadline_day >= 20089",
        "deadline_day <= 20119",
    ]


def test_sort_expressions() -> None:
    assert build_sort(SearchQuery(text="老人")) == []
    assert build_sort(SearchQuery(text="，")) == ["created_ts:desc"]
    assert build_sort(SearchQuery(text="老人", sort="newest")) == ["created_ts:desc"]
    assert build_sort(SearchQuery(text="老人", sort="urgency")) == ["urgency_key:desc"]
    assert build_sort(SearchQuery(sort="deadline")) == ["deadline_sort:asc"]


def test_every_sort_and_filter_attribute_is_declared() -> None:
    for expr in build_sort(SearchQuery(sort="urgency")) + build_sort(SearchQuery(sort="deadline")):
        assert expr.split(":")[0] in SORTABLE_ATTRIBUTES
    full = SearchQuery(
        kinds=("need",),
        categories=("x",),
        region_code="330100",
        urgencies=("high",),
        states=("s",),
        org_types=("o",),
        deadline_from=date(2025, 1, 1),
    )
    for expr in build_filter(full):
        assert isinstance(expr, str)
        assert expr.split(" ")[0] in FILTERABLE_ATTRIBUTES
    assert set(facet_attributes(full)) <= set(FILTERABLE_ATTRIBUTES)
    assert facet_attributes(SearchQuery())[-1] == "region_l0"


def test_document_mapping() -> None:
    doc = SearchDocument(
        id="00000000-0000-4000-8000-000000000001",
        kind="need",
        title="为独居老人送米面油",
        body="Delivering rice",
        category="food",
        region_codes=("330000", "330100", "330106"),
        region_name="西湖区",
        urgency=None,
        state="published",
        org_type=None,
        org_name=None,
        deadline=date(2025, 1, 2),
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        lang="zh",
    )
    m = to_meili_document(doc)
    assert m["region_codes"] == ["330000", "330100", "330106"]
    assert (m["region_l0"], m["region_l1"], m["region_l2"]) == ("330000", "330100", "330106")
    assert "region_l3" not in m
    assert "urgency" not in m
    assert "org_type" not in m
    assert m["deadline_day"] == 20090
    assert m["created_ts"] == 1735689600
    assert m["title_terms"] == "为 独居 老人 送 米面 油"
    assert m["body_terms"] == "deliv rice 西湖 湖区 西湖区"
