"""The product's review retrieval: embedding similarity, re-ranked by polarity when the query asks for it.

:func:`search_reviews` is what the profile-lookup tool retrieves with (and what bench/bench_profiles.py
measures): embed the query; when it clearly asks about unhappy or happy customers (see ``polarity.py``),
take the ``max(2n, RERANK_DEPTH)`` nearest reviews by cosine (within an optional metadata filter), add
``POLARITY_WEIGHT * intent * sentiment`` to each candidate's cosine similarity, where ``intent`` is the
query's polarity and ``sentiment`` the review text's, both in [-1, 1], and keep the best ``n``. A
topic-only query gets the ``n`` nearest in similarity order, as before. The star rating a query is
judged on is never read here: a review's sentiment comes from its text (``PolarityModel.review_sentiment``).

The weight was chosen on 40 development queries of other topics and nouns than the benchmark's (washing,
comfort, make, value; e.g. "the bralette is itchy and uncomfortable"): polarity precision@10 0.50 ->
0.58, department 0.76 -> 0.72, with 0.1; 0.05 gave 0.55 / 0.74, 0.15 0.59 / 0.71.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from campaign_planner.vectorstore.embeddings import embed_texts
from campaign_planner.vectorstore.polarity import polarity_model
from campaign_planner.vectorstore.store import ReviewHits, ReviewStore

RERANK_DEPTH = 100
POLARITY_WEIGHT = 0.1


def search_reviews(
    store: ReviewStore,
    query: str,
    n: int = 10,
    where: dict[str, Any] | None = None,
    *,
    include_embeddings: bool = False,
    query_embedding: np.ndarray | None = None,
    polarity: bool = True,
) -> ReviewHits:
    """Return up to ``n`` reviews for ``query``, best first (see the module doc for the ranking).

    ``distances`` stay the cosine distances (1 - similarity), so similarity thresholds keep their meaning
    even where polarity re-ordered the hits. ``query_embedding`` saves embedding the query again;
    ``polarity=False`` ranks by similarity alone. Refuses empty text and ``n < 1`` (ValueError).
    """
    if not query or not query.strip():
        raise ValueError("query text is empty")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    vector = embed_texts([query])[0] if query_embedding is None else np.asarray(query_embedding, dtype=np.float32)
    model = polarity_model(store) if polarity else None
    intent = model.query_intent(vector) if model is not None else 0.0
    # A topic-only query reads exactly the n nearest; a polar one re-ranks a deeper candidate list, so
    # even the tool's 300-review pool can trade off-polarity reviews for ones further down.
    depth = max(2 * n, RERANK_DEPTH) if intent else n
    hits = store.query(
        query, n=depth, where=where, include_embeddings=bool(intent) or include_embeddings, query_embedding=vector
    )
    order = np.arange(len(hits))
    if intent and hits.embeddings is not None and model is not None:
        sentiment = model.review_sentiment(hits.ids, hits.embeddings)
        scores = np.asarray(hits.similarities) + POLARITY_WEIGHT * intent * sentiment
        order = np.argsort(-scores, kind="stable")
    order = order[:n]
    return ReviewHits(
        ids=[hits.ids[i] for i in order],
        texts=[hits.texts[i] for i in order],
        metadatas=[hits.metadatas[i] for i in order],
        distances=[hits.distances[i] for i in order],
        embeddings=hits.embeddings[order] if include_embeddings and hits.embeddings is not None else None,
    )
