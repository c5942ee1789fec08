"""Every cell of the role × route matrix, and no route of the app without a row."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from tests.access import ACTOR_USERS, ACTORS, Ctx, Row
from tests.helpers import csrf_token, sign_in_as

TESTS = Path(__file__).resolve().parent
IGNORED_PREFIXES = ("/static", "/schema")


def _rows() -> list[Row]:
    rows: list[Row] = []
    for path in sorted(TESTS.rglob("access_rows.py")):
        module = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        rows.extend(importlib.import_module(module).ROWS)
    return rows


ROWS = _rows()
CELLS = [(row, actor) for row in ROWS for actor in ACTORS]


def _cell_id(cell: tuple[Row, str]) -> str:
    row, actor = cell
    return f"{row.method} {row.route} {row.note} [{actor}]".replace("  ", " ")


def test_every_route_has_a_row(app: Any) -> None:
    listed = {(row.method, row.route) for row in ROWS}
    missing = []
    for route in app.routes:
        if route.path.startswith(IGNORED_PREFIXES):
            continue
        for method in sorted(getattr(route, "methods", ()) or ()):
            if method in {"HEAD", "OPTIONS"}:
                continue
            if (method, route.path) not in listed:
                missing.append(f"{method} {route.path}")
    assert not missing, "routes without a row in any tests/**/access_rows.py:\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("cell", CELLS, ids=[_cell_id(c) for c in CELLS])
async def test_cell(cell: tuple[Row, str], client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    row, actor = cell
    user_id = demo[ACTOR_USERS[actor]] if actor != "anonymous" else None
    ctx = Ctx(runtime=runtime, demo=demo, actor=actor, user_id=user_id)
    if user_id is not None:
        await sign_in_as(client, runtime, user_id)
    url = await row.build_url(ctx)
    body = await row.build_body(ctx)
    headers = {"accept": "application/json"} if row.json else {}
    if row.method in {"GET", "DELETE"} and row.method == "GET":
        response = await client.get(url, headers=headers, follow_redirects=False)
    else:
        token = await csrf_token(client)
        if row.json:
            response = await client.request(
                row.method,
                url,
                json=body or {},
                headers={**headers, "x-csrftoken": token},
                follow_redirects=False,
            )
        else:
            response = await client.request(
                row.method, url, data={**(body or {}), "_csrf_token": token}, follow_redirects=False
            )
    expected = row.status_for(actor)
    assert response.status_code == expected, (
        f"{row.method} {url} as {actor}: got {response.status_code}, expected {expected}\n{response.text[:500]}"
    )
