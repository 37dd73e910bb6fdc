"""Reading follow-ups by rules: which kind, which brief patch, which tools re-run (English and Chinese)."""

from __future__ import annotations

import pytest

from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import CampaignPlan
from campaign_planner.graphs.followup import apply_patches, classify_follow_up, split_clauses
from tests.test_render import full_plan

CATALOG = default_catalog()


@pytest.fixture
def plan() -> CampaignPlan:
    return full_plan()


def _spend(plan: CampaignPlan, channel: str) -> float:
    assert plan.budget is not None
    return next(a.spend for a in plan.budget.allocations if a.channel == channel)


@pytest.mark.parametrize("text", ["move $5k from search to email", "Move 5,000 from paid search into e-mail",
                                  "shift $5,000 from Search over to the newsletter", "从搜索挪5000到邮件"])
def test_a_budget_move_pins_both_channels(plan: CampaignPlan, text: str) -> None:
    follow_up = classify_follow_up(text, plan, CATALOG)
    assert follow_up.kinds == ["budget"] and not follow_up.full_replan and not follow_up.problems
    assert follow_up.rerun == ["channel_optimizer", "forecaster"] and follow_up.copy_channels is None
    pins = {p["channel"]: p["amount"] for p in follow_up.patches if p["op"] == "pin"}
    assert pins == {"search": _spend(plan, "search") - 5000, "email": _spend(plan, "email") + 5000}
    brief = apply_patches(plan.brief.model_dump(mode="json"), follow_up.patches)
    bounds = {b["channel"]: (b["min_spend"], b["max_spend"]) for b in brief["channel_bounds"]}
    assert bounds["search"] == (pins["search"],) * 2 and bounds["email"] == (pins["email"],) * 2


def test_a_percentage_moves_a_share_of_the_source(plan: CampaignPlan) -> None:
    follow_up = classify_follow_up("Move 10% from search to email", plan, CATALOG)
    pins = {p["channel"]: p["amount"] for p in follow_up.patches if p["op"] == "pin"}
    assert pins["search"] == pytest.approx(_spend(plan, "search") * 0.9, abs=0.01)


def test_moves_that_cannot_be_made_change_nothing(plan: CampaignPlan) -> None:
    too_much = classify_follow_up("move $900k from search to email", plan, CATALOG)
    assert too_much.patches == [] and too_much.rerun == [] and "has only" in too_much.problems[0]
    assert "Not changed" in too_much.summary()
    wrong_currency = classify_follow_up("move €5k from search to email", plan, CATALOG)
    assert wrong_currency.patches == [] and "in USD" in wrong_currency.problems[0]


def test_a_move_to_a_channel_outside_the_mix_adds_it(plan: CampaignPlan) -> None:
    follow_up = classify_follow_up("Move $2,000 from Instagram to SMS", plan, CATALOG)
    assert {"op": "include_channel", "channel": "sms"} in follow_up.patches
    brief = apply_patches(plan.brief.model_dump(mode="json"), follow_up.patches)
    assert "sms" in brief["channels_allowed"]


@pytest.mark.parametrize(("text", "amount"), [("Cut the budget to $40k", 40_000),
                                              ("increase the total budget by $10,000", 60_000),
                                              ("预算改为6万", 60_000),
                                              # A percentage is of the current total ($50k), not currency units.
                                              ("cut the budget by 10 percent", 45_000),
                                              ("Cut the budget by 10%", 45_000)])
def test_total_budget_changes(plan: CampaignPlan, text: str, amount: float) -> None:
    follow_up = classify_follow_up(text, plan, CATALOG)  # no currency named: the plan's
    assert follow_up.patches == [{"op": "budget", "amount": amount, "currency": "USD"}]
    assert follow_up.rerun == ["channel_optimizer", "forecaster"]


def test_dropping_and_adding_channels(plan: CampaignPlan) -> None:
    drop = classify_follow_up("Drop search", plan, CATALOG)
    assert drop.patches == [{"op": "exclude_channel", "channel": "search"}] and drop.kinds == ["budget"]
    brief = apply_patches(plan.brief.model_dump(mode="json"), drop.patches)
    assert "search" not in brief["channels_allowed"] and "search" in brief["channels_excluded"]
    add = classify_follow_up("Add TikTok", plan, CATALOG)
    assert {"op": "include_channel", "channel": "tiktok"} in add.patches


@pytest.mark.parametrize(("text", "change"), [
    ("exclude customers under 25", {"age_min": 25}),
    ("Leave out shoppers over 60", {"age_max": 60}),
    ("only women aged 30-45", {"age_min": 30, "age_max": 45}),
    ("focus on jackets", {"departments": ["Jackets"]}),
    ("排除25岁以下的顾客", {"age_min": 25}),
])
def test_audience_changes_redo_the_segments_and_what_follows(plan: CampaignPlan, text: str, change: dict) -> None:
    follow_up = classify_follow_up(text, plan, CATALOG)
    assert follow_up.kinds == ["audience"]
    assert follow_up.patches == [{"op": "audience", **change}]
    assert follow_up.rerun == ["profile_lookup", "forecaster", "copywriter"] and follow_up.copy_channels is None


