"""Durable runs: the Postgres checkpointer on a real PostgreSQL server (started on loopback by the fixtures),
and crash recovery (a run killed with SIGKILL mid-way continues in a fresh process) on SQLite and Postgres.

The plans run the real graph and tools on the demo shop with the scripted fake model. The crash tests run
the plan in a child process (``python -c ... _child_main``) whose narrative model call blocks, kill it
there, and continue the thread in another child process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from campaign_planner.data.shop import load_shop
from campaign_planner.domain import CampaignPlan
from campaign_planner.graphs.graph import build_graph
from campaign_planner.planning import (
    PlanningError,
    continue_plan,
    make_context,
    open_checkpointer,
    open_checkpoints,
    redact_url,
    revise_plan,
    run_plan,
)
from campaign_planner.settings import Settings, load_settings
from campaign_planner.testing import ScriptedChatModel
from tests.fake_planner_model import competent_model, planner_responder
from tests.postgres_server import PostgresServer, postgres_server, postgres_url  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]
BRIEF = ("We're launching our new summer dress collection. Target women aged 25-40 who care about fit. "
         "Total budget $50,000 over 4 weeks. Use email, Instagram and paid search. Offer: 15% off first order.")
TOOLS = ["profile_lookup", "channel_optimizer", "forecaster", "copywriter"]
API_KEY = "cpk_test-durable-runs"
CHILD_TIMEOUT_S = 300.0  # a hang guard for a child process on 2 busy cores


def _settings(tmp_path: Path, shop: Path, checkpoint_url: str | None) -> Settings:
    return load_settings(data_dir=tmp_path / "data", shop_dir=shop, backend="fake", checkpoint_url=checkpoint_url)


def _handle(model: ScriptedChatModel) -> SimpleNamespace:
    return SimpleNamespace(model=model, backend="fake", model_name="scripted-fake")


def _call_kind(messages: list[Any]) -> str:
    system = str(messages[0].content) if messages else ""
    return "planner" if "planning agent" in system else "narrative" if "strategist" in system else "copy"


def _rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(sql, params).fetchall()


def _assert_complete(plan: CampaignPlan | None) -> CampaignPlan:
    assert plan is not None
    assert "validation_failed" not in plan.flag_codes(), [f.message for f in plan.flags]
    assert plan.budget is not None and abs(sum(a.spend for a in plan.budget.allocations) - 50_000) < 0.01
    assert plan.segments and plan.forecast and plan.messaging and plan.measurement is not None
    return plan


# --- opening the store -------------------------------------------------------------------------------------


def test_postgres_checkpoints_are_pooled_and_set_up_once(postgres_server: PostgresServer, tmp_path: Path,  # noqa: F811
                                                          demo_shop_dir: Path) -> None:
    url = postgres_server.create_database()
    settings = _settings(tmp_path, demo_shop_dir, url)
    opened: list[Any] = []

    def open_one() -> None:
        with open_checkpoints(settings, max_connections=3) as checkpoints:
            opened.append((checkpoints.kind, checkpoints.pool.max_size))

    # Two processes' worth of openers at once: the setup lock keeps their table creation from racing.
    threads = [threading.Thread(target=open_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert opened == [("postgres", 3), ("postgres", 3)]
    migrations = _rows(url, "SELECT count(*), count(DISTINCT v) FROM checkpoint_migrations")[0]
    assert migrations[0] == migrations[1] > 0  # each migration applied once
    with open_checkpoints(settings, max_connections=3) as checkpoints:
        first, second = checkpoints.saver(), checkpoints.saver()
        assert first is not second and first.conn is second.conn is checkpoints.pool  # one pool, a saver per run
        assert checkpoints.location == url
    assert not (tmp_path / "data" / "checkpoints.sqlite").exists()


def test_sqlite_stays_the_default(tmp_path: Path, demo_shop_dir: Path) -> None:
    with open_checkpoints(_settings(tmp_path, demo_shop_dir, None)) as checkpoints:
        assert checkpoints.kind == "sqlite" and checkpoints.saver() is checkpoints.saver()
    assert (tmp_path / "data" / "checkpoints.sqlite").is_file()
    with open_checkpoints(_settings(tmp_path, demo_shop_dir, f"sqlite:///{tmp_path}/elsewhere.db")) as checkpoints:
        assert checkpoints.location == str(tmp_path / "elsewhere.db")


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://me:s3cret@localhost/db", "is not supported: use postgresql://"),
    ("postgresql://me:s3cret@[::1/db", "is not a valid PostgreSQL URL"),
    ("postgresql://me:s3cret@127.0.0.1:5432/db?colour=red", "is not a valid PostgreSQL URL"),
    ("postgresql://me:s3cret@127.0.0.1:5432/db?connect_timeout=soon", "connect_timeout must be a number"),
])
def test_a_bad_checkpoint_url_is_refused_clearly(url: str, message: str, tmp_path: Path,
                                                 demo_shop_dir: Path) -> None:
    with pytest.raises(PlanningError, match=message) as raised, \
            open_checkpointer(_settings(tmp_path, demo_shop_dir, url)):
        pass
    assert "s3cret" not in str(raised.value) and "***" in str(raised.value)


def test_an_unreachable_or_wrong_server_is_refused_clearly(postgres_server: PostgresServer, tmp_path: Path,  # noqa: F811
                                                           demo_shop_dir: Path) -> None:
    from tests.postgres_server import free_port

    nobody = f"postgresql://me:s3cret@127.0.0.1:{free_port()}/db"
    started = time.monotonic()
    with pytest.raises(PlanningError, match="cannot use the Postgres checkpoint database") as raised, \
            open_checkpointer(_settings(tmp_path, demo_shop_dir, nobody)):
        pass
    assert time.monotonic() - started < 30
    text = str(raised.value)
    assert "Connection refused" in text and "CAMPAIGN_PLANNER_CHECKPOINT_URL" in text and "s3cret" not in text
    with pytest.raises(PlanningError, match='database "no_such_db" does not exist'), \
            open_checkpointer(_settings(tmp_path, demo_shop_dir, postgres_server.database_url("no_such_db"))):
        pass


def test_the_api_refuses_to_start_without_its_checkpoint_store(tmp_path: Path, demo_shop_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from campaign_planner import cli
    from campaign_planner.api import create_app, hash_api_key
    from tests.postgres_server import free_port

    nobody = f"postgresql://me:s3cret@127.0.0.1:{free_port()}/db"
    with pytest.raises(ValueError, match="cannot use the Postgres checkpoint database"):
        create_app(_settings(tmp_path, demo_shop_dir, nobody), api_key_hashes=[hash_api_key(API_KEY)])
    # `campaign-planner serve` says so in one line (no traceback) and does not start serving.
    monkeypatch.setenv("CAMPAIGN_PLANNER_CHECKPOINT_URL", nobody)
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CAMPAIGN_PLANNER_API_KEY_HASHES", hash_api_key(API_KEY))
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: pytest.fail("serve started despite the bad URL"))
    result = CliRunner().invoke(cli.app, ["serve", "--shop", str(demo_shop_dir), "--port", "1"])
    assert result.exit_code == 69, result.output  # service unavailable
    assert "error: cannot use the Postgres checkpoint database postgresql://me:***@" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output and "s3cret" not in result.output


# --- plans with checkpoints in Postgres ---------------------------------------------------------------------


def test_plan_completes_with_its_checkpoints_in_postgres(postgres_url: str, tmp_path: Path,  # noqa: F811
                                                         demo_shop_dir: Path) -> None:
    settings = _settings(tmp_path, demo_shop_dir, postgres_url)
    context = make_context(settings, model_handle=_handle(competent_model()), shop=load_shop(demo_shop_dir))
    events: list[dict[str, Any]] = []
    with open_checkpoints(settings) as checkpoints:
        outcome = run_plan(BRIEF, context, checkpoints.saver(), thread_id="pg-1", on_event=events.append)
    plan = _assert_complete(outcome.plan)
    assert not outcome.awaiting_review and plan.status == "draft"
    assert [c.split("(")[1] for c in plan.provenance.tool_calls] == ["planner)"] * 4
    assert [e["tool"] for e in events if e.get("step") == "tool"] == TOOLS
    # One checkpoint per step (input, intake, planner, tools, planner, guard, narrative, assemble, validate).
    (count,) = _rows(postgres_url, "SELECT count(*) FROM checkpoints WHERE thread_id = %s", "pg-1")[0]
    assert count >= 9
    assert not (tmp_path / "data" / "checkpoints.sqlite").exists()
    # A new pool (another process would do the same) reads the finished plan back.
    with open_checkpoints(settings) as checkpoints:
        state = build_graph(checkpoints.saver()).get_state({"configurable": {"thread_id": "pg-1"}})
    assert not state.next and CampaignPlan.model_validate(state.values["plan"]) == plan


def test_review_resumes_from_another_process(postgres_url: str, tmp_path: Path,  # noqa: F811
                                             demo_shop_dir: Path) -> None:
    settings = _settings(tmp_path, demo_shop_dir, postgres_url)
    context = make_context(settings, model_handle=_handle(competent_model()), shop=load_shop(demo_shop_dir),
                           review=True)
    with open_checkpoints(settings) as checkpoints:
        draft = run_plan(BRIEF, context, checkpoints.saver(), thread_id="pg-review")
    assert draft.awaiting_review and draft.plan is not None and draft.plan.status == "draft"

    result = _run_child(_job(tmp_path, demo_shop_dir, postgres_url, "pg-review", mode="approve"))
    assert result["awaiting_review"] is False and result["model_calls"] == []  # approving reruns nothing
    approved = CampaignPlan.model_validate(result["plan"])
    assert approved.status == "approved" and approved.budget == draft.plan.budget
    assert approved.provenance.llm_calls == draft.plan.provenance.llm_calls > 0


# --- crash recovery -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def child_shop(demo_shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo shop with its review index built, for child processes: they never share a Chroma
    folder with this process, nor embed 2,400 reviews again (the copied collection is renamed to the name
    that the copy's folder gets, as that name hashes the folder)."""
    from campaign_planner.vectorstore.ingest import ingest_reviews
    from campaign_planner.vectorstore.store import collection_name_for, open_review_store

    shop = load_shop(demo_shop_dir)
    store = open_review_store(shop)
    ingest_reviews(shop, store)  # a no-op when an earlier test built it
    target = tmp_path_factory.mktemp("child-shop") / "shop"
    shutil.copytree(demo_shop_dir, target)
    chroma_db = target / ".chroma" / "chroma.sqlite3"
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(chroma_db)) as db:
        db.execute("UPDATE collections SET name = ? WHERE name = ?",
                   (collection_name_for(load_shop(target)), store.collection_name))
        db.commit()  # (were Chroma's schema to change, the children would only be slower: they re-embed)
    return target


