"""Explanations: which constraints a proposal passed and which score parts made it win.

Items are ``(msgid, params)``: ``msgid`` is an English ``str.format`` string from
:mod:`matching.i18n` (marked with ``N_`` for Babel), ``params`` plain values or
``{"zh": ..., "en": ...}`` mappings. :func:`render` turns an explanation into text through any
``translate(msgid) -> str`` (gettext in the web app, :func:`matching.i18n.zh` or
:func:`matching.i18n.identity` elsewhere) and a locale.

An explanation names the offer by its title and organization (never its id), the item kinds
by name, quantities with their unit and dates as ISO dates; an absent date is left out rather
than shown as "none".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import NDArray

from matching import i18n
from matching.candidates import Candidates
from matching.items import Taxonomy
from matching.scoring import PARTS, SCALE, edge_parts_scaled, level_name
from matching.types import Explanation, Item, Need, Offer, RunConfig

#: How many of the largest score parts an explanation lists.
TOP_PARTS = 3
#: How many shared words the relevance part names.
TOP_WORDS = 4


def offer_label(offer: Offer) -> dict[str, str]:
    """The offer as people know it: "title (organization)"; its id only without a title."""
    title = offer.title or offer.id
    if not offer.organization_name:
        return i18n.localized(title, title)
    return i18n.localized(
        f"{title}（{offer.organization_name}）", f"{title} ({offer.organization_name})"
    )


def _kind_name(taxonomy: Taxonomy | None, code: str | None) -> dict[str, str] | None:
    kind = taxonomy.get(code) if taxonomy is not None else None
    return None if kind is None else i18n.localized(kind.zh, kind.en)


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
        params["deadline"] = need.deadline.isoformat() if need.deadline else ""
        return i18n.PART_DEADLINE, params
    if name == "relevance":
        shared = sorted(set(need.terms) & set(offer.terms), key=lambda t: (-len(t), t))
        params["words"] = "、".join(shared[:TOP_WORDS])
        return i18n.PART_RELEVANCE, params
    params["rating"] = "not rated" if offer.org_rating is None else f"{offer.org_rating:.1f}"
    return i18n.PART_RATING, params


def _kind_item(need: Need, offer: Offer, taxonomy: Taxonomy | None) -> Item:
    need_kind = _kind_name(taxonomy, need.item_kind)
    offer_kind = _kind_name(taxonomy, offer.item_kind)
    if need_kind is not None and offer_kind is not None:
        if need.item_kind == offer.item_kind:
            return i18n.KIND_SAME, {"kind": need_kind}
        return i18n.KIND_SUBSTITUTE, {"offer_kind": offer_kind, "need_kind": need_kind}
    if need.category == offer.category:
        return i18n.CATEGORY_SAME, {"category": i18n.category_name(need.category)}
    return i18n.CATEGORY_COMPAT, {
        "offer_category": i18n.category_name(offer.category),
        "need_category": i18n.category_name(need.category),
    }


def _window_item(offer: Offer) -> Item:
    start = offer.available_from.isoformat() if offer.available_from else None
    until = offer.available_until.isoformat() if offer.available_until else None
    if start and until:
        return i18n.WINDOW_FROM_UNTIL, {"start": start, "until": until}
    if start:
        return i18n.WINDOW_FROM, {"start": start}
    if until:
        return i18n.WINDOW_UNTIL, {"until": until}
    return i18n.WINDOW_ANY, {}


def constraint_items(
    need: Need,
    offer: Offer,
    level: int,
    quantity: int,
    config: RunConfig,
    *,
    taxonomy: Taxonomy | None = None,
    converted: bool = False,
) -> tuple[Item, ...]:
    unit = i18n.unit_name(need.unit)
    items: list[Item] = [
        (i18n.OFFER, {"offer": offer_label(offer)}),
        _kind_item(need, offer, taxonomy),
    ]
    if need.unit:
        same = not converted and need.unit == offer.unit
        items.append((i18n.UNITS_SAME if same else i18n.UNITS_CONVERTED, {"unit": unit}))
    items.append((i18n.IN_AREA_LEVEL, {"level": level_name(level)}))
    rules = offer.eligibility
    if rules.allowed_categories is None:
        items.append((i18n.ELIGIBLE_ANY, {}))
    else:
        matched = sorted(rules.allowed_categories & need.household_categories)
        items.append((i18n.ELIGIBLE_CATEGORIES, {"categories": i18n.household_names(matched)}))
    if rules.required_flags:
        items.append(
            (i18n.ELIGIBLE_FLAGS, {"flags": i18n.household_names(sorted(rules.required_flags))})
        )
    items.append(_window_item(offer))
    if need.deadline is not None:
        items.append((i18n.NEED_DEADLINE, {"deadline": need.deadline.isoformat()}))
    items.append(
        (
            i18n.CAPACITY_UNITS,
            {
                "offer_remaining": offer.remaining,
                "need_remaining": need.remaining,
                "quantity": quantity,
                "unit": unit,
                "offer_unit": i18n.unit_name(offer.unit),
            },
        )
    )
    if rules.max_per_household is not None:
        items.append((i18n.OFFER_LIMIT, {"limit": rules.max_per_household}))
    items.append((i18n.HOUSEHOLD_CAP, {"cap": config.per_household_cap}))
    return tuple(items)


def explain_edge(
    cands: Candidates,
    scores: NDArray[np.int64],
    *,
    edge: int,
    runner_up: int,
    quantity: int,
    config: RunConfig,
    taxonomy: Taxonomy | None = None,
    converted: bool = False,
) -> Explanation:
    """Explanation of candidate edge ``edge`` proposed with ``quantity`` units.

    ``runner_up`` is the best-scoring other candidate edge of the same need that was not
    proposed (``-1`` when the need had no other candidate).
    """
    need = cands.needs[int(cands.edge_need[edge])]
    offer = cands.offers[int(cands.edge_offer[edge])]
    level = int(cands.edge_level[edge])
    scaled = edge_parts_scaled(need, offer, level, config.today, config.weights)
    score = int(scores[edge])
    reasons: list[Item] = [(i18n.SCORE, {"score": score / SCALE})]
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
        other = offer_label(cands.offers[int(cands.edge_offer[runner_up])])
        margin = (score - int(scores[runner_up])) / SCALE
        if margin >= 0:
            reasons.append((i18n.BEAT, {"other_offer": other, "margin": margin}))
        else:
            reasons.append((i18n.LOST_CAPACITY, {"other_offer": other, "margin": -margin}))
    return Explanation(
        need_id=need.id,
        offer_id=offer.id,
        constraints=constraint_items(
            need, offer, level, quantity, config, taxonomy=taxonomy, converted=converted
        ),
        reasons=tuple(reasons),
    )


def _value(value: object, key: str, translate: Callable[[str], str], locale: str) -> object:
    if isinstance(value, Mapping):
        lang = "en" if locale.startswith("en") else "zh"
        return value.get(lang, next(iter(value.values()), ""))
    if key in i18n.TRANSLATED_PARAMS and isinstance(value, str):
        return translate(value)
    return value


def render_item(item: Item, translate: Callable[[str], str], locale: str | None = None) -> str:
    """One item as text. ``locale`` picks language-dependent values; without it, Chinese
    when ``translate`` translates at all (it changes a known msgid), else English."""
    msgid, params = item
    if locale is None:
        locale = "en" if translate(i18n.SCORE) == i18n.SCORE else "zh"
    values = {key: _value(value, key, translate, locale) for key, value in params.items()}
    return translate(msgid).format(**values)


def render(
    explanation: Explanation,
    translate: Callable[[str], str] = i18n.identity,
    locale: str | None = None,
) -> str:
    """One line per item, translated through ``translate``."""
    return "\n".join(render_item(item, translate, locale) for item in explanation.items)
