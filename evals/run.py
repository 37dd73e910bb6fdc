"""Run briefs through the planner and score each plan: ``python -m evals.run BRIEFS.jsonl``.

Prints one row per brief (checks passed, seconds, LLM calls, tokens) and the totals as ``name=value``
lines, so results can be pasted into docs/benchmarks.md with the command that produced them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from campaign_planner.llm import make_chat_model
from campaign_planner.planning import make_context, open_checkpointer, resolve_shop, run_plan
from campaign_planner.settings import load_settings
from evals.copy_craft import score_cells
from evals.scorers import score_plan


def run_briefs(path: Path, *, backend: str | None, shop: Path | None, limit: int | None,
               out_dir: Path | None, data_dir: Path | None,
               ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Plan every brief of ``path`` (only those whose id is in ``ids``, where given) and return one result
    row per brief."""
    settings = load_settings(backend=backend, shop_dir=shop, data_dir=data_dir)
    shop_data = resolve_shop(settings)
    handle = make_chat_model(settings=settings, allow_real=True)
    rows = []
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if ids:
        cases = [case for case in cases if case["id"] in ids]
    with open_checkpointer(settings) as checkpointer:
        for case in cases[:limit]:
            context = make_context(settings, model_handle=handle, shop=shop_data)
            started = time.perf_counter()
            outcome = run_plan(case["brief"], context, checkpointer, thread_id=f"eval-{uuid.uuid4().hex[:8]}")
            seconds = time.perf_counter() - started
            plan = outcome.plan.model_dump(mode="json") if outcome.plan else None
            checks = score_plan(plan, case.get("expect", {})) if plan else []
            if out_dir is not None and plan is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                (out_dir / f"{case['id']}.json").write_text(json.dumps(plan, ensure_ascii=False, indent=2))
            usage = context.usage.snapshot()
            rows.append({
                "id": case["id"],
                "passed": sum(c.passed for c in checks),
                "total": len(checks),
                "failed": [f"{c.name}: {c.detail}" for c in checks if not c.passed],
                "seconds": round(seconds, 1),
                "llm_seconds": usage["llm_seconds"],
                "llm_calls": usage["llm_calls"],
                "prompt_tokens": usage["prompt_tokens"],
                "completion_tokens": usage["completion_tokens"],
                "degraded": sum(1 for f in (plan or {}).get("flags", []) if f["code"] == "degraded_output"),
                "copy_seconds": ((plan or {}).get("provenance", {}).get("tool_seconds") or {}).get("copywriter", 0.0),
                "copy_cells": len((plan or {}).get("messaging", [])),
                "copy_checks": (plan or {}).get("provenance", {}).get("copy_checks") or {},
                "copy_language": [c.passed for c in checks if c.name == "copy_language"],
                "copy_cells_for_craft": plan_cells(case["id"], plan, seconds_per_cell=None) if plan else [],
            })
    return rows


def plan_cells(brief_id: str, plan: dict[str, Any], *, seconds_per_cell: float | None) -> list[dict[str, Any]]:
    """Return the plan's copy as cells in the form ``evals.copy_craft`` scores (brief, segment, channel,
    variants, checks; counts once, on the first cell, since a plan reports them for all its cells)."""
    segments = {s["id"]: s for s in plan["segments"]}
    counts = (plan.get("provenance") or {}).get("copy_checks") or {}
    cells = []
    for index, messaging in enumerate(plan["messaging"]):
        cells.append({
            "brief_id": brief_id, "brief": plan["brief"], "brand": False,
            "segment": segments.get(messaging["segment_id"], {"id": messaging["segment_id"], "name": "",
                                                              "evidence": []}),
            "channel": messaging["channel"], "language": messaging["language"], "variants": messaging["variants"],
            "checks": messaging["checks"], "degraded": messaging.get("degraded", False),
            "counts": counts if index == 0 else {}, "seconds": seconds_per_cell or 0.0,
        })
    return cells


