"""Role × route rows of the public search page and API: open to everyone."""

from __future__ import annotations

from tests.access import Row, everyone

ROWS = [
    Row("GET", "/search", everyone(200), url="/search?q=%E8%80%81%E4%BA%BA&kind=need"),
    Row(
        "GET", "/api/v1/search", everyone(200), url="/api/v1/search?q=rice&region=330100", json=True
    ),
]
