"""Channel response curves: geometric adstock + Hill saturation, fitted to a shop's weekly channel history.

The weekly model (one row per week ``t``)::

    outcome_t  = baseline_t + sum_c beta_c * hill(adstock_c,t)
    adstock_c,t = spend_c,t + decay_c * adstock_c,t-1                       (geometric carry-over)
    hill(a)     = a^slope / (a^slope + half_saturation^slope)
    baseline_t  = intercept + trend * t + sum_k a_k sin(2 pi k t / 52.18) + b_k cos(...)   (yearly Fourier)

It is fitted by bounded nonlinear least squares (``scipy.optimize.least_squares``, analytic Jacobian) as a
MAP estimate: the data residuals are joined by mild Gaussian penalty rows pulling each channel's
parameters toward the catalog prior, which keeps weakly identified channels sensible without
overriding data. Parameter uncertainty is the Laplace approximation at the optimum (``(J^T J)^-1``),
stored as joint parameter draws so intervals on any derived number (a campaign's revenue, a total
across channels) come from the same draws. Fit quality is measured on the last ~10% of weeks, which the
fit that reports it never saw; the curves handed on are then refitted on all weeks.

Channels without history get the catalog prior (``source="prior"``) with draws whose spread is the
prior's ``prior_cv``. Fitted curves are cached on disk under ``shop.root / ".cache"``, keyed by the
hash of the channel history and the priors, so a plan does not refit unchanged data.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
import os
import tempfile
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator
from scipy.optimize import brentq, least_squares, lsq_linear
from scipy.signal import lfilter

from campaign_planner.data.catalog import PriorCurve
from campaign_planner.data.channel_checks import scaled_spend, spacing_problem
from campaign_planner.data.order_value import average_order_value
from campaign_planner.domain import ResponseCurvePoint

if TYPE_CHECKING:
    from campaign_planner.data.shop import Shop

log = logging.getLogger(__name__)

Outcome = Literal["revenue", "conversions"]
CurveSource = Literal["response_curve", "prior"]

#: Bump when the model or the cache layout changes, so stale cache files are never read.
FIT_VERSION = "adstock-hill-map-v3"  # v3: the fit report lists its controls
#: Fewer weeks than this cannot separate a baseline with trend and seasonality from channel effects.
MIN_WEEKS = 26
#: A channel needs this many weeks with spend before its own curve is fitted rather than the prior used.
MIN_ACTIVE_WEEKS = 8
N_SAMPLES = 300
_WEEKS_PER_YEAR = 365.25 / 7.0
# Prior spreads of the MAP penalty, in the fitted (transformed) parameters. Deliberately wide: a factor
# of e^1.5 ~ 4.5 on beta and half-saturation, so 100+ weeks of data dominate wherever they inform.
_SD_LOG_BETA = 1.5
_SD_LOG_HALF = 1.5
_SD_LOG_SLOPE = 0.5
_SD_DECAY = 0.25
# Box bounds of the fit (scaled units: outcome / mean outcome, spend / mean positive spend).
_BOUNDS_LOG_BETA = (math.log(1e-5), math.log(50.0))
_BOUNDS_LOG_HALF = (math.log(1e-3), math.log(1e3))
_BOUNDS_LOG_SLOPE = (math.log(0.3), math.log(5.0))
_BOUNDS_DECAY = (0.0, 0.9)


class ResponseCurveError(ValueError):
    """Channel history or a curve query that cannot be used; the message names the column or value."""


class UnknownChannelError(ResponseCurveError):
    """A channel id that has no response curve (not in the catalog, no history)."""

    def __init__(self, channel: str, known: Sequence[str]) -> None:
        close = difflib.get_close_matches(channel, list(known), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"unknown channel {channel!r}: no response curve for it{hint}")
        self.channel = channel


# --------------------------------------------------------------------------------------------------
# The curve maths (vectorised; parameters broadcast against spend).
# --------------------------------------------------------------------------------------------------


def hill(
    adstock: np.ndarray | float, half_saturation: np.ndarray | float, slope: np.ndarray | float
) -> np.ndarray:
    """Return the Hill saturation ``a^slope / (a^slope + half^slope)`` in [0, 1]; 0 where ``a <= 0``."""
    a = np.asarray(adstock, dtype=float)
    positive = a > 0
    safe = np.where(positive, a, 1.0)
    # 1 / (1 + (K/a)^n) cannot overflow to inf/inf the way a^n / (a^n + K^n) can for large spends.
    with np.errstate(over="ignore", divide="ignore"):
        value = 1.0 / (1.0 + (np.asarray(half_saturation) / safe) ** np.asarray(slope))
    return np.where(positive, value, 0.0)


def hill_derivative(
    adstock: np.ndarray | float, half_saturation: np.ndarray | float, slope: np.ndarray | float
) -> np.ndarray:
    """Return d hill / d adstock; at zero adstock its limit (0 for slope > 1, 1/half for 1, inf below 1)."""
    a = np.asarray(adstock, dtype=float)
    n = np.asarray(slope, dtype=float)
    k = np.asarray(half_saturation, dtype=float)
    h = hill(a, k, n)
    positive = a > 0
    interior = n * h * (1.0 - h) / np.where(positive, a, 1.0)
    with np.errstate(divide="ignore"):
        at_zero = np.where(n > 1, 0.0, np.where(n == 1, 1.0 / k, np.inf))
    return np.where(positive, interior, at_zero)


def hill_second_derivative(
    adstock: np.ndarray | float, half_saturation: np.ndarray | float, slope: np.ndarray | float
) -> np.ndarray:
    """Return d² hill / d adstock² = n h (1 - h) (n (1 - 2h) - 1) / a²; 0 where ``a <= 0``."""
    a = np.asarray(adstock, dtype=float)
    n = np.asarray(slope, dtype=float)
    h = hill(a, half_saturation, n)
    positive = a > 0
    safe = np.where(positive, a, 1.0)
    return np.where(positive, n * h * (1.0 - h) * (n * (1.0 - 2.0 * h) - 1.0) / safe**2, 0.0)


def carryover_factors(decay: np.ndarray | float, weeks: int) -> np.ndarray:
    """Return the adstock build-up ``(1 - decay^t) / (1 - decay)`` for t = 1..weeks (last axis).

    A flat weekly spend ``s`` started from zero carry-over has adstock ``s * factor_t`` in week t, which
    tends to the steady state ``s / (1 - decay)``.
    """
    d = np.asarray(decay, dtype=float)[..., None]
    t = np.arange(1, weeks + 1, dtype=float)
    return (1.0 - d**t) / (1.0 - d)


def campaign_outcome(
    total_spend: np.ndarray | float,
    beta: np.ndarray | float,
    half_saturation: np.ndarray | float,
    slope: np.ndarray | float,
    decay: np.ndarray | float,
    weeks: int,
) -> np.ndarray:
    """Return the outcome over a ``weeks``-long campaign spending ``total_spend`` flat per week.

    Sums the weekly Hill response as adstock builds up inside the campaign (starting from zero
    carry-over; the tail after the campaign ends is not counted). All arguments broadcast.
    """
    total, b, k, n, d = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (total_spend, beta, half_saturation, slope, decay))
    )
    adstock = (total / weeks)[..., None] * carryover_factors(d, weeks)
    return b * hill(adstock, k[..., None], n[..., None]).sum(axis=-1)


def campaign_marginal(
    total_spend: np.ndarray | float,
    beta: np.ndarray | float,
    half_saturation: np.ndarray | float,
    slope: np.ndarray | float,
    decay: np.ndarray | float,
    weeks: int,
) -> np.ndarray:
    """Return d campaign_outcome / d total_spend: the marginal return of one more unit of budget."""
    total, b, k, n, d = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (total_spend, beta, half_saturation, slope, decay))
    )
    factors = carryover_factors(d, weeks)
    adstock = (total / weeks)[..., None] * factors
    return b * (hill_derivative(adstock, k[..., None], n[..., None]) * factors).sum(axis=-1) / weeks


# --------------------------------------------------------------------------------------------------
# The curve model.
# --------------------------------------------------------------------------------------------------


class ResponseCurve(BaseModel):
    """One channel's weekly response curve (outcome per week vs adstocked weekly spend) and its uncertainty.

    ``samples`` are joint draws of (beta, half_saturation, slope, decay): from the Laplace approximation
    of the fit for ``source="response_curve"``, from the catalog's ``prior_cv`` for ``source="prior"``.
    """

    model_config = ConfigDict(extra="forbid")

    channel: str
    beta: float = Field(gt=0, description="Saturated weekly outcome (currency per week for revenue).")
    half_saturation: float = Field(gt=0, description="Adstocked weekly spend giving half of beta.")
    slope: float = Field(gt=0, description="Hill exponent; above 1 the curve is S-shaped.")
    decay: float = Field(ge=0, lt=1, description="Geometric adstock carry-over per week.")
    source: CurveSource
    outcome: Outcome = "revenue"
    param_sd: dict[str, float] = Field(default_factory=dict, description="Posterior/prior sd per parameter.")
    samples: list[tuple[float, float, float, float]] = Field(
        default_factory=list, description="Joint draws of (beta, half_saturation, slope, decay)."
    )
    r2_holdout: float | None = Field(default=None, description="R² of the whole model on held-out weeks.")
    mape_holdout: float | None = None
    observed_max_weekly_spend: float | None = Field(default=None, description="Largest weekly spend seen.")
    min_spend: float | None = Field(default=None, ge=0, description="Catalog minimum campaign spend.")
    max_spend: float | None = Field(default=None, ge=0, description="Catalog maximum campaign spend.")

    _sample_array: np.ndarray | None = PrivateAttr(default=None)

    @field_validator("samples")
    @classmethod
    def _finite_samples(cls, value: list[tuple[float, float, float, float]]) -> list[tuple[float, ...]]:
        if value and not np.all(np.isfinite(np.asarray(value, dtype=float))):
            raise ValueError("response curve samples must be finite")
        return value

    # -- point estimates -------------------------------------------------------------------------------

    def weekly_response(self, weekly_spend: float | np.ndarray) -> float | np.ndarray:
        """Return the steady-state weekly outcome of a constant weekly spend (adstock = s / (1 - decay)).

        Refuses negative spend (ResponseCurveError).
        """
        spend = _non_negative(weekly_spend, "weekly_spend")
        value = self.beta * hill(spend / (1.0 - self.decay), self.half_saturation, self.slope)
        return _scalar_or_array(value, weekly_spend)

    def campaign_response(self, total_spend: float | np.ndarray, weeks: int) -> float | np.ndarray:
        """Return the outcome over a ``weeks``-long campaign spending ``total_spend`` evenly per week.

        Includes the adstock build-up within the campaign, not the tail after it. Refuses negative
        spend or ``weeks < 1`` (ResponseCurveError).
        """
        spend = _non_negative(total_spend, "total_spend")
        value = campaign_outcome(
            spend, self.beta, self.half_saturation, self.slope, self.decay, _weeks(weeks)
        )
        return _scalar_or_array(value, total_spend)

    def marginal_roi(self, total_spend: float | np.ndarray, weeks: int) -> float | np.ndarray:
        """Return d campaign_response / d total_spend: outcome per extra unit of budget."""
        spend = _non_negative(total_spend, "total_spend")
        value = campaign_marginal(
            spend, self.beta, self.half_saturation, self.slope, self.decay, _weeks(weeks)
        )
        return _scalar_or_array(value, total_spend)

    def spend_at_marginal_roi(self, target: float, weeks: int) -> float | None:
        """Return the campaign spend beyond which the marginal ROI stays below ``target``.

        That is the root on the falling (concave) side of the curve. Returns None when the marginal ROI
        never reaches ``target`` (the channel never returns ``target`` per unit at any spend).
        """
        weeks = _weeks(weeks)
        # The marginal ROI peaks where weekly adstock is near the half-saturation (the S-curve's steepest
        # part), so search for the peak, then for the crossing to its right.
        scale = self.half_saturation * weeks * (1.0 - self.decay)
        grid = scale * np.geomspace(1e-4, 1e4, 400)
        marginal = np.asarray(self.marginal_roi(grid, weeks))
        peak = int(np.argmax(marginal))
        if marginal[peak] < target:
            return None
        below = np.nonzero(marginal[peak:] < target)[0]
        if below.size == 0:
            return float(grid[-1])
        hi = peak + int(below[0])
        lo = max(hi - 1, peak)
        return float(
            brentq(lambda x: float(self.marginal_roi(x, weeks)) - target, grid[lo], grid[hi], xtol=1e-6)
        )

    def points(
        self, max_spend: float, n: int = 25, *, weeks: int | None = None, include: Sequence[float] = ()
    ) -> list[ResponseCurvePoint]:
        """Return ``n`` evenly spaced chart points from 0 to ``max_spend`` (plus any ``include`` spends).

        With ``weeks`` the points are campaign spend → campaign outcome; without, weekly spend → steady-
        state weekly outcome. Refuses a negative ``max_spend`` or ``n < 2``.
        """
        if not math.isfinite(max_spend) or max_spend < 0:
            raise ResponseCurveError(f"max_spend must be a finite number >= 0, got {max_spend!r}")
        if n < 2:
            raise ResponseCurveError(f"n must be at least 2 chart points, got {n}")
        spends = np.unique(np.concatenate([np.linspace(0.0, max_spend, n), np.asarray(include, dtype=float)]))
        spends = spends[spends >= 0]
        values = self.weekly_response(spends) if weeks is None else self.campaign_response(spends, weeks)
        return [
            ResponseCurvePoint(spend=round(float(s), 2), outcome=round(float(v), 2))
            for s, v in zip(spends, np.asarray(values), strict=True)
        ]

    # -- uncertainty ----------------------------------------------------------------------------------

    def sample_array(self) -> np.ndarray:
        """Return the parameter draws as an (S, 4) array; the point estimate alone when there are none."""
        if self._sample_array is None:
            if self.samples:
                self._sample_array = np.asarray(self.samples, dtype=float)
            else:
                self._sample_array = np.array([[self.beta, self.half_saturation, self.slope, self.decay]])
        return self._sample_array

    def campaign_response_samples(self, total_spend: float, weeks: int) -> np.ndarray:
        """Return the campaign outcome at ``total_spend`` under each parameter draw (shape (S,))."""
        spend = float(_non_negative(total_spend, "total_spend"))
        draws = self.sample_array()
        return campaign_outcome(spend, draws[:, 0], draws[:, 1], draws[:, 2], draws[:, 3], _weeks(weeks))


class FitReport(BaseModel):
    """How the joint fit went: sizes, held-out quality, time, and what fell back to priors and why."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    n_weeks: int
    n_holdout: int
    channels_fitted: list[str]
    r2_train: float
    r2_holdout: float | None
    mape_holdout: float | None
    fourier_order: int
    starts: int
    seconds: float
    noise_sd: float = Field(description="Residual sd of the weekly outcome, in outcome units.")
    notes: list[str] = Field(
        default_factory=list, description="Priors set aside as inconsistent with the data's scale, in words."
    )
    controls: list[str] = Field(
        default_factory=list, description="control_<name> columns used as baseline regressors (events, promotions)."
    )


