"""Page quality: every role crawls the pages it can reach and every page is checked.

One actor per role of ``tests/access.py`` (anonymous, volunteer, donor, organization member,
caseworker, coordinator, auditor, administrator) and the demo household's self-service session
signs in, then crawls, GET only and on the app's own origin, from where it lands and from the
navigation: breadth first, two links deep, at most ``MAX_PAGES`` pages, one page per URL *shape*
(ids, UUIDs and codes in the path count as one shape; a query string is kept only on the shape's
first visit). Sign-out, language switch, downloads, the API, the OpenAPI UI, static files and
sign-in providers are never followed; the household stays in ``/my``. Each role crawls in zh_CN
and en at 390 × 844; staff (caseworker, coordinator, auditor, administrator) also at 1280 × 800,
where a page shape already seen wide by another staff role is not visited again. axe runs once
per page shape in the module (its rules do not depend on the language or the role's extras).
One test per role keeps each under the per-test timeout.

A page fails on:

- ``status``: a 5xx answer, or a 404 behind a link the page itself shows;
- ``overflow``: wider than the phone at 390 px;
- ``snake_case``: a visible ``lower_snake`` token (an internal name: ``union_hardship``);
- ``raw_value``: a visible text that is exactly an internal enum value (``goods``, ``closed``);
- ``uuid``: a visible UUID;
- ``fen``: an amount in fen. Heuristic: ``¥`` followed by a number without two decimals; a
  whole number ≥ 1000 directly followed by 元; a whole number ≥ 1000 in a table column or a
  ``<dt>``/``<dd>`` pair whose heading names money (金额, 预算, 元, ¥, amount, budget, price…).
  Money is shown ``¥1,234.56`` (the ``fen`` filter);
- ``region_code``: a 6-, 9- or 12-digit administrative code (starts with a province prefix
  such as 33) in visible text; a masked ID number (``330106********1234``) is not one;
- ``latin`` (zh_CN only): a word of two or more Latin letters outside ``LATIN_ALLOWED``
  (brands and units from ``docs/glossary.md``), in text not marked ``lang="en"``; e-mail
  addresses, web addresses and codes with digits (``XFMA-2026-DEM0-F``) are left out;
- ``punctuation`` (zh_CN only): ASCII , ; : ? ! ( ) next to a Chinese character;
- ``axe``: an axe-core violation of impact serious or critical (rule id and target);
- ``label``: a visible form field without a label (``<label for>``, wrapping label,
  ``aria-label`` or ``aria-labelledby``);
- ``alt``: an image without an ``alt`` attribute.

Findings that are right as they are go in ``page_quality_allow.toml``, each with a reason. The
test prints every page it visited and every finding with its role, language, viewport and URL.
axe-core is vendored by ``scripts/vendor-assets.sh`` and injected here only; no page links it.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
import time
import tomllib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.access import ACTOR_USERS
from tests.browser import chromium, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "frontend_templates" / "static" / "vendor" / "axe-core" / "axe.min.js"
ALLOW_FILE = Path(__file__).with_name("page_quality_allow.toml")

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LANGS = ("zh_CN", "en")
STAFF = ("caseworker_x", "coordinator", "auditor", "admin")
# One actor per role (caseworker_y and member_b play the same roles as caseworker_x and member_a
# in another region or organization: the same pages).
ROLES = tuple(
    a for a in ("anonymous", *ACTOR_USERS, "household") if a not in ("caseworker_y", "member_b")
)
assert set(ACTOR_USERS) - set(ROLES) == {"caseworker_y", "member_b"}
DEPTH = 2  # landing page and nav = 0; their links = 1; the links of those = 2
MAX_PAGES = 40  # per role: a bound on time, reported when reached

# Words of Latin letters a Chinese page may show (docs/glossary.md, "Words kept in Latin").
LATIN_ALLOWED = frozenset(
    {"PIN", "ID", "CSV", "PDF", "API", "QR", "kg", "cm", "KB", "MB", "OpenID", "WeChat", "Ctrl"}
)

# Paths never followed: they change state, leave the site, download, or are not pages.
SKIP = re.compile(
    r"^/(static|schema|api|healthz|lang|signout|oidc|auth)(/|$)"
    r"|/(signout|logout|delete|remove|download|export|photos)(/|$)"
    r"|\.(csv|pdf|png|jpe?g|svg|json|zip|xlsx)$"
)
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
SEGMENT_ID = re.compile(r"^(\d+|[0-9A-Za-z]+(-[0-9A-Za-z]+)+|[0-9A-Z]{6,})$")
SNAKE = re.compile(r"(?<![\w@./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@./-])")
EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|/[\w./?=&%-]+")
CODEISH = re.compile(r"\b[A-Za-z0-9]*\d[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b|\b\w+(?:-\w+)+\b")
LATIN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")
CJK = r"[\u3400-\u9fff]"
ASCII_PUNCT = re.compile(rf"{CJK}\s?[,;:?!()]|[,;:?!()]\s?{CJK}")
YUAN_NO_CENTS = re.compile(r"[¥￥]\s*-?\d[\d,]*(?![\d,]*\.\d\d)")
INT_YUAN = re.compile(r"(?<![\d.,])\d{4,}\s*元")
REGION = re.compile(
    r"(?<![\d*])(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5])\d{4}(?:\d{3}){0,2}(?![\d*])"
)

COLLECT_JS = r"""
() => {
  const visible = (el) => el && el.checkVisibility({ visibilityProperty: true, opacityProperty: false });
  const where = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 3; e = e.parentElement) {
      let s = e.tagName.toLowerCase();
      if (e.id) { s += "#" + e.id; parts.unshift(s); break; }
      if (e.classList.length) s += "." + [...e.classList].slice(0, 2).join(".");
      parts.unshift(s);
    }
    return parts.join(" > ");
  };
  const langOf = (el) => { const l = el.closest("[lang]"); return l ? l.getAttribute("lang") : ""; };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.nodeValue.replace(/\s+/g, " ").trim();
    const el = node.parentElement;
    if (!text || !el || ["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"].includes(el.tagName)) continue;
    if (!visible(el) && el.tagName !== "OPTION") continue;
    texts.push({ text, where: where(el), lang: langOf(el), whole: (el.innerText || "").trim() });
  }
  for (const el of document.querySelectorAll("[placeholder], input[type=submit][value], input[type=button][value], img[alt], [aria-label]")) {
    if (!visible(el)) continue;
    for (const attr of ["placeholder", "alt", "aria-label"]) {
      const v = el.getAttribute(attr);
      if (v && v.trim()) texts.push({ text: v.trim(), where: where(el) + "@" + attr, lang: langOf(el), whole: v.trim() });
    }
    if (el.tagName === "INPUT" && (el.type === "submit" || el.type === "button")) {
      texts.push({ text: el.value, where: where(el) + "@value", lang: langOf(el), whole: el.value });
    }
  }
  const money = /金额|预算|元|¥|￥|价|筹|捐|amount|budget|price|raised|yuan|donat|total/i;
  const moneyCells = [];
  for (const table of document.querySelectorAll("table")) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.innerText.trim());
    const cols = heads.map((h, i) => (money.test(h) ? i : -1)).filter((i) => i >= 0);
    if (!cols.length) continue;
    for (const row of table.querySelectorAll("tbody tr")) {
      const cells = row.querySelectorAll("td, th");
      for (const i of cols) {
        const c = cells[i];
        if (c && /^\d{4,}$/.test(c.innerText.trim())) moneyCells.push({ text: c.innerText.trim(), where: heads[i] });
      }
    }
  }
  for (const dt of document.querySelectorAll("dt")) {
    const dd = dt.nextElementSibling;
    if (dd && dd.tagName === "DD" && money.test(dt.innerText) && /^\d{4,}$/.test(dd.innerText.trim())) {
      moneyCells.push({ text: dd.innerText.trim(), where: dt.innerText.trim() });
    }
  }
  const unlabelled = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button", "reset", "image"].includes(el.type)) continue;
    if (!visible(el) && !(el.type === "radio" || el.type === "checkbox")) continue;
    if ((el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) continue;
    unlabelled.push(where(el) + (el.name ? "[name=" + el.name + "]" : ""));
  }
  const noAlt = [...document.querySelectorAll("img:not([alt])")].map((img) => where(img) + " " + (img.getAttribute("src") || "").slice(0, 80));
  const links = [...document.querySelectorAll("a[href]")]
    .filter((a) => !a.hasAttribute("download") && !a.target)
    .map((a) => a.href);
  return { texts, moneyCells, unlabelled, noAlt, links };
}
"""

AXE_JS = """
async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
}
"""


@dataclass(frozen=True)
class Finding:
    kind: str
    role: str
    lang: str
    viewport: str
    url: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.role} {self.lang} {self.viewport} {self.url}: {self.detail}"


@dataclass
class Allowed:
    kind: str
    url: re.Pattern[str]
    detail: str
    reason: str
    roles: tuple[str, ...] = ()
    used: int = 0

    def covers(self, f: Finding) -> bool:
        return (
            f.kind == self.kind
            and bool(self.url.search(urlsplit(f.url).path))
            and self.detail in f.detail
            and (not self.roles or f.role in self.roles)
        )


@dataclass
class Crawl:
    visited: list[tuple[str, str, int, float]] = field(
        default_factory=list
    )  # url, shape, status, s
    findings: list[Finding] = field(default_factory=list)
    capped: bool = False


def load_allow_list() -> list[Allowed]:
    data = tomllib.loads(ALLOW_FILE.read_text(encoding="utf-8"))
    entries = []
    for item in data.get("allow", []):
        assert item.get("reason", "").strip(), f"allow-list entry without a reason: {item}"
        assert item.get("kind"), f"allow-list entry without a kind: {item}"
        entries.append(
            Allowed(
                kind=item["kind"],
                url=re.compile(item.get("path", ".*")),
                detail=item.get("detail", ""),
                reason=item["reason"],
                roles=tuple(item.get("roles", ())),
            )
        )
    return entries


def enum_values() -> frozenset[str]:
    """Every lower-case value of the app's string enums (what a page must never show raw)."""
    import backend

    for mod in pkgutil.walk_packages(backend.__path__, "backend."):
        if mod.name.rsplit(".", 1)[-1] in {"enums", "states", "models", "schemas"}:
            importlib.import_module(mod.name)
    values: set[str] = set()
    stack: list[type[enum.Enum]] = [enum.Enum]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not cls.__module__.startswith("backend."):
            continue
        for member in cls:
            v = member.value
            if isinstance(v, str) and len(v) >= 3 and re.fullmatch(r"[a-z][a-z_]*", v):
                values.add(v)
    return frozenset(values)


