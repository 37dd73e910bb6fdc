"""The planner agent: chooses the tools and their arguments, then writes the plan's justification.

The model answers in schema-constrained JSON (the measured default model cannot do native function
calling through llama.cpp; JSON actions work on every backend). It sees the parsed brief and short
tool observations, never raw review text beyond the quotes the profile tool selected.
"""

from __future__ import annotations

import json
import re
from string import Template
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from campaign_planner.domain import Brief, RationaleItem
from campaign_planner.prompts import load_prompt
from campaign_planner.structured import StructuredResult, invoke_structured
from campaign_planner.tools.registry import TOOL_DESCRIPTIONS, TOOL_ORDER, ToolAction


class PlannerTurn(BaseModel):
    """The planner's decision for one round."""

    # Field order is generation order under a grammar: decide first, explain briefly after, so a
    # long-winded model cannot spend its token cap before it has chosen anything.
    actions: list[ToolAction] = Field(default_factory=list, max_length=6)
    finished: bool = False
    thought: str = Field(default="", max_length=160)


# The length caps are generation caps too (llama.cpp enforces maxLength/maxItems in its grammar): a
# narrative that ran past max_tokens was cut mid-string and lost whole, so the schema keeps it short.
class RationaleDraft(BaseModel):
    decision: str = Field(max_length=200)
    evidence_ids: list[str] = Field(default_factory=list, max_length=4)


class PlanNarrative(BaseModel):
    """What the model writes about the plan: words only; numbers come from the tools."""

    summary: str = Field(max_length=450)
    rationale: list[RationaleDraft] = Field(default_factory=list, max_length=3)
    risks: list[str] = Field(default_factory=list, max_length=3)


def _template(name: str) -> Template:
    return Template(load_prompt(name))


def _compact(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def decide_next_tools(
    model: Any, brief: Brief, channels: list[str], done: list[str], observations: list[str]
) -> StructuredResult[PlannerTurn]:
    """Ask the model which tools to call next. Falls back (degraded) to "no actions, finished"."""
    tools = "\n".join(f"- {name}: {TOOL_DESCRIPTIONS[name]}" for name in TOOL_ORDER)
    brief_view = brief.model_dump(exclude={"text"}, exclude_defaults=True)
    messages = [
        SystemMessage(content=_template("planner").substitute(tools=tools)),
        HumanMessage(
            content=_template("planner_turn").substitute(
                brief=_compact(brief_view),
                channels=", ".join(channels) or "(planner chooses)",
                done=", ".join(done) or "none",
                observations=" | ".join(observations) or "none yet",
            )
        ),
    ]
    return invoke_structured(
        model,
        messages,
        PlannerTurn,
        fallback=lambda: PlannerTurn(thought="(fallback: the model's decision was unusable)", finished=True),
        max_tokens=220,
        label="planner decision",
    )


def write_narrative(
    model: Any, *, brief: Brief, facts: dict[str, Any], language: str
) -> StructuredResult[PlanNarrative]:
    """Ask the model for the plan's summary, rationale and risks (raises nothing; falls back)."""
    messages = [
        SystemMessage(
            content=_template("narrative").substitute(
                language_name="Chinese (简体中文)" if language == "zh" else "English"
            )
        ),
        HumanMessage(
            content=_template("narrative_turn").substitute(
                brief=brief.text[:600],
                segments=_compact(facts["segments"]),
                allocation=_compact(facts["allocation"]),
                forecast=_compact(facts["forecast"]),
                flags=_compact(facts["flags"]),
            )
        ),
    ]
    return invoke_structured(
        model,
        messages,
        PlanNarrative,
        fallback=lambda: PlanNarrative(summary="", rationale=[], risks=[]),
        max_tokens=460,
        label="plan narrative",
    )


_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?\s*(?:%|k|m|万|千)?", re.IGNORECASE)


def _normalised_numbers(text: str) -> list[float]:
    values = []
    for token in _NUMBER.findall(text):
        token = token.strip().lower()
        multiplier = 1.0
        if token.endswith("%"):
            token = token[:-1]
        elif token.endswith("k") or token.endswith("千"):
            token, multiplier = token[:-1], 1e3
        elif token.endswith("m"):
            token, multiplier = token[:-1], 1e6
        elif token.endswith("万"):
            token, multiplier = token[:-1], 1e4
        try:
            values.append(float(token.replace(",", "").strip()) * multiplier)
        except ValueError:
            continue
    return values


def unsupported_numbers(text: str, known: set[float]) -> list[float]:
    """Return the numbers in ``text`` that match no tool figure (within 1% or a rounding step)."""
    missing = []
    for value in _normalised_numbers(text):
        if value in known or any(
            abs(value - k) <= max(0.01 * abs(k), 0.5) or abs(value - round(k, -3)) < 1 for k in known
        ):
            continue
        missing.append(value)
    return missing


def vetted_text(text: str, known: set[float]) -> tuple[str, int]:
    """Drop the sentences of ``text`` that state a number no tool produced; return (text, dropped)."""
    sentences = re.split(r"(?<=[.!?。!?])\s*", text.strip())
    kept = [s for s in sentences if s and not unsupported_numbers(s, known)]
    return " ".join(kept).strip(), len([s for s in sentences if s]) - len(kept)


def vet_rationale(items: list[RationaleDraft], known_ids: set[str], known: set[float]) -> list[RationaleItem]:
    """Keep rationale items whose numbers are supported; keep only evidence ids that exist."""
    vetted = []
    for item in items:
        decision, dropped = vetted_text(item.decision, known)
        if not decision or dropped:
            continue
        vetted.append(
            RationaleItem(decision=decision, evidence_ids=[i for i in item.evidence_ids if i in known_ids])
        )
    return vetted
