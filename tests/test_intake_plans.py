"""Briefs as marketers write them, planned end to end with the scripted model on the demo shop.

An "only" list with no catalog channel spends nothing and asks; an ambiguous amount spends nothing and
asks; a behavioural audience narrows the forecast's history customers.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from campaign_planner.data.shop import load_shop
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.planning import run_plan
from campaign_planner.settings import load_settings
from tests.fake_planner_model import competent_model


@pytest.fixture(scope="module")
def shop(demo_shop_dir: Path):
    return load_shop(demo_shop_dir)


def _plan(shop, tmp_path: Path, brief: str):
    settings = load_settings(data_dir=tmp_path, shop_dir=shop.root)
    context = PlanningContext(shop=shop, model=competent_model(), backend="fake", model_name="scripted-fake",
                              settings=settings)
    connection = sqlite3.connect(str(tmp_path / "checkpoints.sqlite"), check_same_thread=False)
    outcome = run_plan(brief, context, SqliteSaver(connection), thread_id="t1")
    assert outcome.plan is not None
    return outcome.plan


def test_an_only_list_of_unknown_channels_spends_nothing_and_asks(shop, tmp_path: Path) -> None:
    plan = _plan(shop, tmp_path, "Dress launch, $10,000 over 2 weeks. Use carrier pigeons and skywriting only.")
    assert "unknown_channel" in plan.flag_codes()
    assert plan.brief.channels_only and plan.brief.channels_allowed == []
    spent = sum(a.spend for a in plan.budget.allocations) if plan.budget else 0.0
    assert spent == 0.0
    assert any("catalog" in q for q in plan.open_questions)
    assert "validation_failed" not in plan.flag_codes()


def test_an_email_only_brief_spends_only_on_email(shop, tmp_path: Path) -> None:
    plan = _plan(shop, tmp_path, "Summer dresses with an email-only campaign over 2 weeks, budget $8,000.")
    assert plan.budget is not None
    assert {a.channel for a in plan.budget.allocations if a.spend > 0} == {"email"}


def test_an_ambiguous_budget_spends_nothing_and_asks(shop, tmp_path: Path) -> None:
    plan = _plan(shop, tmp_path, "Spring launch over two weeks, budget 6.000, email and search.")
    assert "ambiguous_amount" in plan.flag_codes()
    assert plan.brief.budget is None and plan.budget is None
    assert any("6.000" in q for q in plan.open_questions)


def test_a_traditional_chinese_brief_is_read_and_gets_traditional_copy(shop, tmp_path: Path) -> None:
    from campaign_planner.intake.normalise import CJK, to_traditional

    plan = _plan(shop, tmp_path, "預算30萬元，為期兩週，連衣裙，小紅書和微信")
    brief = plan.brief
    assert brief.text == "預算30萬元，為期兩週，連衣裙，小紅書和微信" and brief.script == "traditional"
    assert brief.budget is not None and (brief.budget.amount, brief.budget.currency) == (300_000, "CNY")
    assert brief.weeks == 2 and brief.channels_allowed == ["xiaohongshu", "wechat"]
    assert brief.audience.departments == ["Dresses"]
    texts = [v.headline + v.body + v.cta for cell in plan.messaging for v in cell.variants]
    assert texts and any(CJK.search(t) for t in texts)
    assert all(to_traditional(t) == t for t in texts)


def test_the_briefs_questions_are_answered_from_tool_numbers(shop, tmp_path: Path) -> None:
    plan = _plan(shop, tmp_path, "Dress launch for women 25-40, $20,000 over 2 weeks, email and Instagram. Which "
                 "segments should we prioritise, and what lift should we expect versus not emailing? How much "
                 "goes to Instagram? Can we book a celebrity?")
    kinds = {a.kind: a for a in plan.answers}
    assert set(kinds) == {"which_customers", "what_lift", "how_much_channel"}
    lift = kinds["what_lift"]
    email_lines = [line for line in plan.forecast if line.channel == "email"]
    assert email_lines and all(
        lift.numbers[f"{line.segment_id}.email.expected"] == line.expected for line in email_lines)
    instagram = next(a for a in plan.budget.allocations if a.channel == "instagram")  # type: ignore[union-attr]
    assert kinds["how_much_channel"].numbers["instagram.spend"] == instagram.spend
    revenue = {s.id: sum(x.incremental_revenue for x in plan.forecast if x.segment_id == s.id) for s in plan.segments}
    assert all(kinds["which_customers"].numbers[f"{sid}.incremental_revenue"] == round(v, 2)
               for sid, v in revenue.items())
    assert any("celebrity" in q and "no tool" in q for q in plan.open_questions)
    assert "validation_failed" not in plan.flag_codes()


def test_a_chinese_brief_gets_chinese_report_headings_and_segment_names(shop, tmp_path: Path) -> None:
    import re

    from campaign_planner.render import render_plan

    plan = _plan(shop, tmp_path, "母亲节促销，预算3万元，两周，连衣裙，邮件和微信")
    assert plan.segments and all(s.display_name for s in plan.segments)
    assert all(s.display_name != s.name for s in plan.segments)  # the English name is kept beside it
    markdown = render_plan(plan, "md")
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]  # the title names the product
    assert headings and not [h for h in headings if re.search(r"[A-Za-z]", h)]
    # The summary and the rationale stated from the tools name segments and channels in Chinese.
    assert all(s.display_name in plan.summary and s.name not in plan.summary for s in plan.segments)
    stated = [r.decision for r in plan.rationale if r.evidence_ids]
    targets = [d for d in stated if d.startswith("面向「")]
    spends = [d for d in stated if d.startswith("在") and "投入" in d]
    assert len(targets) == len(plan.segments) and spends, stated
    assert not [d for d in targets + spends if re.search(r"[A-Za-z]{3,}", d.replace("ROI", ""))], stated


def test_a_chinese_plans_report_is_chinese_prose_flags_and_profiles_included(shop, tmp_path: Path) -> None:
    from evals.zh_prose import latin_lines

    from campaign_planner.render import render_plan

    plan = _plan(shop, tmp_path, "冬季外套清仓，预算8万元，为期两周，目标50岁以上的顾客，渠道：微信和微博。")
    assert plan.flags and plan.assumptions and plan.measurement is not None
    # The tools word notices in English with a key; the plan restates every keyed one in Chinese.
    keyed = [item for item in [*plan.flags, *plan.assumptions] if item.key]
    assert keyed and all(re.search(r"[\u4e00-\u9fff]", getattr(i, "message", None) or i.text) for i in keyed)
    assert all(s.display_profile is not None for s in plan.segments)
    english = latin_lines(render_plan(plan, "md"))
    assert english == [], english


def test_a_budget_in_a_currency_with_no_rate_is_not_split_and_asks_for_one(shop, tmp_path: Path) -> None:
    from dataclasses import replace

    plan = _plan(replace(shop, currency="SEK"), tmp_path, "Dress launch, $10,000 over 2 weeks on email and search.")
    assert plan.budget is None or not any(a.spend for a in plan.budget.allocations)
    flag = next(f for f in plan.flags if f.key == "flag_no_rate")
    assert "USD" in flag.message and "SEK" in flag.message
    assert "What rate converts USD to SEK for this plan?" in plan.open_questions
