from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import RunConfig, Weights, run_matching
from matching.candidates import check
from tests.matching.instances import (
    PATHS,
    TODAY,
    assert_feasible,
    brute_force,
    max_emergency_units,
    need,
    needs_st,
    offer,
    offers_st,
    random_instance,
)


@settings(max_examples=150, deadline=None)
@given(
    needs=needs_st(max_needs=5, max_qty=2),
    offers=offers_st(max_offers=3, max_qty=3),
    cap=st.integers(1, 3),
)
def test_objective_equals_brute_force(needs, offers, cap):
    config = RunConfig(today=TODAY, per_household_cap=cap)
    result = run_matching(needs, offers, config)
    assert_feasible(result, needs, offers, config)
    assert (result.emergency_units, result.objective) == brute_force(needs, offers, config)


@pytest.mark.parametrize(("seed", "cap"), [(1, 1), (2, 2), (3, 3)])
def test_large_random_instance_respects_every_constraint(seed, cap):
    needs, offers = random_instance(seed, n_needs=2000, n_offers=150)
    config = RunConfig(today=TODAY, per_household_cap=cap)
    result = run_matching(needs, offers, config)
    assert result.stats["candidates"] > 10_000  # a real instance, not a trivial one
    assert len(result.proposals) > 100
    assert_feasible(result, needs, offers, config)
    assert result.emergency_units == max_emergency_units(needs, offers, config)


def test_emergency_first_even_when_another_need_scores_higher():
    # Urgency weight 0: on score alone the normal need (vulnerability 1, long wait) wins.
    weights = Weights(urgency=0.0)
    config = RunConfig(today=TODAY, weights=weights)
    needs = [
        need("emergency", urgency="emergency", vulnerability=0.0, waiting_days=0),
        need("normal", urgency="normal", vulnerability=1.0, waiting_days=90),
    ]
    offers = [offer("o1", remaining=1)]
    result = run_matching(needs, offers, config)
    assert [(p.need_id, p.offer_id) for p in result.proposals] == [("emergency", "o1")]


def test_emergency_rerouting_beats_the_best_local_choice():
    # o1 can serve both; o2 only the normal need. The highest-score plan for o1 alone would
    # give it to the normal need; the optimum reroutes so both are served.
    needs = [
        need("e", urgency="emergency", category="medical", vulnerability=0.0),
        need("n", urgency="high", category="food", vulnerability=1.0, waiting_days=90),
    ]
    offers = [
        offer("o1", category="cash_grant", remaining=1),
        offer("o2", category="food", remaining=1, area=(PATHS[0][1],)),
    ]
    result = run_matching(needs, offers, RunConfig(today=TODAY))
    assert {(p.need_id, p.offer_id) for p in result.proposals} == {("e", "o1"), ("n", "o2")}


def test_household_cap_counts_units_across_needs():
    needs = [
        need("a", household="h1", remaining=3),
        need("b", household="h1", remaining=3),
        need("c", household="h2", remaining=1),
    ]
    offers = [offer("o", remaining=10)]
    result = run_matching(needs, offers, RunConfig(today=TODAY, per_household_cap=2))
    by_need = {p.need_id: p.quantity for p in result.proposals}
    assert by_need.get("a", 0) + by_need.get("b", 0) == 2
    assert by_need["c"] == 1


def test_offer_limit_per_household_spans_several_needs():
    needs = [need("a", household="h1", remaining=2), need("b", household="h1", remaining=2)]
    offers = [offer("o", remaining=10, max_per_household=1)]
    result = run_matching(needs, offers, RunConfig(today=TODAY, per_household_cap=4))
    assert sum(p.quantity for p in result.proposals) == 1


def test_capacity_goes_to_the_higher_score():
    needs = [need("low", vulnerability=0.1), need("high", vulnerability=0.9)]
    result = run_matching(needs, [offer("o")], RunConfig(today=TODAY))
    assert [p.need_id for p in result.proposals] == ["high"]
    assert result.objective == round(result.proposals[0].score * 1000)


def test_deterministic_regardless_of_input_order():
    needs, offers = random_instance(7, n_needs=400, n_offers=40)
    config = RunConfig(today=TODAY, per_household_cap=2)
    first = run_matching(needs, offers, config)
    rng = random.Random(0)
    shuffled_needs, shuffled_offers = needs[:], offers[:]
    rng.shuffle(shuffled_needs)
    rng.shuffle(shuffled_offers)
    second = run_matching(shuffled_needs, shuffled_offers, config)
    assert first.proposals == second.proposals
    assert first.explanations() == second.explanations()
    assert first.objective == second.objective
    keys = [(p.need_id, p.offer_id) for p in first.proposals]
    assert keys == sorted(keys)


def test_empty_and_unmatchable_inputs():
    config = RunConfig(today=TODAY)
    assert run_matching([], [], config).proposals == ()
    far = need("n", path=PATHS[-1])
    near_offer = offer("o", area=(PATHS[0][2],))
    assert not check(near_offer, far, TODAY)
    result = run_matching([far], [near_offer], config)
    assert result.proposals == ()
    assert result.objective == 0


def test_negative_weights_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        run_matching([], [], RunConfig(today=TODAY, weights=Weights(distance=-1.0)))