def shape_of(url: str) -> str:
    path = urlsplit(url).path.rstrip("/") or "/"
    parts = [
        "{id}" if UUID_RE.fullmatch(p) or SEGMENT_ID.fullmatch(p) else p for p in path.split("/")
    ]
    return "/".join(parts) or "/"


def check_texts(data: dict[str, Any], lang: str, raw_values: frozenset[str], report: Any) -> None:
    for item in data["texts"]:
        text, whole = item["text"], item["whole"]
        where = item["where"]
        for m in SNAKE.findall(text):
            report("snake_case", f"{m!r} in {where}")
        if text in raw_values or (whole in raw_values and whole == text):
            report("raw_value", f"{text!r} in {where}")
        for m in UUID_RE.findall(text):
            report("uuid", f"{m} in {where}")
        for m in YUAN_NO_CENTS.findall(text) + INT_YUAN.findall(text):
            report("fen", f"{m!r} in {where}: {text[:80]!r}")
        for m in REGION.findall(text):
            report("region_code", f"{m} in {where}: {text[:80]!r}")
        if lang == "zh_CN" and not item["lang"].startswith("en"):
            plain = CODEISH.sub(" ", EMAIL_OR_URL.sub(" ", text))
            words = {w for w in LATIN.findall(plain) if w not in LATIN_ALLOWED}
            if words:
                report("latin", f"{', '.join(sorted(words))} in {where}: {text[:80]!r}")
            for m in ASCII_PUNCT.findall(text):
                report("punctuation", f"{m!r} in {where}: {text[:80]!r}")
    for cell in data["moneyCells"]:
        report("fen", f"{cell['text']} under {cell['where']!r}")
    for where in data["unlabelled"]:
        report("label", f"field without a label: {where}")
    for where in data["noAlt"]:
        report("alt", f"image without alt: {where}")


