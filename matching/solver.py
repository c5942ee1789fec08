"""Maximum-score matching as a min-cost flow (OR-Tools ``SimpleMinCostFlow``).

Network, one flow unit = one unit of a need delivered by an offer:

- every offer node supplies ``offer.remaining`` units; the sink absorbs all of them;
- offer -> sink: bypass arc, capacity ``remaining``, cost 0 (capacity left unused);
- offer -> need: one arc per candidate edge, capacity ``min(need.remaining, offer.remaining,
  max_per_household)``, cost ``-(score + bonus)``;
- when an offer has ``max_per_household`` and several candidate needs of one household, the
  edges to them leave an intermediate (offer, household) node fed by an arc of capacity
  ``max_per_household``;
- need -> household: capacity ``need.remaining``; household -> sink: capacity
  ``per_household_cap`` (units; a household with one candidate need goes need -> sink directly
  with capacity ``min(need.remaining, per_household_cap)``).

Minimising cost maximises ``sum(score * units)``: flow is never forced through a negative
score because the bypass takes it at cost 0.

Emergency guarantee (lexicographic): edges to emergency needs get a ``bonus`` larger than the
score of any whole plan, ``bonus = max_edge_score * max_total_units + 1``. So the optimum first
maximises the number of emergency units served, and only then the total score. In particular
no emergency need is left short while an offer it is eligible for has spare capacity, the
household is under its cap and the offer's per-household limit allows it; and no other need
takes capacity that could have served one more emergency unit.

``objective`` reports the total score without the bonus, in scaled integer points.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from matching.candidates import CONSTRAINTS, DEFAULT_COMPAT, Candidates, Compat, build_candidates
from matching.columns import encode, values
from matching.explain import explain_edge
from matching.items import Taxonomy
from matching.scoring import (
    PARTS,
    SCALE,
    distance_part,
    need_part_table,
    offer_part,
    score_candidates,
)
from matching.types import Explanation, Need, Offer, Proposal, RunConfig, proposals_from_columns

#: Constraint codes every proposal passed.
PASSED: tuple[str, ...] = (*CONSTRAINTS, "household_cap")
_Row = TypeVar("_Row", Need, Offer)
#: OR-Tools scales costs by the node count; keep the largest arc cost well inside int64.
_COST_LIMIT = 2**62


class MatchingError(RuntimeError):
    """The flow solver did not return an optimal solution."""


@dataclass(slots=True)
class FlowGraph:
    """Arc arrays of the flow network (numpy, the dtypes OR-Tools takes without a copy);
    arcs ``0..num_edges-1`` are the candidate edges."""

    tails: NDArray[np.int32]
    heads: NDArray[np.int32]
    capacities: NDArray[np.int64]
    costs: NDArray[np.int64]
    supply_nodes: NDArray[np.int32]
    supplies: NDArray[np.int64]
    num_edges: int
    bonus: int
    edge_emergency: NDArray[np.bool_]


def build_graph(cands: Candidates, scores: NDArray[np.int64], config: RunConfig) -> FlowGraph:
    """Build the min-cost-flow network of the module docstring from scored candidates.

    Arc order (it decides which of several optimal plans OR-Tools returns, so it is fixed):
    candidate edges; (offer, household) limit arcs by first edge; per household by first
    need, its need arcs then its household arc (or one need -> sink arc); offer bypass arcs.
    Nodes: sink 0, offers ``1..m``, needs, (offer, household) nodes, household nodes.
    """
    needs, offers = cands.needs, cands.offers
    num_edges = len(cands.edge_need)
    m = len(offers)
    need_node0 = 1 + m
    next_node = need_node0 + len(needs)
    edge_need = cands.edge_need.astype(np.int64)
    edge_offer = cands.edge_offer.astype(np.int64)

    need_rem = cands.need_column("remaining")
    offer_rem = np.array([o.remaining for o in offers], dtype=np.int64)
    per_household = [o.eligibility.max_per_household for o in offers]
    has_limit = np.array([v is not None for v in per_household], dtype=bool)
    offer_lim = np.where(
        has_limit,
        np.maximum(np.minimum(offer_rem, [v if v is not None else 0 for v in per_household]), 0),
        offer_rem,
    ).astype(np.int64)
    urgency_code, urgencies = cands.need_codes("urgency")
    is_emergency = np.array([u == "emergency" for u in urgencies], dtype=bool)[urgency_code]
    edge_emergency = is_emergency[edge_need] if num_edges else np.zeros(0, dtype=bool)

    tails = (edge_offer + 1).astype(np.int32)
    heads = (need_node0 + edge_need).astype(np.int32)
    capacities = np.minimum(need_rem[edge_need], offer_lim[edge_offer])

    # Supply side: offers that have at least one candidate edge.
    offer_used = np.flatnonzero(np.bincount(edge_offer, minlength=m))
    total_supply = int(offer_rem[offer_used].sum())

    # Demand side: needs with edges grouped by household, households by their first need.
    cap = max(config.per_household_cap, 0)
    with_edges = np.flatnonzero(cands.need_start[1:] > cands.need_start[:-1])
    # Household codes in order of first appearance among the needs with edges.
    household_all, _ = cands.need_codes("household_id")
    household, n_households = _first_seen_codes(household_all[with_edges])
    demand = np.bincount(household, weights=need_rem[with_edges], minlength=n_households)
    total_demand = int(np.minimum(demand, cap).sum())

    max_score = int(scores.max()) if num_edges else 0
    bonus = max_score * min(total_supply, total_demand) + 1 if edge_emergency.any() else 0
    if (max_score + bonus) * (next_node + n_households + num_edges + 2) >= _COST_LIMIT:
        msg = "instance too large for the emergency bonus; split the run (e.g. per county)"
        raise MatchingError(msg)
    costs = -scores
    if bonus:
        costs[edge_emergency] -= bonus

    # Per-household limits of offers: (offer, household) nodes where several needs share them.
    need_household = np.full(len(needs), -1, dtype=np.int64)
    need_household[with_edges] = household
    limited = np.flatnonzero(has_limit[edge_offer])
    limit_tails = limit_heads = limit_caps = np.zeros(0, dtype=np.int64)
    if len(limited):
        key = edge_offer[limited] * n_households + need_household[edge_need[limited]]
        _, first, inverse, size = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        shared = np.flatnonzero(size > 1)
        shared = shared[np.argsort(first[shared], kind="stable")]
        node_of = np.full(len(first), -1, dtype=np.int64)
        node_of[shared] = next_node + np.arange(len(shared))
        next_node += len(shared)
        group_offer = edge_offer[limited[first[shared]]]
        limit_tails = group_offer + 1
        limit_heads = node_of[shared]
        limit_caps = offer_lim[group_offer]
        moved = node_of[inverse.ravel()]
        at = moved >= 0
        tails[limited[at]] = moved[at]

    # Needs -> households -> sink.
    size = np.bincount(household, minlength=n_households)
    multi = size > 1
    hh_node = np.full(n_households, -1, dtype=np.int64)
    hh_node[multi] = next_node + np.arange(int(multi.sum()))
    arcs_of = np.where(multi, size + 1, 1)
    hh_start = np.cumsum(arcs_of) - arcs_of
    order = np.argsort(household, kind="stable")
    members = with_edges[order]
    member_hh = household[order]
    first_member = np.cumsum(size) - size
    rank = np.arange(len(members)) - first_member[member_hh]
    n_arcs = int(arcs_of.sum())
    d_tails = np.zeros(n_arcs, dtype=np.int64)
    d_heads = np.zeros(n_arcs, dtype=np.int64)
    d_caps = np.zeros(n_arcs, dtype=np.int64)
    at = hh_start[member_hh] + rank
    d_tails[at] = need_node0 + members
    member_multi = multi[member_hh]
    d_heads[at] = np.where(member_multi, hh_node[member_hh], 0)
    d_caps[at] = np.where(member_multi, need_rem[members], np.minimum(need_rem[members], cap))
    last = hh_start[multi] + size[multi]
    d_tails[last] = hh_node[multi]
    d_caps[last] = cap

    # Bypass arcs and supplies.
    bypass_caps = offer_rem[offer_used]
    tails = np.concatenate([tails, limit_tails, d_tails, offer_used + 1]).astype(np.int32)
    heads = np.concatenate(
        [heads, limit_heads, d_heads, np.zeros(len(offer_used), dtype=np.int64)]
    ).astype(np.int32)
    capacities = np.concatenate([capacities, limit_caps, d_caps, bypass_caps]).astype(np.int64)
    costs = np.concatenate([costs, np.zeros(len(tails) - num_edges, dtype=np.int64)]).astype(
        np.int64
    )
    supply_nodes = np.concatenate([[0], offer_used + 1]).astype(np.int32)
    supplies = np.concatenate([[-total_supply], bypass_caps]).astype(np.int64)
    return FlowGraph(
        tails, heads, capacities, costs, supply_nodes, supplies, num_edges, bonus, edge_emergency
    )


def _first_seen_codes(codes: NDArray[np.int64]) -> tuple[NDArray[np.int64], int]:
    """``codes`` renumbered 0, 1, ... in order of first appearance, and how many."""
    if not len(codes):
        return codes, 0
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()], len(first)


def solve_graph(graph: FlowGraph) -> tuple[int, NDArray[np.int64]]:
    """Solve; return the optimal cost and the flow on each candidate edge."""
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        graph.tails, graph.heads, graph.capacities, graph.costs
    )
    smcf.set_nodes_supplies(graph.supply_nodes, graph.supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        msg = f"min-cost flow returned {status}"
        raise MatchingError(msg)
    if not graph.num_edges:
        return int(smcf.optimal_cost()), np.zeros(0, dtype=np.int64)
    flows = np.asarray(smcf.flows(np.arange(graph.num_edges, dtype=np.int32)), dtype=np.int64)
    return int(smcf.optimal_cost()), flows


@dataclass(slots=True)
class MatchResult:
    """Outcome of one run.

    ``proposals`` are sorted by (need id, offer id). ``objective`` is ``sum(score * quantity)``
    in scaled integer points (``SCALE`` per point, no emergency bonus); ``objective_points`` in
    points. ``stats`` holds counts and timings in seconds. Explanations are kept as compact
    edge references (``runner_up``) and rendered to :class:`Explanation` on demand.
    """

    proposals: tuple[Proposal, ...]
    objective: int
    emergency_units: int
    stats: dict[str, float]
    config: RunConfig
    taxonomy: Taxonomy | None
    _cands: Candidates = field(repr=False)
    _scores: NDArray[np.int64] = field(repr=False)
    _edges: list[int] = field(repr=False)
    _runner_up: list[int] = field(repr=False)
    _converted: list[bool] = field(repr=False)

    @property
    def candidates(self) -> Candidates:
        """The candidate edges of the run (for diagnostics and benchmarks)."""
        return self._cands

    @property
    def objective_points(self) -> float:
        return self.objective / SCALE

    def explanation(self, i: int) -> Explanation:
        """Explanation of ``proposals[i]``."""
        return explain_edge(
            self._cands,
            self._scores,
            edge=self._edges[i],
            runner_up=self._runner_up[i],
            quantity=self.proposals[i].quantity,
            config=self.config,
            taxonomy=self.taxonomy,
            converted=self._converted[i],
        )

    def explanations(self) -> list[Explanation]:
        return [self.explanation(i) for i in range(len(self.proposals))]


def runner_up_edges(
    cands: Candidates, scores: NDArray[np.int64], flows: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Per need, its best-scoring edge without flow (the first of equals; -1: none).

    For a proposed edge this is the best other candidate offer of the same need that was not
    proposed for it: the explanation's runner-up.
    """
    n = len(cands.needs)
    best = np.full(n, -1, dtype=np.int64)
    idle = np.flatnonzero(flows == 0)
    if not len(idle):
        return best
    idle_need = cands.edge_need[idle].astype(np.int64)
    idle_score = scores[idle]
    # Edges are grouped by need: the maximum per need, then the first edge reaching it.
    starts = np.flatnonzero(np.r_[True, idle_need[1:] != idle_need[:-1]])
    top = np.maximum.reduceat(idle_score, starts)
    group = np.cumsum(np.r_[False, idle_need[1:] != idle_need[:-1]])
    at_top = np.flatnonzero(idle_score == top[group])
    first = at_top[np.r_[True, group[at_top][1:] != group[at_top][:-1]]]
    best[idle_need[first]] = idle[first]
    return best


