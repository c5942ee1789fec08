"""Partner API: clients of each scope and organization, token lifetimes, revocation, limits."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.accounts.models import APIClient
from backend.audit.models import AuditEntry
from backend.partner import limits
from backend.partner.service import create_client
from backend.partner.tokens import issue
from backend.resources.models import Resource
from tests.helpers import post_form, sign_in_as

ISSUER = "http://127.0.0.1:8000"
RESOURCE = {
    "kind": "goods",
    "category": None,
    "title": "冬季棉被",
    "capacity": 20,
    "service_area": ["330106"],
    "unit": "床",
}


async def _client(
    runtime: Any, demo: dict[str, Any], org: str, scopes: list[str]
) -> tuple[APIClient, str]:
    from backend.accounts.service import load_current_user

    admin = demo["org_admin" if org == "charity" else "union_admin"]
    async with runtime.transaction() as session:
        actor = await load_current_user(session, admin)
        assert actor is not None
        return await create_client(
            session, actor, demo[f"org:{org}"], name="测试系统", scopes=scopes
        )


async def _token(client: Any, api_client: APIClient, secret: str) -> str:
    basic = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert response.headers["cache-control"] == "no-store"
    return str(body["access_token"])


@pytest.fixture(autouse=True)
def _generous_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here calls from the same address ("testclient"), into a Redis shared with
    other runs: lift the limits; the rate-limit tests lower the one they check."""
    for name in limits.LIMITS:
        monkeypatch.setitem(limits.LIMITS, name, 100_000)


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _category(runtime: Any) -> str:
    from backend.needs.models import NeedCategory

    async with runtime.transaction() as session:
        if await session.get(NeedCategory, "goods") is None:
            session.add(NeedCategory(code="goods", name_zh="物资", name_en="Goods", sort_order=1))
    return "goods"


async def _resource_of(runtime: Any, demo: dict[str, Any], org: str) -> uuid.UUID:
    async with runtime.transaction() as session:
        resource = Resource(
            id=uuid.uuid4(),
            organization_id=demo[f"org:{org}"],
            kind="goods",
            category=await _category(runtime),
            title="米面油",
            capacity=5,
            remaining=5,
            service_area=["330106"],
            created_by=demo["org_admin"],
            eligibility={},
        )
        session.add(resource)
    return resource.id


# (scope set, route, expected) for clients of org A. B_RES is a resource of org B, A_RES of org A.
MATRIX = [
    (["needs:read"], "GET", "/api/v1/partner/needs", 200),
    (["needs:read"], "POST", "/api/v1/partner/resources", 403),
    (["needs:read"], "PATCH", "A_RES", 403),
    (["needs:read"], "PATCH", "B_RES", 403),
    (["needs:read"], "POST", "/api/v1/partner/deliveries", 403),
    (["resources:write"], "GET", "/api/v1/partner/needs", 403),
    (["resources:write"], "GET", "/api/v1/partner/resources", 200),
    (["resources:write"], "POST", "/api/v1/partner/resources", 201),
    (["resources:write"], "PATCH", "A_RES", 200),
    (["resources:write"], "PATCH", "B_RES", 404),
    (["resources:write"], "POST", "/api/v1/partner/deliveries", 403),
    (["deliveries:write"], "POST", "/api/v1/partner/resources", 403),
    (["deliveries:write"], "POST", "/api/v1/partner/deliveries", 404),
]


@pytest.mark.parametrize(
    ("scopes", "method", "route", "expected"),
    MATRIX,
    ids=[f"{s[0]}-{m}-{r}" for s, m, r, _ in MATRIX],
)
async def test_partner_matrix(
    client: Any,
    runtime: Any,
    demo: dict[str, Any],
    scopes: list[str],
    method: str,
    route: str,
    expected: int,
) -> None:
    api_client, secret = await _client(runtime, demo, "charity", scopes)
    token = await _token(client, api_client, secret)
    body: dict[str, Any] = {}
    if route in {"A_RES", "B_RES"}:
        rid = await _resource_of(runtime, demo, "charity" if route == "A_RES" else "union")
        route, body = f"/api/v1/partner/resources/{rid}", {"title": "更新后的标题"}
    elif route.endswith("/resources"):
        body = {**RESOURCE, "category": await _category(runtime)}
    elif route.endswith("/deliveries"):
        body = {
            "fulfilment_id": str(uuid.uuid4()),
            "delivered_on": "2026-01-05",
            "quantity": 1,
            "description": "送达",
        }
    response = await client.request(
        method, route, headers=_auth(token), json=body if method != "GET" else None
    )
    assert response.status_code == expected, response.text
    async with runtime.sessionmaker() as session:
        last = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.actor_id == api_client.id)
                .order_by(AuditEntry.occurred_at.desc())
                .limit(1)
            )
        ).first()
    assert last is not None
    assert last.actor_kind == "client"
    if expected >= 400:
        assert last.action.endswith(".refused")


