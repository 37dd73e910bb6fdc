"""Threads and run records: a small SQLite database (``api.sqlite`` in the data dir) by default, or tables in
a PostgreSQL database (schema ``campaign_planner``) shared by API servers and queue workers on many machines.

The records survive a restart: ``GET /runs/{id}`` keeps answering. Status changes are compare-and-set
updates (``UPDATE … WHERE status IN (…)``), so a worker and a request racing on one run cannot both
win. A queue worker *claims* a run (``claim``: pending → running, recording its name and a heartbeat
time) and renews the heartbeat while it works (``heartbeat``); a running run whose heartbeat is older than
the lease is taken over by another worker (``claim`` again, ``stale_runs`` finds them), and the first
worker's own status changes are refused from then on (``transition(..., worker=name)``). SQLite opens a
short-lived connection per operation; Postgres uses a small connection pool. Both are safe to use from
request threads and worker threads alike. The LangGraph checkpoints live in their own file or tables.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from campaign_planner.results.storage import RESULTS_SCHEMA, ResultRecords

logger = logging.getLogger("campaign_planner.api")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {threads} (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created_at {real} NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{{}}'
);
CREATE TABLE IF NOT EXISTS {runs} (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL REFERENCES {threads}(thread_id),
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    started_at {real},
    finished_at {real},
    request TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    idempotency_key TEXT,
    error TEXT,
    plan TEXT,
    interrupt TEXT,
    decision TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0{extra_columns}
);
CREATE INDEX IF NOT EXISTS runs_by_thread ON {runs}(thread_id, created_at);
CREATE UNIQUE INDEX IF NOT EXISTS runs_idempotency
    ON {runs}(owner, thread_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
"""
_STATUS_INDEX = "CREATE INDEX IF NOT EXISTS runs_by_status ON {runs}(status, heartbeat_at)"
"""Created after the added columns (``heartbeat_at``) exist."""
_ONE_BLOCKING_RUN = ("CREATE UNIQUE INDEX IF NOT EXISTS runs_one_blocking_per_thread ON {runs}(thread_id) "
                     "WHERE status IN ('pending', 'running', 'interrupted')")
"""At most one pending, running or interrupted run per thread, whichever API server asks (a second would run
on the same LangGraph thread at the same time)."""


class StoreConflict(Exception):
    """A write broke a uniqueness rule: the thread already has a blocking run, or the Idempotency-Key was
    used; the caller looks the existing run up."""

_JSON_COLUMNS = ("request", "plan", "interrupt", "decision", "revision")
_UPDATABLE = frozenset({"status", "started_at", "finished_at", "error", "plan", "interrupt", "decision",
                        "cancel_requested", "revision", "worker", "heartbeat_at", "resumes"})
_ADDED_COLUMNS = {"revision": "TEXT", "worker": "TEXT", "heartbeat_at": "{real}", "resumes": "INTEGER"}
"""Columns added after the first release: added to an existing database when it is opened."""


@dataclass(frozen=True)
class ThreadRecord:
    """A stored thread; ``owner`` is the hash of the API key that created it."""

    thread_id: str
    owner: str
    created_at: float
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """A stored run; JSON columns are decoded (``request``, ``plan``, ``interrupt``, ``decision``)."""

    run_id: str
    thread_id: str
    owner: str
    status: str
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    request: dict[str, Any]
    request_hash: str
    idempotency_key: str | None
    error: str | None
    plan: dict[str, Any] | None
    interrupt: dict[str, Any] | None
    decision: dict[str, Any] | None
    cancel_requested: bool
    revision: dict[str, Any] | None = None
    worker: str | None = None
    """The queue worker that claimed the run (None: not claimed, or run by the API process's threads)."""
    heartbeat_at: float | None = None
    """When that worker last said it is still working on the run."""
    resumes: int | None = None
    """How many review decisions the run was resumed with (None: never)."""


