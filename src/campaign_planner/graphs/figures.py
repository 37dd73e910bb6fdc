"""One figure of record per channel: the budget table's expected outcome is the sum of the channel's
forecast lines, in the objective's unit, with the other model's figure as a labelled cross-check.

Why the forecast lines win: they are the only figures that are about the plan's segments (the uplift
model on the segments' own customers, or the channel's outcome split by segment share), and the plan
presents them line by line; a budget table that said something else about the same channel would be a
second, contradicting forecast. Where the lines come from the response curve they add up to the curve's
figure anyway (shares sum to 1), so the two differ only for channels with campaign history.
"""

from __future__ import annotations

from typing import Any

from campaign_planner.domain import (
    Allocation,
    Budget,
    Flag,
    FlagCode,
    ForecastLine,
    OutcomeCrossCheck,
)
from campaign_planner.render.formatting import format_money
from campaign_planner.render.messages import keyed_flag, t

#: Figures that differ by less than this (absolute, in the outcome's unit) agree "to rounding".
ROUNDING = 0.5


def outcome_unit(objective: str, currency: str) -> str:
    """Return the unit of a budget's expected outcomes: the currency for revenue, else ``conversions``."""
    return currency if objective == "revenue" else "conversions"


def line_outcome(line: ForecastLine, objective: str) -> float | None:
    """Return a forecast line's figure in the objective's unit (None when the line cannot give it)."""
    if objective == "revenue":
        return line.incremental_revenue
    return line.expected if line.metric == "incremental_conversions" else None


def lines_total(lines: list[ForecastLine], channel: str, objective: str) -> float | None:
    """Return the sum of ``channel``'s lines in the objective's unit; None when it has none (or one lacks it)."""
    values = [line_outcome(line, objective) for line in lines if line.channel == channel]
    if not values or any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def reconcile_budget(
    budget: Budget,
    lines: list[ForecastLine],
    intervals_80: dict[str, tuple[float, float]],
    language: str = "en",
) -> Budget:
    """Return ``budget`` with each allocation's expected outcome set to the sum of its forecast lines.

    The optimizer's response-curve figure is kept as ``cross_check`` where the lines come from another
    model (the uplift model), with the reason the two differ. Channels without lines keep the curve's
    figure. Sets ``outcome_unit`` everywhere and ``expected_outcome`` (the total).
    """
    unit = outcome_unit(budget.objective, budget.currency)
    reconciled = []
    for allocation in budget.allocations:
        own = [line for line in lines if line.channel == allocation.channel]
        total = lines_total(lines, allocation.channel, budget.objective)
        update: dict[str, object] = {"outcome_unit": unit, "outcome_source": allocation.source}
        if total is not None:
            sources = {line.source for line in own}
            source = "uplift_model" if "uplift_model" in sources else own[0].source
            update.update(expected_outcome=round(total, 2), outcome_source=source)
            if source == "uplift_model":
                update["cross_check"] = OutcomeCrossCheck(
                    source=allocation.source,
                    expected=allocation.expected_outcome,
                    interval_80=intervals_80.get(allocation.channel),
                    reason=_cross_check_reason(allocation, own, unit, language),
                )
        reconciled.append(allocation.model_copy(update=update))
    return budget.model_copy(update={
        "allocations": reconciled,
        "outcome_unit": unit,
        "expected_outcome": round(sum(a.expected_outcome for a in reconciled), 2),
    })


def _cross_check_reason(allocation: Allocation, own: list[ForecastLine], unit: str, language: str = "en") -> str:
    customers = sum(line.customers or 0 for line in own)
    curve = t("curve_prior" if allocation.source == "prior" else "curve_fitted", language)
    return t("cross_check_reason", language, curve=curve, customers=f"{customers:,}",
             figure=f"{allocation.expected_outcome:,.0f}", unit=unit)


def check_reconciled(budget: Budget, lines: list[ForecastLine]) -> list[str]:
    """Return how the budget breaks the one-figure-of-record rule (empty when it keeps it)."""
    problems = []
    for allocation in budget.allocations:
        if not allocation.outcome_unit:
            problems.append(f"{allocation.channel}: the expected outcome has no unit")
        total = lines_total(lines, allocation.channel, budget.objective)
        if total is not None and abs(total - allocation.expected_outcome) > ROUNDING:
            problems.append(
                f"{allocation.channel}: the budget's expected outcome {allocation.expected_outcome:,.2f} differs "
                f"from the sum of its forecast lines {total:,.2f} {allocation.outcome_unit}"
            )
    if budget.recommended_total is not None:
        recommended = sum(a.recommended_spend or 0.0 for a in budget.allocations)
        if abs(recommended - budget.recommended_total) > 0.005:
            problems.append(f"recommended spends sum to {recommended:,.2f}, not {budget.recommended_total:,.2f}")
        if budget.recommended_total > budget.total + 0.005:
            problems.append(
                f"recommended total {budget.recommended_total:,.2f} is above the budget {budget.total:,.2f}"
            )
        if abs(budget.total - budget.recommended_total - budget.unallocated) > 0.005:
            problems.append("unallocated is not the budget less the recommended total")
    return problems


