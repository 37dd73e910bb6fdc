"""Benchmark serving: the HTTP API's orchestration overhead, and what survives a killed API process.

Run: ``/work/venv/bin/python bench/bench_api.py`` (5-10 minutes on 2 shared cores; ``--only overhead``,
``--only recovery`` or ``--only burst`` for one part). Prints ``name=value`` lines; notes start with ``#``.

Everything is real except the model: the demo shop (written to a temporary folder, its 2,400 reviews
embedded into its Chroma store once before timing), the tools, the SQLite checkpointer, the API's run
records, worker threads and SSE; the model is ``tests/fake_planner_model.py``'s competent scripted model
(answers at once), so the figures are orchestration, not generation.

Overhead (closed loop: ``c`` clients, each starting its next run as soon as its last one has a plan):

* API: the app served by uvicorn on loopback in a subprocess (``bench/fake_api_server.py``: the product's
  ``create_app`` with the fake model), driven by ``httpx.AsyncClient`` from this process. A complete run is
  ``POST /threads``, ``POST /threads/{id}/runs``, ``GET /runs/{id}/stream`` until ``end``, then
  ``GET /runs/{id}`` (the run with its plan); its latency is from the first request to the plan in hand.
  A separate process because that is how the API is served, because client and server then do not share
  one interpreter lock, and because SSE over a real socket arrives as it is sent (httpx's ASGI transport
  would run the app in the client's event loop and hand over a response only once it is complete). The
  server gets ``workers=8`` (the default 2 would queue concurrency 8) and a rate limit of 1e9 POSTs a minute
  (``ApiConfig(workers=8, rate_per_minute=1e9, burst=10**9)``; the settings' ``api_workers`` and
  ``api_rate_per_minute`` are the same knobs).
* Direct: ``planning.run_plan`` in this process on ``c`` threads, one shared ``SqliteSaver`` (as the API
  shares one), a fresh context and model per run, the shop and its review store opened once.

``api_overhead_ratio_cN`` = API wall time per run / direct wall time per run at the same concurrency (the
inverse ratio of runs/s). Rounds alternate direct and API so both see the same machine noise; figures are
medians over rounds.

Recovery (``worker_kill_*``), without a queue: runs execute in the API process's worker threads, so the API
process itself is SIGKILLed while runs are executing, restarted on
the same data dir, and every run the restart marked failed is continued (``{"action": "continue"}``);
submissions that got no answer are retried with the same ``Idempotency-Key``. Runs are *lost* when they
never produce a plan; *duplicated* when one submission became two runs, or when a tool completed twice for
one run (the server journals every tool start and end: ``--journal`` in ``fake_api_server.py``).
With a queue (Celery workers killed mid-run, taken over by the others): ``bench/bench_workers.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS", "1")  # the fake model only
os.environ.setdefault("CAMPAIGN_PLANNER_CONFIG", os.devnull)  # no user config file

import argparse
import asyncio
import collections
import json
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.fake_planner_model

from tests.fake_planner_model import competent_model
from tests.queue_processes import read_journal

from campaign_planner.api import hash_api_key
from campaign_planner.api.runner import CONTINUABLE_REASONS
from campaign_planner.api.shops import ShopCache
from campaign_planner.data.demo import write_demo_shop
from campaign_planner.planning import make_context, run_plan
from campaign_planner.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
KEY = "cpk_bench-key"
HEADERS = {"X-API-Key": KEY}
BRIEF = ("We're launching our new summer dress collection. Target women aged 25-40 who care about fit. "
         "Total budget $50,000 over 4 weeks. Use email, Instagram and paid search. Offer: 15% off first order.")
RUN_TIMEOUT_S = 300.0
TERMINAL = ("succeeded", "failed", "cancelled", "interrupted")


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (``/proc/loadavg``): the machine's 2 cores are shared."""
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "n/a"


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def figure(name: str, value: Any) -> None:
    print(f"{name}={value}", flush=True)


# --- the shop, warmed once ----------------------------------------------------------------------------


