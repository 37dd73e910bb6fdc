"""Scale-out: API-triggered runs on a Celery queue in Redis, executed by worker processes on any machines.

With ``queue_url`` (``redis://…``) set, the API server does not execute runs: :class:`RunQueue` sends each
run (its id and the review decision, if any) to the Celery queue ``campaign-planner-runs``, and any number
of ``campaign-planner worker`` processes execute them with the same :class:`RunExecutor` as the API's own
threads. Everything a run needs is shared: the run records and the LangGraph checkpoints in Postgres
(``checkpoint_url``), the reviews in a Chroma server (``chroma_url``), the run's events in Redis lists
(:class:`RedisEventLogs`, which the API's ``/stream`` endpoint reads).

Delivery is at least once, execution exactly once:

* Messages are acknowledged late (after the run) and rejected back to the queue when a worker process is
  lost; Redis redelivers a message nobody acknowledged after ``queue_visibility_timeout_s``.
* A worker executes a run only after *claiming* it in the run store (a compare-and-set: pending → running,
  with its name and a heartbeat time), so a duplicate delivery finds the run claimed and is dropped.
* A worker renews its claims every ``queue_lease_s / 4`` seconds; it also reads the client's cancellation
  there. A claim not renewed for ``queue_lease_s`` has lapsed (its worker died): every worker's
  :class:`Supervisor` looks for such runs and queues them again, and the worker that claims one continues it
  from its last checkpoint (one checkpoint per finished tool call, so finished tools are not called again).
  A worker that loses a claim it thought it held stops that run at its next node boundary.
* A worker told to stop (SIGTERM: Celery's warm shutdown) hands its running runs back: each stops at its
  next node boundary, goes back to pending and is queued again, to continue from its checkpoint elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from campaign_planner.api import worker_registry
from campaign_planner.api.events import _KEPT_WHEN_FULL, MAX_EVENTS_PER_RUN, StreamEvent
from campaign_planner.api.policy import RunPolicy
from campaign_planner.api.runner import CONTINUE, RunExecutor, Ticket
from campaign_planner.api.store import ApiStore, PostgresApiStore
from campaign_planner.exit_codes import ServiceUnavailableError
from campaign_planner.planning import redact_url
from campaign_planner.settings import Settings

logger = logging.getLogger("campaign_planner.queue")

QUEUE_NAME = "campaign-planner-runs"
CONTINUE_QUEUE = "campaign-planner-continue"
"""Runs taken over from a dead worker, or handed back by a stopping one: workers take these before new runs."""
TASK_NAME = "campaign_planner.execute_run"
KEY_PREFIX = "campaign-planner:run:"
EVENTS_TTL_S = 7 * 24 * 3600
"""A run's events stay in Redis this long after its last event (the record keeps the plan for good)."""
POLL_S = 0.2
"""How often a stream subscriber looks for new events of a run executing elsewhere."""


class QueueConfigError(ValueError):
    """The queue settings cannot work (say which and why)."""


class QueueUnavailableError(QueueConfigError, ServiceUnavailableError):
    """The queue's Redis cannot be reached (the CLI exits 69)."""


def check_queue_settings(settings: Settings) -> None:
    """Refuse settings with which queue workers could not share a run's state (QueueConfigError)."""
    url = settings.queue_url or ""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise QueueConfigError(f"queue_url must be a redis:// (or rediss://, unix://) URL, not {redact_url(url)!r}")
    checkpoints = settings.checkpoint_url or ""
    if not checkpoints.startswith(("postgresql://", "postgres://")):
        raise QueueConfigError(
            "the run queue (queue_url) needs a shared PostgreSQL database: set checkpoint_url to a postgresql:// "
            "URL. Workers on other machines read the run records and continue runs from the checkpoints there.")


def open_queue_store(settings: Settings) -> ApiStore:
    """Return the run-record store that the API servers and workers of a queue share (Postgres)."""
    check_queue_settings(settings)
    assert settings.checkpoint_url is not None
    return PostgresApiStore(settings.checkpoint_url)


def redis_client(url: str) -> Any:
    """Return a Redis client for ``url`` (decoded strings, bounded timeouts)."""
    import redis

    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=10,
                                health_check_interval=30)