class Crawler:
    def __init__(self, base: str, axe_source: str, raw_values: frozenset[str]) -> None:
        self.base = base
        self.origin = urlsplit(base).netloc
        self.axe_source = axe_source
        self.raw_values = raw_values

    def _same_site(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != self.origin:
            return None
        if SKIP.search(parts.path):
            return None
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))

    def visit(
        self,
        page: Any,
        url: str,
        *,
        role: str,
        lang: str,
        viewport: str,
        crawl: Crawl,
        linked_from: str | None,
    ) -> list[str]:
        seen_here: dict[tuple[str, str], int] = {}

        def report(kind: str, detail: str) -> None:
            # One finding per kind and element on a page (18 <option>s with a code are one).
            key = (kind, detail.split(" in ", 1)[-1].split(": ", 1)[0])
            seen_here[key] = seen_here.get(key, 0) + 1
            if seen_here[key] == 1:
                crawl.findings.append(Finding(kind, role, lang, viewport, page_url, detail))

        page_url = url
        t0 = time.monotonic()
        try:
            response = page.goto(url, wait_until="load")
        except Exception as exc:  # a download or an aborted navigation: not a page
            if "Download is starting" in str(exc) or "ERR_ABORTED" in str(exc):
                return []
            raise
        status = response.status if response is not None else 0
        crawl.visited.append((url, shape_of(url), status, 0.0))
        if status >= 500:
            report("status", f"answered {status}")
            return []
        if status == 404 and linked_from is not None:
            report("status", f"404 behind a link on {linked_from}")
            return []
        if response is not None and "text/html" not in (response.headers.get("content-type") or ""):
            return []
        final = page.url
        if self._same_site(final) is None and urlsplit(final).netloc != self.origin:
            return []
        page_url = final
        data = page.evaluate(COLLECT_JS)
        check_texts(data, lang, self.raw_values, report)
        if viewport == "390" and not no_horizontal_scroll(page):
            width = page.evaluate("document.documentElement.scrollWidth")
            report("overflow", f"{width}px wide at 390px")
        if shape_of(final) not in AXED:
            AXED.add(shape_of(final))
            page.evaluate(self.axe_source)
            for v in page.evaluate(AXE_JS):
                report(
                    "axe", f"{v['id']} ({v['impact']}): {v['help']} at {'; '.join(v['targets'])}"
                )
        crawl.visited[-1] = (url, shape_of(url), status, time.monotonic() - t0)
        return [u for u in (self._same_site(link) for link in data["links"]) if u]

    def crawl(
        self,
        page: Any,
        start: list[str],
        *,
        role: str,
        lang: str,
        viewport: str,
        within: str = "/",
    ) -> Crawl:
        crawl = Crawl()
        seen: set[str] = set()
        queue: deque[tuple[str, int, str | None]] = deque()
        for url in start:
            full = self._same_site(url)
            if full and shape_of(full) not in seen:
                seen.add(shape_of(full))
                queue.append((full, 0, None))
        while queue:
            if viewport == "1280":
                # The desktop pass: a page shape once per language across the staff roles.
                while queue and (lang, shape_of(queue[0][0])) in WIDE:
                    queue.popleft()
                if not queue:
                    break
                WIDE.add((lang, shape_of(queue[0][0])))
            if len(crawl.visited) >= MAX_PAGES:
                crawl.capped = True
                break
            url, depth, parent = queue.popleft()
            links = self.visit(
                page,
                url,
                role=role,
                lang=lang,
                viewport=viewport,
                crawl=crawl,
                linked_from=parent,
            )
            if depth >= DEPTH:
                continue
            for link in links:
                s = shape_of(link)
                if s not in seen and urlsplit(link).path.startswith(within):
                    seen.add(s)
                    queue.append((link, depth + 1, url))
        return crawl


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def crawler_for() -> Any:
    axe_source = AXE.read_text(encoding="utf-8")
    raw_values = enum_values()
    return lambda base: Crawler(base, axe_source, raw_values)


