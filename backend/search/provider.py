"""The search engine as a runtime service (``runtime.services["search"]``).

``settings.search_engine`` picks the implementation: ``tantivy`` (embedded, index under
``<var_dir>/search``) or ``meili``/``meilisearch`` (``settings.meili_url``). Importing this module
registers the service and the outbox handlers that keep the index in step with the database;
``backend/routes.py`` (the app) and ``jobs/tasks/registry.py`` (the worker) import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from backend.core.services import provide
from backend.search import handlers as _handlers  # noqa: F401 - registers the outbox handlers
from backend.search.engine import SearchEngine, build_engine

if TYPE_CHECKING:
    from backend.config import Settings
    from backend.core.runtime import Runtime

SERVICE = "search"


async def start_search(runtime: Runtime) -> SearchEngine:
    return engine_from_settings(runtime.settings)


def engine_from_settings(settings: Settings) -> SearchEngine:
    """Build the configured engine. Nothing connects yet: Meilisearch is reached on first use."""
    return build_engine(
        settings.search_engine,
        index_dir=settings.var_dir / "search",
        meili_url=settings.meili_url,
        meili_api_key=settings.meili_api_key,
    )


def index_needs_rebuild(settings: Settings) -> bool:
    """True when the embedded index is missing or was built by an older schema version."""
    if settings.search_engine != "tantivy":
        return False
    from backend.search.tantivy_engine import index_is_current

    return not index_is_current(settings.var_dir / "search")


async def stop_search(engine: Any) -> None:
    await engine.close()


def engine_of(services: dict[str, Any]) -> SearchEngine:
    engine = services.get(SERVICE)
    if engine is None:
        raise RuntimeError("the search service is not started (import backend.search.provider)")
    return cast(SearchEngine, engine)


provide(SERVICE, start_search, stop_search)
