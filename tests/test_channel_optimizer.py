"""Channel optimizer: exact budget sums, bounds, exclusions, infeasibility, flags and optimality."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import FlagCode
from campaign_planner.tools.channel_optimizer import (
    AllocationError,
    AllocationResult,
    InfeasibleConstraintsError,
    allocate_budget,
    allocate_for_shop,
)
from campaign_planner.tools.response_curves import (
    CurveSet,
    ResponseCurve,
    UnknownChannelError,
    campaign_outcome,
    prior_curve,
)
from channel_history_synthetic import TRUTH, make_history, make_shop


def _catalog_curves() -> CurveSet:
    catalog = default_catalog()
    return CurveSet(curves={c: prior_curve(c, catalog[c].prior) for c in catalog.ids()})


def _fitted(
    channel: str, beta: float, half: float, slope: float, decay: float, **extra: float
) -> ResponseCurve:
    return ResponseCurve(
        channel=channel,
        beta=beta,
        half_saturation=half,
        slope=slope,
        decay=decay,
        source="response_curve",
        **extra,
    )


def _cents(result: AllocationResult) -> int:
    return sum(round(a.spend * 100) for a in result.allocations)


def _spend(result: AllocationResult) -> dict[str, float]:
    return {a.channel: a.spend for a in result.allocations}


# ---------------------------------------------------------------------------------------------- constraints


@pytest.mark.parametrize("budget", [1000.01, 12345.67, 99999.99, 250000.0, 3.33])
def test_allocations_sum_to_the_budget_exactly(budget: float) -> None:
    result = allocate_budget(
        _catalog_curves(),
        budget=budget,
        weeks=4,
        channels=["email", "search", "instagram", "tiktok", "sms", "display", "pinterest"],
    )
    assert _cents(result) == round(budget * 100)
    assert all(
        abs(a.spend * 100 - round(a.spend * 100)) < 1e-6  # whole cents
        for a in result.allocations
    )
    assert all(a.spend >= round(0.05 * budget, 2) - 0.005 for a in result.allocations)


def test_bounds_from_arguments_and_catalog_are_respected() -> None:
    curves = _catalog_curves()
    capped = curves.curves["search"].model_copy(update={"max_spend": 8000.0})
    floored = curves.curves["tiktok"].model_copy(update={"min_spend": 15000.0})
    curves = curves.model_copy(update={"curves": {**curves.curves, "search": capped, "tiktok": floored}})
    result = allocate_budget(
        curves,
        budget=100000,
        weeks=4,
        channels=["email", "search", "instagram", "tiktok"],
        min_spend={"email": 20000},
        max_spend={"instagram": 30000},
    )
    spend = _spend(result)
    assert spend["email"] >= 20000 and spend["tiktok"] >= 15000
    assert spend["search"] <= 8000 and spend["instagram"] <= 30000
    binding = {a.channel: a.binding for a in result.allocations}
    assert "max_spend" in binding["search"] and "max_spend" in binding["instagram"]
    assert _cents(result) == 100000 * 100


def test_excluded_channels_get_nothing() -> None:
    result = allocate_budget(
        _catalog_curves(), budget=50000, weeks=3, channels=["email", "search", "tv"], excluded=["tv", "ooh"]
    )
    tv = next(a for a in result.allocations if a.channel == "tv")
    assert tv.spend == 0.0 and tv.binding == ["excluded"] and tv.expected_outcome == 0.0
    assert "ooh" not in _spend(result)
    assert "tv" not in result.curves
    assert _cents(result) == 50000 * 100


def test_min_share_floor_holds_and_is_reported_as_binding() -> None:
    # Email saturates early, so without the floor it would get almost nothing at this budget.
    result = allocate_budget(
        _catalog_curves(), budget=400000, weeks=4, channels=["email", "search", "instagram"], min_share=0.1
    )
    email = next(a for a in result.allocations if a.channel == "email")
    assert email.spend >= 40000
    assert result.min_share == 0.1


def test_min_share_is_relaxed_when_the_floors_cannot_fit_and_says_so() -> None:
    curves = _catalog_curves()
    channels = curves.channels()  # 20 channels x 10% = 200% of the budget
    result = allocate_budget(curves, budget=100000, weeks=4, channels=channels, min_share=0.1)
    assert result.min_share < 0.1
    assert result.min_share * len(channels) <= 0.5 + 1e-9
    assert any(f.code == FlagCode.INFEASIBLE_CONSTRAINTS and "relaxed" in f.message for f in result.flags)
    assert all(a.spend >= result.min_share * 100000 - 0.01 for a in result.allocations)
    assert _cents(result) == 100000 * 100


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"budget": 0}, "budget"),
        ({"budget": -5}, "budget"),
        ({"min_spend": {"email": 60000, "search": 50000}}, "sum of min_spend"),
        ({"min_spend": {"search": 9000}, "max_spend": {"search": 5000}}, "max_spend[search]"),
        ({"excluded": ["email", "search", "instagram"]}, "all channels excluded"),
        ({"excluded": ["instagram"], "min_spend": {"instagram": 100}}, "excluded channel instagram"),
        ({"max_spend": {"email": 1000, "search": 1000, "instagram": 1000}}, "sum of max_spend"),
        ({"min_spend": {"tiktok": 500}}, "tiktok is not among"),
    ],
)
def test_infeasible_constraints_raise_naming_the_conflict(kwargs: dict, named: str) -> None:
    args = {"budget": 100000.0, "weeks": 4, "channels": ["email", "search", "instagram"], **kwargs}
    with pytest.raises(InfeasibleConstraintsError) as caught:
        allocate_budget(_catalog_curves(), **args)
    assert caught.value.conflicts and any(named in conflict for conflict in caught.value.conflicts)


def test_unknown_channels_and_bad_arguments_are_refused() -> None:
    with pytest.raises(UnknownChannelError, match="instagarm"):
        allocate_budget(_catalog_curves(), budget=1000, weeks=2, channels=["email", "instagarm"])
    with pytest.raises(UnknownChannelError, match="tvv"):
        allocate_budget(_catalog_curves(), budget=1000, weeks=2, channels=["email"], excluded=["tvv"])
    with pytest.raises(AllocationError, match="weeks"):
        allocate_budget(_catalog_curves(), budget=1000, weeks=0, channels=["email"])
    with pytest.raises(AllocationError, match="min_share"):
        allocate_budget(_catalog_curves(), budget=1000, weeks=2, channels=["email"], min_share=1.5)
    with pytest.raises(AllocationError, match="average_order_value"):
        allocate_budget(_catalog_curves(), budget=1000, weeks=2, channels=["email"], objective="conversions")


# ---------------------------------------------------------------------------------------------- outputs


def test_saturation_flag_on_an_absurd_budget_names_the_threshold() -> None:
    result = allocate_budget(_catalog_curves(), budget=1e9, weeks=4, channels=["email"])
    flags = [f for f in result.flags if f.code == FlagCode.SATURATION]
    threshold = result.outcomes[0].spend_at_marginal_roi_1
    assert threshold is not None and 0 < threshold < 1e9
    assert flags and "email" in flags[0].message and f"{threshold:,.0f}" in flags[0].message
    assert result.allocations[0].marginal_roi < 1e-3


def test_prior_channels_are_labelled_and_flagged() -> None:
    result = allocate_budget(_catalog_curves(), budget=30000, weeks=4, channels=["email", "search"])
    assert all(a.source == "prior" for a in result.allocations)
    assert sum(f.code == FlagCode.WEAK_EVIDENCE for f in result.flags) == 2


def test_intervals_bracket_the_expected_outcome() -> None:
    result = allocate_budget(_catalog_curves(), budget=80000, weeks=4, channels=["email", "search", "tiktok"])
    for outcome in result.outcomes:
        lo95, hi95 = outcome.interval_95
        lo80, hi80 = outcome.interval_80
        assert lo95 <= lo80 < outcome.expected_outcome < hi80 <= hi95
    assert result.total_interval_95[0] < result.total_expected < result.total_interval_95[1]
    assert result.total_expected == pytest.approx(sum(a.expected_outcome for a in result.allocations))


def test_chart_points_cover_the_operating_point_and_budget_section_builds() -> None:
    result = allocate_budget(
        _catalog_curves(), budget=80000, weeks=4, channels=["email", "search"], currency="EUR"
    )
    for allocation in result.allocations:
        points = result.curves[allocation.channel]
        assert allocation.spend in [p.spend for p in points]
        assert points[-1].spend >= allocation.spend
    budget = result.to_budget()
    assert budget.currency == "EUR" and budget.total == 80000 and len(budget.allocations) == 2


def test_conversions_objective_divides_revenue_by_order_value() -> None:
    curves = _catalog_curves()
    revenue = allocate_budget(curves, budget=50000, weeks=4, channels=["email", "search"])
    conversions = allocate_budget(
        curves,
        budget=50000,
        weeks=4,
        channels=["email", "search"],
        objective="conversions",
        average_order_value=50.0,
    )
    assert _spend(conversions) == _spend(revenue)
    assert conversions.total_expected == pytest.approx(revenue.total_expected / 50.0, abs=0.02)
    assert any("average order value" in note for note in conversions.notes)


# ---------------------------------------------------------------------------------------------- optimality


def _random_problem(rng: np.random.Generator, n: int) -> tuple[CurveSet, float, int, float]:
    curves = {
        f"c{i}": _fitted(
            f"c{i}",
            float(np.exp(rng.uniform(np.log(2e3), np.log(1e5)))),
            float(np.exp(rng.uniform(np.log(1e3), np.log(5e4)))),
            float(rng.uniform(0.5, 3.0)),
            float(rng.uniform(0.0, 0.8)),
        )
        for i in range(n)
    }
    budget = float(np.round(np.exp(rng.uniform(np.log(2e3), np.log(4e5))), 2))
    return CurveSet(curves=curves), budget, int(rng.integers(1, 13)), float(rng.choice([0.0, 0.05]))


def _grid_best(curves: CurveSet, budget: float, weeks: int, min_share: float, steps: int) -> float:
    names = curves.channels()
    grid = np.arange(steps + 1) * budget / steps
    values = []
    for name in names:
        c = curves.get(name)
        v = campaign_outcome(grid, c.beta, c.half_saturation, c.slope, c.decay, weeks)
        values.append(np.where(grid >= min_share * budget - 1e-9, v, -np.inf))
    if len(names) == 2:
        return float(np.max(values[0] + values[1][::-1]))
    a, b = np.meshgrid(np.arange(steps + 1), np.arange(steps + 1), indexing="ij")
    rest = steps - a - b
    total = np.where(rest >= 0, values[0][a] + values[1][b] + values[2][np.maximum(rest, 0)], -np.inf)
    return float(total.max())


def test_optimal_against_a_fine_grid_on_random_s_shaped_problems() -> None:
    rng = np.random.default_rng(2024)
    worst = -np.inf
    for index in range(40):
        curves, budget, weeks, min_share = _random_problem(rng, 2 + index % 2)
        result = allocate_budget(
            curves, budget=budget, weeks=weeks, channels=curves.channels(), min_share=min_share
        )
        ours = sum(float(curves.get(a.channel).campaign_response(a.spend, weeks)) for a in result.allocations)
        best = _grid_best(curves, budget, weeks, min_share, 20000 if index % 2 == 0 else 800)
        gap = (best - ours) / best
        worst = max(worst, gap)
        assert gap <= 1e-3, (index, gap)
        assert result.upper_bound is not None and result.upper_bound >= ours  # the certificate holds
    print(f"worst relative gap to the grid over 40 problems: {worst:.2e}")


def test_concave_curves_equalise_marginal_returns() -> None:
    curves = CurveSet(
        curves={
            "a": _fitted("a", 40000, 8000, 0.9, 0.3),
            "b": _fitted("b", 25000, 3000, 1.0, 0.1),
            "c": _fitted("c", 60000, 20000, 0.8, 0.5),
        }
    )
    result = allocate_budget(curves, budget=60000, weeks=4, channels=["a", "b", "c"], min_share=0.0)
    marginals = [a.marginal_roi for a in result.allocations]
    assert max(marginals) - min(marginals) < 1e-3 * max(marginals)
    assert (
        result.optimality_gap_bound is not None and result.optimality_gap_bound < 1e-6
    )  # concave: the envelope is the curve, the bound is tight


# ---------------------------------------------------------------------------------------------- shops


def test_allocate_for_shop_fits_curves_and_shifts_budget_to_the_stronger_channel(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    result = allocate_for_shop(shop, budget=120000, weeks=4, channels=[*TRUTH, "tiktok"], min_share=0.05)
    assert result.currency == "USD"
    source = {a.channel: a.source for a in result.allocations}
    assert source == {
        "search": "response_curve",
        "facebook": "response_curve",
        "instagram": "response_curve",
        "tiktok": "prior",
    }
    assert _cents(result) == 120000 * 100
    # Judge the plan by the true curves: its true revenue is close to what the truth-optimal split earns.
    truth = CurveSet(curves={c: _fitted(c, *params) for c, params in TRUTH.items()})
    fitted_split = {c: s for c, s in _spend(result).items() if c in TRUTH}
    budget = sum(fitted_split.values())
    best = allocate_budget(truth, budget=budget, weeks=4, channels=list(TRUTH), min_share=0.05)

    def true_revenue(split: dict[str, float]) -> float:
        return sum(float(truth.get(c).campaign_response(s, 4)) for c, s in split.items())

    regret = 1 - true_revenue(fitted_split) / true_revenue(_spend(best))
    print(f"true-revenue regret of the fitted allocation: {regret:.2%}")
    assert 0 <= regret < 0.03


def test_allocate_for_shop_fits_conversion_curves_when_the_history_counts_them(tmp_path: Path) -> None:
    history = make_history(seed=4)
    history["conversions"] = history["revenue"] / 80.0
    result = allocate_for_shop(
        make_shop(tmp_path, history), budget=60000, weeks=4, channels=list(TRUTH), objective="conversions"
    )
    assert result.objective == "conversions"
    assert not any("average order value" in note for note in result.notes)  # no AOV conversion needed
    # A channel without history gets the catalog's revenue prior in conversions: / revenue per conversion.
    with_prior = allocate_for_shop(
        make_shop(tmp_path, history),
        budget=60000,
        weeks=4,
        channels=[*TRUTH, "tiktok"],
        objective="conversions",
    )
    assert any("revenue per conversion" in note for note in with_prior.notes)
    tiktok = next(o for o in with_prior.outcomes if o.channel == "tiktok")
    prior = default_catalog()["tiktok"].prior
    expected = float(
        campaign_outcome(tiktok.spend, prior.beta / 80.0, prior.half_saturation, prior.slope, prior.decay, 4)
    )
    assert tiktok.expected_outcome == pytest.approx(expected, abs=0.01)
    revenue = allocate_for_shop(make_shop(tmp_path, history), budget=60000, weeks=4, channels=list(TRUTH))
    # Conversions here are revenue / 80, so the fitted conversion curves tell the same story.
    assert result.total_expected == pytest.approx(revenue.total_expected / 80.0, rel=0.05)
