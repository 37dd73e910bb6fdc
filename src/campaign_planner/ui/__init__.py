"""The web chat for marketing teams, served by the HTTP API's own FastAPI app (``campaign-planner chat``).

The page (``static/``: HTML, vanilla JavaScript and CSS, no build step, nothing loaded from elsewhere) talks
to the same endpoints as any API client — threads, runs, the SSE stream, resume — so the chat and the API
share one graph, one checkpoint store and one run-record store: a plan started through the API opens in the
chat by its thread id (when the chat uses the key that owns the thread).

Authentication: the chat uses an ordinary API key. :func:`chat_key` keeps one in ``<data_dir>/chat-api-key``
(created on first use, mode 0600); :func:`create_chat_app` accepts it besides the configured key hashes.
The key reaches the browser in the URL's fragment (``/chat#key=…``), which browsers never send to a server,
and the page keeps it in ``sessionStorage``; the page itself holds no secret. The app answers only requests
whose ``Host`` is a loopback name (no DNS rebinding), and the chat command serves on loopback only.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import RedirectResponse
from starlette.middleware.trustedhost import TrustedHostMiddleware

from campaign_planner.api import ApiConfig, create_app, generate_api_key, hash_api_key
from campaign_planner.api.auth import api_key_hashes_from_env
from campaign_planner.api.errors import ProblemError
from campaign_planner.api.runner import ModelFactory
from campaign_planner.render.messages import all_catalogs
from campaign_planner.settings import Settings

CHAT_KEY_FILE = "chat-api-key"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
STATIC_FILES = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8"}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The page runs only its own script; inline styles are allowed for the plan report shown in a sandboxed
frame (a ``srcdoc`` frame inherits the page's policy). Data is never inserted as markup."""
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    """Return True for ``localhost`` and loopback addresses (``127.0.0.1``, ``::1``, ``[::1]``)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def chat_key(data_dir: Path) -> str:
    """Return the chat's API key from ``<data_dir>/chat-api-key``, creating it (mode 0600) on first use.

    The same key across restarts keeps the chat's threads visible to it (threads belong to the key that
    created them). An API client may use it too, to start plans the chat can open.
    """
    path = Path(data_dir) / CHAT_KEY_FILE
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key, _ = generate_api_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    os.chmod(path, 0o600)
    return key


def chat_url(host: str, port: int, key: str) -> str:
    """Return the address that opens the chat already signed in (the key travels in the fragment)."""
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}/chat#key={key}"


@cache
def _static(name: str) -> bytes:
    return resources.files("campaign_planner.ui").joinpath("static", name).read_bytes()


def mount_chat(app: FastAPI) -> None:
    """Add the chat page (``GET /chat``, ``/chat/static/…``; ``/`` redirects there) to an API app."""

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/chat", status_code=307)

    @app.get("/chat", include_in_schema=False)
    def _page() -> Response:
        return Response(_static("index.html"), media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    @app.get("/chat/messages.json", include_in_schema=False)
    def _messages() -> Response:
        # The reports' message catalog (render/messages.py): the page labels plans in the plan's language.
        body = json.dumps(all_catalogs(), ensure_ascii=False).encode("utf-8")
        return Response(body, media_type="application/json; charset=utf-8", headers=SECURITY_HEADERS)

    @app.get("/chat/static/{name}", include_in_schema=False)
    def _asset(name: str) -> Response:
        media_type = STATIC_FILES.get(name)
        if media_type is None:
            raise ProblemError(404, f"no chat asset {name!r}")
        return Response(_static(name), media_type=media_type, headers=SECURITY_HEADERS)


def create_chat_app(
    settings: Settings,
    *,
    model_factory: ModelFactory | None = None,
    config: ApiConfig | None = None,
    key: str | None = None,
    extra_key_hashes: Iterable[str] = (),
    allowed_hosts: Iterable[str] = LOOPBACK_NAMES,
) -> tuple[FastAPI, str]:
    """Return the API app with the chat mounted, and the chat's API key.

    Accepted keys: the chat's own (``key``, default :func:`chat_key` in the data dir), the configured API key
    hashes (``settings.api_key_hashes`` or ``CAMPAIGN_PLANNER_API_KEY_HASHES``) and ``extra_key_hashes``.
    Requests whose ``Host`` is not in ``allowed_hosts`` (loopback names by default) are refused with 400.
    """
    key = key or chat_key(settings.data_dir)
    configured: Any = getattr(settings, "api_key_hashes", None) or api_key_hashes_from_env()
    hashes = {hash_api_key(key), *configured, *extra_key_hashes}
    app = create_app(settings, model_factory=model_factory, api_key_hashes=sorted(hashes), config=config)
    mount_chat(app)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=[h.strip("[]") for h in allowed_hosts] + list(
        allowed_hosts))
    return app, key


__all__ = ["DEFAULT_PORT", "chat_key", "chat_url", "create_chat_app", "is_loopback", "mount_chat"]