def _run_from_row(row: Any) -> RunRecord:
    values = dict(row)
    values.pop("seq", None)
    for column in _JSON_COLUMNS:
        values[column] = json.loads(values[column]) if values[column] is not None else None
    values["cancel_requested"] = bool(values["cancel_requested"])
    return RunRecord(**values)


def _encode(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS and value is not None:
        return json.dumps(value, ensure_ascii=False)
    if column == "cancel_requested":
        return int(bool(value))
    return value


class ApiStore(ResultRecords):
    """Thread and run records in the SQLite file at ``path`` (created with its tables on first use), and the
    threads' campaign results (``results/storage.py``)."""

    _names: ClassVar[dict[str, str]] = {"threads": "threads", "runs": "runs", "seq": "rowid", "real": "REAL",
                                        "result_imports": "result_imports", "channel_results": "channel_results",
                                        "customer_outcomes": "customer_outcomes",
                                        "extra_columns": "",
                                        "now": "((julianday('now') - 2440587.5) * 86400.0)"}
    location: str

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._serial = threading.RLock()  # see _connect
        connection = sqlite3.connect(str(self.path), timeout=15.0)
        try:
            with connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(self._sql(_SCHEMA))
                present = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
                for column, kind in _ADDED_COLUMNS.items():
                    if column not in present:
                        connection.execute(f"ALTER TABLE runs ADD COLUMN {column} {self._sql(kind)}")
                connection.execute(self._sql(_STATUS_INDEX))
                connection.executescript(self._sql(RESULTS_SCHEMA))
            try:
                with connection:
                    connection.execute(self._sql(_ONE_BLOCKING_RUN))
            except sqlite3.IntegrityError:  # an old database with two blocking runs on a thread
                logger.warning("%s: a thread has two pending/running/interrupted runs; the one-per-thread "
                               "index is not created until they finish", self.path)
        finally:
            connection.close()
        self._connection: sqlite3.Connection | None = None  # opened by the first operation, see _connect

    def _sql(self, query: str) -> str:
        """Return ``query`` with this database's table names (``{runs}``, ``{threads}``) and types."""
        return query.format(**self._names)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        # One operation at a time in this process, on one connection held for the store's life.
        # - The lock: concurrent writers (a burst of submissions in the thread pool, the run workers' status
        #   updates) would otherwise meet SQLite's file lock, whose busy handler makes the loser sleep 1, 2,
        #   5, … up to 100 ms before it tries again; queued on a Python lock they run back to back. Other
        #   processes sharing the file still meet the busy timeout.
        # - The one connection: opening one per operation cost ≈ 0.3 ms each (five per submission), and
        #   closing the database's last connection checkpoints the WAL into the file (4 ms).
        # WAL with synchronous=NORMAL: a commit survives the process being killed (the API's recovery
        # promise) without an fsync each; the last commits may be lost to a power cut or kernel crash, and a
        # client retrying with its Idempotency-Key then gets its run back.
        with self._serial:
            if self._connection is None:
                connection = sqlite3.connect(str(self.path), timeout=15.0, check_same_thread=False)
                connection.row_factory = sqlite3.Row
                connection.execute("PRAGMA synchronous=NORMAL")
                self._connection = connection
            with self._connection:  # one transaction: commit on success, roll back on error
                yield _Connection(self._connection, self._sql, "?")

    def answers_at_once(self) -> bool:
        """Whether an operation would start without waiting: no other thread is using this local store.
        (A probe: by the time the operation runs another thread may have started one, which it then waits
        out, a millisecond or so.)"""
        if not self._serial.acquire(blocking=False):
            return False
        self._serial.release()
        return True

    def close(self) -> None:
        """Release the store's connection (a later operation opens a new one)."""
        with self._serial:
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()

    # --- threads -------------------------------------------------------------------------------------

    def create_thread(self, owner: str, metadata: dict[str, str] | None = None) -> ThreadRecord:
        """Store and return a new thread owned by ``owner``."""
        record = ThreadRecord(thread_id=str(uuid.uuid4()), owner=owner, created_at=time.time(),
                              metadata=dict(metadata or {}))
        with self._connect() as connection:
            connection.execute("INSERT INTO {threads} VALUES (?, ?, ?, ?)",
                               (record.thread_id, owner, record.created_at, json.dumps(record.metadata)))
        return record

    def get_thread(self, thread_id: str, owner: str) -> ThreadRecord | None:
        """Return the thread if it exists and belongs to ``owner``, else None."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM {threads} WHERE thread_id = ? AND owner = ?",
                                     (thread_id, owner)).fetchone()
        if row is None:
            return None
        return ThreadRecord(thread_id=row["thread_id"], owner=row["owner"], created_at=row["created_at"],
                            metadata=json.loads(row["metadata"]))

    # --- runs ----------------------------------------------------------------------------------------

    def create_run(self, *, thread_id: str, owner: str, request: dict[str, Any], request_hash: str,
                   idempotency_key: str | None) -> RunRecord:
        """Store and return a new pending run."""
        now = time.time()
        run_id = str(uuid.uuid4())
        try:
            with self._connect() as connection:
                connection.execute(
                    "INSERT INTO {runs} (run_id, thread_id, owner, status, created_at, updated_at, request, "
                    "request_hash, idempotency_key) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                    (run_id, thread_id, owner, now, now, json.dumps(request, ensure_ascii=False), request_hash,
                     idempotency_key),
                )
        except Exception as exc:
            if _is_unique_violation(exc):
                raise StoreConflict(str(exc)) from exc
            raise
        record = self.get_run(run_id)
        assert record is not None
        return record

    def get_run(self, run_id: str, owner: str | None = None) -> RunRecord | None:
        """Return the run (only if it belongs to ``owner``, when given), else None."""
        query, params = "SELECT * FROM {runs} WHERE run_id = ?", [run_id]
        if owner is not None:
            query += " AND owner = ?"
            params.append(owner)
        with self._connect() as connection:
            row = connection.execute(query, params).fetchone()
        return _run_from_row(row) if row is not None else None

    def list_runs(self, thread_id: str) -> list[RunRecord]:
        """Return the thread's runs, oldest first."""
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM {runs} WHERE thread_id = ? ORDER BY created_at, {seq}",
                                      (thread_id,)).fetchall()
        return [_run_from_row(row) for row in rows]

    def find_idempotent(self, owner: str, thread_id: str, key: str) -> RunRecord | None:
        """Return the run created on ``thread_id`` by ``owner`` with this ``Idempotency-Key``, if any."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM {runs} WHERE owner = ? AND thread_id = ? AND idempotency_key = ?",
                (owner, thread_id, key),
            ).fetchone()
        return _run_from_row(row) if row is not None else None

    def blocking_run(self, thread_id: str, statuses: Iterable[str]) -> RunRecord | None:
        """Return the thread's newest run whose status is in ``statuses``, if any."""
        wanted = sorted(statuses)
        marks = ",".join("?" * len(wanted))
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM {runs} WHERE thread_id = ? AND status IN (" + marks + ") "
                "ORDER BY created_at DESC LIMIT 1",
                (thread_id, *wanted),
            ).fetchone()
        return _run_from_row(row) if row is not None else None

    def latest_run(self, thread_id: str) -> RunRecord | None:
        """Return the thread's newest run, if any."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM {runs} WHERE thread_id = ? ORDER BY created_at DESC, {seq} DESC "
                                     "LIMIT 1", (thread_id,)).fetchone()
        return _run_from_row(row) if row is not None else None

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set ``fields`` on the run (and its ``updated_at``), whatever its status."""
        self.transition(run_id, None, **fields)

    def transition(self, run_id: str, from_statuses: Iterable[str] | None, *, claimed_by: str | None = None,
                   **fields: Any) -> bool:
        """Set ``fields`` only if the run's status is in ``from_statuses`` (None: any) and, when ``claimed_by``
        is given, the run is still claimed by that queue worker; return whether it did."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        columns = [*fields, "updated_at"]
        values = [_encode(c, v) for c, v in fields.items()] + [time.time()]
        query = "UPDATE {runs} SET " + ", ".join(f"{c} = ?" for c in columns) + " WHERE run_id = ?"
        params: list[Any] = [*values, run_id]
        if from_statuses is not None:
            wanted = sorted(from_statuses)
            query += " AND status IN (" + ",".join("?" * len(wanted)) + ")"
            params.extend(wanted)
        if claimed_by is not None:
            query += " AND worker = ?"
            params.append(claimed_by)
        try:
            with self._connect() as connection:
                return connection.execute(query, params).rowcount == 1
        except Exception as exc:
            if _is_unique_violation(exc):  # back to pending while another run of the thread is blocking
                raise StoreConflict(str(exc)) from exc
            raise

    def claim(self, run_id: str, worker: str, lease_s: float) -> RunRecord | None:
        """Claim the run for ``worker`` (a token unique to this claim): a pending run, or a running one whose
        claim's heartbeat is older than ``lease_s`` (its worker died). Return the record as it was before the
        claim (its ``status`` says which), or None when the run is not there to claim (finished, cancelled,
        or another worker's). Times are the database's clock, so workers' clocks may differ."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM {runs} WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                return None
            before = _run_from_row(row)
            if before.status == "pending":
                condition, extra = "status = 'pending'", ()
            elif before.status == "running":
                condition, extra = "status = 'running' AND COALESCE(heartbeat_at, 0) < {now} - ?", (lease_s,)
            else:
                return None
            claimed = connection.execute(
                "UPDATE {runs} SET status = 'running', worker = ?, heartbeat_at = {now}, updated_at = {now}, "
                "started_at = COALESCE(started_at, {now}) WHERE run_id = ? AND " + condition,
                (worker, run_id, *extra),
            ).rowcount == 1
        return before if claimed else None

    def heartbeat(self, run_id: str, worker: str) -> bool | None:
        """Renew ``worker``'s claim on a running run; return whether the client asked to cancel it, or None
        when the worker no longer holds the run (another worker took it over, or its status changed)."""
        with self._connect() as connection:
            updated = connection.execute(
                "UPDATE {runs} SET heartbeat_at = {now} WHERE run_id = ? AND worker = ? AND status = 'running'",
                (run_id, worker),
            ).rowcount == 1
            if not updated:
                return None
            row = connection.execute("SELECT cancel_requested FROM {runs} WHERE run_id = ?", (run_id,)).fetchone()
        return bool(row["cancel_requested"]) if row is not None else None

    def stale_runs(self, lease_s: float, limit: int = 100) -> list[str]:
        """Return running runs whose worker has not renewed its claim for ``lease_s`` (oldest first)."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT run_id FROM {runs} WHERE status = 'running' AND COALESCE(heartbeat_at, 0) < {now} - ? "
                "ORDER BY heartbeat_at LIMIT ?", (lease_s, limit),
            ).fetchall()
        return [row["run_id"] for row in rows]

    def waiting_runs(self, older_than_s: float, limit: int = 100) -> list[str]:
        """Return pending runs last changed more than ``older_than_s`` ago (oldest first): queued messages
        that may be lost (a failed send, a broker without persistence) are sent again for these."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT run_id FROM {runs} WHERE status = 'pending' AND updated_at < ? ORDER BY updated_at LIMIT ?",
                (time.time() - older_than_s, limit),
            ).fetchall()
        return [row["run_id"] for row in rows]

    def count_runs(self, statuses: Iterable[str]) -> int:
        """Return how many runs have one of ``statuses``."""
        wanted = sorted(statuses)
        with self._connect() as connection:
            row = connection.execute("SELECT COUNT(*) AS n FROM {runs} WHERE status IN ("
                                     + ",".join("?" * len(wanted)) + ")", wanted).fetchone()
        return int(row["n"])

    def fail_unfinished(self, reason: str) -> int:
        """Mark every pending or running run as failed with ``reason`` (after a restart); return how many."""
        now = time.time()
        with self._connect() as connection:
            cursor = connection.execute(
                "UPDATE {runs} SET status = 'failed', error = ?, finished_at = ?, updated_at = ? "
                "WHERE status IN ('pending', 'running')",
                (reason, now, now),
            )
            return cursor.rowcount


