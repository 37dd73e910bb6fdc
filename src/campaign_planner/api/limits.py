"""Abuse limits: a per-key token bucket for POST endpoints, and a request body size cap.

The rate limiter answers 429 with ``Retry-After`` (whole seconds until a token is back); the body
size middleware answers 413 before the application reads anything, whether the client declared a
``Content-Length`` or streamed a chunked body.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from campaign_planner.api.auth import authenticated_owner
from campaign_planner.api.errors import ProblemError, problem_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """Per-key token buckets: ``burst`` tokens at most, refilled at ``per_minute`` tokens a minute."""

    def __init__(self, per_minute: float, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, math.ceil(per_minute)))
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for ``key``: return 0.0 when allowed, else the seconds until one is back."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(key, _Bucket(tokens=self.capacity, updated=now))
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def rate_limited(request: Request, owner: str = Depends(authenticated_owner)) -> str:
    """FastAPI dependency for POST endpoints: the caller's owner id; refuses with 429 over the limit."""
    limiter: TokenBucketLimiter = request.app.state.api.limiter
    wait = limiter.acquire(owner)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise ProblemError(429, f"rate limit exceeded for this API key; retry in {retry_after} s",
                           headers={"Retry-After": str(retry_after)})
    return owner


class BodySizeLimitMiddleware:
    """ASGI middleware that refuses request bodies over ``max_bytes`` with 413 (problem+json).

    Bodies of POST/PUT/PATCH requests are read (up to the limit) before the application runs and then
    replayed to it, so a chunked body without ``Content-Length`` is capped as well.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            more = bool(message.get("more_body", False))
        buffered: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal buffered
            if buffered is not None:
                message, buffered = buffered, None
                return message
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, f"request body too large: the limit is {self.max_bytes} bytes")
        await response(scope, receive, send)
