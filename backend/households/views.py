"""Caseworker pages: households, verification, assessment, consent, 幸福码, need drafts,
the referral inbox; and the 主动发现 referral pages for any signed-in user."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.core.csvexport import csv_response, csv_stream
from backend.core.errors import DomainError, NotFound
from backend.core.http import DB, Form, error_context, form_error
from backend.core.i18n import N_
from backend.core.pagination import COUNT_CAP, Page
from backend.core.runtime import runtime_of
from backend.core.security import current_locale, login_required, require_user, user_of
from backend.core.templating import page
from backend.households import code as household_code
from backend.households import repository as repo
from backend.households import service
from backend.households.cards import Card, CardStore, office_phone
from backend.households.models import (
    AssistanceCategory,
    HouseholdStatus,
    MemberFlag,
    ReferralState,
)
from backend.households.qr import qr_svg
from backend.households.schemas import DIMENSIONS, PERSONAL_FIELDS, HouseholdIn
from backend.needs import service as needs_service
from backend.needs.models import NeedState
from backend.needs.schemas import NeedIn
from backend.privacy.scanner import Finding, mark_spans_html
from backend.regions.models import RegionLevel
from backend.regions.service import by_level, get_region


def caseworker_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Personal data is for caseworkers only (privacy rule 1): platform admins do not pass."""
    user = user_of(connection)
    if user is None:
        raise NotAuthorizedException()
    if not user.has_role(Role.CASEWORKER):
        raise PermissionDeniedException()


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _card_store(request: Request[Any, Any, Any]) -> CardStore:
    return CardStore(runtime_of(request.app.state).queue.pool)


async def _store_cards(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: CurrentUser,
    issued: list[service.IssuedCode],
) -> str:
    regions = await service.card_regions(db, [i.household_id for i in issued])
    cards = [
        Card(
            number=n,
            household_id=i.household_id,
            code=i.code,
            community=regions[i.household_id][1],
            region_code=regions[i.household_id][0],
            pin=i.pin,
        )
        for n, i in enumerate(issued, start=1)
    ]
    return await _card_store(request).put(user.id, cards)


def parse_ages(raw: str) -> list[int]:
    """``"68, 42 9"`` → [68, 42, 9]; anything not a number becomes -1 (invalid)."""
    out: list[int] = []
    for raw_part in raw.replace("，", ",").replace("、", ",").replace(" ", ",").split(","):
        part = raw_part.strip()
        if part:
            out.append(int(part) if part.isdigit() else -1)
    return out


def household_in(data: dict[str, str]) -> HouseholdIn:
    referral = data.get("referral_id") or ""
    try:
        referral_id = uuid.UUID(referral) if referral else None
    except ValueError:
        referral_id = None
    return HouseholdIn(
        head_name=data.get("head_name", ""),
        id_number=data.get("id_number", ""),
        region_code=data.get("region_code", ""),
        category=data.get("category", ""),
        phone=data.get("phone", ""),
        address=data.get("address", ""),
        member_ages=parse_ages(data.get("member_ages", "")),
        flags=[f.value for f in MemberFlag if data.get(f"flag_{f.value}")],
        unstable_income=bool(data.get("unstable_income")),
        referral_id=referral_id,
    )


def need_in(data: dict[str, str]) -> NeedIn:
    def number(name: str) -> int | None:
        raw = data.get(name, "").strip()
        return int(raw) if raw.isdigit() else None

    amount: int | None = None
    raw_amount = data.get("amount_yuan", "").strip().replace(",", "")
    if raw_amount:
        try:
            yuan, _, cents = raw_amount.partition(".")
            amount = int(yuan) * 100 + (int((cents + "00")[:2]) if cents else 0)
        except ValueError:
            amount = None
    deadline: date | None
    try:
        deadline = date.fromisoformat(data["deadline"]) if data.get("deadline") else None
    except ValueError:
        deadline = None
    return NeedIn(
        category=data.get("category", ""),
        title=data.get("title", ""),
        body=data.get("body", ""),
        quantity=number("quantity"),
        unit=data.get("unit", ""),
        amount_fen=amount,
        urgency=data.get("urgency", "normal"),
        deadline=deadline,
        item_kind=data.get("item_kind", "").strip() or None,
    )


