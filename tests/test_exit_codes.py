"""One test per documented exit code of the CLI (README: Exit codes; campaign_planner/exit_codes.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from campaign_planner import cli, planning
from campaign_planner.exit_codes import ExitCode
from tests.fake_planner_model import competent_model

BRIEF = "Summer dress launch for women 25-40, $50k over 4 weeks, email + Instagram + search, 15% off."
runner = CliRunner()


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    handle = SimpleNamespace(model=competent_model(), backend="fake", model_name="scripted-fake")
    monkeypatch.setattr(cli, "_model_handle", lambda settings: handle)
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path / "data"))


def test_0_done(fake_backend: None, demo_shop_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--out", str(tmp_path / "p.md")])
    assert result.exit_code == ExitCode.DONE == 0, result.output


def test_1_runtime_failure_a_run_without_a_plan(fake_backend: None, demo_shop_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning, "run_plan", lambda *a, **k: SimpleNamespace(plan=None, awaiting_review=False))
    result = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir)])
    assert result.exit_code == ExitCode.RUNTIME_FAILURE == 1, result.output
    assert "without a plan" in result.stderr


def test_1_runtime_failure_an_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 1
    assert "unexpected KeyError" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["plan", BRIEF, "--format", "pdf"], ["plan", "   "], ["no-such-command"],
                                  ["continue", "no-such-thread", "--backend", "nonsense:"]])
def test_2_usage(args: list[str]) -> None:
    result = runner.invoke(cli.app, args)
    assert result.exit_code == ExitCode.USAGE == 2, result.output


def test_3_paused_for_review(fake_backend: None, demo_shop_dir: Path) -> None:
    result = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--review", "--thread-id", "t3"])
    assert result.exit_code == ExitCode.PAUSED_FOR_REVIEW == 3, result.output
    assert "campaign-planner review t3" in " ".join(result.stderr.split())


def test_65_bad_data(tmp_path: Path) -> None:
    bad = tmp_path / "reviews.csv"
    bad.write_text("foo,bar\n1,2\n")
    imported = runner.invoke(cli.app, ["shop", "import", str(tmp_path / "shop"), "--reviews", str(bad)])
    assert imported.exit_code == ExitCode.BAD_DATA == 65, imported.output
    not_a_shop = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(tmp_path / "empty")])
    assert not_a_shop.exit_code == 65, not_a_shop.output


def test_69_service_unavailable(demo_shop_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path / "data"))
    # The OpenAI backend without a key (conftest removes OPENAI_API_KEY): the model service cannot be set up.
    # Unblocking model requests is safe here: without a key no client is made, so nothing is sent.
    monkeypatch.delenv("CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS")
    no_key = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--backend", "openai:gpt-4o-mini"])
    assert no_key.exit_code == ExitCode.SERVICE_UNAVAILABLE == 69, no_key.output
    # Nothing listens on port 1: the checkpoint database is unreachable.
    monkeypatch.setenv("CAMPAIGN_PLANNER_CHECKPOINT_URL", "postgresql://planner:pw@127.0.0.1:1/plans?connect_timeout=2")
    result = runner.invoke(cli.app, ["review", "t1", "--approve", "--shop", str(demo_shop_dir)])
    assert result.exit_code == 69, result.output
