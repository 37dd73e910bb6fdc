"""A real Redis server on loopback for tests: the ``redis_url`` session fixture.

Starts Debian's ``redis-server`` (``apt-get install redis-server``; ``.ci/run`` installs it) on a free port of
127.0.0.1 with persistence off and its files in a temporary folder, waits (bounded) until it answers PING,
yields ``redis://127.0.0.1:PORT/0`` and stops it at the end of the session. Tests that use it are skipped,
with the reason, where ``redis-server`` is not installed or does not start in time.

Import the fixture into a test module (``from tests.redis_server import redis_url``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from tests.postgres_server import ServerUnavailable, free_port

STARTUP_TIMEOUT_S = 20.0


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def running_redis() -> Iterator[str]:
    """Start a throwaway Redis server on 127.0.0.1; yield its URL, stop it on exit (ServerUnavailable: why not)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("queue tests skipped: redis-server is not installed (Debian: apt-get install "
                                "redis-server)")
    folder = tempfile.mkdtemp(prefix="campaign-planner-redis-")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder,
         "--protected-mode", "yes", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers_ping(port):
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise ServerUnavailable(f"redis-server exited at start-up: {error.strip()[:300]}")
            if time.monotonic() > deadline:
                raise ServerUnavailable(f"redis-server did not answer within {STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Yield the URL of a throwaway Redis server on loopback (skip the test where there is none)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(running_redis())
        except ServerUnavailable as exc:
            pytest.skip(str(exc))
        yield url
