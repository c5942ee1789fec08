"""The one gate every text that can become public passes before it is stored (privacy rule 3).

Every service that stores a free text some page, API, export, search document, PDF or
notification may show to someone other than the household's caseworkers calls
:func:`check_public_text` (or :func:`gate_public_text` when it already has the household's own
values) with the fields it is about to store. Any finding refuses the whole change with
:class:`PersonalDataFound` (HTTP 422): ``fields`` maps each refused field to a
:class:`MarkedCode` — the string ``"personal_data"`` (what the JSON error body shows) that also
carries the field's text with each span wrapped in ``<mark class="pii">`` for the form, which
shows it next to the field. ``spans`` lists every span (field, kind, start, end) for the JSON
error body.

``names`` is a provider of the names of households the acting organization knows through its
active claims (``backend.households.service.claimed_names_provider``): the names are decrypted
only inside the households module and only compared here, never stored or logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from backend.core.errors import Invalid
from backend.core.i18n import N_
from backend.privacy.scanner import Finding, OwnValues, mark_spans_html, scan_public_text

NamesProvider = Callable[[], Awaitable[Sequence[str]]]

CODE = "personal_data"


class MarkedCode(str):
    """The field error code ``"personal_data"`` that also carries the marked text (HTML)."""

    marked: Markup

    def __new__(cls, marked: Markup) -> MarkedCode:
        obj = super().__new__(cls, CODE)
        obj.marked = marked
        return obj


@dataclass(frozen=True, slots=True)
class Block:
    """One finding in one field (offsets into that field's text)."""

    field: str
    kind: str
    start: int
    end: int

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "kind": self.kind, "start": self.start, "end": self.end}


class PersonalDataFound(Invalid):
    """The text holds personal data; ``blocks`` names each span, ``fields`` marks each field."""

    def __init__(self, blocks: list[Block], texts: Mapping[str, str]) -> None:
        marked: dict[str, str] = {}
        for name in dict.fromkeys(b.field for b in blocks):
            findings = [Finding(b.kind, b.start, b.end, "") for b in blocks if b.field == name]  # type: ignore[arg-type]
            marked[name] = MarkedCode(Markup(mark_spans_html(texts[name], findings)))  # noqa: S704 - mark_spans_html escapes the text
        super().__init__(
            N_(
                "The text contains personal data (marked below). It would be public: remove it,"
                " then save again."
            ),
            code=CODE,
            fields=marked,
        )
        self.blocks = blocks

    @property
    def spans(self) -> list[dict[str, Any]]:
        return [b.as_json() for b in self.blocks]


def findings_of(
    texts: Mapping[str, str | None],
    *,
    own_values: OwnValues | None = None,
    known_names: Sequence[str] = (),
) -> list[Block]:
    blocks: list[Block] = []
    for name, text in texts.items():
        if not text:
            continue
        found = scan_public_text(text, own_values=own_values, known_names=known_names)
        blocks.extend(Block(name, f.kind, f.start, f.end) for f in found)
    return blocks


def gate_public_text(
    texts: Mapping[str, str | None],
    *,
    own_values: OwnValues | None = None,
    known_names: Sequence[str] = (),
) -> None:
    """Refuse (422) if any of ``texts`` (field → text as it will be stored) holds personal data."""
    blocks = findings_of(texts, own_values=own_values, known_names=known_names)
    if blocks:
        raise PersonalDataFound(blocks, {k: v or "" for k, v in texts.items()})


async def check_public_text(
    texts: Mapping[str, str | None], *, names: NamesProvider | None = None
) -> None:
    """:func:`gate_public_text` with the names of the households known to the acting
    organization (fetched only when there is text to check)."""
    known: Sequence[str] = ()
    if names is not None and any(texts.values()):
        known = await names()
    gate_public_text(texts, known_names=known)
