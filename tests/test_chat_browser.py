"""The chat end to end in a real headless Chromium: Playwright's client drives Debian's chromium
(``/usr/bin/chromium``; no browser is downloaded) against ``create_chat_app`` served by uvicorn on a free
loopback port, with the real API, SQLite stores, the demo shop's tools and the scripted fake model.

A brief is planned, a follow-up revises the draft (copy only), the draft is approved (checked in the run
records and the LangGraph checkpoint), a follow-up after approval moves budget (the diff is shown), a plan
started through the API is opened by its thread id, and the page logs no console error. A screenshot is kept
under ``tests/artifacts/`` (or ``$CAMPAIGN_PLANNER_TEST_ARTIFACTS``). Skipped where chromium or Playwright's
Python package is absent.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from evals.zh_prose import lines_with_english
from langgraph.checkpoint.sqlite import SqliteSaver

from campaign_planner.api import ApiConfig
from campaign_planner.api.store import ApiStore
from campaign_planner.graphs.graph import build_graph
from campaign_planner.settings import load_settings
from campaign_planner.ui import create_chat_app
from tests.test_api import BRIEF, Models, _served
from tests.test_html_report_browser import CHROMIUM, _artifacts_dir

sync_api = pytest.importorskip("playwright.sync_api", reason="the chat's browser test needs playwright (dev extra)")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"the chat's browser test needs Debian's chromium at {CHROMIUM} (apt-get install chromium)",
)

FIRST_PLAN_MS = 300_000  # the first run on a fresh demo shop embeds its 2,400 reviews
STEP_MS = 120_000
HOSTILE = "<b>bold</b> <img src=x onerror=alert(1)>"
ZH_BRIEF = "冬季外套清仓，预算8万元，为期两周，目标50岁以上的顾客，渠道：微信和微博。"


def _wait_until(page: Any, script: str, timeout_ms: int = STEP_MS) -> None:
    page.wait_for_function(script, timeout=timeout_ms)


def _idle_with(page: Any, condition: str, timeout_ms: int = STEP_MS) -> None:
    _wait_until(page, f"() => document.body.dataset.busy === 'false' && ({condition})", timeout_ms)


def test_chat_plans_revises_approves_and_opens_api_threads(tmp_path: Path, demo_shop_dir: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", shop_dir=demo_shop_dir, backend="fake")
    app, key = create_chat_app(settings, model_factory=Models(), config=ApiConfig(shutdown_grace_s=2.0))
    problems: list[str] = []
    dialogs: list[str] = []
    with _served(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(f"{base}/chat#key={key}")
            _wait_until(page, "() => document.body.dataset.ready === 'true'")
            assert "key=" not in page.url  # the key left the address bar for sessionStorage

            # 1. A brief (with markup in it, shown as text) → progress → the draft and the review buttons.
            page.fill("#input", f"{BRIEF} Tone: warm, {HOSTILE}")
            page.click("#send")
            _idle_with(page, "document.body.dataset.runStatus === 'interrupted'", FIRST_PLAN_MS)
            thread_id = page.get_attribute("#thread-label", "data-thread-id")
            assert thread_id
            assert page.locator(".progress li.tool").count() >= 4  # the tools showed up as they were called
            card = page.locator(".plan-card").last
            assert card.locator(".plan-status").inner_text() == "draft"
            assert card.locator("blockquote .rid").count() >= 3  # quotes with their review ids
            assert card.locator("details table tbody tr").count() >= 4  # budget rows (and the forecast)
            assert page.locator("#review-bar").is_visible()
            user_message = page.locator(".message.user").first
            assert HOSTILE in user_message.inner_text()
            assert user_message.locator("b, img").count() == 0  # text, not markup
            assert page.locator(".plan-card img, .plan-card b").count() == 0

            # 2. A follow-up on the draft: only the e-mail copy is rewritten, and the chat shows that.
            page.fill("#input", "Make the email copy shorter")
            page.click("#send")
            _idle_with(page, "document.querySelectorAll('.revision-card').length === 1 "
                             "&& document.body.dataset.runStatus === 'interrupted'")
            revision = page.locator(".revision-card").first
            assert "Re-ran only: copywriter" in revision.locator(".revision-summary").inner_text()
            assert revision.locator(".diff-copy li").count() >= 1
            assert revision.locator(".diff-budget").count() == 0  # the budget did not move

            # 3. Approve: the run record and the checkpoint both hold the approved plan.
            page.click("#approve")
            _idle_with(page, "document.body.dataset.planStatus === 'approved'")
            assert page.locator(".plan-card").last.locator(".plan-status").inner_text() == "approved"
            store = ApiStore(tmp_path / "data" / "api.sqlite")
            runs = store.list_runs(thread_id)
            assert [r.status for r in runs] == ["succeeded"]
            assert runs[0].plan is not None and runs[0].plan["status"] == "approved"
            assert runs[0].decision == {"action": "approve"}
            assert runs[0].revision is not None and runs[0].revision["kinds"] == ["copy"]
            connection = sqlite3.connect(str(tmp_path / "data" / "checkpoints.sqlite"), check_same_thread=False)
            try:
                saved = build_graph(SqliteSaver(connection)).get_state({"configurable": {"thread_id": thread_id}})
            finally:
                connection.close()
            assert saved.values["plan"]["status"] == "approved" and not saved.next

            # 4. A follow-up after approval starts a revising run: $5k moves from search to e-mail.
            page.fill("#input", "Move $5k from search to email")
            page.click("#send")
            _idle_with(page, "document.querySelectorAll('.revision-card').length === 2 "
                             "&& document.body.dataset.runStatus === 'interrupted'")
            moved = page.locator(".revision-card").last
            assert "−$5,000" in moved.locator(".budget-search").inner_text()
            assert "+$5,000" in moved.locator(".budget-email").inner_text()
            assert "Re-ran only: channel_optimizer, forecaster" in moved.locator(".revision-summary").inner_text()
            assert page.locator(".plan-card").last.locator(".plan-status").inner_text() == "draft"
            runs = store.list_runs(thread_id)
            assert [r.status for r in runs] == ["succeeded", "interrupted"] and runs[1].request["follow_up"]

            # The full report (the server's HTML renderer) in a sandboxed frame.
            page.locator(".plan-card").last.locator(".report-button").click()
            frame = page.frame_locator(".report-frame").last
            frame.locator("h2", has_text="Budget").wait_for(timeout=STEP_MS)
            assert page.locator(".report-frame").last.get_attribute("sandbox") == ""

            screenshot = _artifacts_dir() / "chat.png"
            screenshot.unlink(missing_ok=True)
            # The conversation scrolls inside the log: make the window tall enough to show all of it.
            height = page.evaluate("document.getElementById('log').scrollHeight") + 320
            page.set_viewport_size({"width": 1280, "height": min(height, 16_000)})
            page.screenshot(path=str(screenshot), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 1400})
            assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000

            # 5. A plan started through the API (same key, no review) opens in the chat by its thread id.
            api_thread = _plan_through_the_api(base, key)
            page.fill("#open-thread", api_thread)
            page.click("#open-form button")
            _idle_with(page, f"document.querySelector('#thread-label').dataset.threadId === '{api_thread}' "
                             "&& document.querySelectorAll('.plan-card').length === 1")
            assert page.locator(".plan-card .plan-status").inner_text() == "draft"
            assert page.locator("#review-bar").is_hidden()  # it succeeded without review
            assert re.search(r"succeeded", page.locator("#status-line").inner_text())

            # 6. A Chinese brief's plan reads as Chinese in the chat: its prose (not the customers' quotes,
            # tables or ids) carries no English word beyond brand, unit and id names (evals/zh_prose.py).
            zh_thread = _plan_through_the_api(base, key, ZH_BRIEF)
            page.fill("#open-thread", zh_thread)
            page.click("#open-form button")
            _idle_with(page, f"document.querySelector('#thread-label').dataset.threadId === '{zh_thread}' "
                             "&& document.querySelectorAll('.plan-card').length === 1")
            prose = page.locator(".plan-card").last.evaluate(
                "card => { card.querySelectorAll('details').forEach(d => { d.open = true; });"
                " card.querySelectorAll('blockquote, table, code, .rid, .flag-code')"
                ".forEach(n => { n.style.display = 'none'; }); return card.innerText; }")
            english = lines_with_english(prose.splitlines())
            assert english == [], english
        finally:
            browser.close()
    assert problems == []
    assert dialogs == []


def _plan_through_the_api(base: str, key: str, brief: str = BRIEF) -> str:
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as client:
        thread_id = client.post("/threads").json()["thread_id"]
        run_id = client.post(f"/threads/{thread_id}/runs", json={"brief": brief}).json()["run_id"]
        deadline = time.monotonic() + STEP_MS / 1000
        while (status := client.get(f"/runs/{run_id}").json()["status"]) not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
        assert status == "succeeded"
    return thread_id
