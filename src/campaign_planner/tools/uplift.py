"""Uplift models fitted to a shop's campaign history (a randomized test, or observational history).

For every (treatment vs control) pair and every outcome (visit, conversion, revenue) three candidates
are scored by cross-validated Qini AUC:

* ``stratified_dim``: difference in means within the strata of the one feature whose strata show the
  most effect heterogeneity (Cochran's Q), shrunk towards the overall difference for small strata;
* ``t_learner``: two HistGradientBoosting models (treated, control); uplift = mu1(x) - mu0(x);
* ``x_learner``: the T-learner's models impute individual effects, two more boosted regressors learn
  them, blended by the propensity (Kunzel et al., 2019).

The winner is kept. Segment-level effects are then estimated from cross-fitted (out-of-fold) predictions
with the augmented inverse-propensity (AIPW) estimator, so a segment's estimate stays unbiased in a
randomized experiment even where the learned model is wrong, and its bootstrap over customers captures
the outcome noise that a bootstrap of model predictions alone would miss. Where the baseline wins, the
segment estimate is the plain difference in means inside the segment.

Fitted models' predictions are cached as arrays + JSON (never pickle: tools/model_cache.py) under
``shop.root / ".cache"``, keyed by the sha256 of the campaign history,
the history spec, the model configuration and this module's source (the code version).

Observational history (``campaign_history.assignment: observational``, or not declared) is adjusted:
a propensity model (boosted classifier, cross-fitted on the same folds) replaces the constant treated
share in the AIPW terms, which makes the segment estimate doubly robust (right when either the outcome
model or the propensity model is). Overlap is checked: customers whose propensity lies outside
``overlap_bounds`` are trimmed from every estimate, and a segment (or the whole history) with fewer than
``min_overlap_share`` of its customers inside gets no uplift figure (``OverlapError``): there the
comparison would rest on extrapolation, not on comparable customers.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from campaign_planner.tools import model_cache

if TYPE_CHECKING:
    from campaign_planner.data.shop import CampaignHistorySpec, Shop

BINARY_OUTCOMES = ("visit", "conversion")
CONTINUOUS_OUTCOMES = ("revenue",)
REQUIRED_OUTCOMES = ("conversion",)
CANDIDATES = ("stratified_dim", "t_learner", "x_learner")
LEARNED = ("t_learner", "x_learner")
# The code version: any edit to this module or to the cache format invalidates cached fits of older code.
CODE_VERSION = hashlib.sha256(
    Path(__file__).read_bytes() + Path(model_cache.__file__).read_bytes()
).hexdigest()[:16]
_M_OUT_OF_N = 8_000  # resample size cap of the segment bootstrap (see _bootstrap_mean)
_MAX_CATEGORIES = 250  # HistGradientBoosting's native categorical support takes < 255 levels.


class ForecasterDataError(ValueError):
    """Campaign history that cannot support a forecast; the message names the column or label."""


class OverlapError(ForecasterDataError):
    """Observational history where treated and control customers are not comparable enough (too many
    propensities outside the overlap bounds) to give an uplift figure; the message says how many."""


@dataclass(frozen=True)
class UpliftConfig:
    """Model settings. Part of the cache key, so changing one refits."""

    folds: int = 3
    max_iter: int = 120
    learning_rate: float = 0.06
    max_depth: int | None = 3
    min_samples_leaf: int = 80
    candidates: tuple[str, ...] = CANDIDATES
    seed: int = 0
    # Below these sizes only the difference-in-means baseline is fitted (boosting would memorise noise).
    min_pair_rows_learned: int = 400
    min_arm_rows_learned: int = 100
    min_arm_positives_learned: int = 10
    shrinkage_rows: float = 100.0  # strata with n rows get weight n / (n + this) in the baseline
    # OpenMP threads for the boosted trees. One by default: on a shared or busy machine OpenMP barriers
    # with more threads than free cores slow the fit down by an order of magnitude (measured: 7 s -> 209 s).
    threads: int = 1
    # Observational history: propensities outside these bounds are trimmed (weights above 1/0.05 = 20
    # would let a handful of customers decide the estimate), and an estimate needs this share of its
    # customers inside them, else no figure is given.
    overlap_bounds: tuple[float, float] = (0.05, 0.95)
    min_overlap_share: float = 0.8


# --------------------------------------------------------------------------------------------- metrics


def qini_curve(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the Qini curve (x = customers targeted, q = incremental responders) ranked by ``uplift``.

    q(n) = Y_t(n) - Y_c(n) * N_t(n) / N_c(n) over the n highest-ranked customers (Radcliffe, 2007). Tied
    scores form one step, so the trapezoid between steps is the expected curve under random tie order.
    """
    y, uplift, t = _as_arrays(y, uplift, treatment)
    order = np.argsort(-uplift, kind="mergesort")
    y, t, uplift = y[order], t[order], uplift[order]
    last = np.r_[np.flatnonzero(np.diff(uplift)), len(y) - 1]
    n_t = np.cumsum(t)[last]
    n_c = (last + 1) - n_t
    y_t = np.cumsum(y * t)[last]
    y_c = np.cumsum(y * (1 - t))[last]
    ratio = np.divide(n_t, n_c, out=np.zeros(len(last)), where=n_c > 0)
    return np.r_[0.0, last + 1.0], np.r_[0.0, y_t - y_c * ratio]


