"""Matching engine benchmark: engine vs bare OR-Tools vs greedy vs first-come-first-served.

    python benchmarks/matching.py --needs 100000 --offers 10000

Generates a synthetic Zhejiang instance (11 cities, 8 counties each, 10 townships per county,
10 communities per township; ~20 candidate offers per need). By default needs and offers carry
item kinds of the taxonomy (12 kinds, some substituting for others), units (a tenth of the rice
in kg against 斤, some in bags that convert to nothing) and text terms, and the engine runs with
the taxonomy (kind and unit candidates, relevance part); ``--no-kinds`` runs the category-only
rule of before. Then:

- runs the engine (``run_matching``: candidates, scores, graph, solve, proposals with compact
  explanations) and, timed separately, renders every explanation;
- solves the very same flow network with bare OR-Tools (timing only add-arcs + supplies +
  solve) and computes its objective from its own flows (``optimum``);
- an offline greedy (edges by (emergency, score) descending, take what fits);
- first-come-first-served (needs by waiting time, longest first; offers in candidate order).

Time: wall clock (``time.perf_counter``) and CPU time of the process (``time.process_time``),
the fastest of ``--repeat`` runs each. The engine and OR-Tools' min-cost flow run on one thread,
so on a quiet machine the two agree; on a shared one the wall clock also counts the time the
process waited for a core, and the CPU-time ratio is the steadier comparison (``ratio_cpu``
beside ``ratio`` in the JSON line).

Memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the process's peak resident set size
(includes the generated input and OR-Tools' C++ memory), read right after the engine run
(``peak_mb``) and at the end (``peak_mb_end``, after the extra baseline solves).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from matching import Eligibility, MatchResult, Need, Offer, RunConfig, run_matching
from matching.candidates import Candidates
from matching.explain import render
from matching.i18n import zh
from matching.items import Taxonomy, load_taxonomy
from matching.scoring import SCALE, score_candidates
from matching.solver import FlowGraph, build_graph

TODAY = dt.date(2026, 11, 23)
CITIES = [f"33{c:02d}00" for c in range(1, 12)]
NEED_CATEGORIES = [
    "food",
    "clothing",
    "daily_goods",
    "medical",
    "rehabilitation",
    "education",
    "housing_repair",
    "heating",
    "companionship",
    "eldercare",
    "disability_aid",
]
OFFER_CATEGORIES = [
    *NEED_CATEGORIES,
    "cash_grant",
    "voucher",
    "medical_service",
    "rehab_equipment",
    "tutoring",
    "volunteer_visit",
    "home_care",
    "renovation",
]
HOUSEHOLD_CATEGORIES = [
    "dibao",
    "dibao_edge",
    "tekun",
    "expense_poverty",
    "temporary",
    "low_income_farmer",
]
FLAGS = ["disabled", "seriously_ill", "minor", "elderly", "union_hardship", "veteran"]
#: Item kinds of the default instance (walker substitutes for crutches and walking sticks,
#: flour for rice, blanket-like electric blanket for blankets...).
KINDS = [
    "wheelchair",
    "walker",
    "crutches",
    "walking_stick",
    "quilt",
    "blanket",
    "rice",
    "flour",
    "edible_oil",
    "electric_heater",
    "tutoring",
    "bathing_help",
]
#: Words the synthetic texts are made of (besides the kind's own name).
WORDS = [
    "冬季",
    "加厚",
    "保暖",
    "全新",
    "九成新",
    "折叠",
    "轻便",
    "老人",
    "儿童",
    "残疾",
    "独居",
    "东北",
    "新米",
    "五常",
    "菜籽",
    "非转基因",
    "一级",
    "家用",
    "节能",
    "静音",
    "上门",
    "每周",
    "周末",
    "数学",
    "英语",
    "小学",
    "初中",
    "铝合金",
    "可调节",
    "防滑",
    "医用",
    "护理",
    "纯棉",
    "羊毛",
    "珊瑚绒",
    "大号",
    "小号",
    "长期",
    "临时",
    "爱心",
]
# Offer service-area root level: province, city, county, township, community.
LEVEL_WEIGHTS = [0.001, 0.12, 0.55, 0.25, 0.079]


def region_tree() -> list[tuple[str, ...]]:
    """All community paths of the synthetic Zhejiang tree."""
    return [
        (
            "330000",
            city,
            f"{city[:4]}{k:02d}",
            f"{city[:4]}{k:02d}{t:03d}",
            f"{city[:4]}{k:02d}{t:03d}{c:03d}",
        )
        for city in CITIES
        for k in range(1, 9)
        for t in range(1, 11)
        for c in range(1, 11)
    ]


def _unit(rng: random.Random, taxonomy: Taxonomy, kind: str) -> str:
    units = list(taxonomy.kinds[kind].units)
    roll = rng.random()
    if roll < 0.85 or len(units) == 1:
        return units[0]
    return rng.choice(units[1:])


def _terms(rng: random.Random, taxonomy: Taxonomy, kind: str) -> tuple[str, ...]:
    return (taxonomy.kinds[kind].zh, *rng.sample(WORDS, rng.randint(1, 3)))


def generate(
    n_needs: int, n_offers: int, seed: int, taxonomy: Taxonomy | None = None
) -> tuple[list[Need], list[Offer]]:
    rng = random.Random(seed)
    paths = region_tree()
    needs = []
    household = 0
    path = paths[0]
    for i in range(n_needs):
        if i == 0 or rng.random() > 0.2:  # a fifth of needs share a household with the previous
            household += 1
            path = rng.choice(paths)
            cats = frozenset(rng.sample(HOUSEHOLD_CATEGORIES, rng.choice((1, 1, 2))))
            flags = frozenset(f for f in FLAGS if rng.random() < 0.15)
        urgency = rng.choices(("emergency", "high", "normal"), (5, 25, 70))[0]
        deadline = TODAY + dt.timedelta(days=rng.randint(1, 60)) if rng.random() < 0.6 else None
        kind = rng.choice(KINDS) if taxonomy else None
        needs.append(
            Need(
                id=f"n{i:07d}",
                category=taxonomy.kinds[kind].category
                if taxonomy and kind
                else rng.choice(NEED_CATEGORIES),
                item_kind=kind,
                unit=_unit(rng, taxonomy, kind) if taxonomy and kind else "",
                terms=_terms(rng, taxonomy, kind) if taxonomy and kind else (),
                remaining=rng.choices((1, 2, 3), (70, 20, 10))[0],
                urgency=urgency,
                deadline=deadline,
                region_path=path,
                household_id=f"h{household:07d}",
                household_categories=cats,
                household_flags=flags,
                vulnerability=round(rng.random(), 2),
                waiting_days=rng.randint(0, 180),
            )
        )
    offers = []
    for j in range(n_offers):
        level = rng.choices(range(5), LEVEL_WEIGHTS)[0]
        area = (rng.choice(paths)[level],)
        if rng.random() < 0.1:
            area = (*area, rng.choice(paths)[min(level + 1, 4)])
        kind = rng.random()
        if kind < 0.7:
            rules = Eligibility()
        elif kind < 0.85:
            rules = Eligibility(allowed_categories=frozenset({"dibao", "tekun"}))
        elif kind < 0.95:
            rules = Eligibility(required_flags=frozenset({"disabled"}), max_per_household=2)
        else:
            rules = Eligibility(required_flags=frozenset({"union_hardship"}), max_per_household=1)
        start = TODAY + dt.timedelta(days=rng.randint(1, 40)) if rng.random() < 0.1 else None
        until = TODAY - dt.timedelta(days=1) if rng.random() < 0.03 else None
        okind = rng.choice(KINDS) if taxonomy else None
        offers.append(
            Offer(
                id=f"o{j:06d}",
                organization_id=f"org{rng.randint(1, n_offers // 5 + 1)}",
                category=taxonomy.kinds[okind].category
                if taxonomy and okind
                else rng.choice(OFFER_CATEGORIES),
                item_kind=okind,
                unit=_unit(rng, taxonomy, okind) if taxonomy and okind else "",
                terms=_terms(rng, taxonomy, okind) if taxonomy and okind else (),
                remaining=rng.randint(1, 15) * (3 if okind else 1),
                service_area=area,
                eligibility=rules,
                available_from=start,
                available_until=until,
                org_rating=None if rng.random() < 0.3 else round(rng.uniform(1, 5), 1),
            )
        )
    return needs, offers


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def greedy(cands: Candidates, scores: list[int], cap: int, order: list[int]) -> tuple[int, int]:
    """Take edges in ``order`` while everything fits; return (objective, emergency units)."""
    needs, offers = cands.needs, cands.offers
    edge_need, edge_offer = cands.edge_need.tolist(), cands.edge_offer.tolist()
    offer_left = [o.remaining for o in offers]
    need_left = [n.remaining for n in needs]
    household_left: dict[str, int] = {}
    pair_used: dict[tuple[int, str], int] = {}
    objective = emergency = 0
    for e in order:
        ni, oi = edge_need[e], edge_offer[e]
        need, offer = needs[ni], offers[oi]
        hh = need.household_id
        q = min(offer_left[oi], need_left[ni], household_left.get(hh, cap))
        limit = offer.eligibility.max_per_household
        if limit is not None:
            q = min(q, limit - pair_used.get((oi, hh), 0))
        if q <= 0:
            continue
        offer_left[oi] -= q
        need_left[ni] -= q
        household_left[hh] = household_left.get(hh, cap) - q
        if limit is not None:
            pair_used[(oi, hh)] = pair_used.get((oi, hh), 0) + q
        objective += scores[e] * q
        if need.urgency == "emergency":
            emergency += q
    return objective, emergency


def bare_solve(
    result: MatchResult, config: RunConfig
) -> tuple[float, float, min_cost_flow.SimpleMinCostFlow, FlowGraph, NDArray[np.int64]]:
    """Solve the engine's own flow network with bare OR-Tools; time only the OR-Tools calls
    (wall-clock and CPU seconds)."""
    cands = result.candidates
    scores = score_candidates(cands, TODAY, config.weights)
    graph = build_graph(cands, scores, config)
    c = time.process_time()
    t = time.perf_counter()
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        graph.tails, graph.heads, graph.capacities, graph.costs
    )
    smcf.set_nodes_supplies(graph.supply_nodes, graph.supplies)
    status = smcf.solve()
    seconds = time.perf_counter() - t
    cpu_seconds = time.process_time() - c
    assert status == smcf.OPTIMAL, status
    return seconds, cpu_seconds, smcf, graph, scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--per-household-cap", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the engine and the bare solve alternately this many times; report the "
        "fastest of each (the machine is shared: interleaving exposes both to the same load)",
    )
    parser.add_argument(
        "--no-kinds",
        action="store_true",
        help="category-only candidates, no units or text (the engine before item kinds)",
    )
    args = parser.parse_args(argv)
    taxonomy = None if args.no_kinds else load_taxonomy()

    t = time.perf_counter()
    needs, offers = generate(args.needs, args.offers, args.seed, taxonomy)
    gen_s = time.perf_counter() - t
    config = RunConfig(today=TODAY, per_household_cap=args.per_household_cap)

    # Warm OR-Tools up (first-call library initialisation) outside every timed section.
    run_matching(needs[:10], offers[:10], config, taxonomy=taxonomy)
    engine_times: list[float] = []
    engine_cpu: list[float] = []
    bare_times: list[float] = []
    bare_cpu: list[float] = []
    for _ in range(args.repeat):
        c = time.process_time()
        t = time.perf_counter()
        result = run_matching(needs, offers, config, taxonomy=taxonomy)
        engine_times.append(time.perf_counter() - t)
        engine_cpu.append(time.process_time() - c)
        if args.repeat > 1:  # interleave: both see the same machine load
            wall, cpu = bare_solve(result, config)[:2]
            bare_times.append(wall)
            bare_cpu.append(cpu)
    engine_s = min(engine_times)
    engine_cpu_s = min(engine_cpu)
    peak_mb = maxrss_mb()
    t = time.perf_counter()
    explanations = result.explanations()
    explain_s = time.perf_counter() - t
    t = time.perf_counter()
    sample = [render(x, zh) for x in explanations[:1000]]
    render_1000_s = time.perf_counter() - t

    # The same graph, solved by bare OR-Tools; only the OR-Tools calls are timed.
    cands = result.candidates
    bare_s, bare_cpu_s, smcf, graph, scores = bare_solve(result, config)
    ortools_bare_s = min([*bare_times, bare_s])
    ortools_bare_cpu_s = min([*bare_cpu, bare_cpu_s])
    flows = np.asarray(smcf.flows(np.arange(graph.num_edges, dtype=np.int32)), dtype=np.int64)
    optimum = int((scores * flows).sum())
    bare_emergency = int(flows[graph.edge_emergency].sum())
    assert -smcf.optimal_cost() == optimum + graph.bonus * bare_emergency

    n_edges = len(cands)
    del flows
    t = time.perf_counter()
    # Emergency edges first, then by score (integer keys keep the sort lean; ties by edge).
    score_list = scores.tolist()
    emergency_list = graph.edge_emergency.tolist()
    top = max(score_list, default=0) + 1
    by_score = sorted(range(n_edges), key=lambda e: -(score_list[e] + top * emergency_list[e]))
    greedy_objective, greedy_emergency = greedy(
        cands, score_list, config.per_household_cap, by_score
    )
    del by_score
    greedy_s = time.perf_counter() - t
    t = time.perf_counter()
    # Needs by waiting time (longest first, then id); each need's offers most local first.
    wait = [n.waiting_days for n in cands.needs]
    edge_need = cands.edge_need.tolist()
    by_wait = sorted(range(n_edges), key=lambda e: -wait[edge_need[e]])
    fcfs_objective, fcfs_emergency = greedy(cands, score_list, config.per_household_cap, by_wait)
    fcfs_s = time.perf_counter() - t

    s = result.stats
    print(f"instance: {args.needs} needs, {args.offers} offers, generated in {gen_s:.2f} s")
    print(
        f"edges: {n_edges} ({n_edges / max(len(needs), 1):.1f} per need), "
        f"arcs: {len(graph.tails)}, proposals: {len(result.proposals)}"
    )
    print(
        f"engine: candidates {s['candidates_s']:.2f} s, scoring {s['scoring_s']:.2f} s, "
        f"graph {s['graph_s']:.2f} s, solve {s['solve_s']:.2f} s, "
        f"proposals+compact explanations {s['proposals_s']:.2f} s, total {engine_s:.2f} s"
    )
    print(
        f"explanations: all {len(explanations)} built in {explain_s:.2f} s; "
        f"1000 rendered (zh) in {render_1000_s:.3f} s"
    )
    print(f"peak RSS (ru_maxrss) after engine: {peak_mb:.0f} MB")
    rows = [
        ("engine (run_matching)", engine_s, result.objective, result.emergency_units),
        ("bare OR-Tools solve", ortools_bare_s, optimum, bare_emergency),
        ("offline greedy", greedy_s, greedy_objective, greedy_emergency),
        ("first come first served", fcfs_s, fcfs_objective, fcfs_emergency),
    ]
    print(f"{'method':<26}{'time s':>9}{'objective (points)':>20}{'vs opt':>9}{'emerg. units':>14}")
    for name, secs, obj, em in rows:
        ratio = obj / optimum if optimum else 1.0
        print(f"{name:<26}{secs:>9.2f}{obj / SCALE:>20.1f}{ratio:>9.4f}{em:>14}")
    print(
        f"objective == optimum: {result.objective == optimum}; "
        f"engine/bare = {engine_s / ortools_bare_s:.2f} (wall clock), "
        f"{engine_cpu_s / ortools_bare_cpu_s:.2f} (CPU time: {engine_cpu_s:.2f} s / "
        f"{ortools_bare_cpu_s:.2f} s)"
    )
    print(sample[0] if sample else "(no proposals)")
    print(
        json.dumps(
            {
                "kinds": taxonomy is not None,
                "needs": len(needs),
                "offers": len(offers),
                "edges": n_edges,
                "proposals": len(result.proposals),
                "repeat": args.repeat,
                "engine_s": round(engine_s, 3),
                "engine_runs_s": [round(x, 3) for x in engine_times],
                "ortools_bare_runs_s": [round(x, 3) for x in [*bare_times, bare_s]],
                "engine_solve_s": round(s["solve_s"], 3),
                "explain_all_s": round(explain_s, 3),
                "engine_with_all_explanations_s": round(engine_s + explain_s, 3),
                "ortools_bare_s": round(ortools_bare_s, 3),
                "engine_cpu_s": round(engine_cpu_s, 3),
                "ortools_bare_cpu_s": round(ortools_bare_cpu_s, 3),
                "ratio": round(engine_s / ortools_bare_s, 3),
                "ratio_cpu": round(engine_cpu_s / ortools_bare_cpu_s, 3),
                "objective": result.objective,
                "optimum": optimum,
                "greedy_objective": greedy_objective,
                "fcfs_objective": fcfs_objective,
                "emergency_units": result.emergency_units,
                "greedy_emergency_units": greedy_emergency,
                "fcfs_emergency_units": fcfs_emergency,
                "peak_mb": round(peak_mb, 1),
                "peak_mb_end": round(maxrss_mb(), 1),
                "memory": "ru_maxrss",
                "score_scale": SCALE,
            }
        )
    )


if __name__ == "__main__":
    main()