def prepare(root: Path) -> Settings:
    """Write the demo shop and embed its reviews (untimed; the first runs of each side then warm the rest)."""
    shop_dir = root / "shop"
    if not (shop_dir / "shop.yaml").is_file():  # --keep reuses the shop (and its embedded reviews)
        write_demo_shop(shop_dir)
    settings = load_settings(data_dir=root / "data-direct", shop_dir=shop_dir, cache_dir=root / "cache",
                             backend="fake")
    started = time.perf_counter()
    cache = ShopCache()
    cache.review_store(cache.get(settings), settings)
    note(f"demo shop written and its reviews embedded in {time.perf_counter() - started:.1f} s (untimed)")
    return settings


# --- direct: planning.run_plan on threads ---------------------------------------------------------------


class Direct:
    """``run_plan`` with the API's kind of shared SQLite checkpointer, on this process's threads."""

    def __init__(self, settings: Settings) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        self.settings = settings
        cache = ShopCache()
        self.shop = cache.get(settings)
        self.review_store = cache.review_store(self.shop, settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(str(settings.data_dir / "checkpoints.sqlite"), check_same_thread=False)
        self.saver = SqliteSaver(self.connection)

    def one(self) -> float:
        started = time.perf_counter()
        handle = SimpleNamespace(model=competent_model(), backend="fake", model_name="scripted-fake")
        context = make_context(self.settings, model_handle=handle, shop=self.shop)
        context.review_store = self.review_store
        outcome = run_plan(BRIEF, context, self.saver, thread_id=uuid.uuid4().hex)
        assert outcome.plan is not None and outcome.plan.budget is not None, "the direct run made no plan"
        return time.perf_counter() - started

    def phase(self, concurrency: int, runs: int) -> tuple[float, list[float]]:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            latencies = list(pool.map(lambda _: self.one(), range(runs)))
        return time.perf_counter() - started, latencies


# --- the API in a subprocess ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``bench/fake_api_server.py`` as a subprocess on a loopback port."""

    def __init__(self, data_dir: Path, shop: Path, cache_dir: Path, *, workers: int, model_delay_ms: float = 0.0,
                 journal: Path | None = None, log: Path | None = None, gate: Path | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, str(REPO / "bench" / "fake_api_server.py"), "--data-dir", str(data_dir),
                   "--shop", str(shop), "--cache-dir", str(cache_dir), "--port", str(self.port),
                   "--key-hash", hash_api_key(KEY), "--workers", str(workers),
                   "--model-delay-ms", str(model_delay_ms)]
        if journal is not None:
            command += ["--journal", str(journal)]
        if gate is not None:
            command += ["--gate", str(gate)]
        self._log = open(log or os.devnull, "ab")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API server exited with {self.process.returncode} (log: {log})")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not answer /healthz within 120 s")
            time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown: the app's lifespan ends
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


async def read_until_end(client: httpx.AsyncClient, run_id: str) -> str:
    """Follow the run's SSE stream until ``end`` or ``error``; return that event's status."""
    event = ""
    async with client.stream("GET", f"/runs/{run_id}/stream", headers=HEADERS) as stream:
        assert stream.status_code == 200, stream.status_code
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("end", "error"):
                data = json.loads(line.split(":", 1)[1])
                return str(data.get("status", "failed")) if event == "end" else f"failed: {data.get('detail')}"
    return "stream closed"


