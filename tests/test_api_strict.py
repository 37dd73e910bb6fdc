"""Strict inputs: no coercion of booleans or numbers in API bodies, no serving of a backend that cannot plan,
and /healthz reporting what actually executes runs (queue workers with their heartbeat age)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from campaign_planner import cli
from campaign_planner.api import ApiConfig, create_app, hash_api_key, worker_registry
from campaign_planner.api.app import refuse_backends_that_cannot_plan
from campaign_planner.settings import load_settings
from tests.postgres_server import postgres_server, postgres_url  # noqa: F401  (pytest fixtures)
from tests.redis_server import redis_url  # noqa: F401  (pytest fixture)
from tests.test_api import BRIEF, A, _app, _client, _thread


@pytest.mark.parametrize("body", [
    {"brief": BRIEF, "review": "yes"},
    {"brief": BRIEF, "review": 1},
    {"brief": BRIEF, "follow_up": "false"},
    {"brief": BRIEF, "settings": {"max_segments": "3"}},
    {"brief": BRIEF, "settings": {"variants_per_cell": 2.0}},
    {"brief": 42},
])
def test_loose_types_are_refused_not_coerced(tmp_path: Path, demo_shop_dir: Path, body: dict) -> None:
    with _client(_app(tmp_path, demo_shop_dir)) as client:
        thread_id = _thread(client)
        response = client.post(f"/threads/{thread_id}/runs", headers=A, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"]
        assert client.get(f"/threads/{thread_id}/runs", headers=A).json() == []  # nothing was queued


def test_resume_and_thread_bodies_are_strict_too(tmp_path: Path, demo_shop_dir: Path) -> None:
    with _client(_app(tmp_path, demo_shop_dir)) as client:
        assert client.post("/threads", headers=A, json={"metadata": {"team": 7}}).status_code == 422
        assert client.post("/threads", headers=A, json={"metadata": {"team": "spring"}}).status_code == 201
        resume = client.post("/runs/nope/resume", headers=A, json={"action": "edit", "amendment": 5})
        assert resume.status_code == 422


def test_serve_refuses_the_fake_backend_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_API_KEY_HASHES", hash_api_key("cpk_x"))
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli.app, ["serve", "--backend", "fake", "--port", "1"])
    assert result.exit_code == 2
    assert "scripted test model" in result.stderr and "Traceback" not in result.output
    chat = CliRunner().invoke(cli.app, ["chat", "--backend", "fake", "--port", "1"])
    assert chat.exit_code == 2 and "scripted test model" in chat.stderr
    with pytest.raises(ValueError, match="scripted test model"):  # also as a backend requests may name
        refuse_backends_that_cannot_plan(load_settings(data_dir=tmp_path, backend="local"), ["local", "fake"])
    refuse_backends_that_cannot_plan(load_settings(data_dir=tmp_path, backend="local"), ["local"])


def test_healthz_without_a_queue_reports_the_servers_threads(tmp_path: Path, demo_shop_dir: Path) -> None:
    with _client(_app(tmp_path, demo_shop_dir, workers=3)) as client:
        health = client.get("/healthz").json()
        assert health["mode"] == "in_process" and health["workers"] == 3 and health["queue_workers"] is None


def test_healthz_with_a_queue_reports_the_workers_the_queue_sees(redis_url: str, postgres_url: str,  # noqa: F811
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    client_redis = redis.Redis.from_url(redis_url)
    client_redis.flushdb()
    monkeypatch.setenv("CAMPAIGN_PLANNER_QUEUE_URL", redis_url)
    monkeypatch.setenv("CAMPAIGN_PLANNER_CHECKPOINT_URL", postgres_url)
    monkeypatch.setenv("CAMPAIGN_PLANNER_QUEUE_LEASE_S", "3")
    settings = load_settings(data_dir=tmp_path, backend="fake")
    app = create_app(settings, model_factory=lambda s: None, api_key_hashes=[hash_api_key("cpk_x")],
                     config=ApiConfig(workers=5))
    with TestClient(app) as client:
        health = client.get("/healthz").json()
        assert health["mode"] == "queue" and health["workers"] == 0 and health["queue_workers"] == []  # not 5
        worker_registry.announce(client_redis, "machine-a:1", 2)
        worker_registry.announce(client_redis, "machine-b:7", 4)
        # A worker last seen 2 leases ago is listed as not alive; one 11 leases ago is forgotten.
        now = worker_registry.redis_now(client_redis)
        client_redis.hset(worker_registry.WORKERS_KEY, "stale:3", f'{{"concurrency": 8, "seen": {now - 6}}}')
        client_redis.hset(worker_registry.WORKERS_KEY, "dead:4", f'{{"concurrency": 8, "seen": {now - 33}}}')
        health = client.get("/healthz").json()
        assert health["workers"] == 6
        names = {w["name"]: w for w in health["queue_workers"]}
        assert set(names) == {"machine-a:1", "machine-b:7", "stale:3"}
        assert names["machine-a:1"]["alive"] and names["machine-a:1"]["heartbeat_age_s"] < 2
        assert not names["stale:3"]["alive"] and names["stale:3"]["heartbeat_age_s"] >= 6
        assert not client_redis.hexists(worker_registry.WORKERS_KEY, "dead:4")
        worker_registry.withdraw(client_redis, "machine-b:7")
        time.sleep(0.01)
        assert client.get("/healthz").json()["workers"] == 2
