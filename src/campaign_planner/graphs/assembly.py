"""Plan assembly and validation: tool outputs in, a checked :class:`CampaignPlan` out."""

from __future__ import annotations

import re
import time
from typing import Any

from campaign_planner.data.catalog import ChannelCatalog
from campaign_planner.domain import (
    Allocation,
    Assumption,
    Brief,
    Budget,
    CampaignPlan,
    Flag,
    FlagCode,
    ForecastLine,
    FrontierPoint,
    Messaging,
    ModelCallTiming,
    Provenance,
    RationaleItem,
    ResponseCurvePoint,
    Segment,
    Targeting,
)
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.graphs.figures import (
    check_reconciled,
    negative_roi_flags,
    recommendation_text,
    reconcile_budget,
    saturation_flags_in_plan_currency,
)
from campaign_planner.graphs.plan_currency import allocation_in_plan_currency, forecast_in_plan_currency
from campaign_planner.graphs.state import PlanState
from campaign_planner.graphs.summary import (
    FiguresOfRecord,
    channel_label,
    compose_summary,
    deterministic_summary,
    figures_of_record,
)
from campaign_planner.intake.questions import answer_questions
from campaign_planner.render.formatting import format_money
from campaign_planner.render.messages import MESSAGES, profile_in_language, restated, segment_display_name, t
from campaign_planner.tools.measurement import design_measurement

SPEND_TOLERANCE = 0.005  # half a cent


def collect_flags(state: PlanState) -> list[Flag]:
    """Return every flag raised by intake, the agent and the tools, without duplicates."""
    raw: list[dict[str, Any]] = list(state.get("flags", []))
    for key in ("profile", "allocation", "forecast", "copy"):
        output = state.get(key) or {}
        if isinstance(output, dict):
            raw.extend(output.get("flags", []))
    seen: set[tuple[str, str]] = set()
    flags = []
    for item in raw:
        flag = Flag.model_validate(item)
        key = (flag.code.value, flag.message)
        if key not in seen:
            seen.add(key)
            flags.append(flag)
    return flags


