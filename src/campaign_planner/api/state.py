"""What the endpoints share, kept on ``app.state.api``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from campaign_planner.api.auth import ApiKeyAuth
from campaign_planner.api.limits import RedisTokenBucketLimiter, TokenBucketLimiter
from campaign_planner.api.runner import RunManager
from campaign_planner.api.store import ApiStore


@dataclass
class ApiState:
    """The run-record store, the run manager, API key checking and the rate limiter of one app."""

    store: ApiStore
    manager: RunManager
    auth: ApiKeyAuth
    limiter: TokenBucketLimiter | RedisTokenBucketLimiter


def api_state(request: Request) -> ApiState:
    """FastAPI dependency: the app's shared state."""
    return request.app.state.api
