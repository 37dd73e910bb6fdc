"""The endpoints. Every one but ``/healthz`` needs ``X-API-Key``; POST endpoints are rate limited per key.

Ownership: threads belong to the key that created them; for any other key a thread and its runs do not
exist (404). Errors are problem+json bodies (see ``errors.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from campaign_planner.api.auth import authenticated_owner
from campaign_planner.api.errors import ProblemError
from campaign_planner.api.limits import rate_limited, thread_rate_limited
from campaign_planner.api.schemas import (
    Health,
    InterruptOut,
    QueueWorkerOut,
    ResumeRequest,
    RevisionOut,
    RunCreate,
    RunOut,
    ThreadCreate,
    ThreadOut,
)
from campaign_planner.api.state import ApiState, api_state
from campaign_planner.api.store import RunRecord, ThreadRecord
from campaign_planner.api.streaming import run_events
from campaign_planner.domain import CampaignPlan

router = APIRouter()

Owner = Annotated[str, Depends(authenticated_owner)]
LimitedOwner = Annotated[str, Depends(rate_limited)]
ThreadLimitedOwner = Annotated[str, Depends(thread_rate_limited)]
State = Annotated[ApiState, Depends(api_state)]

_PROBLEM = {"content": {"application/problem+json": {}}}
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key", **_PROBLEM},
    404: {"description": "No such thread or run for this key", **_PROBLEM},
}
_POST_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH_ERRORS,
    413: {"description": "Request body too large", **_PROBLEM},
    422: {"description": "Invalid request body", **_PROBLEM},
    429: {"description": "Rate limit exceeded (see Retry-After)", **_PROBLEM},
}


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def run_out(record: RunRecord, *, with_plan: bool = True) -> RunOut:
    """Return the public view of a run record (the plan only when asked and present)."""
    return RunOut(
        run_id=record.run_id,
        thread_id=record.thread_id,
        status=record.status,  # type: ignore[arg-type]
        created_at=_time(record.created_at),  # type: ignore[arg-type]
        updated_at=_time(record.updated_at),  # type: ignore[arg-type]
        started_at=_time(record.started_at),
        finished_at=_time(record.finished_at),
        brief=str(record.request.get("brief", "")),
        review=bool(record.request.get("review", False)),
        backend=record.request.get("backend"),
        error=record.error,
        cancel_requested=record.cancel_requested,
        interrupt=InterruptOut.model_validate(record.interrupt) if record.interrupt else None,
        decision=record.decision,
        follow_up=bool(record.request.get("follow_up", False)),
        revision=RevisionOut.model_validate(record.revision) if record.revision else None,
        plan=CampaignPlan.model_validate(record.plan) if with_plan and record.plan else None,
    )


def _thread_out(state: ApiState, thread: ThreadRecord) -> ThreadOut:
    latest = state.store.latest_run(thread.thread_id)
    status = "idle"
    if latest is not None and latest.status in ("pending", "running"):
        status = "busy"
    elif latest is not None and latest.status == "interrupted":
        status = "interrupted"
    return ThreadOut(thread_id=thread.thread_id, created_at=_time(thread.created_at),  # type: ignore[arg-type]
                     metadata=thread.metadata, status=status,  # type: ignore[arg-type]
                     latest_run_id=latest.run_id if latest else None)


def _owned_thread(state: ApiState, thread_id: str, owner: str) -> ThreadRecord:
    thread = state.store.get_thread(thread_id, owner)
    if thread is None:
        raise ProblemError(404, f"thread {thread_id} not found")
    return thread


def _owned_run(state: ApiState, run_id: str, owner: str) -> RunRecord:
    record = state.store.get_run(run_id, owner)
    if record is None:
        raise ProblemError(404, f"run {run_id} not found")
    return record


@router.get("/healthz", response_model=Health, tags=["meta"])
def healthz(state: State) -> Health:
    """Liveness: answers 200 with what executes runs and the runs queued or executing. No key needed.

    Without a queue, ``workers`` is this server's worker threads; with one, the summed concurrency of the
    queue workers whose heartbeat is fresh, each listed in ``queue_workers`` with its heartbeat age.
    ``status`` is ``degraded`` (still 200) when the queue cannot be read."""
    manager = state.manager
    try:
        seen = manager.queue_workers()
    except Exception as exc:  # Redis unreachable: say so rather than fail the liveness probe
        return Health(status="degraded", mode="queue", workers=0, active_runs=manager.active_runs,
                      queue_workers=[], problem=f"the run queue cannot be read: {type(exc).__name__}")
    if seen is None:
        return Health(workers=manager.workers, active_runs=manager.active_runs)
    return Health(mode="queue", workers=sum(w["concurrency"] for w in seen if w["alive"]),
                  active_runs=manager.active_runs, queue_workers=[QueueWorkerOut(**w) for w in seen])


@router.post("/threads", status_code=201, response_model=ThreadOut, tags=["threads"], responses=_POST_ERRORS)
async def create_thread(state: State, owner: ThreadLimitedOwner,
                        body: Annotated[ThreadCreate | None, Body()] = None) -> ThreadOut:
    """Create a thread owned by the caller's key. Returns 201 with the thread (status ``idle``)."""

    def create() -> ThreadOut:
        return _thread_out(state, state.store.create_thread(owner, (body or ThreadCreate()).metadata))

    return await state.call(create)


