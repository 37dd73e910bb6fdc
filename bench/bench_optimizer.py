"""Benchmark the channel optimizer and the response-curve fit; prints ``name=value`` lines.

* optimality_gap_max_small: over >= 200 random 2-4 channel problems (S-shaped and concave Hill curves,
  min_share floors, caps), the largest relative shortfall of ``allocate_budget`` (after rounding to
  cents) against an exhaustive grid over the budget simplex. <= 0 means never worse than the grid.
* optimality_gap_max_small_before_cents: the same for the solver's continuous optimum (private API).
* certified_*: share of problems with a duality certificate, and its median/max relative gap.
* optimality_gap_max_large: 10-20 channel problems against the best of many random-start SLSQP runs.
* allocate_ms_{5,10,20}ch: median wall time of one ``allocate_budget`` call.
* fit_seconds_{2..7}ch: time to fit curves jointly on 200 weeks of synthetic history (holdout + refit).

Run: ``/work/venv/bin/python bench/bench_optimizer.py`` (about a minute or two on 2 cores).
"""

from __future__ import annotations

import os

# One BLAS thread: on a shared 2-core machine OpenBLAS's spinning threads made each SLSQP iteration of the
# reference ~100x slower. (allocate_budget itself makes no BLAS-heavy calls.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import itertools
import statistics
import time

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.signal import lfilter

from campaign_planner.data.catalog import default_catalog
from campaign_planner.tools.channel_optimizer import AllocationResult, _Curves, _optimise, allocate_budget
from campaign_planner.tools.response_curves import (
    CurveSet,
    ResponseCurve,
    campaign_marginal,
    campaign_outcome,
    fit_channel_history,
    hill,
)


def random_problem(rng: np.random.Generator, n_channels: int) -> dict:
    """Return a random allocation problem: curves, budget, weeks, bounds."""
    curves = {}
    for i in range(n_channels):
        curves[f"c{i}"] = ResponseCurve(
            channel=f"c{i}",
            beta=float(np.exp(rng.uniform(np.log(2e3), np.log(1e5)))),
            half_saturation=float(np.exp(rng.uniform(np.log(1e3), np.log(5e4)))),
            slope=float(rng.uniform(0.5, 3.0)),
            decay=float(rng.uniform(0.0, 0.8)),
            source="response_curve",
        )
    budget = float(np.round(np.exp(rng.uniform(np.log(2e3), np.log(5e5))), 2))
    min_share = float(rng.choice([0.0, 0.05, 0.1]))
    max_spend = {}
    if rng.uniform() < 0.4:
        max_spend[f"c{rng.integers(n_channels)}"] = float(np.round(budget * rng.uniform(0.15, 0.6), 2))
    return {
        "curves": CurveSet(curves=curves),
        "budget": budget,
        "weeks": int(rng.integers(1, 13)),
        "min_share": min_share,
        "max_spend": max_spend,
    }


def problem_value(problem: dict, spends: dict[str, float]) -> float:
    return sum(
        float(problem["curves"].get(c).campaign_response(s, problem["weeks"])) for c, s in spends.items()
    )


def grid_optimum(problem: dict, steps: int) -> float:
    """Return the best total over every allocation on a grid of budget/steps (respecting the bounds)."""
    curves, budget, weeks = problem["curves"], problem["budget"], problem["weeks"]
    names = curves.channels()
    h = budget / steps
    grid = np.arange(steps + 1) * h
    values, feasible = [], []
    for name in names:
        c = curves.get(name)
        values.append(campaign_outcome(grid, c.beta, c.half_saturation, c.slope, c.decay, weeks))
        upper = problem["max_spend"].get(name, budget)
        feasible.append((grid >= problem["min_share"] * budget - 1e-9) & (grid <= upper + 1e-9))
    k = len(names)
    if k == 2:
        j = np.arange(steps + 1)
        ok = feasible[0][j] & feasible[1][steps - j]
        return float((values[0][j] + values[1][steps - j])[ok].max())
    best = -np.inf
    # Loop over the first k-3 channels' grid indices, take a 2-D mesh for the next two, and give the
    # last channel what is left: every grid allocation is visited.
    for head in itertools.product(range(steps + 1), repeat=k - 3):
        used = sum(head)
        if used > steps or not all(feasible[i][j] for i, j in enumerate(head)):
            continue
        a, b = np.meshgrid(np.arange(steps + 1 - used), np.arange(steps + 1 - used), indexing="ij")
        rest = steps - used - a - b
        ok = (rest >= 0) & feasible[k - 3][a] & feasible[k - 2][b] & feasible[k - 1][np.maximum(rest, 0)]
        if not ok.any():
            continue
        base = sum(values[i][jj] for i, jj in enumerate(head))
        total = base + values[k - 3][a] + values[k - 2][b] + values[k - 1][np.maximum(rest, 0)]
        best = max(best, float(total[ok].max()))
    return best


