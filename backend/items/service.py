"""Item kinds for needs and resources: the taxonomy of a county, resolving a typed title to a
kind and unit, county extensions and confirmations. Services flush, never commit; every change
writes audit + outbox through ``record_change``.

The shared taxonomy is ``matching/data/items.csv`` (loaded once per process); a county adds
rows in ``county_item_kinds``. A need or resource keeps the kind's *code* and how it was set
(:class:`backend.items.models.KindSource`); the API answers say which (``item_kind_source``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.audit.service import Actor
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.i18n import N_
from backend.items import repository as repo
from backend.items.models import CountyItemKind, KindSource
from backend.needs.models import Need
from backend.outbox.service import record_change
from matching.items import Inference, ItemKind, Taxonomy, load_taxonomy, normalize_unit, parse_rows

#: Namespace of the audit object ids of county kinds (their key is a code, not a UUID).
_KIND_NS = uuid.UUID("6f0d2c1e-7d43-4b38-9a57-2f6c1b1d9e10")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
UNITS_RE = re.compile(r"^[^=;|]{1,8}=\d{1,6}(;[^=;|]{1,8}=\d{1,6}){0,11}$")


@cache
def base_taxonomy() -> Taxonomy:
    """The packaged taxonomy (read once per process)."""
    return load_taxonomy()


def _rows(kinds: list[CountyItemKind]) -> list[dict[str, str]]:
    return [
        {
            "category": k.category,
            "code": k.code,
            "zh": k.name_zh,
            "en": k.name_en,
            "synonyms": k.synonyms,
            "units": k.units,
            "substitutes": k.substitutes,
        }
        for k in kinds
    ]


async def county_of(session: AsyncSession, region_code: str | None) -> str | None:
    """The county (third level) containing a region, or ``None`` above county level."""
    path = await repo.region_path(session, region_code) if region_code else None
    parts = (path or "").split(".")
    return parts[2] if len(parts) >= 3 else None


async def taxonomy_for(session: AsyncSession, county_code: str | None) -> Taxonomy:
    """The shared taxonomy plus the county's own kinds."""
    base = base_taxonomy()
    if county_code is None:
        return base
    rows = list(await repo.county_kinds(session, county_code))
    return base.extended(_rows(rows), county_code) if rows else base


async def taxonomies_for(session: AsyncSession, county_codes: Iterable[str]) -> dict[str, Taxonomy]:
    """:func:`taxonomy_for` of several counties, read with one query."""
    codes = sorted(set(county_codes))
    own: dict[str, list[CountyItemKind]] = {code: [] for code in codes}
    for kind in await repo.counties_kinds(session, codes):
        own[kind.county_code].append(kind)
    base = base_taxonomy()
    return {code: base.extended(_rows(rows), code) if rows else base for code, rows in own.items()}


async def taxonomy_for_region(session: AsyncSession, region_code: str | None) -> Taxonomy:
    return await taxonomy_for(session, await county_of(session, region_code))


@dataclass(frozen=True)
class Resolved:
    """A need's or resource's kind, unit and how the kind was set."""

    kind: str | None
    unit: str
    source: KindSource


def infer(taxonomy: Taxonomy, category: str, title: str, body: str = "") -> Inference:
    """The kind of the title (then title and text) among the category's kinds."""
    found = taxonomy.infer(title, category, strict=True)
    if found.kind is None and body:
        found = taxonomy.infer(f"{title} {body}", category, strict=True)
    return found


def resolve(
    taxonomy: Taxonomy,
    *,
    category: str,
    title: str,
    body: str = "",
    item_kind: str | None = None,
    unit: str = "",
) -> Resolved:
    """Take the given kind (it must be of the category) or infer it from the text."""
    unit = normalize_unit(unit)[:16]
    if item_kind:
        kind = taxonomy.get(item_kind)
        if kind is None or kind.category != category:
            raise Invalid(
                N_("Choose an item kind of the chosen category."), fields={"item_kind": "invalid"}
            )
        return Resolved(kind.code, unit or kind.default_unit, KindSource.GIVEN)
    found = infer(taxonomy, category, title, body)
    source = KindSource.INFERRED if found.kind is not None and found.sure else KindSource.UNSURE
    return Resolved(found.kind, unit or (found.unit or ""), source)


async def resolve_for_region(
    session: AsyncSession,
    region_code: str | None,
    *,
    category: str,
    title: str,
    body: str = "",
    item_kind: str | None = None,
    unit: str = "",
) -> Resolved:
    taxonomy = await taxonomy_for_region(session, region_code)
    return resolve(
        taxonomy, category=category, title=title, body=body, item_kind=item_kind, unit=unit
    )