def qini_auc(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray) -> float:
    """Return the normalised Qini AUC: (model area - random area) / (perfect area - random area).

    1 is a perfect ranking, 0 is random, negative is worse than random. The perfect curve ranks treated
    responders first and control responders last (negative effects allowed), as scikit-uplift does.
    Returns nan where the perfect ranking is no better than random (e.g. no responders).
    """
    y, uplift, t = _as_arrays(y, uplift, treatment)
    x, q = qini_curve(y, uplift, t)
    xp, qp = qini_curve(y, y * t - y * (1 - t), t)
    random_area = 0.5 * x[-1] * q[-1]
    perfect = float(np.trapezoid(qp, xp) - random_area)
    if not perfect > 0:
        return float("nan")
    return float((np.trapezoid(q, x) - random_area) / perfect)


def uplift_at_k(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray, k: float = 0.3) -> float:
    """Return treated minus control mean outcome among the top ``k`` share ranked by ``uplift``.

    The 'overall' strategy of scikit-uplift: the top int(n * k) customers of both groups together, with
    its tie order (a stable ascending sort, reversed). Refuses k outside (0, 1); returns nan when the top
    group lacks treated or control customers.
    """
    if not 0 < k < 1:
        raise ValueError(f"k must be a share in (0, 1), got {k}")
    y, uplift, t = _as_arrays(y, uplift, treatment)
    top = np.argsort(uplift, kind="mergesort")[::-1][: int(len(y) * k)]
    y_top, t_top = y[top], t[top]
    if t_top.sum() == 0 or t_top.sum() == len(t_top):
        return float("nan")
    return float(y_top[t_top == 1].mean() - y_top[t_top == 0].mean())


def _as_arrays(y: Any, uplift: Any, treatment: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=float)
    u_arr = np.asarray(uplift, dtype=float)
    t_arr = np.asarray(treatment, dtype=float)
    if not len(y_arr) == len(u_arr) == len(t_arr):
        raise ValueError(f"lengths differ: y {len(y_arr)}, uplift {len(u_arr)}, treatment {len(t_arr)}")
    if not np.isin(t_arr, (0.0, 1.0)).all():
        raise ValueError("treatment must be 0/1")
    return y_arr, u_arr, t_arr


# --------------------------------------------------------------------------------------------- encoding


class FeatureEncoder:
    """Turns feature columns into a float matrix: numbers as they are, text as ordinal category codes.

    Categories unseen at fit time, and missing values, become NaN, which the boosted trees route as
    missing. Text columns keep their ``_MAX_CATEGORIES`` most frequent levels; rarer levels become NaN.
    """

    def __init__(self, frame: pd.DataFrame, features: list[str]) -> None:
        self.features = list(features)
        self.categories: dict[str, dict[str, int]] = {}
        for column in self.features:
            if not _is_numeric(frame[column]):
                levels = frame[column].dropna().astype(str).value_counts().index[:_MAX_CATEGORIES]
                self.categories[column] = {level: code for code, level in enumerate(sorted(levels))}
        self.categorical_mask = np.array([c in self.categories for c in self.features], dtype=bool)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the (rows x features) float matrix for ``frame``; refuses frames missing a feature."""
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise ForecasterDataError(f"feature columns missing: {missing}")
        out = np.empty((len(frame), len(self.features)), dtype=float)
        for j, column in enumerate(self.features):
            if column in self.categories:
                codes = frame[column].astype(str).where(frame[column].notna()).map(self.categories[column])
                out[:, j] = pd.to_numeric(codes, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            else:
                out[:, j] = pd.to_numeric(frame[column], errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan
                )
        return out


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


# --------------------------------------------------------------------------------------------- learners


class _Constant:
    """Predicts one value: used where an arm's outcome never varies (boosting cannot fit one class)."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.value)


class _Boosted:
    """A HistGradientBoosting outcome model; ``predict`` returns P(y=1) for binary outcomes."""

    def __init__(self, binary: bool, categorical: np.ndarray, config: UpliftConfig, seed: int) -> None:
        params: dict[str, Any] = {
            "max_iter": config.max_iter,
            "learning_rate": config.learning_rate,
            "max_depth": config.max_depth,
            "min_samples_leaf": config.min_samples_leaf,
            "categorical_features": categorical if categorical.any() else None,
            "early_stopping": True,
            "validation_fraction": 0.15,
            "n_iter_no_change": 10,
            "random_state": seed,
        }
        self.binary = binary
        self.model = (
            HistGradientBoostingClassifier(**params) if binary else HistGradientBoostingRegressor(**params)
        )

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Boosted:
        self.model.fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.binary:
            return self.model.predict_proba(x)[:, 1]
        return self.model.predict(x)


def _outcome_model(
    x: np.ndarray, y: np.ndarray, binary: bool, categorical: np.ndarray, config: UpliftConfig, seed: int
) -> _Boosted | _Constant:
    if len(y) == 0:
        raise ForecasterDataError("an arm has no rows in a training fold")
    if np.unique(y).size < 2 or len(y) < 2 * config.min_samples_leaf:
        return _Constant(float(np.mean(y)))
    return _Boosted(binary, categorical, config, seed).fit(x, y)