class CurveSet(BaseModel):
    """Response curves by channel id: fitted ones plus catalog priors for channels without history."""

    model_config = ConfigDict(extra="forbid")

    curves: dict[str, ResponseCurve]
    outcome: Outcome = "revenue"
    data_hash: str | None = None
    fit: FitReport | None = None
    notes: list[str] = Field(default_factory=list, description="Fallbacks taken, in words.")

    def get(self, channel: str) -> ResponseCurve:
        """Return the curve of ``channel``; raises UnknownChannelError (with suggestions) if there is none."""
        try:
            return self.curves[channel]
        except KeyError:
            raise UnknownChannelError(channel, list(self.curves)) from None

    def channels(self) -> list[str]:
        """Return the channel ids that have a curve."""
        return list(self.curves)


# --------------------------------------------------------------------------------------------------
# Priors.
# --------------------------------------------------------------------------------------------------


def prior_curve(
    channel: str,
    prior: PriorCurve,
    *,
    outcome: Outcome = "revenue",
    min_spend: float | None = None,
    max_spend: float | None = None,
    n_samples: int = N_SAMPLES,
) -> ResponseCurve:
    """Return the catalog prior of ``channel`` as a curve labelled ``source="prior"``.

    Its draws vary beta lognormally with mean ``prior.beta`` and coefficient of variation
    ``prior.prior_cv``, so an outcome interval from them has exactly the catalog's stated spread. The
    draws are seeded by the channel id, so they are the same on every run.
    """
    rng = np.random.default_rng(zlib.crc32(f"prior:{channel}".encode()))
    sd_log = math.sqrt(math.log1p(prior.prior_cv**2))
    betas = prior.beta * np.exp(rng.normal(-0.5 * sd_log**2, sd_log, n_samples))
    samples = [(float(b), prior.half_saturation, prior.slope, prior.decay) for b in betas]
    return ResponseCurve(
        channel=channel,
        beta=prior.beta,
        half_saturation=prior.half_saturation,
        slope=prior.slope,
        decay=prior.decay,
        source="prior",
        outcome=outcome,
        samples=samples,
        param_sd={"beta": prior.beta * prior.prior_cv, "half_saturation": 0.0, "slope": 0.0, "decay": 0.0},
        min_spend=min_spend,
        max_spend=max_spend,
    )


