"""Deterministic brief parsing: budgets, currencies, periods, channels, audiences and offers.

Everything here that becomes a number in a plan is read by rules, not by the language model: a 1.5B
model gets currencies and magnitudes wrong too often ("30万元" is 300,000 CNY, not 30). The rules cover
English and Chinese briefs. What they cannot settle becomes a flag or an open question, never a guess
passed off as fact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from campaign_planner.data.catalog import ChannelCatalog
from campaign_planner.domain import (
    Assumption,
    Audience,
    Brief,
    ChannelBound,
    Flag,
    FlagCode,
    Money,
    Offer,
)

CJK = re.compile(r"[\u4e00-\u9fff]")

# Department vocabulary of the clothing catalogue (the public dataset's "Department Name" values).
DEPARTMENT_TERMS: dict[str, tuple[str, ...]] = {
    "Dresses": ("dress", "dresses", "gown", "sundress", "连衣裙", "裙装", "礼服"),
    "Tops": (
        "top", "tops", "blouse", "blouses", "knit", "knits", "knitwear", "sweater", "sweaters", "shirt",
        "shirts", "tee", "tees", "t-shirt", "cardigan", "上衣", "针织", "毛衣", "衬衫", "t恤",
    ),
    "Bottoms": (
        "jeans", "denim", "pants", "trousers", "skirt", "skirts", "shorts", "leggings", "bottoms",
        "裤", "牛仔裤", "半身裙", "短裤",
    ),
    "Jackets": ("jacket", "jackets", "coat", "coats", "outerwear", "parka", "blazer", "外套", "夹克", "大衣"),
    "Intimate": (
        "intimates", "intimate", "lingerie", "bra", "bras", "sleepwear", "loungewear", "underwear",
        "pajamas", "内衣", "睡衣", "家居服",
    ),
}

# Platforms people name in briefs that the default catalog does not carry: named, so that a brief
# asking for them gets an `unknown_channel` flag instead of silently losing the request.
KNOWN_UNSUPPORTED_PLATFORMS = (
    "snapchat", "linkedin", "twitter", "reddit", "spotify", "twitch", "bilibili", "kuaishou",
    "whatsapp", "telegram", "threads", "radio", "direct mail", "快手", "哔哩哔哩", "b站", "知乎",
)

CURRENCY_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY"}
CURRENCY_WORDS = {
    "usd": "USD", "dollar": "USD", "dollars": "USD", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "cny": "CNY", "rmb": "CNY", "yuan": "CNY",
    "元": "CNY", "人民币": "CNY", "块": "CNY", "jpy": "JPY", "yen": "JPY", "円": "JPY",
}
CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                  "九": 9, "十": 10}
MAGNITUDES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "千": 1e3, "万": 1e4,
              "百万": 1e6, "亿": 1e8}

_NUMBER = r"(?P<sign>[-−])?\s*(?P<num>\d[\d,]*(?:\.\d+)?|[零一二两三四五六七八九十]+)"
_MONEY = re.compile(
    r"(?P<pre>US\$|[$€£¥￥])?\s*" + _NUMBER
    + r"\s*(?P<mag>thousand|million|mm|百万|[kKmM千万亿](?![a-zA-Z]))?\s*"
    + r"(?P<post>usd|eur|gbp|cny|rmb|jpy|dollars?|euros?|pounds?|yuan|yen|元人民币|人民币|元|块|円)?",
    re.IGNORECASE,
)
_BOUND_WORDS = re.compile(
    r"(at least|minimum of|min(?:imum)?\.?|no less than|at most|no more than|maximum of|max(?:imum)?\.?|up to|"
    r"cap(?:ped)? at|不少于|至少|不超过|最多|最少)",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"(?:\bno\b|\bnot\b|\bwithout\b|\bexclude[sd]?\b|\bexcluding\b|\bavoid\b|\bskip\b|\bnever\b|"
    r"不要|不用|不投|不做|不含|除了|排除|禁止)",
    re.IGNORECASE,
)


@dataclass
class ParsedBrief:
    """The parsed brief plus everything the parser wants a human to see."""

    brief: Brief
    flags: list[Flag] = field(default_factory=list)
    open_questions: list[str] = field(default_factory=list)
    assumptions: list[Assumption] = field(default_factory=list)
    budget_invalid: bool = False


def detect_language(text: str) -> str:
    """Return "zh" when Chinese characters make up a fair share of the brief's letters, else "en"."""
    cjk = len(CJK.findall(text))
    letters = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 2 >= letters * 0.3 else "en"