@pytest.fixture(params=["sqlite", "postgres"])
def checkpoint_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def test_a_run_killed_mid_way_continues_from_its_last_checkpoint(checkpoint_url: str, child_shop: Path,
                                                                 tmp_path: Path) -> None:
    job = _job(tmp_path, child_shop, checkpoint_url, "crash-1", mode="plan", block_at="narrative")
    def checkpoint_is_at_the_narrative() -> None:  # the child is inside the narrative's model call, blocked
        # Its checkpoint already has everything up to the guard; the narrative is what comes next.
        settings = _settings(tmp_path, child_shop, checkpoint_url)
        with open_checkpoints(settings) as checkpoints:
            snapshot = build_graph(checkpoints.saver()).get_state({"configurable": {"thread_id": "crash-1"}})
        assert snapshot.next == ("narrative",)
        assert all(snapshot.values.get(key) for key in ("profile", "allocation", "forecast", "copy"))

    _kill_when_blocked(job, before_kill=checkpoint_is_at_the_narrative)
    before = _log(job["log"])
    assert [e["tool"] for e in before if e.get("step") == "tool"] == TOOLS
    # One graph step per tool call: each finished tool has its own checkpoint.
    assert _nodes(before) == ["intake", "planner", *["tools"] * len(TOOLS), "planner", "guard"]
    assert not Path(job["out"]).exists()

    # A fresh process continues the thread: only the unfinished nodes run, no tool runs again.
    resumed_job = {**job, "mode": "continue", "block_at": None, "log": str(tmp_path / "continue.log"),
                   "out": str(tmp_path / "continue.json")}
    result = _run_child(resumed_job)
    after = _log(resumed_job["log"])
    assert _nodes(after) == ["narrative", "assemble", "validate"]
    assert not [e for e in after if e.get("step") == "tool"]
    assert result["model_calls"] == ["narrative"]  # no planner round, no copy rewritten
    plan = _assert_complete(CampaignPlan.model_validate(result["plan"]))
    assert [c.split("(")[1] for c in plan.provenance.tool_calls] == ["planner)"] * 4  # each tool ran once
    assert "987654321" not in plan.summary and plan.summary  # the narrative was vetted as usual

    # Continuing a finished run runs nothing (a model that refuses every call proves it).
    settings = _settings(tmp_path, child_shop, checkpoint_url)
    context = make_context(settings, model_handle=_handle(ScriptedChatModel(script=[])), shop=load_shop(child_shop))
    with open_checkpoints(settings) as checkpoints:
        again = continue_plan(context, checkpoints.saver(), thread_id="crash-1")
        with pytest.raises(PlanningError, match="no checkpoint to continue from"):
            continue_plan(context, checkpoints.saver(), thread_id="never-started")
    assert again.plan == plan and not again.awaiting_review


