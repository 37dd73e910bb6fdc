"""Honest history: how campaign history was assigned, balance checks, the observational adjustment and
its overlap check, channel-history sanity checks, and the warnings that reach the plan."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from campaign_planner.data.catalog import default_catalog
from campaign_planner.data.column_maps import BUILTIN_MAPS, import_shop
from campaign_planner.data.shop import CampaignHistorySpec, Shop, ShopDataError, load_shop_with_report
from campaign_planner.domain import Allocation, FlagCode, Segment, SegmentSize
from campaign_planner.tools.forecaster import forecast_campaign
from campaign_planner.tools.registry import _data_flags
from campaign_planner.tools.response_curves import fit_response_curves
from campaign_planner.tools.uplift import OverlapError, estimate_segment, fit_uplift_models

REVIEWS = "review_id,text,rating\n1,Soft fabric,5\n2,Runs small,2\n"


def confounded_history(n: int = 6_000, seed: int = 0, strength: float = 1.5) -> tuple[pd.DataFrame, float]:
    """Customers whose chance of being treated rises with their (standardised) age, and whose conversion
    rises with age too: the naive treated-minus-control difference over-states the true lift (0.05)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(45, 12, n)
    z = (age - 45) / 12
    treated = rng.random(n) < 1 / (1 + np.exp(-strength * z))
    p = 1 / (1 + np.exp(-(-2.0 + 0.9 * z)))
    conversion = (rng.random(n) < np.clip(p + 0.05 * treated, 0, 1)).astype(int)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "treatment": np.where(treated, "Mail", "Holdout"),
            "conversion": conversion,
            "revenue": conversion * 50.0,
            "age": age.round(1),
            "department": rng.choice(["Dresses", "Tops"], n),
        }
    )
    return frame, 0.05


def write_campaign_shop(root: Path, history: pd.DataFrame, assignment: str | None) -> Path:
    root.mkdir(parents=True)
    (root / "reviews.csv").write_text(REVIEWS, encoding="utf-8")
    history.to_csv(root / "campaign_history.csv", index=False)
    declared = f"  assignment: {assignment}\n" if assignment else ""
    (root / "shop.yaml").write_text(
        "name: T\ncurrency: USD\ncampaign_history:\n  control: Holdout\n  treatment_channels: {Mail: email}\n"
        f"  features: [age, department]\n{declared}",
        encoding="utf-8",
    )
    return root


def shop_of(root: Path, history: pd.DataFrame, assignment: str | None) -> Shop:
    spec = CampaignHistorySpec(
        control="Holdout", treatment_channels={"Mail": "email"}, features=["age", "department"],
        assignment=assignment,  # type: ignore[arg-type]
    )
    return Shop(root=root, name="T", currency="USD", reviews=pd.DataFrame(), catalog=default_catalog(),
                campaign_history=history, campaign_spec=spec)


SEGMENTS = [Segment(id="all", name="all", definition={}, size=SegmentSize(customers=100, share=1.0))]
ALLOCATION = [Allocation(channel="email", spend=1_000.0, expected_outcome=2_000.0, marginal_roi=1.0)]


# --- declaring the assignment and checking balance -----------------------------------------------------


def test_a_randomized_control_that_differs_is_warned_about_naming_the_feature(tmp_path: Path) -> None:
    history, _ = confounded_history()
    shop, report = load_shop_with_report(write_campaign_shop(tmp_path / "s", history, "randomized"))
    warnings = report.files["campaign_history.csv"].warnings
    assert any("'Mail' differs from control 'Holdout' on age (SMD +" in w and "randomized control" in w
               for w in warnings), warnings
    assert not any("department" in w for w in warnings)  # balanced: not named
    assert shop.data_warnings["campaign_history.csv"] == warnings  # carried for the plan
    age = next(b for b in report.files["campaign_history.csv"].balance if b.feature == "age")
    assert age.imbalanced and age.smd > 0.5


def test_a_balanced_randomized_history_gets_no_balance_warning(tmp_path: Path) -> None:
    history, _ = confounded_history(strength=0.0)  # treatment independent of age: a random split
    _, report = load_shop_with_report(write_campaign_shop(tmp_path / "s", history, "randomized"))
    assert report.files["campaign_history.csv"].warnings == []
    assert all(not b.imbalanced for b in report.files["campaign_history.csv"].balance)