BREAKDOWN: dict[int, list[tuple[float, ...]]] = collections.defaultdict(list)
"""Per concurrency, for every API run, seconds: the two POSTs; queued (the run record's ``started_at -
created_at``); in the worker (``finished_at - started_at``); of that, the graph (the plan's
``provenance.seconds``, intake to assembly); the whole run as the client saw it."""


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def api_run(client: httpx.AsyncClient, concurrency: int) -> float:
    started = time.perf_counter()
    thread = await client.post("/threads", headers=HEADERS)
    assert thread.status_code == 201, thread.text
    created = await client.post(f"/threads/{thread.json()['thread_id']}/runs", headers=HEADERS, json={"brief": BRIEF})
    assert created.status_code == 202, created.text
    posted = time.perf_counter() - started
    run_id = created.json()["run_id"]
    status = await read_until_end(client, run_id)
    assert status == "succeeded", f"run {run_id}: {status}"
    response = await client.get(f"/runs/{run_id}", headers=HEADERS)  # the run with its plan
    run = response.json()
    assert response.status_code == 200 and run["plan"]["budget"] is not None, response.text[:300]
    latency = time.perf_counter() - started
    queued = _seconds(run["started_at"]) - _seconds(run["created_at"])
    worker = _seconds(run["finished_at"]) - _seconds(run["started_at"])
    BREAKDOWN[concurrency].append((posted, queued, worker, float(run["plan"]["provenance"]["seconds"]), latency))
    return latency


async def api_phase(base: str, concurrency: int, runs: int) -> tuple[float, list[float]]:
    remaining = runs
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=4 * concurrency, max_keepalive_connections=4 * concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=RUN_TIMEOUT_S, limits=limits) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                latencies.append(await api_run(client, concurrency))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def overhead(root: Path, settings: Settings, rounds: int, runs_c1: int, runs_c8: int) -> None:
    direct = Direct(settings)
    for _ in range(2):
        direct.one()  # the first runs load the embedding model and fit the forecaster's cached models
    server = Server(root / "data-api", settings.effective_shop_dir, settings.cache_dir, workers=8,
                    log=root / "server-overhead.log")
    try:
        asyncio.run(api_phase(server.base, 1, 2))  # warm the server process the same way
        BREAKDOWN.clear()
        results: dict[tuple[str, int], list[tuple[float, list[float]]]] = collections.defaultdict(list)
        for round_no in range(rounds):
            for concurrency, runs in ((1, runs_c1), (8, runs_c8)):
                results[("direct", concurrency)].append(direct.phase(concurrency, runs))
                results[("api", concurrency)].append(asyncio.run(api_phase(server.base, concurrency, runs)))
            rates = {k: f"{len(v[-1][1]) / v[-1][0]:.2f}" for k, v in results.items()}
            note(f"round {round_no + 1}/{rounds}: runs/s {rates}; loadavg {loadavg()}")
    finally:
        server.stop()

    def rate(kind: str, concurrency: int) -> float:
        return statistics.median(len(lat) / wall for wall, lat in results[(kind, concurrency)])

    def pct(kind: str, concurrency: int, q: float) -> float:
        return statistics.median(float(np.percentile(lat, q)) * 1000 for _, lat in results[(kind, concurrency)])

    for concurrency in (1, 8):
        figure(f"api_runs_per_s_c{concurrency}", f"{rate('api', concurrency):.2f}")
        figure(f"direct_runs_per_s_c{concurrency}", f"{rate('direct', concurrency):.2f}")
        figure(f"api_overhead_ratio_c{concurrency}", f"{rate('direct', concurrency) / rate('api', concurrency):.3f}")
        for kind in ("api", "direct"):
            figure(f"{kind}_p50_ms_c{concurrency}", f"{pct(kind, concurrency, 50):.0f}")
            figure(f"{kind}_p95_ms_c{concurrency}", f"{pct(kind, concurrency, 95):.0f}")
    for concurrency, rows in sorted(BREAKDOWN.items()):
        posts, queued, worker, graph, total = (np.array(column) * 1000 for column in zip(*rows, strict=True))
        parts = {"both POSTs": posts, "queued": queued, "in the worker": worker, "of which the graph": graph,
                 "in the worker outside the graph": worker - graph,
                 "after the worker (SSE end, GET)": total - posts - queued - worker, "whole run": total}
        note(f"API runs at concurrency {concurrency}, ms p50/p95 (all rounds pooled): " + ", ".join(
            f"{name} {np.percentile(v, 50):.0f}/{np.percentile(v, 95):.0f}" for name, v in parts.items()))
    per_run_ms = pct("api", 1, 50) - pct("direct", 1, 50)
    note(f"API cost per run at concurrency 1 (median latency difference): {per_run_ms:.0f} ms")
    note(f"rounds={rounds} runs_c1={runs_c1} runs_c8={runs_c8} (per round and side); medians over rounds")


