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

import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import compress

from ortools.graph.python import min_cost_flow

from matching.candidates import CONSTRAINTS, DEFAULT_COMPAT, Candidates, Compat, build_candidates
from matching.explain import explain_edge
from matching.items import Taxonomy
from matching.scoring import (
    SCALE,
    distance_part,
    need_part_table,
    offer_part,
    score_candidates,
)
from matching.types import Explanation, Need, Offer, Proposal, RunConfig

#: Constraint codes every proposal passed.
PASSED: tuple[str, ...] = (*CONSTRAINTS, "household_cap")
#: OR-Tools scales costs by the node count; keep the largest arc cost well inside int64.
_COST_LIMIT = 2**62


class MatchingError(RuntimeError):
    """The flow solver did not return an optimal solution."""


@dataclass(slots=True)
class FlowGraph:
    """Arc arrays of the flow network; arcs ``0..num_edges-1`` are the candidate edges."""

    tails: array[int]
    heads: array[int]
    capacities: array[int]
    costs: array[int]
    supply_nodes: array[int]
    supplies: array[int]
    num_edges: int
    bonus: int
    edge_emergency: array[int]


def build_graph(cands: Candidates, scores: array[int], config: RunConfig) -> FlowGraph:
    """Build the min-cost-flow network of the module docstring from scored candidates."""
    needs, offers = cands.needs, cands.offers
    num_edges = len(cands.edge_need)
    m = len(offers)
    need_node0 = 1 + m
    next_node = need_node0 + len(needs)
    edge_need, edge_offer = cands.edge_need, cands.edge_offer

    need_rem = [n.remaining for n in needs]
    offer_rem = [o.remaining for o in offers]
    offer_lim = [
        o.remaining
        if o.eligibility.max_per_household is None
        else max(min(o.remaining, o.eligibility.max_per_household), 0)
        for o in offers
    ]
    is_emergency = [1 if n.urgency == "emergency" else 0 for n in needs]
    edge_emergency = array("b", [is_emergency[ni] for ni in edge_need])

    tails = array("i", [oi + 1 for oi in edge_offer])
    heads = array("i", [need_node0 + ni for ni in edge_need])
    capacities = array(
        "q",
        [min(need_rem[ni], offer_lim[oi]) for ni, oi in zip(edge_need, edge_offer, strict=True)],
    )

    # Supply side: offers that have at least one candidate edge.
    offer_used = sorted(set(edge_offer))
    total_supply = sum(offer_rem[oi] for oi in offer_used)

    # Demand side: per-household capacity, grouping needs by household.
    cap = max(config.per_household_cap, 0)
    household_needs: dict[str, list[int]] = {}
    for ni in sorted(set(edge_need)):
        household_needs.setdefault(needs[ni].household_id, []).append(ni)
    total_demand = sum(
        min(cap, sum(need_rem[ni] for ni in group)) for group in household_needs.values()
    )

    max_score = max(scores, default=0)
    bonus = max_score * min(total_supply, total_demand) + 1 if any(edge_emergency) else 0
    if (max_score + bonus) * (next_node + len(household_needs) + num_edges + 2) >= _COST_LIMIT:
        msg = "instance too large for the emergency bonus; split the run (e.g. per county)"
        raise MatchingError(msg)
    costs = array(
        "q",
        [-(s + bonus) if em else -s for s, em in zip(scores, edge_emergency, strict=True)],
    )

    # Per-household limits of offers: (offer, household) nodes where several needs share them.
    household_of = [n.household_id for n in needs]
    groups: dict[tuple[int, str], list[int]] = {}
    has_limit = [o.eligibility.max_per_household is not None for o in offers]
    for e in compress(range(num_edges), [has_limit[oi] for oi in edge_offer]):
        groups.setdefault((edge_offer[e], household_of[edge_need[e]]), []).append(e)
    for (oi, _household), group in groups.items():
        if len(group) > 1:
            node = next_node
            next_node += 1
            tails.append(oi + 1)
            heads.append(node)
            capacities.append(offer_lim[oi])
            costs.append(0)
            for e in group:
                tails[e] = node

    # Needs -> households -> sink.
    for group in household_needs.values():
        if len(group) == 1:
            ni = group[0]
            tails.append(need_node0 + ni)
            heads.append(0)
            capacities.append(min(need_rem[ni], cap))
            costs.append(0)
            continue
        node = next_node
        next_node += 1
        for ni in group:
            tails.append(need_node0 + ni)
            heads.append(node)
            capacities.append(need_rem[ni])
            costs.append(0)
        tails.append(node)
        heads.append(0)
        capacities.append(cap)
        costs.append(0)

    # Bypass arcs and supplies.
    supply_nodes = array("i", [0])
    supplies = array("q", [-total_supply])
    for oi in offer_used:
        tails.append(oi + 1)
        heads.append(0)
        capacities.append(offer_rem[oi])
        costs.append(0)
        supply_nodes.append(oi + 1)
        supplies.append(offer_rem[oi])
    return FlowGraph(
        tails, heads, capacities, costs, supply_nodes, supplies, num_edges, bonus, edge_emergency
    )


def solve_graph(graph: FlowGraph) -> tuple[int, list[int]]:
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
        return int(smcf.optimal_cost()), []
    flows: list[int] = smcf.flows(array("i", range(graph.num_edges))).tolist()
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
    _scores: array[int] = field(repr=False)
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


