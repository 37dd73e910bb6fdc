"""Measurement design: how to prove the campaign worked, sized from the forecast's own lift.

A two-sided two-proportion z-test at 5% significance and 80% power (the usual marketing A/B standard):
per-arm sample size n = (z_{1-α/2} + z_{1-β})² · (p₀(1-p₀) + p₁(1-p₁)) / (p₁ - p₀)².
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy.stats import norm

from campaign_planner.domain import ChannelTest, ForecastLine, Measurement
from campaign_planner.render.messages import t

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
    baseline: float, per_arm: int, *, alpha: float = ALPHA, power: float = POWER, treated_arm: int | None = None
) -> float | None:
    """Return the smallest absolute lift detectable with ``per_arm`` customers in the control arm and
    ``treated_arm`` (default: as many) in the treated one."""
    treated_arm = per_arm if treated_arm is None else treated_arm
    if per_arm <= 0 or treated_arm <= 0 or not 0 < baseline < 1:
        return None
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    # Solve with the baseline variance on both arms, then one fixed-point step with the treated arm.
    lift = z * math.sqrt(baseline * (1 - baseline) * (1 / per_arm + 1 / treated_arm))
    treated = min(0.999, baseline + lift)
    return z * math.sqrt(baseline * (1 - baseline) / per_arm + treated * (1 - treated) / treated_arm)


# Where no customer-level history gives a lift, tests are sized for this: a 20% relative lift on a 2%
# conversion rate, stated as an assumption on the test.
FALLBACK_BASELINE = 0.02
FALLBACK_RELATIVE_LIFT = 0.20
MIN_HOLDOUT, MAX_HOLDOUT = 0.05, 0.5
VARIANTS_PER_TEST = 2


def design_channel_test(
    channel: str, kind: str, lines: list[ForecastLine], audience: int, *, variants: int = VARIANTS_PER_TEST,
    language: str = "en",
) -> ChannelTest:
    """Return the test that measures ``channel``'s incremental effect on ``audience`` customers.

    Owned channels with an uplift forecast get a randomised customer holdout sized from the forecast's
    own baseline and lift (pooled over segments, weighted by reachable customers); paid channels, and
    channels without customer-level history, get a geo holdout sized on the stated fallback assumption.
    The holdout is the share that gives the needed sample per arm (5-50%); ``powered`` says whether the
    audience suffices for the expected lift.
    """
    measured = [line for line in lines if line.baseline_rate and line.lift and line.lift > 0]
    if kind == "owned" and measured:
        weights = [max(1.0, line.expected / line.lift) for line in measured]
        baseline = sum(w * (line.baseline_rate or 0) for w, line in zip(weights, measured, strict=True)) / sum(weights)
        lift = sum(w * (line.lift or 0) for w, line in zip(weights, measured, strict=True)) / sum(weights)
        design, source = "customer_holdout", "forecast"
        description = t("m_customer_holdout_forecast", language)
    else:
        baseline, lift, source = FALLBACK_BASELINE, FALLBACK_BASELINE * FALLBACK_RELATIVE_LIFT, "assumption"
        design = "customer_holdout" if kind == "owned" else "geo_holdout"
        description = t("m_customer_holdout" if kind == "owned" else "m_geo_holdout", language) + t(
            "m_assumed_sizing", language, lift=f"{FALLBACK_RELATIVE_LIFT:.0%}", baseline=f"{FALLBACK_BASELINE:.0%}")
    per_variant_audience = audience
    if design == "geo_holdout":
        # Regions, not customers, are randomised: customer-level power figures would overstate what the test
        # can show. Sizing needs the regions' weekly conversion history, which the shop data does not carry.
        description += t("m_geo_power", language)
        needed, powered, share, mde = None, None, 0.2, None
    else:
        needed = sample_size_per_arm(baseline, lift)
        powered = needed is not None and audience >= 2 * needed
        share = min(MAX_HOLDOUT, max(MIN_HOLDOUT, needed / audience)) if needed is not None and audience > 0 else 0.1
        holdout = int(audience * share)
        treated = audience - holdout
        mde = minimum_detectable_lift(baseline, holdout, treated_arm=treated) if holdout and treated else None
        per_variant_audience = treated
    # Copy variants are split per person (an e-mail send, or the ad platform's A/B split) on either design.
    per_variant = per_variant_audience // variants
    variant_mde = minimum_detectable_lift(baseline + lift, per_variant) if per_variant and variants > 1 else None
    return ChannelTest(
        channel=channel,
        design=design,  # type: ignore[arg-type]
        description=description,
        audience=audience,
        baseline_rate=round(baseline, 6),
        expected_lift=round(lift, 6),
        lift_source=source,  # type: ignore[arg-type]
        sample_size_per_arm=needed,
        holdout_share=round(share, 3),
        minimum_detectable_lift=round(mde, 5) if mde is not None else None,
        powered=powered,
        variant_test_mde=round(variant_mde, 5) if variant_mde is not None else None,
    )


def design_measurement(
    forecast: list[ForecastLine],
    audience: int,
    *,
    channel_kinds: dict[str, str] | None = None,
    fallback_baseline: float = FALLBACK_BASELINE,
    language: str = "en",
    channel_name: Callable[[str], str] | None = None,
) -> Measurement:
    """Return the plan's measurement design: one test per forecast channel, and a summary sized from the
    forecast lines that carry a baseline rate and lift.

    ``audience`` is the number of customers the campaign can reach (the segments' total size);
    ``channel_kinds`` maps channel ids to "owned" or "paid" (unknown channels count as paid). The notes are
    worded in ``language``, channels named by ``channel_name`` (their ids by default).
    """
    kinds = channel_kinds or {}
    channels = list(dict.fromkeys(line.channel for line in forecast))
    tests = [
        design_channel_test(
            channel, kinds.get(channel, "paid"), [line for line in forecast if line.channel == channel], audience,
            language=language,
        )
        for channel in channels
    ]
    measured = [line for line in forecast if line.baseline_rate and line.lift and line.lift > 0]
    if measured:
        baseline = sum(line.baseline_rate or 0 for line in measured) / len(measured)
        lift = sum(line.lift or 0 for line in measured) / len(measured)
        design = t("m_design_measured", language)
    else:
        baseline = fallback_baseline
        lift = baseline * FALLBACK_RELATIVE_LIFT
        design = t("m_design_fallback", language, lift=f"{FALLBACK_RELATIVE_LIFT:.0%}",
                   baseline=f"{fallback_baseline:.0%}")
    if tests:
        name = channel_name or (lambda channel: channel)
        design += t("m_per_channel", language, tests=t("clause_separator", language).join(
            t("m_channel_design", language, channel=name(test.channel), design=t(f"m_{test.design}_design", language))
            for test in tests))
    needed = sample_size_per_arm(baseline, lift)
    holdout_share = 0.1
    if needed is not None and audience > 0:
        holdout_share = min(MAX_HOLDOUT, max(MIN_HOLDOUT, needed / audience))
    holdout = int(audience * holdout_share)
    return Measurement(
        design=design,
        holdout_share=round(holdout_share, 3),
        sample_size=needed,
        minimum_detectable_lift=round(minimum_detectable_lift(baseline, holdout) or 0.0, 5) if holdout else None,
        channels=tests,
    )
