"""The numpy stages equal plain per-edge / per-arc constructions (kept here as references).

The arc order of the flow network decides which of several optimal plans OR-Tools returns,
so the graph is compared array for array with the per-arc construction the engine used
before it was vectorised, and the candidate edges with the (need, most local level, offer)
order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from itertools import compress

import numpy as np
import pytest

from matching import RunConfig, Weights, run_matching, scoring
from matching import candidates as candidates_module
from matching.candidates import build_candidates, check, service_level
from matching.columns import distinct_sorted, encode
from matching.scoring import edge_score, score_candidates
from matching.solver import build_graph, gc_paused, runner_up_edges, solve_graph
from matching.types import Proposal, proposals_from_columns
from tests.matching.instances import PATHS, TODAY, need, offer, random_instance

W = Weights()


def _edges(cands):
    return [(cands.needs[ni].id, cands.offers[oi].id, level) for ni, oi, level in cands.pairs()]


def _reference_edges(needs, offers):
    """All pairs by the reference predicate, in (need id, most local first, offer id) order."""
    found = []
    for n in sorted(needs, key=lambda x: x.id):
        row = []
        for o in sorted(offers, key=lambda x: x.id):
            if check(o, n, TODAY):
                level = service_level(o, n)
                assert level is not None
                row.append((-level, o.id))
        found.extend((n.id, oid, -negative) for negative, oid in sorted(row))
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_edges_in_need_then_locality_then_offer_order(seed):
    needs, offers = random_instance(seed, n_needs=400, n_offers=50)
    cands = build_candidates(needs, offers, TODAY)
    assert len(cands) > 500
    assert _edges(cands) == _reference_edges(needs, offers)
    starts = cands.need_start.tolist()
    assert starts[0] == 0
    assert starts[-1] == len(cands)
    for ni in range(len(cands.needs)):
        assert set(cands.edge_need[starts[ni] : starts[ni + 1]].tolist()) <= {ni}


def test_short_paths_and_more_household_categories_than_a_machine_word():
    # 70 assistance categories: the eligibility bit masks take two 64-bit words.
    categories = [f"cat{i:02d}" for i in range(70)]
    needs = [
        need(
            f"n{i:03d}",
            path=PATHS[i % len(PATHS)][: 2 + i % 4],  # 2 to 5 levels
            categories=[categories[i % 70], categories[(i * 7) % 70]],
            flags=["disabled"] if i % 3 == 0 else [],
            deadline=None if i % 4 == 0 else TODAY + dt.timedelta(days=i % 20),
        )
        for i in range(140)
    ]
    offers = [
        offer(
            f"o{j:02d}",
            area=(PATHS[j % len(PATHS)][j % 5], PATHS[(j + 3) % len(PATHS)][(j + 2) % 5]),
            allowed=None if j % 5 == 0 else [categories[(j * 11 + k) % 70] for k in range(9)],
            flags=["disabled"] if j % 7 == 0 else [],
            start=None if j % 3 else TODAY + dt.timedelta(days=j % 15),
            remaining=3,
        )
        for j in range(40)
    ]
    cands = build_candidates(needs, offers, TODAY)
    assert len(cands) > 50
    assert _edges(cands) == _reference_edges(needs, offers)


def test_a_need_looked_up_by_several_keys(monkeypatch):
    """need_keys may give several keys: an offer reached by both is kept once."""
    original = candidates_module.need_keys

    def two_keys(n, taxonomy):
        return (*original(n, taxonomy), ("cmedical", ""))

    monkeypatch.setattr(candidates_module, "need_keys", two_keys)
    needs, offers = random_instance(4, n_needs=300, n_offers=40)
    cands = build_candidates(needs, offers, TODAY)
    got = {(n, o, level) for n, o, level in _edges(cands)}
    assert len(got) == len(cands)
    assert got == set(_reference_edges(needs, offers))
    assert any(
        cands.needs[ni].category != "medical" and cands.offers[oi].category == "medical"
        for ni, oi, _ in cands.pairs()
    )


def test_relevance_by_sorted_pairs_equals_the_table_and_the_per_edge_rule(monkeypatch):
    words = ("冬季", "棉被", "加厚保暖", "大米", "东北大米", "轮椅", "全新", "电暖器")
    needs, offers = random_instance(6, n_needs=300, n_offers=40)
    needs = [
        dataclasses.replace(n, terms=tuple(words[(i + k * 3) % 8] for k in range(i % 4)))
        for i, n in enumerate(needs)
    ]
    offers = [
        dataclasses.replace(o, terms=tuple(words[(j * 5 + k) % 8] for k in range(j % 5)))
        for j, o in enumerate(offers)
    ]
    cands = build_candidates(needs, offers, TODAY)
    dense = score_candidates(cands, TODAY, W)
    monkeypatch.setattr(scoring, "DENSE_TERMS_LIMIT", 0)
    searched = score_candidates(cands, TODAY, W)
    assert dense.tolist() == searched.tolist()
    assert any(scoring.relevance_scores(cands, W) > 0)
    for e, (ni, oi, level) in enumerate(cands.pairs()):
        assert dense[e] == edge_score(cands.needs[ni], cands.offers[oi], level, TODAY, W)


def _reference_graph(cands, scores, config):
    """The per-arc construction of the flow network (as before numpy), arc for arc."""
    needs, offers = cands.needs, cands.offers
    edge_need, edge_offer = cands.edge_need.tolist(), cands.edge_offer.tolist()
    num_edges = len(edge_need)
    m = len(offers)
    need_node0 = 1 + m
    next_node = need_node0 + len(needs)
    need_rem = [n.remaining for n in needs]
    offer_rem = [o.remaining for o in offers]
    offer_lim = [
        o.remaining
        if o.eligibility.max_per_household is None
        else max(min(o.remaining, o.eligibility.max_per_household), 0)
        for o in offers
    ]
    emergency = [needs[ni].urgency == "emergency" for ni in edge_need]
    tails = [oi + 1 for oi in edge_offer]
    heads = [need_node0 + ni for ni in edge_need]
    caps = [min(need_rem[ni], offer_lim[oi]) for ni, oi in zip(edge_need, edge_offer, strict=True)]
    offer_used = sorted(set(edge_offer))
    total_supply = sum(offer_rem[oi] for oi in offer_used)
    cap = max(config.per_household_cap, 0)
    household_needs: dict[str, list[int]] = {}
    for ni in sorted(set(edge_need)):
        household_needs.setdefault(needs[ni].household_id, []).append(ni)
    total_demand = sum(
        min(cap, sum(need_rem[ni] for ni in group)) for group in household_needs.values()
    )
    max_score = max(scores.tolist(), default=0)
    bonus = max_score * min(total_supply, total_demand) + 1 if any(emergency) else 0
    costs = [-(s + bonus) if em else -s for s, em in zip(scores.tolist(), emergency, strict=True)]
    groups: dict[tuple[int, str], list[int]] = {}
    has_limit = [o.eligibility.max_per_household is not None for o in offers]
    for e in compress(range(num_edges), [has_limit[oi] for oi in edge_offer]):
        groups.setdefault((edge_offer[e], needs[edge_need[e]].household_id), []).append(e)
    for (oi, _household), group in groups.items():
        if len(group) > 1:
            node, next_node = next_node, next_node + 1
            tails.append(oi + 1)
            heads.append(node)
            caps.append(offer_lim[oi])
            costs.append(0)
            for e in group:
                tails[e] = node
    for group in household_needs.values():
        if len(group) == 1:
            tails.append(need_node0 + group[0])
            heads.append(0)
            caps.append(min(need_rem[group[0]], cap))
            costs.append(0)
            continue
        node, next_node = next_node, next_node + 1
        for ni in group:
            tails.append(need_node0 + ni)
            heads.append(node)
            caps.append(need_rem[ni])
            costs.append(0)
        tails.append(node)
        heads.append(0)
        caps.append(cap)
        costs.append(0)
    supply_nodes, supplies = [0], [-total_supply]
    for oi in offer_used:
        tails.append(oi + 1)
        heads.append(0)
        caps.append(offer_rem[oi])
        costs.append(0)
        supply_nodes.append(oi + 1)
        supplies.append(offer_rem[oi])
    return tails, heads, caps, costs, supply_nodes, supplies, bonus


@pytest.mark.parametrize(("seed", "cap"), [(7, 1), (8, 2), (9, 3)])
def test_graph_equals_the_per_arc_construction_arc_for_arc(seed, cap):
    needs, offers = random_instance(seed, n_needs=500, n_offers=60)
    config = RunConfig(today=TODAY, per_household_cap=cap)
    cands = build_candidates(needs, offers, TODAY)
    scores = score_candidates(cands, TODAY, W)
    graph = build_graph(cands, scores, config)
    tails, heads, caps, costs, supply_nodes, supplies, bonus = _reference_graph(
        cands, scores, config
    )
    assert graph.bonus == bonus > 0
    assert graph.tails.dtype == graph.heads.dtype == graph.supply_nodes.dtype == np.int32
    assert graph.capacities.dtype == graph.costs.dtype == graph.supplies.dtype == np.int64
    assert graph.tails.tolist() == tails
    assert graph.heads.tolist() == heads
    assert graph.capacities.tolist() == caps
    assert graph.costs.tolist() == costs
    assert graph.supply_nodes.tolist() == supply_nodes
    assert graph.supplies.tolist() == supplies
    assert len(tails) > len(cands)  # limit, household and bypass arcs were added


def test_runner_up_is_the_first_best_edge_without_flow_of_the_need():
    needs, offers = random_instance(10, n_needs=600, n_offers=40)
    config = RunConfig(today=TODAY, per_household_cap=1)
    cands = build_candidates(needs, offers, TODAY)
    scores = score_candidates(cands, TODAY, W)
    _, flows = solve_graph(build_graph(cands, scores, config))
    best = runner_up_edges(cands, scores, flows).tolist()
    starts, score_list, flow_list = cands.need_start.tolist(), scores.tolist(), flows.tolist()
    for ni in range(len(cands.needs)):
        expected = -1
        for e in range(starts[ni], starts[ni + 1]):
            if not flow_list[e] and (expected < 0 or score_list[e] > score_list[expected]):
                expected = e
        assert best[ni] == expected
    assert any(b >= 0 for b in best)
    assert any(b < 0 for b in best)


def test_proposals_from_columns_are_ordinary_frozen_proposals():
    assert tuple(f.name for f in dataclasses.fields(Proposal)) == (
        "need_id",
        "offer_id",
        "quantity",
        "score",
        "parts",
        "passed",
        "unit",
    )
    built = proposals_from_columns(
        need_ids=["n1", "n2"],
        offer_ids=["o1", "o2"],
        quantities=[1, 3],
        scores=[12.5, 7.0],
        parts=[{"urgency": 12.5}, {"urgency": 7.0}],
        passed=("category",),
        units=["斤", ""],
    )
    assert built == (
        Proposal("n1", "o1", 1, 12.5, {"urgency": 12.5}, ("category",), "斤"),
        Proposal("n2", "o2", 3, 7.0, {"urgency": 7.0}, ("category",), ""),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].quantity = 2
    with pytest.raises(ValueError, match="shorter"):
        proposals_from_columns(
            need_ids=["n1"],
            offer_ids=[],
            quantities=[1],
            scores=[1.0],
            parts=[{}],
            passed=(),
            units=[""],
        )


def test_gc_is_paused_during_a_run_and_restored_as_it_was():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    needs, offers = random_instance(11, n_needs=50, n_offers=10)
    result = run_matching(needs, offers, RunConfig(today=TODAY))
    assert result.proposals
    assert gc.isenabled()


def test_codes_and_distinct_keys():
    codes, distinct = encode(["b", "a", "b", "c", "a"])
    assert codes.tolist() == [0, 1, 0, 2, 1]
    assert distinct == ["b", "a", "c"]
    codes, distinct = encode([])
    assert codes.tolist() == []
    assert distinct == []
    keys = np.array([5, 1, 5, 3, 1, 9], dtype=np.int64)
    assert distinct_sorted(keys).tolist() == [1, 3, 5, 9]
    assert distinct_sorted(keys[:1]).tolist() == [5]
    assert distinct_sorted(keys[:0]).tolist() == []
