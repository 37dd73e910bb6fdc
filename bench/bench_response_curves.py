"""Benchmark the response-curve fit against known truth, and export/compare the PyMC-Marketing side by side.

Prints ``name=value`` lines; notes start with ``#``. Runs in the product venv (/work/venv).

Three modes::

    # 1. Parameter recovery and held-out fit quality (about a minute on 2 cores):
    /work/venv/bin/python bench/bench_response_curves.py

    # 2. Side by side with PyMC-Marketing's BudgetOptimizer (see bench/bench_pymc_budget.py for the venv):
    /work/venv/bin/python bench/bench_response_curves.py --export /tmp/cp_pymc/problems.json
    /work/pymc-venv/bin/python bench/bench_pymc_budget.py /tmp/cp_pymc/problems.json /tmp/cp_pymc/pymc.json
    /work/venv/bin/python bench/bench_response_curves.py --compare /tmp/cp_pymc/problems.json /tmp/cp_pymc/pymc.json

Data (read from ``../shared/datasets``, never copied into the repo; a missing file prints ``# skipped``):

* ``pymc_marketing_mmm_example.csv``: simulated by PyMC-Marketing's MMM example notebook
  (``docs/source/notebooks/mmm/mmm_example.ipynb``, https://www.pymc-marketing.io/en/stable/notebooks/mmm/
  mmm_example.html, "Part I: Data Generation Process"). Published truth: geometric adstock with
  ``l_max=8, normalize=True``, alpha 0.4 (x1) and 0.2 (x2); logistic saturation
  ``(1 - exp(-lam x)) / (1 + exp(-lam x))`` with lam 4.0 (x1) and 3.0 (x2); betas 3.0 (x1) and 2.0 (x2);
  intercept 2.0, trend ``(linspace(0, 50, n) + 10)^(1/4) - 1``, seasonality
  ``0.5 (-sin(4 pi doy / 365.5) + cos(2 pi doy / 365.5))``, events 1.5 and 2.5, noise sd 0.25, all times
  ``amplitude = 1``. The CSV's y is 1000x that (mean 5,285, not ~5.3): the notebook does not say so; it is
  checked here (``pymc_truth_residual_sd`` ~ 250 = 1000 x 0.25 when y is compared with 1000 x the published
  mean function). Our model is Hill, not logistic, so beta/half-saturation/slope are compared with their
  *Hill equivalents* of the true logistic curve (same asymptote 1000 beta, same half-response point, same
  log-logit slope there, 1.5 ln 3 = 1.648); the adstock decay is directly comparable (normalisation only
  rescales spend, which the half-saturation absorbs). Decision-relevant checks need no translation: the
  fitted vs true weekly contribution of each channel and the steady-state response over the observed
  spend range.
* ``robyn_dt_simulated_weekly.csv``: Meta Robyn's "simulated dummy dataset". Robyn publishes no
  generating parameters for it (the demo's hyperparameter ranges are search bounds, not truth), so there
  is **no parameter truth**: only held-out fit quality is reported.
* The seeded demo shop (``campaign_planner.data.demo``, 104 weeks, 7 channels): our own generator, same
  model family, truth in ``demo_truth.json``; fitted through the product path (``fit_response_curves``
  with catalog priors and the shop's ``control_*`` columns).
* Synthetic histories, 2-7 channels x 200 weeks, random known truth, fitted *without* priors (no truth
  leaks into the fit): recovery errors and fit time.

Held-out quality: ``fit_channel_history`` fits on the first 90% (or 80%) of weeks and scores R² and MAPE
of the whole model on the last 10% (20%) it never saw; the parameters reported are those of the refit on
all weeks (what the product uses).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from campaign_planner.data.catalog import default_catalog
from campaign_planner.tools.channel_optimizer import _Curves, _optimise, allocate_budget
from campaign_planner.tools.response_curves import (
    CurveSet,
    ResponseCurve,
    fit_channel_history,
    fit_response_curves,
    hill,
)

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PYMC_FILE = "pymc_marketing_mmm_example.csv"
ROBYN_FILE = "robyn_dt_simulated_weekly.csv"

#: PyMC-Marketing MMM example notebook, "Part I: Data Generation Process" (see the module docstring).
PYMC_TRUTH = {"x1": {"alpha": 0.4, "lam": 4.0, "beta": 3.0}, "x2": {"alpha": 0.2, "lam": 3.0, "beta": 2.0}}
PYMC_L_MAX = 8
PYMC_Y_SCALE = 1000.0  # the CSV's y / the notebook's y (checked by pymc_truth_residual_sd)
PYMC_NOISE_SD = 0.25
#: Hill exponent matching the logistic curve's log-logit slope at its half-response point: 1.5 ln 3.
HILL_EQUIVALENT_SLOPE = 1.5 * math.log(3.0)
ROBYN_CHANNELS = ["tv", "ooh", "print", "facebook", "search"]


def out(name: str, value: object) -> None:
    if isinstance(value, float):
        value = f"{value:.4g}" if abs(value) < 1e5 else f"{value:.6g}"
    print(f"{name}={value}", flush=True)


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def _dataset(name: str) -> Path | None:
    path = DATASETS / name
    if not path.is_file():
        note(f"skipped {name}: not found at {path} (see shared/datasets/SOURCES.md)")
        return None
    return path


def _r2(actual: np.ndarray, predicted: np.ndarray) -> float:
    return 1.0 - float(np.sum((actual - predicted) ** 2)) / float(np.sum((actual - actual.mean()) ** 2))


# --------------------------------------------------------------------------------------------------
# PyMC-Marketing example: known truth.
# --------------------------------------------------------------------------------------------------


def _pymc_adstock(x: np.ndarray, alpha: float) -> np.ndarray:
    """PyMC-Marketing's geometric_adstock(l_max=8, normalize=True) on a 1-D series."""
    weights = alpha ** np.arange(PYMC_L_MAX)
    weights = weights / weights.sum()
    return np.convolve(x, weights)[: x.size]


