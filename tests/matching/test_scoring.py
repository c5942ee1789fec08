from __future__ import annotations

import datetime as dt

import pytest

from matching.candidates import build_candidates
from matching.scoring import (
    PARTS,
    edge_parts,
    edge_score,
    max_unit_score,
    score_candidates,
)
from matching.types import Weights
from tests.matching.instances import PATHS, TODAY, need, offer, random_instance

W = Weights()


def test_default_weights_documented_values():
    assert (W.urgency, W.vulnerability, W.waiting, W.distance, W.deadline, W.rating) == (
        40.0,
        25.0,
        15.0,
        10.0,
        5.0,
        5.0,
    )
    assert max_unit_score(W) == 110_000


def test_hand_computed_score():
    n = need(
        "n",
        urgency="high",
        vulnerability=0.4,
        waiting_days=45,
        deadline=TODAY + dt.timedelta(days=6),
    )
    o = offer("o", rating=4.0)
    parts = edge_parts(n, o, 3, TODAY, W)
    assert parts == {
        "urgency": 24.0,  # 0.6 * 40
        "vulnerability": 10.0,  # 0.4 * 25
        "waiting": 7.5,  # 45 / 90 * 15
        "distance": 7.5,  # township 0.75 * 10
        "deadline": 4.0,  # (1 - 6 / 30) * 5
        "rating": 3.75,  # (4 - 1) / 4 * 5
        "relevance": 0.0,  # the need has no text terms
    }
    assert edge_score(n, o, 3, TODAY, W) == 56_750
    assert list(parts) == list(PARTS)


def test_more_local_offer_scores_higher():
    n = need("n")
    o = offer("o")
    scores = [edge_score(n, o, level, TODAY, W) for level in range(5)]
    assert scores == sorted(scores)
    assert len(set(scores)) == 5


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("urgency", "normal", "emergency"),
        ("vulnerability", 0.2, 0.8),
        ("waiting_days", 3, 60),
        ("deadline", TODAY + dt.timedelta(days=29), TODAY + dt.timedelta(days=1)),
    ],
)
def test_monotone_parts(field, low, high):
    o = offer("o")
    lo = edge_score(need("n", **{field: low}), o, 2, TODAY, W)
    hi = edge_score(need("n", **{field: high}), o, 2, TODAY, W)
    assert hi > lo


def test_caps_and_neutral_values():
    o = offer("o")
    assert edge_score(need("n", waiting_days=90), o, 0, TODAY, W) == edge_score(
        need("n", waiting_days=400), o, 0, TODAY, W
    )
    assert edge_parts(need("n"), offer("o", rating=None), 0, TODAY, W)["rating"] == 2.5
    assert edge_parts(need("n"), offer("o", rating=1.0), 0, TODAY, W)["rating"] == 0.0
    assert edge_parts(need("n"), offer("o", rating=5.0), 0, TODAY, W)["rating"] == 5.0
    overdue = need("n", deadline=TODAY - dt.timedelta(days=2))
    assert edge_parts(overdue, o, 0, TODAY, W)["deadline"] == 5.0
    assert edge_parts(need("n", deadline=None), o, 0, TODAY, W)["deadline"] == 0.0


def test_weights_scale_parts():
    n, o = need("n", urgency="emergency"), offer("o")
    assert edge_parts(n, o, 0, TODAY, Weights(urgency=10.0))["urgency"] == 10.0
    zero = Weights(0, 0, 0, 0, 0, 0, 0)
    assert edge_score(n, o, 4, TODAY, zero) == 0


def test_vectorised_scores_match_per_edge_scores():
    needs, offers = random_instance(3, n_needs=300, n_offers=30)
    cands = build_candidates(needs, offers, TODAY)
    scores = score_candidates(cands, TODAY, W)
    assert len(scores) == len(cands) > 100
    for e, (ni, oi, level) in enumerate(cands.pairs()):
        assert scores[e] == edge_score(cands.needs[ni], cands.offers[oi], level, TODAY, W)
        assert level < len(PATHS[0])


def test_relevance_is_the_weighted_share_of_the_need_terms_the_offer_has():
    n = need("n", terms=("冬季", "棉被", "加厚保暖"))
    # Shared: 棉被 (1) and 加厚保暖 (1.5) of 1 + 1 + 1.5.
    o = offer("o", terms=("棉被", "加厚保暖", "全新"))
    parts = edge_parts(n, o, 0, TODAY, W)
    assert parts["relevance"] == round(2.5 / 3.5 * 10, 3)
    assert edge_parts(n, offer("p", terms=("大米",)), 0, TODAY, W)["relevance"] == 0.0
    # The vectorised scores agree with the per-edge definition.
    from matching.candidates import build_candidates
    from matching.scoring import score_candidates

    cands = build_candidates([n], [o, offer("p", terms=("大米",))], TODAY)
    scores = score_candidates(cands, TODAY, W)
    for e, (ni, oi, lv) in enumerate(cands.pairs()):
        assert scores[e] == edge_score(cands.needs[ni], cands.offers[oi], lv, TODAY, W)
