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
