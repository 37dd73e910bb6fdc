"""Running the planning graph: one entry point shared by the CLI, the evals and (later) the API.

It resolves the shop (writing the demo shop on first use), the model, the checkpointer, and streams
progress events to a callback while the graph runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.types import Command

from campaign_planner.domain import CampaignPlan
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.graphs.graph import build_graph
from campaign_planner.settings import Settings

ProgressCallback = Callable[[dict[str, Any]], None]


class PlanningError(RuntimeError):
    """A planning run could not start or finish; the message says why and what to do."""


def resolve_shop(settings: Settings) -> Any:
    """Load the configured shop; the demo shop is generated on first use."""
    from campaign_planner.data.demo import write_demo_shop
    from campaign_planner.data.shop import load_shop

    shop_dir = settings.effective_shop_dir
    if settings.shop_dir is None and not (shop_dir / "reviews.csv").is_file():
        write_demo_shop(shop_dir)
    if not (shop_dir / "reviews.csv").is_file():
        raise PlanningError(
            f"{shop_dir} is not a shop (no reviews.csv). Create one with `campaign-planner shop import` "
            "or `campaign-planner shop demo DIR`."
        )
    return load_shop(shop_dir)


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[Any]:
    """Yield the LangGraph checkpointer: SQLite in the data dir unless a Postgres URL is configured."""
    if settings.checkpoint_url and settings.checkpoint_url.startswith(("postgres://", "postgresql://")):
        raise PlanningError("Postgres checkpoints are not available in this version; unset checkpoint_url.")
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(settings.checkpoint_url.removeprefix("sqlite:///")) if settings.checkpoint_url else (
        settings.checkpoint_path
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(path), check_same_thread=False)
    try:
        yield SqliteSaver(connection)
    finally:
        connection.close()


@dataclass
class PlanOutcome:
    """What a run produced: a plan, or an interrupt waiting for a human review decision."""

    thread_id: str
    plan: CampaignPlan | None
    awaiting_review: bool
    state: dict[str, Any]


def make_context(settings: Settings, *, model_handle: Any, shop: Any, review: bool = False) -> PlanningContext:
    """Build the run context from settings, an LLM handle (see ``llm.make_chat_model``) and a shop."""
    return PlanningContext(
        shop=shop,
        model=model_handle.model,
        backend=model_handle.backend,
        model_name=model_handle.model_name,
        settings=settings,
        review=review,
        language_override=settings.language,
    )


def run_plan(
    brief_text: str | None,
    context: PlanningContext,
    checkpointer: Any,
    *,
    thread_id: str,
    on_event: ProgressCallback | None = None,
    resume: Any = None,
) -> PlanOutcome:
    """Run (or resume, with ``resume``) the planning graph on ``thread_id`` and return its outcome."""
    graph = build_graph(checkpointer=checkpointer)
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}, "callbacks": [context.usage],
                              "recursion_limit": 40}
    graph_input: Any = Command(resume=resume) if resume is not None else {"brief_text": brief_text or ""}
    for mode, chunk in graph.stream(graph_input, config, context=context, stream_mode=["updates", "custom"]):
        if on_event is None:
            continue
        if mode == "custom":
            on_event(chunk)
        elif isinstance(chunk, dict):
            for node in chunk:
                on_event({"step": node, "done": True})
    snapshot = graph.get_state(config)
    values = dict(snapshot.values)
    awaiting = bool(snapshot.next)
    plan = CampaignPlan.model_validate(values["plan"]) if values.get("plan") else None
    return PlanOutcome(thread_id=thread_id, plan=plan, awaiting_review=awaiting, state=values)
