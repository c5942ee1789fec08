"""Role × route rows of the households pages and API (caseworkers only; others' regions → 404)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.households import code as household_code
from backend.households.cards import Card, CardStore
from backend.households.models import Consent
from backend.needs.models import Need, NeedState
from tests.access import ACTORS, Ctx, Row, signed_in
from tests.households.factories import make_household, make_need, make_referral

CW = ("caseworker_x", "caseworker_y")


def cw(status: int, *, y: int | None = None, anonymous: int = 303) -> dict[str, int]:
    """Caseworkers only (platform admins too are refused personal data); y: caseworker of 三门县."""
    expect = dict.fromkeys(ACTORS, 403)
    expect["anonymous"] = anonymous
    expect["caseworker_x"] = status
    expect["caseworker_y"] = status if y is None else y
    return expect


async def _hh(ctx: Ctx, **kw: Any) -> Any:
    async with ctx.runtime.transaction() as session:
        return await make_household(session, ctx.demo["caseworker"], **kw)


def _url(template: str, **kw: Any) -> Any:
    async def build(ctx: Ctx) -> str:
        h = await _hh(ctx, **kw)
        return template.format(h=h.id)

    return build


def _need_url(template: str, state: NeedState = NeedState.DRAFT) -> Any:
    async def build(ctx: Ctx) -> str:
        async with ctx.runtime.transaction() as session:
            h = await make_household(session, ctx.demo["caseworker"])
            need = await make_need(session, h, ctx.demo["caseworker"], state=state)
        return template.format(n=need.id)

    return build


async def _card_households(ctx: Ctx) -> dict[str, Any]:
    return {"household": str((await _hh(ctx)).id)}


def _batch_url(tail: str) -> Any:
    """A fresh batch of one card issued by caseworker x (straight into the card store)."""

    async def build(ctx: Ctx) -> str:
        h = await _hh(ctx)
        card = Card(1, h.id, household_code.generate(), "文新街道", h.region_code, "135790")
        batch = await CardStore(ctx.runtime.queue.pool).put(ctx.demo["caseworker"], [card])
        return f"/households/cards/{batch}{tail}"

    return build


async def _consent_withdraw(ctx: Ctx) -> str:
    h = await _hh(ctx)
    async with ctx.runtime.sessionmaker() as session:
        consent = (
            await session.scalars(select(Consent.id).where(Consent.household_id == h.id))
        ).one()
    return f"/households/{h.id}/consents/{consent}/withdraw"


def _referral_url(template: str) -> Any:
    async def build(ctx: Ctx) -> str:
        async with ctx.runtime.transaction() as session:
            r = await make_referral(session, ctx.demo["volunteer"])
        return template.format(r=r.id)

    return build


async def _published_need(ctx: Ctx) -> str:
    async with ctx.runtime.sessionmaker() as session:
        need_id = (
            await session.scalars(
                select(Need.id)
                .where(Need.state == NeedState.PUBLISHED, Need.hidden_reason.is_(None))
                .limit(1)
            )
        ).one()
    return f"/needs/{need_id}"


async def _draft_need(ctx: Ctx) -> str:
    async with ctx.runtime.sessionmaker() as session:
        need_id = (
            await session.scalars(select(Need.id).where(Need.state == NeedState.DRAFT).limit(1))
        ).one()
    return f"/needs/{need_id}"


async def _api(ctx: Ctx, build: Any) -> str:
    return "/api/v1" + await build(ctx)


NEED_FORM = {
    "category": "goods",
    "title": "需要一台电暖器",
    "body": "冬天屋里很冷。",
    "quantity": "1",
    "unit": "台",
    "urgency": "normal",
}
HH_FORM_BAD = {"head_name": "", "id_number": "123", "region_code": "330106004", "category": "dibao"}
SCORES = {
    "economic": "3",
    "health": "2",
    "education": "1",
    "housing": "2",
    "employment": "3",
    "social": "1",
}
REFERRAL = {"region_code": "330106004", "text": "邻居家里老人生病，生活困难。", "contact": ""}

ROWS = [
    Row("GET", "/households", cw(200)),
    Row("GET", "/households/new", cw(200)),
    Row("POST", "/households", cw(422), data=HH_FORM_BAD, note="invalid form"),
    Row("POST", "/households/export", cw(200)),
    Row("GET", "/households/{household_id:uuid}", cw(200, y=404), url=_url("/households/{h}")),
    Row(
        "POST",
        "/households/{household_id:uuid}/reveal",
        cw(200, y=404),
        url=_url("/households/{h}/reveal"),
    ),
    Row(
        "GET",
        "/households/{household_id:uuid}/edit",
        cw(200, y=404),
        url=_url("/households/{h}/edit"),
    ),
    Row(
        "POST",
        "/households/{household_id:uuid}/edit",
        cw(422, y=404),
        url=_url("/households/{h}/edit"),
        data=HH_FORM_BAD,
        note="invalid form",
    ),
    Row(
        "POST",
        "/households/{household_id:uuid}/verify",
        cw(303, y=404),
        url=_url("/households/{h}/verify"),
        data={"basis": "入户核查"},
    ),
    Row(
        "POST",
        "/households/{household_id:uuid}/assess",
        cw(303, y=404),
        url=_url("/households/{h}/assess"),
        data=SCORES,
    ),
    Row(
        "POST",
        "/households/{household_id:uuid}/consents",
        cw(303, y=404),
        url=_url("/households/{h}/consents"),
        data={"purpose": "share_contact"},
    ),
    Row(
        "POST",
        "/households/{household_id:uuid}/consents/{consent_id:uuid}/withdraw",
        cw(303, y=404),
        url=_consent_withdraw,
    ),
    Row(
        "POST",
        "/households/{household_id:uuid}/code",
        cw(303, y=404),
        url=_url("/households/{h}/code"),
    ),
    Row("POST", "/households/cards", cw(303, y=404), data=_card_households),
    Row(
        "GET",
        "/households/cards/{batch:str}",
        cw(200, y=404),
        url=_batch_url(""),
        note="x issued the batch",
    ),
    Row(
        "GET",
        "/households/cards/{batch:str}/slips",
        cw(200, y=404),
        url=_batch_url("/slips"),
        note="x issued the batch",
    ),
    Row(
        "POST",
        "/households/cards/{batch:str}/slips",
        cw(200, y=404),
        url=_batch_url("/slips"),
        note="x issued the batch: shown once",
    ),
    Row(
        "GET",
        "/households/{household_id:uuid}/needs/new",
        cw(200, y=404),
        url=_url("/households/{h}/needs/new"),
    ),
    Row(
        "POST",
        "/households/{household_id:uuid}/needs",
        cw(303, y=404),
        url=_url("/households/{h}/needs"),
        data=NEED_FORM,
    ),
    Row(
        "GET",
        "/households/needs/{need_id:uuid}",
        cw(200, y=404),
        url=_need_url("/households/needs/{n}"),
    ),
    Row(
        "POST",
        "/households/needs/{need_id:uuid}",
        cw(303, y=404),
        url=_need_url("/households/needs/{n}"),
        data=NEED_FORM,
    ),
    Row(
        "POST",
        "/households/needs/{need_id:uuid}/publish",
        cw(303, y=404),
        url=_need_url("/households/needs/{n}/publish"),
    ),
    Row(
        "POST",
        "/households/needs/{need_id:uuid}/withdraw",
        cw(303, y=404),
        url=_need_url("/households/needs/{n}/withdraw"),
    ),
    Row(
        "POST",
        "/households/needs/{need_id:uuid}/reopen",
        cw(303, y=404),
        url=_need_url("/households/needs/{n}/reopen", NeedState.WITHDRAWN),
    ),
    Row("GET", "/households/referrals", cw(200)),
    Row(
        "GET",
        "/households/referrals/{referral_id:uuid}",
        cw(200, y=404),
        url=_referral_url("/households/referrals/{r}"),
    ),
    Row(
        "POST",
        "/households/referrals/{referral_id:uuid}/dismiss",
        cw(303, y=404),
        url=_referral_url("/households/referrals/{r}/dismiss"),
        data={"reason": "已由其他部门救助"},
    ),
    Row("GET", "/referrals", signed_in(200)),
    Row("GET", "/referrals/new", signed_in(200)),
    Row("POST", "/referrals", signed_in(303), data=REFERRAL),
    # JSON API
    Row("GET", "/api/v1/households", cw(200, anonymous=401), json=True),
    Row(
        "POST",
        "/api/v1/households",
        cw(422, anonymous=401),
        json=True,
        data={"head_name": "", "id_number": "1", "region_code": "330106004", "category": "dibao"},
        note="invalid",
    ),
    Row(
        "GET",
        "/api/v1/households/{household_id:uuid}",
        cw(200, y=404, anonymous=401),
        json=True,
        url=lambda ctx: _api(ctx, _url("/households/{h}")),
    ),
    Row(
        "POST",
        "/api/v1/households/{household_id:uuid}/reveal",
        cw(200, y=404, anonymous=401),
        json=True,
        url=lambda ctx: _api(ctx, _url("/households/{h}/reveal")),
        data={"fields": ["phone"]},
    ),
    Row(
        "POST",
        "/api/v1/households/{household_id:uuid}/needs",
        cw(201, y=404, anonymous=401),
        json=True,
        url=lambda ctx: _api(ctx, _url("/households/{h}/needs")),
        data={"category": "goods", "title": "需要一台电暖器", "quantity": 1, "unit": "台"},
    ),
    Row(
        "POST",
        "/api/v1/households/needs/{need_id:uuid}/publish",
        cw(200, y=404, anonymous=401),
        json=True,
        url=lambda ctx: _api(ctx, _need_url("/households/needs/{n}/publish")),
    ),
    Row("GET", "/api/v1/referrals", signed_in(200, anonymous=401), json=True),
    Row("POST", "/api/v1/referrals", signed_in(201, anonymous=401), json=True, data=REFERRAL),
]
