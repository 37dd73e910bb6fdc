"""Runs executed in background worker threads in this process, or by queue workers (``api/queue.py``).

:class:`RunManager` takes the API's requests (start, resume, continue, cancel) and changes the run records'
status; :class:`RunExecutor` executes one run (the same code in the API's threads and in a queue worker).
Without a queue the manager owns a bounded thread pool, the per-run event logs and cancellation; with one
(``queue_url``) it only sends runs to the queue and reads their events from Redis.

A run calls ``planning.run_plan`` with a checkpointer from the executor's one :class:`planning.Checkpoints`
(opened with it, closed at shutdown) and the API thread id as the LangGraph thread id: SQLite by default
(one ``SqliteSaver`` over one connection opened with ``check_same_thread=False``, shared by the workers; it
serialises its own access with a lock), or, when ``checkpoint_url`` is a ``postgresql://`` URL, a
``PostgresSaver`` per run over a connection pool of ``workers + 1`` connections, so the workers' checkpoint
writes do not wait for each other.

Cancellation is cooperative: ``cancel`` sets a flag that the run's ``on_event`` callback checks at every
progress event and node completion, raising :class:`RunCancelled` there, so a running run stops at the
next node boundary (a model call in flight is not interrupted). Checkpoints written so far stay. A queue
worker learns of a cancellation when it next renews its claim on the run (every ``queue_lease_s / 4``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from campaign_planner.api.errors import ProblemError
from campaign_planner.api.events import EventLog, EventLogs
from campaign_planner.api.policy import RunPolicy
from campaign_planner.api.schemas import ACTIVE_STATUSES, BLOCKING_STATUSES, RunCreate
from campaign_planner.api.shops import ShopCache
from campaign_planner.api.store import ApiStore, RunRecord, StoreConflict
from campaign_planner.logs import run_ids
from campaign_planner.planning import (
    Checkpoints,
    PlanOutcome,
    continue_plan,
    latest_run_tag,
    make_context,
    open_checkpoints,
    revise_plan,
    run_plan,
)
from campaign_planner.settings import Settings

logger = logging.getLogger("campaign_planner.api")

ModelFactory = Callable[[Settings], Any]
"""Returns a ``ChatModelHandle``-like object (``.model``, ``.backend``, ``.model_name``) for a run's settings."""

_CONTINUE_HINT = 'continue it from its last checkpoint (resume with {"action": "continue"}) or start a new run'
RESTART_REASON = f"the server stopped while this run was pending or running; {_CONTINUE_HINT}"
SHUTDOWN_PENDING_REASON = f"the server shut down before this run started; {_CONTINUE_HINT}"
SHUTDOWN_RUNNING_REASON = f"the server shut down while this run was running; {_CONTINUE_HINT}"
QUEUE_DOWN_REASON = f"the run queue was unreachable when this run was to be queued; {_CONTINUE_HINT}"
CONTINUABLE_REASONS = frozenset({RESTART_REASON, SHUTDOWN_PENDING_REASON, SHUTDOWN_RUNNING_REASON,
                                 QUEUE_DOWN_REASON})
"""A failed run whose error is one of these was stopped by the server, not by its own fault: it can continue."""
CONTINUE = {"action": "continue"}
CANCELLED_REASON = "cancelled by the client"
_EXPECTED_ERRORS: tuple[type[Exception], ...] = (RuntimeError, ValueError, OSError)


class RunCancelled(Exception):
    """Raised inside a run's progress callback to stop it at the next node boundary."""


@dataclass
class Ticket:
    """A run being executed: ``cancel`` stops it at the next node boundary, ``reason`` says why ("client",
    "shutdown"; for queue workers also "handover": give the run back to the queue, "lost": another worker
    took it over)."""

    cancel: threading.Event = field(default_factory=threading.Event)
    reason: str = "client"
    future: Future[None] | None = None
    claim: str | None = None
    """A queue worker's claim token on the run, once claimed (its heartbeats renew that claim)."""

    def stop(self, reason: str) -> None:
        """Ask the run to stop at its next node boundary, for ``reason``."""
        self.reason = reason
        self.cancel.set()



