"""Personal-data scan of public free text before publication (privacy rule 3).

What is found (offsets always index the ORIGINAL text, ``end`` exclusive):

* ``id_number`` – 18-character resident ID numbers with a valid check character, province
  code and birth date, also written with spaces/hyphens between digits or in full-width digits.
  Wrong-checksum numbers are *not* ID hits.
* ``mobile`` / ``landline`` – see :mod:`backend.privacy.phone`; ``+86``/``0086`` prefixes,
  separators and full-width digits are accepted.
* ``own_name`` / ``own_phone`` / ``own_address`` / ``own_id`` – the household's stored values,
  compared after normalising both sides (full-width folded, whitespace dropped, lower-cased;
  phone and ID numbers by their digits). For the address, identifying parts are matched on
  their own too (road + number, estate, village group, building/unit/room).
* ``person_name`` – words that rjieba tags ``nr``, 2–4 Han characters, starting with a common
  surname and not on :data:`NAME_ALLOW_LIST`.
* ``wechat`` – a WeChat id (6–20 characters starting with a letter, or a number) written after
  微信/威信/薇信/V信/vx/wx/WeChat/weixin (with an optional 号/ID and colon); only the id is marked.
* ``qq`` – a QQ number (5–12 digits, no leading 0) after QQ/扣扣/企鹅号.
* ``email`` – an e-mail address (full-width ＠ and letters folded).
* ``bank_card`` – a digit run of 16–19 digits (separators allowed) that passes the Luhn check and
  is not an ID or phone number.
* ``plate`` – a Chinese vehicle plate: province abbreviation, a letter, then 5 (or 6 for new-energy
  plates) letters/digits with at least one digit, with an optional ``·``/space/hyphen.
* ``household_name`` – the name of a household known to the acting organization through its
  active claims (passed in as ``known_names``; decrypted only inside the households module).

How numbers are read: the text is cut into *digit runs* — digit groups (ASCII or full-width;
an ``X`` may end a group) joined by at most 3 separator characters (spaces, hyphens, dots,
parentheses). Within a run, groups are read greedily from the left: the longest sequence of
whole groups that forms an ID number or a phone number wins. A run that as a whole has the
length of an ID number (17 digits + X, or 18 digits) but fails the checksum is reported only
through groups that are a phone number on their own, so a mistyped ID is not split into
spurious landline hits.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from backend.privacy._text import DIGIT_SEPARATORS, compact, compact_value, fold, fold_char
from backend.privacy.address import significant_parts
from backend.privacy.idcard import is_valid_id, normalize_id
from backend.privacy.masking import COMPOUND_SURNAMES
from backend.privacy.phone import classify_digits, normalize_phone

FindingKind = Literal[
    "id_number",
    "mobile",
    "landline",
    "own_name",
    "own_phone",
    "own_address",
    "own_id",
    "person_name",
    "wechat",
    "qq",
    "email",
    "bank_card",
    "plate",
    "household_name",
]

MAX_SEPARATOR_RUN = 3

# Common surnames (single and compound). A person-name candidate must start with one of them.
_SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    "兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻"
    "祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿"
    "桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_SURNAMES_2 = COMPOUND_SURNAMES
SURNAMES = frozenset(_SURNAMES_1)

# Words rjieba sometimes tags "nr" that are not names (kinship terms, places, organisations).
NAME_ALLOW_LIST = frozenset(
    [
        "社区", "爱心", "杭州市", "阿姨", "大爷", "大妈", "大娘", "奶奶", "爷爷", "老人",
        "小营", "街道", "居委", "村委", "民政", "残联", "工会", "妇联", "团委", "红十字",
        "志愿者", "同心", "幸福", "和平", "安康", "康复", "文明", "高兴", "明天", "金华",
        "常州", "温州", "华山", "黄山", "江山", "马上", "高新", "白云", "方便", "向阳",
        "阳光", "夏天", "冬天", "春节", "平安", "长安", "吉祥", "龙华", "宁波", "石桥",
        "申请人", "谢谢", "谢意", "常年", "高龄", "万元", "包括", "方面", "任何", "明白",
        "谢谢您", "谢谢你", "谢谢大家",
    ]
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    start: int
    end: int
    excerpt: str


@dataclass(frozen=True, slots=True)
class OwnValues:
    """The household's own stored values (plaintext, only inside the households module)."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None
    id_number: str | None = None
    other_names: tuple[str, ...] = field(default_factory=tuple)


@dataclass(slots=True)
class _Run:
    chars: str  # digits and X, ASCII
    index: list[int]  # original index of each char
    bounds: list[int]  # start offset (into chars) of each group, plus len(chars) at the end


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _digit_runs(text: str) -> list[_Run]:
    runs: list[_Run] = []
    n = len(text)
    i = 0
    while i < n:
        if not _is_digit(fold_char(text[i])):
            i += 1
            continue
        chars: list[str] = []
        index: list[int] = []
        bounds: list[int] = [0]
        j = i
        while True:
            # one group: digits, optionally a final X
            while j < n and _is_digit(fold_char(text[j])):
                chars.append(fold_char(text[j]))
                index.append(j)
                j += 1
            if j < n and fold_char(text[j]) in "xX":
                chars.append("X")
                index.append(j)
                j += 1
                bounds.append(len(chars))
                break
            bounds.append(len(chars))
            k = j
            while k < n and k - j < MAX_SEPARATOR_RUN and fold_char(text[k]) in DIGIT_SEPARATORS:
                k += 1
            if k > j and k < n and _is_digit(fold_char(text[k])):
                j = k
                continue
            break
        runs.append(_Run("".join(chars), index, bounds))
        i = j
    return runs


