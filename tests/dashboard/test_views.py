"""Sign-in lands a coordinator on the dashboard; the page and a CSV answer in both languages."""

from __future__ import annotations

from typing import Any

from tests.helpers import post_form


async def _sign_in(client: Any, who: tuple[str, str], **extra: str) -> Any:
    email, password = who
    return await post_form(client, "/signin", {"email": email, "password": password, **extra})


async def test_a_coordinator_lands_on_the_dashboard(
    client: Any, demo_users: dict[str, Any]
) -> None:
    response = await _sign_in(client, demo_users["coordinator"])
    assert response.status_code == 303
    assert response.headers["location"] == "/coordination/dashboard"
    page = await client.get("/coordination/dashboard")
    assert page.status_code == 200
    assert "/static/vendor/echarts/echarts.min.js" in page.text
    assert 'href="/coordination/dashboard"' in page.text  # the section navigation


async def test_a_given_next_page_still_wins(client: Any, demo_users: dict[str, Any]) -> None:
    response = await _sign_in(client, demo_users["coordinator"], next="/reports")
    assert response.headers["location"] == "/reports"


async def test_others_land_where_they_did(client: Any, demo_users: dict[str, Any]) -> None:
    response = await _sign_in(client, demo_users["volunteer"])
    assert response.headers["location"] == "/"


async def test_csv_in_the_readers_language(client: Any, demo_users: dict[str, Any]) -> None:
    await _sign_in(client, demo_users["coordinator"])
    for lang, header in (("zh_CN", "周（周一）,已发布"), ("en", "Week (Monday),Published")):
        client.cookies.set("tx_lang", lang)
        response = await client.get("/coordination/dashboard/csv/flow?county=330106")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "tongxin-flow-330106.csv" in response.headers["content-disposition"]
        assert response.content.startswith(b"\xef\xbb\xbf")
        text = response.content.decode("utf-8-sig")
        assert text.splitlines()[0].startswith(header)
        assert len(text.splitlines()) == 1 + 26
    assert (await client.get("/coordination/dashboard/csv/nothing")).status_code == 404
    assert (await client.get("/coordination/dashboard?county=331022")).status_code == 404
