"""Per-run event logs in memory, and their server-sent-events encoding.

A worker thread appends events while a run executes; any number of SSE subscribers (coroutines on the
server's event loop) replay the log from where they are and then wait for more. Waiting is a plain
``asyncio.Event`` per subscriber, set from the worker thread with ``call_soon_threadsafe``, so a
subscriber holds no thread while it waits.

Event names: ``progress`` (a step or tool starting: the graph's custom stream chunks), ``node`` (a graph
node finished), ``revision`` (what a follow-up changed, with the diff; before its ``plan``), ``plan`` (the
plan JSON: final, or the draft a review waits on), ``interrupt`` (the run paused for a review decision),
``error`` (the run failed). The stream itself adds ``end``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_EVENTS_PER_RUN = 2_000
_KEPT_WHEN_FULL = frozenset({"plan", "interrupt", "error", "revision"})


@dataclass(frozen=True)
class StreamEvent:
    """One event: its position in the run's log (the SSE ``id``), its name and its JSON data."""

    id: int
    event: str
    data: dict[str, Any]

    def encode(self) -> str:
        """Return the event in the ``text/event-stream`` wire format."""
        return format_sse(self.event, self.data, event_id=self.id)


def format_sse(event: str, data: dict[str, Any], *, event_id: int | None = None) -> str:
    """Encode one server-sent event (JSON on a single ``data:`` line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    payload = json.dumps(data, ensure_ascii=False, default=str)
    return f"{head}event: {event}\ndata: {payload}\n\n"


class EventLog:
    """The events of one run, in order; thread-safe appends, asyncio waits."""

    def __init__(self, max_events: int = MAX_EVENTS_PER_RUN) -> None:
        self._events: list[StreamEvent] = []
        self._max = max_events
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._notified = 0  # counts notify() calls, so that a subscriber cannot miss one (see wait)

    def append(self, event: str, data: dict[str, Any]) -> None:
        """Add an event and wake the subscribers. Past the cap, only plan/interrupt/error are kept."""
        with self._lock:
            if len(self._events) >= self._max and event not in _KEPT_WHEN_FULL:
                return
            self._events.append(StreamEvent(id=len(self._events), event=event, data=data))
        self.notify()

    def since(self, cursor: int) -> list[StreamEvent]:
        """Return the events with ``id >= cursor``."""
        with self._lock:
            return self._events[max(0, cursor):]

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def notify(self) -> None:
        """Wake every waiting subscriber (new events, or the run's status changed)."""
        with self._lock:
            self._notified += 1
            waiters = list(self._waiters)
        for loop, flag in waiters:
            with contextlib.suppress(RuntimeError):  # that subscriber's loop is closed
                loop.call_soon_threadsafe(flag.set)

    @property
    def notified(self) -> int:
        """How many times :meth:`notify` was called: read it before checking the run's status, pass it to
        :meth:`wait`."""
        with self._lock:
            return self._notified

    async def wait(self, cursor: int, notified: int | None = None) -> None:
        """Return once there are events at or past ``cursor`` or :meth:`notify` is called (or was, since
        :attr:`notified` read ``notified``: a status change notified between a subscriber's status check
        and this call is not lost).

        Bound it with ``asyncio.timeout`` to send heartbeats while a run is quiet.
        """
        flag = asyncio.Event()
        waiter = (asyncio.get_running_loop(), flag)
        with self._lock:
            if len(self._events) > cursor or (notified is not None and self._notified != notified):
                return
            self._waiters.add(waiter)
        try:
            await flag.wait()
        finally:
            with self._lock:
                self._waiters.discard(waiter)


class EventLogs:
    """The event logs of the most recent ``capacity`` runs (older finished runs' logs are dropped)."""

    def __init__(self, capacity: int = 500) -> None:
        self._logs: OrderedDict[str, EventLog] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def create(self, run_id: str) -> EventLog:
        """Return the run's log, creating it (and evicting the oldest beyond capacity) if needed."""
        with self._lock:
            log = self._logs.get(run_id)
            if log is None:
                log = self._logs[run_id] = EventLog()
                while len(self._logs) > self._capacity:
                    self._logs.popitem(last=False)
            self._logs.move_to_end(run_id)
            return log

    def get(self, run_id: str) -> EventLog | None:
        """Return the run's log, or None (run from before a restart, or evicted)."""
        with self._lock:
            return self._logs.get(run_id)
