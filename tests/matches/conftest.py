"""Fixtures of the matches tests: the outbox subscribers are registered as the worker does."""

from __future__ import annotations

import backend.matches.handlers  # noqa: F401 - registers match.* notification handlers
