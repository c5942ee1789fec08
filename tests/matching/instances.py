"""Instance builders, a brute-force reference solver and a constraint checker for the tests."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Sequence

from hypothesis import strategies as st
from ortools.graph.python import max_flow

from matching import Eligibility, MatchResult, Need, Offer, RunConfig
from matching.candidates import check, service_level
from matching.scoring import edge_score

TODAY = dt.date(2026, 11, 23)
PROVINCE = "330000"
# A small tree: 2 cities x 2 counties x 2 townships x 2 communities.
PATHS: list[tuple[str, ...]] = [
    (PROVINCE, city, county, f"{county}00{t}", f"{county}00{t}00{c}")
    for city, counties in (("330100", ("330102", "330106")), ("330200", ("330203", "330212")))
    for county in counties
    for t in (1, 2)
    for c in (1, 2)
]
NODES: list[str] = sorted({code for path in PATHS for code in path})
NEED_CATEGORIES = ["food", "medical", "education"]
OFFER_CATEGORIES = ["food", "medical", "education", "voucher", "cash_grant"]
HOUSEHOLD_CATEGORIES = ["dibao", "dibao_edge", "tekun", "temporary"]
FLAGS = ["disabled", "elderly", "union_hardship"]
URGENCIES = ("emergency", "high", "normal")


def need(
    id: str,
    *,
    category: str = "food",
    remaining: int = 1,
    urgency: str = "normal",
    deadline: dt.date | None = None,
    path: tuple[str, ...] = PATHS[0],
    household: str | None = None,
    categories: Sequence[str] = ("dibao",),
    flags: Sequence[str] = (),
    vulnerability: float = 0.5,
    waiting_days: int = 10,
    kind: str | None = None,
    unit: str = "",
    terms: tuple[str, ...] = (),
    title: str = "",
) -> Need:
    return Need(
        id=id,
        category=category,
        remaining=remaining,
        urgency=urgency,  # type: ignore[arg-type]
        deadline=deadline,
        region_path=path,
        household_id=household or f"h-{id}",
        household_categories=frozenset(categories),
        household_flags=frozenset(flags),
        vulnerability=vulnerability,
        waiting_days=waiting_days,
        item_kind=kind,
        unit=unit,
        terms=terms,
        title=title,
    )


def offer(
    id: str,
    *,
    category: str = "food",
    remaining: int = 1,
    area: tuple[str, ...] = (PROVINCE,),
    allowed: Sequence[str] | None = None,
    flags: Sequence[str] = (),
    max_per_household: int | None = None,
    start: dt.date | None = None,
    until: dt.date | None = None,
    rating: float | None = None,
    kind: str | None = None,
    unit: str = "",
    terms: tuple[str, ...] = (),
    title: str = "",
    org_name: str = "",
) -> Offer:
    return Offer(
        id=id,
        organization_id=f"org-{id}",
        category=category,
        remaining=remaining,
        service_area=area,
        eligibility=Eligibility(
            allowed_categories=None if allowed is None else frozenset(allowed),
            required_flags=frozenset(flags),
            max_per_household=max_per_household,
        ),
        available_from=start,
        available_until=until,
        item_kind=kind,
        unit=unit,
        terms=terms,
        title=title,
        organization_name=org_name,
        org_rating=rating,
    )


@st.composite
def needs_st(draw: st.DrawFn, max_needs: int, max_qty: int) -> list[Need]:
    n = draw(st.integers(1, max_needs))
    households = draw(st.integers(1, n))
    return [
        need(
            f"n{i}",
            category=draw(st.sampled_from(NEED_CATEGORIES)),
            remaining=draw(st.integers(0, max_qty)),
            urgency=draw(st.sampled_from(URGENCIES)),
            deadline=draw(st.none() | st.dates(TODAY, TODAY + dt.timedelta(days=45))),
            path=draw(st.sampled_from(PATHS)),
            household=f"h{draw(st.integers(0, households - 1))}",
            categories=draw(st.sets(st.sampled_from(HOUSEHOLD_CATEGORIES), max_size=2)),
            flags=draw(st.sets(st.sampled_from(FLAGS), max_size=2)),
            vulnerability=draw(st.sampled_from([0.0, 0.1, 0.35, 0.6, 0.9, 1.0])),
            waiting_days=draw(st.integers(0, 120)),
        )
        for i in range(n)
    ]


@st.composite
def offers_st(draw: st.DrawFn, max_offers: int, max_qty: int) -> list[Offer]:
    m = draw(st.integers(1, max_offers))
    result = []
    for j in range(m):
        area = tuple(draw(st.sets(st.sampled_from(NODES), min_size=1, max_size=2)))
        result.append(
            offer(
                f"o{j}",
                category=draw(st.sampled_from(OFFER_CATEGORIES)),
                remaining=draw(st.integers(0, max_qty)),
                area=tuple(sorted(area)),
                allowed=draw(
                    st.none() | st.sets(st.sampled_from(HOUSEHOLD_CATEGORIES), min_size=1)
                ),
                flags=draw(st.sets(st.sampled_from(FLAGS), max_size=1)),
                max_per_household=draw(st.none() | st.integers(1, 2)),
                start=draw(st.none() | st.dates(TODAY, TODAY + dt.timedelta(days=30))),
                until=draw(
                    st.none()
                    | st.dates(TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=60))
                ),
                rating=draw(st.none() | st.sampled_from([1.0, 2.5, 4.0, 5.0])),
            )
        )
    return result


def random_instance(seed: int, n_needs: int, n_offers: int) -> tuple[list[Need], list[Offer]]:
    """A larger random instance on the small tree (heavy contention for offers)."""
    rng = random.Random(seed)
    needs = [
        need(
            f"n{i:05d}",
            category=rng.choice(NEED_CATEGORIES),
            remaining=rng.choice((1, 1, 1, 2, 3)),
            urgency=rng.choices(URGENCIES, (10, 30, 60))[0],
            deadline=None if rng.random() < 0.4 else TODAY + dt.timedelta(rng.randint(0, 40)),
            path=rng.choice(PATHS),
            household=f"h{rng.randrange(n_needs * 3 // 4)}",
            categories=rng.sample(HOUSEHOLD_CATEGORIES, rng.randint(0, 2)),
            flags=[f for f in FLAGS if rng.random() < 0.2],
            vulnerability=round(rng.random(), 2),
            waiting_days=rng.randint(0, 150),
        )
        for i in range(n_needs)
    ]
    offers = []
    for j in range(n_offers):
        kind = rng.random()
        offers.append(
            offer(
                f"o{j:04d}",
                category=rng.choice(OFFER_CATEGORIES),
                remaining=rng.randint(0, 15),
                area=tuple(sorted(set(rng.sample(NODES, rng.choice((1, 1, 2)))))),
                allowed=None if kind < 0.7 else rng.sample(HOUSEHOLD_CATEGORIES, 2),
                flags=["disabled"] if 0.85 < kind < 0.95 else [],
                max_per_household=rng.choice((None, None, 1, 2)),
                start=None if rng.random() < 0.8 else TODAY + dt.timedelta(rng.randint(0, 20)),
                until=None if rng.random() < 0.9 else TODAY + dt.timedelta(rng.randint(-2, 20)),
                rating=None if rng.random() < 0.3 else rng.choice((1.0, 3.0, 4.5)),
            )
        )
    return needs, offers


def brute_force(
    needs: Sequence[Need], offers: Sequence[Offer], config: RunConfig
) -> tuple[int, int]:
    """Exhaustive search: the best (emergency units, total scaled score) over all plans.

    Built only from the reference predicate ``check`` and ``edge_score``, not from the
    engine's index or flow network.
    """
    edges = []
    for n in needs:
        for o in offers:
            if check(o, n, config.today):
                level = service_level(o, n)
                assert level is not None
                edges.append((n, o, edge_score(n, o, level, config.today, config.weights)))
    offer_left = {o.id: o.remaining for o in offers}
    need_left = {n.id: n.remaining for n in needs}
    household_left: dict[str, int] = defaultdict(lambda: config.per_household_cap)
    pair_left: dict[tuple[str, str], int] = {}
    best = (0, 0)

    def search(k: int, emergency: int, total: int) -> None:
        nonlocal best
        if k == len(edges):
            best = max(best, (emergency, total))
            return
        n, o, score = edges[k]
        limit = o.eligibility.max_per_household
        key = (o.id, n.household_id)
        pair = pair_left.setdefault(key, limit if limit is not None else 10**9)
        top = min(offer_left[o.id], need_left[n.id], household_left[n.household_id], pair)
        for q in range(max(top, 0) + 1):
            offer_left[o.id] -= q
            need_left[n.id] -= q
            household_left[n.household_id] -= q
            pair_left[key] -= q
            search(
                k + 1,
                emergency + (q if n.urgency == "emergency" else 0),
                total + q * score,
            )
            offer_left[o.id] += q
            need_left[n.id] += q
            household_left[n.household_id] += q
            pair_left[key] += q

    search(0, 0, 0)
    return best


def max_emergency_units(needs: Sequence[Need], offers: Sequence[Offer], config: RunConfig) -> int:
    """Most emergency units any plan can serve: a max flow over emergency needs only."""
    emergency = [n for n in needs if n.urgency == "emergency" and n.remaining > 0]
    smf = max_flow.SimpleMaxFlow()
    source, sink = 0, 1
    ids: dict[tuple[str, str], int] = {}

    def node(kind: str, key: str) -> int:
        return ids.setdefault((kind, key), len(ids) + 2)

    for o in offers:
        smf.add_arc_with_capacity(source, node("o", o.id), max(o.remaining, 0))
    households: set[str] = set()
    pair_arcs: set[int] = set()
    for n in emergency:
        households.add(n.household_id)
        smf.add_arc_with_capacity(node("n", n.id), node("h", n.household_id), n.remaining)
        for o in offers:
            if check(o, n, config.today):
                limit = o.eligibility.max_per_household
                pair = node("p", f"{o.id}|{n.household_id}")
                if pair not in pair_arcs:
                    pair_arcs.add(pair)
                    smf.add_arc_with_capacity(
                        node("o", o.id), pair, limit if limit is not None else 10**9
                    )
                smf.add_arc_with_capacity(pair, node("n", n.id), n.remaining)
    for h in households:
        smf.add_arc_with_capacity(node("h", h), sink, config.per_household_cap)
    if not ids:
        return 0
    assert smf.solve(source, sink) == smf.OPTIMAL
    return int(smf.optimal_flow())


def assert_feasible(
    result: MatchResult, needs: Sequence[Need], offers: Sequence[Offer], config: RunConfig
) -> None:
    """Every constraint of the model, checked from the proposals alone."""
    need_by_id = {n.id: n for n in needs}
    offer_by_id = {o.id: o for o in offers}
    per_offer: dict[str, int] = defaultdict(int)
    per_need: dict[str, int] = defaultdict(int)
    per_household: dict[str, int] = defaultdict(int)
    per_pair: dict[tuple[str, str], int] = defaultdict(int)
    pairs = set()
    total = 0
    for p in result.proposals:
        n, o = need_by_id[p.need_id], offer_by_id[p.offer_id]
        assert (n.id, o.id) not in pairs, "one proposal per pair"
        pairs.add((n.id, o.id))
        assert p.quantity >= 1
        assert check(o, n, config.today), (n, o)
        level = service_level(o, n)
        assert level is not None
        assert o.service_area
        assert n.region_path[level] in o.service_area
        per_offer[o.id] += p.quantity
        per_need[n.id] += p.quantity
        per_household[n.household_id] += p.quantity
        per_pair[(o.id, n.household_id)] += p.quantity
        score = edge_score(n, o, level, config.today, config.weights)
        assert round(p.score * 1000) == score
        assert abs(sum(p.parts.values()) - p.score) < 1e-6
        total += score * p.quantity
    assert total == result.objective
    for oid, used in per_offer.items():
        assert used <= offer_by_id[oid].remaining
    for nid, used in per_need.items():
        assert used <= need_by_id[nid].remaining
    for used in per_household.values():
        assert used <= config.per_household_cap
    for (oid, _h), used in per_pair.items():
        limit = offer_by_id[oid].eligibility.max_per_household
        assert limit is None or used <= limit
    # No emergency need is left short while an offer it may use still has room for it.
    for n in needs:
        if n.urgency != "emergency" or per_need[n.id] >= n.remaining:
            continue
        if per_household[n.household_id] >= config.per_household_cap:
            continue
        for o in offers:
            if not check(o, n, config.today) or per_offer[o.id] >= o.remaining:
                continue
            limit = o.eligibility.max_per_household
            assert limit is not None, (n.id, o.id)
            assert per_pair[(o.id, n.household_id)] >= limit, (n.id, o.id)
