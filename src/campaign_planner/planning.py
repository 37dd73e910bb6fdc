"""Running the planning graph: one entry point shared by the CLI, the evals and the API.

It resolves the shop (writing the demo shop on first use), the model, the checkpointer (SQLite by default,
Postgres with a connection pool when ``checkpoint_url`` is a ``postgresql://`` URL), and streams progress
events to a callback while the graph runs. A run whose process died continues from its last checkpoint
with :func:`continue_plan`.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langgraph.types import Command

from campaign_planner.domain import CampaignPlan
from campaign_planner.exit_codes import ExitCode
from campaign_planner.graphs.context import PlanningContext
from campaign_planner.graphs.graph import build_graph
from campaign_planner.logs import current_run_id, run_ids
from campaign_planner.settings import Settings

ProgressCallback = Callable[[dict[str, Any]], None]
logger = logging.getLogger("campaign_planner.planning")


class PlanningError(RuntimeError):
    """A planning run could not start or finish; the message says why and what to do, ``exit_code`` (an
    :class:`~campaign_planner.exit_codes.ExitCode`) what kind of failure it is for the CLI."""

    def __init__(self, message: str, *, exit_code: int = ExitCode.RUNTIME_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(exit_code)


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
            "or `campaign-planner shop demo DIR`.",
            exit_code=ExitCode.BAD_DATA,
        )
    return load_shop(shop_dir)


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_PREFIX = "sqlite:///"
CONNECT_TIMEOUT_S = 10
"""libpq ``connect_timeout`` used when the Postgres URL sets none (an unreachable host fails this fast)."""
_SETUP_LOCK_KEY = 7_210_431_977
"""The Postgres advisory lock held around ``PostgresSaver.setup()`` so that processes starting together do
not race on creating the checkpoint tables."""
# The userinfo password runs to the last "@" before the host (an unencoded "@" may be part of it).
_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)\S*@(?=[^@\s]*$|[^@\s]*\s)")
_PASSWORD_PARAMETER = re.compile(r"((?:\?|&|\s|^)password=)[^&\s]*", re.IGNORECASE)


def redact_url(text: str) -> str:
    """Return ``text`` with every password in it replaced by ``***``: the ``user:password@`` of a URL and a
    ``password=`` parameter (``postgresql://u@h/db?password=...`` or a libpq ``key=value`` string)."""
    return _PASSWORD_PARAMETER.sub(r"\1***", _PASSWORD_IN_URL.sub(r"\1***@", text))


@dataclass
class Checkpoints:
    """Where this process's LangGraph checkpoints live; :meth:`saver` returns the checkpointer for one run.

    SQLite: every call returns the same ``SqliteSaver`` over one connection (it serialises access with its
    own lock). Postgres: every call returns a new ``PostgresSaver`` over the shared connection pool, so
    concurrent runs use separate pooled connections (one saver serialises its own calls with a lock).
    """

    kind: Literal["sqlite", "postgres"]
    location: str
    """The SQLite file, or the Postgres URL with its password redacted."""
    _make_saver: Callable[[], Any]
    pool: Any = None
    """The ``psycopg_pool.ConnectionPool`` (Postgres only)."""

    def saver(self) -> Any:
        """Return a checkpointer (``BaseCheckpointSaver``) for one run."""
        return self._make_saver()


@contextmanager
def open_checkpoints(settings: Settings, *, max_connections: int = 2) -> Iterator[Checkpoints]:
    """Open the checkpoint store that ``settings.checkpoint_url`` names, for the life of the block.

    Unset: SQLite in ``<data_dir>/checkpoints.sqlite``; ``sqlite:///PATH`` (or a plain path): SQLite there;
    ``postgresql://…`` (or ``postgres://…``): Postgres through a ``psycopg_pool.ConnectionPool`` of at most
    ``max_connections`` connections, the tables created (``PostgresSaver.setup()``) once on opening.
    Anything else, a malformed URL, an unreachable server or a refused login raises :class:`PlanningError`
    whose message says what to fix (never the password).
    """
    url = (settings.checkpoint_url or "").strip()
    if url.lower().startswith(POSTGRES_SCHEMES):
        with _postgres_checkpoints(url, max_connections=max_connections) as checkpoints:
            yield checkpoints
    else:
        with _sqlite_checkpoints(_sqlite_path(url, settings)) as checkpoints:
            yield checkpoints


def _sqlite_path(url: str, settings: Settings) -> Path:
    if not url:
        return settings.checkpoint_path
    if url.lower().startswith(SQLITE_PREFIX):
        return Path(url[len(SQLITE_PREFIX):])
    if "://" not in url:
        return Path(url)
    raise PlanningError(
        f"checkpoint_url {redact_url(url)!r} is not supported: use postgresql://USER:PASSWORD@HOST:PORT/DB "
        f"for Postgres or {SQLITE_PREFIX}PATH for SQLite, or unset it (SQLite in the data dir).",
        exit_code=ExitCode.USAGE,
    )


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[Any]:
    """Yield one LangGraph checkpointer: SQLite in the data dir unless ``checkpoint_url`` names another store.

    A shortcut for :func:`open_checkpoints` for a process that runs one plan at a time (the CLI, the evals).
    """
    with open_checkpoints(settings) as checkpoints:
        yield checkpoints.saver()


@contextmanager
def _sqlite_checkpoints(path: Path) -> Iterator[Checkpoints]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path), check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise PlanningError(f"cannot open the SQLite checkpoint database {path}: {exc}",
                            exit_code=ExitCode.SERVICE_UNAVAILABLE) from exc
    saver = SqliteSaver(connection)
    try:
        yield Checkpoints("sqlite", str(path), lambda: saver)
    finally:
        connection.close()


