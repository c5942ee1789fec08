"""What every process (web app, worker, CLI) registers before its Runtime starts.

Importing a module here registers its outside-provider starters (``backend.core.services``)
and its outbox subscribers (``backend.core.events``). One explicit list, so that the
standalone worker and the web app react to the same events.
"""

from __future__ import annotations

import backend.donations.handlers
import backend.matches.handlers
import backend.search.provider
import backend.web.cache  # noqa: F401 - the public page cache and its invalidation
