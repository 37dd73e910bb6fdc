"""The chat's server side: the page and its assets, the chat's key and host checks, the API additions the
chat uses (resume with ``revise``, follow-up runs, the ``revision`` record and SSE event, the HTML report)
and the ``campaign-planner chat`` command. The browser itself is exercised in ``test_chat_browser.py``."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from campaign_planner import cli
from campaign_planner.api import ApiConfig, hash_api_key
from campaign_planner.domain import CampaignPlan
from campaign_planner.settings import load_settings
from campaign_planner.ui import chat_key, chat_url, create_chat_app, is_loopback
from tests.test_api import BRIEF, KEY_A, Models, _events, _problem, _wait

LOOPBACK = "http://127.0.0.1:8765"


def _chat_app(tmp_path: Path, shop: Path, **kwargs: Any) -> tuple[Any, str]:
    settings = load_settings(data_dir=tmp_path / "data", shop_dir=shop, backend="fake")
    return create_chat_app(settings, model_factory=Models(), config=ApiConfig(shutdown_grace_s=2.0), **kwargs)


def test_the_page_and_its_assets_are_served_with_a_strict_policy(tmp_path: Path, demo_shop_dir: Path) -> None:
    app, key = _chat_app(tmp_path, demo_shop_dir)
    with TestClient(app, base_url=LOOPBACK) as client:
        page = client.get("/chat")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
        assert key not in page.text  # the page holds no secret; the key travels in the URL fragment
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page.text)  # nothing from elsewhere
        assert not re.search(r"\bon[a-z]+\s*=", page.text)  # no inline handlers
        script = client.get("/chat/static/chat.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert ".innerHTML" not in script.text and "eval(" not in script.text
        assert client.get("/chat/static/chat.css").status_code == 200
        assert client.get("/chat/static/../__init__.py").status_code == 404
        assert client.get("/chat/static/nope.js").status_code == 404
        assert client.get("/", follow_redirects=False).headers["location"] == "/chat"
        assert "/chat" not in client.get("/openapi.json").json()["paths"]
    # Another Host (a DNS-rebinding page) gets nothing.
    with TestClient(app, base_url="http://attacker.example") as client:
        assert client.get("/chat").status_code == 400


def test_the_chat_key_is_stable_private_and_accepted_besides_api_keys(tmp_path: Path, demo_shop_dir: Path) -> None:
    key = chat_key(tmp_path / "data")
    path = tmp_path / "data" / "chat-api-key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert chat_key(tmp_path / "data") == key and key.startswith("cpk_")
    app, served = _chat_app(tmp_path, demo_shop_dir, extra_key_hashes=[hash_api_key(KEY_A)])
    assert served == key
    with TestClient(app, base_url=LOOPBACK) as client:
        assert client.post("/threads", headers={"X-API-Key": key}).status_code == 201
        assert client.post("/threads", headers={"X-API-Key": KEY_A}).status_code == 201
        _problem(client.post("/threads", headers={"X-API-Key": "cpk_wrong"}), 401)
    assert chat_url("127.0.0.1", 8765, key) == f"http://127.0.0.1:8765/chat#key={key}"
    assert chat_url("::1", 9000, "k") == "http://[::1]:9000/chat#key=k"
    assert [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "10.0.0.5", "example.com")] \
        == [True, True, True, True, False, False, False]


def test_revise_a_draft_then_follow_up_an_approved_plan(tmp_path: Path, demo_shop_dir: Path) -> None:
    app, key = _chat_app(tmp_path, demo_shop_dir)
    headers = {"X-API-Key": key}
    with TestClient(app, base_url=LOOPBACK) as client:
        thread_id = client.post("/threads", headers=headers).json()["thread_id"]
        # A follow-up needs a plan to follow.
        early = client.post(f"/threads/{thread_id}/runs", headers=headers, json={"brief": "Drop search",
                                                                                 "follow_up": True})
        assert "no plan to follow up on" in _problem(early, 409)
        run_id = client.post(f"/threads/{thread_id}/runs", headers=headers,
                             json={"brief": BRIEF, "review": True}).json()["run_id"]
        draft = _wait(client, run_id, "interrupted", "failed", headers=headers)
        assert draft["status"] == "interrupted", draft["error"]
        assert "amendment" in _problem(client.post(f"/runs/{run_id}/resume", headers=headers,
                                                   json={"action": "revise"}), 422)
        busy = client.post(f"/threads/{thread_id}/runs", headers=headers, json={"brief": "Drop search",
                                                                                "follow_up": True})
        assert '"revise"' in _problem(busy, 409)  # a draft takes its follow-up as a resume

        resumed = client.post(f"/runs/{run_id}/resume", headers=headers,
                              json={"action": "revise", "amendment": "Move $5k from search to email"})
        assert resumed.status_code == 202, resumed.text
        revised = _wait(client, run_id, "interrupted", "failed", headers=headers)
        assert revised["status"] == "interrupted", revised["error"]
        assert revised["decision"] == {"action": "revise", "amendment": "Move $5k from search to email"}
        revision = revised["revision"]
        assert revision["kinds"] == ["budget"] and revision["rerun"] == ["channel_optimizer", "forecaster"]
        deltas = {row["channel"]: row["delta"] for row in revision["diff"]["budget"] if abs(row["delta"]) > 0.005}
        assert deltas == {"search": pytest.approx(-5000), "email": pytest.approx(5000)}
        # The stream carries the revision before the revised plan.
        names = [name for name, _ in _events(client.get(f"/runs/{run_id}/stream", headers=headers).iter_lines())]
        assert names.count("plan") == 2 and names.index("revision") == len(names) - 4  # revision, plan, interrupt, end

        approved = client.post(f"/runs/{run_id}/resume", headers=headers, json={"action": "approve"})
        assert approved.status_code == 202
        done = _wait(client, run_id, "succeeded", "failed", headers=headers)
        assert done["plan"]["status"] == "approved" and done["revision"] == revision  # approving kept it

        # After approval a follow-up is a new run on the thread; it pauses for review again.
        follow = client.post(f"/threads/{thread_id}/runs", headers=headers,
                             json={"brief": "Make the email copy shorter", "review": True, "follow_up": True})
        assert follow.status_code == 202, follow.text
        second = _wait(client, follow.json()["run_id"], "interrupted", "failed", headers=headers)
        assert second["status"] == "interrupted", second["error"]
        assert second["follow_up"] is True and second["revision"]["kinds"] == ["copy"]
        assert {c["channel"] for c in second["revision"]["diff"]["copy_changes"]} == {"email"}
        plan = CampaignPlan.model_validate(second["plan"])
        assert plan.status == "draft" and plan.budget == CampaignPlan.model_validate(done["plan"]).budget

        # The HTML report of a run's plan, for the chat's sandboxed frame.
        report = client.get(f"/runs/{run_id}/report", headers=headers)
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
        assert "sandbox" in report.headers["content-security-policy"] and "<script" not in report.text
        _problem(client.get(f"/runs/{run_id}/report", headers={"X-API-Key": "cpk_wrong"}), 401)
        listed = client.get(f"/threads/{thread_id}/runs", headers=headers).json()
        assert [r["follow_up"] for r in listed] == [False, True]


def test_chat_command_serves_on_loopback_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    refused = runner.invoke(cli.app, ["chat", "--host", "0.0.0.0", "--backend", "fake"])
    assert refused.exit_code == 2 and "loopback only" in refused.stderr
    served: dict[str, Any] = {}
    monkeypatch.setattr(cli, "_serve_chat", lambda api, host, port: served.update(api=api, host=host, port=port))
    # A backend that can plan (the model loads at the first run, not here); the chat refuses "fake".
    result = runner.invoke(cli.app, ["chat", "--port", "9123", "--backend", "local"])
    assert result.exit_code == 0, result.output
    key = chat_key(tmp_path)
    assert f"http://127.0.0.1:9123/chat#key={key}" in result.stderr.replace("\n", "")
    assert served["host"] == "127.0.0.1" and served["port"] == 9123
    assert any(getattr(route, "path", None) == "/chat" for route in served["api"].routes)


def test_the_page_reads_its_labels_from_the_reports_message_catalog(tmp_path: Path, demo_shop_dir: Path) -> None:
    from campaign_planner.render.messages import MESSAGES

    app, _ = _chat_app(tmp_path, demo_shop_dir)
    with TestClient(app, base_url=LOOPBACK) as client:
        served = client.get("/chat/messages.json")
        script = client.get("/chat/static/chat.js").text
        page = client.get("/chat").text
    assert served.status_code == 200 and served.json()["zh"]["forecast"] == "预测"
    assert served.json()["zh_channels"]["email"] == "邮件"
    used = set(re.findall(r'L\(\w+, "(\w+)"', script)) | set(re.findall(r'data-msg(?:-placeholder)?="(\w+)"', page))
    assert len(used) > 30 and used <= set(MESSAGES)
