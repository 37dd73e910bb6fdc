"""The clustering matrix of the profile lookup: themes in the text weigh as much as age and rating.

Pure numpy: no model, no store. The planted groups below mimic the demo shop's segments, which differ in
what reviewers write about and which department they buy from while their ages overlap.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from campaign_planner.tools import segmentation as seg


def _themed_reviews(rng: np.random.Generator, per_group: int = 40) -> tuple[np.ndarray, ...]:
    """Three groups: distinct themes (pairwise cosine ~0.5 between theme centres, reviews spread around
    them as real ones are), two departments, the same ages (22-65) and ratings for everyone."""
    dim = 64
    shared = rng.normal(size=dim)
    centres = [shared + rng.normal(size=dim) for _ in range(3)]
    rows, labels = [], []
    for g, centre in enumerate(centres):
        unit = centre / np.linalg.norm(centre)
        noise = rng.normal(size=(per_group, dim))
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        rows.append(unit + 0.9 * noise)
        labels += [g] * per_group
    emb = np.vstack(rows)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    n = len(labels)
    ages = rng.uniform(22, 65, n)
    ratings = rng.choice([4.0, 5.0], n)
    departments = ["Dresses" if g == 0 else "Tops" for g in labels]
    return emb, ages, ratings, departments, np.array(labels)


def test_embedding_components_keep_themes_and_drop_noise() -> None:
    rng = np.random.default_rng(0)
    emb, *_ = _themed_reviews(rng)
    comps = seg.embedding_components(emb)
    assert comps.shape == (len(emb), seg.EMBEDDING_COMPONENTS)
    # Distances between rows are kept along the main directions: the first holds the most variance.
    assert comps[:, 0].var() >= comps[:, -1].var()
    # Reviews that read alike (tiny differences only) give no column to amplify.
    alike = rng.normal(size=16) + 0.01 * rng.normal(size=(30, 16))
    alike /= np.linalg.norm(alike, axis=1, keepdims=True)
    assert seg.embedding_components(alike).shape == (30, 0)
    assert seg.embedding_components(emb[:1]).shape == (1, 0)


def test_clusters_follow_themes_and_departments_when_ages_overlap() -> None:
    rng = np.random.default_rng(3)
    emb, ages, ratings, departments, truth = _themed_reviews(rng)
    features = seg.audience_features(emb, ages, ratings, departments)
    clustering = seg.cluster_audience(features, max_k=6)
    assert clustering.k == 3
    assert adjusted_rand_score(truth, clustering.labels) > 0.8
    # Age is still a feature: with the text left out, the same reviewers split by age instead.
    by_age = seg.cluster_audience(
        seg.audience_features(np.zeros_like(emb), ages, ratings, departments), max_k=6
    )
    assert adjusted_rand_score(truth, by_age.labels) < 0.8
