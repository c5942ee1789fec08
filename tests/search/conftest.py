from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.search import SearchEngine, build_engine

MEILI_URL = os.environ.get("TONGXIN_TEST_MEILI_URL")

ENGINE_PARAMS = [
    pytest.param("tantivy", id="tantivy"),
    pytest.param(
        "meilisearch",
        id="meilisearch",
        marks=pytest.mark.skipif(
            not MEILI_URL, reason="set TONGXIN_TEST_MEILI_URL to run against a Meilisearch server"
        ),
    ),
]


@pytest.fixture(params=ENGINE_PARAMS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchEngine]:
    kind: str = request.param
    eng = build_engine(
        kind,
        index_dir=tmp_path / "index",
        meili_url=MEILI_URL,
        meili_api_key=os.environ.get("TONGXIN_TEST_MEILI_KEY"),
        index_prefix=f"test_{uuid.uuid4().hex[:8]}",
    )
    try:
        yield eng
    finally:
        await eng.clear()
        await eng.close()
