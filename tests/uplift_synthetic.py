"""Synthetic randomized campaign histories with a known, heterogeneous uplift (for the forecaster tests).

Control conversion p0(x) depends on recency and department; the e-mail treatment adds
tau(x) = 0.02 + 0.05 * [age < 35] + 0.03 * [department == Dresses] (absolute probability points);
the SMS treatment adds a flat 0.01. Visits follow the same pattern, revenue = conversion x order value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from campaign_planner.data.catalog import default_catalog
from campaign_planner.data.shop import CampaignHistorySpec, Shop

DEPARTMENTS = ("Dresses", "Tops", "Bottoms", "Jackets")
FEATURES = ["age", "department", "recency"]
CONTROL = "No promo"
AVERAGE_ORDER_VALUE = 60.0


@dataclass
class SyntheticCampaign:
    history: pd.DataFrame
    spec: CampaignHistorySpec
    true_tau: dict[str, np.ndarray]  # treatment -> true conversion lift of every history customer


def true_email_tau(age: np.ndarray, department: np.ndarray) -> np.ndarray:
    return 0.02 + 0.05 * (age < 35) + 0.03 * (department == "Dresses")


def make_campaign(
    n: int = 20_000, seed: int = 0, *, with_sms: bool = False, aov: float | None = AVERAGE_ORDER_VALUE
) -> SyntheticCampaign:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, n)
    department = rng.choice(DEPARTMENTS, n, p=[0.3, 0.4, 0.2, 0.1])
    recency = rng.integers(1, 13, n)
    p0 = 1 / (1 + np.exp(-(-2.4 - 0.06 * recency + 0.4 * (department == "Dresses"))))
    arms = [CONTROL, "Email promo", *(["SMS promo"] if with_sms else [])]
    treatment = rng.choice(arms, n)
    tau = {"Email promo": true_email_tau(age, department), "SMS promo": np.full(n, 0.01)}
    p = p0.copy()
    for label, effect in tau.items():
        p = np.where(treatment == label, p0 + effect, p)
    conversion = (rng.random(n) < p).astype(int)
    visit = np.maximum(conversion, (rng.random(n) < 2 * p).astype(int))
    revenue = conversion * rng.gamma(4.0, AVERAGE_ORDER_VALUE / 4.0, n)
    history = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "treatment": treatment,
            "visit": visit,
            "conversion": conversion,
            "revenue": revenue.round(2),
            "age": age,
            "department": department,
            "recency": recency,
        }
    )
    channels = {"Email promo": "email", **({"SMS promo": "sms"} if with_sms else {})}
    spec = CampaignHistorySpec(
        control=CONTROL,
        treatment_channels=channels,
        features=FEATURES,
        average_order_value=aov,
        assignment="randomized",  # the generator randomizes every customer's arm
    )
    return SyntheticCampaign(history, spec, {k: v for k, v in tau.items() if k in channels})


def make_shop(root: Path, campaign: SyntheticCampaign | None, currency: str = "USD") -> Shop:
    return Shop(
        root=root,
        name="synthetic",
        currency=currency,
        reviews=pd.DataFrame(),
        catalog=default_catalog(),
        campaign_history=None if campaign is None else campaign.history,
        campaign_spec=None if campaign is None else campaign.spec,
    )
