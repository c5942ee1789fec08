"""Role × route rows of the coordination pages, the organization inbox and notifications."""

from __future__ import annotations

import uuid
from typing import Any

from backend.matches.models import Match, MatchSource, MatchState
from tests.access import Ctx, Row, only, signed_in
from tests.matches import factories as fx

COORD = ("coordinator", "admin")
MEMBERS = ("member_a", "member_b")


async def _match(
    ctx: Ctx, *, state: MatchState, community: str = "330106004053", org: str = "org:charity"
) -> uuid.UUID:
    async with ctx.runtime.transaction() as s:
        w = await fx.world(s, ctx.demo, community=community, needs=1, org=org)
        match = Match(
            id=uuid.uuid4(),
            need_id=w.needs[0].id,
            resource_id=w.resources[0].id,
            organization_id=ctx.demo[org],
            source=MatchSource.ENGINE,
            state=state,
            quantity=1,
            score=10.0,
            score_parts={},
            explanation=[["Only candidate offer for this need", {}]],
        )
        s.add(match)
    return match.id


def _url(
    suffix: str,
    *,
    state: MatchState = MatchState.PROPOSED,
    community: str = "330106004053",
    prefix: str = "/coordination/matches",
    org: str = "org:charity",
) -> Any:
    async def build(ctx: Ctx) -> str:
        return f"{prefix}/{await _match(ctx, state=state, community=community, org=org)}{suffix}"

    return build


async def _bulk(ctx: Ctx) -> dict[str, Any]:
    return {"match_id": str(await _match(ctx, state=MatchState.PROPOSED))}


async def _run_url(ctx: Ctx) -> str:
    return f"/coordination/runs/{ctx.demo['matching_run']}"


SANMEN = "331022001"
ORG = "/organizations/matches"

ROWS = [
    Row("GET", "/coordination/matches", only(COORD, 200)),
    Row(
        "POST",
        "/coordination/matches/{match_id:uuid}/approve",
        only(COORD, 303),
        url=_url("/approve"),
    ),
    Row(
        "POST",
        "/coordination/matches/{match_id:uuid}/approve",
        only(
            COORD,
            303,
        )
        | {"coordinator": 404},
        url=_url("/approve", community=SANMEN, org="org:union"),
        note="other region",
    ),
    Row(
        "POST",
        "/coordination/matches/{match_id:uuid}/reject",
        only(COORD, 303),
        url=_url("/reject"),
        data={"reason": "不符合实际情况"},
    ),
    Row(
        "POST",
        "/coordination/matches/{match_id:uuid}/reject",
        only(COORD, 422),
        url=_url("/reject"),
        data={"reason": ""},
        note="no reason",
    ),
    Row(
        "GET",
        "/coordination/matches/{match_id:uuid}/reassign",
        only(COORD, 200),
        url=_url("/reassign"),
    ),
    Row(
        "GET",
        "/coordination/matches/{match_id:uuid}/reassign",
        only(COORD, 200) | {"coordinator": 404},
        url=_url("/reassign", community=SANMEN, org="org:union"),
        note="other region",
    ),
    Row(
        "POST",
        "/coordination/matches/{match_id:uuid}/reassign",
        only(COORD, 422),
        url=_url("/reassign"),
        data={"reason": "x"},
        note="no offer chosen",
    ),
    Row(
        "POST",
        "/coordination/matches/bulk-approve",
        only(COORD, 200),
        data=_bulk,
        note="confirmation",
    ),
    Row("GET", "/coordination/runs", only(COORD, 200)),
    Row(
        "POST",
        "/coordination/runs",
        only(COORD, 303),
        data={"county_code": "330106", "confirm": "yes"},
        note="confirmed",
    ),
    Row(
        "POST",
        "/coordination/runs",
        only(COORD, 303) | {"coordinator": 404},
        data={"county_code": "331022"},
        note="other region",
    ),
    Row("GET", "/coordination/runs/{run_id:uuid}", only(COORD, 200), url=_run_url),
    Row("GET", "/coordination/fairness", only(COORD, 200)),
    Row("GET", "/organizations/matches", only(MEMBERS, 200)),
    Row(
        "POST",
        "/organizations/matches/{match_id:uuid}/accept",
        only(MEMBERS, 303) | {"member_b": 404},
        url=_url("/accept", state=MatchState.APPROVED, prefix=ORG),
    ),
    Row(
        "POST",
        "/organizations/matches/{match_id:uuid}/decline",
        only(MEMBERS, 303) | {"member_b": 404},
        url=_url("/decline", state=MatchState.APPROVED, prefix=ORG),
        data={"reason": "人手不足"},
    ),
    Row("GET", "/notifications", signed_in(200)),
    Row("POST", "/notifications/read", signed_in(303)),
    Row("GET", "/api/v1/notifications", signed_in(200, anonymous=401), json=True),
]