@contextmanager
def _postgres_checkpoints(url: str, *, max_connections: int) -> Iterator[Checkpoints]:
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.conninfo import conninfo_to_dict
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError as exc:  # pragma: no cover - they are dependencies; a broken install lacks them
        raise PlanningError(f"Postgres checkpoints need langgraph-checkpoint-postgres, psycopg and psycopg-pool "
                            f"({exc}); reinstall campaign-planner") from exc

    shown = redact_url(url)
    hint = ("check that the server is running and that checkpoint_url (CAMPAIGN_PLANNER_CHECKPOINT_URL) is right, "
            "or unset it to keep checkpoints in SQLite")
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise PlanningError(f"checkpoint_url {shown} is not a valid PostgreSQL URL: "
                            f"{_one_line(redact_url(str(exc)))}", exit_code=ExitCode.USAGE) from exc
    # The settings PostgresSaver needs on every connection (see langgraph-checkpoint-postgres' README).
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    if not params.get("connect_timeout"):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        connect_timeout = float(kwargs.get("connect_timeout") or params["connect_timeout"])
    except ValueError as exc:
        raise PlanningError(f"checkpoint_url {shown}: connect_timeout must be a number of seconds",
                            exit_code=ExitCode.USAGE) from exc
    try:
        with psycopg.connect(url, **kwargs) as connection:
            _lock_for_setup(connection)
            PostgresSaver(connection).setup()
    except psycopg.Error as exc:
        raise PlanningError(f"cannot use the Postgres checkpoint database {shown}: "
                            f"{_one_line(redact_url(str(exc)))}; {hint}",
                            exit_code=ExitCode.SERVICE_UNAVAILABLE) from exc
    # check_connection on every checkout: a connection the server dropped (a restart) is replaced, not used.
    pool = ConnectionPool(url, min_size=1, max_size=max(1, max_connections), kwargs=kwargs, open=False,
                          check=ConnectionPool.check_connection, name="campaign-planner-checkpoints",
                          timeout=60.0)
    try:
        pool.open(wait=True, timeout=connect_timeout + 5.0)
    except PoolTimeout as exc:
        pool.close()
        raise PlanningError(f"cannot open a connection pool to the Postgres checkpoint database {shown}; "
                            f"{hint}", exit_code=ExitCode.SERVICE_UNAVAILABLE) from exc
    try:
        yield Checkpoints("postgres", shown, lambda: PostgresSaver(pool), pool=pool)
    finally:
        pool.close()


def _lock_for_setup(connection: Any, timeout_s: float = 120.0) -> None:
    """Take the setup advisory lock (released when ``connection`` closes), polling with ``pg_try_advisory_lock``.

    Not ``pg_advisory_lock``: a migration's ``CREATE INDEX CONCURRENTLY`` waits for every open transaction,
    including a statement blocked on that lock, which would deadlock two processes setting up at once.
    """
    deadline = time.monotonic() + timeout_s
    while not connection.execute("SELECT pg_try_advisory_lock(%s) AS locked", (_SETUP_LOCK_KEY,)).fetchone()["locked"]:
        if time.monotonic() > deadline:
            raise PlanningError(f"another process has been setting up the Postgres checkpoint tables for over "
                                f"{timeout_s:.0f}s; try again later", exit_code=ExitCode.SERVICE_UNAVAILABLE)
        time.sleep(0.2)


def _one_line(message: str) -> str:
    return " ".join(message.split())


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


RUN_TAG_KEY = "campaign_run_id"
"""Checkpoint metadata key holding the ``run_tag`` of the call that wrote the checkpoint."""


def run_plan(
    brief_text: str | None,
    context: PlanningContext,
    checkpointer: Any,
    *,
    thread_id: str,
    on_event: ProgressCallback | None = None,
    resume: Any = None,
    run_tag: str | None = None,
) -> PlanOutcome:
    """Run (or resume, with ``resume``) the planning graph on ``thread_id`` and return its outcome.

    Every node's checkpoint is written before the next node starts (``durability="sync"``), so a process
    killed mid-run loses at most the node it was in: :func:`continue_plan` picks the run up from there.
    ``run_tag`` (e.g. the API's run id) is stored in the metadata of every checkpoint this call writes
    (see :func:`latest_run_tag`).
    """
    # A new brief clears any follow-up a crashed revision left in the thread's state, so it cannot take over.
    # A new brief gets its run id here rather than in intake, so that the log records of the whole run carry it.
    graph_input: Any = (
        Command(resume=resume) if resume is not None
        else {"brief_text": brief_text or "", "follow_up": None, "run_id": uuid.uuid4().hex[:12]}
    )
    return _stream(build_graph(checkpointer=checkpointer), graph_input, context, thread_id, on_event, run_tag)


