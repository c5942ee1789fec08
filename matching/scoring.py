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
from collections.abc import Callable
from itertools import chain, repeat
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matching.candidates import Candidates
from matching.columns import column, distinct_sorted, encode, values
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
    return deadline_days_factor((deadline - today).days)


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


def deadline_days_factor(days_left: int) -> float:
    """:func:`deadline_factor` from the number of days left (``deadline - today``)."""
    return 1.0 - min(max(days_left, 0), DEADLINE_HORIZON_DAYS) / DEADLINE_HORIZON_DAYS


def _per_value(values: NDArray[Any], part: Callable[[Any], int]) -> NDArray[np.int64]:
    """``part`` of every value, computed once per distinct value (exactly the scalar rule)."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    distinct, inverse = np.unique(values, return_inverse=True)
    table = np.array([part(v) for v in distinct.tolist()], dtype=np.int64)
    return table[inverse.ravel()]


def need_part_table(cands: Candidates, today: dt.date, weights: Weights) -> NDArray[np.int64]:
    """Per need, its scaled (urgency, vulnerability, waiting, deadline) parts, one row each.

    Computed once per run with numpy (each part once per distinct value, by the scalar rule
    of :func:`need_parts`) and shared by the scores and the proposals' explanations.
    """
    needs = cands.needs
    table = np.zeros((len(needs), 4), dtype=np.int64)
    if not needs:
        return table
    code, urgencies = cands.need_codes("urgency")
    table[:, 0] = np.array(
        [_scaled(URGENCY_FACTOR[u], weights.urgency) for u in urgencies], dtype=np.int64
    )[code]
    table[:, 1] = _per_value(
        column(needs, "vulnerability", np.float64),
        lambda v: _scaled(min(max(v, 0.0), 1.0), weights.vulnerability),
    )
    table[:, 2] = _per_value(
        cands.need_column("waiting_days"),
        lambda d: _scaled(min(max(d, 0), WAITING_CAP_DAYS) / WAITING_CAP_DAYS, weights.waiting),
    )
    code, deadlines = cands.need_codes("deadline")
    table[:, 3] = np.array(
        [_scaled(deadline_factor(d, today), weights.deadline) for d in deadlines], dtype=np.int64
    )[code]
    return table


def score_candidates(
    cands: Candidates,
    today: dt.date,
    weights: Weights,
    need_table: NDArray[np.int64] | None = None,
) -> NDArray[np.int64]:
    """Scaled integer score of every candidate edge, aligned with the edge arrays.

    Edge score = need parts (a row of :func:`need_part_table`) + rating part of the offer +
    distance part of the level + relevance; all gathered with numpy, relevance by expanding
    each edge into its need's distinct terms and looking them up among the offer's terms.
    """
    if need_table is None:
        need_table = need_part_table(cands, today, weights)
    edge_need, edge_offer, edge_level = cands.edge_need, cands.edge_offer, cands.edge_level
    if not len(edge_need):
        return np.zeros(0, dtype=np.int64)
    need_score = need_table.sum(axis=1)
    ratings: dict[float | None, int] = {}
    offer_score = np.array(
        [
            ratings[o.org_rating]
            if o.org_rating in ratings
            else ratings.setdefault(o.org_rating, offer_part(o, weights))
            for o in cands.offers
        ],
        dtype=np.int64,
    )
    level_score = np.array(
        [distance_part(level, weights) for level in range(int(edge_level.max()) + 1)],
        dtype=np.int64,
    )
    scores: NDArray[np.int64] = (
        need_score[edge_need] + offer_score[edge_offer] + level_score[edge_level]
    )
    if weights.relevance > 0:
        scores += relevance_scores(cands, weights)
    return scores


#: Largest (offers x shared terms) boolean table the relevance lookup builds; beyond it the
#: (offer, term) pairs are searched in a sorted array instead.
DENSE_TERMS_LIMIT = 1 << 25


def relevance_scores(cands: Candidates, weights: Weights) -> NDArray[np.int64]:
    """Scaled relevance part of every edge (see :func:`relevance_factor`), vectorised.

    Terms get integer ids; each edge is expanded into its need's distinct terms, each looked
    up among its offer's terms (a boolean offers x terms table, or a sorted array of (offer,
    term) pairs when that table would be large); the shared short and long terms are counted
    per edge and the part computed once per distinct (shared short, shared long, short, long).
    """
    needs, offers = cands.needs, cands.offers
    edge_need, edge_offer = cands.edge_need, cands.edge_offer
    n_edges, n_needs = len(edge_need), len(needs)
    zero = np.zeros(n_edges, dtype=np.int64)
    need_terms = values(needs, "terms")
    flat = list(chain.from_iterable(need_terms))
    if not flat or not n_edges:
        return zero
    ids, terms = encode(flat)
    n_ids = len(terms)
    is_long = np.fromiter(map(len, terms), dtype=np.int64, count=n_ids) >= LONG_TERM
    lengths = np.fromiter(map(len, need_terms), dtype=np.int64, count=n_needs)
    # Distinct (need, term) pairs, sorted: each need's term set.
    pairs = distinct_sorted(np.repeat(np.arange(n_needs, dtype=np.int64), lengths) * n_ids + ids)
    pair_need = pairs // n_ids
    pair_term = pairs % n_ids
    pair_long = is_long[pair_term]
    n_long = np.bincount(pair_need[pair_long], minlength=n_needs)
    n_all = np.bincount(pair_need, minlength=n_needs)
    n_short = n_all - n_long
    start = np.zeros(n_needs + 1, dtype=np.int64)
    np.cumsum(n_all, out=start[1:])
    # Offers' terms that some need has (others cannot be shared).
    term_id = dict(zip(terms, range(n_ids), strict=True))
    offer_terms = values(offers, "terms")
    offer_flat = np.fromiter(
        map(term_id.get, chain.from_iterable(offer_terms), repeat(-1)), dtype=np.int64
    )
    offer_of = np.repeat(
        np.arange(len(offers), dtype=np.int64),
        np.fromiter(map(len, offer_terms), dtype=np.int64, count=len(offers)),
    )
    known = offer_flat >= 0
    offer_of, offer_flat = offer_of[known], offer_flat[known]
    if not len(offer_flat):
        return zero
    # Each edge expanded into its need's terms, each looked up among its offer's.
    counts = n_all[edge_need]
    total = int(counts.sum())
    ends = np.cumsum(counts)
    idx = np.repeat(start[edge_need] - (ends - counts), counts) + np.arange(total)
    edge_of = np.repeat(np.arange(n_edges, dtype=np.int64), counts)
    wanted_term = pair_term[idx]
    if len(offers) * n_ids <= DENSE_TERMS_LIMIT:
        table = np.zeros((len(offers), n_ids), dtype=bool)
        table[offer_of, offer_flat] = True
        found = np.flatnonzero(table[edge_offer[edge_of], wanted_term])
    else:
        offer_pairs = distinct_sorted(offer_of * n_ids + offer_flat)
        wanted = edge_offer[edge_of].astype(np.int64) * n_ids + wanted_term
        pos = np.searchsorted(offer_pairs, wanted)
        pos[pos >= len(offer_pairs)] = 0
        found = np.flatnonzero(offer_pairs[pos] == wanted)
    if not len(found):
        return zero
    shared_long = np.bincount(edge_of[found[is_long[wanted_term[found]]]], minlength=n_edges)
    shared_short = np.bincount(edge_of[found], minlength=n_edges) - shared_long
    # The part per distinct (shared short, shared long, short, long) combination.
    width = int(n_all.max()) + 1
    combo = ((shared_short * width + shared_long) * width + n_short[edge_need]) * width + n_long[
        edge_need
    ]

    def part(code: int) -> int:
        code, own_long = divmod(code, width)
        code, own_short = divmod(code, width)
        s_short, s_long = divmod(code, width)
        if not s_short and not s_long:
            return 0
        shared = s_short + LONG_TERM_WEIGHT * s_long
        return _scaled(shared / (own_short + LONG_TERM_WEIGHT * own_long), weights.relevance)

    return _per_value(combo, part)
