"""Migration files sort in chain order, and each docstring names its real parent.

A newcomer reading backend/migrations/versions/ top to bottom reads the schema's history in
the order Alembic applies it. New files are named ``<date>_<area>_<nnnn>_<what>.py``; whoever
chains them makes each one revise a file that sorts before it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[2] / "backend" / "migrations" / "versions"


def _revisions() -> list[tuple[str, str, str | None, str]]:
    """(file name, revision, down_revision, docstring) of every migration, in file order."""
    found = []
    for path in sorted(VERSIONS.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        values: dict[str, object] = {}
        for node in tree.body:
            target = (
                node.target
                if isinstance(node, ast.AnnAssign)
                else node.targets[0]
                if isinstance(node, ast.Assign)
                else None
            )
            if isinstance(target, ast.Name) and node.value is not None:
                values[target.id] = ast.literal_eval(node.value)
        down = values.get("down_revision")
        assert down is None or isinstance(down, str), f"{path.name}: merge revisions are not used"
        found.append((path.name, str(values["revision"]), down, ast.get_docstring(tree) or ""))
    return found


def test_file_order_is_chain_order() -> None:
    seen: set[str] = set()
    for name, revision, down, _ in _revisions():
        assert down is None or down in seen, f"{name} revises {down}, which sorts after it"
        seen.add(revision)


def test_docstrings_name_the_real_revision_and_parent() -> None:
    for name, revision, down, doc in _revisions():
        assert re.search(rf"^Revision ID: {re.escape(revision)}$", doc, re.M), name
        parent = re.search(r"^Revises:[ \t]*(\S*)[ \t]*$", doc, re.M)
        assert parent is not None, f"{name}: no 'Revises:' line"
        assert parent.group(1) == (down or ""), f"{name}: docstring says {parent.group(1)!r}"