async def _form_context(db: AsyncSession, user: CurrentUser) -> dict[str, Any]:
    regions = await repo.regions_under(
        db, service.caseworker_paths(user), ["township", "community"]
    )
    return {
        "regions": regions,
        "categories": list(AssistanceCategory),
        "member_flags": list(MemberFlag),
    }


def _shown_count(count: int) -> int | str:
    """A capped count as shown: "10000+" above the cap (backend.core.pagination)."""
    return f"{COUNT_CAP}+" if count > COUNT_CAP else count


VERIFICATION_FILTERS = ("valid", "lapsed", "none", "expiring")
FILTER_REGIONS_MAX = 400
# finest first: a county caseworker filters by township or community; a province-wide one by
# city or county (a dropdown of the province's ~14,000 communities would be unusable and slow)
FILTER_LEVELS = (("township", "community"), ("county", "township"), ("city", "county"))


#: The filter's regions per caseworker scope, kept a few minutes in each process: regions are
#: reference data (written by migrations and seeding only), and every list page needs them.
FILTER_REGIONS_SECONDS = 300.0
_filter_cache: dict[tuple[str, ...], tuple[float, list[tuple[str, str]]]] = {}


async def _filter_regions(db: AsyncSession, paths: tuple[str, ...]) -> list[tuple[str, str]]:
    """The list filter's regions: the finest pair of levels with at most FILTER_REGIONS_MAX."""
    cached = _filter_cache.get(paths)
    if cached is not None and time.monotonic() - cached[0] < FILTER_REGIONS_SECONDS:
        return cached[1]
    for levels in FILTER_LEVELS:
        regions = await repo.regions_under(db, paths, levels, limit=FILTER_REGIONS_MAX + 1)
        if len(regions) <= FILTER_REGIONS_MAX:
            break
    found = [(r.code, r.name) for r in regions[:FILTER_REGIONS_MAX]]
    if len(_filter_cache) > 1000:
        _filter_cache.clear()
    _filter_cache[paths] = (time.monotonic(), found)
    return found


async def _detail_context(
    db: AsyncSession, user: CurrentUser, household_id: uuid.UUID
) -> dict[str, Any]:
    household, _ = await service.household_for(db, user, household_id)
    region = await get_region(db, household.region_code)
    return {
        "household": household,
        "region": region,
        "masked": service.masked(household),
        "verification_state": service.verification_state(household.verified_until),
        "verifications": await repo.verifications(db, household.id),
        "assessments": await repo.assessments(db, household.id),
        "consents": await repo.consents(db, household.id),
        "needs": await needs_service.needs_of_household(db, household.id),
        "can_publish": await service.can_publish(db, household),
        "has_child": service.has_child(household),
        "dimensions": DIMENSIONS,
        "weights": service.WEIGHTS,
        "personal_fields": PERSONAL_FIELDS,
        "default_months": service.validity_months(household.category, household.unstable_income),
    }


def _remember_block(
    request: Request[Any, Any, Any], need_id: uuid.UUID, reason: str
) -> BackgroundTask:
    """Note the refusal for the start page in a transaction of its own, run after the response:
    this request rolls back with its 4xx first, releasing the need's row lock."""
    runtime = runtime_of(request.app.state)
    user = require_user(request)

    async def remember() -> None:
        async with runtime.transaction() as session:
            await needs_service.mark_publish_blocked(session, user, need_id, reason)

    return BackgroundTask(remember)


SEARCH_RESULTS = 50


