"""Request and response bodies of the HTTP API (pydantic; they are the OpenAPI document's schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaign_planner.domain import CampaignPlan
from campaign_planner.graphs.plan_diff import PlanDiff

RunStatus = Literal["pending", "running", "interrupted", "succeeded", "failed", "cancelled"]
ThreadStatus = Literal["idle", "busy", "interrupted"]

ACTIVE_STATUSES: frozenset[str] = frozenset({"pending", "running"})
"""A run in one of these is queued or executing."""
BLOCKING_STATUSES: frozenset[str] = frozenset({"pending", "running", "interrupted"})
"""A run in one of these keeps its thread busy: a second run on the thread is refused (409)."""

MAX_BRIEF_CHARS = 20_000
EMPTY_BRIEF = "the brief is empty: describe the product, audience, budget, period and channels"


def _has_lone_surrogate(value: Any) -> bool:
    """Whether JSON data holds text with a lone surrogate (JSON allows ``"\\ud800"``; UTF-8 cannot encode it)."""
    if isinstance(value, str):
        return not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


class _Strict(BaseModel):
    # strict: "review": "yes" or "max_segments": "3" is refused (422), not coerced; JSON has real booleans.
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        # Refused here (422), not stored: the response could not be encoded (a 500), now and on every later read.
        if _has_lone_surrogate(data):
            raise ValueError("text must be valid Unicode, without lone surrogates such as \\ud800")
        return data


class ThreadCreate(_Strict):
    """Body of ``POST /threads`` (optional)."""

    metadata: dict[str, str] = Field(default_factory=dict, max_length=32,
                                     description="Free-form labels kept with the thread.")


class ThreadOut(BaseModel):
    """A thread: one conversation about a campaign; its runs share the LangGraph checkpoint thread."""

    thread_id: str
    created_at: datetime
    metadata: dict[str, str] = Field(default_factory=dict)
    status: ThreadStatus = Field(description="busy while a run is pending or running; interrupted while one "
                                             "waits for a review decision; idle otherwise.")
    latest_run_id: str | None = None


class RunSettings(_Strict):
    """Per-run overrides of the server's planning settings."""

    max_segments: int | None = Field(default=None, ge=2, le=6)
    variants_per_cell: int | None = Field(default=None, ge=1, le=4)
    language: Literal["en", "zh"] | None = None


class RunCreate(_Strict):
    """Body of ``POST /threads/{thread_id}/runs``."""

    brief: str = Field(max_length=MAX_BRIEF_CHARS, description="The campaign brief in plain language (en or zh).",
                       examples=["Spring dress launch for women 25-40, $50,000 over 4 weeks, email and Instagram."])
    backend: str | None = Field(default=None, description="LLM backend spec; only the ones the server enables.")
    shop: str | None = Field(default=None, description="Shop folder on the server, under an allowed root.")
    review: bool = Field(default=False, description="Pause with status `interrupted` for approve/reject/edit.")
    settings: RunSettings = Field(default_factory=RunSettings)
    follow_up: bool = Field(
        default=False,
        description="The brief is a follow-up to the thread's current plan (\"move $5k from search to email\"): "
                    "only what it affects is replanned and the run's `revision` holds the diff. 409 when the "
                    "thread has no plan yet.")

    @field_validator("brief")
    @classmethod
    def _brief_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(EMPTY_BRIEF)
        return value.strip()


class ResumeRequest(_Strict):
    """Body of ``POST /runs/{run_id}/resume``: a review decision for an interrupted run (``approve``, ``reject``,
    ``edit``), or ``continue`` for a run that failed because the server stopped (its process died or shut
    down): it continues from its last checkpoint without redoing the steps it finished."""

    action: Literal["approve", "reject", "edit", "revise", "continue"]
    amendment: str | None = Field(default=None, max_length=5_000,
                                  description="Required for `edit` (text added to the brief before replanning from "
                                              "scratch) and `revise` (a follow-up such as \"make the SMS copy "
                                              "shorter\": only what it affects is replanned).")

    @model_validator(mode="after")
    def _edit_needs_amendment(self) -> ResumeRequest:
        if self.action in ("edit", "revise") and not (self.amendment or "").strip():
            raise ValueError(f"action '{self.action}' needs a non-empty amendment (what should change)")
        return self

    def decision(self) -> dict[str, Any]:
        """Return the value the graph's review interrupt resumes with (``{"action": "continue"}`` for continue)."""
        if self.action in ("edit", "revise"):
            return {"action": self.action, "amendment": (self.amendment or "").strip()}
        return {"action": self.action}


class InterruptOut(BaseModel):
    """What a run paused for review is waiting on."""

    question: str
    options: list[str]


class RevisionOut(BaseModel):
    """What a follow-up changed: how the rules read it, which tools ran again, and the diff to the plan before."""

    follow_up: str
    kinds: list[str] = Field(default_factory=list, description="budget, audience and/or copy.")
    rerun: list[str] = Field(default_factory=list, description="Tools whose outputs were replaced.")
    copy_channels: list[str] | None = Field(default=None, description="Channels whose copy alone was rewritten.")
    full_replan: bool = Field(default=False, description="Not understood by the rules: the follow-up was added to "
                                                         "the brief and the whole plan was made again.")
    notes: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list, description="Requests understood but not possible.")
    unknown: list[str] = Field(default_factory=list)
    summary: str = ""
    changes: list[str] = Field(default_factory=list, description="The diff in short sentences.")
    diff: PlanDiff | None = None


class RunOut(BaseModel):
    """A run record. ``plan`` (the plan JSON contract) is present once the run has one: when it succeeded,
    or when it is interrupted with a draft; list endpoints leave it out."""

    run_id: str
    thread_id: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    brief: str
    review: bool
    backend: str | None = None
    error: str | None = Field(default=None, description="Why the run failed or was stopped.")
    cancel_requested: bool = False
    interrupt: InterruptOut | None = None
    decision: dict[str, Any] | None = Field(default=None, description="The last review decision applied.")
    follow_up: bool = False
    revision: RevisionOut | None = Field(default=None, description="The last follow-up applied by this run.")
    plan: CampaignPlan | None = None


class QueueWorkerOut(BaseModel):
    """A queue worker as the queue last saw it."""

    name: str
    concurrency: int = Field(description="Runs it executes at once.")
    heartbeat_age_s: float = Field(description="Seconds since its last heartbeat (Redis's clock).")
    alive: bool = Field(description="Its heartbeat is at most one lease old (it renews it every quarter lease).")


class Health(BaseModel):
    """``GET /healthz``."""

    status: Literal["ok", "degraded"] = Field(
        default="ok", description="degraded: the run queue could not be read (see `problem`).")
    mode: Literal["in_process", "queue"] = Field(
        default="in_process", description="Who executes runs: this server's threads, or queue workers.")
    workers: int = Field(description="Runs that can execute at once: this server's worker threads, or with a "
                                     "queue the summed concurrency of the live queue workers.")
    active_runs: int
    queue_workers: list[QueueWorkerOut] | None = Field(
        default=None, description="With a queue: the workers it has seen recently, with their heartbeat age.")
    problem: str | None = None
