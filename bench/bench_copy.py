"""Benchmark of the copywriter alone on real plans: how often the model's copy passes every channel rule,
and what copy costs per plan and per segment x channel cell. Prints ``name=value`` lines (notes start
with '#').

    python -m evals.run ../shared/briefs/dev.jsonl --backend local --data-dir D --out PLANS   # once
    python bench/bench_copy.py PLANS [--backend local] [--workers 1] [--method slots|draft]

For each plan JSON in PLANS (written by ``evals.run --out``) the copywriter writes the plan's copy again:
same brief, same segments, same channels, the shop's brand voice, on the given backend, and nothing else
running in the process. So the times are copy generation only, not a whole plan, and the pass shares are a
second sample of the same cells the eval measured (``copy_rules_pass_*`` from ``evals.run``).

* copy_rules_pass_first_try: share of variants whose first draft passed every rule (a missing CTA or
  hashtag filled in by the copywriter counts as passing; the check notes it).
* copy_rules_pass_after_repair: share passing after the one model repair and the deterministic repair,
  not counting variants replaced by template copy; ``_final`` counts those too (must be 1.000).
* copy_seconds_per_plan_median / copy_seconds_per_cell_median: wall time of ``write_copy``.
* copy_seconds_by_cells: (cells, seconds) per plan, to show how time scales with segments x channels;
  ``--workers 2`` writes two cells at a time (the llama.cpp server then decodes two sequences at once).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from campaign_planner.agents.copywriter import VariantCounts, write_copy
from campaign_planner.domain import CampaignPlan
from campaign_planner.llm import make_chat_model
from campaign_planner.planning import resolve_shop
from campaign_planner.settings import load_settings
from campaign_planner.tools.copy_rules import load_brand_voice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plans", type=Path, help="folder of plan JSON files written by evals.run --out")
    parser.add_argument("--backend", default="local")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the demo shop lives (as for evals)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--method", choices=("slots", "draft"), default="slots",
                        help="slots: the default copy method; draft: the method before issue 13")
    args = parser.parse_args(argv)
    files = sorted(args.plans.glob("*.json"))
    if not files:
        print(f"# skipped: no plan JSON files in {args.plans} (run evals.run with --out first)")
        return 0
    settings = load_settings(backend=args.backend, data_dir=args.data_dir)
    shop = resolve_shop(settings)
    brand = load_brand_voice(shop.root)
    handle = make_chat_model(settings=settings, allow_real=True)
    totals = VariantCounts()
    timings: list[tuple[str, int, float]] = []
    for path in files:
        plan = CampaignPlan.model_validate_json(path.read_text(encoding="utf-8"))
        channels = list(dict.fromkeys(m.channel for m in plan.messaging))
        if not channels or not plan.segments:
            print(f"# {path.stem}: no copy in the plan, skipped")
            continue
        started = time.perf_counter()
        result = write_copy(
            handle.model,
            brief=plan.brief,
            segments=plan.segments,
            channels=channels,
            catalog=shop.catalog,
            language=plan.messaging[0].language,
            brand=brand,
            variants_per_cell=len(plan.messaging[0].variants),
            max_workers=args.workers,
            method=args.method,
        )
        seconds = time.perf_counter() - started
        totals = totals + result.variant_checks
        timings.append((path.stem, result.cells, seconds))
        print(f"# {path.stem}: {result.cells} cells, {seconds:.1f} s, {result.variant_checks.model_dump()}",
              flush=True)
    if not timings:
        return 1
    for stage in ("first_try", "after_model_repair", "after_repair", "final"):
        print(f"copy_rules_pass_{stage}={getattr(totals, stage) / totals.variants:.3f}")
    print(f"copy_variants={totals.variants}")
    print(f"copy_variants_templated={totals.templated}")
    print(f"copy_seconds_per_plan_median={statistics.median(s for _, _, s in timings):.1f}")
    print(f"copy_seconds_per_cell_median={statistics.median(s / c for _, c, s in timings):.2f}")
    print("copy_seconds_by_cells=" + ", ".join(f"{c}:{s:.1f}" for _, c, s in sorted(timings, key=lambda t: t[1])))
    print(f"copy_workers={args.workers}")
    print(f"copy_method={args.method}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
