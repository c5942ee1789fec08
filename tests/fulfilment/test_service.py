"""Fulfilment services on real PostgreSQL and Redis: record → confirm → feedback, the loop closing."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from backend.accounts.models import Organization
from backend.audit.models import AuditEntry
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from backend.core.storage import LocalStorage
from backend.fulfilment import service
from backend.fulfilment.models import (
    CaseworkerReason,
    ConfirmationMethod,
    DeliveryState,
    FulfilmentState,
)
from backend.households.models import AssistanceRecord
from backend.needs.models import NeedState
from backend.organizations.repository import figures
from backend.outbox.models import OutboxEvent
from backend.privacy.gate import PersonalDataFound
from backend.resources.models import Claim, ClaimState
from tests.fulfilment.factories import claimed_story, png_bytes, user
from tests.helpers import run_pending_handlers


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "uploads")


def _ip() -> str:
    """A client address of its own: the per-address wrong-PIN counter outlives a test."""
    return f"test-{uuid.uuid4().hex[:12]}"


def _today() -> Any:
    return service.today_local()


async def _record(
    db: Any,
    story: Any,
    storage: LocalStorage,
    quantity: int | None = None,
    photos: list[bytes] | None = None,
) -> Any:
    fulfilment = await service.open_for_claim(db, story.member, story.claim_id)
    data = service.DeliveryIn(
        delivered_on=_today(),
        description="两床棉被",
        quantity=quantity or fulfilment.promised,
        volunteer_minutes=90,
        notes="",
    )
    return await service.record_delivery(
        db, story.member, fulfilment.id, data, photos=photos or [], storage=storage
    )


async def test_full_loop_closes_need_and_counts_for_the_org(
    db: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    story = await claimed_story(db, demo)
    before = (await figures(db, [demo["org:charity"]]))[demo["org:charity"]]
    delivery = await _record(db, story, storage, photos=[png_bytes()])
    assert story.need.state == NeedState.IN_PROGRESS
    assert len(delivery.photos) == 1
    assert storage.get(delivery.photos[0]) is not None

    confirmed = await service.confirm_with_code(
        db, story.member, delivery.id, story.code, story.pin, client_ip=_ip()
    )
    assert confirmed.state == DeliveryState.CONFIRMED
    assert confirmed.confirmation_method == ConfirmationMethod.CODE_AND_PIN
    await db.refresh(story.need)
    assert story.need.delivered == story.need.quantity
    assert story.need.state == NeedState.CLOSED
    claim = await db.get(Claim, story.claim_id)
    assert claim.state == ClaimState.FULFILLED
    fulfilment = await service.open_for_claim(db, story.member, story.claim_id)
    assert fulfilment.state == FulfilmentState.COMPLETED
    await run_pending_handlers(db, "org_figures_of_")  # the outbox job's figure handlers
    after = (await figures(db, [demo["org:charity"]]))[demo["org:charity"]]
    assert after.needs_fulfilled == before.needs_fulfilled + 1
    assert after.score > before.score
    rows = (
        await db.scalars(select(AssistanceRecord).where(AssistanceRecord.source_id == delivery.id))
    ).all()
    assert [r.kind for r in rows] == ["delivery"]
    topics = set(
        (
            await db.scalars(
                select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == delivery.id)
            )
        ).all()
    )
    assert {"delivery.recorded", "delivery.confirmed"} <= topics
    actions = set(
        (
            await db.scalars(
                select(AuditEntry.action).where(AuditEntry.object_id == str(story.need.id))
            )
        ).all()
    )
    assert {"need.delivered", "need.confirmed", "need.closed"} <= actions

    org = await db.get(Organization, demo["org:charity"])
    sum_before, count_before = org.rating_sum, org.rating_count
    with pytest.raises(PersonalDataFound) as refused:  # the comment is shown to the organization
        await service.give_feedback(
            db,
            delivery.id,
            4,
            "很好，谢谢王秀英，电话13812345678",
            household_id=story.need.household_id,
        )
    assert {b.kind for b in refused.value.blocks} >= {"mobile"}
    fb = await service.give_feedback(
        db, delivery.id, 4, "很好，谢谢", household_id=story.need.household_id
    )
    assert org.rating_sum == sum_before + 4
    assert org.rating_count == count_before + 1
    assert fb.comment == "很好，谢谢"
    with pytest.raises(Conflict):
        await service.give_feedback(db, delivery.id, 5, household_id=story.need.household_id)


async def test_partial_deliveries_reduce_remaining(
    db: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    story = await claimed_story(db, demo)
    total = story.need.quantity
    if total < 2:
        pytest.skip("need with quantity 1")
    first = await _record(db, story, storage, quantity=1)
    await service.confirm_by_caseworker(db, story.caseworker, first.id, reason="told_by_phone")
    await db.refresh(story.need)
    assert story.need.delivered == 1
    assert story.need.state == NeedState.IN_PROGRESS
    assert first.confirmation_method == ConfirmationMethod.CASEWORKER
    assert first.confirmation_reason == CaseworkerReason.TOLD_BY_PHONE
    with pytest.raises(Invalid) as exc:
        await _record(db, story, storage, quantity=total)
    assert exc.value.fields["quantity"] == "too_many"


async def test_wrong_pin_locks_after_five(
    db: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    story = await claimed_story(db, demo)
    delivery = await _record(db, story, storage)
    wrong = "000000" if story.pin != "000000" else "111111"
    ip = _ip()
    for left in (4, 3, 2, 1):
        with pytest.raises(Invalid) as exc:
            await service.confirm_with_code(
                db, story.member, delivery.id, story.code, wrong, client_ip=ip
            )
        assert exc.value.params["remaining"] == left
    with pytest.raises(RateLimited) as locked:
        await service.confirm_with_code(
            db, story.member, delivery.id, story.code, wrong, client_ip=ip
        )
    assert 0 < locked.value.retry_after <= 15 * 60
    with pytest.raises(RateLimited):  # even the right PIN, from anywhere, while locked
        await service.confirm_with_code(
            db, story.member, delivery.id, story.code, story.pin, client_ip=_ip()
        )


async def test_code_of_another_household_is_refused(
    db: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    one = await claimed_story(db, demo)
    other = await claimed_story(db, demo, not_household=one.need.household_id)
    delivery = await _record(db, one, storage)
    with pytest.raises(Invalid) as exc:
        await service.confirm_with_code(
            db, one.member, delivery.id, other.code, other.pin, client_ip=_ip()
        )
    assert exc.value.fields == {"code": "other_household"}
    # the URL printed in the QR works as well as the typed code, in any case and spacing
    done = await service.confirm_with_code(
        db, one.member, delivery.id, f"http://x/my#{one.code}", one.pin, client_ip=_ip()
    )
    assert done.state == DeliveryState.CONFIRMED


async def test_outsiders_get_404(db: Any, demo: dict[str, Any], storage: LocalStorage) -> None:
    story = await claimed_story(db, demo)
    delivery = await _record(db, story, storage, photos=[png_bytes()])
    for key in ("union_admin", "caseworker_sanmen", "volunteer", "admin"):
        outsider = await user(db, demo[key])
        with pytest.raises(NotFound):
            await service.delivery_access(db, outsider, delivery.id)
        with pytest.raises(NotFound):
            await service.photo(db, outsider, delivery.id, delivery.photos[0], storage)
    with pytest.raises(Forbidden):
        await service.confirm_by_caseworker(db, story.member, delivery.id, reason="other")
    assert await service.photo(db, story.caseworker, delivery.id, delivery.photos[0], storage)


async def test_not_received_flags_the_caseworker(
    db: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    story = await claimed_story(db, demo)
    delivery = await _record(db, story, storage)
    with pytest.raises(NotFound):
        await service.report_not_received(db, delivery.id, household_id=demo["caseworker"])
    await service.report_not_received(db, delivery.id, household_id=story.need.household_id)
    assert delivery.state == DeliveryState.DISPUTED
    from backend.fulfilment import repository as repo
    from backend.households.service import caseworker_paths

    disputed = await repo.disputed(db, caseworker_paths(story.caseworker))
    assert delivery.id in {d.id for d, _, _ in disputed}
    sanmen = await user(db, demo["caseworker_sanmen"])
    assert delivery.id not in {
        d.id for d, _, _ in await repo.disputed(db, caseworker_paths(sanmen))
    }


async def test_photos_checked_by_content_and_stripped(
    db: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    story = await claimed_story(db, demo)
    with pytest.raises(Invalid):
        await _record(db, story, storage, photos=[b"GIF89a not really an image"])
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    with pytest.raises(Invalid):
        await _record(db, story, storage, photos=[gif.getvalue()])
    delivery = await _record(db, story, storage, photos=[png_bytes(gps=True)])
    stored = storage.get(delivery.photos[0])
    assert stored is not None
    assert b"CanaryCam" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()


async def test_visits_schedule_and_overdue(db: Any, demo: dict[str, Any]) -> None:
    from backend.core.db import utcnow
    from backend.fulfilment import repository as repo
    from backend.households.enums import AssistanceCategory, HouseholdStatus
    from backend.households.models import Household
    from backend.households.service import caseworker_paths

    caseworker = await user(db, demo["caseworker"])
    household = (
        await db.scalars(select(Household).where(Household.region_code.like("330106%")).limit(1))
    ).first()
    household.category = AssistanceCategory.TEKUN
    # a next visit cannot be planned in the past (the form says so next to the date)
    with pytest.raises(Invalid) as past:
        await service.set_schedule(
            db,
            caseworker,
            household.id,
            interval_days=None,
            assignee_email="",
            next_due=_today() - timedelta(days=3),
        )
    assert past.value.fields == {"next_due": "past"}
    schedule = await service.set_schedule(
        db, caseworker, household.id, interval_days=None, assignee_email="", next_due=None
    )
    assert schedule.interval_days == 30
    schedule.next_due = _today() - timedelta(days=3)  # time passed: the visit is overdue
    await db.flush()
    rows, _ = await repo.overdue(
        db, caseworker_paths(caseworker), _today(), utcnow(), offset=0, limit=500
    )
    assert household.id in {h.id for _, h, _ in rows}
    volunteer = await user(db, demo["volunteer"])
    with pytest.raises(NotFound):
        await service.record_visit(db, volunteer, household.id, visited_on=_today(), notes="")
    await service.set_schedule(
        db,
        caseworker,
        household.id,
        interval_days=45,
        assignee_email="",
        next_due=None,
    )
    schedule.assignee_id = volunteer.id
    await service.record_visit(
        db, volunteer, household.id, visited_on=_today(), notes="聊天，身体好"
    )
    assert schedule.next_due == _today() + timedelta(days=45)
    rows, _ = await repo.overdue(
        db, caseworker_paths(caseworker), _today(), utcnow(), offset=0, limit=500
    )
    assert household.id not in {h.id for _, h, _ in rows}
    # left assistance: visits go on for a year, then stop
    household.status = HouseholdStatus.LEFT
    household.left_at = utcnow() - timedelta(days=200)
    await service.record_visit(db, caseworker, household.id, visited_on=_today(), notes="")
    household.left_at = utcnow() - timedelta(days=400)
    with pytest.raises(Conflict):
        await service.record_visit(db, caseworker, household.id, visited_on=_today(), notes="")
    count = await db.scalar(
        select(func.count())
        .select_from(AssistanceRecord)
        .where(AssistanceRecord.household_id == household.id, AssistanceRecord.kind == "visit")
    )
    assert count == 2


def test_quarters() -> None:
    from datetime import date

    assert service.quarter_of(date(2026, 11, 23)) == "2026Q4"
    assert service.quarter_bounds("2026Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert service.quarter_bounds("2026Q1") == (date(2026, 1, 1), date(2026, 3, 31))
    with pytest.raises(Invalid):
        service.quarter_bounds("2026Q5")
