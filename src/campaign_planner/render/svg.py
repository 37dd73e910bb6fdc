"""Inline SVG charts for the HTML report: no script, no external asset, every label escaped.

Each function returns :class:`markupsafe.Markup`, so the Jinja template inserts it as is; that is safe
because every piece of text placed in the SVG passes through :func:`html.escape` here.
"""

from __future__ import annotations

import html
import math
from bisect import bisect_left
from collections.abc import Sequence

from markupsafe import Markup

from campaign_planner.domain import Budget, ForecastLine, ResponseCurvePoint
from campaign_planner.render.formatting import (
    channel_name,
    format_money,
    format_number,
    format_outcome,
    format_percent,
    source_labels,
)
from campaign_planner.render.messages import metric_label, objective_label, t

PALETTE = ("#2f6fde", "#e07a2f", "#2a9d6f", "#b44fbf", "#c9a227", "#4aa3c7", "#d0504f", "#6b7a8f")
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'
WIDTH = 720


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg(height: float, label: str, body: list[str], width: float = WIDTH) -> Markup:
    # No xmlns attribute: inline SVG in HTML needs none, and the page must hold no external reference.
    return Markup(
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="100%" role="img" aria-label="{_text(label)}" '
        f"{_FONT}><title>{_text(label)}</title>{''.join(body)}</svg>"
    )


def allocation_chart(budget: Budget, language: str = "en") -> Markup:
    """Return a horizontal bar chart of spend per channel, labelled with money and share of the total."""
    label_width, value_width, row = 130, 170, 30
    allocations = budget.allocations
    largest = max((a.spend for a in allocations), default=0.0) or 1.0
    plot_width = WIDTH - label_width - value_width
    body: list[str] = []
    for index, allocation in enumerate(allocations):
        y = 8 + index * row
        bar = plot_width * allocation.spend / largest
        share = format_percent(allocation.spend / budget.total if budget.total else None, 1)
        body += [
            f'<text x="{label_width - 8}" y="{y + 19}" text-anchor="end">'
            f"{_text(channel_name(allocation.channel, language))}</text>",
            f'<rect x="{label_width}" y="{y + 5}" width="{bar:.1f}" height="{row - 10}" rx="3" '
            f'fill="{PALETTE[index % len(PALETTE)]}"><title>{_text(allocation.channel)}: '
            f"{_text(format_money(allocation.spend, budget.currency, language))}</title></rect>",
            f'<text x="{label_width + bar + 6:.1f}" y="{y + 19}">'
            f"{_text(format_money(allocation.spend, budget.currency, language))} ({_text(share)})</text>",
        ]
    return _svg(16 + row * max(len(allocations), 1), t("chart_allocation", language), body)