def _chinese_number(token: str) -> float | None:
    if token.isdigit():
        return float(token)
    total = 0
    current = 0
    for char in token:
        value = CHINESE_DIGITS.get(char)
        if value is None:
            return None
        if value == 10:
            total += (current or 1) * 10
            current = 0
        else:
            current = value
    return float(total + current)


def _to_number(token: str) -> float | None:
    if re.fullmatch(r"\d[\d,]*(?:\.\d+)?", token):
        return float(token.replace(",", ""))
    return _chinese_number(token)


@dataclass
class MoneyMention:
    amount: float
    currency: str | None
    start: int
    end: int
    negative: bool


def find_money(text: str) -> list[MoneyMention]:
    """Return every amount of money written in ``text`` (needs a currency mark or a magnitude)."""
    mentions = []
    for match in _MONEY.finditer(text):
        pre, post, mag = match.group("pre"), match.group("post"), match.group("mag")
        if not (pre or post or mag):
            continue
        number = _to_number(match.group("num"))
        if number is None:
            continue
        after = text[match.end() : match.end() + 2]
        if not pre and not post and mag and mag.lower() in {"m"} and re.match(r"\s*(in|on)\b", after):
            continue
        # "15% off" and "4 weeks" are not money; a bare number with a magnitude but no currency is.
        if text[match.end() : match.end() + 1] == "%":
            continue
        multiplier = MAGNITUDES.get((mag or "").lower(), MAGNITUDES.get(mag or "", 1.0))
        currency = None
        if pre:
            currency = CURRENCY_SYMBOLS.get(pre.upper() if pre != "¥" else pre, CURRENCY_SYMBOLS.get(pre))
        if post:
            currency = CURRENCY_WORDS.get(post.lower(), CURRENCY_WORDS.get(post, currency))
        preceding = text[max(0, match.start() - 12) : match.start()]
        negative = bool(match.group("sign")) or bool(re.search(r"(?:[-−]|minus|negative)\s*$", preceding))
        mentions.append(
            MoneyMention(number * multiplier, currency, match.start(), match.end(), negative)
        )
    return mentions


def find_weeks(text: str) -> int | None:
    """Return the campaign length in weeks from "over 4 weeks", "a month", "为期两周", "10 days"…"""
    lowered = text.lower()
    for pattern, factor in (
        (r"(\d+|[一二两三四五六七八九十]+)\s*(?:-\s*)?(?:weeks?|wks?|周|个星期|星期)", 1.0),
        (r"(\d+|[一二两三四五六七八九十]+)\s*(?:-\s*)?(?:months?|个月|月)", 30.4 / 7),
        (r"(\d+|[一二两三四五六七八九十]+)\s*(?:-\s*)?(?:days?|天)", 1 / 7),
    ):
        match = re.search(pattern, lowered)
        if match:
            number = _to_number(match.group(1))
            if number:
                return max(1, math.ceil(number * factor - 1e-9))
    if re.search(r"\b(a|one) month\b|一个月", lowered):
        return 4
    if re.search(r"\b(a|one) week\b|一周", lowered):
        return 1
    return None


def find_ages(text: str) -> tuple[int | None, int | None]:
    """Return (age_min, age_max) from "aged 25-40", "over 50", "50+", "under 30", "25到35岁"."""
    lowered = text.lower()
    ranged = re.search(
        r"(?:aged?|ages|women|men|customers|people|adults|shoppers|人群|女性|男性|[:：])?\s*"
        r"(\d{2})\s*(?:-|–|—|to|到|至|~)\s*(\d{2})\s*(?:岁|years?|yrs?|y/o|year-olds|-year-olds)?",
        lowered,
    )
    if ranged:
        low, high = int(ranged.group(1)), int(ranged.group(2))
        context = lowered[max(0, ranged.start() - 30) : ranged.end() + 12]
        if re.search(r"age|women|men|old|岁|customer|adult|shopper|people|人群|女性|男|女", context):
            return low, high
    over = re.search(r"(?:over|above|older than|aged)\s+(\d{2})\b|(\d{2})\s*\+|(\d{2})岁以上", lowered)
    if over:
        return int(next(g for g in over.groups() if g)), None
    under = re.search(r"(?:under|below|younger than)\s+(\d{2})\b|(\d{2})岁以下", lowered)
    if under:
        return None, int(next(g for g in under.groups() if g))
    return None, None


