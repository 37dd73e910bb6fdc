"""What the endpoints share, kept on ``app.state.api``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from campaign_planner.api.auth import ApiKeyAuth
from campaign_planner.api.limits import RedisTokenBucketLimiter, TokenBucketLimiter
from campaign_planner.api.runner import RunManager
from campaign_planner.api.store import ApiStore

T = TypeVar("T")


@dataclass
class ApiState:
    """The run-record store, the run manager, API key checking and the rate limiter of one app."""

    store: ApiStore
    manager: RunManager
    auth: ApiKeyAuth
    limiter: TokenBucketLimiter | RedisTokenBucketLimiter

    async def call(self, work: Callable[[], T]) -> T:
        """Run ``work`` (store and run-manager calls) for an ``async`` endpoint: on the event loop when the
        store would answer at once (a local SQLite store no other thread is using: a submission's operations
        take about a millisecond), else in the thread pool (a busy store, or a database across the network).

        The submission endpoints use it: under a burst, each request's hop through the thread pool cost more
        than its work (measured in ``bench/bench_api.py --only burst``, docs/benchmarks.md)."""
        if self.store.answers_at_once():
            return work()
        return await run_in_threadpool(work)


async def api_state(request: Request) -> ApiState:
    """FastAPI dependency: the app's shared state (``async``: no thread-pool hop for an attribute read)."""
    return request.app.state.api
