"""``GET /runs/{id}/stream``: a run's events as server-sent events, replayed then live.

A subscriber first gets the events logged so far (from ``Last-Event-ID`` + 1 when it reconnects), then
new ones as the worker logs them. The stream ends with ``end`` (``{"status": …}``) once the run is no
longer pending or running (succeeded, interrupted for review, cancelled), or with ``error`` when it
failed. For a run from before a restart (its log was in memory) the stream synthesises the revision (if
any), the plan and the final event from the stored record. A comment line is sent every ``heartbeat_s``
while idle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from campaign_planner.api.events import StreamEvent, format_sse
from campaign_planner.api.runner import RunManager
from campaign_planner.api.schemas import ACTIVE_STATUSES
from campaign_planner.api.store import ApiStore, RunRecord

HEARTBEAT_S = 15.0


def _final_events(record: RunRecord, *, error_sent: bool) -> list[str]:
    if record.status == "failed":
        return [] if error_sent else [format_sse("error", {"detail": record.error or "the run failed"})]
    return [format_sse("end", {"status": record.status, "run_id": record.run_id})]


async def run_events(store: ApiStore, manager: RunManager, run_id: str, cursor: int = 0,
                     heartbeat_s: float = HEARTBEAT_S) -> AsyncIterator[str]:
    """Yield the run's events in the ``text/event-stream`` format until the run stops."""
    log = await run_in_threadpool(manager.log, run_id)  # with a queue, a Redis call: off the event loop
    if log is None:
        record = await run_in_threadpool(store.get_run, run_id)
        if record is None:
            return
        if record.revision is not None:
            yield format_sse("revision", record.revision)
        if record.plan is not None:
            yield format_sse("plan", record.plan)
        if record.status == "interrupted" and record.interrupt is not None:
            yield format_sse("interrupt", record.interrupt)
        for text in _final_events(record, error_sent=False):
            yield text
        return
    blocking = bool(getattr(log, "blocking", False))  # a Redis-backed log: every read is a network call

    async def since(position: int) -> list[StreamEvent]:
        return await run_in_threadpool(log.since, position) if blocking else log.since(position)

    while True:
        # Read before the status check: the worker's notify after a status change wakes us.
        notified = await run_in_threadpool(lambda: log.notified) if blocking else log.notified
        for event in await since(cursor):
            yield event.encode()
            cursor = event.id + 1
        record = await run_in_threadpool(store.get_run, run_id)
        if record is None or record.status not in ACTIVE_STATUSES:
            for event in await since(cursor):  # the worker logs its last events before the status changes
                yield event.encode()
                cursor = event.id + 1
            if record is not None:
                error_sent = any(e.event == "error" for e in await since(0))
                for text in _final_events(record, error_sent=error_sent):
                    yield text
            return
        try:
            async with asyncio.timeout(heartbeat_s):
                await log.wait(cursor, notified)
        except TimeoutError:
            yield ": keep-alive\n\n"
