"""Outside providers built once per process (search engine, payments, storage).

Domains register a starter here; each provider sits behind a Protocol with an offline
implementation (CONVENTIONS.md, rule 5).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.core.runtime import Runtime

Starter = Callable[["Runtime"], Awaitable[Any]]
Stopper = Callable[[Any], Awaitable[None]]

_starters: dict[str, tuple[Starter, Stopper | None]] = {}


def provide(name: str, starter: Starter, stopper: Stopper | None = None) -> None:
    _starters[name] = (starter, stopper)


async def start_services(runtime: Runtime) -> None:
    for name, (starter, _) in _starters.items():
        runtime.services[name] = await starter(runtime)


async def stop_services(runtime: Runtime) -> None:
    for name, (_, stopper) in _starters.items():
        if stopper is not None and name in runtime.services:
            await stopper(runtime.services.pop(name))
