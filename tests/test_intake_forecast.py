"""A brief's behavioural audience narrows the forecaster's history customers (the intake hook)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from campaign_planner.domain import Allocation, BehaviourFilter, Segment, SegmentSize
from campaign_planner.tools.forecaster import forecast_campaign
from uplift_synthetic import make_campaign, make_shop

EVERYONE = Segment(id="everyone", name="everyone", definition={}, size=SegmentSize(customers=1000, share=1.0))
EMAIL = [Allocation(channel="email", spend=1_000.0, expected_outcome=0.0, marginal_roi=1.0, source="prior")]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return make_shop(tmp_path_factory.mktemp("shop"), make_campaign(8_000, seed=5))


def _email_line(shop, behaviour):
    result = forecast_campaign(shop, segments=[EVERYONE], channels=["email"], allocation=EMAIL, weeks=4,
                               currency="USD", behaviour=behaviour, n_boot=200)
    (line,) = result.lines
    return result, line


def test_a_lapsed_audience_is_forecast_on_lapsed_history_customers(shop) -> None:
    history = shop.campaign_history
    _, everyone = _email_line(shop, [])
    result, lapsed = _email_line(shop, [BehaviourFilter(kind="recency_min_months", value=9.0, text="lapsed 9+")])
    assert "months since last purchase >= 9" in lapsed.model
    assert lapsed.model != everyone.model
    assert not any(f.code.value == "unsupported_audience" for f in result.flags)
    assert (history["recency"] >= 9).sum() < len(history)  # the filter really narrows


def test_an_audience_the_shop_has_no_feature_for_is_flagged(shop) -> None:
    result, _ = _email_line(shop, [BehaviourFilter(kind="top_customers", value=0.2, text="our top customers")])
    assert any(f.code.value == "unsupported_audience" and "top customers" in f.message for f in result.flags)


def test_behavioural_audiences_on_the_real_hillstrom_history() -> None:
    import pandas as pd

    from campaign_planner.intake.audience import behaviour_mask, find_behaviour
    from campaign_planner.intake.normalise import normalise
    from tests.conftest import dataset

    history = pd.read_csv(dataset("hillstrom_email_analytics_2008.csv"))
    features = ["recency", "history", "mens", "womens", "newbie"]

    def select(text: str):
        return behaviour_mask(history, find_behaviour(normalise(text).text), features)

    lapsed = select("lapsed customers, no purchase in 9+ months")
    assert lapsed.mask.sum() == (history["recency"] >= 9).sum() and not lapsed.unsupported
    top = select("our top customers")
    assert abs(top.mask.mean() - 0.2) < 0.01 and history.loc[top.mask, "history"].min() > history["history"].median()
    assert select("customers who bought menswear").mask.sum() == (history["mens"] == 1).sum()
    assert select("new customers").mask.sum() == (history["newbie"] == 1).sum()
    outerwear = select("existing customers who bought outerwear")
    assert [f.value for f in outerwear.unsupported] == ["Jackets"]  # Hillstrom has no department history
