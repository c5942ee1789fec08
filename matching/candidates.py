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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matching.columns import column, encode, values
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
    """Candidate edges as parallel numpy arrays, grouped by need.

    ``needs`` and ``offers`` are sorted by id; edge ``e`` joins ``needs[edge_need[e]]`` and
    ``offers[edge_offer[e]]`` and was found at ``edge_level[e]`` (index in the need's region
    path). The edges of need ``i`` are ``need_start[i]:need_start[i + 1]``; within a need they
    are ordered most local level first, then by offer.
    """

    needs: tuple[Need, ...]
    offers: tuple[Offer, ...]
    edge_need: NDArray[np.int32]
    edge_offer: NDArray[np.int32]
    edge_level: NDArray[np.int8]
    need_start: NDArray[np.int64]
    _columns: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.edge_need)

    def need_column(self, attr: str) -> NDArray[np.int64]:
        """``need.<attr>`` of every need as integers (read once per run, then shared)."""
        key = "column:" + attr
        if key not in self._columns:
            self._columns[key] = column(self.needs, attr)
        found: NDArray[np.int64] = self._columns[key]
        return found

    def need_codes(self, attr: str) -> tuple[NDArray[np.int64], list[Any]]:
        """:func:`matching.columns.encode` of ``need.<attr>`` (read once per run, shared)."""
        key = "codes:" + attr
        if key not in self._columns:
            self._columns[key] = encode(values(self.needs, attr))
        found: tuple[NDArray[np.int64], list[Any]] = self._columns[key]
        return found

    def pairs(self) -> Iterable[tuple[int, int, int]]:
        """(need index, offer index, level) of every edge, as Python integers."""
        return zip(
            self.edge_need.tolist(),
            self.edge_offer.tolist(),
            self.edge_level.tolist(),
            strict=True,
        )


# Per-offer pair condition: (allowed categories | None, required flags | None, from | None).
_Cond = tuple[frozenset[str] | None, frozenset[str] | None, dt.date | None] | None
#: Ordinals standing for "no date": an offer available from always, a need without deadline.
_NO_START = -1
_BY_ID = attrgetter("id")
_NO_DEADLINE = 2**40
_WORD = 64
_WORD_MASK = (1 << _WORD) - 1


def build_index(
    offers: Sequence[Offer],
    today: dt.date,
    compat: Compat = DEFAULT_COMPAT,
    taxonomy: Taxonomy | None = None,
) -> dict[Key, list[tuple[int, _Cond]]]:
    """Bucket open offers by (servable need kind or category, unit group, service-area code)."""
    index: dict[Key, list[tuple[int, _Cond]]] = {}
    served: dict[tuple[str | None, str, str], list[tuple[str, str]]] = {}
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
        kind = (offer.item_kind, offer.unit, offer.category)
        keys = served.get(kind)
        if keys is None:
            keys = served[kind] = offer_keys(offer, compat, taxonomy)
        for key, group in keys:
            for code in dict.fromkeys(offer.service_area):
                index.setdefault((key, group, code), []).append(entry)
    return index


def _bitmasks(
    sets: Sequence[frozenset[str] | None], bits: Mapping[str, int], words: int
) -> NDArray[np.uint64]:
    """Each set as a row of ``words`` 64-bit words (bit ``bits[x]`` for each known ``x``)."""
    memo: dict[frozenset[str] | None, int] = {}
    masks: list[int] = []
    for s in sets:
        mask = memo.get(s)
        if mask is None:
            mask = memo[s] = sum(1 << bits[x] for x in s if x in bits) if s else 0
        masks.append(mask)
    out = np.zeros((len(masks), words), dtype=np.uint64)
    for w in range(words):
        out[:, w] = np.array(
            [(mask >> (w * _WORD)) & _WORD_MASK for mask in masks], dtype=np.uint64
        )
    return out


def _empty(needs: tuple[Need, ...], offers: tuple[Offer, ...]) -> Candidates:
    return Candidates(
        needs,
        offers,
        np.zeros(0, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0, dtype=np.int8),
        np.zeros(len(needs) + 1, dtype=np.int64),
    )


