"""The four planning tools as the planner agent sees them, and how the graph runs them.

Each tool is a plain function in its own module; this module adapts them to the graph: it reads their
inputs from the plan state, runs them, and returns state updates holding their raw outputs (JSON-ready
dicts). The planner may choose arguments (channel mix, query wording, segment count) but never numbers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from campaign_planner.domain import Allocation, Assumption, Brief, Flag, FlagCode, Segment
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.graphs.state import PlanState, ToolCallRecord
from campaign_planner.intake.normalise import to_simplified
from campaign_planner.render.messages import KeyedText, keyed_assumption, keyed_flag, t

ToolName = Literal["profile_lookup", "channel_optimizer", "forecaster", "copywriter"]
TOOL_ORDER: tuple[ToolName, ...] = ("profile_lookup", "channel_optimizer", "forecaster", "copywriter")
STATE_KEY: dict[ToolName, str] = {
    "profile_lookup": "profile",
    "channel_optimizer": "allocation",
    "forecaster": "forecast",
    "copywriter": "copy",
}
TOOL_DESCRIPTIONS: dict[ToolName, str] = {
    "profile_lookup": "Find who the customers are: retrieves the shop's reviews that match the brief and splits "
    "them into segments with sizes, needs, pain points and quotes (review ids). Args: query (what to search "
    "the reviews for), max_segments (2-6).",
    "channel_optimizer": "Split the budget across channels on fitted response curves, respecting the brief's "
    "limits. Args: channels (catalog ids to consider; must respect the brief).",
    "forecaster": "Forecast incremental conversions and revenue per segment and channel with 80%/95% "
    "intervals. Needs profile_lookup and channel_optimizer first. No args.",
    "copywriter": "Write copy variants per segment and channel, checked against each channel's rules. "
    "Needs profile_lookup first. Args: channels (defaults to the budgeted channels).",
}
CHINESE_CHANNELS = ("wechat", "xiaohongshu", "douyin", "tmall", "weibo")
DEFAULT_WESTERN_CHANNELS = ("email", "search", "instagram", "facebook")


class ToolAction(BaseModel):
    """One tool call the planner asks for."""

    tool: ToolName
    query: str | None = Field(default=None, max_length=200, description="profile_lookup: search text.")
    max_segments: int | None = Field(default=None, ge=2, le=6, description="profile_lookup: segment count.")
    channels: list[str] | None = Field(default=None, max_length=12, description="channel ids to use.")


class ToolFailedError(RuntimeError):
    """A tool refused its input; the message is shown to the user and recorded as a flag."""


def _brief(state: PlanState) -> Brief:
    return Brief.model_validate(state["brief"])


def candidate_channels(brief: Brief, ctx: PlanningContext) -> list[str]:
    """Return the channels a plan may spend on: the brief's list, else a default mix for the shop."""
    catalog = ctx.shop.catalog
    if brief.channels_only and not brief.channels_allowed:
        return []  # "carrier pigeons only": no catalog channel was allowed, so nothing is spent
    if brief.channels_allowed:
        chosen = list(brief.channels_allowed)
    elif brief.language == "zh":
        chosen = list(CHINESE_CHANNELS[:4])
    else:
        chosen = [c for c in ctx.shop.history_channels if c in catalog] or list(DEFAULT_WESTERN_CHANNELS)
    return [c for c in chosen if c in catalog and c not in brief.channels_excluded]


def _restrict_channels(requested: list[str] | None, allowed: list[str], ctx: PlanningContext) -> list[str]:
    # The planner may narrow the mix but never widen it beyond what the brief allows.
    if not requested:
        return allowed
    resolved = [ctx.shop.catalog.resolve(name) or name for name in requested]
    narrowed = [c for c in dict.fromkeys(resolved) if c in allowed]
    return narrowed if len(narrowed) >= min(2, len(allowed)) else allowed


