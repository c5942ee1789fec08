"""The search engine as a runtime service (``runtime.services.search``).

``settings.search_engine`` picks the implementation: ``tantivy`` (embedded, index under
``<var_dir>/search``) or ``meili``/``meilisearch`` (``settings.meili_url``). ``backend.wiring``
builds it when a Runtime starts and closes it when it stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.search.engine import SearchEngine, build_engine

if TYPE_CHECKING:
    from backend.config import Settings
    from backend.core.runtime import Services


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


def engine_of(services: Services) -> SearchEngine:
    if services.search is None:
        raise RuntimeError("the search service is not started (backend.wiring.start_services)")
    return services.search