def test_an_empty_audience_is_refused(plan: CampaignPlan) -> None:
    follow_up = classify_follow_up("exclude customers over 20", plan, CATALOG)  # the brief says 25-40
    assert follow_up.patches == [] and follow_up.rerun == [] and "empty" in follow_up.problems[0]


def test_copy_changes_rewrite_only_the_named_channels(plan: CampaignPlan) -> None:
    shorter = classify_follow_up("Make the email copy shorter", plan, CATALOG)
    assert shorter.kinds == ["copy"] and shorter.rerun == [] and shorter.copy_channels == ["email"]
    limits = shorter.copy_limits["email"]
    longest = max(len(v.body) for m in plan.messaging if m.channel == "email" for v in m.variants)
    assert limits["body_max"] < longest and limits["headline_max"] <= CATALOG["email"].copy_rules.headline_max
    assert shorter.patches == []  # a one-off rewrite, not a brief change
    tone = classify_follow_up("make the Instagram copy more playful", plan, CATALOG)
    assert tone.copy_channels == ["instagram"] and tone.copy_tone == "more playful" and tone.patches == []
    everywhere = classify_follow_up("Tone: warmer", plan, CATALOG)
    assert everywhere.copy_channels == ["email", "instagram"] and everywhere.patches == [{"op": "tone",
                                                                                          "value": "warmer"}]
    missing = classify_follow_up("make the SMS copy shorter", plan, CATALOG)
    assert missing.copy_channels is None and "no copy for SMS" in missing.problems[0]


def test_several_instructions_and_unknown_ones(plan: CampaignPlan) -> None:
    assert split_clauses("move $5k from search to email and make the email copy shorter") == [
        "move $5k from search to email", "make the email copy shorter"]
    both = classify_follow_up("move $5k from search to email and make the email copy shorter", plan, CATALOG)
    assert both.kinds == ["budget", "copy"] and both.rerun == ["channel_optimizer", "forecaster"]
    assert both.copy_channels == ["email"] and not both.full_replan
    unknown = classify_follow_up("Lean into sustainability. Move $1k from search to email", plan, CATALOG)
    assert unknown.full_replan and unknown.unknown == ["Lean into sustainability"]
    assert any(p["op"] == "pin" for p in unknown.patches)  # kept for the replan
    assert "whole plan was made again" in unknown.summary()


@pytest.mark.parametrize(("text", "channels"), [("only email from now on", ["email"]),
                                                ("Email and SMS only", ["email", "sms"]),
                                                ("just e-mail please", ["email"]), ("只用邮件", ["email"]),
                                                ("僅用微信", ["wechat"])])
def test_only_forms_restrict_the_mix(plan: CampaignPlan, text: str, channels: list[str]) -> None:
    follow_up = classify_follow_up(text, plan, CATALOG)
    assert follow_up.patches == [{"op": "only_channels", "channels": channels}] and not follow_up.full_replan
    assert follow_up.rerun == ["channel_optimizer", "forecaster"]
    brief = apply_patches(plan.brief.model_dump(mode="json"), follow_up.patches)
    assert brief["channels_allowed"] == channels and brief["channels_only"] is True
    assert all(b["channel"] in channels for b in brief["channel_bounds"])


@pytest.mark.parametrize(("text", "days", "weeks"), [("make it 10 days", 10, 2), ("run it for three weeks", 21, 3),
                                                     ("改成两周", 14, 2), ("extend to a month and a half", 45.66, 7)])
def test_duration_changes(plan: CampaignPlan, text: str, days: float, weeks: int) -> None:
    follow_up = classify_follow_up(text, plan, CATALOG)
    assert not follow_up.full_replan and follow_up.rerun == ["channel_optimizer", "forecaster"]
    (patch,) = follow_up.patches
    assert patch["op"] == "duration" and patch["weeks"] == weeks and patch["days"] == pytest.approx(days, abs=0.01)
    brief = apply_patches(plan.brief.model_dump(mode="json"), follow_up.patches)
    assert brief["weeks"] == weeks and brief["days"] == pytest.approx(days, abs=0.01)


def test_a_verb_is_not_a_channel_in_a_follow_up(plan: CampaignPlan) -> None:
    # "push" is the verb here: the follow-up adds Instagram, not App push.
    follow_up = classify_follow_up("add Instagram and push on it harder", plan, CATALOG)
    assert not any(p.get("channel") == "push" for p in follow_up.patches)


def test_a_length_comes_with_another_change_in_the_same_clause(plan: CampaignPlan) -> None:
    follow_up = classify_follow_up("only email for 10 days", plan, CATALOG)
    ops = {p["op"] for p in follow_up.patches}
    assert ops == {"only_channels", "duration"} and not follow_up.full_replan
    copy = classify_follow_up("make the email copy shorter for the 2-week sale", plan, CATALOG)
    assert not any(p["op"] == "duration" for p in copy.patches)