def request_fingerprint(request: RunCreate) -> str:
    """Return a stable hash of a run request (an ``Idempotency-Key`` must come with the same body)."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _default_model_factory(settings: Settings) -> Any:
    from campaign_planner.llm import make_chat_model

    return make_chat_model(settings=settings)


def _refusing_model_handle(settings: Settings) -> Any:
    # Approving or rejecting a draft runs no model; a scripted model with no answers proves it.
    from campaign_planner.llm import make_chat_model

    return make_chat_model("fake", settings=settings, fake_script=[])


def _effective(record: RunRecord, decision: dict[str, Any] | None) -> dict[str, Any] | None:
    """The decision an execution carries out: a continued run carries out the one it was given, if any."""
    return record.decision if decision == CONTINUE else decision


def _revises(record: RunRecord, decision: dict[str, Any] | None) -> bool:
    """Whether this execution of the run applies a follow-up (its outcome carries a new revision)."""
    effective = _effective(record, decision)
    if effective is not None and effective.get("action") == "revise":
        return True
    return bool(record.request.get("follow_up")) and effective is None


def execution_tag(run_id: str, decision: dict[str, Any] | None, resumes: int | None = None) -> str:
    """The ``run_tag`` on the checkpoints an execution writes: the run id for its first execution; for an
    execution that resumes a review, the run id with the decision's action, the resume's number (the same
    decision given twice gets two tags) and a hash of the decision. A continued run compares it with the
    thread's latest checkpoint to know how far the stopped execution got."""
    if decision is None or decision == CONTINUE:
        return run_id
    digest = hashlib.sha256(json.dumps(decision, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"{run_id}#{decision.get('action', '')}#{resumes or 0}#{digest[:8]}"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ProblemError):
        return exc.detail
    if isinstance(exc, _EXPECTED_ERRORS) and str(exc):
        return str(exc)
    return f"the run failed unexpectedly ({type(exc).__name__}); the server log has the details"


class RunExecutor:
    """Executes runs: the API process's worker threads and queue workers (``api/queue.py``) share this code.

    ``logs`` is where the runs' events go (in memory, or Redis for queue workers); ``max_connections`` sizes
    the Postgres checkpointer's pool. Open with the checkpoint store (a bad ``checkpoint_url`` raises
    ``PlanningError`` here); :meth:`close` closes it.
    """

    def __init__(self, settings: Settings, store: ApiStore, policy: RunPolicy, logs: Any, *,
                 model_factory: ModelFactory | None = None, max_connections: int = 3) -> None:
        self._settings = settings
        self._store = store
        self._policy = policy
        self.logs = logs
        self._model_factory = model_factory or _default_model_factory
        self._max_connections = max_connections
        self._shops = ShopCache()
        self._exits = ExitStack()
        self._checkpoints: Checkpoints | None = None
        self._checkpoints_lock = threading.Lock()
        self.checkpointer()  # open the checkpoint store now: a bad checkpoint_url fails at start-up (PlanningError)

    def checkpointer(self) -> Any:
        """Return a checkpointer for one run. The store is opened when the executor is created, and again by
        the next run after :meth:`close` (a failure then fails that run with the reason)."""
        with self._checkpoints_lock:
            if self._checkpoints is None:
                self._checkpoints = self._exits.enter_context(
                    open_checkpoints(self._settings, max_connections=self._max_connections))
            return self._checkpoints.saver()

    def close(self) -> None:
        """Close the checkpoint store."""
        with self._checkpoints_lock:
            self._exits.close()
            self._checkpoints = None

    def warm_up(self) -> None:
        """Load the server's own shop (when its folder already holds one) and open the checkpointer, as a
        first run would: then the first runs do not load them while requests wait. The review index is left
        to the first run, which may have reviews to embed (minutes), too long to hold the server's start."""
        if (self._settings.effective_shop_dir / "reviews.csv").is_file():
            try:
                self._shops.get(self._settings)
            except Exception:  # the first run reports a broken shop with its message; starting goes on
                logger.warning("warm-up: the server's shop could not be loaded", exc_info=True)
        try:
            self.checkpointer()
        except Exception:  # e.g. the database went away since the app was created: the first run says so
            logger.warning("warm-up: the checkpointer could not be opened", exc_info=True)

    def has_plan(self, thread_id: str) -> bool:
        """Whether the thread's latest checkpoint holds a plan."""
        from campaign_planner.graphs.graph import build_graph

        snapshot = build_graph(checkpointer=self.checkpointer()).get_state({"configurable": {"thread_id": thread_id}})
        return bool((snapshot.values or {}).get("plan"))

    def _reload(self, run_id: str) -> RunRecord:
        record = self._store.get_run(run_id)
        assert record is not None, run_id
        return record

    def work(self, run_id: str, ticket: Ticket, decision: dict[str, Any] | None, *, worker: str | None = None,
             lease_s: float = 30.0) -> str:
        """Execute the run (see :meth:`_work`), every log record made meanwhile tagged with its run id."""
        with run_ids(run_id=run_id):
            return self._work(run_id, ticket, decision, worker=worker, lease_s=lease_s)

    def _work(self, run_id: str, ticket: Ticket, decision: dict[str, Any] | None, *, worker: str | None = None,
              lease_s: float = 30.0) -> str:
        """Execute the run if it can be taken; return ``"skipped"`` (cancelled, finished, or another worker's),
        ``"done"`` (it succeeded, failed, was cancelled or paused for review), ``"handed over"`` (back to
        pending, for the caller to queue again) or ``"lost"`` (another worker took it over).

        Without ``worker`` (the API's threads) the run must be pending. A queue ``worker`` claims it (see
        :meth:`ApiStore.claim`): a pending run, or a running one whose worker stopped renewing its claim for
        ``lease_s``; such a run is continued from its last checkpoint, whatever the message said.
        """
        if worker is None:
            record = self._reload(run_id)
            started = {"started_at": time.time()} if record.started_at is None else {}
            if ticket.cancel.is_set() or not self._store.transition(run_id, {"pending"}, status="running", **started):
                return "skipped"  # cancelled (or failed by a shutdown) before a worker picked it up
        else:
            claim = f"{worker}#{uuid.uuid4().hex[:12]}"  # unique per claim, even for one worker's two threads
            before = self._store.claim(run_id, claim, lease_s)
            if before is None:
                return "skipped"
            ticket.claim = claim
            worker = claim
            if before.status == "running":
                logger.warning("run %s: %s took it over from %s, whose claim lapsed; continuing it from its last "
                               "checkpoint", run_id, claim, before.worker)
            # Whatever the message said (it may be a redelivered original): carry out what the record asks,
            # from wherever the checkpoints got (a new run, a review decision, or a run half done).
            decision = CONTINUE
            record = self._reload(run_id)
            if record.cancel_requested:  # cancelled while its claim lapsed, or while queued as a takeover
                self._store.transition(run_id, {"running"}, claimed_by=claim, status="cancelled",
                                       error=CANCELLED_REASON, finished_at=time.time())
                self.logs.create(run_id).notify()
                return "done"
        log = self.logs.create(run_id)
        log.notify()
        try:
            outcome, interrupt = self._execute(record, ticket, log, decision)
        except RunCancelled:
            return self._stopped(run_id, ticket, worker)
        except Exception as exc:
            if not isinstance(exc, (ProblemError, *_EXPECTED_ERRORS)) or not str(exc):
                logger.exception("run %s failed", run_id)
            else:
                logger.warning("run %s failed: %s", run_id, exc)
            message = _error_text(exc)
            log.append("error", {"detail": message})
            self._store.transition(run_id, {"running"}, claimed_by=worker, status="failed", error=message,
                                   finished_at=time.time())
        else:
            self._finish(run_id, outcome, interrupt, log, revised=_revises(record, decision), worker=worker)
        finally:
            log.notify()
        return "done"

    def _stopped(self, run_id: str, ticket: Ticket, worker: str | None) -> str:
        if ticket.reason == "lost":
            logger.warning("run %s: worker %s lost its claim (another worker took the run over); stopped", run_id,
                           worker)
            return "lost"
        if ticket.reason == "handover":
            handed = self._store.transition(run_id, {"running"}, claimed_by=worker, status="pending", worker=None,
                                            heartbeat_at=None)
            return "handed over" if handed else "lost"
        shutdown = ticket.reason == "shutdown"
        self._store.transition(run_id, {"running"}, claimed_by=worker, status="failed" if shutdown else "cancelled",
                               error=SHUTDOWN_RUNNING_REASON if shutdown else CANCELLED_REASON,
                               finished_at=time.time())
        return "done"

    def _finish(self, run_id: str, outcome: PlanOutcome, interrupt: dict[str, Any] | None, log: Any,
                *, revised: bool = False, worker: str | None = None) -> None:
        if outcome.plan is None:
            message = "the run ended without a plan"
            log.append("error", {"detail": message})
            self._store.transition(run_id, {"running"}, claimed_by=worker, status="failed", error=message,
                                   finished_at=time.time())
            return
        plan = outcome.plan.model_dump(mode="json")
        extra: dict[str, Any] = {}
        revision = outcome.state.get("revision") if revised else None
        if revision:
            extra["revision"] = revision
            log.append("revision", revision)
        log.append("plan", plan)
        if outcome.awaiting_review:
            log.append("interrupt", interrupt or {})
            self._store.transition(run_id, {"running"}, claimed_by=worker, status="interrupted", plan=plan,
                                   interrupt=interrupt, **extra)
        else:
            self._store.transition(run_id, {"running"}, claimed_by=worker, status="succeeded", plan=plan,
                                   interrupt=None, finished_at=time.time(), **extra)

    def _execute(self, record: RunRecord, ticket: Ticket, log: Any,
                 decision: dict[str, Any] | None) -> tuple[PlanOutcome, dict[str, Any] | None]:
        request = RunCreate.model_validate(record.request)
        settings = self._policy.run_settings(request)
        log.append("progress", {"step": "prepare", "message": "Loading the shop and the model"})
        shop = self._shops.get(settings)
        continuing = decision == CONTINUE
        effective = _effective(record, decision)
        # Approving or rejecting calls no model, even when a crash cut it off and it is carried out again.
        replans = effective is None or effective.get("action") in ("edit", "revise")
        handle = self._model_factory(settings) if replans else _refusing_model_handle(settings)
        context = make_context(settings, model_handle=handle, shop=shop, review=request.review)
        if replans:
            log.append("progress", {"step": "prepare", "message": "Updating the shop's review index (the first "
                                                                  "run on a shop embeds its reviews)"})
            context.review_store = self._shops.review_store(shop, settings)

        def on_event(event: dict[str, Any]) -> None:
            if ticket.cancel.is_set():
                raise RunCancelled
            if event.get("done"):
                node = str(event.get("step", ""))
                if not node.startswith("__"):
                    log.append("node", {"node": node})
            else:
                log.append("progress", dict(event))

        checkpointer = self.checkpointer()
        thread_id = record.thread_id
        tag = execution_tag(record.run_id, effective, record.resumes)
        latest = latest_run_tag(checkpointer, thread_id) if continuing else None
        if continuing and latest == tag:  # the stopped execution wrote checkpoints: carry on from the last one
            on_event({"step": "start", "message": "Continuing from the last checkpoint"})
            outcome = continue_plan(context, checkpointer, thread_id=thread_id, on_event=on_event, run_tag=tag)
        elif effective is not None:  # a review decision (or one that stopped before its first checkpoint)
            on_event({"step": "start", "message": "Resuming from the checkpoint"})
            outcome = run_plan(None, context, checkpointer, thread_id=thread_id, on_event=on_event,
                               resume=effective, run_tag=tag)
        elif request.follow_up:  # a follow-up run (or one that died before its first checkpoint)
            on_event({"step": "start", "message": "Revising the plan"})
            outcome = revise_plan(request.brief, context, checkpointer, thread_id=thread_id, on_event=on_event,
                                  run_tag=tag)
        else:  # a new run, or one that stopped before its first checkpoint
            on_event({"step": "start", "message": "Starting the plan"})
            outcome = run_plan(request.brief, context, checkpointer, thread_id=thread_id, on_event=on_event,
                               run_tag=tag)
        interrupt = self._interrupt_of(checkpointer, thread_id) if outcome.awaiting_review else None
        return outcome, interrupt

    @staticmethod
    def _interrupt_of(checkpointer: Any, thread_id: str) -> dict[str, Any]:
        from campaign_planner.graphs.graph import build_graph

        snapshot = build_graph(checkpointer=checkpointer).get_state({"configurable": {"thread_id": thread_id}})
        for pending in snapshot.interrupts:
            if isinstance(pending.value, dict):
                return {"question": str(pending.value.get("question", "")),
                        "options": [str(o) for o in pending.value.get("options", [])]}
        return {"question": "Approve this plan?", "options": ["approve", "reject", "edit", "revise"]}


class RunManager:
    """Starts, resumes and cancels runs; executes them on ``workers`` background threads, or sends them to a
    queue (``queue``, see ``api/queue.py``) whose workers execute them.

    Without a queue, runs this process left pending or running (it died) are marked failed when the manager
    starts; they can be continued. With a queue, runs belong to the workers: a worker that dies has its runs
    taken over by another, so nothing is marked failed here.
    """

    def __init__(self, settings: Settings, store: ApiStore, policy: RunPolicy, *,
                 model_factory: ModelFactory | None = None, workers: int = 2,
                 shutdown_grace_s: float = 10.0, event_logs_kept: int = 500, queue: Any = None) -> None:
        self._settings = settings
        self._store = store
        self._policy = policy
        self._queue = queue
        self.workers = workers
        self._grace = shutdown_grace_s
        self._logs: Any = queue.event_logs() if queue is not None else EventLogs(event_logs_kept)
        self._executor_pool = (ThreadPoolExecutor(max_workers=workers, thread_name_prefix="campaign-run")
                               if queue is None else None)
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.executor = RunExecutor(settings, store, policy, self._logs, model_factory=model_factory,
                                    max_connections=workers + 1)
        if queue is None:
            recovered = store.fail_unfinished(RESTART_REASON)
            if recovered:
                logger.warning("%d run(s) left unfinished by a previous process were marked failed", recovered)

    # --- requests ------------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Import what a run imports on first use (the graph and its tools, Chroma, the model clients), when
        this process executes runs: the server pays it at start-up, before it answers, instead of its first
        runs paying it while requests wait (measured: ≈ 2 s of the first burst, mostly importing Chroma)."""
        if self._queue is not None:  # the queue workers execute the runs, not this process
            return
        import campaign_planner.graphs.graph
        import campaign_planner.llm
        import campaign_planner.vectorstore.ingest
        import campaign_planner.vectorstore.store  # noqa: F401

        self.executor.warm_up()

    def start(self, owner: str, thread_id: str, request: RunCreate,
              idempotency_key: str | None) -> tuple[RunRecord, bool]:
        """Create and queue a run; return it and whether it is new (False: an idempotent replay).

        Refuses with 422 when the ``Idempotency-Key`` was used with a different body, 409 while the thread
        has a pending, running or interrupted run, 503 once the server is shutting down, and with the
        policy's 403/422 for a backend or shop the server does not allow.
        """
        self._policy.run_settings(request)  # refuse what the server does not allow before queuing anything
        fingerprint = request_fingerprint(request)
        with self._lock:
            if idempotency_key is not None:
                existing = self._store.find_idempotent(owner, thread_id, idempotency_key)
                if existing is not None:
                    if existing.request_hash != fingerprint:
                        raise ProblemError(422, "this Idempotency-Key was already used with a different request "
                                                "body on this thread; use a new key for a new run")
                    return existing, False
            self._refuse_if_closed()
            busy = self._store.blocking_run(thread_id, BLOCKING_STATUSES)
            if busy is not None:
                hint = (' (a draft waiting for review takes a follow-up as resume {"action": "revise"})'
                        if request.follow_up and busy.status == "interrupted" else "")
                raise ProblemError(409, f"thread {thread_id} already has a {busy.status} run ({busy.run_id}); "
                                        f"wait for it, resume it or cancel it first{hint}", active_run_id=busy.run_id)
            if request.follow_up and not self._has_plan(thread_id):
                raise ProblemError(409, f"thread {thread_id} has no plan to follow up on yet: start a run with "
                                        "a brief first")
            try:
                record = self._store.create_run(thread_id=thread_id, owner=owner,
                                                request=request.model_dump(mode="json"), request_hash=fingerprint,
                                                idempotency_key=idempotency_key)
            except StoreConflict:  # another API server created a run on this thread just now
                return self._lost_race(owner, thread_id, idempotency_key, fingerprint)
            self._logs.create(record.run_id)
            self._enqueue(record.run_id, None)
        return record, True

    def _lost_race(self, owner: str, thread_id: str, idempotency_key: str | None,
                   fingerprint: str) -> tuple[RunRecord, bool]:
        if idempotency_key is not None:
            existing = self._store.find_idempotent(owner, thread_id, idempotency_key)
            if existing is not None and existing.request_hash == fingerprint:
                return existing, False
        busy = self._store.blocking_run(thread_id, BLOCKING_STATUSES)
        detail = f" ({busy.status} run {busy.run_id})" if busy is not None else ""
        raise ProblemError(409, f"thread {thread_id} got another run at the same moment{detail}; wait for it, "
                                "resume it or cancel it first",
                           **({"active_run_id": busy.run_id} if busy is not None else {}))

    def resume(self, run: RunRecord, decision: dict[str, Any]) -> RunRecord:
        """Queue an interrupted run to continue from its checkpoint with ``decision``; 409 otherwise.

        ``{"action": "continue"}`` instead continues a run that the server stopped (a restart after the
        process died, or a shutdown) from its last checkpoint; see :meth:`continue_run`.
        """
        if decision.get("action") == "continue":
            return self.continue_run(run)
        with self._lock:
            self._refuse_if_closed()
            resumes = (self._reload(run.run_id).resumes or 0) + 1  # numbers this decision's execution tag
            if not self._store.transition(run.run_id, {"interrupted"}, status="pending", decision=decision,
                                          resumes=resumes, error=None, cancel_requested=False):
                current = self._store.get_run(run.run_id)
                status = current.status if current else "unknown"
                raise ProblemError(409, f"run {run.run_id} is {status}, not interrupted: only a run waiting for a "
                                        "review decision can be resumed", run_status=status)
            queued = self._reload(run.run_id)  # as queued: a worker may take it (pending -> running) at once
            self._logs.create(run.run_id)
            self._enqueue(run.run_id, decision)
        return queued

    def continue_run(self, run: RunRecord) -> RunRecord:
        """Queue a run that failed because the server stopped to continue from its last checkpoint.

        The nodes it finished are not run again. 409 unless the run failed with one of
        :data:`CONTINUABLE_REASONS` and is still its thread's latest run (a newer run has moved the thread's
        checkpoint on). A run that stopped before writing its first checkpoint starts from its brief.
        """
        with self._lock:
            self._refuse_if_closed()
            current = self._reload(run.run_id)
            if current.status != "failed" or current.error not in CONTINUABLE_REASONS:
                why = f"{current.status}" + (f" ({current.error})" if current.error else "")
                raise ProblemError(409, f"run {run.run_id} is {why}: only a run that failed because the server "
                                        "stopped can be continued", run_status=current.status)
            latest = self._store.latest_run(current.thread_id)
            if latest is not None and latest.run_id != current.run_id:
                raise ProblemError(409, f"thread {current.thread_id} has a newer run ({latest.run_id}); run "
                                        f"{run.run_id} can no longer be continued: start a new run",
                                   run_status=current.status)
            if not self._store.transition(run.run_id, {"failed"}, status="pending", error=None, finished_at=None,
                                          cancel_requested=False):
                raise ProblemError(409, f"run {run.run_id} changed while it was being continued; try again")
            queued = self._reload(run.run_id)  # as queued: a worker may take it (pending -> running) at once
            self._logs.create(run.run_id)
            self._enqueue(run.run_id, CONTINUE)
        return queued

    def cancel(self, run: RunRecord) -> RunRecord:
        """Cancel a pending or interrupted run at once, or ask a running one to stop; 409 when finished."""
        with self._lock:
            ticket = self._tickets.get(run.run_id)
            if self._store.transition(run.run_id, {"pending", "interrupted"}, status="cancelled",
                                      error=CANCELLED_REASON, cancel_requested=True, finished_at=time.time()):
                if ticket is not None and ticket.future is not None and ticket.future.cancel():
                    del self._tickets[run.run_id]  # it never reached a worker
            elif (ticket is not None or self._queue is not None) and self._store.transition(
                    run.run_id, {"running"}, cancel_requested=True):
                if ticket is not None:  # a queue worker sees cancel_requested when it next renews its claim
                    ticket.cancel.set()
            else:
                current = self._reload(run.run_id)
                raise ProblemError(409, f"run {run.run_id} is already {current.status}; there is nothing to cancel",
                                   run_status=current.status)
        self._notify(run.run_id)
        return self._reload(run.run_id)

    def _has_plan(self, thread_id: str) -> bool:
        return self.executor.has_plan(thread_id)

    def queue_workers(self) -> list[dict[str, Any]] | None:
        """Return the queue workers seen recently (see ``worker_registry.workers_seen``); None without a
        queue. Raises the Redis client's error when the queue cannot be read."""
        if self._queue is None:
            return None
        from campaign_planner.api.worker_registry import workers_seen

        return workers_seen(self._queue.redis, self._settings.queue_lease_s)

    def log(self, run_id: str) -> EventLog | None:
        """Return the run's event log (None for runs from before a restart, whose log was in memory)."""
        return self._logs.get(run_id)

    @property
    def active_runs(self) -> int:
        """Return how many runs are queued or executing: in this process, or (with a queue) anywhere."""
        if self._queue is not None:
            return self._store.count_runs(ACTIVE_STATUSES)
        with self._lock:
            return len(self._tickets)

    def shutdown(self) -> None:
        """Stop taking runs; fail pending ones; ask running ones to stop and wait up to the grace period.

        With a queue, the runs belong to the workers and go on: only the connections are closed."""
        with self._lock:
            self._closed = True
            tickets = dict(self._tickets)
        if self._queue is not None:
            self._queue.close()
            self.executor.close()
            return
        for run_id, ticket in tickets.items():
            ticket.reason = "shutdown"
            ticket.cancel.set()
            self._store.transition(run_id, {"pending"}, status="failed", error=SHUTDOWN_PENDING_REASON,
                                   finished_at=time.time())
            self._notify(run_id)
        assert self._executor_pool is not None
        self._executor_pool.shutdown(wait=False, cancel_futures=True)
        futures = [t.future for t in tickets.values() if t.future is not None]
        if futures:
            wait(futures, timeout=self._grace)
        for run_id in tickets:
            if self._store.transition(run_id, ACTIVE_STATUSES, status="failed", error=SHUTDOWN_RUNNING_REASON,
                                      finished_at=time.time()):
                self._notify(run_id)
        self.executor.close()

    # --- execution -----------------------------------------------------------------------------------

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise ProblemError(503, "the server is shutting down and takes no new runs; retry shortly")

    def _enqueue(self, run_id: str, decision: dict[str, Any] | None) -> None:
        if self._queue is not None:
            try:
                self._queue.submit(run_id, decision)
            except Exception as exc:  # Redis unreachable: the run must not sit in pending with no message
                logger.warning("run %s: could not queue it: %s", run_id, exc)
                self._store.transition(run_id, {"pending"}, status="failed", error=QUEUE_DOWN_REASON,
                                       finished_at=time.time())
                self._notify(run_id)
                raise ProblemError(503, f"the run queue is unreachable; run {run_id} was not queued (it can be "
                                        'continued with {"action": "continue"} once the queue is back)',
                                   headers={"Retry-After": "10"}) from exc
            return
        assert self._executor_pool is not None
        ticket = Ticket()
        self._tickets[run_id] = ticket
        ticket.future = self._executor_pool.submit(self._work, run_id, ticket, decision)

    def _work(self, run_id: str, ticket: Ticket, decision: dict[str, Any] | None) -> None:
        try:
            self.executor.work(run_id, ticket, decision)
        finally:
            self._forget(run_id, ticket)

    def _forget(self, run_id: str, ticket: Ticket) -> None:
        with self._lock:
            if self._tickets.get(run_id) is ticket:
                del self._tickets[run_id]

    def _reload(self, run_id: str) -> RunRecord:
        record = self._store.get_run(run_id)
        assert record is not None, run_id
        return record

    def _notify(self, run_id: str) -> None:
        log = self._logs.get(run_id)
        if log is not None:
            log.notify()