def find_departments(text: str) -> list[str]:
    """Return the catalogue departments the brief talks about, in catalogue order."""
    lowered = text.lower()
    found = []
    for department, terms in DEPARTMENT_TERMS.items():
        for term in terms:
            pattern = re.escape(term) if CJK.search(term) else rf"\b{re.escape(term)}\b"
            if re.search(pattern, lowered):
                found.append(department)
                break
    # "连衣裙" contains "裙" but is a dress; "半身裙" is a skirt. Keep both only if both were meant.
    return found


def find_discount(text: str) -> tuple[float | None, bool]:
    """Return (discount percent, explicitly_no_discount) from "15% off", "85折", "no discount"."""
    lowered = text.lower()
    no_discount = r"\bno (?:discount|discounts|promo|promotion|coupon)s?\b|without (?:a )?discount|不打折|无折扣"
    if re.search(no_discount, lowered):
        return None, True
    percent = re.search(
        r"(\d{1,2}(?:\.\d)?)\s*(?:%|percent|per cent)\s*(?:off|discount|apology|promo|code|coupon|voucher|savings?)?",
        lowered,
    )
    if percent:
        window = lowered[max(0, percent.start() - 40) : percent.end() + 40]
        if re.search(r"off|discount|code|coupon|voucher|promo|save|saving|offer|sale|折|优惠", window):
            return float(percent.group(1)), False
    zhe = re.search(r"([一二三四五六七八九\d])\s*([一二三四五六七八九\d])?\s*折", text)
    if zhe:
        first = _to_number(zhe.group(1)) or 0
        second = _to_number(zhe.group(2)) if zhe.group(2) else 0
        price_share = first * 10 + (second or 0) if zhe.group(2) else first * 10
        return round(100 - price_share, 1), False
    return None, False


def _channel_mentions(text: str, catalog: ChannelCatalog) -> list[tuple[str, int, int]]:
    lowered = text.lower()
    mentions: list[tuple[str, int, int]] = []
    taken: list[tuple[int, int]] = []
    for alias, channel_id in sorted(catalog.aliases().items(), key=lambda item: -len(item[0])):
        pattern = re.escape(alias) if CJK.search(alias) else rf"(?<![a-z]){re.escape(alias)}(?![a-z])"
        pattern = pattern.replace(r"\ ", r"[\s\-_]*")
        for match in re.finditer(pattern, lowered):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            if alias == "red" and not re.search(r"little red book|小红书", lowered):
                continue  # "red" is a colour far more often than it is Xiaohongshu
            if alias in {"print"} and re.search(r"\bprints?\b\s*(dress|top|pattern)", lowered[match.start():]):
                continue
            taken.append((match.start(), match.end()))
            mentions.append((channel_id, match.start(), match.end()))
    return sorted(mentions, key=lambda item: item[1])


def _is_negated(text: str, start: int) -> bool:
    # Look back within the clause: "no TV and no print", "without TV", "不要电视".
    clause_start = max(text.rfind(sep, 0, start) for sep in (".", ";", "\n", "。", ";", "!", "?"))
    window = text[clause_start + 1 : start]
    last_negation = None
    for match in _NEGATION.finditer(window):
        last_negation = match
    if last_negation is None:
        return False
    between = window[last_negation.end() :]
    # "no TV and no print": each item is preceded by its own "no"; "without TV or print" covers both.
    return not re.search(r"\b(but|use|using|via|plus|then)\b|但|使用|用", between, re.IGNORECASE)


def _parse_bounds(
    text: str, mentions: list[tuple[str, int, int]], money: list[MoneyMention], total: float | None
) -> tuple[list[ChannelBound], set[int]]:
    bounds: dict[str, ChannelBound] = {}
    used_money: set[int] = set()
    for channel_id, start, end in mentions:
        clause_end = min([p for p in (text.find(s, end) for s in (".", ";", "\n", "。", ";", ",", ",")) if p > 0]
                         or [len(text)])
        clause_start = max(text.rfind(s, 0, start) for s in (".", ";", "\n", "。", ";", ",", ","))
        for index, mention in enumerate(money):
            if not (clause_start < mention.start < clause_end):
                continue
            word = _BOUND_WORDS.search(text[clause_start + 1 : mention.start])
            if not word:
                continue
            lower = word.group(1).lower()
            bound = bounds.setdefault(channel_id, ChannelBound(channel=channel_id))
            if re.match(r"at least|min|no less|不少于|至少|最少", lower):
                bound.min_spend = mention.amount
            else:
                bound.max_spend = mention.amount
            used_money.add(index)
        percent = re.search(
            r"(at least|at most|no more than|up to|minimum|maximum|max|min)\s*(\d{1,2})\s*%",
            text[clause_start + 1 : clause_end],
            re.IGNORECASE,
        )
        if percent and total:
            bound = bounds.setdefault(channel_id, ChannelBound(channel=channel_id))
            share = float(percent.group(2)) / 100 * total
            if percent.group(1).lower().startswith(("at least", "min")):
                bound.min_spend = share
            else:
                bound.max_spend = share
    return list(bounds.values()), used_money


