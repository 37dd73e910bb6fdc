"""Retry policy of the tool nodes: a dropped connection to a real Chroma server is retried and the run
finishes; a tool's own error is not retried."""

from __future__ import annotations

import csv
import shutil
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from campaign_planner.data.shop import load_shop
from campaign_planner.graphs.retries import is_connection_error
from campaign_planner.planning import make_context, open_checkpointer, run_plan
from campaign_planner.settings import load_settings
from campaign_planner.vectorstore.ingest import ingest_reviews
from campaign_planner.vectorstore.store import open_review_store
from tests.chroma_server import chroma_server_url  # noqa: F401  (pytest fixture)
from tests.fake_planner_model import competent_model

BRIEF = "Summer dress launch for women 25-40, $50k over 4 weeks, email + Instagram + search, 15% off."


class FlakyProxy:
    """A TCP proxy on loopback in front of ``target``: while ``failures`` is above 0, it cuts every live
    connection and closes each new one at once (a server restart, as a client sees it)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.failures = 0
        self.cut = 0
        self._live: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def fail_next(self, count: int) -> None:
        with self._lock:
            self.failures = count
            for conn in self._live:  # pooled keep-alive connections die too
                conn.close()
            self._live.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self.failures > 0:
                    self.failures -= 1
                    self.cut += 1
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    client.close()  # RST: the request gets no answer
                    continue
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                self._live += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (source, sink):
                try:
                    conn.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def small_shop(demo_shop_dir: Path, tmp_path: Path) -> Path:
    """The demo shop with its first 300 reviews (quick to index on the Chroma server)."""
    target = tmp_path / "shop"
    shutil.copytree(demo_shop_dir, target, ignore=shutil.ignore_patterns(".chroma", ".cache*"))
    with (demo_shop_dir / "reviews.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with (target / "reviews.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows[:301])
    return target


def test_a_dropped_chroma_connection_is_retried_and_the_run_finishes(
        small_shop: Path, tmp_path: Path, chroma_server_url: str) -> None:  # noqa: F811
    shop = load_shop(small_shop)
    ingest_reviews(shop, open_review_store(shop, chroma_server_url))
    proxy = FlakyProxy(int(chroma_server_url.rsplit(":", 1)[1]))
    try:
        url = f"http://127.0.0.1:{proxy.port}"
        settings = load_settings(data_dir=tmp_path / "data", shop_dir=small_shop, chroma_url=url, backend="fake")
        handle = SimpleNamespace(model=competent_model(), backend="fake", model_name="scripted-fake")
        context = make_context(settings, model_handle=handle, shop=shop)
        context.review_store = open_review_store(shop, url)
        proxy.fail_next(1)  # the profile lookup's first request to the server gets no answer
        with open_checkpointer(settings) as checkpointer:
            outcome = run_plan(BRIEF, context, checkpointer, thread_id="retry-1")
    finally:
        proxy.close()
    assert proxy.cut == 1, "the proxy never cut a connection: the test did not exercise a failure"
    assert outcome.plan is not None and outcome.plan.segments
    lookups = [r for r in outcome.state["tool_log"] if r["tool"] == "profile_lookup"]
    assert len(lookups) == 1 and lookups[0]["ok"]


def test_only_connection_errors_are_retried() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:1/")
    assert is_connection_error(httpx.ConnectError("refused", request=request))
    assert is_connection_error(ConnectionResetError())
    try:
        try:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        except httpx.RemoteProtocolError as inner:
            raise ValueError("Chroma wrapped it") from inner
    except ValueError as wrapped:
        assert is_connection_error(wrapped)
    assert not is_connection_error(ValueError("campaign history has no 'treatment' column"))
    assert not is_connection_error(KeyError("profile"))
