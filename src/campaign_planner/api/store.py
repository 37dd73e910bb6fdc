"""Threads and run records in a small SQLite database (``api.sqlite`` in the data dir).

The records survive a restart: ``GET /runs/{id}`` keeps answering. Status changes are compare-and-set
updates (``UPDATE … WHERE status IN (…)``), so a worker and a request racing on one run cannot both
win. Each operation opens its own short-lived connection, which makes the store safe to use from the
request threads and the worker threads alike. The LangGraph checkpoints live in their own file.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL REFERENCES threads(thread_id),
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    request TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    idempotency_key TEXT,
    error TEXT,
    plan TEXT,
    interrupt TEXT,
    decision TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_thread ON runs(thread_id, created_at);
CREATE UNIQUE INDEX IF NOT EXISTS runs_idempotency
    ON runs(owner, thread_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
"""

_JSON_COLUMNS = ("request", "plan", "interrupt", "decision", "revision")
_UPDATABLE = frozenset({"status", "started_at", "finished_at", "error", "plan", "interrupt", "decision",
                        "cancel_requested", "revision"})
_ADDED_COLUMNS = {"revision": "TEXT"}
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


def _run_from_row(row: sqlite3.Row) -> RunRecord:
    values = dict(row)
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


class ApiStore:
    """Thread and run records in the SQLite file at ``path`` (created with its tables on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            present = {row["name"] for row in connection.execute("PRAGMA table_info(runs)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in present:
                    connection.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(str(self.path), timeout=15.0)
        connection.row_factory = sqlite3.Row
        try:
            with connection:  # one transaction: commit on success, roll back on error
                yield connection
        finally:
            connection.close()

    # --- threads -------------------------------------------------------------------------------------

    def create_thread(self, owner: str, metadata: dict[str, str] | None = None) -> ThreadRecord:
        """Store and return a new thread owned by ``owner``."""
        record = ThreadRecord(thread_id=str(uuid.uuid4()), owner=owner, created_at=time.time(),
                              metadata=dict(metadata or {}))
        with self._connect() as connection:
            connection.execute("INSERT INTO threads VALUES (?, ?, ?, ?)",
                               (record.thread_id, owner, record.created_at, json.dumps(record.metadata)))
        return record

    def get_thread(self, thread_id: str, owner: str) -> ThreadRecord | None:
        """Return the thread if it exists and belongs to ``owner``, else None."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM threads WHERE thread_id = ? AND owner = ?",
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
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO runs (run_id, thread_id, owner, status, created_at, updated_at, request, "
                "request_hash, idempotency_key) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                (run_id, thread_id, owner, now, now, json.dumps(request, ensure_ascii=False), request_hash,
                 idempotency_key),
            )
        record = self.get_run(run_id)
        assert record is not None
        return record

    def get_run(self, run_id: str, owner: str | None = None) -> RunRecord | None:
        """Return the run (only if it belongs to ``owner``, when given), else None."""
        query, params = "SELECT * FROM runs WHERE run_id = ?", [run_id]
        if owner is not None:
            query += " AND owner = ?"
            params.append(owner)
        with self._connect() as connection:
            row = connection.execute(query, params).fetchone()
        return _run_from_row(row) if row is not None else None

    def list_runs(self, thread_id: str) -> list[RunRecord]:
        """Return the thread's runs, oldest first."""
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM runs WHERE thread_id = ? ORDER BY created_at, rowid",
                                      (thread_id,)).fetchall()
        return [_run_from_row(row) for row in rows]

    def find_idempotent(self, owner: str, thread_id: str, key: str) -> RunRecord | None:
        """Return the run created on ``thread_id`` by ``owner`` with this ``Idempotency-Key``, if any."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM runs WHERE owner = ? AND thread_id = ? AND idempotency_key = ?",
                (owner, thread_id, key),
            ).fetchone()
        return _run_from_row(row) if row is not None else None

    def blocking_run(self, thread_id: str, statuses: Iterable[str]) -> RunRecord | None:
        """Return the thread's newest run whose status is in ``statuses``, if any."""
        wanted = sorted(statuses)
        marks = ",".join("?" * len(wanted))
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT * FROM runs WHERE thread_id = ? AND status IN ({marks}) ORDER BY created_at DESC LIMIT 1",
                (thread_id, *wanted),
            ).fetchone()
        return _run_from_row(row) if row is not None else None

    def latest_run(self, thread_id: str) -> RunRecord | None:
        """Return the thread's newest run, if any."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM runs WHERE thread_id = ? ORDER BY created_at DESC, rowid DESC "
                                     "LIMIT 1", (thread_id,)).fetchone()
        return _run_from_row(row) if row is not None else None

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set ``fields`` on the run (and its ``updated_at``), whatever its status."""
        self.transition(run_id, None, **fields)

    def transition(self, run_id: str, from_statuses: Iterable[str] | None, **fields: Any) -> bool:
        """Set ``fields`` only if the run's status is in ``from_statuses`` (None: any); return whether it did."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        columns = [*fields, "updated_at"]
        values = [_encode(c, v) for c, v in fields.items()] + [time.time()]
        query = f"UPDATE runs SET {', '.join(f'{c} = ?' for c in columns)} WHERE run_id = ?"
        params: list[Any] = [*values, run_id]
        if from_statuses is not None:
            wanted = sorted(from_statuses)
            query += f" AND status IN ({','.join('?' * len(wanted))})"
            params.extend(wanted)
        with self._connect() as connection:
            return connection.execute(query, params).rowcount == 1

    def fail_unfinished(self, reason: str) -> int:
        """Mark every pending or running run as failed with ``reason`` (after a restart); return how many."""
        now = time.time()
        with self._connect() as connection:
            cursor = connection.execute(
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ?, updated_at = ? "
                "WHERE status IN ('pending', 'running')",
                (reason, now, now),
            )
            return cursor.rowcount