async def _registry(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    raw: dict[str, str],
    *,
    text: str,
    page_no: int,
    size: int = 20,
) -> Template:
    user = require_user(request)
    paths = service.caseworker_paths(user)
    pager = Page(number=page_no, size=size)
    category, status = raw.get("category", ""), raw.get("status", "")
    query = service.RegistryQuery(
        text=text,
        category=AssistanceCategory(category)
        if category in {c.value for c in AssistanceCategory}
        else None,
        verification=raw.get("verification")
        if raw.get("verification") in VERIFICATION_FILTERS
        else None,
        consent="none" if raw.get("consent") == "none" else None,
        status=HouseholdStatus(status) if status in {s.value for s in HouseholdStatus} else None,
        community=raw.get("community") or None,
    )
    filters = {
        "q": text,
        "category": category if query.category else "",
        "verification": query.verification or "",
        "consent": query.consent or "",
        "status": status if query.status else "",
        "community": raw.get("community", ""),
    }
    context: dict[str, Any] = {
        "filters": filters,
        "filter_regions": await _filter_regions(db, paths),
        "categories": list(AssistanceCategory),
        "lapsed": _shown_count(
            await service.count_households(db, user, service.HouseholdFilter(verification="lapsed"))
        ),
        "new_referrals": _shown_count(await service.count_new_referrals(db, user)),
    }
    try:
        rows, total, kind = await service.search_households(
            db, user, query, offset=pager.offset, limit=pager.size
        )
    except DomainError as exc:
        return page(
            request,
            "households/list.html",
            fragment="households/_list.html",
            status_code=exc.status_code,
            items=[],
            pager=pager.with_total(0),
            base_url="/households",
            search_kind=None,
            **context,
            **error_context(exc),
        )
    items = [
        (h, name, service.masked(h), service.verification_state(h.verified_until))
        for h, name in rows
    ]
    # pages of a filtered list are GET links; a search shows its first SEARCH_RESULTS rows
    query_string = urlencode([(k, v) for k, v in filters.items() if v and k != "q"])
    return page(
        request,
        "households/list.html",
        fragment="households/_list.html",
        items=items,
        pager=pager.with_total(total if kind is None else min(total, pager.size)),
        more=total - len(items) if kind is not None else 0,
        base_url="/households" + (f"?{query_string}" if query_string else ""),
        search_kind=kind,
        **context,
    )


