"""The typeable 幸福码: format and check character, lookups that forgive case and separators,
keyed-hash storage, reissue, wrong-PIN limits, and the card and PIN-slip pages (never both)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from backend.audit.models import AuditEntry
from backend.core.errors import Invalid, RateLimited
from backend.households import code as hc
from backend.households import repository as repo
from backend.households import service as hs
from backend.households.cards import office_phone
from backend.households.models import Household
from backend.households.pinguard import IP_MAX_FAILURES
from backend.outbox.models import OutboxEvent
from tests.fulfilment.factories import user
from tests.helpers import post_form, sign_in_as
from tests.households.factories import make_household

SHAPE = re.compile(
    r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]$"
)


def _visible(html: str) -> str:
    """The page's text as a person sees it (no SVG path data, no attributes)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", html, flags=re.S))


def _ip() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def _wrong(pin: str) -> str:
    return "000000" if pin != "000000" else "111111"


# ---------------------------------------------------------------- the code itself


def test_format_alphabet_and_randomness() -> None:
    codes = {hc.generate() for _ in range(2000)}
    assert len(codes) == 2000
    for code in itertools.islice(codes, 200):
        assert len(code) == 13
        assert SHAPE.match(hc.display(code)), hc.display(code)
        assert not set(code) & set("ILOU")
        assert hc.normalize(code) == code
    assert hc.DATA_LENGTH * 5 >= 60  # 12 random base-32 characters: 60 bits
    # every position takes every symbol (no position is fixed or biased to a few values)
    for i in range(hc.DATA_LENGTH):
        assert len({c[i] for c in codes}) == 32


def test_check_character_catches_every_single_typo_and_every_swap() -> None:
    for _ in range(60):
        code = hc.generate()
        for i in range(len(code)):
            for ch in hc.ALPHABET:
                if ch == code[i]:
                    continue
                typo = code[:i] + ch + code[i + 1 :]
                with pytest.raises(hc.CodeFormatError) as exc:
                    hc.normalize(typo)
                assert exc.value.reason == "check"
        for i, j in itertools.combinations(range(len(code)), 2):
            if code[i] == code[j]:
                continue
            swapped = list(code)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            with pytest.raises(hc.CodeFormatError):
                hc.normalize("".join(swapped))


def test_lookup_forgives_case_separators_and_look_alikes() -> None:
    code = hc.with_check("XFMA2026DEM0")
    shown = hc.display(code)
    spellings = [
        shown,
        shown.lower(),
        shown.replace("-", " "),
        shown.replace("-", ""),
        "  " + shown.lower().replace("-", " - ") + " ",
        shown.replace("0", "O").replace("1", "I"),  # O for zero is read as zero
        "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else "－" for c in shown),  # full-width
        f"https://tongxin.example/my#{shown}",
        f"http://x/my#{shown.lower()}",
    ]
    for spelling in spellings:
        assert hc.normalize(spelling) == code, spelling
    for bad, reason in [("", "empty"), ("ABCD-EFGH", "length"), ("ABCD-EFGH-JKLM-U", "chars")]:
        with pytest.raises(hc.CodeFormatError) as exc:
            hc.normalize(bad)
        assert exc.value.reason == reason


def test_office_phone_from_settings() -> None:
    assert office_phone("0571-8765 4321", "330106004") == "0571-8765 4321"
    setting = "330106=0571-1111,33010600=0571-2222,331022=0576-3333,*=12345"
    assert office_phone(setting, "330106004") == "0571-2222"  # the longest prefix wins
    assert office_phone(setting, "330106100") == "0571-1111"
    assert office_phone(setting, "331022001") == "0576-3333"
    assert office_phone(setting, "330212001") == "12345"
    assert office_phone("", "330106004") == ""


# ---------------------------------------------------------------- storage, reissue, limits


async def test_code_is_stored_only_as_a_keyed_hash(db: Any, demo: dict[str, Any]) -> None:
    caseworker = await user(db, demo["caseworker"])
    h = await make_household(db, demo["caseworker"])
    issued = await hs.issue_code(db, caseworker, h.id)
    assert SHAPE.match(hc.display(issued.code))
    assert h.code_hash == hc.code_hash(issued.code)
    assert h.code_hash != hashlib.sha256(issued.code.encode()).hexdigest()
    other_key = hmac.new(b"k" * 32, issued.code[:12].encode(), hashlib.sha256).hexdigest()
    assert h.code_hash != other_key
    assert h.pin_hash and issued.pin not in h.pin_hash
    row = (
        await db.execute(
            text("SELECT row_to_json(h)::text FROM households h WHERE id = :id"), {"id": h.id}
        )
    ).scalar_one()
    for secret in (issued.code, issued.code[:12], hc.display(issued.code), issued.pin):
        assert secret not in row
    assert await repo.by_code_hash(db, hc.code_hash(hc.normalize(hc.display(issued.code).lower())))


