"""Campaign results: import (idempotent, append, refusals with nothing stored) in SQLite and Postgres, the
readout by the plan's own measurement design, the demo-shop simulation, and the CLI and API around them.

The plan is a real one: made once per session by the CLI with the scripted fake model on the demo shop (the
tools, the checkpoints and the measurement design are all real)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from campaign_planner import cli
from campaign_planner.api import ApiConfig, create_app, hash_api_key
from campaign_planner.api.store import ApiStore, PostgresApiStore
from campaign_planner.data.catalog import default_catalog
from campaign_planner.data.demo import load_demo_truth
from campaign_planner.data.shop import CsvSource
from campaign_planner.domain import CampaignPlan
from campaign_planner.results.files import ResultsFileError, parse_results_map
from campaign_planner.results.readout import build_readout
from campaign_planner.results.service import ThreadPlan, import_results, readout
from campaign_planner.results.simulate import simulate_results
from campaign_planner.results.statistics import conversion_difference
from campaign_planner.results.storage import ResultsConflict
from campaign_planner.settings import load_settings
from tests.fake_planner_model import competent_model
from tests.postgres_server import postgres_server, postgres_url  # noqa: F401  (pytest fixtures)

runner = CliRunner()
THREAD = "results-1"
BRIEF = ("We're launching our new summer dress collection. Target women aged 25-40 who care about fit. "
         "Total budget $50,000 over 4 weeks. Use email, Instagram and paid search. Offer: 15% off first order.")
WEEK1 = ("period,channel,spend,impressions,clicks,conversions,revenue\n"
         "2025-01-06,email,1900,950000,19000,30,2600\n"
         "2025-01-06,instagram,5500,700000,7000,60,5200\n")
WEEK2 = WEEK1.replace("2025-01-06", "2025-01-13")


@pytest.fixture(scope="session")
def planned(demo_shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A data dir holding the checkpoints of one real plan (thread ``results-1``) on the demo shop."""
    data = tmp_path_factory.mktemp("results-data")
    patch = pytest.MonkeyPatch()
    patch.setenv("CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS", "1")
    patch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(data))
    patch.setattr(cli, "_model_handle", lambda settings: SimpleNamespace(model=competent_model(), backend="fake",
                                                                        model_name="scripted-fake"))
    try:
        out = data / "plan.json"
        result = runner.invoke(cli.app, ["plan", BRIEF, "--shop", str(demo_shop_dir), "--format", "json",
                                         "--out", str(out), "--thread-id", THREAD])
        assert result.exit_code == 0, result.output
    finally:
        patch.undo()
    plan = CampaignPlan.model_validate_json(out.read_text(encoding="utf-8"))
    return SimpleNamespace(data=data, plan=plan, shop=demo_shop_dir)