def nice_axis(low: float, high: float, target: int = 5) -> tuple[float, float, list[float]]:
    """Return (low, high, ticks) widened to round ticks: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(target - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start, end = math.floor(low / step) * step, math.ceil(high / step) * step
    ticks = [start + step * i for i in range(round((end - start) / step) + 1)]
    return start, end, ticks


def _shorten(label: str, limit: int = 36) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def forecast_chart(lines: Sequence[ForecastLine], segment_names: dict[str, str], metric: str,
                   language: str = "en") -> Markup:
    """Return the forecast lines of one ``metric`` as 80% bars inside 95% whiskers, with the expected value.

    Lines of other metrics are ignored (one axis cannot hold conversions and revenue together).
    """
    rows = [line for line in lines if line.metric == metric]
    shown_metric = metric_label(metric, language)
    label_width, right, row, top = 240, 24, 30, 26
    low, high, ticks = nice_axis(
        min([0.0, *(line.interval_95[0] for line in rows)]),
        max([0.0, *(max(line.interval_95[1], line.expected) for line in rows)]),
    )
    x0, x1 = label_width, WIDTH - right

    def x(value: float) -> float:
        return x0 + (value - low) / (high - low) * (x1 - x0)

    plot_bottom = top + row * len(rows)
    body = [
        f'<text x="8" y="14" fill="#555">{_text(t("chart_forecast_legend", language, metric=shown_metric))}</text>'
    ]
    for tick in ticks:
        body += [
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top}" y2="{plot_bottom}" stroke="#e3e3e3"/>',
            f'<text x="{x(tick):.1f}" y="{plot_bottom + 16}" text-anchor="middle" fill="#555">'
            f"{_text(format_number(tick))}</text>",
        ]
    if low < 0 < high:
        body.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{plot_bottom}" stroke="#888"/>')
    for index, line in enumerate(rows):
        mid = top + index * row + row / 2
        name = f"{segment_names.get(line.segment_id, line.segment_id)} · {channel_name(line.channel, language)}"
        lo95, hi95 = (x(v) for v in line.interval_95)
        lo80, hi80 = (x(v) for v in line.interval_80)
        color = PALETTE[index % len(PALETTE)]
        tooltip = t("chart_forecast_tooltip", language, name=name, expected=format_number(line.expected),
                    lo80=format_number(line.interval_80[0]), hi80=format_number(line.interval_80[1]),
                    lo95=format_number(line.interval_95[0]), hi95=format_number(line.interval_95[1]),
                    source=source_labels(language).get(line.source, line.source))
        body += [
            f"<g><title>{_text(tooltip)}</title>",
            f'<text x="{label_width - 8}" y="{mid + 4:.1f}" text-anchor="end">{_text(_shorten(name))}</text>',
            f'<line x1="{lo95:.1f}" x2="{hi95:.1f}" y1="{mid:.1f}" y2="{mid:.1f}" '
            'stroke="#444" stroke-width="1.5"/>',
            f'<line x1="{lo95:.1f}" x2="{lo95:.1f}" y1="{mid - 6:.1f}" y2="{mid + 6:.1f}" stroke="#444"/>',
            f'<line x1="{hi95:.1f}" x2="{hi95:.1f}" y1="{mid - 6:.1f}" y2="{mid + 6:.1f}" stroke="#444"/>',
            f'<rect x="{lo80:.1f}" y="{mid - 6:.1f}" width="{max(hi80 - lo80, 1):.1f}" height="12" '
            f'fill="{color}" fill-opacity="0.55"/>',
            f'<circle cx="{x(line.expected):.1f}" cy="{mid:.1f}" r="4" fill="#111"/>',
            "</g>",
        ]
    return _svg(plot_bottom + 24, t("chart_forecast", language, metric=shown_metric), body)


def _interpolate(points: Sequence[ResponseCurvePoint], spend: float) -> float:
    spends = [p.spend for p in points]
    if spend <= spends[0]:
        return points[0].outcome
    if spend >= spends[-1]:
        return points[-1].outcome
    right = bisect_left(spends, spend)
    left = right - 1
    span = spends[right] - spends[left]
    weight = (spend - spends[left]) / span if span else 0.0
    return points[left].outcome + weight * (points[right].outcome - points[left].outcome)


def response_curve_chart(
    channel: str, points: Sequence[ResponseCurvePoint], chosen_spend: float | None, currency: str,
    language: str = "en",
) -> Markup:
    """Return one channel's response curve (outcome against spend) with the chosen spend marked.

    The chosen point is read off the curve by linear interpolation; a spend beyond the curve's last
    point is marked at the end and labelled as outside the curve's range.
    """
    width, height = 340, 220
    left, right, top, bottom = 62, 14, 22, 40
    curve = sorted(points, key=lambda p: p.spend)
    name = channel_name(channel, language)
    title = t("chart_curve", language, channel=name)
    if not curve:
        return _svg(60, title, [f'<text x="10" y="30">{_text(t("chart_no_points", language))}</text>'], width)
    max_spend = max([curve[-1].spend, chosen_spend or 0.0]) or 1.0
    max_outcome = max(p.outcome for p in curve) or 1.0

    def x(spend: float) -> float:
        return left + spend / max_spend * (width - left - right)

    def y(outcome: float) -> float:
        return height - bottom - outcome / max_outcome * (height - top - bottom)

    polyline = " ".join(f"{x(p.spend):.1f},{y(p.outcome):.1f}" for p in curve)
    body = [
        f'<text x="{left}" y="14" font-weight="600">{_text(name)}</text>',
        f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#888"/>',
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{y(0):.1f}" stroke="#888"/>',
        f'<text x="{left}" y="{height - bottom + 16}" text-anchor="middle" fill="#555">0</text>',
        f'<text x="{width - right}" y="{height - bottom + 16}" text-anchor="end" fill="#555">'
        f"{_text(format_money(max_spend, currency, language))}</text>",
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 6}" text-anchor="middle" '
        f'fill="#555">{_text(t("chart_spend", language))}</text>',
        f'<text x="{left - 6}" y="{y(max_outcome) + 4:.1f}" text-anchor="end" fill="#555">'
        f"{_text(format_number(max_outcome))}</text>",
        f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end" fill="#555">0</text>',
        f'<polyline points="{polyline}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>',
    ]
    if chosen_spend is not None:
        outcome = _interpolate(curve, chosen_spend)
        beyond = chosen_spend > curve[-1].spend
        label = t("chart_chosen_beyond" if beyond else "chart_chosen", language,
                  spend=format_money(chosen_spend, currency, language))
        anchor = "end" if x(chosen_spend) > width / 2 else "start"
        offset = -8 if anchor == "end" else 8
        body += [
            f'<line x1="{x(chosen_spend):.1f}" x2="{x(chosen_spend):.1f}" '
            f'y1="{y(outcome):.1f}" y2="{y(0):.1f}" '
            'stroke="#d0504f" stroke-dasharray="4 3"/>',
            f'<circle cx="{x(chosen_spend):.1f}" cy="{y(outcome):.1f}" r="5" fill="#d0504f">'
            f"<title>{_text(t('chart_point_outcome', language, label=label, outcome=format_number(outcome)))}"
            "</title></circle>",
            f'<text x="{x(chosen_spend) + offset:.1f}" y="{y(outcome) - 8:.1f}" text-anchor="{anchor}" '
            f'fill="#d0504f">{_text(label)}</text>',
        ]
    return _svg(height, title, body, width)


def frontier_chart(budget: Budget, language: str = "en") -> Markup:
    """Return the efficient frontier: the best outcome against total spend, with the budget and the
    recommended total marked, and (for revenue) the break-even line outcome = spend.
    """
    points = sorted(budget.frontier, key=lambda p: p.spend)
    label = t("chart_frontier", language)
    if len(points) < 2:
        return _svg(60, label, [f'<text x="10" y="30">{_text(t("chart_no_points", language))}</text>'])
    height, left, right, top, bottom = 280, 86, 24, 30, 44
    unit = budget.outcome_unit or objective_label(budget.objective, language)
    max_spend = max(points[-1].spend, budget.total) or 1.0
    max_outcome = max([p.outcome for p in points] + ([max_spend] if budget.objective == "revenue" else [])) or 1.0
    max_outcome = min(max_outcome, 1.15 * max(p.outcome for p in points)) or 1.0

    def x(spend: float) -> float:
        return left + spend / max_spend * (WIDTH - left - right)

    def y(outcome: float) -> float:
        return height - bottom - min(outcome, max_outcome) / max_outcome * (height - top - bottom)

    polyline = " ".join(f"{x(p.spend):.1f},{y(p.outcome):.1f}" for p in points)
    body = [
        f'<text x="8" y="16" fill="#555">{_text(t("chart_frontier_legend", language, label=label, unit=unit))}</text>'
        if budget.objective == "revenue" else f'<text x="8" y="16" fill="#555">{_text(label)} ({_text(unit)})</text>',
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#888"/>',
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{y(0):.1f}" stroke="#888"/>',
        f'<text x="{left}" y="{height - bottom + 16}" text-anchor="middle" fill="#555">0</text>',
        f'<text x="{WIDTH - right}" y="{height - bottom + 16}" text-anchor="end" fill="#555">'
        f"{_text(format_money(max_spend, budget.currency, language))}</text>",
        f'<text x="{(left + WIDTH - right) / 2:.0f}" y="{height - 8}" text-anchor="middle" fill="#555">'
        f"{_text(t('chart_total_spend', language))}</text>",
        f'<text x="{left - 6}" y="{y(max_outcome) + 4:.1f}" text-anchor="end" fill="#555">'
        f"{_text(format_outcome(max_outcome, budget.outcome_unit, language))}</text>",
        f'<polyline points="{polyline}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>',
    ]
    if budget.objective == "revenue":
        end = min(max_spend, max_outcome)
        body.append(f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(end):.1f}" y2="{y(end):.1f}" '
                    'stroke="#999" stroke-dasharray="5 4"/>')
    marks = [(t("chart_budget", language), budget.total, "#d0504f")]
    if budget.recommended_total is not None and budget.recommended_total < budget.total - 0.005:
        marks.append((t("chart_recommended", language), budget.recommended_total, "#2a9d6f"))
    for index, (name, spend, color) in enumerate(marks):
        outcome = _interpolate(points, spend)  # type: ignore[arg-type]
        anchor = "end" if x(spend) > WIDTH / 2 else "start"
        offset = -8 if anchor == "end" else 8
        text = (f"{name}: {format_money(spend, budget.currency, language)} → "
                f"{format_outcome(outcome, budget.outcome_unit, language)}")
        body += [
            f'<line x1="{x(spend):.1f}" x2="{x(spend):.1f}" y1="{top}" y2="{y(0):.1f}" stroke="{color}" '
            'stroke-dasharray="4 3"/>',
            f'<circle cx="{x(spend):.1f}" cy="{y(outcome):.1f}" r="5" fill="{color}"><title>{_text(text)}</title>'
            "</circle>",
            f'<text x="{x(spend) + offset:.1f}" y="{top + 14 + 16 * index}" text-anchor="{anchor}" fill="{color}">'
            f"{_text(text)}</text>",
        ]
    return _svg(height, label, body)
