"""What every process (web app, worker, CLI) wires up when its Runtime starts and stops.

Importing the handler modules below registers their outbox subscribers
(``backend.core.events``), so the standalone worker and the web app react to the same events.
``start_services`` builds the outside providers into the runtime's typed ``services``; each
sits behind a Protocol with an offline implementation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import backend.dashboard.handlers
import backend.donations.handlers
import backend.matches.handlers
import backend.notifications.handlers
import backend.organizations.handlers
import backend.search.handlers
import backend.web.cache  # noqa: F401 - outbox subscribers of every domain, the page cache's too

if TYPE_CHECKING:
    from backend.core.runtime import Runtime


async def start_services(runtime: Runtime) -> None:
    from backend.core.storage import storage_from_settings
    from backend.integrations.mail import mailer
    from backend.integrations.oidc import build_registry
    from backend.integrations.sms import sms_sender
    from backend.search.provider import engine_from_settings
    from backend.web.cache import public_cache_of

    services = runtime.services
    services.search = engine_from_settings(runtime.settings)
    services.uploads = storage_from_settings(runtime.settings)
    services.mailer = mailer(runtime.settings)
    services.sms = sms_sender(runtime.settings)
    services.public_cache = public_cache_of(runtime)
    services.oidc = build_registry(runtime.settings.oidc_providers)


async def stop_services(runtime: Runtime) -> None:
    from backend.integrations.oidc import close_registry

    services = runtime.services
    if services.search is not None:
        await services.search.close()
        services.search = None
    if services.oidc is not None:
        await close_registry(services.oidc)
        services.oidc = None