def celery_app(settings: Settings) -> Any:
    """Return the Celery application of the run queue at ``settings.queue_url`` (tasks registered by workers).

    Late acknowledgement and rejection on a lost worker make delivery at-least-once; one message prefetched
    per worker thread keeps queued runs available to idle workers; results are not stored (the run record is
    the result).
    """
    from celery import Celery

    app = Celery("campaign_planner", broker=settings.queue_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE_NAME,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        # "priority": a worker polls its queues in the order given (continuations first), not round robin.
        broker_transport_options={"visibility_timeout": float(settings.queue_visibility_timeout_s),
                                  "queue_order_strategy": "priority"},
        task_serializer="json",
        accept_content=["json"],
    )
    return app


# --- events ----------------------------------------------------------------------------------------------


class RedisEventLog:
    """A run's events in a Redis list (``…:events``) plus a change counter (``…:notified``).

    The same interface as :class:`events.EventLog`: a worker appends, any API server's subscribers replay
    with :meth:`since` and :meth:`wait` (polling every ``POLL_S``; the counter changes when the run's status
    does). An event's id is its index in the list: ``RPUSH`` returns it atomically.
    """

    blocking = True
    """Reads are network calls: the stream endpoint makes them off the event loop."""

    def __init__(self, client: Any, run_id: str, max_events: int = MAX_EVENTS_PER_RUN) -> None:
        self._client = client
        self._events_key = f"{KEY_PREFIX}{run_id}:events"
        self._counter_key = f"{KEY_PREFIX}{run_id}:notified"
        self._max = max_events

    def append(self, event: str, data: dict[str, Any]) -> None:
        """Add an event. Past the cap, only plan/interrupt/error/revision are kept."""
        if event not in _KEPT_WHEN_FULL and self._client.llen(self._events_key) >= self._max:
            return
        payload = json.dumps({"event": event, "data": data}, ensure_ascii=False, default=str)
        with self._client.pipeline() as pipe:
            pipe.rpush(self._events_key, payload)
            pipe.expire(self._events_key, EVENTS_TTL_S)
            pipe.expire(self._counter_key, EVENTS_TTL_S)  # the two expire together
            pipe.execute()

    def since(self, cursor: int) -> list[StreamEvent]:
        """Return the events with ``id >= cursor``."""
        start = max(0, cursor)
        items = self._client.lrange(self._events_key, start, -1)
        events = []
        for offset, item in enumerate(items):
            decoded = json.loads(item)
            events.append(StreamEvent(id=start + offset, event=decoded["event"], data=decoded["data"]))
        return events

    def __len__(self) -> int:
        return int(self._client.llen(self._events_key))

    def notify(self) -> None:
        """Tell subscribers something changed (the run's status)."""
        with self._client.pipeline() as pipe:
            pipe.incr(self._counter_key)
            pipe.expire(self._counter_key, EVENTS_TTL_S)
            pipe.execute()

    @property
    def notified(self) -> int:
        """The change counter: read it before checking the run's status, pass it to :meth:`wait`."""
        return int(self._client.get(self._counter_key) or 0)

    async def wait(self, cursor: int, notified: int | None = None) -> None:
        """Return once there are events at or past ``cursor`` or the counter moved past ``notified``."""
        def poll() -> tuple[Any, Any]:
            with self._client.pipeline() as pipe:
                pipe.llen(self._events_key)
                pipe.get(self._counter_key)
                length, counter = pipe.execute()
            return length, counter

        while True:
            length, counter = await asyncio.to_thread(poll)  # a network call: off the event loop
            if int(length) > cursor or (notified is not None and int(counter or 0) != notified):
                return
            await asyncio.sleep(POLL_S)


class RedisEventLogs:
    """The runs' event logs in Redis: :meth:`create` marks a run's log as present, :meth:`get` finds it."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def create(self, run_id: str) -> RedisEventLog:
        """Return the run's log, marking it present (its counter exists from now on)."""
        self._client.set(f"{KEY_PREFIX}{run_id}:notified", 0, nx=True, ex=EVENTS_TTL_S)
        return RedisEventLog(self._client, run_id)

    def get(self, run_id: str) -> RedisEventLog | None:
        """Return the run's log, or None when the run never had one here (or it expired)."""
        if not self._client.exists(f"{KEY_PREFIX}{run_id}:notified"):
            return None
        return RedisEventLog(self._client, run_id)


# --- the API side ----------------------------------------------------------------------------------------


