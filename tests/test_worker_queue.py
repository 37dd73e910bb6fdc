"""Scale-out: API runs on a Celery queue in a real Redis, executed by two real worker processes that share a real
PostgreSQL (run records and checkpoints) and a real Chroma server; a worker killed mid-run is taken over.

The workers are ``bench/fake_api_server.py --queue-worker`` processes: the product's ``QueueWorker`` with the
scripted fake model (whose answers stand in for a model's), journaling every tool start and end to a file, so
that the test knows which tools ran in which process, and how often.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from campaign_planner.api import ApiConfig, create_app, hash_api_key
from campaign_planner.api.errors import ProblemError
from campaign_planner.api.queue import QueueConfigError, check_queue_settings
from campaign_planner.api.store import ApiStore, PostgresApiStore, StoreConflict
from campaign_planner.data.shop import load_shop
from campaign_planner.settings import load_settings
from tests.chroma_server import chroma_server_url  # noqa: F401  (pytest fixture)
from tests.postgres_server import postgres_server, postgres_url  # noqa: F401  (pytest fixtures)
from tests.queue_processes import FakeServerProcess, read_journal
from tests.redis_server import redis_url  # noqa: F401  (pytest fixture)

KEY = "cpk_queue-test"
HEADERS = {"X-API-Key": KEY}
BRIEF = ("Summer dress launch for women 25-40 who care about fit. Total budget $50,000 over 4 weeks. Use email, "
         "Instagram and paid search. Offer: 15% off first order.")
LEASE_S = 3.0
TOOLS = ["profile_lookup", "channel_optimizer", "forecaster", "copywriter"]
TIMEOUT_S = 240.0


# --- the store's claims (both databases) ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStore]:
    if request.param == "sqlite":
        opened: ApiStore = ApiStore(tmp_path / "api.sqlite")
    else:
        opened = PostgresApiStore(str(request.getfixturevalue("postgres_url")))
    try:
        yield opened
    finally:
        opened.close()


def _new_run(store: ApiStore) -> str:
    thread = store.create_thread("owner")
    return store.create_run(thread_id=thread.thread_id, owner="owner", request={"brief": "x"}, request_hash="h",
                            idempotency_key=None).run_id


def test_a_run_is_claimed_once_and_taken_over_only_when_its_claim_lapses(store: ApiStore) -> None:
    run_id = _new_run(store)
    before = store.claim(run_id, "w1", lease_s=30)
    assert before is not None and before.status == "pending"
    assert store.claim(run_id, "w2", lease_s=30) is None  # a duplicate delivery finds it claimed
    assert store.heartbeat(run_id, "w1") is False  # still w1's; no cancellation asked
    assert store.heartbeat(run_id, "w2") is None
    assert store.stale_runs(lease_s=30) == []

    store.update_run(run_id, heartbeat_at=time.time() - 60)  # w1 stopped renewing a minute ago
    assert store.stale_runs(lease_s=30) == [run_id]
    taken = store.claim(run_id, "w2", lease_s=30)
    assert taken is not None and taken.status == "running" and taken.worker == "w1"
    assert store.heartbeat(run_id, "w1") is None  # w1 lost it …
    assert not store.transition(run_id, {"running"}, claimed_by="w1", status="succeeded")  # … and cannot finish it
    store.update_run(run_id, cancel_requested=True)
    assert store.heartbeat(run_id, "w2") is True  # the client's cancellation reaches the claimer
    assert store.transition(run_id, {"running"}, claimed_by="w2", status="cancelled")
    assert store.claim(run_id, "w3", lease_s=0) is None  # finished runs are never claimed
    assert store.count_runs({"cancelled"}) == 1


def test_a_thread_has_at_most_one_blocking_run_whichever_server_asks(store: ApiStore) -> None:
    thread = store.create_thread("owner")
    store.create_run(thread_id=thread.thread_id, owner="owner", request={"brief": "x"}, request_hash="h",
                     idempotency_key=None)
    with pytest.raises(StoreConflict):  # what a second API server's insert meets, past its own checks
        store.create_run(thread_id=thread.thread_id, owner="owner", request={"brief": "y"}, request_hash="h2",
                         idempotency_key=None)


def test_a_run_the_queue_could_not_take_is_failed_and_continuable_not_left_pending(tmp_path: Path,
                                                                                 demo_shop_dir: Path) -> None:
    from campaign_planner.api.events import EventLogs
    from campaign_planner.api.policy import RunPolicy
    from campaign_planner.api.runner import QUEUE_DOWN_REASON, RunManager
    from campaign_planner.api.schemas import RunCreate

    class DownQueue:
        def event_logs(self) -> EventLogs:
            return EventLogs()

        def submit(self, run_id: str, decision: Any, *, continuation: bool = False) -> None:
            raise ConnectionError("Redis is down")

        def close(self) -> None:
            pass

    settings = load_settings(data_dir=tmp_path, shop_dir=demo_shop_dir, backend="fake")
    records = ApiStore(tmp_path / "api.sqlite")
    manager = RunManager(settings, records, RunPolicy(settings), queue=DownQueue())
    thread = records.create_thread("owner")
    with pytest.raises(ProblemError) as refused:
        manager.start("owner", thread.thread_id, RunCreate(brief=BRIEF), None)
    assert refused.value.status == 503 and "unreachable" in refused.value.detail
    [run] = records.list_runs(thread.thread_id)
    assert run.status == "failed" and run.error == QUEUE_DOWN_REASON  # not pending for ever
    with pytest.raises(ProblemError) as again:  # the thread is not blocked: the next start is tried, not 409
        manager.start("owner", thread.thread_id, RunCreate(brief=BRIEF), None)
    assert again.value.status == 503
    manager.shutdown()


def test_the_queue_needs_redis_and_a_shared_postgres(tmp_path: Path) -> None:
    with pytest.raises(QueueConfigError, match="postgresql"):
        check_queue_settings(load_settings(data_dir=tmp_path, queue_url="redis://127.0.0.1:1/0"))
    with pytest.raises(QueueConfigError, match="redis://"):
        check_queue_settings(load_settings(data_dir=tmp_path, queue_url="http://x",
                                           checkpoint_url="postgresql://u@h/db"))
    with pytest.raises(ValueError, match="cannot reach the run queue"):
        create_app(load_settings(data_dir=tmp_path, queue_url="redis://127.0.0.1:1/0", backend="fake",
                                 checkpoint_url="postgresql://postgres@127.0.0.1:1/none"),
                   api_key_hashes=[hash_api_key(KEY)])


def test_api_servers_sharing_a_queue_share_each_keys_rate_limit(redis_url: str, postgres_url: str,  # noqa: F811
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("CAMPAIGN_PLANNER_QUEUE_URL", redis_url)
    monkeypatch.setenv("CAMPAIGN_PLANNER_CHECKPOINT_URL", postgres_url)
    settings = load_settings(data_dir=tmp_path, backend="fake")
    apps = [create_app(settings, api_key_hashes=[hash_api_key(KEY), hash_api_key("cpk_other")],
                       config=ApiConfig(rate_per_minute=3)) for _ in range(2)]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        codes = [client.post("/threads", headers=HEADERS).status_code for client in (first, second, first)]
        assert codes == [201, 201, 201]
        limited = second.post("/threads", headers=HEADERS)  # the other server knows the key spent its burst
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 20
        assert first.post("/threads", headers={"X-API-Key": "cpk_other"}).status_code == 201  # per key
        # A thread made through one server is there through the other (one run store).
        thread_id = first.post("/threads", headers={"X-API-Key": "cpk_other"}).json()["thread_id"]
        assert second.get(f"/threads/{thread_id}", headers={"X-API-Key": "cpk_other"}).status_code == 200


# --- two worker processes ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_shop(demo_shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shop with its first 400 reviews (the workers' shop: quick to index on the Chroma server)."""
    target = tmp_path_factory.mktemp("queue-shop") / "shop"
    shutil.copytree(demo_shop_dir, target, ignore=shutil.ignore_patterns(".chroma", ".cache*"))
    source = demo_shop_dir / "reviews.csv"
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with (target / "reviews.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows[:401])
    return target


@pytest.fixture()
def queue_env(redis_url: str, postgres_url: str, chroma_server_url: str, small_shop: Path,  # noqa: F811
              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # a fresh queue for every test
    env = {"CAMPAIGN_PLANNER_QUEUE_URL": redis_url, "CAMPAIGN_PLANNER_CHECKPOINT_URL": postgres_url,
           "CAMPAIGN_PLANNER_CHROMA_URL": chroma_server_url, "CAMPAIGN_PLANNER_QUEUE_LEASE_S": str(LEASE_S),
           "CAMPAIGN_PLANNER_QUEUE_VISIBILITY_TIMEOUT_S": "5"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Index the shop on the server once, here, so that the workers' first runs find it done.
    from campaign_planner.vectorstore.ingest import ingest_reviews
    from campaign_planner.vectorstore.store import open_review_store

    shop = load_shop(small_shop)
    ingest_reviews(shop, open_review_store(shop, chroma_server_url))
    return env


def _client(tmp_path: Path, shop: Path) -> TestClient:
    settings = load_settings(data_dir=tmp_path / "api-data", shop_dir=shop, backend="fake")
    app = create_app(settings, api_key_hashes=[hash_api_key(KEY)], config=ApiConfig(rate_per_minute=1e6))
    return TestClient(app)


def _start(client: TestClient, brief: str = BRIEF) -> str:
    thread = client.post("/threads", headers=HEADERS).json()["thread_id"]
    response = client.post(f"/threads/{thread}/runs", headers=HEADERS, json={"brief": brief})
    assert response.status_code == 202, response.text
    return str(response.json()["run_id"])


def _wait(client: TestClient, run_id: str, statuses: set[str],
          workers: list[FakeServerProcess]) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        run = client.get(f"/runs/{run_id}", headers=HEADERS).json()
        if run["status"] in statuses:
            return dict(run)
        if time.monotonic() > deadline:
            logs = "\n".join(w.log_tail(1500) for w in workers)
            raise AssertionError(f"run {run_id} stuck in {run['status']} ({run.get('error')}); worker logs:\n{logs}")
        time.sleep(0.1)


def test_two_workers_execute_runs_and_a_killed_workers_run_is_taken_over(queue_env: dict[str, str],
                                                                       small_shop: Path, tmp_path: Path) -> None:
    journal = tmp_path / "tools.jsonl"
    gate = tmp_path / "model-gate"  # while it exists, the workers' model calls wait
    workers = [FakeServerProcess.queue_worker(name, queue_env, tmp_path, small_shop, journal, model_delay_ms=150,
                                              gate=gate)
               for name in ("w1", "w2")]
    try:
        for worker in workers:
            worker.wait_for(b" ready.", timeout_s=120)
        with _client(tmp_path, small_shop) as client:
            # 1. Several briefs through two workers: each run succeeds once, with a plan.
            run_ids = [_start(client) for _ in range(4)]
            with client.stream("GET", f"/runs/{run_ids[0]}/stream", headers=HEADERS) as stream:
                names = [line.split(":", 1)[1].strip() for line in stream.iter_lines() if line.startswith("event:")]
            assert "progress" in names and "node" in names and names[-2:] == ["plan", "end"]  # events via Redis
            for run_id in run_ids:
                run = _wait(client, run_id, {"succeeded", "failed"}, workers)
                assert run["status"] == "succeeded", run.get("error")
                assert client.get(f"/runs/{run_id}/plan", headers=HEADERS).status_code == 200
            entries = read_journal(journal)
            assert {e["pid"] for e in entries} == {w.pid for w in workers}  # both workers took runs
            for run_id in run_ids:
                ends = [e["tool"] for e in entries if e["run_id"] == run_id and e["phase"] == "end"]
                assert sorted(ends) == sorted(TOOLS), (run_id, ends)  # every tool once, in one process

            # 2. A worker dies inside a run's copywriter: the other worker takes the run over once its claim
            # lapses and continues it from its checkpoint; the tools that had finished do not run again.
            victim_run = _start(client)
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                started = [e for e in read_journal(journal) if e["run_id"] == victim_run and e["tool"] == "copywriter"]
                if started:
                    break
                assert time.monotonic() < deadline, "the run never reached its copywriter"
                time.sleep(0.05)
            victim = next(w for w in workers if w.pid == started[0]["pid"])
            victim.kill()
            survivor = next(w for w in workers if w is not victim)
            run = _wait(client, victim_run, {"succeeded", "failed"}, [survivor])
            assert run["status"] == "succeeded", run.get("error")
            ran = [(e["pid"], e["tool"], e["phase"]) for e in read_journal(journal) if e["run_id"] == victim_run]
            victim_pid, survivor_pid = victim.pid, survivor.pid
            assert [t for p, t, phase in ran if phase == "end" and p == victim_pid] == TOOLS[:3]
            assert [t for p, t, phase in ran if p == survivor_pid] == ["copywriter", "copywriter"]  # start, end
            assert "took it over" in survivor.log_tail(100_000)

            # 3. The survivor alone keeps serving; a cancelled run stops at its next step. The gate holds the
            # run inside its first model call until the worker has seen the cancellation.
            gate.touch()
            slow = _start(client)
            _wait(client, slow, {"running"}, [survivor])
            assert client.post(f"/runs/{slow}/cancel", headers=HEADERS).status_code == 202
            survivor.wait_for(f"run {slow} was cancelled by the client".encode(), timeout_s=60)
            gate.unlink()
            assert _wait(client, slow, {"cancelled", "succeeded"}, [survivor])["status"] == "cancelled"

            # 4. A worker told to stop (SIGTERM) hands its running run back; a new worker finishes it. The gate
            # holds the run in its copywriter's first model call until the worker has begun to stop.
            handed = _start(client)
            while not [e for e in read_journal(journal) if e["run_id"] == handed and e["phase"] == "end"]:
                assert survivor.process.poll() is None, survivor.log_tail()
                time.sleep(0.02)
            gate.touch()
            os.killpg(survivor.pid, signal.SIGTERM)
            survivor.wait_for(b"handing 1 running run(s) back", timeout_s=60)
            gate.unlink()
            survivor.process.wait(timeout=60)
            assert client.get(f"/runs/{handed}", headers=HEADERS).json()["status"] == "pending"
            newcomer = FakeServerProcess.queue_worker("w3", queue_env, tmp_path, small_shop, journal,
                                                      model_delay_ms=150)
            workers.append(newcomer)
            newcomer.wait_for(b" ready.", timeout_s=120)
            finished = _wait(client, handed, {"succeeded", "failed"}, [newcomer])
            assert finished["status"] == "succeeded", (finished.get("error"), newcomer.log_tail(3000))
            ends = [(e["pid"], e["tool"]) for e in read_journal(journal) if e["run_id"] == handed
                    and e["phase"] == "end"]
            assert sorted(tool for _, tool in ends) == sorted(TOOLS)  # no finished tool ran twice
            assert {pid for pid, _ in ends} == {survivor.pid, newcomer.pid}
    finally:
        for worker in workers:
            worker.stop()


class _RecordingStore:
    """Just what the Supervisor calls: heartbeats answered from a table, and no lapsed or waiting runs."""

    def __init__(self, answers: dict[str, bool | None]) -> None:
        self.answers = answers
        self.heartbeats: list[tuple[str, str]] = []

    def heartbeat(self, run_id: str, claim: str) -> bool | None:
        self.heartbeats.append((run_id, claim))
        return self.answers.get(claim)

    def get_run(self, run_id: str) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(status="running", worker="someone-else")


def test_a_stopping_run_keeps_its_claim_and_each_execution_renews_its_own() -> None:
    from campaign_planner.api.queue import Supervisor

    store = _RecordingStore({"w#1": True, "w#2": False, "w#3": None})
    supervisor = Supervisor(store, queue=None, worker="w", lease_s=30)  # type: ignore[arg-type]
    cancelled, running, unclaimed, taken = (supervisor.track("r1"), supervisor.track("r1"), supervisor.track("r2"),
                                            supervisor.track("r3"))
    cancelled.claim, running.claim, taken.claim = "w#1", "w#2", "w#3"
    supervisor.renew()
    assert cancelled.cancel.is_set() and cancelled.reason == "client"  # the client's cancel reached it
    assert not running.cancel.is_set()  # the same run's other execution keeps its own claim
    assert taken.cancel.is_set() and taken.reason == "lost"
    supervisor.renew()
    # Asked to stop, a run still renews its claim until its node ends (or another worker would take it over);
    # a ticket not yet claimed renews nothing.
    assert [claim for _, claim in store.heartbeats] == ["w#1", "w#2", "w#3", "w#1", "w#2", "w#3"]
    assert not unclaimed.cancel.is_set()
    supervisor.untrack("r1", cancelled)
    assert supervisor.hand_over_all() == 2 and running.reason == "handover"
