"""Bounded request heads: 431 for too many or too large headers, before they cost memory.

Two layers, because an ASGI middleware only sees headers the server has already buffered:

* the server: ``serve`` runs uvicorn on its h11 protocol with ``h11_max_incomplete_event_size`` set to
  :data:`SERVER_MAX_HEAD_BYTES` (uvicorn's default httptools parser has no limit: 32 MB heads were taken),
  and :class:`OversizedHeadH11Protocol` answers h11's "head too large" with 431 instead of uvicorn's 400;
* the app: :class:`HeaderLimitMiddleware` refuses heads over :data:`MAX_HEADER_BYTES` or with more than
  :data:`MAX_HEADER_COUNT` fields with a problem+json 431, whatever server runs the app.
"""

from __future__ import annotations

from typing import Any

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from campaign_planner.api.errors import problem_response

# nginx's default allows 4 x 8 KiB header buffers; 32 KiB total and 100 fields fit any real client.
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_COUNT = 100
# The server's hard cap on a request head (request line + headers) held in memory per connection.
SERVER_MAX_HEAD_BYTES = 64 * 1024


class HeaderLimitMiddleware:
    """ASGI middleware: 431 (problem+json) when a request's headers exceed ``max_bytes`` in total (names,
    values and their separators) or number more than ``max_count``."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_HEADER_BYTES, max_count: int = MAX_HEADER_COUNT) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_count = max_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers") or []
            size = sum(len(name) + len(value) + 4 for name, value in headers)  # ": " and CRLF
            if len(headers) > self.max_count:
                detail = f"too many request headers: {len(headers)}; the limit is {self.max_count}"
            elif size > self.max_bytes:
                detail = f"request headers too large: {size} bytes; the limit is {self.max_bytes}"
            else:
                detail = ""
            if detail:
                await problem_response(431, detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class OversizedHeadH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering a head over the h11 buffer limit with 431 (h11's own hint) rather
    than a 400 that tells the client nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_too_large = False
        next_event = self.conn.next_event

        def watched_next_event() -> Any:
            try:
                return next_event()
            except h11.RemoteProtocolError as exc:
                self._head_too_large = exc.error_status_hint == 431
                raise

        self.conn.next_event = watched_next_event  # type: ignore[method-assign]

    def send_400_response(self, msg: str) -> None:
        """Send 431 for an oversized head, uvicorn's 400 for any other malformed request."""
        if not self._head_too_large:
            super().send_400_response(msg)
            return
        body = b"request head too large\n"
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                   (b"content-length", str(len(body)).encode())]
        self.transport.write(self.conn.send(h11.Response(status_code=431, headers=headers,
                                                         reason=b"Request Header Fields Too Large")))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()


# Longer than clients' own idle expiry (httpx: 5 s, uvicorn's default too): a server that closes an idle
# keep-alive connection at the moment the client reuses it resets that request (seen in bursts).
KEEP_ALIVE_S = 30


def server_options() -> dict[str, Any]:
    """Return the uvicorn ``Config`` options of ``serve`` (for ``uvicorn.run(app, **...)``): bounded request
    heads answered with 431, and a keep-alive longer than clients' idle expiry."""
    return {"http": OversizedHeadH11Protocol, "h11_max_incomplete_event_size": SERVER_MAX_HEAD_BYTES,
            "timeout_keep_alive": KEEP_ALIVE_S}
