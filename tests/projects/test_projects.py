"""Projects: transitions, linked needs, updates with cleaned photos, evidence, overdue job."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from backend.accounts.service import load_current_user
from backend.core.db import utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.money import yuan_to_fen
from backend.core.storage import LocalStorage
from backend.demo.organizations import make_household, make_published_need
from backend.outbox.models import OutboxEvent
from backend.projects import service
from backend.projects.models import Project, ProjectState
from backend.projects.storage import AreaPhotoStorage
from tests.helpers import sign_in_as


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def _project(db: Any, demo: dict[str, Any], member: Any) -> Project:
    return await service.create_project(
        db,
        member,
        demo["org:charity"],
        title="测试项目",
        goal="",
        category="housing_repair",
        region_code="330106",
        target_fen=yuan_to_fen("10000.5"),
    )


def test_yuan_to_fen_is_exact() -> None:
    assert yuan_to_fen("10000.5") == 1_000_050
    assert yuan_to_fen("1,234.56") == 123_456
    assert yuan_to_fen("0.1") == 10
    assert yuan_to_fen("abc") is None
    assert yuan_to_fen("1.234") is None


async def test_life_cycle_and_wrong_moves(db: Any, demo: dict[str, Any]) -> None:
    member = await load_current_user(db, demo["org_member"])
    union = await load_current_user(db, demo["union_admin"])
    project = await _project(db, demo, member)
    assert project.target_fen == 1_000_050
    assert project.state == ProjectState.DRAFT
    with pytest.raises(Conflict):
        await service.move(db, member, project.id, ProjectState.EXECUTING)
    with pytest.raises(NotFound):
        await service.move(db, union, project.id, ProjectState.FUNDRAISING)
    for target in (
        ProjectState.FUNDRAISING,
        ProjectState.FUNDED,
        ProjectState.EXECUTING,
        ProjectState.COMPLETED,
        ProjectState.CLOSED,
    ):
        await service.move(db, member, project.id, target)
    assert project.state == ProjectState.CLOSED
    assert project.last_update_at is not None


async def test_update_strips_metadata_and_clears_overdue(
    db: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    member = await load_current_user(db, demo["org_member"])
    storage = AreaPhotoStorage(LocalStorage(tmp_path))
    project = await _project(db, demo, member)
    for target in (ProjectState.FUNDRAISING, ProjectState.FUNDED, ProjectState.EXECUTING):
        await service.move(db, member, project.id, target)
    # An executing project no longer raises funds: the page says why instead of a button.
    assert not service.can_donate(project)
    assert service.donation_block(project) == service.STATE_BLOCKS[ProjectState.EXECUTING]
    project.last_update_at = utcnow() - timedelta(days=91)
    await db.flush()
    assert await service.flag_overdue(db) >= 1
    assert project.update_overdue
    assert (
        await service.flag_overdue(db) == 0 or project.update_overdue
    )  # idempotent: already flagged
    with pytest.raises(Invalid):
        await service.post_update(
            db, member, storage, project.id, body="看看", photos=[b"not an image"]
        )
    update = await service.post_update(
        db, member, storage, project.id, body="屋顶完工", photos=[_jpeg_with_exif()]
    )
    assert not project.update_overdue
    stored = storage.open(update.photos[0])
    assert stored is not None
    assert stored[1] == "image/jpeg"
    with Image.open(io.BytesIO(stored[0])) as cleaned:
        assert not cleaned.getexif(), "EXIF (camera, GPS) must be gone"
    topics = set(
        (
            await db.scalars(
                select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == project.id)
            )
        ).all()
    )
    assert {"project.created", "project.executing", "project.overdue", "project.updated"} <= topics


async def test_link_needs_one_plan_per_household_and_evidence(
    db: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    member = await load_current_user(db, demo["org_member"])
    storage = AreaPhotoStorage(LocalStorage(tmp_path))
    project = await _project(db, demo, member)
    household = await make_household(db, registered_by=demo["caseworker"])
    need = await make_published_need(
        db,
        household=household,
        created_by=demo["caseworker"],
        category="housing_repair",
        amount_fen=1_000_000,
    )
    link = await service.link_need(db, member, project.id, need.id, "屋顶修缮")
    with pytest.raises(Conflict):
        await service.link_need(db, member, project.id, need.id, "again")
    far = await make_household(db, registered_by=demo["caseworker_sanmen"], region_code="331022")
    far_need = await make_published_need(
        db, household=far, created_by=demo["caseworker_sanmen"], category="housing_repair"
    )
    with pytest.raises(Invalid):
        await service.link_need(db, member, project.id, far_need.id, "plan")
    await service.add_evidence(
        db, member, storage, link.id, kind="before", photos=[_jpeg_with_exif()]
    )
    await service.add_evidence(
        db, member, storage, link.id, kind="after", photos=[_jpeg_with_exif()]
    )
    assert len(link.before_photos) == 1
    assert len(link.after_photos) == 1


async def test_public_project_page(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    page = await client.get(f"/projects/{demo['project:nest']}")
    assert page.status_code == 200
    assert "暖巢更新" in page.text
    assert "老房屋顶漏水修缮" in page.text
    # The demo 暖巢更新 project is executing: no donate button, the reason instead, and the ledger.
    assert 'id="donate"' not in page.text
    assert 'id="donate-blocked"' in page.text
    assert "正在实施" in page.text
    assert f'href="/projects/{demo["project:nest"]}/ledger"' in page.text
    for name in ("张三", "李四", "13800000000"):
        assert name not in page.text
    api = await client.get(f"/api/v1/projects/{demo['project:nest']}")
    assert api.status_code == 200
    assert len(api.json()["needs"]) == 2
    assert api.json()["can_donate"] is False
    fundraiser = await client.get(f"/projects/{demo['project:education']}")
    assert 'id="donate"' in fundraiser.text
    assert 'id="donate-blocked"' not in fundraiser.text
    assert (await client.get(f"/api/v1/projects/{demo['project:education']}")).json()["can_donate"]
    async with runtime.transaction() as session:
        project = await session.get(Project, demo["project:education"])
        draft = Project(
            organization_id=project.organization_id,
            title="草稿项目",
            category="education",
            region_code="330106",
            target_fen=100,
            created_by=demo["org_member"],
        )
        session.add(draft)
    assert (await client.get(f"/projects/{draft.id}")).status_code == 404
    await sign_in_as(client, runtime, demo["org_member"])
    assert (await client.get(f"/projects/{draft.id}")).status_code == 200


def test_project_photos_share_the_upload_storage_and_its_checks(tmp_path: Path) -> None:
    storage = AreaPhotoStorage(LocalStorage(tmp_path), "photos")
    name = storage.save(_jpeg_with_exif())
    assert (tmp_path / "photos" / name).is_file()  # where earlier releases kept them too
    stored = storage.open(name)
    assert stored is not None and stored[1] == "image/jpeg"
    with Image.open(io.BytesIO(stored[0])) as cleaned:
        assert not cleaned.getexif()
    assert storage.open("../photos/" + name) is None
    assert storage.open("0" * 32 + ".jpg") is None
    gif = io.BytesIO()
    Image.new("P", (4, 4)).save(gif, format="GIF")
    with pytest.raises(Invalid):
        storage.save(gif.getvalue())  # the same formats as delivery photos: JPEG, PNG, WebP
