"""The forecaster tool: what each segment x channel of a plan is expected to deliver, with intervals.

Two sources, labelled on every line:

* ``uplift_model``: the channel ran as a treatment in the shop's randomized campaign history. The
  segment's history customers are selected by its definition (feature filters, or the reviews'
  ``customer_id`` joining its reviewers to history customers), the fitted uplift model (see
  ``tools/uplift.py``) gives the control conversion rate and the lift, and
  expected incremental conversions = lift x reachable customers (history customers in the segment).
  Where nothing of the definition applies to the history (and there is no join), the whole history's
  lift per customer is scaled to the segment's measured size, flagged and stated as an assumption,
  never the whole base for every segment.
* ``response_curve`` / ``prior``: no history for the channel. The line takes the channel allocation's
  expected revenue x the segment's share, converted to conversions by the average order value.

Numbers are never produced without a warning where the evidence is thin: segments under 200 history
customers carry a ``weak_evidence`` flag and wider intervals.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from campaign_planner.data.order_value import average_order_value
from campaign_planner.data.shop import Shop
from campaign_planner.domain import (
    Allocation,
    Assumption,
    BehaviourFilter,
    Flag,
    FlagCode,
    ForecastLine,
    Segment,
    Targeting,
)
from campaign_planner.intake.audience import behaviour_mask, unsupported_audience_flags
from campaign_planner.render.messages import keyed_assumption, keyed_flag
from campaign_planner.tools.segmentation import match_definition
from campaign_planner.tools.uplift import (
    ForecasterDataError,
    OverlapError,
    PairFit,
    SegmentEstimate,
    UpliftConfig,
    UpliftModels,
    agresti_caffo_draws,
    estimate_segment,
    load_or_fit_uplift_models,
)

__all__ = [
    "ForecastInputError",
    "ForecastResult",
    "ForecasterDataError",
    "SegmentFilter",
    "TargetingRow",
    "forecast_campaign",
    "segment_mask",
    "select_segment_customers",
    "shop_average_order_value",
    "targeting",
]

WEAK_EVIDENCE_CUSTOMERS = 200
_Z80, _Z95 = float(stats.norm.ppf(0.90)), float(stats.norm.ppf(0.975))


class ForecastInputError(ValueError):
    """Arguments the forecaster cannot use (currency, weeks, segments, allocation); the message says which."""


class ForecastResult(BaseModel):
    """Forecast lines (one per segment x forecastable channel), flags, and how the numbers were made."""

    model_config = ConfigDict(extra="forbid")

    lines: list[ForecastLine]
    targeting: list[Targeting] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    assumptions: list[Assumption] = Field(default_factory=list)
    model_report: dict[str, Any] = Field(default_factory=dict)


# Rows of the targeting table ("whom to include") are the plan's own contract type.
TargetingRow = Targeting


@dataclass(frozen=True)
class SegmentFilter:
    """Which history customers a segment definition selects, and which of its keys were used."""

    mask: np.ndarray
    applied: list[str]
    ignored: list[str]
    #: How the line is about its segment (see ``ForecastLine.basis``).
    basis: str = "segment_history"
    #: Customers the line's figures are counted over: the mask's count, or the segment's measured size.
    audience: int | None = None


def select_segment_customers(
    history: pd.DataFrame, reviews: pd.DataFrame, segment: Segment, features: Sequence[str]
) -> SegmentFilter:
    """Select a segment's campaign-history customers, and say how.

    Feature filters (``segment_mask``) apply where the definition names history features. Where reviews
    carry ``customer_id``, the segment's reviewers (``match_definition``) are joined to history customers
    too. Where neither selects anything (no join and no filter that applies, or a join that finds no
    history customer), the whole history is used for the lift and ``audience`` is the segment's measured
    size (basis ``scaled_to_segment``), so the line is never the whole base. Returns the filter; refuses
    nothing.
    """
    selection = segment_mask(history, segment.definition, features)
    ids = _joined_customer_ids(reviews, segment.definition)
    if ids is not None and "customer_id" in history.columns:
        joined = history["customer_id"].astype(str).isin(ids).to_numpy()
        mask = selection.mask & joined
        if mask.any():
            note = f"customer_id join: {int(joined.sum())} of the segment's reviewers found in the history"
            return SegmentFilter(mask, [*selection.applied, note], selection.ignored, "segment_history",
                                 int(mask.sum()))
        selection = SegmentFilter(
            selection.mask, selection.applied,
            [*selection.ignored, "customer_id join (no reviewer of the segment is a history customer)"],
        )
    if selection.applied:  # filters that apply and select nobody mean nobody, not the whole base
        return SegmentFilter(selection.mask, selection.applied, selection.ignored, "segment_history",
                             int(selection.mask.sum()))
    return SegmentFilter(
        np.ones(len(history), dtype=bool), [], selection.ignored, "scaled_to_segment", segment.size.customers
    )


def _joined_customer_ids(reviews: pd.DataFrame, definition: dict[str, Any]) -> set[str] | None:
    """The customer ids of the reviewers a definition selects; None where reviews carry no customer_id."""
    if "customer_id" not in reviews.columns:
        return None
    ids = reviews["customer_id"].astype("string").fillna("").str.strip()
    if not (ids != "").any():
        return None
    members = ids[match_definition(reviews, definition).to_numpy()]
    return {str(v) for v in members if v}


# --------------------------------------------------------------------------------------------- filters


def segment_mask(history: pd.DataFrame, definition: dict[str, Any], features: Sequence[str]) -> SegmentFilter:
    """Select the history customers a segment definition describes.

    Keys ``<feature>_min`` / ``<feature>_max`` bound a numeric feature column; a key naming a feature
    (or its plural, e.g. ``departments`` for ``department``) keeps rows equal to the value or in the list
    (text compared case-insensitively). Only feature columns can be filtered (never outcomes). Other keys
    and empty values are ignored and listed in ``ignored`` with the reason. Returns the mask and the lists.
    """
    mask = np.ones(len(history), dtype=bool)
    applied: list[str] = []
    ignored: list[str] = []
    feature_set = set(features)
    for key, value in definition.items():
        if value is None or (isinstance(value, (list, str)) and len(value) == 0):
            ignored.append(f"{key} (empty)")
            continue
        bound = _bound_column(key, feature_set)
        column = bound[0] if bound else _named_column(key, feature_set)
        if column is None:
            ignored.append(f"{key} (not a campaign-history feature)")
            continue
        series = history[column]
        if bound:
            if not pd.api.types.is_numeric_dtype(series) or isinstance(value, (list, str)):
                ignored.append(f"{key} (needs a numeric feature and a number)")
                continue
            numbers = series.to_numpy(dtype=float, na_value=np.nan)
            keep = numbers >= float(value) if bound[1] == "min" else numbers <= float(value)
            applied.append(f"{column} {'>=' if bound[1] == 'min' else '<='} {value:g}")
        else:
            wanted = value if isinstance(value, list) else [value]
            if pd.api.types.is_numeric_dtype(series):
                try:
                    keep = series.isin([float(v) for v in wanted]).to_numpy()
                except (TypeError, ValueError):
                    ignored.append(f"{key} (text value for numeric feature {column!r})")
                    continue
            else:
                folded = {str(v).casefold() for v in wanted}
                keep = series.astype(str).str.casefold().isin(folded).to_numpy() & series.notna().to_numpy()
            applied.append(f"{column} in {wanted}")
        mask &= keep
    return SegmentFilter(mask=mask, applied=applied, ignored=ignored)


def _bound_column(key: str, features: set[str]) -> tuple[str, str] | None:
    for suffix in ("min", "max"):
        if key.endswith(f"_{suffix}") and key[: -len(suffix) - 1] in features:
            return key[: -len(suffix) - 1], suffix
    return None


def _named_column(key: str, features: set[str]) -> str | None:
    if key in features:
        return key
    if key.endswith("s") and key[:-1] in features:
        return key[:-1]
    return None


# --------------------------------------------------------------------------------------------- forecast


def forecast_campaign(
    shop: Shop,
    *,
    segments: list[Segment],
    channels: list[str],
    allocation: list[Allocation],
    curves: dict[str, Any] | None = None,
    weeks: int,
    currency: str,
    allocation_intervals: dict[str, tuple[float, float, float, float]] | None = None,
    config: UpliftConfig | None = None,
    n_boot: int = 400,
    seed: int = 0,
    behaviour: Sequence[BehaviourFilter] = (),
) -> ForecastResult:
    """Return a forecast line per segment x channel, flags and a model report.

    ``allocation`` gives each channel's spend (a segment's cost = spend x its share of the given segments'
    customers) and, for channels without campaign history, the expected revenue. ``allocation_intervals``
    maps channel -> (lo80, hi80, lo95, hi95) of that revenue; ``curves`` (channel -> response curve points)
    is read back only as a cross-check in the report. Refuses (ForecastInputError): a currency other than
    the shop's, weeks < 1, no segments or channels, duplicate segment ids or allocations, malformed
    intervals. Refuses invalid campaign history (ForecasterDataError). Channels outside the catalog get an
    ``unknown_channel`` flag and no line. ``behaviour`` (the brief's behavioural audience) narrows every
    segment's history customers; filters the shop has no feature for get an ``unsupported_audience`` flag.
    """
    started = time.perf_counter()
    _check_inputs(shop, segments, channels, allocation, weeks, currency, allocation_intervals)
    flags: list[Flag] = []
    by_channel = {a.channel: a for a in allocation}
    spec = shop.campaign_spec
    history = shop.campaign_history
    models: UpliftModels | None = None
    report: dict[str, Any] = {"weeks": weeks, "currency": currency, "lines": []}
    if history is not None and spec is not None:
        models, cache_info = load_or_fit_uplift_models(shop, config)
        report["uplift"] = {**models.report(), "cache": cache_info}
    else:
        report["uplift"] = {"available": False, "reason": "the shop has no campaign history"}
    aov, aov_source = shop_average_order_value(shop)
    report["average_order_value"] = {"value": aov, "source": aov_source}
    shares, share_note = _segment_shares(segments)
    report["segment_shares"] = {"shares": shares, "basis": share_note}
    unused = sorted(set(by_channel) - set(channels))
    if unused:
        report["allocations_without_requested_channel"] = unused

    lines: list[ForecastLine] = []
    predict_ms: list[float] = []
    filters = {
        s.id: select_segment_customers(history, shop.reviews, s, spec.features) if models is not None else None
        for s in segments
    }
    if behaviour:  # the brief's behavioural audience narrows every segment (intake/audience.py)
        selection = behaviour_mask(history, behaviour, spec.features) if models is not None else None
        flags += unsupported_audience_flags(behaviour, selection)
        if selection is not None:
            filters = {k: replace(f, mask=f.mask & selection.mask, applied=f.applied + selection.applied)
                       for k, f in filters.items() if f is not None}
    assumptions = _scaling_assumptions(shop, segments, filters, channels, flags)
    if aov is not None and aov_source.startswith("estimated"):
        converters = re.search(r"(\d[\d,]*) converters", aov_source)
        assumptions.append(keyed_assumption(
            "assume_aov", 0.6, aov=f"{aov:,.2f}", currency=shop.currency, source=aov_source,
            **({"source_zh_key": "aov_estimated", "converters": converters.group(1)} if converters
               else {"source_zh_key": "aov_estimate_plain"})))
    for channel in channels:
        if channel not in shop.catalog:
            flags.append(
                Flag(
                    code=FlagCode.UNKNOWN_CHANNEL,
                    message=f"channel {channel!r} is not in the catalog; no forecast line",
                )
            )
            continue
        treatments = [tr for tr, ch in (spec.treatment_channels.items() if models else []) if ch == channel]
        alloc = by_channel.get(channel)
        for segment in segments:
            share = shares[segment.id]
            tick = time.perf_counter()
            uplift_line = None
            if treatments and models is not None:
                try:
                    uplift_line = _uplift_line(
                        models,
                        treatments,
                        segment,
                        channel,
                        alloc,
                        share,
                        filters[segment.id],
                        aov,
                        aov_source,
                        weeks,
                        n_boot,
                        seed,
                    )
                except OverlapError as exc:
                    # Observational history without comparable customers: no uplift figure at all; the
                    # line falls back to the channel allocation (labelled by its own source) if there is one.
                    flags.append(Flag(
                        code=FlagCode.OBSERVATIONAL_HISTORY,
                        message=f"segment {segment.id!r} x {channel}: no uplift figure from the observational "
                        f"campaign history: {exc}"
                        + ("; the line uses the channel allocation instead" if alloc is not None else ""),
                    ))
                predict_ms.append((time.perf_counter() - tick) * 1000)
            if uplift_line is not None:
                line, entry, line_flags = uplift_line
            elif alloc is not None:
                line, entry, line_flags = _allocation_line(
                    shop,
                    segment,
                    channel,
                    alloc,
                    share,
                    aov,
                    aov_source,
                    allocation_intervals,
                    curves,
                )
            else:
                flags.append(
                    Flag(
                        code=FlagCode.DEGRADED_OUTPUT,
                        message=(
                            f"channel {channel!r} has no campaign history and no allocation: no forecast for "
                            f"segment {segment.id!r}"
                        ),
                    )
                )
                continue
            lines.append(line)
            flags.extend(line_flags)
            report["lines"].append(entry)
    advice = _targeting_for_channels(shop, models, channels, config, seed, flags) if models is not None else []
    report["seconds"] = round(time.perf_counter() - started, 4)
    if predict_ms:
        report["predict_ms_per_segment"] = {
            "max": round(max(predict_ms), 2),
            "median": round(float(np.median(predict_ms)), 2),
        }
    for line in lines:
        line.currency = currency
    return ForecastResult(
        lines=lines, targeting=advice, flags=_dedupe(flags), assumptions=assumptions, model_report=report
    )


def _scaling_assumptions(
    shop: Shop,
    segments: list[Segment],
    filters: dict[str, SegmentFilter | None],
    channels: list[str],
    flags: list[Flag],
) -> list[Assumption]:
    """One flag and one assumption for the segments whose uplift lines are scaled to their measured size."""
    spec = shop.campaign_spec
    if spec is None:
        return []
    history_channels = sorted({ch for ch in spec.treatment_channels.values() if ch in channels})
    scaled = [s for s in segments if (f := filters.get(s.id)) is not None and f.basis == "scaled_to_segment"]
    if not scaled or not history_channels:
        return []
    keys = sorted({key for s in scaled for key in s.definition if s.definition.get(key) not in (None, "", [])})
    sizes = ", ".join(f"{s.id} {s.size.customers:,}" for s in scaled)
    values = {"channels": ", ".join(history_channels), "filters": ", ".join(keys) or "none", "sizes": sizes}
    flags.append(keyed_flag(FlagCode.WEAK_EVIDENCE, "flag_scaled_to_segment", **values))
    return [keyed_assumption("flag_scaled_to_segment", 0.4, **values)]


def _targeting_for_channels(
    shop: Shop,
    models: UpliftModels,
    channels: list[str],
    config: UpliftConfig | None,
    seed: int,
    flags: list[Flag],
) -> list[Targeting]:
    """The targeting table of every treatment whose channel the plan uses, on its conversion outcome (or
    the first outcome where conversion is not recorded). Targeting is advice on top of the forecast: where
    the history cannot support it (a top share holding one arm only), that treatment's table is left out
    with a flag rather than failing the forecast."""
    rows: list[Targeting] = []
    for treatment, channel in models.treatment_channels.items():
        if channel not in channels or not models.fits.get(treatment):
            continue
        if models.assignment == "observational":
            # Targeting compares raw treated and control outcomes in the top group: confounded here.
            flags.append(Flag(
                code=FlagCode.OBSERVATIONAL_HISTORY,
                message=f"No targeting advice for {channel} ({treatment}): the campaign history is observational, "
                "and ranking customers by uplift needs a randomized test",
            ))
            continue
        outcomes = models.fits[treatment]
        outcome = "conversion" if "conversion" in outcomes else next(iter(outcomes))
        try:
            rows.extend(targeting(shop, treatment, outcome=outcome, config=config, seed=seed, models=models))
        except (ForecastInputError, ForecasterDataError) as exc:
            flags.append(Flag(
                code=FlagCode.WEAK_EVIDENCE,
                message=f"No targeting advice for {channel} ({treatment}): the campaign history cannot rank "
                f"customers reliably ({exc})",
            ))
    return rows


def _check_inputs(
    shop: Shop,
    segments: list[Segment],
    channels: list[str],
    allocation: list[Allocation],
    weeks: int,
    currency: str,
    allocation_intervals: dict[str, tuple[float, float, float, float]] | None,
) -> None:
    if currency.upper() != shop.currency.upper():
        raise ForecastInputError(
            f"currency {currency!r} differs from the shop's {shop.currency!r}: order values and history "
            "revenue are in the shop's currency; convert the budget first"
        )
    if not isinstance(weeks, int) or weeks < 1:
        raise ForecastInputError(f"weeks must be a whole number >= 1, got {weeks!r}")
    if not segments:
        raise ForecastInputError("no segments to forecast")
    if not channels:
        raise ForecastInputError("no channels to forecast")
    ids = [s.id for s in segments]
    if len(set(ids)) != len(ids):
        raise ForecastInputError(f"duplicate segment ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    allocated = [a.channel for a in allocation]
    if len(set(allocated)) != len(allocated):
        raise ForecastInputError(
            f"more than one allocation for {sorted({c for c in allocated if allocated.count(c) > 1})}"
        )
    for channel, bounds in (allocation_intervals or {}).items():
        if len(bounds) != 4 or not all(math.isfinite(b) for b in bounds):
            raise ForecastInputError(f"allocation_intervals[{channel!r}] must be 4 finite numbers")
        lo80, hi80, lo95, hi95 = bounds
        if not lo95 <= lo80 <= hi80 <= hi95:
            raise ForecastInputError(
                f"allocation_intervals[{channel!r}] must satisfy lo95 <= lo80 <= hi80 <= hi95, got {bounds}"
            )


def _segment_shares(segments: list[Segment]) -> tuple[dict[str, float], str]:
    total = sum(s.size.customers for s in segments)
    if total > 0:
        return {
            s.id: s.size.customers / total for s in segments
        }, "segment size (customers) among the segments given"
    return {s.id: 1 / len(segments) for s in segments}, "equal split: the segments given have no sizes"


def shop_average_order_value(shop: Shop) -> tuple[float | None, str]:
    """Return the shop's average order value (mean revenue per converting customer, shop currency) and its
    source: ``shop.yaml``'s declared ``average_order_value`` (source ``shop.yaml ...``); else an estimate
    (source ``estimated: ...``), the one ``shop import`` recorded in ``shop.yaml`` or the mean revenue of the
    campaign history's converters, either from at least ``order_value.MIN_CONVERTERS`` converters; else
    ``(None, reason)``. The one definition every tool and the import use (``data/order_value.py``).
    """
    found = average_order_value(shop.campaign_spec, shop.campaign_history)
    return found.value, found.source


def _dedupe(flags: list[Flag]) -> list[Flag]:
    seen: set[tuple[str, str]] = set()
    out = []
    for flag in flags:
        if (flag.code.value, flag.message) not in seen:
            seen.add((flag.code.value, flag.message))
            out.append(flag)
    return out


# --------------------------------------------------------------------------------------------- uplift lines


def _uplift_line(
    models: UpliftModels,
    treatments: list[str],
    segment: Segment,
    channel: str,
    alloc: Allocation | None,
    share: float,
    selection: SegmentFilter | None,
    aov: float | None,
    aov_source: str,
    weeks: int,
    n_boot: int,
    seed: int,
) -> tuple[ForecastLine, dict[str, Any], list[Flag]]:
    if selection is None:
        raise ForecasterDataError("internal: an uplift line needs the segment's history selection")
    flags: list[Flag] = []
    mask = selection.mask
    reachable = int(mask.sum())
    # The customers the figures count: the segment's history customers, or (scaled) its measured size.
    audience = selection.audience if selection.audience is not None else reachable
    notes: list[str] = []
    estimates: dict[str, SegmentEstimate] = {}
    entry: dict[str, Any] = {
        "segment_id": segment.id,
        "channel": channel,
        "source": "uplift_model",
        "reachable": reachable,
        "audience": audience,
        "basis": selection.basis,
        "filters_applied": selection.applied,
        "filters_ignored": selection.ignored,
        "treatments": {},
    }
    fallback = False
    for treatment in treatments:
        fit = models.fits[treatment]["conversion"]
        estimate, used_fallback = _estimate(fit, mask, n_boot, seed)
        fallback |= used_fallback
        estimates[treatment] = estimate
        entry["treatments"][treatment] = {
            "conversion": _estimate_dict(estimate),
            "difference_in_means": _dim_summary(models, treatment, mask),
        }
    treatment = max(estimates, key=lambda tr: estimates[tr].lift)
    estimate = estimates[treatment]
    fit = models.fits[treatment]["conversion"]
    if estimate.assignment == "observational":
        notes.append(
            "observational history: propensity-weighted doubly robust (AIPW) estimate, not a randomized "
            f"comparison{f'; {estimate.trimmed} customers without overlap trimmed' if estimate.trimmed else ''}"
        )
        flags.append(Flag(
            code=FlagCode.OBSERVATIONAL_HISTORY,
            message=f"{channel}: the uplift figures come from observational campaign history ("
            f"{'declared observational' if models.assignment_declared else 'shop.yaml does not declare it randomized'}"
            "), adjusted for the customer features; unmeasured differences between the groups can still bias "
            "them. Confirm with a randomized holdout.",
        ))
    lo80, hi80 = estimate.lift_interval_80
    lo95, hi95 = estimate.lift_interval_95
    if reachable < WEAK_EVIDENCE_CUSTOMERS or fallback:
        factor = max(1.5, math.sqrt(WEAK_EVIDENCE_CUSTOMERS / max(reachable, 1)))
        (lo80, hi80), (lo95, hi95) = (
            _widen((lo80, hi80), estimate.lift, factor),
            _widen((lo95, hi95), estimate.lift, factor),
        )
        if not fallback:
            ac = _agresti_caffo(fit, mask, n_boot, seed)
            lo80, hi80 = min(lo80, ac[0][0]), max(hi80, ac[0][1])
            lo95, hi95 = min(lo95, ac[1][0]), max(hi95, ac[1][1])
        notes.append(f"intervals widened x{factor:.2f} for thin evidence")
        flags.append(
            Flag(
                code=FlagCode.WEAK_EVIDENCE,
                message=(
                    f"segment {segment.id!r} x {channel}: only {reachable} campaign-history customers "
                    f"({estimate.n_treated} treated, {estimate.n_control} control for {treatment!r}); "
                    f"{'whole-history estimate used; ' if fallback else ''}intervals widened"
                ),
            )
        )
    expected = estimate.lift * audience
    revenue, revenue_note = _uplift_revenue(
        models, treatment, mask, expected, aov, aov_source, n_boot, seed, audience
    )
    if revenue is None:
        revenue = 0.0
        flags.append(
            Flag(
                code=FlagCode.DEGRADED_OUTPUT,
                message=(
                    f"segment {segment.id!r} x {channel}: no average order value and no revenue outcome: "
                    "incremental revenue set to 0 and ROI left empty"
                ),
            )
        )
    cost = alloc.spend * share if alloc is not None else 0.0
    roi = (revenue - cost) / cost if cost > 0 and revenue_note != "none" else None
    if alloc is None:
        notes.append("no allocation for this channel: cost 0, ROI empty")
    others = [tr for tr in treatments if tr != treatment]
    text = (
        f"{_method_name(estimate.method)} for {treatment!r} vs {models.control!r} on conversion "
        f"({estimate.n_treated} treated / {estimate.n_control} control history customers in segment"
        f"{'; whole-history fallback: the segment lacks treated or control customers' if fallback else ''}); "
        f"model choice: {fit.reason}; "
        f"filters applied: {', '.join(selection.applied) or 'none (whole history)'}"
        + (
            f"; scaled to the segment's measured size ({audience:,} reviewers matching it): none of its "
            "filters is a campaign-history feature and no customer_id joins reviewers to the history"
            if selection.basis == "scaled_to_segment"
            else ""
        )
        + (f"; filters ignored: {', '.join(selection.ignored)}" if selection.ignored else "")
        + f"; {revenue_note}; intervals: bootstrap over customers ({n_boot} resamples) of the segment lift x "
        f"{reachable} reachable customers"
        + (f"; best of treatments {treatments} by segment lift (others: {others})" if others else "")
        + f"; history outcomes are per campaign window, not rescaled to {weeks} weeks"
        + f"; backtest_error = mean |predicted - observed| held-out lift over {models.config.folds} folds"
        + (f"; {'; '.join(notes)}" if notes else "")
    )
    line = ForecastLine(
        segment_id=segment.id,
        channel=channel,
        metric="incremental_conversions",
        expected=expected,
        interval_80=(lo80 * audience, hi80 * audience),
        interval_95=(lo95 * audience, hi95 * audience),
        incremental_revenue=revenue,
        roi=roi,
        source="uplift_model",
        assignment="observational" if estimate.assignment == "observational" else "randomized",
        backtest_error=fit.backtest_error if math.isfinite(fit.backtest_error) else None,
        spend=cost,
        baseline_rate=estimate.control_mean,
        lift=estimate.lift,
        model=text,
        basis=selection.basis,  # type: ignore[arg-type]
        customers=audience,
    )
    entry.update(
        chosen_treatment=treatment, cost=cost, incremental_revenue=revenue, revenue_basis=revenue_note
    )
    return line, entry, flags


def _estimate(fit: PairFit, mask: np.ndarray, n_boot: int, seed: int) -> tuple[SegmentEstimate, bool]:
    """Return the segment estimate, or the whole-history one (True) when the segment lacks an arm."""
    in_pair = mask[fit.rows]
    treated = int(fit.t[in_pair].sum())
    if treated == 0 or treated == int(in_pair.sum()):
        return estimate_segment(fit, np.ones(len(mask), dtype=bool), n_boot=n_boot, seed=seed), True
    return estimate_segment(fit, mask, n_boot=n_boot, seed=seed), False


def _agresti_caffo(
    fit: PairFit, mask: np.ndarray, n_boot: int, seed: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    in_pair = mask[fit.rows]
    y, t = fit.y[in_pair], fit.t[in_pair]
    draws = agresti_caffo_draws(y[t == 1], y[t == 0], n_boot, np.random.default_rng(seed + 1))
    lo80, hi80 = np.percentile(draws, [10, 90])
    lo95, hi95 = np.percentile(draws, [2.5, 97.5])
    return (float(lo80), float(hi80)), (float(lo95), float(hi95))


def _widen(interval: tuple[float, float], centre: float, factor: float) -> tuple[float, float]:
    return centre - (centre - interval[0]) * factor, centre + (interval[1] - centre) * factor


def _uplift_revenue(
    models: UpliftModels,
    treatment: str,
    mask: np.ndarray,
    conversions: float,
    aov: float | None,
    aov_source: str,
    n_boot: int,
    seed: int,
    audience: int,
) -> tuple[float | None, str]:
    if aov is not None and aov_source.startswith("shop.yaml"):
        return (
            conversions * aov,
            f"incremental revenue = incremental conversions x average order value {aov:.2f} ({aov_source})",
        )
    revenue_fit = models.fits[treatment].get("revenue")
    if revenue_fit is not None:
        estimate, fallback = _estimate(revenue_fit, mask, n_boot, seed)
        return estimate.lift * audience, (
            f"incremental revenue = predicted revenue uplift per customer {estimate.lift:.4f} x {audience} "
            f"customers ({_method_name(estimate.method)} on the revenue outcome directly"
            f"{', whole-history fallback' if fallback else ''})"
        )
    if aov is not None:
        return (
            conversions * aov,
            f"incremental revenue = incremental conversions x average order value {aov:.2f} ({aov_source})",
        )
    return None, "none"


def _method_name(method: str) -> str:
    if method == "difference_in_means":
        return "difference in means (stratified baseline chosen)"
    if method == "aipw:stratified_dim":
        return "AIPW over the cross-fitted stratified baseline"
    return f"AIPW over cross-fitted {method.removeprefix('aipw:').replace('_', '-')} (HistGradientBoosting)"


def _estimate_dict(estimate: SegmentEstimate) -> dict[str, Any]:
    return {
        "method": estimate.method,
        "control_mean": estimate.control_mean,
        "treated_mean": estimate.treated_mean,
        "lift": estimate.lift,
        "lift_interval_80": list(estimate.lift_interval_80),
        "lift_interval_95": list(estimate.lift_interval_95),
        "n_treated": estimate.n_treated,
        "n_control": estimate.n_control,
    }


def _dim_summary(models: UpliftModels, treatment: str, mask: np.ndarray) -> dict[str, dict[str, float | int]]:
    """Plain treated/control means per outcome in the segment (the check against the model)."""
    out: dict[str, dict[str, float | int]] = {}
    for outcome, fit in models.fits[treatment].items():
        in_pair = mask[fit.rows]
        y, t = fit.y[in_pair], fit.t[in_pair]
        n1, n0 = int(t.sum()), int(len(t) - t.sum())
        if n1 == 0 or n0 == 0:
            out[outcome] = {"n_treated": n1, "n_control": n0}
            continue
        treated, control = float(y[t == 1].mean()), float(y[t == 0].mean())
        out[outcome] = {
            "treated_mean": treated,
            "control_mean": control,
            "lift": treated - control,
            "n_treated": n1,
            "n_control": n0,
        }
    return out


# ------------------------------------------------------------------------------------------- allocation lines


def _allocation_line(
    shop: Shop,
    segment: Segment,
    channel: str,
    alloc: Allocation,
    share: float,
    aov: float | None,
    aov_source: str,
    allocation_intervals: dict[str, tuple[float, float, float, float]] | None,
    curves: dict[str, Any] | None,
) -> tuple[ForecastLine, dict[str, Any], list[Flag]]:
    flags: list[Flag] = []
    source = alloc.source
    if source == "uplift_model":
        flags.append(
            Flag(
                code=FlagCode.DEGRADED_OUTPUT,
                message=(
                    f"allocation for {channel!r} claims an uplift model but the campaign history has no "
                    "treatment on that channel: forecast as a prior"
                ),
            )
        )
        source = "prior"
    revenue = alloc.expected_outcome * share
    cost = alloc.spend * share
    bounds = (allocation_intervals or {}).get(channel)
    if bounds is not None:
        lo80, hi80, lo95, hi95 = (b * share for b in bounds)
        interval_note = "intervals: the allocation's own revenue intervals x segment share"
    else:
        cv = shop.catalog[channel].prior.prior_cv
        (lo80, hi80), (lo95, hi95) = _prior_interval(revenue, cv, 0.80), _prior_interval(revenue, cv, 0.95)
        interval_note = (
            f"intervals: wide prior, lognormal with the catalog's cv {cv:g} (no allocation intervals given)"
        )
    if aov is not None:
        metric, scale = "incremental_conversions", 1.0 / aov
        metric_note = f"conversions = revenue / average order value {aov:.2f} ({aov_source})"
    else:
        metric, scale = "incremental_revenue", 1.0
        metric_note = "no average order value: the line counts revenue, not conversions"
        flags.append(
            Flag(
                code=FlagCode.DEGRADED_OUTPUT,
                message=(
                    f"segment {segment.id!r} x {channel}: no average order value; "
                    "forecast in revenue, not conversions"
                ),
            )
        )
    curve_check = _curve_at(curves, channel, alloc.spend)
    text = (
        f"{source}: the channel allocation's expected revenue {alloc.expected_outcome:.2f} over the campaign "
        f"x segment share {share:.3f}; {metric_note}; {interval_note}; no campaign history for {channel!r}"
    )
    line = ForecastLine(
        segment_id=segment.id,
        channel=channel,
        metric=metric,
        expected=revenue * scale,
        interval_80=(lo80 * scale, hi80 * scale),
        interval_95=(lo95 * scale, hi95 * scale),
        incremental_revenue=revenue,
        roi=(revenue - cost) / cost if cost > 0 else None,
        source=source,
        backtest_error=None,
        spend=cost,
        model=text,
        basis="channel_share",  # not counted over customers: the channel's outcome split by segment share
    )
    entry = {
        "segment_id": segment.id,
        "channel": channel,
        "source": source,
        "share": share,
        "allocation_expected_outcome": alloc.expected_outcome,
        "curve_outcome_at_spend": curve_check,
    }
    return line, entry, flags


def _prior_interval(value: float, cv: float, level: float) -> tuple[float, float]:
    """A lognormal with mean ``value`` and coefficient of variation ``cv``: positive, right-skewed, as a
    revenue response is. Non-positive values fall back to value +/- z * cv * |value|."""
    z = _Z80 if level == 0.80 else _Z95
    if value <= 0:
        return value - z * cv * abs(value), value + z * cv * abs(value)
    sigma = math.sqrt(math.log1p(cv**2))
    mu = math.log(value) - sigma**2 / 2
    return math.exp(mu - z * sigma), math.exp(mu + z * sigma)


def _curve_at(curves: dict[str, Any] | None, channel: str, spend: float) -> float | None:
    """The response curve's outcome at ``spend`` (linear interpolation), for the report's cross-check."""
    points = (curves or {}).get(channel)
    if not points:
        return None
    pairs = sorted(
        (float(p["spend"]), float(p["outcome"]))
        if isinstance(p, dict)
        else (float(p.spend), float(p.outcome))
        for p in points
    )
    return float(np.interp(spend, [s for s, _ in pairs], [o for _, o in pairs]))


# --------------------------------------------------------------------------------------------- targeting


def targeting(
    shop: Shop,
    treatment: str,
    top_k: Sequence[float] = (0.1, 0.3, 0.5),
    *,
    outcome: str = "conversion",
    config: UpliftConfig | None = None,
    n_boot: int = 400,
    seed: int = 0,
    models: UpliftModels | None = None,
) -> list[TargetingRow]:
    """Return, for each share k, the observed uplift among the top k of customers ranked by predicted
    uplift, with a bootstrap 95% interval and how that group differs from everyone.

    Rankings are cross-fitted (each customer scored by a model that never saw them), so the observed
    uplift is an honest estimate of what targeting that share would deliver. Refuses an unknown treatment
    or outcome and shares outside (0, 1].
    """
    if models is None:
        models, _ = load_or_fit_uplift_models(shop, config)
    if treatment not in models.fits:
        raise ForecastInputError(
            f"treatment {treatment!r} is not in the campaign history spec; known: {sorted(models.fits)}"
        )
    if outcome not in models.fits[treatment]:
        raise ForecastInputError(f"outcome {outcome!r} not fitted; known: {sorted(models.fits[treatment])}")
    fit = models.fits[treatment][outcome]
    history = shop.campaign_history
    if history is None:
        raise ForecasterDataError(f"shop {shop.name!r} has no campaign history")
    pair = history.iloc[fit.rows]
    order = np.argsort(fit.oof_tau, kind="mergesort")[::-1]
    rng = np.random.default_rng(seed)
    overall = float(fit.y[fit.t == 1].mean() - fit.y[fit.t == 0].mean())
    rows = []
    for k in top_k:
        if not 0 < k <= 1:
            raise ForecastInputError(f"top_k shares must be in (0, 1], got {k}")
        top = order[: max(1, int(len(order) * k))]
        y, t = fit.y[top], fit.t[top]
        y1, y0 = y[t == 1], y[t == 0]
        if len(y1) == 0 or len(y0) == 0:
            raise ForecastInputError(f"top {k:.0%} holds only one arm; choose a larger share")
        draws = _boot_diff(y1, y0, fit.binary, n_boot, rng)
        lo, hi = np.percentile(draws, [2.5, 97.5])
        observed = float(y1.mean() - y0.mean())
        recommendation, reason = _targeting_advice(k, float(lo), float(hi), overall, outcome, fit.binary)
        rows.append(
            TargetingRow(
                treatment=treatment,
                channel=models.treatment_channels[treatment],
                outcome=outcome,
                top_share=k,
                customers=round(k * models.n_rows),
                predicted_lift=float(fit.oof_tau[top].mean()),
                observed_lift=observed,
                observed_lift_interval_95=(float(lo), float(hi)),
                overall_lift=overall,
                model=f"{fit.chosen} ranking from cross-fitted predictions; {fit.reason}",
                profile=_profile(pair, top, models.features),
                recommendation=recommendation,
                reason=reason,
            )
        )
    return rows


def _targeting_advice(
    share: float, lo: float, hi: float, overall: float, outcome: str, binary: bool
) -> tuple[str, str]:
    """``target_top`` only where the whole 95% interval of the top group's lift lies above everyone's lift."""

    def show(value: float) -> str:
        return f"{value * 100:+.2f} points" if binary else f"{value:+.2f}"

    span = f"{show(lo)} to {show(hi)}"
    if share < 1 and lo > overall:
        return "target_top", (
            f"the top {share:.0%} by predicted uplift respond more than everyone: their {outcome} lift "
            f"({span}, 95%) lies above the all-customer lift ({show(overall)})"
        )
    return "send_to_all", (
        f"the top {share:.0%}'s {outcome} lift ({span}, 95%) is not reliably above the all-customer lift "
        f"({show(overall)}): no targeting gain shown"
    )


def _boot_diff(
    y1: np.ndarray, y0: np.ndarray, binary: bool, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    if binary:
        return rng.binomial(len(y1), y1.mean(), n_boot) / len(y1) - rng.binomial(
            len(y0), y0.mean(), n_boot
        ) / len(y0)
    i1 = rng.integers(0, len(y1), size=(n_boot, len(y1)))
    i0 = rng.integers(0, len(y0), size=(n_boot, len(y0)))
    return y1[i1].mean(axis=1) - y0[i0].mean(axis=1)


def _profile(pair: pd.DataFrame, top: np.ndarray, features: list[str], limit: int = 3) -> dict[str, str]:
    """The features on which the top group differs most from all customers (standardised difference for
    numbers, share difference of the most over-represented level for text)."""
    scored: list[tuple[float, str, str]] = []
    chosen = pair.iloc[top]
    for feature in features:
        column, picked = pair[feature], chosen[feature]
        if pd.api.types.is_numeric_dtype(column):
            sd = float(column.std())
            if not sd > 0:
                continue
            diff = (float(picked.mean()) - float(column.mean())) / sd
            scored.append((abs(diff), feature, f"mean {picked.mean():.3g} vs {column.mean():.3g} overall"))
        else:
            everyone = column.astype(str).value_counts(normalize=True)
            selected = picked.astype(str).value_counts(normalize=True).reindex(everyone.index, fill_value=0.0)
            level = (selected - everyone).idxmax()
            gap = float(selected[level] - everyone[level])
            scored.append(
                (2 * gap, feature, f"{level}: {selected[level]:.0%} vs {everyone[level]:.0%} overall")
            )
    # Differences below a tenth of a standard deviation (or 5 share points) are noise, not a profile.
    scored = sorted((row for row in scored if row[0] >= 0.1), reverse=True)
    return {feature: text for _, feature, text in scored[:limit]}
