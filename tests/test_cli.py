"""The CLI's plumbing with the scripted fake model: output formats, files, errors, review and resume."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from campaign_planner import cli
from campaign_planner.domain import CampaignPlan
from tests.conftest import dataset
from tests.fake_planner_model import competent_model

BRIEF = ("Summer dress launch for women 25-40, $50k over 4 weeks, email + Instagram + search, 15% off. "
         "Tone: warm.")
runner = CliRunner()


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    handle = SimpleNamespace(model=competent_model(), backend="fake", model_name="scripted-fake")
    monkeypatch.setattr(cli, "_model_handle", lambda settings: handle)


def test_plan_writes_json_and_shows_markdown(fake_backend: None, demo_shop_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    out = tmp_path / "plan.json"
    result = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--format", "json",
                                     "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = CampaignPlan.model_validate(json.loads(out.read_text()))
    assert abs(plan.budget.total - 50_000) < 0.01  # type: ignore[union-attr]
    assert "# Campaign plan" in result.stdout
    assert "→ tool profile_lookup" in result.stderr


def test_plan_verbose_prints_the_time_budget_and_the_plan_carries_it(
        fake_backend: None, demo_shop_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "plan.json"
    result = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--format", "json",
                                     "--out", str(out), "--verbose"])
    assert result.exit_code == 0, result.output
    provenance = CampaignPlan.model_validate(json.loads(out.read_text())).provenance
    # A CLI run started its process: start-up is counted, from the process start to the first step.
    assert provenance.startup_seconds is not None and 0 <= provenance.startup_seconds
    assert "Time budget" in result.stderr and "start-up" in result.stderr
    for node in provenance.stage_seconds:
        assert node in result.stderr
    labelled = [call.label for call in provenance.model_calls if call.label]
    assert labelled and labelled[0] in result.stderr
    assert "of which in the model" in result.stderr


def test_plan_html_is_self_contained(fake_backend: None, demo_shop_dir: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    out = tmp_path / "plan.html"
    result = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--format", "html",
                                     "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")
    assert "<script" not in page and "<svg" in page


def test_empty_brief_is_refused_clearly() -> None:
    result = runner.invoke(cli.app, ["plan", "   "])
    assert result.exit_code == 2
    assert "the brief is empty" in result.stderr


def test_missing_shop_is_refused_clearly(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(tmp_path / "nowhere")])
    assert result.exit_code == 65  # bad data: the folder holds no shop
    assert "not a shop" in result.stderr


def test_review_pauses_without_a_terminal_and_resumes(fake_backend: None, demo_shop_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    paused = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--review",
                                     "--thread-id", "review-1"])
    assert paused.exit_code == 3, paused.output  # paused for review
    assert "Paused for review" in paused.stderr
    resumed = runner.invoke(cli.app, ["review", "review-1", "--approve", "--shop", str(demo_shop_dir),
                                      "--format", "json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["status"] == "approved"
    again = runner.invoke(cli.app, ["review", "review-1", "--approve", "--shop", str(demo_shop_dir)])
    assert again.exit_code == 2 and "not waiting for a review" in again.stderr


@pytest.mark.parametrize(("url", "code"), [("mysql://127.0.0.1/plans", 2),  # usage: a scheme we do not speak
                                           ("postgresql://planner:secret@127.0.0.1:1/plans?connect_timeout=2", 69)])
def test_a_bad_checkpoint_url_is_one_clear_line_not_a_trace(fake_backend: None, demo_shop_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch, url: str,
                                                           code: int) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CAMPAIGN_PLANNER_CHECKPOINT_URL", url)
    shop = ["--shop", str(demo_shop_dir)]
    for args in (["plan", BRIEF, *shop], ["review", "t1", "--approve", *shop]):
        result = runner.invoke(cli.app, args)
        assert result.exit_code == code, result.output
        assert "error" in result.stderr.lower() and "Traceback" not in result.output
        assert "secret" not in result.output  # the password never reaches the terminal


def test_shop_demo_and_import(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["shop", "demo", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "reviews.csv").is_file()
    again = runner.invoke(cli.app, ["shop", "demo", str(tmp_path / "demo")])
    assert again.exit_code == 2  # no silent overwrite
    reviews = dataset("womens_clothing_ecommerce_reviews.csv.gz")
    imported = runner.invoke(cli.app, ["shop", "import", str(tmp_path / "real"), "--reviews", str(reviews)])
    assert imported.exit_code == 0, imported.output
    assert (tmp_path / "real" / "reviews.csv").is_file()


def test_import_of_a_file_with_wrong_columns_names_them(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    result = runner.invoke(cli.app, ["shop", "import", str(tmp_path / "shop"), "--reviews", str(bad)])
    assert result.exit_code == 65  # bad data
    assert "foo" in result.stderr


def test_api_key_new_prints_a_key_and_its_hash() -> None:
    from campaign_planner.api import hash_api_key

    result = runner.invoke(cli.app, ["api-key", "new"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.stdout.strip().splitlines())
    assert hash_api_key(lines["key"].strip()) == lines["hash"].strip()


def test_serve_refuses_to_start_without_api_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAMPAIGN_PLANNER_API_KEY_HASHES", raising=False)
    result = runner.invoke(cli.app, ["serve", "--backend", "local"])
    assert result.exit_code == 2
    assert "api key" in result.stderr.lower()


def test_shop_ingest_reports_and_skips_an_unchanged_shop(demo_shop_dir: Path) -> None:
    first = runner.invoke(cli.app, ["shop", "ingest", str(demo_shop_dir)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli.app, ["shop", "ingest", str(demo_shop_dir)])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stderr[again.stderr.index("{"):])["skipped_unchanged"] is True


def test_a_plan_that_stopped_mid_run_continues_from_its_checkpoint(demo_shop_dir: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from campaign_planner.testing import ScriptedChatModel
    from tests.fake_planner_model import planner_responder

    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))

    def stop_at_narrative(messages: list[Any]) -> str:
        if "strategist" in str(messages[0].content):
            raise KeyboardInterrupt  # Ctrl-C while the narrative is being written
        return planner_responder(messages)

    stopping = ScriptedChatModel(responder=stop_at_narrative)
    monkeypatch.setattr(cli, "_model_handle", lambda settings: SimpleNamespace(
        model=stopping, backend="fake", model_name="scripted-fake"))
    stopped = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--thread-id", "stopped-1"])
    assert stopped.exit_code == 130  # the exit status of a Ctrl-C
    assert "campaign-planner continue stopped-1" in stopped.output
    tools_before = len(stopping.calls)

    finishing = competent_model()
    monkeypatch.setattr(cli, "_model_handle", lambda settings: SimpleNamespace(
        model=finishing, backend="fake", model_name="scripted-fake"))
    out = tmp_path / "plan.json"
    result = runner.invoke(cli.app, ["continue", "stopped-1", "--shop", str(demo_shop_dir), "--format", "json",
                                     "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = CampaignPlan.model_validate(json.loads(out.read_text()))
    assert abs(plan.budget.total - 50_000) < 0.01  # type: ignore[union-attr]
    assert tools_before > 1
    assert len(finishing.calls) == 1  # only the narrative: no tool and no copy was redone
    assert "→ tool" not in result.stderr
    unknown = runner.invoke(cli.app, ["continue", "no-such-thread", "--shop", str(demo_shop_dir)])
    assert unknown.exit_code == 2 and "no checkpoint to continue from" in unknown.output
