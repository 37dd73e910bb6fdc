"""Campaign results kept with their thread, in the run-record store's own database (SQLite or Postgres).

``ResultRecords`` is mixed into ``api.store.ApiStore`` (and so ``PostgresApiStore``): the same connection
handling and dialect layer (``{table}`` names, ``?`` placeholders), three more tables. Results are never
kept in the LangGraph checkpoint blobs: a re-plan, a readout and another API server read them as rows.

Import rules, applied in one transaction per file:

* the same file (same sha256) imported again on a thread changes nothing;
* channel results are flows: a period, channel and region already stored with the same figures is left
  as it is, a new one is appended, and one stored with *different* figures refuses the whole file (a
  restatement) unless ``replace``;
* customer outcomes are states (a customer converts later in the window): a customer's latest outcome
  replaces the stored one, but a customer switching arms refuses the file (assignment never changes);
* a channel's results are either per region (a geo holdout) or not, never both.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from campaign_planner.results.files import CHANNEL_METRICS, ResultBatch, ResultKind

RESULTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS {result_imports} (
    import_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    column_map TEXT NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_added INTEGER NOT NULL,
    rows_updated INTEGER NOT NULL,
    created_at {real} NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS result_imports_by_file ON {result_imports}(thread_id, kind, sha256);
CREATE TABLE IF NOT EXISTS {channel_results} (
    thread_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    period TEXT NOT NULL,
    region TEXT NOT NULL,
    arm TEXT NOT NULL,
    spend {real} NOT NULL,
    impressions {real},
    clicks {real},
    conversions {real},
    revenue {real} NOT NULL,
    import_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, channel, period, region)
);
CREATE TABLE IF NOT EXISTS {customer_outcomes} (
    thread_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    arm TEXT NOT NULL,
    converted INTEGER NOT NULL,
    revenue {real} NOT NULL,
    import_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, channel, customer_id)
)
"""
"""The results tables; ``{real}`` and the table names come from the store's dialect."""

RESULT_TABLES = ("result_imports", "channel_results", "customer_outcomes")
_CHANNEL_KEY = ["channel", "period", "region"]
_CUSTOMER_KEY = ["channel", "customer_id"]
_CHANNEL_COLUMNS = ["channel", "period", "region", "arm", *CHANNEL_METRICS]
_CUSTOMER_COLUMNS = ["channel", "customer_id", "arm", "converted", "revenue"]
_SHOWN = 5


class ResultsConflict(ValueError):
    """A result file that contradicts what the thread already holds; nothing of it was stored."""


@dataclass(frozen=True)
class ImportOutcome:
    """What one import did: rows read, added, updated (restated or a later customer outcome), unchanged."""

    import_id: str | None
    thread_id: str
    kind: ResultKind
    source: str
    sha256: str
    rows_read: int
    rows_added: int
    rows_updated: int
    rows_unchanged: int
    already_imported: bool = False

    def summary(self) -> str:
        """Return one line saying what the import changed."""
        if self.already_imported:
            return f"{self.source}: already imported on this thread; nothing changed"
        return (f"{self.source}: {self.rows_read:,} {self.kind.replace('_', ' ')} rows read, "
                f"{self.rows_added:,} added, {self.rows_updated:,} updated, {self.rows_unchanged:,} unchanged")

    def as_dict(self) -> dict[str, Any]:
        """Return the outcome as JSON-ready values."""
        return asdict(self)


