"""The brief parser reads budgets, periods, channels, audiences and offers by rule, in English and Chinese."""

from __future__ import annotations

import json

import pytest

from campaign_planner.agents.brief_parser import find_discount, find_money, find_weeks, parse_brief
from campaign_planner.data.catalog import default_catalog
from tests.conftest import BRIEFS

CATALOG = default_catalog()


def codes(parsed) -> set[str]:
    return {flag.code.value for flag in parsed.flags}


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("Total budget $50,000 over 4 weeks", 50_000, "USD"),
        ("Budget 20k EUR, 3 weeks", 20_000, "EUR"),
        ("预算30万元人民币,为期两周", 300_000, "CNY"),
        ("We can spend $8,000 in 2 weeks", 8_000, "USD"),
        ("Budget: $120k across 6 weeks", 120_000, "USD"),
        ("£1.5m for the quarter", 1_500_000, "GBP"),
    ],
)
def test_budget_and_currency(text: str, amount: float, currency: str) -> None:
    brief = parse_brief(text, CATALOG).brief
    assert brief.budget is not None
    assert brief.budget.amount == amount
    assert brief.budget.currency == currency


def test_channel_bounds_are_not_the_total_budget() -> None:
    text = ("Budget: $120k across 6 weeks. Channels: email, Facebook, Instagram, TikTok, display, search. "
            "Facebook must get at least $10k; TikTok at most $25k.")
    brief = parse_brief(text, CATALOG).brief
    assert brief.budget is not None and brief.budget.amount == 120_000
    bounds = {b.channel: (b.min_spend, b.max_spend) for b in brief.channel_bounds}
    assert bounds == {"facebook": (10_000, None), "tiktok": (None, 25_000)}
    assert brief.channels_allowed == ["email", "facebook", "instagram", "tiktok", "display", "search"]


def test_exclusions_and_no_allowed_list() -> None:
    brief = parse_brief("Clear out winter jackets. Budget 20k EUR, 3 weeks, no TV and no print.", CATALOG).brief
    assert brief.channels_excluded == ["print", "tv"]
    assert brief.channels_allowed == []
    assert brief.audience.departments == ["Jackets"]


def test_missing_budget_is_flagged_with_an_open_question() -> None:
    parsed = parse_brief("Plan a campaign for our intimates line for Valentine's Day.", CATALOG)
    assert parsed.brief.budget is None
    assert codes(parsed) == {"missing_budget"}
    assert any("budget" in q for q in parsed.open_questions)


@pytest.mark.parametrize("text", ["Budget of -$5,000 for email over 2 weeks", "$0 budget for dresses", "预算-5万元"])
def test_negative_or_zero_budget_is_invalid(text: str) -> None:
    parsed = parse_brief(text, CATALOG)
    assert parsed.budget_invalid
    assert parsed.brief.budget is None
    assert "invalid_budget" in codes(parsed)


def test_unknown_channel_is_flagged_not_dropped_silently() -> None:
    parsed = parse_brief("Use email, Snapchat and search. $10k, 3 weeks", CATALOG)
    assert "unknown_channel" in codes(parsed)
    assert parsed.brief.channels_allowed == ["email", "search"]
    assert any("snapchat" in q for q in parsed.open_questions)


def test_contradictory_channels_are_flagged_and_excluded() -> None:
    parsed = parse_brief("No email. Use email and SMS. $5k over 2 weeks", CATALOG)
    assert "contradictory_brief" in codes(parsed)
    assert "email" in parsed.brief.channels_excluded
    assert "email" not in parsed.brief.channels_allowed


def test_chinese_brief() -> None:
    text = ("为我们的新款针织上衣做一次618大促活动。预算30万元人民币,为期两周。"
            "目标人群:25到35岁的都市女性。渠道:微信、小红书、抖音。")
    brief = parse_brief(text, CATALOG).brief
    assert brief.language == "zh"
    assert brief.weeks == 2
    assert brief.channels_allowed == ["wechat", "xiaohongshu", "douyin"]
    assert (brief.audience.age_min, brief.audience.age_max) == (25, 35)
    assert brief.audience.departments == ["Tops"]


@pytest.mark.parametrize(
    ("text", "percent", "none"),
    [("Offer: 15% off first order", 15.0, False), ("a 10% apology code", 10.0, False),
     ("全场85折", 15.0, False), ("八折优惠", 20.0, False), ("no discount this time", None, True),
     ("Summer dress launch", None, False)],
)
def test_discounts(text: str, percent: float | None, none: bool) -> None:
    assert find_discount(text) == (percent, none)


@pytest.mark.parametrize(("text", "weeks"), [("over 4 weeks", 4), ("为期两周", 2), ("for one month", 4),
                                             ("10 days", 2), ("6-week flight", 6)])
def test_weeks(text: str, weeks: int) -> None:
    assert find_weeks(text) == weeks


def test_percentages_and_durations_are_not_money() -> None:
    assert find_money("15% off over 4 weeks for women 25-40") == []


def test_dev_briefs_parse_to_their_expectations() -> None:
    path = BRIEFS / "dev.jsonl"
    if not path.is_file():
        pytest.skip(f"dev briefs not found at {path}")
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        expect = case["expect"]
        parsed = parse_brief(case["brief"], CATALOG)
        brief = parsed.brief
        if expect.get("budget") is None:
            assert brief.budget is None, case["id"]
        else:
            assert brief.budget is not None and brief.budget.amount == expect["budget"], case["id"]
            assert brief.budget.currency == expect["currency"], case["id"]
        if "weeks" in expect:
            assert brief.weeks == expect["weeks"], case["id"]
        if expect.get("allowed_channels"):
            assert brief.channels_allowed == expect["allowed_channels"], case["id"]
        assert set(brief.channels_excluded) == set(expect.get("excluded_channels", [])), case["id"]
        for key in ("age_min", "age_max"):
            if key in expect.get("audience", {}):
                assert getattr(brief.audience, key) == expect["audience"][key], case["id"]
        if "department" in expect.get("audience", {}):
            assert expect["audience"]["department"] in brief.audience.departments, case["id"]
        assert brief.language == expect["language"], case["id"]
        if "offer_percent" in expect:
            assert brief.offer.discount_percent == expect["offer_percent"], case["id"]
        assert set(expect.get("must_flag", [])) <= codes(parsed), case["id"]
