"""The readout: how a running campaign is doing, measured the way its plan said it would be measured.

Per channel of the plan:

* **lift**, by the channel's test in the plan's ``measurement`` section: a customer holdout gives the
  difference in conversion rate (treated - holdout) with a 95% interval and p-value, and the difference in
  revenue per customer; a geo holdout gives the difference-in-differences of the regions' weekly revenue
  (each region's mean after launch minus its mean before; treated regions against holdout regions, regions
  as the unit, Welch's interval). Launch is the first period with spend in a treated region.
* **pacing**: spend to date against the plan's allocation pro-rated by the weeks elapsed.
* **forecast against actual**, like with like: a customer holdout's measured lift per customer against the
  forecast's lift per customer (the design's ``expected_lift``, whose 80%/95% intervals are the forecast
  lines' intervals scaled to it), which needs no pro-rating; a geo holdout's incremental revenue to date
  against the forecast's incremental revenue pro-rated by weeks elapsed. The verdict places the measured
  point estimate inside the forecast's 80% or 95% interval, or outside.
* **power**: the smallest arm against the design's sample size per arm.

Every figure comes from the plan and the stored results through the functions here; nothing is estimated
by a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field

from campaign_planner.domain import CampaignPlan, ChannelTest, ForecastLine
from campaign_planner.results.statistics import Difference, conversion_difference, mean_difference

PACE_TOLERANCE = 0.10
"""Spend within ±10% of the pro-rated plan counts as on pace."""


class Estimate(BaseModel):
    """A measured difference with its 95% interval."""

    estimate: float
    interval_95: tuple[float, float]
    p_value: float | None = None
    method: str = ""


class LiftReadout(BaseModel):
    """The lift measured by the channel's test."""

    design: Literal["customer_holdout", "geo_holdout"]
    treated: int = Field(description="Customers (customer holdout) or regions (geo holdout) in the treated arm.")
    holdout: int
    treated_rate: float | None = None
    holdout_rate: float | None = None
    conversion_lift: Estimate | None = Field(default=None, description="Absolute conversion-rate difference.")
    revenue_per_customer_lift: Estimate | None = None
    revenue_per_region_week_lift: Estimate | None = Field(default=None, description="Difference-in-differences.")
    incremental_revenue_to_date: Estimate | None = None
    pre_periods: int | None = None
    post_periods: int | None = None
    significant: bool | None = Field(default=None, description="The 95% interval excludes zero.")


class Pacing(BaseModel):
    """Spend to date against the plan's allocation pro-rated by weeks elapsed."""

    planned_total: float
    planned_to_date: float
    spend_to_date: float
    weeks_elapsed: float
    plan_weeks: int | None
    pace: float | None = Field(description="spend_to_date / planned_to_date.")
    status: Literal["on_pace", "under", "over", "no_plan_spend"]


class ForecastCheck(BaseModel):
    """The forecast against what was measured, on the same footing."""

    metric: str
    actual: float | None = None
    actual_interval_95: tuple[float, float] | None = None
    forecast: float
    forecast_interval_80: tuple[float, float]
    forecast_interval_95: tuple[float, float]
    verdict: Literal["inside_80", "inside_95", "outside_95", "not_measured"]
    method: str


class PowerCheck(BaseModel):
    """Whether the test has the sample its design asked for."""

    required_per_arm: int | None
    smallest_arm: int
    share_of_required: float | None = None
    powered: bool | None
    note: str = ""


class Reported(BaseModel):
    """The channel's figures to date as reported in the results (attributed, not incremental)."""

    periods: int
    first_period: str | None = None
    last_period: str | None = None
    spend: float = 0.0
    impressions: float | None = None
    clicks: float | None = None
    conversions: float | None = None
    revenue: float = 0.0
    revenue_kind: Literal["attributed", "region_sales"] = Field(
        default="attributed", description="region_sales: a geo test's rows carry each region's total sales.")


class ChannelReadout(BaseModel):
    channel: str
    design: Literal["customer_holdout", "geo_holdout"] | None
    status: Literal["no_results", "measured", "holdout_missing", "treated_missing", "no_pre_period",
                    "too_few_regions", "not_tested"]
    notes: list[str] = Field(default_factory=list)
    reported: Reported | None = None
    lift: LiftReadout | None = None
    pacing: Pacing | None = None
    forecast_check: ForecastCheck | None = None
    power: PowerCheck | None = None


