"""The budget as a cap: the efficient frontier and the spend where the marginal return falls below cost.

For a total spend S, the frontier F(S) is the best outcome any split of S can reach under the channel
bounds (the channel optimizer's own solver, run at each S). Its slope is the marginal return of the best
split; in money, the marginal ROI. Spending past the point where that slope crosses 1 buys less than it
costs, so the recommendation is the S that maximises F(S) x (money per outcome unit) - S, found on a grid
of totals and refined with a bounded 1-D search. The brief's budget is the cap: the recommendation is
never above it, and equals it when the brief asks to spend it all.

The frontier keeps the hard lower bounds only (the brief's and the catalog's minimum spends), not the
optimizer's ``min_share`` floor: the floor spreads a budget the brief wants spent across its channels,
which is a preference about the whole budget, not a reason to spend below break-even.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from campaign_planner.domain import FrontierPoint

#: Totals evaluated along the frontier (the chart's points and the search grid).
FRONTIER_POINTS = 17
#: A recommendation within this share of the budget is the budget (not worth holding back).
WHOLE_BUDGET_SHARE = 0.995

# "spend it all", "use the full budget", "the entire budget must be spent", "预算全部花完", "用完预算".
_SPEND_ALL = re.compile(
    r"\b(?:spend|use|deploy|invest|allocate)\s+(?:it\s+all|all\s+of\s+it|(?:the\s+)?(?:whole|entire|full|"
    r"complete)\s+(?:budget|amount))\b"
    r"|\b(?:whole|entire|full|all\s+(?:of\s+)?the)\s+budget\s+(?:must|should|has\s+to|needs\s+to)\s+be\s+"
    r"(?:spent|used)\b"
    r"|(?:全部|全额|都)(?:花完|用完|花掉|投放|投入)|用完(?:全部)?预算|花完(?:全部)?预算|预算(?:要|必须|需)?(?:全部|全额)?(?:花完|用完)",
    re.IGNORECASE,
)


def brief_says_spend_all(text: str) -> bool:
    """Return True when the brief asks for the whole budget to be spent (a small rule over its wording)."""
    return bool(_SPEND_ALL.search(text or ""))


@dataclass
class Frontier:
    """The frontier's points, the recommended total and its split (channel -> spend, in cents)."""

    points: list[FrontierPoint]
    recommended_total: float | None
    recommended_spends: dict[str, float] = field(default_factory=dict)
    recommended_outcome: float | None = None
    outcome_at_budget: float = 0.0
    note: str = ""


def efficient_frontier(
    solver: object,
    channels: list[str],
    lower: np.ndarray,
    upper: np.ndarray,
    budget: float,
    money_per_unit: float | None,
    *,
    spend_all: bool = False,
) -> Frontier:
    """Return the efficient frontier of ``solver``'s curves on [sum(lower), budget] and the recommendation.

    ``money_per_unit`` turns one outcome unit into money (1 for revenue, the average order value for
    conversions); None means ROI cannot be stated, so no recommendation below the budget is made.
    ``spend_all`` makes the recommendation the budget. Refuses nothing: infeasible bounds were refused
    by the optimizer before this is called.
    """
    from campaign_planner.tools.channel_optimizer import _optimise, _to_cents

    floor = float(lower.sum())
    cache: dict[float, tuple[np.ndarray, float]] = {}

    def best(total: float) -> tuple[np.ndarray, float]:
        total = round(total, 2)
        if total not in cache:
            if total <= 0:
                x = np.zeros_like(lower)
            else:
                x, _ = _optimise(solver, lower, upper, max(total, floor))  # type: ignore[arg-type]
            cache[total] = (x, float(solver.value(x).sum()))  # type: ignore[attr-defined]
        return cache[total]

    def marginal(x: np.ndarray, total: float) -> float:
        grad = solver.grad(np.maximum(x, 1e-9 * max(total, 1.0)))  # type: ignore[attr-defined]
        room = x < upper - 1e-6 * max(budget, 1.0)
        return float(grad[room].max()) if room.any() else 0.0

    grid = np.linspace(floor, budget, FRONTIER_POINTS)
    points = []
    for total in grid:
        x, value = best(float(total))
        lam = marginal(x, float(total))
        points.append(FrontierPoint(
            spend=round(float(total), 2),
            outcome=round(value, 2),
            marginal_roi=None if money_per_unit is None else round(lam * money_per_unit, 4),
        ))
    at_budget = best(budget)[1]
    if money_per_unit is None:
        return Frontier(points, None, outcome_at_budget=at_budget,
                        note="no money value per outcome unit: the whole budget is the recommendation")
    if spend_all:
        total = budget
        note = "the brief asks for the whole budget to be spent"
    else:
        total, note = _break_even_total(best, grid, money_per_unit, budget)
    x, value = best(total)
    cents = _to_cents(x, lower, np.maximum(upper, lower), round(total * 100), solver.grad(np.maximum(x, 0.01)))  # type: ignore[attr-defined]
    spends = dict(zip(channels, (int(c) / 100.0 for c in cents), strict=True))
    if total < budget and not any(abs(p.spend - total) < 0.005 for p in points):
        lam = marginal(x, total)
        points.append(FrontierPoint(spend=round(total, 2), outcome=round(value, 2),
                                    marginal_roi=round(lam * money_per_unit, 4)))
        points.sort(key=lambda p: p.spend)
    return Frontier(points, round(sum(spends.values()), 2), spends, round(value, 2), at_budget, note)


def _break_even_total(best: object, grid: np.ndarray, money: float, budget: float) -> tuple[float, str]:
    """The total maximising net return F(S) x money - S: where the frontier's marginal ROI crosses 1."""

    def net(total: float) -> float:
        return best(total)[1] * money - total  # type: ignore[operator]

    values = [net(float(s)) for s in grid]
    k = int(np.argmax(values))
    lo, hi = float(grid[max(k - 1, 0)]), float(grid[min(k + 1, len(grid) - 1)])
    total = float(grid[k])
    if hi > lo:
        refined = minimize_scalar(lambda s: -net(float(s)), bounds=(lo, hi), method="bounded",
                                  options={"xatol": max(0.5, 1e-4 * budget), "maxiter": 25})
        if refined.success and -refined.fun > values[k]:
            total = float(refined.x)
    if total >= WHOLE_BUDGET_SHARE * budget:
        return budget, "the marginal ROI stays at or above 1 up to the budget"
    if values[k] <= 0 and total <= float(grid[0]) + 0.005:
        return float(grid[0]), "no total spend returns its cost on these curves"
    return math.floor(total * 100) / 100, "the marginal ROI of the best split falls below 1 past this total"
