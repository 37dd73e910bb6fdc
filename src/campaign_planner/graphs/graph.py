"""The planning graph: intake → planner ⇄ tools → completeness guard → narrative → assemble → validate → review.

Nodes are small functions over :class:`PlanState`; the run context (shop, model, settings) arrives as
``runtime.context``. Progress is streamed as custom events (``get_stream_writer``) so the CLI, the API
and the chat UI can show which step and which tool are running.

Follow-ups ("move $5k from search to email") enter at ``revise``: from the review pause (a ``revise``
decision) or as the input of a new run on a thread that has a plan (``{"follow_up": text}``). ``revise``
reads the follow-up by rules (``graphs/followup.py``), patches the brief, clears and re-runs only the tools
the change affects (the others keep their outputs), then rejoins the flow at the guard (or, for copy only,
at assembly); ``validate`` records the difference to the plan before (``graphs/plan_diff.py``). A follow-up
the rules do not understand is appended to the brief and replans from intake.
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
    write_narrative,
)
from campaign_planner.domain import Brief, CampaignPlan, Flag, FlagCode
from campaign_planner.graphs.assembly import (
    assemble_plan,
    collect_flags,
    known_figures,
    plan_summary_figures,
    validate_plan,
)
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.graphs.followup import FollowUp, apply_patches, classify_follow_up
from campaign_planner.graphs.plan_diff import PlanDiff, describe_diff, diff_plans
from campaign_planner.graphs.retries import TOOL_RETRY
from campaign_planner.graphs.state import PlanState, ToolCallRecord
from campaign_planner.graphs.summary import misattributed_numbers, vet_model_summary, written_in
from campaign_planner.render.messages import keyed_flag
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
    brief = parsed.brief.model_dump(mode="json")
    # A replan asked for in a conversation (an edit, a follow-up the rules did not understand) keeps the
    # structured changes of earlier follow-ups; a new brief on the thread starts clean.
    carry = bool(state.get("carry_patches"))
    patches = list(state.get("brief_patches") or []) if carry else []
    if patches:
        brief = Brief.model_validate(apply_patches(brief, patches)).model_dump(mode="json")
    revision = state.get("revision")
    pending = carry and bool(revision) and revision.get("diff") is None and bool(revision.get("plan_before"))
    return {
        "run_id": state.get("run_id") or uuid.uuid4().hex[:12],
        "started_at": state.get("started_at") or time.time(),
        "brief": brief,
        "brief_patches": patches,
        "carry_patches": False,
        "follow_up": None,
        "revision": revision if pending else None,
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


def _next_action(actions: list[ToolAction], state: PlanState, caller: str) -> tuple[ToolAction, str]:
    """Return the first call to make among ``actions``, in dependency order: a missing prerequisite of the
    first action comes before it (made by the guard, with default arguments)."""
    by_tool = {a.tool: a for a in actions}
    first = next(by_tool[name] for name in TOOL_ORDER if name in by_tool)
    for prerequisite in PREREQUISITES[first.tool]:
        if state.get(STATE_KEY[prerequisite]) is None:
            return by_tool.get(prerequisite, ToolAction(tool=prerequisite)), "guard"
    return first, caller


def _step(actions: list[ToolAction], state: PlanState, ctx: PlanningContext, caller: str) -> dict[str, Any]:
    """Make one tool call of ``actions`` and keep the rest in ``pending_actions``.

    One call per graph step means one checkpoint per finished tool: a run whose process dies in the middle
    of a step's tools continues with the tools that had not finished, instead of calling the finished ones
    again (a node that was running when the process died runs again from its start).
    """
    action, made_by = _next_action(actions, state, caller)
    _emit(step="tool", tool=action.tool, caller=made_by, message=f"Calling {action.tool}")
    update, record = run_action(action, state, ctx, made_by)
    update["tool_log"] = [*state.get("tool_log", []), record]
    update["pending_actions"] = [a.model_dump(mode="json") for a in actions if a.tool != action.tool]
    return update


def tools(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Make the next of the tool calls the planner asked for (the graph comes back here until none is left)."""
    actions = [ToolAction.model_validate(a) for a in state.get("pending_actions", [])]
    if not actions:
        return {}
    return _step(actions, state, runtime.context, "planner")


