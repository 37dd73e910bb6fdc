"""The one entry point the CLI and the API use for results: find a thread's plan, import a file, read out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaign_planner.data.catalog import ChannelCatalog, load_catalog
from campaign_planner.data.shop import CsvSource
from campaign_planner.domain import CampaignPlan
from campaign_planner.results.files import ResultsMap, read_results_file
from campaign_planner.results.readout import Readout, build_readout
from campaign_planner.results.storage import ImportOutcome

PLAN_STATUSES = ("succeeded", "interrupted")
"""Runs whose stored plan a campaign can be running on (a finished plan, or a draft paused for review)."""


class UnknownThreadError(LookupError):
    """The thread does not exist, or has no plan yet."""


@dataclass(frozen=True)
class ThreadPlan:
    """The plan a thread's results are read against, and where it came from."""

    plan: CampaignPlan
    run_id: str
    source: str


def plan_from_store(store: Any, thread_id: str) -> ThreadPlan | None:
    """Return the thread's newest stored plan from the run records (API threads), or None."""
    for record in reversed(store.list_runs(thread_id)):
        if record.plan is not None and record.status in PLAN_STATUSES:
            return ThreadPlan(CampaignPlan.model_validate(record.plan), record.run_id, "run records")
    return None


def plan_from_checkpoints(settings: Any, thread_id: str) -> ThreadPlan | None:
    """Return the plan in the thread's newest LangGraph checkpoint (CLI threads), or None."""
    from campaign_planner.graphs.graph import build_graph
    from campaign_planner.planning import open_checkpointer

    with open_checkpointer(settings) as checkpointer:
        snapshot = build_graph(checkpointer).get_state({"configurable": {"thread_id": thread_id}})
    values = dict(snapshot.values or {})
    if not values.get("plan"):
        return None
    plan = CampaignPlan.model_validate(values["plan"])
    return ThreadPlan(plan, plan.provenance.run_id, "checkpoints")


def thread_plan(store: Any, thread_id: str, settings: Any | None = None) -> ThreadPlan:
    """Return the plan of ``thread_id``: the run records first, then (with ``settings``) the checkpoints.

    Refuses (UnknownThreadError) a thread with neither."""
    found = plan_from_store(store, thread_id)
    if found is None and settings is not None:
        found = plan_from_checkpoints(settings, thread_id)
    if found is None:
        raise UnknownThreadError(f"thread {thread_id} has no plan: an unknown thread id, or its run has not "
                                 "produced a plan yet")
    return found


def import_results(store: Any, thread_id: str, plan: CampaignPlan, source: CsvSource, *,
                   catalog: ChannelCatalog | None = None, column_map: ResultsMap | None = None,
                   channel: str | None = None, replace: bool = False) -> ImportOutcome:
    """Validate ``source`` against the thread's plan and store it with the thread; return what changed.

    Refuses ``ResultsFileError`` (a bad file) and ``ResultsConflict`` (a file that contradicts the stored
    results) with nothing stored."""
    plan_channels = [allocation.channel for allocation in plan.budget.allocations]
    batch = read_results_file(source, catalog=catalog or load_catalog(None), plan_channels=plan_channels,
                              column_map=column_map, channel=channel)
    return store.record_results(thread_id, batch, replace=replace)


def readout(store: Any, thread_id: str, found: ThreadPlan) -> Readout:
    """Return the readout of the thread's stored results against its plan."""
    return build_readout(thread_id, found.plan, found.run_id, store.channel_results(thread_id),
                         store.customer_outcomes(thread_id))


def open_results_store(settings: Any) -> Any:
    """Return the store the API keeps its run records in for ``settings``: the Postgres store of a run queue,
    or ``<data_dir>/api.sqlite``. The CLI stores results there too, so the API sees them."""
    from campaign_planner.api.store import ApiStore

    if getattr(settings, "queue_url", None):
        from campaign_planner.api.queue import open_queue_store

        return open_queue_store(settings)
    return ApiStore(settings.data_dir / "api.sqlite")
