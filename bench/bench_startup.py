"""Time a CLI plan's start-up steps one after another, in one fresh process: ``python bench/bench_startup.py
[--preload] [SHOP]`` (default: the demo shop). Prints ``startup_<step>_seconds=…`` lines: the imports, the shop, the
model handle (the local model's server loaded), the review store and its index check, and their total — what
``campaign-planner plan`` does before its first graph step (``cli.plan``). ``--preload`` loads the local model
on a background thread from the start instead, the lever measured in docs/benchmarks.md (not kept: the load
and the imports share the same 2 cores). Run it twice: the first run after a reboot also reads the model
file and the shop from disk."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

_last = time.perf_counter()


def lap(step: str) -> None:
    global _last
    now = time.perf_counter()
    print(f"startup_{step}_seconds={now - _last:.2f}", flush=True)
    _last = now


def main() -> None:
    started = _last
    preload = "--preload" in sys.argv
    arguments = [a for a in sys.argv[1:] if a != "--preload"]
    import campaign_planner.cli
    from campaign_planner.settings import load_settings

    lap("import_cli")
    settings = load_settings(shop_dir=Path(arguments[0]) if arguments else None)
    if preload:
        threading.Thread(target=campaign_planner.cli._model_handle, args=(settings,), daemon=True).start()
    from campaign_planner.planning import resolve_shop

    lap("import_planning")
    shop = resolve_shop(settings)
    lap("shop")
    campaign_planner.cli._model_handle(settings)
    lap("model_handle")
    from campaign_planner.vectorstore.ingest import ingest_reviews
    from campaign_planner.vectorstore.store import open_review_store

    store = open_review_store(shop, settings.chroma_url)
    lap("review_store")
    ingest_reviews(shop, store)
    lap("index_check")
    print(f"startup_total_seconds={time.perf_counter() - started:.2f}")


if __name__ == "__main__":
    main()
