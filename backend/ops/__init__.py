"""The operator's commands behind ``tongxin`` (backend/cli.py only parses and prints).

Each module holds the body of one command. Expected failures raise :class:`OpsError` with a
message for the operator; the CLI prints it on one line and exits non-zero, without a traceback.
"""

from __future__ import annotations


class OpsError(Exception):
    """An expected failure of an operator command (bad argument, refused restore, broken file)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