def test_an_api_run_killed_mid_way_continues_when_asked(postgres_url: str, child_shop: Path,  # noqa: F811
                                                        tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from campaign_planner.api import ApiConfig, create_app, hash_api_key
    from campaign_planner.api.runner import RESTART_REASON

    job = _job(tmp_path, child_shop, postgres_url, "", mode="serve", block_at="narrative")
    ids: dict[str, str] = {}

    def checkpoint_is_at_the_narrative() -> None:  # the API process's worker is blocked in the narrative's call
        ids.update(json.loads(Path(job["out"]).read_text()))
        with open_checkpoints(_settings(tmp_path, child_shop, postgres_url)) as checkpoints:
            snapshot = build_graph(checkpoints.saver()).get_state({"configurable": {"thread_id": ids["thread_id"]}})
        assert snapshot.next == ("narrative",) and snapshot.metadata["campaign_run_id"] == ids["run_id"]

    _kill_when_blocked(job, before_kill=checkpoint_is_at_the_narrative)

    kinds: list[str] = []

    def models(settings: Settings) -> SimpleNamespace:
        return _handle(ScriptedChatModel(responder=_responder(kinds, None, tmp_path / "unused")))

    app = create_app(_settings(tmp_path, child_shop, postgres_url), model_factory=models,
                     api_key_hashes=[hash_api_key(API_KEY)], config=ApiConfig(shutdown_grace_s=2.0))
    headers = {"X-API-Key": API_KEY}
    with TestClient(app) as client:  # a new server process on the same data dir and database
        run = client.get(f"/runs/{ids['run_id']}", headers=headers).json()
        assert run["status"] == "failed" and run["error"] == RESTART_REASON
        continued = client.post(f"/runs/{ids['run_id']}/resume", headers=headers, json={"action": "continue"})
        # The answer is the record as queued, however soon a worker thread takes the run (on 2 busy cores it
        # may be running before the request is answered: test_api's ..._answered_as_queued_... forces that).
        assert continued.status_code == 202 and continued.json()["status"] == "pending", continued.text
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        while (run := client.get(f"/runs/{ids['run_id']}", headers=headers).json())["status"] in ("pending",
                                                                                               "running"):
            assert time.monotonic() < deadline, "the continued run never finished"
            time.sleep(0.05)
        assert run["status"] == "succeeded", run["error"]
        events = client.get(f"/runs/{ids['run_id']}/stream", headers=headers).text
        again = client.post(f"/runs/{ids['run_id']}/resume", headers=headers, json={"action": "continue"})
    assert again.status_code == 409 and "only a run that failed because the server stopped" in again.text
    assert kinds == ["narrative"]  # the planner, the tools and the copy were not run again
    assert "Continuing from the last checkpoint" in events and '"tool"' not in events
    plan = _assert_complete(CampaignPlan.model_validate(run["plan"]))
    assert [c.split("(")[1] for c in plan.provenance.tool_calls] == ["planner)"] * 4


# --- the child process --------------------------------------------------------------------------------------


def test_a_follow_up_killed_in_its_copywriter_continues_without_re_running_its_other_tools(child_shop: Path,
                                                                                        tmp_path: Path) -> None:
    checkpoint_url = f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    planned = _run_child(_job(tmp_path, child_shop, checkpoint_url, "crash-r", mode="plan"))
    assert planned["plan"] is not None
    job = {**_job(tmp_path, child_shop, checkpoint_url, "crash-r", mode="revise", block_at="copy"),
           "follow_up": "Drop search and make the email copy shorter"}
    _kill_when_blocked(job)  # the budget tools have run; the copywriter is writing
    before = [e["tool"] for e in _log(job["log"]) if e.get("step") == "tool"]
    # (The copywriter's own "Calling" event may not have reached the log before its model call blocked.)
    assert before[:2] == ["channel_optimizer", "forecaster"] and before[2:] in ([], ["copywriter"])
    resumed_job = {**job, "mode": "continue", "block_at": None, "log": str(tmp_path / "continue-r.log"),
                   "out": str(tmp_path / "continue-r.json")}
    result = _run_child(resumed_job)
    # Each of the follow-up's tools was checkpointed when it finished: only the copywriter, cut off, runs again.
    assert [e["tool"] for e in _log(resumed_job["log"]) if e.get("step") == "tool"] == ["copywriter"]
    assert set(result["model_calls"]) <= {"copy", "narrative"} and "copy" in result["model_calls"]
    plan = CampaignPlan.model_validate(result["plan"])
    assert plan.budget is not None and all(a.spend == 0 for a in plan.budget.allocations if a.channel == "search")


def _job(tmp_path: Path, shop: Path, checkpoint_url: str, thread_id: str, *, mode: str,
         block_at: str | None = None) -> dict[str, Any]:
    return {"mode": mode, "shop": str(shop), "data_dir": str(tmp_path / "data"), "checkpoint_url": checkpoint_url,
            "thread_id": thread_id, "block_at": block_at, "marker": str(tmp_path / f"{mode}.blocked"),
            "log": str(tmp_path / f"{mode}.log"), "out": str(tmp_path / f"{mode}.json")}


def _spawn(job: dict[str, Any]) -> subprocess.Popen[str]:
    code = "import sys; from tests.test_checkpointer_postgres import _child_main; _child_main(sys.argv[1])"
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(job)], cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _kill_when_blocked(job: dict[str, Any], before_kill: Callable[[], None] | None = None) -> None:
    """Start the job's child, wait until its model call blocks, run ``before_kill``, then SIGKILL it."""
    proc = _spawn(job)
    try:
        _wait_for(Path(job["marker"]), proc)
        if before_kill is not None:
            before_kill()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _run_child(job: dict[str, Any]) -> dict[str, Any]:
    proc = _spawn(job)
    try:
        output, _ = proc.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 0, output[-3000:]
    return dict(json.loads(Path(job["out"]).read_text()))