def _base_units(
    needs: Iterable[Need], offers: Iterable[Offer], taxonomy: Taxonomy
) -> tuple[list[Need], list[Offer], set[str], set[str]]:
    """:func:`to_base_units`, plus the ids of the needs and offers it converted."""

    def unit(key: tuple[str | None, str]) -> tuple[str, int]:
        group, factor = taxonomy.unit_of(*key)
        if not group:
            return key[1], 1
        return (group[1:] if group.startswith("?") else group), factor

    def convert(rows: list[_Row]) -> tuple[list[_Row], set[str]]:
        code, keys = encode(values(rows, "item_kind", "unit"))
        units = [unit(key) for key in keys]
        scaled = np.array([f != 1 for _, f in units], dtype=bool)[code]
        out = list(rows)
        changed: set[str] = set()
        for i in np.flatnonzero(scaled).tolist():
            row = rows[i]
            u, f = units[code[i]]
            out[i] = replace(row, unit=u, remaining=row.remaining * f)
            changed.add(row.id)
        return out, changed

    out_needs, changed_needs = convert(list(needs))
    out_offers, changed_offers = convert(list(offers))
    return out_needs, out_offers, changed_needs, changed_offers


def to_base_units(
    needs: Iterable[Need], offers: Iterable[Offer], taxonomy: Taxonomy
) -> tuple[list[Need], list[Offer]]:
    """Needs and offers with ``remaining`` in their kind's base unit (``unit`` set to it).

    A unit that is worth one base unit (台 of wheelchairs, 件) or does not convert (unknown
    size, or no kind) is kept as it is: its count is already the base count.
    """
    out_needs, out_offers, _, _ = _base_units(needs, offers, taxonomy)
    return out_needs, out_offers


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (restored after, as it was).

    A run allocates tens of thousands of small objects (proposals, their parts, codes) and
    makes no reference cycles; with the collector on, each allocation burst triggers
    collections that walk every object of the process (the caller's needs and offers
    included), which cost as much as a stage of the run. Reference counting still frees
    everything; only cycles wait for the next collection after the block.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_matching(
    needs: Iterable[Need],
    offers: Iterable[Offer],
    config: RunConfig,
    compat: Compat = DEFAULT_COMPAT,
    taxonomy: Taxonomy | None = None,
) -> MatchResult:
    """Propose who helps whom: maximise total score under all constraints (module docstring).

    With a ``taxonomy`` candidates need agreeing item kinds and units, and quantities are
    converted to each kind's base unit first (proposals are counted in it, see ``unit``).
    The cyclic garbage collector is paused during the run (:func:`gc_paused`).
    """
    with gc_paused():
        return _run_matching(needs, offers, config, compat, taxonomy)