class Readout(BaseModel):
    thread_id: str
    plan_run_id: str
    plan_status: str
    currency: str
    status: Literal["no_results", "in_flight"]
    weeks_elapsed: float
    plan_weeks: int | None
    channels: list[ChannelReadout]
    notes: list[str] = Field(default_factory=list)
    outside_forecast: list[str] = Field(default_factory=list,
                                        description="Channels whose measured result is outside the 95% forecast "
                                                    "interval: candidates for a re-plan.")


def _estimate(difference: Difference, scale: float = 1.0) -> Estimate:
    low, high = sorted((difference.low * scale, difference.high * scale))
    return Estimate(estimate=difference.estimate * scale, interval_95=(low, high), p_value=difference.p_value,
                    method=difference.method)


def _period_days(periods: Sequence[str]) -> int:
    dates = sorted(set(pd.to_datetime(list(periods))))
    gaps = [int((b - a).days) for a, b in pairwise(dates) if (b - a).days > 0]
    return min(gaps) if gaps else 7  # one period: a week, the plan's own unit


def _weeks_elapsed(periods: Sequence[str]) -> float:
    """Return the weeks the periods span, each period counting its own length (so daily rows add up)."""
    if not len(periods):
        return 0.0
    dates = pd.to_datetime(list(periods))
    days = int((dates.max() - dates.min()).days) + _period_days(periods)
    return days / 7.0


def _reported(rows: pd.DataFrame) -> Reported:
    def total(column: str) -> float | None:
        values = rows[column].dropna()
        return float(values.sum()) if len(values) else None

    return Reported(periods=int(rows["period"].nunique()), first_period=rows["period"].min() if len(rows) else None,
                    last_period=rows["period"].max() if len(rows) else None, spend=float(rows["spend"].sum()),
                    impressions=total("impressions"), clicks=total("clicks"), conversions=total("conversions"),
                    revenue=float(rows["revenue"].sum()))


def _pacing(planned_total: float, spend: float, weeks: float, plan_weeks: int | None) -> Pacing:
    share = min(1.0, weeks / plan_weeks) if plan_weeks else 1.0
    planned = planned_total * share
    if planned <= 0:
        return Pacing(planned_total=planned_total, planned_to_date=planned, spend_to_date=spend, weeks_elapsed=weeks,
                      plan_weeks=plan_weeks, pace=None, status="no_plan_spend")
    pace = spend / planned
    status = "on_pace" if abs(pace - 1) <= PACE_TOLERANCE else "under" if pace < 1 else "over"
    return Pacing(planned_total=planned_total, planned_to_date=planned, spend_to_date=spend, weeks_elapsed=weeks,
                  plan_weeks=plan_weeks, pace=pace, status=status)


def _verdict(actual: float, interval_80: tuple[float, float], interval_95: tuple[float, float]) -> str:
    if interval_80[0] <= actual <= interval_80[1]:
        return "inside_80"
    if interval_95[0] <= actual <= interval_95[1]:
        return "inside_95"
    return "outside_95"


def _scaled_interval(lines: list[ForecastLine], level: str, target: float) -> tuple[float, float]:
    """Return the channel's forecast interval (the segments' intervals added up, which treats the segments'
    errors as moving together: wider, never narrower, than the joint interval), scaled onto ``target`` by the
    ratio of the interval to the expected value."""
    expected = sum(line.expected for line in lines)
    low = sum(getattr(line, level)[0] for line in lines)
    high = sum(getattr(line, level)[1] for line in lines)
    if expected <= 0:
        return (target, target)
    return (target * low / expected, target * high / expected)


