"""The average order value: one definition for ``shop import`` and the forecaster (``data/order_value.py``).

An imported shop's AOV is an estimate, marked so in ``shop.yaml``, and the forecaster states it as an
assumption; it needs as many converters as the forecaster's own estimate; a bare number in an older
``shop.yaml`` is still read as declared.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from campaign_planner.data.column_maps import import_shop
from campaign_planner.data.order_value import MIN_CONVERTERS, average_order_value, estimate_average_order_value
from campaign_planner.data.shop import CampaignHistorySpec, ShopDataError, load_shop
from campaign_planner.domain import Allocation, Segment, SegmentSize
from campaign_planner.tools.forecaster import forecast_campaign, shop_average_order_value
from uplift_synthetic import CONTROL, FEATURES, make_campaign

REVIEWS = "review_id,text,rating\nr1,Lovely soft fabric,5\nr2,Runs small,2\n"
SPEC = CampaignHistorySpec(control="Holdout", treatment_channels={"Mail": "email"}, features=["age"])
EMAIL = [Allocation(channel="email", spend=1_000.0, expected_outcome=0.0, marginal_roi=1.0, source="prior")]


def _exports(tmp_path: Path, converters: int, rows: int = 200) -> tuple[Path, Path]:
    """Write a reviews export and a campaign export whose first ``converters`` rows bought (40 + i each)."""
    reviews, campaigns = tmp_path / "reviews.csv", tmp_path / "campaigns.csv"
    reviews.write_text(REVIEWS, encoding="utf-8")
    history = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(rows)],
        "treatment": ["Holdout" if i % 2 else "Mail" for i in range(rows)],
        "conversion": [int(i < converters) for i in range(rows)],
        "revenue": [40.0 + i if i < converters else 0.0 for i in range(rows)],
        "age": [20 + i % 50 for i in range(rows)],
    })
    history.to_csv(campaigns, index=False)
    return reviews, campaigns


def _shop_yaml(dest: Path) -> dict:
    return yaml.safe_load((dest / "shop.yaml").read_text(encoding="utf-8"))["campaign_history"]


@pytest.mark.parametrize("converters", [0, 1, MIN_CONVERTERS - 1])
def test_an_import_with_too_few_converters_writes_no_average_order_value(tmp_path: Path, converters: int) -> None:
    reviews, campaigns = _exports(tmp_path, converters)
    shop, report = import_shop(tmp_path / "shop", reviews=reviews, campaigns=campaigns, campaign_spec=SPEC)
    written = _shop_yaml(tmp_path / "shop")
    assert not {"average_order_value", "average_order_value_source", "average_order_value_converters"} & set(written)
    assert report.average_order_value is None and shop.campaign_spec.average_order_value is None
    (warning,) = [w for w in report.warnings if "average_order_value left unset" in w]
    assert f"only {converters} converter" in warning and f"fewer than the {MIN_CONVERTERS}" in warning
    # The forecaster refuses to estimate one from the same rows: the two agree.
    value, source = shop_average_order_value(shop)
    assert value is None and f"only {converters} converter" in source


def test_an_import_with_enough_converters_writes_its_estimate_marked_estimated(tmp_path: Path) -> None:
    reviews, campaigns = _exports(tmp_path, MIN_CONVERTERS)
    shop, report = import_shop(tmp_path / "shop", reviews=reviews, campaigns=campaigns, campaign_spec=SPEC)
    expected = sum(40.0 + i for i in range(MIN_CONVERTERS)) / MIN_CONVERTERS  # 54.5
    written = _shop_yaml(tmp_path / "shop")
    assert [(key, written[key]) for key in written if key.startswith("average_order_value")] == [
        ("average_order_value", expected), ("average_order_value_source", "estimated"),
        ("average_order_value_converters", MIN_CONVERTERS)]
    spec = load_shop(tmp_path / "shop").campaign_spec
    assert spec.average_order_value_estimated and spec.average_order_value_converters == MIN_CONVERTERS
    assert (report.average_order_value, report.average_order_value_source) == (expected, "estimated")
    assert "average order value 54.50 (estimated from 30 converters" in report.summary()
    value, source = shop_average_order_value(shop)
    assert value == expected and source.startswith("estimated: mean revenue of 30 converters")
    # One definition: the forecaster's own estimate from the written rows gives the same figure.
    assert estimate_average_order_value(shop.campaign_history).value == pytest.approx(expected)


def test_an_average_order_value_in_the_map_is_written_as_declared(tmp_path: Path) -> None:
    reviews, campaigns = _exports(tmp_path, 3)
    declared = SPEC.model_copy(update={"average_order_value": 72.5})
    shop, report = import_shop(tmp_path / "shop", reviews=reviews, campaigns=campaigns, campaign_spec=declared)
    written = _shop_yaml(tmp_path / "shop")
    assert written["average_order_value"] == 72.5 and "average_order_value_source" not in written
    assert report.average_order_value_source == "declared"
    assert shop_average_order_value(shop) == (72.5, "shop.yaml average_order_value")


def test_an_old_shop_yaml_with_a_bare_number_still_loads_as_declared(tmp_path: Path) -> None:
    reviews, campaigns = _exports(tmp_path, 3)
    shop_dir = tmp_path / "shop"
    import_shop(shop_dir, reviews=reviews, campaigns=campaigns, campaign_spec=SPEC)
    text = (shop_dir / "shop.yaml").read_text(encoding="utf-8")
    (shop_dir / "shop.yaml").write_text(text + "  average_order_value: 61.25\n", encoding="utf-8")
    spec = load_shop(shop_dir).campaign_spec
    assert spec.average_order_value == 61.25 and not spec.average_order_value_estimated
    # Declared, it is used even though 3 converters could not give an estimate.
    assert shop_average_order_value(load_shop(shop_dir)) == (61.25, "shop.yaml average_order_value")


def test_a_recorded_estimate_resting_on_too_few_converters_is_not_used() -> None:
    spec = SPEC.model_copy(update={"average_order_value": 50.0, "average_order_value_source": "estimated",
                                   "average_order_value_converters": MIN_CONVERTERS - 1})
    found = average_order_value(spec, None)
    assert found.value is None and found.basis == "unknown" and f"rests on {MIN_CONVERTERS - 1} converters" in (
        found.source)


@pytest.mark.parametrize(("extra", "message"), [
    ("  average_order_value_source: estimated\n", "describe an average_order_value, and there is none"),
    ("  average_order_value: 50\n  average_order_value_source: estimated\n", "needs average_order_value_converters"),
    ("  average_order_value: 50\n  average_order_value_converters: 40\n", "only for an estimated"),
    ("  average_order_value: 50\n  average_order_value_source: guessed\n", "average_order_value_source"),
])
def test_an_inconsistent_order_value_marking_is_refused_at_load(tmp_path: Path, extra: str, message: str) -> None:
    reviews, campaigns = _exports(tmp_path, 3)
    shop_dir = tmp_path / "shop"
    import_shop(shop_dir, reviews=reviews, campaigns=campaigns, campaign_spec=SPEC)
    text = (shop_dir / "shop.yaml").read_text(encoding="utf-8")
    (shop_dir / "shop.yaml").write_text(text + extra, encoding="utf-8")
    with pytest.raises(ShopDataError, match=message):
        load_shop(shop_dir)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic randomized campaign (8,000 customers, some 700 converters) imported without an AOV."""
    campaign = make_campaign(8_000, seed=5, aov=None)
    root = tmp_path_factory.mktemp("imported")
    (root / "reviews.csv").write_text(REVIEWS, encoding="utf-8")
    campaign.history.to_csv(root / "campaigns.csv", index=False)
    spec = CampaignHistorySpec(control=CONTROL, treatment_channels={"Email promo": "email"}, features=FEATURES,
                               assignment="randomized")
    import_shop(root / "shop", reviews=root / "reviews.csv", campaigns=root / "campaigns.csv", campaign_spec=spec)
    return root / "shop"


