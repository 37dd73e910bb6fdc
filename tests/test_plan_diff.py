"""The plan diff: budget per channel, segments, copy cells, forecast totals, brief fields and flags."""

from __future__ import annotations

from campaign_planner.domain import CopyVariant, Flag, FlagCode, SegmentSize
from campaign_planner.graphs.plan_diff import PlanDiff, describe_diff, diff_plans
from tests.test_render import full_plan


def test_identical_plans_have_an_empty_diff() -> None:
    plan = full_plan()
    diff = diff_plans(plan, plan.model_copy(deep=True))
    assert diff.is_empty() and describe_diff(diff) == []
    assert diff.copy_unchanged == len(plan.messaging)
    assert {row.channel for row in diff.budget} == {a.channel for a in plan.budget.allocations}  # type: ignore[union-attr]


def test_a_budget_move_shows_per_channel_before_after_and_totals() -> None:
    before = full_plan()
    after = before.model_copy(deep=True)
    assert after.budget is not None
    spends = {a.channel: a for a in after.budget.allocations}
    spends["search"].spend -= 5000
    spends["email"].spend += 5000
    after.forecast[0].incremental_revenue += 1234.5
    diff = diff_plans(before, after)
    assert {row.channel: row.delta for row in diff.budget_changed} == {"search": -5000, "email": 5000}
    assert diff.budget_total_before == diff.budget_total_after == before.budget.total  # type: ignore[union-attr]
    revenue = next(row for row in diff.forecast if row.metric == "incremental_revenue")
    assert revenue.delta == 1234.5
    assert [row.metric for row in diff.forecast_changed] == ["incremental_revenue"]
    lines = describe_diff(diff)
    assert any(line.startswith("search:") and "(−5,000 USD)" in line for line in lines)
    assert any(line.startswith("email:") and "(+5,000 USD)" in line for line in lines)
    assert PlanDiff.model_validate(diff.model_dump(mode="json")) == diff  # JSON round trip (the API carries it)


def test_segments_copy_brief_and_flags() -> None:
    before = full_plan()
    after = before.model_copy(deep=True)
    gone = after.segments.pop()  # "value-hunters"
    after.segments[0].size = SegmentSize(customers=1000, share=0.04)
    after.messaging = [m for m in after.messaging if m.segment_id != gone.id]
    after.messaging[0].variants[0] = CopyVariant(headline="Short", body="Fits.", cta="Shop now")
    after.brief.audience.age_min = 30
    after.flags.append(Flag(code=FlagCode.SATURATION, message="email is saturated"))
    diff = diff_plans(before, after)
    assert [s.id for s in diff.segments_removed] == ["value-hunters"] and diff.segments_added == []
    assert [(s.customers_before, s.customers_after) for s in diff.segments_resized] == [(1840, 1000)]
    changes = {(c.segment_id, c.channel): c for c in diff.copy_changes}
    assert changes[("fit-seekers", "email")].change == "rewritten"
    assert changes[("fit-seekers", "email")].after[0].body == "Fits."
    assert changes[("value-hunters", "instagram")].change == "removed"
    assert [(f.field, f.before, f.after) for f in diff.brief] == [("audience.age_min", 25, 30)]
    assert diff.flags_added == ["saturation: email is saturated"] and diff.flags_removed == []
    assert not diff.is_empty()


def test_a_plan_that_loses_its_budget() -> None:
    before = full_plan()
    after = before.model_copy(deep=True, update={"budget": None, "forecast": []})
    diff = diff_plans(before, after)
    assert diff.budget_total_after is None and all(row.after == 0 for row in diff.budget)
    assert describe_diff(diff)[0].startswith("Budget total: 50,000 USD → none")
