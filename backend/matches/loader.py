"""Build the matching engine's plain inputs for one county from the database.

The engine sees an opaque household key, a region path, category and flags: nothing personal.
The household's own region path (a caseworker-internal location) is used for the service-area
check and the distance score; it stays in this process and never reaches a Match row, an
explanation or a notification (those carry the need id only).

Needs and resources carry an item kind and unit; the county's taxonomy (shared kinds plus the
county's own) goes with the input, and the engine matches kinds and converts units. Text terms
(jieba) are segmented in :func:`with_terms`, called in the worker thread with the solve.

Two passes share one run: needs counted in units (parcels, visits, hours) are matched with
non-monetary offers, needs counted in money (``amount_fen``) with fund offers. The money pass
works in whole yuan so capacities stay small; match quantities are stored back in fen.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.items import service as items
from backend.matches import repository as repo
from backend.needs.models import NeedState
from backend.resources.models import ResourceKind
from matching.items import Taxonomy, terms
from matching.types import Eligibility, Need, Offer, RunConfig, Weights

#: Defaults that are not engine weights: units (and yuan) per household per run.
DEFAULT_PER_HOUSEHOLD_CAP = 2
DEFAULT_PER_HOUSEHOLD_YUAN = 10_000
FEN_PER_UNIT = 100  # money pass unit: one yuan

WEIGHT_NAMES = tuple(f.name for f in fields(Weights))


@dataclass(frozen=True)
class CountySettings:
    """A county's matching settings: engine weights (defaults from ``matching``) and caps."""

    weights: Weights = field(default_factory=Weights)
    per_household_cap: int = DEFAULT_PER_HOUSEHOLD_CAP
    per_household_yuan: int = DEFAULT_PER_HOUSEHOLD_YUAN

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any]) -> CountySettings:
        values = {k: float(v) for k, v in overrides.items() if k in WEIGHT_NAMES and float(v) >= 0}
        return cls(
            weights=Weights(**values),
            per_household_cap=max(
                1, int(overrides.get("per_household_cap", DEFAULT_PER_HOUSEHOLD_CAP))
            ),
            per_household_yuan=max(
                1, int(overrides.get("per_household_yuan", DEFAULT_PER_HOUSEHOLD_YUAN))
            ),
        )

    def as_dict(self) -> dict[str, float]:
        data: dict[str, float] = {name: getattr(self.weights, name) for name in WEIGHT_NAMES}
        data["per_household_cap"] = self.per_household_cap
        data["per_household_yuan"] = self.per_household_yuan
        return data


@dataclass(frozen=True)
class Pass:
    """One engine call: its inputs, its config, and how many fen one unit is (1 or 100)."""

    name: str
    needs: tuple[Need, ...]
    offers: tuple[Offer, ...]
    config: RunConfig
    unit: int


@dataclass(frozen=True)
class CountyInput:
    county_code: str
    settings: CountySettings
    passes: tuple[Pass, ...]
    #: engine need id → region code of the need (for scoping), organization id per offer.
    need_region: dict[str, str]
    offer_org: dict[str, uuid.UUID]
    taxonomy: Taxonomy
    #: Public text (title and body / description) per engine need and offer id, for terms.
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "needs": sum(len(p.needs) for p in self.passes),
            "offers": sum(len(p.offers) for p in self.passes),
        }


def _waiting_days(published_at: datetime | None, today: date) -> int:
    if published_at is None:
        return 0
    return max(0, (today - published_at.date()).days)


def _eligibility(raw: dict[str, object]) -> Eligibility:
    categories = raw.get("categories") or raw.get("household_categories")
    flags = raw.get("flags") or raw.get("required_flags") or []
    limit = raw.get("max_per_household")
    return Eligibility(
        allowed_categories=frozenset(str(c) for c in categories)
        if isinstance(categories, list) and categories
        else None,
        required_flags=frozenset(str(f) for f in flags) if isinstance(flags, list) else frozenset(),
        max_per_household=int(limit)
        if isinstance(limit, int | float | str) and str(limit).isdigit() and int(limit) > 0
        else None,
    )


def _clamp01(value: float | None) -> float:
    if value is None:
        return 0.0
    return min(1.0, max(0.0, float(value)))


def _engine_need(
    row: repo.NeedRow, amount_codes: set[str], held: int, today: date
) -> tuple[Need, bool] | None:
    """The need as the engine sees it, and whether it counts in money (``None``: nothing left)."""
    need = row.need
    is_money = need.amount_fen is not None and (
        need.quantity is None or need.category in amount_codes
    )
    total = (need.amount_fen if is_money else need.quantity) or 0
    left = total - need.pledged - held
    units = left // FEN_PER_UNIT if is_money else left
    if units <= 0:
        return None
    return (
        Need(
            id=str(need.id),
            category=need.category,
            remaining=units,
            urgency=need.urgency.value,
            deadline=need.deadline,
            region_path=tuple(row.region_path.split(".")),
            household_id=str(row.household_id),
            household_categories=frozenset({row.household_category}),
            household_flags=frozenset(row.household_flags),
            vulnerability=_clamp01(row.vulnerability),
            waiting_days=_waiting_days(need.published_at, today),
            item_kind=need.item_kind,
            unit="元" if is_money else need.unit,
            title=need.title,
        ),
        is_money,
    )


