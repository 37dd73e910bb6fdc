"""Profile lookup: who to target and why, grounded in what the shop's customers wrote.

``lookup_profiles`` turns a brief into 2..max segments of the shop's reviewers. It retrieves the
reviews nearest the brief (within the audience filters) from the review store, diversifies them
(MMR), clusters them, and describes each cluster: a definition (filters), its size over *all* the
shop's reviewers, demographics, needs, praise, pain points and verbatim quotes with review ids.
Every number is computed here from the shop's data; nothing is estimated by a language model.

Where the evidence is thin it says so with flags instead of guessing: ``weak_evidence`` when the
reviews are not about what the brief is about, when few reviews match the filters, or when a filter
had to be dropped; ``injection_suspected`` when retrieved reviews try to instruct the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from campaign_planner.data.shop import Shop
from campaign_planner.domain import (
    Audience,
    Brief,
    Evidence,
    Flag,
    FlagCode,
    Segment,
    SegmentProfile,
    SegmentSize,
)
from campaign_planner.tools import segmentation as seg
from campaign_planner.vectorstore.embeddings import embed_texts
from campaign_planner.vectorstore.ingest import ingest_reviews
from campaign_planner.vectorstore.retrieval import search_reviews
from campaign_planner.vectorstore.store import ReviewStore, open_review_store

# Mean cosine similarity of the 10 best reviews below which the reviews are "not about" the brief.
# Measured with all-MiniLM-L6-v2 on real clothing reviews (300 and 2,000 reviews): clothing briefs
# scored 0.28-0.67 (a vague "affordable quality basics" lowest), off-topic briefs (scooters, blenders,
# insurance, software, food) 0.01-0.20; "running shoes" sat between at 0.30-0.37.
WEAK_SIMILARITY = 0.25
MIN_MATCHED_REVIEWS = 20
POOL_SIZE = 300
CLUSTER_POOL = 150
RELATIVE_FLOOR = 0.6  # keep retrieved reviews at least this fraction as similar as the 10 best
MIN_POOL = 50
MMR_LAMBDA = 0.7
MIN_QUOTES = 3
MAX_SEGMENTS_LIMIT = 8


class ProfileLookupError(ValueError):
    """A profile lookup that cannot run: bad arguments or a shop without usable reviews."""


class ProfileResult(BaseModel):
    """Segments with sizes, profiles and quotes, plus the flags and figures behind them."""

    model_config = ConfigDict(extra="forbid")

    segments: list[Segment]
    flags: list[Flag] = Field(default_factory=list)
    matched_reviews: int = Field(description="Reviews with text in the shop matching the audience filters.")
    total_reviewers: int = Field(description="All reviewers (review rows) in the shop.")
    query: str
    filters: dict[str, Any] = Field(default_factory=dict, description="Audience filters actually applied.")
    retrieved: int = Field(default=0, description="Reviews retrieved for the query within the filters.")
    clustered: int = Field(default=0, description="Reviews clustered after MMR diversification.")
    top_similarity: float = Field(default=0.0, description="Mean cosine similarity of the 10 best reviews.")
    silhouettes: dict[int, float] = Field(default_factory=dict, description="Silhouette per k tried.")
    injection_ids: list[str] = Field(default_factory=list)


def _flag(code: FlagCode, message: str) -> Flag:
    return Flag(code=code, message=message)


# --- query and filters -------------------------------------------------------------------------------

_MONEY = re.compile(
    r"(?:[$€£¥]|\b(?:usd|eur|gbp|cny|rmb|jpy)\b)\s*\d[\d,.]*\s*(?:k|m|bn|million|thousand|万|千)?"
    r"|\b\d[\d,.]*\s*(?:k|m|bn|million|thousand|dollars|euros|yuan|元|万|千)\b",
    re.IGNORECASE,
)
_NUMBERS = re.compile(
    r"\d+(?:[.,]\d+)?\s*%|\b\d+(?:[.,]\d+)?\s*(?:weeks?|days?|months?|wks?)?(?:\s*[-\u2013]\s*\d+)?\b",
    re.IGNORECASE,
)
_CONNECTORS = frozenset({"and", "or", "with", "on", "in", "via", "across", "plus", "&", "to", "of", "at"})
_NOISE_WORDS = re.compile(
    r"\b(?:budget|over|for|no|not|without|tone|channels?|ads?|campaign|off|预算)\b", re.IGNORECASE
)


def build_query(brief: Brief, shop: Shop | None = None) -> str:
    """Return the semantic query for a brief: its product, audience description and departments.

    Without those, the brief text stripped of money, numbers, channel names and planning words, which
    say nothing about customers and only dilute the embedding. Refuses a brief that leaves nothing to
    search for (ProfileLookupError).
    """
    parts = [brief.product.strip(), brief.audience.description.strip(), " ".join(brief.audience.departments)]
    query = " ".join(p for p in parts if p)
    if not query:
        text = _MONEY.sub(" ", brief.text)
        text = _NUMBERS.sub(" ", text)
        if shop is not None:
            aliases = sorted(shop.catalog.aliases(), key=len, reverse=True)
            for alias in aliases:
                text = re.sub(rf"(?<!\w){re.escape(alias)}(?!\w)", " ", text, flags=re.IGNORECASE)
        text = _NOISE_WORDS.sub(" ", text)
        # Removing channels leaves dangling connectors ("instagram and email" -> "and"): drop them.
        words = [w for w in re.split(r"[\s,;.!?]+", text) if w]
        while words and words[-1].lower() in _CONNECTORS:
            words.pop()
        while words and words[0].lower() in _CONNECTORS:
            words.pop(0)
        query = " ".join(
            w
            for i, w in enumerate(words)
            if not (w.lower() in _CONNECTORS and i + 1 < len(words) and words[i + 1].lower() in _CONNECTORS)
        )
    if not query:
        raise ProfileLookupError("the brief has no product, audience or text to search the reviews for")
    return query


def _shop_departments(reviews: pd.DataFrame) -> list[str]:
    if "department" not in reviews.columns:
        return []
    return sorted(reviews["department"].dropna().astype(str).unique().tolist())


def audience_filters(shop: Shop, audience: Audience) -> tuple[dict[str, Any], list[Flag]]:
    """Return the brief's audience as filters over the shop's reviewers, and flags for what was dropped.

    Departments are matched to the shop's spelling case-insensitively; unknown ones are dropped and
    flagged. An age range with min > max is refused (ProfileLookupError).
    """
    flags: list[Flag] = []
    filters: dict[str, Any] = {}
    if audience.age_min is not None and audience.age_max is not None and audience.age_min > audience.age_max:
        raise ProfileLookupError(f"audience age_min {audience.age_min} is above age_max {audience.age_max}")
    if audience.age_min is not None or audience.age_max is not None:
        if "age" in shop.reviews.columns and shop.reviews["age"].notna().any():
            if audience.age_min is not None:
                filters["age_min"] = audience.age_min
            if audience.age_max is not None:
                filters["age_max"] = audience.age_max
        else:
            flags.append(
                _flag(
                    FlagCode.WEAK_EVIDENCE,
                    "the brief targets an age range but the shop's reviews carry no ages; "
                    "the age filter was not applied",
                )
            )
    if audience.departments:
        known = {d.lower(): d for d in _shop_departments(shop.reviews)}
        matched = [known[d.lower()] for d in audience.departments if d.lower() in known]
        unknown = [d for d in audience.departments if d.lower() not in known]
        if unknown:
            flags.append(
                _flag(
                    FlagCode.WEAK_EVIDENCE,
                    f"department(s) {unknown} are not in this shop's reviews (it has "
                    f"{sorted(known.values())}); that filter was dropped",
                )
            )
        if matched:
            filters["departments"] = sorted(set(matched))
    return filters, flags


def to_where(filters: dict[str, Any]) -> dict[str, Any] | None:
    """Return a Chroma ``where`` filter for audience filters (``$gte``/``$lte``/``$in``, ``$and``-ed)."""
    clauses: list[dict[str, Any]] = []
    if filters.get("age_min") is not None:
        clauses.append({"age": {"$gte": int(filters["age_min"])}})
    if filters.get("age_max") is not None:
        clauses.append({"age": {"$lte": int(filters["age_max"])}})
    if filters.get("departments"):
        clauses.append({"department": {"$in": list(filters["departments"])}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _relax(texted: pd.DataFrame, filters: dict[str, Any]) -> tuple[dict[str, Any], int, list[Flag]]:
    """Return the strictest filters that match at least one review, their match count and flags.

    Tried in order: all filters, the age range alone, the departments alone, none.
    """
    age_keys = {k: v for k, v in filters.items() if k in ("age_min", "age_max")}
    dept_keys = {k: v for k, v in filters.items() if k == "departments"}
    attempts = [(filters, [])]
    if age_keys and dept_keys:
        attempts += [(age_keys, ["departments"]), (dept_keys, ["age range"])]
    if filters:
        attempts.append(({}, ["departments"] * bool(dept_keys) + ["age range"] * bool(age_keys)))
    for candidate, dropped in attempts:
        count = int(seg.match_definition(texted, candidate).sum())
        if count > 0:
            flags = []
            if dropped:
                flags.append(
                    _flag(
                        FlagCode.WEAK_EVIDENCE,
                        f"no review matches the audience filters {filters}; dropped the "
                        f"{' and '.join(dropped)} filter(s) and used {candidate or 'no filters'} "
                        f"({count} reviews)",
                    )
                )
            return candidate, count, flags
    return {}, 0, []


def top_k_similarity(similarities: Sequence[float] | np.ndarray, k: int = 10) -> float:
    """Return the mean of the ``k`` highest similarities (0.0 when there are none): the evidence strength."""
    sims = np.sort(np.asarray(similarities, dtype=float))[::-1][:k]
    return float(sims.mean()) if len(sims) else 0.0


def query_relevance(store: ReviewStore, query: str, where: dict[str, Any] | None = None) -> float:
    """Return how well the stored reviews match ``query``: the mean cosine similarity of the 10 best."""
    return top_k_similarity(store.query(query, n=10, where=where).similarities)


# --- the tool ----------------------------------------------------------------------------------------


@dataclass
class _Pool:
    """The retrieved, diversified reviews that are clustered, with their embeddings."""

    frame: pd.DataFrame  # one row per review: id, text and its stored metadata
    embeddings: np.ndarray
    retrieved: int
    top_similarity: float
    injection_ids: list[str]


def _retrieve_pool(store: ReviewStore, query: str, filters: dict[str, Any]) -> _Pool:
    """Return the reviews nearest the query within the filters, without injections, diversified by MMR.

    Retrieval is ``vectorstore.retrieval.search_reviews``: cosine similarity, re-ranked by polarity when
    the query clearly asks about unhappy (or happy) customers. The evidence strength and the floor use
    the cosine similarities; the order (which reviews fill the first MIN_POOL places) is the re-ranked one.
    """
    query_vec = embed_texts([query])[0]
    hits = search_reviews(
        store, query, n=POOL_SIZE, where=to_where(filters), include_embeddings=True, query_embedding=query_vec
    )
    sims = np.asarray(hits.similarities, dtype=float)
    top_similarity = top_k_similarity(sims)
    injected = [i for i, m in zip(hits.ids, hits.metadatas, strict=True) if m.get("injection_suspected")]
    # Small shops return nearly every review; a floor relative to the best matches keeps the pool about
    # the brief (dress reviews for a dress brief) without emptying it when every match is weak.
    floor = RELATIVE_FLOOR * top_similarity
    ranked = [i for i in range(len(hits)) if not hits.metadatas[i].get("injection_suspected")]
    keep = sorted(i for n, i in enumerate(ranked) if sims[i] >= floor or n < MIN_POOL)
    if not keep or hits.embeddings is None:
        raise ProfileLookupError(f"no usable reviews were retrieved for {query!r} within {filters or 'the shop'}")
    frame = pd.DataFrame([{**hits.metadatas[i], "id": hits.ids[i], "text": hits.texts[i]} for i in keep])
    for col in ("age", "department", "product_id"):
        if col not in frame:
            frame[col] = None
    embeddings = hits.embeddings[keep]

    # Diversify before clustering, so one product's (or one phrasing's) reviews cannot dominate a segment.
    take = min(CLUSTER_POOL, len(frame))
    chosen = seg.mmr_select(
        query_vec,
        embeddings,
        take,
        lambda_=MMR_LAMBDA,
        groups=_groups(frame["product_id"]),
        max_per_group=max(3, math.ceil(0.1 * take)),
    )
    return _Pool(
        frame=frame.iloc[chosen].reset_index(drop=True),
        embeddings=embeddings[chosen],
        retrieved=len(hits),
        top_similarity=top_similarity,
        injection_ids=injected,
    )


def _groups(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else str(v) for v in values]


def _segment(
    number: int,
    name: str,
    definition: dict[str, Any],
    reviews: pd.DataFrame,
    summary: seg.AttributeSummary,
    evidence: list[Evidence],
    n_members: int,
    pain_evidence: list[Evidence] | None = None,
) -> Segment:
    """Return one segment: size and profile figures computed over the reviewers its definition selects."""
    selected = reviews[seg.match_definition(reviews, definition)]
    customers = len(selected)
    avg = pd.to_numeric(selected["rating"], errors="coerce").mean()
    return Segment(
        id=f"seg-{number}",
        name=name,
        definition=definition,
        size=SegmentSize(customers=customers, share=round(customers / len(reviews), 4) if len(reviews) else 0.0),
        profile=SegmentProfile(
            demographics=_demographics(selected, n_members),
            needs=summary.needs,
            praised_attributes=summary.praised,
            pain_points=summary.pain_points,
            average_rating=None if pd.isna(avg) else round(float(avg), 2),
        ),
        evidence=evidence,
        pain_evidence=pain_evidence or [],
    )


def _claim_evidence(
    members: pd.DataFrame,
    embeddings: np.ndarray,
    summary: seg.AttributeSummary,
    claim: seg.Claim,
    *,
    fallback: bool = True,
) -> tuple[list[Evidence], int]:
    """Return a cluster's quotes for ``claim`` (see ``segmentation.claim_quotes``) and how many of them
    fully support it. Praise quotes name the praised attributes (the name's first), complaint quotes the
    pain points. Every quote is checked verbatim against its review's text."""
    patterns = summary.praise_patterns() if claim == "praise" else summary.pain_patterns()
    if claim == "complaint" and not patterns:
        return [], 0
    chosen = seg.claim_quotes(
        members["text"].tolist(),
        embeddings,
        ratings=pd.to_numeric(members["rating"], errors="coerce").tolist(),
        recommended=members["recommended"].tolist() if "recommended" in members else None,
        claim=claim,
        patterns=patterns,
        eligible=[True] * len(members),  # injections never reach the pool
        embed=embed_texts,
        groups=_groups(members["product_id"]),
        n_quotes=MIN_QUOTES,
        fallback=fallback,
    )
    out, supporting = [], 0
    for n, (i, quote) in enumerate(chosen.quotes):
        if quote in members.iloc[i]["text"]:  # verbatim by construction; checked anyway
            out.append(Evidence(review_id=str(members.iloc[i]["id"]), quote=quote))
            supporting += n < chosen.supporting
    return out, supporting


def _fallback_message(
    number: int, claim: seg.Claim, supporting: int, evidence: list[Evidence], summary: seg.AttributeSummary
) -> str:
    """Say how far a segment's quotes fall short of supporting its name, and what the rest are."""
    rest = len(evidence) - supporting
    are = "is" if rest == 1 else "are"
    if claim == "praise":
        what = ", ".join(summary.praised) or "what it praises"
        detail = f"; the other {rest} {are} praise from 4-5-star reviews that does not name it" if rest else ""
        return (
            f"segment seg-{number}: only {supporting} of its quotes come from a 4-5-star review and name "
            f"{what} without a complaint or hesitation{detail}"
        )
    detail = f"; the other {rest} {are} other reservations in low-rated reviews" if rest else ""
    return (
        f"segment seg-{number}: only {supporting} of its quotes come from a low-rated review naming "
        f"{', '.join(summary.pain_labels)}{detail}"
    )


def lookup_profiles(
    shop: Shop,
    brief: Brief,
    *,
    store: ReviewStore | None = None,
    max_segments: int = 3,
    query: str | None = None,
    chroma_url: str | None = None,
    seed: int = 0,
) -> ProfileResult:
    """Return 2..``max_segments`` audience segments for ``brief`` from ``shop``'s reviews, with flags.

    Opens the shop's review store (embedded, or the server at ``chroma_url``) unless ``store`` is given,
    and ingests the reviews first when the store is empty or stale. Sizes count all the shop's reviewers
    matching each segment's definition; quotes are verbatim sentences of stored (PII-redacted) review
    texts, never from reviews suspected of prompt injection. Fewer than 2 segments (flagged) only when
    too few reviews match. Refuses (ProfileLookupError) ``max_segments`` outside 2..8, a shop without
    reviews with text, and a brief with nothing to search for.
    """
    if not 2 <= max_segments <= MAX_SEGMENTS_LIMIT:
        raise ProfileLookupError(f"max_segments must be between 2 and {MAX_SEGMENTS_LIMIT}, got {max_segments}")
    reviews = shop.reviews
    if "text" not in reviews.columns:
        raise ProfileLookupError(f"shop {shop.name!r} reviews have no 'text' column")
    texted = reviews[reviews["text"].fillna("").astype(str).str.strip() != ""]
    if texted.empty:
        raise ProfileLookupError(f"shop {shop.name!r} has no reviews with text to profile")
    query = (query or "").strip() or build_query(brief, shop)

    store = store or open_review_store(shop, chroma_url)
    ingest_reviews(shop, store)  # a fast no-op when the store already holds these reviews

    requested, flags = audience_filters(shop, brief.audience)
    filters, matched, relax_flags = _relax(texted, requested)
    flags += relax_flags
    if matched < MIN_MATCHED_REVIEWS:
        flags.append(
            _flag(
                FlagCode.WEAK_EVIDENCE,
                f"only {matched} reviews match the audience filters {filters or '(none)'}; "
                f"segments rest on fewer than {MIN_MATCHED_REVIEWS} reviews",
            )
        )

    pool = _retrieve_pool(store, query, filters)
    if pool.top_similarity < WEAK_SIMILARITY:
        flags.append(
            _flag(
                FlagCode.WEAK_EVIDENCE,
                f"the reviews say little about {query!r}: mean similarity of the 10 closest reviews is "
                f"{pool.top_similarity:.2f} (below {WEAK_SIMILARITY}); segments describe the shop's "
                "reviewers, not buyers of this product",
            )
        )
    if pool.injection_ids:
        flags.append(
            _flag(
                FlagCode.INJECTION_SUSPECTED,
                f"{len(pool.injection_ids)} retrieved review(s) read like instructions to the model and were "
                f"excluded from clustering and quotes: {', '.join(pool.injection_ids[:20])}",
            )
        )

    frame = pool.frame
    one_department = len(filters.get("departments", [])) == 1  # then department cannot split anyone
    features = seg.audience_features(
        pool.embeddings,
        frame["age"].to_numpy(dtype=float, na_value=np.nan),
        frame["rating"].to_numpy(dtype=float),
        None if one_department else frame["department"].astype("string").tolist(),
    )
    clustering = seg.cluster_audience(features, max_k=max_segments, seed=seed)
    if clustering.k == 1:
        flags.append(
            _flag(
                FlagCode.WEAK_EVIDENCE,
                f"only {len(frame)} reviews to segment: one segment instead of several",
            )
        )
    summaries = seg.describe_attributes(frame["text"].tolist(), frame["rating"].tolist(), clustering.labels)

    shop_departments = _shop_departments(reviews)
    definitions, evidence, names = [], [], []
    pain_evidence: list[list[Evidence]] = []
    claims: list[tuple[seg.Claim, int]] = []  # what each name claims, and how many quotes fully support it
    for c in range(clustering.k):
        rows = np.flatnonzero(clustering.labels == c)
        members = frame.iloc[rows]
        definition = seg.segment_definition(
            members,
            age_bounds=(filters.get("age_min"), filters.get("age_max")),
            departments=filters.get("departments"),
            shop_departments=shop_departments,
        )
        selected = reviews[seg.match_definition(reviews, definition)]
        avg = pd.to_numeric(selected["rating"], errors="coerce").mean()
        average = None if pd.isna(avg) else float(avg)
        claim = seg.segment_claim(summaries[c], average)
        chosen = _claim_evidence(members, pool.embeddings[rows], summaries[c], claim)
        evidence.append(chosen[0])
        pain_evidence.append(
            chosen[0]
            if claim == "complaint"
            else _claim_evidence(members, pool.embeddings[rows], summaries[c], "complaint", fallback=False)[0]
        )
        claims.append((claim, chosen[1]))
        definitions.append(definition)
        names.append(
            seg.segment_name(definition, summaries[c], average, seg.lead_departments(members["department"].tolist()))
        )
    names = seg.unique_names(names, [summaries[c] for c in range(clustering.k)])

    segments = []
    for c in range(clustering.k):
        if len(evidence[c]) < MIN_QUOTES:
            flags.append(
                _flag(
                    FlagCode.WEAK_EVIDENCE,
                    f"segment seg-{c + 1} has {len(evidence[c])} usable quote(s), fewer than {MIN_QUOTES}",
                )
            )
        claim, supporting = claims[c]
        if claim != "none" and supporting < len(evidence[c]):  # fallback quotes: say so
            flags.append(
                _flag(FlagCode.WEAK_EVIDENCE, _fallback_message(c + 1, claim, supporting, evidence[c], summaries[c]))
            )
        n_members = int((clustering.labels == c).sum())
        segments.append(
            _segment(c + 1, names[c], definitions[c], reviews, summaries[c], evidence[c], n_members, pain_evidence[c])
        )

    return ProfileResult(
        segments=segments,
        flags=flags,
        matched_reviews=matched,
        total_reviewers=len(reviews),
        query=query,
        filters=filters,
        retrieved=pool.retrieved,
        clustered=len(frame),
        top_similarity=round(pool.top_similarity, 4),
        silhouettes={k: round(v, 4) for k, v in clustering.silhouettes.items()},
        injection_ids=pool.injection_ids,
    )


def _demographics(segment_reviews: pd.DataFrame, n_members: int) -> dict[str, str | float | int | None]:
    """Return age statistics and department mix of the reviewers a segment definition selects."""
    out: dict[str, str | float | int | None] = {"reviews_clustered": n_members}
    if "age" in segment_reviews.columns:
        ages = pd.to_numeric(segment_reviews["age"], errors="coerce").dropna()
        if len(ages):
            out["age_median"] = float(ages.median())
            out["age_range"] = f"{int(ages.min())}{seg.EN_DASH}{int(ages.max())}"
    if "department" in segment_reviews.columns and segment_reviews["department"].notna().any():
        mix = segment_reviews["department"].dropna().astype(str).value_counts(normalize=True).head(4)
        out["department_mix"] = ", ".join(f"{d} {s:.0%}" for d, s in mix.items())
    if "recommended" in segment_reviews.columns:
        rec = pd.to_numeric(segment_reviews["recommended"], errors="coerce").dropna()
        if len(rec):
            out["recommend_rate"] = round(float(rec.mean()), 3)
    return out