async def test_typo_is_caught_before_any_lookup_or_count(
    db: Any, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    caseworker = await user(db, demo["caseworker"])
    h = await make_household(db, demo["caseworker"])
    issued = await hs.issue_code(db, caseworker, h.id)
    typo = issued.code[:3] + ("2" if issued.code[3] != "2" else "3") + issued.code[4:]

    async def no_lookup(*_: Any) -> None:
        raise AssertionError("looked up a code the check character rejects")

    monkeypatch.setattr(repo, "by_code_hash", no_lookup)
    ip = _ip()
    with pytest.raises(Invalid) as exc:
        await hs.verify_code_and_pin(db, typo, issued.pin, client_ip=ip)
    assert exc.value.code == "code_check"
    assert exc.value.fields == {"code": "check"}
    assert await hs._guard(db).locked_for(None, ip) == 0
    assert not await hs._guard(db).redis.exists(hs._guard(db)._keys("ip", ip)[0])


async def test_reissue_invalidates_old_code_and_pin_at_once(db: Any, demo: dict[str, Any]) -> None:
    caseworker = await user(db, demo["caseworker"])
    h = await make_household(db, demo["caseworker"])
    first = await hs.issue_code(db, caseworker, h.id)
    check = await hs.verify_code_and_pin(db, hc.display(first.code), first.pin, client_ip=_ip())
    assert check.household_id == h.id
    second = await hs.issue_code(db, caseworker, h.id)
    assert second.code != first.code
    with pytest.raises(Invalid) as old_code:
        await hs.verify_code_and_pin(db, first.code, first.pin, client_ip=_ip())
    assert old_code.value.code == "unknown_code"
    if first.pin != second.pin:
        with pytest.raises(Invalid) as old_pin:
            await hs.verify_code_and_pin(db, second.code, first.pin, client_ip=_ip())
        assert old_pin.value.code == "wrong_pin"
    assert (
        await hs.verify_code_and_pin(db, second.code, second.pin, client_ip=_ip())
    ).household_id == h.id
    audited = (
        await db.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.object_id == str(h.id), AuditEntry.action == "household.code_issued")
            .order_by(AuditEntry.id)
        )
    ).all()
    assert sorted(d["reissued"] for d in audited) == [False, True]
    events = (
        await db.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.aggregate_id == h.id, OutboxEvent.topic == "household.code_issued"
            )
        )
    ).all()
    assert len(events) == 2
    for payload in events:
        assert set(payload) == {"reissued"}  # ids and flags only: no code, no PIN


async def test_wrong_pins_show_tries_left_then_lock_per_code(db: Any, demo: dict[str, Any]) -> None:
    caseworker = await user(db, demo["caseworker"])
    h = await make_household(db, demo["caseworker"])
    issued = await hs.issue_code(db, caseworker, h.id)
    for left in (4, 3, 2, 1):
        with pytest.raises(Invalid) as exc:
            await hs.verify_code_and_pin(db, issued.code, _wrong(issued.pin), client_ip=_ip())
        assert exc.value.params["remaining"] == left
    with pytest.raises(RateLimited) as locked:
        await hs.verify_code_and_pin(db, issued.code, _wrong(issued.pin), client_ip=_ip())
    assert 14 * 60 < locked.value.retry_after <= 15 * 60
    with pytest.raises(RateLimited):  # the right PIN, from another address, still waits
        await hs.verify_code_and_pin(db, issued.code, issued.pin, client_ip=_ip())


async def test_one_address_trying_many_codes_is_locked(db: Any, demo: dict[str, Any]) -> None:
    caseworker = await user(db, demo["caseworker"])
    ip = _ip()
    tries = 0
    while tries < IP_MAX_FAILURES - 1:
        h = await make_household(db, demo["caseworker"])
        issued = await hs.issue_code(db, caseworker, h.id)
        for _ in range(min(3, IP_MAX_FAILURES - 1 - tries)):
            with pytest.raises(Invalid):
                await hs.verify_code_and_pin(db, issued.code, _wrong(issued.pin), client_ip=ip)
            tries += 1
    with pytest.raises(RateLimited):  # an unknown code is the 20th failure
        await hs.verify_code_and_pin(db, hc.generate(), "123456", client_ip=ip)
    fresh = await hs.issue_code(db, caseworker, (await make_household(db, demo["caseworker"])).id)
    with pytest.raises(RateLimited) as locked:  # even a right code and PIN from that address
        await hs.verify_code_and_pin(db, fresh.code, fresh.pin, client_ip=ip)
    assert locked.value.retry_after > 0
    assert (await hs.verify_code_and_pin(db, fresh.code, fresh.pin, client_ip=_ip())).household_id


# ---------------------------------------------------------------- the card and the PIN slip


async def _committed_household(runtime: Any, demo: dict[str, Any]) -> Household:
    async with runtime.transaction() as session:
        return await make_household(session, demo["caseworker"], region="330106004")


