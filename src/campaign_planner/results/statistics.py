"""The readout's statistics: lift by a randomised customer holdout, and by a geo holdout's
difference-in-differences. Plain, closed-form estimators whose coverage the simulation study checks
(bench/bench_readout.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, t

Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class Difference:
    """An estimated difference (treated minus holdout) with its 95% interval and two-sided p-value."""

    estimate: float
    low: float
    high: float
    p_value: float | None
    method: str


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval of a proportion; refuses (ValueError) n <= 0."""
    if n <= 0:
        raise ValueError("a proportion needs at least one observation")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def conversion_difference(treated_conversions: int, treated: int, holdout_conversions: int,
                          holdout: int) -> Difference:
    """Return the difference in conversion rate (treated - holdout) with Newcombe's hybrid score 95% interval
    (from the two Wilson intervals; it keeps its coverage at the low rates of marketing tests, where the
    Wald interval does not) and the pooled two-proportion z-test's p-value. Refuses (ValueError) an empty arm."""
    if treated <= 0 or holdout <= 0:
        raise ValueError("both arms need customers")
    p1, p2 = treated_conversions / treated, holdout_conversions / holdout
    l1, u1 = wilson_interval(treated_conversions, treated)
    l2, u2 = wilson_interval(holdout_conversions, holdout)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    pooled = (treated_conversions + holdout_conversions) / (treated + holdout)
    se = math.sqrt(pooled * (1 - pooled) * (1 / treated + 1 / holdout))
    p_value = float(2 * norm.sf(abs(d) / se)) if se > 0 else 1.0
    return Difference(d, low, high, p_value, "difference in conversion rate; Newcombe hybrid score interval; "
                      "pooled two-proportion z-test")


def mean_difference(treated: np.ndarray, holdout: np.ndarray, what: str) -> Difference | None:
    """Return the difference of means (treated - holdout) with Welch's t interval and test, or None with fewer
    than two values in an arm (no variance to estimate)."""
    treated, holdout = np.asarray(treated, dtype=float), np.asarray(holdout, dtype=float)
    n1, n2 = len(treated), len(holdout)
    if n1 < 2 or n2 < 2:
        return None
    v1, v2 = treated.var(ddof=1) / n1, holdout.var(ddof=1) / n2
    d = float(treated.mean() - holdout.mean())
    se = math.sqrt(v1 + v2)
    if se == 0:
        return Difference(d, d, d, None if d else 1.0, f"{what}; Welch t interval (no variation in either arm)")
    df = (v1 + v2) ** 2 / ((v1 * v1 / (n1 - 1)) + (v2 * v2 / (n2 - 1)))
    q = float(t.ppf(0.975, df))
    return Difference(d, d - q * se, d + q * se, float(2 * t.sf(abs(d) / se, df)),
                      f"{what}; Welch t interval and test ({df:.1f} degrees of freedom)")