def _budget_for_allocation(state: PlanState, ctx: PlanningContext) -> tuple[float | None, list[Assumption]]:
    brief = _brief(state)
    if brief.budget is not None:
        return brief.budget.amount, []
    history = ctx.shop.channel_history
    if history is None or state.get("budget_invalid"):
        return None, []
    spend_columns = [c for c in history.columns if c.startswith("spend_")]
    weekly = float(history[spend_columns].sum(axis=1).median())
    weeks = brief.weeks or 4
    assumed = max(1000.0, round(weekly * weeks / 1000.0) * 1000.0)
    return assumed, [
        Assumption(
            text=f"No budget was given: the plan assumes {assumed:,.0f} {ctx.shop.currency}, the shop's median "
            f"weekly channel spend ({weekly:,.0f}) over {weeks} weeks. Confirm before using these figures.",
            confidence=0.3,
        )
    ]


# The review embeddings (all-MiniLM-L6-v2) are English-only: a Chinese brief is searched with the
# English words for what it asks about, so its evidence is retrieved by meaning, not by script.
CHINESE_ATTRIBUTE_TERMS = {
    "面料": "fabric", "舒适": "comfortable", "合身": "fit", "版型": "flattering cut", "显瘦": "flattering",
    "保暖": "warm", "尺码": "sizing", "质量": "quality", "柔软": "soft", "透气": "breathable",
    "颜色": "colour", "价格": "price", "性价比": "value", "时尚": "stylish", "休闲": "casual",
    "通勤": "work", "约会": "date night", "夏天": "summer", "冬天": "winter", "春": "spring", "秋": "autumn",
}


def english_query(brief: Brief) -> str | None:
    """Return an English retrieval query for a Chinese brief (None for English briefs)."""
    if brief.language != "zh":
        return None
    text = to_simplified(brief.text)  # a Traditional brief's 舒適 is the 舒适 of the term list
    terms = [english for chinese, english in CHINESE_ATTRIBUTE_TERMS.items() if chinese in text]
    departments = [d.lower() for d in brief.audience.departments] or ["clothing"]
    return " ".join(["women's", *departments, *terms]) + " review"


def _retrieval_query(requested: str | None, brief: Brief) -> str | None:
    # The planner's wording wins unless it is Chinese, which the English-only embeddings cannot match.
    if requested and not re.search(r"[\u4e00-\u9fff]", requested):
        return requested
    return english_query(brief) or requested


def run_profile_lookup(action: ToolAction, state: PlanState, ctx: PlanningContext) -> dict[str, Any]:
    """Run the profile lookup tool; returns the state update."""
    from campaign_planner.tools.profile_lookup import lookup_profiles
    from campaign_planner.vectorstore.store import open_review_store

    if ctx.review_store is None:
        ctx.review_store = open_review_store(ctx.shop, ctx.settings.chroma_url)
    result = lookup_profiles(
        ctx.shop,
        _brief(state),
        store=ctx.review_store,
        max_segments=action.max_segments or ctx.settings.max_segments,
        query=_retrieval_query(action.query, _brief(state)),
    )
    return {"profile": result.model_dump(mode="json")}


def _curves(ctx: PlanningContext) -> Any:
    from campaign_planner.tools.response_curves import fit_response_curves

    if ctx.curves is None:
        ctx.curves = fit_response_curves(ctx.shop)
    return ctx.curves


def _fx(brief: Brief, ctx: PlanningContext) -> tuple[float, list[Assumption], list[str]]:
    """Return (shop-currency units per brief-currency unit, assumptions, open questions)."""
    from campaign_planner.data.fx import RATES_NOTE, conversion_rate

    if brief.budget is None or brief.budget.currency == ctx.shop.currency:
        return 1.0, [], []
    rate = conversion_rate(brief.budget.currency, ctx.shop.currency)
    return rate, [
        keyed_assumption("assume_fx", 0.5, shop_currency=ctx.shop.currency, currency=brief.budget.currency,
                         rate=f"{rate:.4f}", source=RATES_NOTE, source_zh_key="fx_source_reference")
    ], [t("question_fx", ctx.plan_language(brief), currency=brief.budget.currency,
          shop_currency=ctx.shop.currency)]


