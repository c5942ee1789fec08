"""k-anonymity generalization of a household's published location and profile (rule 4).

Location levels, finest first: community → township → county → city. ``region_path`` is
(province, city, county, township, community); a level is identified by the path prefix, so
codes need not be globally unique.

Profile levels, finest first:

0. adults (14+) in 5-year age bands ("35–39", top band "80+"), members under 14 as "child";
   household-size band ("1", "2", "3–4", "5+"); flags
1. 10-year age bands ("30–39", top band "80+"), "child" as before
2. "child" (<14) / "adult" (14–59) / "elder" (60+)
3. ages dropped
4. household-size band dropped

Flags (disabled, veteran, …) gate resource eligibility and are never dropped by default; with
``drop_flags=True`` a final level 5 drops them too.

Order of generalization (privacy rule 4, "otherwise the location is raised one level"): at the
finest location, the profile is coarsened level by level; only if even the coarsest profile is
shared by fewer than k households is the location raised one level, and the profile starts again
from level 0. The first (location, profile) pair shared by at least k households in the
population is published. If none is, the coarsest pair at city level is returned with
``k_satisfied=False`` — the caller must not publish it without review.

Two sources of counts feed the same ladder: :class:`KAnonIndex` counts a population in memory
(one ``Counter`` per level, built lazily; the population should include the target itself),
and :class:`CountsIndex` reads the counters the database maintains per cell (:func:`cells`:
location prefix × profile level × profile key), so a publish reads a fixed handful of rows
whatever the city's size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["community", "township", "county", "city"]
LEVELS: tuple[Level, ...] = ("community", "township", "county", "city")
# index into region_path (province=0, city=1, county=2, township=3, community=4)
_PATH_INDEX: dict[Level, int] = {"community": 4, "township": 3, "county": 2, "city": 1}
PROFILE_LEVELS = 5  # 0..4; 5 = flags dropped (only with drop_flags=True)
CHILD_UNDER = 14
ELDER_FROM = 60
TOP_BAND = 80
DEFAULT_K = 5


@dataclass(frozen=True, slots=True)
class ProfileInput:
    region_path: tuple[str, ...]  # province, city, county, township, community
    ages: tuple[int, ...]  # one per member, including the head
    flags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.region_path) != 5:
            raise ValueError("region_path must be (province, city, county, township, community)")
        if not self.ages:
            raise ValueError("a household has at least one member")
        if any(a < 0 or a > 150 for a in self.ages):
            raise ValueError("ages must be within 0..150")


@dataclass(frozen=True, slots=True)
class GeneralizedProfile:
    region_code: str
    level: Level
    region_path: tuple[str, ...]  # the published prefix of the input path
    age_bands: tuple[str, ...]  # sorted; empty when ages are dropped
    size_band: str | None
    flags: tuple[str, ...]  # sorted; empty when dropped
    profile_level: int
    shared_by: int
    k: int
    k_satisfied: bool


def household_profile(region_path: str, ages: Sequence[int], flags: Sequence[str]) -> ProfileInput:
    """A household's input from its region's dot-joined path. A household registered at
    township level repeats the township code as its community, so the finest level is whatever
    depth exists; a household without recorded ages counts as one adult of 40."""
    parts = region_path.split(".")
    while len(parts) < 5:
        parts.append(parts[-1])
    return ProfileInput(tuple(parts[:5]), tuple(ages) or (40,), frozenset(flags))


def age_band(age: int, profile_level: int) -> str:
    """The published band of one age at a profile level (0, 1 or 2)."""
    if age < CHILD_UNDER:
        return "child"
    if profile_level == 2:
        return "elder" if age >= ELDER_FROM else "adult"
    width = 5 if profile_level == 0 else 10
    if age >= TOP_BAND:
        return f"{TOP_BAND}+"
    low = age // width * width
    return f"{low}–{low + width - 1}"


def size_band(size: int) -> str:
    if size <= 1:
        return "1"
    if size == 2:
        return "2"
    if size <= 4:
        return "3–4"
    return "5+"


def _profile_key(
    p: ProfileInput, profile_level: int
) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    bands = tuple(sorted(age_band(a, profile_level) for a in p.ages)) if profile_level <= 2 else ()
    size = size_band(len(p.ages)) if profile_level <= 3 else None
    flags = tuple(sorted(p.flags)) if profile_level <= 4 else ()
    return bands, size, flags


def _key(p: ProfileInput, level: Level, profile_level: int) -> Hashable:
    return (p.region_path[: _PATH_INDEX[level] + 1], _profile_key(p, profile_level))


def _ladder(drop_flags: bool) -> list[tuple[Level, int]]:
    top = PROFILE_LEVELS if drop_flags else PROFILE_LEVELS - 1
    return [(lv, pl) for lv in LEVELS for pl in range(top + 1)]


class _Counting:
    """The generalization ladder over any source of group counts."""

    def count(self, target: ProfileInput, level: Level, profile_level: int) -> int:
        raise NotImplementedError

    def generalize(
        self, target: ProfileInput, k: int = DEFAULT_K, *, drop_flags: bool = False
    ) -> GeneralizedProfile:
        if k < 1:
            raise ValueError("k must be at least 1")
        ladder = _ladder(drop_flags)
        for level, profile_level in ladder:
            shared = self.count(target, level, profile_level)
            if shared >= k:
                return _result(target, level, profile_level, shared, k, satisfied=True)
        level, profile_level = ladder[-1]
        shared = self.count(target, level, profile_level)
        return _result(target, level, profile_level, shared, k, satisfied=False)


class KAnonIndex(_Counting):
    """Group counts over a population, computed once per (location, profile) level."""

    def __init__(self, population: Sequence[ProfileInput]) -> None:
        self._population = population
        self._counts: dict[tuple[Level, int], Counter[Hashable]] = {}

    def count(self, target: ProfileInput, level: Level, profile_level: int) -> int:
        counter = self._counts.get((level, profile_level))
        if counter is None:
            counter = Counter(_key(p, level, profile_level) for p in self._population)
            self._counts[(level, profile_level)] = counter
        return counter[_key(target, level, profile_level)]


# ---------------------------------------------------------------- maintained counters
#
# Instead of counting a whole city's population at every publish, the database keeps one
# counter per cell: (location prefix, profile level, profile key). Each household adds 1 to
# each of its len(LEVELS) * (PROFILE_LEVELS + 1) cells; a publish reads just those cells.

Cell = tuple[str, int, str]  # (dot-joined location prefix, profile level, profile key)


def _profile_text(key: tuple[tuple[str, ...], str | None, tuple[str, ...]]) -> str:
    bands, size, flags = key
    return "|".join((",".join(bands), size or "", ",".join(flags)))


def cell(target: ProfileInput, level: Level, profile_level: int) -> Cell:
    prefix = ".".join(target.region_path[: _PATH_INDEX[level] + 1])
    return prefix, profile_level, _profile_text(_profile_key(target, profile_level))


def cells(target: ProfileInput) -> list[Cell]:
    """Every cell the household counts in (all location levels, all profile levels)."""
    return [cell(target, lv, pl) for lv in LEVELS for pl in range(PROFILE_LEVELS + 1)]


class CountsIndex(_Counting):
    """Generalization over counts read from maintained counters (missing cells count 0)."""

    def __init__(self, counts: dict[Cell, int]) -> None:
        self._counts = counts

    def count(self, target: ProfileInput, level: Level, profile_level: int) -> int:
        return self._counts.get(cell(target, level, profile_level), 0)


def _result(
    target: ProfileInput, level: Level, profile_level: int, shared: int, k: int, *, satisfied: bool
) -> GeneralizedProfile:
    bands, size, flags = _profile_key(target, profile_level)
    path = target.region_path[: _PATH_INDEX[level] + 1]
    return GeneralizedProfile(
        region_code=path[-1],
        level=level,
        region_path=path,
        age_bands=bands,
        size_band=size,
        flags=flags,
        profile_level=profile_level,
        shared_by=shared,
        k=k,
        k_satisfied=satisfied,
    )


def generalize(
    target: ProfileInput,
    population: Sequence[ProfileInput],
    k: int = DEFAULT_K,
    *,
    drop_flags: bool = False,
) -> GeneralizedProfile:
    """Generalize ``target`` until at least ``k`` households of ``population`` share it.

    For many targets over the same population, build one :class:`KAnonIndex` instead.
    """
    return KAnonIndex(population).generalize(target, k, drop_flags=drop_flags)


def matches(published: GeneralizedProfile, household: ProfileInput) -> bool:
    """Whether ``household`` would be described by ``published``."""
    if household.region_path[: len(published.region_path)] != published.region_path:
        return False
    return _profile_key(household, published.profile_level) == (
        published.age_bands,
        published.size_band,
        published.flags,
    )


def count_sharing(published: GeneralizedProfile, population: Sequence[ProfileInput]) -> int:
    """How many households of ``population`` the published description fits."""
    return sum(1 for p in population if matches(published, p))
