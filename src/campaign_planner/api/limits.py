"""Abuse limits: a per-key token bucket for POST endpoints, and a request body size cap.

The rate limiter answers 429 with ``Retry-After`` (whole seconds until a token is back); the body
size middleware answers 413 before the application reads anything, whether the client declared a
``Content-Length`` or streamed a chunked body. The buckets live in the process
(:class:`TokenBucketLimiter`), or, with a run queue, in its Redis (:class:`RedisTokenBucketLimiter`), so
that a key's limit holds across every API server behind a load balancer.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from campaign_planner.api.auth import authenticated_owner
from campaign_planner.api.errors import ProblemError, problem_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
logger = logging.getLogger("campaign_planner.api")


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


_TAKE_TOKEN = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(bucket[1]) or capacity
local updated = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(wait)
"""


class RedisTokenBucketLimiter:
    """The same token buckets, kept in Redis and updated by one atomic script on Redis's own clock, so every
    API server sharing the Redis enforces one limit per key. Should Redis fail, the request is let through
    (and the failure logged): the limiter must not take the API down with it."""

    KEY_PREFIX = "campaign-planner:rate:"

    def __init__(self, client: Any, per_minute: float, burst: int | None = None) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, math.ceil(per_minute)))
        self._script = client.register_script(_TAKE_TOKEN)

    def acquire(self, key: str) -> float:
        """Take one token for ``key``: return 0.0 when allowed, else the seconds until one is back."""
        try:
            return float(self._script(keys=[self.KEY_PREFIX + key], args=[self.rate, self.capacity]))
        except Exception:  # redis raises its own ConnectionError/TimeoutError family
            logger.warning("rate limiter: Redis unavailable, request let through", exc_info=True)
            return 0.0


async def _take_token(request: Request, bucket: str) -> None:
    limiter: TokenBucketLimiter | RedisTokenBucketLimiter = request.app.state.api.limiter
    # The in-process bucket is a few arithmetic steps under a lock held for microseconds: taken on the event
    # loop. The Redis bucket is a network round trip: taken in the thread pool, never blocking the loop.
    wait = (limiter.acquire(bucket) if isinstance(limiter, TokenBucketLimiter)
            else await run_in_threadpool(limiter.acquire, bucket))
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise ProblemError(429, f"rate limit exceeded for this API key; retry in {retry_after} s",
                           headers={"Retry-After": str(retry_after)})


async def rate_limited(request: Request, owner: str = Depends(authenticated_owner)) -> str:
    """FastAPI dependency for the POST endpoints that start or steer runs: the caller's owner id; refuses
    with 429 over the limit.

    The auth and limit dependencies are ``async`` so that a request spends one thread-pool hop (its route
    handler's) instead of four: under a burst of 200 submissions the hops queued behind each other."""
    await _take_token(request, owner)
    return owner


async def thread_rate_limited(request: Request, owner: str = Depends(authenticated_owner)) -> str:
    """FastAPI dependency for ``POST /threads``: the caller's owner id; refuses with 429 over the limit.

    Thread creation has its own bucket per key (same rate), so opening a thread spends none of the key's
    plan tokens: a key gets its full rate of plans, not half.
    """
    await _take_token(request, f"threads:{owner}")
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