@pytest.fixture
def data_dir(planned: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the planned data dir for one test (its own api.sqlite), set as the CLI's data dir."""
    target = tmp_path / "data"
    shutil.copytree(planned.data, target)
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(target))
    return target


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The run-record store, in SQLite and in a fresh Postgres database."""
    opened = (PostgresApiStore(str(request.getfixturevalue("postgres_url"))) if request.param == "postgres"
              else ApiStore(tmp_path / "api.sqlite"))
    try:
        yield opened
    finally:
        opened.close()


def _import(store: Any, plan: CampaignPlan, text: str, name: str = "results.csv", **options: Any) -> Any:
    return import_results(store, THREAD, plan, CsvSource(name, text.encode("utf-8")), catalog=default_catalog(),
                          **options)


def test_import_is_idempotent_and_later_periods_append(store: Any, planned: SimpleNamespace) -> None:
    first = _import(store, planned.plan, WEEK1, "week1.csv")
    assert (first.rows_added, first.rows_unchanged) == (2, 0)
    again = _import(store, planned.plan, WEEK1, "week1.csv")
    assert again.already_imported and again.rows_added == 0
    # The same rows under another file (an export with both weeks) add only the new week.
    both = _import(store, planned.plan, WEEK1 + WEEK2.split("\n", 1)[1], "weeks1-2.csv")
    assert (both.rows_added, both.rows_unchanged) == (2, 2)
    stored = store.channel_results(THREAD)
    assert len(stored) == 4 and sorted(stored["period"].unique()) == ["2025-01-06", "2025-01-13"]
    assert len(store.result_imports(THREAD)) == 2
    assert store.channel_results("another-thread").empty


def test_a_restated_period_is_refused_unless_replace(store: Any, planned: SimpleNamespace) -> None:
    _import(store, planned.plan, WEEK1)
    restated = WEEK1.replace("1900", "2100")
    with pytest.raises(ResultsConflict, match=r"restate figures .*email / 2025-01-06.*--replace"):
        _import(store, planned.plan, restated, "restated.csv")
    assert store.channel_results(THREAD)["spend"].tolist() == [1900.0, 5500.0]
    replaced = _import(store, planned.plan, restated, "restated.csv", replace=True)
    assert replaced.rows_updated == 1
    assert sorted(store.channel_results(THREAD)["spend"].tolist()) == [2100.0, 5500.0]


def test_customer_outcomes_update_but_never_switch_arms(store: Any, planned: SimpleNamespace) -> None:
    header = "customer_id,channel,arm,converted,revenue\n"
    _import(store, planned.plan, header + "c1,email,treated,0,0\nc2,email,holdout,0,0\n")
    later = _import(store, planned.plan, header + "c1,email,treated,1,80\nc3,email,holdout,0,0\n")
    assert (later.rows_added, later.rows_updated) == (1, 1)
    with pytest.raises(ResultsConflict, match="different arm"):
        _import(store, planned.plan, header + "c2,email,treated,0,0\nc4,email,treated,0,0\n")
    outcomes = store.customer_outcomes(THREAD)
    assert outcomes["customer_id"].tolist() == ["c1", "c2", "c3"]  # c4 not stored: the file was refused whole
    assert outcomes.set_index("customer_id").loc["c1", "converted"] == 1


BAD_FILES = [
    ("period,channel,spend,revenue\nsoon,email,1,2\n", r"column 'period': not an ISO date .* lines 2 \(e.g."),
    ("period,channel,spend,revenue\n2025-01-06,fb,1,2\n", r"'fb' \(did you mean 'facebook'\?\)"),
    ("period,channel,spend,revenue\n2025-01-06,tiktok,1,2\n", r"\['tiktok'\] have no allocation in the thread's plan"),
    ("period,channel,spend,revenue\n2025-01-06,email,1,2\n2025-01-13,email,-5,2\n", r"'spend': negative .* lines 3"),
    ("period,channel,spend,revenue\n2025-01-06,email,,2\n", r"'spend': empty or not a number"),
    ("period,channel,spend,revenue\n2025-01-06,email,1,2\n2025-01-06,email,1,2\n", "repeated period"),
    ("period,channel,region,arm,spend,revenue\n2025-01-06,search,north,control,1,2\n", "not 'treated' or 'holdout'"),
    ("customer_id,channel,arm,converted,revenue\nc1,email,treated,yes,0\n", r"'converted': not 0 or 1"),
    ("customer_id,channel,arm,converted,revenue\n,email,treated,1,0\n", "empty customer_id"),
    ("customer_id,channel,arm,revenue\nc1,email,treated,0\n", r"missing required column\(s\) \['converted'\]"),
    ("week,cost\n2025-01-06,1\n", "match no kind of result file"),
    ("", "the file is empty"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_result_files_are_refused_clearly_with_nothing_stored(text: str, message: str, tmp_path: Path,
                                                                   planned: SimpleNamespace) -> None:
    store = ApiStore(tmp_path / "api.sqlite")
    with pytest.raises(ResultsFileError, match=message):
        _import(store, planned.plan, text, "bad.csv")
    assert store.channel_results(THREAD).empty and store.customer_outcomes(THREAD).empty
    assert store.result_imports(THREAD) == []


def test_a_column_map_renames_an_export(tmp_path: Path, planned: SimpleNamespace) -> None:
    store = ApiStore(tmp_path / "api.sqlite")
    results_map = parse_results_map({"channel_results": {
        "columns": {"Week": "period", "Cost": "spend", "Sales": "revenue"}, "constants": {"channel": "email"}}})
    outcome = _import(store, planned.plan, "Week,Cost,Sales,Notes\n2025-01-06,100,300,x\n", column_map=results_map)
    assert outcome.rows_added == 1
    assert store.channel_results(THREAD).loc[0, ["channel", "spend"]].tolist() == ["email", 100.0]
    with pytest.raises(ResultsFileError, match="no column is mapped to the required column"):
        parse_results_map({"channel_results": {"columns": {"Week": "period"}}})


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II, method 10: 56/70 against 48/80, 9/10 against 3/10.
    difference = conversion_difference(56, 70, 48, 80)
    assert difference.estimate == pytest.approx(0.2)
    assert (round(difference.low, 4), round(difference.high, 4)) == (0.0524, 0.3339)
    small = conversion_difference(9, 10, 3, 10)
    assert (round(small.low, 4), round(small.high, 4)) == (0.1705, 0.8090)


def test_readout_before_any_data_says_so(planned: SimpleNamespace) -> None:
    empty = build_readout(THREAD, planned.plan, "run", pd.DataFrame(), pd.DataFrame())
    assert empty.status == "no_results" and "no results imported" in empty.notes[0]
    assert {c.status for c in empty.channels} == {"no_results"}
    assert all(c.lift is None and c.pacing is None for c in empty.channels)


def test_a_missing_holdout_arm_is_named(tmp_path: Path, planned: SimpleNamespace) -> None:
    store = ApiStore(tmp_path / "api.sqlite")
    _import(store, planned.plan, "customer_id,channel,arm,converted,revenue\n"
            + "".join(f"c{i},email,treated,{i % 2},0\n" for i in range(10)))
    _import(store, planned.plan, "period,channel,region,arm,spend,revenue\n"
            + "".join(f"2025-01-{d:02d},search,r{r},treated,{100 * (d > 6)},1000\n" for d in (1, 8) for r in range(3)))
    found = ThreadPlan(planned.plan, "run", "test")
    channels = {c.channel: c for c in readout(store, THREAD, found).channels}
    assert channels["email"].status == "holdout_missing"
    assert "the holdout arm has no customers" in channels["email"].notes[0]
    assert channels["email"].power is not None and channels["email"].power.powered is False
    assert channels["search"].status == "holdout_missing" and "no holdout regions" in channels["search"].notes[0]


def test_simulated_results_read_out_the_planted_truth(tmp_path: Path, planned: SimpleNamespace) -> None:
    truth = load_demo_truth(planned.shop)
    simulated = simulate_results(planned.plan, truth, default_catalog(), weeks=2, multipliers={"email": 2}, seed=3)
    store = ApiStore(tmp_path / "api.sqlite")
    for name, frame in (("channels.csv", simulated.channel_results), ("customers.csv", simulated.customer_outcomes)):
        _import(store, planned.plan, frame.to_csv(index=False), name)
    result = readout(store, THREAD, ThreadPlan(planned.plan, "run", "test"))
    channels = {c.channel: c for c in result.channels}
    assert result.status == "in_flight" and result.weeks_elapsed == 2.0
    email = channels["email"]
    assert email.status == "measured" and email.lift is not None and email.lift.conversion_lift is not None
    low, high = email.lift.conversion_lift.interval_95
    planted = simulated.planted["email"]["conversion_lift"]
    assert low <= planted <= high
    assert planted == pytest.approx(2 * truth["campaign_history"]["true_average_treatment_effects"]["Email promo"]
                                    ["overall"]["conversion"])
    for channel in ("instagram", "search"):
        lift = channels[channel].lift
        assert lift is not None and lift.revenue_per_region_week_lift is not None
        low, high = lift.revenue_per_region_week_lift.interval_95
        assert low <= simulated.planted[channel]["revenue_per_region_week_lift"] <= high
        assert channels[channel].pacing is not None and channels[channel].pacing.status == "on_pace"
        assert channels[channel].forecast_check is not None
    allocation = {a.channel: a.spend for a in planned.plan.budget.allocations}
    assert channels["email"].pacing.planned_to_date == pytest.approx(allocation["email"] / 2)


def test_cli_simulate_import_readout_and_unknown_thread(data_dir: Path, planned: SimpleNamespace,
                                                         tmp_path: Path) -> None:
    before = runner.invoke(cli.app, ["results", "readout", THREAD])
    assert before.exit_code == 0, before.output
    assert "no results imported for this thread yet" in before.output
    simulated = runner.invoke(cli.app, ["shop", "simulate-results", THREAD, "--weeks", "2", "--truth-multiplier",
                                        "email=2", "--shop", str(planned.shop), "--out", str(tmp_path / "sim")])
    assert simulated.exit_code == 0, simulated.output
    assert "customer outcomes rows read" in simulated.output
    again = runner.invoke(cli.app, ["results", "import", THREAD, str(tmp_path / "sim" / "channel_results.csv")])
    assert again.exit_code == 0 and "already imported on this thread; nothing changed" in again.output
    report = runner.invoke(cli.app, ["results", "readout", THREAD, "--format", "json"])
    body = json.loads(report.stdout)
    assert body["status"] == "in_flight" and {c["status"] for c in body["channels"]} == {"measured"}
    html = runner.invoke(cli.app, ["results", "readout", THREAD, "--format", "html"])
    assert html.exit_code == 0 and "<script" not in html.stdout and "lift in conversion" in html.stdout
    unknown = runner.invoke(cli.app, ["results", "import", "no-such-thread", str(tmp_path / "sim" /
                                                                                "channel_results.csv")])
    assert unknown.exit_code == 2 and "thread no-such-thread has no plan" in unknown.output
    mapped = tmp_path / "export.csv"
    mapped.write_text("Week,Cost,Sales\n2025-02-03,150,400\n", encoding="utf-8")
    (tmp_path / "map.yaml").write_text("channel_results:\n  columns: {Week: period, Cost: spend, Sales: revenue}\n",
                                       encoding="utf-8")
    with_map = runner.invoke(cli.app, ["results", "import", THREAD, str(mapped), "--map", str(tmp_path / "map.yaml"),
                                       "--channel", "Email"])
    assert with_map.exit_code == 0 and "1 added" in with_map.output, with_map.output
    bad = tmp_path / "bad.csv"
    bad.write_text("period,channel,spend,revenue\nsoon,email,1,2\n", encoding="utf-8")
    refused = runner.invoke(cli.app, ["results", "import", THREAD, str(bad)])
    assert refused.exit_code == 2 and "not an ISO date" in refused.output


KEY_A, KEY_B = "cpk_results-a", "cpk_results-b"


def test_api_results_and_readout(tmp_path: Path, planned: SimpleNamespace) -> None:
    settings = load_settings(data_dir=tmp_path / "data", shop_dir=planned.shop, backend="fake")
    app = create_app(settings, model_factory=lambda s: SimpleNamespace(model=competent_model(), backend="fake",
                                                                        model_name="scripted-fake"),
                     api_key_hashes=[hash_api_key(KEY_A), hash_api_key(KEY_B)], config=ApiConfig(shutdown_grace_s=1))
    a, b = {"X-API-Key": KEY_A}, {"X-API-Key": KEY_B}
    with TestClient(app) as client:
        thread = client.post("/threads", headers=a).json()["thread_id"]
        no_plan = client.post(f"/threads/{thread}/results", headers=a, json={"csv": WEEK1})
        assert no_plan.status_code == 409 and "no plan yet" in no_plan.json()["detail"]
        # The run record of a finished plan, as the run manager stores it.
        store: ApiStore = app.state.api.store
        run = store.create_run(thread_id=thread, owner=hash_api_key(KEY_A),
                               request={"brief": BRIEF}, request_hash="h", idempotency_key=None)
        store.update_run(run.run_id, status="succeeded", plan=planned.plan.model_dump(mode="json"))
        empty = client.get(f"/threads/{thread}/readout", headers=a)
        assert empty.status_code == 200 and empty.json()["status"] == "no_results"
        created = client.post(f"/threads/{thread}/results", headers=a, json={"csv": WEEK1, "name": "week1.csv"})
        assert created.status_code == 201, created.text
        assert created.json()["rows_added"] == 2
        replay = client.post(f"/threads/{thread}/results", headers=a, json={"csv": WEEK1, "name": "week1.csv"})
        assert replay.status_code == 200 and replay.json()["already_imported"]
        bad = client.post(f"/threads/{thread}/results", headers=a,
                          json={"csv": "period,channel,spend,revenue\n2025-01-20,email,-1,0\n"})
        assert bad.status_code == 422 and "'spend': negative" in bad.json()["detail"]
        assert len(store.channel_results(thread)) == 2
        surrogate = client.post(f"/threads/{thread}/results", content=b'{"csv": "period\\ud800"}',
                                headers={**a, "Content-Type": "application/json"})
        assert surrogate.status_code == 422  # refused, not a 500 on encoding
        assert client.post(f"/threads/{thread}/results", headers=b, json={"csv": WEEK1}).status_code == 404
        assert client.get("/threads/nope/readout", headers=a).status_code == 404
        body = client.get(f"/threads/{thread}/readout", headers=a).json()
        email = next(c for c in body["channels"] if c["channel"] == "email")
        assert email["pacing"]["spend_to_date"] == 1900.0 and body["plan_run_id"] == run.run_id
        markdown = client.get(f"/threads/{thread}/readout?format=md", headers=a)
        assert markdown.headers["content-type"].startswith("text/markdown") and "## email" in markdown.text
        html = client.get(f"/threads/{thread}/readout?format=html", headers=a)
        assert html.headers["content-type"].startswith("text/html") and "sandbox" in html.headers[
            "content-security-policy"]

