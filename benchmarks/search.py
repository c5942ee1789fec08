# ruff: noqa: PERF401, S608  -- SQL text is built from a pid-named table and fixed columns only
"""Search benchmark: tantivy engine vs a bare index loop vs PostgreSQL full-text search.

    python benchmarks/search.py --docs 200000

Prints a table and, as the last line, one JSON object with the figures. Figures, not pass/fail.
PostgreSQL DSN: env TONGXIN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test);
the benchmark creates and drops its own table bench_search_<pid>.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import tantivy

# benchmarks/http.py is named like the standard library's ``http``: take this folder off the
# import path so that ``import http`` finds the standard library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.search import (  # noqa: E402
    SearchDocument,
    SearchQuery,
    analysis,
)
from backend.search.documents import day_number  # noqa: E402
from backend.search.tantivy_engine import (  # noqa: E402
    WS_ANALYZER,
    TantivyEngine,
    build_schema,
)

SEED = 20240601
REGIONS: list[tuple[tuple[str, ...], str]] = []
for p in ("330000", "320000", "440000"):
    for c in range(1, 7):
        city = f"{p[:2]}{c:02d}00"
        REGIONS.append(((p, city), f"市{c}"))
        for d in range(1, 6):
            district = f"{p[:2]}{c:02d}{d:02d}"
            REGIONS.append(((p, city, district), f"区{d}"))
            for t in range(1, 4):
                REGIONS.append(((p, city, district, f"{district}{t:03d}"), f"街道{t}"))
CATEGORIES = ["food", "education", "housing", "medical", "eldercare", "employment", "goods"]
STATES = ["published", "reserved", "in_progress", "fundraising", "executing"]
ORG_TYPES = [None, "charity", "union", "red_cross", "company", "volunteer_team", "social_work"]
KINDS = ["need", "resource", "project", "task"]
URGENCIES = [None, "emergency", "high", "normal", "normal"]
ZH_WHO = [
    "独居老人",
    "困难家庭",
    "残疾人",
    "留守儿童",
    "低保户",
    "特困人员",
    "重病患者",
    "退役军人",
    "单亲母亲",
    "失业职工",
    "高龄老人",
    "孤儿",
]
ZH_WHAT = [
    "送米面油",
    "助学金资助",
    "暖巢更新住房改造",
    "冬季取暖物资",
    "上门陪护服务",
    "就业技能培训",
    "医疗费用救助",
    "微心愿认领",
    "爱心午餐配送",
    "防滑扶手安装",
    "心理疏导",
    "法律援助",
    "康复器材捐赠",
    "课后辅导",
    "家电维修",
]
ZH_EXTRA = [
    "需要志愿者每周上门两次。",
    "由慈善联合会统筹资金。",
    "工会会员优先。",
    "红十字会博爱送万家项目支持。",
    "请在截止日期前完成对接。",
    "物资已部分到位，仍缺少运输车辆。",
    "改造前后照片将公开。",
    "欢迎爱心企业参与结对帮扶。",
    "政府购买服务，社工机构执行。",
    "资金使用情况定期公示。",
]
EN_WHO = [
    "elderly residents",
    "families in difficulty",
    "disabled people",
    "left-behind children",
    "veterans",
    "single parents",
    "seriously ill patients",
]
EN_WHAT = [
    "food parcel delivery",
    "school tuition support",
    "home renovation",
    "winter heating supplies",
    "home care visits",
    "job skills training",
    "medical expense relief",
    "wheelchair donation",
    "after-school tutoring",
]
EN_EXTRA = [
    "Volunteers are delivering twice a week.",
    "Funded by the charity federation.",
    "Union members first.",
    "Photos before and after will be published.",
    "Companies are welcome to sponsor.",
    "Transport vehicles are still needed.",
]


def generate(n: int) -> list[SearchDocument]:
    rng = random.Random(SEED)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    out: list[SearchDocument] = []
    for _i in range(n):
        codes, name = rng.choice(REGIONS)
        if rng.random() < 0.8:
            who, what = rng.choice(ZH_WHO), rng.choice(ZH_WHAT)
            title, lang = f"为{who}{what}", "zh"
            body = f"{name}{who}{what}。" + "".join(rng.sample(ZH_EXTRA, 3))
        else:
            who, what = rng.choice(EN_WHO), rng.choice(EN_WHAT)
            title, lang = f"{what.capitalize()} for {who}", "en"
            body = f"{what.capitalize()} in {name} for {who}. " + " ".join(rng.sample(EN_EXTRA, 2))
        deadline = None if rng.random() < 0.3 else date(2025, 1, 1) + timedelta(rng.randrange(400))
        out.append(
            SearchDocument(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                kind=rng.choice(KINDS),  # type: ignore[arg-type]
                title=title,
                body=body,
                category=rng.choice(CATEGORIES),
                region_codes=codes,
                region_name=name,
                urgency=rng.choice(URGENCIES),  # type: ignore[arg-type]
                state=rng.choice(STATES),
                org_type=rng.choice(ORG_TYPES),
                org_name=None,
                deadline=deadline,
                created_at=t0 + timedelta(seconds=rng.randrange(10**8)),
                lang=lang,  # type: ignore[arg-type]
            )
        )
    return out


def query_mix(docs: list[SearchDocument]) -> list[tuple[str, SearchQuery]]:
    rng = random.Random(SEED + 1)
    vocab = sorted({w for d in docs[:2000] for w in analysis.query_tokens(d.title) if len(w) >= 2})
    regions = sorted({c for codes, _ in REGIONS for c in codes})
    mix: list[tuple[str, SearchQuery]] = []
    for _ in range(100):
        mix.append(("one_word", SearchQuery(text=rng.choice(vocab))))
    for _ in range(100):
        mix.append(("two_words", SearchQuery(text=" ".join(rng.sample(vocab, 2)))))
    for _ in range(100):
        mix.append(
            (
                "word_filters",
                SearchQuery(
                    text=rng.choice(vocab),
                    kinds=(rng.choice(KINDS),),
                    region_code=rng.choice(regions),
                    urgencies=("emergency", "high"),
                ),
            )
        )
    for _ in range(100):
        mix.append(
            (
                "filters_only",
                SearchQuery(
                    categories=(rng.choice(CATEGORIES),),
                    region_code=rng.choice(regions),
                    states=(rng.choice(STATES),),
                    sort=rng.choice(["newest", "urgency", "deadline"]),
                ),
            )
        )
    rng.shuffle(mix)
    return mix


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def bare_index(docs: list[SearchDocument], path: Path) -> float:
    """Segment title + body and add them to a fresh index with the same schema; one commit."""
    path.mkdir(parents=True)
    index = tantivy.Index(build_schema(), path=str(path))
    index.register_tokenizer(
        WS_ANALYZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    )
    writer = index.writer(256 * 1024 * 1024, 0)
    analysis.segment("预热 warm-up")  # jieba loads its dictionary on first use: not timed
    t = time.perf_counter()
    for d in docs:
        doc = tantivy.Document()
        doc.add_text("id", d.id)
        doc.add_text("title_t", analysis.segment(d.title))
        doc.add_text("body_t", analysis.segment(d.body))
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    return time.perf_counter() - t


def pg_sql(q: SearchQuery) -> tuple[str, list[object]]:
    where: list[str] = []
    args: list[object] = []
    terms = analysis.query_tokens(q.text) if q.text else []
    if terms:
        args.append(" & ".join(t.replace("'", "") for t in terms))
        where.append(f"tsv @@ to_tsquery('simple', ${len(args)})")
    for col, values in (
        ("kind", q.kinds),
        ("category", q.categories),
        ("urgency", q.urgencies),
        ("state", q.states),
        ("org_type", q.org_types),
    ):
        if values:
            args.append(list(values))
            where.append(f"{col} = ANY(${len(args)})")
    if q.region_code:
        args.append([q.region_code])
        where.append(f"region_codes @> ${len(args)}")
    order = {
        "newest": "created_at DESC",
        "urgency": "urgency_key DESC",
        "deadline": "deadline_sort ASC",
    }.get(q.sort, "created_at DESC")
    if terms and q.sort == "relevance":
        order = "ts_rank(tsv, to_tsquery('simple', $1)) DESC"
    sql = (
        f"SELECT id, count(*) OVER () FROM {{t}} WHERE {' AND '.join(where) or 'TRUE'} "
        f"ORDER BY {order} LIMIT {q.per_page} OFFSET {q.offset}"
    )
    return sql, args


async def run_pg(
    dsn: str, docs: list[SearchDocument], mix: list[tuple[str, SearchQuery]]
) -> dict[str, float]:
    table = f"bench_search_{os.getpid()}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"""CREATE TABLE {table} (id uuid PRIMARY KEY, kind text, category text,
            urgency text, state text, org_type text, region_codes text[], deadline_day int,
            deadline_sort int, urgency_key bigint, created_at timestamptz, segmented text,
            tsv tsvector)""")
        t = time.perf_counter()
        rows = [
            (
                uuid.UUID(d.id),
                d.kind,
                d.category,
                d.urgency,
                d.state,
                d.org_type,
                list(d.region_codes),
                None if d.deadline is None else day_number(d.deadline),
                10**7 if d.deadline is None else day_number(d.deadline),
                0,
                d.created_at,
                analysis.segment(f"{d.title} {d.body} {d.region_name}"),
            )
            for d in docs
        ]
        await conn.copy_records_to_table(
            table,
            records=rows,
            columns=[
                "id",
                "kind",
                "category",
                "urgency",
                "state",
                "org_type",
                "region_codes",
                "deadline_day",
                "deadline_sort",
                "urgency_key",
                "created_at",
                "segmented",
            ],
        )
        await conn.execute(f"UPDATE {table} SET tsv = to_tsvector('simple', segmented)")
        await conn.execute(f"CREATE INDEX ON {table} USING gin (tsv)")
        await conn.execute(f"CREATE INDEX ON {table} USING gin (region_codes)")
        await conn.execute(f"CREATE INDEX ON {table} (created_at)")
        await conn.execute(f"ANALYZE {table}")
        load_s = time.perf_counter() - t
        times: list[float] = []
        for _, q in mix:
            sql, args = pg_sql(q)
            t = time.perf_counter()
            await conn.fetch(sql.format(t=table), *args)
            times.append((time.perf_counter() - t) * 1000)
        return {
            "pg_load_s": load_s,
            "pg_p50_ms": pct(times, 50),
            "pg_p95_ms": pct(times, 95),
            "pg_p99_ms": pct(times, 99),
        }
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()


def recall(engine: TantivyEngine, docs: list[SearchDocument], words: list[str]) -> float:
    """Micro-averaged recall of one-word queries against a substring scan of title + body."""
    texts = [(d.id, f"{d.title}\n{d.body}\n{d.region_name}".lower()) for d in docs]
    searcher = engine._current_searcher()  # benchmark-only peek: count hits among the expected ids
    schema = build_schema()
    found = relevant = 0
    for w in words:
        expected = [i for i, t in texts if w in t]
        if not expected:
            continue
        query, _ = engine.build_query(SearchQuery(text=w))
        restricted = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, query),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(schema, "id", expected)),
            ]
        )
        found += int(getattr(searcher.search(restricted, limit=1), "count", 0))
        relevant += len(expected)
    return found / relevant if relevant else 1.0


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=20_000)
    args = ap.parse_args()
    dsn = os.environ.get("TONGXIN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

    t = time.perf_counter()
    docs = generate(args.docs)
    gen_s = time.perf_counter() - t
    mix = query_mix(docs)
    with tempfile.TemporaryDirectory() as tmp:
        bare_s = bare_index(docs, Path(tmp) / "bare")
        engine = TantivyEngine(Path(tmp) / "engine")

        async def batches() -> AsyncIterator[list[SearchDocument]]:
            for i in range(0, len(docs), args.batch):
                yield docs[i : i + args.batch]

        t = time.perf_counter()
        await engine.rebuild(batches())  # what `tongxin reindex` does
        index_s = time.perf_counter() - t
        for _, q in mix[:50]:  # warm-up
            await engine.search(q)
        per_kind: dict[str, list[float]] = {}
        all_ms: list[float] = []
        for kind, q in mix:
            t = time.perf_counter()
            await engine.search(q)
            ms = (time.perf_counter() - t) * 1000
            all_ms.append(ms)
            per_kind.setdefault(kind, []).append(ms)
        nofacet_ms: list[float] = []
        for _, q in mix:
            q2 = SearchQuery(
                **{**{f: getattr(q, f) for f in q.__dataclass_fields__}, "with_facets": False}
            )
            t = time.perf_counter()
            await engine.search(q2)
            nofacet_ms.append((time.perf_counter() - t) * 1000)
        one_words = sorted({q.text for k, q in mix if k == "one_word"})
        rec = recall(engine, docs, one_words)
        await engine.close()
    pg = await run_pg(dsn, docs, mix)

    print(f"docs={args.docs}  generated in {gen_s:.1f}s  queries={len(mix)}")
    print(f"{'':24}{'tantivy':>12}{'postgres':>12}")
    print(f"{'index / load (s)':24}{index_s:12.1f}{pg['pg_load_s']:12.1f}")
    print(f"{'bare index loop (s)':24}{bare_s:12.1f}")
    print(f"{'p50 ms':24}{pct(all_ms, 50):12.2f}{pg['pg_p50_ms']:12.2f}")
    print(f"{'p95 ms':24}{pct(all_ms, 95):12.2f}{pg['pg_p95_ms']:12.2f}")
    print(f"{'p99 ms':24}{pct(all_ms, 99):12.2f}{pg['pg_p99_ms']:12.2f}")
    print(f"{'p95 ms without facets':24}{pct(nofacet_ms, 95):12.2f}")
    for kind, ms in sorted(per_kind.items()):
        print(f"  {kind:22}p50 {statistics.median(ms):6.2f}  p95 {pct(ms, 95):6.2f}")
    print(f"{'recall (one-word)':24}{rec:12.4f}")
    print("(PostgreSQL returns page + total only; tantivy also computes six facets.)")
    print(
        json.dumps(
            {
                "docs": args.docs,
                "index_s": round(index_s, 2),
                "bare_index_s": round(bare_s, 2),
                "index_vs_bare": round(index_s / bare_s, 2),
                "p50_ms": round(pct(all_ms, 50), 3),
                "p95_ms": round(pct(all_ms, 95), 3),
                "p99_ms": round(pct(all_ms, 99), 3),
                "p95_no_facets_ms": round(pct(nofacet_ms, 95), 3),
                "pg_p50_ms": round(pg["pg_p50_ms"], 3),
                "pg_p95_ms": round(pg["pg_p95_ms"], 3),
                "pg_p99_ms": round(pg["pg_p99_ms"], 3),
                "pg_load_s": round(pg["pg_load_s"], 2),
                "recall": round(rec, 4),
                "per_kind_p95_ms": {k: round(pct(v, 95), 3) for k, v in sorted(per_kind.items())},
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
