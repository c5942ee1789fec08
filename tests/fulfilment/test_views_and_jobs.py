"""Self-service scoping, the quarterly batch job, the S3 storage against a fake, and the canary:
personal marker strings never reach job payloads, logs, outbox events or organization pages."""

from __future__ import annotations

import io
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from backend.core.storage import LocalStorage, S3Storage, get_storage
from backend.fulfilment import lists, service
from backend.fulfilment.models import QuarterlyList
from backend.fulfilment.selfservice import COOKIE
from backend.households.models import Household
from backend.outbox.models import OutboxEvent
from tests.fulfilment.factories import claimed_story, png_bytes
from tests.helpers import post_form, sign_in_as


async def _confirmed_delivery(
    runtime: Any, demo: dict[str, Any], description: str, not_household: uuid.UUID | None = None
) -> tuple[Any, Any]:
    """Committed: a claimed need, a delivery recorded and confirmed by the caseworker."""
    async with runtime.transaction() as session:
        story = await claimed_story(session, demo, not_household=not_household)
        fulfilment = await service.open_for_claim(session, story.member, story.claim_id)
        delivery = await service.record_delivery(
            session,
            story.member,
            fulfilment.id,
            service.DeliveryIn(
                delivered_on=service.today_local(),
                description=description,
                quantity=fulfilment.promised,
                volunteer_minutes=30,
            ),
            photos=[png_bytes()],
            storage=get_storage(runtime.services),
        )
        await service.confirm_by_caseworker(
            session, story.caseworker, delivery.id, reason="told_in_person"
        )
    return story, delivery


async def test_self_service_sees_only_its_own_household(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    theirs, their_delivery = await _confirmed_delivery(runtime, demo, "别人家的轮椅")
    mine, my_delivery = await _confirmed_delivery(
        runtime, demo, "我家的米和油", not_household=theirs.need.household_id
    )
    response = await post_form(client, "/my", {"code": mine.code, "pin": mine.pin})
    assert response.status_code == 303
    assert COOKIE in response.cookies or client.cookies.get(COOKIE)
    page = await client.get("/my")
    assert "我家的米和油" in page.text
    assert "别人家的轮椅" not in page.text
    # another household's delivery cannot be rated or disputed from this session
    assert (
        await post_form(client, f"/my/deliveries/{their_delivery.id}/feedback", {"rating": "1"})
    ).status_code == 404
    assert (
        await post_form(client, f"/my/deliveries/{their_delivery.id}/not-received", {})
    ).status_code == 404
    # its own can
    assert (
        await post_form(client, f"/my/deliveries/{my_delivery.id}/feedback", {"rating": "5"})
    ).status_code == 303
    pdf = await client.get(f"/my/lists/{service.quarter_of(service.today_local())}")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "我家的米和油" in text
    assert "别人家的轮椅" not in text
    # the self-service session grants nothing on staff routes
    assert (
        await client.get(f"/deliveries/{my_delivery.id}", follow_redirects=False)
    ).status_code == 303
    await post_form(client, "/my/signout", {})
    assert "我家的米和油" not in (await client.get("/my")).text


async def test_quarterly_batch_job_and_handover(
    client: Any,
    runtime: Any,
    demo: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    story, _ = await _confirmed_delivery(runtime, demo, "季度清单里的棉衣")
    async with runtime.transaction() as session:
        household = await session.get(Household, story.need.household_id)
        region_code = household.region_code
        batch_id = await lists.start_batch(
            session,
            story.caseworker,
            runtime.queue,
            region_code=region_code,
            quarter=service.quarter_of(service.today_local()),
        )
    caplog.set_level(logging.DEBUG)
    storage = LocalStorage(tmp_path)
    done = await lists.run_batch(runtime, str(batch_id), storage)
    status = await lists.batch_status(runtime.queue.pool, story.caseworker, batch_id)
    assert status.state == "done"
    assert status.done == status.total == done >= 1
    async with runtime.transaction() as session:
        row = (
            await session.scalars(
                select(QuarterlyList).where(
                    QuarterlyList.household_id == story.need.household_id,
                    QuarterlyList.quarter == service.quarter_of(service.today_local()),
                )
            )
        ).first()
        assert row is not None
        pdf = storage.get(row.file_path)
        assert pdf is not None
        assert "季度清单里的棉衣" in "".join(
            p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages
        )
        await service.hand_over(session, story.caseworker, row.id)
        cover = await lists.repo.coverage(
            session, "330000.330100.330106", row.quarter, service.utcnow()
        )
        assert sum(h for *_, h in cover) >= 1
    # canary: no personal value of the household in the job's payload, progress, outbox or logs
    from backend.households.service import _dec

    async with runtime.transaction() as session:
        household = await session.get(Household, story.need.household_id)
        markers = [
            _dec(f, getattr(household, f"{f}_enc"))
            for f in ("head_name", "id_number", "phone", "address")
        ]
        payloads = [str(e.payload) for e in (await session.scalars(select(OutboxEvent))).all()]
    progress = str(await runtime.queue.pool.hgetall(f"qlist:batch:{batch_id}"))
    for marker in filter(None, markers):
        assert marker not in progress
        assert marker not in caplog.text
        assert all(marker not in p for p in payloads)
    # the organization's pages never name the household
    await sign_in_as(client, runtime, demo["org_member"])
    for url in (
        f"/org/{demo['org:charity']}/feedback",
        f"/org/{demo['org:charity']}/deliveries",
        f"/fulfilments/{(await _fulfilment_id(runtime, story.claim_id))}",
    ):
        page = (await client.get(url)).text
        for marker in filter(None, markers):
            assert marker not in page, url


async def _fulfilment_id(runtime: Any, claim_id: uuid.UUID) -> uuid.UUID:
    from backend.fulfilment import repository as repo

    async with runtime.transaction() as session:
        found = await repo.fulfilment_of_claim(session, claim_id)
        assert found is not None
        return found.id


class _FakeS3:
    """The three calls S3Storage makes, in memory (no S3 server runs here)."""

    class NoSuchKey(Exception):
        pass

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}

    def put_object(self, **kw: Any) -> None:
        self.objects[(kw["Bucket"], kw["Key"])] = kw

    def get_object(self, **kw: Any) -> dict[str, Any]:
        found = self.objects.get((kw["Bucket"], kw["Key"]))
        if found is None:
            raise self.NoSuchKey(kw["Key"])
        return {"Body": io.BytesIO(found["Body"])}

    def delete_object(self, **kw: Any) -> None:
        self.objects.pop((kw["Bucket"], kw["Key"]), None)


def test_s3_storage_against_a_fake() -> None:
    fake = _FakeS3()
    storage = S3Storage(client=fake, bucket="tongxin")
    key = storage.put("deliveries", b"abc", "png")
    stored = fake.objects[("tongxin", "uploads/" + key)]
    assert stored["ContentType"] == "image/png"
    assert "ACL" not in stored
    assert storage.get(key) == b"abc"
    assert storage.get("../etc/passwd") is None
    storage.delete(key)
    assert storage.get(key) is None


def test_local_storage_refuses_odd_keys(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = storage.put("quarterly", b"%PDF", "pdf")
    assert storage.get(key) == b"%PDF"
    assert storage.get("quarterly/../../x.pdf") is None
    with pytest.raises(ValueError):
        storage.put("../up", b"x", "png")
