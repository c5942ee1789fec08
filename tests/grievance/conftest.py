"""Anonymous reports from the test client share one address: start each test with a fresh limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest


async def _clear(runtime: Any) -> None:
    for pattern in ("rl:report:*", "rl:report_track:*"):
        for key in await runtime.queue.pool.keys(pattern):
            await runtime.queue.pool.delete(key)


@pytest.fixture(autouse=True)
async def fresh_report_limits(runtime: Any) -> AsyncIterator[None]:
    await _clear(runtime)
    yield
    await _clear(runtime)
