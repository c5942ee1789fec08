"""Item kinds: the taxonomy as data, substitution, units, inference, and the engine using them."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from matching import RunConfig, i18n, run_matching
from matching.candidates import check
from matching.explain import render
from matching.items import Taxonomy, cn_number, load_taxonomy, normalize_unit, parse_rows, terms
from tests.matching.instances import TODAY, need, offer

TAX = load_taxonomy()
#: Every top-level category of the web app (need_categories) plus everyday services.
CATEGORIES = {
    "goods",
    "meals",
    "education",
    "medical",
    "housing_repair",
    "employment",
    "companionship",
    "legal_aid",
    "micro_wish",
    "cash",
    "services",
}


def test_taxonomy_loads_a_few_hundred_kinds_in_every_category_with_both_names():
    assert len(TAX) >= 250
    assert set(TAX.categories()) == CATEGORIES
    for kind in TAX.kinds.values():
        assert kind.zh
        assert kind.en
        assert kind.units, kind.code
        assert kind.base_unit, kind.code
        assert all(f >= 0 for f in kind.units.values())
    for code in ("wheelchair", "walker", "crutches", "quilt", "rice", "edible_oil"):
        assert TAX.get(code) is not None
    assert TAX.get("bathing_help").category == "services"  # type: ignore[union-attr]
    assert TAX.get("tutoring").zh == "课业辅导"  # type: ignore[union-attr]


def test_substitution_is_one_way_and_only_as_the_table_says():
    assert TAX.can_serve("walker", "walker")
    assert TAX.can_serve("walker", "crutches")
    assert not TAX.can_serve("walker", "wheelchair")
    assert not TAX.can_serve("crutches", "walker")
    assert not TAX.can_serve("quilt", "wheelchair")
    assert TAX.serves("wheelchair") == {"wheelchair"}


def test_unknown_substitute_or_duplicate_code_is_refused():
    row = {"category": "goods", "code": "x", "zh": "某物", "en": "X", "units": "件=1"}
    with pytest.raises(ValueError, match="unknown substitute"):
        Taxonomy(parse_rows([{**row, "substitutes": "nothing"}]))
    with pytest.raises(ValueError, match="twice"):
        TAX.extended([{**row, "code": "rice"}], county="330106")


def test_county_extension_adds_a_kind_that_inference_then_finds():
    extended = TAX.extended(
        [
            {
                "category": "goods",
                "code": "c330106_tea_set",
                "zh": "茶具",
                "en": "Tea set",
                "synonyms": "功夫茶具",
                "units": "套=1",
                "substitutes": "",
            }
        ],
        county="330106",
    )
    assert len(extended) == len(TAX) + 1
    assert extended.get("c330106_tea_set").county == "330106"  # type: ignore[union-attr]
    assert extended.infer("功夫茶具两套").kind == "c330106_tea_set"
    assert TAX.infer("功夫茶具两套").kind != "c330106_tea_set"


def test_units_normalise_and_convert_through_the_kind():
    assert normalize_unit("公斤") == normalize_unit("千克") == normalize_unit(" KG ") == "kg"
    assert normalize_unit("升") == "L"
    assert TAX.convert(10, "rice", "kg", "斤", round_up=False) == 20
    assert TAX.convert(3, "rice", "斤", "公斤", round_up=False) == 1
    assert TAX.convert(3, "rice", "斤", "公斤", round_up=True) == 2
    assert TAX.convert(1, "crutches", "副", "根", round_up=False) == 2
    # A bag of rice has no known size: it converts only to bags.
    assert TAX.convert(1, "rice", "袋", "斤", round_up=False) is None
    assert TAX.convert(4, "rice", "袋", "袋", round_up=False) == 4
    # Pieces of different counted kinds share the group 件 (for substitution).
    assert TAX.unit_of("walker", "台")[0] == TAX.unit_of("crutches", "根")[0] == "件"
    # No unit means the kind's default unit.
    assert TAX.unit_of("wheelchair", "") == ("件", 1)


@pytest.mark.parametrize(
    ("text", "kind", "unit", "quantity"),
    [
        ("轮椅一台", "wheelchair", "台", 1),
        ("冬季棉被 100 条", "quilt", "条", 100),
        ("助行器2个", "walker", "个", 2),
        ("需要一副拐杖", "crutches", "副", 1),
        ("东北大米10公斤", "rice", "kg", 10),
        ("大米 50 斤", "rice", "斤", 50),
        ("食用油5升", "edible_oil", "L", 5),
        ("电暖气一台", "electric_heater", "台", 1),
        ("助听器 1 副", "hearing_aid", "副", 1),
        ("论椅一辆", "wheelchair", "辆", 1),  # a typo listed as a synonym
        ("课业辅导十二次", "tutoring", "次", 12),
        ("老人需要上门助浴", "bathing_help", "次", None),
        ("理发", "haircut", "次", None),
        ("屋顶漏水需要补漏", "roof_repair", "户", None),
        ("法律咨询：讨薪问题", "legal_consultation", "次", None),
        ("劳动仲裁代理", "litigation_aid", "件", None),
        ("Wheelchair x1", "wheelchair", "台", None),
    ],
)
def test_inference_from_typed_titles(text, kind, unit, quantity):
    found = TAX.infer(text)
    assert (found.kind, found.unit, found.quantity) == (kind, unit, quantity)


def test_inference_is_unsure_when_two_kinds_compete_and_none_without_a_name():
    mixed = TAX.infer("家里电视坏了需要家电维修")
    assert mixed.kind == "appliance_repair"
    assert "television" in mixed.alternatives
    assert not mixed.sure
    assert TAX.infer("轮椅一台").sure
    nothing = TAX.infer("帮帮我们")
    assert nothing.kind is None
    assert not nothing.sure


def test_chinese_numbers():
    assert [cn_number(t) for t in ("3", "两", "十", "十五", "二十", "三百", "一千二百")] == [
        3,
        2,
        10,
        15,
        20,
        300,
        1200,
    ]
    assert cn_number("abc") is None


def test_terms_drop_numbers_units_and_filler():
    words = terms("急需冬季棉被 100 条，加厚保暖")
    assert "棉被" in words
    assert "冬季" in words
    assert "100" not in words
    assert "急需" not in words


# ---------------------------------------------------------------- the engine with item kinds


def _kinds_run(needs, offers, **config):
    return run_matching(needs, offers, RunConfig(today=TODAY, **config), taxonomy=TAX)


def test_offer_is_a_candidate_only_for_its_kind_or_a_substitute():
    wheelchair = need("wc", category="goods", kind="wheelchair", unit="台")
    crutches = need("cr", category="goods", kind="crutches", unit="根", household="h2")
    quilt = offer("quilt", category="goods", kind="quilt", unit="条", remaining=100)
    walker = offer("walker", category="goods", kind="walker", unit="台", remaining=5)
    assert not check(quilt, wheelchair, TODAY, taxonomy=TAX)
    assert not check(walker, wheelchair, TODAY, taxonomy=TAX)
    assert check(walker, crutches, TODAY, taxonomy=TAX)
    # Category-only (no taxonomy): the quilt would serve the wheelchair need.
    assert check(quilt, wheelchair, TODAY)
    result = _kinds_run([wheelchair, crutches], [quilt, walker], per_household_cap=5)
    assert [(p.need_id, p.offer_id) for p in result.proposals] == [("cr", "walker")]


def test_units_that_do_not_convert_are_not_candidates_and_others_are_converted():
    rice_kg = need("kg", category="goods", kind="rice", unit="公斤", remaining=5)
    rice_bags = offer("bags", category="goods", kind="rice", unit="袋", remaining=50)
    rice_jin = offer("jin", category="goods", kind="rice", unit="斤", remaining=4)
    assert not check(rice_bags, rice_kg, TODAY, taxonomy=TAX)
    assert check(rice_jin, rice_kg, TODAY, taxonomy=TAX)
    result = _kinds_run([rice_kg], [rice_bags, rice_jin], per_household_cap=100)
    (proposal,) = result.proposals
    # 5 kg = 10 斤 asked; the offer has 4 斤 — all of it, counted in 斤.
    assert (proposal.offer_id, proposal.quantity, proposal.unit) == ("jin", 4, "斤")
    text = render(result.explanation(0), i18n.zh, "zh")
    assert "数量已换算为斤" in text
    assert "拟分配 4 斤" in text


def test_relevance_prefers_the_offer_whose_text_says_what_the_need_says():
    n = need("n", category="goods", kind="quilt", terms=("冬季", "加厚", "棉被"))
    thin = offer("thin", category="goods", kind="quilt", terms=("夏凉", "棉被"))
    warm = offer("warm", category="goods", kind="quilt", terms=("冬季", "加厚", "棉被"))
    result = _kinds_run([n], [thin, warm])
    assert [p.offer_id for p in result.proposals] == ["warm"]
    assert result.proposals[0].parts["relevance"] == 10.0


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def test_explanation_names_offer_kinds_units_and_dates_in_both_languages():
    deadline = TODAY + dt.timedelta(days=20)
    n = need(
        "4c1f0f7e-1111-4111-8111-111111111111",
        category="goods",
        kind="crutches",
        unit="根",
        remaining=2,
        deadline=deadline,
        categories=["dibao"],
    )
    walker = offer(
        "fde87415-2222-4222-8222-222222222222",
        category="goods",
        kind="walker",
        unit="台",
        remaining=3,
        until=TODAY + dt.timedelta(days=60),
        title="四脚助行器",
        org_name="西湖区慈善总会",
    )
    other = offer(
        "aaaa0000-3333-4333-8333-333333333333",
        category="goods",
        kind="crutches",
        unit="根",
        remaining=1,
        area=("330000",),
        title="铝合金拐杖",
        org_name="省残联",
        rating=1.0,
    )
    result = _kinds_run([n], [walker, other], per_household_cap=2)
    i = [p.offer_id for p in result.proposals].index(walker.id)
    explanation = result.explanation(i)
    zh_text = render(explanation, i18n.zh, "zh")
    en_text = render(explanation, i18n.identity, "en")
    for text in (zh_text, en_text):
        assert not UUID_RE.search(text), text
        assert "四脚助行器" in text
        assert deadline.isoformat() in text
        assert (TODAY + dt.timedelta(days=60)).isoformat() in text
        assert "none" not in text
        assert "无 至 无" not in text
        assert "goods" not in text
    assert "西湖区慈善总会" in zh_text
    assert "助行器可替代所需的拐杖" in zh_text
    assert "Walking frame may stand in for the Crutches asked for" in en_text
    assert "资源剩余 3 台，需求 2 根；拟分配 2 根" in zh_text
    assert "Offer has 3 units left, the need asks for 2 pcs; proposed 2 pcs" in en_text


def test_window_without_dates_reads_as_any_time():
    result = _kinds_run(
        [need("n", category="goods", kind="quilt")],
        [offer("o", category="goods", kind="quilt", title="棉被")],
    )
    text = render(result.explanation(0), i18n.zh, "zh")
    assert "随时可提供" in text
    assert "无 至 无" not in text
    assert "至 无" not in text
