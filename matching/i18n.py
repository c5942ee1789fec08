"""Message ids of explanations and their Chinese fallback renderings.

Message ids are English ``str.format`` strings wrapped in :func:`N_`, a no-op marker that Babel
extracts (``pybabel extract -k N_``); the web app translates them through its gettext
catalogs. :data:`ZH` is only a fallback translator for tests and the command line.

Parameters are plain values; a value that differs by language (an item kind's name, a unit, a
category) is a ``{"zh": ..., "en": ...}`` mapping that :func:`matching.explain.render_item`
picks from by locale. No parameter is ever a raw code or id.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark ``message`` for extraction; returns it unchanged."""
    return message


# Constraint items.
OFFER = N_("Offer: {offer}")
KIND_SAME = N_("Item kind matches: {kind}")
KIND_SUBSTITUTE = N_("{offer_kind} may stand in for the {need_kind} asked for")
CATEGORY_SAME = N_("Same category: {category}")
CATEGORY_COMPAT = N_("Offer category {offer_category} can serve need category {need_category}")
UNITS_SAME = N_("Counted in the same unit: {unit}")
UNITS_CONVERTED = N_("Quantities converted to {unit}")
IN_AREA_LEVEL = N_("Inside the offer's service area ({level} level)")
ELIGIBLE_ANY = N_("Open to every household category")
ELIGIBLE_CATEGORIES = N_("Household category allowed: {categories}")
ELIGIBLE_FLAGS = N_("Household has the required flags: {flags}")
WINDOW_ANY = N_("Available at any time")
WINDOW_UNTIL = N_("Available until {until}")
WINDOW_FROM = N_("Available from {start}")
WINDOW_FROM_UNTIL = N_("Available from {start} to {until}")
NEED_DEADLINE = N_("Needed by {deadline}")
CAPACITY_UNITS = N_(
    "Offer has {offer_remaining} {offer_unit} left, the need asks for {need_remaining} {unit}; "
    "proposed {quantity} {unit}"
)
OFFER_LIMIT = N_("Within the offer's limit of {limit} units per household")
HOUSEHOLD_CAP = N_("Within the limit of {cap} units per household per run")

# Score items.
SCORE = N_("Score {score:.1f} points per unit")
EMERGENCY_FIRST = N_("Emergency need: served before any non-emergency need")
PART_URGENCY = N_("Urgency {urgency} adds {points:.1f} points")
PART_VULNERABILITY = N_("Vulnerability {value:.2f} adds {points:.1f} points")
PART_WAITING = N_("Waiting {days} days adds {points:.1f} points")
PART_DISTANCE = N_("Offer based at {level} level adds {points:.1f} points")
PART_DEADLINE = N_("Deadline {deadline} adds {points:.1f} points")
PART_RATING = N_("Organization rating {rating} adds {points:.1f} points")
PART_RELEVANCE = N_("Words shared with the need ({words}) add {points:.1f} points")
BEAT = N_("Beat {other_offer} by {margin:.1f} points per unit")
LOST_CAPACITY = N_(
    "{other_offer} scored {margin:.1f} points more per unit "
    "but its capacity went to other needs in the optimal plan"
)
ONLY_CANDIDATE = N_("Only candidate offer for this need")

# Words used as parameter values (translated by ``render`` for the keys in TRANSLATED_PARAMS).
WORDS = (
    N_("province"),
    N_("city"),
    N_("county"),
    N_("township"),
    N_("community"),
    N_("emergency"),
    N_("high"),
    N_("normal"),
    N_("not rated"),
)
TRANSLATED_PARAMS = frozenset({"level", "urgency", "rating"})

#: Names of need categories (the web app's and the engine tests'), Chinese and English.
CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "goods": ("物资", "Goods"),
    "meals": ("助餐", "Meals"),
    "education": ("助学", "Education"),
    "medical": ("医疗", "Medical care"),
    "housing_repair": ("住房修缮", "Housing repair"),
    "employment": ("就业帮扶", "Employment"),
    "companionship": ("陪伴探访", "Companionship and visits"),
    "legal_aid": ("法律援助", "Legal aid"),
    "micro_wish": ("微心愿", "Micro-wish"),
    "cash": ("现金救助", "Cash"),
    "services": ("生活服务", "Everyday services"),
    "food": ("食品", "Food"),
    "clothing": ("衣物", "Clothing"),
    "daily_goods": ("日用品", "Daily goods"),
    "rehabilitation": ("康复", "Rehabilitation"),
    "heating": ("取暖", "Heating"),
    "eldercare": ("养老照护", "Elder care"),
    "disability_aid": ("助残", "Disability aid"),
    "cash_grant": ("现金资助", "Cash grant"),
    "voucher": ("消费券", "Voucher"),
    "medical_service": ("医疗服务", "Medical service"),
    "rehab_equipment": ("康复器具", "Rehabilitation equipment"),
    "tutoring": ("辅导", "Tutoring"),
    "volunteer_visit": ("志愿探访", "Volunteer visit"),
    "home_care": ("居家照护", "Home care"),
    "renovation": ("修缮", "Renovation"),
}

