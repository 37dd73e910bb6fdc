"""The planning graph's state. Every tool's raw output is kept (as JSON-ready dicts) so that the
validation node can check each number in the plan against the tool that produced it.

Follow-ups ("move $5k from search to email") arrive as ``follow_up``; the ``revise`` node turns them into
``brief_patches`` (structured brief changes that survive a later full replan) and a ``revision`` record
(what was understood, which tools ran again, and, once the revised plan is validated, its ``diff``)."""

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
    follow_up: str | None
    """A follow-up to the current plan, consumed by the ``revise`` node (graph input or a review decision)."""
    revision: dict[str, Any] | None
    """The latest revision: follow-up, kind, summary, tools re-run, ``plan_before`` until ``diff`` is set."""
    brief_patches: list[dict[str, Any]]
    """Structured brief changes from follow-ups (see ``graphs/followup.py``); intake re-applies them after a
    replan that carries them (``carry_patches``: an ``edit`` decision or a follow-up that needs a full replan)."""
    carry_patches: bool
