"""Measurement design: how to prove the campaign worked, sized from the forecast's own lift.

A two-sided two-proportion z-test at 5% significance and 80% power (the usual marketing A/B standard):
per-arm sample size n = (z_{1-α/2} + z_{1-β})² · (p₀(1-p₀) + p₁(1-p₁)) / (p₁ - p₀)².
"""

from __future__ import annotations

import math

from scipy.stats import norm

from campaign_planner.domain import ForecastLine, Measurement

ALPHA = 0.05
POWER = 0.80


def sample_size_per_arm(baseline: float, lift: float, *, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Return customers needed per arm to detect ``lift`` (absolute) over ``baseline``; None if lift ≤ 0."""
    if lift <= 0 or not 0 < baseline < 1 or not 0 < baseline + lift < 1:
        return None
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    treated = baseline + lift
    variance = baseline * (1 - baseline) + treated * (1 - treated)
    return math.ceil(z * z * variance / (lift * lift))


def minimum_detectable_lift(
    baseline: float, per_arm: int, *, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """Return the smallest absolute lift detectable with ``per_arm`` customers in each arm."""
    if per_arm <= 0 or not 0 < baseline < 1:
        return None
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    # Solve with the baseline variance on both arms, then one fixed-point step with the treated arm.
    lift = z * math.sqrt(2 * baseline * (1 - baseline) / per_arm)
    treated = min(0.999, baseline + lift)
    return z * math.sqrt((baseline * (1 - baseline) + treated * (1 - treated)) / per_arm)


def design_measurement(forecast: list[ForecastLine], audience: int, *, fallback_baseline: float = 0.02) -> Measurement:
    """Return a holdout design sized from the forecast lines that carry a baseline rate and lift.

    ``audience`` is the number of customers the campaign can reach (the segments' total size).
    """
    measured = [line for line in forecast if line.baseline_rate and line.lift and line.lift > 0]
    if measured:
        baseline = sum(line.baseline_rate or 0 for line in measured) / len(measured)
        lift = sum(line.lift or 0 for line in measured) / len(measured)
        design = "randomised holdout per channel: hold back a random share of each segment from the campaign"
    else:
        baseline = fallback_baseline
        lift = baseline * 0.2
        design = (
            "geo or time-based holdout (no customer-level history for these channels): assumes a 20% relative "
            "lift over a 2% baseline conversion rate"
        )
    needed = sample_size_per_arm(baseline, lift)
    holdout_share = 0.1
    if needed is not None and audience > 0:
        holdout_share = min(0.5, max(0.05, needed / audience))
    holdout = int(audience * holdout_share)
    return Measurement(
        design=design,
        holdout_share=round(holdout_share, 3),
        sample_size=needed,
        minimum_detectable_lift=round(minimum_detectable_lift(baseline, holdout) or 0.0, 5) if holdout else None,
    )
