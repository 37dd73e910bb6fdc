"""Deterministic brief parsing: budgets, currencies, periods, channels, audiences and offers.

Everything here that becomes a number in a plan is read by rules, not by the language model: a 1.5B
model gets currencies and magnitudes wrong too often ("30万元" is 300,000 CNY, not 30). The rules cover
English and Chinese briefs. What they cannot settle becomes a flag or an open question, never a guess
passed off as fact.

The readers themselves live in :mod:`campaign_planner.intake` (normalisation, amounts, durations,
channels, audiences, questions); this module assembles the :class:`Brief` from them and keeps the old
entry points (``find_money``, ``find_weeks``, ``find_departments``…) for their callers.
"""

from __future__ import annotations

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
from campaign_planner.intake.amounts import MoneyMention
from campaign_planner.intake.amounts import find_money as _find_money
from campaign_planner.intake.audience import find_behaviour
from campaign_planner.intake.channels import (
    KNOWN_UNSUPPORTED_PLATFORMS,
    channel_mentions,
    only_channels,
    unknown_channels,
)
from campaign_planner.intake.departments import DEPARTMENT_TERMS, find_departments
from campaign_planner.intake.durations import find_duration, find_durations
from campaign_planner.intake.normalise import NormalisedText, normalise
from campaign_planner.intake.numerals import chinese_number
from campaign_planner.intake.questions import find_questions
from campaign_planner.render.messages import keyed_assumption, keyed_flag, notice

__all__ = [
    "DEPARTMENT_TERMS", "KNOWN_UNSUPPORTED_PLATFORMS", "MoneyMention", "ParsedBrief", "detect_language",
    "find_ages", "find_departments", "find_discount", "find_money", "find_weeks", "parse_brief",
]

CJK = re.compile(r"[\u4e00-\u9fff]")

