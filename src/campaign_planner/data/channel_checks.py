"""Sanity checks of weekly channel history that a value-by-value check cannot see.

Each check returns warnings that the import report, the load report and the plan carry (a plan flag
``data_quality``); the ones that would make a response curve meaningless also stop the curve from being
fitted (``tools/response_curves.py`` asks ``scaled_spend`` and ``spacing_problem``):

* spend in unknown units: a channel whose weekly spend never exceeds 1 is scaled (the PyMC-Marketing
  example ships spend scaled to 0-1), not money; fitting it would let a budget in dollars be read against
  scaled units, i.e. extrapolated ~1,000x past the data;
* rows that are not weekly (daily or monthly exports): the model's adstock and seasonality are weekly;
* fewer weeks than the fit needs, overall or per channel;
* revenue out of all proportion to spend (spend in thousands, or scaled).
"""

from __future__ import annotations

import pandas as pd

from campaign_planner.render.messages import KeyedText

# Largest weekly spend at or below which a channel's spend is taken to be scaled, not money: no channel
# worth planning spends at most one unit of currency in every week.
SCALED_SPEND_MAX = 1.0
# Weekly rows are 7 days apart; exports with a median gap outside this range are daily or monthly.
WEEKLY_GAP_DAYS = (6, 8)
# Revenue above this multiple of total spend (over the whole history) is implausible as paid media's
# scale; it usually means spend in thousands or scaled.
REVENUE_PER_SPEND_MAX = 1000.0
SPEND_PREFIX = "spend_"


def scaled_spend(history: pd.DataFrame) -> dict[str, float]:
    """Return channel -> largest weekly spend for channels whose spend never exceeds ``SCALED_SPEND_MAX``.

    Channels that never spent (all zero) are left out: they have no scale to judge.
    """
    out: dict[str, float] = {}
    for column in history.columns:
        if not str(column).startswith(SPEND_PREFIX):
            continue
        values = pd.to_numeric(history[column], errors="coerce")
        largest = float(values.max()) if values.notna().any() else 0.0
        if 0.0 < largest <= SCALED_SPEND_MAX:
            out[str(column).removeprefix(SPEND_PREFIX)] = largest
    return out


def spacing_problem(history: pd.DataFrame) -> str | None:
    """Return why the rows are not weekly (median gap between periods outside 6-8 days), else None."""
    periods = pd.to_datetime(history["period"], errors="coerce").sort_values()
    gaps = periods.diff().dropna().dt.days
    if gaps.empty:
        return None
    median = float(gaps.median())
    lo, hi = WEEKLY_GAP_DAYS
    if lo <= median <= hi:
        return None
    kind = "daily" if median < lo else ("monthly" if 25 <= median <= 35 else f"{median:g}-day")
    return (
        f"rows are {median:g} days apart (median): they look {kind}, but the contract and the response "
        "curves' adstock and seasonality are weekly; aggregate the export to one row per week"
    )


def channel_history_warnings(history: pd.DataFrame) -> list[str]:
    """Return every sanity warning for a validated channel history (``period`` as dates, spend numeric)."""
    from campaign_planner.tools.response_curves import MIN_ACTIVE_WEEKS, MIN_WEEKS

    warnings: list[str] = []
    for channel, largest in scaled_spend(history).items():
        warnings.append(KeyedText("warn_scaled_spend", channel=channel, limit=f"{SCALED_SPEND_MAX:g}",
                                  largest=f"{largest:.4g}"))
    spacing = spacing_problem(history)
    if spacing:
        warnings.append(KeyedText("warn_spacing", problem=spacing))
    if len(history) < MIN_WEEKS:
        warnings.append(KeyedText("warn_few_periods", periods=len(history), needed=MIN_WEEKS))
    else:
        for column in [c for c in history.columns if str(c).startswith(SPEND_PREFIX)]:
            active = int((pd.to_numeric(history[column], errors="coerce") > 0).sum())
            if active < MIN_ACTIVE_WEEKS:
                warnings.append(KeyedText("warn_few_active_weeks", column=str(column), active=active,
                                          needed=MIN_ACTIVE_WEEKS))
    spend = history[[c for c in history.columns if str(c).startswith(SPEND_PREFIX)]].to_numpy(dtype=float).sum()
    revenue = float(pd.to_numeric(history["revenue"], errors="coerce").sum())
    if spend > 0 and revenue / spend > REVENUE_PER_SPEND_MAX:
        warnings.append(KeyedText("warn_revenue_per_spend", ratio=f"{revenue / spend:,.0f}"))
    return warnings
