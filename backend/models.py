"""The model registry: every domain's tables in ``Base.metadata``.

SQLAlchemy resolves a foreign key (``matches.project_id`` → ``projects``) only when the table it
names has been imported. The app factory, the CLI and Alembic call :func:`load_all_models` once,
so every process sees the same complete metadata whatever it happens to import itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache

from sqlalchemy import MetaData

import backend
from backend.core.db import Base

__all__ = ["Base", "load_all_models", "model_modules"]


# Tables kept beside a domain's models.py rather than in it.
EXTRA_MODEL_MODULES = ("backend.accounts.tokens",)  # one-time account links (notifications)


def model_modules() -> list[str]:
    """``backend.<domain>.models`` of every domain package that has one (sorted), then the
    extra table modules."""
    names = []
    for info in pkgutil.iter_modules(backend.__path__):
        if not info.ispkg:
            continue
        name = f"backend.{info.name}.models"
        if importlib.util.find_spec(name) is not None:
            names.append(name)
    return [*sorted(names), *EXTRA_MODEL_MODULES]


@cache
def load_all_models() -> MetaData:
    """Import every domain's ``models`` module; return the complete ``Base.metadata``."""
    for name in model_modules():
        importlib.import_module(name)
    return Base.metadata
