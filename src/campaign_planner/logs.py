"""Logging for people and for machines: one configuration for the CLI, ``serve`` and ``worker``.

Every record carries the run and thread it belongs to (``run_id``, ``thread_id``; ``-`` outside a run), set
once per run with :func:`run_ids` in a context variable, so records from the graph's nodes, the tools, the
API and the libraries underneath all say which run they are about. ``--log-json`` writes one JSON object per
line (``time``, ``level``, ``logger``, ``message``, ``run_id``, ``thread_id`` and ``exception``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Literal

LogLevel = Literal["debug", "info", "warning", "error"]
_RUN_ID: ContextVar[str | None] = ContextVar("campaign_planner_run_id", default=None)
_THREAD_ID: ContextVar[str | None] = ContextVar("campaign_planner_thread_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [run %(run_id)s thread %(thread_id)s] %(message)s"


@contextmanager
def run_ids(run_id: str | None = None, thread_id: str | None = None) -> Iterator[None]:
    """Tag every log record made inside the block (and in threads LangGraph starts from it) with the run and
    thread; an id already set by an outer block (the API's run id) is kept."""
    tokens = [(var, var.set(value)) for var, value in ((_RUN_ID, run_id), (_THREAD_ID, thread_id))
              if value and var.get() is None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_run_id() -> str | None:
    """Return the run id records are tagged with now (None outside a run)."""
    return _RUN_ID.get()


class RunIdsFilter(logging.Filter):
    """Adds ``run_id`` and ``thread_id`` to every record (``-`` outside a run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return True (never drops a record) after setting the ids."""
        record.run_id = getattr(record, "run_id", None) or _RUN_ID.get() or "-"
        record.thread_id = getattr(record, "thread_id", None) or _THREAD_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": None if getattr(record, "run_id", "-") == "-" else record.run_id,
            "thread_id": None if getattr(record, "thread_id", "-") == "-" else record.thread_id,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment (test runners and the CLI's runner swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: LogLevel = "warning", *, json_lines: bool = False, stream: IO[str] | None = None) -> None:
    """Send every logger's records at ``level`` and above to ``stream`` (stderr), as text or JSON lines.

    Replaces the handler an earlier call installed, so calling it again changes the configuration. Refuses
    (ValueError) an unknown level."""
    if level not in ("debug", "info", "warning", "error"):
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_campaign_planner", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or _CurrentStderr())  # type: ignore[arg-type]
    handler._campaign_planner = True  # type: ignore[attr-defined]
    handler.addFilter(RunIdsFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
