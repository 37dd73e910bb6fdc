"""The planning graph: intake → planner ⇄ tools → completeness guard → narrative → assemble → validate → review.

Nodes are small functions over :class:`PlanState`; the run context (shop, model, settings) arrives as
``runtime.context``. Progress is streamed as custom events (``get_stream_writer``) so the CLI, the API
and the chat UI can show which step and which tool are running.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from campaign_planner.agents.brief_parser import parse_brief
from campaign_planner.agents.planner import (
    decide_next_tools,
    unsupported_numbers,
    vet_rationale,
    vetted_text,
    write_narrative,
)
from campaign_planner.domain import Brief, Flag, FlagCode
from campaign_planner.graphs.assembly import assemble_plan, collect_flags, known_figures, validate_plan
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.graphs.state import PlanState, ToolCallRecord
from campaign_planner.tools.registry import (
    PREREQUISITES,
    STATE_KEY,
    TOOL_ORDER,
    ToolAction,
    ToolName,
    candidate_channels,
    run_action,
)

MAX_PLANNER_ROUNDS = 2


def _emit(**event: Any) -> None:
    try:
        get_stream_writer()(event)
    except RuntimeError:  # called outside a streaming run (e.g. a unit test calling a node directly)
        pass


def _degraded(message: str) -> dict[str, Any]:
    return Flag(code=FlagCode.DEGRADED_OUTPUT, message=message).model_dump(mode="json")


def intake(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Parse the brief into structured fields, flags, assumptions and open questions."""
    ctx = runtime.context
    _emit(step="intake", message="Reading the brief")
    parsed = parse_brief(state["brief_text"], ctx.shop.catalog, default_currency=ctx.shop.currency)
    return {
        "run_id": state.get("run_id") or uuid.uuid4().hex[:12],
        "started_at": state.get("started_at") or time.time(),
        "brief": parsed.brief.model_dump(mode="json"),
        "budget_invalid": parsed.budget_invalid,
        "flags": [f.model_dump(mode="json") for f in parsed.flags],
        "open_questions": parsed.open_questions,
        "assumptions": [a.model_dump(mode="json") for a in parsed.assumptions],
        "profile": None,
        "allocation": None,
        "forecast": None,
        "copy": None,
        "narrative": None,
        "plan": None,
        "pending_actions": [],
        "planner_rounds": 0,
        "planner_notes": [],
        "tool_log": [],
        "validation": [],
        "review_decision": None,
    }


def _done_tools(state: PlanState) -> list[ToolName]:
    return [name for name in TOOL_ORDER if state.get(STATE_KEY[name]) is not None]


def _observation(name: ToolName, output: dict[str, Any]) -> str:
    if output.get("skipped"):
        return f"{name}: skipped ({output['skipped']})"
    if name == "profile_lookup":
        segments = output.get("segments", [])
        return f"profile_lookup: {len(segments)} segments: " + "; ".join(s["name"] for s in segments)
    if name == "channel_optimizer":
        return "channel_optimizer: " + ", ".join(
            f"{a['channel']}={a['spend']:.0f}" for a in output.get("allocations", [])
        )
    if name == "forecaster":
        return f"forecaster: {len(output.get('lines', []))} forecast lines"
    return f"copywriter: {len(output.get('messaging', []))} messaging cells"


