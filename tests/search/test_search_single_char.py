"""Search finds what a search box should: single Chinese characters, category names; each
result line shows its kind, region, deadline or amount and urgency (issue 20, point 2)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from backend.audit.service import Actor
from backend.core.db import utcnow
from backend.needs.models import NeedState, Urgency
from backend.needs.states import transition
from backend.search import analysis
from tests.helpers import drain_outbox
from tests.search.listings import ensure_categories, make_household, make_need


async def _published(runtime: Any, demo: dict[str, Any], title: str, **extra: Any) -> str:
    actor = Actor(kind="user", id=demo["caseworker"], role="caseworker")
    columns = {k: extra.pop(k) for k in ("deadline", "amount_fen", "urgency") if k in extra}
    async with runtime.transaction() as session:
        await ensure_categories(session)
        need = await make_need(
            session, demo, await make_household(session, demo), title=title, **extra
        )
        for key, value in columns.items():
            setattr(need, key, value)
        await transition(session, need, NeedState.PUBLISHED, actor=actor)
    await drain_outbox(runtime)
    return str(need.id)


def test_ngrams_cover_every_character_and_pair() -> None:
    assert analysis.cjk_ngrams("买大米 rice 面") == ["买", "买大", "大", "大米", "米", "面"]
    assert analysis.is_short_cjk("米")
    assert analysis.is_short_cjk("大米")
    assert not analysis.is_short_cjk("独居老人")
    assert not analysis.is_short_cjk("ab")


async def test_a_single_character_finds_a_rice_need(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    marker = uuid.uuid4().hex[:6]
    need_id = await _published(
        runtime, demo, f"独居老人冬季需要大米 {marker}", body="每月两袋", category="food"
    )
    # jieba keeps 大米 as one word: the character alone must still match
    assert "米" not in analysis.index_tokens("独居老人冬季需要大米")
    api = await client.get("/api/v1/search", params={"q": "米", "kind": "need"})
    assert api.status_code == 200
    hit = next(h for h in api.json()["hits"] if h["id"] == need_id)
    assert "<mark>米</mark>" in hit["title_html"]
    page = await client.get("/search", params={"q": "米"})
    assert page.status_code == 200
    assert need_id in page.text
    # a character in no listing still finds nothing
    none = await client.get("/api/v1/search", params={"q": "鑫", "kind": "need"})
    assert need_id not in [h["id"] for h in none.json()["hits"]]


async def test_a_category_name_finds_its_listings(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    marker = uuid.uuid4().hex[:6]
    need_id = await _published(
        runtime,
        demo,
        f"初三学生的学费与校服 {marker}",
        body="孩子成绩很好",
        category="education",
    )
    for words in ("助学", "Education", f"助学 {marker}"):
        api = await client.get("/api/v1/search", params={"q": words})
        assert need_id in [h["id"] for h in api.json()["hits"]], words
    other = await client.get("/api/v1/search", params={"q": f"住房 {marker}"})
    assert need_id not in [h["id"] for h in other.json()["hits"]]


async def test_result_lines_show_region_deadline_amount_and_urgency(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    marker = uuid.uuid4().hex[:6]
    deadline = (utcnow() + timedelta(days=40)).date()
    need_id = await _published(
        runtime,
        demo,
        f"为残疾老人购买轮椅 {marker}",
        category="education",
        deadline=deadline,
        amount_fen=123456,
        urgency=Urgency.EMERGENCY,
    )
    api = await client.get("/api/v1/search", params={"q": marker})
    assert [h["id"] for h in api.json()["hits"]] == [need_id]
    page = await client.get(
        "/search", params={"q": marker}, headers={"hx-request": "true", "cookie": "tx_lang=zh_CN"}
    )
    assert page.status_code == 200
    line = page.text[page.text.index("hit-need") :]
    line = line[: line.index("</li>")]
    assert "西湖区" in line  # the generalized public region, by name, never its code
    assert "330106" not in line
    assert deadline.isoformat() in line
    assert "¥1,234.56" in line
    assert "紧急程度：紧急" in line
    assert "助学" in line  # the category, by name
    english = await client.get(
        "/search", params={"q": marker}, headers={"hx-request": "true", "cookie": "tx_lang=en"}
    )
    assert "Urgency: Emergency" in english.text
    assert "Education" in english.text