def _logistic(x: np.ndarray, lam: float) -> np.ndarray:
    return (1.0 - np.exp(-lam * x)) / (1.0 + np.exp(-lam * x))


def pymc_true_contribution(data: pd.DataFrame, channel: str) -> np.ndarray:
    truth = PYMC_TRUTH[channel]
    adstock = _pymc_adstock(data[channel].to_numpy(float), truth["alpha"])
    return PYMC_Y_SCALE * truth["beta"] * _logistic(adstock, truth["lam"])


def pymc_true_mean(data: pd.DataFrame) -> np.ndarray:
    """Return 1000 x the notebook's noise-free y (intercept + trend + seasonality + events + channels)."""
    n = len(data)
    trend = (np.linspace(0.0, 50.0, n) + 10.0) ** 0.25 - 1.0
    doy = data["dayofyear"].to_numpy(float)
    season = 0.5 * (-np.sin(2 * 2 * np.pi * doy / 365.5) + np.cos(2 * np.pi * doy / 365.5))
    base = 2.0 + trend + season + 1.5 * data["event_1"].to_numpy(float) + 2.5 * data["event_2"].to_numpy(float)
    return PYMC_Y_SCALE * base + sum(pymc_true_contribution(data, c) for c in PYMC_TRUTH)


def hill_equivalent(channel: str) -> dict[str, float]:
    """Return the Hill (beta, half_saturation, slope, decay) equivalent of a true PyMC-example channel.

    The half-saturation is in our (un-normalised) adstock units: PyMC's normalised adstock is ours times
    (1 - alpha) / (1 - alpha^8), and the logistic curve reaches half its asymptote at lam x = ln 3.
    """
    truth = PYMC_TRUTH[channel]
    alpha = truth["alpha"]
    return {
        "beta": PYMC_Y_SCALE * truth["beta"],
        "half_saturation": math.log(3.0) / truth["lam"] * (1.0 - alpha**PYMC_L_MAX) / (1.0 - alpha),
        "slope": HILL_EQUIVALENT_SLOPE,
        "decay": alpha,
    }


