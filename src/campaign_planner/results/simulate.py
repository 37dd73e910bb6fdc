"""In-flight results simulated from the demo shop's planted truth, so the loop can be tried offline.

For a plan made on the demo shop (``data/demo.py``, ``demo_truth.json``), ``simulate_results`` writes what
the first weeks of the campaign would report, following the plan's own measurement design:

* a **customer holdout** channel with a planted treatment (email, SMS, push): the customers reached so far
  (the test's audience, spread evenly over the plan's weeks), split by the test's holdout share; holdout
  customers convert at the planted control rate, treated ones at that rate plus the planted average effect
  on conversion (``true_average_treatment_effects[treatment]["overall"]``) times the channel's multiplier;
  buyers spend the planted average order value (lognormal). Plus one national row per week.
* a **geo holdout** channel: its own 20 matched regions (the test's holdout share of them held out), four
  weeks before launch with no spend, then the weekly plan spend split over the treated regions; each
  region's weekly revenue is its share of the planted weekly baseline, a week shock shared by every region,
  region noise, and (treated regions) the channel's planted Hill response on the adstocked spend times the
  multiplier. Each geo test runs in its own set of regions, so the tests do not contaminate each other.

Spend paces at the plan's weekly allocation with 5% noise. ``SimulatedResults.planted`` says what the
readout should find (the planted lift per customer, or the planted difference-in-differences per
region-week), which the simulation study checks coverage against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from campaign_planner.data.catalog import ChannelCatalog
from campaign_planner.data.demo import geometric_adstock, hill
from campaign_planner.domain import CampaignPlan

REGIONS = 20
PRE_WEEKS = 4
PACING_NOISE = 0.05
WEEK_SHOCK = 0.03
CLICK_RATE = 0.02


class SimulationError(ValueError):
    """The plan or shop cannot be simulated (not a demo shop, weeks out of range, unknown channel)."""


@dataclass(frozen=True)
class SimulatedResults:
    """The simulated result files and the planted values the readout should recover."""

    channel_results: pd.DataFrame
    customer_outcomes: pd.DataFrame
    planted: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def parse_multipliers(values: list[str]) -> dict[str, float]:
    """Return ``{"email": 2.0}`` for ``["email=2"]``; refuses (SimulationError) malformed or negative items."""
    out: dict[str, float] = {}
    for value in values:
        channel, _, number = value.partition("=")
        try:
            factor = float(number)
        except ValueError:
            factor = -1.0
        if not channel.strip() or factor < 0:
            raise SimulationError(f"--truth-multiplier {value!r}: expected CHANNEL=FACTOR with FACTOR >= 0, "
                                  "e.g. email=2")
        out[channel.strip().lower()] = factor
    return out


def simulate_results(plan: CampaignPlan, truth: dict, catalog: ChannelCatalog, *, weeks: int,
                     multipliers: dict[str, float] | None = None, seed: int = 0,
                     start: date | None = None) -> SimulatedResults:
    """Return ``weeks`` weeks of simulated results for ``plan`` from the demo ``truth``.

    Refuses (SimulationError): weeks outside 1..the plan's weeks; a multiplier for a channel the plan does
    not fund.
    """
    plan_weeks = plan.brief.weeks or 4
    if not 1 <= weeks <= plan_weeks:
        raise SimulationError(f"--weeks {weeks}: the plan runs {plan_weeks} weeks; simulate 1 to {plan_weeks}")
    multipliers = multipliers or {}
    funded = [allocation.channel for allocation in plan.budget.allocations]
    stray = sorted(set(multipliers) - set(funded))
    if stray:
        raise SimulationError(f"--truth-multiplier names channel(s) {stray} the plan does not fund: {funded}")
    rng = np.random.default_rng(seed)
    history = truth["channel_history"]
    launch = start or (date.fromisoformat(history["first_week"]) + timedelta(weeks=int(history["weeks"])))
    tests = {test.channel: test for test in plan.measurement.channels}
    label_of = {channel: label for label, channel in truth["campaign_history"]["treatment_channels"].items()}
    channel_rows: list[dict] = []
    customers: list[pd.DataFrame] = []
    planted: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    for allocation in plan.budget.allocations:
        channel = allocation.channel
        factor = multipliers.get(channel, 1.0)
        weekly = allocation.spend / plan_weeks * rng.lognormal(-PACING_NOISE**2 / 2, PACING_NOISE, weeks)
        test = tests.get(channel)
        if test is not None and test.design == "customer_holdout" and channel in label_of:
            frame, lift = _customer_holdout(rng, truth, label_of[channel], test.audience, test.holdout_share,
                                            weeks / plan_weeks, factor, channel)
            customers.append(frame)
            planted[channel] = {"conversion_lift": lift}
            per_week = frame[frame["arm"] == "treated"]
            for week, spend in enumerate(weekly):
                channel_rows.append(_national_row(catalog, channel, launch + timedelta(weeks=week), spend,
                                                  per_week["converted"].sum() / weeks,
                                                  per_week["revenue"].sum() / weeks))
        elif test is not None and test.design == "geo_holdout" and channel in history["channels"]:
            rows, did = _geo_holdout(rng, history, channel, weekly, test.holdout_share, factor, launch)
            channel_rows.extend(rows)
            planted[channel] = {"revenue_per_region_week_lift": did}
        else:
            notes.append(f"{channel}: no planted truth for its test; simulated spend only")
            for week, spend in enumerate(weekly):
                channel_rows.append(_national_row(catalog, channel, launch + timedelta(weeks=week), spend, 0, 0.0))
    columns = ["period", "channel", "region", "arm", "spend", "impressions", "clicks", "conversions", "revenue"]
    outcome_columns = ["customer_id", "channel", "arm", "converted", "revenue"]
    return SimulatedResults(
        channel_results=pd.DataFrame(channel_rows, columns=columns),
        customer_outcomes=(pd.concat(customers, ignore_index=True) if customers
                           else pd.DataFrame(columns=outcome_columns)),
        planted=planted, notes=notes)


def _national_row(catalog: ChannelCatalog, channel: str, period: date, spend: float, conversions: float,
                  revenue: float) -> dict:
    cost = catalog[channel].unit_cost if channel in catalog else None
    impressions = None
    if cost is not None and cost.amount > 0:
        impressions = spend / cost.amount * (1000 if cost.per == "cpm" else 1)
    return {"period": period.isoformat(), "channel": channel, "region": "", "arm": "", "spend": round(spend, 2),
            "impressions": round(impressions) if impressions is not None else None,
            "clicks": round(impressions * CLICK_RATE) if impressions is not None else None,
            "conversions": round(float(conversions)), "revenue": round(float(revenue), 2)}


def _customer_holdout(rng: np.random.Generator, truth: dict, label: str, audience: int, holdout_share: float,
                      elapsed: float, factor: float, channel: str) -> tuple[pd.DataFrame, float]:
    history = truth["campaign_history"]
    base = float(history["true_control_means"]["conversion"])
    lift = factor * float(history["true_average_treatment_effects"][label]["overall"]["conversion"])
    order_value = float(history["true_control_means"]["revenue"]) / base
    reached = max(2, round(audience * elapsed))
    held = max(1, round(reached * holdout_share))
    arm = np.array(["treated"] * (reached - held) + ["holdout"] * held)[rng.permutation(reached)]
    rate = np.where(arm == "treated", min(1.0, base + lift), base)
    converted = (rng.random(reached) < rate).astype(int)
    sigma = float(history["model"]["order_value"]["sigma"])
    revenue = np.round(converted * rng.lognormal(np.log(order_value) - sigma**2 / 2, sigma, reached), 2)
    frame = pd.DataFrame({"customer_id": [f"{channel}-{i + 1:06d}" for i in range(reached)], "channel": channel,
                          "arm": arm, "converted": converted, "revenue": revenue})
    return frame, min(1.0, base + lift) - base


def _geo_holdout(rng: np.random.Generator, history: dict, channel: str, weekly: np.ndarray, holdout_share: float,
                 factor: float, launch: date) -> tuple[list[dict], float]:
    params = history["channels"][channel]
    held = max(2, round(REGIONS * holdout_share))
    weights = rng.dirichlet(np.full(REGIONS, 8.0))
    holdout = set(rng.choice(REGIONS, size=held, replace=False).tolist())
    treated_weight = sum(weights[r] for r in range(REGIONS) if r not in holdout)
    response = factor * hill(geometric_adstock(weekly, params["decay"]), params["half_saturation"], params["slope"],
                             params["beta"])
    level = float(history["baseline"]["level"])
    noise_share = float(history["baseline"]["noise_share"])
    rows = []
    weeks = len(weekly)
    for week in range(-PRE_WEEKS, weeks):
        shock = 1 + rng.normal(0, WEEK_SHOCK)
        period = (launch + timedelta(weeks=week)).isoformat()
        for region in range(REGIONS):
            treated = region not in holdout
            share = weights[region] / treated_weight if treated else 0.0
            live = week >= 0 and treated
            base = level * weights[region] * shock
            revenue = base * (1 + rng.normal(0, noise_share)) + (response[week] * share if live else 0.0)
            rows.append({"period": period, "channel": channel, "region": f"{channel}-r{region + 1:02d}",
                         "arm": "treated" if treated else "holdout", "spend": round(weekly[week] * share, 2) if live
                         else 0.0, "impressions": None, "clicks": None, "conversions": None,
                         "revenue": round(float(revenue), 2)})
    treated_regions = REGIONS - held
    return rows, float(response.sum()) / (treated_regions * weeks)
