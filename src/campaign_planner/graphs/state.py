"""The planning graph's state. Every tool's raw output is kept (as JSON-ready dicts) so that the
validation node can check each number in the plan against the tool that produced it."""

from __future__ import annotations

from typing import Any, TypedDict


class ToolCallRecord(TypedDict):
    tool: str
    args: dict[str, Any]
    caller: str  # "planner" (the agent chose it) or "guard" (the completeness guard filled a gap)
    seconds: float
    ok: bool
    note: str


class PlanState(TypedDict, total=False):
    brief_text: str
    run_id: str
    started_at: float
    brief: dict[str, Any]
    budget_invalid: bool
    flags: list[dict[str, Any]]
    open_questions: list[str]
    assumptions: list[dict[str, Any]]
    profile: dict[str, Any] | None
    allocation: dict[str, Any] | None
    forecast: dict[str, Any] | None
    copy: dict[str, Any] | None
    pending_actions: list[dict[str, Any]]
    planner_rounds: int
    planner_notes: list[str]
    tool_log: list[ToolCallRecord]
    narrative: dict[str, Any] | None
    plan: dict[str, Any] | None
    validation: list[str]
    review_decision: dict[str, Any] | None