def _runner_up(cands: Candidates, scores: array[int], flows: list[int], e: int) -> int:
    """Best-scoring other edge of the same need to an offer not proposed for it (-1: none)."""
    ni = cands.edge_need[e]
    best = -1
    for other in range(cands.need_start[ni], cands.need_start[ni + 1]):
        if other != e and not flows[other] and (best < 0 or scores[other] > scores[best]):
            best = other
    return best


def to_base_units(
    needs: Iterable[Need], offers: Iterable[Offer], taxonomy: Taxonomy
) -> tuple[list[Need], list[Offer]]:
    """Needs and offers with ``remaining`` in their kind's base unit (``unit`` set to it).

    A unit that is worth one base unit (台 of wheelchairs, 件) or does not convert (unknown
    size, or no kind) is kept as it is: its count is already the base count.
    """

    memo: dict[tuple[str | None, str], tuple[str, int]] = {}

    def unit(kind: str | None, given: str) -> tuple[str, int]:
        found = memo.get((kind, given))
        if found is None:
            group, factor = taxonomy.unit_of(kind, given)
            if not group:
                found = (given, 1)
            else:
                found = ((group[1:] if group.startswith("?") else group), factor)
            memo[(kind, given)] = found
        return found

    out_needs = []
    for n in needs:
        u, f = unit(n.item_kind, n.unit)
        out_needs.append(n if f == 1 else replace(n, unit=u, remaining=n.remaining * f))
    out_offers = []
    for o in offers:
        u, f = unit(o.item_kind, o.unit)
        out_offers.append(o if f == 1 else replace(o, unit=u, remaining=o.remaining * f))
    return out_needs, out_offers


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
    """
    w = config.weights
    if (
        min(w.urgency, w.vulnerability, w.waiting, w.distance, w.deadline, w.rating, w.relevance)
        < 0
    ):
        msg = "weights must be non-negative"
        raise ValueError(msg)
    t0 = time.perf_counter()
    changed: set[str] = set()
    if taxonomy is not None:
        given_needs, given_offers = list(needs), list(offers)
        needs, offers = to_base_units(given_needs, given_offers, taxonomy)
        changed = {a.id for a, b in zip(given_needs, needs, strict=True) if a is not b} | {
            "o:" + a.id for a, b in zip(given_offers, offers, strict=True) if a is not b
        }
    cands = build_candidates(needs, offers, config.today, compat, taxonomy)
    t1 = time.perf_counter()
    need_table = need_part_table(cands, config.today, config.weights)
    scores = score_candidates(cands, config.today, config.weights, need_table)
    t2 = time.perf_counter()
    graph = build_graph(cands, scores, config)
    t3 = time.perf_counter()
    _cost, flows = solve_graph(graph)
    t4 = time.perf_counter()

    used = list(compress(range(len(flows)), flows))
    used.sort(key=lambda e: (cands.edge_need[e], cands.edge_offer[e]))
    proposals: list[Proposal] = []
    runner_up: list[int] = []
    converted: list[bool] = []
    objective = 0
    emergency_units = 0
    # Parts in points: the need's own four from the table the scores used, distance by level,
    # rating by offer; relevance is what is left of the integer score (parts are rounded
    # separately and sum to it exactly).
    level_parts = [distance_part(level, w) for level in range(max(cands.edge_level, default=0) + 1)]
    offer_parts: dict[int, int] = {}
    edge_need, edge_offer, edge_level = cands.edge_need, cands.edge_offer, cands.edge_level
    edge_emergency = graph.edge_emergency
    for e in used:
        ni = edge_need[e]
        oi = edge_offer[e]
        need = cands.needs[ni]
        offer = cands.offers[oi]
        quantity = flows[e]
        score = scores[e]
        urgency, vulnerability, waiting, deadline = need_table[ni] or (0, 0, 0, 0)
        distance = level_parts[edge_level[e]]
        rating = offer_parts.get(oi)
        if rating is None:
            rating = offer_parts[oi] = offer_part(offer, w)
        relevance = score - urgency - vulnerability - waiting - deadline - distance - rating
        objective += score * quantity
        if edge_emergency[e]:
            emergency_units += quantity
        proposals.append(
            Proposal(
                need_id=need.id,
                offer_id=offer.id,
                quantity=quantity,
                score=score / SCALE,
                parts={
                    "urgency": urgency / SCALE,
                    "vulnerability": vulnerability / SCALE,
                    "waiting": waiting / SCALE,
                    "distance": distance / SCALE,
                    "deadline": deadline / SCALE,
                    "rating": rating / SCALE,
                    "relevance": relevance / SCALE,
                },
                passed=PASSED,
                unit=need.unit,
            )
        )
        runner_up.append(_runner_up(cands, scores, flows, e))
        converted.append(bool(changed) and (need.id in changed or "o:" + offer.id in changed))
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
        proposals=tuple(proposals),
        objective=objective,
        emergency_units=emergency_units,
        stats=stats,
        config=config,
        taxonomy=taxonomy,
        _cands=cands,
        _scores=scores,
        _edges=used,
        _runner_up=runner_up,
        _converted=converted,
    )
