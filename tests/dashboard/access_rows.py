"""Role × route rows of the coordinator dashboard: coordinators and the platform admin only."""

from __future__ import annotations

from tests.access import Row, only

COORD = ("coordinator", "admin")

ROWS = [
    Row("GET", "/coordination/dashboard", only(COORD, 200)),
    Row(
        "GET",
        "/coordination/dashboard/csv/{chart_key:str}",
        only(COORD, 200),
        url="/coordination/dashboard/csv/flow",
    ),
]
