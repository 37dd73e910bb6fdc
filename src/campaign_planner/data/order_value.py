"""The shop's average order value: one definition for the import, the forecaster and the curve priors.

The average order value (AOV) is the mean revenue of a converting customer, in the shop's currency. It is
either **declared** (a number the shop owner wrote into ``shop.yaml`` or a column map) or **estimated**
(the mean revenue of the campaign history's converters). An estimate needs at least
:data:`MIN_CONVERTERS` converters: below that the mean of a handful of orders is noise, and the shop has
no AOV at all rather than a guessed one.

``shop import`` records its estimate in ``shop.yaml`` marked as such::

    campaign_history:
      average_order_value: 89.87
      average_order_value_source: estimated   # declared (the default) | estimated
      average_order_value_converters: 1234    # the converters it is the mean of

A bare ``average_order_value`` (every ``shop.yaml`` written before the marking) reads as declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pandas as pd

if TYPE_CHECKING:
    from campaign_planner.data.shop import CampaignHistorySpec

#: The fewest converters an estimated average order value may rest on.
MIN_CONVERTERS = 30

Basis = Literal["declared", "estimated", "unknown"]


@dataclass(frozen=True)
class OrderValue:
    """An average order value with where it came from; ``value`` is None when the shop has none."""

    value: float | None
    basis: Basis
    #: How many converters an estimate is the mean of (None for a declared value).
    converters: int | None
    #: A readable account of the source, for reports and plan assumptions.
    source: str

    @property
    def estimated(self) -> bool:
        """Return True for a value estimated from converters rather than declared."""
        return self.basis == "estimated" and self.value is not None


def estimate_average_order_value(history: pd.DataFrame | None) -> OrderValue:
    """Estimate the AOV from campaign history: the mean revenue of its converters (``conversion == 1``).

    Returns an ``estimated`` OrderValue when there are at least :data:`MIN_CONVERTERS` converters, every
    one with a numeric revenue, averaging more than 0; otherwise ``unknown`` (value None) saying why.
    Refuses nothing.
    """
    if history is None or not {"revenue", "conversion"} <= set(history.columns):
        return OrderValue(None, "unknown", None, "unknown (no campaign history with conversion and revenue)")
    converters = history[pd.to_numeric(history["conversion"], errors="coerce") == 1]
    count = len(converters)
    revenue = pd.to_numeric(converters["revenue"], errors="coerce")
    if count < MIN_CONVERTERS:
        converters_text = f"{count} converter{'' if count == 1 else 's'}"
        return OrderValue(None, "unknown", count, f"unknown (only {converters_text} in campaign history, fewer "
                          f"than the {MIN_CONVERTERS} an estimate needs)")
    if not revenue.notna().all() or not revenue.mean() > 0:
        return OrderValue(None, "unknown", count, f"unknown (the {count} converters in campaign history have no "
                          "usable revenue)")
    return OrderValue(float(revenue.mean()), "estimated", count,
                      f"estimated: mean revenue of {count} converters in campaign history")


def average_order_value(spec: CampaignHistorySpec | None, history: pd.DataFrame | None) -> OrderValue:
    """Return the shop's AOV: ``shop.yaml``'s declared value; else its recorded estimate (``shop import``)
    where that rests on at least :data:`MIN_CONVERTERS` converters; else an estimate from ``history``
    (:func:`estimate_average_order_value`); else ``unknown``. Refuses nothing.
    """
    if spec is not None and spec.average_order_value:
        value = float(spec.average_order_value)
        if not spec.average_order_value_estimated:
            return OrderValue(value, "declared", None, "shop.yaml average_order_value")
        count = spec.average_order_value_converters or 0
        if count >= MIN_CONVERTERS:
            return OrderValue(value, "estimated", count, f"estimated: mean revenue of {count} converters in "
                              "campaign history (shop.yaml average_order_value_source: estimated)")
    fresh = estimate_average_order_value(history)
    if fresh.value is None and spec is not None and spec.average_order_value:  # a recorded estimate, too thin
        return OrderValue(None, "unknown", spec.average_order_value_converters, (
            f"unknown (shop.yaml's estimated average_order_value rests on "
            f"{spec.average_order_value_converters or 0} converters, fewer than the {MIN_CONVERTERS} an estimate "
            f"needs; {fresh.source})"))
    if fresh.value is None:
        return OrderValue(None, "unknown", fresh.converters,
                          f"{fresh.source.removesuffix(')')}; no shop.yaml average_order_value)")
    return fresh