def negative_roi_flags(budget: Budget, lines: list[ForecastLine], brief_minimums: dict[str, float]) -> list[Flag]:
    """Return one flag per funded channel whose forecast lines have a negative ROI: why it is funded (a bound
    in the brief, the min-share floor, or spending the whole budget) and what to do instead."""
    flags = []
    for allocation in budget.allocations:
        own = [line for line in lines if line.channel == allocation.channel and line.roi is not None]
        negative = [line for line in own if line.spend > 0 and (line.roi or 0.0) < 0]
        if allocation.spend <= 0 or not negative:
            continue
        worst = min(line.roi or 0.0 for line in negative)
        segments = ", ".join(line.segment_id for line in negative)
        values: dict[str, str | int | float] = {
            "channel": allocation.channel, "worst": f"{worst:+.2f}", "segments": segments,
            "spend": allocation.spend, "money": "spend,recommended,recommended_total,minimum",
            "money_currency": budget.currency}
        if negative[0].source == "uplift_model" and all(line.incremental_revenue < 0 for line in negative):
            values |= {"why_key": "why_uplift_lowers", "todo_key": "todo_leave_out"}
        elif negative[0].source == "uplift_model" and allocation.cross_check is not None:
            customers = sum(line.customers or 0 for line in own)
            values |= {"why_key": "why_reach_beyond", "todo_key": "todo_segments_only",
                       "reached": f"{allocation.cross_check.expected:,.0f}", "unit": allocation.outcome_unit,
                       "customers": f"{customers:,}", "returned": f"{allocation.expected_outcome:,.0f}"}
        else:
            values |= _why_funded(allocation, budget, brief_minimums)
        flags.append(keyed_flag(FlagCode.NEGATIVE_ROI, "flag_negative_roi", **values))
    return flags


def _why_funded(allocation: Allocation, budget: Budget,
                brief_minimums: dict[str, float]) -> dict[str, str | float]:
    """Return the notice values saying why a channel with a negative ROI is funded and what to do instead
    (amounts as numbers: the flag's ``money`` names them)."""
    keep: dict[str, str | float]
    if allocation.recommended_spend is not None and allocation.recommended_spend < allocation.spend:
        keep = {"keep_key": "keep_recommended", "recommended": allocation.recommended_spend,
                "recommended_total": budget.recommended_total or 0.0}
    else:
        keep = {"keep_key": "keep_cut"}
    if "min_spend" in allocation.binding and allocation.channel in brief_minimums:
        return keep | {"why_key": "why_brief_minimum", "todo_key": "todo_lower_minimum",
                       "minimum": brief_minimums[allocation.channel]}
    if "min_spend" in allocation.binding:
        return keep | {"why_key": "why_catalog_minimum", "todo_key": "todo_keep"}
    if "min_share" in allocation.binding:
        return keep | {"why_key": "why_min_share", "todo_key": "todo_drop_channel"}
    if budget.spend_all:
        return keep | {"why_key": "why_spend_all", "todo_key": "todo_reconsider_all"}
    return keep | {"why_key": "why_split_past_returns", "todo_key": "todo_keep"}


# The channel optimizer's frontier notes (tools/budget_frontier.py), by their catalog keys.
_FRONTIER_NOTES = {
    t(key, "en"): key
    for key in ("note_spend_all", "note_returns_cover", "note_no_total_returns", "note_best_split_falls",
                "note_no_money_value")
}


def recommendation_text(budget: Budget, allocation: dict[str, Any], language: str = "en") -> str:
    """One sentence: the recommended spend against the budget and what the rest would return."""
    written = str(allocation.get("recommendation_note") or "")
    note_key = _FRONTIER_NOTES.get(written)

    def note(default_key: str) -> str:
        if not written:
            return t(default_key, language)
        return t(note_key, language) if note_key else written  # a note with no key stays as the tool wrote it

    money = lambda value: format_money(value, budget.currency, language)  # noqa: E731
    if budget.recommended_total is None:
        return t("recommend_none", language, note=note("note_roi_unknown"))
    if budget.unallocated <= 0.005:
        return t("recommend_all", language, total=money(budget.total), note=note("note_default_cover"))
    rest = budget.unallocated_return
    rest_text = "" if rest is None else t("recommend_rest", language, rest=money(budget.unallocated),
                                          returned=f"{rest:,.0f}", unit=budget.outcome_unit)
    if rest is not None and budget.objective == "revenue" and budget.unallocated > 0:
        rest_text += t("recommend_rest_roi", language, roi=f"{(rest - budget.unallocated) / budget.unallocated:+.2f}")
    return t("recommend_part", language, recommended=money(budget.recommended_total), total=money(budget.total),
             note=note("note_falls_below"), rest=rest_text)


def saturation_flags_in_plan_currency(budget: Budget, weeks: int, shop_currency: str) -> list[Flag]:
    """Return the optimizer's saturation flags restated in the plan's currency (one per channel funded past its
    break-even spend), for plans whose currency is not the shop's: the optimizer speaks the shop's currency."""
    flags = []
    for allocation in budget.allocations:
        limit = allocation.spend_at_marginal_roi_1
        if allocation.spend <= 0 or (limit is not None and allocation.spend <= limit):
            continue
        converted = {"converted_key": "flag_converted_from", "currency": shop_currency, "money": "spend,limit",
                     "money_currency": budget.currency}
        if limit is None:
            flags.append(keyed_flag(FlagCode.SATURATION, "flag_no_break_even", channel=allocation.channel,
                                    measure="ROI", measure_zh="ROI", marginal=f"{allocation.marginal_roi:.2f}",
                                    spend=allocation.spend, **converted))
        else:
            flags.append(keyed_flag(FlagCode.SATURATION, "flag_saturated", channel=allocation.channel,
                                    spend=allocation.spend, weeks=weeks, limit=limit,
                                    marginal=f"{allocation.marginal_roi:.3f}", **converted))
    return flags
