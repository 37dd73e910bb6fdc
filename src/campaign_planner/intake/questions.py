"""Questions a brief asks, and their answers from the plan's tool numbers.

"Which segments should we prioritise, and what lift should we expect versus not emailing?" is two
questions: ``which_customers`` (answered from the targeting table and the forecast's incremental revenue
per segment) and ``what_lift`` (the forecast against not treating). "How much should go to TikTok?" is
``how_much_channel`` (the allocation). A question no tool answers is listed as open, never answered in
prose: every figure in an answer is a number a tool produced.
"""

from __future__ import annotations

import re

from campaign_planner.data.catalog import ChannelCatalog
from campaign_planner.domain import Answer, BriefQuestion, CampaignPlan, QuestionKind
from campaign_planner.intake.channels import channel_mentions
from campaign_planner.intake.normalise import normalise

_SENTENCE = re.compile(r"[^.!?？。！\n]+[?？]|[^.!?？。！\n]*[吗呢][。!！]?(?=$|\s)")
_SPLIT_QUESTIONS = re.compile(
    r",?\s+and\s+(?=(?:what|which|how|who|should|will|can)\b)|，?(?:以及|还有)(?=[^，。]*[?？])", re.IGNORECASE)
_WHAT_LIFT = re.compile(r"\b(?:lift|uplift|incremental|versus not|vs\.? not|compared (?:to|with) not|without "
                        r"(?:the campaign|emailing|it)|what (?:return|roi))\b|提升|增量|不发|相比|比不", re.IGNORECASE)
_WHICH_CUSTOMERS = re.compile(r"\b(?:which|what) (?:segments?|customers|audiences?|groups?|people)\b|\bwho should\b|"
                              r"\bwhom\b|\bprioriti[sz]e\b|\btarget first\b|哪些(?:人群|客户|顾客|用户|细分)|优先",
                              re.IGNORECASE)
_HOW_MUCH = re.compile(r"\bhow much\b|多少", re.IGNORECASE)
_NOT_SENDING = {"email": r"not (?:e-?mail)ing|不发邮件", "sms": r"not (?:text|sms)ing|不发短信",
                "push": r"not push(?:ing)?|不推送"}


def find_questions(text: str, catalog: ChannelCatalog) -> list[BriefQuestion]:
    """Return the questions ``text`` (a brief as written) asks, each classified by what would answer it."""
    questions: list[BriefQuestion] = []
    for sentence in _SENTENCE.findall(text):
        for part in _SPLIT_QUESTIONS.split(sentence.strip()):
            part = part.strip(" ,，")
            if len(part) < 4:
                continue
            reading = normalise(part).text
            questions.append(BriefQuestion(text=part, **_classify(reading, catalog)))  # type: ignore[arg-type]
    return questions


def _classify(reading: str, catalog: ChannelCatalog) -> dict[str, str | None]:
    channels = [m.channel for m in channel_mentions(reading, catalog)]
    channels += [c for c, pattern in _NOT_SENDING.items() if re.search(pattern, reading, re.IGNORECASE)]
    channel = channels[0] if channels else None
    kind: QuestionKind = "other"
    if _HOW_MUCH.search(reading) and channel and not _WHAT_LIFT.search(reading):
        kind = "how_much_channel"
    elif _WHAT_LIFT.search(reading):
        kind = "what_lift"
    elif _WHICH_CUSTOMERS.search(reading):
        kind = "which_customers"
    return {"kind": kind, "channel": channel}


