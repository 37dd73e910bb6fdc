"""The review vector store: one Chroma collection of a shop's reviews, embedded or on a Chroma server.

By default the store is Chroma's embedded ``PersistentClient`` in ``<shop>/.chroma``; a URL
(``http://host:8000``) switches to a Chroma server through ``HttpClient`` with the same code. The
collection uses cosine distance and our packaged MiniLM embedding function (never Chroma's default,
which downloads a model). Collection-level metadata records the fingerprint of the ingested reviews so
ingestion can skip unchanged data (see ``ingest.py``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings

from campaign_planner.data.shop import Shop
from campaign_planner.vectorstore.embeddings import EMBEDDING_DIM, MiniLMEmbeddingFunction

STORE_DIRNAME = ".chroma"
# Chroma's ``get``/``upsert`` have a per-call maximum; pages keep every call well under it.
_PAGE = 1000


class ReviewStoreError(RuntimeError):
    """The review store cannot be opened or answer a request; the message says which and why."""


@dataclass
class ReviewHits:
    """Reviews returned by a query, best first. ``distances`` are cosine distances (1 - similarity)."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    distances: list[float]
    embeddings: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def similarities(self) -> list[float]:
        """Return the cosine similarity of each hit to the query (1 - distance)."""
        return [1.0 - d for d in self.distances]


def collection_name_for(shop: Shop) -> str:
    """Return the stable Chroma collection name of a shop's reviews.

    The shop name is slugged to Chroma's allowed characters; a short hash of the shop's folder keeps
    two shops that share a name apart on a shared Chroma server. The reviews' content is not part of
    the name: an edited review updates the collection instead of creating a new one.
    """
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", shop.name.strip().lower()).strip("-._")[:40] or "shop"
    root_hash = hashlib.sha256(str(Path(shop.root).resolve()).encode()).hexdigest()[:8]
    return f"reviews-{slug}-{root_hash}"