def _unknown_channels(text: str, catalog: ChannelCatalog) -> list[str]:
    lowered = text.lower()
    unknown = []
    for name in KNOWN_UNSUPPORTED_PLATFORMS:
        pattern = re.escape(name) if CJK.search(name) else rf"\b{re.escape(name)}\b"
        if re.search(pattern, lowered) and catalog.resolve(name) is None:
            unknown.append(name)
    listing = re.search(r"(?:\bchannels?\b|渠道|\buse\b|\busing\b|\bvia\b)\s*[:：]?\s*([^.;\n。]+)", text,
                        re.IGNORECASE)
    if listing:
        for item in re.split(r",|、|，|\+|/|\band\b|\bor\b|和|及|与|以及", listing.group(1)):
            name = re.sub(r"\b(paid|only|ads?|the|our|organic)\b", "", item, flags=re.IGNORECASE).strip(" :：")
            if not name or len(name) > 24 or catalog.resolve(name) or catalog.resolve(item.strip()):
                continue
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9 .\-]*", name) and name[0].isupper() and name.lower() not in unknown:
                unknown.append(name.lower())
    return unknown


def _objective(text: str) -> str:
    lowered = text.lower()
    if re.search(r"conversion|sign[- ]?ups?|leads?|acquisition|new customers|orders|转化|拉新", lowered):
        if not re.search(r"revenue|sales|营收|销售额|gmv", lowered):
            return "conversions"
    return "revenue"


def _tone(text: str) -> str:
    match = re.search(r"(?:tone|voice)\s*[:：]?\s*([^.;\n。]+)", text, re.IGNORECASE)
    if match:
        return match.group(1).strip()
    match = re.search(r"(?:keep the copy|copy should be|copy must be|文案要|文案风格|语气)\s*([^.;\n。]+)",
                      text, re.IGNORECASE)
    return match.group(1).strip() if match else ""