def run_channel_optimizer(action: ToolAction, state: PlanState, ctx: PlanningContext) -> dict[str, Any]:
    """Run the channel optimizer; returns the state update (or flags when it cannot allocate)."""
    from campaign_planner.data.fx import CurrencyError
    from campaign_planner.tools.budget_frontier import brief_says_spend_all
    from campaign_planner.tools.channel_optimizer import AllocationError, InfeasibleConstraintsError, allocate_budget
    from campaign_planner.tools.response_curves import ResponseCurveError

    brief = _brief(state)
    if state.get("budget_invalid"):
        return {"allocation": {"skipped": "invalid_budget"}}
    budget, assumptions = _budget_for_allocation(state, ctx)
    if budget is None:
        return {"allocation": {"skipped": "missing_budget"}}
    channels = _restrict_channels(action.channels, candidate_channels(brief, ctx), ctx)
    if not channels:
        flag = Flag(code=FlagCode.INFEASIBLE_CONSTRAINTS, message="No channel is left to spend on.")
        return {"allocation": {"skipped": "no_channels", "flags": [flag.model_dump(mode="json")]}}
    try:
        rate, fx_assumptions, fx_questions = _fx(brief, ctx)
    except CurrencyError as exc:  # a currency the rate table lacks: no split rather than a wrong one
        flag = keyed_flag(FlagCode.INFEASIBLE_CONSTRAINTS, "flag_no_rate", currency=brief.budget.currency,
                          shop_currency=ctx.shop.currency, error=str(exc))
        question = t("question_rate", ctx.plan_language(brief), currency=brief.budget.currency,
                     shop_currency=ctx.shop.currency)
        return {"allocation": {"skipped": "no_rate", "flags": [flag.model_dump(mode="json")]},
                "open_questions": [*state.get("open_questions", []), question]}
    bounds = {b.channel: b for b in brief.channel_bounds}

    def allocate(over: list[str]) -> Any:
        return allocate_budget(
            _curves(ctx),
            budget=budget * rate,
            weeks=brief.weeks or 4,
            channels=over,
            min_spend={c: b.min_spend * rate for c, b in bounds.items() if b.min_spend is not None},
            max_spend={c: b.max_spend * rate for c, b in bounds.items() if b.max_spend is not None},
            excluded=brief.channels_excluded,
            objective="conversions" if brief.objective == "conversions" else "revenue",
            average_order_value=_average_order_value(ctx),
            currency=ctx.shop.currency,
            spend_all=brief_says_spend_all(brief.text),
        )

    dropped: list[str] = []
    try:
        result = allocate(channels)
        if not brief.channels_allowed:
            # The brief left the mix open: channels that get spend only because of the minimum-share floor
            # are worth less at the margin than the rest, so the mix is narrowed to the ones the optimum wants.
            dropped = [a.channel for a in result.allocations if "min_share" in a.binding and a.channel not in bounds]
            if dropped and len(channels) - len(dropped) >= 2:
                result = allocate([c for c in channels if c not in dropped])
            else:
                dropped = []
    except InfeasibleConstraintsError as exc:
        flag = Flag(code=FlagCode.INFEASIBLE_CONSTRAINTS, message=str(exc))
        return {"allocation": {"skipped": "infeasible_constraints", "flags": [flag.model_dump(mode="json")]}}
    except (AllocationError, ResponseCurveError) as exc:
        # A channel without a curve or an objective the shop cannot measure: no split, said plainly.
        flag = Flag(code=FlagCode.INFEASIBLE_CONSTRAINTS, message=f"The budget could not be split: {exc}")
        return {"allocation": {"skipped": "allocation_failed", "flags": [flag.model_dump(mode="json")]}}
    # Stored in the shop's currency, as the tool computed it; assembly converts to the brief's once
    # (graphs/plan_currency.py). budget_total is the brief's budget, in the brief's currency.
    payload = result.model_dump(mode="json")
    payload["shop_currency_rate"] = rate
    payload["plan_currency"] = brief.budget.currency if brief.budget else ctx.shop.currency
    payload["budget_total"] = budget
    payload["assumed_budget"] = brief.budget is None
    payload["channels_considered"] = channels
    payload["channels_dropped"] = dropped
    update: dict[str, Any] = {"allocation": payload}
    assumptions = [*assumptions, *fx_assumptions]
    if assumptions:
        update["assumptions"] = [*state.get("assumptions", []), *(a.model_dump() for a in assumptions)]
    if fx_questions:
        update["open_questions"] = [*state.get("open_questions", []), *fx_questions]
    return update