class HouseholdViews(Controller):
    path = "/households"
    include_in_schema = False
    guards = [caseworker_only]  # noqa: RUF012 - Litestar API

    @get("/", name="households")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        *,
        category: FromQuery[str] = "",
        verification: FromQuery[str] = "",
        consent: FromQuery[str] = "",
        status: FromQuery[str] = "",
        community: FromQuery[str] = "",
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        """The registry: the caseworker's households, filtered; always masked. Searching by
        ID number, phone or name is a POST (``search``): what is typed never enters a URL,
        the browser history or an access log."""
        filters = {
            "category": category,
            "verification": verification,
            "consent": consent,
            "status": status,
            "community": community,
        }
        return await _registry(request, db, filters, text="", page_no=page_no)

    @post("/search", name="household_search")
    async def search(self, request: Request[Any, Any, Any], db: DB, data: Form) -> Template:
        """Find households by ID number, phone or at least two characters of the head's name
        (blind indexes, backend/households/blind.py), within the filters; results masked."""
        filters = {
            key: data.get(key, "")
            for key in ("category", "verification", "consent", "status", "community")
        }
        return await _registry(
            request, db, filters, text=data.get("q", "")[:100], page_no=1, size=SEARCH_RESULTS
        )

    @get("/new", name="household_new")
    async def new(
        self, request: Request[Any, Any, Any], db: DB, referral: FromQuery[uuid.UUID | None] = None
    ) -> Template:
        user = require_user(request)
        form: dict[str, Any] = {}
        referral_text: dict[str, str] | None = None
        if referral is not None:
            referral_text = await service.open_referral(db, user, referral)
            ref = await service.referral_for(db, user, referral)
            form = {"referral_id": str(referral), "region_code": ref.region_code}
        return page(
            request,
            "households/form.html",
            form=form,
            referral_text=referral_text,
            action="/households",
            editing=False,
            **await _form_context(db, user),
        )

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], db: DB, data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            household = await service.register(db, user, household_in(data))
        except DomainError as exc:
            return form_error(
                request,
                "households/form.html",
                exc,
                form=data,
                action="/households",
                editing=False,
                referral_text=None,
                **await _form_context(db, user),
            )
        return Redirect(f"/households/{household.id}?saved=registered", status_code=303)

    @post("/export", name="households_export", status_code=200)
    async def export(self, request: Request[Any, Any, Any], db: DB, data: Form) -> Stream:
        user = require_user(request)
        cat = data.get("category", "")
        head, rows = await service.export_csv(
            db,
            user,
            locale=current_locale.get(),
            category=AssistanceCategory(cat)
            if cat in {c.value for c in AssistanceCategory}
            else None,
            verification=data.get("verification") or None,
            community=data.get("community") or None,
        )
        return csv_response("households.csv", csv_stream(head, rows))

    @get("/{household_id:uuid}", name="household")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        household_id: FromPath[uuid.UUID],
        saved: FromQuery[str] = "",
    ) -> Template:
        user = require_user(request)
        return page(
            request,
            "households/detail.html",
            saved=saved,
            form={},
            **await _detail_context(db, user, household_id),
        )

    @post("/{household_id:uuid}/reveal")
    async def reveal(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID], data: Form
    ) -> Template:
        user = require_user(request)
        fields = [f for f in PERSONAL_FIELDS if data.get(f)] or list(PERSONAL_FIELDS)
        revealed = await service.reveal(db, user, household_id, fields)
        ctx = await _detail_context(db, user, household_id)
        return page(
            request,
            "households/detail.html",
            fragment="households/_personal.html",
            revealed=revealed,
            form={},
            saved="",
            **ctx,
        )

    @get("/{household_id:uuid}/edit")
    async def edit_form(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID]
    ) -> Template:
        user = require_user(request)
        household, _ = await service.household_for(db, user, household_id)
        values = await service.reveal(db, user, household_id, PERSONAL_FIELDS)
        form = {
            **values,
            "region_code": household.region_code,
            "category": household.category.value,
            "member_ages": ", ".join(str(a) for a in household.member_ages),
            "unstable_income": "1" if household.unstable_income else "",
            **{f"flag_{f}": "1" for f in household.flags},
        }
        return page(
            request,
            "households/form.html",
            form=form,
            action=f"/households/{household_id}/edit",
            editing=True,
            household=household,
            referral_text=None,
            **await _form_context(db, user),
        )

    @post("/{household_id:uuid}/edit")
    async def edit(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            await service.update(db, user, household_id, household_in(data))
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return form_error(
                request,
                "households/form.html",
                exc,
                form=data,
                action=f"/households/{household_id}/edit",
                editing=True,
                referral_text=None,
                **await _form_context(db, user),
            )
        return Redirect(f"/households/{household_id}?saved=updated", status_code=303)

    async def _detail_error(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        *,
        household_id: uuid.UUID,
        exc: DomainError,
        form: dict[str, str],
        section: str,
    ) -> Template:
        if exc.status_code == 404:
            raise exc
        user = require_user(request)
        return form_error(
            request,
            "households/detail.html",
            exc,
            saved="",
            form=form,
            section=section,
            **await _detail_context(db, user, household_id),
        )

    @post("/{household_id:uuid}/verify")
    async def verify(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            until = date.fromisoformat(data["valid_until"]) if data.get("valid_until") else None
        except ValueError:
            until = None
        try:
            await service.verify(
                db,
                require_user(request),
                household_id,
                basis=data.get("basis", ""),
                valid_until=until,
            )
        except DomainError as exc:
            return await self._detail_error(
                request, db, household_id=household_id, exc=exc, form=data, section="verify"
            )
        return Redirect(f"/households/{household_id}?saved=verified", status_code=303)

    @post("/{household_id:uuid}/assess")
    async def assess(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.assess(
                db, require_user(request), household_id, dict(data), note=data.get("note", "")
            )
        except DomainError as exc:
            return await self._detail_error(
                request, db, household_id=household_id, exc=exc, form=data, section="assess"
            )
        return Redirect(f"/households/{household_id}?saved=assessed", status_code=303)

    @post("/{household_id:uuid}/consents")
    async def consent(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.record_consent(
                db,
                require_user(request),
                household_id,
                purpose=data.get("purpose", ""),
                scope=data.get("scope", ""),
                guardian_consent=bool(data.get("guardian_consent")),
            )
        except DomainError as exc:
            return await self._detail_error(
                request, db, household_id=household_id, exc=exc, form=data, section="consent"
            )
        return Redirect(f"/households/{household_id}?saved=consent", status_code=303)

    @post("/{household_id:uuid}/consents/{consent_id:uuid}/withdraw")
    async def withdraw_consent(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        household_id: FromPath[uuid.UUID],
        consent_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await service.withdraw_consent(db, require_user(request), household_id, consent_id)
        return Redirect(f"/households/{household_id}?saved=consent_withdrawn", status_code=303)

    @post("/{household_id:uuid}/code")
    async def issue_code(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID]
    ) -> Redirect:
        user = require_user(request)
        issued = await service.issue_code(db, user, household_id)
        batch = await _store_cards(request, db, user, [issued])
        return Redirect(f"/households/cards/{batch}", status_code=303)

    @post("/cards")
    async def issue_cards(self, request: Request[Any, Any, Any], db: DB) -> Redirect:
        """Several households' cards at once, for an A4 sheet."""
        user = require_user(request)
        form = await request.form()
        ids = [i for i in (_uuid(v) for v in form.getall("household")) if i is not None]
        issued = await service.issue_codes(db, user, ids)
        batch = await _store_cards(request, db, user, issued)
        return Redirect(f"/households/cards/{batch}", status_code=303)

    @get("/cards/{batch:str}")
    async def cards(
        self,
        request: Request[Any, Any, Any],
        batch: FromPath[str],
        layout: Annotated[str, QueryParameter(name="layout")] = "a6",
    ) -> Template:
        user = require_user(request)
        store = _card_store(request)
        found = await store.cards(batch, user.id)
        if found is None:
            raise NotFound(
                N_("These cards are no longer available. Reissue the code to print a new card.")
            )
        settings = runtime_of(request.app.state).settings
        base = settings.base_url.rstrip("/")
        return page(
            request,
            "households/cards.html",
            batch=batch,
            layout="a4" if layout == "a4" else "a6",
            site=base.split("://", 1)[-1] + "/my",
            cards=[
                {
                    "number": c.number,
                    "household_id": c.household_id,
                    "groups": household_code.groups(c.code),
                    "display": household_code.display(c.code),
                    "qr": qr_svg(f"{base}/my#{household_code.display(c.code)}"),
                    "community": c.community,
                    "phone": office_phone(settings.caseworker_phone, c.region_code),
                }
                for c in found
            ],
            slips_left=await store.pins_left(batch),
        )

    @get("/cards/{batch:str}/slips")
    async def slips_ready(self, request: Request[Any, Any, Any], batch: FromPath[str]) -> Template:
        user = require_user(request)
        store = _card_store(request)
        found = await store.cards(batch, user.id)
        if found is None:
            raise NotFound(
                N_("These cards are no longer available. Reissue the code to print a new card.")
            )
        return page(
            request,
            "households/slips.html",
            batch=batch,
            count=len(found),
            slips=None,
            slips_left=await store.pins_left(batch),
        )

    @post("/cards/{batch:str}/slips")
    async def slips(
        self, request: Request[Any, Any, Any], db: DB, batch: FromPath[str]
    ) -> Template:
        """The sealed PIN slips, shown this once (the PINs are deleted as they are read)."""
        user = require_user(request)
        store = _card_store(request)
        taken = await store.take_slips(batch, user.id)
        if taken is None:
            found = await store.cards(batch, user.id)
            if found is None:
                raise NotFound(
                    N_("These cards are no longer available. Reissue the code to print a new card.")
                )
            return page(
                request,
                "households/slips.html",
                status_code=409,
                batch=batch,
                count=len(found),
                slips=None,
                slips_left=False,
            )
        await service.pin_slips_shown(db, user, [c.household_id for c in taken])
        return page(
            request,
            "households/slips.html",
            batch=batch,
            count=len(taken),
            slips=taken,
            slips_left=False,
        )

    @get("/{household_id:uuid}/needs/new")
    async def need_new(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID]
    ) -> Template:
        household, _ = await service.household_for(db, require_user(request), household_id)
        return page(
            request,
            "households/need_form.html",
            form={"urgency": "normal"},
            household=household,
            categories=await needs_service.categories(db),
            action=f"/households/{household_id}/needs",
        )

    @post("/{household_id:uuid}/needs")
    async def need_create(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            need = await needs_service.create_draft(db, user, household_id, need_in(data))
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            household, _ = await service.household_for(db, user, household_id)
            return form_error(
                request,
                "households/need_form.html",
                exc,
                form=data,
                household=household,
                categories=await needs_service.categories(db),
                action=f"/households/{household_id}/needs",
            )
        return Redirect(f"/households/needs/{need.id}?saved=draft", status_code=303)

    async def _need_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        need_id: uuid.UUID,
        *,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        need, household = await needs_service.need_for(db, require_user(request), need_id)
        form = extra.pop("form", None) or {
            "category": need.category,
            "title": need.title,
            "body": need.body,
            "quantity": need.quantity or "",
            "unit": need.unit,
            "urgency": need.urgency.value,
            "amount_yuan": f"{need.amount_fen // 100}.{need.amount_fen % 100:02d}"
            if need.amount_fen
            else "",
            "deadline": need.deadline.isoformat() if need.deadline else "",
        }
        public = await needs_service.public_need(db, need.id)
        return page(
            request,
            "households/need.html",
            status_code=status_code,
            need=need,
            household=household,
            form=form,
            categories=await needs_service.categories(db),
            public=public,
            editable=need.state == NeedState.DRAFT,
            states=NeedState,
            **extra,
        )

    @get("/needs/{need_id:uuid}", name="household_need")
    async def need(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        need_id: FromPath[uuid.UUID],
        saved: FromQuery[str] = "",
    ) -> Template:
        return await self._need_page(request, db, need_id, saved=saved)

    @post("/needs/{need_id:uuid}")
    async def need_update(
        self, request: Request[Any, Any, Any], db: DB, need_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await needs_service.update_draft(db, require_user(request), need_id, need_in(data))
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return await self._need_page(
                request, db, need_id, status_code=exc.status_code, form=data, **error_context(exc)
            )
        return Redirect(f"/households/needs/{need_id}?saved=edited", status_code=303)

    @post("/needs/{need_id:uuid}/publish")
    async def need_publish(
        self, request: Request[Any, Any, Any], db: DB, need_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        # The edit form's "Save and publish" button posts its fields here: publish what was
        # typed (saved first, through the gate). A bare publish button publishes the draft.
        edited = "title" in data
        typed = {"form": data} if edited else {}
        try:
            if edited:
                await needs_service.save_and_publish(
                    db, require_user(request), need_id, need_in(data)
                )
            else:
                await needs_service.publish(db, require_user(request), need_id)
        except needs_service.PersonalDataFound as exc:
            need, _ = await needs_service.need_for(db, require_user(request), need_id)
            marked = {
                field: mark_spans_html(
                    text,
                    [
                        Finding(b.kind, b.start, b.end, "")  # type: ignore[arg-type]
                        for b in exc.blocks
                        if b.field == field
                    ],
                )
                for field, text in (("title", need.title), ("body", need.body))
            }
            refused = await self._need_page(
                request,
                db,
                need_id,
                status_code=422,
                marked=marked,
                blocks=exc.blocks,
                **typed,
                **error_context(exc),
            )
            refused.background = _remember_block(request, need_id, "scanner")
            return refused
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            response = await self._need_page(
                request, db, need_id, status_code=exc.status_code, **typed, **error_context(exc)
            )
            if exc.code == "k_anonymity":
                response.background = _remember_block(request, need_id, "k_anonymity")
            return response
        return Redirect(f"/households/needs/{need_id}?saved=published", status_code=303)

    @post("/needs/{need_id:uuid}/withdraw")
    async def need_withdraw(
        self, request: Request[Any, Any, Any], db: DB, need_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        await needs_service.withdraw(db, require_user(request), need_id, data.get("reason", ""))
        return Redirect(f"/households/needs/{need_id}?saved=withdrawn", status_code=303)

    @post("/needs/{need_id:uuid}/reopen")
    async def need_reopen(
        self, request: Request[Any, Any, Any], db: DB, need_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await needs_service.reopen(db, require_user(request), need_id)
        return Redirect(f"/households/needs/{need_id}?saved=reopened", status_code=303)

    @get("/referrals", name="referral_inbox")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state_: Annotated[str, QueryParameter(name="state")] = "new",
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        user = require_user(request)
        wanted = (
            ReferralState(state_)
            if state_ in {s.value for s in ReferralState}
            else ReferralState.NEW
        )
        pager = Page(number=page_no, size=20)
        rows, total = await repo.referrals_for(
            db, service.caseworker_paths(user), state=wanted, offset=pager.offset, limit=pager.size
        )
        return page(
            request,
            "households/inbox.html",
            fragment="households/_inbox.html",
            rows=rows,
            pager=pager.with_total(total),
            state=wanted,
            states=list(ReferralState),
        )

    @get("/referrals/{referral_id:uuid}")
    async def referral(
        self, request: Request[Any, Any, Any], db: DB, referral_id: FromPath[uuid.UUID]
    ) -> Template:
        user = require_user(request)
        values = await service.open_referral(db, user, referral_id)
        return page(
            request,
            "households/referral.html",
            referral=await service.referral_for(db, user, referral_id),
            values=values,
            form={},
        )

    @post("/referrals/{referral_id:uuid}/dismiss")
    async def dismiss(
        self, request: Request[Any, Any, Any], db: DB, referral_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            await service.dismiss_referral(db, user, referral_id, data.get("reason", ""))
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return form_error(
                request,
                "households/referral.html",
                exc,
                form=data,
                referral=await service.referral_for(db, user, referral_id),
                values=await service.open_referral(db, user, referral_id),
            )
        return Redirect("/households/referrals", status_code=303)


class ReferralViews(Controller):
    """主动发现: any signed-in user refers a household; the referrer sees only the state."""

    path = "/referrals"
    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/", name="my_referrals")
    async def mine(
        self, request: Request[Any, Any, Any], db: DB, saved: FromQuery[str] = ""
    ) -> Template:
        rows = await repo.referrals_by(db, require_user(request).id)
        return page(request, "households/my_referrals.html", rows=rows, saved=saved)

    @get("/new", name="referral_new")
    async def new(self, request: Request[Any, Any, Any], db: DB) -> Template:
        regions = await by_level(
            db, RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.COMMUNITY
        )
        return page(request, "households/refer.html", form={}, regions=regions)

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], db: DB, data: Form
    ) -> Template | Redirect:
        try:
            await service.refer(
                db,
                require_user(request),
                region_code=data.get("region_code", ""),
                text=data.get("text", ""),
                contact=data.get("contact", ""),
            )
        except DomainError as exc:
            regions = await by_level(
                db, RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.COMMUNITY
            )
            return form_error(request, "households/refer.html", exc, form=data, regions=regions)
        return Redirect("/referrals?saved=1", status_code=303)
