"""The readout rendered: JSON (the model), Markdown, and a self-contained HTML page (escaped, no script)."""

from __future__ import annotations

from typing import Literal

from campaign_planner.render.formatting import escape_html, format_money, format_number
from campaign_planner.render.markdown import escape_md
from campaign_planner.results.readout import ChannelReadout, Estimate, Readout

ReadoutFormat = Literal["json", "md", "html"]

_VERDICTS = {"inside_80": "inside the 80% forecast interval", "inside_95": "inside the 95% (not the 80%) interval",
             "outside_95": "OUTSIDE the 95% forecast interval", "not_measured": "not measured"}


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:+.{digits}f} pts"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _interval(estimate: Estimate, fmt) -> str:  # type: ignore[no-untyped-def]
    low, high = estimate.interval_95
    p = f", p = {estimate.p_value:.3g}" if estimate.p_value is not None else ""
    return f"{fmt(estimate.estimate)} (95% interval {fmt(low)} to {fmt(high)}{p})"


def channel_lines(channel: ChannelReadout, currency: str) -> list[tuple[str, str]]:
    """Return the channel's readout as (label, text) pairs, in reading order."""
    def money(value: float) -> str:
        return format_money(value, currency)

    lines: list[tuple[str, str]] = [("test", (channel.design or "none").replace("_", " ")),
                                    ("status", channel.status.replace("_", " "))]
    lift = channel.lift
    if lift and lift.conversion_lift:
        lines.append(("arms", f"{lift.treated:,} treated ({_rate(lift.treated_rate)} converted), "
                               f"{lift.holdout:,} holdout ({_rate(lift.holdout_rate)})"))
        lines.append(("lift in conversion", _interval(lift.conversion_lift, _pct)))
    if lift and lift.revenue_per_region_week_lift:
        lines.append(("regions", f"{lift.treated} treated, {lift.holdout} holdout; {lift.pre_periods} periods "
                                 f"before launch, {lift.post_periods} after"))
        lines.append(("lift per region-week", _interval(lift.revenue_per_region_week_lift, money)))
    if lift and lift.incremental_revenue_to_date:
        lines.append(("incremental revenue to date", _interval(lift.incremental_revenue_to_date, money)))
    if channel.pacing:
        pacing = channel.pacing
        pace = f" ({pacing.pace:.0%} of plan, {pacing.status.replace('_', ' ')})" if pacing.pace is not None else ""
        lines.append(("pacing", f"{money(pacing.spend_to_date)} spent of {money(pacing.planned_to_date)} planned "
                                f"to date ({format_number(pacing.weeks_elapsed)} of {pacing.plan_weeks or '?'} "
                                f"weeks; {money(pacing.planned_total)} in all){pace}"))
    if channel.forecast_check:
        check = channel.forecast_check
        fmt = money if "revenue" in check.metric else _pct
        lines.append(("forecast against actual",
                      f"{check.metric}: measured {fmt(check.actual or 0.0)} against a forecast of "
                      f"{fmt(check.forecast)} (80% {fmt(check.forecast_interval_80[0])} to "
                      f"{fmt(check.forecast_interval_80[1])}; 95% {fmt(check.forecast_interval_95[0])} to "
                      f"{fmt(check.forecast_interval_95[1])}): {_VERDICTS[check.verdict]}"))
    if channel.power:
        power = channel.power
        state = {True: "powered", False: "not yet powered", None: "power not judged"}[power.powered]
        lines.append(("power", f"{state}: {power.note}"))
    if channel.reported:
        reported = channel.reported
        lines.append(("reported", f"{reported.periods} periods ({reported.first_period} to {reported.last_period}): "
                                  f"spend {money(reported.spend)}, revenue {money(reported.revenue)} "
                                  + ("(attributed)" if reported.revenue_kind == "attributed" else
                                     "(the test regions' total sales since launch)")))
    lines.extend(("note", note) for note in channel.notes)
    return lines


def render_readout(readout: Readout, fmt: ReadoutFormat) -> str:
    """Return ``readout`` as ``fmt``; refuses (ValueError) an unknown format."""
    if fmt == "json":
        return readout.model_dump_json(indent=2)
    if fmt == "md":
        return _markdown(readout)
    if fmt == "html":
        return _html(readout)
    raise ValueError(f"unknown readout format {fmt!r}; expected json, md or html")


def _heading(readout: Readout) -> str:
    return (f"Campaign readout · thread {readout.thread_id} · plan run {readout.plan_run_id} ({readout.plan_status}) · "
            f"{format_number(readout.weeks_elapsed)} of {readout.plan_weeks or '?'} weeks")


def _markdown(readout: Readout) -> str:
    out = [f"# {escape_md(_heading(readout))}", ""]
    out.extend(f"- {escape_md(note)}" for note in readout.notes)
    if readout.outside_forecast:
        out.append(f"- **Outside the forecast's 95% interval:** {escape_md(', '.join(readout.outside_forecast))} — "
                   "a re-plan of the remaining weeks is worth considering")
    for channel in readout.channels:
        out += ["", f"## {escape_md(channel.channel)}", ""]
        out.extend(f"- **{escape_md(label)}:** {escape_md(text)}" for label, text in channel_lines(channel,
                                                                                                  readout.currency))
    return "\n".join(out) + "\n"


def _html(readout: Readout) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Campaign readout</title><style>"
             "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
             "th{text-align:left;vertical-align:top;padding-right:1rem}td{padding:.2rem 0}"
             ".outside{color:#a00;font-weight:bold}</style></head><body>",
             f"<h1>{escape_html(_heading(readout))}</h1>"]
    parts.extend(f"<p>{escape_html(note)}</p>" for note in readout.notes)
    if readout.outside_forecast:
        parts.append(f"<p class='outside'>Outside the forecast's 95% interval: "
                     f"{escape_html(', '.join(readout.outside_forecast))}</p>")
    for channel in readout.channels:
        parts.append(f"<h2>{escape_html(channel.channel)}</h2><table>")
        parts.extend(f"<tr><th>{escape_html(label)}</th><td>{escape_html(text)}</td></tr>"
                     for label, text in channel_lines(channel, readout.currency))
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
