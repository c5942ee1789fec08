"""Role × route rows of the caseworker's start page and the quarterly lists' combined PDF."""

from __future__ import annotations

import random
import uuid

from backend.core.db import utcnow
from backend.fulfilment.models import QuarterlyList
from tests.access import Ctx, Row, only
from tests.fulfilment.access_rows import _storage
from tests.households.factories import make_household

CASEWORKERS = only(("caseworker_x", "caseworker_y"), 200)
X_ONLY = {**only(("caseworker_x",), 200), "caseworker_y": 404}


async def _print_url(ctx: Ctx) -> str:
    """A generated list of a fresh household of 西湖区, in a quarter of its own."""
    quarter = f"{random.SystemRandom().randint(2001, 2099)}Q{random.SystemRandom().randint(1, 4)}"
    async with ctx.runtime.transaction() as session:
        household = await make_household(session, ctx.demo["caseworker"], region="330106004")
        session.add(
            QuarterlyList(
                id=uuid.uuid4(),
                household_id=household.id,
                quarter=quarter,
                file_path=_storage().put("quarterly", b"%PDF-1.4", "pdf"),
                generated_at=utcnow(),
            )
        )
    return f"/fulfilment/quarterly/print?region=330106004&quarter={quarter}"


ROWS = [
    Row("GET", "/work", CASEWORKERS),
    Row("GET", "/work/{section:str}", CASEWORKERS, url="/work/blocked", note="blocked drafts"),
    Row("GET", "/work/{section:str}", CASEWORKERS, url="/work/deadlines", note="deadlines"),
    Row(
        "GET",
        "/work/{section:str}",
        {**only(("caseworker_x", "caseworker_y"), 404)},
        url="/work/nothing",
        note="unknown section",
    ),
    Row("GET", "/fulfilment/quarterly/print", X_ONLY, url=_print_url),
    Row(
        "POST",
        "/households/search",
        {**only(("caseworker_x", "caseworker_y"), 200)},
        data={"q": "王秀英"},
        note="by name",
    ),
    Row(
        "POST",
        "/households/search",
        {**only(("caseworker_x", "caseworker_y"), 422)},
        data={"q": "王"},
        note="one character is too short",
    ),
]
