"""Brief understanding: field-level accuracy of the rule reader on briefs as marketers write them.

``python -m evals.brief_understanding [evals/briefs_understanding.jsonl] [--verbose]``

Each case names only the fields its brief states (what a marketer means by it, written before the reader
was run on it); every named field is one check. Prints the failed checks, then ``name=value`` lines:
``brief_fields_accuracy`` (all checks), ``locale_brief_fields_accuracy`` (checks of cases tagged
``locale``: Chinese scripts, numerals, number words, locale amounts, verbs), ``only_forms_accuracy``
(cases tagged ``only`` whose allowed channels and only-flag are both right), ``amount_reading_accuracy``
(unambiguous budgets read with the right amount and currency), ``unknown_channel_recall`` and
``ambiguous_amounts_asked``. Deterministic, no model, a second or two.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from campaign_planner.agents.brief_parser import ParsedBrief, parse_brief
from campaign_planner.data.catalog import default_catalog

DEFAULT_CASES = Path(__file__).with_name("briefs_understanding.jsonl")


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    return a is not None and b is not None and abs(a - b) <= tolerance


def _bounds(parsed: ParsedBrief, side: str) -> dict[str, float]:
    return {b.channel: getattr(b, side) for b in parsed.brief.channel_bounds if getattr(b, side) is not None}


def _flag_codes(parsed: ParsedBrief) -> set[str]:
    return {f.code.value for f in parsed.flags}


def _unknown_found(parsed: ParsedBrief, name: str) -> bool:
    return any(f.code.value == "unknown_channel" and f"'{name.lower()}'" in f.message.lower() for f in parsed.flags)


CHECKS: dict[str, Callable[[ParsedBrief, Any], bool]] = {
    "budget": lambda p, x: p.brief.budget is None if x is None else (
        p.brief.budget is not None and _close(p.brief.budget.amount, x, 0.01)),
    "currency": lambda p, x: p.brief.budget is not None and p.brief.budget.currency == x,
    "weeks": lambda p, x: p.brief.weeks == x,
    "days": lambda p, x: _close(p.brief.days, x, 0.05),
    "weeks_exact": lambda p, x: _close(p.brief.weeks_exact, x, 0.1),
    "allowed": lambda p, x: set(p.brief.channels_allowed) == set(x),
    "only": lambda p, x: p.brief.channels_only == x,
    "excluded": lambda p, x: set(p.brief.channels_excluded) == set(x),
    "age_min": lambda p, x: p.brief.audience.age_min == x,
    "age_max": lambda p, x: p.brief.audience.age_max == x,
    "departments": lambda p, x: set(p.brief.audience.departments) == set(x),
    "discount": lambda p, x: p.brief.offer.discount_percent == x,
    "language": lambda p, x: p.brief.language == x,
    "script": lambda p, x: p.brief.script == x,
    "behaviour": lambda p, x: {(f.kind, f.value) for f in p.brief.audience.behaviour} == {tuple(i) for i in x},
    "min_spend": lambda p, x: _bounds(p, "min_spend") == x,
    "max_spend": lambda p, x: _bounds(p, "max_spend") == x,
    "unknown": lambda p, x: all(_unknown_found(p, name) for name in x),
    "must_flag": lambda p, x: set(x) <= _flag_codes(p),
    "must_not_flag": lambda p, x: not set(x) & _flag_codes(p),
    "ambiguous": lambda p, x: ("ambiguous_amount" in _flag_codes(p) and any("“" in q for q in p.open_questions)) == x,
    "question_contains": lambda p, x: all(any(s in q for q in p.open_questions) for s in x),
    "questions": lambda p, x: [q.kind for q in p.brief.questions] == x,
}


def _check_case(case: dict[str, Any], parsed: ParsedBrief, failures: list[str]) -> dict[str, bool]:
    results = {}
    for name, expected in case["expect"].items():
        try:
            results[name] = bool(CHECKS[name](parsed, expected))
        except AttributeError:  # a reader without the field (an older one, for a baseline) misses it
            results[name] = False
        if not results[name]:
            failures.append(f"{case['id']}: {name} expected {expected!r}; got {_got(parsed, name)}")
    return results


def score(cases: list[dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """Return (the figures as name -> value text, the failed checks as lines)."""
    catalog = default_catalog()
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for case in cases:
        parsed = parse_brief(case["brief"], catalog)
        expect, tags = case["expect"], set(case.get("tags", []))
        results = _check_case(case, parsed, failures)
        counts["total"] += len(results)
        counts["right"] += sum(results.values())
        if "locale" in tags:
            counts["locale_total"] += len(results)
            counts["locale_right"] += sum(results.values())
        if "only" in tags:
            counts["only_cases"] += 1
            counts["only_right"] += results.get("allowed", True) and results.get("only", True)
        if expect.get("budget") is not None:
            counts["amount_cases"] += 1
            counts["amount_right"] += results["budget"] and results.get("currency", True)
        for name in expect.get("unknown", []):
            counts["unknown_expected"] += 1
            counts["unknown_found"] += _unknown_found(parsed, name)
        if expect.get("ambiguous"):
            counts["ambiguous_cases"] += 1
            counts["ambiguous_asked"] += results["ambiguous"]
        if "questions" in expect:
            counts["question_cases"] += 1
            counts["questions_right"] += results["questions"]
    return _figures(len(cases), counts), failures


def _figures(cases: int, counts: Counter[str]) -> dict[str, str]:
    figures = {"brief_cases": str(cases), "brief_fields_checked": str(counts["total"]),
               "brief_fields_accuracy": f"{counts['right'] / max(counts['total'], 1):.3f}"}
    # A figure is printed only where the file has cases for it ("0.000" of nothing would read as a failure).
    for name, right, total in (("locale_brief_fields_accuracy", "locale_right", "locale_total"),
                               ("only_forms_accuracy", "only_right", "only_cases"),
                               ("amount_reading_accuracy", "amount_right", "amount_cases"),
                               ("unknown_channel_recall", "unknown_found", "unknown_expected")):
        if counts[total]:
            figures[name] = f"{counts[right] / counts[total]:.3f}"
    if counts["ambiguous_cases"]:
        figures["ambiguous_amounts_asked"] = f"{counts['ambiguous_asked']}/{counts['ambiguous_cases']}"
    if counts["question_cases"]:
        figures["questions_classified"] = f"{counts['questions_right']}/{counts['question_cases']}"
    return figures


def _got(parsed: ParsedBrief, name: str) -> str:
    try:
        return _value(parsed, name)
    except AttributeError as exc:
        return f"no such field ({exc})"


def _value(parsed: ParsedBrief, name: str) -> str:
    brief = parsed.brief
    values = {
        "budget": brief.budget.amount if brief.budget else None, "currency": brief.budget.currency if brief.budget
        else None, "weeks": brief.weeks, "days": brief.days, "weeks_exact": brief.weeks_exact,
        "allowed": brief.channels_allowed, "only": brief.channels_only, "excluded": brief.channels_excluded,
        "age_min": brief.audience.age_min, "age_max": brief.audience.age_max,
        "departments": brief.audience.departments, "discount": brief.offer.discount_percent,
        "language": brief.language, "script": brief.script,
        "behaviour": [(f.kind, f.value) for f in brief.audience.behaviour],
        "questions": [(q.text, q.kind) for q in brief.questions],
        "min_spend": _bounds(parsed, "min_spend"), "max_spend": _bounds(parsed, "max_spend"),
    }
    if name in values:
        return repr(values[name])
    return f"flags {[(f.code.value, f.message[:60]) for f in parsed.flags]}, questions {parsed.open_questions}"


def main(argv: list[str] | None = None) -> int:
    """Score the cases file and print the figures; returns 0 (the figures are the result)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", type=Path, default=DEFAULT_CASES)
    args = parser.parse_args(argv)
    cases = [json.loads(line) for line in args.cases.read_text(encoding="utf-8").splitlines() if line.strip()]
    figures, failures = score(cases)
    for line in failures:
        print("FAILED", line)
    for name, value in figures.items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
