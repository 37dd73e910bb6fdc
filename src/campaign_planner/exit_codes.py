"""The CLI's exit codes, so that scripts can tell what happened without reading the message.

| code | meaning |
|---|---|
| 0 | done: the plan was made (or the command did what it said) |
| 1 | runtime failure: the run ended without a plan, or an unexpected error |
| 2 | usage: a bad flag or argument, an empty brief, an unknown thread, a malformed URL or backend spec |
| 3 | paused for review: the draft waits for `campaign-planner review THREAD --approve/--reject/--edit` |
| 65 | bad data: the shop folder or an import file is not valid shop data (sysexits ``EX_DATAERR``) |
| 69 | service unavailable: the database, Chroma server, queue or model backend cannot be reached or set up |

(65 and 69 are sysexits' ``EX_DATAERR`` and ``EX_UNAVAILABLE``.)
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit status of ``campaign-planner`` commands (see the module docstring and the README)."""

    DONE = 0
    RUNTIME_FAILURE = 1
    USAGE = 2
    PAUSED_FOR_REVIEW = 3
    BAD_DATA = 65
    SERVICE_UNAVAILABLE = 69


class ServiceUnavailableError(ValueError):
    """A service the command needs (database, queue, Chroma server, model backend) cannot be reached.

    A ValueError, as the configuration errors it refines, so existing handlers still catch it."""