def print_copy_figures(rows: list[dict[str, Any]]) -> None:
    """The copywriter's figures: share of variants passing every rule at each stage, time per plan/cell, and
    the copy-craft figures of :mod:`evals.copy_craft` (re-checked from the plans' JSON)."""
    totals: dict[str, int] = {}
    for row in rows:
        for stage, count in row["copy_checks"].items():
            totals[stage] = totals.get(stage, 0) + count
    variants = totals.get("variants", 0)
    if variants:
        for stage in ("first_try", "after_model_repair", "after_repair", "final"):
            print(f"copy_rules_pass_{stage}={totals.get(stage, 0) / variants:.3f}")
        print(f"copy_variants={variants}")
        print(f"copy_variants_mechanical={totals.get('mechanical', 0)}")
        print(f"copy_variants_templated={totals.get('templated', 0)}")
    language = [passed for row in rows for passed in row["copy_language"]]
    if language:
        print(f"copy_language_checks_passed={sum(language)}/{len(language)}")
    timed = [row for row in rows if row["copy_cells"]]
    if timed:
        print(f"copy_seconds_per_plan_median={statistics.median(r['copy_seconds'] for r in timed):.1f}")
        per_cell = statistics.median(r["copy_seconds"] / r["copy_cells"] for r in timed)
        print(f"copy_seconds_per_cell_median={per_cell:.1f}")
        for row in timed:
            print(f"# {row['id']}: {row['copy_cells']} cells, copy {row['copy_seconds']:.1f} s")
    cells = [cell for row in rows for cell in row.get("copy_cells_for_craft", [])]
    if cells:
        figures = score_cells(cells)
        for name in ("copy_craft_pass_first_try", "copy_craft_pass_final", "copy_fallback_share",
                     "copy_variants_near_identical", "copy_zh_latin_words", "copy_brief_internals",
                     "copy_customer_words_share"):
            if name in figures:
                value = figures[name]
                print(f"{name}={value:.3f}" if isinstance(value, float) else f"{name}={value}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 when every brief passes every check, else 1."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("briefs", type=Path)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--shop", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="Write each plan's JSON here.")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--ids", default=None, help="Only these brief ids, comma-separated (dev-02,dev-04).")
    args = parser.parse_args(argv)
    if not args.briefs.is_file():
        print(f"error: {args.briefs} does not exist", file=sys.stderr)
        return 2
    rows = run_briefs(args.briefs, backend=args.backend, shop=args.shop, limit=args.limit, out_dir=args.out,
                      data_dir=args.data_dir, ids=args.ids.split(",") if args.ids else None)
    console = Console()
    table = Table("brief", "checks", "seconds", "LLM s", "calls", "prompt tok", "compl tok", "degraded", "failed")
    for row in rows:
        table.add_row(row["id"], f"{row['passed']}/{row['total']}", str(row["seconds"]), str(row["llm_seconds"]),
                      str(row["llm_calls"]), str(row["prompt_tokens"]), str(row["completion_tokens"]),
                      str(row["degraded"]), "; ".join(row["failed"])[:200])
    console.print(table)
    all_pass = sum(1 for r in rows if r["passed"] == r["total"])
    print(f"dev_briefs_all_checks_passed={all_pass}/{len(rows)}")
    print(f"checks_passed={sum(r['passed'] for r in rows)}/{sum(r['total'] for r in rows)}")
    print(f"plan_seconds_median={statistics.median(r['seconds'] for r in rows):.1f}")
    print(f"plan_llm_seconds_median={statistics.median(r['llm_seconds'] for r in rows):.1f}")
    print(f"plan_llm_calls_median={statistics.median(r['llm_calls'] for r in rows):.0f}")
    print(f"plan_prompt_tokens_median={statistics.median(r['prompt_tokens'] for r in rows):.0f}")
    print(f"plan_completion_tokens_median={statistics.median(r['completion_tokens'] for r in rows):.0f}")
    print(f"degraded_share={sum(1 for r in rows if r['degraded']) / max(1, len(rows)):.2f}")
    print_copy_figures(rows)
    return 0 if all_pass == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