def test_small_random_arms_are_judged_against_chance_not_the_bare_threshold(tmp_path: Path) -> None:
    history, _ = confounded_history(n=300, strength=0.0, seed=3)
    _, report = load_shop_with_report(write_campaign_shop(tmp_path / "s", history, "randomized"))
    balance = report.files["campaign_history.csv"].balance
    assert all(b.threshold > 0.1 for b in balance)  # 3 standard errors of a random split of 300
    assert report.files["campaign_history.csv"].warnings == []


def test_undeclared_assignment_is_treated_as_observational_and_said(tmp_path: Path) -> None:
    history, _ = confounded_history(strength=0.0)
    shop, report = load_shop_with_report(write_campaign_shop(tmp_path / "s", history, None))
    assert shop.campaign_spec.assignment is None and shop.campaign_spec.effective_assignment == "observational"
    assert any("does not say how treatments were assigned" in w
               for w in report.files["campaign_history.csv"].warnings)


def test_the_hillstrom_map_declares_a_randomized_test() -> None:
    assert BUILTIN_MAPS["hillstrom"].campaign_history.assignment == "randomized"


def test_an_unknown_assignment_is_refused(tmp_path: Path) -> None:
    history, _ = confounded_history(n=200)
    with pytest.raises(ShopDataError, match="assignment"):
        load_shop_with_report(write_campaign_shop(tmp_path / "s", history, "quasi"))


# --- the observational adjustment ----------------------------------------------------------------------


def test_observational_history_is_adjusted_towards_the_true_lift(tmp_path: Path) -> None:
    history, true_lift = confounded_history(n=8_000, seed=1)
    t = (history["treatment"] == "Mail").to_numpy()
    y = history["conversion"].to_numpy()
    naive = y[t].mean() - y[~t].mean()
    models = fit_uplift_models(history, shop_of(tmp_path, history, "observational").campaign_spec)
    fit = models.fits["Mail"]["conversion"]
    adjusted = estimate_segment(fit, np.ones(len(history), dtype=bool))
    assert adjusted.method.startswith("aipw") and adjusted.assignment == "observational"
    assert abs(naive - true_lift) > 0.05  # the confounding is real
    assert abs(adjusted.lift - true_lift) < 0.4 * abs(naive - true_lift)
    # Declared randomized, the same rows give the confounded answer: the label matters.
    randomized = fit_uplift_models(history, shop_of(tmp_path, history, "randomized").campaign_spec)
    plain = estimate_segment(randomized.fits["Mail"]["conversion"], np.ones(len(history), dtype=bool))
    assert abs(plain.lift - true_lift) > abs(adjusted.lift - true_lift)


def test_observational_forecast_lines_are_labelled_and_flagged(tmp_path: Path) -> None:
    history, _ = confounded_history(n=4_000, seed=2)
    result = forecast_campaign(
        shop_of(tmp_path, history, None), segments=SEGMENTS, channels=["email"], allocation=ALLOCATION,
        weeks=4, currency="USD",
    )
    [line] = result.lines
    assert line.source == "uplift_model" and line.assignment == "observational"
    assert "observational history" in line.model
    codes = {f.code for f in result.flags}
    assert FlagCode.OBSERVATIONAL_HISTORY in codes
    assert any("does not declare it randomized" in f.message for f in result.flags)
    assert result.targeting == []  # uplift ranking needs a randomized test
    assert result.model_report["uplift"]["assignment"] == "observational"


def test_randomized_forecast_lines_say_so(tmp_path: Path) -> None:
    history, _ = confounded_history(n=4_000, seed=2, strength=0.0)
    result = forecast_campaign(
        shop_of(tmp_path, history, "randomized"), segments=SEGMENTS, channels=["email"], allocation=ALLOCATION,
        weeks=4, currency="USD",
    )
    assert [line.assignment for line in result.lines] == ["randomized"]
    assert FlagCode.OBSERVATIONAL_HISTORY not in {f.code for f in result.flags}


def test_without_overlap_no_uplift_figure_is_given(tmp_path: Path) -> None:
    # Treatment almost decided by age: old customers were mailed, young ones were not.
    history, _ = confounded_history(n=4_000, seed=4, strength=12.0)
    shop = shop_of(tmp_path, history, "observational")
    models = fit_uplift_models(history, shop.campaign_spec)
    fit = models.fits["Mail"]["conversion"]
    assert fit.overlap_share < 0.8
    with pytest.raises(OverlapError, match="no uplift figure"):
        estimate_segment(fit, np.ones(len(history), dtype=bool))
    result = forecast_campaign(shop, segments=SEGMENTS, channels=["email"], allocation=ALLOCATION, weeks=4,
                               currency="USD")
    assert all(line.source != "uplift_model" for line in result.lines)  # the allocation's figure, labelled
    assert any(f.code == FlagCode.OBSERVATIONAL_HISTORY and "no uplift figure" in f.message for f in result.flags)


