"""Explanations: which constraints a proposal passed and which score parts made it win.

Items are ``(msgid, params)``: ``msgid`` is an English ``str.format`` string from
:mod:`matching.i18n` (marked with ``N_`` for Babel), ``params`` plain values. :func:`render`
turns an explanation into text through any ``translate(msgid) -> str`` (gettext in the web
app, :func:`matching.i18n.zh` or :func:`matching.i18n.identity` elsewhere).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping

from matching import i18n
from matching.candidates import Candidates
from matching.scoring import PARTS, SCALE, edge_parts_scaled, level_name
from matching.types import Explanation, Item, Need, Offer, RunConfig

#: How many of the largest score parts an explanation lists.
TOP_PARTS = 3


def _part_item(name: str, points: float, need: Need, offer: Offer, level: int) -> Item:
    params: dict[str, object] = {"points": points}
    if name == "urgency":
        params["urgency"] = need.urgency
        return i18n.PART_URGENCY, params
    if name == "vulnerability":
        params["value"] = need.vulnerability
        return i18n.PART_VULNERABILITY, params
    if name == "waiting":
        params["days"] = need.waiting_days
        return i18n.PART_WAITING, params
    if name == "distance":
        params["level"] = level_name(level)
        return i18n.PART_DISTANCE, params
    if name == "deadline":
        params["deadline"] = str(need.deadline) if need.deadline else "none"
        return i18n.PART_DEADLINE, params
    params["rating"] = "not rated" if offer.org_rating is None else f"{offer.org_rating:.1f}"
    return i18n.PART_RATING, params


def constraint_items(
    need: Need, offer: Offer, level: int, quantity: int, config: RunConfig
) -> tuple[Item, ...]:
    items: list[Item] = []
    if need.category == offer.category:
        items.append((i18n.CATEGORY_SAME, {"category": need.category}))
    else:
        items.append(
            (
                i18n.CATEGORY_COMPAT,
                {"offer_category": offer.category, "need_category": need.category},
            )
        )
    items.append((i18n.IN_AREA, {"level": level_name(level), "code": need.region_path[level]}))
    rules = offer.eligibility
    if rules.allowed_categories is None:
        items.append((i18n.ELIGIBLE_ANY, {}))
    else:
        matched = sorted(rules.allowed_categories & need.household_categories)
        items.append((i18n.ELIGIBLE_CATEGORIES, {"categories": ", ".join(matched)}))
    if rules.required_flags:
        items.append((i18n.ELIGIBLE_FLAGS, {"flags": ", ".join(sorted(rules.required_flags))}))
    items.append(
        (
            i18n.WINDOW_OK,
            {
                "until": str(offer.available_until) if offer.available_until else "none",
                "start": str(offer.available_from) if offer.available_from else "none",
                "deadline": str(need.deadline) if need.deadline else "none",
            },
        )
    )
    items.append(
        (
            i18n.CAPACITY_OK,
            {
                "offer_remaining": offer.remaining,
                "need_remaining": need.remaining,
                "quantity": quantity,
            },
        )
    )
    if rules.max_per_household is not None:
        items.append((i18n.OFFER_LIMIT, {"limit": rules.max_per_household}))
    items.append((i18n.HOUSEHOLD_CAP, {"cap": config.per_household_cap}))
    return tuple(items)


def explain_edge(
    cands: Candidates,
    scores: array[int],
    *,
    edge: int,
    runner_up: int,
    quantity: int,
    config: RunConfig,
) -> Explanation:
    """Explanation of candidate edge ``edge`` proposed with ``quantity`` units.

    ``runner_up`` is the best-scoring other candidate edge of the same need that was not
    proposed (``-1`` when the need had no other candidate).
    """
    need = cands.needs[cands.edge_need[edge]]
    offer = cands.offers[cands.edge_offer[edge]]
    level = cands.edge_level[edge]
    scaled = edge_parts_scaled(need, offer, level, config.today, config.weights)
    reasons: list[Item] = [(i18n.SCORE, {"score": scores[edge] / SCALE})]
    if need.urgency == "emergency":
        reasons.append((i18n.EMERGENCY_FIRST, {}))
    ranked = [
        name
        for _, _, name in sorted(
            (-scaled[name], i, name) for i, name in enumerate(PARTS) if scaled[name] > 0
        )
    ]
    reasons.extend(
        _part_item(name, scaled[name] / SCALE, need, offer, level) for name in ranked[:TOP_PARTS]
    )
    if runner_up < 0:
        reasons.append((i18n.ONLY_CANDIDATE, {}))
    else:
        other = cands.offers[cands.edge_offer[runner_up]].id
        margin = (scores[edge] - scores[runner_up]) / SCALE
        if margin >= 0:
            reasons.append((i18n.BEAT, {"other_offer": other, "margin": margin}))
        else:
            reasons.append((i18n.LOST_CAPACITY, {"other_offer": other, "margin": -margin}))
    return Explanation(
        need_id=need.id,
        offer_id=offer.id,
        constraints=constraint_items(need, offer, level, quantity, config),
        reasons=tuple(reasons),
    )


def render_item(item: Item, translate: Callable[[str], str]) -> str:
    msgid, params = item
    values: Mapping[str, object] = {
        key: translate(value) if key in i18n.TRANSLATED_PARAMS and isinstance(value, str) else value
        for key, value in params.items()
    }
    return translate(msgid).format(**values)


def render(explanation: Explanation, translate: Callable[[str], str] = i18n.identity) -> str:
    """One line per item, translated through ``translate``."""
    return "\n".join(render_item(item, translate) for item in explanation.items)