async def test_card_shows_the_code_and_the_slip_the_pin_never_together(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    h = await _committed_household(runtime, demo)
    await sign_in_as(client, runtime, demo["caseworker"])
    issued = await post_form(client, f"/households/{h.id}/code", {})
    assert issued.status_code == 303
    card_url = issued.headers["location"]
    assert card_url.startswith("/households/cards/")
    card = await client.get(card_url)
    assert card.status_code == 200
    shown = re.findall(r"<p class=\"code\"[^>]*>(.*?)</p>", card.text)
    assert len(shown) == 1
    groups = re.findall(r"<span>([0-9A-Z]{1,4})</span>", shown[0])
    code = "".join(groups)
    assert [len(g) for g in groups] == [4, 4, 4, 1]
    hc.normalize(code)  # a valid code, check character and all
    assert "<svg" in card.text  # the QR
    assert "/static/card-a6.css" in card.text
    assert "12345" in card.text  # the office phone from settings (default)
    assert "测试户主" not in card.text  # the household's community, never its name
    async with runtime.sessionmaker() as session:
        row = await session.get(Household, h.id)
        assert row is not None and row.code_hash == hc.code_hash(code)
    sheet = await client.get(card_url + "?layout=a4")
    assert "/static/card-a4.css" in sheet.text

    ready = await client.get(card_url + "/slips")
    assert ready.status_code == 200
    assert "show-slips" in ready.text
    slips = await post_form(client, card_url + "/slips", {})
    assert slips.status_code == 200
    pins = re.findall(r"<p class=\"pin\">(\d{6})</p>", slips.text)
    assert len(pins) == 1
    pin = pins[0]
    for page in (card.text, sheet.text, ready.text):
        assert 'class="pin"' not in page
        assert pin not in _visible(page)
    for variant in (code, hc.display(code), *groups[:3]):
        assert variant not in slips.text
    assert (
        await hs_verify(runtime, code, pin)
    ) == h.id  # the slip's PIN opens this household's code
    again = await post_form(client, card_url + "/slips", {})
    assert again.status_code == 409  # shown once
    assert pin not in again.text
    async with runtime.sessionmaker() as session:
        shown_audit = await session.scalar(
            select(AuditEntry.id).where(
                AuditEntry.object_id == str(h.id), AuditEntry.action == "household.pin_slip_shown"
            )
        )
    assert shown_audit is not None
    other = await post_form(client, "/households/cards/not-a-batch/slips", {})
    assert other.status_code == 404


async def hs_verify(runtime: Any, code: str, pin: str) -> uuid.UUID:
    async with runtime.transaction() as session:
        return (await hs.verify_code_and_pin(session, code, pin, client_ip=_ip())).household_id


async def test_a4_sheet_of_several_cards(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    households = [await _committed_household(runtime, demo) for _ in range(5)]
    await sign_in_as(client, runtime, demo["caseworker"])
    csrf = client.cookies.get("tx_csrf") or ""
    if not csrf:
        await client.get("/signin")
        csrf = client.cookies.get("tx_csrf")
    response = await client.post(
        "/households/cards",
        content="&".join(f"household={h.id}" for h in households),
        headers={"x-csrftoken": csrf, "content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    sheet = await client.get(response.headers["location"] + "?layout=a4")
    assert sheet.text.count('class="code-card"') == 5
    assert "/static/card-a4.css" in sheet.text
    codes = re.findall(r"<p class=\"code\"[^>]*>(.*?)</p>", sheet.text)
    assert len(set(codes)) == 5
    async with runtime.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(Household.code_hash).where(Household.id.in_([h.id for h in households]))
            )
        ).all()
    assert all(rows) and len(set(rows)) == 5


# ---------------------------------------------------------------- demo and the household session


async def test_demo_household_code_opens_and_has_a_delivery_waiting(
    db: Any, demo: dict[str, Any]
) -> None:
    from backend.demo.households import DEMO_CODE, DEMO_PIN, demo_household_sign_in
    from backend.fulfilment import repository as fulfilment_repo

    printed = await demo_household_sign_in(db)
    assert printed == (hc.display(DEMO_CODE), DEMO_PIN)
    assert SHAPE.match(printed[0])
    check = await hs.verify_code_and_pin(db, printed[0], printed[1], client_ip=_ip())
    assert check.household_id == demo["demo_household"]
    deliveries = await fulfilment_repo.household_deliveries(db, check.household_id)
    assert any(d.state.value == "recorded" for d, _, _ in deliveries)
    assert check.region_code.startswith("330106")


async def test_household_session_ends_after_ten_idle_minutes(runtime: Any) -> None:
    from backend.fulfilment.selfservice import IDLE_SECONDS, SelfServiceStore, _key

    assert IDLE_SECONDS == 10 * 60
    store = SelfServiceStore(runtime.queue.pool)
    household = uuid.uuid4()
    token = await store.open(household)
    redis = runtime.queue.pool
    assert 0 < await redis.ttl(_key(token)) <= IDLE_SECONDS
    await redis.expire(_key(token), 5)  # nearly idle for ten minutes…
    assert await store.household(token) == household  # …a request starts them again
    assert await redis.ttl(_key(token)) > IDLE_SECONDS - 5
    await redis.delete(_key(token))  # the ten minutes are over
    assert await store.household(token) is None
    assert await store.household("x" * 101) is None
