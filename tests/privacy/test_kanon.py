import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.privacy.kanon import (
    LEVELS,
    KAnonIndex,
    ProfileInput,
    age_band,
    count_sharing,
    generalize,
    matches,
    size_band,
)

FLAGS = ["disabled", "seriously_ill", "elderly", "veteran", "union_member"]


def household(
    path: tuple[str, ...], ages: tuple[int, ...], flags: tuple[str, ...] = ()
) -> ProfileInput:
    return ProfileInput(region_path=path, ages=ages, flags=frozenset(flags))


def path(county: int, township: int, community: int) -> tuple[str, ...]:
    return (
        "33",
        "3301",
        f"33010{county}",
        f"t{county}-{township}",
        f"c{county}-{township}-{community}",
    )


def test_bands() -> None:
    assert age_band(3, 0) == "child"
    assert age_band(13, 1) == "child"
    assert age_band(14, 0) == "10–14"
    assert age_band(37, 0) == "35–39"
    assert age_band(37, 1) == "30–39"
    assert age_band(37, 2) == "adult"
    assert age_band(60, 2) == "elder"
    assert age_band(91, 0) == "80+"
    assert [size_band(n) for n in (1, 2, 3, 4, 5, 9)] == ["1", "2", "3–4", "3–4", "5+", "5+"]


def test_finest_level_when_community_is_large_enough() -> None:
    pop = [household(path(1, 1, 1), (36, 38, 8)) for _ in range(5)]
    result = generalize(pop[0], pop)
    assert result.level == "community"
    assert result.profile_level == 0
    assert result.age_bands == ("35–39", "35–39", "child")
    assert result.size_band == "3–4"
    assert result.shared_by == 5
    assert result.k_satisfied


def test_profile_coarsened_before_location_is_raised() -> None:
    target = household(path(1, 1, 1), (36, 8))
    others = [household(path(1, 1, 1), (31 + i, 3)) for i in range(4)]
    result = generalize(target, [target, *others])
    # 5-year bands differ, 10-year bands "30–39" + child are shared by all five
    assert (result.level, result.profile_level) == ("community", 1)
    assert result.age_bands == ("30–39", "child")


def test_location_raised_when_community_too_small() -> None:
    target = household(path(1, 1, 1), (70,), ("disabled",))
    pop = [target] + [household(path(1, 1, c), (70,), ("disabled",)) for c in range(2, 6)]
    result = generalize(target, pop)
    assert result.level == "township"
    assert result.region_code == "t1-1"
    assert result.profile_level == 0
    assert result.flags == ("disabled",)


def test_top_level_flagged_when_k_unreachable() -> None:
    target = household(path(1, 1, 1), (70,), ("veteran",))
    pop = [target, household(path(2, 1, 1), (70,), ("veteran",))]
    result = generalize(target, pop)
    assert result.level == "city"
    assert not result.k_satisfied
    assert result.shared_by == 2
    dropped = generalize(target, pop + [household(path(3, 1, 1), (5,))] * 3, drop_flags=True)
    assert dropped.k_satisfied
    assert dropped.flags == ()
    assert dropped.profile_level == 5


def test_k_must_be_positive() -> None:
    target = household(path(1, 1, 1), (30,))
    with pytest.raises(ValueError):
        generalize(target, [target], k=0)
    with pytest.raises(ValueError):
        ProfileInput(region_path=("33",), ages=(30,))
    with pytest.raises(ValueError):
        ProfileInput(region_path=path(1, 1, 1), ages=())


ages_st = st.lists(st.integers(0, 99), min_size=1, max_size=7).map(tuple)
household_st = st.builds(
    household,
    st.builds(path, st.integers(1, 2), st.integers(1, 2), st.integers(1, 3)),
    ages_st,
    st.lists(st.sampled_from(FLAGS), max_size=2).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(pop=st.lists(household_st, min_size=1, max_size=40), k=st.integers(1, 8), data=st.data())
def test_properties(pop: list[ProfileInput], k: int, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(pop))
    result = generalize(target, pop, k)
    # 1. shared by at least k, or at the top level with k_satisfied False
    assert result.shared_by == count_sharing(result, pop)
    if result.k_satisfied:
        assert result.shared_by >= k
    else:
        assert result.level == LEVELS[-1]
        assert result.shared_by < k
    # 2. never finer than the input: the published description fits the target itself
    assert matches(result, target)
    assert target.region_path[: len(result.region_path)] == result.region_path
    assert result.region_code == result.region_path[-1]
    assert len(result.age_bands) in (0, len(target.ages))
    # 3. minimality: no earlier rung of the ladder would have reached k
    index = KAnonIndex(pop)
    rungs = [(lv, pl) for lv in LEVELS for pl in range(5)]
    for lv, pl in rungs[: rungs.index((result.level, result.profile_level))]:
        assert index.count(target, lv, pl) < k


def test_ten_thousand_households_fast() -> None:
    rng = random.Random(5)
    pop = [
        household(
            path(rng.randint(1, 5), rng.randint(1, 8), rng.randint(1, 12)),
            tuple(rng.randint(0, 95) for _ in range(rng.randint(1, 6))),
            tuple(rng.sample(FLAGS, rng.randint(0, 2))),
        )
        for _ in range(10_000)
    ]
    t0 = time.perf_counter()
    index = KAnonIndex(pop)
    results = [index.generalize(h) for h in pop[:2000]]
    elapsed = time.perf_counter() - t0
    print(f"\nk-anon: 2000 households over a population of 10000 in {elapsed:.2f}s")
    assert all(r.k_satisfied or r.level == "city" for r in results)
    assert elapsed < 20
