"""Exact budget splits, sample sizes and currency conversion: small pieces with exact answers."""

from __future__ import annotations

import pytest

from campaign_planner.data.fx import CurrencyError, conversion_rate
from campaign_planner.domain import ForecastLine
from campaign_planner.tools.measurement import design_measurement, minimum_detectable_lift, sample_size_per_arm
from campaign_planner.tools.money import split_exactly


@pytest.mark.parametrize("total", [50_000.0, 20_000.0, 1.0, 123_456.78])
def test_split_sums_to_the_cent(total: float) -> None:
    parts = split_exactly([1 / 3, 1 / 3, 1 / 3, 0.5, 0.001], total)
    assert round(sum(parts) * 100) == round(total * 100)
    assert all(abs(p * 100 - round(p * 100)) < 1e-6 for p in parts)


def test_split_refuses_negative_amounts() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        split_exactly([1.0, -1.0], 10.0)


def test_sample_size_matches_the_textbook_formula() -> None:
    # Two-proportion test, 5% two-sided, 80% power, no continuity correction:
    # (1.959964 + 0.841621)^2 * (0.03*0.97 + 0.04*0.96) / 0.01^2 = 7.848879 * 0.0675 / 0.0001 = 5,297.99.
    assert sample_size_per_arm(0.03, 0.01) == 5298
    assert sample_size_per_arm(0.03, 0.0) is None
    mdl = minimum_detectable_lift(0.03, 5298)
    assert mdl is not None and abs(mdl - 0.01) < 0.0005


def test_design_uses_the_forecast_lift() -> None:
    line = ForecastLine(segment_id="seg-1", channel="email", metric="incremental_conversions", expected=10,
                        interval_80=(5, 15), interval_95=(2, 18), incremental_revenue=800, roi=1.0,
                        source="uplift_model", baseline_rate=0.03, lift=0.01)
    design = design_measurement([line], audience=100_000)
    assert design.sample_size == 5298 and design.holdout_share == pytest.approx(0.053, abs=0.001)
    fallback = design_measurement([line.model_copy(update={"baseline_rate": None, "lift": None})], audience=1000)
    assert "assumes" in fallback.design


def test_conversion_rates() -> None:
    assert conversion_rate("USD", "USD") == 1.0
    assert conversion_rate("EUR", "USD") == pytest.approx(1.10)
    assert conversion_rate("USD", "CNY") == pytest.approx(1 / 0.14)
    with pytest.raises(CurrencyError, match="XYZ"):
        conversion_rate("XYZ", "USD")


def _line(channel: str, **update) -> ForecastLine:
    base = ForecastLine(segment_id="seg-1", channel=channel, metric="incremental_conversions", expected=40,
                        interval_80=(20, 60), interval_95=(10, 70), incremental_revenue=3200, roi=1.0,
                        source="uplift_model", baseline_rate=0.03, lift=0.01)
    return base.model_copy(update=update)


def test_each_channel_gets_its_own_test_sized_from_its_own_lift() -> None:
    forecast = [
        _line("email"),
        _line("email", segment_id="seg-2", expected=10, baseline_rate=0.05, lift=0.005),
        _line("instagram", source="prior", baseline_rate=None, lift=None),
    ]
    design = design_measurement(forecast, audience=100_000, channel_kinds={"email": "owned", "instagram": "paid"})
    email, instagram = design.channels
    # E-mail: a customer holdout on the forecast's lift, pooled by reachable customers (4,000 and 2,000).
    assert (email.design, email.lift_source) == ("customer_holdout", "forecast")
    assert email.baseline_rate == pytest.approx((4000 * 0.03 + 2000 * 0.05) / 6000, abs=1e-6)
    assert email.expected_lift == pytest.approx((4000 * 0.01 + 2000 * 0.005) / 6000, abs=1e-6)
    assert email.sample_size_per_arm == sample_size_per_arm((4000 * 0.03 + 2000 * 0.05) / 6000, 50 / 6000)
    assert email.powered and email.minimum_detectable_lift <= email.expected_lift * 1.01
    assert email.variant_test_mde is not None and email.variant_test_mde > 0
    # Instagram: paid reach cannot be randomised per customer, and its lift is an assumption, said so.
    assert (instagram.design, instagram.lift_source) == ("geo_holdout", "assumption")
    assert "assumed 20% relative lift" in instagram.description
    # Regions, not customers, are randomised: no customer-level power is claimed for a geo holdout.
    assert (instagram.sample_size_per_arm, instagram.minimum_detectable_lift, instagram.powered) == (None, None, None)
    assert "matched regions" in instagram.description
    assert "email customer holdout" in design.design and "instagram geo holdout" in design.design


def test_a_small_audience_is_not_powered_and_says_what_it_can_detect() -> None:
    design = design_measurement([_line("email")], audience=2_000, channel_kinds={"email": "owned"})
    [email] = design.channels
    assert not email.powered and email.holdout_share == 0.5
    # 1,000 per arm can only detect a lift well above the forecast's 1 point.
    assert email.minimum_detectable_lift == pytest.approx(minimum_detectable_lift(0.03, 1000), rel=1e-3)
    assert email.minimum_detectable_lift > 0.02


def test_unequal_arms_detect_less_than_equal_ones() -> None:
    equal = minimum_detectable_lift(0.03, 5000)
    unequal = minimum_detectable_lift(0.03, 1000, treated_arm=9000)
    assert equal is not None and unequal is not None and unequal > equal