# --- recovery: SIGKILL the API process under load ------------------------------------------------------


class Submission:
    """One intended run: its own thread, an Idempotency-Key, and what the client knows of it."""

    def __init__(self, index: int) -> None:
        self.key = f"kill-bench-{index}"
        self.thread_id: str | None = None
        self.run_id: str | None = None
        self.sent = False  # a request for it was sent (it may have gone unanswered)


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, headers=HEADERS)


def submit(base: str, submission: Submission) -> None:
    """Create the thread (if the client has none) and the run (idempotent); leave it unknown on a network error."""
    submission.sent = True
    try:
        with _client(base) as client:
            if submission.thread_id is None:
                response = client.post("/threads")
                response.raise_for_status()
                submission.thread_id = response.json()["thread_id"]
            response = client.post(f"/threads/{submission.thread_id}/runs", json={"brief": BRIEF},
                                   headers={"Idempotency-Key": submission.key})
            assert response.status_code in (200, 202), response.text
            submission.run_id = response.json()["run_id"]
    except httpx.HTTPError:
        pass  # the server died under us: retried with the same Idempotency-Key after the restart


class Submitter:
    """Load: submits the runs not yet sent, one every 0.2-0.8 s, until done or the server dies."""

    def __init__(self, base: str, submissions: list[Submission], rng: random.Random) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(base, submissions, rng), daemon=True)
        self._thread.start()

    def _run(self, base: str, submissions: list[Submission], rng: random.Random) -> None:
        for submission in submissions:
            if self._stop.is_set():
                return
            if not submission.sent:
                submit(base, submission)
                if submission.run_id is None:
                    return  # the server is gone
                self._stop.wait(rng.uniform(0.2, 0.8))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def join(self) -> None:
        self._thread.join()


def statuses(base: str, submissions: list[Submission]) -> dict[str, dict[str, Any]]:
    with _client(base) as client:
        return {s.run_id: client.get(f"/runs/{s.run_id}").json() for s in submissions if s.run_id}


def recover(base: str, submissions: list[Submission]) -> tuple[int, int]:
    """After a restart: resubmit what was sent but got no answer (same Idempotency-Key); continue every run
    the server stopped. Returns (continued, resubmitted)."""
    continued = resubmitted = 0
    for submission in submissions:
        if submission.sent and submission.run_id is None:
            submit(base, submission)
            resubmitted += 1
    with _client(base) as client:
        for submission in submissions:
            if submission.run_id is None:
                continue
            run = client.get(f"/runs/{submission.run_id}").json()
            if run["status"] == "failed" and run["error"] in CONTINUABLE_REASONS:
                response = client.post(f"/runs/{submission.run_id}/resume", json={"action": "continue"})
                assert response.status_code == 202, response.text
                continued += 1
    return continued, resubmitted


