"""Fuzz the HTTP API from its OpenAPI document with schemathesis, longer than the test does; prints figures.

Run: ``/work/venv/bin/python bench/fuzz_api.py`` (``--examples 300`` per operation and generation mode by
default: about 3 minutes on 2 shared cores). Prints ``name=value`` lines; notes start with ``#``.

The app is the product's ``create_app`` in this process (schemathesis' ASGI transport), with the demo shop
(its reviews embedded beforehand), SQLite checkpoints and the competent scripted fake model: runs that a
valid request starts really plan in the background while the fuzz goes on, so ids it reaches move through
pending, running, succeeded, interrupted, cancelled and continued states. Before fuzzing it seeds, for the
fuzz key: a thread whose run succeeded, a thread whose run waits for review, an idle thread, and a run that a
"previous process" left running (the app marks it failed; it can be continued).

Every generated case (schemathesis' positive and negative modes, ``--examples`` each per operation) is sent
three times: as generated (its own random ``X-API-Key``: the 401 path), with the fuzz key, and with the fuzz
key and the path's ``thread_id``/``run_id`` pointed at the seeded objects (in turn). Each response is checked
for a 5xx (``not_a_server_error``) and for leaked internals (``Traceback``, a server path: see
``tests/test_api_fuzz.py``). ``fuzz_requests`` counts the requests sent, ``fuzz_5xx`` the 5xx answers,
``fuzz_leaks`` the bodies with leaked internals. ``--conformance`` also runs schemathesis' other default checks
(status codes and bodies against the document, ...) on the fuzz-key responses and counts their failures
by check (notes only: these are documentation gaps, not crashes).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS", "1")
os.environ.setdefault("CAMPAIGN_PLANNER_CONFIG", os.devnull)

import argparse
import collections
import logging
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.*

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from tests.fake_planner_model import competent_model
from tests.test_api_fuzz import leaked_internals

from campaign_planner.api import ApiConfig, create_app, hash_api_key
from campaign_planner.api.runner import request_fingerprint
from campaign_planner.api.schemas import RunCreate
from campaign_planner.api.shops import ShopCache
from campaign_planner.api.store import ApiStore
from campaign_planner.data.demo import write_demo_shop
from campaign_planner.settings import load_settings

KEY = "cpk_fuzz-bench-key"
HEADERS = {"X-API-Key": KEY}
BRIEF = ("We're launching our new summer dress collection. Target women aged 25-40 who care about fit. "
         "Total budget $50,000 over 4 weeks. Use email, Instagram and paid search. Offer: 15% off first order.")


def loadavg() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "n/a"


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def wait_for(client: Any, run_id: str, statuses: tuple[str, ...], timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        run = client.get(f"/runs/{run_id}", headers=HEADERS).json()
        if run["status"] in statuses or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def build(root: Path) -> tuple[Any, list[dict[str, str]], tuple[str, ...]]:
    """Return the app, the seeded ``{thread_id, run_id}`` targets and the server paths a body must not show."""
    shop_dir = root / "shop"
    write_demo_shop(shop_dir)
    app_settings = load_settings(data_dir=root / "data", shop_dir=shop_dir, cache_dir=root / "cache", backend="fake")
    started = time.perf_counter()
    cache = ShopCache()
    cache.review_store(cache.get(app_settings), app_settings)
    note(f"demo shop reviews embedded in {time.perf_counter() - started:.1f} s (untimed)")

    # A run a "previous process" left running: the new app marks it failed, and it can be continued.
    store = ApiStore(app_settings.data_dir / "api.sqlite")
    owner = hash_api_key(KEY)
    orphan_thread = store.create_thread(owner)
    request = RunCreate(brief=BRIEF)
    orphan = store.create_run(thread_id=orphan_thread.thread_id, owner=owner, request=request.model_dump(mode="json"),
                              request_hash=request_fingerprint(request), idempotency_key=None)
    store.transition(orphan.run_id, {"pending"}, status="running", started_at=time.time())

    def models(_: Any) -> SimpleNamespace:
        return SimpleNamespace(model=competent_model(), backend="fake", model_name="scripted-fake")

    app = create_app(app_settings, model_factory=models, api_key_hashes=[owner],
                     config=ApiConfig(rate_per_minute=1e9, burst=10**9, shutdown_grace_s=5.0))
    targets = [{"thread_id": orphan_thread.thread_id, "run_id": orphan.run_id}]
    with schemathesis.python.asgi.get_client(app) as client:
        for review in (False, True):
            thread_id = client.post("/threads", headers=HEADERS).json()["thread_id"]
            run = client.post(f"/threads/{thread_id}/runs", headers=HEADERS, json={"brief": BRIEF, "review": review})
            assert run.status_code == 202, run.text
            final = wait_for(client, run.json()["run_id"], ("succeeded", "interrupted", "failed"))
            assert final["status"] == ("interrupted" if review else "succeeded"), final
            targets.append({"thread_id": thread_id, "run_id": final["run_id"]})
        idle = client.post("/threads", headers=HEADERS).json()["thread_id"]
        targets.append({"thread_id": idle, "run_id": targets[0]["run_id"]})
    return app, targets, (str(root), str(shop_dir))


class Tally:
    def __init__(self, server_paths: tuple[str, ...]) -> None:
        self.server_paths = server_paths
        self.requests = 0
        self.server_errors: list[str] = []
        self.leaks: list[str] = []
        self.statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self.conformance: collections.Counter[str] = collections.Counter()
        self.conformance_examples: dict[str, str] = {}

    def send(self, case: Any, app: Any, headers: dict[str, str] | None, conformance: bool, variant: str) -> None:
        try:
            response = case.call(headers=headers, app=app)
        except Exception as exc:  # an exception escaping the app would be a crash too
            self.requests += 1
            self.server_errors.append(f"{case.operation.label}: {type(exc).__name__}: {exc}"[:300])
            return
        self.requests += 1
        self.statuses[variant][response.status_code] += 1
        label = f"{case.operation.label} -> {response.status_code}"
        if response.status_code >= 500:
            self.server_errors.append(f"{label}: {response.content[:200]!r} (case {case.as_curl_command()[:300]})")
        sent = response.request.body or b""
        request_text = f"{response.request.url} {sent.decode('utf-8', 'replace') if isinstance(sent, bytes) else sent}"
        leaked = leaked_internals(response.content.decode("utf-8", "replace"), request_text, self.server_paths)
        if leaked is not None:
            self.leaks.append(f"{label}: {leaked!r}")
        if conformance:
            try:
                case.validate_response(response, headers=headers, excluded_checks=[not_a_server_error],
                                       transport_kwargs={"app": app})
            except FailureGroup as group:
                for failure in group.exceptions:
                    title = getattr(failure, "title", type(failure).__name__)
                    self.conformance[title] += 1
                    self.conformance_examples.setdefault(title, f"{label}: {getattr(failure, 'message', '')}"[:240])
            except Exception as exc:
                self.conformance[f"check error {type(exc).__name__}"] += 1


def fuzz(app: Any, targets: list[dict[str, str]], tally: Tally, examples: int, rng_seed: int,
         conformance: bool) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    turn = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            started, before = time.perf_counter(), tally.requests

            @seed(rng_seed)
            @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def explore(case: Any) -> None:
                nonlocal turn
                tally.send(case, app, None, False, "generated")
                tally.send(case, app, HEADERS, conformance, "fuzz key")
                params = case.path_parameters or {}
                target = targets[turn % len(targets)]
                turn += 1
                if any(name in params for name in target):
                    for name, value in target.items():
                        if name in params:
                            params[name] = value
                    tally.send(case, app, HEADERS, conformance, "fuzz key, seeded ids")

            try:
                explore()
            except Unsatisfiable:  # nothing to make invalid (GET /healthz has no parameters)
                note(f"{operation.label} {mode.value}: no such cases")
                continue
            note(f"{operation.label} {mode.value}: {tally.requests - before} requests in "
                 f"{time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description="Fuzz the API (see the module docstring)")
    parser.add_argument("--examples", type=int, default=300, help="examples per operation and generation mode")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--conformance", action="store_true", help="also count schemathesis' conformance checks")
    args = parser.parse_args()
    logging.getLogger("campaign_planner.api").setLevel(logging.CRITICAL)  # runs failing on fuzzed briefs: expected

    note(f"loadavg at start {loadavg()}; schemathesis {schemathesis.__version__}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cp-fuzz-api-") as tmp:
        app, targets, server_paths = build(Path(tmp))
        tally = Tally(server_paths)
        try:
            fuzz(app, targets, tally, args.examples, args.seed, args.conformance)
        finally:
            schemathesis.python.asgi.shutdown_lifespans()
            app.state.api.manager.shutdown()
    print(f"fuzz_requests={tally.requests}")
    print(f"fuzz_5xx={len(tally.server_errors)}")
    print(f"fuzz_leaks={len(tally.leaks)}")
    for variant, counts in tally.statuses.items():
        note(f"statuses ({variant}): " + ", ".join(f"{code}={n}" for code, n in sorted(counts.items())))
    for line in tally.server_errors[:10] + tally.leaks[:10]:
        note(line)
    for title, n in tally.conformance.most_common():
        note(f"conformance {title}: {n} (e.g. {tally.conformance_examples.get(title, '')})")
    note(f"examples={args.examples} seed={args.seed}; {time.perf_counter() - started:.0f} s; "
         f"loadavg at end {loadavg()}")


if __name__ == "__main__":
    main()
