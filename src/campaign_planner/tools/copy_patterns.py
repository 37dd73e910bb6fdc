"""What copy says about offers, links and claims, found by pattern (English and Chinese).

The copy rules (:mod:`campaign_planner.tools.copy_rules`) decide pass/fail; this module only finds
things: discount mentions with the percentage they promise, placeholders a model left in, banned
claims, and how much of a text is Chinese. Everything is deterministic, so a rule check means the
same thing on every run and every backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from campaign_planner.intake.numerals import chinese_number as _read_chinese_number

DiscountKind = Literal["percent", "zhe", "perk", "money_off", "generic"]

# Chinese numerals as they appear in discounts ("八五折", "百分之十五").
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMERAL = "零〇一二两三四五六七八九十"

# "100% cotton" states fabric composition, not a discount; refusing it would push good copy to repair.
_COMPOSITION_WORDS = (
    r"cotton|linen|silk|wool|merino|cashmere|polyester|viscose|modal|lyocell|tencel|nylon|spandex|"
    r"elastane|organic|recycled|natural|leather|denim|bamboo|hemp|"
    r"棉|纯棉|麻|亚麻|真丝|桑蚕丝|丝|羊毛|羊绒|涤纶|莫代尔|天丝|再生|有机"
)

_PERCENT = re.compile(
    r"(?P<lead>(?:\b(?:get|save|enjoy|take|extra|up\s+to|an?)\s+)*(?:立减|直降|减|省|享|打|低至)?)"
    r"(?<![\d.])(?P<number>\d{1,3}(?:\.\d+)?)(?P<sign>\s*(?:%|％|percent\b|per\s?cent\b|pct\b))"
    r"(?P<tail>\s*(?:off\b|discount\b|折扣|优惠)?)",
    re.IGNORECASE,
)
_PERCENT_CN = re.compile(
    rf"(?P<lead>(?:立减|直降|减|省|享|低至)?)百分之(?P<number>[{_CN_NUMERAL}]{{1,3}})(?P<tail>(?:的)?(?:折扣|优惠)?)"
)
_ZHE = re.compile(
    rf"(?P<lead>(?:全场|限时|立享|享|打|低至)?)"
    rf"(?<![\d.])(?P<zhe>(?P<number>\d(?:\.\d{{1,2}})?|\d{{2}}|[{_CN_NUMERAL[:-1]}]{{1,2}})\s*折)(?![扣叠])"
    rf"(?P<tail>(?:优惠)?)"
)
_HALF_PRICE = re.compile(r"(?<!第二件)半价")

# Non-percentage perks: allowed only where the brief's offer text promises the same perk.
_PERKS: dict[str, re.Pattern[str]] = {
    "free_shipping": re.compile(
        r"\bfree\s+(?:standard\s+|express\s+)?(?:shipping|delivery|postage)\b|包邮|免邮|免运费|免费配送|免费送货",
        re.IGNORECASE,
    ),
    "free_returns": re.compile(r"\bfree\s+(?:returns?|exchanges?)\b|免费退换|免费退货|运费险", re.IGNORECASE),
    "bogo": re.compile(
        r"\bbuy\s+one,?\s+get\s+one\b|\bbogo\b|\b2\s+for\s+1\b|买一送一|第二件半价|买二送一", re.IGNORECASE
    ),
    "free_gift": re.compile(r"\bfree\s+gifts?\b|赠品|送好礼|免费赠送|买就送", re.IGNORECASE),
}
_MONEY_OFF = re.compile(
    r"(?:[$€£¥￥]\s?\d[\d,]*(?:\.\d+)?\s*off\b)|(?:\bsave\s+[$€£¥￥]\s?\d[\d,]*(?:\.\d+)?)"
    r"|(?:满\s*\d+\s*减\s*\d+)|(?:(?:立减|直降|减)\s*\d+\s*元)|(?:\d+\s*元\s*(?:优惠券|券|红包))",
    re.IGNORECASE,
)
# Words that imply a price reduction without a number; they matter only when the brief forbids discounts.
_GENERIC_DISCOUNT = re.compile(
    r"\b(?:discount(?:s|ed)?|on\s+sale|sale|markdowns?|clearance|coupons?|promo\s+codes?|deals?|"
    r"reduced|price\s+drop)\b|折扣|打折|优惠|特价|促销|大促|降价|清仓|秒杀|券",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DiscountMention:
    """One place where copy promises a price advantage.

    ``percent_off`` is the percentage off it states (``85折`` → 15.0) for ``percent``/``zhe`` mentions and
    None otherwise; ``number_span`` locates just the number, so a repair can rewrite it in place.
    """

    kind: DiscountKind
    text: str
    start: int
    end: int
    percent_off: float | None = None
    number_span: tuple[int, int] | None = None
    perk: str | None = None


def chinese_number(numerals: str) -> int | None:
    """Return the value of a Chinese numeral ("十五" → 15, "八五" → 85), or None if unreadable.

    The package's one Chinese-numeral reader (:func:`campaign_planner.intake.numerals.chinese_number`),
    so a discount in copy and a budget in a brief are read by the same rules.
    """
    return _read_chinese_number(numerals)


def zhe_to_percent_off(number: str) -> float | None:
    """Return the percentage off that ``<number>折`` means: "85"/"8.5"/"八五" → 15.0, "8"/"八" → 20.0."""
    if number and number[0] in _CN_DIGITS:
        value = chinese_number(number)
        if value is None:
            return None
        price_share = value * 10 if value < 10 else value
    else:
        try:
            parsed = float(number)
        except ValueError:
            return None
        # "8.5折" and "85折" both mean paying 85%; a single digit "8折" means 80%.
        price_share = parsed * 10 if parsed < 10 else parsed
    if not 0 < price_share < 100:
        return None
    return round(100.0 - price_share, 2)


def percent_to_zhe(percent_off: float) -> str:
    """Return the Chinese "折" form of a percentage off: 15 → "8.5折", 20 → "8折"."""
    return f"{(100.0 - percent_off) / 10:g}折"


def _is_composition(text: str, end: int) -> bool:
    return re.match(rf"\s*(?:{_COMPOSITION_WORDS})", text[end:], re.IGNORECASE) is not None


def find_discount_mentions(text: str) -> list[DiscountMention]:
    """Return every discount, perk and (generic) sale mention in ``text``, in reading order.

    Percentages that state fabric composition ("100% cotton") are not mentions. Overlapping matches are
    resolved in favour of the more specific one (a percentage beats the word "discount" around it).
    """
    mentions: list[DiscountMention] = []
    for pattern in (_PERCENT, _PERCENT_CN):
        for match in pattern.finditer(text):
            if pattern is _PERCENT and _is_composition(text, match.end("sign")):
                continue
            raw = match.group("number")
            value = chinese_number(raw) if pattern is _PERCENT_CN else float(raw)
            if value is None:
                continue
            mentions.append(
                DiscountMention(
                    kind="percent",
                    text=match.group(0).strip(),
                    start=match.start(),
                    end=match.end(),
                    percent_off=float(value),
                    number_span=match.span("number"),
                )
            )
    for match in _ZHE.finditer(text):
        percent_off = zhe_to_percent_off(match.group("number"))
        if percent_off is not None:
            mentions.append(
                DiscountMention(
                    kind="zhe",
                    text=match.group(0),
                    start=match.start(),
                    end=match.end(),
                    percent_off=percent_off,
                    number_span=match.span("zhe"),
                )
            )
    for match in _HALF_PRICE.finditer(text):
        mentions.append(DiscountMention("zhe", match.group(0), match.start(), match.end(), 50.0))
    for perk, pattern in _PERKS.items():
        for match in pattern.finditer(text):
            mentions.append(DiscountMention("perk", match.group(0), match.start(), match.end(), perk=perk))
    for match in _MONEY_OFF.finditer(text):
        mentions.append(DiscountMention("money_off", match.group(0), match.start(), match.end()))
    for match in _GENERIC_DISCOUNT.finditer(text):
        mentions.append(DiscountMention("generic", match.group(0), match.start(), match.end()))
    return _without_overlaps(mentions)


_SPECIFICITY = {"percent": 0, "zhe": 0, "money_off": 1, "perk": 2, "generic": 3}


def _without_overlaps(mentions: list[DiscountMention]) -> list[DiscountMention]:
    kept: list[DiscountMention] = []
    for mention in sorted(mentions, key=lambda m: (_SPECIFICITY[m.kind], m.start)):
        if all(mention.end <= other.start or mention.start >= other.end for other in kept):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.start)


def perks_in(text: str) -> set[str]:
    """Return the perks ``text`` promises: ``free_shipping``, ``free_returns``, ``bogo``, ``free_gift``."""
    return {perk for perk, pattern in _PERKS.items() if pattern.search(text)}


def numbers_in(text: str) -> set[str]:
    """Return the numbers written in ``text`` (commas removed), to compare money-off amounts."""
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


_LINK_TAIL = r"(?:\S*[^\s.,;:!?'\")\]。，；：！？）】])?"

_PLACEHOLDERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "link",
        re.compile(
            # A link never ends with the sentence's punctuation ("… at www.example.com." keeps its full stop).
            rf"https?://{_LINK_TAIL}|\bwww\.{_LINK_TAIL}|\b[a-z0-9-]+\.(?:com|net|org|io|cn|shop|store|ly)\b"
            rf"(?:/{_LINK_TAIL})?",
            re.I,
        ),
    ),
    ("e-mail address", re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")),
    (
        "bracket placeholder",
        re.compile(r"\[[^\[\]]{0,40}\]|\{\{.*?\}\}|\{[A-Za-z_][\w ]{0,30}\}|<[^<>]{1,40}>"),
    ),
    ("XXX placeholder", re.compile(r"(?<![A-Za-z])(?:X{2,}|x{3,})(?![A-Za-z])|×{2,}|某某")),
    ("template text", re.compile(r"\blorem ipsum\b|\bTBD\b|\bTODO\b|\binsert\b[^.!?]{0,30}\bhere\b", re.I)),
    (
        "bracket placeholder",
        re.compile(r"【[^】]{0,10}(?:链接|网址|品牌名|名称|姓名|占位|此处)[^】]{0,10}】|（此处[^）]*）"),
    ),
)


def find_placeholders(text: str) -> list[tuple[str, str, int, int]]:
    """Return ``(what, matched text, start, end)`` for each link, e-mail or placeholder in ``text``."""
    found: list[tuple[str, str, int, int]] = []
    for what, pattern in _PLACEHOLDERS:
        found.extend((what, m.group(0), m.start(), m.end()) for m in pattern.finditer(text))
    return sorted(found, key=lambda item: item[2])


# Claims no shop copy may make: absolute superlatives, guarantees and medical claims. The Chinese list
# follows the absolute terms China's Advertising Law forbids (最佳, 第一, 国家级 ...).
DEFAULT_BANNED_CLAIMS: tuple[str, ...] = (
    r"\bbest in the world\b",
    r"\bworld'?s best\b",
    r"\bguarantee[ds]?\b",
    r"\bcure[sd]?\b",
    r"#\s?1\b",
    r"\bno\.\s?1\b",
    r"\bnumber one\b",
    r"\bclinically (?:proven|tested)\b",
    r"\bmedically proven\b",
    r"\bdoctor[- ]recommended\b",
    r"\bfda[- ]approved\b",
    r"\bheals?\b",
    r"\bremedy\b",
    r"\btherapeutic\b",
    r"\brelieves? pain\b",
    r"\blose weight\b",
    r"\bweight loss\b",
    r"\bmiracle\b",
    r"\brisk[- ]free\b",
    r"最好",
    r"最佳",
    r"最优",
    r"第一(?![次步眼天件])",
    r"世界级",
    r"国家级",
    r"顶级",
    r"最高级",
    r"史上最低价?",
    r"全网最低价?",
    r"保证",
    r"包治",
    r"治愈",
    r"治疗",
    r"疗效",
    r"根治",
    r"无副作用",
    r"100%有效",
)


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Return a case-insensitive pattern for a brand word: whole words for Latin, substring for Chinese."""
    escaped = re.escape(phrase.strip())
    if re.search(r"[A-Za-z0-9]", phrase[:1]):
        escaped = r"\b" + escaped
    if re.search(r"[A-Za-z0-9]", phrase[-1:]):
        escaped = escaped + r"\b"
    return re.compile(escaped, re.IGNORECASE)


