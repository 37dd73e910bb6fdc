"""Simulation study of the readout, and the speed of a large results import.

Run: ``PYTHONPATH=src python bench/bench_readout.py`` (a few minutes on 2 shared cores: one plan made with the
scripted fake model on a fresh demo shop, which embeds its reviews; ``--plan PLAN.json --shop DIR`` reuses a
plan made on that demo shop). Prints ``name=value`` lines; notes start with ``#``.

Coverage: ``--campaigns`` (50) campaigns of the same plan are simulated from the demo shop's planted truth
(``results/simulate.py``), two weeks in, with e-mail planted 2× better than the demo truth the plan was fitted
on (``--truth-multiplier email=2``); each campaign's files are imported into a fresh SQLite store through the
product's import and read out. ``readout_ci_coverage_95`` is the share of the campaigns whose readout 95%
interval for the 2×-planted channel (e-mail, a customer holdout) holds its planted difference in conversion
rate; ``readout_ci_coverage_95_geo_holdout`` the same for the geo holdouts (Instagram, search) and their
planted difference-in-differences per region-week; ``readout_2x_channel_significant`` how many of the
campaigns' e-mail intervals exclude zero two weeks in.

Import speed: ``results_import_seconds_100k_rows`` is the wall time of one import of a 100,000-row customer
outcomes file (CSV bytes → validated → stored in SQLite, in one transaction), median of 3 fresh stores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fake_planner_model

from campaign_planner.api.store import ApiStore  # noqa: E402
from campaign_planner.data.catalog import default_catalog  # noqa: E402
from campaign_planner.data.demo import load_demo_truth, write_demo_shop  # noqa: E402
from campaign_planner.data.shop import CsvSource  # noqa: E402
from campaign_planner.domain import CampaignPlan  # noqa: E402
from campaign_planner.results.service import ThreadPlan, import_results, readout  # noqa: E402
from campaign_planner.results.simulate import simulate_results  # noqa: E402

BRIEF = ("We're launching our new summer dress collection. Target women aged 25-40 who care about fit. "
         "Total budget $50,000 over 4 weeks. Use email, Instagram and paid search. Offer: 15% off first order.")


def make_plan(workdir: Path) -> tuple[CampaignPlan, Path]:
    """Return a plan made by the CLI with the scripted fake model on a fresh demo shop, and the shop."""
    from tests.fake_planner_model import competent_model
    from typer.testing import CliRunner

    from campaign_planner import cli

    shop = workdir / "demo"
    write_demo_shop(shop)
    os.environ["CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS"] = "1"
    os.environ["CAMPAIGN_PLANNER_DATA_DIR"] = str(workdir / "data")
    cli._model_handle = lambda settings: SimpleNamespace(model=competent_model(), backend="fake",  # type: ignore
                                                         model_name="scripted-fake")
    out = workdir / "plan.json"
    result = CliRunner().invoke(cli.app, ["plan", BRIEF, "--shop", str(shop), "--format", "json", "--out", str(out)])
    if result.exit_code != 0:
        raise SystemExit(f"planning failed: {result.output[-2000:]}")
    return CampaignPlan.model_validate_json(out.read_text(encoding="utf-8")), shop


def coverage(plan: CampaignPlan, truth: dict, campaigns: int, workdir: Path) -> None:
    covered: dict[str, list[bool]] = {"customer_holdout": [], "geo_holdout": []}
    significant_2x = 0
    found = ThreadPlan(plan, "bench", "bench")
    catalog = default_catalog()
    for seed in range(campaigns):
        simulated = simulate_results(plan, truth, catalog, weeks=2, multipliers={"email": 2.0}, seed=seed)
        store = ApiStore(workdir / f"coverage-{seed}.sqlite")
        for name, frame in (("channels.csv", simulated.channel_results),
                            ("customers.csv", simulated.customer_outcomes)):
            import_results(store, "bench", plan, CsvSource(name, frame.to_csv(index=False).encode()), catalog=catalog)
        for channel in readout(store, "bench", found).channels:
            planted = simulated.planted.get(channel.channel)
            if channel.lift is None or planted is None:
                continue
            if channel.lift.conversion_lift is not None:
                low, high = channel.lift.conversion_lift.interval_95
                covered["customer_holdout"].append(low <= planted["conversion_lift"] <= high)
                significant_2x += bool(channel.lift.significant)
            elif channel.lift.revenue_per_region_week_lift is not None:
                low, high = channel.lift.revenue_per_region_week_lift.interval_95
                covered["geo_holdout"].append(low <= planted["revenue_per_region_week_lift"] <= high)
    planted_2x = covered["customer_holdout"]
    print(f"readout_ci_coverage_95={np.mean(planted_2x):.3f}")
    print(f"# the 2x-planted channel (e-mail, customer holdout): {sum(planted_2x)}/{len(planted_2x)} intervals "
          f"over {campaigns} campaigns")
    geo = covered["geo_holdout"]
    if geo:
        print(f"readout_ci_coverage_95_geo_holdout={np.mean(geo):.3f}")
        print(f"# geo holdouts (Instagram, search, planted 1x): {sum(geo)}/{len(geo)} intervals")
    print(f"readout_2x_channel_significant={significant_2x}/{campaigns}")


def import_speed(plan: CampaignPlan, workdir: Path, rows: int = 100_000) -> None:
    rng = np.random.default_rng(0)
    converted = (rng.random(rows) < 0.05).astype(int)
    frame = pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(rows)], "channel": "email",
                          "arm": np.where(rng.random(rows) < 0.2, "holdout", "treated"), "converted": converted,
                          "revenue": np.round(converted * rng.lognormal(4.4, 0.5, rows), 2)})
    data = frame.to_csv(index=False).encode()
    times = []
    for attempt in range(3):
        store = ApiStore(workdir / f"speed-{attempt}.sqlite")
        start = time.perf_counter()
        outcome = import_results(store, "bench", plan, CsvSource("customers.csv", data), catalog=default_catalog())
        times.append(time.perf_counter() - start)
        assert outcome.rows_added == rows
    print(f"results_import_seconds_100k_rows={statistics.median(times):.2f}")
    print(f"# {rows:,} customer outcome rows, {len(data) / 1e6:.1f} MB of CSV; runs {[round(t, 2) for t in times]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--plan", type=Path, help="a plan JSON made on --shop (default: make one)")
    parser.add_argument("--shop", type=Path, help="the demo shop the plan was made on")
    args = parser.parse_args()
    print(f"# load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-readout-") as tmp:
        workdir = Path(tmp)
        if args.plan is not None:
            if args.shop is None:
                raise SystemExit("--plan needs --shop (the demo shop it was made on)")
            plan, shop = CampaignPlan.model_validate_json(args.plan.read_text(encoding="utf-8")), args.shop
        else:
            plan, shop = make_plan(workdir)
        truth = load_demo_truth(shop)
        print(f"# plan: {json.dumps({a.channel: a.spend for a in plan.budget.allocations})}, "
              f"{plan.brief.weeks} weeks; tests: {[(t.channel, t.design) for t in plan.measurement.channels]}")
        coverage(plan, truth, args.campaigns, workdir)
        import_speed(plan, workdir)


if __name__ == "__main__":
    main()
