"""The one place money changes currency: tool outputs (in the shop's currency) into the plan's currency.

The response curves, the uplift models and the average order value are all in the shop's currency, so the
tools compute and store everything in it. A brief may state its budget in another currency; the plan is
shown in the brief's. The conversion happens here, once, when the plan is assembled (and, with the same
function, when validation and the narrative read the tool outputs as the plan shows them): spends are
split to the cent so they still sum to the brief's budget, money outcomes are divided by the rate, counts
(conversions) and ratios (ROI, marginal ROI) are left as they are.
"""

from __future__ import annotations

import copy
from typing import Any

from campaign_planner.tools.money import split_exactly


def plan_rate(allocation: dict[str, Any] | None) -> float:
    """Return shop-currency units per plan-currency unit recorded with the allocation (1 when none)."""
    return float((allocation or {}).get("shop_currency_rate", 1.0))


def allocation_in_plan_currency(allocation: dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of the channel optimizer's stored output in the plan's currency (the input untouched)."""
    payload = copy.deepcopy(allocation or {})
    if "allocations" not in payload:
        return payload
    return _allocation_in_plan_currency(payload, plan_rate(payload), float(payload["budget_total"]))


def forecast_in_plan_currency(forecast: dict[str, Any] | None, allocation: dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of the forecaster's stored output in the plan's currency, each line labelled with it."""
    payload = copy.deepcopy(forecast or {})
    rate = plan_rate(allocation)
    currency = (allocation or {}).get("plan_currency")
    for line in payload.get("lines", []):
        if rate != 1.0:
            line["incremental_revenue"] = line["incremental_revenue"] / rate
            line["spend"] = line["spend"] / rate
            if line["metric"].endswith("revenue"):
                line["expected"] = line["expected"] / rate
                for key in ("interval_80", "interval_95"):
                    line[key] = [value / rate for value in line[key]]
        if currency:
            line["currency"] = currency
    return payload


def _allocation_in_plan_currency(payload: dict[str, Any], rate: float, budget: float) -> dict[str, Any]:
    """Express an allocation made in the shop's currency in the brief's (spends still sum exactly).

    Outcomes are money only for the revenue objective; conversions are counts and keep their values.
    """
    if rate == 1.0:
        return payload
    money = 1.0 / rate if payload.get("objective", "revenue") == "revenue" else 1.0
    allocations = payload["allocations"]
    spends = split_exactly([a["spend"] / rate for a in allocations], budget)
    for allocation, spend in zip(allocations, spends, strict=True):
        allocation["spend"] = spend
        allocation["expected_outcome"] = allocation["expected_outcome"] * money
        if allocation.get("spend_at_marginal_roi_1") is not None:
            allocation["spend_at_marginal_roi_1"] = allocation["spend_at_marginal_roi_1"] / rate
    if payload.get("recommended_total") is not None:
        # The recommended split is converted like the budget's: cents that still sum exactly.
        recommended = round(payload["recommended_total"] / rate, 2)
        raw = [a.get("recommended_spend") or 0.0 for a in allocations]
        exact = split_exactly(raw, recommended) if sum(raw) > 0 else [0.0] * len(raw)
        for allocation, spend in zip(allocations, exact, strict=True):
            allocation["recommended_spend"] = spend
        payload["recommended_total"] = recommended if sum(raw) > 0 else 0.0
        if abs(payload["recommended_total"] - budget) < 0.01 or payload.get("spend_all"):
            payload["recommended_total"] = budget
            for allocation, spend in zip(allocations, spends, strict=True):
                allocation["recommended_spend"] = spend
    for key in ("recommended_outcome", "unallocated_return"):
        if payload.get(key) is not None:
            payload[key] = payload[key] * money
    payload["frontier"] = [
        {"spend": p["spend"] / rate, "outcome": p["outcome"] * money, "marginal_roi": p.get("marginal_roi")}
        for p in payload.get("frontier", [])
    ]
    for outcome in payload.get("outcomes", []):
        outcome["spend"] = outcome["spend"] / rate
        outcome["expected_outcome"] = outcome["expected_outcome"] * money
        for key in ("interval_80", "interval_95"):
            outcome[key] = [value * money for value in outcome[key]]
        if outcome.get("spend_at_marginal_roi_1") is not None:
            outcome["spend_at_marginal_roi_1"] = outcome["spend_at_marginal_roi_1"] / rate
    payload["curves"] = {
        channel: [{"spend": p["spend"] / rate, "outcome": p["outcome"] * money} for p in points]
        for channel, points in payload.get("curves", {}).items()
    }
    payload["total_expected"] = payload["total_expected"] * money
    for key in ("total_interval_80", "total_interval_95"):
        payload[key] = [value * money for value in payload[key]]
    payload["budget"] = budget
    payload["shop_currency_rate"] = rate
    return payload


