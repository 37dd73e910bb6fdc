"""Number, money and label formatting shared by the Markdown and HTML renderers."""

from __future__ import annotations

import html
import math
import re
from collections import OrderedDict

from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import Brief, CampaignPlan, Messaging, RuleCheck

DEGRADED_LABEL = (
    "Fallback — the model's output was unusable or broke the channel's rules, so this copy was repaired "
    "or written from a template deterministically. Review it before use."
)
SOURCE_LABELS = {
    "uplift_model": "uplift model (fitted to campaign history)",
    "response_curve": "response curve (fitted to channel history)",
    "prior": "prior (catalog assumption, not fitted to this shop's data)",
}
BASIS_LABELS = {
    "segment_history": "the segment's history customers",
    "scaled_to_segment": "⚠ scaled to the segment's size (filters not in the history)",
    "channel_share": "segment share of the channel's outcome (channel level)",
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "¥", "RMB": "¥"}
_CHECK_PREFIX = re.compile(r"^(v\d+):(.+)$")


def format_number(value: float | None) -> str:
    """Return ``value`` for people: thousands separators, fewer decimals for bigger numbers; "—" for None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def format_money(amount: float | None, currency: str | None) -> str:
    """Return ``amount`` with its currency ("$50,000", "¥300,000", "20,000 SEK"); "—" for None."""
    if amount is None:
        return "—"
    number = format_number(amount)
    if not currency:
        return number
    symbol = _SYMBOLS.get(currency.upper())
    if symbol:
        return f"-{symbol}{number[1:]}" if number.startswith("-") else f"{symbol}{number}"
    return f"{number} {currency.upper()}"


def format_outcome(value: float | None, unit: str | None) -> str:
    """Return an outcome with its unit: money for a currency code ("$25,344"), else "1,234 conversions"."""
    if value is None:
        return "—"
    if unit and re.fullmatch(r"[A-Z]{3}", unit):
        return format_money(value, unit)
    return f"{format_number(value)} {unit}".strip() if unit else format_number(value)


def metric_unit(metric: str, currency: str | None) -> str:
    """Return the unit of a forecast metric: the currency for revenue metrics, else the metric's noun."""
    if metric.endswith("revenue"):
        return currency or ""
    return metric.removeprefix("incremental_")


def format_percent(share: float | None, digits: int = 0) -> str:
    """Return a 0-1 share as a percentage ("18%"); "—" for None."""
    return "—" if share is None else f"{share * 100:.{digits}f}%"


def format_lift(value: float | None, outcome: str) -> str:
    """Return a lift: percentage points for a rate outcome ("+1.23 pts"), a signed number for an amount."""
    if value is None:
        return "—"
    if any(word in outcome for word in ("revenue", "spend", "amount")):
        return f"{value:+,.2f}"
    return f"{value * 100:+.2f} pts"


def format_ratio(value: float | None) -> str:
    """Return a return-on-spend ratio ("2.35×"); "—" for None."""
    return "—" if value is None else f"{value:.2f}×"


def plan_currency(plan: CampaignPlan) -> str | None:
    """Return the plan's currency: the budget's, else the brief's, else None."""
    if plan.budget is not None:
        return plan.budget.currency
    return plan.brief.budget.currency if plan.brief.budget else None


def segment_names(plan: CampaignPlan) -> dict[str, str]:
    """Return segment id → display name (ids not in the plan's segments fall back to the id)."""
    return {segment.id: segment.name for segment in plan.segments}


def channel_name(channel_id: str) -> str:
    """Return the catalog's display name for ``channel_id`` ("email" → "E-mail"), or the id itself."""
    catalog = default_catalog()
    return catalog[channel_id].name if channel_id in catalog else channel_id


def headline_label(channel_id: str) -> str:
    """Return what the channel calls a headline ("Subject line" for e-mail), capitalised."""
    catalog = default_catalog()
    label = catalog[channel_id].copy_rules.headline_label if channel_id in catalog else "headline"
    return label[:1].upper() + label[1:]


def checks_by_variant(messaging: Messaging) -> OrderedDict[str, list[RuleCheck]]:
    """Return the checks grouped by variant ("v1", "v2", ...; "all" for unprefixed), names unprefixed."""
    groups: OrderedDict[str, list[RuleCheck]] = OrderedDict()
    for check in messaging.checks:
        match = _CHECK_PREFIX.match(check.rule)
        key, rule = (match.group(1), match.group(2)) if match else ("all", check.rule)
        groups.setdefault(key, []).append(check.model_copy(update={"rule": rule}))
    return groups


def short_hash(digest: str) -> str:
    """Return the first 12 characters of a hash, enough to tell data snapshots apart."""
    return digest[:12]


def allocation_total(plan: CampaignPlan) -> float:
    """Return the sum of the budget's channel spends (0.0 without a budget)."""
    return sum(a.spend for a in plan.budget.allocations) if plan.budget else 0.0


def escape_html(text: object) -> str:
    """Return ``text`` safe to place in HTML text or a quoted attribute."""
    return html.escape(str(text), quote=True)


def brief_fields(brief: Brief) -> list[tuple[str, str]]:
    """Return the brief as (field, plain-text value) rows, in the order a marketer reads a brief."""
    audience = brief.audience
    ages = "any"
    if audience.age_min is not None or audience.age_max is not None:
        low = audience.age_min if audience.age_min is not None else "?"
        high = audience.age_max if audience.age_max is not None else "?"
        ages = f"{low}–{high}"
    offer = f"{brief.offer.discount_percent:g}% off" if brief.offer.discount_percent is not None else ""
    if brief.offer.text:
        offer = f"{offer} ({brief.offer.text})" if offer else brief.offer.text
    bounds = "; ".join(
        f"{b.channel}: {format_number(b.min_spend)} – {format_number(b.max_spend)}"
        for b in brief.channel_bounds
    )
    budget = (
        format_money(brief.budget.amount, brief.budget.currency) if brief.budget else "missing (see flags)"
    )
    return [
        ("Brief", brief.text),
        ("Objective", brief.objective),
        ("Product", brief.product or "—"),
        ("Budget", budget),
        ("Duration", _duration(brief)),
        ("Channels allowed", ", ".join(brief.channels_allowed)
         or ("none: the brief's only channels are not in the catalog" if brief.channels_only else "planner's choice")),
        ("Channels excluded", ", ".join(brief.channels_excluded) or "none"),
        ("Spend bounds", bounds or "none"),
        ("Audience ages", ages),
        ("Departments", ", ".join(audience.departments) or "any"),
        ("Audience", audience.description or "—"),
        ("Behaviour", "; ".join(f.text or f.kind for f in audience.behaviour) or "—"),
        ("Offer", offer or "none"),
        ("Tone", brief.tone or "—"),
        ("Language", brief.language),
        ("KPIs", ", ".join(brief.kpis) or "—"),
        ("Constraints", "; ".join(brief.constraints) or "—"),
    ]


def _duration(brief: Brief) -> str:
    # Days as the brief said them ("10 days"), with the whole weeks the tools planned.
    if brief.days is not None and abs(brief.days - 7 * (brief.weeks or 0)) >= 1:
        return f"{brief.days:g} days (planned as {brief.weeks} weeks)"
    return f"{brief.weeks} weeks" if brief.weeks else "—"