def _engine_offer(offer_row: repo.OfferRow, held: int) -> tuple[Offer, bool] | None:
    """The offer as the engine sees it, and whether it is money (``None``: nothing left)."""
    res = offer_row.resource
    is_money = res.kind == ResourceKind.FUNDS
    left = res.remaining - held
    units = left // FEN_PER_UNIT if is_money else left
    if units <= 0:
        return None
    return (
        Offer(
            id=str(res.id),
            organization_id=str(res.organization_id),
            category=res.category,
            remaining=units,
            service_area=tuple(res.service_area),
            eligibility=_eligibility(res.eligibility or {}),
            available_from=res.available_from,
            available_until=res.available_until,
            org_rating=offer_row.rating_sum / offer_row.rating_count
            if offer_row.rating_count
            else None,
            item_kind=res.item_kind,
            unit="元" if is_money else res.unit,
            title=res.title,
            organization_name=offer_row.organization_name,
        ),
        is_money,
    )


def _passes(
    settings: CountySettings,
    today: date,
    *,
    unit_needs: list[Need],
    money_needs: list[Need],
    unit_offers: list[Offer],
    money_offers: list[Offer],
) -> tuple[Pass, ...]:
    return (
        Pass(
            "units",
            tuple(unit_needs),
            tuple(unit_offers),
            RunConfig(
                today=today, per_household_cap=settings.per_household_cap, weights=settings.weights
            ),
            1,
        ),
        Pass(
            "money",
            tuple(money_needs),
            tuple(money_offers),
            RunConfig(
                today=today, per_household_cap=settings.per_household_yuan, weights=settings.weights
            ),
            FEN_PER_UNIT,
        ),
    )


@dataclass(frozen=True)
class NeedsInput:
    """:func:`load_needs`: one reduced county input per county, the taxonomy of every county
    of the needs, and the loaded offers (for their titles and organizations)."""

    counties: tuple[CountyInput, ...]
    taxonomies: dict[str, Taxonomy]
    offers: dict[str, repo.OfferRow]


async def load_needs(
    session: AsyncSession,
    need_ids: list[uuid.UUID],
    today: date,
    *,
    amount_codes: set[str] | None = None,
) -> NeedsInput:
    """:func:`load_county` reduced to the given needs (those published and visible), for all
    their counties at once, in a fixed number of statements whatever the needs and counties:
    the needs, the counties' weights and own kinds, the offers whose service area touches a
    need's region path, and the units open matches hold (as each county's run would see them).
    """
    rows = await repo.needs_by_id(session, need_ids)
    county_of = {
        r.need.id: r.region_path.split(".")[2] for r in rows if r.region_path.count(".") >= 2
    }
    counties = sorted(set(county_of.values()))
    taxonomies = await items.taxonomies_for(session, counties)
    usable = [
        r
        for r in rows
        if r.need.id in county_of
        and r.need.state == NeedState.PUBLISHED
        and not r.need.hidden_reason
    ]
    if not usable:
        return NeedsInput((), taxonomies, {})
    weights = await repo.counties_weights(session, counties)
    if amount_codes is None:
        amount_codes = await repo.amount_categories(session)
    area = sorted({code for r in usable for code in r.region_path.split(".")})
    offer_rows = await repo.active_offers(session, area)
    held = await repo.held_by_county(
        session, [r.need.id for r in usable], [o.resource.id for o in offer_rows]
    )
    inputs: list[CountyInput] = []
    for county_code in counties:
        settings = CountySettings.from_overrides(weights.get(county_code, {}))
        texts: dict[str, str] = {}
        needs: tuple[list[Need], list[Need]] = ([], [])
        need_region: dict[str, str] = {}
        codes: set[str] = set()
        for row in usable:
            if county_of[row.need.id] != county_code:
                continue
            made = _engine_need(row, amount_codes, held.need(row.need.id, county_code), today)
            if made is None:
                continue
            engine_need, is_money = made
            needs[is_money].append(engine_need)
            texts[engine_need.id] = f"{row.need.title} {row.need.body}"
            need_region[engine_need.id] = row.need.region_code
            codes.update(engine_need.region_path)
        offers: tuple[list[Offer], list[Offer]] = ([], [])
        offer_org: dict[str, uuid.UUID] = {}
        for offer_row in offer_rows:
            res = offer_row.resource
            if codes.isdisjoint(res.service_area):
                continue
            made_offer = _engine_offer(offer_row, held.offer(res.id, county_code))
            if made_offer is None:
                continue
            offer, is_money = made_offer
            offers[is_money].append(offer)
            texts[offer.id] = f"{res.title} {res.description}"
            offer_org[offer.id] = res.organization_id
        passes = _passes(
            settings,
            today,
            unit_needs=needs[0],
            money_needs=needs[1],
            unit_offers=offers[0],
            money_offers=offers[1],
        )
        inputs.append(
            CountyInput(
                county_code,
                settings,
                passes,
                need_region,
                offer_org,
                taxonomies[county_code],
                texts,
            )
        )
    return NeedsInput(tuple(inputs), taxonomies, {str(o.resource.id): o for o in offer_rows})


