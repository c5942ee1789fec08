"""Plain data types of the matching engine.

Everything here is a frozen dataclass built from the public projection of needs and resources:
no personal data ever reaches the engine (``household_id`` is an opaque key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Urgency = Literal["emergency", "high", "normal"]

#: Administrative levels of a GB/T 2260 region path, by index in ``Need.region_path``.
LEVELS: tuple[str, ...] = ("province", "city", "county", "township", "community")


@dataclass(frozen=True, slots=True)
class Need:
    """A published need of one household.

    ``remaining`` is counted in units of the need's category (parcels, visits, hours...).
    ``item_kind`` is a code of the item taxonomy (:mod:`matching.items`; ``None`` when
    unknown) and ``unit`` the unit ``remaining`` is counted in (``""``: the kind's default).
    ``terms`` are the segmented words of the need's public text (:func:`matching.items.terms`)
    and ``title`` its public title, shown in explanations.
    ``region_path`` lists GB/T 2260 codes from the province down to the (possibly generalised)
    location, e.g. ``("330000", "330100", "330106", "330106001", "330106001001")``.
    ``vulnerability`` is in ``0..1``; ``waiting_days`` counts days since publication.
    """

    id: str
    category: str
    remaining: int
    urgency: Urgency
    deadline: dt.date | None
    region_path: tuple[str, ...]
    household_id: str
    household_categories: frozenset[str] = frozenset()
    household_flags: frozenset[str] = frozenset()
    vulnerability: float = 0.0
    waiting_days: int = 0
    item_kind: str | None = None
    unit: str = ""
    terms: tuple[str, ...] = ()
    title: str = ""


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Who an offer may serve.

    ``allowed_categories``: household assistance categories accepted (``None`` = any; a
    household qualifies when it has at least one of them). ``required_flags``: flags the
    household must all have (e.g. ``{"disabled"}`` for a disabled persons' federation offer).
    ``max_per_household``: at most this many units of the offer go to one household per run.
    """

    allowed_categories: frozenset[str] | None = None
    required_flags: frozenset[str] = frozenset()
    max_per_household: int | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    """A resource offered by an organization; ``remaining`` units are still free.

    ``service_area`` holds region codes, each the root of a served subtree.
    ``org_rating`` is the organization's average feedback, ``1..5`` (``None`` = no ratings yet).
    ``item_kind``, ``unit`` and ``terms`` as for :class:`Need` (of the offer's description);
    ``title`` and ``organization_name`` name the offer in explanations.
    """

    id: str
    organization_id: str
    category: str
    remaining: int
    service_area: tuple[str, ...]
    eligibility: Eligibility = field(default_factory=Eligibility)
    available_from: dt.date | None = None
    available_until: dt.date | None = None
    org_rating: float | None = None
    item_kind: str | None = None
    unit: str = ""
    terms: tuple[str, ...] = ()
    title: str = ""
    organization_name: str = ""


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the score parts; each part is a ``0..1`` factor times its weight.

    Defaults (a unit scores at most 100 points):

    - ``urgency`` 40: emergency 1.0, high 0.6, normal 0.2
    - ``vulnerability`` 25: the need's vulnerability (0..1)
    - ``waiting`` 15: ``min(waiting_days, 90) / 90``
    - ``distance`` 10: locality of the offer's service-area root matched by the need's region,
      community 1.0, township 0.75, county 0.5, city 0.25, province 0.0
    - ``deadline`` 5: ``1 - min(days_left, 30) / 30`` (0 without a deadline)
    - ``rating`` 5: ``(rating - 1) / 4``, neutral 0.5 when the organization has no rating
    - ``relevance`` 10: share of the need's text terms (weighted, 1.5 for words of three or
      more characters, 1 otherwise) that the offer's text also has; 0 without need terms

    So a unit scores at most 110 points.
    """

    urgency: float = 40.0
    vulnerability: float = 25.0
    waiting: float = 15.0
    distance: float = 10.0
    deadline: float = 5.0
    rating: float = 5.0
    relevance: float = 10.0


@dataclass(frozen=True, slots=True)
class RunConfig:
    """One matching run.

    ``per_household_cap`` is counted in UNITS: a household receives at most this many units
    in one run, over all its needs and all offers. Every proposal carries at least one unit,
    so it is also an upper bound on the number of proposals a household gets per run (with
    the default 1, exactly one proposal of one unit at most). With item kinds, quantities are
    converted to each kind's base unit first, so the cap counts base units (斤, not kg). A cap on the number of
    proposals independent of their size is not a flow constraint, hence units.
    """

    today: dt.date
    per_household_cap: int = 1
    weights: Weights = field(default_factory=Weights)


@dataclass(frozen=True, slots=True)
class Proposal:
    """``quantity`` units of ``offer_id`` for ``need_id``.

    ``score`` is the per-unit score in points; ``parts`` maps score part name to its
    contribution in points (they sum to ``score``). ``passed`` lists constraint codes checked.
    ``quantity`` is counted in ``unit``: the need's item kind's base unit when the need's and
    the offer's units were converted (``斤`` for rice offered in kg), else their common unit.
    """

    need_id: str
    offer_id: str
    quantity: int
    score: float
    parts: Mapping[str, float]
    passed: tuple[str, ...]
    unit: str = ""


def proposals_from_columns(
    *,
    need_ids: Iterable[str],
    offer_ids: Iterable[str],
    quantities: Iterable[int],
    scores: Iterable[float],
    parts: Iterable[Mapping[str, float]],
    passed: tuple[str, ...],
    units: Iterable[str],
) -> tuple[Proposal, ...]:
    """Proposals from parallel columns, equal to ``Proposal(...)`` built one by one.

    The engine builds tens of thousands at once; the frozen dataclass ``__init__`` writes each
    field through ``object.__setattr__``, which costs more than the rest of building them.
    This writes the same fields through the slot descriptors (the same store, minus the
    lookup), so the objects are ordinary frozen proposals.
    """
    new = object.__new__
    put = [getattr(Proposal, name).__set__ for name in _PROPOSAL_FIELDS]
    put_need, put_offer, put_quantity, put_score, put_parts, put_passed, put_unit = put
    out: list[Proposal] = []
    add = out.append
    for need_id, offer_id, quantity, score, p, unit in zip(
        need_ids, offer_ids, quantities, scores, parts, units, strict=True
    ):
        proposal = new(Proposal)
        put_need(proposal, need_id)
        put_offer(proposal, offer_id)
        put_quantity(proposal, quantity)
        put_score(proposal, score)
        put_parts(proposal, p)
        put_passed(proposal, passed)
        put_unit(proposal, unit)
        add(proposal)
    return tuple(out)


_PROPOSAL_FIELDS = ("need_id", "offer_id", "quantity", "score", "parts", "passed", "unit")


#: One explanation item: an English ``str.format`` message id and its parameters.
Item = tuple[str, Mapping[str, object]]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a proposal was made: constraint items then score items, in display order."""

    need_id: str
    offer_id: str
    constraints: tuple[Item, ...]
    reasons: tuple[Item, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        return self.constraints + self.reasons