def continue_plan(
    context: PlanningContext,
    checkpointer: Any,
    *,
    thread_id: str,
    on_event: ProgressCallback | None = None,
    run_tag: str | None = None,
) -> PlanOutcome:
    """Continue the run on ``thread_id`` from its last checkpoint, e.g. after its process was killed.

    Nodes that finished before the crash are not run again (their outputs are in the checkpoint); the node
    that was running when the process died runs again from its start. A run that already finished, or that
    is waiting for a review decision, is returned as it is without running anything (resume a review with
    :func:`run_plan` and ``resume=``). Raises :class:`PlanningError` when the thread has no checkpoint.
    """
    graph = build_graph(checkpointer=checkpointer)
    snapshot = graph.get_state(_config(thread_id, context, run_tag))
    if not snapshot.values and not snapshot.next:
        raise PlanningError(f"thread {thread_id} has no checkpoint to continue from (unknown thread id, or the "
                            "checkpoints are in another database)", exit_code=ExitCode.USAGE)
    # Finished, or paused for review: nothing to run. A step whose tasks all wrote their results before the
    # run stopped (a stop between a node's end and the next checkpoint) shows no ``next`` but still has
    # its ``tasks``: streaming on applies their writes and goes on.
    if not snapshot.tasks or snapshot.interrupts:
        return _outcome(thread_id, snapshot)
    return _stream(graph, None, context, thread_id, on_event, run_tag)


def revise_plan(
    follow_up: str,
    context: PlanningContext,
    checkpointer: Any,
    *,
    thread_id: str,
    on_event: ProgressCallback | None = None,
    run_tag: str | None = None,
) -> PlanOutcome:
    """Apply a follow-up ("move $5k from search to email") to the plan on ``thread_id`` as a new run.

    Only the tools the follow-up affects run again (see ``graphs/followup.py``); ``outcome.state["revision"]``
    says what was understood and holds the diff to the plan before. A thread paused for review is revised
    with ``run_plan(..., resume={"action": "revise", "amendment": text})`` instead. Raises
    :class:`PlanningError` when the thread has no plan yet.
    """
    graph = build_graph(checkpointer=checkpointer)
    snapshot = graph.get_state(_config(thread_id, context, run_tag))
    if not (snapshot.values or {}).get("plan"):
        raise PlanningError(f"thread {thread_id} has no plan to follow up on: start it with a brief",
                            exit_code=ExitCode.USAGE)
    return _stream(graph, {"follow_up": follow_up}, context, thread_id, on_event, run_tag)


def latest_run_tag(checkpointer: Any, thread_id: str) -> str | None:
    """Return the ``run_tag`` of the call that wrote the thread's latest checkpoint (None: no checkpoint, or
    written without a tag). Tells whether a run that stopped got as far as its first checkpoint."""
    checkpoint = checkpointer.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    if checkpoint is None:
        return None
    tag = (checkpoint.metadata or {}).get(RUN_TAG_KEY)
    return str(tag) if tag is not None else None


def _config(thread_id: str, context: PlanningContext, run_tag: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}, "callbacks": [context.usage],
                              "recursion_limit": 40}
    if run_tag is not None:
        config["metadata"] = {RUN_TAG_KEY: run_tag}
    return config


def _stream(graph: Any, graph_input: Any, context: PlanningContext, thread_id: str,
            on_event: ProgressCallback | None, run_tag: str | None) -> PlanOutcome:
    config = _config(thread_id, context, run_tag)
    run_id = graph_input.get("run_id") if isinstance(graph_input, dict) else None
    if run_id is None and current_run_id() is None:  # a resume or a continuation: the run the thread holds
        run_id = (graph.get_state(config).values or {}).get("run_id")
    with run_ids(run_id=run_id or run_tag, thread_id=thread_id):
        logger.info("planning run starts (%s)", "new brief" if run_id and isinstance(graph_input, dict)
                    else "resume" if isinstance(graph_input, Command) else "continue")
        for mode, chunk in graph.stream(graph_input, config, context=context, stream_mode=["updates", "custom"],
                                        durability="sync"):
            if on_event is None:
                continue
            if mode == "custom":
                on_event(chunk)
            elif isinstance(chunk, dict):
                for node in chunk:
                    on_event({"step": node, "done": True})
        outcome = _outcome(thread_id, graph.get_state(config))
        logger.info("planning run ends: %s", "paused for review" if outcome.awaiting_review
                    else "plan made" if outcome.plan is not None else "no plan")
        return outcome


def _outcome(thread_id: str, snapshot: Any) -> PlanOutcome:
    values = dict(snapshot.values)
    plan = CampaignPlan.model_validate(values["plan"]) if values.get("plan") else None
    return PlanOutcome(thread_id=thread_id, plan=plan, awaiting_review=bool(snapshot.next), state=values)
