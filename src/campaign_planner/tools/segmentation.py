"""Segmenting a matched audience of reviewers: diversity, clustering, description, sizing, quotes.

Pure functions over arrays and DataFrames; ``profile_lookup`` feeds them what the review store
returned. The pieces:

* :func:`mmr_select` — maximal marginal relevance, so near-duplicate reviews (and one product's
  reviews) do not fill the pool that is clustered.
* :func:`cluster_audience` — KMeans on the main components of the review embeddings plus scaled age and
  rating (and department when the brief does not fix it), k from 2..max chosen by silhouette.
* :func:`describe_attributes` — what a cluster praises, complains about and needs, from a small
  attribute lexicon scored by class-based TF-IDF (c-TF-IDF) against the other clusters.
* :func:`segment_definition` / :func:`match_definition` — the filters that select a segment, applied
  to all of the shop's reviewers to size it.
* :func:`claim_quotes` — full sentences, cut verbatim from stored review texts, that support what the
  segment's name claims (:func:`segment_claim`): praise from 4-5-star reviews naming the praised
  attribute with no complaint or hesitation, or complaints from low-rated reviews; closest to the
  cluster's centre among those.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import ThreadpoolController

# The clustering matrix: the reviews' embeddings reduced to their EMBEDDING_COMPONENTS main directions
# (PCA over the pool being clustered, so the themes the reviews differ on, not the 384-d noise, carry the
# distances) times EMBEDDING_WEIGHT, next to z-scored age and rating and a department one-hot.
# History: age 1.2 and rating 1.0 next to the raw unit-norm embedding were chosen on 2,000 real clothing
# reviews (smaller weights split every query on rating alone); there the text weighed little (its total
# variance is ~0.5 against 2.4 for age and rating), so on the demo shop, whose planted segments differ in
# theme and department as much as in age, KMeans split on age: adjusted Rand index 0.42-0.51 against the
# planted segments (mean of five whole-shop briefs, demo seeds 7, 11, 23). Ten components times 4 (theme
# variance ~0.24 * 16 = 3.9) with department 1.0 gave 0.90 on seed 7, where the weights were chosen, and
# 0.80 / 0.91 on the unseen seeds 11 / 23 (bench/bench_profiles.py reports the figure).
# A direction along which the pool's reviews vary by less than EMBEDDING_NOISE_VARIANCE (a standard
# deviation of 0.1 in cosine units) is not amplified: such reviews read alike, and weighting their small
# differences by 4 would split on noise. The demo pools' 10th component has ~0.012, the first ~0.055.
EMBEDDING_COMPONENTS = 10
EMBEDDING_NOISE_VARIANCE = 0.01
EMBEDDING_WEIGHT = 4.0
AGE_WEIGHT = 1.2
RATING_WEIGHT = 1.0
DEPARTMENT_WEIGHT = 1.0
MIN_CLUSTER_SIZE = 5
EN_DASH = "\u2013"  # age ranges in names use an en dash, as marketers write them

# Small matrices (a pool of <=300 reviews) are computed on one thread. With BLAS/OpenMP on both cores of a
# busy 2-core machine, threads wait for each other: on a 150x384 pool an SVD took 30-1,170 ms instead of
# 10-14 ms, features + KMeans 1.2-4.6 s instead of 20-33 ms (measured at load average ~5).
_threadpools: ThreadpoolController | None = None

_F = TypeVar("_F", bound=Callable[..., Any])


def _one_thread(func: _F) -> _F:
    """Run ``func`` with BLAS and OpenMP limited to one thread (restored afterwards)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _threadpools
        if _threadpools is None:
            _threadpools = ThreadpoolController()  # scans the loaded libraries once
        with _threadpools.limit(limits=1):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- diversity ---------------------------------------------------------------------------------------


