"""Every CSV export opens cleanly in Excel and WPS: UTF-8 with a BOM, one header row in the
user's language, labels instead of codes, no formulas, streamed in chunks."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from backend.core.csvexport import (
    BOM,
    csv_stream,
    csv_stream_async,
    csv_text,
    header,
    safe_cell,
    yuan,
)
from tests.helpers import post_form, sign_in_as
from tests.households.factories import make_household


def test_the_stream_starts_with_the_bom_and_the_header_then_chunks() -> None:
    chunks = list(csv_stream(["名称", "金额"], ([f"=x{i}", i] for i in range(5)), chunk_rows=2))
    assert chunks[0] == (BOM + "名称,金额\r\n").encode()
    assert len(chunks) == 1 + 3  # header, then 2 + 2 + 1 rows
    text = b"".join(chunks).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'=x0", "0"]
    assert text.count("\r\n") == 6


def test_the_async_stream_and_the_whole_text_agree() -> None:
    async def batches() -> Any:
        yield [["a", 1], ["+b", 2]]
        yield []
        yield [["c", 3]]

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in csv_stream_async(["h1", "h2"], batches())])

    streamed = asyncio.run(collect())
    assert streamed == csv_text(["h1", "h2"], [["a", 1], ["+b", 2], ["c", 3]]).encode()
    assert streamed.startswith(b"\xef\xbb\xbf")


def test_header_translates_and_yuan_keeps_two_decimals() -> None:
    assert header(["Region", "Phone"], "zh_CN") == ["辖区", "电话"]
    assert header(["Region", "Phone"], "en") == ["Region", "Phone"]
    assert [yuan(15000), yuan(-5), yuan(0)] == ["150.00", "-0.05", "0.00"]
    assert safe_cell("-12.50") == "-12.50"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"


async def test_household_export_has_bom_translated_header_and_labels(
    client: Any, runtime: Any, demo: Any
) -> None:
    async with runtime.transaction() as session:
        await make_household(session, demo["caseworker"], name="导出测试户", ages=(70, 12))
    await sign_in_as(client, runtime, demo["caseworker"])
    response = await post_form(client, "/households/export", {})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["辖区", "类别", "户主", "身份证号"]
    mine = next(r for r in rows if "导出测试户" in r)
    assert mine[1] == "低保"  # the label, not "dibao"
    assert "未成年子女" in mine[7]  # circumstances as words, not "minor"
    assert "dibao" not in response.text

    client.cookies.set("tx_lang", "en")
    english = await post_form(client, "/households/export", {})
    client.cookies.delete("tx_lang")
    head = next(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert head[:4] == ["Region", "Category", "Head of household", "ID card number"]


async def test_an_auditor_lands_on_the_workspace(client: Any, demo_users: dict[str, Any]) -> None:
    for who, asked, lands in (
        ("auditor", "", "/audit"),
        ("auditor", "/needs", "/needs"),
        ("caseworker", "", "/work"),
    ):
        client.cookies.clear()
        email, password = demo_users[who]
        response = await post_form(
            client, "/signin", {"email": email, "password": password, "next": asked}
        )
        assert response.status_code == 303
        assert response.headers["location"] == lands, who
