from __future__ import annotations

import datetime as dt

from hypothesis import given, settings

from matching.candidates import (
    DEFAULT_COMPAT,
    build_candidates,
    build_index,
    category_ok,
    check,
    load_compat,
    service_level,
)
from tests.matching.instances import (
    PATHS,
    TODAY,
    need,
    needs_st,
    offer,
    offers_st,
    random_instance,
)

COMMUNITY = PATHS[0]  # 330000 / 330100 / 330102 / 330102001 / 330102001001
SIBLING_COUNTY = PATHS[4]


def _pairs(needs, offers):
    cands = build_candidates(needs, offers, TODAY)
    return {(cands.needs[ni].id, cands.offers[oi].id, level) for ni, oi, level in cands.pairs()}


def _reference(needs, offers):
    return {(n.id, o.id, service_level(o, n)) for n in needs for o in offers if check(o, n, TODAY)}


@settings(max_examples=200, deadline=None)
@given(needs=needs_st(max_needs=12, max_qty=3), offers=offers_st(max_offers=8, max_qty=3))
def test_indexed_generation_equals_all_pairs_reference(needs, offers):
    assert _pairs(needs, offers) == _reference(needs, offers)


def test_indexed_generation_equals_reference_on_a_larger_instance():
    needs, offers = random_instance(11, n_needs=600, n_offers=60)
    pairs = _pairs(needs, offers)
    assert len(pairs) > 1000
    assert pairs == _reference(needs, offers)


def test_edges_are_grouped_by_need_and_most_local_first():
    needs, offers = random_instance(5, n_needs=300, n_offers=40)
    cands = build_candidates(needs, offers, TODAY)
    assert [n.id for n in cands.needs] == sorted(n.id for n in needs)
    for ni in range(len(cands.needs)):
        span = range(cands.need_start[ni], cands.need_start[ni + 1])
        assert all(cands.edge_need[e] == ni for e in span)
        levels = [cands.edge_level[e] for e in span]
        assert levels == sorted(levels, reverse=True)
        offers_of_need = [cands.edge_offer[e] for e in span]
        assert len(offers_of_need) == len(set(offers_of_need))


def test_compat_table_is_data_and_identity_is_always_compatible():
    assert load_compat() == DEFAULT_COMPAT
    assert "food" in DEFAULT_COMPAT["voucher"]
    custom = load_compat('{"_comment": "x", "kit": ["food"]}')
    assert custom == {"kit": frozenset({"food"})}
    assert category_ok(offer("o", category="kit"), need("n", category="food"), custom)
    assert category_ok(offer("o", category="medical"), need("n", category="medical"), custom)
    assert not category_ok(offer("o", category="food"), need("n", category="kit"), custom)
    assert not category_ok(offer("o", category="food"), need("n", category="medical"))


def test_service_area_is_a_subtree():
    n = need("n", path=COMMUNITY)
    assert service_level(offer("o", area=(COMMUNITY[2],)), n) == 2
    assert service_level(offer("o", area=(COMMUNITY[4],)), n) == 4
    assert service_level(offer("o", area=("330000",)), n) == 0
    assert service_level(offer("o", area=(SIBLING_COUNTY[2],)), n) is None
    # Several roots: the most local one on the need's path counts.
    assert service_level(offer("o", area=("330000", COMMUNITY[3])), n) == 3


def test_eligibility_rules():
    dibao_disabled = need("n", categories=["dibao"], flags=["disabled"])
    temporary = need("m", categories=["temporary"], flags=[])
    dibao_only = offer("o", allowed=["dibao", "tekun"])
    disabled_only = offer("p", flags=["disabled"])
    assert check(dibao_only, dibao_disabled, TODAY)
    assert not check(dibao_only, temporary, TODAY)
    assert check(disabled_only, dibao_disabled, TODAY)
    assert not check(disabled_only, temporary, TODAY)
    assert _pairs([dibao_disabled, temporary], [dibao_only, disabled_only]) == {
        ("n", "o", 0),
        ("n", "p", 0),
    }


def test_availability_window_and_capacity():
    soon = need("n", deadline=TODAY + dt.timedelta(days=5))
    open_ended = need("m", deadline=None)
    expired = offer("expired", until=TODAY - dt.timedelta(days=1))
    last_day = offer("last_day", until=TODAY)
    late = offer("late", start=TODAY + dt.timedelta(days=6))
    on_deadline = offer("on_deadline", start=TODAY + dt.timedelta(days=5))
    empty = offer("empty", remaining=0)
    got = _pairs([soon, open_ended], [expired, last_day, late, on_deadline, empty])
    assert {(n, o) for n, o, _ in got} == {
        ("n", "last_day"),
        ("n", "on_deadline"),
        ("m", "last_day"),
        ("m", "late"),
        ("m", "on_deadline"),
    }
    assert _pairs([need("z", remaining=0)], [last_day]) == set()


def test_index_buckets_only_by_served_category_and_area_code():
    offers = [
        offer("a", category="voucher", area=("330100", "330203")),
        offer("b", category="medical", area=("330102001",), until=TODAY - dt.timedelta(days=1)),
    ]
    index = build_index(offers, TODAY)
    served = DEFAULT_COMPAT["voucher"] | {"voucher"}
    assert set(index) == {("c" + c, "", code) for c in served for code in ("330100", "330203")}