def known_figures(state: PlanState) -> set[float]:
    """Return every number a tool or the brief produced: the only numbers prose may state."""
    figures: set[float] = set()
    brief_text = state.get("brief_text", "")
    figures.update(float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", brief_text))

    def walk(value: Any) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            figures.add(float(value))
            if 0 < abs(value) <= 1:
                figures.add(round(float(value) * 100, 1))  # shares quoted as percentages
            figures.add(float(round(value)))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(state.get("brief"))
    walk(state.get("profile"))
    # Prose may state the plan's figures, which are in the plan's currency.
    walk(allocation_in_plan_currency(state.get("allocation")))
    walk(forecast_in_plan_currency(state.get("forecast"), state.get("allocation")))
    figures.update(float(n) for n in range(0, 11))  # "two segments", counts and list numbering
    return figures


def deterministic_rationale(segments: list[Segment], allocations: list[Allocation], *, language: str = "en",
                            currency: str | None = None,
                            catalog: ChannelCatalog | None = None) -> list[RationaleItem]:
    """Return the rationale that follows from the tool outputs alone (one item per decision), in the plan's
    language: a Chinese plan names segments and channels in Chinese and states spend in its currency."""
    zh = language == "zh"

    def segment_name(segment: Segment) -> str:
        return (segment.display_name or segment_display_name(segment.name, "zh")) if zh else segment.name

    items = [
        RationaleItem(
            decision=t("rationale_target", language, name=segment_name(segment),
                       customers=f"{segment.size.customers:,}" if zh else segment.size.customers,
                       share=f"{segment.size.share:.0%}"),
            evidence_ids=[e.review_id for e in segment.evidence],
        )
        for segment in segments
    ]
    for allocation in allocations:
        limits = [t(f"rationale_limit_{b}", language) if f"rationale_limit_{b}" in MESSAGES else b
                  for b in allocation.binding]
        binding = t("rationale_binding", language, limits=("、" if zh else ", ").join(limits)) if limits else ""
        channel = channel_label(allocation.channel, "zh", catalog) if zh else allocation.channel
        spend = format_money(allocation.spend, currency, language) if zh and currency else f"{allocation.spend:,.2f}"
        source = t(f"rationale_source_{allocation.source}", language)
        items.append(
            RationaleItem(
                decision=t("rationale_spend", language, spend=spend, channel=channel,
                           roi=f"{allocation.marginal_roi:.2f}", source=source, binding=binding),
                evidence_ids=[f"allocation:{allocation.channel}"],
            )
        )
    return items


def plan_forecast_lines(state: PlanState) -> list[ForecastLine]:
    """Return the forecaster's lines as the plan shows them (in the plan's currency)."""
    converted = forecast_in_plan_currency(state.get("forecast"), state.get("allocation"))
    return [ForecastLine.model_validate(f) for f in converted.get("lines", [])]


def _budget(state: PlanState, brief: Brief, ctx: PlanningContext) -> Budget | None:
    allocation = allocation_in_plan_currency(state.get("allocation"))
    if "allocations" not in allocation:
        return None
    curves = {
        channel: [ResponseCurvePoint.model_validate(p) for p in points]
        for channel, points in (allocation.get("curves") or {}).items()
    }
    total = float(allocation["budget_total"])
    recommended = allocation.get("recommended_total")
    budget = Budget(
        currency=brief.budget.currency if brief.budget else ctx.shop.currency,
        total=total,
        allocations=[Allocation.model_validate(a) for a in allocation["allocations"]],
        objective=brief.objective,
        curves=curves,
        recommended_total=recommended,
        unallocated=round(total - recommended, 2) if recommended is not None else 0.0,
        unallocated_return=allocation.get("unallocated_return"),
        recommended_outcome=allocation.get("recommended_outcome"),
        spend_all=bool(allocation.get("spend_all")),
        frontier=[FrontierPoint.model_validate(p) for p in allocation.get("frontier") or []],
    )
    forecast = plan_forecast_lines(state)
    intervals = {o["channel"]: tuple(o["interval_80"]) for o in allocation.get("outcomes") or []}
    budget = reconcile_budget(budget, forecast, intervals, plan_language(brief, ctx))
    return budget.model_copy(update={"recommendation": recommendation_text(budget, allocation,
                                                                            plan_language(brief, ctx))})


def plan_language(brief: Brief, ctx: PlanningContext) -> str:
    """Return the language the plan's prose is written in (the run's override, else the brief's)."""
    return ctx.plan_language(brief)


def plan_summary_figures(state: PlanState, ctx: PlanningContext) -> tuple[FiguresOfRecord, str]:
    """Return the plan's figures of record and its deterministic summary, as the assembled plan will state them
    (the narrative node vets the model's prose against these before the plan is assembled)."""
    brief = Brief.model_validate(state["brief"])
    segments = [Segment.model_validate(s) for s in (state.get("profile") or {}).get("segments", [])]
    forecast = plan_forecast_lines(state)
    budget = _budget(state, brief, ctx)
    summary = deterministic_summary(brief, segments, budget, forecast, language=plan_language(brief, ctx),
                                    catalog=ctx.shop.catalog)
    return figures_of_record(brief, segments, budget, forecast), summary


def targeting_rationale(rows: list[Targeting], language: str = "en",
                        channel_name: Any = None) -> list[RationaleItem]:
    """One decision per channel: target its smallest top share that reliably beats everyone, or send to all."""
    items = []
    for channel in dict.fromkeys(row.channel for row in rows):
        own = sorted((row for row in rows if row.channel == channel), key=lambda row: row.top_share)
        best = next((row for row in own if row.recommendation == "target_top"), None)
        shown = channel_name(channel) if channel_name else channel
        decision = (
            t("rationale_target_top", language, channel=shown, share=f"{best.top_share:.0%}", reason=best.reason)
            if best else t("rationale_send_to_all", language, channel=shown)
        )
        items.append(RationaleItem(decision=decision, evidence_ids=[f"targeting:{channel}"]))
    return items


def _displayed(segment: Segment, language: str) -> Segment:
    # A Chinese plan carries each segment's Chinese display name for API clients and the chat page; the
    # English ``name`` is kept (render/messages.segment_display_name builds it from the same parts).
    if language == "en":
        return segment
    return segment.model_copy(update={"display_name": segment_display_name(segment.name, language),
                                      "display_profile": profile_in_language(segment.profile, language)})


def assemble_plan(state: PlanState, ctx: PlanningContext) -> CampaignPlan:
    """Build the plan from the state's tool outputs and the vetted narrative."""
    brief = Brief.model_validate(state["brief"])
    profile = state.get("profile") or {}
    segments = [_displayed(Segment.model_validate(s), brief.language) for s in profile.get("segments", [])]
    messaging = [Messaging.model_validate(m) for m in (state.get("copy") or {}).get("messaging", [])]
    forecast = plan_forecast_lines(state)
    targeting = [Targeting.model_validate(t) for t in (state.get("forecast") or {}).get("targeting", [])]
    budget = _budget(state, brief, ctx)
    narrative = state.get("narrative") or {}
    rationale = [RationaleItem.model_validate(r) for r in narrative.get("rationale", [])]
    language = plan_language(brief, ctx)
    separator = t("list_separator", language)

    def named(channel_id: str) -> str:  # a channel as the plan's prose names it: its id in English
        return channel_label(channel_id, language, ctx.shop.catalog) if language != "en" else channel_id

    rationale += deterministic_rationale(segments, budget.allocations if budget else [], language=language,
                                         currency=budget.currency if budget else None, catalog=ctx.shop.catalog)
    dropped = (state.get("allocation") or {}).get("channels_dropped") or []
    if dropped:
        rationale.append(RationaleItem(
            decision=t("rationale_left_out", language, channels=separator.join(named(c) for c in dropped)),
            evidence_ids=[f"allocation:{channel}" for channel in dropped],
        ))
    rationale += targeting_rationale(targeting, language, named)
    if budget is not None and budget.recommendation:
        rationale.append(RationaleItem(decision=budget.recommendation, evidence_ids=["allocation:frontier"]))
    risks = list(narrative.get("risks", []))
    flags = collect_flags(state)
    if budget is not None and budget.currency != ctx.shop.currency:
        # Saturation is stated in the plan's currency, like every other figure of the plan.
        flags = [f for f in flags if f.code != FlagCode.SATURATION]
        flags += saturation_flags_in_plan_currency(budget, brief.weeks or 4, ctx.shop.currency)
    def in_plan_language(item: Any) -> Any:  # the tools word their notices in English, with key and values
        return restated(item, language, channel_name=named)

    flags = [in_plan_language(flag) for flag in flags]
    for flag in flags:
        # The no-spend-history risk below names every channel on a prior curve at once.
        if flag.key == "flag_prior_curve":
            continue
        if flag.code in {FlagCode.SATURATION, FlagCode.WEAK_EVIDENCE} and flag.message not in risks:
            risks.append(flag.message)
    prior_channels = [a.channel for a in budget.allocations if a.source == "prior"] if budget else []
    if prior_channels:
        risks.append(t("risk_no_spend_history", language, channels=separator.join(named(c) for c in prior_channels)))
    if budget is not None:
        minimums = {b.channel: b.min_spend for b in brief.channel_bounds if b.min_spend is not None}
        known = {(f.code, f.message) for f in flags}
        negative = [in_plan_language(f) for f in negative_roi_flags(budget, forecast, minimums)]
        flags += [f for f in negative if (f.code, f.message) not in known]
        for allocation in budget.allocations:
            if allocation.cross_check is not None:
                risks.append(t(
                    "risk_cross_check", language,
                    channel=named(allocation.channel), expected=f"{allocation.expected_outcome:,.0f}",
                    unit=allocation.outcome_unit, curve=f"{allocation.cross_check.expected:,.0f}",
                    reason=allocation.cross_check.reason))
    audience = sum(s.size.customers for s in segments)
    kinds = {channel_id: ctx.shop.catalog[channel_id].kind for channel_id in ctx.shop.catalog.ids()}
    measurement = design_measurement(
        forecast, audience, channel_kinds=kinds, language=language, channel_name=named,
    ) if forecast else None
    usage = ctx.usage.snapshot()
    timeline = ctx.usage.timeline()
    first_step = ctx.usage.first_step_at
    startup = (round(first_step - ctx.process_started, 2)
               if first_step is not None and ctx.process_started is not None else None)
    plan = CampaignPlan(
        brief=brief,
        segments=segments,
        messaging=messaging,
        forecast=forecast,
        targeting=targeting,
        budget=budget,
        measurement=measurement,
        risks=risks,
        flags=flags,
        open_questions=list(dict.fromkeys(state.get("open_questions", []))),
        assumptions=[in_plan_language(Assumption.model_validate(a)) for a in state.get("assumptions", [])],
        rationale=rationale,
        # The figures of record from the tools, then the model's sentences that the narrative node kept.
        summary=compose_summary(
            deterministic_summary(brief, segments, budget, forecast, language=plan_language(brief, ctx),
                                  catalog=ctx.shop.catalog),
            str(narrative.get("summary") or ""),
        ),
        provenance=Provenance(
            backend=ctx.backend,
            model=ctx.model_name,
            run_id=state.get("run_id", ""),
            seconds=round(time.time() - state.get("started_at", time.time()), 2),
            llm_calls=int(usage["llm_calls"]),
            prompt_tokens=int(usage["prompt_tokens"]),
            completion_tokens=int(usage["completion_tokens"]),
            llm_seconds=float(usage["llm_seconds"]),
            data=dict(ctx.shop.data_hashes),
            tool_calls=[f"{r['tool']}({r['caller']})" for r in state.get("tool_log", [])],
            tool_seconds=_tool_seconds(state),
            copy_checks=dict((state.get("copy") or {}).get("variant_checks") or {}),
            startup_seconds=startup,
            stage_seconds=timeline["stage_seconds"],
            model_calls=[ModelCallTiming.model_validate(call) for call in timeline["model_calls"]],
        ),
    )
    # The brief's questions, answered from the tool numbers above; the rest are open (intake/questions.py).
    plan.answers, unanswered = answer_questions(plan)
    plan.open_questions = list(dict.fromkeys([*plan.open_questions, *unanswered]))
    return plan


def _tool_seconds(state: PlanState) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for record in state.get("tool_log", []):
        seconds[record["tool"]] = round(seconds.get(record["tool"], 0.0) + float(record["seconds"]), 3)
    return seconds


def validate_plan(plan: CampaignPlan, state: PlanState, ctx: PlanningContext) -> list[str]:
    """Return every way the plan breaks its promises (empty when it keeps them all)."""
    problems: list[str] = []
    brief = plan.brief
    if state.get("budget_invalid") and (plan.budget is not None or plan.forecast):
        problems.append("the brief's budget is invalid but the plan carries spend or forecast figures")
    if plan.budget is not None:
        problems += _check_budget(plan.budget, brief, state)
        problems += check_reconciled(plan.budget, plan.forecast)
    plan_lines = [line.model_dump(mode="json") for line in plan.forecast]
    if plan_lines != [line.model_dump(mode="json") for line in plan_forecast_lines(state)]:
        problems.append("the plan's forecast lines differ from the forecaster's output")
    problems += _check_evidence(plan, ctx)
    return problems


def _check_budget(budget: Budget, brief: Brief, state: PlanState) -> list[str]:
    problems = []
    spent = sum(a.spend for a in budget.allocations)
    if abs(spent - budget.total) > SPEND_TOLERANCE:
        problems.append(f"allocations sum to {spent:,.2f}, not the budget {budget.total:,.2f}")
    if brief.budget is not None and abs(budget.total - brief.budget.amount) > SPEND_TOLERANCE:
        problems.append(f"budget total {budget.total:,.2f} differs from the brief's {brief.budget.amount:,.2f}")
    for allocation in budget.allocations:
        if allocation.channel in brief.channels_excluded and allocation.spend > 0:
            problems.append(f"excluded channel {allocation.channel} gets {allocation.spend:,.2f}")
        if brief.channels_allowed and allocation.channel not in brief.channels_allowed and allocation.spend > 0:
            problems.append(f"{allocation.channel} is not among the brief's channels but gets spend")
    for bound in brief.channel_bounds:
        spend = sum(a.spend for a in budget.allocations if a.channel == bound.channel)
        if bound.min_spend is not None and spend + SPEND_TOLERANCE < bound.min_spend:
            problems.append(f"{bound.channel} gets {spend:,.2f}, below its minimum {bound.min_spend:,.2f}")
        if bound.max_spend is not None and spend - SPEND_TOLERANCE > bound.max_spend:
            problems.append(f"{bound.channel} gets {spend:,.2f}, above its maximum {bound.max_spend:,.2f}")
    converted = allocation_in_plan_currency(state.get("allocation"))
    tool_allocations = [Allocation.model_validate(a) for a in converted.get("allocations", [])]
    # The expected outcome is the forecast lines' (checked by check_reconciled); the optimizer's own figure
    # must survive as the cross-check, and everything else must be the optimizer's.
    decided = {"expected_outcome", "outcome_unit", "outcome_source", "cross_check"}
    if [a.model_dump(mode="json", exclude=decided) for a in budget.allocations] != [
        a.model_dump(mode="json", exclude=decided) for a in tool_allocations
    ]:
        problems.append("the plan's allocations differ from the channel optimizer's output")
    for planned, tool in zip(budget.allocations, tool_allocations, strict=False):
        if planned.cross_check is not None and abs(planned.cross_check.expected - tool.expected_outcome) > 0.005:
            problems.append(f"{planned.channel}: the cross-check differs from the response curve's figure")
    return problems


def _check_evidence(plan: CampaignPlan, ctx: PlanningContext) -> list[str]:
    from campaign_planner.vectorstore.safety import redact_pii

    problems = []
    reviews = ctx.shop.reviews.set_index("review_id")["text"]
    for segment in plan.segments:
        for evidence in segment.evidence:
            if evidence.review_id not in reviews.index:
                problems.append(f"segment {segment.id} cites review {evidence.review_id}, which does not exist")
                continue
            text = str(reviews.loc[evidence.review_id])
            if evidence.quote not in text and evidence.quote not in redact_pii(text)[0]:
                problems.append(f"segment {segment.id}: the quote from review {evidence.review_id} is not verbatim")
    known_ids = set(reviews.index)
    for item in plan.rationale:
        for evidence_id in item.evidence_ids:
            if ":" not in evidence_id and evidence_id not in known_ids:
                problems.append(f"rationale cites review {evidence_id}, which does not exist")
    return problems