def multistart_optimum(problem: dict, starts: int, rng: np.random.Generator, min_share: float) -> float:
    """Return the best total over many random-start SLSQP runs (the large-problem reference)."""
    curves, budget, weeks = problem["curves"], problem["budget"], problem["weeks"]
    names = curves.channels()
    params = np.array(
        [
            [curves.get(c).beta, curves.get(c).half_saturation, curves.get(c).slope, curves.get(c).decay]
            for c in names
        ]
    )
    lower = np.full(len(names), min_share)
    upper = np.array([problem["max_spend"].get(c, budget) / budget for c in names])

    # SLSQP needs an O(1) objective: scale by the value of an even split.
    even = np.full(len(names), budget / len(names))
    scale = max(float(campaign_outcome(even, *params.T, weeks).sum()), 1e-9)

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        x = np.maximum(z, 0.0) * budget
        value = campaign_outcome(x, *params.T, weeks).sum() / scale
        # A concave Hill (slope < 1) has an infinite slope at 0; evaluate a hair inside.
        grad = campaign_marginal(np.maximum(x, 1e-7 * budget), *params.T, weeks) * budget / scale
        return -value, -grad

    best = -np.inf
    for _ in range(starts):
        z0 = rng.dirichlet(np.ones(len(names)) * 0.5)
        z0 = np.clip(z0, lower, upper)
        z0 = z0 / z0.sum()
        result = minimize(
            objective,
            z0,
            jac=True,
            method="SLSQP",
            bounds=list(zip(lower, upper, strict=True)),
            constraints=[{"type": "eq", "fun": lambda z: z.sum() - 1.0}],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        if (
            abs(result.x.sum() - 1.0) < 1e-7
            and np.all(result.x >= lower - 1e-9)
            and np.all(result.x <= upper + 1e-9)
        ):
            best = max(best, -float(result.fun) * scale)
    return best


def run_allocation(problem: dict) -> tuple[float, float, AllocationResult]:
    started = time.perf_counter()
    result = allocate_budget(
        problem["curves"],
        budget=problem["budget"],
        weeks=problem["weeks"],
        channels=problem["curves"].channels(),
        max_spend=problem["max_spend"],
        min_share=problem["min_share"],
    )
    elapsed = time.perf_counter() - started
    return problem_value(problem, {a.channel: a.spend for a in result.allocations}), elapsed, result


def continuous_value(problem: dict, result: AllocationResult) -> float:
    """Return the solver's value before rounding to cents (private API: separates solver from rounding)."""
    curves, budget = problem["curves"], problem["budget"]
    names = curves.channels()
    solver = _Curves.build([curves.get(c) for c in names], problem["weeks"], 1.0)
    lower = np.full(len(names), result.min_share * budget)
    upper = np.array([problem["max_spend"].get(c, budget) for c in names])
    x, _ = _optimise(solver, lower, upper, budget)
    return float(solver.value(x).sum())


def bench_small(n_problems: int = 210) -> tuple[float, float, list[float | None]]:
    rng = np.random.default_rng(7)
    worst = worst_continuous = -np.inf
    certificates: list[float | None] = []
    for index in range(n_problems):
        k = 2 + index % 3
        problem = random_problem(rng, k)
        ours, _, result = run_allocation(problem)
        reference = grid_optimum(problem, {2: 20000, 3: 1200, 4: 240}[k])
        worst = max(worst, (reference - ours) / abs(reference))
        continuous = continuous_value(problem, result)
        worst_continuous = max(worst_continuous, (reference - continuous) / abs(reference))
        certificates.append(result.optimality_gap_bound)
    return worst, worst_continuous, certificates


def bench_large(n_problems: int = 20) -> tuple[float, float, list[float | None]]:
    rng = np.random.default_rng(11)
    worst = worst_continuous = -np.inf
    certificates: list[float | None] = []
    for index in range(n_problems):
        problem = random_problem(rng, 10 + (index * 5) % 11)
        ours, _, result = run_allocation(problem)
        # The reference honours the same floors (min_share relaxed as the optimizer had to).
        reference = multistart_optimum(problem, 60, rng, result.min_share)
        worst = max(worst, (reference - ours) / abs(reference))
        continuous = continuous_value(problem, result)
        worst_continuous = max(worst_continuous, (reference - continuous) / abs(reference))
        certificates.append(result.optimality_gap_bound)
    return worst, worst_continuous, certificates


def bench_speed(n_channels: int, repeats: int = 25) -> float:
    rng = np.random.default_rng(100 + n_channels)
    times = [run_allocation(random_problem(rng, n_channels))[1] for _ in range(repeats)]
    return statistics.median(times) * 1000.0


def synthetic_history(n_channels: int, weeks: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Return a weekly history with known adstock + Hill channels on a trending, seasonal baseline."""
    catalog = default_catalog()
    names = ["search", "email", "facebook", "instagram", "tiktok", "youtube", "display"][:n_channels]
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    revenue = 60000 + 50 * t + 6000 * np.sin(2 * np.pi * t / 52.18)
    frame = pd.DataFrame({"period": pd.date_range("2021-01-04", periods=weeks, freq="W-MON")})
    for name in names:
        prior = catalog[name].prior
        spend = prior.half_saturation * (1 - prior.decay) * rng.uniform(0, 3, weeks)
        spend[rng.uniform(size=weeks) < 0.15] = 0.0
        frame[f"spend_{name}"] = spend
        adstock = lfilter([1.0], [1.0, -prior.decay], spend)
        revenue = revenue + prior.beta * hill(adstock, prior.half_saturation, prior.slope)
    frame["revenue"] = revenue + rng.normal(0, 0.03 * revenue.mean(), weeks)
    return frame, names


def bench_fit(n_channels: int, weeks: int = 200) -> float:
    frame, names = synthetic_history(n_channels, weeks, seed=n_channels)
    catalog = default_catalog()
    started = time.perf_counter()
    fit_channel_history(frame, names, priors={c: catalog[c].prior for c in names})
    return time.perf_counter() - started


def _certificate_lines(name: str, certificates: list[float | None]) -> None:
    known = [c for c in certificates if c is not None]
    print(f"certified_share_{name}={len(known) / len(certificates):.3f}")
    if known:
        print(f"certified_gap_median_{name}={statistics.median(known):.3e}")
        print(f"certified_gap_max_{name}={max(known):.3e}")


def main() -> None:
    small_gap, small_gap_continuous, small_certificates = bench_small()
    print(f"optimality_gap_max_small={small_gap:.3e}")
    print(f"optimality_gap_max_small_before_cents={small_gap_continuous:.3e}")
    _certificate_lines("small", small_certificates)
    large_gap, large_gap_continuous, large_certificates = bench_large()
    print(f"optimality_gap_max_large={large_gap:.3e}")
    print(f"optimality_gap_max_large_before_cents={large_gap_continuous:.3e}")
    _certificate_lines("large", large_certificates)
    for n in (5, 10, 20):
        print(f"allocate_ms_{n}ch={bench_speed(n):.1f}")
    for n in range(2, 8):
        print(f"fit_seconds_{n}ch_200w={bench_fit(n):.3f}")


if __name__ == "__main__":
    main()
