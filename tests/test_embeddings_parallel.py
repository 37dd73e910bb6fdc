"""Parallel bulk embedding: same vectors as one thread, in order, bounded, and cancellable."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from campaign_planner.data.catalog import default_catalog
from campaign_planner.data.shop import Shop
from campaign_planner.vectorstore import embeddings
from campaign_planner.vectorstore.embeddings import (
    EmbeddingModelError,
    embed_in_parallel,
    embed_texts,
    embedding_workers,
    get_model,
)
from campaign_planner.vectorstore.ingest import ingest_reviews
from campaign_planner.vectorstore.store import open_review_store

TEXTS = [
    "Runs small, I had to return it.",
    "The fabric is soft and the colour is lovely in person.",
    "Too long for me at 5'2 and the sleeves were tight; the material felt thin after one wash.",
    "Perfect for work.",
    "I wanted to love this sweater but it pilled right away and the seams came undone.",
    "Great jeans!",
    "The dress is gorgeous, flattering and comfortable, and I got many compliments at the wedding.",
]


def test_embed_texts_is_the_sentence_transformers_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_EMBED_PRECISION", "fp32")
    ours = embed_texts(TEXTS, batch_size=3)
    theirs = get_model().encode(TEXTS, batch_size=3, convert_to_numpy=True, show_progress_bar=False)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    assert float((ours * theirs).sum(axis=1).min()) > 0.99999
    with pytest.raises(ValueError, match="batch_size"):
        embed_texts(TEXTS, batch_size=0)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_parallel_batches_equal_sequential_ones_in_order(workers: int) -> None:
    batches = [TEXTS[i : i + 2] for i in range(0, len(TEXTS), 2)]
    sequential = [embed_texts(b) for b in batches]
    parallel = list(embed_in_parallel(batches, workers=workers))
    assert len(parallel) == len(batches)
    for got, want in zip(parallel, sequential, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_workers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMPAIGN_PLANNER_EMBED_WORKERS", raising=False)
    monkeypatch.setattr(embeddings.os, "cpu_count", lambda: 16)
    assert embedding_workers() == 2  # one per core, at most 2
    monkeypatch.setattr(embeddings.os, "cpu_count", lambda: 1)
    assert embedding_workers() == 1
    monkeypatch.setenv("CAMPAIGN_PLANNER_EMBED_WORKERS", "3")
    assert embedding_workers() == 3
    monkeypatch.setenv("CAMPAIGN_PLANNER_EMBED_WORKERS", "0")
    assert embedding_workers() == 1
    monkeypatch.setenv("CAMPAIGN_PLANNER_EMBED_WORKERS", "two")
    with pytest.raises(EmbeddingModelError, match="CAMPAIGN_PLANNER_EMBED_WORKERS"):
        embedding_workers()


def test_in_flight_batches_are_bounded_and_closing_cancels_the_rest() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def slow(batch: list[str]) -> int:
        with lock:
            started.append(int(batch[0]))
        time.sleep(0.05)
        return int(batch[0])

    results = embed_in_parallel(([str(i)] for i in range(50)), workers=2, embed=slow)
    assert next(results) == 0
    time.sleep(0.2)
    assert len(started) <= 4  # the one consumed plus at most workers + 1 in flight
    results.close()
    assert len(started) <= 4  # nothing new started after closing


def test_a_failing_batch_raises_in_the_consumer() -> None:
    def fail_on_three(batch: list[str]) -> str:
        if batch == ["3"]:
            raise RuntimeError("model failed")
        return batch[0]

    got = []
    with pytest.raises(RuntimeError, match="model failed"):
        for value in embed_in_parallel(([str(i)] for i in range(8)), workers=2, embed=fail_on_three):
            got.append(value)
    assert got == ["0", "1", "2"]


@pytest.mark.parametrize("workers", ["1", "3"])
def test_parallel_ingest_stores_each_reviews_own_vector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_EMBED_WORKERS", workers)
    texts = [f"{TEXTS[i % len(TEXTS)]} Note {i}." for i in range(23)]
    reviews = pd.DataFrame(
        {"review_id": [f"r{i}" for i in range(23)], "text": texts, "rating": [1 + i % 5 for i in range(23)]}
    )
    shop = Shop(root=tmp_path, name="Parallel Shop", currency="USD", reviews=reviews, catalog=default_catalog())
    store = open_review_store(shop)
    seen: list[tuple[int, int]] = []
    report = ingest_reviews(shop, store, batch_size=4, progress=lambda done, total: seen.append((done, total)))
    assert report.embedded == 23 == store.count()
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (23, 23)
    ids = [f"r{i}" for i in range(23)]
    stored = store.get_embeddings(ids)
    direct = embed_texts(texts)
    assert float((stored * direct).sum(axis=1).min()) > 0.9999
    assert ingest_reviews(shop, store).skipped_unchanged
