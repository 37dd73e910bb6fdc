"""Test-wide safety: no real model can be reached by accident, and no test writes to user dirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATASETS = SHARED / "datasets"
BRIEFS = SHARED / "briefs"


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Real model requests fail unless a test opts in with allow_real=True (integration tests do).
    monkeypatch.setenv("CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("CAMPAIGN_PLANNER_BACKEND", "CAMPAIGN_PLANNER_SHOP_DIR", "CAMPAIGN_PLANNER_CHROMA_URL",
                 "CAMPAIGN_PLANNER_DATA_DIR", "CAMPAIGN_PLANNER_CACHE_DIR", "CAMPAIGN_PLANNER_CHECKPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("CAMPAIGN_PLANNER_CONFIG", str(config_dir / "absent.toml"))
    yield


@pytest.fixture(scope="session")
def demo_shop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo shop written once per session (its Chroma index is built by the first test using it)."""
    from campaign_planner.data.demo import write_demo_shop

    directory = tmp_path_factory.mktemp("demo-shop")
    write_demo_shop(directory)
    return directory


def dataset(name: str) -> Path:
    """Return a public dataset's path, or skip the test with a clear message where it is absent."""
    path = DATASETS / name
    if not path.is_file():
        pytest.skip(f"public dataset {name} not found at {path} (see shared/datasets/SOURCES.md)")
    return path
