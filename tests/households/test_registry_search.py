"""The registry search: by ID number (its keyed hash), phone and name (blind indexes), scoped to
the caseworker's regions, audited by kind only; the indexes follow an edit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.accounts.service import load_current_user
from backend.audit.models import AuditEntry
from backend.core.errors import Invalid
from backend.households import blind
from backend.households import service as hs
from backend.households.models import Household, HouseholdNameToken
from backend.households.schemas import HouseholdIn
from tests.households.factories import fake_id


async def _cw(db: Any, demo: dict[str, Any], key: str = "caseworker") -> Any:
    return await load_current_user(db, demo[key])


def _data(id_number: str, name: str, phone: str, **kw: Any) -> HouseholdIn:
    return HouseholdIn(
        head_name=name,
        id_number=id_number,
        region_code="330106004",
        category="dibao",
        phone=phone,
        address="浙江省杭州市西湖区西溪街道文三路9号",
        member_ages=[44, 20],
        **kw,
    )


async def _found(db: Any, user: Any, text: str, **kw: Any) -> list[uuid.UUID]:
    rows, total, _ = await hs.search_households(
        db, user, hs.RegistryQuery(text=text, **kw), offset=0, limit=100
    )
    assert total == len(rows)
    return [h.id for h, _ in rows]


def test_name_tokens_are_bigrams_of_the_normalized_name() -> None:
    assert blind.name_tokens("王秀英") == {"王秀", "秀英"}
    assert blind.name_tokens(" 王 秀英 ") == {"王秀", "秀英"}
    assert blind.name_tokens("阿依古丽·买买提") == blind.name_tokens("阿依古丽买买提")
    assert blind.name_tokens("ＭＡＲＹ") == blind.name_tokens("mary")
    assert blind.name_tokens("李") == {"李"}
    assert blind.name_query_hashes("秀") is None
    hashes = blind.name_token_hashes("王秀英")
    assert len(hashes) == 2
    assert all(len(h) == 64 and "王" not in h for h in hashes)
    # the same text hashes differently as a name and as a phone (separate keys)
    assert blind.phone_hash("13812345678") not in blind.name_token_hashes("13812345678")


async def test_find_by_id_number_phone_and_name(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    id_a, id_b = fake_id(), fake_id()
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    a = await hs.register(db, user, _data(id_a, "欧阳秀英", phone))
    b = await hs.register(db, user, _data(id_b, "欧阳明", "13700001111"))

    spaced = " ".join(id_a[i : i + 6] for i in range(0, 18, 6)).lower()
    assert await _found(db, user, spaced) == [a.id]
    assert await _found(db, user, f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}") == [a.id]
    assert await _found(db, user, "欧阳秀英") == [a.id]
    assert await _found(db, user, "秀英") == [a.id]
    assert set(await _found(db, user, "欧阳")) >= {a.id, b.id}
    assert b.id not in await _found(db, user, "阳秀")
    assert await _found(db, user, "欧阳", status=hs.HouseholdStatus.LEFT) == []

    with pytest.raises(Invalid) as info:
        await _found(db, user, "秀")
    assert info.value.fields == {"q": "too_short"}

    # another county's caseworker finds nothing, even by the exact ID number
    other = await _cw(db, demo, "caseworker_sanmen")
    assert await _found(db, other, id_a) == []
    assert await _found(db, other, "欧阳秀英") == []

    # the audit names the kind of search, never what was typed
    entries = (
        await db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "household.searched", AuditEntry.object_id == str(user.id)
            )
        )
    ).all()
    kinds = {e.detail["by"] for e in entries}
    assert {"id_number", "phone", "name"} <= kinds
    assert all(id_a not in str(e.detail) and "秀英" not in str(e.detail) for e in entries)


async def test_edit_moves_the_indexes(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    id_number = fake_id()
    h = await hs.register(db, user, _data(id_number, "钱淑珍", "13600002222"))
    stored = (await db.execute(select(Household.phone_hash).where(Household.id == h.id))).one()
    assert stored[0] == blind.phone_hash("13600002222")
    await hs.update(db, user, h.id, _data(id_number, "钱淑兰", "13600003333"))
    assert await _found(db, user, "淑珍") == []
    assert await _found(db, user, "钱淑兰") == [h.id]
    assert await _found(db, user, "13600002222") == []
    assert await _found(db, user, "136 0000 3333") == [h.id]
    tokens = (
        await db.scalars(
            select(HouseholdNameToken.token_hash).where(HouseholdNameToken.household_id == h.id)
        )
    ).all()
    assert sorted(tokens) == blind.name_token_hashes("钱淑兰")


async def test_backfill_helper_reads_the_stored_ciphertext(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    h = await hs.register(db, user, _data(fake_id(), "孙桂芳", "13500004444"))
    phone, tokens = hs.blind_index_of(h.head_name_enc, h.phone_enc)
    assert phone == blind.phone_hash("13500004444")
    assert tokens == blind.name_token_hashes("孙桂芳")
    assert hs.blind_index_of(h.head_name_enc, None)[0] == ""
