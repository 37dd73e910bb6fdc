"""Deterministic checks of a plan against a brief's ``expect`` fields (see ../shared/briefs/README.md).

Each check returns a :class:`Check`; a plan passes a brief when every check passes. The checks read
the plan's public JSON contract only, so they judge what users and other systems see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

CJK = re.compile(r"[\u4e00-\u9fff]")
PERCENT = re.compile(r"(\d{1,2}(?:\.\d+)?)\s*(?:%|percent|per cent)")
ZHE = re.compile(r"([一二三四五六七八九\d])\s*([一二三四五六七八九\d])?\s*折")
TOLERANCE = 0.01


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""


def _spend(plan: dict[str, Any]) -> dict[str, float]:
    budget = plan.get("budget") or {}
    return {a["channel"]: float(a["spend"]) for a in budget.get("allocations", [])}


def check_budget(plan: dict[str, Any], expect: dict[str, Any]) -> list[Check]:
    """The budget lines sum to the brief's budget in its currency; no budget when the brief has none."""
    if "budget" not in expect:
        return []
    expected = expect["budget"]
    brief_budget = plan["brief"].get("budget")
    if expected is None:
        return [Check("budget_absent", brief_budget is None, f"brief.budget={brief_budget}")]
    checks = [Check("budget_parsed", bool(brief_budget) and abs(brief_budget["amount"] - expected) < TOLERANCE,
                    f"brief.budget={brief_budget}")]
    spends = _spend(plan)
    total = sum(spends.values())
    checks.append(Check("budget_sums", abs(total - expected) < TOLERANCE, f"allocations sum to {total:,.2f}"))
    if "currency" in expect:
        currency = (plan.get("budget") or {}).get("currency")
        checks.append(Check("currency", currency == expect["currency"], f"budget.currency={currency}"))
    return checks


def check_channels(plan: dict[str, Any], expect: dict[str, Any]) -> list[Check]:
    """Only allowed channels get spend, excluded ones get none, per-channel bounds hold."""
    spends = {c: s for c, s in _spend(plan).items() if s > 0}
    checks = []
    allowed = expect.get("allowed_channels") or []
    if allowed:
        extra = sorted(set(spends) - set(allowed))
        checks.append(Check("allowed_channels_only", not extra, f"unexpected spend on {extra}" if extra else ""))
    excluded = expect.get("excluded_channels") or []
    if excluded or "excluded_channels" in expect:
        hit = sorted(set(spends) & set(excluded))
        checks.append(Check("excluded_channels", not hit, f"spend on excluded {hit}" if hit else ""))
    for channel, minimum in (expect.get("min_spend") or {}).items():
        spend = spends.get(channel, 0.0)
        checks.append(Check(f"min_spend_{channel}", spend + TOLERANCE >= minimum, f"{channel}={spend:,.2f}"))
    for channel, maximum in (expect.get("max_spend") or {}).items():
        spend = spends.get(channel, 0.0)
        checks.append(Check(f"max_spend_{channel}", spend - TOLERANCE <= maximum, f"{channel}={spend:,.2f}"))
    return checks


def check_brief_fields(plan: dict[str, Any], expect: dict[str, Any]) -> list[Check]:
    """Weeks and audience were read correctly from the brief."""
    brief = plan["brief"]
    checks = []
    if "weeks" in expect:
        checks.append(Check("weeks", brief.get("weeks") == expect["weeks"], f"weeks={brief.get('weeks')}"))
    audience = expect.get("audience") or {}
    for key in ("age_min", "age_max"):
        if key in audience:
            got = brief["audience"].get(key)
            checks.append(Check(f"audience_{key}", got == audience[key], f"{key}={got}"))
    if "department" in audience:
        departments = brief["audience"].get("departments", [])
        checks.append(Check("audience_department", audience["department"] in departments,
                            f"departments={departments}"))
        segment_departments = [str(s.get("definition", {}).get("department", "")) for s in plan["segments"]]
        off = [d for d in segment_departments if d and audience["department"] not in d]
        checks.append(Check("segments_in_department", bool(plan["segments"]) and not off,
                            f"segment departments={segment_departments}"))
    return checks


def _copy_texts(plan: dict[str, Any]) -> list[str]:
    return [f"{v['headline']} {v['body']} {v['cta']}" for m in plan["messaging"] for v in m["variants"]]


def _digit(char: str) -> int:
    return "0123456789".index(char) if char.isdigit() else "零一二三四五六七八九".index(char)


def _stated_discounts(text: str) -> set[float]:
    found = {float(p) for p in PERCENT.findall(text)}
    for first, second in ZHE.findall(text):
        price_share = _digit(first) * 10 + (_digit(second) if second else 0)
        found.add(float(100 - price_share))
    return found


def check_copy(plan: dict[str, Any], expect: dict[str, Any]) -> list[Check]:
    """Copy exists, is in the brief's language, and states no discount but the brief's offer."""
    texts = _copy_texts(plan)
    checks = [Check("copy_present", bool(texts), f"{len(texts)} variants")]
    language = expect.get("language")
    if language and texts:
        wrong = []
        for text in texts:
            cjk = len(CJK.findall(text))
            share = cjk / max(1, len(re.sub(r"\s", "", text)))
            if (language == "zh" and share < 0.3) or (language == "en" and share > 0.05):
                wrong.append(text[:40])
        labels = {m["language"] for m in plan["messaging"]}
        checks.append(Check("copy_language", not wrong and labels <= {language},
                            f"{len(wrong)} variants in the wrong language; labels={sorted(labels)}"))
    if "offer_percent" in expect:
        allowed = float(expect["offer_percent"])
        bad = sorted({d for text in texts for d in _stated_discounts(text) if d != allowed})
        checks.append(Check("offer_only", not bad, f"other percentages stated: {bad}" if bad else ""))
    return checks


def check_flags(plan: dict[str, Any], expect: dict[str, Any]) -> list[Check]:
    """The plan raises what the brief says it must, and passes its own validation."""
    codes = {f["code"] for f in plan["flags"]}
    checks = [Check(f"flag_{code}", code in codes, f"flags={sorted(codes)}") for code in expect.get("must_flag", [])]
    failed = [f["message"] for f in plan["flags"] if f["code"] == "validation_failed"]
    checks.append(Check("plan_validates", not failed, "; ".join(failed)))
    return checks


def check_complete(plan: dict[str, Any], expect: dict[str, Any]) -> list[Check]:
    """Every section is there; every segment cites at least three quotes."""
    checks = [
        Check("segments_present", bool(plan["segments"])),
        Check("evidence_per_segment", all(len(s["evidence"]) >= 3 for s in plan["segments"]),
              str([len(s["evidence"]) for s in plan["segments"]])),
    ]
    if expect.get("budget") is not None:
        checks.append(Check("forecast_present", bool(plan["forecast"])))
        checks.append(Check("measurement_present", plan.get("measurement") is not None))
    return checks


SCORERS = (check_budget, check_channels, check_brief_fields, check_copy, check_flags, check_complete)


def score_plan(plan: dict[str, Any], expect: dict[str, Any]) -> list[Check]:
    """Return every check of ``plan`` (the JSON contract) against ``expect``."""
    return [check for scorer in SCORERS for check in scorer(plan, expect)]