async def test_created_resource_belongs_to_the_client_org(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    api_client, secret = await _client(runtime, demo, "union", ["resources:write"])
    token = await _token(client, api_client, secret)
    body = {**RESOURCE, "category": await _category(runtime), "service_area": ["331022"]}
    created = await client.post("/api/v1/partner/resources", headers=_auth(token), json=body)
    assert created.status_code == 201
    async with runtime.sessionmaker() as session:
        resource = await session.get(Resource, uuid.UUID(created.json()["id"]))
    assert resource is not None
    assert resource.organization_id == demo["org:union"]
    bad = await client.post(
        "/api/v1/partner/resources",
        headers=_auth(token),
        json={**body, "capacity": -1, "service_area": ["999999"]},
    )
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) >= {"capacity", "service_area"}


async def test_expired_tampered_revoked_and_foreign_tokens_are_401(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    api_client, secret = await _client(runtime, demo, "charity", ["needs:read"])
    token = await _token(client, api_client, secret)
    assert (await client.get("/api/v1/partner/needs", headers=_auth(token))).status_code == 200
    expired, _ = issue(
        issuer=ISSUER,
        client_id=api_client.client_id,
        organization_id=str(api_client.organization_id),
        scopes=["needs:read"],
        now=time.time() - 3600,
    )
    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{sig}"
    other_org, _ = issue(
        issuer=ISSUER,
        client_id=api_client.client_id,
        organization_id=str(demo["org:union"]),
        scopes=["needs:read"],
    )
    for bad in (expired, tampered, other_org, "not-a-jwt", token + "x"):
        response = await client.get("/api/v1/partner/needs", headers=_auth(bad))
        assert response.status_code == 401, bad
    await sign_in_as(client, runtime, demo["org_admin"])
    revoke = await post_form(
        client,
        f"/organizations/{demo['org:charity']}/api-clients/{api_client.id}/revoke",
        {},
        follow_redirects=False,
    )
    assert revoke.status_code == 303
    assert (await client.get("/api/v1/partner/needs", headers=_auth(token))).status_code == 401
    basic = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()
    again = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {basic}"},
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"


async def test_wrong_secret_and_scope(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    api_client, secret = await _client(runtime, demo, "charity", ["needs:read"])
    wrong = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": "nope",
        },
    )
    assert wrong.status_code == 401
    scope = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "scope": "resources:write",
            "client_id": api_client.client_id,
            "client_secret": secret,
        },
    )
    assert scope.status_code == 400
    assert scope.json()["error"] == "invalid_scope"
    grant = await client.post("/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"


async def test_rate_limit_per_client_gives_429_with_retry_after(
    client: Any, runtime: Any, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api_client, secret = await _client(runtime, demo, "charity", ["needs:read"])
    token = await _token(client, api_client, secret)  # one hit on the client's counter
    monkeypatch.setitem(limits.LIMITS, "api_client", 3)
    statuses = [
        (await client.get("/api/v1/partner/needs", headers=_auth(token))).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    response = await client.get("/api/v1/partner/needs", headers=_auth(token))
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_signin_rate_limit_per_ip(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    await client.get("/signin")
    monkeypatch.setitem(limits.LIMITS, "signin_ip", 0)
    response = await post_form(
        client, "/signin", {"email": "x@example.org", "password": "wrong-password"}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert (await client.get("/oidc/nope/start")).status_code == 429


async def test_partner_resource_item_kind_given_or_inferred(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    api_client, secret = await _client(runtime, demo, "union", ["resources:write"])
    token = await _token(client, api_client, secret)
    body = {**RESOURCE, "category": await _category(runtime), "service_area": ["331022"]}
    inferred = await client.post("/api/v1/partner/resources", headers=_auth(token), json=body)
    assert inferred.status_code == 201, inferred.text
    assert (inferred.json()["item_kind"], inferred.json()["item_kind_source"]) == (
        "quilt",
        "inferred",
    )
    given = await client.post(
        "/api/v1/partner/resources",
        headers=_auth(token),
        json={**body, "title": "爱心物资", "item_kind": "blanket"},
    )
    assert given.status_code == 201, given.text
    assert (given.json()["item_kind"], given.json()["item_kind_source"]) == ("blanket", "given")
    wrong = await client.post(
        "/api/v1/partner/resources",
        headers=_auth(token),
        json={**body, "item_kind": "haircut"},  # a service kind for a goods resource
    )
    assert wrong.status_code == 422
    assert "item_kind" in wrong.json()["fields"]