def _wait_for(marker: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while not marker.exists():
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"the child exited with {proc.returncode} before blocking:\n{output[-3000:]}")
        assert time.monotonic() < deadline, "the child never reached the blocking model call"
        time.sleep(0.1)


def _log(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _nodes(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["step"]) for e in events if e.get("done") and not str(e["step"]).startswith("__")]


def _responder(kinds: list[str], block_at: str | None, marker: Path) -> Callable[[list[Any]], str]:
    def respond(messages: list[Any]) -> str:
        kind = _call_kind(messages)
        kinds.append(kind)
        if kind == block_at:
            marker.write_text("blocked")
            time.sleep(3600)  # the test kills this process here
        return planner_responder(messages)

    return respond


def _child_main(raw: str) -> None:
    """Run one step of a crash test in this (child) process: ``plan``, ``continue``, ``revise`` (a follow-up)
    or ``approve``."""
    job = json.loads(raw)
    settings = load_settings(data_dir=job["data_dir"], shop_dir=job["shop"], backend="fake",
                             checkpoint_url=job["checkpoint_url"])
    kinds: list[str] = []
    model = ScriptedChatModel(responder=_responder(kinds, job["block_at"], Path(job["marker"])))
    if job["mode"] == "approve":
        model = ScriptedChatModel(script=[])  # approving must call no model
    context = make_context(settings, model_handle=_handle(model), shop=load_shop(Path(job["shop"])),
                           review=job["mode"] == "approve")
    if job["mode"] == "serve":
        _child_serve(job, settings, model)
        return
    with open(job["log"], "a", buffering=1, encoding="utf-8") as log:  # line-buffered: survives SIGKILL

        def on_event(event: dict[str, Any]) -> None:
            log.write(json.dumps(event, default=str) + "\n")

        with open_checkpoints(settings) as checkpoints:
            saver, thread_id = checkpoints.saver(), job["thread_id"]
            if job["mode"] == "plan":
                outcome = run_plan(BRIEF, context, saver, thread_id=thread_id, on_event=on_event)
            elif job["mode"] == "continue":
                outcome = continue_plan(context, saver, thread_id=thread_id, on_event=on_event)
            elif job["mode"] == "revise":
                outcome = revise_plan(job["follow_up"], context, saver, thread_id=thread_id, on_event=on_event)
            else:
                outcome = run_plan(None, context, saver, thread_id=thread_id, on_event=on_event,
                                   resume={"action": "approve"})
    plan = outcome.plan.model_dump(mode="json") if outcome.plan is not None else None
    Path(job["out"]).write_text(json.dumps({"awaiting_review": outcome.awaiting_review, "plan": plan,
                                            "model_calls": [_call_kind(m) for m in model.calls]}))