# Answer sentences per plan language; the figures in them are formatted tool numbers.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "target_top": "On {channel}: target the top {share} by predicted uplift ({customers} history customers): "
                      "observed lift {lift} (95% {lo} to {hi}) against {overall} for everyone.",
        "send_to_all": "On {channel}: send to everyone; no top group's 95% interval beats the lift among everyone "
                       "({overall}).",
        "ranked": "Segments by forecast incremental revenue: {items}.",
        "lift_measured": "Against not treating (the uplift model on the randomised campaign history): ",
        "lift_prior": "No randomised history for this: the response-curve or prior forecast, not a comparison with "
                      "not treating: ",
        "lift_line": "{segment} on {channel}: {metric} {expected} (80% {lo} to {hi}), incremental revenue {revenue}.",
        "no_spend": "{channel} gets no spend in this plan (it is not among the channels the budget is split over).",
        "spend": "{channel}: {spend} of {total}, expected outcome {outcome}, marginal ROI {roi}.",
        "open": "The brief asks “{question}”: no tool of this plan answers it; it needs a decision from the team.",
        "separator": "; ",
    },
    "zh": {
        "target_top": "{channel}：按预测增量排名前 {share} 的客户（历史客户 {customers} 位）值得优先触达："
                      "观察到的提升 {lift}（95% 区间 {lo} 至 {hi}），全体客户为 {overall}。",
        "send_to_all": "{channel}：建议全量发送；没有任何头部人群的 95% 区间高于全体客户的提升（{overall}）。",
        "ranked": "按预测增量收入排序的细分人群：{items}。",
        "lift_measured": "与不触达相比（基于随机对照的历史活动的增量模型）：",
        "lift_prior": "该渠道没有随机对照历史，以下为响应曲线或先验预测，并非与不触达的对比：",
        "lift_line": "{segment}（{channel}）：{metric} {expected}（80% 区间 {lo} 至 {hi}），增量收入 {revenue}。",
        "no_spend": "本方案中 {channel} 没有预算（不在分配预算的渠道之内）。",
        "spend": "{channel}：{spend}（总预算 {total}），预期产出 {outcome}，边际 ROI {roi}。",
        "open": "简报提出的问题“{question}”：本方案没有工具能回答，需要团队决定。",
        "separator": "；",
    },
}


def _money(amount: float, currency: str, language: str = "en") -> str:
    from campaign_planner.render.formatting import format_money

    return format_money(amount, currency, language)


def _lift(value: float, outcome: str, language: str = "en") -> str:
    from campaign_planner.render.formatting import format_lift

    return format_lift(value, outcome, language)


def _names(plan: CampaignPlan) -> dict[str, str]:
    # Segment names as the plan's language shows them (a Chinese plan's are built in Chinese).
    from campaign_planner.render.formatting import segment_names

    return segment_names(plan)


def _channel(channel: str, language: str) -> str:
    # The channel id in English answers (as before); its Chinese name in a Chinese plan ("邮件").
    from campaign_planner.render.formatting import channel_name

    return channel_name(channel, "zh") if language == "zh" else channel


def _which_customers(plan: CampaignPlan, question: BriefQuestion, currency: str) -> Answer | None:
    text = TEXT[plan.brief.language]
    language = plan.brief.language
    parts: list[str] = []
    numbers: dict[str, float] = {}
    sources: list[str] = []
    for channel in dict.fromkeys(t.channel for t in plan.targeting):
        rows = [t for t in plan.targeting if t.channel == channel]
        best = next((t for t in rows if t.recommendation == "target_top"), None)
        if best is not None:
            lo, hi = best.observed_lift_interval_95
            parts.append(text["target_top"].format(
                channel=_channel(channel, language), share=f"{best.top_share:.0%}", customers=f"{best.customers:,}",
                lift=_lift(best.observed_lift, best.outcome, language), lo=_lift(lo, best.outcome, language),
                hi=_lift(hi, best.outcome, language), overall=_lift(best.overall_lift, best.outcome, language)))
            numbers[f"{channel}.top_share"] = best.top_share
            numbers[f"{channel}.observed_lift"] = best.observed_lift
        else:
            parts.append(text["send_to_all"].format(channel=_channel(channel, language),
                                                    overall=_lift(rows[0].overall_lift, rows[0].outcome, language)))
        numbers[f"{channel}.overall_lift"] = rows[0].overall_lift
        sources.append("targeting")
    revenue: dict[str, float] = {}
    for line in plan.forecast:
        revenue[line.segment_id] = revenue.get(line.segment_id, 0.0) + line.incremental_revenue
    if revenue:
        names = _names(plan)
        ranked = sorted(revenue.items(), key=lambda item: -item[1])
        parts.append(text["ranked"].format(items=text["separator"].join(
            f"{names.get(sid, sid)} {_money(value, currency, plan.brief.language)}" for sid, value in ranked)))
        numbers.update({f"{sid}.incremental_revenue": round(value, 2) for sid, value in ranked})
        sources.append("forecast")
    if not parts:
        return None
    return Answer(question=question.text, kind=question.kind, text=" ".join(parts), numbers=numbers,
                  sources=list(dict.fromkeys(sources)))


