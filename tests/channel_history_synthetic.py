"""Synthetic weekly channel histories with known adstock + Hill curves (for the response-curve tests).

revenue_t = 60,000 + 50 t + 6,000 sin(2 pi t / 52.18) + 2,500 cos(...) + sum_c beta_c hill(adstock_c,t)
            + noise.
Each channel's weekly spend is uniform on [0, 3 x its steady-state half-saturation spend], off in ~15% of
weeks, so the history covers the curve's bend. Noise is Gaussian with sd ``noise`` x mean revenue.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from campaign_planner.data.catalog import default_catalog
from campaign_planner.data.shop import Shop
from campaign_planner.tools.response_curves import hill

#: channel -> (beta, half_saturation, slope, decay); deliberately not equal to the catalog priors.
TRUTH: dict[str, tuple[float, float, float, float]] = {
    "search": (30000.0, 7000.0, 1.3, 0.10),
    "facebook": (26000.0, 11000.0, 1.7, 0.45),
    "instagram": (18000.0, 8000.0, 1.2, 0.30),
}


def make_history(
    truth: dict[str, tuple[float, float, float, float]] = TRUTH,
    *,
    weeks: int = 200,
    noise: float = 0.02,
    seed: int = 0,
) -> pd.DataFrame:
    """Return a ``channel_history`` frame (period, spend_<channel>..., revenue) generated from ``truth``."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    angle = 2 * np.pi * t / 52.18
    revenue = 60000.0 + 50.0 * t + 6000.0 * np.sin(angle) + 2500.0 * np.cos(angle)
    frame = pd.DataFrame({"period": pd.date_range("2021-01-04", periods=weeks, freq="W-MON")})
    for channel, (beta, half, slope, decay) in truth.items():
        spend = half * (1.0 - decay) * rng.uniform(0.0, 3.0, weeks)
        spend[rng.uniform(size=weeks) < 0.15] = 0.0
        frame[f"spend_{channel}"] = np.round(spend, 2)
        revenue = revenue + beta * hill(
            lfilter([1.0], [1.0, -decay], frame[f"spend_{channel}"].to_numpy()), half, slope
        )
    frame["revenue"] = revenue + rng.normal(0.0, noise * revenue.mean(), weeks)
    return frame


def make_shop(root: Path, history: pd.DataFrame | None = None) -> Shop:
    """Return a Shop in ``root`` with the given (default: ``make_history()``) channel history."""
    reviews = pd.DataFrame({"review_id": ["1"], "text": ["Lovely dress."], "title": [""], "rating": [5]})
    return Shop(
        root=root,
        name="synthetic",
        currency="USD",
        reviews=reviews,
        catalog=default_catalog(),
        channel_history=make_history() if history is None else history,
    )
