"""Edge scores: a weighted sum of seven parts, per unit delivered.

``score(need, offer) = urgency + vulnerability + waiting + distance + deadline + rating +
relevance``, each part a ``0..1`` factor times its weight (see :class:`matching.types.Weights`).

``relevance`` is the text relevance of the offer to the need: the weighted share of the need's
terms (segmented words of its public text, :func:`matching.items.terms`) found among the
offer's terms, a word of three or more characters weighing 1.5 and a shorter one 1.

The flow works on integers: every part is scaled by :data:`SCALE` and rounded on its own,
so the integer edge score is exactly the sum of the integer parts and the float parts
reported in proposals (``int / SCALE``) add up to the reported score.

Four parts depend only on the need, one only on the offer and one only on the level at which
the need's region path meets the offer's service area, so an edge costs one table lookup and
two additions, plus two set intersections for relevance when the need has terms.
"""

from __future__ import annotations

import datetime as dt
from array import array

from matching.candidates import Candidates
from matching.types import LEVELS, Need, Offer, Weights

SCALE = 1000
WAITING_CAP_DAYS = 90
DEADLINE_HORIZON_DAYS = 30
URGENCY_FACTOR: dict[str, float] = {"emergency": 1.0, "high": 0.6, "normal": 0.2}
#: Locality factor by index in the region path: province 0 ... community 1.
LOCALITY: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
NEUTRAL_RATING = 0.5
PARTS: tuple[str, ...] = (
    "urgency",
    "vulnerability",
    "waiting",
    "distance",
    "deadline",
    "rating",
    "relevance",
)
#: Weight of a term of at least ``LONG_TERM`` characters (shorter ones weigh 1).
LONG_TERM = 3
LONG_TERM_WEIGHT = 1.5


def _scaled(factor: float, weight: float) -> int:
    return round(factor * weight * SCALE)


def locality(level: int) -> float:
    return LOCALITY[min(level, len(LOCALITY) - 1)]


def level_name(level: int) -> str:
    return LEVELS[min(level, len(LEVELS) - 1)]


def deadline_factor(deadline: dt.date | None, today: dt.date) -> float:
    if deadline is None:
        return 0.0
    days_left = min(max((deadline - today).days, 0), DEADLINE_HORIZON_DAYS)
    return 1.0 - days_left / DEADLINE_HORIZON_DAYS


def rating_factor(rating: float | None) -> float:
    if rating is None:
        return NEUTRAL_RATING
    return (min(max(rating, 1.0), 5.0) - 1.0) / 4.0


def term_weight(term: str) -> float:
    return LONG_TERM_WEIGHT if len(term) >= LONG_TERM else 1.0


def relevance_factor(need_terms: tuple[str, ...], offer_terms: tuple[str, ...]) -> float:
    """Weighted share of the need's terms that the offer's terms contain (0..1)."""
    if not need_terms:
        return 0.0
    wanted = set(need_terms)
    total = sum(term_weight(t) for t in wanted)
    shared = sum(term_weight(t) for t in wanted.intersection(offer_terms))
    return shared / total


def need_parts(need: Need, today: dt.date, weights: Weights) -> dict[str, int]:
    """Scaled integer parts that depend on the need only."""
    return {
        "urgency": _scaled(URGENCY_FACTOR[need.urgency], weights.urgency),
        "vulnerability": _scaled(min(max(need.vulnerability, 0.0), 1.0), weights.vulnerability),
        "waiting": _scaled(
            min(max(need.waiting_days, 0), WAITING_CAP_DAYS) / WAITING_CAP_DAYS, weights.waiting
        ),
        "deadline": _scaled(deadline_factor(need.deadline, today), weights.deadline),
    }


def offer_part(offer: Offer, weights: Weights) -> int:
    return _scaled(rating_factor(offer.org_rating), weights.rating)


def distance_part(level: int, weights: Weights) -> int:
    return _scaled(locality(level), weights.distance)


