"""How much of a Chinese plan's report is English prose: ``python -m evals.zh_prose PLANS_DIR``.

Reads every plan JSON in ``PLANS_DIR`` (as ``evals.coherence --out`` or ``evals.run --out`` write them), keeps
the Chinese ones (brief language ``zh``), renders each as the Markdown report and counts its prose lines —
not table rows, customer quotes (the reviews' own words, cited verbatim), check lists, data hashes or
provenance — that carry an English word of three letters or more (brand and unit names excepted). Prints
``zh_plan_latin_prose_lines=K/N`` and their share (``zh_plan_latin_prose_line_share``),
``zh_plan_latin_prose_share`` (English words over prose tokens, a token being a Latin word or a Chinese
character: issue 20's "share of Latin-letter words"), and with ``--show`` the lines themselves.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from campaign_planner.data.fx import USD_PER_UNIT
from campaign_planner.domain import CampaignPlan
from campaign_planner.render import render_plan

# Names that stay Latin in a Chinese report: platforms, brands, units, ISO currency codes, the figures' own
# abbreviations, and identifiers (segment ids, copy rule ids such as v1:distinct_angle, column and file
# names). Bounded by non-letters, not \b: "在Instagram上" has no word boundary before the brand.
_ALLOWED = re.compile(r"(?<![A-Za-z])(?:ROI|CTA|SMS|KPI|GMV|" + "|".join(sorted(USD_PER_UNIT)) + r"|"
                      r"Instagram|Facebook|TikTok|YouTube|Pinterest|Tmall|WeChat|Weibo|Douyin|RED|App|"
                      r"Campaign Planner|local|qwen[\w.\-]*|fake|scripted-fake|seg-\d+|v\d+:[a-z_\\]+|"
                      r"[\w\\-]+\.(?:csv|yaml|json)|[a-z]+(?:\\?_[a-z]+)+)(?![A-Za-z])", re.IGNORECASE)
_ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
_SKIPPED = re.compile(r"^\s*(?:\||>|```|- \*\*(?:检查|数据|后端 / 模型|工具调用|运行|LLM)|\*\*(?:检查|数据))")


def prose_lines(markdown: str) -> list[str]:
    """Return the report's prose lines: not blank, not a table row, quote, code, check list or provenance."""
    lines = [line for line in markdown.splitlines() if line.strip() and not _SKIPPED.match(line)]
    return [re.sub(r"`[^`]*`", "", line) for line in lines]  # ids and field names in backticks are not prose


def lines_with_english(lines: Iterable[str]) -> list[str]:
    """Return the lines with an English word, after removing the names allowed in a Chinese report."""
    return [line for line in lines if _ENGLISH_WORD.search(_ALLOWED.sub("", line))]


def latin_lines(markdown: str) -> list[str]:
    """Return the report's prose lines with an English word (the names allowed in a Chinese report aside)."""
    return lines_with_english(prose_lines(markdown))


_CJK = re.compile(r"[\u4e00-\u9fff]")


def word_counts(markdown: str) -> tuple[int, int]:
    """Return (English words, prose tokens) over the report's prose lines, allowed names removed."""
    english = tokens = 0
    for line in prose_lines(markdown):
        kept = _ALLOWED.sub("", line)
        words = len(_ENGLISH_WORD.findall(kept))
        english += words
        tokens += words + len(_CJK.findall(kept))
    return english, tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plans", type=Path)
    parser.add_argument("--show", action="store_true", help="print the English lines")
    args = parser.parse_args(argv)
    total = latin = plans = english_words = tokens = 0
    for path in sorted(args.plans.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        # evals.coherence --out adds its case id as "_id"
        plan = CampaignPlan.model_validate({k: v for k, v in data.items() if not k.startswith("_")})
        if plan.brief.language != "zh":
            continue
        markdown = render_plan(plan, "md")
        found = latin_lines(markdown)
        plans += 1
        total += len(prose_lines(markdown))
        latin += len(found)
        words, counted = word_counts(markdown)
        english_words += words
        tokens += counted
        if args.show:
            for line in found:
                print(f"# {path.stem}: {line[:160]}")
    if not plans:
        print(f"error: no Chinese plan in {args.plans}", file=sys.stderr)
        return 2
    print(f"zh_plans={plans}")
    print(f"zh_plan_latin_prose_lines={latin}/{total}")
    print(f"zh_plan_latin_prose_line_share={latin / total:.3f}")
    print(f"zh_plan_latin_prose_share={english_words / max(tokens, 1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
