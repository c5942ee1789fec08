"""Property: the maintained k-anonymity counters always equal a recount of the households.

Random sequences of registrations and updates (through the households service: region moves,
new member ages, new flags), households leaving and coming back, and deletions (plain ORM
writes, which the flush listener counts as well). After every sequence the counters equal a
recount of every active household's cells, and publishing reads the same generalization as
the in-memory index over the city's population.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.accounts.service import load_current_user
from backend.households import repository as repo
from backend.households import service as hs
from backend.households.models import Household, HouseholdStatus
from backend.households.schemas import HouseholdIn
from backend.needs import service as needs
from backend.privacy.kanon import Cell, KAnonIndex, cells
from tests.households.factories import fake_id

REGIONS = ("330106002", "330106004", "330106009", "330106004053", "330106009006", "330106109")
FLAGS = ("disabled", "seriously_ill", "veteran", "union_hardship")
OPS = ("register", "register", "register", "update", "update", "leave", "return", "delete")

ages_st = st.lists(st.integers(0, 100), min_size=1, max_size=5)
op_st = st.tuples(
    st.sampled_from(OPS),
    st.integers(0, 1000),
    st.sampled_from(REGIONS),
    ages_st,
    st.lists(st.sampled_from(FLAGS), max_size=2, unique=True),
)


async def _recount(db: Any) -> Counter[Cell]:
    expected: Counter[Cell] = Counter()
    for path, ages, flags in await repo.population(db, "330000"):
        expected.update(cells(needs.profile_input(path, ages, flags)))
    return expected


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op_st, min_size=1, max_size=12))
async def test_counters_equal_a_recount(
    db: Any, demo: dict[str, Any], ops: list[tuple[str, int, str, list[int], list[str]]]
) -> None:
    user = await load_current_user(db, demo["caseworker"])
    mine: list[uuid.UUID] = []
    savepoint = await db.begin_nested()  # each example starts from the same database
    # Compared as changes: rows other tests committed (some written in bulk, some by the live
    # server's worker while this runs) must not decide the outcome.
    counts_before = Counter(await repo.all_kanon_counts(db))
    recount_before = await _recount(db)
    try:
        for op, pick, region, ages, flags in ops:
            data = HouseholdIn(
                head_name="测试户主",
                id_number=fake_id("330106"),
                region_code=region,
                category="dibao",
                member_ages=ages,
                flags=flags,
            )
            if op == "register" or not mine:
                mine.append((await hs.register(db, user, data)).id)
                continue
            household_id = mine[pick % len(mine)]
            household = await db.get(Household, household_id)
            if op == "update":
                data.id_number = hs._dec("id_number", household.id_number_enc)
                await hs.update(db, user, household_id, data)
            elif op == "leave":
                household.status = HouseholdStatus.LEFT
            elif op == "return":
                household.status = HouseholdStatus.ACTIVE
            else:
                await db.delete(household)
                mine.remove(household_id)
            await db.flush()
        counts_after = Counter(await repo.all_kanon_counts(db))
        recount_after = await _recount(db)
        counted = {c: counts_after[c] - counts_before[c] for c in counts_after | counts_before}
        recounted = {
            c: recount_after[c] - recount_before[c] for c in recount_after | recount_before
        }
        assert {c: d for c, d in counted.items() if d} == {c: d for c, d in recounted.items() if d}
    finally:
        await savepoint.rollback()


async def test_publish_generalizes_as_the_in_memory_index(db: Any, demo: dict[str, Any]) -> None:
    """The counters give the same answer as counting the city's population in memory."""
    user = await load_current_user(db, demo["caseworker"])
    rng = random.Random(7)
    registered = []
    for n in range(40):
        ages = [rng.randint(20, 90) for _ in range(rng.randint(1, 3))]
        data = HouseholdIn(
            head_name="测试户主",
            id_number=fake_id("330106"),
            region_code=REGIONS[n % len(REGIONS)],
            category="dibao",
            member_ages=ages,
            flags=["disabled"] if n % 9 == 0 else [],
        )
        registered.append(await hs.register(db, user, data))
    population = [
        needs.profile_input(p, a, f) for p, a, f in await repo.population(db, "330000.330100")
    ]
    index = KAnonIndex(population)
    for household in registered:
        _, path = await hs.household_for(db, user, household.id)
        target = needs.profile_input(path, household.member_ages, household.flags)
        expected = index.generalize(target, 5)
        if not expected.k_satisfied:
            expected = index.generalize(target, 5, drop_flags=True)
        assert await needs.generalize(db, household, path, 5) == expected
