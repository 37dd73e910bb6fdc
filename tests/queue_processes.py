"""Child processes of the queue tests and ``bench/bench_workers.py``: the API server and queue workers of
``bench/fake_api_server.py`` (the product's app and ``QueueWorker`` with the scripted fake model), each in its
own session (so a kill takes its whole process group) and logging to a file; and the workers' tool journal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FAKE_SERVER = REPO / "bench" / "fake_api_server.py"


class FakeServerProcess:
    """``fake_api_server.py`` with ``args`` (an API server, or a queue worker with ``--queue-worker NAME``)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.log_path = folder / f"{name}.log"
        self._log = self.log_path.open("wb")
        # The repository's own source first: a worktree's processes run its code, not an installed copy's.
        path = os.pathsep.join([str(REPO / "src"), str(REPO)])
        self.process = subprocess.Popen([sys.executable, str(FAKE_SERVER), *args],
                                        env={**os.environ, **env, "PYTHONPATH": path}, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    @classmethod
    def queue_worker(cls, name: str, env: dict[str, str], folder: Path, shop: Path, journal: Path,
                     model_delay_ms: int, gate: Path | None = None) -> FakeServerProcess:
        """Start a queue worker executing one run at a time, journaling its tool calls to ``journal``; its
        model calls wait while the file ``gate`` exists."""
        gate_args = ["--gate", str(gate)] if gate is not None else []
        return cls(name, ["--queue-worker", name, "--data-dir", str(folder / f"data-{name}"), "--shop", str(shop),
                          "--workers", "1", "--model-delay-ms", str(model_delay_ms), "--journal", str(journal),
                          *gate_args], env, folder)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_for(self, text: bytes, timeout_s: float = 180.0) -> None:
        """Wait until the log shows ``text`` (a queue worker logs `` ready.``); RuntimeError if it exits or
        times out first."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log_path.read_bytes():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not log {text!r} within {timeout_s:.0f} s: {self.log_tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group (no clean-up runs: a crash)."""
        os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (a queue worker hands its running runs back), then SIGKILL after 30 s."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Return the tool journal's entries (``pid``, ``run_id``, ``tool``, ``phase``: start/end, ``t``)."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a SIGKILL (one os.write per line: not seen in practice)
            continue
    return entries