def _forecast(shop_dir: Path):
    segment = Segment(id="all", name="all", definition={"rating_min": 1},
                      size=SegmentSize(customers=100, share=0.1))
    return forecast_campaign(load_shop(shop_dir), segments=[segment], channels=["email"], allocation=EMAIL,
                             weeks=4, currency="USD")


def test_the_plan_states_an_imported_average_order_value_as_estimated(imported: Path) -> None:
    written = _shop_yaml(imported)
    assert written["average_order_value_source"] == "estimated" and written["average_order_value_converters"] > 500
    out = _forecast(imported)
    (stated,) = [a for a in out.assumptions if "Average order value" in a.text]
    assert f"{written['average_order_value']:,.2f} USD: estimated" in stated.text and "not declared" in stated.text
    assert f"mean revenue of {written['average_order_value_converters']} converters" in stated.text
    assert out.model_report["average_order_value"]["source"].startswith("estimated")
    # Not taken as the owner's figure: the revenue uplift comes from the revenue outcome itself.
    (line,) = out.lines
    assert "on the revenue outcome directly" in line.model and "(shop.yaml average_order_value)" not in line.model


def test_the_same_number_declared_is_used_as_declared(imported: Path, tmp_path: Path) -> None:
    declared = tmp_path / "declared"
    declared.mkdir()
    for name in ("reviews.csv", "campaign_history.csv"):
        (declared / name).write_bytes((imported / name).read_bytes())
    config = yaml.safe_load((imported / "shop.yaml").read_text(encoding="utf-8"))
    del config["campaign_history"]["average_order_value_source"]
    del config["campaign_history"]["average_order_value_converters"]  # as an older import wrote it
    (declared / "shop.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    out = _forecast(declared)
    assert not [a for a in out.assumptions if "Average order value" in a.text]
    (line,) = out.lines
    assert "x average order value" in line.model and "(shop.yaml average_order_value)" in line.model