def _run_matching(
    needs: Iterable[Need],
    offers: Iterable[Offer],
    config: RunConfig,
    compat: Compat,
    taxonomy: Taxonomy | None,
) -> MatchResult:
    w = config.weights
    if (
        min(w.urgency, w.vulnerability, w.waiting, w.distance, w.deadline, w.rating, w.relevance)
        < 0
    ):
        msg = "weights must be non-negative"
        raise ValueError(msg)
    t0 = time.perf_counter()
    changed_needs: set[str] = set()
    changed_offers: set[str] = set()
    if taxonomy is not None:
        needs, offers, changed_needs, changed_offers = _base_units(needs, offers, taxonomy)
    cands = build_candidates(needs, offers, config.today, compat, taxonomy)
    t1 = time.perf_counter()
    need_table = need_part_table(cands, config.today, config.weights)
    scores = score_candidates(cands, config.today, config.weights, need_table)
    t2 = time.perf_counter()
    graph = build_graph(cands, scores, config)
    t3 = time.perf_counter()
    _cost, flows = solve_graph(graph)
    t4 = time.perf_counter()

    edge_need, edge_offer = cands.edge_need, cands.edge_offer
    used = np.flatnonzero(flows)
    used = used[np.lexsort((edge_offer[used], edge_need[used]))]
    quantity = flows[used]
    score = scores[used]
    used_need = edge_need[used]
    used_offer = edge_offer[used]
    objective = int((score * quantity).sum())
    emergency_units = int(quantity[graph.edge_emergency[used]].sum())
    runner_up = runner_up_edges(cands, scores, flows)[used_need]
    # Parts in points: the need's own four from the table the scores used, distance by level,
    # rating by offer; relevance is what is left of the integer score (parts are rounded
    # separately and sum to it exactly). Integer / SCALE in float64, as Python divides.
    level_parts = np.array(
        [distance_part(level, w) for level in range(int(cands.edge_level.max(initial=0)) + 1)],
        dtype=np.int64,
    )
    ratings: dict[float | None, int] = {}
    offer_parts = np.array(
        [
            ratings[o.org_rating]
            if o.org_rating in ratings
            else ratings.setdefault(o.org_rating, offer_part(o, w))
            for o in cands.offers
        ],
        dtype=np.int64,
    ).reshape(-1)
    parts = np.empty((len(used), len(PARTS)), dtype=np.int64)
    own = need_table[used_need]
    parts[:, 0:3] = own[:, 0:3]  # urgency, vulnerability, waiting
    parts[:, 3] = level_parts[cands.edge_level[used]]  # distance
    parts[:, 4] = own[:, 3]  # deadline
    parts[:, 5] = offer_parts[used_offer] if len(cands.offers) else 0  # rating
    parts[:, 6] = score - parts[:, :6].sum(axis=1)  # relevance
    chosen = list(map(cands.needs.__getitem__, used_need.tolist()))
    proposals = proposals_from_columns(
        need_ids=values(chosen, "id"),
        offer_ids=values(map(cands.offers.__getitem__, used_offer.tolist()), "id"),
        quantities=quantity.tolist(),
        scores=(score / SCALE).tolist(),
        parts=[
            {
                "urgency": u,
                "vulnerability": v,
                "waiting": wt,
                "distance": d,
                "deadline": dl,
                "rating": r,
                "relevance": rel,
            }
            for u, v, wt, d, dl, r, rel in zip(*(parts.T / SCALE).tolist(), strict=True)
        ],
        passed=PASSED,
        units=values(chosen, "unit"),
    )
    if changed_needs or changed_offers:
        converted = [p.need_id in changed_needs or p.offer_id in changed_offers for p in proposals]
    else:
        converted = [False] * len(proposals)
    t5 = time.perf_counter()
    stats: dict[str, float] = {
        "needs": len(cands.needs),
        "offers": len(cands.offers),
        "candidates": len(cands),
        "arcs": len(graph.tails),
        "proposals": len(proposals),
        "emergency_bonus": graph.bonus,
        "candidates_s": t1 - t0,
        "scoring_s": t2 - t1,
        "graph_s": t3 - t2,
        "solve_s": t4 - t3,
        "proposals_s": t5 - t4,
        "total_s": t5 - t0,
    }
    return MatchResult(
        proposals=proposals,
        objective=objective,
        emergency_units=emergency_units,
        stats=stats,
        config=config,
        taxonomy=taxonomy,
        _cands=cands,
        _scores=scores,
        _edges=used.tolist(),
        _runner_up=runner_up.tolist(),
        _converted=converted,
    )
