"""A real Chroma server on loopback for tests: the ``chroma_server_url`` session fixture.

Starts ``chroma run`` (the CLI installed with the ``chromadb`` package, so no network is needed) on a
free port of 127.0.0.1 with its data in a temporary folder, waits (bounded) for its heartbeat, yields
``http://127.0.0.1:PORT`` and stops the server at the end of the session. Skips the tests that use it,
with the reason, when the CLI cannot be found or the server does not answer in time.

Import the fixture into a test module (``from tests.chroma_server import chroma_server_url``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.postgres_server import ServerUnavailable, free_port

STARTUP_TIMEOUT_S = 30.0
HEARTBEAT_PATH = "/api/v2/heartbeat"


def _chroma_command() -> list[str] | None:
    """Return the command that runs Chroma's CLI, preferring the script next to this interpreter."""
    beside = Path(sys.executable).parent / "chroma"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("chroma")
    if found:
        return [found]
    try:
        import chromadb.cli.cli  # noqa: F401  (the CLI module has no ``__main__``; call its app)
    except Exception:
        return None
    return [sys.executable, "-c", "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; app()"]


def _heartbeat_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + HEARTBEAT_PATH, timeout=1.0) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _log_tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no server log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def running_chroma(data_dir: Path) -> Iterator[str]:
    """Start ``chroma run`` on 127.0.0.1 with its data in ``data_dir``; yield its URL, stop it on exit
    (ServerUnavailable: why it could not start)."""
    command = _chroma_command()
    if command is None:
        raise ServerUnavailable("Chroma server tests skipped: no `chroma` CLI found (is chromadb installed?)")
    log_path = data_dir.parent / f"{data_dir.name}.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(
                [*command, "run", "--path", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except OSError as exc:
            raise ServerUnavailable(f"Chroma server tests skipped: cannot start {command[0]!r}: {exc}") from exc
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _heartbeat_ok(url):
            if proc.poll() is not None:
                raise ServerUnavailable(
                    f"Chroma server tests skipped: the server exited with code {proc.returncode} "
                    f"before answering {HEARTBEAT_PATH}; log tail:\n{_log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise ServerUnavailable(
                    f"Chroma server tests skipped: no heartbeat from {url} within {STARTUP_TIMEOUT_S:.0f}s; "
                    f"log tail:\n{_log_tail(log_path)}"
                )
            time.sleep(0.2)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def chroma_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield the URL of a Chroma server started for this test session on 127.0.0.1 (or skip)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(running_chroma(tmp_path_factory.mktemp("chroma-server")))
        except ServerUnavailable as exc:
            pytest.skip(str(exc))
        yield url
