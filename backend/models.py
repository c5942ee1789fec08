"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from backend.accounts import models as accounts
from backend.audit import models as audit
from backend.core.db import Base
from backend.donations import models as donations
from backend.fulfilment import models as fulfilment
from backend.households import models as households
from backend.items import models as items
from backend.matches import models as matches
from backend.needs import models as needs
from backend.outbox import models as outbox
from backend.projects import models as projects
from backend.regions import models as regions
from backend.resources import models as resources
from backend.volunteering import models as volunteering

__all__ = [
    "Base",
    "accounts",
    "audit",
    "donations",
    "fulfilment",
    "households",
    "items",
    "matches",
    "needs",
    "outbox",
    "projects",
    "regions",
    "resources",
    "volunteering",
]
