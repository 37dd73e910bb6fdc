"""The planning graph end to end with the scripted fake model, a real Chroma store and real SQLite."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from campaign_planner.data.shop import load_shop
from campaign_planner.domain import CampaignPlan
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.graphs.graph import build_graph, narrative_by_model
from campaign_planner.graphs.plan_diff import PlanDiff
from campaign_planner.planning import PlanningError, continue_plan, revise_plan, run_plan
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
    # The run's time budget: each node that ran before assembly, each model call with its node and tokens.
    timing = plan.provenance
    assert {"intake", "planner", "tools", "narrative"} <= set(timing.stage_seconds), timing.stage_seconds
    assert all(seconds >= 0 for seconds in timing.stage_seconds.values())
    assert len(timing.model_calls) == timing.llm_calls
    assert sum(c.completion_tokens for c in timing.model_calls) == timing.completion_tokens
    assert {c.node for c in timing.model_calls} <= set(timing.stage_seconds)
    assert any(c.label.startswith("copy slots for") and c.node == "tools" for c in timing.model_calls)
    assert timing.startup_seconds is None  # not a CLI process: the test's process was already running


@pytest.mark.parametrize(("narrative", "backend", "by_model"), [
    ("auto", "local", False), ("auto", "gguf", False), ("auto", "hf", False), ("auto", "openai", True),
    ("auto", "fake", True), ("model", "local", True), ("tools", "openai", False),
])
def test_who_writes_the_narrative(tmp_path: Path, narrative: str, backend: str, by_model: bool) -> None:
    settings = load_settings(data_dir=tmp_path, narrative=narrative)
    assert narrative_by_model(SimpleNamespace(settings=settings, backend=backend)) is by_model


def test_a_plan_without_the_model_narrative_states_the_tools_alone(shop, tmp_path: Path) -> None:
    """``narrative: tools``: no narrative call; the summary, rationale and risks are the tools' statements,
    and nothing is flagged as degraded for the model's prose (there was none)."""
    model = competent_model()
    context = _context(shop, model, tmp_path)
    context.settings = load_settings(data_dir=tmp_path, shop_dir=shop.root, narrative="tools")
    connection = sqlite3.connect(str(tmp_path / "checkpoints.sqlite"), check_same_thread=False)
    plan = run_plan(BRIEF, context, SqliteSaver(connection), thread_id="t1").plan
    assert plan is not None
    assert all(c.label != "plan narrative" for c in plan.provenance.model_calls)
    assert "narrative" in plan.provenance.stage_seconds
    assert all("summary" not in f.message for f in plan.flags if f.code == "degraded_output")
    assert plan.summary.startswith("Audience: ") and "987654321" not in plan.summary
    assert plan.rationale and all(r.evidence_ids for r in plan.rationale)  # every decision cites a tool or review
    assert plan.risks  # the prior-curve and evidence risks, from the tools


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


def test_a_run_stopped_by_its_progress_callback_continues_from_the_writes_it_saved(shop, tmp_path: Path) -> None:
    """A run stopped mid-stream (a cancel, a worker handing its run back) can leave a step whose tasks all
    saved their writes but no checkpoint after it: no ``next``, one task. Continuing must go on from there,
    not report the run as finished without a plan (which it did)."""

    class Stop(Exception):
        pass

    def stop_at_the_second_tool(event: dict) -> None:
        if event.get("step") == "tool" and event.get("tool") == "channel_optimizer":
            raise Stop

    connection = sqlite3.connect(str(tmp_path / "checkpoints.sqlite"), check_same_thread=False)
    with pytest.raises(Stop):
        run_plan(BRIEF, _context(shop, competent_model(), tmp_path), SqliteSaver(connection), thread_id="t1",
                 on_event=stop_at_the_second_tool)
    snapshot = build_graph(SqliteSaver(connection)).get_state({"configurable": {"thread_id": "t1"}})
    assert snapshot.tasks and snapshot.values.get("profile")
    events: list[dict] = []
    outcome = continue_plan(_context(shop, competent_model(), tmp_path), SqliteSaver(connection), thread_id="t1",
                            on_event=events.append)
    assert outcome.plan is not None and outcome.plan.budget is not None
    rerun = [e["tool"] for e in events if e.get("step") == "tool"]
    assert "profile_lookup" not in rerun  # finished before the stop: not called again