class RunQueue:
    """What the API server uses to hand runs to the workers: sending, and the runs' events in Redis."""

    def __init__(self, settings: Settings) -> None:
        check_queue_settings(settings)
        assert settings.queue_url is not None
        self._app = celery_app(settings)
        self._redis = redis_client(settings.queue_url)
        try:
            self._redis.ping()
        except Exception as exc:  # redis raises its own ConnectionError family
            raise QueueUnavailableError(
                f"cannot reach the run queue at {redact_url(settings.queue_url)}: {exc}") from exc

    def submit(self, run_id: str, decision: dict[str, Any] | None, *, continuation: bool = False) -> None:
        """Queue the run for a worker (``decision``: the review decision to resume with, if any). A
        ``continuation`` (a run taken over or handed back) goes to the queue that workers take from first, so
        that it does not wait behind every new run."""
        self._app.send_task(TASK_NAME, args=[run_id, decision], queue=CONTINUE_QUEUE if continuation else QUEUE_NAME)

    @property
    def app(self) -> Any:
        """The Celery application (a worker registers its task on it and consumes with it)."""
        return self._app

    @property
    def redis(self) -> Any:
        """The Redis client (the runs' events, and the API servers' shared rate limits)."""
        return self._redis

    def event_logs(self) -> RedisEventLogs:
        """Return the runs' event logs (shared with the workers)."""
        return RedisEventLogs(self._redis)

    def close(self) -> None:
        """Close the connections."""
        with contextlib.suppress(Exception):
            self._redis.close()
        with contextlib.suppress(Exception):
            self._app.close()


# --- the worker side -------------------------------------------------------------------------------------


class Supervisor:
    """A worker's claims: renews them every ``lease_s / 4``, stops runs whose claim was lost or that the client
    cancelled, and queues again the runs whose claims lapsed anywhere (their worker died), and pending runs
    that waited longer than :data:`WAITING_REQUEUE_LEASES` leases (their message may be lost)."""

    def __init__(self, store: ApiStore, queue: RunQueue, worker: str, lease_s: float, concurrency: int = 1) -> None:
        self._store = store
        self._queue = queue
        self.worker = worker
        self.lease_s = lease_s
        self.concurrency = concurrency
        self._tickets: list[tuple[str, Ticket]] = []  # one per execution: a worker may run a run twice at once
        self._lock = threading.Lock()
        self._requeued: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="campaign-claims", daemon=True)

    def start(self) -> None:
        """Announce this worker (``/healthz`` lists it) and start renewing claims in a background thread."""
        self._heartbeat()
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread and withdraw this worker's heartbeat."""
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):  # Redis gone: the entry ages out by itself
            worker_registry.withdraw(self._queue.redis, self.worker)

    def _heartbeat(self) -> None:
        try:
            worker_registry.announce(self._queue.redis, self.worker, self.concurrency)
        except Exception:  # a Redis hiccup: the next round announces again
            logger.warning("worker %s: could not write its heartbeat", self.worker, exc_info=True)

    def track(self, run_id: str) -> Ticket:
        """Return a new ticket for a run this worker is about to execute (renewed once it holds a claim)."""
        ticket = Ticket()
        with self._lock:
            self._tickets.append((run_id, ticket))
        return ticket

    def untrack(self, run_id: str, ticket: Ticket) -> None:
        """Forget an execution this worker finished."""
        with self._lock:
            self._tickets = [(r, t) for r, t in self._tickets if t is not ticket]

    def hand_over_all(self) -> int:
        """Ask every run of this worker to stop at its next node boundary and go back to the queue."""
        with self._lock:
            tickets = [ticket for _, ticket in self._tickets if ticket.claim is not None]
        for ticket in tickets:
            ticket.stop("handover")
        return len(tickets)

    def _loop(self) -> None:
        interval = self.lease_s / 4
        while not self._stop.wait(interval):
            self._heartbeat()
            try:
                self.renew()
                self.requeue_lapsed()
            except Exception:  # a database or Redis hiccup: the next round tries again
                logger.exception("worker %s: renewing claims failed", self.worker)

    def renew(self) -> None:
        """Renew this worker's claims, also of runs already asked to stop (they stop only at their next node
        boundary, and must not look dead meanwhile); stop a run that was lost or cancelled."""
        with self._lock:
            tickets = [(run_id, ticket) for run_id, ticket in self._tickets if ticket.claim is not None]
        for run_id, ticket in tickets:
            state = self._store.heartbeat(run_id, ticket.claim)
            if ticket.cancel.is_set():
                continue
            if state is None:
                record = self._store.get_run(run_id)
                if record is not None and record.status == "running" and record.worker != ticket.claim:
                    ticket.stop("lost")
            elif state:
                logger.info("worker %s: run %s was cancelled by the client; stopping it at its next step",
                            self.worker, run_id)
                ticket.stop("client")

    def requeue_lapsed(self) -> list[str]:
        """Queue again every run whose claim lapsed, and every pending run that has waited too long (each at
        most once per lease here; a claim makes a duplicate message harmless); return their ids."""
        now = time.monotonic()
        lapsed = self._store.stale_runs(self.lease_s)
        waiting = self._store.waiting_runs(WAITING_REQUEUE_LEASES * self.lease_s)
        due = [run_id for run_id in [*lapsed, *waiting] if now - self._requeued.get(run_id, -1e9) > self.lease_s]
        for run_id in due:
            why = "has a lapsed claim (its worker stopped)" if run_id in lapsed else "has waited long (lost message?)"
            logger.warning("worker %s: run %s %s; queueing it to continue", self.worker, run_id, why)
            self._queue.submit(run_id, CONTINUE, continuation=True)
            self._requeued[run_id] = now
        self._requeued = {k: v for k, v in self._requeued.items() if now - v <= 10 * self.lease_s}
        return due


