"""Logs a script can use: --log-level and --log-json on the CLI and serve, run and thread ids in records."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from campaign_planner import cli
from campaign_planner.logs import configure_logging, run_ids
from tests.fake_planner_model import competent_model

BRIEF = "Summer dress launch for women 25-40, $50k over 4 weeks, email + Instagram + search, 15% off."


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_plan_logs_json_lines_with_run_and_thread_ids(demo_shop_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    handle = SimpleNamespace(model=competent_model(), backend="fake", model_name="scripted-fake")
    monkeypatch.setattr(cli, "_model_handle", lambda settings: handle)
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(cli.app, ["--log-level", "info", "--log-json", "plan", BRIEF, "--shop",
                                          str(demo_shop_dir), "--thread-id", "logs-1", "--format", "json",
                                          "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = _json_lines(result.stderr)
    run_records = [r for r in records if r["logger"] == "campaign_planner.planning"]
    assert [r["message"] for r in run_records] == ["planning run starts (new brief)", "planning run ends: plan made"]
    plan_run_id = json.loads(out.read_text())["provenance"]["run_id"]
    assert {(r["run_id"], r["thread_id"]) for r in run_records} == {(plan_run_id, "logs-1")}
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_the_default_level_is_warning_and_text_lines_carry_the_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning")
    log = logging.getLogger("campaign_planner.test")
    log.info("not shown")
    with run_ids(run_id="r-1", thread_id="t-1"), run_ids(run_id="inner", thread_id="t-2"):
        log.warning("shown")  # an id set by an outer block (the API's run id) is kept
    log.error("outside a run")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "WARNING campaign_planner.test [run r-1 thread t-1] shown" in lines[0]
    assert "[run - thread -] outside a run" in lines[1]
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("loud")  # type: ignore[arg-type]


def test_serve_takes_its_own_log_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_shop_dir: Path) -> None:
    from campaign_planner.api import hash_api_key

    seen = {}
    monkeypatch.setenv("CAMPAIGN_PLANNER_API_KEY_HASHES", hash_api_key("cpk_x"))
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("uvicorn.run", lambda app, **options: seen.update(options))
    result = CliRunner().invoke(cli.app, ["serve", "--backend", "local", "--shop", str(demo_shop_dir),
                                          "--log-level", "debug", "--log-json"])
    assert result.exit_code == 0, result.output
    assert seen["log_level"] == "debug" and seen["log_config"] is None
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_campaign_planner", False)]
    assert len(ours) == 1 and type(ours[0].formatter).__name__ == "JsonFormatter"
    assert logging.getLogger().level == logging.DEBUG
