"""Which queue workers are alive: each worker writes a heartbeat to Redis, ``/healthz`` reads them.

Heartbeats are stamped with Redis's own clock (``TIME``), so their ages are right whatever the clocks of the
workers' and API servers' machines say. A worker removes its entry when it stops; an entry not renewed for
:data:`FORGET_AFTER_LEASES` leases (a worker that died) is dropped by the next reader.
"""

from __future__ import annotations

import json
from typing import Any

WORKERS_KEY = "campaign-planner:workers"
FORGET_AFTER_LEASES = 10


def redis_now(redis: Any) -> float:
    """Return Redis's clock in seconds."""
    seconds, micros = redis.time()
    return float(seconds) + float(micros) / 1e6


def announce(redis: Any, worker: str, concurrency: int) -> None:
    """Record that ``worker`` is alive now and executes up to ``concurrency`` runs at once."""
    redis.hset(WORKERS_KEY, worker, json.dumps({"concurrency": concurrency, "seen": redis_now(redis)}))


def withdraw(redis: Any, worker: str) -> None:
    """Remove ``worker``'s heartbeat (it is stopping)."""
    redis.hdel(WORKERS_KEY, worker)


def workers_seen(redis: Any, lease_s: float) -> list[dict[str, Any]]:
    """Return the workers whose heartbeat is at most ``FORGET_AFTER_LEASES * lease_s`` old, oldest heartbeat
    last: ``{"name", "concurrency", "heartbeat_age_s", "alive"}``, ``alive`` when the heartbeat is at most
    one lease old (the worker renews it every quarter lease). Drops older entries."""
    now = redis_now(redis)
    seen = []
    for raw_name, raw in (redis.hgetall(WORKERS_KEY) or {}).items():
        name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
        try:
            entry = json.loads(raw)
            age = max(0.0, now - float(entry["seen"]))
            concurrency = int(entry["concurrency"])
        except (ValueError, KeyError, TypeError):  # a foreign or damaged entry: not a worker of ours
            redis.hdel(WORKERS_KEY, raw_name)
            continue
        if age > FORGET_AFTER_LEASES * lease_s:
            redis.hdel(WORKERS_KEY, raw_name)
            continue
        seen.append({"name": name, "concurrency": concurrency, "heartbeat_age_s": round(age, 1),
                     "alive": age <= lease_s})
    return sorted(seen, key=lambda worker: worker["heartbeat_age_s"])
