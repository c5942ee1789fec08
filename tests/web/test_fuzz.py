"""No input answers 500 (issue 15 point 4).

Fixed hostile inputs first (the ones an outside schemathesis run found), then a bounded
schemathesis run over the OpenAPI document as four callers: anonymous, a caseworker session,
an organization session and a partner token. The run has a time budget (``FUZZ_SECONDS``, at
most 3 minutes for all callers together) and a per-operation example budget; it must find zero
server errors, and every response must match the documented schema.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from tests.helpers import csrf_token, post_form, post_json, sign_in_as

HUGE = 10**18
ERROR_KEYS = {"error", "message", "status"}


def assert_invalid(r: Any) -> None:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    if r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        assert set(body) >= ERROR_KEYS, body
        assert body["status"] == 422
        assert isinstance(body.get("fields"), dict) and body["fields"], body


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/needs?urgency=0",
        "/api/v1/needs?state=nonsense",
        f"/api/v1/needs?page={HUGE}",
        "/api/v1/needs?page=0",
        "/api/v1/needs?category=%00",
        "/api/v1/needs?region=330106%00",
        "/api/v1/resources?kind=0",
        f"/api/v1/resources?page={HUGE}",
        "/api/v1/projects?state=0",
        "/api/v1/directory/organizations?org_type=x",
        f"/api/v1/tasks?page={2**63}",
        f"/needs?page={HUGE}",
        f"/projects?page={HUGE}",
        "/needs?q=%00",
        "/search?q=a%00b",
        "/needs/%00",
    ],
)
async def test_hostile_queries_answer_422(client: Any, url: str) -> None:
    r = await client.get(url, headers={"accept": "application/json"})
    assert r.status_code in {404, 422}, (url, r.status_code, r.text[:300])
    if r.status_code == 422:
        assert_invalid(r)


async def test_hostile_bodies_answer_422(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await sign_in_as(client, runtime, demo["org_member"])
    base = {
        "organization_id": str(demo["org:charity"]),
        "kind": "goods",
        "category": "goods",
        "title": "棉被",
        "capacity": 3,
        "service_area": ["330106"],
    }
    for change in (
        {"title": "棉\x00被"},
        {"description": "a\x00b"},
        {"capacity": 2**31},
        {"capacity": 2**63},
        {"capacity": -1},
        {"service_area": ["330106"] * 100_000},
        {"description": "长" * 1_000_000},
        {"kind": "x" * 10_000},
    ):
        r = await post_json(client, "/api/v1/resources", {**base, **change})
        assert_invalid(r)
    claim = {"need_id": str(demo["claim:blankets"]), "organization_id": str(demo["org:charity"])}
    for quantity in (2**31, 2**63, 2**80):
        r = await post_json(client, "/api/v1/claims", {**claim, "quantity": quantity})
        assert_invalid(r)


async def test_hostile_need_drafts(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await sign_in_as(client, runtime, demo["caseworker"])
    async with runtime.sessionmaker() as session:
        from sqlalchemy import select

        from backend.needs.models import Need

        household_id = (await session.scalars(select(Need.household_id).limit(1))).first()
    url = f"/api/v1/households/{household_id}/needs"
    need = {"category": "goods", "title": "棉被", "quantity": 1}
    for change in (
        {"quantity": 2**31},
        {"quantity": 2**63},
        {"amount_fen": 2**63, "quantity": None},
        {"title": "a\x00"},
        {"body": "\x00"},
        {"urgency": "0"},
        {"deadline": "99999-01-01"},
    ):
        assert_invalid(await post_json(client, url, {**need, **change}))


async def test_hostile_forms(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await sign_in_as(client, runtime, demo["org_admin"])
    project = demo["project:warm_nest"]
    r = await post_form(client, f"/projects/{project}/updates", {"body": "进展\x00"})
    assert r.status_code == 422, r.status_code
    for amount in (str(2**63), str(HUGE) + ".5", "1e400"):
        r = await post_form(
            client,
            f"/donations/manage/{project}/adjustments",
            {"amount": amount, "reason": "更正"},
        )
        assert r.status_code == 422, (amount, r.status_code)
    token = await csrf_token(client)
    r = await client.post(
        f"/org/{demo['org:charity']}/resources",
        data={"_csrf_token": token, "title": "棉被", "capacity": str(2**63), "kind": "goods"},
    )
    assert r.status_code in {404, 422}, r.status_code


async def test_partner_bounds(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    from tests.partner.test_partner_api import _client, _token

    api_client, secret = await _client(runtime, demo, "charity", ["resources:write"])
    token = await _token(client, api_client, secret)
    base = {"kind": "goods", "category": "goods", "title": "棉被", "capacity": 3}
    for change in (
        {"service_area": ["330106"] * 100_000},
        {"service_area": ["330106"], "description": "长" * 1_000_000},
        {"service_area": ["330106"], "capacity": 2**63},
        {"service_area": ["330106"], "title": "a\x00"},
    ):
        r = await client.post(
            "/api/v1/partner/resources",
            json={**base, **change},
            headers={"authorization": f"Bearer {token}"},
        )
        assert r.status_code in {413, 422}, (r.status_code, r.text[:200])


def test_openapi_documents_the_error_body(app: Any) -> None:
    schema = app.openapi_schema.to_schema()
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "status"}
    assert {"error", "message", "status", "fields"} <= set(error["properties"])
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/Error"), (method, path, status)
            assert "422" in op["responses"] or method == "get", (method, path)


FUZZ_SECONDS = float(os.environ.get("FUZZ_SECONDS", "150"))


@pytest.mark.timeout(300)
async def test_schemathesis_finds_no_server_error(
    live_server: str, runtime: Any, demo: dict[str, Any]
) -> None:
    """Every operation, as each caller, within one time budget: no 5xx, responses conform."""
    import asyncio

    callers = await fuzz_callers(live_server, runtime, demo)
    failures, ran, total = await asyncio.to_thread(run_schemathesis, live_server, callers)
    print(f"schemathesis: {ran} of {total} operation x caller runs in the budget")
    assert ran >= total // 2, f"only {ran} of {total} runs fitted in the time budget"
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:20])


def run_schemathesis(
    live_server: str, callers: list[tuple[str, dict[str, str]]]
) -> tuple[list[str], int, int]:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    schema = schemathesis.openapi.from_url(f"{live_server}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    deadline = time.monotonic() + min(FUZZ_SECONDS, 180)
    failures: list[str] = []
    ran = 0
    for operation in operations:
        for caller, headers in callers:
            if time.monotonic() > deadline:
                return failures, ran, len(operations) * len(callers)

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def run(case: Any) -> None:
                check_case(case, caller, headers, failures)  # noqa: B023 - run() runs right here

            run()
            ran += 1
    return failures, ran, len(operations) * len(callers)


EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))


def check_case(case: Any, caller: str, headers: dict[str, str], failures: list[str]) -> None:
    from schemathesis.checks import (
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    response = case.call(headers=headers, timeout=15)
    checks = [not_a_server_error, status_code_conformance]
    if response.status_code < 400:
        checks.append(response_schema_conformance)
    for check in checks:
        try:
            case.validate_response(response, checks=[check])
        except (Exception, BaseExceptionGroup) as exc:  # collected and reported by the test
            failures.append(f"{caller} {case.method} {case.path}: {exc}"[:600])
            return


async def fuzz_callers(
    live_server: str, runtime: Any, demo: dict[str, Any]
) -> list[tuple[str, dict[str, str]]]:
    """(name, headers): anonymous, caseworker and organization sessions, a partner token."""
    import httpx

    from backend.accounts.service import load_current_user
    from backend.core.sessions import SESSION_COOKIE
    from backend.partner.service import create_client

    out: list[tuple[str, dict[str, str]]] = [("anonymous", {})]
    async with httpx.AsyncClient(base_url=live_server) as c:
        for key in ("caseworker", "org_member"):
            token = await runtime.services.sessions.create(demo[key])
            c.cookies.clear()
            c.cookies.set(SESSION_COOKIE, token)
            await c.get("/signin")
            csrf = c.cookies.get("tx_csrf") or ""
            cookie = f"{SESSION_COOKIE}={token}; tx_csrf={csrf}"
            out.append((key, {"cookie": cookie, "x-csrftoken": csrf}))
        async with runtime.transaction() as session:
            admin = await load_current_user(session, demo["org_admin"])
            assert admin is not None
            api_client, secret = await create_client(
                session,
                admin,
                demo["org:charity"],
                name="fuzz",
                scopes=["needs:read", "resources:write", "deliveries:write"],
            )
        c.cookies.clear()
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(api_client.client_id, secret),
        )
        r.raise_for_status()
    out.append(("partner", {"authorization": f"Bearer {r.json()['access_token']}"}))
    return out
