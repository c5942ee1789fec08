"""Item kinds: the second level of the taxonomy (category -> item kind), units and inference.

The taxonomy is data: ``matching/data/items.csv`` (one row per kind: category, code, Chinese
and English name, synonyms, units, the kinds it may substitute for), extended per county by
plain rows handed in by the caller (:meth:`Taxonomy.extended`). Nothing here touches a
database.

Units. A kind lists its usual units with an integer factor in the kind's *base unit* (件 when
the kind has ``件=1``, the common unit of counted things, else the first unit with factor 1): ``斤=1;kg=2;吨=2000`` makes 1 kg = 2 斤. A factor of ``0``
marks a usual unit of unknown size (a 袋 of rice): it is recognised in titles but converts
only to itself. Units are compared after :func:`normalize_unit` (公斤/千克/KG → kg). A
quantity's *unit group* is the kind's base unit when its unit converts, else the unit itself;
two quantities convert into each other exactly when their groups are equal.

Substitution. ``substitutes`` lists need kinds an offer of this kind may also serve (a 助行器
may serve a 拐杖 need, never a 轮椅 need). It is one-directional and not transitive.

Inference. :func:`Taxonomy.infer` finds the kind of a typed title ("轮椅一台", "冬季棉被 100
条"): every name and synonym found in the text counts, longer (more specific) ones first;
tokens produced by jieba (``rjieba``) that equal a name count double. It proposes the unit and
quantity written next to a number, and says whether it is sure (one kind clearly ahead).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources

import rjieba

#: Spellings of one unit (after lower-casing ASCII).
UNIT_ALIASES: dict[str, str] = {
    "公斤": "kg",
    "千克": "kg",
    "kgs": "kg",
    "升": "L",
    "l": "L",
    "公升": "L",
    "钟头": "小时",
    "h": "小时",
    "hour": "小时",
    "hours": "小时",
    "人": "人次",
    "yuan": "元",
    "块钱": "元",
}

#: The base unit of counted things: kinds with ``件=1`` convert their pieces through it.
COUNT_UNIT = "件"

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUMBER = r"(\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)"


def normalize_unit(unit: str) -> str:
    """Canonical spelling of a unit ("公斤" → "kg", " KG " → "kg", "" stays "")."""
    u = unit.strip()
    low = u.lower()
    if low in UNIT_ALIASES:
        return UNIT_ALIASES[low]
    if u in UNIT_ALIASES:
        return UNIT_ALIASES[u]
    return low if low.isascii() and low != "l" else u


def cn_number(text: str) -> int | None:
    """Parse "12", "两", "十五", "三百" (whole numbers only); ``None`` when not a number."""
    if not text:
        return None
    if text[0].isdigit():
        try:
            return int(float(text))
        except ValueError:
            return None
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
        else:
            return None
    return total + current


@dataclass(frozen=True, slots=True)
class ItemKind:
    """One item kind. ``units`` maps unit → factor in the base unit (0: recognised only)."""

    code: str
    category: str
    zh: str
    en: str
    synonyms: tuple[str, ...] = ()
    units: Mapping[str, int] = field(default_factory=dict)
    substitutes: frozenset[str] = frozenset()
    county: str | None = None

    @property
    def base_unit(self) -> str:
        """件 when the kind counts pieces (so counted kinds convert into each other for
        substitution), else the first unit with factor 1."""
        if self.units.get(COUNT_UNIT) == 1:
            return COUNT_UNIT
        return next((u for u, f in self.units.items() if f == 1), "")

    @property
    def default_unit(self) -> str:
        return next(iter(self.units), "")

    def name(self, locale: str) -> str:
        return self.en if locale.startswith("en") else self.zh


@dataclass(frozen=True, slots=True)
class Inference:
    """What a title says: kind (or ``None``), unit and quantity if written, and how sure."""

    kind: str | None
    unit: str | None
    quantity: int | None
    sure: bool
    alternatives: tuple[str, ...] = ()


def _parse_units(text: str) -> dict[str, int]:
    units: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, factor = part.partition("=")
        units[normalize_unit(name)] = int(factor or "1")
    return units


def _split(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split("|") if s.strip())


def parse_rows(rows: Iterable[Mapping[str, str]], county: str | None = None) -> list[ItemKind]:
    """Item kinds from CSV-like rows (columns as in ``items.csv``)."""
    return [
        ItemKind(
            code=row["code"].strip(),
            category=row["category"].strip(),
            zh=row["zh"].strip(),
            en=row["en"].strip(),
            synonyms=_split(row.get("synonyms") or ""),
            units=_parse_units(row.get("units") or ""),
            substitutes=frozenset(_split(row.get("substitutes") or "")),
            county=county,
        )
        for row in rows
        if row.get("code", "").strip()
    ]


class Taxonomy:
    """All item kinds by code, with name lookups for inference (immutable)."""

    def __init__(self, kinds: Iterable[ItemKind]) -> None:
        self.kinds: dict[str, ItemKind] = {}
        for kind in kinds:
            if kind.code in self.kinds:
                msg = f"item kind {kind.code!r} defined twice"
                raise ValueError(msg)
            self.kinds[kind.code] = kind
        self._unit_cache: dict[tuple[str | None, str], tuple[str, int]] = {}
        unknown = {s for k in self.kinds.values() for s in k.substitutes if s not in self.kinds}
        if unknown:
            msg = f"unknown substitute kinds: {sorted(unknown)}"
            raise ValueError(msg)

    def __contains__(self, code: object) -> bool:
        return code in self.kinds

    def __len__(self) -> int:
        return len(self.kinds)

    def get(self, code: str | None) -> ItemKind | None:
        return self.kinds.get(code) if code else None

    def extended(self, rows: Iterable[Mapping[str, str]], county: str) -> Taxonomy:
        """This taxonomy plus a county's own kinds (codes must be new)."""
        return Taxonomy([*self.kinds.values(), *parse_rows(rows, county)])

    def categories(self) -> list[str]:
        return sorted({k.category for k in self.kinds.values()})

    def in_category(self, category: str) -> list[ItemKind]:
        return [k for k in self.kinds.values() if k.category == category]

    # ------------------------------------------------------------ substitution and units

    def serves(self, offer_kind: str) -> frozenset[str]:
        """Need kinds an offer of ``offer_kind`` may serve (itself and its substitutes)."""
        kind = self.kinds.get(offer_kind)
        return frozenset({offer_kind}) | (kind.substitutes if kind else frozenset())

    def can_serve(self, offer_kind: str, need_kind: str) -> bool:
        return need_kind in self.serves(offer_kind)

    def unit_of(self, kind_code: str | None, unit: str) -> tuple[str, int]:
        """(unit group, factor to that group) of a quantity of ``kind_code`` in ``unit``.

        An empty unit means the kind's default unit. Units of unknown size form their own
        group with factor 1 (they convert only to themselves). Without a known kind the group
        is ``""``: unclassified rows are matched by category alone, as before item kinds.
        """
        key = (kind_code, unit)
        found = self._unit_cache.get(key)
        if found is None:
            found = self._unit_cache[key] = self._unit_of(kind_code, unit)
        return found

    def _unit_of(self, kind_code: str | None, unit: str) -> tuple[str, int]:
        u = normalize_unit(unit)
        kind = self.kinds.get(kind_code) if kind_code else None
        if kind is None:
            # Without a kind nothing converts: such rows match by category, units unchecked.
            return "", 1
        if not u:
            u = kind.default_unit
        factor = kind.units.get(u, 0)
        if factor <= 0:
            return "?" + u, 1
        return kind.base_unit, factor

    def convert(
        self, quantity: int, kind_code: str | None, unit: str, to_unit: str, *, round_up: bool
    ) -> int | None:
        """``quantity`` of ``unit`` in ``to_unit`` (whole units); ``None`` if not convertible."""
        group_a, fa = self.unit_of(kind_code, unit)
        group_b, fb = self.unit_of(kind_code, to_unit)
        if group_a != group_b:
            return None
        base = quantity * fa
        return -(-base // fb) if round_up else base // fb

    # ------------------------------------------------------------ inference

    @cached_property
    def _names(self) -> list[tuple[str, str]]:
        """(lower-cased name or synonym, kind code), longest first."""
        pairs: dict[tuple[str, str], None] = {}
        for kind in self.kinds.values():
            for name in (kind.zh, kind.en, *kind.synonyms):
                if name:
                    pairs[(name.lower(), kind.code)] = None
        return sorted(pairs, key=lambda p: (-len(p[0]), p[0], p[1]))

    @cached_property
    def _all_units(self) -> frozenset[str]:
        return frozenset(u for k in self.kinds.values() for u in k.units) | frozenset(UNIT_ALIASES)

    def infer(self, text: str, category: str | None = None, *, strict: bool = False) -> Inference:
        """The kind a title or text speaks of (see the module docstring).

        ``category`` favours its kinds; with ``strict`` only its kinds are considered.
        """
        low = text.lower()
        tokens = {t.strip().lower() for t in rjieba.cut(text) if t.strip()}
        scores: dict[str, float] = {}
        covered: list[tuple[int, int]] = []
        for name, code in self._names:
            start = low.find(name)
            if start < 0:
                continue
            if name.isascii() and not _ascii_word_at(low, name, start):
                continue
            end = start + len(name)
            # A shorter name inside a longer match already counted (米 in 大米) adds nothing.
            if any(s <= start and end <= e for s, e in covered) and code in scores:
                continue
            if any(s <= start and end <= e and (s, e) != (start, end) for s, e in covered):
                continue
            covered.append((start, end))
            weight = float(len(name)) * (2.0 if name in tokens else 1.0)
            if category is not None and self.kinds[code].category == category:
                weight *= 1.5
            elif strict:
                continue
            scores[code] = scores.get(code, 0.0) + weight
        ranked = sorted(scores, key=lambda c: (-scores[c], c))
        best = ranked[0] if ranked else None
        sure = best is not None and (len(ranked) == 1 or scores[ranked[1]] * 1.5 <= scores[best])
        unit, quantity = self._quantity(text, best)
        return Inference(best, unit, quantity, sure, tuple(ranked[1:4]))

    def _quantity(self, text: str, kind_code: str | None) -> tuple[str | None, int | None]:
        kind = self.kinds.get(kind_code) if kind_code else None
        units = list(kind.units) if kind else []
        known = sorted({*units, *self._all_units}, key=len, reverse=True)
        if not known:
            return None, None
        pattern = _NUMBER + r"\s*(" + "|".join(re.escape(u) for u in known) + r")"
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            number = cn_number(match.group(1))
            unit = normalize_unit(match.group(2))
            if number is not None and number > 0 and (not units or unit in units):
                return unit, number
        return (kind.default_unit if kind else None), None


def _ascii_word_at(text: str, name: str, start: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    end = start + len(name)
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


#: Words that carry no meaning for text relevance (units, numbers and filler).
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "等",
        "一",
        "个",
        "台",
        "条",
        "件",
        "份",
        "次",
        "斤",
        "需要",
        "需",
        "急需",
        "希望",
        "家里",
        "家中",
        "我们",
        "提供",
        "捐赠",
        "一批",
        "若干",
        "可",
        "用于",
        "给",
        "为",
        "在",
        "有",
        "是",
        "老人",
        "家庭",
        "困难",
        "帮助",
        "帮扶",
        "爱心",
        "the",
        "a",
        "an",
        "of",
        "for",
        "and",
        "to",
        "with",
        "need",
        "needs",
    ]
)