def pymc_history(data: pd.DataFrame, *, controls: bool = True) -> pd.DataFrame:
    history = pd.DataFrame(
        {"period": data["date_week"], "spend_x1": data["x1"], "spend_x2": data["x2"], "revenue": data["y"]}
    )
    if controls:
        history["control_event_1"] = data["event_1"]
        history["control_event_2"] = data["event_2"]
    return history


def fitted_contribution(curve: ResponseCurve, spend: np.ndarray) -> np.ndarray:
    adstock = lfilter([1.0], [1.0, -curve.decay], spend)
    return curve.beta * hill(adstock, curve.half_saturation, curve.slope)


def bench_pymc() -> None:
    path = _dataset(PYMC_FILE)
    if path is None:
        return
    data = pd.read_csv(path)
    n = len(data)
    truth_mean = pymc_true_mean(data)
    out("pymc_weeks", n)
    out("pymc_truth_residual_sd", float(np.std(data["y"].to_numpy() - truth_mean)))
    note(f"expected ~{PYMC_Y_SCALE * PYMC_NOISE_SD:.0f} (1000 x the notebook's noise sd 0.25) if y = 1000 x the DGP")
    controls = ["control_event_1", "control_event_2"]
    history = pymc_history(data)
    curves = report = None
    for share in (0.1, 0.2):
        started = time.perf_counter()
        curves, report = fit_channel_history(history, ["x1", "x2"], controls=controls, holdout_share=share)
        seconds = time.perf_counter() - started
        pct = round(share * 100)
        holdout = slice(n - report.n_holdout, n)
        out(f"pymc_holdout_r2_{pct}pct", report.r2_holdout)
        out(f"pymc_holdout_mape_{pct}pct", report.mape_holdout)
        out(f"pymc_holdout_r2_{pct}pct_true_dgp", _r2(data["y"].to_numpy()[holdout], truth_mean[holdout]))
        if share == 0.1:
            out("pymc_fit_seconds", seconds)
            out("pymc_r2_train", report.r2_train)
    note("pymc_holdout_r2_*_true_dgp: R² of the true noise-free mean on the same weeks, the ceiling any fit has")
    assert curves is not None and report is not None
    for channel in ("x1", "x2"):
        curve, equivalent = curves[channel], hill_equivalent(channel)
        for name in ("decay", "beta", "half_saturation", "slope"):
            value, sd = getattr(curve, name), curve.param_sd[name]
            out(f"pymc_{channel}_{name}_true", equivalent[name])
            out(f"pymc_{channel}_{name}_fitted", value)
            out(f"pymc_{channel}_{name}_sd", sd)
        spend = data[channel].to_numpy(float)
        true_contribution = pymc_true_contribution(data, channel)
        fitted = fitted_contribution(curve, spend)
        out(f"pymc_{channel}_contribution_ratio", float(fitted.sum() / true_contribution.sum()))
        out(
            f"pymc_{channel}_contribution_wape",
            float(np.abs(fitted - true_contribution).sum() / true_contribution.sum()),
        )
        # Steady-state weekly response over the observed weekly spend range (normalised adstock of a
        # constant spend s is s itself).
        grid = np.linspace(0.0, spend.max(), 101)
        truth_ss = PYMC_Y_SCALE * PYMC_TRUTH[channel]["beta"] * _logistic(grid, PYMC_TRUTH[channel]["lam"])
        fitted_ss = np.asarray(curve.weekly_response(grid))
        out(f"pymc_{channel}_curve_max_err", float(np.max(np.abs(fitted_ss - truth_ss)) / truth_ss[-1]))
    note("beta/half_saturation/slope *_true are Hill equivalents of the true logistic curve (see docstring);")
    note("decay is alpha directly. curve_max_err: largest |fitted - true| steady-state weekly response over")
    note("0..max observed weekly spend, relative to the true response at that max. x2 is spent only at 0 or")
    note("0.8-1.0 a week, so its curve between is not identified by the data (only its two ends are).")
    note("x1 is never off (every week 0.05-1.0), so part of its contribution trades off against the intercept.")
    # Without the event controls (what importing through the built-in `pymc_mmm` column map gives: it
    # drops event_1/event_2) and with the catalog priors of the ids the map assigns (display, search).
    catalog = default_catalog()
    renamed = pymc_history(data, controls=False).rename(
        columns={"spend_x1": "spend_display", "spend_x2": "spend_search"}
    )
    logging.getLogger("campaign_planner.tools.response_curves").setLevel(logging.ERROR)
    product, product_report = fit_channel_history(
        renamed, ["display", "search"], priors={c: catalog[c].prior for c in ("display", "search")}
    )
    out("pymc_column_map_path_holdout_r2_10pct", product_report.r2_holdout)
    out("pymc_column_map_path_priors_set_aside", len(product_report.notes))
    out("pymc_column_map_path_x1_decay_fitted", product["display"].decay)
    out("pymc_column_map_path_x2_decay_fitted", product["search"].decay)
    note("column_map_path: no event controls, catalog priors of display/search offered; those priors are in")
    note("currency (half-saturation ~8,000) while x1/x2 are 0-1, so the fit sets them aside (and says so).")