def test_graph_shape_snapshot() -> None:
    mermaid = build_graph().get_graph().draw_mermaid()
    snapshot = Path(__file__).parent / "snapshots" / "graph.mmd"
    assert mermaid == snapshot.read_text(), "the graph's shape changed: review it and update the snapshot"


# --- follow-ups: replan only what the change affects -------------------------------------------------------


@pytest.fixture(scope="module")
def drafted(shop, tmp_path_factory: pytest.TempPathFactory):
    """One draft of BRIEF paused for review, checkpointed in SQLite; each test revises its own copy."""
    directory = tmp_path_factory.mktemp("drafted")
    context = _context(shop, competent_model(), directory, review=True)
    connection = sqlite3.connect(str(directory / "checkpoints.sqlite"), check_same_thread=False)
    outcome = run_plan(BRIEF, context, SqliteSaver(connection), thread_id="t1")
    connection.close()
    assert outcome.awaiting_review and outcome.plan is not None
    return directory / "checkpoints.sqlite", outcome.plan


def _saver(drafted, tmp_path: Path) -> SqliteSaver:
    copy = tmp_path / "checkpoints.sqlite"
    shutil.copy(drafted[0], copy)
    return SqliteSaver(sqlite3.connect(str(copy), check_same_thread=False))


def _revise(shop, drafted, tmp_path: Path, text: str):
    context = _context(shop, competent_model(), tmp_path, review=True)
    events: list[dict] = []
    outcome = run_plan(None, context, _saver(drafted, tmp_path), thread_id="t1", on_event=events.append,
                       resume={"action": "revise", "amendment": text})
    return outcome, drafted[1], context.model, events


def _new_tool_calls(plan: CampaignPlan, before: CampaignPlan) -> list[str]:
    assert plan.provenance.tool_calls[: len(before.provenance.tool_calls)] == before.provenance.tool_calls
    return plan.provenance.tool_calls[len(before.provenance.tool_calls):]


def _spend(plan: CampaignPlan, channel: str) -> float:
    assert plan.budget is not None
    return sum(a.spend for a in plan.budget.allocations if a.channel == channel)


def _prompts(model) -> list[str]:
    return [str(call[0].content) for call in model.calls]


def test_a_budget_move_reruns_only_the_optimizer_and_the_forecaster(shop, drafted, tmp_path: Path) -> None:
    outcome, before, model, events = _revise(shop, drafted, tmp_path, "Move $5k from search to email")
    plan = outcome.plan
    assert outcome.awaiting_review and plan is not None and plan.status == "draft"
    # The tool log: the optimizer and the forecaster again, for the follow-up; no profile lookup, no copywriter.
    assert _new_tool_calls(plan, before) == ["channel_optimizer(revise)", "forecaster(revise)"]
    assert [e.get("tool") for e in events if e.get("step") == "tool"] == ["channel_optimizer", "forecaster"]
    # The model wrote only the new narrative: no copy call.
    assert _prompts(model) and all("strategist" in prompt for prompt in _prompts(model))
    # Exactly $5,000 moved; the rest of the split, the segments and the copy are as they were.
    assert abs(_spend(plan, "search") - (_spend(before, "search") - 5000)) < 0.01
    assert abs(_spend(plan, "email") - (_spend(before, "email") + 5000)) < 0.01
    assert abs(_spend(plan, "instagram") - _spend(before, "instagram")) < 0.01
    assert plan.budget is not None and abs(sum(a.spend for a in plan.budget.allocations) - 50_000) < 0.01
    assert plan.segments == before.segments and plan.messaging == before.messaging
    assert "validation_failed" not in codes(plan), [f.message for f in plan.flags]
    # The diff says the same.
    revision = outcome.state["revision"]
    assert revision["kinds"] == ["budget"] and revision["rerun"] == ["channel_optimizer", "forecaster"]
    assert not revision["full_replan"] and "plan_before" not in revision
    diff = PlanDiff.model_validate(revision["diff"])
    moved = {row.channel: row.delta for row in diff.budget_changed}
    assert moved == {"search": pytest.approx(-5000, abs=0.01), "email": pytest.approx(5000, abs=0.01)}
    assert diff.copy_changes == [] and diff.copy_unchanged == len(before.messaging)
    assert diff.segments_added == diff.segments_removed == []
    revenue = next(row for row in diff.forecast if row.metric == "incremental_revenue")
    assert revenue.before == pytest.approx(sum(f.incremental_revenue for f in before.forecast), abs=1e-3)
    assert revenue.after == pytest.approx(sum(f.incremental_revenue for f in plan.forecast), abs=1e-3)
    assert [f.field for f in diff.brief] == ["channel_bounds"]
    assert any(line.startswith("search: ") and "−5,000" in line for line in revision["changes"])


