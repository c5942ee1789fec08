"""Every page a role may open is reachable by following links from that role's start page.

For each actor of the role × route matrix (``tests/access.py``), the GET routes whose row
expects 200 for that actor must be reached by a crawl that starts on the actor's landing page
(``backend/web/landing.py``) and follows ``a[href]`` within the app. The crawl is bounded: a URL
is normalised to its route (ids become the route's parameters) and each route is fetched at
most ``PER_ROUTE`` times (distinct query keys first). Downloads (PDF, CSV, photos) count as
reached when linked, without being fetched. Routes that no page can link to are listed in
``UNLINKED`` with the reason.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict, deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest

from backend.accounts.service import load_current_user
from backend.core.db import utcnow
from backend.fulfilment.models import QuarterlyList
from backend.fulfilment.service import quarter_of, today_local
from backend.web.landing import landing_for
from tests.access import ACTOR_USERS, ACTORS
from tests.fulfilment.access_rows import _storage
from tests.helpers import sign_in_as
from tests.households.factories import make_household, make_referral
from tests.test_access_matrix import ROWS

PER_ROUTE = 4
MAX_PAGES = 600
BASE = "http://127.0.0.1:8000"

# The JSON API (docs/api.md) is for programs, not reached by links.
NOT_NAVIGATION = ("/api/v1/",)
# Routes no page links to, for every actor that may open them, and why.
UNLINKED_ALL: dict[str, str] = {
    "/healthz": "a probe for the load balancer and the operator, not a page",
    "/api/v1/me": "JSON API (docs/api.md), not navigation",
    "/account/verify/{token:str}": "reached only from the e-mail that carries the token",
    "/password/reset/{token:str}": "reached only from the password-reset e-mail",
    "/code/{old:path}": "the address printed in the QR code of an old 幸福码 card",
    "/certificates/{check_code:str}": "printed on a volunteer certificate for a third party",
    "/notifications/count": "an htmx fragment of the header (hx-get), not a page",
    "/notifications/sla": "an htmx fragment, loaded by the notifications page",
    "/items/suggest": "an htmx autocomplete fragment of the need form",
    "/signin": "the sign-in page, shown to signed-out visitors only",
    "/signup": "the sign-up page, shown to signed-out visitors only",
    "/oidc/signin": "the organization sign-in page, shown to signed-out visitors only",
    "/households/cards/{batch:str}": "shown once, by the redirect after issuing cards (POST)",
    "/households/cards/{batch:str}/slips": "reached from the card sheet shown once after issuing",
    "/fulfilment/quarterly/batches/{batch_id:uuid}": "the progress page a batch POST redirects to",
    "/account/email": "an htmx fragment of the profile page (hx-get), not a page",
    "/password/forgot": "for signed-out visitors: linked from the sign-in page",
    "/report/track/{code:str}": "opened by typing the report's code into the /report/track form",
    "/donations/{donation_id:uuid}/success": "the return address of Stripe Checkout",
    "/donations/{donation_id:uuid}/cancel": "the return address of Stripe Checkout (cancelled)",
    "/photos/{name:str}": "a project photo, embedded once a project has one (the demo has none)",
    "/projects/{project_id:uuid}/needs/candidates": (
        "the need picker's search (a GET form on the project's manage box, and its htmx results)"
    ),
    "/audit/verify": "the chain check, started by the verify form (GET) on the audit log page",
    "/donations/manage": (
        "an organization's donation management: linked from the profile page for members of an "
        "approved organization (empty for anyone else)"
    ),
    "/donations/disbursements/{disbursement_id:uuid}/receipt": (
        "a receipt file, linked from a project's ledger once a disbursement has one "
        "(the demo data has none)"
    ),
}
# Per actor: routes this actor may open but no page links for this actor, and why.
UNLINKED: dict[str, dict[str, str]] = defaultdict(dict)
UNLINKED["volunteer"] = {
    "/volunteer/certificates/{cert_id:uuid}/pdf": (
        "a certificate file, linked from My hours once an organization issued one (the demo "
        "volunteer has none)"
    ),
}
UNLINKED["member_a"] = {
    "/donations/{donation_id:uuid}": "the donor's own donation; this member has made none",
    "/claims/{claim_id:uuid}/contact": (
        "the household's contact details, linked from a claim whose household consented to "
        "share them (none of the demo claims)"
    ),
    "/deliveries/{delivery_id:uuid}/confirm": (
        "the door confirmation, opened by scanning the household's 幸福码 (POST /door)"
    ),
    "/deliveries/{delivery_id:uuid}/photos/{name:str}": (
        "a delivery photo, embedded once a delivery has one (the demo deliveries have none)"
    ),
}
UNLINKED["member_b"] = {
    "/organizations/{org_id:uuid}/api-clients": (
        "partner API clients of a trade union (docs/api.md); linked from the union's OIDC "
        "settings, a page of the organization area outside this work"
    ),
}
UNLINKED["caseworker_x"] = {
    "/deliveries/{delivery_id:uuid}/photos/{name:str}": (
        "a delivery photo, embedded once a delivery has one (the demo deliveries have none)"
    ),
}
# The platform admin may open organizations' and coordinators' pages to support them; their
# own start page (Administration) links the admin pages. The coordinator's start page is
# /coordination/dashboard (built elsewhere); these lines go when it links them for the admin.
UNLINKED["admin"] = dict.fromkeys(
    (
        "/admin/users/pending",
        "/casework/item-kinds",
        "/claims/{claim_id:uuid}",
        "/coordination/item-kinds",
        "/coordination/matches/{match_id:uuid}/reassign",
        "/dev/mailbox",
        "/org/{org_id:uuid}",
        "/org/{org_id:uuid}/bank-account",
        "/org/{org_id:uuid}/hours",
        "/org/{org_id:uuid}/members",
        "/org/{org_id:uuid}/needs",
        "/org/{org_id:uuid}/needs/{need_id:uuid}/claim",
        "/org/{org_id:uuid}/profile",
        "/org/{org_id:uuid}/projects/new",
        "/org/{org_id:uuid}/resources/new",
        "/org/{org_id:uuid}/tasks/new",
        "/organizations/{org_id:uuid}/api-clients",
        "/organizations/{org_id:uuid}/pending-users",
        "/tasks/{task_id:uuid}/roster",
        "/volunteer/hours",
    ),
    "an organization's or a coordinator's page the admin may open for support",
)

DOWNLOAD = re.compile(r"(/pdf$|/print$|/photos/|\.csv$|/export$|/receipt)")


class _Links(HTMLParser):
    """``a[href]`` (followed) and ``img[src]`` (an embedded photo counts as reached)."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs).get({"a": "href", "img": "src"}.get(tag, ""))
        if found:
            self.hrefs.append(found)