class ResultRecords:
    """Results methods of the run-record store; the host class provides ``_connect()`` (one transaction)."""

    def _connect(self) -> Any:  # pragma: no cover - provided by ApiStore
        raise NotImplementedError

    def record_results(self, thread_id: str, batch: ResultBatch, *, replace: bool = False) -> ImportOutcome:
        """Store ``batch`` with ``thread_id`` and return what changed.

        Refuses (ResultsConflict, nothing stored) a restated period (unless ``replace``), a customer whose arm
        differs from the stored one, and a channel whose results would mix per-region and national rows.
        """
        try:
            return self._record(thread_id, batch, replace=replace)
        except Exception as exc:
            # Two imports racing on one thread: the unique keys let only one commit; the other stored nothing.
            if isinstance(exc, sqlite3.IntegrityError) or type(exc).__name__ == "UniqueViolation":
                raise ResultsConflict(f"{batch.source}: another import on this thread was being stored at the same "
                                      "time; nothing of this file was stored: import it again") from exc
            raise

    def _record(self, thread_id: str, batch: ResultBatch, *, replace: bool) -> ImportOutcome:
        with self._connect() as connection:
            seen = connection.execute(
                "SELECT import_id FROM {result_imports} WHERE thread_id = ? AND kind = ? AND sha256 = ?",
                (thread_id, batch.kind, batch.sha256)).fetchone()
            if seen is not None:
                return ImportOutcome(import_id=seen["import_id"], thread_id=thread_id, kind=batch.kind,
                                     source=batch.source, sha256=batch.sha256, rows_read=len(batch.rows), rows_added=0,
                                     rows_updated=0, rows_unchanged=len(batch.rows), already_imported=True)
            import_id = uuid.uuid4().hex
            if batch.kind == "channel_results":
                added, updated = _merge_channel_results(connection, thread_id, batch, import_id, replace=replace)
            else:
                added, updated = _merge_customer_outcomes(connection, thread_id, batch, import_id)
            connection.execute(
                "INSERT INTO {result_imports} (import_id, thread_id, kind, source, sha256, column_map, rows_read, "
                "rows_added, rows_updated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (import_id, thread_id, batch.kind, batch.source, batch.sha256, batch.map_name, len(batch.rows),
                 added, updated, time.time()))
        return ImportOutcome(import_id=import_id, thread_id=thread_id, kind=batch.kind, source=batch.source,
                             sha256=batch.sha256, rows_read=len(batch.rows), rows_added=added, rows_updated=updated,
                             rows_unchanged=len(batch.rows) - added - updated)

    def channel_results(self, thread_id: str) -> pd.DataFrame:
        """Return the thread's channel results (``region``/``arm`` are '' outside geo holdouts), by period."""
        with self._connect() as connection:
            return _frame(connection, "SELECT " + ", ".join(_CHANNEL_COLUMNS) + " FROM {channel_results} "
                          "WHERE thread_id = ? ORDER BY period, channel, region", (thread_id,), _CHANNEL_COLUMNS)

    def customer_outcomes(self, thread_id: str) -> pd.DataFrame:
        """Return the thread's per-customer holdout outcomes."""
        with self._connect() as connection:
            return _frame(connection, "SELECT " + ", ".join(_CUSTOMER_COLUMNS) + " FROM {customer_outcomes} "
                          "WHERE thread_id = ? ORDER BY channel, customer_id", (thread_id,), _CUSTOMER_COLUMNS)

    def result_imports(self, thread_id: str) -> list[dict[str, Any]]:
        """Return the thread's imports, oldest first (what was read from which file, and when)."""
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM {result_imports} WHERE thread_id = ? ORDER BY created_at",
                                      (thread_id,)).fetchall()
        return [dict(row) for row in rows]