class _Connection:
    """One open connection of either database, taking ``?`` placeholders and ``{runs}``-style table names."""

    def __init__(self, connection: Any, sql: Any, placeholder: str) -> None:
        self._connection = connection
        self._sql = sql
        self._placeholder = placeholder

    def execute(self, query: str, params: Iterable[Any] = ()) -> Any:
        text = self._sql(query)
        if self._placeholder != "?":
            text = text.replace("%", "%%").replace("?", self._placeholder)
        return self._connection.execute(text, tuple(params))

    def executemany(self, query: str, rows: Iterable[Iterable[Any]]) -> None:
        text = self._sql(query)
        if self._placeholder != "?":
            text = text.replace("%", "%%").replace("?", self._placeholder)
        if hasattr(self._connection, "executemany"):  # sqlite3
            self._connection.executemany(text, [tuple(row) for row in rows])
        else:  # psycopg: a cursor's executemany pipelines the statements
            with self._connection.cursor() as cursor:
                cursor.executemany(text, [tuple(row) for row in rows])


POSTGRES_SCHEMA = "campaign_planner"
_POOL_MAX = 8


class PostgresApiStore(ApiStore):
    """Thread and run records in schema ``campaign_planner`` of the PostgreSQL database at ``url`` (created on
    first use), over a small connection pool: the store API servers and queue workers share."""

    _names: ClassVar[dict[str, str]] = {"threads": f"{POSTGRES_SCHEMA}.threads", "runs": f"{POSTGRES_SCHEMA}.runs",
                                        "result_imports": f"{POSTGRES_SCHEMA}.result_imports",
                                        "channel_results": f"{POSTGRES_SCHEMA}.channel_results",
                                        "customer_outcomes": f"{POSTGRES_SCHEMA}.customer_outcomes",
                                        "seq": "seq", "real": "DOUBLE PRECISION",
                                        "extra_columns": ",\n    seq BIGSERIAL",
                                        "now": "EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION"}

    def __init__(self, url: str, *, max_connections: int = _POOL_MAX) -> None:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        psycopg.connect(url, connect_timeout=10).close()  # fail fast, with the driver's reason, when unreachable
        self.path = None  # type: ignore[assignment]
        self.location = url
        self._pool = ConnectionPool(url, min_size=1, max_size=max_connections, open=False,
                                    kwargs={"row_factory": dict_row}, name="campaign-planner-api-store")
        self._pool.open(wait=True, timeout=15.0)
        with self._pool.connection() as connection:
            # Several servers and workers may start at once: create the tables under one advisory lock.
            connection.execute("SELECT pg_advisory_xact_lock(hashtext('campaign_planner.api_store'))")
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {POSTGRES_SCHEMA}")
            for statement in (self._sql(_SCHEMA) + ";" + self._sql(RESULTS_SCHEMA)).split(";"):
                if statement.strip():
                    connection.execute(statement)
            for column, kind in _ADDED_COLUMNS.items():
                connection.execute(self._sql(f"ALTER TABLE {{runs}} ADD COLUMN IF NOT EXISTS {column} {kind}"))
            connection.execute(self._sql(_STATUS_INDEX))
        try:
            with self._pool.connection() as connection:
                connection.execute(self._sql(_ONE_BLOCKING_RUN))
        except Exception as exc:
            if not _is_unique_violation(exc):
                raise
            logger.warning("a thread has two pending/running/interrupted runs; the one-per-thread index is not "
                           "created until they finish")

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        with self._pool.connection() as connection:  # one transaction: commit on success, roll back on error
            yield _Connection(connection, self._sql, "%s")

    def answers_at_once(self) -> bool:
        """Never: every operation is a round trip to the database server, kept off the API's event loop."""
        return False

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()


def _is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc).upper()
    return type(exc).__name__ == "UniqueViolation"  # psycopg.errors.UniqueViolation (psycopg is optional here)
