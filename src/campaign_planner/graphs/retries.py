"""Retrying the tool nodes when a service they call drops a connection, and only then.

A Chroma server restarting, a model server's connection reset or a network blip should cost a retry, not a
run; a tool's own error (bad data, a bug) must still fail the run at once, with its message. The tool nodes
make one tool call per graph step, so a retry repeats only the call that was cut off.
"""

from __future__ import annotations

import logging

from langgraph.types import RetryPolicy

logger = logging.getLogger("campaign_planner.retries")


def _connection_error_types() -> tuple[type[BaseException], ...]:
    import httpx  # the transport of the Chroma HttpClient and of the OpenAI-compatible model clients

    types: list[type[BaseException]] = [ConnectionError, httpx.NetworkError, httpx.RemoteProtocolError,
                                        httpx.ConnectTimeout]
    try:
        import openai

        types.append(openai.APIConnectionError)  # includes its timeouts: the request never got an answer
    except ImportError:  # the OpenAI client is a dependency; without it no openai error can occur anyway
        pass
    return tuple(types)


def is_connection_error(exc: BaseException) -> bool:
    """Return True when ``exc`` (or an exception it was raised from) is a dropped or refused connection."""
    types = _connection_error_types()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, types):
            logger.warning("a service connection failed (%s: %s); retrying the step", type(current).__name__,
                           current)
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


# Three attempts over about 1.5 s (0.5 s, then 1 s, with jitter): long enough for a server restart's first
# refusal or a reset keep-alive connection, short enough that an outage still fails the run promptly.
TOOL_RETRY = RetryPolicy(initial_interval=0.5, backoff_factor=2.0, max_interval=4.0, max_attempts=3,
                         retry_on=is_connection_error)
