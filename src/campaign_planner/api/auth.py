"""API keys: clients send ``X-API-Key``; the server keeps only the keys' SHA-256 hashes.

A key's hash is also its owner id: every thread belongs to the hash of the key that created it, and
another key sees neither the thread nor its runs (404, so that ids cannot be probed).

Make a key with :func:`generate_api_key` (``python -m campaign_planner.api new-key`` prints one), give the
key to the client and put the hash in ``CAMPAIGN_PLANNER_API_KEY_HASHES`` (comma-separated) or pass it
to ``create_app(..., api_key_hashes=[...])``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from campaign_planner.api.errors import ProblemError

API_KEY_HEADER = "X-API-Key"
API_KEY_HASHES_ENV = "CAMPAIGN_PLANNER_API_KEY_HASHES"
KEY_PREFIX = "cpk_"
_HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ApiKey",
    description="An API key issued by the server operator; the server stores only its SHA-256 hash.",
    auto_error=False,
)


def hash_api_key(key: str) -> str:
    """Return the lowercase hex SHA-256 of ``key`` (UTF-8): the form in which servers store keys."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_api_key() -> tuple[str, str]:
    """Return a new random key (``cpk_`` + 43 URL-safe characters, 256 bits) and its hash."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_api_key(key)


def parse_key_hashes(values: Iterable[str]) -> frozenset[str]:
    """Validate and normalise key hashes; refuses (ValueError) anything that is not 64 hex digits."""
    hashes: set[str] = set()
    for raw in values:
        value = raw.strip().lower()
        if not value:
            continue
        if not _HASH_PATTERN.match(value):
            raise ValueError(
                f"API key hash {raw.strip()[:12]!r}… is not a SHA-256 hex digest (64 hex digits); "
                "store hash_api_key(key), never the key itself"
            )
        hashes.add(value)
    return frozenset(hashes)


def api_key_hashes_from_env(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """Return the key hashes listed (comma- or whitespace-separated) in ``CAMPAIGN_PLANNER_API_KEY_HASHES``."""
    env = os.environ if env is None else env
    return parse_key_hashes(re.split(r"[,\s]+", env.get(API_KEY_HASHES_ENV, "")))


class ApiKeyAuth:
    """Checks ``X-API-Key`` against the configured hashes and returns the caller's owner id (the hash)."""

    def __init__(self, hashes: Iterable[str]) -> None:
        self._hashes = parse_key_hashes(hashes)
        if not self._hashes:
            raise ValueError(
                "no API keys are configured: pass api_key_hashes=[...] or set "
                f"{API_KEY_HASHES_ENV} to the SHA-256 hash of at least one key "
                "(python -m campaign_planner.api new-key makes a key and its hash)"
            )

    def owner_for(self, key: str | None) -> str | None:
        """Return the owner id for ``key``, or None when it is missing or unknown."""
        if not key:
            return None
        candidate = hash_api_key(key)
        match = None
        for known in self._hashes:  # compare every hash in constant time; there are only a few
            if hmac.compare_digest(candidate, known):
                match = known
        return match


async def authenticated_owner(request: Request, key: str | None = Security(api_key_header)) -> str:
    """FastAPI dependency: the caller's owner id; refuses with 401 when the key is missing or unknown.

    ``async`` because it only hashes and compares in memory: a sync dependency would cost every request a hop
    through the thread pool, which under a burst of submissions waits behind the route handlers."""
    auth: ApiKeyAuth = request.app.state.api.auth
    owner = auth.owner_for(key)
    if owner is None:
        detail = (f"missing {API_KEY_HEADER} header" if not key else "unknown API key")
        raise ProblemError(401, f"{detail}: send a valid key in the {API_KEY_HEADER} header",
                           headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})
    return owner