def _average_order_value(ctx: PlanningContext) -> float | None:
    # One definition for every tool: shop.yaml's declared value, else an estimate from enough converters.
    from campaign_planner.tools.forecaster import shop_average_order_value

    return shop_average_order_value(ctx.shop)[0]


def run_forecaster(action: ToolAction, state: PlanState, ctx: PlanningContext) -> dict[str, Any]:
    """Run the forecaster on the segments and the allocation; returns the state update."""
    from campaign_planner.tools.forecaster import forecast_campaign

    allocation = state.get("allocation") or {}
    profile = state.get("profile") or {}
    if "allocations" not in allocation or not profile.get("segments"):
        return {"forecast": {"skipped": "needs segments and a budget allocation", "lines": []}}
    # Everything here is in the shop's currency (the optimizer's output is stored unconverted). The forecaster
    # reads expected outcomes as revenue; a conversions objective counts conversions, worth the average order value.
    outcome_scale = 1.0
    if allocation.get("objective") == "conversions":
        from campaign_planner.tools.forecaster import shop_average_order_value

        aov, aov_source = shop_average_order_value(ctx.shop)
        if aov is None:
            flag = Flag(
                code=FlagCode.DEGRADED_OUTPUT,
                message="No forecast: the objective counts conversions, and the shop has no average order value "
                f"({aov_source}; declare campaign_history.average_order_value in shop.yaml), so revenue and ROI "
                "cannot be stated",
            )
            return {"forecast": {"skipped": "no average order value", "lines": [],
                                 "flags": [flag.model_dump(mode="json")]}}
        outcome_scale = aov
    allocations = [
        Allocation.model_validate({**a, "expected_outcome": a["expected_outcome"] * outcome_scale})
        for a in allocation["allocations"]
    ]
    intervals = _allocation_intervals(allocation)
    if intervals and outcome_scale != 1.0:
        intervals = {c: tuple(v * outcome_scale for v in values) for c, values in intervals.items()}
    segments = [Segment.model_validate(s) for s in profile["segments"]]
    brief = _brief(state)
    result = forecast_campaign(
        ctx.shop,
        segments=segments,
        channels=[a.channel for a in allocations],
        allocation=allocations,
        weeks=brief.weeks or 4,
        currency=ctx.shop.currency,
        allocation_intervals=intervals,
        behaviour=brief.audience.behaviour,
    )
    payload = result.model_dump(mode="json")
    update: dict[str, Any] = {"forecast": payload}
    if result.assumptions:
        known = {a["text"] for a in state.get("assumptions", [])}
        fresh = [a.model_dump() for a in result.assumptions if a.text not in known]
        if fresh:
            update["assumptions"] = [*state.get("assumptions", []), *fresh]
    return update


def _allocation_intervals(allocation: dict[str, Any]) -> dict[str, tuple[float, float, float, float]] | None:
    outcomes = allocation.get("outcomes")
    if not outcomes:
        return None
    intervals = {}
    for outcome in outcomes:
        lo80, hi80 = outcome["interval_80"]
        lo95, hi95 = outcome["interval_95"]
        intervals[outcome["channel"]] = (lo80, hi80, lo95, hi95)
    return intervals


def run_copywriter(action: ToolAction, state: PlanState, ctx: PlanningContext) -> dict[str, Any]:
    """Run the copywriter for every segment × channel; returns the state update."""
    from campaign_planner.agents.copywriter import write_copy
    from campaign_planner.intake.normalise import copy_in_script
    from campaign_planner.tools.copy_rules import load_brand_voice

    profile = state.get("profile") or {}
    if not profile.get("segments"):
        return {"copy": {"skipped": "needs segments", "messaging": []}}
    brief = _brief(state)
    allocation = state.get("allocation") or {}
    budgeted = [a["channel"] for a in allocation.get("allocations", []) if a["spend"] > 0]
    allowed = budgeted or candidate_channels(brief, ctx)
    channels = _restrict_channels(action.channels, allowed, ctx)
    language = ctx.plan_language(brief)
    result = write_copy(
        ctx.model,
        brief=brief,
        segments=[Segment.model_validate(s) for s in profile["segments"]],
        channels=channels,
        catalog=ctx.shop.catalog,
        language=language,  # type: ignore[arg-type]
        brand=load_brand_voice(ctx.shop.root),
        variants_per_cell=ctx.settings.variants_per_cell,
        max_workers=ctx.settings.copy_workers,
        method=ctx.settings.copy_method,
    )
    payload = result.model_dump(mode="json")
    if language == "zh":  # a brief written in Traditional script gets its copy in Traditional script
        payload = copy_in_script(payload, brief.script)
    return {"copy": payload}


