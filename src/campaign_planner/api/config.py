"""Server-side knobs of the HTTP API that are not planning settings (see ``docs/api.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class ApiConfig:
    """How the API serves runs.

    ``workers``: background worker threads (runs beyond that wait as ``pending``). ``rate_per_minute`` and
    ``burst``: the per-key token bucket on POST endpoints (burst defaults to the per-minute rate).
    ``max_body_bytes``: larger request bodies get 413. ``allowed_backends``: backend specs a request may
    name (default: only the server's own). ``shop_roots``: folders a request's ``shop`` must lie in
    (default: the data dir and the configured shop dir). ``shutdown_grace_s``: how long shutdown waits
    for running runs to stop at their next node boundary. ``api_db``: the run-record database (default
    ``<data_dir>/api.sqlite``).
    """

    workers: int = 2
    rate_per_minute: float = 30.0
    burst: int | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    allowed_backends: Sequence[str] | None = None
    shop_roots: Sequence[Path] | None = None
    shutdown_grace_s: float = 10.0
    event_logs_kept: int = 500
    api_db: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= 32:
            raise ValueError("workers must be between 1 and 32")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")

    @classmethod
    def from_settings(cls, settings: Any) -> ApiConfig:
        """Return the config from ``settings.api_workers``, ``api_rate_per_minute`` and ``api_max_body_bytes``
        where ``Settings`` has those fields, the defaults otherwise."""
        defaults = cls()
        return cls(
            workers=int(getattr(settings, "api_workers", defaults.workers)),
            rate_per_minute=float(getattr(settings, "api_rate_per_minute", defaults.rate_per_minute)),
            max_body_bytes=int(getattr(settings, "api_max_body_bytes", defaults.max_body_bytes)),
        )
