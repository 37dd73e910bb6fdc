"""Bounded requests: oversized or too many headers get 431 from the server as `serve` runs it (uvicorn on
loopback with the h11 limits) and from the app's own guard (TestClient)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from campaign_planner.api.header_limits import MAX_HEADER_BYTES, SERVER_MAX_HEAD_BYTES, server_options
from tests.test_api import _app, _client


@contextmanager
def _serve_like_the_cli(app: FastAPI) -> Iterator[int]:
    """Serve ``app`` on a free loopback port with the options `campaign-planner serve` uses; yield the port."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", **server_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _status(port: int, header_lines: list[str]) -> int:
    """Send a raw GET /healthz with ``header_lines``; return the status code of the answer."""
    head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{h}\r\n" for h in header_lines) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            conn.sendall(head.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole head is sent
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_oversized_and_numerous_headers_get_431_from_the_served_app(tmp_path: Path, demo_shop_dir: Path) -> None:
    with _serve_like_the_cli(_app(tmp_path, demo_shop_dir)) as port:
        assert _status(port, ["X-Note: fine"]) == 200
        huge = _status(port, [f"X-Pad: {'a' * (8 * 1024 * 1024)}"])  # 8 MB: cut off by the server's h11 cap
        print(f"oversized_header_status={huge}")
        assert huge == 431
        assert _status(port, [f"X-Pad: {'a' * (SERVER_MAX_HEAD_BYTES // 2 + 1024)}"]) == 431  # the app's guard
        assert _status(port, [f"X-H{i}: 1" for i in range(150)]) == 431
        assert _status(port, ["X-Note: still serving"]) == 200


@pytest.mark.parametrize("headers", [
    {"X-Pad": "a" * (MAX_HEADER_BYTES + 1)},
    {f"X-H{i}": "1" for i in range(101)},
])
def test_the_app_guard_answers_431_as_problem_json(tmp_path: Path, demo_shop_dir: Path,
                                                   headers: dict[str, str]) -> None:
    with _client(_app(tmp_path, demo_shop_dir)) as client:
        response = client.get("/healthz", headers=headers)
        assert response.status_code == 431
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "header" in response.json()["detail"]
        assert client.get("/healthz", headers={"X-Pad": "a" * 1000}).status_code == 200


def test_opening_threads_spends_none_of_the_plan_rate(tmp_path: Path, demo_shop_dir: Path) -> None:
    A = {"X-API-Key": "cpk_test-key-a"}
    with _client(_app(tmp_path, demo_shop_dir, rate_per_minute=2)) as client:
        assert [client.post("/threads", headers=A).status_code for _ in range(3)] == [201, 201, 429]
        # The run endpoints' bucket is still full: the limiter answers before the (absent) run is looked up.
        statuses = [client.post("/runs/no-such-run/cancel", headers=A).status_code for _ in range(3)]
        assert statuses == [404, 404, 429]