@_one_thread
def mmr_select(
    query_vec: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    *,
    lambda_: float = 0.7,
    groups: Sequence[str | None] | None = None,
    max_per_group: int | None = None,
) -> list[int]:
    """Return up to ``k`` row indices of ``embeddings`` chosen by maximal marginal relevance.

    Score = ``lambda_ * sim(query) - (1 - lambda_) * max sim(already chosen)``; rows must be unit-norm.
    With ``groups`` (e.g. product ids) and ``max_per_group``, no group contributes more than that many
    rows, so one popular product cannot fill the pool. Refuses ``lambda_`` outside [0, 1] (ValueError).
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_}")
    n = len(embeddings)
    if n == 0 or k <= 0:
        return []
    relevance = embeddings @ query_vec
    redundancy = np.full(n, -np.inf)
    available = np.ones(n, dtype=bool)
    per_group: Counter[str] = Counter()
    chosen: list[int] = []
    while len(chosen) < min(k, n) and available.any():
        penalty = np.where(np.isfinite(redundancy), redundancy, 0.0)
        score = np.where(available, lambda_ * relevance - (1.0 - lambda_) * penalty, -np.inf)
        best = int(np.argmax(score))
        available[best] = False
        group = groups[best] if groups is not None else None
        if group is not None and max_per_group is not None:
            if per_group[group] >= max_per_group:
                continue  # the group is full: skip the row without choosing it
            per_group[group] += 1
        chosen.append(best)
        redundancy = np.maximum(redundancy, embeddings @ embeddings[best])
    return chosen


# --- clustering --------------------------------------------------------------------------------------


@dataclass
class Clustering:
    """KMeans labels with the k chosen and the silhouette of every k tried."""

    labels: np.ndarray
    k: int
    silhouettes: dict[int, float] = field(default_factory=dict)


def _zscore(values: np.ndarray) -> np.ndarray:
    values = values.astype(float)
    if np.isnan(values).all():
        return np.zeros_like(values)
    filled = np.where(np.isnan(values), np.nanmedian(values), values)  # NA ages sit at the median
    std = filled.std()
    return (filled - filled.mean()) / std if std > 0 else np.zeros_like(filled)


@_one_thread
def embedding_components(
    embeddings: np.ndarray,
    components: int = EMBEDDING_COMPONENTS,
    min_variance: float = EMBEDDING_NOISE_VARIANCE,
) -> np.ndarray:
    """Return the rows of ``embeddings`` projected on their main directions (centred PCA).

    At most ``components`` columns, only directions whose variance over the rows is at least
    ``min_variance`` (so zero columns when the rows barely differ). Distances between rows keep what the
    pool's reviews differ on most and drop the small variations spread over every dimension.
    Deterministic: a column's sign may flip between inputs, which no distance sees.
    """
    values = np.asarray(embeddings, dtype=float)
    if values.ndim != 2 or len(values) < 2:
        return np.zeros((len(values), 0))
    centred = values - values.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    variances = singular**2 / len(values)
    keep = int(min(components, np.count_nonzero(variances >= min_variance)))
    return centred @ vt[:keep].T


def audience_features(
    embeddings: np.ndarray,
    ages: np.ndarray,
    ratings: np.ndarray,
    departments: Sequence[str] | None = None,
) -> np.ndarray:
    """Return the clustering matrix: the embeddings' main components (weighted), weighted z-scored age
    and rating, and the department one-hot (weighted)."""
    parts = [
        EMBEDDING_WEIGHT * embedding_components(embeddings),
        AGE_WEIGHT * _zscore(np.asarray(ages, dtype=float))[:, None],
        RATING_WEIGHT * _zscore(np.asarray(ratings, dtype=float))[:, None],
    ]
    if departments is not None:
        dummies = pd.get_dummies(pd.Series(list(departments), dtype="string").fillna("?")).to_numpy(float)
        parts.append(DEPARTMENT_WEIGHT * dummies)
    return np.hstack(parts)


@_one_thread
def cluster_audience(features: np.ndarray, *, max_k: int, min_k: int = 2, seed: int = 0) -> Clustering:
    """Return the KMeans clustering with the best silhouette for k in ``min_k..max_k``.

    A k whose smallest cluster has fewer than ``MIN_CLUSTER_SIZE`` rows is not eligible; when no k is,
    everything is one cluster (k=1, no silhouette). Deterministic for a seed.
    """
    n = len(features)
    upper = min(max_k, n // MIN_CLUSTER_SIZE)
    if upper < max(min_k, 2):
        return Clustering(labels=np.zeros(n, dtype=int), k=1)
    best: tuple[float, int, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for k in range(max(min_k, 2), upper + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(features)
        # A segment of two or three reviewers cannot carry three quotes or a stable profile.
        if len(set(labels)) < k or min(Counter(labels.tolist()).values()) < MIN_CLUSTER_SIZE:
            continue
        scores[k] = float(silhouette_score(features, labels))
        if best is None or scores[k] > best[0]:
            best = (scores[k], k, labels)
    if best is None:
        return Clustering(labels=np.zeros(n, dtype=int), k=1)
    # Number clusters by size (largest first) so segment ids are stable and meaningful.
    order = [c for c, _ in Counter(best[2].tolist()).most_common()]
    relabel = {old: new for new, old in enumerate(order)}
    return Clustering(labels=np.array([relabel[c] for c in best[2]]), k=best[1], silhouettes=scores)


# --- attributes: what customers praise, need and complain about ------------------------------------


@dataclass(frozen=True)
class Attribute:
    key: str
    noun: str  # how a name or phrase refers to it: "the flattering fit"
    need: str  # the need it signals: "a fit that flatters"
    pattern: re.Pattern[str]
    praisable: bool = True  # False where happy reviews mention it mostly as a caveat ("a bit sheer")


def _attr(key: str, noun: str, need: str, regex: str, praisable: bool = True) -> Attribute:
    return Attribute(key, noun, need, re.compile(regex, re.IGNORECASE), praisable)


ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("fit", "fit", "a fit that flatters their shape", r"\bfit(?:s|ted|ting)?\b|\bsilhouette\b|合身|版型"),
    _attr(
        "sizing",
        "sizing",
        "sizing they can trust",
        r"\bsiz(?:e|es|ing|ed)\b|\bruns?\s+(?:small|large|big)|\btts\b|尺码|码数",
    ),
    _attr(
        "fabric",
        "fabric",
        "quality fabrics",
        r"\b(?:fabric|material|cotton|linen|silk|wool|knit|rayon|lining)\b|面料|材质|布料|真丝|羊毛",
    ),
    _attr("softness", "softness", "soft, pleasant fabrics", r"\bsoft(?:er|est|ness)?\b|柔软|软糯"),
    _attr("comfort", "comfort", "all-day comfort", r"\bcomf(?:y|ort|ortable|ortably)\b|\bcozy\b|\bcosy\b|舒服|舒适"),
    _attr(
        "colour", "colour", "colours true to the photos", r"\bcolou?rs?\b|\bshades?\b|\bhues?\b|\bvibrant\b|颜色|色彩"
    ),
    _attr(
        "length",
        "length",
        "the right length",
        r"\blength\b|\bhem(?:line)?\b|\btoo\s+(?:long|short)\b|\bcropped\b|长度",
    ),
    _attr(
        "quality",
        "quality",
        "pieces that last",
        r"\bquality\b|\bwell[- ]made\b|\bdurable\b|\bcheap(?:ly)?\b|质量|做工|品质",
    ),
    _attr(
        "price",
        "price",
        "good value for money",
        r"\bprice[dy]?\b|\bexpensive\b|\bworth\b|\bsale\b|\bvalue\b|价格|性价比|划算",
    ),
    _attr(
        "style",
        "style",
        "stand-out style",
        r"\bstyl(?:e|ish)\b|\bcute\b|\bchic\b|\btrendy\b|\bclassic\b|款式|时尚|可爱",
    ),
    _attr("flattering", "flattering cut", "flattering cuts", r"\bflatter(?:ing|s)?\b|\bslimming\b|显瘦|显身材"),
    _attr(
        "print",
        "print",
        "appealing prints and patterns",
        r"\b(?:pattern|print|printed|floral|stripes?)\b|印花|图案|碎花|条纹",
    ),
    _attr(
        "sheerness",
        "opacity",
        "fabric that is not see-through",
        r"\bsheer\b|\bsee[- ]?through\b|\btransparent\b|透明|透肉",
        praisable=False,
    ),
    _attr("warmth", "warmth", "warmth for cold days", r"\bwarm(?:th|er)?\b|保暖|暖和"),
    _attr("stretch", "stretch", "stretch and ease of movement", r"\bstretch(?:y|es)?\b|\belastic\b|弹力|弹性"),
    _attr(
        "versatility",
        "versatility",
        "versatile pieces",
        r"\bversatil(?:e|ity)\b|\bdress(?:ed)?\s+(?:it\s+)?up\b|百搭",
    ),
)
_ATTRIBUTE_BY_KEY = {a.key: a for a in ATTRIBUTES}

# Complaints, phrased as what a segment is "frustrated by".
PAIN_POINTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(regex, re.IGNORECASE))
    for label, regex in (
        (
            "small sizing",
            r"\bruns?\s+(?:very\s+|really\s+|a\s+bit\s+|a\s+little\s+)?small\b|\btoo\s+(?:small|tight|snug)\b|\bsize\s+up\b"
            r"|偏小|太小|太紧",
        ),
        (
            "large sizing",
            r"\bruns?\s+(?:very\s+|really\s+|a\s+bit\s+|a\s+little\s+)?(?:large|big)\b|\btoo\s+(?:big|large|loose|baggy)\b"
            r"|偏大|太大|太松",
        ),
        ("boxy, unflattering cuts", r"\bboxy\b|\bunflattering\b|\bshapeless\b|\bfrumpy\b|\btent\b"),
        ("see-through fabric", r"\bsheer\b|\bsee[- ]?through\b|\btransparent\b|透明|透肉|很透"),
        ("thin, flimsy fabric", r"\bthin\b|\bflimsy\b|太薄"),
        ("itchy fabric", r"\bitch(?:y|ed)\b|\bscratchy\b|扎人|刺痒|发痒"),
        (
            "poor quality",
            r"\bpoor(?:ly)?\s+(?:quality|made)\b|\bcheap(?:ly)?\s+made\b|\bfell\s+apart\b|\bpill(?:ing|ed)\b|\bholes?\b|\bripped\b|\bunravel"
            r"|质量差|做工差|起球|开线|破洞",
        ),
        ("the wrong length", r"\btoo\s+(?:long|short)\b|太长|太短"),
        (
            "colours unlike the photos",
            r"\bnot\s+as\s+pictured\b|\blooks?\s+different\b|\bcolou?r\b[^.!?]{0,40}\b(?:different|off|dull|washed)"
            r"|色差|掉色|褪色",
        ),
        ("high prices", r"\boverpriced\b|\btoo\s+expensive\b|\bnot\s+worth\b|\bpricey\b|太贵|不值"),
        (
            "awkward proportions",
            r"\b(?:arm\s?holes?|sleeves?|shoulders?|chest|bust|waist)\b[^.!?]{0,25}\b(?:too|tight|huge|wide|low)\b",
        ),
    )
)

_POSITIVE_MODIFIERS = (
    "flattering|perfect|great|beautiful|lovely|gorgeous|nice|amazing|good|soft|comfortable|cute|vibrant|"
    "rich|true|excellent|fantastic|wonderful|pretty|fun|unique|classic|elegant|stunning|high"
)
_PHRASE = re.compile(rf"\b({_POSITIVE_MODIFIERS})\s+(?:(?:very|really|so|super)\s+)?(\w+)", re.IGNORECASE)


def c_tf_idf(counts: pd.DataFrame) -> pd.DataFrame:
    """Return class-based TF-IDF of a (cluster x term) count table.

    ``tf`` is the term's share of the cluster's mentions; ``idf = log(1 + A / f_t)`` with ``A`` the mean
    mentions per cluster and ``f_t`` the term's mentions over all clusters (BERTopic's c-TF-IDF).
    """
    totals = counts.sum(axis=1).replace(0, 1)
    tf = counts.div(totals, axis=0)
    mean_mentions = counts.sum(axis=1).mean()
    freq = counts.sum(axis=0).replace(0, 1)
    idf = np.log1p(mean_mentions / freq)
    return tf * idf


def mention_matrix(texts: Sequence[str]) -> pd.DataFrame:
    """Return a (text x attribute key) 0/1 table: does each text mention each lexicon attribute."""
    return pd.DataFrame({a.key: [int(bool(a.pattern.search(t))) for t in texts] for a in ATTRIBUTES}, dtype=int)


def pain_matrix(texts: Sequence[str]) -> pd.DataFrame:
    """Return a (text x pain-point label) 0/1 table."""
    return pd.DataFrame({label: [int(bool(p.search(t))) for t in texts] for label, p in PAIN_POINTS}, dtype=int)


def praised_phrase(texts: Sequence[str], key: str) -> str:
    """Return the phrase customers use for an attribute ("flattering fit"), or its plain noun.

    The most frequent positive modifier written right before one of the attribute's words wins.
    """
    attribute = _ATTRIBUTE_BY_KEY[key]
    modifiers: Counter[str] = Counter()
    for text in texts:
        for match in _PHRASE.finditer(text):
            modifier, word = match.group(1).lower(), match.group(2)
            if attribute.pattern.fullmatch(word) and modifier != word.lower():
                modifiers[modifier] += 1
    if not modifiers or attribute.key == "flattering":  # "gorgeous flattering cut" says nothing more
        return attribute.noun
    modifier = sorted(modifiers.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return f"{modifier} {attribute.noun}" if modifier not in attribute.noun else attribute.noun


@dataclass
class AttributeSummary:
    """What one cluster praises, needs and complains about, with the counts behind it."""

    praised: list[str]  # phrases, most distinctive first
    praised_keys: list[str]
    needs: list[str]
    pain_points: list[str]
    pain_labels: list[str] = field(default_factory=list)

    def praise_patterns(self) -> list[re.Pattern[str]]:
        """Return the patterns of the praised attributes, the one the segment is named for first."""
        return [_ATTRIBUTE_BY_KEY[k].pattern for k in self.praised_keys]

    def pain_patterns(self) -> list[re.Pattern[str]]:
        """Return the patterns of the pain points, the one the segment is named for first."""
        pains = dict(PAIN_POINTS)
        return [pains[p] for p in self.pain_labels]


def describe_attributes(
    texts: Sequence[str], ratings: Sequence[float], labels: np.ndarray, *, top: int = 3
) -> dict[int, AttributeSummary]:
    """Return each cluster's praised attributes (≥4-star reviews, c-TF-IDF), needs and pain points.

    Praise: attributes mentioned in the cluster's ≥4-star reviews, ranked by c-TF-IDF against the other
    clusters (ties by count). Needs: the attributes the cluster mentions most at any rating, with the
    share of its reviews. Pain points: complaints in its ≤2-star reviews (3-star when it has none),
    ranked by c-TF-IDF. An attribute needs at least two mentions (one for pain points) to be listed.
    """
    ratings_arr = np.asarray(ratings, dtype=float)
    mentions = mention_matrix(texts)
    pains = pain_matrix(texts)
    clusters = sorted(set(labels.tolist()))
    positive = ratings_arr >= 4
    negative = ratings_arr <= 2
    pos_counts = pd.DataFrame([mentions[(labels == c) & positive].sum() for c in clusters], index=clusters)
    neg_rows = []
    for c in clusters:
        rows = (labels == c) & negative
        if not rows.any():  # no 1-2 star reviews: the 3-star ones carry the reservations
            rows = (labels == c) & (ratings_arr == 3)
        neg_rows.append(pains[rows].sum())
    neg_counts = pd.DataFrame(neg_rows, index=clusters)
    pos_scores, neg_scores = c_tf_idf(pos_counts), c_tf_idf(neg_counts)

    out: dict[int, AttributeSummary] = {}
    for c in clusters:
        members = [t for t, lab in zip(texts, labels, strict=True) if lab == c]
        happy = [t for t, lab, ok in zip(texts, labels, positive, strict=True) if lab == c and ok]
        ranked = sorted(
            (k for k in pos_counts.columns if pos_counts.at[c, k] >= 2 and _ATTRIBUTE_BY_KEY[k].praisable),
            key=lambda k: (-pos_scores.at[c, k], -pos_counts.at[c, k], k),
        )[:top]
        share = mentions[labels == c].mean()
        need_keys = [k for k in share.sort_values(ascending=False, kind="stable").index if share[k] > 0][:top]
        pain_ranked = sorted(
            (p for p in neg_counts.columns if neg_counts.at[c, p] >= 1),
            key=lambda p: (-neg_scores.at[c, p], -neg_counts.at[c, p], p),
        )[:top]
        out[c] = AttributeSummary(
            praised=[praised_phrase(happy or members, k) for k in ranked],
            praised_keys=ranked,
            needs=[f"{_ATTRIBUTE_BY_KEY[k].need} ({share[k]:.0%} mention {k})" for k in need_keys],
            pain_points=[f"{p} ({int(neg_counts.at[c, p])} low-rated reviews)" for p in pain_ranked],
            pain_labels=pain_ranked,
        )
    return out


# --- definitions and sizes ---------------------------------------------------------------------------


def segment_definition(
    members: pd.DataFrame,
    *,
    age_bounds: tuple[int | None, int | None] = (None, None),
    departments: Sequence[str] | None = None,
    shop_departments: Sequence[str] = (),
) -> dict[str, Any]:
    """Return the filters that select a cluster: ``age_min/age_max`` (10th-90th percentile, within the
    brief's bounds), ``departments`` (those covering 80% of members, or the brief's) and
    ``rating_min/rating_max`` (10th-90th percentile). Keys whose filter would select everyone are left out.
    """
    definition: dict[str, Any] = {}
    ages = pd.to_numeric(members.get("age"), errors="coerce").dropna() if "age" in members else pd.Series()
    if len(ages):
        lo, hi = math.floor(ages.quantile(0.10)), math.ceil(ages.quantile(0.90))
        if age_bounds[0] is not None:
            lo = max(lo, age_bounds[0])
        if age_bounds[1] is not None:
            hi = min(hi, age_bounds[1])
        definition["age_min"], definition["age_max"] = lo, max(lo, hi)
    if "department" in members and members["department"].notna().any():
        mix = members["department"].dropna().astype(str).value_counts(normalize=True)
        covering = list(mix.index[: int(np.searchsorted(mix.cumsum().to_numpy(), 0.8 - 1e-9)) + 1])
        if departments:
            covering = [d for d in covering if d in departments] or list(departments)
        if departments or set(covering) != set(shop_departments):
            definition["departments"] = sorted(covering)
    ratings = pd.to_numeric(members["rating"], errors="coerce").dropna()
    if len(ratings):
        r_lo, r_hi = math.floor(ratings.quantile(0.10)), math.ceil(ratings.quantile(0.90))
        if (r_lo, r_hi) != (1, 5):
            definition["rating_min"], definition["rating_max"] = r_lo, r_hi
    return definition


def match_definition(reviews: pd.DataFrame, definition: dict[str, Any]) -> pd.Series:
    """Return a boolean mask of the reviewers in ``reviews`` that a segment definition selects.

    An age bound excludes reviewers of unknown age (they cannot be shown to match).
    """
    mask = pd.Series(True, index=reviews.index)
    if "age" in reviews.columns:
        age = pd.to_numeric(reviews["age"], errors="coerce")
        if definition.get("age_min") is not None:
            mask &= (age >= definition["age_min"]).fillna(False).astype(bool)
        if definition.get("age_max") is not None:
            mask &= (age <= definition["age_max"]).fillna(False).astype(bool)
    elif definition.get("age_min") is not None or definition.get("age_max") is not None:
        return pd.Series(False, index=reviews.index)
    if definition.get("departments"):
        if "department" not in reviews.columns:
            return pd.Series(False, index=reviews.index)
        mask &= reviews["department"].astype("string").isin(definition["departments"]).fillna(False).astype(bool)
    rating = pd.to_numeric(reviews["rating"], errors="coerce")
    if definition.get("rating_min") is not None:
        mask &= (rating >= definition["rating_min"]).fillna(False).astype(bool)
    if definition.get("rating_max") is not None:
        mask &= (rating <= definition["rating_max"]).fillna(False).astype(bool)
    return mask


# --- names -------------------------------------------------------------------------------------------


def lead_departments(departments: Sequence[str | None], dominant: float = 0.6) -> list[str]:
    """Return the department that holds ``dominant`` of a cluster, else its two largest (by share)."""
    mix = pd.Series([d for d in departments if d is not None and not pd.isna(d)], dtype="string")
    if mix.empty:
        return []
    shares = mix.value_counts(normalize=True, sort=True)
    shares = shares.sort_index(kind="stable").sort_values(ascending=False, kind="stable")  # ties by name
    return [str(shares.index[0])] if shares.iloc[0] >= dominant else [str(d) for d in shares.index[:2]]


def segment_name(
    definition: dict[str, Any],
    summary: AttributeSummary,
    average_rating: float | None,
    leads: Sequence[str] = (),
) -> str:
    """Return a marketer's name for a segment, built only from its definition, attributes and leads.

    ``leads`` are the departments to name it by (see :func:`lead_departments`). E.g. "Dresses fans,
    25-40, who love the flattering fit" or "Tops shoppers, 30-55, frustrated by small sizing" (with
    en dashes).
    Deterministic: the same inputs give the same name.
    """
    departments = list(leads) or list(definition.get("departments") or [])
    who = " & ".join(departments[:2]) if departments else "All-category"
    happy = average_rating is not None and average_rating >= 4.0
    noun = "fans" if happy else "shoppers"
    ages = ""
    if definition.get("age_min") is not None and definition.get("age_max") is not None:
        ages = f", {definition['age_min']}{EN_DASH}{definition['age_max']}"
    claim = segment_claim(summary, average_rating)
    if claim == "complaint":
        return f"{who} {noun}{ages}, frustrated by {summary.pain_labels[0]}"
    if claim == "praise":
        verb = "love" if happy else "value"
        return f"{who} {noun}{ages}, who {verb} the {summary.praised[0]}"
    return f"{who} {noun}{ages}"


Claim = Literal["praise", "complaint", "none"]


def segment_claim(summary: AttributeSummary, average_rating: float | None) -> Claim:
    """Return what a segment's name says about its customers, the claim its evidence must support.

    "complaint" ("frustrated by ...") for an unhappy segment (average rating below 3) with pain points,
    or one with pain points and nothing praised; "praise" ("who love/value the ...") when it praises
    something; "none" otherwise. :func:`segment_name` names by this, so name and evidence agree.
    """
    unhappy = average_rating is not None and average_rating < 3.0
    if summary.pain_labels and (unhappy or not summary.praised):
        return "complaint"
    if summary.praised:
        return "praise"
    return "none"


def unique_names(names: list[str], summaries: list[AttributeSummary]) -> list[str]:
    """Return ``names`` made unique: a repeated name gets its next praised attribute, else a letter."""
    seen: Counter[str] = Counter(names)
    out: list[str] = []
    for name, summary in zip(names, summaries, strict=True):
        if seen[name] > 1:
            extra = summary.praised[1] if len(summary.praised) > 1 else None
            candidate = f"{name} and {extra}" if extra else name
            while candidate in out:
                candidate = f"{candidate} ({chr(ord('A') + len(out))})"
            name = candidate
        out.append(name)
    return out


# --- quotes ------------------------------------------------------------------------------------------

_SENTENCE = re.compile(r"[^.!?\n。！？；]+(?:[.!?。！？；]+|$)")  # also 。！？；
_CJK = re.compile(r"[㐀-鿿豈-﫿]")
MIN_QUOTE_CHARS = 25
MAX_QUOTE_CHARS = 240
MIN_QUOTE_CJK_CHARS = 8  # a Chinese sentence has no spaces to count words by
LEAD_BONUS = 0.05  # a supporting sentence naming the attribute the segment is named for

# Complaints, hesitations and hypotheticals: a sentence carrying one is not a customer's praise, even in a
# 5-star review ("I really wanted to like this dress.", "I'm on the fence about this dress but overall i
# like it.", "I returned this dress because the material is so flimsy and thin."). The pain-point lexicon
# (runs small, see-through, itchy...) counts too. English and Chinese; a sentence is checked whole.
RESERVATION = re.compile(
    r"\bbut\b|\bhowever\b|\balthough\b|\bthough\b|\bexcept\b|\bunless\b|\bdisappoint|\blet\s?down\b"
    r"|\breturn(?:ed|ing|s)?\b|\bexchang(?:e|ed|ing)\b|\bsen[dt]\s+(?:it|them|this|these)\s+back\b"
    r"|\bwanted\s+to\s+(?:like|love)\b|\breally\s+wanted\b|\bhigh\s+hopes\b|\bhop(?:ed|ing)\b"
    r"|\bexpect(?:ed|ing)\b|\bthought\b[^.!?]*\b(?:would|will|be)\b|\bon\s+the\s+fence\b|\bnot\s+sure\b"
    r"|\bunsure\b|\bhesita|\bdid\s*(?:n[’']t|not)\s+(?:buy|keep|purchase|order)\b|\bwish\b|\bif\s+only\b"
    r"|\bunfortunate(?:ly)?\b|\bsadly\b|\bshame\b|\bcheap\b|\b(?:would|could|should)(?:\s+not|n[’']t)?\s+have\b"
    r"|\bif\b|\btoo\s+(?:small|big|large|tight|snug|loose|baggy|short|long|sheer|thin|wide|boxy|low|high)\b"
    r"|\b(?:a\s+(?:bit|little|tad)|slightly|somewhat|kind\s+of)\s+(?:off|big|small|large|tight|loose|long|short"
    r"|snug|boxy|wide|sheer|thin|itchy|scratchy|stiff)\b"
    r"|\b(?:not|never|no\s+longer|\w+n[’']t)\s+(?:\w+\s+){0,2}?(?:flattering|great|good|cute|comfortable|soft|"
    r"worth|happy|impressed|like|love|fit|work|recommend|keep|wear)\b"
    r"|但是|但|不过|可是|然而|只是|失望|退货|退了|退掉|退回|换货|本来想|本想|原以为|以为|可惜|遗憾|希望|要是|如果"
    r"|\bexcited\b|\bgave\s+(?:it|this|them)\s+(?:a\s+|only\s+)?[1-4]\b|\b[1-4]\s+stars?\b"
    r"|\b(?:went|go|order(?:ed)?|sized?)\s+(?:up|down)\s+(?:a\s+|one\s+|two\s+|\d\s+)?sizes?\b|\bwould\s+(?:be|look)\b"
    r"|\bredeeming\b|\byet\b|\bbummer\b|\bmeh\b|\bok(?:ay)?\b|\bwhile\b|\bneeds?\s+to\b|\bsized?\s+(?:up|down)\b"
    r"|\ba\s+size\s+(?:up|down|bigger|larger|smaller)\b"
    r"|偏小|偏大|太小|太大|太紧|太松|太短|太长|太薄|不值|一般般|后悔|犹豫|不喜欢|不合身|不舒服",
    re.IGNORECASE,
)
# "true" and "high" praise only in phrases ("true to size", "high quality"): "a true petite", "high waisted".
_PRAISE_MODIFIERS = "|".join(m for m in _POSITIVE_MODIFIERS.split("|") if m not in {"true", "high"})
# Praise: a sentence a marketer can show as a happy customer's words says something good, not only a fact
# ("i am 5'1, 112 lbs, 34 b chest and i got this dress in size petite small." names sizing, praises nothing).
PRAISE_CUE = re.compile(
    rf"\b(?:{_PRAISE_MODIFIERS})\b|\bhigh[- ]quality\b|\blov(?:e|ed|es|ing)\b|\badore\b|\bobsessed\b|\bhappy\b|\bglad\b"
    r"|\bthrilled\b|\bpleased\b|\bimpressed\b|\bcompliments?\b|\brecommend|\bfavou?rite\b|\bbest\b"
    r"|\bperfectly\b|\bwell\b|\bflatter|\bcomfy\b|\bcozy\b|\bcosy\b|\btrue\s+to\s+size\b|\btts\b|\bworth\b"
    r"|\bawesome\b|\bclassy\b|\bchic\b|\bstylish\b|\bversatile\b|\bslimming\b|\blike\s+a\s+glove\b"
    r"|\bbeautifully\b|\bnicely\b|\bwonderfully\b"
    r"|喜欢|好看|漂亮|舒服|舒适|合身|满意|推荐|不错|很好|超值|划算|柔软|显瘦|百搭|值得|完美|赞",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    """Return the full sentences of ``text``, each a verbatim substring (surrounding spaces trimmed)."""
    out = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if sentence:
            out.append(sentence)
    return out


def quotable(sentence: str) -> bool:
    """Return whether a sentence is long enough to say something and short enough to quote.

    25-240 characters and five words; a Chinese sentence (no spaces) needs 8-240 characters.
    """
    if _CJK.search(sentence):
        return MIN_QUOTE_CJK_CHARS <= len(sentence) <= MAX_QUOTE_CHARS
    return MIN_QUOTE_CHARS <= len(sentence) <= MAX_QUOTE_CHARS and len(sentence.split()) >= 5


def is_praise(sentence: str) -> bool:
    """Return whether a sentence praises (a positive cue, English or Chinese) without any reservation."""
    return bool(PRAISE_CUE.search(sentence)) and not is_reservation(sentence)


def is_reservation(sentence: str) -> bool:
    """Return whether a sentence carries a complaint, hesitation or hypothetical (English or Chinese)."""
    return bool(RESERVATION.search(sentence)) or any(p.search(sentence) for _, p in PAIN_POINTS)


def _distinct_best(options: list[tuple[int, str]], scores: list[float], n_quotes: int) -> list[tuple[int, str]]:
    """Return one sentence per review, best reviews first, never the same sentence twice.

    Different customers often write the same sentence ("Runs small."): three copies of it are one piece
    of evidence, so each quote must say something the others do not.
    """
    by_review: dict[int, list[tuple[float, str]]] = {}
    for (i, sentence), score in zip(options, scores, strict=True):
        by_review.setdefault(i, []).append((score, sentence))
    ranked = sorted(by_review.items(), key=lambda kv: (-max(kv[1])[0], kv[0]))
    quotes: list[tuple[int, str]] = []
    seen: set[str] = set()
    for i, candidates in ranked:
        fresh = [c for c in sorted(candidates, key=lambda c: -c[0]) if " ".join(c[1].lower().split()) not in seen]
        if fresh:
            seen.add(" ".join(fresh[0][1].lower().split()))
            quotes.append((i, fresh[0][1]))
        if len(quotes) == n_quotes:
            break
    return quotes


@dataclass
class ClaimQuotes:
    """Quotes chosen for a claim: ``quotes`` (``(row, sentence)``, best first), of which the first
    ``supporting`` fully support the claim and the rest are labelled fallbacks."""

    quotes: list[tuple[int, str]]
    supporting: int
    claim: Claim


def claim_quotes(
    texts: Sequence[str],
    embeddings: np.ndarray,
    *,
    ratings: Sequence[float],
    claim: Claim,
    patterns: Sequence[re.Pattern[str]] = (),
    recommended: Sequence[float | None] | None = None,
    eligible: Sequence[bool],
    embed: Callable[[list[str]], np.ndarray],
    groups: Sequence[str | None] | None = None,
    n_quotes: int = 3,
    n_candidates: int = 8,
    fallback: bool = True,
) -> ClaimQuotes:
    """Return up to ``n_quotes`` sentences of a cluster's reviews that support what its name claims.

    * ``"praise"`` ("who love the flattering fit"): a supporting quote is a sentence of a review rated 4
      or 5 (and recommended, where ``recommended`` is given and known) that names one of ``patterns``
      (the praised attributes, the name's one first) and praises (:func:`is_praise`: a positive cue and
      no complaint, hesitation or hypothetical), whichever sentence of the review that is, not
      necessarily its first. Fallback: a praising sentence of such a review that names none of them. A
      complaint, or a bare fact ("i got this dress in size petite small"), is never a praise quote.
    * ``"complaint"`` ("frustrated by small sizing"): a sentence of a review rated 1-2 (1-3 when the
      cluster has none) naming one of ``patterns`` (the pain points); fallback: a reservation of such a
      review.
    * ``"none"``: praising sentences of 4-5-star reviews, then any reservation-free sentence.

    Reviews are taken nearest the cluster's centroid first, one per group (product) while others remain;
    among a tier's sentences the most similar to the centroid win (one per review, never the same
    sentence twice). ``fallback=False`` returns supporting quotes only. Every sentence is a verbatim
    substring of its review text.
    """
    idx = [i for i, ok in enumerate(eligible) if ok]
    if not idx:
        return ClaimQuotes([], 0, claim)
    stars = np.asarray(ratings, dtype=float)
    rec = None if recommended is None else pd.to_numeric(pd.Series(list(recommended)), errors="coerce").to_numpy()
    centroid = embeddings.mean(axis=0)
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    by_centrality = sorted(idx, key=lambda i: (-float(embeddings[i] @ centroid), i))
    lead = patterns[0] if patterns else None

    def names(sentence: str) -> bool:
        return any(p.search(sentence) for p in patterns)

    if claim == "praise":
        positive = [i for i in by_centrality if stars[i] >= 4 and not (rec is not None and rec[i] == 0)]
        tiers = [(positive, lambda s: names(s) and is_praise(s)), (positive, is_praise)]
    elif claim == "complaint":
        low = [i for i in by_centrality if stars[i] <= 2] or [i for i in by_centrality if stars[i] <= 3]
        tiers = [(low, names), (low, is_reservation)]
    else:
        positive = [i for i in by_centrality if stars[i] >= 4]
        tiers = [(positive, is_praise), (by_centrality, lambda s: not is_reservation(s))]
    if not fallback:
        tiers = tiers[:1]

    options: list[tuple[int, int, str]] = []  # (tier, row, sentence)
    for tier, (rows, accepts) in enumerate(tiers):
        found: list[tuple[int, list[str]]] = []
        for i in rows:
            fits = [s for s in sentences(texts[i]) if quotable(s) and accepts(s)]
            if fits:
                found.append((i, fits))
        options.extend((tier, i, s) for i, fits in _diverse(found, groups, n_candidates) for s in fits[:3])
    if not options:
        return ClaimQuotes([], 0, claim)
    vectors = embed([s for _, _, s in options])
    bonus = [LEAD_BONUS * bool(lead is not None and lead.search(s)) for _, _, s in options]
    scores = [float(v @ centroid) + b for v, b in zip(vectors, bonus, strict=True)]

    quotes: list[tuple[int, str]] = []
    supporting = 0
    for tier in range(len(tiers)):
        in_tier = [(k, o) for k, o in enumerate(options) if o[0] == tier and o[1] not in {q[0] for q in quotes}]
        if not in_tier or len(quotes) >= n_quotes:
            continue
        taken = {" ".join(q[1].lower().split()) for q in quotes}
        picked = _distinct_best(
            [(o[1], o[2]) for _, o in in_tier if " ".join(o[2].lower().split()) not in taken],
            [scores[k] for k, o in in_tier if " ".join(o[2].lower().split()) not in taken],
            n_quotes - len(quotes),
        )
        quotes.extend(picked)
        if tier == 0:
            supporting = len(picked)
    return ClaimQuotes(quotes, supporting, claim)


def _diverse(
    found: list[tuple[int, list[str]]], groups: Sequence[str | None] | None, n: int
) -> list[tuple[int, list[str]]]:
    """Return up to ``n`` of ``found`` (in order), one per group first, then topped up in order."""
    picked: list[tuple[int, list[str]]] = []
    used: set[str] = set()
    for item in found:
        group = groups[item[0]] if groups is not None else None
        if group is not None and group in used:
            continue
        picked.append(item)
        if group is not None:
            used.add(group)
        if len(picked) == n:
            return picked
    for item in found:
        if len(picked) >= n:
            break
        if item not in picked:
            picked.append(item)
    return picked