def planner(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Ask the planner agent for the next tool calls (at most ``MAX_PLANNER_ROUNDS`` rounds)."""
    ctx = runtime.context
    brief = Brief.model_validate(state["brief"])
    done = _done_tools(state)
    rounds = state.get("planner_rounds", 0)
    if rounds >= MAX_PLANNER_ROUNDS or len(done) == len(TOOL_ORDER):
        return {"pending_actions": []}
    _emit(step="planner", message="Planner agent is choosing tools")
    observations = [_observation(n, state[STATE_KEY[n]]) for n in done]  # type: ignore[literal-required]
    decision = decide_next_tools(ctx.model, brief, candidate_channels(brief, ctx), list(done), observations)
    flags = list(state.get("flags", []))
    if decision.degraded:
        flags.append(_degraded(f"The planner agent's decision was unusable ({decision.error}); the "
                               "completeness guard chose the tools and their arguments."))
    actions = [a for a in decision.value.actions if a.tool not in done]
    notes = [*state.get("planner_notes", []), decision.value.thought] if decision.value.thought else []
    return {
        "pending_actions": [a.model_dump(mode="json") for a in actions],
        "planner_rounds": rounds + 1,
        "planner_notes": notes or state.get("planner_notes", []),
        "flags": flags,
    }


def route_after_planner(state: PlanState) -> Literal["tools", "guard"]:
    """Run the chosen tools, or hand over to the completeness guard when the planner is done."""
    return "tools" if state.get("pending_actions") else "guard"


def _execute(actions: list[ToolAction], state: PlanState, ctx: PlanningContext, caller: str) -> dict[str, Any]:
    # Run in dependency order whatever order the planner chose; prerequisites are pulled in first.
    merged: dict[str, Any] = {}
    log: list[ToolCallRecord] = list(state.get("tool_log", []))
    by_tool = {a.tool: a for a in actions}
    for name in TOOL_ORDER:
        if name not in by_tool:
            continue
        current: PlanState = {**state, **merged}  # type: ignore[typeddict-item]
        for prerequisite in PREREQUISITES[name]:
            if current.get(STATE_KEY[prerequisite]) is None:
                _emit(step="tool", tool=prerequisite, caller="guard", message=f"Calling {prerequisite}")
                update, record = run_action(ToolAction(tool=prerequisite), current, ctx, "guard")
                merged.update(update)
                log.append(record)
                current = {**state, **merged}  # type: ignore[typeddict-item]
        _emit(step="tool", tool=name, caller=caller, message=f"Calling {name}")
        update, record = run_action(by_tool[name], current, ctx, caller)
        merged.update(update)
        log.append(record)
    merged["tool_log"] = log
    merged["pending_actions"] = []
    return merged


def tools(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Run the tool calls the planner asked for."""
    actions = [ToolAction.model_validate(a) for a in state.get("pending_actions", [])]
    return _execute(actions, state, runtime.context, "planner")


def guard(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """The completeness guard: call every tool whose section is still missing, with default arguments."""
    missing = [ToolAction(tool=name) for name in TOOL_ORDER if state.get(STATE_KEY[name]) is None]
    if not missing:
        return {}
    _emit(step="guard", message="Filling missing sections: " + ", ".join(a.tool for a in missing))
    return _execute(missing, state, runtime.context, "guard")


def _facts_for_narrative(state: PlanState) -> dict[str, Any]:
    profile = state.get("profile") or {}
    allocation = state.get("allocation") or {}
    forecast = state.get("forecast") or {}
    return {
        "segments": [
            {
                "id": s["id"],
                "name": s["name"],
                "share": s["size"]["share"],
                "needs": s["profile"].get("needs", [])[:3],
                "pain_points": s["profile"].get("pain_points", [])[:2],
                "quote_ids": [e["review_id"] for e in s.get("evidence", [])[:3]],
            }
            for s in profile.get("segments", [])
        ],
        "allocation": {a["channel"]: round(a["spend"]) for a in allocation.get("allocations", [])},
        "forecast": [
            {"segment": f["segment_id"], "channel": f["channel"], "revenue": round(f["incremental_revenue"]),
             "source": f["source"]}
            for f in forecast.get("lines", [])[:8]
        ],
        "flags": [f.code.value for f in collect_flags(state)],
    }


def narrative(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Have the model write summary, rationale and risks; keep only what the tool outputs support."""
    ctx = runtime.context
    _emit(step="narrative", message="Writing the rationale")
    brief = Brief.model_validate(state["brief"])
    result = write_narrative(ctx.model, brief=brief, facts=_facts_for_narrative(state),
                             language=ctx.language_override or brief.language)
    flags = list(state.get("flags", []))
    known = known_figures(state)
    summary, dropped = vetted_text(result.value.summary, known)
    profile = state.get("profile") or {}
    known_ids = {e["review_id"] for s in profile.get("segments", []) for e in s.get("evidence", [])}
    rationale = vet_rationale(result.value.rationale, known_ids, known)
    risks = [r for r in result.value.risks if not unsupported_numbers(r, known)]
    if result.degraded:
        flags.append(_degraded(f"The model's summary and rationale were unusable ({result.error}); the plan "
                               "shows a summary built from the tool outputs alone."))
    elif dropped:
        flags.append(_degraded(f"{dropped} sentence(s) of the model's summary stated numbers no tool produced "
                               "and were removed."))
    return {
        "narrative": {
            "summary": summary,
            "rationale": [r.model_dump(mode="json") for r in rationale],
            "risks": risks,
        },
        "flags": flags,
    }


def assemble(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Assemble the campaign plan from the tool outputs."""
    _emit(step="assemble", message="Assembling the plan")
    plan = assemble_plan(state, runtime.context)
    return {"plan": plan.model_dump(mode="json")}


def validate(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Check the plan against the brief and the tool outputs; problems become visible flags."""
    from campaign_planner.domain import CampaignPlan

    _emit(step="validate", message="Validating the plan")
    plan = CampaignPlan.model_validate(state["plan"])
    problems = validate_plan(plan, state, runtime.context)
    if problems:
        plan.flags.extend(Flag(code=FlagCode.VALIDATION_FAILED, message=p) for p in problems)
    return {"plan": plan.model_dump(mode="json"), "validation": problems}


def route_after_validate(state: PlanState, runtime: Runtime[PlanningContext]) -> Literal["review", "__end__"]:
    """Pause for a human only when review was asked for."""
    return "review" if runtime.context.review else END


def review(state: PlanState) -> Command[Literal["intake", "__end__"]]:
    """Pause for a human decision: approve, reject, or edit (amend the brief and replan)."""
    decision = interrupt({"question": "Approve this plan?", "plan": state["plan"], "options": ["approve", "reject",
                                                                                              "edit"]})
    action = (decision or {}).get("action", "approve") if isinstance(decision, dict) else str(decision)
    if action == "edit":
        amendment = str((decision or {}).get("amendment", "")).strip()
        return Command(goto="intake", update={"brief_text": f"{state['brief_text']}\n{amendment}".strip(),
                                              "review_decision": decision})
    plan = dict(state["plan"] or {})
    plan["status"] = "approved" if action == "approve" else "rejected"
    return Command(goto=END, update={"plan": plan, "review_decision": {"action": action}})


def build_graph(checkpointer: Any = None) -> Any:
    """Return the compiled planning graph (pass a checkpointer for resumable runs and review)."""
    builder = StateGraph(PlanState, context_schema=PlanningContext)
    builder.add_node("intake", intake)
    builder.add_node("planner", planner)
    builder.add_node("tools", tools)
    builder.add_node("guard", guard)
    builder.add_node("narrative", narrative)
    builder.add_node("assemble", assemble)
    builder.add_node("validate", validate)
    builder.add_node("review", review)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "planner")
    builder.add_conditional_edges("planner", route_after_planner, ["tools", "guard"])
    builder.add_edge("tools", "planner")
    builder.add_edge("guard", "narrative")
    builder.add_edge("narrative", "assemble")
    builder.add_edge("assemble", "validate")
    builder.add_conditional_edges("validate", route_after_validate, ["review", END])
    return builder.compile(checkpointer=checkpointer)
