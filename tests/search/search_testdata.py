"""Deterministic listing corpora for the search tests (no personal data, only templates)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from backend.search.documents import SearchDocument

# province → city → district (→ township) chains, GB/T 2260 style
REGIONS: list[tuple[tuple[str, ...], str]] = [
    (("330000", "330100", "330106"), "西湖区"),
    (("330000", "330100", "330102"), "上城区"),
    (("330000", "330100", "330106", "330106001"), "北山街道"),
    (("330000", "330200", "330203"), "海曙区"),
    (("330000", "330300"), "温州市"),
    (("320000", "320100", "320102"), "玄武区"),
]
CATEGORIES = ["food", "education", "housing", "medical", "eldercare", "employment"]
STATES = ["published", "reserved", "in_progress", "fundraising"]
ORG_TYPES = [None, "charity", "union", "red_cross", "company", "volunteer_team"]
URGENCIES = [None, "emergency", "high", "normal"]

WHO = ["独居老人", "困难家庭", "残疾人", "留守儿童", "低保户", "特困人员", "重病患者", "退役军人"]
WHAT = [
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
]
WHERE = ["社区", "街道", "乡镇", "村委会"]
EXTRA = [
    "需要志愿者每周上门两次。",
    "由慈善联合会统筹资金。",
    "工会会员优先。",
    "红十字会博爱送万家项目支持。",
    "请在截止日期前完成对接。",
    "物资已部分到位，仍缺少运输车辆。",
    "改造前后照片将公开。",
    "欢迎爱心企业参与结对帮扶。",
]


def make_doc(rng: random.Random, i: int) -> SearchDocument:
    codes, name = REGIONS[rng.randrange(len(REGIONS))]
    who, what = rng.choice(WHO), rng.choice(WHAT)
    title = f"为{who}{what}"
    body = f"{rng.choice(WHERE)}{who}{what}。{rng.choice(EXTRA)}{rng.choice(EXTRA)}"
    deadline = None if rng.random() < 0.2 else date(2025, 1, 1) + timedelta(days=rng.randrange(365))
    return SearchDocument(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        kind=rng.choice(["need", "resource", "project", "task"]),
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
        created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(10**6) + i),
        lang="zh",
    )


def corpus(n: int, seed: int = 7) -> list[SearchDocument]:
    rng = random.Random(seed)
    return [make_doc(rng, i) for i in range(n)]
