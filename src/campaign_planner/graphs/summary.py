"""The plan's summary: the figures of record stated from the tools, the model's prose only where it agrees.

A marketer rejects a plan whose summary contradicts its own tables. So the summary's figures are never the
model's: :func:`deterministic_summary` states the spend and expected outcome of every channel, the
recommended spend against the budget and the total forecast, formatted exactly as the Markdown tables
format them (``render.formatting``), in the plan's language and currency.

The model may add qualitative sentences (why these segments, what to watch). :func:`vet_model_summary`
keeps a model sentence only when it is complete (ends with terminal punctuation: a fragment cut by the
token cap is dropped) and every number in it is a figure of record of a channel or segment the same
sentence names (:func:`misattributed_numbers`): "E-mail will bring $30,000" is refused when $30,000 is paid
search's figure, and "$90,000 in total" is refused when no tool produced 90,000 (a sum of two channels is
not a figure of record). A sentence that names no channel or segment may state only the plan's own figures
(budget, recommended total, held back, total forecast, the brief's numbers). A model sentence that only
repeats a figure the deterministic part already states is dropped too, so no figure is said twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from campaign_planner.data.catalog import ChannelCatalog, default_catalog
from campaign_planner.domain import Brief, Budget, ForecastLine, Segment
from campaign_planner.graphs.figures import lines_total
from campaign_planner.intake.channels import CJK, channel_mentions
from campaign_planner.render.formatting import format_money, format_number, format_outcome, format_percent
from campaign_planner.render.messages import t

# A number as people write it: an optional currency symbol, digits with separators and decimals, and an
# optional scale or unit (percent, thousands, millions, 万, a ratio's ×).
_NUMBER = re.compile(
    # The symbol as render/formatting writes it for either reader: "$", "CN¥", "US$", "JP¥", "HK$"...
    r"(?<![\w.])(?P<symbol>(?:[A-Z]{1,2})?[$€£¥₩₹])?\s?(?P<digits>\d[\d,]*(?:\.\d+)?)\s?"
    r"(?P<suffix>%|百分点|万|千|亿|(?:k|m|bn|million|thousand|billion)(?![a-z])|[x×](?![a-z]))?",
    re.IGNORECASE,
)
_SCALES = {"k": 1e3, "thousand": 1e3, "千": 1e3, "m": 1e6, "million": 1e6, "万": 1e4, "亿": 1e8, "bn": 1e9,
           "billion": 1e9}
# A sentence ends at terminal punctuation (English: followed by a space or the end; CJK: anywhere), with any
# closing quotes or brackets after it.
_SENTENCE_END = re.compile(r"[.!?。！？…]+[\"'”’)）」』]*$")
_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)）]))\s+"
                    r"|(?:(?<=[。！？])(?![\"'”’)）」』。！？])|(?<=[。！？][”’」』）]))\s*")
# Counts ("three segments", "2 channels", list numbering) are not figures; a small integer next to an
# outcome word is.
_OUTCOME_AFTER = re.compile(r"^\s*(?:incremental\s+)?(?:conversions?|orders?|sales|purchases?|customers?|"
                            r"次转化|个?订单|笔|位)", re.IGNORECASE)
COUNT_MAX = 10


@dataclass(frozen=True)
class PlanFigure:
    """A figure of the whole plan, and the words that say it is about the plan (not one channel)."""

    value: float
    words: re.Pattern[str]


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_BUDGET_WORDS = _words(r"budget|预算")
_RECOMMENDED_WORDS = _words(r"recommend|commit|budget|建议|预算")
_HELD_WORDS = _words(r"held back|hold back|holding back|unallocated|remaining|the rest|unspent|reserve|"
                     r"budget|保留|剩余|预算")
_TOTAL_WORDS = _words(r"total|overall|altogether|in all|combined|across (?:all|the|every)|whole plan|合计|总|共计")
_WEEK_WORDS = _words(r"weeks?|周|星期")
_DAY_WORDS = _words(r"days?|天|日")
_OFFER_WORDS = _words(r"\boff\b|discount|折|优惠")
_AGE_WORDS = _words(r"\bage|aged|years? old|\d\s*[-–]\s*\d|岁")


@dataclass
class FiguresOfRecord:
    """Every figure the plan's tables state, by what it is about.

    ``channels``: spend, share of the budget (percent), recommended spend, expected outcome, ROI, marginal ROI
    and break-even spend per channel. ``segments``: customers and share of reviewers (percent) per segment.
    ``lines``: each forecast line's figures by (segment, channel). ``plan``: the budget, the recommended
    total, what is held back (and what it would add), the total forecast and the brief's own numbers.
    """

    channels: dict[str, set[float]] = field(default_factory=dict)
    segments: dict[str, set[float]] = field(default_factory=dict)
    lines: dict[tuple[str, str], set[float]] = field(default_factory=dict)
    plan: list[PlanFigure] = field(default_factory=list)
    segment_names: dict[str, str] = field(default_factory=dict)  # lowered name or id -> segment id

    def segment_channels(self, segment_id: str) -> set[str]:
        return {channel for (segment, channel) in self.lines if segment == segment_id}


def figures_of_record(brief: Brief, segments: list[Segment], budget: Budget | None,
                      forecast: list[ForecastLine]) -> FiguresOfRecord:
    """Return the figures of record of a plan (its segments, its reconciled budget, its forecast lines)."""
    record = FiguresOfRecord()
    for segment in segments:
        record.segments[segment.id] = {float(segment.size.customers), segment.size.share * 100}
        for name in (segment.name, segment.display_name or "", segment.id):
            if name.strip():
                record.segment_names[name.strip().lower()] = segment.id
    for line in forecast:
        values = {line.expected, line.incremental_revenue, line.spend, *line.interval_80, *line.interval_95}
        values |= {v for v in (line.roi, line.customers) if v is not None}
        record.lines.setdefault((line.segment_id, line.channel), set()).update(float(v) for v in values)
    if budget is not None:
        _add_budget_figures(record, budget)
    else:
        for channel in dict.fromkeys(line.channel for line in forecast):
            total = lines_total(forecast, channel, brief.objective)
            if total is not None:
                record.channels.setdefault(channel, set()).add(total)
    if brief.budget is not None:
        record.plan.append(PlanFigure(brief.budget.amount, _BUDGET_WORDS))
    for value, words in ((brief.weeks, _WEEK_WORDS), (brief.days, _DAY_WORDS),
                         (brief.offer.discount_percent, _OFFER_WORDS),
                         (brief.audience.age_min, _AGE_WORDS), (brief.audience.age_max, _AGE_WORDS)):
        if value is not None:
            record.plan.append(PlanFigure(float(value), words))
    return record


def _add_budget_figures(record: FiguresOfRecord, budget: Budget) -> None:
    for allocation in budget.allocations:
        values = {allocation.spend, allocation.expected_outcome, allocation.marginal_roi}
        if budget.total:
            values.add(allocation.spend / budget.total * 100)
        if allocation.spend > 0 and budget.objective == "revenue":
            values.add((allocation.expected_outcome - allocation.spend) / allocation.spend)
        values |= {v for v in (allocation.recommended_spend, allocation.spend_at_marginal_roi_1) if v is not None}
        record.channels[allocation.channel] = {float(v) for v in values}
    record.plan.append(PlanFigure(budget.total, _BUDGET_WORDS))
    if budget.recommended_total is not None:
        record.plan.append(PlanFigure(budget.recommended_total, _RECOMMENDED_WORDS))
        if budget.total:
            record.plan.append(PlanFigure(budget.recommended_total / budget.total * 100, _RECOMMENDED_WORDS))
    if budget.unallocated > 0.005:
        record.plan.append(PlanFigure(budget.unallocated, _HELD_WORDS))
        if budget.unallocated_return is not None:
            record.plan.append(PlanFigure(budget.unallocated_return, _HELD_WORDS))
    if budget.expected_outcome is not None:
        record.plan.append(PlanFigure(budget.expected_outcome, _TOTAL_WORDS))


# --------------------------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class WrittenNumber:
    value: float
    step: float  # half the last written digit's place, after scaling: "19.9k" -> 50
    is_count: bool  # a small bare integer not next to an outcome word


def written_numbers(text: str) -> list[WrittenNumber]:
    """Return the numbers of ``text`` as values (scaled: "$2.5k" is 2,500, "3万" is 30,000; "40%" is 40)."""
    numbers = []
    for match in _NUMBER.finditer(text):
        digits = match.group("digits").replace(",", "")
        suffix = (match.group("suffix") or "").lower()
        scale = _SCALES.get(suffix, 1.0)
        try:
            value = float(digits) * scale
        except ValueError:
            continue
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        step = 0.5 * 10 ** (-decimals) * scale
        bare = not match.group("symbol") and not suffix and "." not in digits
        is_count = bare and value <= COUNT_MAX and not _OUTCOME_AFTER.match(text[match.end():])
        numbers.append(WrittenNumber(value, step, is_count))
    return numbers


def _matches(number: WrittenNumber, figure: float) -> bool:
    # The written figure is the tool's rounded as written ("$20,000" for 19,873: within 1%; "2.4" for 2.35).
    return abs(abs(number.value) - abs(figure)) <= max(0.01 * abs(figure), number.step) + 1e-9


@dataclass(frozen=True)
class Mentions:
    channels: set[str]
    segments: set[str]
    masked: str  # the sentence with the names blanked out (a segment called "Women 25-40" states no number)


def mentions(sentence: str, record: FiguresOfRecord, catalog: ChannelCatalog) -> Mentions:
    """Return the channels and segments ``sentence`` names, and the sentence with those names blanked."""
    lowered = sentence.lower()
    spans: list[tuple[int, int]] = []
    segments: set[str] = set()
    for name, segment_id in sorted(record.segment_names.items(), key=lambda item: -len(item[0])):
        pattern = re.escape(name) if CJK.search(name) else rf"(?<![\w-]){re.escape(name)}(?![\w-])"
        for match in re.finditer(pattern, lowered):
            if not any(s < match.end() and match.start() < e for s, e in spans):
                spans.append((match.start(), match.end()))
                segments.add(segment_id)
    channels: set[str] = set()
    for mention in channel_mentions(sentence, catalog):
        if not any(s < mention.end and mention.start < e for s, e in spans):
            spans.append((mention.start, mention.end))
            channels.add(mention.channel)
    masked = list(sentence)
    for start, end in spans:
        masked[start:end] = " " * (end - start)
    return Mentions(channels, segments, "".join(masked))


def _candidates(found: Mentions, record: FiguresOfRecord) -> set[float]:
    values: set[float] = set()
    for channel in found.channels:
        values |= record.channels.get(channel, set())
        owners = [segment for (segment, line_channel) in record.lines if line_channel == channel]
        if len(owners) == 1:  # a channel forecast for one segment only: its line is the channel's figure
            values |= record.lines[(owners[0], channel)]
    for segment in found.segments:
        values |= record.segments.get(segment, set())
        own = record.segment_channels(segment)
        if found.channels:
            own &= found.channels
        elif len(own) != 1:  # a segment on several channels: which line is meant needs the channel named
            own = set()
        for channel in own:
            values |= record.lines[(segment, channel)]
    return values


def misattributed_numbers(sentence: str, record: FiguresOfRecord, catalog: ChannelCatalog) -> list[float]:
    """Return the numbers of ``sentence`` that are not a figure of record of what the sentence names.

    Each number must match a figure of a channel or segment the sentence names, or a plan figure (which a
    sentence naming channels may state only with the words that say it is the plan's: "budget", "total").
    A total no tool produced matches nothing and is returned.
    """
    found = mentions(sentence, record, catalog)
    candidates = _candidates(found, record)
    named = bool(found.channels or found.segments)
    plan = [f.value for f in record.plan if not named or f.words.search(found.masked)]
    wrong = []
    for number in written_numbers(found.masked):
        if number.is_count:
            continue
        if any(_matches(number, figure) for figure in (*candidates, *plan)):
            continue
        wrong.append(number.value)
    return wrong


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences (English and Chinese punctuation; "1.5" is not a sentence end)."""
    return [s.strip() for s in _SPLIT.split(" ".join(text.split())) if s and s.strip()]


@dataclass
class VettedSummary:
    """The model's sentences kept, and how many were dropped for each reason."""

    text: str
    misattributed: int = 0
    cut: int = 0
    repeated: int = 0
    other_language: int = 0

    @property
    def dropped(self) -> int:
        return self.misattributed + self.cut + self.repeated + self.other_language

    def reasons(self, language: str = "en") -> str:
        """Say, in ``language``, how many sentences were dropped for each reason ("" when none was)."""
        counts = (("vet_misattributed", self.misattributed), ("vet_cut", self.cut),
                  ("vet_repeated", self.repeated), ("vet_other_language", self.other_language))
        return t("clause_separator", language).join(t(key, language, n=n) for key, n in counts if n)

    def describe(self) -> str:
        """Say what was dropped and why, for the degraded-output flag ("" when nothing was)."""
        return t("flag_summary_vetted", "en", dropped=self.dropped, reasons=self.reasons()) if self.dropped else ""


def written_in(text: str, language: str) -> bool:
    """Return True when ``text`` reads as written in ``language``: a Chinese plan's sentence is mostly Chinese
    characters (a brand or ROI may stay Latin), an English plan's has no more Chinese characters than words."""
    chinese = len(CJK.findall(text))
    words = len(re.findall(r"[A-Za-z]{2,}", text))
    return chinese >= 2 * words and chinese > 0 if language == "zh" else chinese <= words


def vet_model_summary(text: str, record: FiguresOfRecord, catalog: ChannelCatalog | None = None,
                      stated: str = "", language: str | None = None) -> VettedSummary:
    """Keep the model's complete sentences (in the plan's ``language`` where it is given) whose numbers are the
    figures of what they name.

    ``stated`` is the deterministic summary: a model sentence stating one of its figures is a repeat.
    """
    catalog = catalog or default_catalog()
    sentences = split_sentences(text)
    result = VettedSummary(text="")
    if sentences and not _SENTENCE_END.search(sentences[-1]):
        sentences.pop()  # the token cap cut it: a fragment is not a sentence
        result.cut += 1
    already = [n for n in written_numbers(stated) if not n.is_count]
    kept = []
    for sentence in sentences:
        if language is not None and not written_in(sentence, language):
            result.other_language += 1
            continue
        if misattributed_numbers(sentence, record, catalog):
            result.misattributed += 1
            continue
        numbers = [n for n in written_numbers(mentions(sentence, record, catalog).masked) if not n.is_count]
        if any(_matches(n, s.value) for n in numbers for s in already):
            result.repeated += 1
            continue
        kept.append(sentence)
    result.text = _join(kept)
    return result


def _join(sentences: list[str]) -> str:
    text = ""
    for sentence in sentences:
        text += ("" if not text or CJK.search(text[-1]) or text.endswith(("。", "！", "？")) else " ") + sentence
    return text


def compose_summary(deterministic: str, model_sentences: str) -> str:
    """Return the plan's summary: the figures of record first, then the model's vetted sentences."""
    return _join([s for s in (deterministic.strip(), model_sentences.strip()) if s])


# ----------------------------------------------------------------------------------------------- writing

_TEXT = {
    "en": {
        "segments": "Audience: {count} segments — {items}.",
        "one_segment": "Audience: one segment — {items}.",
        "segment": "{name} ({customers} customers, {share} of reviewers)",
        "split": "The {total} budget over {weeks} is split: {items}.",
        "split_no_weeks": "The {total} budget is split: {items}.",
        "channel": "{channel} {spend} for an expected {outcome}",
        "revenue": " incremental revenue",
        "unfunded": "{channels} get(s) no spend",
        "recommended": "Recommended now: spend {recommended} of the {total} budget and hold back {held}.",
        "whole": "Recommended: spend the whole {total} budget.",
        "total_revenue": "Total forecast: {total} incremental revenue, the sum of the channels' expected outcomes.",
        "total_other": "Total forecast: {total}, the sum of the channels' expected outcomes.",
        "forecast_only": "Forecast by channel: {items}.",
        "weeks": "{n} weeks",
        "separator": "; ",
        "list": ", ",
        "none": "No plan figures could be produced; see the flags and open questions.",
    },
    "zh": {
        "segments": "目标人群：{count} 个细分人群——{items}。",
        "one_segment": "目标人群：1 个细分人群——{items}。",
        "segment": "{name}（{customers} 位客户，占评论者 {share}）",
        "split": "总预算 {total}，为期 {weeks}，分配如下：{items}。",
        "split_no_weeks": "总预算 {total}，分配如下：{items}。",
        "channel": "{channel} {spend}，预期{outcome}",
        "revenue": "增量收入 ",
        "unfunded": "{channels} 不分配预算",
        "recommended": "建议现在投入 {recommended}（总预算 {total}），保留 {held}。",
        "whole": "建议投入全部预算 {total}。",
        "total_revenue": "预测总增量收入 {total}（各渠道预期产出之和）。",
        "total_other": "预测总产出 {total}（各渠道预期产出之和）。",
        "forecast_only": "各渠道预测：{items}。",
        "weeks": "{n} 周",
        "separator": "；",
        "list": "、",
        "none": "未能得出方案数据，请查看标记和待定问题。",
    },
}


def channel_label(channel_id: str, language: str, catalog: ChannelCatalog | None = None) -> str:
    """Return the channel's name as the plan shows it: the catalog's name; in Chinese its first Chinese alias."""
    catalog = catalog or default_catalog()
    if channel_id not in catalog:
        return channel_id
    spec = catalog[channel_id]
    if language == "zh":
        chinese = next((alias for alias in spec.aliases if CJK.search(alias)), None)
        if chinese:
            return chinese
    return spec.name


def _outcome(value: float, unit: str, language: str) -> str:
    if language == "zh" and unit == "conversions":
        return f"{format_number(value)} 次转化"
    return format_outcome(value, unit, language)


def deterministic_summary(brief: Brief, segments: list[Segment], budget: Budget | None,
                          forecast: list[ForecastLine], *, language: str | None = None,
                          catalog: ChannelCatalog | None = None) -> str:
    """Return the summary's figures of record, in the plan's language, formatted as the tables format them.

    Segments with their size and share; the budget split per channel with each channel's expected outcome;
    the recommended spend against the budget (what is held back); the total forecast.
    """
    language = language if language in _TEXT else brief.language
    text = _TEXT[language]
    parts = []
    if segments:
        items = text["separator"].join(text["segment"].format(
            name=s.display_name or s.name, customers=f"{s.size.customers:,}", share=format_percent(s.size.share, 1))
            for s in segments)
        parts.append(text["segments" if len(segments) > 1 else "one_segment"].format(count=len(segments),
                                                                                     items=items))
    if budget is not None and budget.allocations:
        money = lambda value: format_money(value, budget.currency, language)  # noqa: E731
        revenue = text["revenue"] if budget.objective == "revenue" else ""
        funded = [a for a in budget.allocations if a.spend > 0]
        items = [
            text["channel"].format(
                channel=channel_label(a.channel, language, catalog), spend=money(a.spend),
                outcome=(f"{_outcome(a.expected_outcome, a.outcome_unit, language)}{revenue}" if language == "en"
                         else f"{revenue}{_outcome(a.expected_outcome, a.outcome_unit, language)}"))
            for a in funded
        ]
        unfunded = [channel_label(a.channel, language, catalog) for a in budget.allocations if a.spend <= 0]
        if unfunded:
            items.append(text["unfunded"].format(channels=text["list"].join(unfunded)))
        key = "split" if brief.weeks else "split_no_weeks"
        weeks = text["weeks"].format(n=brief.weeks)
        if language == "en" and brief.weeks == 1:
            weeks = "1 week"
        parts.append(text[key].format(total=money(budget.total), weeks=weeks,
                                      items=text["separator"].join(items)))
        if budget.recommended_total is not None:
            if budget.unallocated > 0.005:
                parts.append(text["recommended"].format(recommended=money(budget.recommended_total),
                                                        total=money(budget.total), held=money(budget.unallocated)))
            else:
                parts.append(text["whole"].format(total=money(budget.total)))
        if budget.expected_outcome is not None and len(funded) > 1:
            total = _outcome(budget.expected_outcome, budget.outcome_unit, language)
            parts.append(text["total_revenue" if budget.objective == "revenue" else "total_other"].format(total=total))
    elif forecast:
        currency = brief.budget.currency if brief.budget else ""
        unit = currency if brief.objective == "revenue" else "conversions"
        items = []
        for channel in dict.fromkeys(line.channel for line in forecast):
            total = lines_total(forecast, channel, brief.objective)
            if total is not None:
                items.append(f"{channel_label(channel, language, catalog)} {_outcome(total, unit, language)}")
        if items:
            parts.append(text["forecast_only"].format(items=text["separator"].join(items)))
    return _join(parts) or text["none"]
