"""The brief-understanding eval stays above its target (a regression guard for the intake rules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evals.brief_understanding import score

EVALS = Path(__file__).resolve().parents[1] / "evals"


@pytest.mark.parametrize(("name", "floor"), [("briefs_understanding.jsonl", 0.98),
                                             ("briefs_understanding_holdout.jsonl", 0.98),
                                             ("briefs_questions.jsonl", 0.98)])
def test_brief_fields_accuracy_stays_above_target(name: str, floor: float) -> None:
    cases = [json.loads(line) for line in (EVALS / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    figures, failures = score(cases)
    assert float(figures["brief_fields_accuracy"]) >= floor, failures
    if "unknown_channel_recall" in figures:
        assert figures["unknown_channel_recall"] == "1.000", failures