def build_candidates(
    needs: Iterable[Need],
    offers: Iterable[Offer],
    today: dt.date,
    compat: Compat = DEFAULT_COMPAT,
    taxonomy: Taxonomy | None = None,
) -> Candidates:
    """All candidate edges, needs and offers sorted by id, edges in (need, locality) order.

    Vectorised: every need asks, for each code of its region path from the most local up,
    the bucket of its (kind, unit group) and that code; the answers are expanded into edges
    with numpy, the offers' pair conditions (eligibility, start date) checked as bit masks
    and date ordinals, and an offer reached through several of its service-area codes kept
    once, at its most local level.
    """
    need_list = tuple(sorted(needs, key=_BY_ID))
    offer_list = tuple(sorted(offers, key=_BY_ID))
    index = build_index(offer_list, today, compat, taxonomy)
    cands = _empty(need_list, offer_list)
    if not index or not need_list:
        return cands
    n, m = len(need_list), len(offer_list)

    # Buckets as sorted integer keys (key id * number of codes + code id) over offer entries.
    key_ids: dict[tuple[str, str], int] = {}
    code_ids: dict[str, int] = {}
    raw: list[tuple[int, int, list[tuple[int, _Cond]]]] = []
    for (key, group, code), entries in index.items():
        kid = key_ids.setdefault((key, group), len(key_ids))
        cid = code_ids.setdefault(code, len(code_ids))
        raw.append((kid, cid, entries))
    n_codes = len(code_ids)
    raw.sort(key=lambda r: r[0] * n_codes + r[1])
    bucket_key = np.array([kid * n_codes + cid for kid, cid, _ in raw], dtype=np.int64)
    bucket_len = np.array([len(entries) for _, _, entries in raw], dtype=np.int64)
    bucket_start = np.cumsum(bucket_len) - bucket_len
    entry_offer = np.array([oi for _, _, entries in raw for oi, _ in entries], dtype=np.int32)
    conds = {oi: cond for _, _, entries in raw for oi, cond in entries}

    # Needs: key ids (several per need possible), region path code ids, open or not.
    profile, _ = encode(values(need_list, "item_kind", "unit", "category"))
    firsts = np.unique(profile, return_index=True)[1].tolist()
    kids_of = [[key_ids.get(k, -1) for k in need_keys(need_list[i], taxonomy)] for i in firsts]
    n_keys = max(len(k) for k in kids_of)
    table = np.array([k + [-1] * (n_keys - len(k)) for k in kids_of], dtype=np.int64)
    need_kid = table[profile]
    need_kid[cands.need_column("remaining") <= 0] = -1
    need_path, paths = encode(values(need_list, "region_path"))
    lengths = np.fromiter(map(len, paths), dtype=np.int64, count=len(paths))
    n_levels = int(lengths.max())
    flat = np.fromiter(
        map(code_ids.get, chain.from_iterable(paths), repeat(-1)),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    if (lengths == n_levels).all():
        path_codes = flat.reshape(len(paths), n_levels)
    else:
        path_codes = np.full((len(paths), n_levels), -1, dtype=np.int64)
        row = np.repeat(np.arange(len(paths)), lengths)
        path_codes[row, np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)] = (
            flat
        )
    codes = path_codes[need_path]  # (needs, levels)

    # Queries in (need, level from most local, key) order; answers expanded into edges.
    levels = np.arange(n_levels - 1, -1, -1, dtype=np.int64)
    code_q = codes[:, levels][:, :, None]  # (needs, levels, 1)
    kid_q = need_kid[:, None, :]  # (needs, 1, keys)
    query = np.where((code_q >= 0) & (kid_q >= 0), kid_q * n_codes + code_q, -1).ravel()
    pos = np.searchsorted(bucket_key, query)
    pos[pos >= len(bucket_key)] = 0
    hit = np.flatnonzero((query >= 0) & (bucket_key[pos] == query))
    pos = pos[hit]
    counts = bucket_len[pos]
    total = int(counts.sum())
    if not total:
        return cands
    per_need = n_levels * n_keys
    q_need = (hit // per_need).astype(np.int32)
    q_level = levels[(hit % per_need) // n_keys].astype(np.int8)
    ends = np.cumsum(counts)
    idx = np.repeat(bucket_start[pos] - (ends - counts), counts) + np.arange(total)
    edge_offer = entry_offer[idx]
    edge_need = np.repeat(q_need, counts)
    edge_level = np.repeat(q_level, counts)

    keep = _pair_conditions(cands, edge_need, edge_offer, conds)
    # An offer reached through several service-area codes (or keys) of one need: the first
    # (most local) edge stays.
    multi = np.zeros(m, dtype=bool)
    if n_keys > 1:
        multi[:] = True
    else:
        multi[[oi for oi in conds if len(set(offer_list[oi].service_area)) > 1]] = True
    maybe = np.flatnonzero(keep & multi[edge_offer])
    if len(maybe):
        pair = edge_need[maybe].astype(np.int64) * m + edge_offer[maybe]
        _, first = np.unique(pair, return_index=True)
        keep[maybe] = False
        keep[maybe[first]] = True
    if not keep.all():
        edge_need, edge_offer, edge_level = edge_need[keep], edge_offer[keep], edge_level[keep]
    np.cumsum(np.bincount(edge_need, minlength=n), out=cands.need_start[1:])
    cands.edge_need, cands.edge_offer, cands.edge_level = edge_need, edge_offer, edge_level
    return cands


def _pair_conditions(
    cands: Candidates,
    edge_need: NDArray[np.int32],
    edge_offer: NDArray[np.int32],
    conds: Mapping[int, _Cond],
) -> NDArray[np.bool_]:
    """Which edges pass their offer's eligibility rules and start date (the ``eligibility``
    and ``window`` constraints; the end date and capacities were checked per offer)."""
    keep = np.ones(len(edge_need), dtype=bool)
    m = len(cands.offers)
    conditional = {oi: c for oi, c in conds.items() if c is not None}
    if not conditional:
        return keep
    has_cond = np.zeros(m, dtype=bool)
    has_cond[list(conditional)] = True
    sel = np.flatnonzero(has_cond[edge_offer])
    if not len(sel):
        return keep
    cats = sorted({x for c in conditional.values() if c[0] for x in c[0]})
    flags = sorted({x for c in conditional.values() if c[1] for x in c[1]})
    cat_bits = {x: i for i, x in enumerate(cats)}
    flag_bits = {x: i for i, x in enumerate(flags)}
    cat_words = max(1, -(-len(cats) // _WORD))
    flag_words = max(1, -(-len(flags) // _WORD))
    offer_conds: list[_Cond] = [conditional.get(oi) for oi in range(m)]
    has_allowed = np.array([c is not None and c[0] is not None for c in offer_conds])
    allowed = _bitmasks([c[0] if c else None for c in offer_conds], cat_bits, cat_words)
    required = _bitmasks([c[1] if c else None for c in offer_conds], flag_bits, flag_words)
    start = np.array(
        [c[2].toordinal() if c and c[2] else _NO_START for c in offer_conds], dtype=np.int64
    )
    o = edge_offer[sel]
    ni = edge_need[sel]
    cat_code, cat_sets = cands.need_codes("household_categories")
    flag_code, flag_sets = cands.need_codes("household_flags")
    day_code, days = cands.need_codes("deadline")
    need_cats = _bitmasks(cat_sets, cat_bits, cat_words)[cat_code[ni]]
    need_flags = _bitmasks(flag_sets, flag_bits, flag_words)[flag_code[ni]]
    deadline = np.array([d.toordinal() if d else _NO_DEADLINE for d in days], dtype=np.int64)
    ok = ~has_allowed[o] | ((allowed[o] & need_cats) != 0).any(axis=1)
    ok &= ((required[o] & ~need_flags) == 0).all(axis=1)
    ok &= start[o] <= deadline[day_code[ni]]
    keep[sel[~ok]] = False
    return keep