def parse_brief(text: str, catalog: ChannelCatalog, *, default_currency: str = "USD") -> ParsedBrief:
    """Parse a plain-language brief into a :class:`Brief` plus flags, assumptions and open questions.

    Refuses nothing: an empty, contradictory or incomplete brief yields a Brief with the matching
    flags (``missing_budget``, ``invalid_budget``, ``unknown_channel``, ``contradictory_brief``).
    """
    text = text.strip()
    flags: list[Flag] = []
    questions: list[str] = []
    assumptions: list[Assumption] = []
    language = detect_language(text)

    mentions = _channel_mentions(text, catalog)
    money = find_money(text)
    negated = {cid for cid, start, _ in mentions if _is_negated(text, start)}
    affirmed = {cid for cid, start, _ in mentions if not _is_negated(text, start)}
    excluded = sorted(negated)
    # Money mentions tied to a channel bound are not the total budget.
    bounds, bound_money = _parse_bounds(text, mentions, money, None)
    budget_candidates = [m for i, m in enumerate(money) if i not in bound_money]
    total_mention = _pick_total(text, budget_candidates)

    budget: Money | None = None
    budget_invalid = False
    currency_default = "CNY" if language == "zh" else default_currency
    if total_mention is not None:
        currency = total_mention.currency or currency_default
        amount = -total_mention.amount if total_mention.negative else total_mention.amount
        if amount <= 0:
            budget_invalid = True
            flags.append(Flag(code=FlagCode.INVALID_BUDGET,
                              message=f"The brief's budget is {amount:,.2f} {currency}; a budget must be positive, "
                              "so the plan carries no spend or forecast figures."))
            questions.append("What is the campaign's total budget (a positive amount)?")
        else:
            budget = Money(amount=round(amount, 2), currency=currency)
            if total_mention.currency is None:
                assumptions.append(Assumption(text=f"The budget is read as {currency}; the brief names no currency.",
                                              confidence=0.6))
    else:
        flags.append(Flag(code=FlagCode.MISSING_BUDGET, message="The brief gives no budget."))
        questions.append("What is the total budget for this campaign, and in which currency?")
    if bounds and budget is not None:
        bounds, _ = _parse_bounds(text, mentions, money, budget.amount)

    weeks = find_weeks(text)
    if weeks is None:
        weeks = 4
        assumptions.append(Assumption(text="The brief gives no campaign length; a 4-week flight is assumed.",
                                      confidence=0.4))
        questions.append("How many weeks should the campaign run?")

    allowed = [cid for cid in dict.fromkeys(cid for cid, _, _ in mentions) if cid not in excluded]
    allowed_from_bounds_only = {b.channel for b in bounds}
    if allowed and set(allowed) <= allowed_from_bounds_only and len(allowed) < 2:
        allowed = []  # a single bound ("TikTok at most $5k") does not restrict the channel mix
    for name in _unknown_channels(text, catalog):
        flags.append(Flag(code=FlagCode.UNKNOWN_CHANNEL,
                          message=f"'{name}' is not a channel in the catalog; it gets no budget. "
                          f"Known channels: {', '.join(catalog.ids())}."))
        questions.append(f"'{name}' is not in the channel catalog: drop it, or add it to the shop's channels.yaml?")

    both = negated & affirmed
    if both:
        flags.append(Flag(code=FlagCode.CONTRADICTORY_BRIEF,
                          message=f"The brief both asks for and excludes: {', '.join(sorted(both))}; "
                          "they are treated as excluded."))
        allowed = [c for c in allowed if c not in both]

    age_min, age_max = find_ages(text)
    if age_min is not None and age_max is not None and age_min > age_max:
        flags.append(Flag(code=FlagCode.CONTRADICTORY_BRIEF,
                          message=f"The age range {age_min}–{age_max} is reversed; it is read as {age_max}–{age_min}."))
        age_min, age_max = age_max, age_min
    departments = find_departments(text)
    discount, no_discount = find_discount(text)
    offer_text = _offer_text(text)
    for bound in bounds:
        if bound.min_spend is not None and bound.max_spend is not None and bound.min_spend > bound.max_spend:
            flags.append(Flag(code=FlagCode.CONTRADICTORY_BRIEF,
                              message=f"{bound.channel}: minimum {bound.min_spend:,.0f} is above maximum "
                              f"{bound.max_spend:,.0f}."))
        if bound.channel in excluded:
            flags.append(Flag(code=FlagCode.CONTRADICTORY_BRIEF,
                              message=f"{bound.channel} is excluded but also given a spend bound."))
    if not text:
        flags.append(Flag(code=FlagCode.CONTRADICTORY_BRIEF, message="The brief is empty."))

    brief = Brief(
        text=text,
        objective=_objective(text),
        product=_product(text, departments),
        budget=budget,
        weeks=weeks,
        channels_allowed=allowed,
        channels_excluded=excluded,
        channel_bounds=bounds,
        audience=Audience(age_min=age_min, age_max=age_max, departments=departments,
                          description=_audience_description(text)),
        offer=Offer(discount_percent=0.0 if no_discount else discount, text=offer_text),
        tone=_tone(text),
        language=language,  # type: ignore[arg-type]
    )
    return ParsedBrief(brief=brief, flags=flags, open_questions=questions, assumptions=assumptions,
                       budget_invalid=budget_invalid)


def _pick_total(text: str, candidates: list[MoneyMention]) -> MoneyMention | None:
    if not candidates:
        return None
    lowered = text.lower()
    for mention in candidates:
        before = lowered[max(0, mention.start - 40) : mention.start]
        if re.search(r"budget|spend|total|invest|预算|投入|花费", before):
            return mention
    return max(candidates, key=lambda m: m.amount)


def _offer_text(text: str) -> str:
    match = re.search(r"(?:offer|promo(?:tion)?|deal|优惠|活动)\s*[:：]\s*([^.;\n。]+)", text, re.IGNORECASE)
    if match:
        return match.group(1).strip()
    match = re.search(r"([^.;\n。]*\d{1,2}\s*%[^.;\n。]*)", text)
    return match.group(1).strip() if match else ""


def _product(text: str, departments: list[str]) -> str:
    match = re.search(
        r"(?:new|our|the|launch(?:ing)?|for)\s+((?:[a-z\-]+\s){0,3}(?:collection|line|dresses|dress|jackets|"
        r"jeans|tops|knitwear|intimates|range))",
        text,
        re.IGNORECASE,
    )
    if match:
        return match.group(1).strip()
    return " and ".join(departments).lower()


def _audience_description(text: str) -> str:
    match = re.search(r"(?:\btarget(?:ing)?\b|\baudience\b|目标人群|人群)\s*[:：]?\s*([^.;\n。]+)", text,
                      re.IGNORECASE)
    return match.group(1).strip()[:160] if match else ""