def test_a_copy_follow_up_rewrites_only_that_channel(shop, drafted, tmp_path: Path) -> None:
    outcome, before, model, _ = _revise(shop, drafted, tmp_path, "Make the email copy shorter")
    plan = outcome.plan
    assert plan is not None and outcome.awaiting_review
    assert _new_tool_calls(plan, before) == ["copywriter(revise)"]
    assert not any("strategist" in prompt for prompt in _prompts(model))  # no new narrative for copy only
    assert plan.budget == before.budget and plan.forecast == before.forecast and plan.segments == before.segments
    assert plan.summary == before.summary
    diff = PlanDiff.model_validate(outcome.state["revision"]["diff"])
    assert {(c.channel, c.change) for c in diff.copy_changes} == {("email", "rewritten")}
    assert diff.copy_unchanged == len([m for m in before.messaging if m.channel != "email"])
    assert [m for m in plan.messaging if m.channel != "email"] == [m for m in before.messaging if m.channel != "email"]
    old_longest = max(len(v.body) for m in before.messaging if m.channel == "email" for v in m.variants)
    assert all(len(v.body) < old_longest for m in plan.messaging if m.channel == "email" for v in m.variants)
    assert diff.budget_changed == [] and diff.forecast_changed == []


def test_an_audience_follow_up_redoes_the_segments_and_what_follows(shop, drafted, tmp_path: Path) -> None:
    outcome, before, _, _ = _revise(shop, drafted, tmp_path, "Exclude customers under 30")
    plan = outcome.plan
    assert plan is not None
    assert plan.brief.audience.age_min == 30 and plan.brief.audience.age_max == before.brief.audience.age_max
    assert _new_tool_calls(plan, before) == ["profile_lookup(revise)", "forecaster(revise)", "copywriter(revise)"]
    # The split does not depend on the segments; the expected outcomes do (they are the forecast lines' sums).
    def split(budget):
        return [(a.channel, a.spend, a.recommended_spend, a.marginal_roi) for a in budget.allocations], budget.total

    assert split(plan.budget) == split(before.budget)
    ages = [s.definition.get("age_min") for s in plan.segments]
    assert all(age is None or int(age) >= 30 for age in ages)  # type: ignore[arg-type]
    assert "validation_failed" not in codes(plan), [f.message for f in plan.flags]
    diff = PlanDiff.model_validate(outcome.state["revision"]["diff"])
    assert any(f.field == "audience.age_min" and f.after == 30 for f in diff.brief)


def test_an_unknown_follow_up_replans_from_the_amended_brief_and_says_so(shop, drafted, tmp_path: Path) -> None:
    outcome, before, _, _ = _revise(shop, drafted, tmp_path,
                                    "Move $5k from search to email. Lean into sustainability and recycled fabrics")
    plan = outcome.plan
    assert plan is not None and outcome.awaiting_review
    revision = outcome.state["revision"]
    assert revision["full_replan"] and revision["unknown"] == ["Lean into sustainability and recycled fabrics"]
    assert "whole plan was made again" in revision["summary"]
    assert plan.brief.text.endswith("Lean into sustainability and recycled fabrics")
    # A full replan: every tool ran again, from a fresh tool log …
    assert sorted(plan.provenance.tool_calls) == sorted(before.provenance.tool_calls)
    # … and the part it understood (the move) still holds.
    assert abs(_spend(plan, "search") - (_spend(before, "search") - 5000)) < 0.01
    assert PlanDiff.model_validate(revision["diff"]).budget_changed