def _what_lift(plan: CampaignPlan, question: BriefQuestion, currency: str) -> Answer | None:
    lines = [line for line in plan.forecast if question.channel in (None, line.channel)]
    measured = [line for line in lines if line.source == "uplift_model"]
    if not lines:
        return None
    text = TEXT[plan.brief.language]
    names = _names(plan)
    parts, numbers = [], {}
    for line in measured or lines:
        lo, hi = line.interval_80
        segment = names.get(line.segment_id, line.segment_id)
        parts.append(text["lift_line"].format(
            segment=segment, channel=_channel(line.channel, plan.brief.language), metric=_metric(line.metric, plan),
            expected=f"{line.expected:,.1f}", lo=f"{lo:,.1f}", hi=f"{hi:,.1f}",
            revenue=_money(line.incremental_revenue, currency, plan.brief.language)))
        numbers[f"{line.segment_id}.{line.channel}.expected"] = line.expected
        numbers[f"{line.segment_id}.{line.channel}.incremental_revenue"] = line.incremental_revenue
    lead = text["lift_measured"] if measured else text["lift_prior"]
    return Answer(question=question.text, kind=question.kind, text=lead + " ".join(parts), numbers=numbers,
                  sources=["forecast"])


def _metric(metric: str, plan: CampaignPlan) -> str:
    from campaign_planner.render.messages import metric_label

    return metric_label(metric, "zh") if plan.brief.language == "zh" else metric.replace("_", " ")


def _how_much(plan: CampaignPlan, question: BriefQuestion, currency: str) -> Answer | None:
    if plan.budget is None or question.channel is None:
        return None
    text = TEXT[plan.brief.language]
    channel = _channel(question.channel, plan.brief.language)
    allocation = next((a for a in plan.budget.allocations if a.channel == question.channel), None)
    if allocation is None:
        return Answer(question=question.text, kind=question.kind, text=text["no_spend"].format(
                      channel=channel),
                      numbers={f"{question.channel}.spend": 0.0}, sources=["budget"])
    said = text["spend"].format(channel=channel, spend=_money(allocation.spend, currency, plan.brief.language),
                                total=_money(plan.budget.total, currency, plan.brief.language),
                                outcome=_money(allocation.expected_outcome, currency, plan.brief.language),
                                roi=f"{allocation.marginal_roi:.2f}")
    return Answer(question=question.text, kind=question.kind, text=said,
                  numbers={f"{question.channel}.spend": allocation.spend,
                           f"{question.channel}.marginal_roi": allocation.marginal_roi},
                  sources=["budget"])


def answer_questions(plan: CampaignPlan) -> tuple[list[Answer], list[str]]:
    """Return (answers to the brief's questions from the plan's tool numbers, open questions for the rest).

    Refuses to answer in prose: a question whose kind no tool covers ("other"), or whose tool produced
    nothing (no forecast, no budget), becomes an open question naming it.
    """
    currency = plan.budget.currency if plan.budget else (plan.brief.budget.currency if plan.brief.budget else "")
    answers: list[Answer] = []
    unanswered: list[str] = []
    for question in plan.brief.questions:
        answer = None
        if question.kind == "which_customers":
            answer = _which_customers(plan, question, currency)
        elif question.kind == "what_lift":
            answer = _what_lift(plan, question, currency)
        elif question.kind == "how_much_channel":
            answer = _how_much(plan, question, currency)
        if answer is None:
            unanswered.append(TEXT[plan.brief.language]["open"].format(question=question.text))
        else:
            answers.append(answer)
    return answers, unanswered
