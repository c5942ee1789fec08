"""The public projection that is indexed, and the query/result types of the search layer.

`SearchDocument` is the ONLY thing that reaches a search index. It is built from public
listing data (need, resource, project, task) and by construction has no field that could
carry personal data (docs/privacy.md, rule 2): no household, no names of people, no
address, no phone, no ID number. Free text (`title`, `body`) must already have passed the
privacy scanner before a document is built; this module does not repeat that scan.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, get_args
from uuid import UUID

Kind = Literal["need", "resource", "project", "task"]
Urgency = Literal["emergency", "high", "normal"]
SortOrder = Literal["relevance", "urgency", "deadline", "newest"]

KINDS: tuple[str, ...] = get_args(Kind)
URGENCIES: tuple[str, ...] = get_args(Urgency)
SORTS: tuple[str, ...] = get_args(SortOrder)
LANGS: tuple[str, ...] = ("zh", "en")
MAX_PER_PAGE = 100
#: Region hierarchy depth kept per document (province → city → district → township → community).
MAX_REGION_DEPTH = 5
#: Facet names, in display order. "region" counts the child regions of the filtered region.
FACET_NAMES: tuple[str, ...] = ("kind", "category", "urgency", "state", "org_type", "region")

#: Higher is more urgent; used by the "urgency" sort.
URGENCY_RANK: Mapping[str, int] = {"emergency": 3, "high": 2, "normal": 1}

_REGION_CODE = re.compile(r"^[0-9]{6}([0-9]{3}){0,2}$")


def _check_region_code(code: str) -> None:
    if not _REGION_CODE.match(code):
        raise ValueError(f"not a GB/T 2260 region code (6, 9 or 12 digits): {code!r}")


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """Public, index-ready projection of one listing. Has no personal fields at all."""

    id: str
    kind: Kind
    title: str
    body: str
    category: str
    #: The item's own region code preceded by all of its ancestors, root first,
    #: e.g. ("330000", "330100", "330106").
    region_codes: tuple[str, ...]
    region_name: str
    urgency: Urgency | None
    state: str
    org_type: str | None
    org_name: str | None
    deadline: date | None
    created_at: datetime
    lang: Literal["zh", "en"]
    #: The category's public names in every language ("助学 Education"): searchable, so a
    #: category name finds its listings.
    category_label: str = ""
    #: A money amount shown with the result, in fen (a need's amount, a project's target).
    amount_fen: int | None = None

    def __post_init__(self) -> None:
        UUID(self.id)  # raises ValueError when not a uuid
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.urgency is not None and self.urgency not in URGENCIES:
            raise ValueError(f"unknown urgency {self.urgency!r}")
        if self.lang not in LANGS:
            raise ValueError(f"unknown lang {self.lang!r}")
        if not self.region_codes or len(self.region_codes) > MAX_REGION_DEPTH:
            raise ValueError("region_codes must hold 1 to 5 codes, root first")
        for code in self.region_codes:
            _check_region_code(code)
        if self.created_at.tzinfo is None or self.created_at.utcoffset() != UTC.utcoffset(None):
            raise ValueError("created_at must be an aware UTC datetime")
        if not self.category or not self.state:
            raise ValueError("category and state are required")
        if any("\x00" in t for t in (self.title, self.body, self.category_label)):
            raise ValueError("title and body cannot hold a NUL character")

    @property
    def region_code(self) -> str:
        """The item's own (most specific) region."""
        return self.region_codes[-1]


#: Names of the dataclass fields, for adapters that map documents to JSON.
DOCUMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SearchDocument))


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search request. Empty text means "browse": filters, facets and sorting only.

    Every filter is a conjunction across attributes and a disjunction inside one attribute
    (kinds=("need", "task") means need OR task). `deadline_from`/`deadline_to` are inclusive
    and exclude items without a deadline. `sort="relevance"` without text sorts newest first.
    """

    text: str = ""
    kinds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    region_code: str | None = None
    urgencies: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    org_types: tuple[str, ...] = ()
    deadline_from: date | None = None
    deadline_to: date | None = None
    sort: SortOrder = "relevance"
    page: int = 1
    per_page: int = 20
    #: Facet counts cost time on broad queries; callers that do not show them may skip them.
    with_facets: bool = True

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValueError("page starts at 1")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be within 1..{MAX_PER_PAGE}")
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}")
        if self.region_code is not None:
            _check_region_code(self.region_code)
        for kind in self.kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}")
        for urgency in self.urgencies:
            if urgency not in URGENCIES:
                raise ValueError(f"unknown urgency {urgency!r}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: str
    kind: str
    #: Plain text; templates escape it.
    title: str
    #: Title with matched terms in <mark>; everything else HTML-escaped. Safe to render.
    title_html: str
    #: Excerpt of the body with matched terms in <mark>; HTML-escaped. Safe to render.
    snippet_html: str
    #: Relevance score for sort="relevance" with text; 0.0 otherwise.
    score: float
    #: What a result line shows besides the title (the view labels codes in the reader's
    #: language): the category code, the item's own region code, deadline, urgency, amount.
    category: str = ""
    region_code: str = ""
    deadline: date | None = None
    urgency: str | None = None
    amount_fen: int | None = None


@dataclass(frozen=True, slots=True)
class SearchResults:
    hits: tuple[SearchHit, ...]
    total: int
    page: int
    per_page: int
    #: facet name → value → count over the whole result set (not only the page).
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def created_ts(doc: SearchDocument) -> int:
    """Seconds since the epoch (UTC)."""
    return int(doc.created_at.timestamp())


_EPOCH = date(1970, 1, 1)
#: Sort key for items without a deadline: after every real deadline.
NO_DEADLINE_KEY = 10**7


def day_number(d: date) -> int:
    return (d - _EPOCH).days


def deadline_sort_key(doc: SearchDocument) -> int:
    return NO_DEADLINE_KEY if doc.deadline is None else day_number(doc.deadline)


def urgency_sort_key(doc: SearchDocument) -> int:
    """Urgency rank first, then newest first: rank * 2**40 + created seconds."""
    rank = URGENCY_RANK.get(doc.urgency or "", 0)
    return rank * (1 << 40) + created_ts(doc)


def pick_region_facet(levels: list[dict[str, int]], region_code: str | None) -> dict[str, int]:
    """Choose the region facet from counts per hierarchy level (index = depth).

    Without a region filter the top level is returned; with one, the level just below the
    level on which the filtered code occurs (empty when it is a leaf or nothing matched).
    """
    if region_code is None:
        return dict(levels[0]) if levels else {}
    for depth, counts in enumerate(levels):
        if region_code in counts:
            return dict(levels[depth + 1]) if depth + 1 < len(levels) else {}
    return {}
