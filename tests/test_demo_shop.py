"""The seeded demo shop: realistic, deterministic, and its planted truth matches its data."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from campaign_planner.data.demo import (
    HTML_TEXT,
    INJECTION_TEXTS,
    PII_TEXT,
    demo_files,
    geometric_adstock,
    hill,
    load_demo_truth,
    write_demo_shop,
)
from campaign_planner.data.shop import Shop, ShopDataError, load_shop_with_report


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Shop, dict, float]:
    root = tmp_path_factory.mktemp("demo") / "shop"
    started = time.perf_counter()
    shop = write_demo_shop(root)
    seconds = time.perf_counter() - started
    return shop, load_demo_truth(root), seconds


def test_demo_shop_is_written_fast_and_round_trips_without_issues(demo: tuple[Shop, dict, float]) -> None:
    shop, _, seconds = demo
    assert seconds < 5.0, f"demo generation took {seconds:.2f} s"
    loaded, report = load_shop_with_report(shop.root)
    assert not report.degraded and report.rows_skipped == 0 and not report.empty_text_review_ids
    assert (loaded.name, loaded.currency) == ("Demo Clothing Shop", "USD")
    assert loaded.reviews.equals(shop.reviews)
    assert len(loaded.reviews) == 2_400 and len(loaded.campaign_history) == 20_000
    assert len(loaded.channel_history) == 104
    assert loaded.history_channels == ["email", "sms", "instagram", "facebook", "search", "display", "tiktok"]
    assert loaded.data_hashes == shop.data_hashes
    spec = loaded.campaign_spec
    assert spec.control == "Control"
    assert spec.treatment_channels == {"Email promo": "email", "SMS promo": "sms", "Push promo": "push"}
    converted = loaded.campaign_history["conversion"] == 1
    assert spec.average_order_value == round(loaded.campaign_history.loc[converted, "revenue"].mean(), 2)


def test_same_seed_gives_identical_bytes_and_another_seed_differs() -> None:
    first, second, other = demo_files(11), demo_files(11), demo_files(12)
    assert first == second
    assert all(
        first[name] != other[name] for name in ("reviews.csv", "campaign_history.csv", "channel_history.csv")
    )


def test_every_review_has_its_planted_segment(demo: tuple[Shop, dict, float]) -> None:
    shop, truth, _ = demo
    reviews = shop.reviews.assign(segment=shop.reviews["review_id"].map(truth["reviews"]["review_segments"]))
    assert reviews["segment"].notna().all() and len(truth["reviews"]["review_segments"]) == len(reviews)
    segments = truth["reviews"]["segments"]
    assert len(segments) == 4
    for label, spec in segments.items():
        members = reviews[reviews["segment"] == label]
        assert len(members) == spec["reviews"] > 300
        assert members["age"].between(*spec["age_range"]).all()
        assert set(members["department"]) == set(spec["departments"])
    by_segment = reviews.groupby("segment")
    ratings = by_segment["rating"].mean()
    assert (
        ratings["bottoms_sizing_frustration"]
        < 2.6
        < 4.3
        < ratings.drop(["bottoms_sizing_frustration", "background"]).min()
    )
    # The dominant theme is what each segment writes about.
    themes = {
        "young_dress_fit": r"flatter",
        "mature_jacket_warmth": r"warm|quality|well made",
        "bottoms_sizing_frustration": r"small|tight|size up|sizing",
        "comfort_tops_intimates": r"soft|comfort",
    }
    for label, pattern in themes.items():
        inside = by_segment.get_group(label)["text"].str.contains(pattern, case=False).mean()
        outside = reviews[reviews["segment"] != label]["text"].str.contains(pattern, case=False).mean()
        assert inside > 0.85 and inside > 2 * outside, (label, inside, outside)


def test_reviews_are_diverse_and_review_sized(demo: tuple[Shop, dict, float]) -> None:
    shop, truth, _ = demo
    special = {
        i
        for key in ("injection_review_ids", "html_review_ids", "pii_review_ids")
        for i in truth["reviews"][key]
    }
    texts = shop.reviews.loc[~shop.reviews["review_id"].isin(special), "text"]
    words = texts.str.split().str.len()
    assert words.between(15, 80).all() and 40 < words.mean() < 65
    assert texts.is_unique
    assert texts.str.count(r"[.!?](\s|$)").min() >= 2  # several sentences each
    vocabulary = {w for text in texts for w in re.findall(r"[a-z']+", text.lower())}
    assert len(vocabulary) > 600
    sentences = {s for text in texts for s in re.split(r"(?<=[.!?])\s+", text)}
    assert len(sentences) > 1_500  # templates x fillers, not a handful of stock reviews
    assert 0.05 < (shop.reviews["title"] == "").mean() < 0.2
    assert set(shop.reviews["department"]) == {"Dresses", "Tops", "Bottoms", "Jackets", "Intimate"}
    assert shop.reviews["age"].between(18, 75).all()
    assert shop.reviews.groupby(shop.reviews["rating"] >= 4)["recommended"].mean()[True] > 0.9


def test_adversarial_reviews_are_planted_once_each(demo: tuple[Shop, dict, float]) -> None:
    shop, truth, _ = demo
    text = shop.reviews.set_index("review_id")["text"]
    planted = truth["reviews"]
    ids = planted["injection_review_ids"] + planted["html_review_ids"] + planted["pii_review_ids"]
    assert len(planted["injection_review_ids"]) == 2 and len(set(ids)) == 4
    for review_id, extra in zip(planted["injection_review_ids"], INJECTION_TEXTS, strict=True):
        assert text[review_id].endswith(extra)
    assert "<script>alert(1)</script> **bold**" in text[planted["html_review_ids"][0]]
    pii = text[planted["pii_review_ids"][0]]
    assert re.search(r"[\w.]+@[\w.]+\.\w+", pii) and re.search(r"\(\d{3}\) \d{3}-\d{4}", pii)
    for extra in (*INJECTION_TEXTS, HTML_TEXT, PII_TEXT):
        assert text.str.contains(extra, regex=False).sum() == 1


def test_campaign_outcomes_follow_the_recorded_treatment_effects(demo: tuple[Shop, dict, float]) -> None:
    shop, truth, _ = demo
    history = shop.campaign_history
    planted = truth["campaign_history"]
    assert history["treatment"].value_counts().to_dict() == {
        t: 5_000 for t in ("Control", *planted["treatment_channels"])
    }
    effects = planted["true_average_treatment_effects"]
    means = history.groupby("treatment")[["visit", "conversion", "revenue"]].mean()
    control = means.loc["Control"]
    for treatment in planted["treatment_channels"]:
        for metric in ("visit", "conversion"):
            observed = means.loc[treatment, metric] - control[metric]
            p = control[metric]
            standard_error = np.sqrt(2 * p * (1 - p) / 5_000)
            assert abs(observed - effects[treatment]["overall"][metric]) < 3.5 * standard_error
    # The planted heterogeneity: e-mail lifts 25-40 dress buyers most, SMS lifts the young most.
    email = effects["Email promo"]
    assert (
        email["age 25-40 and department=Dresses"]["conversion"] > 3 * email["department=Tops"]["conversion"]
    )
    sms = effects["SMS promo"]
    assert sms["age<30"]["visit"] > sms["age 30-39"]["visit"] > 2 * sms["age>=40"]["visit"]
    assert effects["Push promo"]["overall"]["conversion"] < effects["Email promo"]["overall"]["conversion"]
    assert abs(control["visit"] - planted["true_control_means"]["visit"]) < 0.02


def test_channel_history_matches_its_true_adstock_and_saturation(demo: tuple[Shop, dict, float]) -> None:
    shop, truth, _ = demo
    history = shop.channel_history
    planted = truth["channel_history"]
    spend = history.filter(like="spend_").sum(axis=1)
    assert spend.between(5_000, 40_000).all()
    explained = np.array(planted["weekly_baseline"])
    for channel, params in planted["channels"].items():
        x = history[f"spend_{channel}"].to_numpy()
        response = hill(
            geometric_adstock(x, params["decay"]), params["half_saturation"], params["slope"], params["beta"]
        )
        assert np.allclose(response, planted["weekly_contributions"][channel], atol=0.01)
        assert 0.5 < params["roi"] < 10 and params["weeks_on_air"] >= 40
        explained = explained + response
    residual = history["revenue"].to_numpy() - explained
    noise_sd = planted["baseline"]["noise_sd"]
    assert abs(residual.mean()) < 3 * noise_sd / np.sqrt(len(residual))
    assert 0.7 * noise_sd < residual.std() < 1.3 * noise_sd
    # Flighted channels really go dark, so their curves can be told apart.
    assert (history["spend_display"] == 0).sum() >= 20 and (history["spend_tiktok"] == 0).sum() >= 20


def test_existing_folder_is_not_replaced_without_overwrite(tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ShopDataError, match="overwrite=True"):
        write_demo_shop(dest)
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]
    shop = write_demo_shop(dest, seed=3, overwrite=True)
    assert load_demo_truth(dest)["seed"] == 3 and not (dest / "notes.txt").exists() and shop.root == dest
