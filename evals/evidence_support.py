"""Does a segment's evidence support what its name claims? Profile lookup on a shop, ~20 audiences.

A segment named for what its customers love ("Dresses fans, 34-40, who love the flattering fit") shows
review quotes as its evidence, and the copywriter quotes them to customers as social proof. A quote
supports such a segment when it comes from a review rated >= 4 (and recommended, where the shop has the
column), carries no complaint, hesitation or hypothetical marker, and mentions one of the segment's
praised attributes. ``evidence_quotes_supporting_share`` is the share of the quotes of such ("praise")
segments that do.

Segments named for a complaint ("... frustrated by small sizing"), which the unhappy-customer audiences
produce, should show complaints: ``complaint_evidence_low_rated_share`` is the share of their quotes from
reviews rated <= 2.

``*_sounding_negative_share`` is an independent reading: the shop's polarity model (a classifier over
review embeddings learnt from the shop's star ratings, ``vectorstore.polarity``) applied to each quote
alone; a praise quote should rarely sound like a 1-2-star review, a complaint quote should.

The markers below are this eval's own list, written from the marketer's rejections, not imported from
the tool, so the figure does not grade the tool by its own rule. The attribute patterns are the lexicon
the tool names segments by (``segmentation.ATTRIBUTES``): what "mentions the praised attribute" means.

    python -m evals.evidence_support --shop /tmp/evidence-shop [--json out.json]

Runs with whatever ``campaign_planner`` is on the path (PYTHONPATH=/work/main/src for the baseline).
The shop's review store must exist or it is built (slow on big shops): copy a read-only shop first.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from campaign_planner.data.shop import load_shop
from campaign_planner.domain import Audience, Brief, Segment
from campaign_planner.tools import segmentation as seg
from campaign_planner.tools.profile_lookup import lookup_profiles
from campaign_planner.vectorstore.embeddings import embed_texts
from campaign_planner.vectorstore.polarity import polarity_model
from campaign_planner.vectorstore.store import open_review_store

# (label, product, description, departments, age_min, age_max, unhappy)
AUDIENCES: tuple[tuple[str, str, str, list[str], int | None, int | None, bool], ...] = (
    ("dresses-summer-25-35", "summer dresses", "young women", ["Dresses"], 25, 35, False),
    ("dresses-work-35-50", "flattering dresses for work", "professional women", ["Dresses"], 35, 50, False),
    ("dresses-maxi-50-70", "maxi dress", "older women", ["Dresses"], 50, 70, False),
    ("tops-soft-25-40", "soft everyday tops", "", ["Tops"], 25, 40, False),
    ("tops-blouses-40-60", "blouses for the office", "", ["Tops"], 40, 60, False),
    ("tops-sweaters", "cozy knit sweaters", "", ["Tops"], None, None, False),
    ("bottoms-jeans-25-45", "jeans that fit", "", ["Bottoms"], 25, 45, False),
    ("bottoms-pants-45-65", "comfortable pants", "", ["Bottoms"], 45, 65, False),
    ("bottoms-skirts", "skirts", "", ["Bottoms"], None, None, False),
    ("jackets-winter", "warm winter jackets and coats", "", ["Jackets"], None, None, False),
    ("jackets-light-30-50", "lightweight jackets", "", ["Jackets"], 30, 50, False),
    ("intimate-lounge", "comfortable bras and loungewear", "", ["Intimate"], None, None, False),
    ("intimate-sleep-25-45", "sleepwear", "", ["Intimate"], 25, 45, False),
    ("all-basics", "affordable quality basics", "", [], None, None, False),
    ("all-petite-30-45", "petite sizes", "petite women", [], 30, 45, False),
    (
        "unhappy-dresses-small",
        "dresses",
        "unhappy customers: runs small, had to return it",
        ["Dresses"],
        None,
        None,
        True,
    ),
    ("unhappy-tops-thin", "tops", "customers disappointed by thin, poor quality fabric", ["Tops"], None, None, True),
    ("unhappy-bottoms-returned", "jeans", "disappointed customers who returned them", ["Bottoms"], None, None, True),
    (
        "unhappy-sheer",
        "see-through fabric",
        "unhappy customers who complained the fabric is see-through",
        [],
        None,
        None,
        True,
    ),
    ("unhappy-all", "", "unhappy customers who were disappointed and returned their order", [], None, None, True),
)

# Complaints, hesitations and hypotheticals a marketer would not show as a customer's praise.
MARKERS = re.compile(
    r"\bbut\b|\bhowever\b|\bdisappoint|\breturn(?:ed|ing|s)?\b|\bsen[dt]\s+(?:it|them)\s+back\b"
    r"|\bwanted\s+to\s+(?:like|love)\b|\bthought\b[^.!?]*\bwould\b|\bhoped\b|\bexpected\b|\bon\s+the\s+fence\b"
    r"|\bdid\s*(?:n't|not)\s+buy\b|\bwish\b|\bunfortunately\b|\bsadly\b|\btoo\s+(?:small|big|large|tight|short|long|"
    r"sheer|thin|loose|baggy)\b|\bruns?\s+(?:a\s+(?:bit|little)\s+)?(?:small|large|big)\b|\bsee[- ]?through\b"
    r"|\bflimsy\b|\bitchy\b|\bexcept\b|\balthough\b|\bthough\b"
    r"|但是|不过|可是|失望|退货|本来想|可惜|偏小|偏大",
    re.IGNORECASE,
)


def _attribute_patterns(segment: Segment) -> list[re.Pattern[str]]:
    """Return the lexicon patterns of a segment's praised attributes ("flattering fit" -> fit)."""
    out = []
    for phrase in segment.profile.praised_attributes:
        for attribute in seg.ATTRIBUTES:
            if phrase == attribute.noun or phrase.endswith(" " + attribute.noun):
                out.append(attribute.pattern)
                break
    return out