def find_banned(text: str, extra_phrases: Iterable[str] = ()) -> list[tuple[str, int, int]]:
    """Return ``(matched text, start, end)`` for each default banned claim or extra phrase in ``text``."""
    patterns = [re.compile(p, re.IGNORECASE) for p in DEFAULT_BANNED_CLAIMS]
    patterns += [phrase_pattern(p) for p in extra_phrases if p.strip()]
    found = {(m.group(0), m.start(), m.end()) for pattern in patterns for m in pattern.finditer(text)}
    return sorted(found, key=lambda item: item[1])


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_HASHTAG = re.compile(r"#[^\W\d_][\w\u4e00-\u9fff-]*#?")


def cjk_count(text: str) -> int:
    """Return the number of Chinese (CJK unified) characters in ``text``."""
    return len(_CJK.findall(text))


def chinese_share(text: str) -> float:
    """Return the share of Chinese among the text's words, counting each CJK character and Latin word once.

    Counting a Latin word (a brand, "T恤") once rather than per letter keeps a few Latin words from
    sinking Chinese copy; 0.0 for text with neither.
    """
    chinese = cjk_count(text)
    latin_words = len(_LATIN_WORD.findall(text))
    total = chinese + latin_words
    return chinese / total if total else 0.0


def latin_letter_count(text: str) -> int:
    """Return the number of ASCII letters in ``text``."""
    return sum(len(word) for word in _LATIN_WORD.findall(text))


def is_mostly_chinese(text: str) -> bool:
    """Return True when at least 60% of ``text``'s words are Chinese (see :func:`chinese_share`)."""
    return chinese_share(text) >= 0.6


def hashtags_in(text: str) -> list[str]:
    """Return the hashtags in ``text`` ("#SummerDress", "#新品", "#话题#"); "#1" is not a hashtag."""
    return _HASHTAG.findall(text)
