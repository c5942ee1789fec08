"""Message ids of explanations and their Chinese fallback renderings.

Message ids are English ``str.format`` strings wrapped in :func:`N_`, a no-op marker that Babel
extracts (``pybabel extract -k N_``); the web app translates them through its gettext
catalogs. :data:`ZH` is only a fallback translator for tests and the command line.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark ``message`` for extraction; returns it unchanged."""
    return message


# Constraint items.
CATEGORY_SAME = N_("Category matches: {category}")
CATEGORY_COMPAT = N_("Offer category {offer_category} can serve need category {need_category}")
IN_AREA = N_("In the offer's service area at {level} level (region {code})")
ELIGIBLE_ANY = N_("Open to every household category")
ELIGIBLE_CATEGORIES = N_("Household category allowed: {categories}")
ELIGIBLE_FLAGS = N_("Household has the required flags: {flags}")
WINDOW_OK = N_("Available until {until} and from {start}; need deadline {deadline}")
CAPACITY_OK = N_(
    "Offer has {offer_remaining} units left, need {need_remaining}; proposed {quantity}"
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
BEAT = N_("Beat offer {other_offer} by {margin:.1f} points per unit")
LOST_CAPACITY = N_(
    "Offer {other_offer} scored {margin:.1f} points more per unit "
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
    N_("none"),
    N_("not rated"),
)
TRANSLATED_PARAMS = frozenset({"level", "urgency", "start", "until", "deadline", "rating"})

ZH: dict[str, str] = {
    CATEGORY_SAME: "类别一致：{category}",
    CATEGORY_COMPAT: "资源类别 {offer_category} 可满足需求类别 {need_category}",
    IN_AREA: "位于资源服务范围内（{level}级，区划 {code}）",
    ELIGIBLE_ANY: "不限救助类别",
    ELIGIBLE_CATEGORIES: "家庭救助类别符合：{categories}",
    ELIGIBLE_FLAGS: "家庭具备所需条件：{flags}",
    WINDOW_OK: "可用期至 {until}，起始 {start}；需求截止 {deadline}",
    CAPACITY_OK: "资源剩余 {offer_remaining} 份，需求 {need_remaining} 份；拟分配 {quantity} 份",
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
    BEAT: "每份比资源 {other_offer} 高 {margin:.1f} 分",
    LOST_CAPACITY: "资源 {other_offer} 每份高 {margin:.1f} 分，但其容量在最优方案中分给了其他需求",
    ONLY_CANDIDATE: "该需求仅此一个候选资源",
    "province": "省",
    "city": "市",
    "county": "县（区）",
    "township": "乡镇（街道）",
    "community": "村（社区）",
    "emergency": "紧急",
    "high": "较急",
    "normal": "一般",
    "none": "无",
    "not rated": "暂无评分",
}


def zh(message: str) -> str:
    """Fallback translator to Chinese (tests and command line only)."""
    return ZH.get(message, message)


def identity(message: str) -> str:
    """The English translator."""
    return message
