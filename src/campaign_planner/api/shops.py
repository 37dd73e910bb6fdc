"""Shops shared by the API's runs: loaded once per folder (reloaded when its files change), and their
review index brought up to date under a per-shop lock, so two concurrent first runs on one shop do not
ingest the same reviews into Chroma at the same time."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from campaign_planner.planning import resolve_shop
from campaign_planner.settings import Settings

Signature = tuple[tuple[str, int, int], ...]


def _signature(directory: Path) -> Signature:
    if not directory.is_dir():
        return ()
    entries = []
    for path in sorted(directory.iterdir()):
        if path.is_file():
            stat = path.stat()
            entries.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


class ShopCache:
    """Loaded shops by folder; a folder whose top-level files changed is loaded again."""

    def __init__(self) -> None:
        self._shops: dict[Path, tuple[Signature, Any]] = {}
        self._lock = threading.Lock()
        self._index_locks: dict[Path, threading.Lock] = {}

    def get(self, settings: Settings) -> Any:
        """Return the shop ``settings`` names (``planning.resolve_shop``: the demo shop is written on first use)."""
        directory = settings.effective_shop_dir.expanduser().resolve()
        with self._lock:
            cached = self._shops.get(directory)
            if cached is not None and cached[0] == _signature(directory):
                return cached[1]
            shop = resolve_shop(settings)
            self._shops[directory] = (_signature(directory), shop)
            return shop

    def review_store(self, shop: Any, settings: Settings) -> Any:
        """Open the shop's review store and ingest its reviews (a no-op when unchanged), one run at a time."""
        from campaign_planner.vectorstore.ingest import ingest_reviews
        from campaign_planner.vectorstore.store import open_review_store

        directory = Path(shop.root).resolve()
        with self._lock:
            lock = self._index_locks.setdefault(directory, threading.Lock())
        with lock:
            store = open_review_store(shop, settings.chroma_url)
            ingest_reviews(shop, store)
        return store