# --------------------------------------------------------------------------------------------------
# Robyn simulated data: no parameter truth.
# --------------------------------------------------------------------------------------------------


def robyn_history(data: pd.DataFrame, *, controls: bool) -> tuple[pd.DataFrame, list[str]]:
    history = pd.DataFrame(
        {"period": data["DATE"], "revenue": data["revenue"], **{f"spend_{c}": data[f"{c}_S"] for c in ROBYN_CHANNELS}}
    )
    names: list[str] = []
    if controls:
        history["control_competitor_sales"] = data["competitor_sales_B"]
        history["control_newsletter"] = data["newsletter"]
        names = ["control_competitor_sales", "control_newsletter"]
        for event in sorted(set(data["events"]) - {"na"}):
            history[f"control_{event}"] = (data["events"] == event).astype(float)
            names.append(f"control_{event}")
    return history, names


def bench_robyn() -> None:
    path = _dataset(ROBYN_FILE)
    if path is None:
        return
    data = pd.read_csv(path)
    out("robyn_weeks", len(data))
    for label, with_controls in (("media_only", False), ("with_controls", True)):
        history, controls = robyn_history(data, controls=with_controls)
        for share in (0.1, 0.2):
            started = time.perf_counter()
            curves, report = fit_channel_history(history, ROBYN_CHANNELS, controls=controls, holdout_share=share)
            seconds = time.perf_counter() - started
            pct = round(share * 100)
            out(f"robyn_{label}_holdout_r2_{pct}pct", report.r2_holdout)
            out(f"robyn_{label}_holdout_mape_{pct}pct", report.mape_holdout)
            if share == 0.1:
                out(f"robyn_{label}_r2_train", report.r2_train)
                out(f"robyn_{label}_fit_seconds", seconds)
        if with_controls:
            for channel in ROBYN_CHANNELS:
                c = curves[channel]
                spend = history[f"spend_{channel}"].to_numpy(float)
                roas = fitted_contribution(c, spend).sum() / spend.sum()
                note(
                    f"robyn {channel}: decay {c.decay:.2f} half {c.half_saturation:,.0f} slope {c.slope:.2f} "
                    f"beta {c.beta:,.0f} fitted ROAS {roas:.2f}"
                )
    note("robyn: no parameter truth is published for this simulated set; media_only = the built-in `robyn`")
    note("column map (drops competitor_sales_B, newsletter, events); with_controls adds them as control_*.")


# --------------------------------------------------------------------------------------------------
# The demo shop (our generator) and synthetic histories (random truth, no priors).
# --------------------------------------------------------------------------------------------------


def demo_shop(root: Path):  # -> Shop (imported lazily)
    from campaign_planner.data.demo import write_demo_shop

    return write_demo_shop(root / "demo")