def _sign_in(page: Any, base: str, role: str, demo_users: dict[str, tuple[str, str]]) -> str:
    """Sign the context in as ``role``; returns where the role lands."""
    if role == "anonymous":
        return base + "/"
    if role == "household":
        from backend.demo.households import DEMO_CODE, DEMO_PIN
        from backend.households import code as household_code

        page.goto(base + "/my")
        page.locator("#f-code").fill(household_code.display(DEMO_CODE))
        page.locator("#f-pin").fill(DEMO_PIN)
        page.locator("#open-list").click()
        page.wait_for_load_state("load")
        assert page.locator("#f-pin").count() == 0, "the demo household could not sign in"
        return str(page.url)
    sign_in(page, base, *demo_users[ACTOR_USERS[role]])
    return str(page.url)


AXED: set[str] = set()  # the page shapes axe has checked in this module (any role)
WIDE: set[tuple[str, str]] = set()  # (language, shape) checked at 1280 px by some staff role


def _crawl_role(
    browser: Any,
    base: str,
    role: str,
    lang: str,
    viewport: dict[str, int],
    demo_users: dict[str, tuple[str, str]],
    crawler: Crawler,
) -> Crawl:
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": base}])
    context.set_default_timeout(15000)
    try:
        page = context.new_page()
        page.on("dialog", lambda d: d.dismiss())
        landing = _sign_in(page, base, role, demo_users)
        nav = [
            a.get_attribute("href") or ""
            for a in page.locator("header a[href], footer a[href]").all()
        ]
        start = [landing, *(base + h for h in nav if h.startswith("/"))]
        within = "/"
        if role == "household":
            # The household's session opens only /my; elsewhere it is the anonymous visitor.
            start, within = [landing, base + "/my/reports"], "/my"
        return crawler.crawl(
            page, start, role=role, lang=lang, viewport=str(viewport["width"]), within=within
        )
    finally:
        context.close()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_a_role(
    browser: Any,
    live_server: str,
    demo: dict[str, Any],
    demo_users: dict[str, tuple[str, str]],
    crawler_for: Any,
    role: str,
) -> None:
    started = time.monotonic()
    crawler = crawler_for(live_server)
    allow = load_allow_list()
    findings: list[Finding] = []
    lines: list[str] = []
    sizes = [PHONE, DESKTOP] if role in STAFF else [PHONE]
    for viewport in sizes:
        for lang in LANGS:
            crawl = _crawl_role(browser, live_server, role, lang, viewport, demo_users, crawler)
            findings += crawl.findings
            lines += [
                f"{role} {lang} {viewport['width']} {status} {secs:.1f}s {url}"
                for url, _, status, secs in crawl.visited
            ]
            if crawl.capped:
                lines.append(f"{role} {lang} {viewport['width']}: stopped at {MAX_PAGES} pages")
    unexplained = []
    for f in dict.fromkeys(findings):
        entry = next((a for a in allow if a.covers(f)), None)
        if entry is None:
            unexplained.append(f)
    print(f"\npage quality, {role}: {len(lines)} pages in {time.monotonic() - started:.0f}s")
    print("\n".join(lines))
    assert not unexplained, f"{len(unexplained)} page-quality findings:\n" + "\n".join(
        str(f) for f in unexplained
    )
