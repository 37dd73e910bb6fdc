"""Covariate balance of campaign history: does each treatment group look like its control on the features?

In a randomized test the groups differ on the features only by chance; a control chosen some other way
(customers who were not contacted, who refused an earlier offer, another campaign's audience) differs
systematically, and the raw difference in outcomes is then not the campaign's effect. The check is the
standardised mean difference (SMD) of every numeric feature and every level of every text feature
(one-hot), treatment against control:

    SMD = (mean_treated - mean_control) / sqrt((var_treated + var_control) / 2)

A feature is imbalanced when |SMD| > 0.1, the conventional threshold for a meaningful difference in
propensity-score practice (Austin, 2009, Stat Med 28:3083), **and** the difference is larger than chance
alone would make it in a randomized split of the same sizes (3 standard errors, sqrt(1/n_t + 1/n_c)):
below about 1,800 customers per arm chance alone exceeds 0.1 on some of many features, which would make
the warning cry wolf on small but genuinely randomized tests.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

SMD_THRESHOLD = 0.1
CHANCE_STANDARD_ERRORS = 3.0
# Text features: the most frequent levels are compared one by one, the rest together as "(other)".
_MAX_LEVELS = 20
_NAMED_IN_WARNING = 5
Assignment = Literal["randomized", "observational"]


class FeatureBalance(BaseModel):
    """One feature (or one level of a text feature) compared between a treatment and the control."""

    model_config = ConfigDict(extra="forbid")

    treatment: str
    feature: str
    level: str | None = None
    smd: float
    threshold: float
    imbalanced: bool

    @property
    def label(self) -> str:
        """Return the feature as a marketer reads it: ``recency`` or ``zip_code=Urban``."""
        return self.feature if self.level is None else f"{self.feature}={self.level}"


def _smd(treated: np.ndarray, control: np.ndarray) -> float | None:
    if len(treated) < 2 or len(control) < 2:
        return None
    pooled = math.sqrt((float(treated.var(ddof=1)) + float(control.var(ddof=1))) / 2.0)
    if pooled == 0.0:
        return None
    return (float(treated.mean()) - float(control.mean())) / pooled


def _columns(frame: pd.DataFrame, feature: str) -> dict[str | None, np.ndarray]:
    """Return the feature as one numeric column (None) or as 0/1 columns per text level."""
    values = frame[feature]
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return {None: pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)}
    text = values.astype(str).where(values.notna() & (values.astype(str) != ""), "(blank)")
    levels = text.value_counts().index[:_MAX_LEVELS].tolist()
    columns: dict[str | None, np.ndarray] = {
        str(level): (text == level).to_numpy(dtype=float) for level in levels
    }
    rest = ~text.isin(levels)
    if rest.any():
        columns["(other)"] = rest.to_numpy(dtype=float)
    return columns


def feature_balance(
    history: pd.DataFrame, control: str, treatments: list[str], features: list[str]
) -> list[FeatureBalance]:
    """Return the SMD of every feature (and text level) for every treatment against ``control``.

    Rows whose numeric feature is missing are left out of that feature's comparison. Features without
    variation in both groups are left out (no SMD exists). Refuses nothing: an absent label gives no rows.
    """
    labels = history["treatment"].astype(str).to_numpy()
    is_control = labels == control
    out: list[FeatureBalance] = []
    for feature in features:
        if feature not in history.columns:
            continue
        for level, column in _columns(history, feature).items():
            for treatment in treatments:
                is_treated = labels == treatment
                treated, untreated = column[is_treated], column[is_control]
                treated, untreated = treated[~np.isnan(treated)], untreated[~np.isnan(untreated)]
                smd = _smd(treated, untreated)
                if smd is None:
                    continue
                chance = CHANCE_STANDARD_ERRORS * math.sqrt(1.0 / len(treated) + 1.0 / len(untreated))
                threshold = max(SMD_THRESHOLD, chance)
                out.append(
                    FeatureBalance(
                        treatment=treatment,
                        feature=feature,
                        level=level,
                        smd=round(smd, 4),
                        threshold=round(threshold, 4),
                        imbalanced=abs(smd) > threshold,
                    )
                )
    return out


def balance_warnings(
    balance: list[FeatureBalance], control: str, assignment: Assignment | None
) -> list[str]:
    """Return one warning per treatment whose features differ from the control, naming the features.

    The wording follows what the history was declared to be: a "randomized" control that differs is
    suspect; observational history is expected to differ (and is adjusted for it when forecasting);
    undeclared history is treated as observational.
    """
    warnings: list[str] = []
    treatments = list(dict.fromkeys(b.treatment for b in balance))
    for treatment in treatments:
        off = sorted(
            (b for b in balance if b.treatment == treatment and b.imbalanced), key=lambda b: -abs(b.smd)
        )
        if not off:
            continue
        named = ", ".join(f"{b.label} (SMD {b.smd:+.2f})" for b in off[:_NAMED_IN_WARNING])
        more = f" and {len(off) - _NAMED_IN_WARNING} more" if len(off) > _NAMED_IN_WARNING else ""
        differs = (
            f"treatment {treatment!r} differs from control {control!r} on {named}{more} "
            f"(|standardised mean difference| above {SMD_THRESHOLD})"
        )
        if assignment == "randomized":
            warnings.append(
                f"{differs}: a randomized control should not differ like this. Check how the control group "
                "was chosen; if it was not a random holdout, declare campaign_history.assignment: "
                "observational so forecasts adjust for these features"
            )
        else:
            warnings.append(
                f"{differs}; forecasts adjust for the features (propensity-weighted, doubly robust) and "
                "label their figures observational"
            )
    return warnings