def edge_parts_scaled(
    need: Need, offer: Offer, level: int, today: dt.date, weights: Weights
) -> dict[str, int]:
    parts = need_parts(need, today, weights)
    parts["distance"] = distance_part(level, weights)
    parts["rating"] = offer_part(offer, weights)
    parts["relevance"] = _scaled(relevance_factor(need.terms, offer.terms), weights.relevance)
    return {name: parts[name] for name in PARTS}


def edge_parts(
    need: Need, offer: Offer, level: int, today: dt.date, weights: Weights
) -> dict[str, float]:
    """Score parts of one edge in points (per unit)."""
    return {
        name: value / SCALE
        for name, value in edge_parts_scaled(need, offer, level, today, weights).items()
    }


def edge_score(need: Need, offer: Offer, level: int, today: dt.date, weights: Weights) -> int:
    """Scaled integer score of one edge (per unit)."""
    return sum(edge_parts_scaled(need, offer, level, today, weights).values())


def max_unit_score(weights: Weights) -> int:
    """An upper bound of any scaled edge score under ``weights``."""
    return sum(
        _scaled(1.0, w)
        for w in (
            weights.urgency,
            weights.vulnerability,
            weights.waiting,
            weights.distance,
            weights.deadline,
            weights.rating,
            weights.relevance,
        )
    )


def need_part_table(
    cands: Candidates, today: dt.date, weights: Weights
) -> list[tuple[int, int, int, int] | None]:
    """Per need, its scaled (urgency, vulnerability, waiting, deadline) parts; None for a need
    without candidate edges (never scored). Computed once per run and shared by the scores and
    the proposals' explanations."""
    need_start = cands.need_start
    memo: dict[tuple[object, ...], tuple[int, int, int, int]] = {}
    table: list[tuple[int, int, int, int] | None] = []
    for ni, n in enumerate(cands.needs):
        if need_start[ni] == need_start[ni + 1]:
            table.append(None)
            continue
        key = (n.urgency, n.vulnerability, n.waiting_days, n.deadline)
        parts = memo.get(key)
        if parts is None:
            d = need_parts(n, today, weights)
            parts = memo[key] = (d["urgency"], d["vulnerability"], d["waiting"], d["deadline"])
        table.append(parts)
    return table


def score_candidates(
    cands: Candidates,
    today: dt.date,
    weights: Weights,
    need_table: list[tuple[int, int, int, int] | None] | None = None,
) -> array[int]:
    """Scaled integer score of every candidate edge, aligned with the edge arrays."""
    if need_table is None:
        need_table = need_part_table(cands, today, weights)
    need_score = [sum(p) if p is not None else 0 for p in need_table]
    offer_score = [offer_part(o, weights) for o in cands.offers]
    level_score = [
        distance_part(level, weights) for level in range(max(cands.edge_level, default=0) + 1)
    ]
    base = array(
        "q",
        [
            need_score[ni] + offer_score[oi] + level_score[lv]
            for ni, oi, lv in zip(cands.edge_need, cands.edge_offer, cands.edge_level, strict=True)
        ],
    )
    if weights.relevance <= 0:
        return base
    # Relevance: per need, its short and long terms as sets and the scaled value of one
    # weight unit; per edge two C-level set intersections with the offer's term set.
    offer_sets = [frozenset(o.terms) for o in cands.offers]
    need_start, edge_offer = cands.need_start, cands.edge_offer
    split: dict[tuple[str, ...], tuple[frozenset[str], frozenset[str], float]] = {}
    for ni, need in enumerate(cands.needs):
        start, end = need_start[ni], need_start[ni + 1]
        if start == end or not need.terms:
            continue
        parts = split.get(need.terms)
        if parts is None:
            wanted = frozenset(need.terms)
            short = frozenset(t for t in wanted if len(t) < LONG_TERM)
            long = wanted - short
            parts = split[need.terms] = (short, long, len(short) + LONG_TERM_WEIGHT * len(long))
        short, long, total = parts
        for e in range(start, end):
            terms = offer_sets[edge_offer[e]]
            if terms:
                shared = len(short & terms) + LONG_TERM_WEIGHT * len(long & terms)
                if shared:
                    base[e] += _scaled(shared / total, weights.relevance)
    return base