# --- channel history sanity checks ---------------------------------------------------------------------


def weekly(weeks: int = 60, spend_scale: float = 1_000.0, days: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    spend = rng.uniform(0.2, 1.0, weeks) * spend_scale
    return pd.DataFrame(
        {
            "period": pd.date_range("2023-01-02", periods=weeks, freq=f"{days}D").strftime("%Y-%m-%d"),
            "spend_search": spend.round(4),
            "revenue": (20_000 + 3 * spend / spend_scale * 1_000 + rng.normal(0, 200, weeks)).round(2),
            "control_holiday": (np.arange(weeks) % 26 == 0).astype(int),
        }
    )


def load_channels(tmp_path: Path, history: pd.DataFrame) -> tuple[Shop, list[str]]:
    root = tmp_path / "c"
    root.mkdir()
    (root / "reviews.csv").write_text(REVIEWS, encoding="utf-8")
    (root / "shop.yaml").write_text("name: C\ncurrency: USD\n", encoding="utf-8")
    history.to_csv(root / "channel_history.csv", index=False)
    shop, report = load_shop_with_report(root)
    return shop, report.files["channel_history.csv"].warnings


def test_scaled_spend_is_warned_about_and_never_fitted_as_money(tmp_path: Path) -> None:
    shop, warnings = load_channels(tmp_path, weekly(spend_scale=1.0))
    assert any("spend_search never exceeds 1" in w and "scaled" in w for w in warnings), warnings
    curves = fit_response_curves(shop, use_cache=False)
    assert curves.get("search").source == "prior"
    assert any("units unknown" in note for note in curves.notes)
    flags = _data_flags(SimpleNamespace(shop=shop), "channel_history.csv")  # type: ignore[arg-type]
    assert flags and all(f["code"] == "data_quality" for f in flags)
    assert flags[0]["message"].startswith("channel_history.csv: spend_search never exceeds 1")


def test_spend_in_currency_is_fitted_and_its_controls_reach_the_fit(tmp_path: Path) -> None:
    shop, warnings = load_channels(tmp_path, weekly())
    assert warnings == []
    assert "control_holiday" in shop.channel_history.columns
    assert shop.channel_history["control_holiday"].dtype == "float64"
    curves = fit_response_curves(shop, use_cache=False)
    assert curves.get("search").source == "response_curve"
    assert curves.fit is not None and curves.fit.controls == ["control_holiday"]


def test_daily_rows_given_as_weekly_are_warned_about_and_not_fitted(tmp_path: Path) -> None:
    shop, warnings = load_channels(tmp_path, weekly(weeks=90, days=1))
    assert any("they look daily" in w for w in warnings), warnings
    curves = fit_response_curves(shop, use_cache=False)
    assert curves.get("search").source == "prior" and any("look daily" in n for n in curves.notes)


def test_fewer_periods_than_the_fit_needs_are_warned_about(tmp_path: Path) -> None:
    _, warnings = load_channels(tmp_path, weekly(weeks=12))
    assert any("only 12 periods" in w and "26 weeks" in w for w in warnings), warnings


@pytest.mark.parametrize("period", ["2023-01", "02/01/2023", "2023-W01", "2023-01-02T09:30:00"])
def test_periods_not_in_the_contracts_date_format_are_refused(tmp_path: Path, period: str) -> None:
    history = weekly()
    history.loc[3, "period"] = period
    with pytest.raises(ShopDataError, match=r"column 'period': not an ISO date \(YYYY-MM-DD\).*lines 5"):
        load_channels(tmp_path, history)


def test_a_midnight_time_is_the_same_date(tmp_path: Path) -> None:
    history = weekly()
    history["period"] = history["period"] + " 00:00:00"
    shop, _ = load_channels(tmp_path, history)
    assert shop.channel_history["period"].iloc[0] == pd.Timestamp("2023-01-02")


def test_a_blank_control_week_is_refused(tmp_path: Path) -> None:
    history = weekly().astype({"control_holiday": object})
    history.loc[4, "control_holiday"] = ""
    with pytest.raises(ShopDataError, match=r"control_holiday.*empty or not a number.*lines 6"):
        load_channels(tmp_path, history)


def test_control_columns_survive_an_import_through_a_map(tmp_path: Path) -> None:
    export = tmp_path / "media.csv"
    weekly().rename(columns={"period": "Week", "spend_search": "Google", "control_holiday": "Holiday"}).to_csv(
        export, index=False
    )
    (tmp_path / "map.yaml").write_text(
        "channel_history:\n  columns: {Week: period, Google: spend_search, revenue: revenue, "
        "Holiday: control_holiday}\n",
        encoding="utf-8",
    )
    reviews = tmp_path / "reviews.csv"
    reviews.write_text(REVIEWS, encoding="utf-8")
    shop, _ = import_shop(tmp_path / "shop", reviews=reviews, channels=export, column_map=tmp_path / "map.yaml")
    assert "control_holiday" in shop.channel_history.columns
    assert BUILTIN_MAPS["pymc_mmm"].channel_history.columns["event_1"] == "control_event_1"


def test_a_yaml_maps_assignment_is_written_to_shop_yaml(tmp_path: Path) -> None:
    history, _ = confounded_history(n=400, strength=0.0)
    export = tmp_path / "history.csv"
    history.rename(columns={"treatment": "Arm"}).to_csv(export, index=False)
    (tmp_path / "map.yaml").write_text(
        "campaign_history:\n  columns: {customer_id: customer_id, Arm: treatment, conversion: conversion, "
        "revenue: revenue, age: age}\n  control: Holdout\n  treatment_channels: {Mail: email}\n"
        "  assignment: observational\n",
        encoding="utf-8",
    )
    reviews = tmp_path / "reviews.csv"
    reviews.write_text(REVIEWS, encoding="utf-8")
    shop, _ = import_shop(tmp_path / "shop", reviews=reviews, campaigns=export, column_map=tmp_path / "map.yaml")
    assert shop.campaign_spec.assignment == "observational"
    assert "assignment: observational" in (tmp_path / "shop" / "shop.yaml").read_text(encoding="utf-8")


# --- in the plan ---------------------------------------------------------------------------------------


def test_a_plan_carries_the_history_warnings_labels_and_assumption(demo_shop_dir: Path, tmp_path: Path) -> None:
    import dataclasses
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from campaign_planner.data.channel_checks import channel_history_warnings
    from campaign_planner.data.shop import load_shop
    from campaign_planner.graphs.context import PlanningContext
    from campaign_planner.planning import run_plan
    from campaign_planner.settings import load_settings
    from tests.fake_planner_model import competent_model

    demo = load_shop(demo_shop_dir)
    scaled = demo.channel_history.copy()
    spend = [c for c in scaled.columns if c.startswith("spend_")]
    scaled[spend] = scaled[spend] / (scaled[spend].to_numpy().max() * 1.01)  # every channel within 0-1
    # The demo shop as an export without a declared assignment and with spend in scaled units; the same
    # root keeps its review index.
    shop = dataclasses.replace(
        demo,
        campaign_spec=demo.campaign_spec.model_copy(update={"assignment": None}),
        channel_history=scaled,
        data_hashes={k: v for k, v in demo.data_hashes.items() if k != "channel_history.csv"},
        data_warnings={"channel_history.csv": channel_history_warnings(scaled)},
    )
    settings = load_settings(data_dir=tmp_path, shop_dir=shop.root)
    context = PlanningContext(shop=shop, model=competent_model(), backend="fake", model_name="scripted-fake",
                              settings=settings)
    brief = "Summer dresses for women 25-40, $50,000 over 4 weeks on email and search."
    connection = sqlite3.connect(str(tmp_path / "checkpoints.sqlite"), check_same_thread=False)
    plan = run_plan(brief, context, SqliteSaver(connection), thread_id="h1").plan
    assert plan is not None
    messages = {f.code.value: [] for f in plan.flags}
    for flag in plan.flags:
        messages[flag.code.value].append(flag.message)
    assert any(m.startswith("channel_history.csv: spend_search never exceeds 1") for m in messages["data_quality"])
    assert messages["observational_history"]
    assert any("does not say how the campaign history was assigned" in a.text for a in plan.assumptions)
    email = [line for line in plan.forecast if line.channel == "email"]
    assert email and all(line.source == "uplift_model" and line.assignment == "observational" for line in email)
    search = next(a for a in plan.budget.allocations if a.channel == "search")
    assert search.source == "prior"  # no curve fitted from spend in unknown units


def test_a_plain_difference_is_refused_on_observational_history(tmp_path: Path) -> None:
    history, _ = confounded_history(n=1_000, seed=5)
    models = fit_uplift_models(history, shop_of(tmp_path, history, "observational").campaign_spec)
    fit = models.fits["Mail"]["conversion"]
    with pytest.raises(ValueError, match="confounded"):
        estimate_segment(fit, np.ones(len(history), dtype=bool), method="difference_in_means")