_BOUND_WORDS = re.compile(
    r"(at least|minimum of|min(?:imum)?\.?|no less than|at most|no more than|maximum of|max(?:imum)?\.?|up to|"
    r"cap(?:ped)? at|不少于|至少|不超过|最多|最少)",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"(?:\bno\b|\bnot\b(?!\s+only\b)|\bwithout\b|\bexclude[sd]?\b|\bexcluding\b|\bavoid\b|\bskip\b|\bnever\b|"
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


def _to_number(token: str) -> float | None:
    if re.fullmatch(r"\d[\d,]*(?:\.\d+)?", token):
        return float(token.replace(",", ""))
    value = chinese_number(token)
    return float(value) if value is not None else None


def find_money(text: str) -> list[MoneyMention]:
    """Return every amount of money written in ``text`` (normalised first: script, numerals, number words).

    Needs a currency mark, a magnitude or a budget word before it; see :mod:`campaign_planner.intake.amounts`.
    """
    return _find_money(normalise(text).text)


def find_weeks(text: str) -> int | None:
    """Return the campaign length in whole weeks ("over 4 weeks", "a month", "为期两周", "10 days"), or None."""
    duration = find_duration(normalise(text).text)
    return duration.weeks if duration else None


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
    # The follow-up reader's form: (channel id, start, end) for each channel named as a noun.
    return [(m.channel, m.start, m.end) for m in channel_mentions(text, catalog)]


def _is_negated(text: str, start: int) -> bool:
    # Look back within the clause: "no TV and no print", "without TV", "不要电视".
    clause_start = max(text.rfind(sep, 0, start) for sep in (".", ";", "\n", "。", ";", "!", "?"))
    window = text[clause_start + 1 : start]
    negations = list(_NEGATION.finditer(window))
    if not negations:
        return False
    last_negation = negations[-1]
    # "do not use TikTok": the verb right after the negation is part of it.
    between = re.sub(r"^\s*(?:use|using|run|running|spend\s+on|advertise\s+on|go\s+on)\b", "",
                     window[last_negation.end() :], flags=re.IGNORECASE)
    # "no TV and no print": each item is preceded by its own "no"; "without TV or print" covers both.
    if re.search(r"\b(but|use|using|via|plus|then)\b|但|使用|用", between, re.IGNORECASE):
        return False
    # "no TV, no print, email": a writer who negates item by item did not negate the item without a "no".
    if len(negations) > 1 and re.search(r"[,，]", between):
        return False
    # A list closed by "and"/"or" ends at the next comma ("without TV or print, email"); in Chinese a comma
    # ends the scope ("不要投电视和户外，微信": 微信 is wanted).
    if re.search(r"\b(?:and|or|nor)\b[^,，]*[,，]|[,，]\s*[\u4e00-\u9fff]|[\u4e00-\u9fff]\s*[,，]", between,
                 re.IGNORECASE):
        return False
    # The negation must govern the channel: only other channels, list glue and a few filler words may stand
    # between them ("no purchase in 9+ months: win them back with email" does not exclude email).
    rest = _NEGATION_FILLER.sub(" ", _ALIAS_WORDS.sub(" ", between.lower()))
    return not rest.strip(" ,、，&/+-:：")


_NEGATION_FILLER = re.compile(
    r"\b(?:and|or|nor|any|the|our|paid|ads?|advertising|on|in|for|spend(?:ing)?|money|budget|running|run|"
    r"channels?|media|placements?|either|of|at all|please)\b|投放|广告|投|做|在|上|和|或|及|与|也|等|渠道|的",
    re.IGNORECASE)
_ALIAS_WORDS = re.compile(
    r"\b(?:tv|television|print|ooh|out[- ]of[- ]home|outdoor|billboards?|radio|podcasts?|display|banners?|"
    r"search|sem|ppc|email|e-mail|sms|push|instagram|ig|facebook|fb|meta|tiktok|youtube|pinterest|influencers?|"
    r"kol|wechat|weibo|douyin|xiaohongshu|tmall|magazines?|newspapers?|social)\b|电视|户外|平面|报纸|杂志|"
    r"搜索|邮件|短信|推送|微信|微博|抖音|小红书|天猫|淘宝|达人|网红|朋友圈|公众号",
    re.IGNORECASE)


# Clause punctuation; a dot or comma between digits ("$1.2m", "1,500") is part of a number.
_CLAUSE_MARK = re.compile(r"[;\n。；！？!?]|(?<!\d)[.,]|[.,](?!\d)")


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """Return (index of the clause mark before ``start`` or -1, index of the mark after ``end`` or len)."""
    before = [m.start() for m in _CLAUSE_MARK.finditer(text, 0, start)]
    after = _CLAUSE_MARK.search(text, end)
    return (before[-1] if before else -1), (after.start() if after else len(text))


def _parse_bounds(
    text: str, mentions: list[tuple[str, int, int]], money: list[MoneyMention], total: float | None
) -> tuple[list[ChannelBound], set[int]]:
    bounds: dict[str, ChannelBound] = {}
    used_money: set[int] = set()
    for channel_id, start, end in mentions:
        clause_start, clause_end = _clause(text, start, end)
        previous_end = clause_start + 1
        for index, mention in enumerate(money):
            if not (clause_start < mention.start < clause_end):
                continue
            # "at least $8k and at most $5k": each amount takes the bound word nearest before it.
            words = list(_BOUND_WORDS.finditer(text[max(previous_end, clause_start + 1) : mention.start]))
            previous_end = mention.end
            if not words:
                continue
            lower = words[-1].group(1).lower()
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


def _objective(text: str) -> str:
    lowered = text.lower()
    if re.search(r"conversion|sign[- ]?ups?|leads?|acquisition|new customers|orders|转化|拉新", lowered):
        if not re.search(r"revenue|sales|营收|销售额|gmv", lowered):
            return "conversions"
    return "revenue"


Span = tuple[int, int]


def _tone(text: str) -> Span | None:
    match = re.search(r"(?:tone|voice)\s*[:：]?\s*([^.;\n。]+)", text, re.IGNORECASE)
    if match:
        return match.span(1)
    match = re.search(r"(?:keep the copy|copy should be|copy must be|文案要|文案风格|语气)\s*[:：]?\s*([^.;\n。]+)",
                      text, re.IGNORECASE)
    return match.span(1) if match else None


def _offer_text(text: str) -> Span | None:
    match = re.search(r"(?:offer|promo(?:tion)?|deal|优惠|活动)\s*[:：]\s*([^.;\n。]+)", text, re.IGNORECASE)
    if match:
        return match.span(1)
    match = re.search(r"([^.;\n。]*\d{1,2}\s*%[^.;\n。]*)", text)
    return match.span(1) if match else None


def _product(text: str, departments: list[str]) -> Span | str:
    match = re.search(
        r"(?:new|our|the|launch(?:ing)?|for)\s+((?:[a-z\-]+\s){0,3}(?:collection|line|dresses|dress|jackets|"
        r"jeans|tops|knitwear|intimates|range))",
        text,
        re.IGNORECASE,
    )
    if match:
        return match.span(1)
    return " and ".join(departments).lower()


def _audience_description(text: str) -> Span | None:
    match = re.search(r"(?:\btarget(?:ing)?\b|\baudience\b|目标人群|人群)\s*[:：]?\s*([^.;\n。]+)", text,
                      re.IGNORECASE)
    return match.span(1) if match else None


def _as_written(norm: NormalisedText, span: Span | str | None, limit: int | None = None) -> str:
    # Free-text fields quote the writer's own words (script, numerals), found through the reading form.
    if span is None:
        return ""
    if isinstance(span, str):
        return span
    written = norm.original_of(*span).strip()
    return written[:limit] if limit else written


def _pick_total(text: str, candidates: list[MoneyMention]) -> MoneyMention | None:
    if not candidates:
        return None
    lowered = text.lower()
    for mention in candidates:
        before = lowered[max(0, mention.start - 40) : mention.start]
        if re.search(r"budget|spend|total|invest|预算|投入|花费|经费", before):
            return mention
    return max(candidates, key=lambda m: m.amount)


def _say_amount(mention: MoneyMention, language: str = "en") -> str:
    return (" 还是 " if language == "zh" else " or ").join(
        f"{value:,.2f}".rstrip("0").rstrip(".") for value in mention.readings)


@dataclass
class _Reading:
    """What parse_brief collects while it reads, before the Brief is built: flags and assumptions worded from
    the notice catalog (render/notice_messages.py; the plan restates them in its language), and the questions
    for the team in the brief's language."""

    language: str = "en"
    flags: list[Flag] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    assumptions: list[Assumption] = field(default_factory=list)

    def flag(self, code: FlagCode, key: str, question: str | None = None, **values: str | int | float) -> None:
        self.flags.append(keyed_flag(code, key, **values))
        if question:
            self.ask(question, **values)

    def ask(self, key: str, **values: str | int | float) -> None:
        question = notice(key, self.language, **values)
        if question not in self.questions:
            self.questions.append(question)

    def assume(self, key: str, confidence: float, **values: str | int | float) -> None:
        self.assumptions.append(keyed_assumption(key, confidence, **values))


def _read_budget(reading: str, money: list[MoneyMention], bound_money: set[int], language: str,
                 default_currency: str, script: str | None, notes: _Reading) -> tuple[Money | None, bool]:
    """Return (the total budget or None, whether the budget is unusable: invalid or ambiguous)."""
    candidates = [m for i, m in enumerate(money) if i not in bound_money]
    total = _pick_total(reading, candidates)
    for mention in money:
        if mention.ambiguous and mention is not total:
            notes.flag(FlagCode.AMBIGUOUS_AMOUNT, "brief_ambiguous_amount", "ask_ambiguous_amount",
                       written=mention.written, readings=_say_amount(mention),
                       readings_zh=_say_amount(mention, "zh"))
    if total is None:
        notes.flag(FlagCode.MISSING_BUDGET, "brief_missing_budget", "ask_budget")
        return None, False
    currency = total.currency or ("CNY" if language == "zh" else default_currency)
    if total.ambiguous:
        notes.flag(FlagCode.AMBIGUOUS_AMOUNT, "brief_ambiguous_budget", "ask_ambiguous_budget",
                   written=total.written, readings=_say_amount(total), readings_zh=_say_amount(total, "zh"),
                   currency=currency)
        return None, True
    amount = -total.amount if total.negative else total.amount
    if amount <= 0:
        notes.flag(FlagCode.INVALID_BUDGET, "brief_invalid_budget", "ask_positive_budget", amount=f"{amount:,.2f}",
                   currency=currency)
        return None, True
    if total.currency is None:
        notes.assume("assume_budget_currency", 0.6, currency=currency)
    elif script == "traditional" and currency == "CNY" and re.search(r"元|块", total.written) and not re.search(
            r"人民币|rmb|cny", reading, re.IGNORECASE):
        notes.assume("assume_yuan", 0.6)
        notes.ask("ask_yuan")
    others = sorted({m.currency for m in candidates if m.currency and m.currency != currency})
    if others:
        notes.ask("ask_mixed_currencies", currency=currency, others=", ".join(others), amount=f"{amount:,.0f}")
    return Money(amount=round(amount, 2), currency=currency), False


def _read_duration(reading: str, notes: _Reading) -> tuple[int, float | None, float | None]:
    """Return (weeks for the tools, days as written or None, fractional weeks or None)."""
    durations = find_durations(reading)
    if not durations:
        notes.assume("assume_four_weeks", 0.4)
        notes.ask("ask_weeks")
        return 4, None, None
    duration = durations[0]
    ranged = re.search(r"(?<![\d.])(\d+)\s*(?:-|–|—|to|or)\s*" + re.escape(duration.written), reading)
    if ranged:
        notes.ask("ask_duration_range", range=ranged.group(0), used=duration.written)
    distinct = {round(d.days) for d in durations}
    if len(distinct) > 1:
        notes.ask("ask_durations", lengths=", ".join(d.written for d in durations), used=duration.written)
    if abs(duration.days - 7 * duration.weeks) >= 1:
        notes.assume("assume_whole_weeks", 0.7, written=duration.written, days=f"{duration.days:g}",
                     weeks_exact=f"{duration.weeks_exact:g}", weeks=duration.weeks,
                     plural="s" if duration.weeks != 1 else "")
    return duration.weeks, round(duration.days, 2), duration.weeks_exact


def _read_channels(reading: str, catalog: ChannelCatalog, notes: _Reading) -> tuple[
        list[tuple[str, int, int]], list[str], list[str], bool]:
    """Return (mentions, allowed, excluded, channels_only) and flag unknown and contradictory channels."""
    found = channel_mentions(reading, catalog)
    mentions = [(m.channel, m.start, m.end) for m in found]
    negated = {m.channel for m in found if _is_negated(reading, m.start)}
    affirmed = {m.channel for m in found if not _is_negated(reading, m.start)}
    only = [m.channel for group in only_channels(reading, [m for m in found if m.channel not in negated])
            for m in group]
    allowed = list(dict.fromkeys(only)) if only else [
        cid for cid in dict.fromkeys(m.channel for m in found) if cid not in negated]
    channels_only = bool(only)
    for unknown in unknown_channels(reading, catalog):
        near = ", ".join(unknown.suggestions)
        notes.flag(FlagCode.UNKNOWN_CHANNEL, "brief_unknown_channel", "ask_unknown_channel", name=unknown.name,
                   channels=near)
        if unknown.in_only_list:
            channels_only = True
    if channels_only and not allowed:
        notes.ask("ask_only_unknown_channels")
    both = negated & affirmed
    if both:
        notes.flag(FlagCode.CONTRADICTORY_BRIEF, "brief_asked_and_excluded", channels=", ".join(sorted(both)))
        allowed = [c for c in allowed if c not in both]
    return mentions, allowed, sorted(negated), channels_only


def parse_brief(text: str, catalog: ChannelCatalog, *, default_currency: str = "USD") -> ParsedBrief:
    """Parse a plain-language brief into a :class:`Brief` plus flags, assumptions and open questions.

    The brief is normalised once (script, Chinese numerals, number words; see
    :mod:`campaign_planner.intake.normalise`) and read in that form; ``Brief.text`` and the free-text
    fields (tone, offer, audience description) keep the writer's own words. Refuses nothing: an empty,
    contradictory, ambiguous or incomplete brief yields a Brief with the matching flags
    (``missing_budget``, ``invalid_budget``, ``ambiguous_amount``, ``unknown_channel``,
    ``contradictory_brief``) and open questions.
    """
    text = text.strip()
    norm = normalise(text)
    reading = norm.text
    language = detect_language(reading)
    notes = _Reading(language)

    mentions, allowed, excluded, channels_only = _read_channels(reading, catalog, notes)
    money = find_money_in_reading(reading)
    # Money mentions tied to a channel bound are not the total budget.
    bounds, bound_money = _parse_bounds(reading, mentions, money, None)
    budget, budget_invalid = _read_budget(reading, money, bound_money, language, default_currency, norm.script,
                                          notes)
    if bounds and budget is not None:
        bounds, _ = _parse_bounds(reading, mentions, money, budget.amount)
    weeks, days, weeks_exact = _read_duration(reading, notes)

    if not channels_only and allowed and set(allowed) <= {b.channel for b in bounds} and len(allowed) < 2:
        allowed = []  # a single bound ("TikTok at most $5k") does not restrict the channel mix

    age_min, age_max = find_ages(reading)
    if age_min is not None and age_max is not None and age_min > age_max:
        notes.flag(FlagCode.CONTRADICTORY_BRIEF, "brief_reversed_ages", low=age_min, high=age_max)
        age_min, age_max = age_max, age_min
    departments = find_departments(reading)
    discount, no_discount = find_discount(reading)
    _check_bounds(bounds, excluded, budget, notes)
    if not text:
        notes.flag(FlagCode.CONTRADICTORY_BRIEF, "brief_empty")

    brief = Brief(
        text=text,
        objective=_objective(reading),
        product=_as_written(norm, _product(reading, departments)),
        budget=budget,
        weeks=weeks,
        days=days,
        weeks_exact=weeks_exact,
        channels_allowed=allowed,
        channels_excluded=excluded,
        channels_only=channels_only,
        channel_bounds=bounds,
        audience=Audience(age_min=age_min, age_max=age_max, departments=departments,
                          description=_as_written(norm, _audience_description(reading), 160),
                          behaviour=find_behaviour(reading)),
        offer=Offer(discount_percent=0.0 if no_discount else discount, text=_as_written(norm, _offer_text(reading))),
        tone=_as_written(norm, _tone(reading)),
        language=language,  # type: ignore[arg-type]
        script=norm.script,
        questions=find_questions(text, catalog),
    )
    return ParsedBrief(brief=brief, flags=notes.flags, open_questions=notes.questions,
                       assumptions=notes.assumptions, budget_invalid=budget_invalid)


def find_money_in_reading(reading: str) -> list[MoneyMention]:
    """Return the money in an already normalised text (no second normalisation)."""
    return _find_money(reading)


def _check_bounds(bounds: list[ChannelBound], excluded: list[str], budget: Money | None, notes: _Reading) -> None:
    for bound in bounds:
        if bound.min_spend is not None and bound.max_spend is not None and bound.min_spend > bound.max_spend:
            notes.flag(FlagCode.CONTRADICTORY_BRIEF, "brief_bound_reversed", channel=bound.channel,
                       minimum=f"{bound.min_spend:,.0f}", maximum=f"{bound.max_spend:,.0f}")
        if bound.channel in excluded:
            notes.flag(FlagCode.CONTRADICTORY_BRIEF, "brief_excluded_bound", channel=bound.channel)
    if budget is not None:
        minimums = sum(b.min_spend or 0.0 for b in bounds)
        if minimums > budget.amount + 0.005:
            notes.flag(FlagCode.CONTRADICTORY_BRIEF, "brief_minimums_over_budget", "ask_minimums_over_budget",
                       minimums=f"{minimums:,.0f}", total=f"{budget.amount:,.0f}", currency=budget.currency)
