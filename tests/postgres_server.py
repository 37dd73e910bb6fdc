"""A real PostgreSQL server on loopback for tests: the ``postgres_server`` and ``postgres_url`` fixtures.

``postgres_server`` (session) runs ``initdb`` in a new temporary folder and starts ``postgres`` on a free
port of 127.0.0.1 (its unix socket in that folder too, trust authentication for loopback only, fsync off:
the data is thrown away), waits (bounded) until it accepts connections, yields its base URL
``postgresql://postgres@127.0.0.1:PORT`` and stops it (fast shutdown) and deletes the folder at the end of
the session. ``postgres_url`` (per test) creates an empty database on that server and yields its URL.

The binaries are looked up in ``$CAMPAIGN_PLANNER_PG_BINDIR``, then Debian's ``/usr/lib/postgresql/N/bin``
(newest N), then ``pg_config --bindir`` and ``PATH``. ``initdb`` refuses to run as root, so as root the
server runs as the ``postgres`` system user (Debian's postgresql package creates it). The tests that use
the fixtures are skipped, with the reason, where the binaries are missing, where root has no ``postgres``
user to run them as, or where the server does not start in time.

Import the fixtures into a test module (``from tests.postgres_server import postgres_server, postgres_url``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

STARTUP_TIMEOUT_S = 60.0
BINDIR_ENV = "CAMPAIGN_PLANNER_PG_BINDIR"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    """A running test server: ``url`` is the base URL (no database); :meth:`database_url` names one."""

    url: str
    port: int
    data_dir: Path

    def database_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def create_database(self, prefix: str = "test") -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.database_url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)


def _bindir() -> Path | None:
    """Return the folder holding initdb and postgres, or None."""
    candidates: list[Path] = []
    if os.environ.get(BINDIR_ENV):
        candidates.append(Path(os.environ[BINDIR_ENV]))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted((p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        candidates.extend(p / "bin" for p in versions)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(found.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "postgres")):
            return folder
    return None


def _run_as() -> dict[str, Any]:
    """Return Popen arguments that drop root to the ``postgres`` user ({} when not root); skip if impossible."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SUPERUSER)
    except KeyError:
        pytest.skip(f"PostgreSQL tests skipped: running as root, and there is no `{SUPERUSER}` system user to run "
                    "initdb and postgres as (initdb refuses root); install Debian's postgresql package or run "
                    "the tests as an ordinary user")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free now (the test servers and benchmarks start on one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no server log)"


def _accepts_connections(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(2)  # SIGINT: PostgreSQL's "fast" shutdown (SIGTERM would wait for clients to leave)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class ServerUnavailable(RuntimeError):
    """A throwaway server could not be started here (the message says why); the fixtures skip with it."""


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL server on 127.0.0.1 and stop it on exit (ServerUnavailable: why not)."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ServerUnavailable("PostgreSQL tests skipped: psycopg is not installed") from exc
    bindir = _bindir()
    if bindir is None:
        raise ServerUnavailable("PostgreSQL tests skipped: no initdb/postgres binaries found (looked in "
                    f"${BINDIR_ENV}, /usr/lib/postgresql/*/bin, pg_config --bindir and PATH); "
                    "install Debian's postgresql package")
    as_user = _run_as()
    # Not under pytest's tmp dir: that is private to the current user, and the server may run as another.
    root = Path(tempfile.mkdtemp(prefix="campaign-planner-pg-"))
    try:
        if as_user:
            os.chown(root, as_user["user"], as_user["group"])
        data_dir, log_path = root / "data", root / "server.log"
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
             "--locale=C", "--no-sync", "--no-instructions"],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=root, **as_user)
        if init.returncode != 0:
            raise ServerUnavailable(f"PostgreSQL tests skipped: initdb failed ({init.returncode}): "
                                    f"{(init.stderr or init.stdout)[-1500:]}")
        port = free_port()
        url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}"
        settings = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(root),
                    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                    "max_connections": "100", "shared_buffers": "32MB"}
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        with log_path.open("wb") as log:
            if as_user:
                os.chown(log_path, as_user["user"], as_user["group"])
            try:
                proc = subprocess.Popen([str(bindir / "postgres"), "-D", str(data_dir), *options], stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root, **as_user)
            except OSError as exc:
                raise ServerUnavailable(f"PostgreSQL tests skipped: cannot start {bindir / 'postgres'}: {exc}") \
                    from exc
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not _accepts_connections(f"{url}/postgres"):
                if proc.poll() is not None:
                    raise ServerUnavailable(f"PostgreSQL tests skipped: the server exited with code {proc.returncode} "
                                            f"before accepting connections; log tail:\n{_log_tail(log_path)}")
                if time.monotonic() > deadline:
                    raise ServerUnavailable(f"PostgreSQL tests skipped: {url} did not accept connections within "
                                            f"{STARTUP_TIMEOUT_S:.0f}s; log tail:\n{_log_tail(log_path)}")
                time.sleep(0.2)
            yield PostgresServer(url=url, port=port, data_dir=data_dir)
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Yield a PostgreSQL server started for this test session on 127.0.0.1 (or skip, saying why)."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(running_postgres())
        except ServerUnavailable as exc:
            pytest.skip(str(exc))
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """Return the URL of a new, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database()
