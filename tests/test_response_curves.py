"""Response curves: the curve maths, parameter recovery on known truth, priors, caching, bad input."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

sys.path.insert(0, str(Path(__file__).parent))

from campaign_planner.data.catalog import default_catalog
from campaign_planner.tools import response_curves
from campaign_planner.tools.response_curves import (
    CurveSet,
    ResponseCurve,
    ResponseCurveError,
    UnknownChannelError,
    fit_channel_history,
    fit_response_curves,
    hill,
    prior_curve,
)
from channel_history_synthetic import TRUTH, make_history, make_shop
from conftest import dataset


def _curve(**overrides: float) -> ResponseCurve:
    params = {"beta": 20000.0, "half_saturation": 5000.0, "slope": 1.6, "decay": 0.4} | overrides
    return ResponseCurve(channel="search", source="response_curve", **params)


# ---------------------------------------------------------------------------------------------- curve maths


def test_weekly_response_is_the_steady_state_of_a_constant_spend() -> None:
    curve = _curve()
    simulated = lfilter([1.0], [1.0, -curve.decay], np.full(400, 3000.0))[-1]  # adstock after 400 weeks
    assert simulated == pytest.approx(3000.0 / (1 - curve.decay))
    assert curve.weekly_response(3000.0) == pytest.approx(20000.0 * hill(simulated, 5000.0, 1.6))


def test_campaign_response_sums_the_adstock_build_up_week_by_week() -> None:
    curve = _curve()
    weeks, total = 6, 24000.0
    adstock = lfilter([1.0], [1.0, -curve.decay], np.full(weeks, total / weeks))
    expected = float(np.sum(curve.beta * hill(adstock, curve.half_saturation, curve.slope)))
    assert curve.campaign_response(total, weeks) == pytest.approx(expected, rel=1e-12)
    # Less than `weeks` steady-state weeks, because the carry-over starts from zero.
    assert curve.campaign_response(total, weeks) < weeks * curve.weekly_response(total / weeks)


def test_marginal_roi_is_the_derivative_and_crosses_one_where_it_says() -> None:
    curve = _curve()
    for spend in (500.0, 8000.0, 60000.0):
        h = spend * 1e-6
        numeric = (curve.campaign_response(spend + h, 4) - curve.campaign_response(spend - h, 4)) / (2 * h)
        assert curve.marginal_roi(spend, 4) == pytest.approx(numeric, rel=1e-5)
    crossing = curve.spend_at_marginal_roi(1.0, 4)
    assert crossing is not None
    assert curve.marginal_roi(crossing, 4) == pytest.approx(1.0, rel=1e-5)
    assert curve.marginal_roi(crossing * 1.2, 4) < 1.0
    weak = _curve(beta=10.0)  # never returns a dollar per dollar
    assert weak.spend_at_marginal_roi(1.0, 4) is None


def test_points_span_the_range_and_include_the_operating_point() -> None:
    points = _curve().points(50000.0, 11, weeks=4, include=[12345.0])
    spends = [p.spend for p in points]
    assert spends[0] == 0.0 and spends[-1] == 50000.0 and 12345.0 in spends
    outcomes = [p.outcome for p in points]
    assert outcomes == sorted(outcomes) and outcomes[0] == 0.0


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_curve_queries_refuse_bad_spend(bad: float) -> None:
    with pytest.raises(ResponseCurveError, match="total_spend"):
        _curve().campaign_response(bad, 4)


def test_curve_queries_refuse_bad_weeks() -> None:
    with pytest.raises(ResponseCurveError, match="weeks"):
        _curve().campaign_response(1000.0, 0)


# ---------------------------------------------------------------------------------------------- fitting


def test_fit_recovers_known_curves_with_honest_intervals() -> None:
    history = make_history(seed=3)
    catalog = default_catalog()
    started = time.perf_counter()
    curves, report = fit_channel_history(history, list(TRUTH), priors={c: catalog[c].prior for c in TRUTH})
    elapsed = time.perf_counter() - started
    assert elapsed < 10.0
    assert report.r2_holdout is not None and report.r2_holdout > 0.8
    assert report.n_holdout == 20 and report.fourier_order == 2
    covered = 0
    for channel, (beta, half, slope, decay) in TRUTH.items():
        curve = curves[channel]
        assert curve.source == "response_curve"
        assert abs(curve.decay - decay) < 0.1, channel
        # The curve (what decisions use) is recovered over the spend range the history covers; the error
        # is measured against the saturated level beta (the low end of an S-curve is small in absolute
        # terms, so relative errors there say little).
        for multiple in (0.5, 1.0, 2.0):
            weekly = multiple * half * (1 - decay)
            truth = beta * hill(weekly / (1 - decay), half, slope)
            assert abs(curve.weekly_response(weekly) - truth) < 0.10 * beta, (channel, multiple)
        # The true 4-week campaign revenue at a typical spend lies inside the 95% interval.
        spend = 4 * half * (1 - decay)
        truth_campaign = ResponseCurve(
            channel=channel,
            beta=beta,
            half_saturation=half,
            slope=slope,
            decay=decay,
            source="response_curve",
        ).campaign_response(spend, 4)
        draws = curve.campaign_response_samples(spend, 4)
        lo, hi = np.quantile(draws, [0.025, 0.975])
        covered += lo <= truth_campaign <= hi
        assert hi > lo
    assert covered >= 2


def test_interval_coverage_over_repeated_histories() -> None:
    """The 80%/95% intervals from the Laplace draws cover the true campaign revenue about that often."""
    catalog = default_catalog()
    hits80, hits95, total = 0, 0, 0
    for seed in range(100, 115):
        curves, _ = fit_channel_history(
            make_history(seed=seed), list(TRUTH), priors={c: catalog[c].prior for c in TRUTH}
        )
        for channel, (beta, half, slope, decay) in TRUTH.items():
            spend = 4 * half * (1 - decay)
            truth = ResponseCurve(
                channel=channel,
                beta=beta,
                half_saturation=half,
                slope=slope,
                decay=decay,
                source="response_curve",
            ).campaign_response(spend, 4)
            draws = curves[channel].campaign_response_samples(spend, 4)
            hits80 += bool(np.quantile(draws, 0.1) <= truth <= np.quantile(draws, 0.9))
            hits95 += bool(np.quantile(draws, 0.025) <= truth <= np.quantile(draws, 0.975))
            total += 1
    print(f"interval coverage over {total} fits: 80% -> {hits80 / total:.2f}, 95% -> {hits95 / total:.2f}")
    assert 0.6 <= hits80 / total <= 0.98
    assert hits95 / total >= 0.8


def test_fit_without_priors_uses_a_data_scaled_default() -> None:
    curves, report = fit_channel_history(make_history(seed=5), ["search", "facebook"], priors=None)
    assert report.channels_fitted == ["search", "facebook"]
    assert all(c.source == "response_curve" for c in curves.values())


def test_pymc_marketing_example_holdout_r2() -> None:
    path = dataset("pymc_marketing_mmm_example.csv")
    data = pd.read_csv(path)
    history = pd.DataFrame(
        {"period": data["date_week"], "spend_x1": data["x1"], "spend_x2": data["x2"], "revenue": data["y"]}
    )
    curves, report = fit_channel_history(history, ["x1", "x2"])
    print(
        f"pymc_marketing_mmm_example: holdout R2={report.r2_holdout:.3f} on {report.n_holdout} weeks, "
        f"MAPE={report.mape_holdout:.3f}, decay x1={curves['x1'].decay:.2f} x2={curves['x2'].decay:.2f}"
    )
    assert report.r2_holdout is not None and report.r2_holdout > 0.5
    # The generating notebook used adstock alpha 0.4 (x1) and 0.2 (x2): the ordering must come out.
    assert curves["x1"].decay > curves["x2"].decay


def test_a_control_seen_only_in_the_holdout_does_not_wreck_the_holdout_score() -> None:
    history = make_history(weeks=120, seed=4)
    history["control_promo"] = 0.0
    history.loc[115, "control_promo"] = 1.0  # inside the last 10% (the holdout) only
    history.loc[115, "revenue"] += 20000.0
    _, report = fit_channel_history(history, ["search", "facebook"], controls=["control_promo"])
    # The unseen promo is predicted as "no effect": one week missed, not an arbitrary coefficient.
    assert report.r2_holdout is not None and report.r2_holdout > 0.3
    assert report.mape_holdout is not None and report.mape_holdout < 0.1


def test_a_prior_in_other_units_is_set_aside_and_said(tmp_path: Path) -> None:
    # Spend exported scaled down 10,000x (as in the PyMC-Marketing example's 0-1 spend): the catalog's
    # currency priors (half-saturation ~8,000) cannot describe it and would pin the fit to a box bound.
    history = make_history(seed=6)
    spend = [c for c in history.columns if c.startswith("spend_")]
    history[spend] = history[spend] / 10000.0
    catalog = default_catalog()
    priors = {c: catalog[c].prior for c in TRUTH}
    curves, report = fit_channel_history(history, list(TRUTH), priors=priors)
    assert {note.split(":")[0] for note in report.notes if "catalog prior set aside" in note} == set(TRUTH)
    for channel, (_, half, _, _) in TRUTH.items():
        assert curves[channel].half_saturation == pytest.approx(half / 10000.0, rel=0.5)
    shop_curves = fit_response_curves(make_shop(tmp_path, history))
    assert any("catalog prior set aside" in note for note in shop_curves.notes)
    # Priors on the data's own scale are kept.
    _, kept = fit_channel_history(make_history(seed=6), list(TRUTH), priors=priors)
    assert kept.notes == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h: h.drop(columns=["revenue"]), "'revenue'"),
        (lambda h: h.drop(columns=["period"]), "'period'"),
        (lambda h: h.assign(spend_search=h["spend_search"].where(h.index != 7)), "spend_search.*missing"),
        (lambda h: h.assign(spend_search=-h["spend_search"]), "spend_search.*negative"),
        (lambda h: h.assign(period=h["period"].where(h.index != 3, h["period"].iloc[2])), "repeats periods"),
        (lambda h: h.head(10), "10 weeks"),
    ],
)
def test_fit_refuses_bad_history_naming_the_problem(
    mutate: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    with pytest.raises(ResponseCurveError, match=message):
        fit_channel_history(mutate(make_history(weeks=60)), ["search"])


# ---------------------------------------------------------------------------------------------- shops


def test_shop_curves_fit_history_channels_and_label_priors(tmp_path: Path) -> None:
    curves = fit_response_curves(make_shop(tmp_path))
    assert {c for c, v in curves.curves.items() if v.source == "response_curve"} == set(TRUTH)
    catalog = default_catalog()
    assert set(curves.channels()) == set(catalog.ids())
    tiktok = curves.get("tiktok")
    assert tiktok.source == "prior" and tiktok.beta == catalog["tiktok"].prior.beta
    # The prior's draws carry the catalog's stated spread.
    outcome = tiktok.campaign_response_samples(20000.0, 4)
    assert outcome.std() / outcome.mean() == pytest.approx(catalog["tiktok"].prior.prior_cv, rel=0.2)
    assert curves.fit is not None and curves.fit.r2_holdout > 0.8


def test_shop_curves_are_cached_by_data_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shop = make_shop(tmp_path)
    first = fit_response_curves(shop)
    assert list((tmp_path / ".cache").glob("response_curves_*.json"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("refitted although the history did not change")

    monkeypatch.setattr(response_curves, "fit_channel_history", refuse)
    second = fit_response_curves(shop)
    assert second.get("search") == first.get("search")
    changed = make_shop(tmp_path, make_history(seed=9))
    with pytest.raises(AssertionError, match="refitted"):
        fit_response_curves(changed)


def test_shop_without_usable_history_uses_priors_and_says_so(tmp_path: Path) -> None:
    short = fit_response_curves(make_shop(tmp_path, make_history(weeks=12)))
    assert all(c.source == "prior" for c in short.curves.values())
    assert any("12 weeks" in note for note in short.notes)
    sparse_history = make_history(weeks=80)
    sparse_history.loc[5:, "spend_instagram"] = 0.0
    sparse = fit_response_curves(make_shop(tmp_path, sparse_history))
    assert sparse.get("instagram").source == "prior" and sparse.get("search").source == "response_curve"
    assert any(note.startswith("instagram") for note in sparse.notes)


def test_unknown_channel_names_it_and_suggests() -> None:
    catalog = default_catalog()
    curves = CurveSet(curves={c: prior_curve(c, catalog[c].prior) for c in ("email", "search")})
    with pytest.raises(UnknownChannelError, match=r"'emial'.*email"):
        curves.get("emial")