def test_an_impossible_follow_up_changes_nothing_and_says_why(shop, drafted, tmp_path: Path) -> None:
    outcome, before, model, _ = _revise(shop, drafted, tmp_path, "Move $90,000 from search to email")
    plan = outcome.plan
    assert plan is not None and outcome.awaiting_review and model.calls == []
    assert plan.model_dump(exclude={"status"}) == before.model_dump(exclude={"status"})
    revision = outcome.state["revision"]
    assert revision["problems"] and "cannot move" in revision["problems"][0]
    assert PlanDiff.model_validate(revision["diff"]).is_empty()


def test_a_follow_up_run_revises_an_approved_plan_and_a_new_brief_starts_clean(shop, drafted,
                                                                              tmp_path: Path) -> None:
    saver = _saver(drafted, tmp_path)
    context = _context(shop, competent_model(), tmp_path, review=True)
    approved = run_plan(None, context, saver, thread_id="t1", resume={"action": "approve"})
    assert approved.plan is not None and approved.plan.status == "approved"
    plain = _context(shop, competent_model(), tmp_path, review=False)
    revised = revise_plan("Drop search", plain, saver, thread_id="t1")
    plan = revised.plan
    assert plan is not None and not revised.awaiting_review and plan.status == "draft"
    assert _spend(plan, "search") == 0 and "search" in plan.brief.channels_excluded
    assert _new_tool_calls(plan, approved.plan) == ["channel_optimizer(revise)", "forecaster(revise)",
                                                    "copywriter(revise)"]  # drops the unfunded channel's copy
    assert {m.channel for m in plan.messaging} == {"email", "instagram"}
    diff = PlanDiff.model_validate(revised.state["revision"]["diff"])
    assert {(c.channel, c.change) for c in diff.copy_changes} == {("search", "removed")}
    # A new brief on the thread is a new plan: no patches or revision carried over.
    fresh = run_plan(BRIEF, plain, saver, thread_id="t1")
    assert fresh.plan is not None and "search" not in fresh.plan.brief.channels_excluded
    assert fresh.state["brief_patches"] == [] and fresh.state["revision"] is None
    with pytest.raises(PlanningError, match="no plan to follow up on"):
        revise_plan("Drop search", plain, saver, thread_id="no-such-thread")


def test_a_revision_stopped_between_its_tools_continues_without_calling_the_finished_ones(shop, drafted,
                                                                                            tmp_path: Path) -> None:
    saver = _saver(drafted, tmp_path)

    class Stop(Exception):
        pass

    def stop_at_the_forecaster(event: dict) -> None:
        if event.get("step") == "tool" and event.get("tool") == "forecaster":
            raise Stop

    with pytest.raises(Stop):
        revise_plan("Drop search", _context(shop, competent_model(), tmp_path), saver, thread_id="t1",
                    on_event=stop_at_the_forecaster)
    events: list[dict] = []
    outcome = continue_plan(_context(shop, competent_model(), tmp_path), saver, thread_id="t1",
                            on_event=events.append)
    plan = outcome.plan
    assert plan is not None and _spend(plan, "search") == 0
    # The channel optimizer finished before the stop, with its own checkpoint: it is not called again (nor
    # the forecaster, which LangGraph let finish before the stop got out), and each call counts once.
    assert "channel_optimizer" not in [e["tool"] for e in events if e.get("step") == "tool"]
    assert _new_tool_calls(plan, drafted[1]) == ["channel_optimizer(revise)", "forecaster(revise)",
                                                 "copywriter(revise)"]


def test_a_follow_up_left_behind_by_a_crashed_revision_does_not_take_over_a_new_brief(shop, drafted,
                                                                                    tmp_path: Path) -> None:
    saver = _saver(drafted, tmp_path)
    plain = _context(shop, competent_model(), tmp_path, review=False)
    graph = build_graph(checkpointer=saver)
    # As if a revision's process died after the follow-up was stored but before revise cleared it.
    graph.update_state({"configurable": {"thread_id": "t1"}}, {"follow_up": "Drop search"}, as_node="review")
    fresh = run_plan(BRIEF, plain, saver, thread_id="t1")
    assert fresh.plan is not None and "search" not in fresh.plan.brief.channels_excluded
    assert fresh.state["follow_up"] is None and fresh.state["revision"] is None