class TLearner:
    """Two outcome models; ``predict`` returns (mu0, tau) with tau = mu1 - mu0."""

    name = "t_learner"

    def __init__(self, binary: bool, categorical: np.ndarray, config: UpliftConfig, seed: int) -> None:
        self.binary, self.categorical, self.config, self.seed = binary, categorical, config, seed

    def fit(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> TLearner:
        args = (self.binary, self.categorical, self.config)
        self.mu0 = _outcome_model(x[t == 0], y[t == 0], *args, self.seed)
        self.mu1 = _outcome_model(x[t == 1], y[t == 1], *args, self.seed + 1)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu0 = self.mu0.predict(x)
        return mu0, self.mu1.predict(x) - mu0


class XLearner(TLearner):
    """The X-learner: imputed effects D1 = y - mu0(x) (treated), D0 = mu1(x) - y (control) are learned
    by two regressors and blended as e * tau0 + (1 - e) * tau1, e = the treated share (randomized)."""

    name = "x_learner"

    def fit(self, x: np.ndarray, y: np.ndarray, t: np.ndarray, base: TLearner | None = None) -> XLearner:
        """Fit; ``base``, a T-learner already fitted on the same rows with the same seed, saves refitting
        the two outcome models."""
        if base is not None and type(base) is TLearner and base.seed == self.seed:
            self.mu0, self.mu1 = base.mu0, base.mu1
        else:
            super().fit(x, y, t)
        x1, x0 = x[t == 1], x[t == 0]
        d1 = y[t == 1] - self.mu0.predict(x1)
        d0 = self.mu1.predict(x0) - y[t == 0]
        args = (False, self.categorical, self.config)
        self.tau1 = _outcome_model(x1, d1, *args, self.seed + 2)
        self.tau0 = _outcome_model(x0, d0, *args, self.seed + 3)
        self.propensity = float(t.mean())
        return self

    def predict(self, x: np.ndarray, mu0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (mu0, tau); pass ``mu0`` when the shared control model already predicted ``x``."""
        mu0 = self.mu0.predict(x) if mu0 is None else mu0
        tau = self.propensity * self.tau0.predict(x) + (1 - self.propensity) * self.tau1.predict(x)
        return mu0, tau


class StratifiedDiM:
    """Difference in means within the strata of one feature, chosen as the feature whose strata differ
    most in effect (smallest Cochran's Q p-value). Numeric features with many values are cut at their
    quartiles. Stratum effects are shrunk towards the overall effect by n / (n + shrinkage_rows)."""

    name = "stratified_dim"

    def __init__(self, binary: bool, categorical: np.ndarray, config: UpliftConfig, seed: int) -> None:
        self.categorical, self.shrinkage = categorical, config.shrinkage_rows
        self.feature: int | None = None
        self.heterogeneity_p: float | None = None

    def _cells(self, x: np.ndarray, j: int) -> np.ndarray:
        column = x[:, j]
        if self.edges[j] is not None:
            column = np.searchsorted(self.edges[j], column, side="right").astype(float)
        return np.where(np.isnan(column), -1.0, column)

    def fit(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> StratifiedDiM:
        self.mean0, self.mean1 = float(y[t == 0].mean()), float(y[t == 1].mean())
        self.edges: list[np.ndarray | None] = []
        for j in range(x.shape[1]):
            values = np.unique(x[:, j][~np.isnan(x[:, j])])
            many = not self.categorical[j] and values.size > 8
            self.edges.append(np.unique(np.nanquantile(x[:, j], [0.25, 0.5, 0.75])) if many else None)
        best_p = 1.0
        for j in range(x.shape[1]):
            table = self._table(self._cells(x, j), y, t)
            if len(table) < 2:
                continue
            q, df = _cochran_q(table)
            p = float(stats.chi2.sf(q, df))
            if p < best_p:
                best_p, self.feature, self.table = p, j, table
        self.heterogeneity_p = best_p if self.feature is not None else None
        return self

    @staticmethod
    def _table(
        cells: np.ndarray, y: np.ndarray, t: np.ndarray
    ) -> dict[float, tuple[float, float, float, int]]:
        """Return cell -> (control mean, effect, effect variance, rows) for cells with >= 2 rows per arm."""
        table = {}
        for cell in np.unique(cells):
            in_cell = cells == cell
            y1, y0 = y[in_cell & (t == 1)], y[in_cell & (t == 0)]
            if len(y1) >= 2 and len(y0) >= 2:
                var = y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)
                table[float(cell)] = (
                    float(y0.mean()),
                    float(y1.mean() - y0.mean()),
                    float(var),
                    len(y1) + len(y0),
                )
        return table

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        overall = self.mean1 - self.mean0
        mu0 = np.full(len(x), self.mean0)
        tau = np.full(len(x), overall)
        if self.feature is None:
            return mu0, tau
        cells = self._cells(x, self.feature)
        for cell, (control_mean, effect, _, rows) in self.table.items():
            in_cell = cells == cell
            weight = rows / (rows + self.shrinkage)
            tau[in_cell] = overall + weight * (effect - overall)
            mu0[in_cell] = self.mean0 + weight * (control_mean - self.mean0)
        return mu0, tau


def _cochran_q(table: dict[float, tuple[float, float, float, int]]) -> tuple[float, int]:
    effects = np.array([row[1] for row in table.values()])
    variances = np.array([row[2] for row in table.values()])
    keep = variances > 0
    if keep.sum() < 2:
        return 0.0, 1
    w = 1.0 / variances[keep]
    pooled = float((w * effects[keep]).sum() / w.sum())
    return float((w * (effects[keep] - pooled) ** 2).sum()), int(keep.sum() - 1)


_LEARNERS: dict[str, type[TLearner] | type[StratifiedDiM]] = {
    "stratified_dim": StratifiedDiM,
    "t_learner": TLearner,
    "x_learner": XLearner,
}


# --------------------------------------------------------------------------------------------- pair fits


@dataclass
class PairFit:
    """One (treatment vs control) x outcome fit: the chosen model, its scores and cross-fitted terms.

    ``rows`` are positions in the campaign history; ``psi0``/``psi1`` are the AIPW terms of each row
    (their segment means estimate the control and treated means), built from out-of-fold predictions.
    """

    treatment: str
    outcome: str
    binary: bool
    chosen: str
    reason: str
    scores: dict[str, dict[str, float]]
    backtest_error: float
    backtest_folds: list[dict[str, float]]
    rows: np.ndarray
    y: np.ndarray
    t: np.ndarray
    oof_mu0: np.ndarray
    oof_tau: np.ndarray
    psi0: np.ndarray
    psi1: np.ndarray
    propensity: float
    fold_models: list[Any] = field(repr=False)
    n_history: int = 0
    encoder: FeatureEncoder | None = field(default=None, repr=False)
    # Observational fits: each row's cross-fitted propensity, whether it lies inside the overlap bounds,
    # and the share of rows that do. Randomized fits keep None / 1.0 (the treated share is the propensity).
    assignment: str = "randomized"
    propensity_scores: np.ndarray | None = field(default=None, repr=False)
    overlap: np.ndarray | None = field(default=None, repr=False)
    overlap_share: float = 1.0
    min_overlap_share: float = 0.8

    def predict_uplift(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the chosen model's predicted uplift for new customers (mean over the fold models).

        Refuses frames missing a feature column.
        """
        if self.encoder is None:
            raise ForecasterDataError("this fit has no feature encoder")
        if not self.fold_models:  # read back from the model cache, which keeps predictions, not estimators
            raise ForecasterDataError("this fit was read from the model cache and keeps no fitted models; "
                                      "refit with fit_uplift_models to score new customers")
        x = self.encoder.transform(frame)
        return np.mean([model.predict(x)[1] for model in self.fold_models], axis=0)


def fit_pair(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    *,
    binary: bool,
    categorical: np.ndarray,
    config: UpliftConfig,
    treatment: str = "treatment",
    outcome: str = "outcome",
    rows: np.ndarray | None = None,
    assignment: str = "randomized",
) -> PairFit:
    """Cross-validate the candidates on (x, y, t), pick the best mean Qini AUC, return a ``PairFit``.

    Learned candidates are skipped (the reason recorded) when the pair is too small or an arm has too few
    responders. With ``assignment="observational"`` a cross-fitted propensity model weights the AIPW terms
    and marks the rows inside ``config.overlap_bounds``. Refuses empty arms and an unknown assignment.
    """
    if assignment not in ("randomized", "observational"):
        raise ValueError(f"assignment must be 'randomized' or 'observational', got {assignment!r}")
    observational = assignment == "observational"
    t = t.astype(np.int8)
    y = y.astype(float)
    if t.sum() == 0 or t.sum() == len(t):
        raise ForecasterDataError(f"{treatment!r} vs control on {outcome!r}: one arm has no customers")
    candidates, skipped = _eligible_candidates(y, t, binary, config, x.shape[1])
    strata = t * 2 + (y > 0) if binary else t
    splitter = (
        StratifiedKFold(config.folds, shuffle=True, random_state=config.seed)
        if np.bincount(strata).min() >= config.folds
        else KFold(config.folds, shuffle=True, random_state=config.seed)
    )
    oof = {name: (np.zeros(len(y)), np.zeros(len(y))) for name in candidates}
    models: dict[str, list[Any]] = {name: [] for name in candidates}
    fold_scores: dict[str, list[float]] = {name: [] for name in candidates}
    fold_errors: dict[str, list[dict[str, float]]] = {name: [] for name in candidates}
    oof_propensity = np.full(len(y), float(t.mean()))
    for fold, (train, test) in enumerate(splitter.split(x, strata)):
        if observational:
            oof_propensity[test] = _propensity_model(x[train], t[train], categorical, config, fold).predict(
                x[test]
            )
        observed = _dim(y[test], t[test])
        fitted: dict[str, Any] = {}
        for name in candidates:
            learner = _LEARNERS[name](binary, categorical, config, config.seed + 10 * fold)
            if isinstance(learner, XLearner):
                learner.fit(x[train], y[train], t[train], base=fitted.get("t_learner"))
            else:
                learner.fit(x[train], y[train], t[train])
            fitted[name] = learner
            shares_mu0 = isinstance(learner, XLearner) and learner.mu0 is getattr(
                fitted.get("t_learner"), "mu0", 0
            )
            if shares_mu0:  # the X-learner reuses the T-learner's control model: reuse its predictions too
                mu0, tau = learner.predict(x[test], mu0=oof["t_learner"][0][test])
            else:
                mu0, tau = learner.predict(x[test])
            oof[name][0][test], oof[name][1][test] = mu0, tau
            models[name].append(learner)
            fold_scores[name].append(qini_auc(y[test], tau, t[test]))
            fold_errors[name].append(
                {
                    "predicted_lift": float(tau.mean()),
                    "observed_lift": observed,
                    "abs_error": abs(float(tau.mean()) - observed),
                }
            )
    scores = {
        name: {
            "qini_auc_mean": float(np.nanmean(s)) if not np.isnan(s).all() else float("nan"),
            "qini_auc_sd": float(np.nanstd(s)) if not np.isnan(s).all() else float("nan"),
            "backtest_error": _nanmean([f["abs_error"] for f in fold_errors[name]]),
        }
        for name, s in ((n, np.array(v)) for n, v in fold_scores.items())
    }
    ranked = sorted(candidates, key=lambda n: -np.nan_to_num(scores[n]["qini_auc_mean"], nan=-np.inf))
    chosen = ranked[0]
    reason = f"highest {config.folds}-fold cross-validated Qini AUC: " + ", ".join(
        f"{n} {scores[n]['qini_auc_mean']:.4f} ± {scores[n]['qini_auc_sd']:.4f}" for n in ranked
    )
    if skipped:
        reason += f"; not fitted: {skipped}"
    e = float(t.mean())
    mu0, tau = oof[chosen]
    mu1 = mu0 + tau
    propensity_scores = overlap = None
    overlap_share = 1.0
    weights_e: np.ndarray | float = e
    if observational:
        lo, hi = config.overlap_bounds
        propensity_scores = oof_propensity
        overlap = (oof_propensity >= lo) & (oof_propensity <= hi)
        overlap_share = float(overlap.mean())
        # Rows outside the bounds are trimmed from every estimate; clipping only keeps their (unused)
        # terms finite.
        weights_e = np.clip(oof_propensity, lo, hi)
        reason += (
            f"; observational: AIPW weighted by a cross-fitted propensity model, {overlap_share:.1%} of "
            f"customers inside the overlap bounds [{lo}, {hi}]"
        )
    psi0 = mu0 + (1 - t) * (y - mu0) / (1 - weights_e)
    psi1 = mu1 + t * (y - mu1) / weights_e
    return PairFit(
        treatment=treatment,
        outcome=outcome,
        binary=binary,
        chosen=chosen,
        reason=reason,
        scores=scores,
        backtest_error=scores[chosen]["backtest_error"],
        backtest_folds=fold_errors[chosen],
        rows=np.arange(len(y)) if rows is None else rows,
        y=y,
        t=t,
        oof_mu0=mu0,
        oof_tau=tau,
        psi0=psi0,
        psi1=psi1,
        propensity=e,
        fold_models=models[chosen],
        n_history=len(y) if rows is None else int(rows.max()) + 1,
        assignment=assignment,
        propensity_scores=propensity_scores,
        overlap=overlap,
        overlap_share=overlap_share,
        min_overlap_share=config.min_overlap_share,
    )


class _Propensity:
    """P(treated | features), a boosted classifier (a constant where one arm is missing from a fold)."""

    def __init__(self, x: np.ndarray, t: np.ndarray, categorical: np.ndarray, config: UpliftConfig, seed: int):
        self.constant: float | None = None
        if np.unique(t).size < 2:
            self.constant = float(t.mean())
            return
        self.model = _Boosted(True, categorical, config, seed).fit(x, t)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.constant is not None:
            return np.full(len(x), self.constant)
        return self.model.predict(x)


def _propensity_model(
    x: np.ndarray, t: np.ndarray, categorical: np.ndarray, config: UpliftConfig, fold: int
) -> _Propensity:
    return _Propensity(x, t, categorical, config, config.seed + 10 * fold + 7)


def fit_uplift_on_frame(
    frame: pd.DataFrame,
    y: np.ndarray,
    t: np.ndarray,
    *,
    features: list[str],
    binary: bool,
    config: UpliftConfig | None = None,
    assignment: str = "randomized",
) -> PairFit:
    """Fit one treatment-vs-control pair on a feature frame (t = 1 treated, 0 control); the returned fit
    predicts uplift for new frames with ``predict_uplift``. ``assignment`` as for ``fit_pair``. Refuses
    missing features and empty arms."""
    encoder = FeatureEncoder(frame, features)
    config = config or UpliftConfig()
    with threadpool_limits(limits=config.threads, user_api="openmp"):
        fit = fit_pair(
            encoder.transform(frame),
            np.asarray(y, dtype=float),
            np.asarray(t),
            binary=binary,
            categorical=encoder.categorical_mask,
            config=config,
            assignment=assignment,
        )
    fit.encoder = encoder
    return fit


def _eligible_candidates(
    y: np.ndarray, t: np.ndarray, binary: bool, config: UpliftConfig, n_features: int
) -> tuple[list[str], str]:
    wanted = [c for c in config.candidates if c in _LEARNERS]
    if not wanted:
        raise ValueError(f"no known candidate in {config.candidates}; known: {list(_LEARNERS)}")
    reasons = []
    if n_features == 0:
        reasons.append("no feature columns")
    if len(y) < config.min_pair_rows_learned:
        reasons.append(f"{len(y)} rows < {config.min_pair_rows_learned}")
    arm_rows = min(int(t.sum()), int((1 - t).sum()))
    if arm_rows < config.min_arm_rows_learned:
        reasons.append(f"smallest arm {arm_rows} rows < {config.min_arm_rows_learned}")
    if binary:
        positives = min(int(y[t == 1].sum()), int(y[t == 0].sum()))
        if positives < config.min_arm_positives_learned:
            reasons.append(f"smallest arm has {positives} responders < {config.min_arm_positives_learned}")
    if not reasons:
        return wanted, ""
    kept = [c for c in wanted if c not in LEARNED] or ["stratified_dim"]
    dropped = [c for c in wanted if c in LEARNED]
    return kept, f"{dropped} ({'; '.join(reasons)})" if dropped else ""


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _dim(y: np.ndarray, t: np.ndarray) -> float:
    """Treated minus control mean; nan where an arm is empty (tiny folds)."""
    if t.sum() == 0 or t.sum() == len(t):
        return float("nan")
    return float(y[t == 1].mean() - y[t == 0].mean())


# --------------------------------------------------------------------------------------------- shop fits


@dataclass
class UpliftModels:
    """All pair fits of one campaign history: ``fits[treatment][outcome]``."""

    history_sha256: str
    code_version: str
    config: UpliftConfig
    control: str
    treatment_channels: dict[str, str]
    features: list[str]
    outcomes: list[str]
    n_rows: int
    fits: dict[str, dict[str, PairFit]]
    fit_seconds: float
    encoder: FeatureEncoder
    # How the history was assigned, as fitted ("observational" also where shop.yaml did not say).
    assignment: str = "randomized"
    assignment_declared: bool = True

    def report(self) -> dict[str, Any]:
        """Return a JSON-ready summary: per treatment and outcome, the chosen model, why, and scores."""
        return {
            "history_sha256": self.history_sha256,
            "code_version": self.code_version,
            "config": asdict(self.config),
            "fit_seconds": round(self.fit_seconds, 3),
            "rows": self.n_rows,
            "features": self.features,
            "assignment": self.assignment,
            "assignment_declared": self.assignment_declared,
            "models": {
                treatment: {
                    outcome: {
                        "chosen": fit.chosen,
                        "reason": fit.reason,
                        "scores": fit.scores,
                        "backtest_error": fit.backtest_error,
                        "rows": len(fit.rows),
                        "treated": int(fit.t.sum()),
                        "overlap_share": fit.overlap_share,
                    }
                    for outcome, fit in by_outcome.items()
                }
                for treatment, by_outcome in self.fits.items()
            },
        }


def validate_history(history: pd.DataFrame, spec: CampaignHistorySpec) -> list[str]:
    """Check the campaign history against its spec; return the outcome columns present.

    Refuses (ForecasterDataError, naming the problem): no ``treatment`` column, missing or blank labels,
    a single treatment value, no control group, a spec treatment absent from the data, a missing
    ``conversion`` column, non-numeric or missing outcome values, binary outcomes outside 0/1, missing
    feature columns.
    """
    if "treatment" not in history.columns:
        raise ForecasterDataError("campaign history has no 'treatment' column")
    labels = history["treatment"]
    if labels.isna().any():
        raise ForecasterDataError(
            f"campaign history: {int(labels.isna().sum())} rows have no treatment label"
        )
    present = set(labels.astype(str).unique())
    if len(present) < 2:
        raise ForecasterDataError(
            f"campaign history: the treatment column has one value ({sorted(present)}): no contrast to learn"
        )
    if spec.control not in present:
        raise ForecasterDataError(
            f"campaign history: no control group: label {spec.control!r} not found in 'treatment' "
            f"(labels present: {sorted(present)})"
        )
    absent = sorted(set(spec.treatment_channels) - present)
    if absent:
        raise ForecasterDataError(f"campaign history: treatments {absent} of shop.yaml have no rows")
    if spec.control in spec.treatment_channels:
        raise ForecasterDataError(
            f"campaign history: the control label {spec.control!r} is mapped to a channel"
        )
    for outcome in REQUIRED_OUTCOMES:
        if outcome not in history.columns:
            raise ForecasterDataError(f"campaign history has no {outcome!r} outcome column")
    outcomes = [o for o in (*BINARY_OUTCOMES, *CONTINUOUS_OUTCOMES) if o in history.columns]
    for outcome in outcomes:
        column = history[outcome]
        if not _is_numeric(column):
            values = pd.to_numeric(column, errors="coerce")
            bad = column[values.isna() & column.notna()]
            example = repr(bad.iloc[0]) if len(bad) else "?"
            raise ForecasterDataError(
                f"campaign history: outcome {outcome!r} is not numeric ({len(bad)} values like {example})"
            )
        if column.isna().any():
            raise ForecasterDataError(
                f"campaign history: outcome {outcome!r} has {int(column.isna().sum())} blanks"
            )
        if outcome in BINARY_OUTCOMES and not column.isin([0, 1]).all():
            bad_values = sorted(set(column[~column.isin([0, 1])].unique().tolist()))[:5]
            raise ForecasterDataError(
                f"campaign history: outcome {outcome!r} must be 0/1, found {bad_values}"
            )
    missing = [f for f in spec.features if f not in history.columns]
    if missing:
        raise ForecasterDataError(f"campaign history: feature columns of shop.yaml missing: {missing}")
    reserved = {"treatment", "customer_id", *BINARY_OUTCOMES, *CONTINUOUS_OUTCOMES}
    leaked = sorted(set(spec.features) & reserved)
    if leaked:
        raise ForecasterDataError(f"campaign history: {leaked} are outcomes/ids, not features")
    return outcomes


def history_fingerprint(history: pd.DataFrame, spec: CampaignHistorySpec, config: UpliftConfig) -> str:
    """Return the cache key: sha256 over the history's values, columns, dtypes, the spec, the config and
    the code version."""
    digest = hashlib.sha256()
    digest.update(json.dumps([list(map(str, history.columns)), list(map(str, history.dtypes))]).encode())
    digest.update(pd.util.hash_pandas_object(history, index=False).to_numpy().tobytes())
    digest.update(spec.model_dump_json().encode())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    digest.update(CODE_VERSION.encode())
    return digest.hexdigest()


def fit_uplift_models(
    history: pd.DataFrame, spec: CampaignHistorySpec, config: UpliftConfig | None = None
) -> UpliftModels:
    """Fit every (treatment in ``spec.treatment_channels``) vs control pair on every outcome present.

    History whose ``spec.assignment`` is observational or not declared is fitted with the propensity
    adjustment (see the module docstring). Returns the fits with their model choice and scores. Refuses
    invalid history (see validate_history).
    """
    config = config or UpliftConfig()
    started = time.perf_counter()
    outcomes = validate_history(history, spec)
    encoder = FeatureEncoder(history, spec.features)
    assignment = spec.effective_assignment
    with threadpool_limits(limits=config.threads, user_api="openmp"):
        fits = _fit_all_pairs(history, spec, config, outcomes, encoder, assignment)
    return UpliftModels(
        history_sha256=history_fingerprint(history, spec, config),
        code_version=CODE_VERSION,
        config=config,
        control=spec.control,
        treatment_channels=dict(spec.treatment_channels),
        features=list(spec.features),
        outcomes=outcomes,
        n_rows=len(history),
        fits=fits,
        fit_seconds=time.perf_counter() - started,
        encoder=encoder,
        assignment=assignment,
        assignment_declared=spec.assignment is not None,
    )


def _fit_all_pairs(
    history: pd.DataFrame,
    spec: CampaignHistorySpec,
    config: UpliftConfig,
    outcomes: list[str],
    encoder: FeatureEncoder,
    assignment: str = "randomized",
) -> dict[str, dict[str, PairFit]]:
    x_all = encoder.transform(history)
    labels = history["treatment"].astype(str).to_numpy()
    fits: dict[str, dict[str, PairFit]] = {}
    for treatment in spec.treatment_channels:
        rows = np.flatnonzero((labels == treatment) | (labels == spec.control))
        t = (labels[rows] == treatment).astype(np.int8)
        fits[treatment] = {}
        for outcome in outcomes:
            y = history[outcome].to_numpy(dtype=float)[rows]
            fit = fit_pair(
                x_all[rows],
                y,
                t,
                binary=outcome in BINARY_OUTCOMES,
                categorical=encoder.categorical_mask,
                config=config,
                treatment=treatment,
                outcome=outcome,
                rows=rows,
                assignment=assignment,
            )
            fit.encoder = encoder
            fit.n_history = len(history)
            fits[treatment][outcome] = fit
    return fits


def load_or_fit_uplift_models(shop: Shop, config: UpliftConfig | None = None) -> tuple[UpliftModels, dict]:
    """Return the shop's uplift models and cache info, loading ``shop.root/.cache/uplift-<key>.npz`` when it
    exists for this exact history, spec, config and code; fitting and writing it otherwise.

    The cache holds arrays and JSON only (see tools/model_cache.py), so a planted file cannot run code.
    Refuses a shop without campaign history or its spec. A cache file that cannot be read is refitted
    and replaced (the info says so).
    """
    if shop.campaign_history is None or shop.campaign_spec is None:
        raise ForecasterDataError(f"shop {shop.name!r} has no campaign history (campaign_history.csv + spec)")
    config = config or UpliftConfig()
    started = time.perf_counter()
    key = history_fingerprint(shop.campaign_history, shop.campaign_spec, config)
    path = model_cache.cache_path(shop.root, key)
    info: dict[str, Any] = {"path": str(path), "key": key}
    if model_cache.legacy_pickle_path(shop.root, key).exists():
        info["legacy_pickle_ignored"] = True  # older versions' pickles are never opened: they could run code
    if path.is_file():
        try:
            models = model_cache.load_uplift_models(path, key, config)
            info.update(cache="hit", load_seconds=round(time.perf_counter() - started, 4))
            return models, info
        except model_cache.CacheFormatError as exc:  # a truncated or foreign file: refit rather than fail
            info["cache_problem"] = f"unreadable cache file ({exc})"
    models = fit_uplift_models(shop.campaign_history, shop.campaign_spec, config)
    model_cache.save_uplift_models(path, models)
    info.update(cache="miss", fit_seconds=round(models.fit_seconds, 3))
    return models, info


# --------------------------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class SegmentEstimate:
    """A segment's control mean, treated mean and lift (treated - control) with bootstrap intervals."""

    treatment: str
    outcome: str
    method: str
    n_treated: int
    n_control: int
    control_mean: float
    treated_mean: float
    lift: float
    lift_interval_80: tuple[float, float]
    lift_interval_95: tuple[float, float]
    lift_sd: float
    assignment: str = "randomized"
    trimmed: int = 0  # observational: segment customers left out for lack of overlap


def estimate_segment(
    fit: PairFit,
    history_mask: np.ndarray,
    *,
    n_boot: int = 400,
    seed: int = 0,
    method: str | None = None,
) -> SegmentEstimate:
    """Estimate the effect of ``fit.treatment`` on ``fit.outcome`` in the customers where ``history_mask``
    (one bool per campaign-history row) is true.

    ``method`` None uses the fit's choice: AIPW over cross-fitted predictions for a learned model, the
    plain difference in means for the baseline; "difference_in_means" forces the latter. Observational
    fits always use AIPW (with the propensity weights; a plain difference would be confounded) on the
    segment's customers inside the overlap bounds. Intervals are bootstrap percentiles over customers
    (``n_boot`` >= 200 resamples, vectorised). Refuses a mask of the wrong length, a segment without both
    treated and control customers, the difference in means on observational history, and (OverlapError)
    an observational segment with less than ``fit.min_overlap_share`` of its customers inside the overlap
    bounds.
    """
    if n_boot < 200:
        raise ValueError(f"n_boot must be >= 200, got {n_boot}")
    history_mask = np.asarray(history_mask, dtype=bool)
    if history_mask.ndim != 1 or len(history_mask) != fit.n_history:
        raise ValueError(
            f"history_mask has {len(history_mask)} entries; the history has {fit.n_history} rows"
        )
    in_segment = history_mask[fit.rows]
    trimmed = 0
    observational = fit.assignment == "observational" and fit.overlap is not None
    if observational:
        inside = in_segment & fit.overlap
        members = int(in_segment.sum())
        trimmed = members - int(inside.sum())
        if members and (members - trimmed) / members < fit.min_overlap_share:
            raise OverlapError(
                f"{fit.treatment!r} vs control on {fit.outcome!r}: only {members - trimmed:,} of {members:,} "
                f"customers ({(members - trimmed) / members:.0%}) have a propensity inside the overlap bounds, "
                f"fewer than the {fit.min_overlap_share:.0%} an observational comparison needs: treated and "
                "control customers are too different to compare, so no uplift figure is given"
            )
        in_segment = inside
    t, y = fit.t[in_segment], fit.y[in_segment]
    n1, n0 = int(t.sum()), int(len(t) - t.sum())
    if n1 == 0 or n0 == 0:
        raise ForecasterDataError(
            f"segment has {n1} treated and {n0} control customers for {fit.treatment!r}: no contrast"
        )
    rng = np.random.default_rng(seed)
    if observational and method == "difference_in_means":
        raise ValueError("a plain difference in means is confounded in observational history; use AIPW")
    if observational and method is None:
        method = f"aipw:{fit.chosen}"
    method = method or ("difference_in_means" if fit.chosen == "stratified_dim" else f"aipw:{fit.chosen}")
    if method == "difference_in_means":
        y1, y0 = y[t == 1], y[t == 0]
        treated_mean, control_mean = float(y1.mean()), float(y0.mean())
        draws = _bootstrap_mean(y1, n_boot, rng, fit.binary) - _bootstrap_mean(y0, n_boot, rng, fit.binary)
    elif method.startswith("aipw"):
        psi0, psi1 = fit.psi0[in_segment], fit.psi1[in_segment]
        control_mean, treated_mean = float(psi0.mean()), float(psi1.mean())
        draws = _bootstrap_mean(psi1 - psi0, n_boot, rng, binary=False)
    else:
        raise ValueError(f"unknown method {method!r}")
    return SegmentEstimate(
        treatment=fit.treatment,
        outcome=fit.outcome,
        method=method,
        n_treated=n1,
        n_control=n0,
        control_mean=control_mean,
        treated_mean=treated_mean,
        lift=treated_mean - control_mean,
        lift_interval_80=_percentiles(draws, 0.80),
        lift_interval_95=_percentiles(draws, 0.95),
        lift_sd=float(draws.std(ddof=1)),
        assignment=fit.assignment,
        trimmed=trimmed,
    )


def _bootstrap_mean(values: np.ndarray, n_boot: int, rng: np.random.Generator, binary: bool) -> np.ndarray:
    """Return ``n_boot`` bootstrap means of ``values``.

    A resampled mean of 0/1 values is exactly Binomial(n, p)/n, so binary outcomes draw that directly.
    Other values resample indices; above ``_M_OUT_OF_N`` values an m-out-of-n bootstrap (m resampled,
    the deviation rescaled by sqrt(m / n), valid for a mean) keeps a segment's predict time bounded.
    """
    n = len(values)
    if binary:
        return rng.binomial(n, values.mean(), size=n_boot) / n
    m = min(n, _M_OUT_OF_N)
    means = np.empty(n_boot)
    step = 100  # resamples per chunk: small index blocks stay in cache and avoid large fresh allocations
    for start in range(0, n_boot, step):
        idx = rng.integers(0, n, size=(min(step, n_boot - start), m), dtype=np.int32)
        means[start : start + len(idx)] = values[idx].mean(axis=1)
    if m == n:
        return means
    centre = float(values.mean())
    return centre + (means - centre) * np.sqrt(m / n)


def _percentiles(draws: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def agresti_caffo_draws(y1: np.ndarray, y0: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Return bootstrap draws of a difference of two proportions with one success and one failure added
    to each arm (Agresti & Caffo, 2000), which keeps small or all-zero segments from a zero-width interval.
    """
    p1 = (y1.sum() + 1) / (len(y1) + 2)
    p0 = (y0.sum() + 1) / (len(y0) + 2)
    return rng.binomial(len(y1) + 2, p1, n_boot) / (len(y1) + 2) - rng.binomial(len(y0) + 2, p0, n_boot) / (
        len(y0) + 2
    )
