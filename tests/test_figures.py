"""One figure of record per channel, segment forecasts about the segment, and the budget as a cap."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from campaign_planner.data.shop import load_shop
from campaign_planner.domain import Allocation, Budget, FlagCode, ForecastLine, Segment, SegmentSize
from campaign_planner.graphs.figures import check_reconciled, negative_roi_flags, reconcile_budget
from campaign_planner.tools.budget_frontier import brief_says_spend_all
from campaign_planner.tools.channel_optimizer import allocate_for_shop
from campaign_planner.tools.forecaster import forecast_campaign, select_segment_customers
from uplift_synthetic import make_campaign, make_shop

EMAIL = [Allocation(channel="email", spend=1_000.0, expected_outcome=0.0, marginal_roi=1.0, source="prior")]


def _segment(segment_id: str, customers: int, **definition) -> Segment:
    return Segment(id=segment_id, name=segment_id, definition=definition,
                   size=SegmentSize(customers=customers, share=0.1))


@pytest.fixture(scope="module")
def campaign():
    return make_campaign(8_000, seed=5)


def test_segments_the_history_cannot_filter_are_scaled_to_their_own_size(campaign, tmp_path: Path) -> None:
    # rating is a review attribute, not a campaign-history feature: before, both segments got the whole base.
    shop = make_shop(tmp_path, campaign)
    small, large = _segment("small", 100, rating_min=4), _segment("large", 400, rating_max=2)
    out = forecast_campaign(shop, segments=[small, large], channels=["email"], allocation=EMAIL, weeks=4,
                            currency="USD")
    by_id = {line.segment_id: line for line in out.lines}
    assert by_id["small"].basis == by_id["large"].basis == "scaled_to_segment"
    assert (by_id["small"].customers, by_id["large"].customers) == (100, 400)
    assert by_id["large"].expected == pytest.approx(4 * by_id["small"].expected)
    assert by_id["small"].expected < 0.05 * len(campaign.history)  # not the whole base
    assert any(f.code == FlagCode.WEAK_EVIDENCE and "measured size" in f.message for f in out.flags)
    assert out.assumptions and "customer_id" in out.assumptions[0].text


def test_reviews_customer_id_joins_segment_reviewers_to_history_customers(campaign) -> None:
    history = campaign.history
    reviews = pd.DataFrame({
        "review_id": ["r1", "r2", "r3", "r4"],
        "rating": [1, 2, 5, 5],
        "age": pd.array([30, 31, 40, 41], dtype="Int64"),
        "department": ["Tops"] * 4,
        "customer_id": [history["customer_id"].iloc[i] for i in (0, 1, 2)] + [""],
    })
    unhappy = _segment("unhappy", 2, rating_max=2)
    selection = select_segment_customers(history, reviews, unhappy, campaign.spec.features)
    assert selection.basis == "segment_history" and selection.audience == 2
    assert set(history.loc[selection.mask, "customer_id"]) == set(history["customer_id"].iloc[[0, 1]])


def _line(segment_id: str, channel: str, revenue: float, spend: float, source: str = "uplift_model") -> ForecastLine:
    return ForecastLine(segment_id=segment_id, channel=channel, metric="incremental_conversions", expected=1.0,
                        interval_80=(0.0, 2.0), interval_95=(0.0, 3.0), incremental_revenue=revenue,
                        roi=(revenue - spend) / spend, source=source, spend=spend)  # type: ignore[arg-type]


def test_budget_outcome_is_the_sum_of_the_lines_with_the_curve_as_cross_check() -> None:
    budget = Budget(currency="EUR", total=3_000.0, allocations=[
        Allocation(channel="email", spend=1_000.0, expected_outcome=25_344.0, marginal_roi=0.8, source="prior"),
        Allocation(channel="search", spend=2_000.0, expected_outcome=3_000.0, marginal_roi=0.5),
    ])
    lines = [_line("a", "email", 60_000.0, 600.0), _line("b", "email", 41_354.0, 400.0),
             _line("a", "search", 1_800.0, 1_200.0, "response_curve"),
             _line("b", "search", 1_200.0, 800.0, "response_curve")]
    assert check_reconciled(budget, lines)  # the old budget table contradicts its lines
    reconciled = reconcile_budget(budget, lines, {"email": (20_000.0, 30_000.0)})
    email, search = reconciled.allocations
    assert email.expected_outcome == 101_354.0 and email.outcome_source == "uplift_model"
    assert email.cross_check is not None and email.cross_check.expected == 25_344.0
    assert email.cross_check.interval_80 == (20_000.0, 30_000.0) and email.cross_check.reason
    assert search.expected_outcome == 3_000.0 and search.cross_check is None
    assert {a.outcome_unit for a in reconciled.allocations} == {"EUR"} and reconciled.expected_outcome == 104_354.0
    assert check_reconciled(reconciled, lines) == []


def test_funded_negative_roi_line_is_flagged_with_why_and_what_to_do() -> None:
    budget = Budget(currency="EUR", total=20_000.0, recommended_total=218.0, unallocated=19_782.0, allocations=[
        Allocation(channel="search", spend=16_828.0, expected_outcome=9_922.0, marginal_roi=0.0,
                   binding=["min_spend"], recommended_spend=154.0),
        Allocation(channel="display", spend=3_172.0, expected_outcome=9_845.0, marginal_roi=0.0,
                   recommended_spend=64.0),
    ])
    lines = [_line("a", "search", 9_922.0, 16_828.0, "response_curve"),
             _line("a", "display", 9_845.0, 3_172.0, "response_curve")]
    (flag,) = negative_roi_flags(budget, lines, {"search": 15_000.0})
    assert flag.code == FlagCode.NEGATIVE_ROI and flag.message.startswith("search:")
    assert "the brief sets a minimum of €15,000" in flag.message and "recommended €154" in flag.message


@pytest.mark.parametrize("text, expected", [
    ("Budget $50k, spend it all over 4 weeks", True),
    ("The entire budget must be spent by June.", True),
    ("预算30万元,全部花完。", True),
    ("Budget $50k over 4 weeks, no TV.", False),
    ("Spend wisely: 20k EUR", False),
])
def test_the_brief_asks_to_spend_it_all(text: str, expected: bool) -> None:
    assert brief_says_spend_all(text) is expected


def test_a_budget_past_saturation_is_capped_where_marginal_roi_crosses_one(demo_shop_dir: Path) -> None:
    shop = load_shop(demo_shop_dir)
    capped = allocate_for_shop(shop, budget=500_000.0, weeks=4, channels=["email", "instagram", "search"])
    assert sum(a.spend for a in capped.allocations) == pytest.approx(500_000.0)  # the contract holds
    assert capped.recommended_total is not None and capped.recommended_total < 250_000.0
    assert sum(a.recommended_spend or 0 for a in capped.allocations) == pytest.approx(capped.recommended_total)
    assert capped.unallocated_return is not None and capped.unallocated_return < 500_000 - capped.recommended_total
    near = min(capped.frontier, key=lambda p: abs(p.spend - capped.recommended_total))
    assert near.marginal_roi == pytest.approx(1.0, abs=0.1)
    spent = allocate_for_shop(shop, budget=500_000.0, weeks=4, channels=["email", "instagram", "search"],
                              spend_all=True)
    assert spent.recommended_total == pytest.approx(500_000.0)
    small = allocate_for_shop(shop, budget=20_000.0, weeks=4, channels=["email", "instagram", "search"])
    assert small.recommended_total == pytest.approx(20_000.0)  # every unit still returns more than it costs


def test_money_changes_currency_once_and_still_sums_to_the_brief_budget() -> None:
    from campaign_planner.graphs.plan_currency import allocation_in_plan_currency, forecast_in_plan_currency

    rate = 1.10  # USD per EUR: the tools ran in the shop's USD
    stored = {
        "objective": "revenue", "budget_total": 20_000.0, "shop_currency_rate": rate, "plan_currency": "EUR",
        "allocations": [
            {"channel": "search", "spend": 14_666.67, "expected_outcome": 11_000.0, "marginal_roi": 0.4,
             "recommended_spend": 100.0, "spend_at_marginal_roi_1": 110.0},
            {"channel": "display", "spend": 7_333.33, "expected_outcome": 5_500.0, "marginal_roi": 0.4,
             "recommended_spend": 120.0, "spend_at_marginal_roi_1": 121.0},
        ],
        "recommended_total": 220.0, "recommended_outcome": 3_300.0, "unallocated_return": 220.0,
        "frontier": [{"spend": 0.0, "outcome": 0.0, "marginal_roi": 9.0}, {"spend": 22_000.0, "outcome": 16_500.0}],
        "outcomes": [], "curves": {}, "total_expected": 16_500.0, "total_interval_80": [1.0, 2.0],
        "total_interval_95": [0.5, 3.0],
    }
    plan = allocation_in_plan_currency(stored)
    assert stored["allocations"][0]["spend"] == 14_666.67  # the stored tool output is untouched
    assert sum(a["spend"] for a in plan["allocations"]) == pytest.approx(20_000.0, abs=1e-9)
    assert plan["allocations"][0]["expected_outcome"] == pytest.approx(10_000.0)
    assert plan["allocations"][0]["marginal_roi"] == 0.4  # ratios keep their value
    assert sum(a["recommended_spend"] for a in plan["allocations"]) == pytest.approx(plan["recommended_total"])
    assert plan["recommended_total"] == pytest.approx(200.0)
    forecast = forecast_in_plan_currency({"lines": [{
        "metric": "incremental_conversions", "expected": 50.0, "interval_80": [40.0, 60.0],
        "interval_95": [30.0, 70.0], "incremental_revenue": 5_500.0, "spend": 1_100.0, "currency": "USD"}]}, stored)
    (line,) = forecast["lines"]
    assert (line["incremental_revenue"], line["spend"], line["expected"], line["currency"]) == (
        pytest.approx(5_000.0), pytest.approx(1_000.0), 50.0, "EUR")


def test_a_shop_without_average_order_value_gets_a_stated_estimate(campaign, tmp_path: Path) -> None:
    from campaign_planner.tools.forecaster import shop_average_order_value

    spec = campaign.spec.model_copy(update={"average_order_value": None})
    shop = dataclasses.replace(make_shop(tmp_path, campaign), campaign_spec=spec)
    value, source = shop_average_order_value(shop)
    assert value is not None and value > 0 and source.startswith("estimated")
    out = forecast_campaign(shop, segments=[_segment("all", 100, rating_min=1)], channels=["email"],
                            allocation=EMAIL, weeks=4, currency="USD")
    assert out.lines[0].incremental_revenue != 0
    assert any("Average order value" in a.text for a in out.assumptions)


def test_saturation_is_stated_in_the_plan_currency() -> None:
    from campaign_planner.graphs.figures import saturation_flags_in_plan_currency

    budget = Budget(currency="EUR", total=20_000.0, allocations=[
        Allocation(channel="search", spend=16_828.0, expected_outcome=9_922.0, marginal_roi=0.0001,
                   spend_at_marginal_roi_1=154.0),
        Allocation(channel="display", spend=3_172.0, expected_outcome=9_845.0, marginal_roi=1.5,
                   spend_at_marginal_roi_1=5_000.0),
    ])
    (flag,) = saturation_flags_in_plan_currency(budget, 3, "USD")
    assert flag.code == FlagCode.SATURATION and flag.message.startswith("search: €16,828 over 3 weeks")
    assert "€154" in flag.message and "USD" in flag.message
