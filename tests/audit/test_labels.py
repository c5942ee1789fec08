"""Every action the code writes to the audit log has a people-readable label (no raw code and
no "other action" on the auditor's page for what the application itself records)."""

from __future__ import annotations

import re
from pathlib import Path

from backend.audit.labels import KNOWN_ACTIONS, OTHER_ACTION, action_parts

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r'action="([a-z_]+\.[a-z_.]+)"')


def _written_actions() -> set[str]:
    found = set()
    for path in (ROOT / "backend").rglob("*.py"):
        found.update(LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_literal_action_has_a_label() -> None:
    actions = _written_actions()
    assert len(actions) > 50
    unlabelled = sorted(a for a in actions if OTHER_ACTION in action_parts(a))
    assert not unlabelled, unlabelled


def test_state_moves_and_partner_calls_have_labels() -> None:
    from backend.matches.models import MatchState
    from backend.needs.models import NeedState
    from backend.projects.models import ProjectState
    from backend.resources.models import ResourceState
    from backend.volunteering.models import HoursState

    for prefix, states in (
        ("need", NeedState),
        ("match", MatchState),
        ("project", ProjectState),
        ("resource", ResourceState),
        ("hours", HoursState),
    ):
        for state in states:
            assert OTHER_ACTION not in action_parts(f"{prefix}.{state.value}"), (prefix, state)
    assert action_parts("partner.needs") != action_parts("partner.needs.refused")
    assert all(OTHER_ACTION not in action_parts(a) for a in KNOWN_ACTIONS)
    assert action_parts("nothing.we_know") == (OTHER_ACTION, OTHER_ACTION)
