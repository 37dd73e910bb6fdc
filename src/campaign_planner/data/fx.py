"""Currency conversion between a brief's currency and the shop's history currency.

Response curves and uplift models are fitted in the shop's currency; a brief may state its budget in
another. Plans convert with a fixed table of approximate reference rates, and say so: the conversion is
an assumption in the plan (with an open question), never a silent step. A shop that plans in several
currencies should state its own rates; this table is only the offline default.
"""

from __future__ import annotations

# US dollars per unit of each currency: rounded reference rates of 2025 (approximate, not live quotes).
USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.10,
    "GBP": 1.30,
    "CNY": 0.14,
    "JPY": 0.0068,
    # Every other currency a brief's amounts are read in (intake/amounts.py), so no brief is left unplanned.
    "HKD": 0.128,
    "TWD": 0.031,
    "AUD": 0.65,
    "CAD": 0.72,
    "SGD": 0.75,
    "NZD": 0.59,
    "CHF": 1.18,
    "KRW": 0.00071,
}
RATES_NOTE = "approximate 2025 reference rates packaged with Campaign Planner, not live quotes"


class CurrencyError(ValueError):
    """A currency the conversion table does not know."""


def conversion_rate(from_currency: str, to_currency: str) -> float:
    """Return how many ``to_currency`` units one ``from_currency`` unit buys.

    Raises :class:`CurrencyError` naming the currency when either is not in the table.
    """
    for code in (from_currency, to_currency):
        if code not in USD_PER_UNIT:
            raise CurrencyError(
                f"no conversion rate for {code!r}; known currencies: {', '.join(sorted(USD_PER_UNIT))}"
            )
    return USD_PER_UNIT[from_currency] / USD_PER_UNIT[to_currency]
