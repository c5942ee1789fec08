"""Volunteer tasks JSON API under /api/v1 (public fields only)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from litestar import Controller, get
from litestar.params import FromPath

from backend.core.bounds import OptionalQueryCode, QueryPage
from backend.core.errors import NotFound
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.volunteering import repository as repo
from backend.volunteering.models import TaskState


class SlotOut(msgspec.Struct):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    taken: int


class TaskOut(msgspec.Struct):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    title: str
    description: str
    category: str
    region_code: str
    place: str
    state: str
    slots: list[SlotOut] = msgspec.field(default_factory=list)


class TaskPage(msgspec.Struct):
    items: list[TaskOut]
    page: int
    pages: int
    total: int


class TasksAPI(Controller):
    tags = ["volunteering"]  # noqa: RUF012 - Litestar API

    @get("/tasks", summary="Open volunteer tasks")
    async def list_tasks(
        self, db: DB, category: OptionalQueryCode = None, page: QueryPage = 1
    ) -> TaskPage:
        pager = Page(number=page)
        rows, total = await repo.open_tasks(
            db, category=category, offset=pager.offset, limit=pager.size
        )
        pager = pager.with_total(total)
        items = [
            TaskOut(
                t.id,
                o.id,
                o.name,
                t.title,
                t.description,
                t.category,
                t.region_code,
                t.place,
                t.state.value,
            )
            for t, o in rows
        ]
        return TaskPage(items, pager.number, pager.pages, total)

    @get("/tasks/{task_id:uuid}", summary="One task with its time slots")
    async def get_task(self, db: DB, task_id: FromPath[uuid.UUID]) -> TaskOut:
        found = await repo.task_with_org(db, task_id)
        if found is None or found[0].state == TaskState.CANCELLED:
            raise NotFound(N_("Task not found."))
        t, o = found
        slots = [
            SlotOut(s.id, s.starts_at, s.ends_at, s.capacity, s.taken)
            for s in await repo.slots(db, t.id)
        ]
        return TaskOut(
            t.id,
            o.id,
            o.name,
            t.title,
            t.description,
            t.category,
            t.region_code,
            t.place,
            t.state.value,
            slots,
        )
