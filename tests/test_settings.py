"""Settings precedence is explicit and tested: CLI flag > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_planner.settings import load_settings


def test_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('backend = "gguf:/models/from-file.gguf"\nmax_segments = 4\nvariants_per_cell = 3\n')
    monkeypatch.setenv("CAMPAIGN_PLANNER_CONFIG", str(config))
    assert load_settings().backend == "gguf:/models/from-file.gguf"  # config file beats default
    assert load_settings().copy_workers == 1  # default where nothing sets it
    monkeypatch.setenv("CAMPAIGN_PLANNER_BACKEND", "local")
    monkeypatch.setenv("CAMPAIGN_PLANNER_MAX_SEGMENTS", "5")
    settings = load_settings()
    assert settings.backend == "local"  # environment beats config file
    assert settings.max_segments == 5
    assert settings.variants_per_cell == 3  # config file still fills what env leaves alone
    assert load_settings(backend="openai:gpt-4o-mini", max_segments=None).backend == "openai:gpt-4o-mini"
    assert load_settings(backend="openai:gpt-4o-mini", max_segments=None).max_segments == 5  # None = no flag


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_MAX_SEGMENTS", "9")
    with pytest.raises(ValueError, match="max_segments"):
        load_settings()


def test_unknown_config_keys_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('bakend = "local"\n')
    monkeypatch.setenv("CAMPAIGN_PLANNER_CONFIG", str(config))
    with pytest.raises(ValueError, match="bakend"):
        load_settings()


def test_shop_dir_defaults_to_demo_shop(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_shop_dir == tmp_path / "demo-shop"
    assert load_settings(data_dir=tmp_path, shop_dir=tmp_path / "mine").effective_shop_dir == tmp_path / "mine"


def test_llm_threads_reach_the_local_server_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from campaign_planner.llm import _server_options

    assert _server_options(load_settings()).n_threads == 2
    monkeypatch.setenv("CAMPAIGN_PLANNER_LLM_THREADS", "1")
    assert _server_options(load_settings()).n_threads == 1