def bench_demo() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shop = demo_shop(Path(tmp))
        truth = json.loads((shop.root / "demo_truth.json").read_text())["channel_history"]["channels"]
        started = time.perf_counter()
        curves = fit_response_curves(shop, use_cache=False)
        seconds = time.perf_counter() - started
    assert curves.fit is not None
    out("demo_weeks", curves.fit.n_weeks)
    out("demo_fit_seconds", seconds)
    out("demo_holdout_r2_10pct", curves.fit.r2_holdout)
    out("demo_holdout_mape_10pct", curves.fit.mape_holdout)
    decay_err, half_err, beta_err = [], [], []
    for channel, true in truth.items():
        curve = curves.get(channel)
        if curve.source != "response_curve":
            continue
        decay_err.append(abs(curve.decay - true["decay"]))
        half_err.append(abs(curve.half_saturation / true["half_saturation"] - 1.0))
        beta_err.append(abs(curve.beta / true["beta"] - 1.0))
        note(
            f"demo {channel}: decay {curve.decay:.2f} (true {true['decay']}), half {curve.half_saturation:,.0f} "
            f"({true['half_saturation']:,.0f}), slope {curve.slope:.2f} ({true['slope']}), beta "
            f"{curve.beta:,.0f} ({true['beta']:,.0f})"
        )
    out("demo_channels_fitted", len(decay_err))
    out("demo_decay_abs_err_median", statistics.median(decay_err))
    out("demo_half_rel_err_median", statistics.median(half_err))
    out("demo_beta_rel_err_median", statistics.median(beta_err))


