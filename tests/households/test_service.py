"""Registration, duplicate refusal, masking, audited reveal, assessment, 幸福码 and PIN lockout."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from backend.accounts.service import load_current_user
from backend.audit.models import AuditEntry
from backend.core.errors import Conflict, Invalid, NotFound
from backend.households import service as hs
from backend.households.enums import AssistanceCategory
from backend.households.models import Household
from backend.households.schemas import HouseholdIn
from tests.households.factories import fake_id


async def _cw(db: Any, demo: dict[str, Any], key: str = "caseworker") -> Any:
    return await load_current_user(db, demo[key])


def _data(id_number: str, **kw: Any) -> HouseholdIn:
    return HouseholdIn(
        head_name="赵丽华",
        id_number=id_number,
        region_code="330106004",
        category="dibao",
        phone="138 1234 5678",
        address="浙江省杭州市西湖区西溪街道文三路9号",
        member_ages=[44, 12],
        **kw,
    )


async def test_register_encrypts_and_refuses_a_second_registration(
    db: Any, demo: dict[str, Any]
) -> None:
    user = await _cw(db, demo)
    id_number = fake_id()
    spaced_fullwidth = " ".join(id_number[i : i + 6] for i in range(0, 18, 6)).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    h = await hs.register(db, user, _data(spaced_fullwidth))
    raw = (
        await db.execute(
            select(Household.head_name_enc, Household.id_number_enc).where(Household.id == h.id)
        )
    ).one()
    assert "赵丽华".encode() not in raw[0]
    assert id_number.encode() not in raw[1]
    assert hs.masked(h)["id_number"] == id_number[:6] + "********" + id_number[-4:]
    assert hs.masked(h)["phone"] == "138****5678"
    assert "minor" in h.flags
    other = await _cw(db, demo, "caseworker_sanmen")
    with pytest.raises(Conflict) as info:
        await hs.register(
            db,
            other,
            HouseholdIn(
                head_name="x",
                id_number=id_number,
                region_code="331022001",
                category="tekun",
                member_ages=[50],
            ),
        )
    assert info.value.params["region"] == "西溪街道"


async def test_bad_id_and_foreign_region_are_refused(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    with pytest.raises(Invalid):
        await hs.register(db, user, _data("110105194912310021"))  # check character should be X
    with pytest.raises(Invalid) as info:
        await hs.register(
            db,
            user,
            HouseholdIn(
                head_name="x",
                id_number=fake_id(),
                region_code="331022001",
                category="dibao",
                member_ages=[50],
            ),
        )
    assert info.value.fields == {"region_code": "invalid"}


async def test_reveal_is_audited_with_field_names_only(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    h = await hs.register(db, user, _data(fake_id()))
    values = await hs.reveal(db, user, h.id, ["phone", "head_name"])
    assert values == {"head_name": "赵丽华", "phone": "13812345678"}
    entry = (
        await db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == str(h.id), AuditEntry.action == "household.revealed"
            )
        )
    ).one()
    assert entry.detail == {"fields": ["head_name", "phone"]}
    assert "1381234" not in str(entry.detail)
    with pytest.raises(NotFound):
        await hs.reveal(db, await _cw(db, demo, "caseworker_sanmen"), h.id, ["phone"])


async def test_validity_and_vulnerability(db: Any, demo: dict[str, Any]) -> None:
    assert hs.validity_months(AssistanceCategory.TEKUN, False) == 12
    assert hs.validity_months(AssistanceCategory.DIBAO, True) == 6
    assert hs.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert (
        hs.vulnerability_index(
            dict.fromkeys(("economic", "health", "education", "housing", "employment", "social"), 4)
        )
        == 100.0
    )
    user = await _cw(db, demo)
    h = await hs.register(db, user, _data(fake_id(), unstable_income=True))
    v = await hs.verify(db, user, h.id, basis="入户")
    assert v.valid_until == hs.add_months(hs.today_local(), 6)
    a = await hs.assess(
        db,
        user,
        h.id,
        {"economic": 4, "health": 0, "education": 0, "housing": 0, "employment": 0, "social": 0},
    )
    assert a.vulnerability == 25.0


async def test_guardian_consent_required_for_children(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    h = await hs.register(db, user, _data(fake_id()))
    with pytest.raises(Invalid):
        await hs.record_consent(db, user, h.id, purpose="publish_needs")
    await hs.record_consent(db, user, h.id, purpose="publish_needs", guardian_consent=True)
    assert await hs.can_publish(db, h)


async def test_referral_flow(db: Any, demo: dict[str, Any]) -> None:
    volunteer = await _cw(db, demo, "volunteer")
    user = await _cw(db, demo)
    r = await hs.refer(
        db,
        volunteer,
        region_code="330106004",
        text="老人独居，无人照顾",
        contact="邻居 13900001111",
    )
    assert b"13900001111" not in (r.contact_enc or b"")
    assert (await hs.open_referral(db, user, r.id))["contact"] == "邻居 13900001111"
    with pytest.raises(NotFound):
        await hs.open_referral(db, await _cw(db, demo, "caseworker_sanmen"), r.id)
    h = await hs.register(db, user, _data(fake_id(), referral_id=r.id))
    assert r.state.value == "converted"
    assert r.household_id == h.id
