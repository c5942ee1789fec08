"""``tongxin match``: one county's or every county's matching run, now, in this process.

The same service calls as the worker's ``run_matching`` job: ``request_run`` records the
request (audited; the CLI's session has no job queue, so nothing is enqueued) and returns the
county's queued run if a coordinator already asked for one; ``run_county`` stores the proposals
for review. A county whose run is already running elsewhere is reported and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.core.db import make_engine, make_sessionmaker, unit_of_work, utcnow
from backend.core.errors import NotFound
from backend.matches import repository as match_repo
from backend.matches import service as match_service
from backend.matches.models import RunState
from backend.ops import OpsError


@dataclass(frozen=True)
class CountyResult:
    county: str
    run_id: str | None
    stats: dict[str, Any]
    skipped: str = ""

    def line(self) -> str:
        if self.skipped:
            return f"  {self.county}: skipped ({self.skipped})"
        s = self.stats
        return (
            f"  {self.county}: {s['proposals']} proposals ({s['needs']} needs, "
            f"{s['offers']} offers, {s['superseded']} replaced), run {self.run_id}"
        )


async def _one(sessionmaker: Any, county: str) -> CountyResult:
    async with unit_of_work(sessionmaker) as session:
        try:
            requested = await match_service.request_run(session, None, county)
        except NotFound as exc:
            raise OpsError(f"{county} is not a county code", exit_code=2) from exc
        run = await match_repo.run_for_update(session, requested.id)
        if run is None or run.state == RunState.RUNNING:
            return CountyResult(county, str(requested.id), {}, skipped="a run is in progress")
        run.state = RunState.RUNNING
        run.started_at = utcnow()
        run.progress = 10
        stats = await match_service.run_county(session, run)
        return CountyResult(county, str(run.id), stats)


async def match_counties(database_url: str, county: str | None) -> list[CountyResult]:
    """Run ``county`` (a county code), or every county the nightly schedule would run."""
    engine = make_engine(database_url, pool_size=2)
    try:
        sessionmaker = make_sessionmaker(engine)
        if county is not None:
            return [await _one(sessionmaker, county)]
        async with sessionmaker() as session:
            counties = sorted(await match_repo.nightly_counties(session))
        return [await _one(sessionmaker, code) for code in counties]
    finally:
        await engine.dispose()


def summary(results: list[CountyResult]) -> str:
    ran = [r for r in results if not r.skipped]
    proposals = sum(int(r.stats["proposals"]) for r in ran)
    needs = sum(int(r.stats["needs"]) for r in ran)
    skipped = len(results) - len(ran)
    counties = "1 county" if len(ran) == 1 else f"{len(ran)} counties"
    text = f"matching: {proposals} proposals for {needs} needs in {counties}"
    return text + (f" ({skipped} skipped: a run was in progress)" if skipped else "")