#: Household assistance categories and flags (eligibility), Chinese and English.
HOUSEHOLD_NAMES: dict[str, tuple[str, str]] = {
    "dibao": ("低保", "minimum living allowance"),
    "dibao_edge": ("低保边缘", "near minimum living allowance"),
    "tekun": ("特困", "extreme poverty support"),
    "expense_poverty": ("支出型贫困", "expense-driven poverty"),
    "temporary": ("临时救助", "temporary assistance"),
    "low_income_farmer": ("低收入农户", "low-income farming household"),
    "disabled": ("有残疾成员", "disabled member"),
    "seriously_ill": ("有重病成员", "seriously ill member"),
    "minor": ("有未成年人", "minor"),
    "elderly": ("有老年人", "elderly member"),
    "union_hardship": ("困难职工", "union member in hardship"),
    "veteran": ("退役军人", "veteran"),
}

#: English names of common Chinese units (a unit without one is shown as written).
UNIT_EN: dict[str, str] = {
    "件": "pcs",
    "个": "pcs",
    "台": "units",
    "辆": "units",
    "把": "pcs",
    "条": "pcs",
    "床": "pcs",
    "张": "pcs",
    "套": "sets",
    "副": "pairs",
    "双": "pairs",
    "根": "pcs",
    "支": "pcs",
    "本": "books",
    "斤": "jin",
    "kg": "kg",
    "L": "L",
    "吨": "t",
    "袋": "bags",
    "桶": "barrels",
    "瓶": "bottles",
    "箱": "boxes",
    "盒": "boxes",
    "包": "packs",
    "罐": "cans",
    "份": "portions",
    "餐": "meals",
    "次": "times",
    "人次": "person-times",
    "小时": "hours",
    "天": "days",
    "户": "households",
    "元": "yuan",
    "节": "lessons",
    "课时": "lessons",
    "期": "courses",
    "项": "items",
}

ZH: dict[str, str] = {
    OFFER: "资源：{offer}",
    KIND_SAME: "物品种类一致：{kind}",
    KIND_SUBSTITUTE: "{offer_kind}可替代所需的{need_kind}",
    CATEGORY_SAME: "类别一致：{category}",
    CATEGORY_COMPAT: "资源类别{offer_category}可满足需求类别{need_category}",
    UNITS_SAME: "计量单位相同：{unit}",
    UNITS_CONVERTED: "数量已换算为{unit}",
    IN_AREA_LEVEL: "位于资源服务范围内（{level}级）",
    ELIGIBLE_ANY: "不限救助类别",
    ELIGIBLE_CATEGORIES: "家庭救助类别符合：{categories}",
    ELIGIBLE_FLAGS: "家庭具备所需条件：{flags}",
    WINDOW_ANY: "随时可提供",
    WINDOW_UNTIL: "可提供至 {until}",
    WINDOW_FROM: "自 {start} 起可提供",
    WINDOW_FROM_UNTIL: "可提供时间 {start} 至 {until}",
    NEED_DEADLINE: "需求截止 {deadline}",
    CAPACITY_UNITS: (
        "资源剩余 {offer_remaining} {offer_unit}，需求 {need_remaining} {unit}；"
        "拟分配 {quantity} {unit}"
    ),
    OFFER_LIMIT: "未超过该资源每户 {limit} 份的限额",
    HOUSEHOLD_CAP: "未超过每户每轮 {cap} 份的限额",
    SCORE: "每份得分 {score:.1f}",
    EMERGENCY_FIRST: "紧急需求：优先于所有非紧急需求",
    PART_URGENCY: "紧急程度（{urgency}）加 {points:.1f} 分",
    PART_VULNERABILITY: "困难程度 {value:.2f} 加 {points:.1f} 分",
    PART_WAITING: "已等待 {days} 天，加 {points:.1f} 分",
    PART_DISTANCE: "资源来自{level}级，加 {points:.1f} 分",
    PART_DEADLINE: "截止日期 {deadline}，加 {points:.1f} 分",
    PART_RATING: "机构评分 {rating}，加 {points:.1f} 分",
    PART_RELEVANCE: "与需求描述共有词语（{words}），加 {points:.1f} 分",
    BEAT: "每份比{other_offer}高 {margin:.1f} 分",
    LOST_CAPACITY: "{other_offer}每份高 {margin:.1f} 分，但其容量在最优方案中分给了其他需求",
    ONLY_CANDIDATE: "该需求仅此一个候选资源",
    "province": "省",
    "city": "市",
    "county": "县（区）",
    "township": "乡镇（街道）",
    "community": "村（社区）",
    "emergency": "紧急",
    "high": "较急",
    "normal": "一般",
    "not rated": "暂无评分",
}


def zh(message: str) -> str:
    """Fallback translator to Chinese (tests and command line only)."""
    return ZH.get(message, message)


def identity(message: str) -> str:
    """The English translator."""
    return message


def localized(zh_text: str, en_text: str) -> dict[str, str]:
    """A parameter value that differs by language."""
    return {"zh": zh_text, "en": en_text}


def category_name(code: str) -> dict[str, str]:
    zh_name, en_name = CATEGORY_NAMES.get(code, (code, code))
    return localized(zh_name, en_name)


def household_names(codes: list[str]) -> dict[str, str]:
    pairs = [HOUSEHOLD_NAMES.get(c, (c, c)) for c in codes]
    return localized("、".join(p[0] for p in pairs), ", ".join(p[1] for p in pairs))


def unit_name(unit: str) -> dict[str, str]:
    if not unit:
        return localized("份", "units")
    return localized(unit, UNIT_EN.get(unit, unit))