def wait_all(base: str, submissions: list[Submission], timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        runs = statuses(base, submissions)
        if all(r["status"] in TERMINAL for r in runs.values()) and len(runs) == len(submissions):
            return runs
        if time.monotonic() > deadline:
            return runs
        time.sleep(0.2)


def tool_reruns(entries: list[dict[str, Any]], killed: list[int]) -> tuple[set[str], int, int]:
    """From the tool journal: the API runs with a tool that completed in a killed process and completed again
    in a later one; how many such tool calls; and how many tool calls a kill cut short that ran again."""
    by_call: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for entry in entries:
        by_call[(str(entry["run_id"]), entry["tool"])].append(entry)
    runs: set[str] = set()
    completed_twice = cut_and_rerun = 0
    for (run_id, _), calls in by_call.items():
        ended = {c["pid"] for c in calls if c["phase"] == "end"}
        started = {c["pid"] for c in calls if c["phase"] == "start"}
        for pid in (p for p in killed if p in started):
            later = {p for p in started if p not in killed or killed.index(p) > killed.index(pid)}
            if pid in ended and later & ended:
                runs.add(run_id)
                completed_twice += 1
            elif pid not in ended and later:
                cut_and_rerun += 1
    return runs, completed_twice, cut_and_rerun


def recovery(root: Path, settings: Settings, runs: int, kills: int, workers: int, model_delay_ms: float,
             seed: int) -> None:
    rng = random.Random(seed)
    data_dir, journal = root / "data-kill", root / "tools-journal.jsonl"
    submissions = [Submission(i) for i in range(runs)]

    def start(generation: int) -> Server:
        return Server(data_dir, settings.effective_shop_dir, settings.cache_dir, workers=workers,
                      model_delay_ms=model_delay_ms, journal=journal, log=root / f"server-kill-{generation}.log")

    server = start(0)
    asyncio.run(api_phase(server.base, 1, 1))  # load the embedding model and the forecaster's cache first
    stopped_running = stopped_pending = continued_total = resubmitted_total = 0
    killed: list[int] = []
    submitter = Submitter(server.base, submissions, rng)
    try:
        for kill_no in range(kills):
            # Kill at a random moment under load: once a random share of the runs has succeeded, while some run.
            target = int(runs * (kill_no + rng.uniform(0.3, 0.9)) / (kills + 1))
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while time.monotonic() < deadline:
                known = statuses(server.base, submissions)
                done = sum(r["status"] == "succeeded" for r in known.values())
                if done >= target and any(r["status"] == "running" for r in known.values()):
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
            killed.append(server.process.pid)
            server.kill()
            submitter.stop()
            unsent = sum(not s.sent for s in submissions)
            server = start(kill_no + 1)
            known = statuses(server.base, submissions)
            stopped = [r for r in known.values() if r["status"] == "failed" and r["error"] in CONTINUABLE_REASONS]
            running = sum(r["started_at"] is not None for r in stopped)
            stopped_running += running
            stopped_pending += len(stopped) - running
            continued, resubmitted = recover(server.base, submissions)
            continued_total += continued
            resubmitted_total += resubmitted
            note(f"kill {kill_no + 1} (pid {killed[-1]}): {len(stopped)} runs stopped ({running} running), "
                 f"{resubmitted} unanswered submissions retried, {unsent} not yet sent; continued {continued}; "
                 f"loadavg {loadavg()}")
            submitter = Submitter(server.base, submissions, rng)
        submitter.join()
        final = wait_all(server.base, submissions)
        with _client(server.base) as client:
            per_thread = {s.thread_id: client.get(f"/threads/{s.thread_id}/runs").json() for s in submissions
                          if s.thread_id}
    finally:
        server.stop()

    lost = [s for s in submissions if s.run_id is None or final.get(s.run_id, {}).get("status") != "succeeded"
            or not final[s.run_id].get("plan")]
    twice_submitted = {t for t, listed in per_thread.items() if len(listed) != 1}
    entries = read_journal(journal)
    rerun_runs, completed_twice, cut_and_rerun = tool_reruns(entries, killed)
    repeated_in_plan = sum(1 for r in final.values() if r.get("plan") and len(r["plan"]["provenance"]["tool_calls"])
                           != len(set(r["plan"]["provenance"]["tool_calls"])))

    figure("worker_kill_runs", runs)
    figure("worker_kill_kills", kills)
    figure("worker_kill_runs_stopped_running", stopped_running)
    figure("worker_kill_runs_stopped_pending", stopped_pending)
    figure("worker_kill_submissions_retried", resubmitted_total)
    figure("worker_kill_runs_continued", continued_total)
    figure("worker_kill_runs_lost", len(lost))
    figure("worker_kill_runs_duplicated", len(rerun_runs) + len(twice_submitted))
    figure("worker_kill_submissions_duplicated", len(twice_submitted))
    figure("worker_kill_tool_calls_completed_twice", completed_twice)
    figure("worker_kill_tool_calls_cut_and_rerun", cut_and_rerun)
    figure("worker_kill_plans_with_repeated_tool_calls", repeated_in_plan)
    note(f"workers={workers} model_delay_ms={model_delay_ms} seed={seed}; {len(entries)} journal lines")
    for submission in lost:
        note(f"lost: {submission.key} run {submission.run_id}: {final.get(submission.run_id or '', {}).get('error')}")


async def _burst_submissions(base: str, submissions: int) -> tuple[list[float], collections.Counter]:
    """Fire ``submissions`` submissions at once through ``httpx.AsyncClient`` (each: ``POST /threads`` then
    ``POST /threads/{id}/runs`` with an Idempotency-Key, a client timeout of 30 s); return each one's seconds
    to its 202 and the outcome counts (``202``, other statuses, or the exception's name)."""
    latencies: list[float] = []
    outcomes: collections.Counter = collections.Counter()
    limits = httpx.Limits(max_connections=submissions, max_keepalive_connections=submissions)
    async with httpx.AsyncClient(base_url=base, timeout=30.0, limits=limits) as client:
        start = asyncio.Event()

        async def submit_one(index: int) -> None:
            await start.wait()
            started = time.perf_counter()
            try:
                thread = await client.post("/threads", headers=HEADERS)
                if thread.status_code != 201:
                    outcomes[f"thread {thread.status_code}"] += 1
                    return
                created = await client.post(f"/threads/{thread.json()['thread_id']}/runs", json={"brief": BRIEF},
                                            headers={**HEADERS, "Idempotency-Key": f"burst-{index}"})
                outcomes[str(created.status_code)] += 1
                if created.status_code == 202:
                    latencies.append(time.perf_counter() - started)
            except httpx.HTTPError as exc:
                outcomes[type(exc).__name__] += 1

        tasks = [asyncio.create_task(submit_one(i)) for i in range(submissions)]
        await asyncio.sleep(0.2)  # every task waits at the start line
        start.set()
        await asyncio.gather(*tasks)
    return latencies, outcomes


async def _plain_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, path: str,
                         headers: dict[str, str], body: Any = None) -> tuple[int, bytes]:
    """One HTTP/1.1 request on an open keep-alive connection; the answer's status and body (Content-Length
    framed, as the API answers these endpoints)."""
    data = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}",
            *(f"{name}: {value}" for name, value in headers.items())]
    if body is not None:
        head.append("Content-Type: application/json")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _plain_burst_submissions(port: int, submissions: int) -> tuple[list[float], collections.Counter]:
    """The same submissions as :func:`_burst_submissions`, from a minimal HTTP/1.1 client on asyncio streams:
    each client opens its connection before the start line, then sends its two requests on it. Measured
    beside httpx: on these 2 cores the client and the server share the CPU, and httpx's own work for 200
    concurrent connections (its connection pool, h11) took most of the seconds it reported (docs/benchmarks.md),
    so this client times what the server takes."""
    latencies: list[float] = []
    outcomes: collections.Counter = collections.Counter()
    start = asyncio.Event()

    async def submit_one(index: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as exc:
            outcomes[type(exc).__name__] += 1
            return
        try:
            await start.wait()
            started = time.perf_counter()
            status, body = await asyncio.wait_for(_plain_request(reader, writer, "POST", "/threads", HEADERS), 30)
            if status != 201:
                outcomes[f"thread {status}"] += 1
                return
            thread_id = json.loads(body)["thread_id"]
            status, _ = await asyncio.wait_for(
                _plain_request(reader, writer, "POST", f"/threads/{thread_id}/runs",
                               {**HEADERS, "Idempotency-Key": f"plain-burst-{index}"}, {"brief": BRIEF}), 30)
            outcomes[str(status)] += 1
            if status == 202:
                latencies.append(time.perf_counter() - started)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            outcomes[type(exc).__name__] += 1
        finally:
            writer.close()

    tasks = [asyncio.create_task(submit_one(i)) for i in range(submissions)]
    await asyncio.sleep(1.0)  # every client has connected and waits at the start line
    start.set()
    await asyncio.gather(*tasks)
    return latencies, outcomes


def burst(root: Path, settings: Settings, submissions: int, workers: int, rounds: int, hold: bool = False) -> None:
    """``submissions`` concurrent submissions against the API served like ``campaign-planner serve`` (the
    default 2 workers), while the runs they start execute (or, with ``hold``, wait in their first model call):
    the submit latency clients see. Each round starts a fresh server and sends two bursts: the minimal client's
    (a fresh server's first burst), then httpx's (the server now has the first burst's runs queued)."""
    note(f"burst: {submissions} concurrent submissions, {workers} API workers, {rounds} rounds, "
         f"runs {'held in their first model call' if hold else 'executing'}, loadavg {loadavg()}")
    p95s: dict[str, list[float]] = {"plain": [], "httpx": []}
    for round_index in range(rounds):
        gate = root / "burst-gate"
        if hold:  # the runs wait inside their first model call: the submissions alone are timed
            gate.touch()
        server = Server(root / f"data-burst-{round_index}", settings.shop_dir, root / "cache", workers=workers,
                        log=root / f"burst-{round_index}.log", gate=gate if hold else None)
        try:
            for client in ("plain", "httpx"):
                latencies, outcomes = (asyncio.run(_plain_burst_submissions(server.port, submissions))
                                       if client == "plain" else
                                       asyncio.run(_burst_submissions(server.base, submissions)))
                ms = np.array(latencies) * 1000
                p95 = float(np.percentile(ms, 95)) if len(ms) else float("nan")
                p95s[client].append(p95)
                note(f"round {round_index}, {client} client: outcomes {dict(outcomes)}; "
                     f"p50 {np.percentile(ms, 50):.0f} ms, p95 {p95:.0f} ms, max {ms.max():.0f} ms; "
                     f"loadavg {loadavg()}")
        finally:
            server.kill()  # the queued runs need not finish: only the submissions are timed
            gate.unlink(missing_ok=True)
    suffix = "_runs_held" if hold else ""
    figure(f"submit_p95_ms_{submissions}_concurrent{suffix}", round(statistics.median(p95s["plain"])))
    figure(f"submit_p95_ms_{submissions}_concurrent{suffix}_httpx_client", round(statistics.median(p95s["httpx"])))


def main() -> None:
    parser = argparse.ArgumentParser(description="API serving benchmark (see the module docstring)")
    parser.add_argument("--only", choices=["overhead", "recovery", "burst"])
    parser.add_argument("--burst-submissions", type=int, default=200)
    parser.add_argument("--burst-workers", type=int, default=2, help="API workers in the burst part (default 2)")
    parser.add_argument("--burst-hold", action="store_true",
                        help="hold the runs inside their first model call (times the submissions alone)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs-c1", type=int, default=20)
    parser.add_argument("--runs-c8", type=int, default=48)
    parser.add_argument("--kill-runs", type=int, default=40)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--kill-workers", type=int, default=2, help="API workers in the recovery part (default 2)")
    parser.add_argument("--kill-model-delay-ms", type=float, default=20.0,
                        help="sleep per model call in the recovery part, so that kills find runs mid-way")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()

    note(f"loadavg at start {loadavg()}; cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="cp-bench-api-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        settings = prepare(root)
        if args.only in (None, "overhead"):
            overhead(root, settings, args.rounds, args.runs_c1, args.runs_c8)
        if args.only in (None, "recovery"):
            recovery(root, settings, args.kill_runs, args.kills, args.kill_workers, args.kill_model_delay_ms, args.seed)
        if args.only in (None, "burst"):
            burst(root, settings, args.burst_submissions, args.burst_workers, args.rounds, args.burst_hold)
    note(f"loadavg at end {loadavg()}")


if __name__ == "__main__":
    main()
