"""Fuzz the HTTP API from its own OpenAPI document with schemathesis (bounded, derandomized: a few seconds).

Every operation in ``/openapi.json`` gets schema-valid and schema-invalid requests, each sent twice with a
valid ``X-API-Key`` (so they reach the handlers, not just the 401): once as generated, and once with the
path's ``thread_id``/``run_id`` replaced by a thread and a run that exist for that key (random ids only
ever reach the 404). Two properties must hold for every response: no 5xx, and no leaked internals (no
``Traceback``, no server-side file path). Runs that valid bodies start fail at once (the model factory
refuses), so the test plans nothing; ``bench/fuzz_api.py`` is the longer fuzz with plans that succeed.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed: pip install -e '.[dev]' (the fuzz test needs it)")

from hypothesis import HealthCheck, settings  # noqa: E402  (schemathesis brings hypothesis)
from schemathesis.checks import not_a_server_error  # noqa: E402

from campaign_planner.api import ApiConfig, create_app, hash_api_key  # noqa: E402
from campaign_planner.settings import Settings, load_settings  # noqa: E402

KEY = "cpk_fuzz-key"
HEADERS = {"X-API-Key": KEY}
BRIEF = "Summer dress launch for women 25-40, $50,000 over 4 weeks, email and Instagram, 15% off."
_REPO = str(Path(__file__).resolve().parents[1])
_TRACE_MARKERS = ("Traceback", 'File "', "site-packages", sys.prefix, _REPO)


def refusing_model(settings: Settings) -> SimpleNamespace:
    """A model factory that fails the run at once: the fuzz exercises the API, not the planner."""
    raise RuntimeError("fuzz: this server plans nothing")


def leaked_internals(text: str, request_text: str, server_paths: tuple[str, ...]) -> str | None:
    """Return the first stack-trace marker or server-side path in a response body that the request did not
    itself contain (a refusal may quote the client's own input), else None."""
    for marker in (*_TRACE_MARKERS, *server_paths):
        if marker and marker in text and marker not in request_text:
            return marker
    match = re.search(r"(?:/[\w.-]+){2,}\.py\b", text)
    if match and match.group(0) not in request_text:
        return match.group(0)
    return None


def no_leaked_internals(server_paths: tuple[str, ...]) -> Any:
    """A schemathesis check: the body carries no stack trace and no server-side path."""

    def check(ctx: Any, response: Any, case: Any) -> None:
        body = response.content.decode("utf-8", "replace")
        sent = response.request.body or b""
        request_text = f"{response.request.url} {sent.decode('utf-8', 'replace') if isinstance(sent, bytes) else sent}"
        leaked = leaked_internals(body, request_text, server_paths)
        assert leaked is None, (f"{case.operation.label} answered {response.status_code} leaking {leaked!r}: "
                                f"{body[:500]}")

    check.__name__ = "no_leaked_internals"
    return check


def substitute_ids(case: Any, ids: dict[str, str]) -> bool:
    """Point the case's path parameters at existing objects; return whether it had any to replace."""
    params = case.path_parameters or {}
    hit = False
    for name, value in ids.items():
        if name in params:
            params[name] = value
            hit = True
    return hit


def _openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, from a throwaway app (the schema must exist when pytest collects the test;
    schemathesis' ``pytest.from_fixture`` fails on pytest 9, which dropped ``Node._nodeid``)."""
    with tempfile.TemporaryDirectory(prefix="cp-fuzz-schema-") as directory:
        app = create_app(load_settings(data_dir=Path(directory), backend="fake"), model_factory=refusing_model,
                         api_key_hashes=[hash_api_key(KEY)])
        try:
            return app.openapi()
        finally:
            app.state.api.manager.shutdown()


schema = schemathesis.openapi.from_dict(_openapi_document())


@pytest.fixture
def fuzz_app(tmp_path: Path, demo_shop_dir: Path) -> Iterator[SimpleNamespace]:
    # One app per operation: schemathesis' pytest plugin ends an ASGI app's lifespan (which stops its run
    # workers for good) when each test item ends.
    data = tmp_path / "data"
    app_settings = load_settings(data_dir=data, shop_dir=demo_shop_dir, backend="fake")
    # A high rate limit: the fuzz would otherwise spend most requests on 429 after the first 30 POSTs.
    app = create_app(app_settings, model_factory=refusing_model, api_key_hashes=[hash_api_key(KEY)],
                     config=ApiConfig(rate_per_minute=100_000, shutdown_grace_s=1.0))
    client = schemathesis.python.asgi.get_client(app)
    with client:
        thread_id = client.post("/threads", headers=HEADERS).json()["thread_id"]
        run = client.post(f"/threads/{thread_id}/runs", headers=HEADERS, json={"brief": BRIEF})
        assert run.status_code == 202, run.text
    ids = {"thread_id": thread_id, "run_id": run.json()["run_id"]}
    yield SimpleNamespace(app=app, ids=ids, checks=[not_a_server_error, no_leaked_internals(
        (str(data), str(demo_shop_dir)))])
    app.state.api.manager.shutdown()


@schema.parametrize()
@settings(max_examples=15, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_fuzz_no_server_errors_no_leaks(case: Any, fuzz_app: SimpleNamespace) -> None:
    case.call_and_validate(headers=HEADERS, checks=fuzz_app.checks, app=fuzz_app.app)
    if substitute_ids(case, fuzz_app.ids):
        case.call_and_validate(headers=HEADERS, checks=fuzz_app.checks, app=fuzz_app.app)


def test_leak_detector() -> None:
    assert leaked_internals('Traceback (most recent call last):\n  File "/x/app.py"', "", ()) == "Traceback"
    assert leaked_internals("error in /srv/app/campaign_planner/api/routes.py", "", ()) is not None
    assert leaked_internals("shop '/etc/x' is outside", "shop /etc/x", ("/srv/data",)) is None
    assert leaked_internals("folders: /srv/data", "", ("/srv/data",)) == "/srv/data"