def _pattern(route: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", route):
        if part.startswith("{"):
            kind = part[1:-1].split(":")[-1]
            out += {"uuid": r"[0-9a-fA-F-]{36}", "int": r"\d+", "path": r".+"}.get(kind, r"[^/]+")
        else:
            out += re.escape(part)
    return re.compile(out + "/?")


class Router:
    """Which app route (GET) a URL path belongs to: the match with the most literal text."""

    def __init__(self, app: Any) -> None:
        self.routes = sorted(
            {r.path for r in app.routes if "GET" in (getattr(r, "methods", ()) or ())},
            key=lambda p: -len(re.sub(r"\{[^}]+\}", "", p)),
        )
        self.patterns = [(r, _pattern(r)) for r in self.routes]

    def route_of(self, path: str) -> str | None:
        for route, pattern in self.patterns:
            if pattern.fullmatch(path):
                return route
        return None


async def crawl(client: Any, router: Router, start: str) -> tuple[set[str], dict[str, str]]:
    """(routes reached, first URL seen for each) following links from ``start``."""
    reached: set[str] = set()
    seen_url: dict[str, str] = {}
    fetched: dict[str, int] = defaultdict(int)
    shapes: set[tuple[str, frozenset[str]]] = set()
    queue: deque[str] = deque([start])
    pages = 0
    while queue and pages < MAX_PAGES:
        url = queue.popleft()
        parts = urlsplit(url)
        route = router.route_of(parts.path)
        if route is None:
            continue
        reached.add(route)
        seen_url.setdefault(route, url)
        shape = (route, frozenset(k for k, _ in parse_qsl(parts.query)))
        if shape in shapes or fetched[route] >= PER_ROUTE or DOWNLOAD.search(parts.path):
            continue
        shapes.add(shape)
        fetched[route] += 1
        pages += 1
        response = await client.get(url, follow_redirects=True)
        final = urlsplit(str(response.url))
        if (final_route := router.route_of(final.path)) is not None and response.status_code < 400:
            reached.add(final_route)
        if response.status_code >= 400 or "html" not in response.headers.get("content-type", ""):
            continue
        parser = _Links()
        parser.feed(response.text)
        for href in parser.hrefs:
            target = urlsplit(urljoin(BASE + final.path, href))
            if target.scheme not in {"http", "https"} or target.netloc != urlsplit(BASE).netloc:
                continue
            if target.path.startswith(("/static", "/schema")):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return reached, seen_url


def _allowed(actor: str) -> set[str]:
    return {
        row.route
        for row in ROWS
        if row.method == "GET"
        and row.status_for(actor) == 200
        and not row.route.startswith(NOT_NAVIGATION)
    }


async def _seed(runtime: Any, demo: dict[str, Any]) -> None:
    """One of each object whose page is linked only when it exists: a new referral and a
    generated quarterly list of this quarter in 西湖区, and an open report on a project."""
    from tests.access import Ctx
    from tests.grievance.access_rows import _report

    async with runtime.transaction() as session:
        await make_referral(session, demo["volunteer"])
        household = await make_household(session, demo["caseworker"], region="330106004")
        session.add(
            QuarterlyList(
                id=uuid.uuid4(),
                household_id=household.id,
                quarter=quarter_of(today_local()),
                file_path=_storage().put("quarterly", b"%PDF-1.4", "pdf"),
                generated_at=utcnow(),
            )
        )
    await _report("wrong_info")(Ctx(runtime=runtime, demo=demo, actor="anonymous", user_id=None))


@pytest.mark.parametrize("actor", ACTORS)
async def test_every_page_is_reachable_from_the_start_page(
    actor: str, app: Any, client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await _seed(runtime, demo)
    start = "/"
    if actor != "anonymous":
        user_id = demo[ACTOR_USERS[actor]]
        await sign_in_as(client, runtime, user_id)
        async with runtime.sessionmaker() as session:
            start = landing_for(await load_current_user(session, user_id))
    router = Router(app)
    reached, _ = await crawl(client, router, start)
    excused = {**UNLINKED_ALL, **UNLINKED[actor]}
    missing = sorted(_allowed(actor) - reached - set(excused))
    assert not missing, (
        f"{actor} (start page {start}) may open these pages but no link leads there:\n"
        + "\n".join(missing)
    )


def test_every_excuse_is_still_needed() -> None:
    """An excused route that no actor may open any more is a stale line: remove it."""
    routes = {row.route for row in ROWS if row.method == "GET"}
    stale = sorted(r for r in UNLINKED_ALL if r not in routes)
    stale += sorted(r for per in UNLINKED.values() for r in per if r not in routes)
    assert not stale, stale
