"""The plan as one self-contained HTML page: inline CSS, inline SVG charts, no script, no external asset.

The page is rendered by Jinja2 with autoescaping on, so every string from the plan (reviews, brief,
model text) is escaped; only the charts of :mod:`campaign_planner.render.svg` are inserted as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup

from campaign_planner.domain import CampaignPlan, CopyVariant, Messaging, RuleCheck
from campaign_planner.render.formatting import (
    allocation_total,
    answer_figure,
    answer_sources,
    answers_in_order,
    basis_labels,
    brief_fields,
    channel_name,
    checks_by_variant,
    definition_text,
    demographics_text,
    format_lift,
    format_money,
    format_number,
    format_outcome,
    format_percent,
    format_ratio,
    headline_label,
    metric_unit,
    plan_currency,
    plan_title,
    segment_names,
    source_labels,
)
from campaign_planner.render.messages import catalog, language_of, metric_label, objective_label, t
from campaign_planner.render.svg import allocation_chart, forecast_chart, frontier_chart, response_curve_chart

TEMPLATE = "plan_report.html.j2"


@dataclass(frozen=True)
class MessagingCell:
    """One segment × channel block of the report, with each variant beside its own checks."""

    messaging: Messaging
    segment_name: str
    channel_name: str
    headline_label: str
    variants: list[tuple[CopyVariant, list[RuleCheck]]]


@pass_context
def _money_in_plan_language(context: Any, amount: float | None, currency: str | None) -> str:
    return format_money(amount, currency, context.get("lang", "en"))


@pass_context
def _outcome_in_plan_language(context: Any, value: float | None, unit: str | None) -> str:
    return format_outcome(value, unit, context.get("lang", "en"))


@pass_context
def _lift_in_plan_language(context: Any, value: float | None, outcome: str) -> str:
    return format_lift(value, outcome, context.get("lang", "en"))


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("campaign_planner", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        money=_money_in_plan_language,
        num=format_number,
        pct=format_percent,
        lift=_lift_in_plan_language,
        ratio=format_ratio,
        channel_name=channel_name,
        outcome=_outcome_in_plan_language,
        metric_unit=metric_unit,
        metric_label=metric_label,
        objective_label=objective_label,
        figure=answer_figure,
    )
    return environment


def _messaging_cells(plan: CampaignPlan) -> list[MessagingCell]:
    names, lang = segment_names(plan), language_of(plan)
    cells = []
    for messaging in plan.messaging:
        groups = checks_by_variant(messaging)
        shared = groups.get("all", [])
        variants = [
            (variant, [*groups.get(f"v{index}", []), *shared])
            for index, variant in enumerate(messaging.variants, start=1)
        ]
        cells.append(
            MessagingCell(
                messaging=messaging,
                segment_name=names.get(messaging.segment_id, messaging.segment_id),
                channel_name=channel_name(messaging.channel, lang),
                headline_label=headline_label(messaging.channel, lang),
                variants=variants,
            )
        )
    return cells


def _forecast_charts(plan: CampaignPlan) -> list[tuple[str, Markup]]:
    metrics = list(dict.fromkeys(line.metric for line in plan.forecast))
    names = segment_names(plan)
    return [(metric, forecast_chart(plan.forecast, names, metric, language_of(plan))) for metric in metrics]


def _curve_charts(plan: CampaignPlan) -> list[Markup]:
    budget = plan.budget
    if budget is None:
        return []
    spends = {allocation.channel: allocation.spend for allocation in budget.allocations}
    return [
        response_curve_chart(channel, points, spends.get(channel), budget.currency, language_of(plan))
        for channel, points in budget.curves.items()
    ]


def render_html(plan: CampaignPlan) -> str:
    """Return the plan as one self-contained HTML page (flags first, charts inline, nothing external), headings
    and labels in the plan's language (``m``: the render/messages.py catalog)."""
    total = allocation_total(plan)
    lang = language_of(plan)
    context = {
        "plan": plan,
        "lang": lang,
        "m": catalog(lang),
        "title": plan_title(plan),
        "definition_text": definition_text,
        "demographics_text": demographics_text,
        "currency": plan_currency(plan),
        "brief_rows": brief_fields(plan.brief, lang),
        "segment_names": segment_names(plan),
        "messaging_cells": _messaging_cells(plan),
        "answers": answers_in_order(plan),
        "answer_sources": answer_sources,
        "degraded_label": t("degraded", lang),
        "source_labels": source_labels(lang),
        "forecast_charts": _forecast_charts(plan),
        "allocation_chart": allocation_chart(plan.budget, lang) if plan.budget else Markup(""),
        "frontier_chart": frontier_chart(plan.budget, lang) if plan.budget and plan.budget.frontier else Markup(""),
        "basis_labels": basis_labels(lang),
        "curve_charts": _curve_charts(plan),
        "allocated": total,
        "budget_mismatch": plan.budget is not None and abs(total - plan.budget.total) > 0.5,
    }
    return _environment().get_template(TEMPLATE).render(**context)
