"""Follow-ups to a plan, read by rules: what "move $5k from search to email" changes and what must re-run.

A follow-up is split into clauses; each clause is classified deterministically (English and Chinese):

- **budget** ("move $5k from search to email", "cut the budget to $40k", "drop TV", "add SMS"): the brief's
  pinned spends, total or channel lists change; the channel optimizer and the forecaster re-run.
- **audience** ("exclude customers under 25", "only women 30-45", "focus on jackets"): the audience's ages or
  departments change; the profile lookup and everything after it re-run (the budget split stays).
- **copy** ("make the SMS copy shorter", "make the e-mail copy more playful"): the copywriter re-runs for the
  named channels only (all channels with copy when none is named; the tone is then kept in the brief).
- **only** ("only email from now on", "just email and SMS", "只用邮件") and **duration** ("make it 10 days",
  "run it for three weeks", "改成两周"): the channel mix or the flight changes; the optimizer and the
  forecaster re-run.

The follow-up is normalised first, like a brief (:mod:`campaign_planner.intake.normalise`: Traditional
script, Chinese numerals, number words), and read with the brief reader's own channel, "only" and
duration rules.

A clause that fits none of them makes the whole follow-up a full replan: its text is appended to the brief
and the graph replans from intake, with the patches of the clauses it did understand re-applied. Numbers
come from the follow-up and the current plan only (a move pins both channels at their new spends).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from campaign_planner.agents.brief_parser import (
    CJK,
    _channel_mentions,
    find_ages,
    find_departments,
    find_money,
)
from campaign_planner.data.catalog import ChannelCatalog
from campaign_planner.domain import CampaignPlan
from campaign_planner.intake.channels import channel_mentions, only_channels
from campaign_planner.intake.durations import find_duration
from campaign_planner.intake.normalise import normalise
from campaign_planner.tools.registry import TOOL_ORDER, ToolName

# Clauses: sentences, and "… and <another instruction>".
_CLAUSE_SPLIT = re.compile(
    r"(?:[.!?;](?:\s+|$))|[。！？；\n]|,?\s+and\s+(?=(?:then\s+)?(?:make|move|shift|exclude|drop|remove|add|cut|"
    r"increase|reduce|raise|lower|use|only|target|focus|put|take|write|rewrite|change|set|shorten|transfer)\b)|"
    r"(?:并且|然后|同时|另外)",
    re.IGNORECASE,
)
_MOVE_VERB = re.compile(
    r"\b(?:move|moving|shift|reallocate|re-allocate|transfer|take|put|redirect|give)\b|挪|移|转|调|拿", re.IGNORECASE)
_FROM = re.compile(r"\bfrom\b|从", re.IGNORECASE)
_TO = re.compile(r"\b(?:to|into|onto|towards?|over to|and give it to)\b|到|给|至", re.IGNORECASE)
_BUDGET_WORD = re.compile(r"\b(?:total\s+)?budget\b|预算", re.IGNORECASE)
_UP = re.compile(r"\b(?:increase|raise|add|up|boost|grow)\b|增加|提高|追加", re.IGNORECASE)
_DOWN = re.compile(r"\b(?:cut|reduce|lower|decrease|down|trim|shrink)\b|减少|降低|削减", re.IGNORECASE)
_BY = re.compile(r"\bby\b", re.IGNORECASE)
_DROP_BEFORE = re.compile(
    r"(?:\b(?:drop|remove|exclude|excluding|cut|skip|no|without|stop(?:\s+spending\s+on|\s+using)?|"
    r"don't\s+use|do\s+not\s+use|not)\s+(?:the\s+|all\s+|any\s+)?(?:paid\s+)?|不要|去掉|删掉|不用|不投|取消)$",
    re.IGNORECASE,
)
_ADD_BEFORE = re.compile(
    r"(?:\b(?:add|include|also\s+use|use|try|bring\s+in)\s+(?:the\s+|some\s+)?(?:paid\s+)?|加上|增加|也投|加)$",
    re.IGNORECASE,
)
_COPY_WORD = re.compile(
    r"\b(?:copy|copies|copywriting|headlines?|subject(?:\s+lines?)?|wording|messages?|messaging|tone|voice|"
    r"cta|captions?|body)\b|文案|标题|语气|措辞|风格",
    re.IGNORECASE,
)
_SHORTER = re.compile(
    r"\b(?:shorter|shorten|more\s+concise|concise|punchier|tighter|briefer|trim|too\s+long|fewer\s+words|"
    r"cut\s+down)\b|短一点|更短|简短|精简|缩短",
    re.IGNORECASE,
)
_TONE = re.compile(
    r"\b(?:tone|voice)\b\s*(?:to|:|=|should\s+be|more)?\s*(?P<a>[^.;,]+)"
    r"|\b(?P<b>(?:more|less)\s+[a-z][a-z\-]+(?:\s+and\s+[a-z][a-z\-]+)?)"
    r"|(?:语气|风格)(?:改成|要|更)?(?P<c>[^，。；,]+)|更(?P<d>[\u4e00-\u9fff]{2,4})",
    re.IGNORECASE,
)
_PEOPLE = re.compile(r"\b(?:customers?|people|shoppers|women|men|anyone|those|buyers|audience|users|ages?|aged|"
                     r"everyone|folks)\b|顾客|用户|人群|客户|岁", re.IGNORECASE)
_EXCLUDE_AGE = re.compile(
    r"\b(?:exclude|excluding|drop|remove|without|no|not|skip|leave\s+out)\b.*?\b(?P<side>under|below|younger\s+than|"
    r"over|above|older\s+than)\s+(?P<age>\d{2})\b",
    re.IGNORECASE,
)
_EXCLUDE_AGE_ZH = re.compile(r"(?:排除|不要|去掉)\s*(?P<age>\d{2})\s*岁以(?P<side>下|上)"
                             r"|(?P<age2>\d{2})\s*岁以(?P<side2>下|上)的?(?:顾客|用户|人群|客户)?(?:不要|排除|去掉)")
_RESTRICT = re.compile(
    r"\b(?:only|target|targeting|focus(?:\s+on)?|just|aim\s+at|limit\s+to|restrict\s+to)\b|只要|只针对|目标|聚焦|只投",
    re.IGNORECASE)
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent|per\s+cent)", re.IGNORECASE)
# A clause that names a length and asks to change the flight ("make it 10 days", "run for 3 weeks", "改成两周").
_DURATION_CHANGE = re.compile(
    r"\b(?:make|run|extend|shorten|change|set|over|for|instead|only|just|cut|stretch|keep)\b|"
    r"^\s*(?:\d+(?:\.\d+)?\s*\w+|an?\s+\w+|this weekend)\s*$|改成|改为|变成|延长|缩短|为期|持续|只做|只投|投放",
    re.IGNORECASE)
_BARE_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d[\d,]*(?:\.\d+)?)(?![\d%])")

MIN_BODY_CHARS = {"en": 40, "zh": 15}
MIN_HEADLINE_CHARS = {"en": 15, "zh": 6}
SHORTER_BODY_FACTOR = 0.6
SHORTER_HEADLINE_FACTOR = 0.8


@dataclass
class FollowUp:
    """What a follow-up asks for, as the rules read it.

    ``patches``: brief changes (see :func:`apply_patches`), kept for later replans. ``rerun``: tools whose
    outputs are replaced. ``copy_channels``: channels whose copy is rewritten without re-running the other
    tools (``None`` when the copywriter re-runs for every channel). ``copy_limits``: per channel, tighter
    ``headline_max``/``body_max`` for a "shorter" rewrite. ``copy_tone``: the tone the rewrite is asked for.
    ``problems``: requests understood but impossible (nothing is changed for them). ``unknown``: clauses no
    rule understood; any makes the follow-up a full replan.
    """

    text: str
    kinds: list[str] = field(default_factory=list)
    patches: list[dict[str, Any]] = field(default_factory=list)
    rerun: list[ToolName] = field(default_factory=list)
    copy_channels: list[str] | None = None
    copy_limits: dict[str, dict[str, int]] = field(default_factory=dict)
    copy_tone: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def full_replan(self) -> bool:
        return bool(self.unknown)

    def needs(self, tool: ToolName) -> bool:
        return tool in self.rerun

    def summary(self) -> str:
        """One paragraph saying what was understood and what happens next."""
        parts = list(self.notes)
        parts += [f"Not changed: {p}" for p in self.problems]
        if self.full_replan:
            parts.append("Not understood by the follow-up rules: " + "; ".join(f"“{u}”" for u in self.unknown)
                         + ". The follow-up was added to the brief and the whole plan was made again.")
        elif self.rerun or self.copy_channels:
            tools = list(self.rerun) + (["copywriter"] if self.copy_channels and "copywriter" not in self.rerun
                                        else [])
            parts.append("Re-ran only: " + ", ".join(tools) + ".")
        elif not self.problems:
            parts.append("Nothing to change.")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"kinds": list(self.kinds), "rerun": list(self.rerun), "copy_channels": self.copy_channels,
                "full_replan": self.full_replan, "notes": list(self.notes), "problems": list(self.problems),
                "unknown": list(self.unknown)}


def split_clauses(text: str) -> list[str]:
    """Split a follow-up into instructions (sentences, and "… and <verb> …")."""
    return [c.strip(" ,，") for c in _CLAUSE_SPLIT.split(text) if c and c.strip(" ,，")]


def _plan_spends(plan: CampaignPlan) -> dict[str, float]:
    if plan.budget is None:
        return {}
    return {a.channel: a.spend for a in plan.budget.allocations}


def _amount(clause: str, currency: str | None, base: float | None) -> tuple[float | None, str | None]:
    """Return (amount, problem) for the money in ``clause``; a percentage is of ``base``."""
    money = [m for m in find_money(clause) if not m.negative]
    if money:
        mention = money[0]
        if mention.currency and currency and mention.currency != currency:
            return None, f"the plan's budget is in {currency}; say the amount in {currency} (not {mention.currency})"
        return mention.amount, None
    percent = _PERCENT.search(clause)
    if percent and base is not None:
        return round(base * float(percent.group(1)) / 100.0, 2), None
    bare = _BARE_NUMBER.search(clause)
    if bare:
        return float(bare.group(1).replace(",", "")), None
    return None, "no amount was given"


def _fmt(amount: float, currency: str | None) -> str:
    return f"{amount:,.2f}".rstrip("0").rstrip(".") + (f" {currency}" if currency else "")


class _Reader:
    """Reads one follow-up against the current plan; the rules live in the ``_try_*`` methods."""

    def __init__(self, text: str, plan: CampaignPlan, catalog: ChannelCatalog) -> None:
        self.plan = plan
        self.catalog = catalog
        self.result = FollowUp(text=text.strip())
        self.spends = _plan_spends(plan)
        self.currency = plan.budget.currency if plan.budget else (plan.brief.budget.currency if plan.brief.budget
                                                                  else None)
        self.allowed = list(plan.brief.channels_allowed)
        self.excluded = list(plan.brief.channels_excluded)
        self.language = "zh" if CJK.search(text) else plan.brief.language

    # --- helpers -----------------------------------------------------------------------------------

    def _kind(self, kind: str, *tools: ToolName) -> None:
        if kind not in self.result.kinds:
            self.result.kinds.append(kind)
        for tool in tools:
            if tool not in self.result.rerun:
                self.result.rerun.append(tool)
        self.result.rerun.sort(key=TOOL_ORDER.index)

    def _name(self, channel: str) -> str:
        return self.catalog[channel].name if channel in self.catalog else channel

    def _include(self, channel: str) -> None:
        if channel in self.excluded or (self.allowed and channel not in self.allowed):
            self.result.patches.append({"op": "include_channel", "channel": channel})
            self.excluded = [c for c in self.excluded if c != channel]
            if self.allowed:
                self.allowed.append(channel)

    # --- rules -------------------------------------------------------------------------------------

    def read(self, clause: str) -> None:
        # A length may come with another change in the same clause ("only email for 10 days").
        timed = self._try_duration(clause)
        for rule in (self._try_move, self._try_total, self._try_only, self._try_audience, self._try_copy,
                     self._try_channels):
            if rule(clause):
                return
        if not timed:
            self.result.unknown.append(clause)

    def _try_move(self, clause: str) -> bool:
        if not (_MOVE_VERB.search(clause) and _FROM.search(clause)):
            return False
        source_at = _FROM.search(clause)
        assert source_at is not None
        to_at = _TO.search(clause, source_at.end())
        if to_at is None:
            return False
        mentions = _channel_mentions(clause, self.catalog)
        sources = [c for c, start, _ in mentions if source_at.end() <= start < to_at.start()]
        targets = [c for c, start, _ in mentions if start >= to_at.end()]
        if not sources or not targets:
            return False
        source, target = sources[0], targets[0]
        self._kind("budget")
        if self.plan.budget is None:
            self.result.problems.append("the plan has no budget split to move money in")
            return True
        if source == target:
            self.result.problems.append(f"{self._name(source)} is both the source and the destination")
            return True
        amount, problem = _amount(clause, self.currency, self.spends.get(source))
        if amount is None or amount <= 0:
            self.result.problems.append(f"could not move money from {self._name(source)}: {problem or 'no amount'}")
            return True
        available = self.spends.get(source, 0.0)
        if amount > available + 0.005:
            self.result.problems.append(f"{self._name(source)} has only {_fmt(available, self.currency)}; "
                                        f"cannot move {_fmt(amount, self.currency)}")
            return True
        new_source = round(available - amount, 2)
        new_target = round(self.spends.get(target, 0.0) + amount, 2)
        self._kind("budget", "channel_optimizer", "forecaster")
        self._include(target)
        self.result.patches += [{"op": "pin", "channel": source, "amount": new_source},
                                {"op": "pin", "channel": target, "amount": new_target}]
        self.result.notes.append(
            f"Moved {_fmt(amount, self.currency)} from {self._name(source)} ({_fmt(available, self.currency)} → "
            f"{_fmt(new_source, self.currency)}) to {self._name(target)} "
            f"({_fmt(self.spends.get(target, 0.0), self.currency)} → {_fmt(new_target, self.currency)}); both are "
            "now fixed, the other channels keep their optimum."
        )
        self.spends[source], self.spends[target] = new_source, new_target
        return True

    def _try_total(self, clause: str) -> bool:
        if not _BUDGET_WORD.search(clause):
            return False
        money = [m for m in find_money(clause) if not m.negative]
        bare = _BARE_NUMBER.search(clause)
        if not money and not bare and not _PERCENT.search(clause):
            return False
        self._kind("budget")
        current = self.plan.budget.total if self.plan.budget else (self.plan.brief.budget.amount
                                                                   if self.plan.brief.budget else None)
        # "by 10 percent" is 10% of the current total, not 10 currency units.
        amount, problem = _amount(clause, self.currency, current)
        if amount is None:
            self.result.problems.append(f"could not read the new budget: {problem}")
            return True
        if _BY.search(clause) and current is not None:
            if _DOWN.search(clause):
                amount = current - amount
            elif _UP.search(clause):
                amount = current + amount
        if amount <= 0:
            self.result.problems.append("a budget must be positive")
            return True
        currency = self.currency or (money[0].currency if money and money[0].currency else "USD")
        self._kind("budget", "channel_optimizer", "forecaster")
        self.result.patches.append({"op": "budget", "amount": round(amount, 2), "currency": currency})
        before = _fmt(current, currency) if current is not None else "none"
        self.result.notes.append(f"Total budget {before} → {_fmt(amount, currency)}; the split is optimised again.")
        return True

    def _try_only(self, clause: str) -> bool:
        if _COPY_WORD.search(clause):
            return False
        lists = only_channels(clause, channel_mentions(clause, self.catalog))
        channels = list(dict.fromkeys(m.channel for group in lists for m in group))
        if not channels:
            return False
        self._kind("budget", "channel_optimizer", "forecaster")
        self.result.patches.append({"op": "only_channels", "channels": channels})
        self.allowed = list(channels)
        self.excluded = [c for c in self.excluded if c not in channels]
        names = ", ".join(self._name(c) for c in channels)
        self.result.notes.append(f"Only {names} from now on; the budget is split again over {names}.")
        return True

    def _try_duration(self, clause: str) -> bool:
        duration = find_duration(clause)
        if duration is None or not _DURATION_CHANGE.search(clause) or _COPY_WORD.search(clause):
            return False
        self._kind("budget", "channel_optimizer", "forecaster")
        self.result.patches.append({"op": "duration", "weeks": duration.weeks, "days": round(duration.days, 2),
                                    "weeks_exact": duration.weeks_exact})
        before = self.plan.brief.days or (self.plan.brief.weeks or 0) * 7
        self.result.notes.append(
            f"Campaign length {before:g} days → {duration.days:g} days (planned as {duration.weeks} "
            f"week{'s' if duration.weeks != 1 else ''}); the split and the forecast are made again.")
        return True

    def _try_channels(self, clause: str) -> bool:
        if _COPY_WORD.search(clause):
            return False
        handled = False
        for channel, start, _ in _channel_mentions(clause, self.catalog):
            before = clause[max(0, start - 40):start]
            if _DROP_BEFORE.search(before):
                self._kind("budget", "channel_optimizer", "forecaster")
                self.result.patches.append({"op": "exclude_channel", "channel": channel})
                self.allowed = [c for c in self.allowed if c != channel]
                self.excluded.append(channel)
                self.result.notes.append(f"Dropped {self._name(channel)}; the budget is split again without it.")
                handled = True
            elif _ADD_BEFORE.search(before):
                self._kind("budget", "channel_optimizer", "forecaster")
                self._include(channel)
                if not any(p.get("channel") == channel for p in self.result.patches):
                    self.result.patches.append({"op": "include_channel", "channel": channel})
                self.result.notes.append(f"Added {self._name(channel)} to the channel mix; the budget is split again.")
                handled = True
        return handled

    def _try_audience(self, clause: str) -> bool:
        audience = self.plan.brief.audience
        change: dict[str, Any] = {}
        excluded = _EXCLUDE_AGE.search(clause) if _PEOPLE.search(clause) else None
        zh = _EXCLUDE_AGE_ZH.search(clause)
        if excluded:
            side = excluded.group("side").lower()
            key = "age_min" if side in ("under", "below") or side.startswith("younger") else "age_max"
            change[key] = int(excluded.group("age"))
        elif zh:
            age = int(zh.group("age") or zh.group("age2"))
            change["age_min" if (zh.group("side") or zh.group("side2")) == "下" else "age_max"] = age
        elif _RESTRICT.search(clause) and not _COPY_WORD.search(clause):
            low, high = find_ages(clause)
            if low is not None:
                change["age_min"] = low
            if high is not None:
                change["age_max"] = high
            departments = find_departments(clause)
            if departments:
                change["departments"] = departments
        if not change:
            return False
        low = change.get("age_min", audience.age_min)
        high = change.get("age_max", audience.age_max)
        if low is not None and high is not None and low > high:
            self._kind("audience")
            self.result.problems.append(f"the audience would be aged {low}–{high}, which is empty")
            return True
        self._kind("audience", "profile_lookup", "forecaster", "copywriter")
        self.result.patches.append({"op": "audience", **change})
        described = []
        if "age_min" in change or "age_max" in change:
            described.append(f"ages {low if low is not None else 'any'}–{high if high is not None else 'any'}")
        if "departments" in change:
            described.append("departments " + ", ".join(change["departments"]))
        self.result.notes.append("Audience now: " + "; ".join(described) + ". Segments, forecast and copy are "
                                 "made again for it; the budget split is kept.")
        return True

    def _try_copy(self, clause: str) -> bool:
        if not _COPY_WORD.search(clause) and not _SHORTER.search(clause):
            return False
        with_copy = list(dict.fromkeys(m.channel for m in self.plan.messaging))
        named = [c for c, _, _ in _channel_mentions(clause, self.catalog)]
        channels = [c for c in dict.fromkeys(named) if c in with_copy]
        missing = [c for c in dict.fromkeys(named) if c not in with_copy]
        self._kind("copy")
        if missing and not channels:
            self.result.problems.append(
                "the plan has no copy for " + ", ".join(self._name(c) for c in missing)
                + (" (copy exists for " + ", ".join(self._name(c) for c in with_copy) + ")" if with_copy else ""))
            return True
        targets = channels or with_copy
        shorter = bool(_SHORTER.search(clause))
        tone_match = None if shorter else _TONE.search(clause)
        tone = None
        if tone_match:
            tone = next(g for g in tone_match.groups() if g).strip()
        if shorter:
            for channel in targets:
                self.result.copy_limits[channel] = self._shorter_limits(channel)
        if tone:
            self.result.copy_tone = tone
            if not channels:
                self.result.patches.append({"op": "tone", "value": tone})
        if not shorter and not tone:
            self.result.copy_tone = clause  # another instruction: the rewrite is asked to follow it
        existing = self.result.copy_channels or []
        self.result.copy_channels = list(dict.fromkeys([*existing, *targets]))
        what = "shorter" if shorter else (f"tone “{tone}”" if tone else f"“{clause}”")
        self.result.notes.append(f"Copy for {', '.join(self._name(c) for c in targets)} rewritten ({what}); "
                                 "nothing else is re-run.")
        return True

    def _shorter_limits(self, channel: str) -> dict[str, int]:
        rules = self.catalog[channel].copy_rules
        cells = [m for m in self.plan.messaging if m.channel == channel]
        body = max((len(v.body) for m in cells for v in m.variants), default=rules.body_max)
        headline = max((len(v.headline) for m in cells for v in m.variants), default=rules.headline_max)
        lang = "zh" if self.language == "zh" else "en"
        # The shorter limits are in characters (the unit the override pins), within the platform's limit.
        return {
            "body_max": min(rules.characters("body", lang),
                            max(MIN_BODY_CHARS[lang], int(body * SHORTER_BODY_FACTOR))),
            "headline_max": min(rules.characters("headline", lang), max(MIN_HEADLINE_CHARS[lang],
                                                                       int(headline * SHORTER_HEADLINE_FACTOR))),
            "unit": "characters",  # type: ignore[dict-item]
            "headline_unit": "characters",  # type: ignore[dict-item]
        }


def classify_follow_up(text: str, plan: CampaignPlan, catalog: ChannelCatalog) -> FollowUp:
    """Read ``text`` (a follow-up to ``plan``) into a :class:`FollowUp`.

    Budget changes re-run the channel optimizer and the forecaster; audience changes re-run the profile
    lookup and everything after it (the budget split stays); copy changes re-run the copywriter for the named
    channels only. Anything else makes it a full replan. Deterministic: no model is called.
    """
    reading = normalise(text.strip()).text
    reader = _Reader(text, plan, catalog)
    clauses = split_clauses(reading) or [reading]
    for clause in clauses:
        reader.read(clause)
    result = reader.result
    if "profile_lookup" in result.rerun:
        result.copy_channels = None  # the copywriter re-runs for every channel anyway
    return result


def apply_patches(brief: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """Return ``brief`` (the Brief as JSON) with the follow-up ``patches`` applied, in order.

    ``pin`` fixes a channel's spend (min = max), ``budget`` sets the total, ``exclude_channel`` /
    ``include_channel`` edit the channel lists (a pin or bound on an excluded channel is dropped),
    ``audience`` sets ages or departments, ``tone`` the copy tone, ``only_channels`` restricts the mix to
    its channels (dropping other channels' bounds), ``duration`` sets weeks, days and fractional weeks.
    """
    result = {**brief, "audience": dict(brief.get("audience") or {}),
              "channel_bounds": [dict(b) for b in brief.get("channel_bounds") or []],
              "channels_allowed": list(brief.get("channels_allowed") or []),
              "channels_excluded": list(brief.get("channels_excluded") or [])}
    for patch in patches:
        op = patch.get("op")
        if op == "pin":
            channel = patch["channel"]
            bounds = [b for b in result["channel_bounds"] if b.get("channel") != channel]
            bounds.append({"channel": channel, "min_spend": patch["amount"], "max_spend": patch["amount"]})
            result["channel_bounds"] = bounds
        elif op == "budget":
            result["budget"] = {"amount": patch["amount"], "currency": patch["currency"]}
        elif op == "exclude_channel":
            channel = patch["channel"]
            result["channels_allowed"] = [c for c in result["channels_allowed"] if c != channel]
            if channel not in result["channels_excluded"]:
                result["channels_excluded"].append(channel)
            result["channel_bounds"] = [b for b in result["channel_bounds"] if b.get("channel") != channel]
        elif op == "include_channel":
            channel = patch["channel"]
            result["channels_excluded"] = [c for c in result["channels_excluded"] if c != channel]
            if result["channels_allowed"] and channel not in result["channels_allowed"]:
                result["channels_allowed"].append(channel)
        elif op == "audience":
            for key in ("age_min", "age_max", "departments"):
                if key in patch:
                    result["audience"][key] = patch[key]
        elif op == "tone":
            result["tone"] = patch["value"]
        elif op == "only_channels":
            channels = list(patch["channels"])
            result["channels_allowed"] = channels
            result["channels_only"] = True
            result["channels_excluded"] = [c for c in result["channels_excluded"] if c not in channels]
            result["channel_bounds"] = [b for b in result["channel_bounds"] if b.get("channel") in channels]
        elif op == "duration":
            for key in ("weeks", "days", "weeks_exact"):
                result[key] = patch[key]
    return result
