"""The run context: what every node may use but the checkpoint does not store (shop, model, stores)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaign_planner.data.shop import Shop
from campaign_planner.settings import Settings
from campaign_planner.usage import UsageTracker


@dataclass
class PlanningContext:
    """Typed run context for ``StateGraph(PlanState, context_schema=PlanningContext)``.

    ``model`` is the chat model (a LangChain ``BaseChatModel``); ``backend`` and ``model_name`` go into
    the plan's provenance. ``review`` turns the human review interrupt on.
    """

    shop: Shop
    model: Any
    backend: str
    model_name: str
    settings: Settings
    usage: UsageTracker = field(default_factory=UsageTracker)
    review: bool = False
    language_override: str | None = None
    review_store: Any = None
    curves: Any = None
    # When the process started (wall clock), for the plan's start-up time: set by the CLI, which starts
    # the process for one plan; None in the API, the chat and workers, whose processes outlive runs.
    process_started: float | None = None

    def plan_language(self, brief: Any) -> str:
        """Return the language the plan's prose is written in: the run's override, else the brief's."""
        return self.language_override or brief.language
