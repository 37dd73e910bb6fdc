"""Benchmark of customer profiles from reviews (issue 3) on the 23,486 real clothing reviews and the demo
shop. Prints ``name=value`` lines (notes start with '#'; progress goes to stderr).

    /work/venv/bin/python bench/bench_profiles.py --vectors 1000000

20-35 minutes on the shared 2 cores, 13-22 of them building the 1M collection. ``--sections`` picks parts
(ingest, latency, server, scale, quality, ari); ``--workdir DIR`` keeps the scratch folder, so a rerun
reuses the built million-vector server collection (its build is then not re-timed) and the ingested store.

The reviews are read from ../shared/datasets/womens_clothing_ecommerce_reviews.csv.gz (never copied into
the repository), imported with the built-in column map ``clothing_reviews`` into a scratch shop folder
and ingested by the project's own code (``vectorstore/ingest.py``), as ``campaign-planner shop ingest``
does. Every timed figure is followed by a ``# loadavg`` note: the machine's 2 cores are shared.

* ingest_seconds_23k: a cold ``ingest_reviews`` of the imported shop into a fresh embedded store (redact,
  embed, upsert, fingerprint), with the product's defaults (``embedding_workers()`` threads embedding,
  one torch thread each; a note names them). ``ingest_reviews_per_s`` = reviews embedded / seconds;
  ``ingest_peak_rss_mb`` = this process's peak resident memory once ingestion is done (model, data and
  embedded Chroma included); ``ingest_cpu_seconds`` = CPU time this process used meanwhile (above the
  wall time when the writer thread and the model run on both cores, below it when others take a core).
* reingest_seconds: ``load_shop`` + ``open_review_store`` + ``ingest_reviews`` on the unchanged shop (the
  fingerprint matches: nothing is read back or embedded); ``reingest_ingest_call_seconds`` the last alone.
* query_p50_ms_23k_embedded / query_p95_ms_23k_embedded: one profile-lookup retrieval exactly as the tool
  makes it (``vectorstore.retrieval.search_reviews``, n=300, with embeddings): embed the query, the
  Chroma query for the 300 nearest reviews with the tool's metadata filter, the polarity re-ranking.
  ``polarity_fit_seconds_*`` = fitting the store's polarity model (once per process and store contents,
  during the warm-up, not in the timed queries). Queries
  cycle through 40 texts and three filters (none; one department; age 25-40 and one department).
  ``chroma_query_*`` = the Chroma call alone (precomputed query vector); ``tool_call_*`` = the whole
  ``lookup_profiles`` call (retrieval, MMR, clustering, quotes; fingerprint check included) for 12 briefs.
  ``_server`` = the same against a ``chroma run`` server on loopback (HttpClient), holding the same
  vectors (copied from the embedded store, then ``ingest_reviews`` confirms every review unchanged).
* query_p95_ms_1m_server: the same retrieval on a server collection of ``--vectors`` vectors (1,000,000
  for the figure): the 22,641 real embeddings, then copies of them perturbed by Gaussian noise
  (sigma 0.02 per dimension, about cosine 0.93 to the original) and re-normalised, each with its source
  review's document and metadata (so filters select the same share). ``build_seconds_1m_server`` is the
  time to upsert them; ``server_peak_rss_mb_1m`` the server's peak memory (VmHWM). A note gives the
  Chroma query's median per kind of filter: the metadata filter, not the vector search, is what grows.
* precision10_{department,polarity}_{ours,bm25}: 40 labelled queries built from a fixed grid, written
  before any result was seen: 5 departments x 4 topics (fit/sizing, fabric, colour, length) x 2
  polarities, e.g. "the dress runs small, had to return it" -> department Dresses, polarity negative
  (rating <= 2; positive = rating >= 4). Precision@10 = share of the 10 results with the query's
  department / polarity, averaged over queries (``quality_queries`` = how many). Ours: the tool's
  retrieval, ``search_reviews(store, text, n=10)`` (query embedding, the 100 nearest by cosine, re-ranked
  by polarity when the query's intent is clear); ``_ours_similarity_only`` the same without the
  re-ranking. The retriever gets the query text only: never the query's labels, and it reads no star
  rating of the reviews it ranks (their sentiment comes from their text, see ``polarity.py``). BM25:
  rank_bm25.BM25Okapi over the same stored (PII-redacted) review texts, lowercase word tokens. Both get
  the same query text and no metadata filter. ``_bm25_stopwords`` repeats BM25 with
  scikit-learn's English stop words removed (a second tokenisation, not the target's baseline).
  ``_hybrid_rrf`` is not what the tool does: reciprocal rank fusion (k=60) of our top 100 and BM25's top
  100, to show what a hybrid retrieval would change. ``embedding_cosine_bf16_vs_fp32_{min,median}``: the
  cosine between the bf16 and the fp32 embedding of 1,000 stored reviews.
* segment_ari_demo: adjusted Rand index between the profile lookup's segments and the demo shop's planted
  segments (``demo_truth.json``), over the reviews the tool clustered, planted reviews only (background
  reviews belong to no segment); the mean over five whole-shop briefs with ``max_segments=6`` on the
  default demo shop (seed 7); ``_min`` the worst of the five. ``_with_background`` counts background as
  a sixth class; ``_seed11`` / ``_seed23``: the same on demo shops the clustering weights were not chosen
  on. Each run writes and ingests the demo shops afresh; Chroma's HNSW index is approximate and built in
  parallel, so the 300 retrieved reviews (and the ARI, by about +-0.05) vary a little between runs.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # tests/chroma_server.py imports ``tests.postgres_server``

from rank_bm25 import BM25Okapi  # noqa: E402
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from campaign_planner.data.column_maps import import_shop  # noqa: E402
from campaign_planner.data.demo import load_demo_truth, write_demo_shop  # noqa: E402
from campaign_planner.data.shop import Shop, load_shop  # noqa: E402
from campaign_planner.domain import Audience, Brief  # noqa: E402
from campaign_planner.tools import profile_lookup as pl  # noqa: E402
from campaign_planner.tools import segmentation as seg  # noqa: E402
from campaign_planner.vectorstore.embeddings import (  # noqa: E402
    embed_texts,
    embedding_precision,
    embedding_workers,
)
from campaign_planner.vectorstore.ingest import ingest_reviews  # noqa: E402
from campaign_planner.vectorstore.polarity import polarity_model  # noqa: E402
from campaign_planner.vectorstore.retrieval import search_reviews  # noqa: E402
from campaign_planner.vectorstore.store import ReviewStore, open_review_store  # noqa: E402
from chroma_server import _chroma_command, _heartbeat_ok, free_port  # noqa: E402

DATASET = Path("/work/shared/datasets/womens_clothing_ecommerce_reviews.csv.gz")
SECTIONS = ("ingest", "latency", "server", "scale", "quality", "ari")
NOISE_SIGMA = 0.02
DEMO_SEEDS = (7, 11, 23)

# --- the labelled queries: a fixed grid, not tuned to either system --------------------------------------

# department -> one product noun per topic (plural nouns take plural verbs)
NOUNS = {
    "Dresses": ["dress", "maxi dress", "dress", "sundress"],
    "Tops": ["top", "sweater", "blouse", "tee"],
    "Bottoms": ["jeans", "pants", "skirt", "shorts"],
    "Jackets": ["jacket", "coat", "jacket", "coat"],
    "Intimate": ["bra", "swimsuit", "pajamas", "leggings"],
}
PLURAL = {"jeans", "pants", "shorts", "pajamas", "leggings"}
# topic -> (negative template, positive template)
TOPICS = {
    "fit": ("the {n} {runs} small, had to return {it}", "the {n} {fits} true to size and {is} very flattering"),
    "fabric": ("the {n} fabric is thin and cheap, poor quality", "the {n} fabric is soft and feels high quality"),
    "colour": (
        "the colour of the {n} looks nothing like the picture, disappointed",
        "love the colour of the {n}, {it_is} gorgeous in person",
    ),
    "length": ("the {n} {is} too long and unflattering on me", "the length of the {n} is perfect, I get compliments"),
}


def labelled_queries() -> list[dict[str, str]]:
    """Return the 40 queries: text, department and polarity ("negative": rating <= 2, "positive": >= 4)."""
    out = []
    for department, nouns in NOUNS.items():
        for (topic, templates), noun in zip(TOPICS.items(), nouns, strict=True):
            plural = noun in PLURAL
            words = {
                "n": noun,
                "runs": "run" if plural else "runs",
                "fits": "fit" if plural else "fits",
                "is": "are" if plural else "is",
                "it": "them" if plural else "it",
                "it_is": "they are" if plural else "it is",
            }
            for polarity, template in zip(("negative", "positive"), templates, strict=True):
                out.append(
                    {
                        "text": template.format(**words),
                        "department": department,
                        "polarity": polarity,
                        "topic": topic,
                    }
                )
    return out


# --- small helpers ---------------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def figure(name: str, value: object) -> None:
    print(f"{name}={value}", flush=True)


def progress(label: str) -> Callable[[int, int], None]:
    """Return a progress callback that prints rate and ETA to stderr every 5 seconds (and at the end)."""
    started = time.perf_counter()
    last = [0.0]

    def update(done: int, total: int) -> None:
        now = time.perf_counter() - started
        if done < total and now - last[0] < 5.0:
            return
        last[0] = now
        rate = done / now if now > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        print(f"  {label}: {done:,}/{total:,} ({rate:,.0f}/s, ETA {eta:,.0f} s, load {loadavg()})", file=sys.stderr)

    return update


def percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def all_stored(store: ReviewStore, page: int = 1000) -> tuple[list[str], list[str], list[dict], np.ndarray]:
    """Return every stored review: ids, documents, metadatas and embeddings (paged)."""
    ids: list[str] = []
    docs: list[str] = []
    metas: list[dict] = []
    vectors: list[np.ndarray] = []
    offset = 0
    while True:
        raw = store.collection.get(include=["documents", "metadatas", "embeddings"], limit=page, offset=offset)
        ids += list(raw["ids"])
        docs += list(raw["documents"])
        metas += [dict(m or {}) for m in raw["metadatas"]]
        if len(raw["ids"]):
            vectors.append(np.asarray(raw["embeddings"], dtype=np.float32))
        if len(raw["ids"]) < page:
            break
        offset += page
    return ids, docs, metas, np.concatenate(vectors) if vectors else np.zeros((0, 384), np.float32)


# --- retrieval latency -----------------------------------------------------------------------------------

FILTERS: list[dict[str, Any]] = [{}, {"departments": ["{d}"]}, {"age_min": 25, "age_max": 40, "departments": ["{d}"]}]


def query_plan(queries: list[dict[str, str]], count: int) -> list[tuple[str, dict[str, Any] | None]]:
    """Return ``count`` (query text, Chroma where) pairs cycling through the queries and the filters."""
    plan = []
    for i in range(count):
        q = queries[i % len(queries)]
        template = FILTERS[(i // len(queries) + i) % len(FILTERS)]
        filters = {k: ([q["department"]] if k == "departments" else v) for k, v in template.items()}
        plan.append((q["text"], pl.to_where(filters)))
    return plan


def time_retrievals(store: ReviewStore, plan: list[tuple[str, dict[str, Any] | None]]) -> dict[str, Any]:
    """Return p50/p95 ms of the tool's retrieval (embed + query) and of the Chroma query alone, and the
    Chroma query's p50 per kind of filter, and the seconds the polarity model took to fit (warm-up)."""
    fit_started = time.perf_counter()
    polarity_model(store)
    fit_seconds = time.perf_counter() - fit_started
    for text, where in plan[:5]:  # warm-up: model, client connections, caches
        search_reviews(store, text, n=pl.POOL_SIZE, where=where, include_embeddings=True)
    whole, raw = [], []
    by_filter: dict[str, list[float]] = {}
    for text, where in plan:
        vector = embed_texts([text])[0]
        embedded = time.perf_counter()
        # The Chroma call alone, then the tool's whole retrieval (embedding included) on its own clock.
        store.query(text, n=pl.POOL_SIZE, where=where, include_embeddings=True, query_embedding=vector)
        raw_done = time.perf_counter()
        search_reviews(store, text, n=pl.POOL_SIZE, where=where, include_embeddings=True)
        done = time.perf_counter()
        whole.append(1000 * (done - raw_done))  # search_reviews embeds the query itself
        raw.append(1000 * (raw_done - embedded))
        kind = "none" if where is None else "age+department" if "$and" in where else "department"
        by_filter.setdefault(kind, []).append(raw[-1])
    return {
        "query": percentiles(whole),
        "chroma_query": percentiles(raw),
        "by_filter": {kind: float(np.median(v)) for kind, v in by_filter.items()},
        "polarity_fit_seconds": fit_seconds,
    }