_ID_SHAPE = re.compile(r"\d{17}[\dX]")


def _classify(chunk: str) -> FindingKind | None:
    if len(chunk) == 18 and _ID_SHAPE.fullmatch(chunk):
        return "id_number" if is_valid_id(chunk) else None
    if "X" in chunk:
        return None
    return classify_digits(chunk)


def _span(text: str, run: _Run, a: int, b: int, kind: FindingKind) -> tuple[int, int]:
    start = run.index[a]
    end = run.index[b - 1] + 1
    before = fold_char(text[start - 1]) if start > 0 else ""
    plus = kind == "mobile" and before == "+"
    paren = kind == "landline" and before == "(" and ")" in fold(text[start:end])
    if plus or paren:
        start -= 1
    return start, end


def _number_findings(text: str, own_phone: str | None, own_id: str | None) -> list[Finding]:
    out: list[Finding] = []
    for run in _digit_runs(text):
        groups = len(run.bounds) - 1
        whole = run.chars
        id_like_wrong = bool(_ID_SHAPE.fullmatch(whole)) and not is_valid_id(whole)
        g = 0
        while g < groups:
            hit: tuple[int, FindingKind] | None = None
            last = g if id_like_wrong else groups - 1
            for h in range(last, g - 1, -1):
                a, b = run.bounds[g], run.bounds[h + 1]
                if b - a > 18 or b - a < 7:
                    continue
                kind = _classify(whole[a:b])
                if kind is not None:
                    hit = (h, kind)
                    break
            if hit is None:
                g += 1
                continue
            h, kind = hit
            a, b = run.bounds[g], run.bounds[h + 1]
            chunk = whole[a:b]
            start, end = _span(text, run, a, b, kind)
            final: FindingKind = kind
            if kind == "id_number" and own_id is not None and chunk == own_id:
                final = "own_id"
            elif kind != "id_number" and normalize_phone(chunk) == own_phone:
                final = "own_phone"
            out.append(Finding(final, start, end, text[start:end]))
            g = h + 1
        if own_id is not None and own_id not in whole:
            continue
        if own_id is not None and not any(f.kind == "own_id" for f in out):
            # own ID written in an unusual grouping or with a typo-free but odd layout
            pos = whole.find(own_id)
            start, end = run.index[pos], run.index[pos + len(own_id) - 1] + 1
            out.append(Finding("own_id", start, end, text[start:end]))
    return out


_WECHAT = re.compile(
    r"(?<![a-z0-9])(?:微信|威信|薇信|徽信|v信|vx|wx|wechat|weixin)\s*(?:号码|号|id|账号)?\s*[:=：]?\s*"
    r"(?P<id>[a-z][-_a-z0-9]{5,19}|\d{5,20})(?![-_a-z0-9])",
    re.IGNORECASE,
)
_QQ = re.compile(
    r"(?<![a-z0-9])(?:qq|扣扣|企鹅)\s*(?:号码|号|群)?\s*[:=：]?\s*(?P<id>[1-9]\d{4,11})(?!\d)",
    re.IGNORECASE,
)
_EMAIL = re.compile(
    r"(?<![a-z0-9._%+-])(?P<id>[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.[a-z]{2,24})",
    re.IGNORECASE,
)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(
    rf"(?P<id>[{_PROVINCES}]\s?[A-Z]\s?[·•・\-\s]?\s?"
    r"(?:[A-HJ-NP-Z0-9]{6}|[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳]))(?![A-Z0-9])",
    re.IGNORECASE,
)


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by bank-card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _contact_findings(text: str) -> list[Finding]:
    """WeChat and QQ ids (in context), e-mail addresses and vehicle plates."""
    folded = fold(text)  # same length as text: offsets carry over
    out: list[Finding] = []
    for kind, pattern in (
        ("wechat", _WECHAT),
        ("qq", _QQ),
        ("email", _EMAIL),
        ("plate", _PLATE),
    ):
        for m in pattern.finditer(folded):
            start, end = m.span("id")
            if kind == "plate" and not any(c.isdigit() for c in folded[start + 2 : end]):
                continue
            out.append(Finding(kind, start, end, text[start:end]))  # type: ignore[arg-type]
    return out