WAITING_REQUEUE_LEASES = 20
"""A pending run untouched for this many leases (10 min by default) is queued again."""


def default_worker_name() -> str:
    """A worker name unique across machines and restarts: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class QueueWorker:
    """One worker process: executes queued runs on ``concurrency`` threads (Celery's thread pool)."""

    def __init__(self, settings: Settings, *, model_factory: Any = None, concurrency: int = 1,
                 name: str | None = None) -> None:
        self.settings = settings
        self.name = name or default_worker_name()
        self.concurrency = concurrency
        self.store = open_queue_store(settings)
        self.queue = RunQueue(settings)
        self.executor = RunExecutor(settings, self.store, RunPolicy(settings), self.queue.event_logs(),
                                    model_factory=model_factory, max_connections=concurrency + 1)
        self.supervisor = Supervisor(self.store, self.queue, self.name, settings.queue_lease_s, concurrency)
        self.app = self.queue.app
        self.app.task(name=TASK_NAME, bind=False, acks_late=True)(self.execute)
        if not settings.chroma_url:
            logger.warning("worker %s uses an embedded review store in %s: workers on other machines (or several "
                           "on one shop) need a Chroma server (chroma_url)", self.name, settings.data_dir)

    def execute(self, run_id: str, decision: dict[str, Any] | None) -> str:
        """The task: execute one run if this worker can claim it; queue it again when handed over."""
        ticket = self.supervisor.track(run_id)
        try:
            result = self.executor.work(run_id, ticket, decision, worker=self.name,
                                        lease_s=self.settings.queue_lease_s)
        finally:
            self.supervisor.untrack(run_id, ticket)
        if result == "handed over":
            self.queue.submit(run_id, CONTINUE, continuation=True)
        logger.info("worker %s: run %s %s", self.name, run_id, result)
        return result

    def run(self) -> None:
        """Execute queued runs until stopped (SIGTERM or Ctrl-C: hand running runs back, then exit)."""
        from celery import signals

        def on_shutdown(**_: Any) -> None:
            handed = self.supervisor.hand_over_all()
            if handed:
                logger.warning("worker %s is stopping: handing %d running run(s) back to the queue", self.name,
                               handed)

        signals.worker_shutting_down.connect(on_shutdown, weak=False)
        # Keep the CLI's log handler (--log-level/--log-json, run ids) rather than Celery's own.
        configured = any(getattr(h, "_campaign_planner", False) for h in logging.getLogger().handlers)
        self.app.conf.worker_hijack_root_logger = not configured
        level = logging.getLevelName(logging.getLogger().level) if configured else "INFO"
        self.supervisor.start()
        try:
            self.app.worker_main([
                "worker", "--pool=threads", f"--concurrency={self.concurrency}", f"--hostname={self.name}",
                f"--queues={CONTINUE_QUEUE},{QUEUE_NAME}", f"--loglevel={level}", "--without-gossip",
                "--without-mingle",
            ])
        finally:
            self.supervisor.stop()
            self.executor.close()
            self.queue.close()
            self.store.close()