def kind_name(taxonomy: Taxonomy, code: str | None, locale: str) -> str:
    kind = taxonomy.get(code)
    return kind.name(locale) if kind is not None else ""


# ---------------------------------------------------------------- county extensions


@dataclass(frozen=True)
class KindInput:
    county_code: str
    category: str
    code: str
    name_zh: str
    name_en: str
    synonyms: str = ""
    units: str = ""
    substitutes: str = ""


def _clean_list(value: str) -> str:
    return "|".join(s.strip() for s in re.split(r"[|,，、]", value) if s.strip())


async def add_county_kind(
    session: AsyncSession, user: CurrentUser, data: KindInput
) -> CountyItemKind:
    """A coordinator of the county (or an admin) adds an item kind for the county."""
    from backend.accounts.models import Role

    path = await repo.region_path(session, data.county_code)
    if path is None or path.count(".") != 2:
        raise NotFound(N_("County not found."))
    if not (user.is_admin or user.covers(Role.COORDINATOR, path)):
        raise NotFound(N_("County not found."))
    taxonomy = await taxonomy_for(session, data.county_code)
    code = f"c{data.county_code}_{data.code.strip().lower()}"
    errors: dict[str, str] = {}
    if not CODE_RE.match(data.code.strip().lower()):
        errors["code"] = "invalid"
    elif code in taxonomy or await repo.county_kind(session, code) is not None:
        errors["code"] = "taken"
    if not data.name_zh.strip() or len(data.name_zh.strip()) > 64:
        errors["name_zh"] = "required"
    if not data.name_en.strip() or len(data.name_en.strip()) > 128:
        errors["name_en"] = "required"
    units = ";".join(u.strip() for u in re.split(r"[;；]", data.units) if u.strip())
    if not UNITS_RE.match(units) or "=1" not in units:
        errors["units"] = "invalid"
    substitutes = _clean_list(data.substitutes)
    if any(s not in taxonomy for s in substitutes.split("|") if s):
        errors["substitutes"] = "invalid"
    if data.category not in taxonomy.categories():
        errors["category"] = "invalid"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    row = CountyItemKind(
        code=code,
        county_code=data.county_code,
        category=data.category,
        name_zh=data.name_zh.strip(),
        name_en=data.name_en.strip(),
        synonyms=_clean_list(data.synonyms),
        units=units,
        substitutes=substitutes,
        created_by=user.id,
    )
    # The row must also parse as a taxonomy row (units, substitutes) before it is stored.
    taxonomy.extended(_rows([row]), data.county_code)
    session.add(row)
    await session.flush()
    await record_change(
        session,
        actor=Actor(kind="user", id=user.id, role="coordinator"),
        action="item_kind.added",
        object_type="item_kind",
        object_id=uuid.uuid5(_KIND_NS, code),
        region_code=data.county_code,
        detail={"code": code, "category": data.category},
        payload={"code": code, "county": data.county_code},
    )
    return row


def county_kind_list(taxonomy: Taxonomy, county_code: str) -> list[ItemKind]:
    return [k for k in taxonomy.kinds.values() if k.county == county_code]


def parse_kind_rows(rows: list[dict[str, str]]) -> list[ItemKind]:
    return parse_rows(rows)


# ---------------------------------------------------------------- confirmation


async def confirm_need_kind(
    session: AsyncSession, user: CurrentUser, need_id: uuid.UUID, item_kind: str, unit: str = ""
) -> Need:
    """A caseworker of the household's region confirms (or corrects) a need's item kind."""
    from backend.needs import service as needs

    need, _ = await needs.need_for(session, user, need_id, lock=True)
    if need.item_kind_source != KindSource.UNSURE.value:
        raise Conflict(N_("This need's item kind is already confirmed."), code="kind_confirmed")
    taxonomy = await taxonomy_for_region(session, need.region_code)
    resolved = resolve(
        taxonomy,
        category=need.category,
        title=need.title,
        item_kind=item_kind,
        unit=unit or need.unit,
    )
    before = need.item_kind
    need.item_kind = resolved.kind
    if need.amount_fen is None:
        need.unit = resolved.unit
    need.item_kind_source = KindSource.CONFIRMED.value
    await record_change(
        session,
        actor=Actor(kind="user", id=user.id, role="caseworker"),
        action="need.item_kind_confirmed",
        object_type="need",
        object_id=need.id,
        region_code=need.region_code,
        detail={"from": before, "to": resolved.kind},
        payload={"item_kind": resolved.kind},
    )
    await session.flush()
    return need