@router.get("/threads/{thread_id}", response_model=ThreadOut, tags=["threads"], responses=_AUTH_ERRORS)
def get_thread(thread_id: str, state: State, owner: Owner) -> ThreadOut:
    """Return the thread with its status; 404 when it does not exist or belongs to another key."""
    return _thread_out(state, _owned_thread(state, thread_id, owner))


@router.post(
    "/threads/{thread_id}/runs", status_code=202, response_model=RunOut, tags=["runs"],
    responses={**_POST_ERRORS,
               200: {"description": "Idempotent replay: the run an earlier request with this Idempotency-Key "
                                    "created", "model": RunOut},
               403: {"description": "Backend or shop not allowed on this server", **_PROBLEM},
               409: {"description": "The thread already has a pending, running or interrupted run", **_PROBLEM}},
)
async def create_run(
    thread_id: str,
    body: RunCreate,
    response: Response,
    state: State,
    owner: LimitedOwner,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> RunOut:
    """Queue a planning run on the thread and return it with 202 (status ``pending``; ``Location`` names it).

    With an ``Idempotency-Key`` already used by this key on this thread, returns that run with 200 instead
    (422 if the body differs). Refuses: 409 while the thread has a pending/running/interrupted run, 403 for
    a backend or shop the server does not allow, 422 for an empty brief or invalid settings.
    """

    def start() -> tuple[RunRecord, bool]:
        _owned_thread(state, thread_id, owner)
        return state.manager.start(owner, thread_id, body, idempotency_key)

    record, created = await state.call(start)
    response.status_code = 202 if created else 200
    response.headers["Location"] = f"/runs/{record.run_id}"
    return run_out(record)


@router.get("/threads/{thread_id}/runs", response_model=list[RunOut], tags=["runs"], responses=_AUTH_ERRORS)
def list_runs(thread_id: str, state: State, owner: Owner) -> list[RunOut]:
    """Return the thread's runs, oldest first, without their plans (``GET /runs/{id}`` has the plan)."""
    _owned_thread(state, thread_id, owner)
    return [run_out(r, with_plan=False) for r in state.store.list_runs(thread_id)]


@router.get("/runs/{run_id}", response_model=RunOut, tags=["runs"], responses=_AUTH_ERRORS)
def get_run(run_id: str, state: State, owner: Owner) -> RunOut:
    """Return the run: status, ``error`` when it failed, ``plan`` once succeeded or interrupted with a draft."""
    return run_out(_owned_run(state, run_id, owner))


@router.get("/runs/{run_id}/plan", response_model=CampaignPlan, tags=["runs"], responses=_AUTH_ERRORS)
def get_plan(run_id: str, state: State, owner: Owner) -> CampaignPlan:
    """Return the run's plan (the JSON contract; ``status`` says draft/approved/rejected); 404 until it has one."""
    record = _owned_run(state, run_id, owner)
    if record.plan is None:
        raise ProblemError(404, f"run {run_id} has no plan yet (status {record.status})", run_status=record.status)
    return CampaignPlan.model_validate(record.plan)


@router.get(
    "/runs/{run_id}/report", tags=["runs"], response_class=HTMLResponse,
    responses={**_AUTH_ERRORS, 200: {"description": "The plan as the self-contained HTML report (inline CSS and "
                                                    "SVG charts, no script)", "content": {"text/html": {}}}},
)
def get_report(run_id: str, state: State, owner: Owner) -> HTMLResponse:
    """Return the run's plan as the HTML report (what ``plan --format html`` writes); 404 until it has a plan.

    Every value from the plan is escaped; the page runs no script and loads nothing. The chat shows it in a
    sandboxed frame."""
    from campaign_planner.render import render_html

    record = _owned_run(state, run_id, owner)
    if record.plan is None:
        raise ProblemError(404, f"run {run_id} has no plan yet (status {record.status})", run_status=record.status)
    html = render_html(CampaignPlan.model_validate(record.plan))
    return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                  "img-src data:; sandbox",
                                       "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@router.get(
    "/runs/{run_id}/stream", tags=["runs"], response_class=StreamingResponse,
    responses={**_AUTH_ERRORS, 200: {"description": "Server-sent events: progress, node, plan, interrupt, then end "
                                                    "(or error)", "content": {"text/event-stream": {}}}},
)
async def stream_run(
    run_id: str,
    state: State,
    owner: Owner,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Stream the run's events as SSE: the events so far are replayed, then live ones; ends with ``end``
    (``{"status"}``) or ``error``. ``Last-Event-ID`` resumes after that event."""
    await run_in_threadpool(_owned_run, state, run_id, owner)
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses; and an id of more than 18 digits
    # (int() refuses over 4,300) is past every event.
    digits = last_event_id if last_event_id and last_event_id.isascii() and last_event_id.isdigit() else None
    cursor = 0 if digits is None else int(digits) + 1 if len(digits) <= 18 else 10**18
    return StreamingResponse(run_events(state.store, state.manager, run_id, cursor), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post(
    "/runs/{run_id}/resume", status_code=202, response_model=RunOut, tags=["runs"],
    responses={**_POST_ERRORS, 409: {"description": "The run is not interrupted (or, for `continue`, was not "
                                                   "stopped by the server)", **_PROBLEM}},
)
def resume_run(run_id: str, body: ResumeRequest, state: State, owner: LimitedOwner) -> RunOut:
    """Continue a run from its checkpoint; 202 with the run (``pending``).

    For an interrupted run, a review decision: ``approve``/``reject`` finish the run (the plan's status
    becomes approved/rejected; no model is called); ``edit`` adds ``amendment`` to the brief and replans
    (pausing for review again). 409 unless interrupted. ``continue``: a run that failed because the server
    stopped while it was pending or running (its process died, or shut down) continues from its last
    checkpoint, without redoing the steps it finished; 409 for any other run, or once the thread has a
    newer run.
    """
    record = _owned_run(state, run_id, owner)
    return run_out(state.manager.resume(record, body.decision()))


@router.post(
    "/runs/{run_id}/cancel", response_model=RunOut, tags=["runs"],
    responses={**_POST_ERRORS,
               202: {"description": "Running: it stops at the next node boundary", "model": RunOut},
               409: {"description": "The run already finished", **_PROBLEM}},
)
def cancel_run(run_id: str, request: Request, response: Response, state: State, owner: LimitedOwner) -> RunOut:
    """Cancel the run: a pending or interrupted run is ``cancelled`` at once (200); a running one is asked to stop
    at its next node boundary (202, ``cancel_requested`` true, status ``cancelled`` soon). 409 once finished."""
    record = _owned_run(state, run_id, owner)
    updated = state.manager.cancel(record)
    response.status_code = 200 if updated.status == "cancelled" else 202
    return run_out(updated)