def _child_serve(job: dict[str, Any], settings: Settings, model: ScriptedChatModel) -> None:
    """Serve the API in this process, start one run and wait to be killed."""
    from fastapi.testclient import TestClient

    from campaign_planner.api import create_app, hash_api_key

    app = create_app(settings, model_factory=lambda _: _handle(model), api_key_hashes=[hash_api_key(API_KEY)])
    headers = {"X-API-Key": API_KEY}
    with TestClient(app) as client:
        thread_id = client.post("/threads", headers=headers).json()["thread_id"]
        run_id = client.post(f"/threads/{thread_id}/runs", headers=headers, json={"brief": BRIEF}).json()["run_id"]
        Path(job["out"]).write_text(json.dumps({"thread_id": thread_id, "run_id": run_id}))
        time.sleep(3600)  # the run goes on in the API's worker thread; the test kills this process


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db?sslmode=require&password=secret", "postgresql://u@h/db?sslmode=require&password=***"),
        ("postgresql://u:se@cret@h/db", "postgresql://u:***@h/db"),
        ("cannot use postgresql://u:pw@h/db: refused", "cannot use postgresql://u:***@h/db: refused"),
        ("host=h password=secret dbname=x", "host=h password=*** dbname=x"),
    ],
)
def test_passwords_never_reach_a_message(text: str, shown: str) -> None:
    assert redact_url(text) == shown
