"""Role × route rows of fulfilment: deliveries, door confirmation, photos, feedback, the
caseworker's pages (disputes, visits, quarterly lists) and the household's self-service page."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.accounts.passwords import hash_password
from backend.config import get_settings
from backend.core.db import utcnow
from backend.core.storage import LocalStorage
from backend.fulfilment.models import (
    Delivery,
    DeliveryState,
    Fulfilment,
    FulfilmentState,
    QuarterlyList,
)
from backend.fulfilment.service import quarter_of, today_local
from backend.households import code as household_code
from backend.households.models import Household
from backend.needs.models import Need, NeedState
from backend.resources.models import Claim, ClaimState
from tests.access import ACTORS, Ctx, Row, everyone, only, signed_in
from tests.fulfilment.factories import png_bytes

PIN = "246810"


def _storage() -> LocalStorage:
    return LocalStorage(Path(get_settings().var_dir) / "uploads")


async def _household(session: Any) -> Household:
    found = (
        await session.scalars(
            select(Household)
            .where(Household.region_code.like("330106%"))
            .order_by(Household.created_at)
            .limit(1)
        )
    ).first()
    assert found is not None
    return found


async def _work(
    ctx: Ctx,
    *,
    state: DeliveryState | None = DeliveryState.RECORDED,
    fulfilment: bool = True,
    photo: bool = False,
) -> dict[str, Any]:
    """A fresh need of a 西湖区 household claimed by org A, with a fulfilment and a delivery."""
    async with ctx.runtime.transaction() as session:
        household = await _household(session)
        token = household_code.display(household_code.generate())
        household.code_hash = household_code.code_hash(household_code.normalize(token))
        household.pin_hash = hash_password(PIN)
        need = Need(
            id=uuid.uuid4(),
            household_id=household.id,
            region_code=household.region_code,
            category="goods",
            title="冬季棉被",
            body="",
            quantity=2,
            unit="床",
            state=NeedState.IN_PROGRESS,
            pledged=2,
            helper_organization_id=ctx.demo["org:charity"],
            created_by=ctx.demo["caseworker"],
        )
        claim = Claim(
            id=uuid.uuid4(),
            need_id=need.id,
            organization_id=ctx.demo["org:charity"],
            quantity=2,
            state=ClaimState.ACTIVE,
            claimed_by=ctx.demo["org_member"],
        )
        session.add(need)
        await session.flush()
        session.add(claim)
        await session.flush()
        out: dict[str, Any] = {
            "need": need.id,
            "claim": claim.id,
            "household": household.id,
            "token": token,
        }
        if fulfilment:
            f = Fulfilment(
                id=uuid.uuid4(),
                need_id=need.id,
                organization_id=claim.organization_id,
                claim_id=claim.id,
                state=FulfilmentState.OPEN,
                promised=2,
            )
            session.add(f)
            await session.flush()
            out["fulfilment"] = f.id
            if state is not None:
                photos = [_storage().put("deliveries", png_bytes(), "png")] if photo else []
                d = Delivery(
                    id=uuid.uuid4(),
                    fulfilment_id=f.id,
                    delivered_on=today_local(),
                    description="棉被一床",
                    quantity=1,
                    photos=photos,
                    state=state,
                    recorded_by=ctx.demo["org_member"],
                    confirmed_at=utcnow() if state == DeliveryState.CONFIRMED else None,
                )
                session.add(d)
                await session.flush()
                out["delivery"] = d.id
                out["photo"] = photos[0].split("/")[-1] if photos else ""
    return out


async def _list(ctx: Ctx) -> uuid.UUID:
    async with ctx.runtime.transaction() as session:
        household = await _household(session)
        taken = set(
            (
                await session.scalars(
                    select(QuarterlyList.quarter).where(QuarterlyList.household_id == household.id)
                )
            ).all()
        )
        quarter = next(
            f"{y}Q{q}" for y in range(2001, 2100) for q in range(1, 5) if f"{y}Q{q}" not in taken
        )
        row = QuarterlyList(
            id=uuid.uuid4(),
            household_id=household.id,
            quarter=quarter,
            file_path=_storage().put("quarterly", b"%PDF-1.4 matrix", "pdf"),
            generated_at=utcnow(),
        )
        session.add(row)
    return row.id


async def _batch(ctx: Ctx) -> str:
    batch_id = uuid.uuid4()
    await ctx.runtime.queue.pool.hset(
        f"qlist:batch:{batch_id}",
        mapping={
            "region_code": "330106",
            "quarter": "2026Q4",
            "user_id": str(ctx.demo["caseworker"]),
            "total": 3,
            "done": 1,
            "failed": 0,
            "state": "running",
        },
    )
    return f"/fulfilment/quarterly/batches/{batch_id}"


async def _org_a(ctx: Ctx, tail: str) -> str:
    return f"/org/{ctx.demo['org:charity']}/{tail}"


async def _xihu_household(ctx: Ctx) -> uuid.UUID:
    async with ctx.runtime.transaction() as session:
        return (await _household(session)).id


def _d(suffix: str = "", prefix: str = "", **kw: Any) -> Any:
    async def url(ctx: Ctx) -> str:
        work = await _work(ctx, **kw)
        tail = suffix.replace("{photo}", work.get("photo", ""))
        return f"{prefix}/deliveries/{work['delivery']}{tail}"

    return url


async def _claim_new(ctx: Ctx) -> str:
    return f"/claims/{(await _work(ctx, fulfilment=False))['claim']}/deliveries/new"


async def _claim_post(ctx: Ctx) -> str:
    return f"/claims/{(await _work(ctx, fulfilment=False))['claim']}/deliveries"


async def _fulfilment(ctx: Ctx) -> str:
    return f"/fulfilments/{(await _work(ctx, state=None))['fulfilment']}"


async def _fulfilment_post(ctx: Ctx) -> str:
    return f"/fulfilments/{(await _work(ctx, state=None))['fulfilment']}/deliveries"


async def _delivery_body(_: Ctx) -> dict[str, Any]:
    return {"delivered_on": today_local().isoformat(), "description": "棉被一床", "quantity": "1"}


async def _confirm(ctx: Ctx) -> str:
    work = await _work(ctx)
    ctx.extra["token"] = work["token"]
    return f"/deliveries/{work['delivery']}/confirm"


async def _confirm_body(ctx: Ctx) -> dict[str, Any]:
    return {"code": ctx.extra["token"], "pin": PIN}


async def _door_body(ctx: Ctx) -> dict[str, Any]:
    return {"code": (await _work(ctx))["token"]}


async def _household_url(ctx: Ctx, tail: str = "") -> str:
    return f"/fulfilment/households/{await _xihu_household(ctx)}{tail}"


async def _handover(ctx: Ctx) -> str:
    return f"/fulfilment/lists/{await _list(ctx)}/handover"


async def _list_pdf(ctx: Ctx) -> str:
    return f"/fulfilment/lists/{await _list(ctx)}/pdf"


async def _visit(ctx: Ctx) -> str:
    return f"/visits/{await _xihu_household(ctx)}"


def _org_only(member_a: int, admin: int = 403) -> dict[str, int]:
    """Routes behind ``org_member_required`` for org A: B's admin gets 404, non-members 403."""
    return {**only(("member_a",), member_a), "member_b": 404, "admin": admin}