def _bank_cards(text: str, taken: Sequence[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for run in _digit_runs(text):
        whole = run.chars
        if "X" in whole or not 16 <= len(whole) <= 19 or not luhn_ok(whole):
            continue
        start, end = run.index[0], run.index[-1] + 1
        if any(f.start <= start and end <= f.end for f in taken):
            continue
        out.append(Finding("bank_card", start, end, text[start:end]))
    return out


def _substring_findings(
    compacted: str, index: list[int], text: str, needle: str, kind: FindingKind
) -> list[Finding]:
    out: list[Finding] = []
    if not needle:
        return out
    pos = compacted.find(needle)
    while pos != -1:
        start, end = index[pos], index[pos + len(needle) - 1] + 1
        out.append(Finding(kind, start, end, text[start:end]))
        pos = compacted.find(needle, pos + 1)
    return out


def _starts_with_surname(word: str) -> bool:
    return word[:2] in _SURNAMES_2 or word[0] in SURNAMES


def _is_han(word: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in word)


def _person_names(text: str) -> list[Finding]:
    out: list[Finding] = []
    pos = 0
    for word, tag in _tag(text):
        start = text.find(word, pos)
        if start == -1:  # defensive: the tagger should return the text's own characters
            continue
        end = start + len(word)
        pos = end
        if (
            tag == "nr"
            and 2 <= len(word) <= 4
            and _is_han(word)
            and word not in NAME_ALLOW_LIST
            and _starts_with_surname(word)
        ):
            out.append(Finding("person_name", start, end, word))
    return out


def _tag(text: str) -> list[tuple[str, str]]:
    import rjieba

    return [(str(w), str(t)) for w, t in rjieba.tag(text)]


@lru_cache(maxsize=256)
def _address_needles(address: str) -> tuple[str, ...]:
    return tuple(compact_value(p) for p in significant_parts(compact_value(address)))


_PRIORITY: dict[str, int] = {
    "own_id": 0,
    "own_phone": 0,
    "own_name": 0,
    "own_address": 0,
    "id_number": 1,
    "mobile": 1,
    "landline": 1,
    "household_name": 0,
    "wechat": 1,
    "qq": 1,
    "email": 1,
    "bank_card": 1,
    "plate": 1,
    "person_name": 2,
}


def _dedupe(findings: Sequence[Finding]) -> list[Finding]:
    """Drop a finding whose span lies inside a more specific (or equal-rank longer) one."""
    ordered = sorted(findings, key=lambda f: (_PRIORITY[f.kind], -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for f in ordered:
        covered = any(
            k.start <= f.start
            and f.end <= k.end
            and (_PRIORITY[k.kind] < _PRIORITY[f.kind] or k.kind == f.kind)
            for k in kept
        )
        if not covered:
            kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end, f.kind))


def scan_public_text(
    text: str, *, own_values: OwnValues | None = None, known_names: Sequence[str] = ()
) -> list[Finding]:
    """All personal data found in ``text``, sorted by position. Empty list: publishable.

    ``known_names``: names of households the author knows through its organization's active
    claims; each is refused as ``household_name``.
    """
    own = own_values or OwnValues()
    own_phone: str | None = None
    if own.phone:
        try:
            own_phone = normalize_phone(own.phone)
        except ValueError:
            own_phone = None
    own_id = normalize_id(own.id_number) if own.id_number else None

    findings = _number_findings(text, own_phone, own_id)
    cards = _bank_cards(text, [f for f in findings if f.kind in ("id_number", "own_id")])
    if cards:  # a phone-shaped part of a card number is the card, not a phone
        findings = [
            f for f in findings if not any(c.start <= f.start and f.end <= c.end for c in cards)
        ]
    findings += cards
    findings += _contact_findings(text)
    compacted, index = compact(text)
    if own_phone and not any(f.kind == "own_phone" for f in findings):
        findings += _substring_findings(compacted, index, text, own_phone, "own_phone")
    for name in (own.name, *own.other_names):
        if name and len(compact_value(name)) >= 2:
            findings += _substring_findings(compacted, index, text, compact_value(name), "own_name")
    for name in known_names:
        if name and len(compact_value(name)) >= 2:
            needle = compact_value(name)
            findings += _substring_findings(compacted, index, text, needle, "household_name")
    if own.address:
        for needle in _address_needles(own.address):
            findings += _substring_findings(compacted, index, text, needle, "own_address")
    findings += _person_names(text)
    return _dedupe(findings)


def mark_spans_html(text: str, findings: Sequence[Finding]) -> str:
    """HTML-escape ``text`` and wrap each finding in ``<mark class="pii" data-kind="…">``.

    Overlapping findings are merged into one mark whose ``data-kind`` lists the kinds.
    """
    spans = sorted((f.start, f.end, f.kind) for f in findings if 0 <= f.start < f.end <= len(text))
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            s0, e0, kinds = merged[-1]
            if kind not in kinds:
                kinds.append(kind)
            merged[-1] = (s0, max(e0, end), kinds)
        else:
            merged.append((start, end, [kind]))
    out: list[str] = []
    pos = 0
    for start, end, kinds in merged:
        out.append(html.escape(text[pos:start]))
        out.append(
            f'<mark class="pii" data-kind="{html.escape(" ".join(kinds))}">'
            f"{html.escape(text[start:end])}</mark>"
        )
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)