class ReviewStore:
    """A shop's reviews in a Chroma collection (cosine space, MiniLM embeddings)."""

    def __init__(self, client: Any, collection_name: str, *, location: str = "") -> None:
        self.client = client
        self.collection_name = collection_name
        self.location = location
        self.embedding_function = MiniLMEmbeddingFunction()
        try:
            self.collection = client.get_or_create_collection(
                name=collection_name,
                embedding_function=self.embedding_function,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:  # Chroma raises many types (connection, validation, conflicts)
            raise ReviewStoreError(
                f"cannot open collection {collection_name!r} at {location or 'the Chroma client'}: {exc}"
            ) from exc

    def __repr__(self) -> str:
        return f"ReviewStore({self.collection_name!r} at {self.location!r})"

    # -- reading --------------------------------------------------------------------------------

    def count(self) -> int:
        """Return the number of reviews stored."""
        return int(self.collection.count())

    def query(
        self,
        text: str,
        n: int = 10,
        where: dict[str, Any] | None = None,
        *,
        include_embeddings: bool = False,
        query_embedding: np.ndarray | None = None,
    ) -> ReviewHits:
        """Return up to ``n`` reviews nearest to ``text`` (cosine), optionally filtered by ``where``.

        ``where`` is a Chroma metadata filter (``{"$and": [{"age": {"$gte": 25}}, ...]}``). Fewer than
        ``n`` hits come back when fewer reviews match. ``query_embedding`` (the text's vector, when the
        caller already has it) saves embedding the text again. Refuses empty text and ``n < 1`` (ValueError).
        """
        if not text or not text.strip():
            raise ValueError("query text is empty")
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        size = self.count()
        if size == 0:
            return ReviewHits(
                [], [], [], [], np.zeros((0, EMBEDDING_DIM), dtype=np.float32) if include_embeddings else None
            )
        include = ["documents", "metadatas", "distances"] + (["embeddings"] if include_embeddings else [])
        try:
            target: dict[str, Any] = (
                {"query_embeddings": [np.asarray(query_embedding, dtype=np.float32)]}
                if query_embedding is not None
                else {"query_texts": [text]}
            )
            raw = self.collection.query(
                **target, n_results=min(n, size), where=where or None, include=include
            )
        except Exception as exc:
            raise ReviewStoreError(
                f"query on {self.collection_name!r} failed (where={where}): {exc}"
            ) from exc
        embeddings = None
        if include_embeddings:
            embeddings = np.asarray(raw["embeddings"][0], dtype=np.float32)
        return ReviewHits(
            ids=list(raw["ids"][0]),
            texts=list(raw["documents"][0]),
            metadatas=[dict(m or {}) for m in raw["metadatas"][0]],
            distances=[float(d) for d in raw["distances"][0]],
            embeddings=embeddings,
        )

    def get(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Return ``{id: (text, metadata)}`` for the stored ids among ``ids`` (missing ids are absent)."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for start in range(0, len(ids), _PAGE):
            raw = self.collection.get(ids=ids[start : start + _PAGE], include=["documents", "metadatas"])
            for rid, doc, meta in zip(raw["ids"], raw["documents"], raw["metadatas"], strict=True):
                out[rid] = (doc, dict(meta or {}))
        return out

    def get_embeddings(self, ids: list[str]) -> np.ndarray:
        """Return the stored embeddings of ``ids`` as an ``(len(ids), 384)`` array, in the order given.

        Refuses (ReviewStoreError) when any id is not stored, naming up to five of them.
        """
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), _PAGE):
            raw = self.collection.get(ids=ids[start : start + _PAGE], include=["embeddings"])
            for rid, emb in zip(raw["ids"], raw["embeddings"], strict=True):
                found[rid] = np.asarray(emb, dtype=np.float32)
        missing = [i for i in ids if i not in found]
        if missing:
            raise ReviewStoreError(f"{len(missing)} review id(s) not in the store, e.g. {missing[:5]}")
        if not ids:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack([found[i] for i in ids])

    def stored_metadata(self) -> dict[str, dict[str, Any]]:
        """Return ``{id: metadata}`` for every stored review (paged; no documents or vectors)."""
        out: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            raw = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            for rid, meta in zip(raw["ids"], raw["metadatas"], strict=True):
                out[rid] = dict(meta or {})
            if len(raw["ids"]) < _PAGE:
                return out
            offset += _PAGE

    def sample_vectors(self, limit: int) -> tuple[list[str], list[dict[str, Any]], np.ndarray]:
        """Return ids, metadata and embeddings of up to ``limit`` stored reviews (the first in storage
        order, paged; no documents)."""
        ids: list[str] = []
        metadatas: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        while len(ids) < limit:
            page = min(_PAGE, limit - len(ids))
            raw = self.collection.get(include=["metadatas", "embeddings"], limit=page, offset=len(ids))
            ids += list(raw["ids"])
            metadatas += [dict(m or {}) for m in raw["metadatas"]]
            if len(raw["ids"]):
                vectors.append(np.asarray(raw["embeddings"], dtype=np.float32))
            if len(raw["ids"]) < page:
                break
        if not vectors:
            return [], [], np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return ids, metadatas, np.concatenate(vectors)

    def collection_metadata(self) -> dict[str, Any]:
        """Return the collection-level metadata as stored now (re-read, not the cached copy)."""
        fresh = self.client.get_collection(self.collection_name, embedding_function=self.embedding_function)
        return dict(fresh.metadata or {})

    # -- writing --------------------------------------------------------------------------------

    def upsert(
        self,
        ids: list[str],
        texts: list[str],
        metadatas: list[dict[str, Any]],
        embeddings: Any = None,
    ) -> None:
        """Insert or replace reviews: with ``embeddings`` (one vector per text) stored as given, else the
        collection's embedding function embeds the texts. Refuses mismatched lengths (ValueError)."""
        lengths = [len(ids), len(texts), len(metadatas)] + ([len(embeddings)] if embeddings is not None else [])
        if len(set(lengths)) != 1:
            raise ValueError(f"upsert needs equal lengths, got {'/'.join(map(str, lengths))}")
        if ids:
            self.collection.upsert(ids=ids, documents=texts, metadatas=metadatas, embeddings=embeddings)

    def update_metadata(self, ids: list[str], metadatas: list[dict[str, Any]]) -> None:
        """Replace the metadata of stored reviews without re-embedding their texts."""
        for start in range(0, len(ids), _PAGE):
            self.collection.update(ids=ids[start : start + _PAGE], metadatas=metadatas[start : start + _PAGE])

    def delete(self, ids: list[str]) -> None:
        """Remove reviews by id (ids not stored are ignored)."""
        for start in range(0, len(ids), _PAGE):
            self.collection.delete(ids=ids[start : start + _PAGE])

    def set_collection_metadata(self, metadata: dict[str, Any]) -> None:
        """Replace the collection-level metadata (e.g. the ingested reviews' fingerprint)."""
        self.collection.modify(metadata=metadata)


def _client_for_url(url: str) -> Any:
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ReviewStoreError(f"Chroma URL {url!r} is not of the form http(s)://host[:port]")
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    try:
        return chromadb.HttpClient(
            host=parsed.hostname,
            port=port,
            ssl=parsed.scheme == "https",
            settings=Settings(anonymized_telemetry=False),
        )
    except Exception as exc:
        raise ReviewStoreError(f"cannot reach the Chroma server at {url}: {exc}") from exc


def open_review_store(
    shop: Shop, chroma_url: str | None = None, *, collection_name: str | None = None
) -> ReviewStore:
    """Return the shop's review store: embedded in ``<shop.root>/.chroma``, or on the Chroma server at
    ``chroma_url`` (``http(s)://host[:port]``).

    Refuses (ReviewStoreError) a malformed URL, an unreachable server or a store folder that cannot be
    created. The collection is created empty on first use; ``ingest.ingest_reviews`` fills it.
    """
    name = collection_name or collection_name_for(shop)
    if chroma_url:
        return ReviewStore(_client_for_url(chroma_url), name, location=chroma_url)
    path = Path(shop.root) / STORE_DIRNAME
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Telemetry off: the machines are offline and a phone-home attempt only adds latency.
        client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    except Exception as exc:
        raise ReviewStoreError(f"cannot open the embedded Chroma store at {path}: {exc}") from exc
    return ReviewStore(client, name, location=str(path))
