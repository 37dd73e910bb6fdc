"""Serve the real API app with the scripted fake model, for the serving benchmarks and the queue tests (not a
product entry point).

``python bench/fake_api_server.py --data-dir D --shop S --port P --key-hash H [--workers 8] [--rate 1e9]
[--model-delay-ms 0] [--journal FILE]``

``python bench/fake_api_server.py --queue-worker NAME --data-dir D --shop S [--workers 1] [--model-delay-ms 0]
[--journal FILE]`` runs a queue worker (``campaign-planner worker``'s :class:`QueueWorker`) with the same fake
model instead; the queue, Postgres and Chroma URLs come from the environment (``CAMPAIGN_PLANNER_QUEUE_URL``,
``CAMPAIGN_PLANNER_CHECKPOINT_URL``, ``CAMPAIGN_PLANNER_CHROMA_URL``, ``CAMPAIGN_PLANNER_QUEUE_LEASE_S``).

Everything is the product's ``create_app`` (run records, workers, SQLite checkpoints, the shop's embedded
Chroma store, the real tools) except the model: ``tests/fake_planner_model.py``'s competent scripted model,
optionally sleeping ``--model-delay-ms`` per call to stand in for a model's latency. With ``--journal``,
every tool execution appends ``{"pid", "thread_id", "run_id", "tool", "phase": "start"|"end"}`` lines to
FILE (one ``os.write`` on an ``O_APPEND`` descriptor each, so a SIGKILL loses no completed line): the
ground truth of which tools ran how often for each API run, across process restarts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.fake_planner_model


def model_factory(delay_s: float, gate: Path | None = None) -> Any:
    """The scripted competent model, sleeping ``delay_s`` per call; while the file ``gate`` exists, every
    call waits (tests hold a run inside a model call that way)."""
    from tests.fake_planner_model import planner_responder

    from campaign_planner.testing import ScriptedChatModel

    def respond(messages: list[Any]) -> str:
        while gate is not None and gate.exists():
            time.sleep(0.05)
        if delay_s > 0:
            time.sleep(delay_s)
        return planner_responder(messages)

    def factory(settings: Any) -> SimpleNamespace:
        return SimpleNamespace(model=ScriptedChatModel(responder=respond), backend="fake", model_name="scripted-fake")

    return factory


def install_tool_journal(path: Path) -> None:
    """Wrap the graph's tool runner so that every tool execution is journaled (start and end)."""
    from langgraph.config import get_config

    from campaign_planner.graphs import graph

    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    original = graph.run_action

    def write(phase: str, tool: str) -> None:
        try:
            config = get_config()
        except RuntimeError:  # outside a graph run (never in practice)
            config = {}
        entry = {"pid": os.getpid(), "thread_id": (config.get("configurable") or {}).get("thread_id"),
                 "run_id": (config.get("metadata") or {}).get("campaign_run_id"), "tool": tool, "phase": phase,
                 "t": time.time()}
        os.write(fd, (json.dumps(entry) + "\n").encode())

    def journaled(action: Any, state: Any, ctx: Any, caller: str) -> Any:
        write("start", action.tool)
        result = original(action, state, ctx, caller)
        write("end", action.tool)
        return result

    graph.run_action = journaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--shop", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--port", type=int)
    parser.add_argument("--key-hash")
    parser.add_argument("--queue-worker", metavar="NAME", help="run a queue worker with this name instead")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=1e9, help="per-key POSTs a minute (and the burst)")
    parser.add_argument("--model-delay-ms", type=float, default=0.0)
    parser.add_argument("--journal", type=Path)
    parser.add_argument("--gate", type=Path, help="model calls wait while this file exists")
    args = parser.parse_args()

    import uvicorn

    from campaign_planner.api import ApiConfig, create_app
    from campaign_planner.api.header_limits import server_options
    from campaign_planner.settings import load_settings

    if args.journal is not None:
        install_tool_journal(args.journal)
    settings = load_settings(data_dir=args.data_dir, shop_dir=args.shop, cache_dir=args.cache_dir, backend="fake")
    if args.queue_worker:
        from campaign_planner.api.queue import QueueWorker

        QueueWorker(settings, model_factory=model_factory(args.model_delay_ms / 1000.0, args.gate),
                    concurrency=args.workers,
                    name=args.queue_worker).run()
        return
    if args.port is None or args.key_hash is None:
        parser.error("--port and --key-hash are needed to serve the API")
    config = ApiConfig(workers=args.workers, rate_per_minute=args.rate, burst=int(args.rate), shutdown_grace_s=2.0)
    app = create_app(settings, model_factory=model_factory(args.model_delay_ms / 1000.0, args.gate),
                     api_key_hashes=[args.key_hash], config=config)
    # Served as `campaign-planner serve` serves (its h11 head limits), so figures are the product's.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, **server_options())


if __name__ == "__main__":
    main()
