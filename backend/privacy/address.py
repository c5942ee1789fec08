"""Best-effort parsing of Chinese postal addresses into an administrative prefix and detail.

The administrative prefix is province → city → county/district → township/street
(街道, 镇, 乡). Everything after it (road and number, estate, building, room, village group)
is the *detail*, which identifies a household.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_C = r"(?:(?![路街巷弄村组号幢栋室\d])[\u4e00-\u9fff])"
_CT = r"(?:(?![街巷弄村组号幢栋室\d])[\u4e00-\u9fff])"  # "正东路街道" is a township
_ADMIN_RE = re.compile(
    rf"(?P<province>(?:北京|天津|上海|重庆)市|{_C}{{2,7}}?(?:省|自治区|特别行政区))?"
    rf"(?P<city>{_C}{{1,9}}?(?:市|自治州|地区|盟))?"
    rf"(?P<county>{_C}{{1,9}}?(?:区|县|市|旗))?"
    rf"(?P<township>{_CT}{{1,9}}?(?:街道|镇|乡))?"
)
_NOT_COUNTY = ("小区", "社区", "校区", "园区", "景区", "片区", "厂区", "营区")

# Boundaries when scanning back from a suffix to find the start of a road or estate name.
_NAME_STOP = frozenset("区苑园村镇乡道号室幢栋单元旁侧内近对面里楼组省市县路街巷弄")
_ESTATE_STOP = _NAME_STOP - frozenset("苑园")


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    admin: str  # e.g. "浙江省杭州市西湖区西溪街道"
    detail: str  # e.g. "文三路123号3幢2单元301室"
    has_township: bool
    has_county: bool


def parse_address(addr: str) -> ParsedAddress:
    """Split a compact address (no spaces) into its administrative prefix and the detail."""
    m = _ADMIN_RE.match(addr)
    assert m is not None  # every group is optional
    end = 0
    has_county = has_township = False
    for group in ("province", "city", "county", "township"):
        value = m.group(group)
        if value is None:
            continue
        if group == "county" and value.endswith(_NOT_COUNTY):
            break  # "翠苑小区" is an estate, not a district: stop here
        if group == "township" and m.start(group) != end:
            break
        end = m.end(group)
        has_county = has_county or group == "county"
        has_township = has_township or group == "township"
    return ParsedAddress(addr[:end], addr[end:], has_township, has_county)


def _name_before(detail: str, pos: int, max_len: int = 4, stop: frozenset[str] = _NAME_STOP) -> str:
    start = pos
    while start > 0 and pos - start < max_len:
        ch = detail[start - 1]
        if not "\u4e00" <= ch <= "\u9fff" or ch in stop:
            break
        start -= 1
    return detail[start:pos]


_ROAD_NO = re.compile(r"(?:大道|路|街|巷|弄|道)\d+(?:号|弄)(?:\d+号)?")
_ESTATE_SUFFIX = "小区|花园|新村|家园|公寓|大厦"
_ESTATE = re.compile(rf"[苑园]?(?:{_ESTATE_SUFFIX})|(?:名苑|嘉园|庄园|苑)(?!{_ESTATE_SUFFIX})")
_VILLAGE_GROUP = re.compile(r"村\d+(?:组|队)(?:\d+号)?")
_BLDG = r"\d+(?:幢|栋|号楼|座)"
_BUILDING = re.compile(rf"{_BLDG}\d+单元(?:\d+室?)?|{_BLDG}\d+室|\d+单元\d+室")


def significant_parts(addr: str) -> list[str]:
    """Substrings of a compact address that identify the household on their own.

    The whole address, its detail (if at least 3 characters), road + number ("文三路123号"),
    estate names ("翠苑小区"), village + group ("杨家村3组") and building/unit/room
    combinations ("3幢2单元301室"). Shorter, generic pieces (a road name alone, "301室") are not
    included: they would block ordinary text.
    """
    parts: list[str] = [addr]
    detail = parse_address(addr).detail
    if len(detail) >= 3:
        parts.append(detail)
    for m in _ROAD_NO.finditer(detail):
        name = _name_before(detail, m.start())
        if name:
            parts.append(name + m.group())
    for m in _ESTATE.finditer(detail):
        name = _name_before(detail, m.start(), stop=_ESTATE_STOP)
        if name and len(name) + len(m.group()) >= 3:
            parts.append(name + m.group())
    for m in _VILLAGE_GROUP.finditer(detail):
        name = _name_before(detail, m.start())
        if name:
            parts.append(name + m.group())
    parts.extend(m.group() for m in _BUILDING.finditer(detail))
    seen: dict[str, None] = {}
    for p in parts:
        if p:
            seen.setdefault(p, None)
    return list(seen)