BRIEFS = [
    Brief(text="Summer dress launch", product="summer dress", audience=Audience(departments=["Dresses"])),
    Brief(text="Cozy knitwear for autumn", product="cozy sweater", audience=Audience(age_min=35, age_max=60)),
    Brief(text="Denim refresh", product="jeans", audience=Audience(departments=["Bottoms"])),
    Brief(text="Work blouses", product="blouse for the office", audience=Audience(age_min=25, age_max=45)),
    Brief(text="Winter coats", product="warm winter coat", audience=Audience(departments=["Jackets"])),
    Brief(text="Loungewear sale", product="loungewear and pajamas", audience=Audience(departments=["Intimate"])),
    Brief(text="Wedding guest dresses", product="dress for a wedding", audience=Audience(age_min=25, age_max=40)),
    Brief(text="Swimwear for the beach", product="swimsuit"),
    Brief(text="Petite fits", product="petite tops and dresses", audience=Audience(departments=["Tops", "Dresses"])),
    Brief(text="Skirts for spring", product="midi skirt", audience=Audience(age_min=30, age_max=55)),
    Brief(text="Everyday basics", product="soft t-shirts and tees"),
    Brief(text="Party season", product="sequin party dress", audience=Audience(age_min=20, age_max=35)),
]


def time_tool_calls(shop: Shop, store: ReviewStore) -> tuple[float, float]:
    """Return p50/p95 ms of whole ``lookup_profiles`` calls (one warm-up call first)."""
    pl.lookup_profiles(shop, BRIEFS[0], store=store, max_segments=3)
    times = []
    for brief in BRIEFS:
        started = time.perf_counter()
        pl.lookup_profiles(shop, brief, store=store, max_segments=3)
        times.append(1000 * (time.perf_counter() - started))
    return percentiles(times)


