"""Score copy cells for craft: ``python -m evals.copy_craft CELLS.json [--compare OLD.json] [--table]``.

Reads the cells ``evals.copy_cells`` wrote and re-checks every final variant with today's checks — the
channel rules, the craft rules and the cell's distinct-angle check — so copy written by an older method is
judged by the same rules as the new. Prints ``name=value`` lines:

* copy_craft_pass_first_try: share of variants whose first draft passed every check, as the copywriter
  counted it (only copy written by a copywriter that runs the craft checks has this figure);
* copy_craft_pass_final: share of final variants passing every check, re-checked here;
* copy_fallback_share: share of variants repaired mechanically or replaced by templates;
* copy_variants_near_identical: cells holding two variants with the same headline or word similarity at
  or above ``NEAR_IDENTICAL_SIMILARITY`` (angle labels not considered);
* copy_zh_latin_words: Latin words in Chinese copy that the brief or brand does not give;
* copy_brief_internals: variants telling shoppers a planning fact of the brief;
* copy_customer_words_share: English variants carrying a verbatim phrase (4+ words) of one of the segment's
  quotes; copy_inspired_by_share: variants naming the reviews they draw on;
* copy_seconds_per_cell_median.

``--compare OLD.json`` prints OLD's figures too (prefixed ``old_``) and the time ratio; ``--table`` prints a
Markdown table of the cells both files share (same brief, segment, channel), old beside new.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml

from campaign_planner.agents.copy_prompts import CopyBriefing
from campaign_planner.agents.copy_slots import segment_departments
from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import Brief, CopyVariant, Segment
from campaign_planner.tools.copy_craft import (
    NEAR_IDENTICAL_SIMILARITY,
    CraftContext,
    check_craft,
    check_distinct,
    find_brief_internals,
    find_latin_in_chinese,
    infer_angle,
    similarity,
)
from campaign_planner.tools.copy_rules import BrandVoice, check_variant, failed

BRAND_FILE = Path(__file__).with_name("brand_copy.yaml")


def _brand(cell: dict[str, Any]) -> BrandVoice | None:
    if not cell.get("brand"):
        return None
    return BrandVoice.model_validate(yaml.safe_load(BRAND_FILE.read_text(encoding="utf-8")))


def _variants(cell: dict[str, Any]) -> list[CopyVariant]:
    variants = [CopyVariant.model_validate(v) for v in cell["variants"]]
    # Copy from a method that names no angle is judged by the angle it reads as.
    return [v if v.angle else v.model_copy(update={"angle": infer_angle(v)}) for v in variants]


def _customer_words(variant: CopyVariant, quotes: list[str]) -> bool:
    text = re.sub(r"\W+", " ", f"{variant.headline} {variant.body}".lower())
    for quote in quotes:
        words = re.sub(r"\W+", " ", quote.lower()).split()
        if any(" ".join(words[i : i + 4]) in text for i in range(len(words) - 3)):
            return True
    return False


def score_cells(cells: list[dict[str, Any]]) -> dict[str, float]:
    """Return the copy-craft figures of ``cells`` (see the module docstring), by name."""
    catalog = default_catalog()
    variants_total = final_pass = internals = latin = near_identical = 0
    en_variants = customer_words = inspired = 0
    counts: dict[str, int] = {}
    failing: dict[str, int] = {}
    for cell in cells:
        brief = Brief.model_validate(cell["brief"])
        language = cell["language"]
        brand = _brand(cell)
        segment = Segment.model_validate(cell["segment"])
        ctx = CraftContext.build(brief, language, catalog, [segment.name], brand,
                                 [e.quote for e in segment.evidence],
                                 segment_departments=segment_departments(segment))
        channel = catalog[cell["channel"]]
        variants = _variants(cell)
        distinct = check_distinct(variants, language)
        briefing = CopyBriefing.from_brief(brief, language, brand, len(variants))
        offer_percent, no_discount = briefing.offer_percent, briefing.no_discount
        for variant, distinct_check in zip(variants, distinct, strict=True):
            checks = check_variant(variant, channel=channel, language=language, offer_percent=offer_percent,
                                   no_discount=no_discount, brand=brand, offer_text=brief.offer.text)
            checks += [*check_craft(variant, ctx), distinct_check]
            variants_total += 1
            final_pass += not failed(checks)
            for check in failed(checks):
                failing[check.rule] = failing.get(check.rule, 0) + 1
            text = f"{variant.headline}\n{variant.body}\n{variant.cta}"
            internals += bool(find_brief_internals(text, ctx))
            if language == "zh":
                latin += len(find_latin_in_chinese(text, ctx))
            else:
                en_variants += 1
                customer_words += _customer_words(variant, [e["quote"] for e in cell["segment"]["evidence"]])
            inspired += bool(variant.inspired_by)
        pairs = [(a, b) for i, a in enumerate(variants) for b in variants[i + 1 :]]
        near_identical += any(
            similarity(a, b, language) >= NEAR_IDENTICAL_SIMILARITY
            or re.sub(r"\W+", "", a.headline.lower()) == re.sub(r"\W+", "", b.headline.lower())
            for a, b in pairs
        )
        for stage, count in (cell.get("counts") or {}).items():
            counts[stage] = counts.get(stage, 0) + count
    figures: dict[str, float] = {
        "copy_cells": len(cells),
        "copy_variants": variants_total,
        "copy_craft_pass_final": final_pass / max(1, variants_total),
        "copy_fallback_share": (counts.get("mechanical", 0) + counts.get("templated", 0)) / max(1, variants_total),
        "copy_variants_templated": counts.get("templated", 0),
        "copy_variants_mechanical": counts.get("mechanical", 0),
        "copy_variants_near_identical": near_identical,
        "copy_zh_latin_words": latin,
        "copy_brief_internals": internals,
        "copy_customer_words_share": customer_words / max(1, en_variants),
        "copy_inspired_by_share": inspired / max(1, variants_total),
        "copy_seconds_per_cell_median": statistics.median(c["seconds"] for c in cells) if cells else 0.0,
    }
    # Final variants failing each rule (on_product: another garment or season; quotes_verbatim: words no
    # review says; no_complaints: a flaw stated), so a reader sees what the pass rate is made of.
    figures.update({f"copy_failing_{rule}": count for rule, count in sorted(failing.items())})
    if any(any(c["rule"].endswith(":no_brief_internals") for c in cell["checks"]) for cell in cells):
        figures["copy_craft_pass_first_try"] = counts.get("first_try", 0) / max(1, counts.get("variants", 1))
    return figures


def _cell_key(cell: dict[str, Any]) -> tuple[str, str, str]:
    return cell["brief_id"], cell["segment"]["id"], cell["channel"]


def _one_line(variant: dict[str, Any]) -> str:
    text = f"**{variant['headline']}** — {variant['body']} [{variant['cta']}]"
    if variant.get("angle"):
        text = f"({variant['angle']}) {text}"
    return text.replace("|", "\\|").replace("\n", " ")


def print_table(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    """Print a Markdown table: one row per cell both files hold, old variants beside new ones."""
    by_key = {_cell_key(c): c for c in new}
    print("| brief | segment | channel | before (old method) | after (slot method) |")
    print("|---|---|---|---|---|")
    for cell in old:
        after = by_key.get(_cell_key(cell))
        if after is None:
            continue
        before_text = "<br>".join(_one_line(v) for v in cell["variants"])
        after_text = "<br>".join(_one_line(v) for v in after["variants"])
        print(f"| {cell['brief_id']} | {cell['segment']['name']} | {cell['channel']} | {before_text} | {after_text} |")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0, or 2 where a cells file is missing."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cells", type=Path)
    parser.add_argument("--compare", type=Path, default=None, help="cells written by the old method")
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args(argv)
    for path in (args.cells, args.compare):
        if path is not None and not path.is_file():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
    new = json.loads(args.cells.read_text(encoding="utf-8"))
    figures = score_cells(new)
    for name, value in figures.items():
        print(f"{name}={value:.3f}" if isinstance(value, float) else f"{name}={value}")
    if args.compare:
        old = json.loads(args.compare.read_text(encoding="utf-8"))
        old_figures = score_cells(old)
        for name, value in old_figures.items():
            print(f"old_{name}={value:.3f}" if isinstance(value, float) else f"old_{name}={value}")
        if old_figures["copy_seconds_per_cell_median"]:
            ratio = figures["copy_seconds_per_cell_median"] / old_figures["copy_seconds_per_cell_median"]
            print(f"copy_seconds_per_cell_ratio_new_to_old={ratio:.2f}")
        if args.table:
            print_table(old, new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
