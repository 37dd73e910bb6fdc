"""The review store, ingestion and profile lookup against a real Chroma server on loopback.

The same behaviours as ``test_vectorstore.py`` / ``test_profile_lookup.py`` (which use the embedded
``PersistentClient``), here through ``open_review_store(shop, chroma_url)`` and Chroma's ``HttpClient``.
The server is started by the ``chroma_server_url`` fixture (``tests/chroma_server.py``); these tests
are skipped with its reason when it cannot start.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from campaign_planner.data.catalog import default_catalog
from campaign_planner.data.shop import Shop
from campaign_planner.domain import Audience, Brief
from campaign_planner.tools.profile_lookup import lookup_profiles
from campaign_planner.vectorstore.ingest import ingest_reviews
from campaign_planner.vectorstore.store import STORE_DIRNAME, collection_name_for, open_review_store
from tests.chroma_server import chroma_server_url  # noqa: F401  (pytest fixture)
from tests.test_profile_lookup import _sample_reviews
from tests.test_vectorstore import _reviews, _shop, assert_edits_replace_only_their_vectors


@pytest.fixture(scope="module")
def ingested(chroma_server_url: str, tmp_path_factory: pytest.TempPathFactory):  # noqa: F811
    shop = _shop(tmp_path_factory.mktemp("shop"), _reviews())
    store = open_review_store(shop, chroma_server_url)
    report = ingest_reviews(shop, store, batch_size=10)
    return shop, store, report


def test_store_lives_on_the_server(chroma_server_url: str, ingested) -> None:  # noqa: F811
    shop, store, report = ingested
    assert store.location == chroma_server_url
    assert store.client.get_settings().chroma_api_impl == "chromadb.api.fastapi.FastAPI"  # HttpClient
    assert not (Path(shop.root) / STORE_DIRNAME).exists()  # nothing written to the embedded folder
    assert store.collection_name == collection_name_for(shop)
    assert store.collection_name in {c.name for c in store.client.list_collections()}
    assert store.collection.configuration_json["hnsw"]["space"] == "cosine"
    assert report.added == 26 and report.stored == 26 == store.count()


def test_ingest_redacts_pii_and_flags_injection(ingested) -> None:
    _, store, report = ingested
    assert report.skipped_empty == 2 and report.pii_redactions == 2 and report.reviews_redacted == 1
    assert report.injection_ids == ["inj"]
    stored = store.get(["pii", "inj", "r5", "r1"])
    text = stored["pii"][0]
    assert "ann@example.org" not in text and "Ann" not in text and "[email]" in text and "[name]" in text
    assert stored["inj"][1]["injection_suspected"] is True
    assert stored["r1"][1]["injection_suspected"] is False
    assert "age" not in stored["r5"][1]
    r1 = stored["r1"][1]
    assert (r1["age"], r1["rating"], r1["department"], r1["product_id"]) == (22, 2, "Tops", "p1")


def test_reingest_skips_unchanged_and_forced_run_adds_nothing(chroma_server_url: str, ingested) -> None:  # noqa: F811
    shop, store, _ = ingested
    started = time.perf_counter()
    again = ingest_reviews(shop, store)
    assert again.skipped_unchanged and again.added == 0 and again.embedded == 0
    assert time.perf_counter() - started < 1.0
    # A new client on the same server sees the fingerprint stored in the collection metadata.
    assert ingest_reviews(shop, open_review_store(shop, chroma_server_url)).skipped_unchanged
    forced = ingest_reviews(shop, store, force=True)
    assert (forced.added, forced.updated, forced.embedded, forced.unchanged) == (0, 0, 0, 26)
    assert store.count() == 26


def test_edited_review_replaces_its_vector_only(chroma_server_url: str, tmp_path: Path) -> None:  # noqa: F811
    assert_edits_replace_only_their_vectors(tmp_path, chroma_server_url)


def test_query_with_where_filter(ingested) -> None:
    _, store, _ = ingested
    where = {"$and": [{"age": {"$gte": 30}}, {"age": {"$lte": 50}}, {"department": {"$in": ["Dresses"]}}]}
    hits = store.query("a flattering summer dress", n=50, where=where, include_embeddings=True)
    assert len(hits) > 0 and hits.embeddings is not None and hits.embeddings.shape[0] == len(hits)
    assert all(30 <= m["age"] <= 50 and m["department"] == "Dresses" for m in hits.metadatas)
    assert hits.distances == sorted(hits.distances)
    assert len(store.query("dress", n=5, where={"age": {"$gte": 200}})) == 0


def test_lookup_profiles_through_the_server(
    chroma_server_url: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    reviews = _sample_reviews(n=148)  # + 2 planted = 150; skips when the public dataset is absent
    shop = Shop(
        root=tmp_path_factory.mktemp("clothing"),
        name="clothing",
        currency="USD",
        reviews=reviews,
        catalog=default_catalog(),
    )
    store = open_review_store(shop, chroma_server_url)
    assert store.count() == 0
    brief = Brief(
        text="Summer dress launch for women 25-40",
        product="summer dress",
        audience=Audience(age_min=25, age_max=40, departments=["dresses"]),
    )
    result = lookup_profiles(shop, brief, store=store, max_segments=3)
    assert store.count() == int(reviews["text"].notna().sum())  # the lookup ingested through the server
    assert result.segments, result.flags
    assert "planted-inj" in result.injection_ids
    by_id = reviews.set_index("review_id")
    quoted = [e for s in result.segments for e in s.evidence]
    assert quoted
    stored = store.get([e.review_id for e in quoted])
    for evidence in quoted:
        assert evidence.review_id != "planted-inj" and evidence.review_id in by_id.index
        text, meta = stored[evidence.review_id]
        assert evidence.quote in text and len(evidence.quote) >= 10  # verbatim from the stored text
        assert 25 <= meta["age"] <= 40 and meta["department"] == "Dresses"
        assert "@" not in evidence.quote and "Jane" not in evidence.quote