async def load_county(session: AsyncSession, county_code: str, today: date) -> CountyInput:
    """Everything one county's run needs, already net of units held by open matches."""
    region = await repo.county(session, county_code)
    if region is None:
        raise LookupError(f"{county_code} is not a county")
    settings = CountySettings.from_overrides(await repo.county_weights(session, county_code))
    taxonomy = await items.taxonomy_for(session, county_code)
    texts: dict[str, str] = {}
    amount_codes = await repo.amount_categories(session)

    need_rows = await repo.published_needs(session, region.path)
    held_need = await repo.held_quantities(
        session, county_code=county_code, column="need", ids=[r.need.id for r in need_rows]
    )
    # Offers whose service area contains a region of this county or one of its ancestors.
    area = [*region.path.split("."), *await repo.subtree_codes(session, region.path)]
    offer_rows = await repo.active_offers(session, sorted(set(area)))
    held_offer = await repo.held_quantities(
        session, county_code=county_code, column="resource", ids=[r.resource.id for r in offer_rows]
    )

    unit_needs: list[Need] = []
    money_needs: list[Need] = []
    need_region: dict[str, str] = {}
    for row in need_rows:
        made = _engine_need(row, amount_codes, held_need.get(row.need.id, 0), today)
        if made is None:
            continue
        engine_need, is_money = made
        texts[engine_need.id] = f"{row.need.title} {row.need.body}"
        (money_needs if is_money else unit_needs).append(engine_need)
        need_region[engine_need.id] = row.need.region_code

    unit_offers: list[Offer] = []
    money_offers: list[Offer] = []
    offer_org: dict[str, uuid.UUID] = {}
    for offer_row in offer_rows:
        res = offer_row.resource
        made_offer = _engine_offer(offer_row, held_offer.get(res.id, 0))
        if made_offer is None:
            continue
        offer, is_money = made_offer
        texts[offer.id] = f"{res.title} {res.description}"
        (money_offers if is_money else unit_offers).append(offer)
        offer_org[offer.id] = res.organization_id

    passes = _passes(
        settings,
        today,
        unit_needs=unit_needs,
        money_needs=money_needs,
        unit_offers=unit_offers,
        money_offers=money_offers,
    )
    return CountyInput(county_code, settings, passes, need_region, offer_org, taxonomy, texts)


@lru_cache(maxsize=16_384)
def text_terms(text: str) -> tuple[str, ...]:
    """The segmented terms of a public text, remembered per process (the queue page segments
    the same offers' texts on every request; a run the same texts night after night)."""
    return tuple(terms(text))


def with_terms(data: CountyInput) -> CountyInput:
    """The input with every need's and offer's text terms (CPU work: call off the loop)."""

    def of(key: str) -> tuple[str, ...]:
        return text_terms(data.texts.get(key, ""))

    passes = tuple(
        replace(
            p,
            needs=tuple(replace(n, terms=of(n.id)) for n in p.needs),
            offers=tuple(replace(o, terms=of(o.id)) for o in p.offers),
        )
        for p in data.passes
    )
    return replace(data, passes=passes)


def converted_quantities(
    data: CountyInput, need: Need, offer: Offer, base_quantity: int, unit: int
) -> tuple[int, int | None]:
    """A proposal's quantity (in the kind's base unit) in the need's and the offer's units.

    Returns (need quantity, offer quantity or ``None`` when both count the same), times
    ``unit`` (fen per unit in the money pass). The need side rounds down (never promise more
    than the offer covers), the offer side up (never take less than is handed out).
    """
    f_need = data.taxonomy.unit_of(need.item_kind, need.unit)[1]
    f_offer = data.taxonomy.unit_of(offer.item_kind, offer.unit)[1]
    need_qty = base_quantity // f_need
    if f_need == f_offer:
        return need_qty * unit, None
    return need_qty * unit, -(-need_qty * f_need // f_offer) * unit
