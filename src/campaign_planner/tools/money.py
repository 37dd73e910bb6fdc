"""Exact money arithmetic for budget lines: splits that sum to the budget to the cent."""

from __future__ import annotations

import math
from collections.abc import Sequence


def split_exactly(amounts: Sequence[float], total: float) -> list[float]:
    """Round ``amounts`` to cents so that they sum to ``total`` exactly (largest-remainder method).

    The cents lost or gained by rounding go to the lines with the largest fractional remainders, so
    no line moves by more than one cent from its unrounded share of ``total``. Negative amounts are
    refused with ValueError.
    """
    if any(a < 0 for a in amounts):
        raise ValueError("amounts to split must be non-negative")
    total_cents = round(total * 100)
    raw_sum = sum(amounts)
    if not amounts:
        return []
    if raw_sum <= 0:
        raise ValueError("cannot split a total over amounts that are all zero")
    scaled = [a * total_cents / raw_sum for a in amounts]
    cents = [math.floor(x) for x in scaled]
    order = sorted(range(len(amounts)), key=lambda i: scaled[i] - cents[i], reverse=True)
    for index in order[: total_cents - sum(cents)]:
        cents[index] += 1
    return [c / 100 for c in cents]
