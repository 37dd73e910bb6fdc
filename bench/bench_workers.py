"""Recovery of queued runs when worker processes are killed mid-run under load (issue 7: scale-out).

``python bench/bench_workers.py [--runs 40] [--workers 3] [--kills 3] [--concurrency 8] [--model-delay-ms 100]``

Everything is real but the model: a Redis server (the Celery queue and the runs' events), a PostgreSQL server
(run records and LangGraph checkpoints), a Chroma server (the shop's reviews), the API server
(``bench/fake_api_server.py``: the product's ``create_app`` with ``queue_url`` set) and ``--workers`` queue
worker processes (``fake_api_server.py --queue-worker``: the product's ``QueueWorker``), each executing one run
at a time with the scripted fake model sleeping ``--model-delay-ms`` per call in place of a model's latency.
The shop is the demo shop cut to its first 400 reviews (retrieval is not what this measures).

``--runs`` briefs are submitted, ``--concurrency`` at a time, each on its own thread and with an
``Idempotency-Key`` (a POST that gets no answer is retried with the same key). While they execute, ``--kills``
times a worker that is inside a tool call is SIGKILLed (the whole process) and a fresh worker is started in
its place. Every tool start and end is journaled by the workers (``--journal``), which is the ground truth.

Figures: ``worker_kill_runs_lost`` (submissions that never produced a succeeded run), ``worker_kill_runs_duplicated``
(submissions that became two runs, plus runs in which any tool *finished* twice), ``worker_kill_tools_rerun`` (tool
calls cut by a kill and run again elsewhere: expected, not a duplicate), ``worker_kill_takeover_s_median`` (from
a kill to the run's next tool starting on another worker; bounded below by the lease, ``--lease-s``), and
``queue_runs_per_s``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CAMPAIGN_PLANNER_CONFIG", os.devnull)

import argparse
import collections
import csv
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.chroma_server import running_chroma  # noqa: E402
from tests.postgres_server import free_port, running_postgres  # noqa: E402
from tests.queue_processes import FakeServerProcess, read_journal  # noqa: E402
from tests.redis_server import running_redis  # noqa: E402

from campaign_planner.api import hash_api_key  # noqa: E402

KEY = "cpk_bench-workers"
HEADERS = {"X-API-Key": KEY}
BRIEF = ("Summer dress launch for women 25-40 who care about fit. Total budget ${budget:,} over 4 weeks. Use "
         "email, Instagram and paid search. Offer: 15% off first order.")


def figure(name: str, value: Any) -> None:
    print(f"{name}={value}", flush=True)


def _small_shop(folder: Path) -> Path:
    from campaign_planner.data.demo import write_demo_shop

    shop = folder / "shop"
    write_demo_shop(shop)
    path = shop / "reviews.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows[:401])
    return shop


def _submit(client: httpx.Client, index: int) -> tuple[str, str]:
    """Create a thread and start a run on it (retrying with the same Idempotency-Key); return both ids."""
    thread = client.post("/threads", headers=HEADERS).json()["thread_id"]
    key = str(uuid.uuid4())
    body = {"brief": BRIEF.format(budget=40_000 + 1_000 * index)}
    for _ in range(10):
        try:
            response = client.post(f"/threads/{thread}/runs", headers={**HEADERS, "Idempotency-Key": key}, json=body)
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code == 202:
            return thread, str(response.json()["run_id"])
        time.sleep(0.5)
    raise SystemExit(f"submission {index} was refused: {response.status_code} {response.text[:300]}")


def _report(args: argparse.Namespace, final: dict[str, Any], per_thread: dict[str, Any],
            entries: list[dict[str, Any]], kills: list[tuple[float, int, str]]) -> None:
    lost = sum(1 for run in final.values() if run["status"] != "succeeded")
    twice_submitted = sum(1 for runs in per_thread.values() if len(runs) > 1)
    ends = collections.Counter((e["run_id"], e["tool"]) for e in entries if e["phase"] == "end")
    starts = collections.Counter((e["run_id"], e["tool"]) for e in entries if e["phase"] == "start")
    finished_twice = {run for (run, _), n in ends.items() if n > 1}
    rerun = sum(n - 1 for n in starts.values() if n > 1)  # a tool call cut by a kill, started again elsewhere
    takeovers = []
    for when_mono, pid, run in kills:
        kill_wall = time.time() - (time.monotonic() - when_mono)
        later = [e["t"] for e in entries if e["run_id"] == run and e["pid"] != pid and e["t"] > kill_wall]
        if later:
            takeovers.append(min(later) - kill_wall)
    print(f"# runs {len(final)}, workers {args.workers} (+{len(kills)} replacements), kills {len(kills)}, model "
          f"delay {args.model_delay_ms} ms, lease {args.lease_s} s; load average after: {os.getloadavg()[0]:.2f}")
    if lost:
        print("# not succeeded: " + ", ".join(f"{r['run_id']}={r['status']} ({r.get('error')})"
                                              for r in final.values() if r["status"] != "succeeded"))
    figure("worker_kill_runs_lost", lost)
    figure("worker_kill_runs_duplicated", len(finished_twice) + twice_submitted)
    figure("worker_kill_submissions_duplicated", twice_submitted)
    figure("worker_kill_tools_rerun", rerun)
    figure("worker_kill_kills", len(kills))
    figure("worker_kill_takeover_s_median", round(statistics.median(takeovers), 2) if takeovers else "n/a")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--model-delay-ms", type=int, default=100)
    parser.add_argument("--lease-s", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"# load average before: {os.getloadavg()[0]:.2f}", flush=True)

    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-workers-")))
        redis_url = stack.enter_context(running_redis())
        postgres = stack.enter_context(running_postgres())
        chroma_url = stack.enter_context(running_chroma(folder / "chroma"))
        postgres_url = postgres.create_database("bench")
        shop = _small_shop(folder)
        env = {"CAMPAIGN_PLANNER_QUEUE_URL": redis_url,
               "CAMPAIGN_PLANNER_CHECKPOINT_URL": postgres_url, "CAMPAIGN_PLANNER_CHROMA_URL": chroma_url,
               "CAMPAIGN_PLANNER_QUEUE_LEASE_S": str(args.lease_s),
               "CAMPAIGN_PLANNER_QUEUE_VISIBILITY_TIMEOUT_S": str(max(5.0, 2 * args.lease_s))}
        os.environ.update(env)
        from campaign_planner.data.shop import load_shop
        from campaign_planner.vectorstore.ingest import ingest_reviews
        from campaign_planner.vectorstore.store import open_review_store

        loaded = load_shop(shop)
        ingest_reviews(loaded, open_review_store(loaded, chroma_url))

        journal = folder / "tools.jsonl"
        port = free_port()
        api = FakeServerProcess("api", ["--data-dir", str(folder / "api"), "--shop", str(shop), "--port",
                                        str(port), "--key-hash", hash_api_key(KEY)], env, folder)
        stack.callback(api.stop)
        workers: list[FakeServerProcess] = []

        def start_worker(n: int) -> FakeServerProcess:
            worker = FakeServerProcess.queue_worker(f"w{n}", env, folder, shop, journal, args.model_delay_ms)
            stack.callback(worker.stop)
            workers.append(worker)
            return worker

        for n in range(args.workers):
            start_worker(n)
        for worker in workers:
            worker.wait_for(b" ready.")
        client = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
        api_deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if api.process.poll() is not None or time.monotonic() > api_deadline:
                raise SystemExit(f"the API server did not start: {api.log_tail()}")
            time.sleep(0.2)
        started = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as pool:
            submissions = list(pool.map(lambda i: _submit(client, i), range(args.runs)))
        run_ids = {run for _, run in submissions}

        kills: list[tuple[float, int, str]] = []  # (time, pid, run it was inside)
        next_worker = args.workers
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            statuses = [client.get(f"/runs/{run}", headers=HEADERS).json()["status"] for run in run_ids]
            if all(s not in ("pending", "running") for s in statuses):
                break
            if len(kills) < args.kills and time.monotonic() - (kills[-1][0] if kills else started) > 4.0:
                entries = read_journal(journal)
                open_calls: dict[tuple[int, str, str], int] = collections.Counter()
                for e in entries:
                    open_calls[(e["pid"], e["run_id"], e["tool"])] += 1 if e["phase"] == "start" else -1
                busy = [(pid, run) for (pid, run, _), n in open_calls.items() if n > 0
                        and any(w.pid == pid and w.process.poll() is None for w in workers)]
                if busy:
                    pid, run = rng.choice(busy)
                    victim = next(w for w in workers if w.pid == pid)
                    victim.kill()
                    kills.append((time.monotonic(), pid, run))
                    print(f"# killed {victim.name} (pid {pid}) inside run {run}", flush=True)
                    start_worker(next_worker)
                    next_worker += 1
            time.sleep(0.2)
        elapsed = time.monotonic() - started

        final = {run: client.get(f"/runs/{run}", headers=HEADERS).json() for run in run_ids}
        per_thread = {thread: client.get(f"/threads/{thread}/runs", headers=HEADERS).json()
                      for thread, _ in submissions}
        entries = read_journal(journal)

    _report(args, final, per_thread, entries, kills)
    figure("queue_runs_per_s", round(len(final) / elapsed, 3))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
