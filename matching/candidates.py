"""Candidate edges: which offers may serve which needs.

An offer may serve a need when all of these hold (constraint codes in brackets):

- [``category``] with an item taxonomy (:class:`matching.items.Taxonomy`, the default in the
  web app): the offer's item kind is the need's item kind or one it may substitute for. Rows
  without a known kind (unclassified: inference was not sure and nobody confirmed) match only
  each other, by category as before item kinds, so an unclassified offer never reaches a need
  of a known kind (a "慰问包" of unknown content is not proposed for a wheelchair).
  Without a taxonomy: the offer's category serves the need's category (identity, or the
  compatibility table in ``matching/data/compat.json``);
- [``unit``] with a taxonomy: the offer's unit converts to the need's (same unit group of
  :meth:`matching.items.Taxonomy.unit_of`: 公斤 and 斤 of rice do, 袋 and 斤 do not);
- [``service_area``] one of the offer's service-area codes is on the need's region path;
- [``eligibility``] the household has one of the allowed assistance categories (if any are
  set) and all required flags;
- [``window``] the offer is available until today or later, and from no later than the need's
  deadline;
- [``capacity``] the offer and the need both have units left.

Generation is indexed: offers are bucketed by (need kind or category they can serve, unit
group, service-area code), and a need looks up only the buckets of its own kind, unit group and
region path, never all pairs.
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from matching.items import Taxonomy
from matching.types import Need, Offer

Compat = Mapping[str, frozenset[str]]

CONSTRAINTS: tuple[str, ...] = (
    "category",
    "unit",
    "service_area",
    "eligibility",
    "window",
    "capacity",
)
#: Index key: ("k" + need kind | "c" + need category, unit group, service-area code).
Key = tuple[str, str, str]


def load_compat(text: str | None = None) -> dict[str, frozenset[str]]:
    """Load the category compatibility table (offer category -> need categories).

    Without ``text`` the packaged ``matching/data/compat.json`` is read.
    """
    if text is None:
        text = resources.files("matching").joinpath("data/compat.json").read_text("utf-8")
    raw = json.loads(text)
    return {
        key: frozenset(str(v) for v in values)
        for key, values in raw.items()
        if not key.startswith("_")
    }


DEFAULT_COMPAT: dict[str, frozenset[str]] = load_compat()


def serves_categories(offer_category: str, compat: Compat) -> frozenset[str]:
    """Need categories an offer category can serve (always including itself)."""
    return compat.get(offer_category, frozenset()) | {offer_category}


def category_ok(offer: Offer, need: Need, compat: Compat = DEFAULT_COMPAT) -> bool:
    return need.category in serves_categories(offer.category, compat)


def need_keys(need: Need, taxonomy: Taxonomy | None) -> tuple[tuple[str, str], ...]:
    """(kind-or-category key, unit group) pairs a need is looked up by.

    A need of a known kind is looked up by its kind and unit group; one without by its
    category (only offers without a kind serve it). One key today; a tuple so a rule may add
    more.
    """
    if taxonomy is None or need.item_kind is None or need.item_kind not in taxonomy:
        return (("c" + need.category, ""),)
    return (("k" + need.item_kind, taxonomy.unit_of(need.item_kind, need.unit)[0]),)


def offer_keys(offer: Offer, compat: Compat, taxonomy: Taxonomy | None) -> list[tuple[str, str]]:
    """(kind-or-category key, unit group) of every need an offer may serve."""
    if taxonomy is not None and offer.item_kind is not None and offer.item_kind in taxonomy:
        group = taxonomy.unit_of(offer.item_kind, offer.unit)[0]
        return [("k" + k, group) for k in sorted(taxonomy.serves(offer.item_kind))]
    return [("c" + c, "") for c in sorted(serves_categories(offer.category, compat))]


def kind_ok(
    offer: Offer, need: Need, compat: Compat = DEFAULT_COMPAT, taxonomy: Taxonomy | None = None
) -> bool:
    """Item kind (or category) and unit agree (the ``category`` and ``unit`` constraints)."""
    served = offer_keys(offer, compat, taxonomy)
    return any(key in served for key in need_keys(need, taxonomy))


def service_level(offer: Offer, need: Need) -> int | None:
    """Index in ``need.region_path`` of the most local service-area root containing the need.

    ``None`` when the need lies outside the offer's service area.
    """
    area = set(offer.service_area)
    for level in range(len(need.region_path) - 1, -1, -1):
        if need.region_path[level] in area:
            return level
    return None


def eligible(offer: Offer, need: Need) -> bool:
    rules = offer.eligibility
    if rules.allowed_categories is not None and not (
        rules.allowed_categories & need.household_categories
    ):
        return False
    return rules.required_flags <= need.household_flags


def offer_open(offer: Offer, today: dt.date) -> bool:
    """Offer-only checks: still available and has capacity left."""
    until_ok = offer.available_until is None or offer.available_until >= today
    return until_ok and offer.remaining > 0


def window_ok(offer: Offer, need: Need, today: dt.date) -> bool:
    if offer.available_until is not None and offer.available_until < today:
        return False
    return (
        offer.available_from is None
        or need.deadline is None
        or (offer.available_from <= need.deadline)
    )


def check(
    offer: Offer,
    need: Need,
    today: dt.date,
    compat: Compat = DEFAULT_COMPAT,
    taxonomy: Taxonomy | None = None,
) -> bool:
    """Whether the pair is a candidate edge (the unindexed reference definition)."""
    return (
        kind_ok(offer, need, compat, taxonomy)
        and service_level(offer, need) is not None
        and eligible(offer, need)
        and window_ok(offer, need, today)
        and offer.remaining > 0
        and need.remaining > 0
    )


@dataclass(slots=True)
class Candidates:
    """Candidate edges as parallel arrays, grouped by need.

    ``needs`` and ``offers`` are sorted by id; edge ``e`` joins ``needs[edge_need[e]]`` and
    ``offers[edge_offer[e]]`` and was found at ``edge_level[e]`` (index in the need's region
    path). The edges of need ``i`` are ``need_start[i]:need_start[i + 1]``.
    """

    needs: tuple[Need, ...]
    offers: tuple[Offer, ...]
    edge_need: array[int]
    edge_offer: array[int]
    edge_level: array[int]
    need_start: array[int]

    def __len__(self) -> int:
        return len(self.edge_need)

    def pairs(self) -> Iterable[tuple[int, int, int]]:
        return zip(self.edge_need, self.edge_offer, self.edge_level, strict=True)


# Per-offer pair condition: (allowed categories | None, required flags | None, from | None).
_Cond = tuple[frozenset[str] | None, frozenset[str] | None, dt.date | None] | None


def build_index(
    offers: Sequence[Offer],
    today: dt.date,
    compat: Compat = DEFAULT_COMPAT,
    taxonomy: Taxonomy | None = None,
) -> dict[Key, list[tuple[int, _Cond]]]:
    """Bucket open offers by (servable need kind or category, unit group, service-area code)."""
    index: dict[Key, list[tuple[int, _Cond]]] = {}
    for oi, offer in enumerate(offers):
        if not offer_open(offer, today):
            continue
        rules = offer.eligibility
        cond: _Cond = (
            rules.allowed_categories,
            rules.required_flags or None,
            offer.available_from,
        )
        if cond == (None, None, None):
            cond = None
        entry = (oi, cond)
        for key, group in offer_keys(offer, compat, taxonomy):
            for code in dict.fromkeys(offer.service_area):
                index.setdefault((key, group, code), []).append(entry)
    return index


def build_candidates(
    needs: Iterable[Need],
    offers: Iterable[Offer],
    today: dt.date,
    compat: Compat = DEFAULT_COMPAT,
    taxonomy: Taxonomy | None = None,
) -> Candidates:
    """All candidate edges, needs and offers sorted by id, edges in (need, locality) order.

    For each need the region path is walked from the most local code up, so an offer reached
    through several of its service-area codes is kept once, at its most local level.
    """
    need_list = tuple(sorted(needs, key=lambda n: n.id))
    offer_list = tuple(sorted(offers, key=lambda o: o.id))
    index = build_index(offer_list, today, compat, taxonomy)
    edge_need: array[int] = array("i")
    edge_offer: array[int] = array("i")
    edge_level: array[int] = array("b")
    need_start: array[int] = array("q", [0])
    add_need = edge_need.append
    add_offer = edge_offer.append
    add_level = edge_level.append
    get = index.get
    keys_memo: dict[tuple[str | None, str, str], tuple[tuple[str, str], ...]] = {}
    for ni, need in enumerate(need_list):
        if need.remaining > 0:
            memo = (need.item_kind, need.unit, need.category)
            keys = keys_memo.get(memo)
            if keys is None:
                keys = keys_memo[memo] = need_keys(need, taxonomy)
            path = need.region_path
            seen: set[int] = set()
            for level in range(len(path) - 1, -1, -1):
                code = path[level]
                bucket = get((*keys[0], code))
                if len(keys) > 1:
                    more = get((*keys[1], code))
                    if more is not None:
                        bucket = more if bucket is None else bucket + more
                if bucket is None:
                    continue
                for oi, cond in bucket:
                    if oi in seen:
                        continue
                    if cond is not None:
                        allowed, required, start = cond
                        if allowed is not None and allowed.isdisjoint(need.household_categories):
                            continue
                        if required is not None and not required <= need.household_flags:
                            continue
                        if (
                            start is not None
                            and need.deadline is not None
                            and (start > need.deadline)
                        ):
                            continue
                    seen.add(oi)
                    add_need(ni)
                    add_offer(oi)
                    add_level(level)
        need_start.append(len(edge_need))
    return Candidates(need_list, offer_list, edge_need, edge_offer, edge_level, need_start)
