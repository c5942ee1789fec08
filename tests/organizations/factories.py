"""Fresh objects for the role × route rows of the supply side (one per state-changing call)."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select

from backend.accounts.service import load_current_user
from backend.core.db import utcnow
from backend.demo.organizations import make_household, make_published_need
from backend.projects.models import Project, ProjectNeed, ProjectState, ProjectUpdate
from backend.projects.storage import photo_storage
from backend.resources import service as resources
from backend.resources.models import Resource, ResourceKind
from backend.volunteering.models import (
    Certificate,
    HoursLog,
    HoursState,
    Signup,
    TaskSlot,
    VolunteerTask,
)
from tests.access import Ctx

A = "org:charity"


def org_url(suffix: str) -> Any:
    async def build(ctx: Ctx) -> str:
        return f"/org/{ctx.demo[A]}{suffix}"

    return build


async def fresh_need(ctx: Ctx) -> Any:
    async with ctx.runtime.transaction() as session:
        household = await make_household(session, registered_by=ctx.demo["caseworker"])
        return await make_published_need(
            session, household=household, created_by=ctx.demo["caseworker"]
        )


async def fresh_claim(ctx: Ctx) -> uuid.UUID:
    need = await fresh_need(ctx)
    async with ctx.runtime.transaction() as session:
        member = await load_current_user(session, ctx.demo["org_member"])
        claim = await resources.claim_need(
            session, member, need_id=need.id, organization_id=ctx.demo[A]
        )
    return claim.id


async def fresh_resource(ctx: Ctx) -> uuid.UUID:
    async with ctx.runtime.transaction() as session:
        resource = Resource(
            organization_id=ctx.demo[A],
            kind=ResourceKind.GOODS,
            category="goods",
            title="行测试物资",
            capacity=5,
            remaining=5,
            service_area=["330106"],
            created_by=ctx.demo["org_member"],
        )
        session.add(resource)
    return resource.id


async def fresh_project(ctx: Ctx) -> uuid.UUID:
    async with ctx.runtime.transaction() as session:
        project = Project(
            organization_id=ctx.demo[A],
            title="行测试项目",
            category="housing_repair",
            region_code="330106",
            target_fen=1000,
            state=ProjectState.DRAFT,
            created_by=ctx.demo["org_member"],
        )
        session.add(project)
    return project.id


async def nest_link(ctx: Ctx) -> str:
    async with ctx.runtime.sessionmaker() as session:
        link = (
            await session.scalars(
                select(ProjectNeed).where(ProjectNeed.project_id == ctx.demo["project:nest"])
            )
        ).first()
    assert link is not None
    return f"/projects/{ctx.demo['project:nest']}/needs/{link.id}/evidence"


async def public_photo(ctx: Ctx) -> str:
    image = Image.new("RGB", (8, 8), (1, 2, 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    name = photo_storage().save(out.getvalue())
    async with ctx.runtime.transaction() as session:
        session.add(
            ProjectUpdate(
                project_id=ctx.demo["project:nest"],
                author_id=ctx.demo["org_member"],
                body="照片",
                photos=[name],
            )
        )
    return f"/photos/{name}"


async def fresh_slot(
    ctx: Ctx, *, sign_up: uuid.UUID | None = None
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]:
    start = utcnow() + timedelta(days=5)
    async with ctx.runtime.transaction() as session:
        task = VolunteerTask(
            organization_id=ctx.demo[A],
            title="行测试任务",
            category="visit",
            region_code="330106",
            created_by=ctx.demo["org_member"],
        )
        session.add(task)
        await session.flush()
        slot = TaskSlot(
            task_id=task.id,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            capacity=5,
            taken=1 if sign_up else 0,
        )
        session.add(slot)
        await session.flush()
        signup_id = None
        if sign_up:
            signup = Signup(slot_id=slot.id, volunteer_id=sign_up)
            session.add(signup)
            await session.flush()
            signup_id = signup.id
    return task.id, slot.id, signup_id


async def fresh_task_url(ctx: Ctx, suffix: str) -> str:
    task_id, _, _ = await fresh_slot(ctx)
    return f"/tasks/{task_id}{suffix}"


async def pending_hours(ctx: Ctx) -> str:
    async with ctx.runtime.transaction() as session:
        log = HoursLog(
            volunteer_id=ctx.demo["volunteer"],
            organization_id=ctx.demo[A],
            served_on=utcnow(),
            minutes=30,
            note="行测试",
            state=HoursState.PENDING,
        )
        session.add(log)
    return f"/hours/{log.id}/review"


async def volunteer_certificate(ctx: Ctx) -> Certificate:
    async with ctx.runtime.transaction() as session:
        cert = Certificate(
            volunteer_id=ctx.demo["volunteer"],
            total_minutes=180,
            issued_at=utcnow(),
            check_code=uuid.uuid4().hex[:16].upper(),
        )
        session.add(cert)
    return cert