def _customer_holdout(test: ChannelTest, outcomes: pd.DataFrame, lines: list[ForecastLine],
                      readout: ChannelReadout) -> None:
    treated = outcomes[outcomes["arm"] == "treated"]
    holdout = outcomes[outcomes["arm"] == "holdout"]
    if holdout.empty or treated.empty:
        missing = "holdout" if holdout.empty else "treated"
        readout.status = "holdout_missing" if holdout.empty else "treated_missing"
        readout.notes.append(f"the {missing} arm has no customers in the results: the lift cannot be measured "
                             f"until outcomes for both arms are imported ({len(treated):,} treated, "
                             f"{len(holdout):,} holdout so far)")
        readout.power = PowerCheck(required_per_arm=test.sample_size_per_arm, smallest_arm=0, powered=False,
                                   share_of_required=0.0 if test.sample_size_per_arm else None,
                                   note=f"no {missing} customers yet")
        return
    conversion = conversion_difference(int(treated["converted"].sum()), len(treated),
                                       int(holdout["converted"].sum()), len(holdout))
    revenue = mean_difference(treated["revenue"].to_numpy(), holdout["revenue"].to_numpy(),
                              "difference in revenue per customer")
    readout.status = "measured"
    readout.lift = LiftReadout(
        design="customer_holdout", treated=len(treated), holdout=len(holdout),
        treated_rate=float(treated["converted"].mean()), holdout_rate=float(holdout["converted"].mean()),
        conversion_lift=_estimate(conversion),
        revenue_per_customer_lift=_estimate(revenue) if revenue else None,
        incremental_revenue_to_date=_estimate(revenue, len(treated)) if revenue else None,
        significant=not conversion.low <= 0 <= conversion.high,
    )
    smallest = min(len(treated), len(holdout))
    needed = test.sample_size_per_arm
    readout.power = PowerCheck(
        required_per_arm=needed, smallest_arm=smallest, share_of_required=smallest / needed if needed else None,
        powered=smallest >= needed if needed else None,
        note=(f"{smallest:,} of the {needed:,} customers per arm the design needs for 80% power at a "
              f"{test.expected_lift:.2%} lift" if needed else
              "the design gives no sample size (no positive expected lift): power cannot be judged"))
    measured = [line for line in lines if line.lift and line.expected > 0]
    if measured and test.lift_source == "forecast":
        target = test.expected_lift
        readout.forecast_check = ForecastCheck(
            metric="conversion-rate lift per customer", actual=conversion.estimate,
            actual_interval_95=(conversion.low, conversion.high), forecast=target,
            forecast_interval_80=_scaled_interval(measured, "interval_80", target),
            forecast_interval_95=_scaled_interval(measured, "interval_95", target),
            verdict=_verdict(conversion.estimate, _scaled_interval(measured, "interval_80", target),  # type: ignore[arg-type]
                             _scaled_interval(measured, "interval_95", target)),
            method="the measured difference in conversion rate against the forecast's lift per customer (the "
                   "design's expected lift; its intervals are the forecast lines' intervals, added over segments, "
                   "scaled to it): a rate, so no pro-rating by weeks or reach is needed")


def _geo_holdout(rows: pd.DataFrame, lines: list[ForecastLine], plan_weeks: int | None,
                 readout: ChannelReadout) -> None:
    treated_regions = rows[rows["arm"] == "treated"]
    holdout_regions = rows[rows["arm"] == "holdout"]
    if holdout_regions.empty or treated_regions.empty:
        missing = "holdout" if holdout_regions.empty else "treated"
        readout.status = "holdout_missing" if holdout_regions.empty else "treated_missing"
        readout.notes.append(f"no {missing} regions in the results: the difference-in-differences cannot be "
                             "measured")
        return
    live = treated_regions[treated_regions["spend"] > 0]["period"]
    if live.empty:
        readout.status = "no_pre_period"
        readout.notes.append("no treated region has spend yet: the campaign has not launched in the results")
        return
    launch = live.min()
    pre, post = rows[rows["period"] < launch], rows[rows["period"] >= launch]
    if pre.empty:
        readout.status = "no_pre_period"
        readout.notes.append(f"no periods before launch ({launch}): difference-in-differences needs the regions' "
                             "weeks before the campaign; import them with spend 0")
        return
    change = (post.groupby("region")["revenue"].mean() - pre.groupby("region")["revenue"].mean()).dropna()
    arms = rows.groupby("region")["arm"].first()
    treated_change = change[arms.reindex(change.index) == "treated"].to_numpy()
    holdout_change = change[arms.reindex(change.index) == "holdout"].to_numpy()
    did = mean_difference(treated_change, holdout_change,
                          "difference-in-differences of mean revenue per region-week (after launch minus before), "
                          "regions as the unit")
    post_weeks = _weeks_elapsed(post["period"].unique().tolist())
    if did is None:
        readout.status = "too_few_regions"
        readout.notes.append(f"{len(treated_change)} treated and {len(holdout_change)} holdout regions with weeks "
                             "before and after launch: at least two of each are needed for an interval")
        return
    readout.status = "measured"
    treated_weeks = len(treated_change) * post_weeks
    incremental = _estimate(did, treated_weeks)
    readout.lift = LiftReadout(
        design="geo_holdout", treated=len(treated_change), holdout=len(holdout_change),
        revenue_per_region_week_lift=_estimate(did), incremental_revenue_to_date=incremental,
        pre_periods=int(pre["period"].nunique()), post_periods=int(post["period"].nunique()),
        significant=not did.low <= 0 <= did.high)
    readout.power = PowerCheck(required_per_arm=None, smallest_arm=min(len(treated_change), len(holdout_change)),
                               powered=None, note="the plan's geo design gives no sample size; the interval above "
                                                  "says what the regions can show so far")
    measured = [line for line in lines if line.expected > 0]
    if measured:
        share = min(1.0, post_weeks / plan_weeks) if plan_weeks else 1.0
        forecast = sum(line.incremental_revenue for line in measured) * share
        interval_80 = _scaled_interval(measured, "interval_80", forecast)
        interval_95 = _scaled_interval(measured, "interval_95", forecast)
        readout.forecast_check = ForecastCheck(
            metric="incremental revenue to date", actual=incremental.estimate,
            actual_interval_95=incremental.interval_95, forecast=forecast, forecast_interval_80=interval_80,
            forecast_interval_95=interval_95,
            verdict=_verdict(incremental.estimate, interval_80, interval_95),  # type: ignore[arg-type]
            method=f"the difference-in-differences times treated region-weeks against the forecast's incremental "
                   f"revenue pro-rated by weeks since launch ({post_weeks:g} of {plan_weeks} weeks; intervals: the "
                   "forecast lines' intervals added over segments, scaled to it)")


