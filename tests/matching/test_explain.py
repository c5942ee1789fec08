from __future__ import annotations

import ast
import string
from pathlib import Path

from matching import RunConfig, i18n, run_matching
from matching.explain import render
from tests.matching.instances import PATHS, TODAY, need, offer, random_instance


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def _marked_messages() -> list[str]:
    source = Path(i18n.__file__).read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_":
            arg = node.args[0]
            assert isinstance(arg, ast.Constant)
            found.append(arg.value)
    return found


def test_every_marked_message_has_a_chinese_rendering_with_the_same_placeholders():
    marked = _marked_messages()
    assert len(marked) > 20
    for message in marked:
        assert message in i18n.ZH, message
        assert _placeholders(i18n.ZH[message]) == _placeholders(message), message
    assert i18n.N_("x") == "x"


def test_every_proposal_is_explained_and_renders():
    needs, offers = random_instance(2, n_needs=500, n_offers=50)
    result = run_matching(needs, offers, RunConfig(today=TODAY, per_household_cap=2))
    explanations = result.explanations()
    assert len(explanations) == len(result.proposals) > 50
    marked = set(_marked_messages())
    for proposal, explanation in zip(result.proposals, explanations, strict=True):
        assert (explanation.need_id, explanation.offer_id) == (
            proposal.need_id,
            proposal.offer_id,
        )
        assert all(msgid in marked for msgid, _ in explanation.items)
        english = render(explanation)
        chinese = render(explanation, i18n.zh)
        assert "{" not in english
        assert "{" not in chinese
        assert english != chinese
        assert f"proposed {proposal.quantity}" in english
        assert f"{proposal.score:.1f}" in english


def test_explanation_names_constraints_parts_and_runner_up():
    n = need(
        "n",
        urgency="high",
        vulnerability=0.9,
        waiting_days=60,
        categories=["dibao"],
        flags=["disabled"],
        path=PATHS[0],
    )
    local = offer(
        "local",
        category="voucher",
        area=(PATHS[0][4],),
        allowed=["dibao", "tekun"],
        flags=["disabled"],
        max_per_household=1,
        rating=5.0,
    )
    wide = offer("wide", category="food", area=("330000",), rating=1.0)
    result = run_matching([n], [local, wide], RunConfig(today=TODAY))
    assert [p.offer_id for p in result.proposals] == ["local"]
    explanation = result.explanation(0)
    msgids = [msgid for msgid, _ in explanation.items]
    assert i18n.CATEGORY_COMPAT in msgids
    assert (i18n.IN_AREA_LEVEL, {"level": "community"}) in explanation.items
    assert (
        i18n.ELIGIBLE_CATEGORIES,
        {"categories": {"zh": "低保", "en": "minimum living allowance"}},
    ) in explanation.items
    assert (
        i18n.ELIGIBLE_FLAGS,
        {"flags": {"zh": "有残疾成员", "en": "disabled member"}},
    ) in explanation.items
    assert (i18n.OFFER_LIMIT, {"limit": 1}) in explanation.items
    margin = 10.0 + 5.0  # community locality and rating 5, against province and rating 1
    beat = [params for msgid, params in explanation.reasons if msgid == i18n.BEAT]
    assert beat == [{"other_offer": {"zh": "wide", "en": "wide"}, "margin": margin}]
    # Top parts, largest first: urgency 24, vulnerability 22.5, waiting 10.
    parts = [msgid for msgid, _ in explanation.reasons[1:4]]
    assert parts == [i18n.PART_URGENCY, i18n.PART_VULNERABILITY, i18n.PART_WAITING]
    text = render(explanation, i18n.zh)
    assert "村（社区）级" in text
    assert "每份比wide高 15.0 分" in text


def test_loser_with_higher_score_is_reported_honestly():
    # The better offer for "n" is the only one the emergency need can use; "n" gets the other.
    e = need("e", category="medical", urgency="emergency", household="h1")
    n = need("n", category="food", household="h2", path=PATHS[0])
    best = offer("best", category="cash_grant", area=(PATHS[0][4],))
    other = offer("other", category="food", area=("330000",))
    result = run_matching([e, n], [best, other], RunConfig(today=TODAY))
    assert [(p.need_id, p.offer_id) for p in result.proposals] == [("e", "best"), ("n", "other")]
    explanation = result.explanation(1)
    lost = [p for m, p in explanation.reasons if m == i18n.LOST_CAPACITY]
    assert lost == [{"other_offer": {"zh": "best", "en": "best"}, "margin": 10.0}]
    only = run_matching([n], [other], RunConfig(today=TODAY)).explanation(0)
    assert (i18n.ONLY_CANDIDATE, {}) in only.reasons
