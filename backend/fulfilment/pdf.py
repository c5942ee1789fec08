"""The quarterly 幸福清单 as a PDF (WeasyPrint). Plain language, labels in both languages.

Chinese glyphs come from "Noto Sans CJK SC" (Debian ``fonts-noto-cjk``), found through
fontconfig. The PDF is the household's own list, handed to it: it may name the household's
region and category; it never travels through a job payload or a log (jobs pass ids only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.core.templating import TEMPLATES_DIR, fen
from backend.fulfilment.service import HouseholdRecord

KIND_LABELS = {
    "assistance": ("政府救助", "Government assistance"),
    "delivery": ("社会帮扶", "Help received"),
    "project": ("帮扶项目", "Project"),
    "visit": ("探访关爱", "Visit"),
}
CATEGORY_LABELS = {
    "dibao": ("低保", "Minimum living allowance"),
    "dibao_edge": ("低保边缘", "Near minimum living allowance"),
    "tekun": ("特困供养", "Extreme poverty support"),
    "expense_poverty": ("支出型贫困", "Expense-induced poverty"),
    "temporary": ("临时救助", "Temporary assistance"),
    "low_income_farmer": ("低收入农户", "Low-income farming household"),
}


def render_html(
    record: HouseholdRecord,
    quarter: str,
    start: date,
    end: date,
    *,
    masked_name: str = "",
    code_tail: str = "",
) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"])
    )
    env.filters["fen"] = fen
    template = env.get_template("fulfilment/list_pdf.html")
    return template.render(
        record=record,
        quarter=quarter,
        start=start,
        end=end,
        kinds=KIND_LABELS,
        categories=CATEGORY_LABELS,
        masked_name=masked_name,
        code_tail=code_tail,
    )


def render_pdf(
    record: HouseholdRecord,
    quarter: str,
    start: date,
    end: date,
    *,
    masked_name: str = "",
    code_tail: str = "",
) -> bytes:
    from weasyprint import HTML

    result = HTML(
        string=render_html(
            record, quarter, start, end, masked_name=masked_name, code_tail=code_tail
        )
    ).write_pdf()
    assert isinstance(result, bytes)
    return result


@dataclass(frozen=True)
class ListPage:
    """One household's list in a combined print file."""

    record: HouseholdRecord
    masked_name: str
    code_tail: str


def render_combined_pdf(lists: Sequence[ListPage], quarter: str, start: date, end: date) -> bytes:
    """Several households' lists in one PDF, in the given (print) order, each on new pages.

    CPU work: call it off the event loop (``asyncio.to_thread``)."""
    from weasyprint import HTML

    documents = [
        HTML(
            string=render_html(
                item.record,
                quarter,
                start,
                end,
                masked_name=item.masked_name,
                code_tail=item.code_tail,
            )
        ).render()
        for item in lists
    ]
    if not documents:
        raise ValueError("no list to print")
    pages = [page for document in documents for page in document.pages]
    result = documents[0].copy(pages).write_pdf()
    assert isinstance(result, bytes)
    return result