def build_readout(thread_id: str, plan: CampaignPlan, plan_run_id: str, channel_results: pd.DataFrame,
                  customer_outcomes: pd.DataFrame) -> Readout:
    """Return the readout of ``plan`` on the stored results (either frame may be empty).

    A thread without results reads ``no_results``, and each channel says so; a channel whose test arm is
    missing says which.
    """
    plan_weeks = plan.brief.weeks
    tests = {test.channel: test for test in plan.measurement.channels}
    channels = []
    campaign_rows = channel_results
    for allocation in plan.budget.allocations:
        channel = allocation.channel
        test = tests.get(channel)
        lines = [line for line in plan.forecast if line.channel == channel]
        readout = ChannelReadout(channel=channel, design=test.design if test else None, status="no_results")
        rows = campaign_rows[campaign_rows["channel"] == channel] if len(campaign_rows) else campaign_rows
        outcomes = customer_outcomes[customer_outcomes["channel"] == channel] if len(customer_outcomes) else \
            customer_outcomes
        if rows is not None and len(rows):
            spend_rows = rows
            if (rows["region"] != "").any():
                live = rows[(rows["arm"] == "treated") & (rows["spend"] > 0)]["period"]
                spend_rows = rows[rows["period"] >= live.min()] if len(live) else rows.iloc[0:0]
            readout.reported = _reported(spend_rows)
            if (rows["region"] != "").any():
                readout.reported.revenue_kind = "region_sales"
            weeks = _weeks_elapsed(spend_rows["period"].unique().tolist())
            readout.pacing = _pacing(allocation.spend, float(spend_rows["spend"].sum()), weeks, plan_weeks)
        if test is None:
            readout.status = "not_tested" if readout.reported else "no_results"
            readout.notes.append("the plan has no test for this channel: no lift can be measured")
        elif test.design == "customer_holdout":
            if len(outcomes):
                _customer_holdout(test, outcomes, lines, readout)
            else:
                readout.notes.append("no per-customer outcomes imported yet: the customer holdout's lift cannot "
                                     "be measured")
        elif rows is not None and len(rows) and (rows["region"] != "").any():
            _geo_holdout(rows, lines, plan_weeks, readout)
        else:
            readout.notes.append("no per-region results imported yet: the geo holdout's lift cannot be measured"
                                 + (" (the results have this channel only without regions)" if readout.reported
                                    else ""))
        if readout.forecast_check is None and readout.status != "no_results":
            readout.notes.append("forecast against actual: not measured (reported figures are attributed, not "
                                 "incremental, so they are not compared with the incremental forecast)")
        channels.append(readout)
    has_results = bool(len(channel_results)) or bool(len(customer_outcomes))
    elapsed = max((c.pacing.weeks_elapsed for c in channels if c.pacing), default=0.0)
    notes = [] if has_results else ["no results imported for this thread yet: import them with `campaign-planner "
                                    "results import` or POST /threads/{id}/results"]
    if plan.status != "approved":
        notes.append(f"the plan is {plan.status}, not approved")
    return Readout(thread_id=thread_id, plan_run_id=plan_run_id, plan_status=plan.status,
                   currency=plan.budget.currency, status="in_flight" if has_results else "no_results",
                   weeks_elapsed=elapsed, plan_weeks=plan_weeks, channels=channels, notes=notes,
                   outside_forecast=[c.channel for c in channels
                                     if c.forecast_check and c.forecast_check.verdict == "outside_95"])

