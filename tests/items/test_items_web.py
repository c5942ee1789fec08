"""Item kinds in the app: inference on create (forms, JSON and partner APIs say which), the htmx
suggestion, county extensions and the caseworker's confirmation of unsure kinds."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.core.errors import Invalid
from backend.demo.matching import make_household
from backend.items import service as items
from backend.items.models import CountyItemKind, KindSource
from backend.needs import service as needs_service
from backend.needs.models import Need
from backend.needs.schemas import NeedIn
from tests.helpers import post_form, post_json, sign_in_as
from tests.matches import factories as fx


async def test_resolve_given_inferred_unsure_and_wrong_category() -> None:
    tax = items.base_taxonomy()
    given = items.resolve(tax, category="goods", title="随便写的", item_kind="walker")
    assert (given.kind, given.unit, given.source) == ("walker", "台", KindSource.GIVEN)
    inferred = items.resolve(tax, category="goods", title="轮椅一台")
    assert (inferred.kind, inferred.unit, inferred.source) == (
        "wheelchair",
        "台",
        KindSource.INFERRED,
    )
    unsure = items.resolve(tax, category="goods", title="帮帮我们家")
    assert (unsure.kind, unsure.source) == (None, KindSource.UNSURE)
    # Kinds of another category are not taken from the title when the category is chosen.
    assert items.resolve(tax, category="services", title="轮椅维修").kind != "wheelchair"
    with pytest.raises(Invalid) as refused:
        items.resolve(tax, category="services", title="x", item_kind="wheelchair")
    assert refused.value.status_code == 422


async def test_need_api_says_whether_the_kind_was_given_or_inferred(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["caseworker"])
    async with runtime.transaction() as s:
        h = await make_household(s, region_code="330106004053", registered_by=demo["caseworker"])
        household = h.id
    url = f"/api/v1/households/{household}/needs"
    r = await post_json(client, url, {"category": "goods", "title": "冬季棉被 2 条", "quantity": 2})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["item_kind"], body["unit"], body["item_kind_source"]) == (
        "quilt",
        "条",
        "inferred",
    )
    r = await post_json(
        client,
        url,
        {"category": "goods", "title": "老人用", "quantity": 1, "item_kind": "walker"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["item_kind"], r.json()["item_kind_source"]) == ("walker", "given")


async def test_suggest_fragment_proposes_kind_and_unit(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["caseworker"])
    r = await client.get(
        "/items/suggest",
        params={"title": "助行器 2 个", "category": "goods", "unit": ""},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert 'value="walker" selected' in r.text
    assert "助行器" in r.text
    assert 'hx-swap-oob="outerHTML:#f-unit"' in r.text
    assert 'value="个"' in r.text
    # A unit the person typed is left alone.
    r = await client.get(
        "/items/suggest",
        params={"title": "助行器 2 个", "category": "goods", "unit": "台"},
        headers={"HX-Request": "true"},
    )
    assert "hx-swap-oob" not in r.text


async def test_coordinator_adds_a_county_kind_and_inference_uses_it(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["coordinator"])
    code = f"tea{uuid.uuid4().hex[:6]}"
    r = await post_form(
        client,
        "/coordination/item-kinds",
        {
            "county_code": "330106",
            "category": "goods",
            "code": code,
            "name_zh": "功夫茶具",
            "name_en": "Tea set",
            "synonyms": "茶具、茶杯",
            "units": "套=1;件=1",
            "substitutes": "",
        },
    )
    assert r.status_code == 303, r.text
    async with runtime.transaction() as s:
        row = await s.get(CountyItemKind, f"c330106_{code}")
        assert row is not None
        tax = await items.taxonomy_for(s, "330106")
        assert tax.infer("茶具两套").kind == f"c330106_{code}"
        assert (await items.taxonomy_for(s, "330109")).get(f"c330106_{code}") is None
    page = await client.get("/coordination/item-kinds")
    assert "功夫茶具" in page.text
    # Bad units and a county outside the coordinator's city are refused.
    bad = await post_form(
        client,
        "/coordination/item-kinds",
        {
            "county_code": "330106",
            "category": "goods",
            "code": "x_" + code,
            "name_zh": "某物",
            "name_en": "X",
            "units": "套",
        },
    )
    assert bad.status_code == 422
    away = await post_form(
        client,
        "/coordination/item-kinds",
        {
            "county_code": "331022",
            "category": "goods",
            "code": "y_" + code,
            "name_zh": "某物",
            "name_en": "X",
            "units": "件=1",
        },
    )
    assert away.status_code == 404


async def test_caseworker_confirms_an_unsure_kind(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as s:
        h = await make_household(s, region_code="330106004053", registered_by=demo["caseworker"])
        caseworker = await fx.user(s, demo["caseworker"])
        need = await needs_service.create_draft(
            s, caseworker, h.id, NeedIn(category="goods", title="家里需要帮助", quantity=1)
        )
        assert need.item_kind_source == "unsure"
        need_id = need.id
    await sign_in_as(client, runtime, demo["caseworker"])
    listing = await client.get("/casework/item-kinds")
    assert listing.status_code == 200
    assert "家里需要帮助" in listing.text
    r = await post_form(client, f"/casework/item-kinds/{need_id}", {"item_kind": "quilt"})
    assert r.status_code == 303
    assert r.headers["location"].endswith("done=confirmed")
    async with runtime.transaction() as s:
        need = (await s.scalars(select(Need).where(Need.id == need_id))).one()
        assert (need.item_kind, need.item_kind_source, need.unit) == ("quilt", "confirmed", "条")