def route_after_tools(state: PlanState) -> Literal["tools", "planner"]:
    """Make the planner's next tool call, or ask the planner again once all are made."""
    return "tools" if state.get("pending_actions") else "planner"


def guard(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """The completeness guard: call every tool whose section is still missing, with default arguments.

    It makes one call per step (the graph comes back here while calls are queued in ``pending_actions``);
    each missing tool is called once, so a tool that returns no section does not loop.
    """
    queued = [ToolAction.model_validate(a) for a in state.get("pending_actions", [])]
    if not queued:
        queued = [ToolAction(tool=name) for name in TOOL_ORDER if state.get(STATE_KEY[name]) is None]
        if not queued:
            return {}
        _emit(step="guard", message="Filling missing sections: " + ", ".join(a.tool for a in queued))
    return _step(queued, state, runtime.context, "guard")


def route_after_guard(state: PlanState) -> Literal["guard", "narrative"]:
    """Make the guard's next call, or write the narrative once every section is there."""
    return "guard" if state.get("pending_actions") else "narrative"


def _facts_for_narrative(state: PlanState) -> dict[str, Any]:
    from campaign_planner.graphs.plan_currency import allocation_in_plan_currency, forecast_in_plan_currency

    profile = state.get("profile") or {}
    allocation = allocation_in_plan_currency(state.get("allocation"))  # the plan's currency, as the plan shows
    forecast = forecast_in_plan_currency(state.get("forecast"), state.get("allocation"))
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


LOCAL_BACKENDS = frozenset({"local", "gguf", "hf"})


def narrative_by_model(ctx: PlanningContext) -> bool:
    """Whether the model writes the narrative: the ``narrative`` setting, ``auto`` meaning not for a model
    running on this machine. Measured on the real-data shop (docs/benchmarks.md): the 1.5B model's narrative
    call was 33 s of a 214 s plan, and what survived vetting restated the brief ("A 15% off first order
    offer will be offered") or was generic ("The weak evidence suggests that some of the needs … may not be
    fully understood"), beside rationale items citing no evidence."""
    mode = ctx.settings.narrative
    if mode == "auto":
        return ctx.backend not in LOCAL_BACKENDS
    return mode == "model"


def narrative(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Have the model write summary, rationale and risks, keeping only what the tool outputs support; or,
    where the model does not write it (:func:`narrative_by_model`), leave them to the tools' statements."""
    ctx = runtime.context
    brief = Brief.model_validate(state["brief"])
    if not narrative_by_model(ctx):
        # The plan's summary, rationale and risks are then the tools' statements alone (assembly).
        _emit(step="narrative", message="Stating the rationale from the tool outputs")
        return {"narrative": {"summary": "", "rationale": [], "risks": []}, "flags": list(state.get("flags", []))}
    _emit(step="narrative", message="Writing the rationale")
    result = write_narrative(ctx.model, brief=brief, facts=_facts_for_narrative(state),
                             language=ctx.plan_language(brief))
    flags = list(state.get("flags", []))
    known = known_figures(state)
    # The summary's figures are stated from the tools (assembly); the model's sentences stay only where every
    # number is the figure of what the sentence names, complete, and not a repeat of those figures.
    record, stated = plan_summary_figures(state, ctx)
    language = ctx.plan_language(brief)
    vetted = vet_model_summary(result.value.summary, record, ctx.shop.catalog, stated=stated, language=language)
    summary = vetted.text
    profile = state.get("profile") or {}
    known_ids = {e["review_id"] for s in profile.get("segments", []) for e in s.get("evidence", [])}
    # A rationale item or risk in another language than the plan's is dropped like a misattributed one.
    drafts = [item for item in result.value.rationale if written_in(item.decision, language)
              and not misattributed_numbers(item.decision, record, ctx.shop.catalog)]
    rationale = vet_rationale(drafts, known_ids, known)
    risks = [r for r in result.value.risks if written_in(r, language)
             and not unsupported_numbers(r, known) and not misattributed_numbers(r, record, ctx.shop.catalog)]
    items_dropped = len(result.value.rationale) - len(rationale) + len(result.value.risks) - len(risks)
    if result.degraded:
        flags.append(keyed_flag(FlagCode.DEGRADED_OUTPUT, "flag_narrative_unusable",
                                error=result.error or "").model_dump(mode="json"))
    elif vetted.dropped or items_dropped:
        values: dict[str, str | int] = (
            {"summary_key": "flag_summary_vetted", "dropped": vetted.dropped, "reasons": vetted.reasons("en"),
             "reasons_zh": vetted.reasons("zh")} if vetted.dropped else {"summary_key": "flag_summary_kept"})
        values |= {"items_key": "flag_items_vetted", "items_count": items_dropped} if items_dropped else {"items": ""}
        flags.append(keyed_flag(FlagCode.DEGRADED_OUTPUT, "flag_narrative_vetted", **values).model_dump(mode="json"))
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
    """Check the plan against the brief and the tool outputs; problems become visible flags (and, after a
    follow-up, record what changed from the plan before)."""
    _emit(step="validate", message="Validating the plan")
    plan = CampaignPlan.model_validate(state["plan"])
    problems = validate_plan(plan, state, runtime.context)
    if problems:
        plan.flags.extend(Flag(code=FlagCode.VALIDATION_FAILED, message=p) for p in problems)
    update: dict[str, Any] = {"plan": plan.model_dump(mode="json"), "validation": problems}
    revision = state.get("revision")
    if revision and revision.get("diff") is None and revision.get("plan_before"):
        diff = diff_plans(CampaignPlan.model_validate(revision["plan_before"]), plan)
        update["revision"] = _finished_revision(revision, diff)
    return update


def route_after_validate(state: PlanState, runtime: Runtime[PlanningContext]) -> Literal["review", "__end__"]:
    """Pause for a human only when review was asked for."""
    return "review" if runtime.context.review else END


def review(state: PlanState) -> Command[Literal["intake", "revise", "review", "__end__"]]:
    """Pause for a human decision: approve, reject, edit (amend the brief and replan) or revise (a follow-up:
    replan only what it affects, see :func:`revise`)."""
    decision = interrupt({"question": "Approve this plan?", "plan": state["plan"],
                          "options": ["approve", "reject", "edit", "revise"]})
    action = (decision or {}).get("action", "approve") if isinstance(decision, dict) else str(decision)
    if action == "edit":
        amendment = str((decision or {}).get("amendment", "")).strip()
        return Command(goto="intake", update={"brief_text": f"{state['brief_text']}\n{amendment}".strip(),
                                              "review_decision": decision, "carry_patches": True})
    if action == "revise":
        text = str((decision or {}).get("amendment") or (decision or {}).get("text") or "").strip()
        if not text:  # nothing to revise: ask again
            return Command(goto="review", update={"review_decision": decision})
        return Command(goto="revise", update={"follow_up": text, "review_decision": decision})
    plan = dict(state["plan"] or {})
    plan["status"] = "approved" if action == "approve" else "rejected"
    return Command(goto=END, update={"plan": plan, "review_decision": {"action": action}})


# --- follow-ups -------------------------------------------------------------------------------------


def route_start(state: PlanState) -> Literal["intake", "revise"]:
    """A new run on a thread that has a plan and brings a follow-up revises it; anything else plans anew."""
    return "revise" if state.get("follow_up") and state.get("plan") else "intake"


def _is_narrative_flag(flag: dict[str, Any]) -> bool:
    message = str(flag.get("message", ""))
    return flag.get("code") == FlagCode.DEGRADED_OUTPUT.value and (
        message.startswith("The model's summary") or "of the model's summary" in message)


def _last_args(state: PlanState, tool: ToolName) -> dict[str, Any]:
    """The arguments of the tool's last call (the planner's choice of query, segment count, channels)."""
    for record in reversed(state.get("tool_log", [])):
        if record["tool"] == tool:
            return dict(record.get("args") or {})
    return {}


def _rerun_actions(follow_up: FollowUp, state: PlanState) -> list[ToolAction]:
    actions = []
    adds_channels = any(p.get("op") == "include_channel" for p in follow_up.patches)
    for tool in follow_up.rerun:
        args = _last_args(state, tool)
        if tool in ("channel_optimizer", "copywriter") and adds_channels:
            args.pop("channels", None)  # the planner's channel subset predates the channel the user added
        try:
            actions.append(ToolAction.model_validate({"tool": tool, **args}))
        except ValueError:
            actions.append(ToolAction(tool=tool))
    return actions


def _finished_revision(revision: dict[str, Any], diff: PlanDiff) -> dict[str, Any]:
    finished = {key: value for key, value in revision.items() if key != "plan_before"}
    finished["diff"] = diff.model_dump(mode="json")
    finished["changes"] = describe_diff(diff)
    return finished


def _tighter_catalog(catalog: Any, limits: dict[str, dict[str, int]]) -> Any:
    """The catalog with tighter copy limits on some channels (a "shorter" follow-up)."""
    if not limits:
        return catalog
    from campaign_planner.data.catalog import ChannelCatalog

    channels = dict(catalog.channels)
    for channel, limit in limits.items():
        spec = channels[channel]
        channels[channel] = spec.model_copy(update={"copy_rules": spec.copy_rules.model_copy(update=limit)})
    return ChannelCatalog(channels)


def _merge_counts(old: dict[str, int], new: dict[str, int], removed_variants: int) -> dict[str, int]:
    """Pass tallies after a partial rewrite: ``variants`` exact; the stages of the kept cells are not known
    one by one, so the removed variants are taken off each (at least 0) before the rewrite's are added."""
    merged = {}
    for key in ("variants", "first_try", "after_model_repair", "after_repair", "final", "mechanical", "templated"):
        merged[key] = max(0, int(old.get(key, 0)) - removed_variants) + int(new.get(key, 0))
    return merged


def _revise_copy(state: PlanState, ctx: PlanningContext, follow_up: FollowUp) -> tuple[dict[str, Any] | None,
                                                                                        ToolCallRecord | None]:
    """Rewrite the copy of the channels a follow-up names (or that a new budget split funds for the first time)
    and drop the copy of channels left without spend; every other cell is kept as it is."""
    from campaign_planner.agents.copywriter import write_copy
    from campaign_planner.domain import Segment
    from campaign_planner.intake.normalise import copy_in_script
    from campaign_planner.tools.copy_rules import load_brand_voice

    copy = state.get("copy") or {}
    profile = state.get("profile") or {}
    if "messaging" not in copy or copy.get("skipped") or not profile.get("segments"):
        return None, None
    with_copy = list(dict.fromkeys(m["channel"] for m in copy["messaging"]))
    rewrite = list(follow_up.copy_channels or [])
    drop: list[str] = []
    allocation = state.get("allocation") or {}
    if "channel_optimizer" in follow_up.rerun and "allocations" in allocation:
        funded = [a["channel"] for a in allocation["allocations"] if a["spend"] > 0]
        rewrite += [c for c in funded if c not in with_copy]
        drop = [c for c in with_copy if c not in funded]
    rewrite = [c for c in dict.fromkeys(rewrite) if c not in drop and c in ctx.shop.catalog]
    if not rewrite and not drop:
        return None, None
    started = time.perf_counter()
    brief = Brief.model_validate(state["brief"])
    new_cells: dict[tuple[str, str], dict[str, Any]] = {}
    result_json: dict[str, Any] = {"flags": [], "variant_checks": {}, "first_try_pass": 0, "after_repair_pass": 0}
    if rewrite:
        _emit(step="tool", tool="copywriter", caller="revise", message="Rewriting copy for " + ", ".join(rewrite))
        tone = follow_up.copy_tone
        result = write_copy(
            ctx.model,
            brief=brief.model_copy(update={"tone": tone}) if tone else brief,
            segments=[Segment.model_validate(s) for s in profile["segments"]],
            channels=rewrite,
            catalog=_tighter_catalog(ctx.shop.catalog, follow_up.copy_limits),
            language=ctx.plan_language(brief),  # type: ignore[arg-type]
            brand=load_brand_voice(ctx.shop.root),
            variants_per_cell=ctx.settings.variants_per_cell,
            max_workers=ctx.settings.copy_workers,
            method=ctx.settings.copy_method,
        )
        result_json = copy_in_script(result.model_dump(mode="json"), brief.script if brief.language == "zh" else None)
        new_cells = {(m["segment_id"], m["channel"]): m for m in result_json["messaging"]}
    replaced = set(rewrite) | set(drop)
    messaging: list[dict[str, Any]] = []
    placed: set[tuple[str, str]] = set()
    for cell in copy["messaging"]:
        key = (cell["segment_id"], cell["channel"])
        if cell["channel"] not in replaced:
            messaging.append(cell)
        elif key in new_cells:
            messaging.append(new_cells[key])
            placed.add(key)
    messaging += [cell for key, cell in new_cells.items() if key not in placed]
    removed = [cell for cell in copy["messaging"] if cell["channel"] in replaced]
    names = [ctx.shop.catalog[c].name for c in replaced if c in ctx.shop.catalog]
    kept_flags = [f for f in copy.get("flags", []) if not any(f" on {name}" in f.get("message", "") for name in names)]
    removed_variants = sum(len(cell.get("variants", [])) for cell in removed)
    merged = {
        **copy,
        "messaging": messaging,
        "flags": kept_flags + [f for f in result_json.get("flags", []) if f not in kept_flags],
        "cells": len(messaging),
        "first_try_pass": max(0, int(copy.get("first_try_pass", 0)) - len(removed)) + int(
            result_json.get("first_try_pass", 0)),
        "after_repair_pass": max(0, int(copy.get("after_repair_pass", 0)) - len(removed)) + int(
            result_json.get("after_repair_pass", 0)),
        "variant_checks": _merge_counts(copy.get("variant_checks") or {}, result_json.get("variant_checks") or {},
                                        removed_variants),
    }
    args: dict[str, Any] = {"channels": rewrite}
    if drop:
        args["dropped"] = drop
    if follow_up.copy_limits:
        args["limits"] = {c: follow_up.copy_limits[c] for c in rewrite if c in follow_up.copy_limits}
    if follow_up.copy_tone:
        args["tone"] = follow_up.copy_tone
    record: ToolCallRecord = {"tool": "copywriter", "args": args, "caller": "revise",
                              "seconds": round(time.perf_counter() - started, 3), "ok": True,
                              "note": "" if rewrite else "dropped copy of unfunded channels only"}
    return merged, record


def revise(state: PlanState, runtime: Runtime[PlanningContext]) -> Command[
        Literal["intake", "revise_tools", "revise_finish", "review", "__end__"]]:
    """Apply a follow-up to the current plan, re-running only the tools it affects.

    Budget changes re-run the channel optimizer (with the moved amounts pinned as per-channel bounds) and the
    forecaster; audience changes the profile lookup and everything after it; copy changes the copywriter for
    the named channels only. Tools the follow-up does not touch keep their outputs and are not called. What
    the rules do not understand is appended to the brief and replanned from intake (and the revision says so).
    """
    ctx = runtime.context
    text = str(state.get("follow_up") or "").strip()
    plan = CampaignPlan.model_validate(state["plan"])
    _emit(step="revise", message="Reading the follow-up")
    follow_up = classify_follow_up(text, plan, ctx.shop.catalog)
    revision: dict[str, Any] = {"follow_up": text, **follow_up.to_json(), "summary": follow_up.summary(),
                                "plan_before": state["plan"], "diff": None}
    patches = [*state.get("brief_patches", []), *follow_up.patches]
    base: dict[str, Any] = {"follow_up": None, "brief_patches": patches, "started_at": time.time()}
    if follow_up.full_replan:
        _emit(step="revise", message="The follow-up needs a full replan: it is added to the brief")
        amended = "\n".join(part for part in (str(state.get("brief_text") or "").strip(), text) if part)
        return Command(goto="intake", update={**base, "brief_text": amended, "carry_patches": True,
                                              "revision": revision})
    if not follow_up.rerun and not follow_up.copy_channels:
        _emit(step="revise", message="Nothing in the plan changes")
        return Command(goto="review" if ctx.review else END,
                       update={**base, "revision": _finished_revision(revision, PlanDiff())})
    _emit(step="revise", message="Re-running only: " + ", ".join(
        [*follow_up.rerun, *(["copywriter"] if follow_up.copy_channels and "copywriter" not in follow_up.rerun
                             else [])]))
    brief = Brief.model_validate(apply_patches(state["brief"], follow_up.patches)).model_dump(mode="json")
    update: dict[str, Any] = {**base, "brief": brief, "revision": revision}
    update.update({STATE_KEY[tool]: None for tool in follow_up.rerun})
    actions = _rerun_actions(follow_up, state)
    # The tools run one per step (``revise_tools``, each finished call checkpointed), then ``revise_finish``.
    update["pending_actions"] = [a.model_dump(mode="json") for a in actions]
    return Command(goto="revise_tools" if actions else "revise_finish", update=update)


def revise_tools(state: PlanState, runtime: Runtime[PlanningContext]) -> dict[str, Any]:
    """Make the next tool call a follow-up needs (one per step, like the guard; caller ``revise``)."""
    queued = [ToolAction.model_validate(a) for a in state.get("pending_actions", [])]
    if not queued:
        return {}
    return _step(queued, state, runtime.context, "revise")


def route_after_revise_tools(state: PlanState) -> Literal["revise_tools", "revise_finish"]:
    """Make the follow-up's next tool call, or finish the revision once all are made."""
    return "revise_tools" if state.get("pending_actions") else "revise_finish"


def revise_finish(state: PlanState, runtime: Runtime[PlanningContext]) -> Command[Literal["guard", "assemble"]]:
    """Rewrite the copy a follow-up names (unless the copywriter re-ran), then rejoin the flow: at assembly for
    a copy-only change, else at the guard with the narrative to be written again.

    The follow-up is read again from its text and the plan before it (the rules are deterministic, and neither
    has changed since ``revise``), so nothing but plain JSON crosses the checkpoint between the two nodes.
    """
    ctx = runtime.context
    follow_up = classify_follow_up(str(state["revision"]["follow_up"]), CampaignPlan.model_validate(state["plan"]),
                                   ctx.shop.catalog)
    update: dict[str, Any] = {}
    if "copywriter" not in follow_up.rerun:
        merged, record = _revise_copy(state, ctx, follow_up)
        if merged is not None and record is not None:
            update["copy"] = merged
            update["tool_log"] = [*state.get("tool_log", []), record]
    if not follow_up.rerun:  # copy only
        return Command(goto="assemble", update=update)
    # The numbers changed: the narrative is written again (its old flags go with it).
    update["flags"] = [f for f in state.get("flags", []) if not _is_narrative_flag(f)]
    update["narrative"] = None
    return Command(goto="guard", update=update)


def build_graph(checkpointer: Any = None) -> Any:
    """Return the compiled planning graph (pass a checkpointer for resumable runs and review)."""
    builder = StateGraph(PlanState, context_schema=PlanningContext)
    # The tool nodes call services (Chroma, a model server): a dropped connection is retried (graphs/retries.py).
    builder.add_node("intake", intake)
    builder.add_node("planner", planner)
    builder.add_node("tools", tools, retry_policy=TOOL_RETRY)
    builder.add_node("guard", guard, retry_policy=TOOL_RETRY)
    builder.add_node("narrative", narrative)
    builder.add_node("assemble", assemble)
    builder.add_node("validate", validate)
    builder.add_node("review", review)
    builder.add_node("revise", revise)
    builder.add_node("revise_tools", revise_tools, retry_policy=TOOL_RETRY)
    builder.add_node("revise_finish", revise_finish)
    builder.add_conditional_edges(START, route_start, ["intake", "revise"])
    builder.add_edge("intake", "planner")
    builder.add_conditional_edges("planner", route_after_planner, ["tools", "guard"])
    builder.add_conditional_edges("tools", route_after_tools, ["tools", "planner"])
    builder.add_conditional_edges("guard", route_after_guard, ["guard", "narrative"])
    builder.add_conditional_edges("revise_tools", route_after_revise_tools, ["revise_tools", "revise_finish"])
    builder.add_edge("narrative", "assemble")
    builder.add_edge("assemble", "validate")
    builder.add_conditional_edges("validate", route_after_validate, ["review", END])
    return builder.compile(checkpointer=checkpointer)
