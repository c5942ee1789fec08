"""Edge scores: a weighted sum of six parts, per unit delivered.

``score(need, offer) = urgency + vulnerability + waiting + distance + deadline + rating``,
each part a ``0..1`` factor times its weight (see :class:`matching.types.Weights`).

The flow works on integers: every part is scaled by :data:`SCALE` and rounded on its own,
so the integer edge score is exactly the sum of the integer parts and the float parts
reported in proposals (``int / SCALE``) add up to the reported score.

Four parts depend only on the need, one only on the offer and one only on the level at which
the need's region path meets the offer's service area, so an edge costs one table lookup and
two additions.
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
PARTS: tuple[str, ...] = ("urgency", "vulnerability", "waiting", "distance", "deadline", "rating")


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
        )
    )


def score_candidates(cands: Candidates, today: dt.date, weights: Weights) -> array[int]:
    """Scaled integer score of every candidate edge, aligned with the edge arrays."""
    need_score = [sum(need_parts(n, today, weights).values()) for n in cands.needs]
    offer_score = [offer_part(o, weights) for o in cands.offers]
    level_score = [
        distance_part(level, weights) for level in range(max(cands.edge_level, default=0) + 1)
    ]
    return array(
        "q",
        [
            need_score[ni] + offer_score[oi] + level_score[lv]
            for ni, oi, lv in zip(cands.edge_need, cands.edge_offer, cands.edge_level, strict=True)
        ],
    )