def report_latency(prefix: str, suffix: str, shop: Shop | None, store: ReviewStore, count: int) -> None:
    load_before = loadavg()
    stats = time_retrievals(store, query_plan(labelled_queries(), count))
    for name in ("query", "chroma_query"):
        p50, p95 = stats[name]
        figure(f"{name}_p50_ms_{suffix}", f"{p50:.1f}")
        figure(f"{name}_p95_ms_{suffix}", f"{p95:.1f}")
    figure(f"polarity_fit_seconds_{suffix}", f"{stats['polarity_fit_seconds']:.1f}")
    per_filter = ", ".join(f"{kind} {ms:.0f} ms" for kind, ms in stats["by_filter"].items())
    note(f"{prefix}: Chroma query p50 by filter: {per_filter}")
    note(f"{prefix}: {count} retrievals (n={pl.POOL_SIZE}, with embeddings), loadavg {load_before} -> {loadavg()}")
    if shop is not None:
        load_before = loadavg()
        p50, p95 = time_tool_calls(shop, store)
        figure(f"tool_call_p50_ms_{suffix}", f"{p50:.0f}")
        figure(f"tool_call_p95_ms_{suffix}", f"{p95:.0f}")
        note(f"{prefix}: {len(BRIEFS)} lookup_profiles calls, loadavg {load_before} -> {loadavg()}")


