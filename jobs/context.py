"""Typed access to the arq context: every task reaches the shared Runtime through it."""

from __future__ import annotations

from typing import Any

from backend.core.runtime import Runtime

JobCtx = dict[str, Any]


def runtime(ctx: JobCtx) -> Runtime:
    value = ctx["runtime"]
    assert isinstance(value, Runtime)
    return value
