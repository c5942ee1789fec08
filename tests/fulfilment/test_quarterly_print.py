"""Quarterly lists a caseworker can tell apart and print: each row names the household by its
head's masked name and the last four characters of its 幸福码, in print order, and a
community's lists come out as one PDF in that order."""

from __future__ import annotations

import io
import os
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from backend.accounts.service import load_current_user
from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.fulfilment import lists
from backend.fulfilment.models import QuarterlyList
from backend.households import service as hs
from backend.privacy.masking import mask_name
from tests.fulfilment.access_rows import _storage
from tests.helpers import sign_in_as
from tests.households.factories import make_household

TOWNSHIP = "330106004"
TOWNSHIP_PATH = "330000.330100.330106.330106004"


async def _two_lists(runtime: Any, demo: dict[str, Any], quarter: str) -> list[Any]:
    """Households in two communities of one township (the later community registered first),
    each with a generated list of ``quarter``; the first also has a 幸福码."""
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        township = await hs.regions_under(session, [TOWNSHIP_PATH], ["township"], limit=1)
        communities = await hs.regions_under(session, [TOWNSHIP_PATH], ["community"], limit=1)
        assert township[0].code == TOWNSHIP and communities
        # the community's household is registered first, the township's own second: print
        # order follows the region tree (the township sorts before its communities)
        later = await make_household(
            session, demo["caseworker"], region=communities[0].code, name="丙丁戊"
        )
        earlier = await make_household(session, demo["caseworker"], region=TOWNSHIP, name="甲乙丙")
        issued = await hs.issue_code(session, user, earlier.id)
        for h in (later, earlier):
            session.add(
                QuarterlyList(
                    id=uuid.uuid4(),
                    household_id=h.id,
                    quarter=quarter,
                    file_path=_storage().put("quarterly", b"%PDF-1.4", "pdf"),
                    generated_at=utcnow(),
                )
            )
    return [earlier, later, issued.code[-4:]]


def _quarter() -> str:
    return f"{random.SystemRandom().randint(2001, 2099)}Q{random.SystemRandom().randint(1, 4)}"


async def test_one_pdf_in_print_order(runtime: Any, demo: dict[str, Any]) -> None:
    quarter = _quarter()
    *_, tail = await _two_lists(runtime, demo, quarter)
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        pdf = await lists.combined_pdf(session, user, region_code=TOWNSHIP, quarter=quarter)
        other = await load_current_user(session, demo["caseworker_sanmen"])
        with pytest.raises(NotFound):
            await lists.combined_pdf(session, other, region_code=TOWNSHIP, quarter=quarter)
    if out := os.environ.get("TONGXIN_PRINT_SAMPLE"):  # to look at it: pdftoppm -png
        Path(out).write_bytes(pdf)  # noqa: ASYNC240 - a test's debugging aid
    pages = PdfReader(io.BytesIO(pdf)).pages
    text = "".join(p.extract_text() for p in pages)
    assert len(pages) >= 2
    first, second = text.index(mask_name("甲乙丙")), text.index(mask_name("丙丁戊"))
    assert first < second  # community by community, not in registration order
    assert tail in text
    assert "甲乙丙" not in text and "丙丁戊" not in text  # names stay masked


async def test_rows_show_masked_name_and_code_tail(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    quarter = _quarter()
    earlier, later, tail = await _two_lists(runtime, demo, quarter)
    await sign_in_as(client, runtime, demo["caseworker"])
    page = await client.get(f"/fulfilment/quarterly?region={TOWNSHIP}&quarter={quarter}")
    assert page.status_code == 200
    html = page.text
    assert mask_name("甲乙丙") in html and mask_name("丙丁戊") in html
    assert "甲乙丙" not in html
    assert tail in html
    assert html.index(f"/fulfilment/households/{earlier.id}") < html.index(
        f"/fulfilment/households/{later.id}"
    )
    assert f"/fulfilment/quarterly/print?region={TOWNSHIP}&quarter={quarter}" in html
    printed = await client.get(f"/fulfilment/quarterly/print?region={TOWNSHIP}&quarter={quarter}")
    assert printed.status_code == 200
    assert printed.headers["content-type"] == "application/pdf"
    # the pending filter shows the lists not handed over yet
    pending = await client.get(
        f"/fulfilment/quarterly?region={TOWNSHIP}&quarter={quarter}&pending=1"
    )
    assert f"/fulfilment/households/{earlier.id}" in pending.text
