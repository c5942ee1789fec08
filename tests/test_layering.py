"""Layering rules the linters cannot see, checked on the source (in the spirit of Polar's lints).

1. Queries live in ``repository.py``: no ``select(`` and no ``session.get(`` / ``db.get(``
   anywhere else (``backend.core.repository.get_by_id`` is the one by-id load services use).
2. Controllers (views, APIs) never load rows themselves: no ``db.get(`` in views or APIs.
3. Views never branch on an error's message text (``exc.message == ...``): raise a distinct
   error class or code instead. Translating a message for display is fine.
4. Household personal columns (``*_enc``) are named only inside backend/households.

Each allowed exception is listed below with its reason; the list must not grow silently: a
listed file that no longer breaks the rule fails the test too, so the list stays honest.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    p
    for top in ("backend", "jobs")
    for p in sorted((ROOT / top).rglob("*.py"))
    if "migrations" not in p.parts
]

# Files allowed to query outside a repository.py, and why.
QUERY_EXCEPTIONS = {
    # The audit chain's append reads the chain's tail under its advisory lock and its
    # verification walks the chain; the audit work of issues 14 and 22 (checkpoints, month
    # partitions) is rewriting this module and moves these queries with it.
    "backend/audit/service.py": "audit chain append and verification (issues 14, 22)",
    # The outbox relay and its job lock the event row (SELECT ... FOR UPDATE SKIP LOCKED);
    # they move to backend/outbox/repository.py with the outbox retention work (issue 22).
    "backend/outbox/service.py": "outbox relay (issue 22)",
    "jobs/tasks/outbox.py": "outbox job (issue 22)",
    # Checkpoints read the chain's tail and their own table; retention manages partitions with
    # catalog queries (pg_inherits) and batched deletes: chain and partition plumbing, kept
    # beside the code that owns those tables.
    "backend/audit/checkpoints.py": "audit checkpoints (issue 22)",
    "backend/outbox/retention.py": "outbox and audit partitions (issue 22)",
    # Demo data seeding: one-off inserts and counts for the demo footprint, never in production.
    "backend/demo/households.py": "demo seeding",
    "backend/demo/matching.py": "demo seeding",
    "backend/demo/seed.py": "demo seeding",
    "backend/demo/donations.py": "demo seeding",
    "backend/demo/fulfilment.py": "demo seeding",
    "backend/demo/scale.py": "generated province for measuring (tongxin seed-scale)",
    # k-anonymity counters are kept by a flush listener in the changing transaction itself.
    "backend/households/counters.py": "k-anonymity counters (flush listener)",
    # capped_count builds the capped count() query that repositories execute.
    "backend/core/pagination.py": "query builder for repositories",
}
# Files outside backend/households allowed to name *_enc columns, and why.
PERSONAL_COLUMN_EXCEPTIONS = {
    # Demo data writes fake households, encrypted the way households.service does.
    "backend/demo/households.py": "demo seeding",
    "backend/demo/organizations.py": "demo seeding",
    "backend/demo/matching.py": "demo seeding",
    # The grievance channel's own encrypted columns (report text, reporter contact): not household
    # fields; decrypted only for the report's handlers, each read audited.
    "backend/grievance/service.py": "report text and reporter contact",
}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _is_select(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id == "select") or (
        isinstance(func, ast.Attribute) and func.attr == "select" and _is_sa(func.value)
    )


def _is_sa(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in {"sa", "sqlalchemy"}


def _is_session_get(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "get"
        and isinstance(func.value, ast.Name)
        and func.value.id in {"session", "db", "s"}
        and bool(call.args)
    )


def _query_breaches() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in SOURCES:
        if path.name == "repository.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        lines = [c.lineno for c in _calls(tree) if _is_select(c) or _is_session_get(c)]
        if lines:
            found[_rel(path)] = lines
    return found


def test_queries_live_in_repositories() -> None:
    breaches = _query_breaches()
    unexpected = {f: lines for f, lines in breaches.items() if f not in QUERY_EXCEPTIONS}
    assert unexpected == {}, "select( / session.get( outside repository.py"
    stale = sorted(set(QUERY_EXCEPTIONS) - set(breaches))
    assert stale == [], "listed as an exception but no longer querying: remove it from the list"


def test_controllers_load_nothing_themselves() -> None:
    found = {
        _rel(p): [c.lineno for c in _calls(ast.parse(p.read_text())) if _is_session_get(c)]
        for p in SOURCES
        if p.name in {"views.py", "api.py", "webhooks.py", "oidc_views.py"}
    }
    assert {f: lines for f, lines in found.items() if lines} == {}


def test_views_do_not_branch_on_error_message_text() -> None:
    found: dict[str, list[int]] = {}
    for path in SOURCES:
        if path.name not in {"views.py", "api.py", "oidc_views.py", "webhooks.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                isinstance(side, ast.Attribute) and side.attr == "message"
                for side in [node.left, *node.comparators]
            ):
                found.setdefault(_rel(path), []).append(node.lineno)
    assert found == {}


def test_personal_columns_are_named_only_in_households() -> None:
    found: dict[str, list[int]] = {}
    for path in SOURCES:
        rel = _rel(path)
        if rel.startswith(("backend/households/", "backend/privacy/")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.arg
                if isinstance(node, ast.keyword) and node.arg
                else None
            )
            if name and name.endswith("_enc"):
                found.setdefault(rel, []).append(getattr(node, "lineno", 0))
    unexpected = {f: lines for f, lines in found.items() if f not in PERSONAL_COLUMN_EXCEPTIONS}
    assert unexpected == {}
    assert sorted(set(PERSONAL_COLUMN_EXCEPTIONS) - set(found)) == []


def test_the_checks_catch_what_they_look_for() -> None:
    """The detectors themselves: each finds its pattern and ignores look-alikes."""
    tree = ast.parse(
        "async def f(session, db, exc):\n"
        "    await session.scalars(select(X))\n"
        "    await db.get(X, 1)\n"
        "    data.get('key')\n"
        "    if exc.message == 'x':\n"
        "        pass\n"
    )
    calls = _calls(tree)
    assert sum(_is_select(c) for c in calls) == 1
    assert sum(_is_session_get(c) for c in calls) == 1