def synthetic(n_channels: int, seed: int, weeks: int = 200) -> tuple[pd.DataFrame, dict[str, tuple[float, ...]]]:
    """Return a weekly history with random known adstock + Hill channels on a trending seasonal baseline."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    revenue = 60000.0 + 50.0 * t + 6000.0 * np.sin(2 * np.pi * t / 52.18)
    frame = pd.DataFrame({"period": pd.date_range("2021-01-04", periods=weeks, freq="W-MON")})
    truth: dict[str, tuple[float, ...]] = {}
    for i in range(n_channels):
        beta = float(rng.uniform(1e4, 4e4))
        half = float(np.exp(rng.uniform(np.log(2e3), np.log(2e4))))
        slope = float(rng.uniform(0.8, 2.5))
        decay = float(rng.uniform(0.0, 0.7))
        spend = half * (1.0 - decay) * rng.uniform(0.0, 3.0, weeks)
        spend[rng.uniform(size=weeks) < 0.15] = 0.0
        frame[f"spend_c{i}"] = spend
        revenue = revenue + beta * hill(lfilter([1.0], [1.0, -decay], spend), half, slope)
        truth[f"c{i}"] = (beta, half, slope, decay)
    frame["revenue"] = revenue + rng.normal(0.0, 0.03 * revenue.mean(), weeks)
    return frame, truth


def bench_synthetic(seeds: int = 5) -> None:
    decay_err, half_err, beta_err, wape, r2 = [], [], [], [], []
    for n_channels in range(2, 8):
        times = []
        for seed in range(seeds):
            frame, truth = synthetic(n_channels, seed=100 * n_channels + seed)
            started = time.perf_counter()
            curves, report = fit_channel_history(frame, list(truth), priors=None)
            times.append(time.perf_counter() - started)
            r2.append(report.r2_holdout)
            for channel, (beta, half, slope, decay) in truth.items():
                curve = curves[channel]
                decay_err.append(abs(curve.decay - decay))
                half_err.append(abs(curve.half_saturation / half - 1.0))
                beta_err.append(abs(curve.beta / beta - 1.0))
                spend = frame[f"spend_{channel}"].to_numpy()
                true_contribution = beta * hill(lfilter([1.0], [1.0, -decay], spend), half, slope)
                wape.append(
                    float(np.abs(fitted_contribution(curve, spend) - true_contribution).sum() / true_contribution.sum())
                )
        out(f"recovery_fit_seconds_{n_channels}ch_200w", statistics.median(times))
    out("synthetic_fits", 6 * seeds)
    out("synthetic_holdout_r2_median", statistics.median(r2))
    out("synthetic_decay_abs_err_median", statistics.median(decay_err))
    out("synthetic_decay_abs_err_p90", float(np.quantile(decay_err, 0.9)))
    out("synthetic_half_rel_err_median", statistics.median(half_err))
    out("synthetic_beta_rel_err_median", statistics.median(beta_err))
    out("synthetic_contribution_wape_median", statistics.median(wape))
    out("synthetic_contribution_wape_p90", float(np.quantile(wape, 0.9)))
    note("synthetic: fitted with no priors (data-scaled defaults); fit seconds = median of the seeds")


# --------------------------------------------------------------------------------------------------
# Export / compare for the PyMC-Marketing side by side.
# --------------------------------------------------------------------------------------------------


def _plain(curve: ResponseCurve, spend_unit: float = 1.0) -> ResponseCurve:
    """Return the point curve without catalog bounds or draws, spend re-expressed in units of 1/spend_unit."""
    return ResponseCurve(
        channel=curve.channel,
        beta=curve.beta,
        half_saturation=curve.half_saturation * spend_unit,
        slope=curve.slope,
        decay=curve.decay,
        source=curve.source,
    )


def curve_sets() -> dict[str, dict[str, ResponseCurve]]:
    """Return the fitted curve sets the side by side runs on: PyMC example, Robyn, demo shop."""
    sets: dict[str, dict[str, ResponseCurve]] = {}
    path = _dataset(PYMC_FILE)
    if path is not None:
        data = pd.read_csv(path)
        fitted, _ = fit_channel_history(
            pymc_history(data), ["x1", "x2"], controls=["control_event_1", "control_event_2"]
        )
        # x1/x2 are 0-1 spend; in thousandths, rounding the allocation to cents costs nothing.
        sets["pymc"] = {c: _plain(v, 1000.0) for c, v in fitted.items()}
    path = _dataset(ROBYN_FILE)
    if path is not None:
        history, controls = robyn_history(pd.read_csv(path), controls=True)
        fitted, _ = fit_channel_history(history, ROBYN_CHANNELS, controls=controls)
        sets["robyn"] = {c: _plain(v) for c, v in fitted.items()}
    with tempfile.TemporaryDirectory() as tmp:
        demo = fit_response_curves(demo_shop(Path(tmp)), use_cache=False)
    sets["demo"] = {c: _plain(v) for c, v in demo.curves.items() if v.source == "response_curve"}
    return sets


def problems(sets: dict[str, dict[str, ResponseCurve]]) -> list[dict]:
    """Return the budget problems: random budgets (and some caps) on each fitted curve set."""
    rng = np.random.default_rng(2024)
    counts = {"pymc": 20, "robyn": 10, "demo": 10}
    typical = {"pymc": 1000.0 * (0.33 + 0.19), "robyn": 69000.0, "demo": 25000.0}  # mean weekly total spend
    found: list[dict] = []
    for name, curves in sets.items():
        names = list(curves)
        for index in range(counts[name]):
            weeks = (4, 8, 13)[index % 3]
            channels = names
            if name == "demo":
                size = int(rng.integers(3, len(names) + 1))
                channels = sorted(rng.choice(names, size=size, replace=False).tolist(), key=names.index)
            budget = round(float(typical[name] * weeks * np.exp(rng.uniform(np.log(0.2), np.log(5.0)))), 2)
            bounds = {c: [0.0, budget] for c in channels}
            if name != "pymc" and rng.uniform() < 0.4:
                capped = channels[int(rng.integers(len(channels)))]
                bounds[capped][1] = round(budget * float(rng.uniform(0.1, 0.4)), 2)
            found.append(
                {
                    "id": f"{name}-{index:02d}",
                    "dataset": name,
                    "weeks": weeks,
                    "budget": budget,
                    "channels": channels,
                    "bounds": bounds,
                    "curves": {
                        c: {k: getattr(curves[c], k) for k in ("beta", "half_saturation", "slope", "decay")}
                        for c in channels
                    },
                }
            )
    return found


def _curve_set(problem: dict) -> CurveSet:
    return CurveSet(
        curves={c: ResponseCurve(channel=c, source="response_curve", **p) for c, p in problem["curves"].items()}
    )


def objective(problem: dict, spends: dict[str, float]) -> float:
    """Return the campaign outcome of ``spends`` with OUR curve functions (the common yardstick)."""
    curves = _curve_set(problem)
    return sum(float(curves.get(c).campaign_response(max(s, 0.0), problem["weeks"])) for c, s in spends.items())


def run_ours(problem: dict, repeats: int = 5) -> dict:
    curves = _curve_set(problem)
    caps = {c: hi for c, (_, hi) in problem["bounds"].items() if hi < problem["budget"]}
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = allocate_budget(
            curves,
            budget=problem["budget"],
            weeks=problem["weeks"],
            channels=problem["channels"],
            max_spend=caps,
            min_share=0.0,
        )
        times.append(time.perf_counter() - started)
    assert result is not None
    allocation = {a.channel: a.spend for a in result.allocations}
    # The solver alone (private API, as in bench_optimizer.py): no argument checks, intervals, flags,
    # chart points or cent rounding, i.e. the part that corresponds to their SLSQP call.
    core = []
    for _ in range(repeats):
        started = time.perf_counter()
        solver = _Curves.build([curves.get(c) for c in problem["channels"]], problem["weeks"], 1.0)
        lower = np.array([problem["bounds"][c][0] for c in problem["channels"]])
        upper = np.array([problem["bounds"][c][1] for c in problem["channels"]])
        _optimise(solver, lower, upper, problem["budget"])
        core.append(time.perf_counter() - started)
    return {
        "allocation": allocation,
        "seconds": statistics.median(times),
        "core_seconds": statistics.median(core),
        "objective": objective(problem, allocation),
    }


def export(path: Path) -> None:
    sets = curve_sets()
    found = problems(sets)
    for problem in found:
        problem["ours"] = run_ours(problem)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "about": "campaign_planner fitted curves + budget problems for bench/bench_pymc_budget.py",
        "objective": "sum over channels of sum_{t=1..weeks} beta * hill(adstock_t), adstock_t = (x / weeks) "
        "(1 - decay^t) / (1 - decay): flat weekly spend, carry-over from zero, no tail after the campaign",
        "problems": found,
    }
    path.write_text(json.dumps(payload, indent=1))
    out("exported_problems", len(found))
    for name in sets:
        out(f"exported_{name}_problems", sum(p["dataset"] == name for p in found))
    note(f"written to {path}")


def compare(problems_path: Path, pymc_path: Path) -> None:
    exported = {p["id"]: p for p in json.loads(problems_path.read_text())["problems"]}
    theirs = json.loads(pymc_path.read_text())
    note(f"pymc-marketing {theirs.get('pymc_marketing_version')}, pymc {theirs.get('pymc_version')}")
    rows = []
    for result in theirs["results"]:
        problem = exported[result["id"]]
        allocation = {c: float(v) for c, v in result["allocation"].items()}
        total = sum(allocation.values())
        violation = (
            max(
                [abs(total - problem["budget"])]
                + [max(lo - allocation[c], allocation[c] - hi, 0.0) for c, (lo, hi) in problem["bounds"].items()]
            )
            / problem["budget"]
        )
        their_value = objective(problem, allocation)
        ours = problem["ours"]
        rows.append(
            {
                "id": problem["id"],
                "dataset": problem["dataset"],
                "ratio": ours["objective"] / their_value if their_value > 0 else math.inf,
                "time_ratio": ours["seconds"] / result["solve_seconds"],
                "time_ratio_core": ours["core_seconds"] / result["solve_seconds"],
                "time_ratio_with_build": ours["seconds"] / (result["solve_seconds"] + result["build_seconds"]),
                "success": bool(result["success"]),
                "violation": violation,
                "ours_ms": ours["seconds"] * 1000.0,
                "ours_core_ms": ours["core_seconds"] * 1000.0,
                "theirs_ms": result["solve_seconds"] * 1000.0,
                "build_s": result["build_seconds"],
            }
        )
    if not rows:
        note("no PyMC-Marketing results to compare")
        return

    for r in rows:
        if abs(r["ratio"] - 1.0) > 1e-6 or not r["success"]:
            note(
                f"{r['id']}: ratio {r['ratio']:.6f}, theirs success={r['success']}, ours {r['ours_ms']:.1f} ms "
                f"(core {r['ours_core_ms']:.1f}), theirs {r['theirs_ms']:.1f} ms"
            )

    def summary(prefix: str, chosen: list[dict]) -> None:
        ratios = [r["ratio"] for r in chosen]
        out(f"{prefix}problems", len(chosen))
        print(f"{prefix}objective_ratio={statistics.median(ratios):.6f}")
        print(f"{prefix}objective_ratio_min={min(ratios):.6f}")
        print(f"{prefix}objective_ratio_max={max(ratios):.6f}")
        out(f"{prefix}ours_better_share", sum(r > 1 + 1e-6 for r in ratios) / len(ratios))
        out(f"{prefix}ours_worse_share", sum(r < 1 - 1e-6 for r in ratios) / len(ratios))
        out(f"{prefix}time_ratio", statistics.median(r["time_ratio"] for r in chosen))
        out(f"{prefix}time_ratio_max", max(r["time_ratio"] for r in chosen))
        out(f"{prefix}time_ratio_core", statistics.median(r["time_ratio_core"] for r in chosen))
        out(f"{prefix}time_ratio_core_max", max(r["time_ratio_core"] for r in chosen))
        out(f"{prefix}time_ratio_with_build", statistics.median(r["time_ratio_with_build"] for r in chosen))

    summary("pymc_", rows)
    out("pymc_ours_ms_median", statistics.median(r["ours_ms"] for r in rows))
    out("pymc_ours_core_ms_median", statistics.median(r["ours_core_ms"] for r in rows))
    out("pymc_theirs_solve_ms_median", statistics.median(r["theirs_ms"] for r in rows))
    out("pymc_theirs_build_s_median", statistics.median(r["build_s"] for r in rows))
    out("pymc_theirs_failures", sum(not r["success"] for r in rows))
    out("pymc_theirs_max_constraint_violation", max(r["violation"] for r in rows))
    for dataset in sorted({r["dataset"] for r in rows}):
        summary(f"pymc_{dataset}_", [r for r in rows if r["dataset"] == dataset])
    worst = min(rows, key=lambda r: r["ratio"])
    best = max(rows, key=lambda r: r["ratio"])
    note(f"worst case for us: {worst['id']} ratio {worst['ratio']:.9f}; best: {best['id']} ratio {best['ratio']:.6f}")
    note("objective_ratio = our objective / theirs, both evaluated with our curve functions (>1: ours better);")
    note("ties = |ratio - 1| <= 1e-6 (our allocation is rounded to cents, theirs is not).")
    note("time_ratio = our allocate_budget wall time (the whole product call: checks, solver, certificate,")
    note("cents, intervals, flags, chart points) / their allocate_budget (SLSQP) time with the objective")
    note("already compiled; time_ratio_core uses our solver alone (_optimise); time_ratio_with_build adds")
    note("their BudgetOptimizer construction (graph rewrite + C compile) to their side. >1: ours slower.")
    note("theirs success=False: SLSQP stopped ('Inequality constraints incompatible'); the allocation it")
    note("returned (return_if_fail=True) is still feasible and is the one scored; without that flag their")
    note("allocate_budget raises MinimizeException and returns no allocation.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--export", type=Path, help="write fitted curves + budget problems (JSON) here")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("PROBLEMS", "PYMC_RESULTS"))
    args = parser.parse_args()
    if args.export:
        export(args.export)
    elif args.compare:
        compare(*args.compare)
    else:
        bench_pymc()
        bench_robyn()
        bench_demo()
        bench_synthetic()


if __name__ == "__main__":
    main()