# --- Chroma server ---------------------------------------------------------------------------------------


class ChromaServer:
    """``chroma run`` on a free loopback port with its data in ``path`` (as tests/chroma_server.py does)."""

    def __init__(self, path: Path) -> None:
        command = _chroma_command()
        if command is None:
            raise RuntimeError("no `chroma` CLI found")
        path.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (path.parent / "chroma-server.log").open("ab")
        self.proc = subprocess.Popen(
            [*command, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        deadline = time.monotonic() + 120
        while not _heartbeat_ok(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Chroma server at {self.url} did not start (log: {self.log.name})")
            time.sleep(0.2)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.log.close()


def copy_to(target: ReviewStore, ids: list[str], docs: list[str], metas: list[dict], vectors: np.ndarray) -> None:
    batch = min(4000, target.client.get_max_batch_size())
    for start in range(0, len(ids), batch):
        end = start + batch
        target.collection.upsert(
            ids=ids[start:end], documents=docs[start:end], metadatas=metas[start:end], embeddings=vectors[start:end]
        )


def build_scale_collection(
    shop: Shop, server: ChromaServer, n_vectors: int, source: tuple[list[str], list[str], list[dict], np.ndarray]
) -> tuple[ReviewStore, float | None]:
    """Return the server store holding ``n_vectors`` vectors (reused when already built) and build seconds."""
    name = f"bench-scale-{n_vectors}"
    store = open_review_store(shop, server.url, collection_name=name)
    have = store.count()
    if have == n_vectors:
        note(f"scale: reusing the existing {n_vectors:,}-vector collection (build not re-timed)")
        return store, None
    if have:
        store.client.delete_collection(name)
        store = open_review_store(shop, server.url, collection_name=name)
    client = store.client
    _, docs, metas, vectors = source
    n_real = len(vectors)
    rng = np.random.default_rng(0)
    batch = min(5000, client.get_max_batch_size())
    report = progress(f"scale build ({n_vectors:,} vectors)")
    started = time.perf_counter()
    for start in range(0, n_vectors, batch):
        index = np.arange(start, min(n_vectors, start + batch))
        src = index % n_real
        chunk = vectors[src].copy()
        noisy = index >= n_real  # the real vectors go in once as they are, then perturbed copies
        chunk[noisy] += rng.normal(0.0, NOISE_SIGMA, size=(int(noisy.sum()), chunk.shape[1])).astype(np.float32)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        store.collection.upsert(
            ids=[f"v{i}" for i in index],
            embeddings=chunk,
            documents=[docs[i] for i in src],
            metadatas=[metas[i] for i in src],
        )
        report(int(index[-1]) + 1, n_vectors)
    return store, time.perf_counter() - started


# --- retrieval quality -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokens(text: str, stop: frozenset[str] = frozenset()) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in stop]


RRF_DEPTH = 100
RRF_K = 60


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> list[int]:
    """Return the items of several rankings ordered by summed 1 / (k + rank) (Cormack et al., 2009)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(fused, key=lambda item: (-fused[item], item))


def polarity_of(rating: Any) -> str | None:
    if rating is None:
        return None
    return "negative" if int(rating) <= 2 else "positive" if int(rating) >= 4 else "neutral"


def report_quality(store: ReviewStore, stored: tuple[list[str], list[str], list[dict], np.ndarray]) -> None:
    ids, docs, metas, _ = stored
    queries = labelled_queries()
    department = np.array([str(m.get("department", "")) for m in metas])
    polarity = np.array([polarity_of(m.get("rating")) for m in metas])
    note(
        f"quality: {len(queries)} queries over {len(ids):,} stored reviews; base rates: Dresses "
        f"{np.mean(department == 'Dresses'):.3f}, rating<=2 {np.mean(polarity == 'negative'):.3f}, "
        f"rating>=4 {np.mean(polarity == 'positive'):.3f}"
    )
    bm25 = BM25Okapi([tokens(d) for d in docs])
    stop = frozenset(ENGLISH_STOP_WORDS)
    bm25_stop = BM25Okapi([tokens(d, stop) for d in docs])
    systems = ("ours", "bm25", "ours_similarity_only", "bm25_stopwords", "hybrid_rrf")
    scores: dict[str, dict[str, list[float]]] = {s: {"department": [], "polarity": []} for s in systems}
    by_polarity: dict[tuple[str, str], list[float]] = {}
    position = {rid: i for i, rid in enumerate(ids)}
    for q in queries:
        # The tool's retrieval, given the query text only (never its department or polarity label).
        ours = [position[i] for i in search_reviews(store, q["text"], n=RRF_DEPTH).ids]
        plain = [position[i] for i in search_reviews(store, q["text"], n=10, polarity=False).ids]
        ranked_bm25 = np.argsort(-bm25.get_scores(tokens(q["text"])), kind="stable")[:RRF_DEPTH].tolist()
        ranked_stop = np.argsort(-bm25_stop.get_scores(tokens(q["text"], stop)), kind="stable")[:10].tolist()
        tops = {
            "ours": ours[:10],
            "bm25": ranked_bm25[:10],
            "ours_similarity_only": plain,
            "bm25_stopwords": ranked_stop,
            "hybrid_rrf": reciprocal_rank_fusion([ours, ranked_bm25])[:10],
        }
        for system, top in tops.items():
            scores[system]["department"].append(float(np.mean(department[top] == q["department"])))
            scores[system]["polarity"].append(float(np.mean(polarity[top] == q["polarity"])))
            by_polarity.setdefault((system, q["polarity"]), []).append(scores[system]["polarity"][-1])
    figure("quality_queries", len(queries))
    model = polarity_model(store)
    if model is not None:
        note(f"polarity model: trained on {model.negatives:,} reviews rated <= 2 and {model.positives:,} rated >= 4")
    intents = [model.query_intent(v) if model else 0.0 for v in embed_texts([q["text"] for q in queries])]
    for polarity in ("negative", "positive"):
        read = [i for i, q in zip(intents, queries, strict=True) if q["polarity"] == polarity]
        note(
            f"query intent read from the text, {polarity} queries: {sum(i > 0 for i in read)} negative, "
            f"{sum(i < 0 for i in read)} positive, {sum(i == 0 for i in read)} neutral (no re-ranking)"
        )
    for metric in ("department", "polarity"):
        for system in systems:
            figure(f"precision10_{metric}_{system}", f"{np.mean(scores[system][metric]):.3f}")
    for system in systems:
        negative, positive = np.mean(by_polarity[(system, "negative")]), np.mean(by_polarity[(system, "positive")])
        note(f"precision10_polarity_{system}: negative queries {negative:.3f}, positive {positive:.3f}")
    # The embeddings are computed in bf16 where the CPU supports it: how close are they to float32?
    sample = [d for d in docs[:: max(1, len(docs) // 1000)]][:1000]
    precision = os.environ.get("CAMPAIGN_PLANNER_EMBED_PRECISION")
    try:
        os.environ["CAMPAIGN_PLANNER_EMBED_PRECISION"] = "fp32"
        fp32 = embed_texts(sample)
        os.environ["CAMPAIGN_PLANNER_EMBED_PRECISION"] = "bf16"
        bf16 = embed_texts(sample)
    finally:
        if precision is None:
            os.environ.pop("CAMPAIGN_PLANNER_EMBED_PRECISION", None)
        else:
            os.environ["CAMPAIGN_PLANNER_EMBED_PRECISION"] = precision
    cosines = (fp32 * bf16).sum(axis=1)
    figure("embedding_cosine_bf16_vs_fp32_min", f"{cosines.min():.5f}")
    figure("embedding_cosine_bf16_vs_fp32_median", f"{np.median(cosines):.5f}")
    note(f"embedding precision in use: {embedding_precision()} (cosine checked on {len(sample)} stored reviews)")


# --- segmentation against the demo's planted truth -------------------------------------------------------

DEMO_BRIEFS = [
    Brief(text="Spring campaign for the whole shop", product="women's clothing"),
    Brief(text="Autumn sale across our clothing range", product="clothing"),
    Brief(text="New season launch", product="dresses, tops, jeans, jackets and loungewear"),
    Brief(text="Brand awareness campaign", product="our clothing brand"),
    Brief(text="Loyalty campaign for existing customers"),
]


def demo_ari(root: Path, seed: int) -> list[tuple[float, float, int]]:
    """Return (ARI planted-only, ARI with background, k) of the profile lookup per demo brief."""
    if root.exists():
        shutil.rmtree(root)
    shop = write_demo_shop(root, seed=seed)
    truth = load_demo_truth(root)["reviews"]["review_segments"]
    store = open_review_store(shop)
    ingest_reviews(shop, store)
    captured: dict[str, Any] = {}
    original_pool, original_cluster = pl._retrieve_pool, seg.cluster_audience

    def pool(*args: Any, **kwargs: Any) -> Any:
        captured["pool"] = original_pool(*args, **kwargs)
        return captured["pool"]

    def cluster(*args: Any, **kwargs: Any) -> Any:
        captured["clustering"] = original_cluster(*args, **kwargs)
        return captured["clustering"]

    out = []
    pl._retrieve_pool, seg.cluster_audience = pool, cluster
    try:
        for brief in DEMO_BRIEFS:
            result = pl.lookup_profiles(shop, brief, store=store, max_segments=6)
            labels = captured["clustering"].labels
            planted = np.array([truth[i] for i in captured["pool"].frame["id"]])
            mask = planted != "background"
            out.append(
                (
                    adjusted_rand_score(planted[mask], labels[mask]),
                    adjusted_rand_score(planted, labels),
                    len(result.segments),
                )
            )
    finally:
        pl._retrieve_pool, seg.cluster_audience = original_pool, original_cluster
    return out


# --- main ------------------------------------------------------------------------------------------------


def run_ingest(shop_root: Path) -> None:
    """Import the real reviews into a fresh shop folder and time a cold ingest into an empty store."""
    if shop_root.exists():
        shutil.rmtree(shop_root)
    started = time.perf_counter()
    shop, import_report = import_shop(shop_root, reviews=DATASET, column_map="clothing_reviews", name="clothing")
    figure("import_seconds_23k", f"{time.perf_counter() - started:.1f}")
    for line in import_report.summary().splitlines():
        note(f"import: {line}")
    store = open_review_store(shop)
    load_before, cpu_before = loadavg(), cpu_seconds()
    started = time.perf_counter()
    report = ingest_reviews(shop, store, progress=progress("ingest"))
    seconds = time.perf_counter() - started
    figure("ingest_seconds_23k", f"{seconds:.1f}")
    figure("ingest_reviews_embedded", report.embedded)
    figure("ingest_reviews_per_s", f"{report.embedded / seconds:.1f}")
    figure("ingest_peak_rss_mb", f"{peak_rss_mb():.0f}")
    figure("ingest_cpu_seconds", f"{cpu_seconds() - cpu_before:.1f}")
    note(
        f"ingest: loadavg {load_before} -> {loadavg()}; stored {report.stored:,}, skipped empty "
        f"{report.skipped_empty}, PII redactions {report.pii_redactions} in {report.reviews_redacted} "
        f"reviews, injection suspected {report.injection_suspected}"
    )


def run_reingest(shop_root: Path) -> tuple[Shop, ReviewStore]:
    """Time loading the unchanged shop and ingesting it again (a skip); return the shop and its store."""
    load_before = loadavg()
    started = time.perf_counter()
    shop = load_shop(shop_root)
    store = open_review_store(shop)
    call_started = time.perf_counter()
    again = ingest_reviews(shop, store)
    done = time.perf_counter()
    if not again.skipped_unchanged:
        raise RuntimeError(f"re-ingest of the unchanged shop was not skipped: {again}")
    figure("reingest_seconds", f"{done - started:.2f}")
    figure("reingest_ingest_call_seconds", f"{done - call_started:.2f}")
    note(f"reingest: loadavg {load_before} -> {loadavg()}")
    return shop, store


def run_server(args: argparse.Namespace, sections: set[str], shop: Shop, stored: tuple, workdir: Path) -> None:
    """The 23k figures on a Chroma server, then the scale test, against one ``chroma run`` process."""
    server = ChromaServer(workdir / "chroma-server")
    try:
        if "server" in sections:
            server_store = open_review_store(shop, server.url)
            if server_store.count() != len(stored[0]):
                copy_to(server_store, *stored)
            confirm = ingest_reviews(shop, server_store)
            note(
                f"server 23k: {server_store.count():,} vectors copied from the embedded store; ingest "
                f"found {confirm.unchanged:,} unchanged, embedded {confirm.embedded}"
            )
            report_latency("server 23k", "23k_server", shop, server_store, args.queries)
        if "scale" in sections and args.vectors > 0:
            load_before = loadavg()
            scale_store, build_seconds = build_scale_collection(shop, server, args.vectors, stored)
            label = f"{args.vectors // 1_000_000}m" if args.vectors % 1_000_000 == 0 else str(args.vectors)
            if build_seconds is not None:
                figure(f"build_seconds_{label}_server", f"{build_seconds:.0f}")
                note(f"scale build: loadavg {load_before} -> {loadavg()}; noise sigma {NOISE_SIGMA}")
            figure(f"scale_vectors_{label}", scale_store.count())
            report_latency(f"server {label}", f"{label}_server", None, scale_store, args.scale_queries)
            figure(f"server_peak_rss_mb_{label}", f"{server.peak_rss_mb():.0f}")
    finally:
        server.stop()


def run_ari(workdir: Path) -> None:
    load_before = loadavg()
    per_seed = {seed: demo_ari(workdir / f"demo-{seed}", seed) for seed in DEMO_SEEDS}
    main_seed = per_seed[DEMO_SEEDS[0]]
    figure("segment_ari_demo", f"{np.mean([r[0] for r in main_seed]):.3f}")
    figure("segment_ari_demo_min", f"{np.min([r[0] for r in main_seed]):.3f}")
    figure("segment_ari_demo_with_background", f"{np.mean([r[1] for r in main_seed]):.3f}")
    for seed in DEMO_SEEDS[1:]:
        figure(f"segment_ari_demo_seed{seed}", f"{np.mean([r[0] for r in per_seed[seed]]):.3f}")
    for seed, rows in per_seed.items():
        per_brief = "; ".join(f"{a:.2f}/{b:.2f}/{k}" for a, b, k in rows)
        note(f"demo seed {seed}, per brief (ARI planted / with background / segments): {per_brief}")
    note(f"ari: loadavg {load_before} -> {loadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=1_000_000, help="vectors in the scale test (0: skip)")
    parser.add_argument("--queries", type=int, default=120, help="timed retrievals per 23k store")
    parser.add_argument("--scale-queries", type=int, default=60, help="timed retrievals at --vectors")
    parser.add_argument("--workdir", type=Path, help="scratch folder, kept afterwards (default: a temp dir)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {SECTIONS}")
    args = parser.parse_args()
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    if sections - set(SECTIONS):
        parser.error(f"unknown section(s) {sorted(sections - set(SECTIONS))}; choose from {SECTIONS}")
    real = {"ingest", "latency", "server", "scale", "quality"}
    if sections & real and not DATASET.is_file():
        print(f"# skipped: real reviews file absent: {DATASET} (see /work/shared/datasets/SOURCES.md)")
        sections -= real
        if not sections:
            return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-profiles-"))
    workdir.mkdir(parents=True, exist_ok=True)
    threads = os.environ.get("CAMPAIGN_PLANNER_EMBED_THREADS", "1 (default)")
    note(
        f"workdir {workdir}; {os.cpu_count()} CPUs; embedding precision {embedding_precision()}; "
        f"{embedding_workers()} embedding workers x {threads} torch thread(s)"
    )
    try:
        if sections & real:
            shop_root = workdir / "clothing"
            if "ingest" in sections or not (shop_root / ".chroma").is_dir():
                run_ingest(shop_root)
            shop, store = run_reingest(shop_root)
            if "latency" in sections:
                report_latency("embedded 23k", "23k_embedded", shop, store, args.queries)
            if sections & {"server", "scale", "quality"}:
                stored = all_stored(store)
                if "quality" in sections:
                    report_quality(store, stored)
                if sections & {"server", "scale"}:
                    run_server(args, sections, shop, stored, workdir)
        if "ari" in sections:
            run_ari(workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