Runner = Callable[[ToolAction, PlanState, PlanningContext], dict[str, Any]]


def _data_flags(ctx: PlanningContext, file: str) -> list[dict[str, Any]]:
    """Return the shop load's warnings about ``file`` as ``data_quality`` flags: the plan rests on it."""
    warnings = getattr(ctx.shop, "data_warnings", {}).get(file, [])
    flags = [
        keyed_flag(FlagCode.DATA_QUALITY, "flag_data_quality", file=file, warning_key=w.key, **w.params)
        if isinstance(w, KeyedText) else Flag(code=FlagCode.DATA_QUALITY, message=f"{file}: {w}")
        for w in warnings
    ]
    return [flag.model_dump(mode="json") for flag in flags]


def _assignment_assumptions(ctx: PlanningContext, output: dict[str, Any]) -> list[Assumption]:
    """Return the assumption a plan makes when shop.yaml does not say how campaign history was assigned."""
    spec = ctx.shop.campaign_spec
    used = any(line.get("source") == "uplift_model" for line in output.get("lines", []))
    if spec is None or spec.assignment is not None or not used:
        return []
    return [
        Assumption(
            text="shop.yaml does not say how the campaign history was assigned (campaign_history.assignment): "
            "the uplift figures treat it as observational, adjusted for the customer features, not as a "
            "randomized test. Declare `assignment: randomized` if the control was a random holdout.",
            confidence=0.5,
        )
    ]


def _with_data_warnings(runner: Runner, file: str, key: str) -> Runner:
    """Return ``runner`` with the shop's warnings about ``file`` added to its output's flags (and, for the
    forecaster, the assignment assumption), so a plan never rests on flagged data without saying so."""

    def run(action: ToolAction, state: PlanState, ctx: PlanningContext) -> dict[str, Any]:
        update = runner(action, state, ctx)
        output = update.get(key)
        if not isinstance(output, dict):
            return update
        output["flags"] = [*output.get("flags", []), *_data_flags(ctx, file)]
        if key == "forecast":
            current = update.get("assumptions", state.get("assumptions", []))
            known = {a.get("text") for a in current}
            fresh = [a.model_dump() for a in _assignment_assumptions(ctx, output) if a.text not in known]
            if fresh:  # a re-run of the forecaster adds none
                update["assumptions"] = [*current, *fresh]
        return update

    run.__doc__ = runner.__doc__
    return run


RUNNERS: dict[ToolName, Runner] = {
    "profile_lookup": run_profile_lookup,
    "channel_optimizer": _with_data_warnings(run_channel_optimizer, "channel_history.csv", "allocation"),
    "forecaster": _with_data_warnings(run_forecaster, "campaign_history.csv", "forecast"),
    "copywriter": run_copywriter,
}

# What each tool needs in the state before it can run usefully.
PREREQUISITES: dict[ToolName, tuple[ToolName, ...]] = {
    "profile_lookup": (),
    "channel_optimizer": (),
    "forecaster": ("profile_lookup", "channel_optimizer"),
    "copywriter": ("profile_lookup",),
}


def run_action(
    action: ToolAction, state: PlanState, ctx: PlanningContext, caller: str
) -> tuple[dict[str, Any], ToolCallRecord]:
    """Run one tool and return (state update, log record). Tool errors propagate: they are bugs or
    bad data the user must see, not something to paper over."""
    started = time.perf_counter()
    update = RUNNERS[action.tool](action, state, ctx)
    output = update.get(STATE_KEY[action.tool]) or {}
    note = str(output.get("skipped", "")) if isinstance(output, dict) else ""
    record: ToolCallRecord = {
        "tool": action.tool,
        "args": action.model_dump(exclude_none=True, exclude={"tool"}),
        "caller": caller,
        "seconds": round(time.perf_counter() - started, 3),
        "ok": not note,
        "note": note,
    }
    return update, record
