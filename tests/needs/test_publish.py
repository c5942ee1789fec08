"""The publication pipeline: scan (incl. the household's own values), k-anonymity, consent,
verification; consent withdrawal and the lapse and deadline jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.accounts.service import load_current_user
from backend.core.errors import Conflict, NotFound
from backend.households import service as hs
from backend.needs import repository as repo
from backend.needs import service
from backend.needs.models import NeedState
from backend.outbox.models import OutboxEvent
from tests.households.factories import make_household, make_need


async def _cw(db: Any, demo: dict[str, Any], key: str = "caseworker") -> Any:
    return await load_current_user(db, demo[key])


async def test_publish_builds_a_public_projection_without_personal_data(
    db: Any, demo: dict[str, Any]
) -> None:
    user = await _cw(db, demo)
    h = await make_household(db, user.id, ages=(71,))
    need = await make_need(db, h, user.id)
    await service.publish(db, user, need.id)
    public = await repo.public_need(db, need.id)
    assert public is not None
    assert public.state == "published"
    assert public.region_code in ("330106004", "330106", "330100")
    assert public.region_code != "330106004" or public.profile.location_level == "township"
    fields = set(type(public).__struct_fields__)
    assert not fields & {
        "household_id",
        "head_name",
        "phone",
        "address",
        "id_number",
        "member_ages",
        "region_code_exact",
    }
    topics = (
        await db.scalars(select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == need.id))
    ).all()
    assert "need.published" in topics


@pytest.mark.parametrize(
    ("title", "body", "kind"),
    [
        ("需要棉被", "请联系 138 1234 5678", "own_phone"),
        ("需要棉被", "电话１３９１２３４５６７８", "mobile"),
        ("王秀英家需要棉被", "", "own_name"),
        ("需要棉被", "住在文三路1号", "own_address"),
        ("需要棉被", "身份证 110105 19491231 002X", "id_number"),
        ("需要棉被", "座机 0571-87654321", "landline"),
    ],
)
async def test_scan_blocks_publication_and_marks_spans(
    db: Any, demo: dict[str, Any], title: str, body: str, kind: str
) -> None:
    user = await _cw(db, demo)
    h = await make_household(
        db,
        user.id,
        name="王秀英",
        phone="13812345678",
        address="浙江省杭州市西湖区西溪街道文三路1号",
    )
    need = await make_need(db, h, user.id, title=title, body=body)
    with pytest.raises(service.PersonalDataFound) as info:
        await service.publish(db, user, need.id)
    assert kind in {b.kind for b in info.value.blocks}
    assert (await repo.public_need(db, need.id)) is None


async def test_own_id_number_is_found(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    h = await make_household(db, user.id, id_number="11010519491231002X")
    need = await make_need(db, h, user.id, body="身份证号１１０１０５１９４９１２３１００２ｘ")
    with pytest.raises(service.PersonalDataFound) as info:
        await service.publish(db, user, need.id)
    assert {b.kind for b in info.value.blocks} == {"own_id"}


async def test_consent_and_verification_are_required(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    no_consent = await make_household(db, user.id, consent=False)
    need = await make_need(db, no_consent, user.id)
    with pytest.raises(Conflict) as info:
        await service.publish(db, user, need.id)
    assert info.value.code == "consent"
    unverified = await make_household(db, user.id, verified=False)
    need2 = await make_need(db, unverified, user.id)
    with pytest.raises(Conflict) as info2:
        await service.publish(db, user, need2.id)
    assert info2.value.code == "verification"


async def test_other_region_caseworker_gets_404(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    other = await _cw(db, demo, "caseworker_sanmen")
    h = await make_household(db, user.id)
    need = await make_need(db, h, user.id)
    with pytest.raises(NotFound):
        await service.publish(db, other, need.id)
    with pytest.raises(NotFound):
        await hs.reveal(db, other, h.id, ["phone"])


async def test_k_anonymity_generalizes_a_rare_profile(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    h = await make_household(db, user.id, ages=(101, 3, 97, 99, 1, 2, 4))
    need = await make_need(db, h, user.id)
    await service.publish(db, user, need.id)
    public = await repo.public_need(db, need.id)
    assert public is not None
    # nobody else has this profile: the location is raised and the ages dropped
    assert public.profile.age_bands == ()
    assert public.profile.location_level in ("township", "county", "city")
    assert public.region_code in ("330106004", "330106", "330100")


async def test_withdrawing_consent_unpublishes_at_once(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    h = await make_household(db, user.id)
    need = await make_need(db, h, user.id)
    await service.publish(db, user, need.id)
    consent = (await hs.repo.consents(db, h.id))[0]
    await hs.withdraw_consent(db, user, h.id, consent.id)
    assert (await repo.public_need(db, need.id)) is None
    await db.refresh(need)
    assert need.state == NeedState.DRAFT
    topics = set(
        (
            await db.scalars(
                select(OutboxEvent.topic).where(OutboxEvent.aggregate_id.in_([need.id, h.id]))
            )
        ).all()
    )
    assert {"need.draft", "household.consent_withdrawn"} <= topics


async def test_verification_lapse_hides_and_reverification_republishes(
    db: Any, demo: dict[str, Any]
) -> None:
    user = await _cw(db, demo)
    h = await make_household(db, user.id)
    need = await make_need(db, h, user.id)
    await service.publish(db, user, need.id)
    h.verified_until = hs.today_local() - timedelta(days=1)
    await db.flush()
    assert h.id in await hs.lapse_verifications(db)
    assert h.id not in await hs.lapse_verifications(db)  # safe to run twice
    assert (await repo.public_need(db, need.id)) is None
    await hs.verify(db, user, h.id, basis="复核")
    assert (await repo.public_need(db, need.id)) is not None


async def test_deadline_job_expires_published_needs(db: Any, demo: dict[str, Any]) -> None:
    user = await _cw(db, demo)
    h = await make_household(db, user.id)
    need = await make_need(db, h, user.id)
    await service.publish(db, user, need.id)
    need.deadline = hs.today_local() - timedelta(days=1)
    await db.flush()
    assert await service.expire_overdue(db) >= 1
    await db.refresh(need)
    assert need.state == NeedState.EXPIRED