# --------------------------------------------------------------------------------------------------
# Fitting.
# --------------------------------------------------------------------------------------------------


@dataclass
class _Design:
    """Everything the residual function needs, in scaled units (outcome / y_scale, spend / s_scale)."""

    y: np.ndarray  # (T,)
    base: np.ndarray  # (T, p) baseline design: intercept, trend, Fourier terms, controls
    spend: np.ndarray  # (C, T)
    fit_rows: int  # residuals use rows [0, fit_rows); later rows are the holdout
    sigma0: float  # rough noise sd that weights data rows against prior rows
    prior_mean: np.ndarray  # (C, 4): log beta, log half, log slope, decay
    prior_sd: np.ndarray  # (C, 4); inf = no penalty
    lower: np.ndarray
    upper: np.ndarray

    @property
    def n_base(self) -> int:
        return self.base.shape[1]

    @property
    def n_channels(self) -> int:
        return self.spend.shape[0]


def _adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    return lfilter([1.0], [1.0, -decay], spend)


def _predict(
    theta: np.ndarray, design: _Design, *, with_jacobian: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the prediction for every row, and d prediction / d theta (T, P) when asked."""
    p, c_count = design.n_base, design.n_channels
    channel_params = theta[p:].reshape(c_count, 4)
    log_beta, log_half, log_slope, decay = channel_params.T
    beta, half, slope = np.exp(log_beta), np.exp(log_half), np.exp(log_slope)
    adstock = np.vstack([_adstock(design.spend[c], decay[c]) for c in range(c_count)])
    h = hill(adstock, half[:, None], slope[:, None])
    prediction = design.base @ theta[:p] + beta @ h
    if not with_jacobian:
        return prediction, None
    jac = np.empty((design.y.size, theta.size))
    jac[:, :p] = design.base
    g = h * (1.0 - h)
    positive = adstock > 0
    log_adstock = np.log(np.where(positive, adstock, 1.0))
    dh_da = np.where(positive, slope[:, None] * g / np.where(positive, adstock, 1.0), 0.0)
    shifted = np.concatenate([np.zeros((c_count, 1)), adstock[:, :-1]], axis=1)
    # d adstock_t / d decay = adstock_{t-1} + decay * d adstock_{t-1} / d decay: the same filter again.
    da_dd = np.vstack([_adstock(shifted[c], decay[c]) for c in range(c_count)])
    cols = p + 4 * np.arange(c_count)
    jac[:, cols] = (beta[:, None] * h).T
    jac[:, cols + 1] = (-beta[:, None] * slope[:, None] * g).T
    jac[:, cols + 2] = (beta[:, None] * slope[:, None] * g * (log_adstock - log_half[:, None])).T
    jac[:, cols + 3] = (beta[:, None] * dh_da * da_dd).T
    return prediction, jac


def _penalised(design: _Design) -> tuple[np.ndarray, np.ndarray]:
    """Return the flat indices (into theta) and sds of the prior penalty rows."""
    flat_sd = design.prior_sd.ravel()
    index = np.nonzero(np.isfinite(flat_sd))[0]
    return design.n_base + index, flat_sd[index]


def _residuals(theta: np.ndarray, design: _Design) -> np.ndarray:
    prediction, _ = _predict(theta, design)
    data = (design.y[: design.fit_rows] - prediction[: design.fit_rows]) / design.sigma0
    index, sd = _penalised(design)
    prior = (theta[index] - design.prior_mean.ravel()[index - design.n_base]) / sd
    return np.concatenate([data, prior])


def _jacobian(theta: np.ndarray, design: _Design) -> np.ndarray:
    _, jac = _predict(theta, design, with_jacobian=True)
    assert jac is not None
    index, sd = _penalised(design)
    prior = np.zeros((index.size, theta.size))
    prior[np.arange(index.size), index] = 1.0 / sd
    return np.vstack([-jac[: design.fit_rows] / design.sigma0, prior])


def _linear_start(nonlinear: np.ndarray, design: _Design) -> np.ndarray:
    """Return a full start vector: given (half, slope, decay) per channel, solve baseline and beta exactly.

    With the nonlinear parameters fixed the model is linear in the baseline and the betas, so a bounded
    linear least squares (beta >= 0) gives the best start for them: variable projection as a start.
    """
    p, c_count = design.n_base, design.n_channels
    half, slope, decay = np.exp(nonlinear[:, 0]), np.exp(nonlinear[:, 1]), nonlinear[:, 2]
    features = np.vstack(
        [hill(_adstock(design.spend[c], decay[c]), half[c], slope[c]) for c in range(c_count)]
    )
    matrix = np.hstack([design.base, features.T])[: design.fit_rows]
    lower = np.concatenate([np.full(p, -np.inf), np.full(c_count, math.exp(_BOUNDS_LOG_BETA[0]))])
    upper = np.concatenate([np.full(p, np.inf), np.full(c_count, math.exp(_BOUNDS_LOG_BETA[1]))])
    solution = lsq_linear(matrix, design.y[: design.fit_rows], bounds=(lower, upper)).x
    theta = np.empty(p + 4 * c_count)
    theta[:p] = solution[:p]
    params = np.column_stack([np.log(solution[p:]), nonlinear[:, 0], nonlinear[:, 1], nonlinear[:, 2]])
    theta[p:] = params.ravel()
    return np.clip(theta, design.lower + 1e-9, design.upper - 1e-9)


def _solve(theta0: np.ndarray, design: _Design) -> least_squares:
    return least_squares(
        _residuals,
        theta0,
        jac=_jacobian,
        bounds=(design.lower, design.upper),
        method="trf",
        x_scale="jac",
        ftol=1e-9,
        xtol=1e-9,
        gtol=1e-9,
        max_nfev=400,
        args=(design,),
    )


def _r2(actual: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((actual - actual.mean()) ** 2))
    return 1.0 - float(np.sum((actual - predicted) ** 2)) / total if total > 0 else float("nan")


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    nonzero = np.abs(actual) > 1e-12
    return float(np.mean(np.abs((actual - predicted)[nonzero] / actual[nonzero]))) if nonzero.any() else None


def _validate_history(
    history: pd.DataFrame, channels: Sequence[str], outcome_column: str, controls: Sequence[str]
) -> pd.DataFrame:
    """Return the history sorted by period, or raise ResponseCurveError naming what is wrong."""
    if "period" not in history.columns:
        raise ResponseCurveError(f"channel history has no 'period' column (columns: {list(history.columns)})")
    if outcome_column not in history.columns:
        raise ResponseCurveError(
            f"channel history has no {outcome_column!r} column to fit (columns: {list(history.columns)})"
        )
    needed = [f"spend_{c}" for c in channels] + list(controls)
    missing = [column for column in needed if column not in history.columns]
    if missing:
        raise ResponseCurveError(f"channel history lacks columns {missing}")
    frame = history.copy()
    try:
        frame["period"] = pd.to_datetime(frame["period"])
    except (ValueError, TypeError) as exc:
        raise ResponseCurveError(f"channel history 'period' has values that are not dates: {exc}") from exc
    if frame["period"].isna().any():
        raise ResponseCurveError(
            f"channel history 'period' has {int(frame['period'].isna().sum())} empty values"
        )
    duplicated = frame["period"][frame["period"].duplicated()]
    if not duplicated.empty:
        raise ResponseCurveError(f"channel history repeats periods, e.g. {duplicated.iloc[0].date()}")
    for column in [outcome_column, *needed]:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = int(values.isna().sum())
        if bad:
            raise ResponseCurveError(
                f"channel history column {column!r} has {bad} missing or non-numeric values"
            )
        if column.startswith("spend_") and (values < 0).any():
            raise ResponseCurveError(
                f"channel history column {column!r} has negative spend ({int((values < 0).sum())} weeks)"
            )
        frame[column] = values.astype(float)
    return frame.sort_values("period").reset_index(drop=True)


def _baseline_design(period: pd.Series, fourier_order: int, controls: np.ndarray) -> np.ndarray:
    weeks = (period - period.iloc[0]).dt.days.to_numpy(dtype=float) / 7.0
    span = max(weeks[-1], 1.0)
    columns = [np.ones_like(weeks), weeks / span]
    for k in range(1, fourier_order + 1):
        angle = 2.0 * math.pi * k * weeks / _WEEKS_PER_YEAR
        columns += [np.sin(angle), np.cos(angle)]
    return np.column_stack([*columns, controls]) if controls.size else np.column_stack(columns)


def fit_channel_history(
    history: pd.DataFrame,
    channels: Sequence[str],
    *,
    priors: Mapping[str, PriorCurve | None] | None = None,
    outcome_column: str = "revenue",
    controls: Sequence[str] = (),
    holdout_share: float = 0.1,
    fourier_order: int | None = None,
    n_samples: int = N_SAMPLES,
    seed: int = 0,
) -> tuple[dict[str, ResponseCurve], FitReport]:
    """Fit adstock + Hill curves for ``channels`` jointly with a baseline; return (curves, fit report).

    ``history`` has ``period``, ``spend_<channel>`` per channel, the outcome column and any ``controls``
    (extra regressors such as event dummies). ``priors`` maps a channel to its catalog prior (its beta,
    revenue per week, is used only when the outcome is revenue); channels without one get a weakly
    informative data-scaled prior (slope 1, decay 0.3, half-saturation at the typical adstocked spend,
    no pull on beta). ``fourier_order`` harmonics model yearly seasonality (default: 2 with about two
    years of weeks, 1 with one, else 0). The last ``holdout_share`` of weeks is held out to measure
    R²/MAPE, then the model is refitted on all weeks. Refuses (ResponseCurveError) missing
    columns, non-numeric or missing values, negative spend, repeated periods, fewer than MIN_WEEKS rows
    and an empty channel list.
    """
    started = time.perf_counter()
    channels = list(dict.fromkeys(channels))
    if not channels:
        raise ResponseCurveError("no channels to fit")
    if not 0.0 <= holdout_share < 0.5:
        raise ResponseCurveError(f"holdout_share must be in [0, 0.5), got {holdout_share}")
    frame = _validate_history(history, channels, outcome_column, controls)
    n_weeks = len(frame)
    if n_weeks < MIN_WEEKS:
        raise ResponseCurveError(
            f"channel history has {n_weeks} weeks; at least {MIN_WEEKS} are needed to fit"
        )
    priors = priors or {}

    y_raw = frame[outcome_column].to_numpy()
    y_scale = float(np.mean(np.abs(y_raw))) or 1.0
    spend_raw = np.vstack([frame[f"spend_{c}"].to_numpy() for c in channels])
    s_scale = np.array([row[row > 0].mean() if (row > 0).any() else 1.0 for row in spend_raw])
    span_weeks = (frame["period"].iloc[-1] - frame["period"].iloc[0]).days / 7.0
    # Seasonality needs whole years to be told apart from trend and channels.
    if fourier_order is None:
        fourier_order = 2 if span_weeks >= 100 else (1 if span_weeks >= 50 else 0)
    base = _baseline_design(frame["period"], fourier_order, frame[list(controls)].to_numpy(dtype=float))
    y = y_raw / y_scale
    spend = spend_raw / s_scale[:, None]

    prior_mean = np.empty((len(channels), 4))
    prior_sd = np.empty((len(channels), 4))
    fit_notes: list[str] = []
    for i, channel in enumerate(channels):
        prior = priors.get(channel)
        mismatch = _prior_scale_mismatch(prior, y_scale, s_scale[i], outcome_column) if prior else None
        if mismatch:
            # A prior in other units (e.g. spend in currency against an export scaled to 0-1) would pin
            # the fit to a box bound; the data-scaled default below describes this data instead.
            fit_notes.append(f"{channel}: catalog prior set aside, {mismatch}; data-scaled default used")
            log.warning("response curves: %s", fit_notes[-1])
            prior = None
        if prior is not None:
            prior_mean[i] = [
                math.log(prior.beta / y_scale),
                math.log(prior.half_saturation / s_scale[i]),
                math.log(prior.slope),
                prior.decay,
            ]
            # The catalog's beta is revenue per week: it says nothing about other outcomes' scale.
            beta_sd = _SD_LOG_BETA if outcome_column == "revenue" else np.inf
            prior_sd[i] = [beta_sd, _SD_LOG_HALF, _SD_LOG_SLOPE, _SD_DECAY]
        else:
            typical = float(np.median(spend[i][spend[i] > 0])) / (1.0 - 0.3) if (spend[i] > 0).any() else 1.0
            prior_mean[i] = [0.0, math.log(typical), 0.0, 0.3]
            prior_sd[i] = [np.inf, _SD_LOG_HALF, _SD_LOG_SLOPE, 0.3]
    channel_lower = np.array(
        [_BOUNDS_LOG_BETA[0], _BOUNDS_LOG_HALF[0], _BOUNDS_LOG_SLOPE[0], _BOUNDS_DECAY[0]]
    )
    channel_upper = np.array(
        [_BOUNDS_LOG_BETA[1], _BOUNDS_LOG_HALF[1], _BOUNDS_LOG_SLOPE[1], _BOUNDS_DECAY[1]]
    )
    lower = np.concatenate([np.full(base.shape[1], -np.inf), np.tile(channel_lower, len(channels))])
    upper = np.concatenate([np.full(base.shape[1], np.inf), np.tile(channel_upper, len(channels))])

    n_holdout = round(holdout_share * n_weeks) if holdout_share > 0 else 0
    n_holdout = max(n_holdout, 3) if holdout_share > 0 else 0
    fit_rows = n_weeks - n_holdout
    # A rough noise scale (linear model on raw spend) weighs the data rows against the prior rows.
    linear = np.hstack([base, spend.T])[:fit_rows]
    coef, *_ = np.linalg.lstsq(linear, y[:fit_rows], rcond=None)
    sigma0 = max(float(np.std(y[:fit_rows] - linear @ coef)), 1e-3)
    design = _Design(
        y=y,
        base=base,
        spend=spend,
        fit_rows=fit_rows,
        sigma0=sigma0,
        prior_mean=prior_mean,
        prior_sd=prior_sd,
        lower=lower,
        upper=upper,
    )

    # Multi-start: the adstock/half-saturation trade-off has several local optima; three starts
    # (prior, low-and-quick, high-and-slow) each finished by variable projection for the linear part.
    nonlinear = prior_mean[:, 1:].copy()
    starts = [
        nonlinear,
        np.column_stack([nonlinear[:, 0] + math.log(0.3), nonlinear[:, 1], np.full(len(channels), 0.1)]),
        np.column_stack([nonlinear[:, 0] + math.log(3.0), nonlinear[:, 1], np.full(len(channels), 0.6)]),
    ]
    best = None
    for start in starts:
        start = np.clip(start, channel_lower[1:] + 1e-6, channel_upper[1:] - 1e-6)
        result = _solve(_linear_start(start, design), design)
        if best is None or result.cost < best.cost:
            best = result
    assert best is not None
    theta_train = best.x.copy()
    # A control that is zero in every training week (an event seen only in the holdout) leaves its
    # coefficient unidentified: the solver may leave it anywhere, which would wreck the held-out
    # prediction. It has no effect on the training fit, so it is set to "no effect" (0).
    unseen = np.nonzero(~np.any(base[:fit_rows] != 0.0, axis=0))[0]
    theta_train[unseen] = 0.0

    r2_holdout = mape_holdout = None
    if n_holdout:
        prediction, _ = _predict(theta_train, design)
        r2_holdout = _r2(y_raw[fit_rows:], prediction[fit_rows:] * y_scale)
        mape_holdout = _mape(y_raw[fit_rows:], prediction[fit_rows:] * y_scale)
        # Refit on every week, warm-started: the curves used for decisions should use all the data.
        design.fit_rows = n_weeks
        full = _solve(theta_train, design)
        theta = full.x
    else:
        theta = theta_train
    prediction, _ = _predict(theta, design)
    residual = y - prediction
    r2_train = _r2(y_raw, prediction * y_scale)

    samples = _laplace_draws(theta, design, residual, n_samples, seed)
    p = base.shape[1]
    dof = max(n_weeks - theta.size, 1)
    noise_sd = float(np.sqrt(np.sum(residual**2) / dof)) * y_scale
    curves: dict[str, ResponseCurve] = {}
    for i, channel in enumerate(channels):
        log_beta, log_half, log_slope, decay = theta[p + 4 * i : p + 4 * i + 4]
        draws = samples[:, p + 4 * i : p + 4 * i + 4]
        natural = np.column_stack(
            [
                np.exp(draws[:, 0]) * y_scale,
                np.exp(draws[:, 1]) * s_scale[i],
                np.exp(draws[:, 2]),
                np.clip(draws[:, 3], 0.0, 0.95),
            ]
        )
        curves[channel] = ResponseCurve(
            channel=channel,
            beta=float(math.exp(log_beta) * y_scale),
            half_saturation=float(math.exp(log_half) * s_scale[i]),
            slope=float(math.exp(log_slope)),
            decay=float(min(max(decay, 0.0), 0.95)),
            source="response_curve",
            outcome="conversions" if outcome_column == "conversions" else "revenue",
            param_sd={
                name: float(sd)
                for name, sd in zip(
                    ("beta", "half_saturation", "slope", "decay"), natural.std(axis=0), strict=True
                )
            },
            samples=[tuple(float(v) for v in row) for row in natural],
            r2_holdout=r2_holdout,
            mape_holdout=mape_holdout,
            observed_max_weekly_spend=float(spend_raw[i].max()),
        )
    report = FitReport(
        outcome="conversions" if outcome_column == "conversions" else "revenue",
        n_weeks=n_weeks,
        n_holdout=n_holdout,
        channels_fitted=channels,
        r2_train=r2_train,
        r2_holdout=r2_holdout,
        mape_holdout=mape_holdout,
        fourier_order=fourier_order,
        starts=len(starts),
        seconds=round(time.perf_counter() - started, 3),
        noise_sd=noise_sd,
        notes=fit_notes,
        controls=list(controls),
    )
    return curves, report


def _prior_scale_mismatch(
    prior: PriorCurve, y_scale: float, s_scale: float, outcome_column: str
) -> str | None:
    """Return why ``prior`` cannot describe data on this scale (its mean outside the fit's box), else None.

    The box spans 1e-3..1e3 x the mean positive weekly spend for the half-saturation (and 1e-5..50 x the
    mean outcome for a revenue beta); a prior centred outside it is in other units, not merely off.
    """
    half = math.log(prior.half_saturation / s_scale)
    if not _BOUNDS_LOG_HALF[0] <= half <= _BOUNDS_LOG_HALF[1]:
        return (
            f"its half-saturation {prior.half_saturation:,.4g} is {math.exp(half):.3g} x the mean weekly "
            f"spend {s_scale:,.4g}"
        )
    if outcome_column == "revenue":
        beta = math.log(prior.beta / y_scale)
        if not _BOUNDS_LOG_BETA[0] <= beta <= _BOUNDS_LOG_BETA[1]:
            return f"its beta {prior.beta:,.4g} is {math.exp(beta):.3g} x the mean weekly revenue {y_scale:,.4g}"
    return None


def _laplace_draws(
    theta: np.ndarray, design: _Design, residual: np.ndarray, n_samples: int, seed: int
) -> np.ndarray:
    """Return (n_samples, P) draws from the Laplace approximation of the posterior at ``theta``.

    Data rows were weighted by the rough noise ``sigma0``; their precision is rescaled by the fitted
    residual variance so intervals reflect the noise actually left over.
    """
    _, jac = _predict(theta, design, with_jacobian=True)
    assert jac is not None
    n_rows = design.y.size
    dof = max(n_rows - theta.size, 1)
    noise_var = max(float(np.sum(residual**2)) / dof, 1e-12)
    precision = jac.T @ jac / noise_var
    index, sd = _penalised(design)
    precision[index, index] += 1.0 / sd**2
    covariance = np.linalg.pinv(precision, rcond=1e-12, hermitian=True)
    covariance = (covariance + covariance.T) / 2.0
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(theta, covariance, size=n_samples, method="eigh", check_valid="ignore")
    # Keep draws inside the fit's box, as the estimate is (e.g. decay in [0, 0.9]).
    finite_lower = np.where(np.isfinite(design.lower), design.lower, -np.inf)
    return np.clip(draws, finite_lower, design.upper)


# --------------------------------------------------------------------------------------------------
# Shops: fit once per data snapshot, cache on disk.
# --------------------------------------------------------------------------------------------------


def history_hash(history: pd.DataFrame) -> str:
    """Return a sha256 of a channel-history DataFrame's columns and values (stable across runs)."""
    digest = hashlib.sha256("|".join(map(str, history.columns)).encode())
    digest.update(pd.util.hash_pandas_object(history, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def fit_response_curves(shop: Shop, *, outcome: Outcome = "revenue", use_cache: bool = True) -> CurveSet:
    """Return a curve for every catalog channel and every channel with history in ``shop``.

    Channels with at least MIN_ACTIVE_WEEKS weeks of spend in ``shop.channel_history`` get fitted curves
    (``source="response_curve"``); all others get the catalog prior (``source="prior"``), and each such
    fallback is written in ``notes``. Channels whose spend is in unknown units (it never exceeds 1:
    scaled, see ``data/channel_checks.py``) and histories whose rows are not weekly get priors too, said
    in ``notes``. Fitted curves are cached in ``shop.root/.cache`` keyed by the
    history's sha256, the outcome and the priors, so unchanged data is never refitted. Columns named
    ``control_<name>`` are used as baseline regressors (events, promotions). Refuses malformed
    history (ResponseCurveError naming the column), and ``outcome="conversions"`` without a
    ``conversions`` column.
    """
    catalog = shop.catalog
    history = shop.channel_history
    notes: list[str] = []
    fitted: dict[str, ResponseCurve] = {}
    report: FitReport | None = None
    data_hash: str | None = None

    if history is None or history.empty:
        notes.append("no channel history: every channel uses its catalog prior")
    elif outcome not in history.columns:
        raise ResponseCurveError(f"channel history has no {outcome!r} column; cannot fit {outcome} curves")
    elif len(history) < MIN_WEEKS:
        notes.append(
            f"channel history has {len(history)} weeks, fewer than the {MIN_WEEKS} needed to fit "
            f"curves: every channel uses its catalog prior"
        )
    elif (spacing := spacing_problem(history)) is not None:
        notes.append(f"channel history {spacing}: every channel uses its catalog prior")
    else:
        data_hash = shop.data_hashes.get("channel_history.csv") or history_hash(history)
        active = _fittable_channels(history, shop.history_channels, notes)
        if active:
            priors = {c: catalog[c].prior if c in catalog else None for c in active}
            # Known demand shifters (holidays, promotions, price changes) as ``control_<name>`` columns
            # keep the fit from crediting channels with demand they merely coincided with.
            controls = [c for c in history.columns if str(c).startswith("control_")]
            key = _cache_key(data_hash, outcome, priors)
            cached = _read_cache(shop, key) if use_cache else None
            if cached is not None:
                fitted, report = cached
            else:
                fitted, report = fit_channel_history(
                    history, active, priors=priors, outcome_column=outcome, controls=controls
                )
                if use_cache:
                    _write_cache(shop, key, fitted, report)
            notes.extend(report.notes)

    prior_divisor = 1.0
    if outcome == "conversions" and any(c not in fitted for c in catalog.ids()):
        prior_divisor = _order_value_for_priors(shop, notes)
    curves: dict[str, ResponseCurve] = {}
    for channel in dict.fromkeys([*catalog.ids(), *fitted]):
        spec = catalog.channels.get(channel)
        if channel in fitted:
            curve = fitted[channel]
            if spec is not None:
                curve = curve.model_copy(update={"min_spend": spec.min_spend, "max_spend": spec.max_spend})
            curves[channel] = curve
        elif spec is not None:
            prior = spec.prior.model_copy(update={"beta": spec.prior.beta / prior_divisor})
            curves[channel] = prior_curve(
                channel, prior, outcome=outcome, min_spend=spec.min_spend, max_spend=spec.max_spend
            )
    return CurveSet(curves=curves, outcome=outcome, data_hash=data_hash, fit=report, notes=notes)


def _fittable_channels(history: pd.DataFrame, channels: Sequence[str], notes: list[str]) -> list[str]:
    """Return the channels whose own curve can be fitted; say in ``notes`` why each other one gets a prior."""
    active: list[str] = []
    scaled = scaled_spend(history)
    for channel in channels:
        if channel in scaled:
            # Spend that never exceeds 1 is in unknown (scaled) units: a curve fitted on it would read a
            # budget in currency as ~1,000x past the data. The prior, in currency, is used instead.
            notes.append(
                f"{channel}: weekly spend never exceeds {scaled[channel]:.4g}, units unknown (scaled, not "
                "currency): curve not fitted from the history; catalog prior used"
            )
            continue
        weeks_active = int((pd.to_numeric(history[f"spend_{channel}"], errors="coerce") > 0).sum())
        if weeks_active >= MIN_ACTIVE_WEEKS:
            active.append(channel)
        else:
            notes.append(
                f"{channel}: only {weeks_active} weeks with spend (need {MIN_ACTIVE_WEEKS}); catalog prior used"
            )
    return active


def _order_value_for_priors(shop: Shop, notes: list[str]) -> float:
    """Return the order value that turns the catalog's revenue priors into conversion priors.

    The shop's average order value where it has one (``data/order_value.py``: declared in ``shop.yaml``, or
    estimated from enough converters), else revenue / conversions over the channel history; refuses
    (ResponseCurveError) when neither exists.
    """
    found = average_order_value(shop.campaign_spec, shop.campaign_history)
    if found.value is not None:
        notes.append(
            f"conversion priors = catalog revenue priors / average order value {found.value:,.2f} ({found.source})"
        )
        return found.value
    history = shop.channel_history
    if history is not None and {"revenue", "conversions"} <= set(history.columns):
        conversions = float(pd.to_numeric(history["conversions"], errors="coerce").sum())
        revenue = float(pd.to_numeric(history["revenue"], errors="coerce").sum())
        if conversions > 0 and revenue > 0:
            notes.append(
                f"conversion priors = catalog revenue priors / {revenue / conversions:,.2f}, the history's "
                f"revenue per conversion"
            )
            return revenue / conversions
    raise ResponseCurveError(
        "conversion curves for channels without history need an average order value: set "
        "campaign_history.average_order_value in shop.yaml or give channel_history revenue and conversions"
    )


def _cache_key(data_hash: str, outcome: str, priors: Mapping[str, PriorCurve | None]) -> str:
    payload = {
        "version": FIT_VERSION,
        "data": data_hash,
        "outcome": outcome,
        "priors": {c: p.model_dump() if p else None for c, p in sorted(priors.items())},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _cache_path(shop: Shop, key: str) -> Path:
    return shop.root / ".cache" / f"response_curves_{key[:24]}.json"


def _read_cache(shop: Shop, key: str) -> tuple[dict[str, ResponseCurve], FitReport] | None:
    path = _cache_path(shop, key)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("key") != key:
            return None
        curves = {c: ResponseCurve.model_validate(v) for c, v in payload["curves"].items()}
        return curves, FitReport.model_validate(payload["fit"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # A corrupt or foreign cache file only costs a refit; never trust it.
        log.warning("ignoring unreadable response-curve cache %s: %s", path, exc)
        return None


def _write_cache(shop: Shop, key: str, curves: Mapping[str, ResponseCurve], report: FitReport) -> None:
    path = _cache_path(shop, key)
    payload = {
        "key": key,
        "fit": report.model_dump(mode="json"),
        "curves": {c: v.model_dump(mode="json") for c, v in curves.items()},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename so a concurrent reader never sees half a file.
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".curves-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not cache response curves at %s: %s", path, exc)


# --------------------------------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------------------------------


def _non_negative(value: float | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ResponseCurveError(f"{name} must be finite and >= 0, got {value!r}")
    return array


def _weeks(weeks: int) -> int:
    if isinstance(weeks, bool) or not isinstance(weeks, int | np.integer) or weeks < 1:
        raise ResponseCurveError(f"weeks must be a whole number >= 1, got {weeks!r}")
    return int(weeks)


def _scalar_or_array(value: np.ndarray, like: float | np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(like) == 0 else np.asarray(value)
