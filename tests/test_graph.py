"""The planning graph end to end with the scripted fake model, a real Chroma store and real SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from campaign_planner.data.shop import load_shop
from campaign_planner.domain import CampaignPlan
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.graphs.graph import build_graph
from campaign_planner.planning import run_plan
from campaign_planner.settings import load_settings
from tests.fake_planner_model import broken_model, competent_model

BRIEF = ("We're launching our new summer dress collection. Target women aged 25-40 who care about fit. "
         "Total budget $50,000 over 4 weeks. Use email, Instagram and paid search. Offer: 15% off first order.")


@pytest.fixture(scope="module")
def shop(demo_shop_dir: Path):
    return load_shop(demo_shop_dir)


def _context(shop, model, tmp_path: Path, review: bool = False) -> PlanningContext:
    settings = load_settings(data_dir=tmp_path, shop_dir=shop.root)
    return PlanningContext(shop=shop, model=model, backend="fake", model_name="scripted-fake", settings=settings,
                           review=review)


def _run(shop, model, tmp_path: Path, brief: str = BRIEF, review: bool = False):
    context = _context(shop, model, tmp_path, review)
    connection = sqlite3.connect(str(tmp_path / "checkpoints.sqlite"), check_same_thread=False)
    events: list[dict] = []
    outcome = run_plan(brief, context, SqliteSaver(connection), thread_id="t1", on_event=events.append)
    return outcome, events, connection


def codes(plan: CampaignPlan) -> set[str]:
    return plan.flag_codes()


def test_complete_plan_with_a_competent_model(shop, tmp_path: Path) -> None:
    outcome, events, _ = _run(shop, competent_model(), tmp_path)
    plan = outcome.plan
    assert plan is not None
    assert "validation_failed" not in codes(plan), [f.message for f in plan.flags]
    assert plan.budget is not None and abs(sum(a.spend for a in plan.budget.allocations) - 50_000) < 0.01
    assert {a.channel for a in plan.budget.allocations if a.spend > 0} <= {"email", "instagram", "search"}
    assert plan.segments and all(len(s.evidence) >= 3 for s in plan.segments)
    review_ids = set(shop.reviews["review_id"])
    assert all(e.review_id in review_ids for s in plan.segments for e in s.evidence)
    assert plan.forecast and plan.messaging and plan.measurement is not None
    # One measurement test per forecast channel: e-mail (owned, with history) a customer holdout sized on the
    # forecast's lift; paid channels a geo holdout on a stated assumption.
    tests = {test.channel: test for test in plan.measurement.channels}
    assert set(tests) == {line.channel for line in plan.forecast}
    assert (tests["email"].design, tests["email"].lift_source) == ("customer_holdout", "forecast")
    assert all(t.design == "geo_holdout" and t.lift_source == "assumption" for c, t in tests.items() if c != "email")
    # The demo shop's e-mail history ranks customers by uplift: the plan says whom to include.
    assert {row.channel for row in plan.targeting} == {"email"}
    assert any(r.evidence_ids == ["targeting:email"] for r in plan.rationale)
    # The agent chose every tool itself; the guard had nothing to fill.
    assert [t.split("(")[1] for t in plan.provenance.tool_calls] == ["planner)"] * 4
    assert any(e.get("tool") == "profile_lookup" for e in events)
    # The model's claim of "987654321 dollars" is not a tool figure: that sentence is gone.
    assert "987654321" not in plan.summary and plan.summary
    assert "degraded_output" in codes(plan)
    # Evidence ids the model made up never reach the plan.
    assert all("does-not-exist" not in r.evidence_ids for r in plan.rationale)
    assert plan.provenance.llm_calls >= 3 and plan.provenance.completion_tokens > 0
    # The demo shop's brand.yaml puts its legal footer on every e-mail variant, and the check says so.
    email = [m for m in plan.messaging if m.channel == "email"]
    footers = {v.footer for m in email for v in m.variants}
    assert email and len(footers) == 1 and footers.pop().startswith("Demo Clothing Shop, 100 Market Street")
    assert all(c.passed for m in email for c in m.checks if c.rule.endswith(":legal_footer"))
    # Time per tool and the copy rule tally travel with the plan (the evals read them from there).
    assert set(plan.provenance.tool_seconds) == {"profile_lookup", "channel_optimizer", "forecaster", "copywriter"}
    checks = plan.provenance.copy_checks
    assert checks["variants"] == sum(len(m.variants) for m in plan.messaging) > 0
    assert checks["first_try"] <= checks["after_model_repair"] <= checks["after_repair"] <= checks["final"]


def test_weak_model_still_yields_a_complete_labelled_plan(shop, tmp_path: Path) -> None:
    outcome, _, _ = _run(shop, broken_model(), tmp_path)
    plan = outcome.plan
    assert plan is not None
    assert "validation_failed" not in codes(plan)
    assert "degraded_output" in codes(plan)
    assert plan.segments and plan.forecast and plan.budget and plan.messaging
    assert all(call.endswith("(guard)") for call in plan.provenance.tool_calls)
    assert all(m.degraded for m in plan.messaging)
    assert plan.summary  # the deterministic summary built from tool outputs


def test_invalid_budget_gives_no_numbers(shop, tmp_path: Path) -> None:
    outcome, _, _ = _run(shop, competent_model(), tmp_path, brief="Dress launch for women 25-40, budget -$5,000, "
                         "email and search, 2 weeks.")
    plan = outcome.plan
    assert plan is not None
    assert "invalid_budget" in codes(plan)
    assert plan.budget is None and plan.forecast == []
    assert "validation_failed" not in codes(plan)


def test_missing_budget_is_flagged_and_the_assumption_stated(shop, tmp_path: Path) -> None:
    outcome, _, _ = _run(shop, competent_model(), tmp_path,
                         brief="Plan a campaign for our intimates line for Valentine's Day.")
    plan = outcome.plan
    assert plan is not None
    assert "missing_budget" in codes(plan)
    assert plan.brief.budget is None
    assert any("budget" in q.lower() for q in plan.open_questions)
    if plan.budget is not None:
        assert any("assumes" in a.text and a.confidence < 0.5 for a in plan.assumptions)


def test_review_pauses_and_resumes_from_the_sqlite_checkpoint(shop, tmp_path: Path) -> None:
    outcome, _, connection = _run(shop, competent_model(), tmp_path, review=True)
    assert outcome.awaiting_review and outcome.plan is not None and outcome.plan.status == "draft"
    connection.close()
    # A new process would open the same file: a fresh saver and a fresh graph resume the thread.
    reopened = sqlite3.connect(str(tmp_path / "checkpoints.sqlite"), check_same_thread=False)
    context = _context(shop, competent_model(), tmp_path, review=True)
    resumed = run_plan(None, context, SqliteSaver(reopened), thread_id="t1", resume={"action": "approve"})
    assert not resumed.awaiting_review
    assert resumed.plan is not None and resumed.plan.status == "approved"
    # The approved plan keeps the provenance of the run that made it, not the resume's empty usage.
    assert resumed.plan.provenance.llm_calls == outcome.plan.provenance.llm_calls > 0
    assert context.model.calls == []  # approving reruns nothing


def test_injected_review_text_does_not_steer_the_plan(shop, tmp_path: Path) -> None:
    outcome, _, _ = _run(shop, competent_model(), tmp_path)
    plan = outcome.plan
    assert plan is not None
    quoted = " ".join(e.quote.lower() for s in plan.segments for e in s.evidence)
    assert "ignore previous instructions" not in quoted
    assert all(a.channel != "tv" for a in plan.budget.allocations)


def test_graph_shape_snapshot() -> None:
    mermaid = build_graph().get_graph().draw_mermaid()
    snapshot = Path(__file__).parent / "snapshots" / "graph.mmd"
    assert mermaid == snapshot.read_text(), "the graph's shape changed: review it and update the snapshot"