def _seen_by(member: int, caseworker: int, *, others: int = 404) -> dict[str, int]:
    expect = dict.fromkeys(ACTORS, others)
    expect.update(anonymous=303, member_a=member, caseworker_x=caseworker)
    return expect


CASEWORKER_PAGE = {**only(("caseworker_x", "caseworker_y"), 200)}
X_ONLY_READ = {**only(("caseworker_x",), 200), "caseworker_y": 404}
X_ONLY_POST = {**only(("caseworker_x",), 303), "caseworker_y": 404}

ROWS = [
    Row(
        "GET",
        "/org/{org_id:uuid}/deliveries",
        _org_only(200),
        url=lambda c: _org_a(c, "deliveries"),
    ),
    Row("GET", "/org/{org_id:uuid}/feedback", _org_only(200), url=lambda c: _org_a(c, "feedback")),
    Row("GET", "/claims/{claim_id:uuid}/deliveries/new", _seen_by(200, 404), url=_claim_new),
    Row(
        "POST",
        "/claims/{claim_id:uuid}/deliveries",
        _seen_by(303, 404),
        url=_claim_post,
        data=_delivery_body,
    ),
    Row("GET", "/fulfilments/{fulfilment_id:uuid}", _seen_by(200, 404), url=_fulfilment),
    Row(
        "POST",
        "/fulfilments/{fulfilment_id:uuid}/deliveries",
        _seen_by(303, 404),
        url=_fulfilment_post,
        data=_delivery_body,
    ),
    Row("GET", "/deliveries/{delivery_id:uuid}", _seen_by(200, 200), url=_d()),
    Row(
        "GET",
        "/deliveries/{delivery_id:uuid}/photos/{name:str}",
        _seen_by(200, 200),
        url=_d("/photos/{photo}", photo=True),
    ),
    Row("GET", "/deliveries/{delivery_id:uuid}/confirm", _seen_by(200, 404), url=_d("/confirm")),
    Row(
        "POST",
        "/deliveries/{delivery_id:uuid}/confirm",
        _seen_by(303, 404),
        url=_confirm,
        data=_confirm_body,
        note="right code and PIN",
    ),
    Row(
        "POST",
        "/deliveries/{delivery_id:uuid}/caseworker-confirm",
        _seen_by(403, 303),
        url=_d("/caseworker-confirm"),
        data={"reason": "told_by_phone"},
    ),
    Row(
        "POST",
        "/deliveries/{delivery_id:uuid}/not-received",
        _seen_by(403, 303),
        url=_d("/not-received"),
    ),
    Row(
        "POST",
        "/deliveries/{delivery_id:uuid}/feedback",
        _seen_by(403, 303),
        url=_d("/feedback", state=DeliveryState.CONFIRMED),
        data={"rating": "5", "comment": "很好"},
    ),
    Row(
        "GET",
        "/code/{old:path}",
        everyone(303),
        url="/code/AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        note="a card from before the typeable code",
    ),
    Row(
        "POST",
        "/door",
        signed_in(200),
        data=_door_body,
        note="members: the PIN step; others: nothing waiting",
    ),
    Row("GET", "/fulfilment/disputes", CASEWORKER_PAGE),
    Row("GET", "/fulfilment/households/{household_id:uuid}", X_ONLY_READ, url=_household_url),
    Row(
        "POST",
        "/fulfilment/households/{household_id:uuid}/schedule",
        X_ONLY_POST,
        url=lambda c: _household_url(c, "/schedule"),
        data={"interval_days": "30"},
    ),
    Row("GET", "/fulfilment/visits/overdue", CASEWORKER_PAGE),
    Row("GET", "/fulfilment/quarterly", CASEWORKER_PAGE),
    Row(
        "POST",
        "/fulfilment/quarterly/batches",
        X_ONLY_POST,
        data={"region": "330106", "quarter": "2026Q4"},
    ),
    Row("GET", "/fulfilment/quarterly/batches/{batch_id:uuid}", X_ONLY_READ, url=_batch),
    Row("GET", "/fulfilment/lists/{list_id:uuid}/pdf", X_ONLY_READ, url=_list_pdf),
    Row("POST", "/fulfilment/lists/{list_id:uuid}/handover", X_ONLY_POST, url=_handover),
    Row("GET", "/visits", signed_in(200)),
    Row(
        "POST",
        "/visits/{household_id:uuid}",
        {**_seen_by(404, 303)},
        url=_visit,
        data={"visited_on": today_local().isoformat(), "notes": ""},
    ),
    Row("GET", "/my", everyone(200)),
    Row(
        "POST",
        "/my",
        everyone(422, member_a=403, member_b=403),
        data={"code": "no-such-code", "pin": "123456"},
        note="malformed code: caught before any lookup; a deliverer's phone never opens it",
    ),
    Row("POST", "/my/signout", everyone(303)),
    Row(
        "POST",
        "/my/deliveries/{delivery_id:uuid}/feedback",
        everyone(404),
        url=_d("/feedback", prefix="/my", state=DeliveryState.CONFIRMED),
        data={"rating": "5"},
        note="no household session",
    ),
    Row(
        "POST",
        "/my/deliveries/{delivery_id:uuid}/not-received",
        everyone(404),
        url=_d("/not-received", prefix="/my"),
        note="no household session",
    ),
    Row(
        "GET",
        "/my/deliveries/{delivery_id:uuid}/not-received",
        everyone(404),
        url=_d("/not-received", prefix="/my"),
        note="no household session",
    ),
    Row(
        "GET",
        "/my/deliveries/{delivery_id:uuid}",
        everyone(404),
        url=_d("", prefix="/my"),
        note="no household session",
    ),
    Row(
        "POST",
        "/my/deliveries/{delivery_id:uuid}/received",
        everyone(404),
        url=_d("/received", prefix="/my"),
        note="no household session",
    ),
    Row(
        "GET",
        "/my/lists/{quarter:str}",
        everyone(404),
        url=f"/my/lists/{quarter_of(today_local())}",
        note="no household session",
    ),
]
