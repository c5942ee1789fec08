"""Linking a need to a project: a search picker by title (no pasted ids), scoped to what the
member may link: published needs of the project's region not linked to another project."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.accounts.service import load_current_user
from backend.core.errors import NotFound
from backend.demo.organizations import make_household, make_published_need
from backend.needs.models import Need
from backend.projects import service
from backend.projects.models import Project, ProjectNeed, ProjectState
from backend.regions.models import Region
from tests.helpers import post_form, sign_in_as


async def _region_path(db: Any, code: str) -> str:
    return str(await db.scalar(select(Region.path).where(Region.code == code)))


async def test_candidates_are_scoped_and_searched_by_title(db: Any, demo: dict[str, Any]) -> None:
    member = await load_current_user(db, demo["org_member"])
    outsider = await load_current_user(db, demo["union_admin"])
    assert member and outsider
    nest = await db.get(Project, demo["project:nest"])
    found = await service.need_candidates(db, member, nest.id)
    assert found, "the demo has published needs in 西湖区"
    linked = set((await db.scalars(select(ProjectNeed.need_id))).all())
    project_path = await _region_path(db, nest.region_code)
    for summary in found:
        need = await db.get(Need, summary.id)
        assert need.state in service.LINKABLE_NEED_STATES
        assert need.hidden_reason is None
        assert need.id not in linked  # one plan per household: linked needs are not offered
        path = await _region_path(db, need.region_code)
        assert path == project_path or path.startswith(project_path + ".")
        assert summary.region_code == (need.public_region_code or need.region_code[:6])

    # Search by a part of a title: only titles containing it.
    title = found[0].title
    part = title[1:3] if len(title) > 3 else title
    searched = await service.need_candidates(db, member, nest.id, f"  {part} ")
    assert searched and all(part in s.title for s in searched)
    assert found[0].id in {s.id for s in searched}
    assert await service.need_candidates(db, member, nest.id, "不存在的需求标题xyz") == []
    # LIKE wildcards are text, not patterns.
    assert await service.need_candidates(db, member, nest.id, "%") == []

    with pytest.raises(NotFound):  # not a member of the project's organization
        await service.need_candidates(db, outsider, nest.id)
    nest.state = ProjectState.COMPLETED
    await db.flush()
    assert await service.need_candidates(db, member, nest.id) == []  # takes no more needs


async def _fresh_project_and_need(runtime: Any, demo: dict[str, Any]) -> tuple[Project, Need]:
    """A fundraising project of the charity and a published need with a unique title, both
    committed (the demo's own projects and needs stay as they are for other tests)."""
    tag = uuid.uuid4().hex[:6]
    async with runtime.transaction() as session:
        household = await make_household(session, registered_by=demo["caseworker"])
        need = await make_published_need(
            session,
            household=household,
            created_by=demo["caseworker"],
            title=f"选择器测试轮椅{tag}",
            quantity=1,
            unit="辆",
        )
        project = Project(
            id=uuid.uuid4(),
            organization_id=demo["org:charity"],
            title=f"选择器测试项目{tag}",
            category="housing_repair",
            region_code="330106",
            target_fen=100_000,
            state=ProjectState.FUNDRAISING,
            created_by=demo["org_member"],
        )
        session.add(project)
    return project, need


async def test_picker_pages_and_linking(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    project, need = await _fresh_project_and_need(runtime, demo)
    anonymous = await client.get(f"/projects/{project.id}")
    assert "need-candidates" not in anonymous.text  # members only
    await sign_in_as(client, runtime, demo["org_member"])
    page = await client.get(f"/projects/{project.id}")
    assert page.status_code == 200
    assert 'id="f-need-q"' in page.text
    assert 'name="need_id"' in page.text and 'type="radio"' in page.text
    assert 'id="f-need_id"' not in page.text  # no more typing an id

    url = f"/projects/{project.id}/needs/candidates"
    fragment = await client.get(url, params={"q": need.title[-9:]}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="need-candidates"')
    assert str(need.id) in fragment.text and need.title in fragment.text
    assert "<html" not in fragment.text
    full = await client.get(url, params={"q": need.title})
    assert "<html" in full.text and str(need.id) in full.text  # works without JavaScript
    none = await client.get(url, params={"q": "无此标题"}, headers={"HX-Request": "true"})
    assert "无此标题" in none.text and 'name="need_id"' not in none.text

    missing = await post_form(client, f"/projects/{project.id}/needs", {"plan": "配一辆轮椅"})
    assert missing.status_code == 422
    assert "请选择要关联的需求" in missing.text
    linked = await post_form(
        client, f"/projects/{project.id}/needs", {"need_id": str(need.id), "plan": "配一辆轮椅。"}
    )
    assert linked.status_code == 303
    after = await client.get(url, params={"q": need.title}, headers={"HX-Request": "true"})
    assert str(need.id) not in after.text  # linked: no longer offered
