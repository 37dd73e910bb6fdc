"""A weak real model (SmolLM2-135M through llama.cpp) still yields a complete plan that validates.

Its unusable outputs must surface as `degraded_output` flags, never as plausible-looking content.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from campaign_planner.data.shop import load_shop
from campaign_planner.llm import ChatModelHandle, make_chat_model
from campaign_planner.local_model import ModelUnavailableError, ServerOptions, shutdown_servers, smollm2_path
from campaign_planner.planning import make_context, run_plan
from campaign_planner.settings import load_settings

pytestmark = pytest.mark.integration

BRIEF = ("We're launching our new summer dress collection. Target women aged 25-40 who care about fit. "
         "Total budget $50,000 over 4 weeks. Use email, Instagram and paid search. Offer: 15% off first order.")


@pytest.fixture(scope="module")
def smollm2() -> Iterator[ChatModelHandle]:
    try:
        path = smollm2_path()
    except ModelUnavailableError as exc:
        pytest.skip(str(exc))
    yield make_chat_model(f"gguf:{path}", allow_real=True, env={}, server_options=ServerOptions(n_threads=1))
    shutdown_servers()


def test_weak_model_plan_is_complete_valid_and_labelled(smollm2: ChatModelHandle, demo_shop_dir: Path,
                                                       tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, shop_dir=demo_shop_dir, max_segments=2)
    context = make_context(settings, model_handle=smollm2, shop=load_shop(demo_shop_dir))
    saver = SqliteSaver(sqlite3.connect(str(tmp_path / "c.sqlite"), check_same_thread=False))
    plan = run_plan(BRIEF, context, saver, thread_id="smollm2").plan
    assert plan is not None
    codes = plan.flag_codes()
    assert "validation_failed" not in codes, [f.message for f in plan.flags]
    assert plan.segments and plan.messaging and plan.forecast and plan.budget is not None
    assert abs(sum(a.spend for a in plan.budget.allocations) - 50_000) < 0.01
    assert {a.channel for a in plan.budget.allocations} <= {"email", "instagram", "search"}
    # Every copy variant shown passes its channel's rules: the model's, repaired, or labelled fallback.
    for messaging in plan.messaging:
        assert all(check.passed for check in messaging.checks), messaging.checks
    degraded = [m for m in plan.messaging if m.degraded]
    if degraded:
        assert "degraded_output" in codes
    assert plan.provenance.llm_calls > 0 and plan.provenance.backend == "gguf"