def segment_claim(segment: Segment) -> str:
    """Return "praise", "complaint" or "none": what the segment's name claims about its customers."""
    if " frustrated by " in segment.name:
        return "complaint"
    if " who love " in segment.name or " who value " in segment.name:
        return "praise"
    return "none"


def judge_quote(quote: str, row: pd.Series, patterns: list[re.Pattern[str]]) -> dict[str, bool]:
    rating = pd.to_numeric(row.get("rating"), errors="coerce")
    recommended = pd.to_numeric(row.get("recommended"), errors="coerce") if "recommended" in row else float("nan")
    high = bool(rating >= 4) and not (recommended == 0)
    clean = not MARKERS.search(quote)
    mentions = any(p.search(quote) for p in patterns)
    return {
        "high_rated": high,
        "low_rated": bool(rating <= 2),
        "no_marker": clean,
        "mentions_praise": mentions,
        "supporting": high and clean and mentions,
        "verbatim": quote in str(row.get("text", "")),
    }


def run(shop_dir: Path, limit: int | None = None) -> dict[str, Any]:
    shop = load_shop(shop_dir)
    store = open_review_store(shop)
    reviews = shop.reviews.assign(review_id=shop.reviews["review_id"].astype(str)).set_index("review_id")
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for label, product, description, departments, age_min, age_max, unhappy in AUDIENCES[:limit]:
        audience = Audience(age_min=age_min, age_max=age_max, departments=departments, description=description)
        text = " ".join(p for p in (product, description) if p) or "campaign"
        brief = Brief(text=text, product=product, audience=audience)
        t0 = time.perf_counter()
        result = lookup_profiles(shop, brief, store=store, max_segments=3)
        seconds = time.perf_counter() - t0
        weak = [f.message for f in result.flags if f.code == "weak_evidence"]
        for segment in result.segments:
            claim = segment_claim(segment)
            patterns = _attribute_patterns(segment)
            for evidence in segment.evidence:
                row = reviews.loc[evidence.review_id]
                rows.append(
                    {
                        "audience": label,
                        "unhappy_query": unhappy,
                        "segment": segment.id,
                        "name": segment.name,
                        "claim": claim,
                        "review_id": evidence.review_id,
                        "rating": int(row["rating"]),
                        "quote": evidence.quote,
                        **judge_quote(evidence.quote, row, patterns),
                    }
                )
        print(f"{label}: {len(result.segments)} segments, {seconds:.1f}s, {len(weak)} weak flags", file=sys.stderr)
    frame = pd.DataFrame(rows)
    # An independent reading: the shop's polarity model (learnt from its own star ratings, no word lists)
    # scores each quote alone; a logit above 0 sounds like a 1-2-star review.
    model = polarity_model(store)
    frame["sounds_negative"] = (
        model.logits(embed_texts(frame["quote"].tolist())) > 0 if model is not None and len(frame) else False
    )
    praise = frame[frame["claim"] == "praise"]
    complaint = frame[frame["claim"] == "complaint"]
    summary = {
        "audiences": len(AUDIENCES[:limit]),
        "quotes": len(frame),
        "praise_quotes": len(praise),
        "evidence_quotes_supporting_share": round(float(praise["supporting"].mean()), 3) if len(praise) else None,
        "praise_quotes_high_rated_share": round(float(praise["high_rated"].mean()), 3) if len(praise) else None,
        "praise_quotes_no_marker_share": round(float(praise["no_marker"].mean()), 3) if len(praise) else None,
        "praise_quotes_mention_share": round(float(praise["mentions_praise"].mean()), 3) if len(praise) else None,
        "praise_quotes_low_rated": int(praise["low_rated"].sum()) if len(praise) else 0,
        "praise_quotes_sounding_negative_share": (
            round(float(praise["sounds_negative"].mean()), 3) if len(praise) else None
        ),
        "complaint_quotes": len(complaint),
        "complaint_evidence_low_rated_share": (
            round(float(complaint["low_rated"].mean()), 3) if len(complaint) else None
        ),
        "complaint_quotes_sounding_negative_share": (
            round(float(complaint["sounds_negative"].mean()), 3) if len(complaint) else None
        ),
        "verbatim_share": round(float(frame["verbatim"].mean()), 3) if len(frame) else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return {"summary": summary, "quotes": frame.to_dict(orient="records")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shop", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None, help="Only the first N audiences.")
    parser.add_argument("--json", type=Path, default=None, help="Write the summary and every quote here.")
    args = parser.parse_args(argv)
    out = run(args.shop, args.limit)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(out["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
