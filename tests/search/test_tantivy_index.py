"""The embedded engine's own index: schema versions, the missing-value sentinel, payloads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_search_engines import SMALL, doc

from backend.config import Settings
from backend.search import SearchQuery
from backend.search.provider import index_needs_rebuild
from backend.search.tantivy_engine import TantivyEngine, index_is_current


async def test_an_index_of_another_schema_version_is_reported_and_started_afresh(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index"
    assert not index_is_current(path)
    engine = TantivyEngine(path)
    await engine.upsert(SMALL)
    assert index_is_current(path)
    await engine.close()

    (path / "tongxin-schema-version").write_text("0")
    assert not index_is_current(path)
    reopened = TantivyEngine(path)  # the old files are removed, not opened with the new schema
    assert index_is_current(path)
    assert await reopened.get_ids() == set()  # emptied: `tongxin run` rebuilds it
    await reopened.upsert(SMALL)
    await reopened.close()

    (path / "tongxin-schema-version").unlink()  # an index from before versions were stamped
    assert not index_is_current(path)
    assert await TantivyEngine(path).get_ids() == set()


def test_only_a_missing_or_stale_embedded_index_needs_a_rebuild(tmp_path: Path) -> None:
    settings = Settings.from_env(var_dir=tmp_path)
    assert index_needs_rebuild(settings)
    TantivyEngine(tmp_path / "search")
    assert not index_needs_rebuild(settings)
    meili = Settings.from_env(var_dir=tmp_path / "elsewhere", search_engine="meili")
    assert not index_needs_rebuild(meili)


async def test_missing_values_are_neither_facets_nor_filterable(tmp_path: Path) -> None:
    engine = TantivyEngine(tmp_path / "index")
    bare = doc(90, "无机构的需求", urgency=None, org_type=None)
    await engine.upsert([*SMALL, bare])
    res = await engine.search(SearchQuery())
    assert "_" not in res.facets["urgency"] and "_" not in res.facets["org_type"]
    assert sum(res.facets["urgency"].values()) == sum(1 for d in [*SMALL, bare] if d.urgency)
    assert res.total == len(SMALL) + 1
    assert (await engine.search(SearchQuery(org_types=("_",)))).total == 0
    assert (await engine.search(SearchQuery(urgencies=(), org_types=("_", "charity")))).total == (
        sum(1 for d in SMALL if d.org_type == "charity")
    )
    await engine.close()


async def test_payload_round_trips_text_with_separators_and_quotes(tmp_path: Path) -> None:
    engine = TantivyEngine(tmp_path / "index")
    tricky = doc(91, 'A "quoted" title\twith tabs', 'body with \\ and \n lines and "quotes"')
    await engine.upsert([tricky])
    hit = (await engine.search(SearchQuery(text="quoted"))).hits[0]
    assert hit.id == tricky.id and hit.title == tricky.title
    assert "lines" in hit.snippet_html
    await engine.close()


def test_documents_refuse_nul_characters() -> None:
    with pytest.raises(ValueError, match="NUL"):
        replace(SMALL[0], body="a\x00b")