def terms(text: str) -> dict[str, float]:
    """Weighted terms of a text for relevance: jieba search-mode tokens minus stopwords.

    Weight 1 for a two-character word, 1.5 for longer ones (more specific); single
    characters, numbers and stopwords are dropped.
    """
    out: dict[str, float] = {}
    for raw in rjieba.cut_for_search(text):
        token = raw.strip().lower()
        if len(token) < 2 or token in STOPWORDS or token.replace(".", "").isdigit():
            continue
        out[token] = 1.5 if len(token) >= 3 else 1.0
    return out


def load_taxonomy(text: str | None = None) -> Taxonomy:
    """The packaged taxonomy (``matching/data/items.csv``), or one parsed from ``text``."""
    if text is None:
        text = resources.files("matching").joinpath("data/items.csv").read_text("utf-8")
    return Taxonomy(parse_rows(csv.DictReader(io.StringIO(text))))


def kind_rows(kinds: Sequence[ItemKind]) -> list[dict[str, str]]:
    """Rows (as in ``items.csv``) of kinds, e.g. to store county extensions."""
    return [
        {
            "category": k.category,
            "code": k.code,
            "zh": k.zh,
            "en": k.en,
            "synonyms": "|".join(k.synonyms),
            "units": ";".join(f"{u}={f}" for u, f in k.units.items()),
            "substitutes": "|".join(sorted(k.substitutes)),
        }
        for k in kinds
    ]
