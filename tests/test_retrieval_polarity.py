"""Review retrieval with polarity: the query's intent re-ranks by the review text's sentiment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from campaign_planner.data.catalog import default_catalog
from campaign_planner.data.shop import Shop
from campaign_planner.vectorstore import polarity
from campaign_planner.vectorstore.embeddings import embed_texts
from campaign_planner.vectorstore.ingest import ingest_reviews
from campaign_planner.vectorstore.polarity import MIN_PER_CLASS, fit_polarity_model, polarity_model
from campaign_planner.vectorstore.retrieval import search_reviews
from campaign_planner.vectorstore.store import open_review_store

PRODUCTS = ["dress", "sweater", "skirt", "jacket", "blouse", "coat", "top", "cardigan", "tunic", "vest"]
NEGATIVE = [
    "The {p} fell apart after one wash, very disappointed, I am returning it.",
    "Poor quality {p}, the fabric is cheap and thin and it ripped.",
    "The {p} looks awful on me and the colour is dull, sent it back.",
    "Terrible {p}, not worth the money at all, do not buy.",
]
POSITIVE = [
    "I love this {p}, it fits perfectly and feels great.",
    "Beautiful {p}, great quality and soft fabric.",
    "The {p} is flattering and comfortable, highly recommend.",
    "Gorgeous {p}, worth every penny, I wear it all the time.",
]


def _reviews(with_ratings: bool = True) -> pd.DataFrame:
    rows = []
    for p in PRODUCTS:
        for template in NEGATIVE:
            rows.append({"text": template.format(p=p), "rating": 1})
        for template in POSITIVE:
            rows.append({"text": template.format(p=p), "rating": 5})
    df = pd.DataFrame(rows)
    df["review_id"] = [f"r{i}" for i in range(len(df))]
    if not with_ratings:
        df["rating"] = 3  # neither polarity: nothing to learn from
    return df


def _store(root: Path, reviews: pd.DataFrame):
    shop = Shop(root=root, name="Polarity Shop", currency="USD", reviews=reviews, catalog=default_catalog())
    store = open_review_store(shop)
    ingest_reviews(shop, store)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    return _store(tmp_path_factory.mktemp("polarity"), _reviews())


def test_model_reads_query_intent_and_review_text(store) -> None:
    model = polarity_model(store)
    assert model is not None and model.negatives == model.positives == 40
    assert polarity_model(store) is model  # cached per store contents
    complaint, praise = embed_texts(["cheap fabric, it ripped and I sent it back", "love it, gorgeous and flattering"])
    assert model.logits(complaint[None])[0] > 0 > model.logits(praise[None])[0]
    # Every rated review is scored by the half of the data it was not trained on.
    ids, _, vectors = store.sample_vectors(1000)
    assert set(model.review_logits) == set(ids)
    sentiment = model.review_sentiment(ids, vectors)
    labels = np.array([int(i[1:]) % 8 < 4 for i in ids])  # the first four of every eight are complaints
    assert sentiment[labels].mean() > 0 > sentiment[~labels].mean()


def test_negative_query_ranks_complaints_first_and_keeps_cosine_distances(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 80 reviews teach a weak model (|logit| < 2 for most queries): lower the bar to exercise re-ranking.
    monkeypatch.setattr(polarity, "INTENT_LOGIT", 0.0)
    query = "disappointed with the poor quality, had to return it"
    ranked = search_reviews(store, query, n=10)
    plain = search_reviews(store, query, n=10, polarity=False)

    def negative_share(hits) -> float:
        return float(np.mean([m["rating"] == 1 for m in hits.metadatas]))

    assert negative_share(ranked) == 1.0 and negative_share(ranked) >= negative_share(plain)
    assert ranked.embeddings is None
    with_vectors = search_reviews(store, query, n=5, include_embeddings=True)
    assert with_vectors.embeddings is not None and with_vectors.embeddings.shape == (5, 384)
    # Distances are the cosine distances of the hits, whatever their order.
    vector = embed_texts([query])[0]
    stored = store.get_embeddings(ranked.ids)
    np.testing.assert_allclose(ranked.distances, 1.0 - stored @ vector, atol=1e-3)


def test_topic_only_query_keeps_the_similarity_order(store) -> None:
    model = polarity_model(store)
    assert model is not None
    query = "a knit cardigan"
    assert model.query_intent(embed_texts([query])[0]) == 0.0
    assert search_reviews(store, query, n=20).ids == search_reviews(store, query, n=20, polarity=False).ids


def test_without_rated_reviews_retrieval_falls_back_to_similarity(tmp_path: Path) -> None:
    unrated = _store(tmp_path, _reviews(with_ratings=False))
    assert polarity_model(unrated) is None
    query = "disappointed with the poor quality, had to return it"
    assert search_reviews(unrated, query, n=10).ids == search_reviews(unrated, query, n=10, polarity=False).ids


def test_fit_needs_enough_reviews_of_each_polarity() -> None:
    vectors = np.random.default_rng(0).normal(size=(2 * MIN_PER_CLASS, 384)).astype(np.float32)
    ids = [f"r{i}" for i in range(len(vectors))]
    few_negative = [{"rating": 1}] * (MIN_PER_CLASS - 1) + [{"rating": 5}] * (MIN_PER_CLASS + 1)
    assert fit_polarity_model(ids, vectors, few_negative) is None
    assert fit_polarity_model(ids, vectors, [{}] * len(ids)) is None
    assert polarity._polarity_labels([{"rating": 2}, {"rating": 3}, {"rating": 4}, {"rating": True}, {}]).tolist() == [
        1,
        -1,
        0,
        -1,
        -1,
    ]


def test_search_refuses_bad_arguments(store) -> None:
    with pytest.raises(ValueError, match="empty"):
        search_reviews(store, "  ")
    with pytest.raises(ValueError, match="n must be"):
        search_reviews(store, "dress", n=0)
