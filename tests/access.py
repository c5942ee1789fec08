"""The role × route matrix: each domain lists its routes in ``tests/<domain>/access_rows.py``.

A row names the route as the app lists it (``/admin/organizations/{org_id:uuid}/review``), how
to build a concrete URL for it (a fresh object per call when the request changes state), and
the status each actor must get. ``tests/test_access_matrix.py`` runs every cell and fails when
a route of the app has no row.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

ACTORS = (
    "anonymous",
    "volunteer",
    "donor",
    "member_a",
    "member_b",
    "caseworker_x",
    "caseworker_y",
    "coordinator",
    "auditor",
    "admin",
)

# Which demo user plays each actor (backend/demo/accounts.py). Org A is the Xihu charity
# federation, org B the Sanmen trade union; region X is 西湖区 330106, region Y 三门县 331022.
ACTOR_USERS = {
    "volunteer": "volunteer",
    "donor": "donor",
    "member_a": "org_member",
    "member_b": "union_admin",
    "caseworker_x": "caseworker",
    "caseworker_y": "caseworker_sanmen",
    "coordinator": "coordinator",
    "auditor": "auditor",
    "admin": "admin",
}


@dataclass
class Ctx:
    """What a URL or body factory may use: the runtime, the demo ids, the acting user's id."""

    runtime: Any
    demo: dict[str, Any]
    actor: str
    user_id: uuid.UUID | None
    extra: dict[str, Any] = field(default_factory=dict)


UrlFactory = Callable[[Ctx], Awaitable[str]]
BodyFactory = Callable[[Ctx], Awaitable[dict[str, Any]]]


@dataclass
class Row:
    method: str
    route: str
    expect: dict[str, int]
    url: str | UrlFactory | None = None
    data: dict[str, Any] | BodyFactory | None = None
    json: bool = False
    note: str = ""

    def status_for(self, actor: str) -> int:
        if actor in self.expect:
            return self.expect[actor]
        return self.expect["*"]

    async def build_url(self, ctx: Ctx) -> str:
        if self.url is None:
            return self.route
        if isinstance(self.url, str):
            return self.url
        return await self.url(ctx)

    async def build_body(self, ctx: Ctx) -> dict[str, Any] | None:
        if self.data is None or isinstance(self.data, dict):
            return self.data
        return await self.data(ctx)


def everyone(status: int, **overrides: int) -> dict[str, int]:
    """``expect`` helper: ``everyone(200, anonymous=303)``."""
    return {"*": status, **overrides}


def signed_in(status: int, *, anonymous: int = 303, **overrides: int) -> dict[str, int]:
    return {"*": status, "anonymous": anonymous, **overrides}


def only(
    allowed: tuple[str, ...], status: int, *, denied: int = 403, anonymous: int = 303
) -> dict[str, int]:
    expect = dict.fromkeys(ACTORS, denied)
    expect["anonymous"] = anonymous
    for actor in allowed:
        expect[actor] = status
    return expect
