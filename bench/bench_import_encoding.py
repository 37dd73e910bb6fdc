"""What detecting an export's encoding costs: the 23,486 clothing reviews imported (UTF-8, the fast path)
and the same bytes decoded as UTF-8 and, re-encoded as cp1252, through detection.

    PYTHONPATH=src python bench/bench_import_encoding.py [--runs 3]

Prints ``name=value`` lines for docs/benchmarks.md. Run it with another checkout's ``src`` first on the
path to time that checkout's import (the decode lines need this branch's ``data/encoding.py``).
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from campaign_planner.data.column_maps import import_shop

# The shared folder sits beside the checkout (the layout tests/conftest.py reads).
REVIEWS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "womens_clothing_ecommerce_reviews.csv.gz"


def fastest(action: Callable[[], object], runs: int) -> float:
    """Return the fastest of ``runs`` timings of ``action``, in seconds."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    """Print the import and decode timings."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    def one_import() -> None:
        with tempfile.TemporaryDirectory() as folder:
            import_shop(Path(folder) / "shop", reviews=REVIEWS)

    print(f"reviews_import_seconds={fastest(one_import, runs):.3f}")
    try:
        from campaign_planner.data.encoding import decode_export
    except ImportError:
        return
    data = gzip.decompress(REVIEWS.read_bytes())
    cp1252 = data.decode("utf-8").encode("cp1252", errors="replace")
    print(f"reviews_bytes={len(data)}")
    print(f"decode_utf8_ms={fastest(lambda: decode_export(data), 5) * 1e3:.1f}")
    print(f"decode_cp1252_detected_ms={fastest(lambda: decode_export(cp1252), runs) * 1e3:.0f}")
    text, encoding = decode_export(cp1252)
    print(f"cp1252_detected_as={encoding}")
    print(f"cp1252_text_intact={text == cp1252.decode('cp1252')}")


if __name__ == "__main__":
    main()
