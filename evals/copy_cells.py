"""Write copy for briefs' segment × channel cells and save every cell: ``python -m evals.copy_cells``.

The copy-craft eval's generator. For each brief it parses the brief (rules), looks up the segments on the
shop (the real review store), and runs the copywriter once per cell, timing each cell. It writes one JSON
file of cells (brief, segment, channel, variants, the copywriter's checks and counts, seconds), which
``evals.copy_craft`` scores. It imports only what the copywriter's public entry points have long offered,
so it runs on an older checkout too (``PYTHONPATH=/path/to/old/src``): the old and the new method write
the same cells in the same conditions, and ``--segments`` reuses the segments saved by an earlier run so
both see the same brief, segment and channel.

    python -m evals.copy_cells evals/briefs_copy.jsonl --shop SHOP --out cells.json [--ids a,b]
        [--segments earlier_cells.json] [--max-segments 2] [--max-channels 3] [--backend local]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from langchain_core.runnables import RunnableLambda

from campaign_planner.agents.brief_parser import parse_brief
from campaign_planner.agents.copywriter import write_copy
from campaign_planner.data.shop import load_shop
from campaign_planner.domain import Segment
from campaign_planner.llm import make_chat_model
from campaign_planner.settings import load_settings
from campaign_planner.tools.copy_rules import BrandVoice
from campaign_planner.tools.profile_lookup import lookup_profiles
from campaign_planner.tools.registry import english_query
from campaign_planner.usage import UsageTracker
from campaign_planner.vectorstore.store import open_review_store

# Channels used when a brief names none (the planner's own defaults depend on the budget it allocates).
DEFAULT_CHANNELS = {"en": ["email", "instagram"], "zh": ["wechat", "xiaohongshu"]}
BRAND_FILE = Path(__file__).with_name("brand_copy.yaml")


def _brand(case: dict[str, Any]) -> BrandVoice | None:
    if not case.get("brand"):
        return None
    return BrandVoice.model_validate(yaml.safe_load(BRAND_FILE.read_text(encoding="utf-8")))


def _segments(shop: Any, brief: Any, case_id: str, saved: dict[str, list[dict[str, Any]]],
              max_segments: int) -> list[Segment]:
    if case_id in saved:
        return [Segment.model_validate(s) for s in saved[case_id]]
    store = open_review_store(shop)
    result = lookup_profiles(shop, brief, store=store, max_segments=max(2, max_segments),
                             query=english_query(brief))
    return result.segments[:max_segments]


def _write_one(model: Any, _input: Any, *, brief: Any, segment: Segment, channel: str, catalog: Any,
               language: str, brand: BrandVoice | None, variants: int) -> Any:
    return write_copy(model, brief=brief, segments=[segment], channels=[channel], catalog=catalog,
                      language=language, brand=brand, variants_per_cell=variants)  # type: ignore[arg-type]


def write_cells(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Return one record per cell written (see the module docstring)."""
    settings = load_settings(backend=args.backend, shop_dir=args.shop)
    shop = load_shop(args.shop)
    handle = make_chat_model(settings=settings, allow_real=True)
    cases = [json.loads(line) for line in args.briefs.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.ids:
        # In the order given, so a run cut short has covered the briefs listed first.
        by_id = {case["id"]: case for case in cases}
        cases = [by_id[case_id] for case_id in args.ids.split(",") if case_id in by_id]
    saved: dict[str, list[dict[str, Any]]] = {}
    if args.segments:
        for cell in json.loads(args.segments.read_text(encoding="utf-8")):
            saved.setdefault(cell["brief_id"], [])
            if all(s["id"] != cell["segment"]["id"] for s in saved[cell["brief_id"]]):
                saved[cell["brief_id"]].append(cell["segment"])
    cells: list[dict[str, Any]] = []
    for case in cases:
        brief = parse_brief(case["brief"], shop.catalog, default_currency=shop.currency).brief
        language = case.get("language") or brief.language
        channels = case.get("channels") or list(brief.channels_allowed) or DEFAULT_CHANNELS[language]
        channels = channels[: args.max_channels]
        brand = _brand(case)
        for segment in _segments(shop, brief, case["id"], saved, args.max_segments):
            for channel in channels:
                tracker = UsageTracker()
                cell_copy = RunnableLambda(partial(
                    _write_one, handle.model, brief=brief, segment=segment, channel=channel, catalog=shop.catalog,
                    language=language, brand=brand, variants=args.variants))
                started = time.perf_counter()
                result = cell_copy.invoke(None, config={"callbacks": [tracker]})
                seconds = time.perf_counter() - started
                for messaging in result.messaging:
                    cells.append({
                        "brief_id": case["id"],
                        "brief": brief.model_dump(mode="json"),
                        "brand": bool(brand),
                        "segment": segment.model_dump(mode="json"),
                        "channel": messaging.channel,
                        "language": language,
                        "variants": [v.model_dump(mode="json") for v in messaging.variants],
                        "checks": [c.model_dump(mode="json") for c in messaging.checks],
                        "degraded": messaging.degraded,
                        "counts": result.variant_checks.model_dump(mode="json"),
                        "seconds": round(seconds, 2),
                        "usage": tracker.snapshot(),
                    })
                print(f"# {case['id']} {segment.name} / {channel}: {seconds:.1f} s, {tracker.snapshot()}",
                      flush=True)
                args.out.write_text(json.dumps(cells, ensure_ascii=False, indent=1), encoding="utf-8")
    return cells


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 once every cell is written, 2 for a missing briefs file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("briefs", type=Path)
    parser.add_argument("--shop", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ids", default=None, help="Only these brief ids, comma-separated.")
    parser.add_argument("--segments", type=Path, default=None, help="Reuse the segments of this cells file.")
    parser.add_argument("--max-segments", type=int, default=2)
    parser.add_argument("--max-channels", type=int, default=3)
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--backend", default="local")
    parser.add_argument("--extra-candidates", type=int, default=None,
                        help="Slot candidates per cell beyond the variants (an A/B of copy_slots.EXTRA_CANDIDATES).")
    args = parser.parse_args(argv)
    if args.extra_candidates is not None:  # the copywriter reads the constant it imported, so set both
        from campaign_planner.agents import copy_slots, copywriter

        copy_slots.EXTRA_CANDIDATES = copywriter.EXTRA_CANDIDATES = args.extra_candidates
    if not args.briefs.is_file():
        print(f"error: {args.briefs} does not exist", file=sys.stderr)
        return 2
    cells = write_cells(args)
    print(f"cells_written={len(cells)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
