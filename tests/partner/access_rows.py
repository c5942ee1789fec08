"""Role × route rows of the partner API and the API-client pages.

Signed-in people are not API clients: every partner route answers 401 without a bearer token.
Partner clients of each scope and organization have their own matrix in
tests/partner/test_partner_matrix.py.
"""

from __future__ import annotations

import uuid

from backend.accounts.models import APIClient
from backend.accounts.passwords import hash_password
from tests.access import ACTORS, Ctx, Row, everyone


def _org_b_admins(ok: int) -> dict[str, int]:
    """Org B, where member_b is an admin; outsiders 404; the platform admin passes."""
    expect = dict.fromkeys(ACTORS, 404)
    expect.update(anonymous=303, member_b=ok, admin=ok)
    return expect


def _org_a(ok: int) -> dict[str, int]:
    """Org A, where member_a is a plain member: 403."""
    expect = dict.fromkeys(ACTORS, 404)
    expect.update(anonymous=303, member_a=403, admin=ok)
    return expect


async def _org_a_url(ctx: Ctx) -> str:
    return f"/organizations/{ctx.demo['org:charity']}/api-clients"


async def _org_b_url(ctx: Ctx) -> str:
    return f"/organizations/{ctx.demo['org:union']}/api-clients"


async def _revoke_b(ctx: Ctx) -> str:
    async with ctx.runtime.transaction() as session:
        client = APIClient(
            id=uuid.uuid4(),
            organization_id=ctx.demo["org:union"],
            name="matrix",
            client_id="txc_" + uuid.uuid4().hex[:24],
            secret_hash=hash_password("x" * 12),
            scopes=["needs:read"],
            created_by=ctx.demo["union_admin"],
        )
        session.add(client)
    return f"/organizations/{ctx.demo['org:union']}/api-clients/{client.id}/revoke"


NEW_CLIENT = {"name": "案件系统", "scopes": "needs:read"}

ROWS = [
    Row(
        "GET",
        "/organizations/{org_id:uuid}/api-clients",
        _org_b_admins(200),
        url=_org_b_url,
        note="org B",
    ),
    Row(
        "GET", "/organizations/{org_id:uuid}/api-clients", _org_a(200), url=_org_a_url, note="org A"
    ),
    Row(
        "POST",
        "/organizations/{org_id:uuid}/api-clients",
        _org_b_admins(201),
        url=_org_b_url,
        data=NEW_CLIENT,
        note="org B",
    ),
    Row(
        "POST",
        "/organizations/{org_id:uuid}/api-clients",
        _org_a(201),
        url=_org_a_url,
        data=NEW_CLIENT,
        note="org A",
    ),
    Row(
        "POST",
        "/organizations/{org_id:uuid}/api-clients/{client_uuid:uuid}/revoke",
        _org_b_admins(303),
        url=_revoke_b,
    ),
    Row(
        "POST",
        "/oauth/token",
        everyone(401),
        data={"grant_type": "client_credentials"},
        note="no client credentials",
    ),
    Row("GET", "/api/v1/partner/needs", everyone(401), json=True, note="no bearer token"),
    Row("GET", "/api/v1/partner/resources", everyone(401), json=True, note="no bearer token"),
    Row(
        "POST",
        "/api/v1/partner/resources",
        everyone(401),
        json=True,
        data={"title": "x"},
        note="no bearer token",
    ),
    Row(
        "PATCH",
        "/api/v1/partner/resources/{resource_id:uuid}",
        everyone(401),
        json=True,
        url=f"/api/v1/partner/resources/{uuid.uuid4()}",
        data={"title": "x"},
        note="no bearer token",
    ),
    Row(
        "POST",
        "/api/v1/partner/deliveries",
        everyone(401),
        json=True,
        data={},
        note="no bearer token",
    ),
]
