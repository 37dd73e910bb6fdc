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
                    reason=_cross_check_reason(allocation, own, unit),
                )
        reconciled.append(allocation.model_copy(update=update))
    return budget.model_copy(update={
        "allocations": reconciled,
        "outcome_unit": unit,
        "expected_outcome": round(sum(a.expected_outcome for a in reconciled), 2),
    })


def _cross_check_reason(allocation: Allocation, own: list[ForecastLine], unit: str) -> str:
    customers = sum(line.customers or 0 for line in own)
    curve = "the catalog's prior response curve" if allocation.source == "prior" else (
        "the response curve fitted on the weekly channel history"
    )
    return (
        f"{curve} counts everyone the spend reaches over the campaign; the figure of record comes from the uplift "
        f"model of the randomised campaign history on the segments' own {customers:,} customers, which does "
        f"not depend on the spend. Use the curve's figure ({allocation.expected_outcome:,.0f} {unit}) only as a "
        "cross-check of scale."
    )


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
        money = lambda value: format_money(value, budget.currency)  # noqa: E731
        worst = min(line.roi or 0.0 for line in negative)
        segments = ", ".join(line.segment_id for line in negative)
        if negative[0].source == "uplift_model" and all(line.incremental_revenue < 0 for line in negative):
            why = "the uplift model finds the campaign lowers purchases in these segments"
            todo = f"leave {segments} out of {allocation.channel}"
        elif negative[0].source == "uplift_model" and allocation.cross_check is not None:
            customers = sum(line.customers or 0 for line in own)
            why = (
                "its spend was set on the response curve, which counts everyone the spend reaches "
                f"({allocation.cross_check.expected:,.0f} {allocation.outcome_unit}), while the segments' own "
                f"{customers:,} customers are forecast to return {allocation.expected_outcome:,.0f}"
            )
            todo = (
                f"budget {allocation.channel} for the segments' customers only and move the rest, or keep it as reach "
                "beyond the segments and prove it with the holdout test below"
            )
        else:
            why, todo = _why_funded(allocation, budget, brief_minimums)
        flags.append(Flag(
            code=FlagCode.NEGATIVE_ROI,
            message=f"{allocation.channel}: forecast ROI down to {worst:+.2f} ({segments}) on "
            f"{money(allocation.spend)}; it is funded because {why}. To do: {todo}.",
        ))
    return flags


def _why_funded(allocation: Allocation, budget: Budget, brief_minimums: dict[str, float]) -> tuple[str, str]:
    money = lambda value: format_money(value, budget.currency)  # noqa: E731
    keep = (
        f"spend the recommended {money(allocation.recommended_spend)} on it "
        f"(recommended total {money(budget.recommended_total)})"
        if allocation.recommended_spend is not None and allocation.recommended_spend < allocation.spend
        else "cut its spend or test it before scaling"
    )
    if "min_spend" in allocation.binding and allocation.channel in brief_minimums:
        return (f"the brief sets a minimum of {money(brief_minimums[allocation.channel])} on it",
                f"lower or drop that minimum, or {keep}")
    if "min_spend" in allocation.binding:
        return "the catalog sets a minimum spend on it", keep
    if "min_share" in allocation.binding:
        return ("every channel of the brief gets at least a minimum share of the budget",
                f"drop the channel from the brief, or {keep}")
    if budget.spend_all:
        return "the brief asks for the whole budget to be spent", f"reconsider spending it all, or {keep}"
    return "the whole budget is split across the channels, past where returns cover the cost", keep


def recommendation_text(budget: Budget, allocation: dict[str, Any]) -> str:
    """One sentence: the recommended spend against the budget and what the rest would return."""
    if budget.recommended_total is None:
        return "No recommended total: " + str(allocation.get("recommendation_note") or "ROI cannot be stated")
    unit = budget.outcome_unit
    if budget.unallocated <= 0.005:
        return (f"Spend the whole budget of {format_money(budget.total, budget.currency)}: "
                f"{allocation.get('recommendation_note') or 'returns cover the cost up to it'}.")
    rest = budget.unallocated_return
    rest_text = "" if rest is None else f"; the remaining {format_money(budget.unallocated, budget.currency)} " \
        f"would add only {rest:,.0f} {unit} on the response curves"
    if rest is not None and budget.objective == "revenue" and budget.unallocated > 0:
        rest_text += f" (ROI {(rest - budget.unallocated) / budget.unallocated:+.2f})"
    return (f"Recommended: spend {format_money(budget.recommended_total, budget.currency)} of the "
            f"{format_money(budget.total, budget.currency)} budget — "
            f"{allocation.get('recommendation_note') or 'the marginal ROI falls below 1 past it'}{rest_text}. "
            "The table splits the whole budget (allocations always sum to it); the recommended spend is what to "
            "commit now.")


def saturation_flags_in_plan_currency(budget: Budget, weeks: int, shop_currency: str) -> list[Flag]:
    """Return the optimizer's saturation flags restated in the plan's currency (one per channel funded past its
    break-even spend), for plans whose currency is not the shop's: the optimizer speaks the shop's currency."""
    money = lambda value: format_money(value, budget.currency)  # noqa: E731
    flags = []
    for allocation in budget.allocations:
        limit = allocation.spend_at_marginal_roi_1
        if allocation.spend <= 0 or (limit is not None and allocation.spend <= limit):
            continue
        if limit is None:
            message = (f"{allocation.channel}: at no spend does one more unit return more than it costs "
                       f"(marginal ROI {allocation.marginal_roi:.2f} at {money(allocation.spend)})")
        else:
            message = (f"{allocation.channel}: {money(allocation.spend)} over {weeks} weeks is past diminishing "
                       f"returns — the marginal ROI falls below 1 at {money(limit)}; the last unit returns "
                       f"{allocation.marginal_roi:.3f}")
        flags.append(Flag(code=FlagCode.SATURATION, message=message + f" (converted from the shop's {shop_currency})"))
    return flags