def _frame(connection: Any, query: str, params: tuple[Any, ...], columns: list[str]) -> pd.DataFrame:
    rows = connection.execute(query, params).fetchall()
    frame = pd.DataFrame([tuple(row[c] for c in columns) for row in rows], columns=columns)
    for column in ("spend", "impressions", "clicks", "conversions", "revenue"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    if "converted" in frame:
        frame["converted"] = frame["converted"].astype("int64")
    return frame


def _nullable(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


def _same(left: pd.Series, right: pd.Series) -> pd.Series:
    """Element-wise equality that counts two missing values as equal and ignores float noise."""
    both_missing = left.isna() & right.isna()
    close = np.isclose(left.astype("float64").fillna(0), right.astype("float64").fillna(0), rtol=0, atol=1e-6)
    return both_missing | (close & left.notna() & right.notna())


def _keys(frame: pd.DataFrame, columns: list[str]) -> str:
    shown = [" / ".join(str(v) for v in row if v != "") for row in frame[columns].head(_SHOWN).itertuples(index=False)]
    more = f" and {len(frame) - _SHOWN} more" if len(frame) > _SHOWN else ""
    return ", ".join(shown) + more


def _merge_channel_results(connection: Any, thread_id: str, batch: ResultBatch, import_id: str, *,
                           replace: bool) -> tuple[int, int]:
    new = batch.rows
    marks = ",".join("?" * len(batch.channels))
    stored = _frame(connection, "SELECT " + ", ".join(_CHANNEL_COLUMNS) + " FROM {channel_results} WHERE thread_id = ? "
                    f"AND channel IN ({marks})", (thread_id, *batch.channels), _CHANNEL_COLUMNS)
    for channel in batch.channels:
        regional = set((new.loc[new["channel"] == channel, "region"] != "").unique())
        regional |= set((stored.loc[stored["channel"] == channel, "region"] != "").unique())
        if len(regional) > 1:
            raise ResultsConflict(f"{batch.source}: channel {channel!r} would have both per-region rows (a geo "
                                  "holdout) and rows without a region; give every row of a geo-tested channel its "
                                  "region and arm")
    merged = new.merge(stored, on=_CHANNEL_KEY, how="left", suffixes=("", "_stored"), indicator=True)
    existing = merged["_merge"] == "both"
    same = existing & (merged["arm"] == merged["arm_stored"])
    for metric in CHANNEL_METRICS:
        same &= _same(merged[metric], merged[f"{metric}_stored"])
    changed = merged[existing & ~same]
    if len(changed) and not replace:
        raise ResultsConflict(
            f"{batch.source}: {len(changed):,} row(s) restate figures already imported on this thread "
            f"({_keys(changed, _CHANNEL_KEY)}); nothing was stored. Pass replace (--replace) to overwrite them "
            "with this file's figures.")
    fresh = merged[~existing]
    if len(fresh):
        connection.executemany(
            "INSERT INTO {channel_results} (arm, spend, impressions, clicks, conversions, revenue, import_id, "
            "thread_id, channel, period, region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _channel_values(fresh, thread_id, import_id))
    if len(changed):
        connection.executemany(
            "UPDATE {channel_results} SET arm = ?, spend = ?, impressions = ?, clicks = ?, conversions = ?, "
            "revenue = ?, import_id = ? WHERE thread_id = ? AND channel = ? AND period = ? AND region = ?",
            _channel_values(changed, thread_id, import_id))
    return len(fresh), len(changed)


def _channel_values(frame: pd.DataFrame, thread_id: str, import_id: str) -> list[tuple[Any, ...]]:
    """Return the rows as (arm, metrics..., import_id, thread_id, channel, period, region) tuples."""
    metrics = [[_nullable(v) for v in frame[m].tolist()] for m in CHANNEL_METRICS]
    size = len(frame)
    return list(zip(frame["arm"], *metrics, [import_id] * size, [thread_id] * size, frame["channel"],
                    frame["period"], frame["region"], strict=True))


def _merge_customer_outcomes(connection: Any, thread_id: str, batch: ResultBatch, import_id: str) -> tuple[int, int]:
    new = batch.rows
    marks = ",".join("?" * len(batch.channels))
    stored = _frame(connection, "SELECT " + ", ".join(_CUSTOMER_COLUMNS) + " FROM {customer_outcomes} "
                    f"WHERE thread_id = ? AND channel IN ({marks})", (thread_id, *batch.channels), _CUSTOMER_COLUMNS)
    merged = new.merge(stored, on=_CUSTOMER_KEY, how="left", suffixes=("", "_stored"), indicator=True)
    existing = merged["_merge"] == "both"
    switched = merged[existing & (merged["arm"] != merged["arm_stored"])]
    if len(switched):
        raise ResultsConflict(
            f"{batch.source}: {len(switched):,} customer(s) are in a different arm than an earlier import says "
            f"({_keys(switched, _CUSTOMER_KEY)}); a holdout's assignment never changes, so nothing was stored")
    same = existing & (merged["converted"] == merged["converted_stored"]) & _same(merged["revenue"],
                                                                                   merged["revenue_stored"])
    changed = merged[existing & ~same]
    fresh = merged[~existing]
    if len(fresh):
        connection.executemany(
            "INSERT INTO {customer_outcomes} (arm, converted, revenue, import_id, thread_id, channel, customer_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            list(zip(fresh["arm"], fresh["converted"].astype(int).tolist(), fresh["revenue"].astype(float).tolist(),
                     [import_id] * len(fresh), [thread_id] * len(fresh), fresh["channel"], fresh["customer_id"],
                     strict=True)))
    if len(changed):
        connection.executemany(
            "UPDATE {customer_outcomes} SET arm = ?, converted = ?, revenue = ?, import_id = ? "
            "WHERE thread_id = ? AND channel = ? AND customer_id = ?",
            list(zip(changed["arm"], changed["converted"].astype(int).tolist(),
                     changed["revenue"].astype(float).tolist(), [import_id] * len(changed),
                     [thread_id] * len(changed), changed["channel"], changed["customer_id"], strict=True)))
    return len(fresh), len(changed)
