"""Number, money and label formatting shared by the Markdown and HTML renderers."""

from __future__ import annotations

import html
import math
import re
from collections import OrderedDict
from typing import Any

from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import Answer, Brief, CampaignPlan, Messaging, RuleCheck
from campaign_planner.render.messages import (
    HEADLINE_LABELS_ZH,
    MESSAGES,
    channel_label,
    department_label,
    language_of,
    objective_label,
    product_label,
    segment_display_name,
    t,
)

# English labels (kept for callers that read them); each plan language's are in render/messages.py.
DEGRADED_LABEL = t("degraded")
SOURCE_LABELS = {source: t(f"source_{source}") for source in ("uplift_model", "response_curve", "prior")}
BASIS_LABELS = {basis: t(f"basis_{basis}") for basis in ("segment_history", "scaled_to_segment", "channel_share")}


def source_labels(language: str = "en") -> dict[str, str]:
    """Return forecast/allocation source → label in ``language``."""
    return {source: t(f"source_{source}", language) for source in SOURCE_LABELS}


def basis_labels(language: str = "en") -> dict[str, str]:
    """Return forecast basis → label in ``language``."""
    return {basis: t(f"basis_{basis}", language) for basis in BASIS_LABELS}
# Currency symbols as each language's readers know them (Unicode CLDR, the "en" and "zh" locales): "¥" is the
# yen to an English reader and the yuan to a Chinese one, so the other is CN¥ / JP¥, never a bare "¥" for both.
CURRENCY_SYMBOLS = {
    "en": {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "RMB": "CN¥", "HKD": "HK$", "TWD": "NT$",
           "CAD": "CA$", "AUD": "A$", "KRW": "₩", "INR": "₹"},
    "zh": {"USD": "US$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "CNY": "¥", "RMB": "¥", "HKD": "HK$", "TWD": "NT$",
           "CAD": "CA$", "AUD": "AU$", "KRW": "₩", "INR": "₹"},
}
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


def currency_symbol(currency: str, language: str = "en") -> str | None:
    """Return the symbol ``language``'s readers know ``currency`` by ("CN¥" in English, "¥" in Chinese), or None
    where the ISO code is clearer (SEK)."""
    return CURRENCY_SYMBOLS.get(language, CURRENCY_SYMBOLS["en"]).get(currency.upper())


def format_money(amount: float | None, currency: str | None, language: str = "en") -> str:
    """Return ``amount`` with its currency as ``language`` reads it ("$50,000", "CN¥300,000" in English and
    "¥300,000" in Chinese, "20,000 SEK"); "—" for None."""
    if amount is None:
        return "—"
    number = format_number(amount)
    if not currency:
        return number
    symbol = currency_symbol(currency, language)
    if symbol:
        return f"-{symbol}{number[1:]}" if number.startswith("-") else f"{symbol}{number}"
    return f"{number} {currency.upper()}"


def format_outcome(value: float | None, unit: str | None, language: str = "en") -> str:
    """Return an outcome with its unit: money for a currency code ("$25,344"), else "1,234 conversions"."""
    if value is None:
        return "—"
    if unit and re.fullmatch(r"[A-Z]{3}", unit):
        return format_money(value, unit, language)
    return f"{format_number(value)} {unit}".strip() if unit else format_number(value)


def metric_unit(metric: str, currency: str | None) -> str:
    """Return the unit of a forecast metric: the currency for revenue metrics, else the metric's noun."""
    if metric.endswith("revenue"):
        return currency or ""
    return metric.removeprefix("incremental_")


def format_percent(share: float | None, digits: int = 0) -> str:
    """Return a 0-1 share as a percentage ("18%"); "—" for None."""
    return "—" if share is None else f"{share * 100:.{digits}f}%"


def format_lift(value: float | None, outcome: str, language: str = "en") -> str:
    """Return a lift: percentage points for a rate outcome ("+1.23 pts", "+1.23 个百分点"), a signed number
    for an amount."""
    if value is None:
        return "—"
    if any(word in outcome for word in ("revenue", "spend", "amount")):
        return f"{value:+,.2f}"
    return f"{value * 100:+.2f} {'个百分点' if language == 'zh' else 'pts'}"


def format_ratio(value: float | None) -> str:
    """Return a return-on-spend ratio ("2.35×"); "—" for None."""
    return "—" if value is None else f"{value:.2f}×"


def plan_currency(plan: CampaignPlan) -> str | None:
    """Return the plan's currency: the budget's, else the brief's, else None."""
    if plan.budget is not None:
        return plan.budget.currency
    return plan.brief.budget.currency if plan.brief.budget else None


def segment_names(plan: CampaignPlan) -> dict[str, str]:
    """Return segment id → display name in the plan's language (ids not in the plan's segments fall back to
    the id); a Chinese plan shows :func:`~campaign_planner.render.messages.segment_display_name`."""
    language = language_of(plan)
    if language == "en":
        return {segment.id: segment.name for segment in plan.segments}
    return {segment.id: segment.display_name or segment_display_name(segment.name, language)
            for segment in plan.segments}


def channel_name(channel_id: str, language: str = "en") -> str:
    """Return the catalog's display name for ``channel_id`` ("email" → "E-mail", "邮件" in Chinese), or the id."""
    catalog = default_catalog()
    name = catalog[channel_id].name if channel_id in catalog else channel_id
    return channel_label(channel_id, name, language)


def headline_label(channel_id: str, language: str = "en") -> str:
    """Return what the channel calls a headline ("Subject line" for e-mail, "邮件主题" in Chinese), capitalised."""
    catalog = default_catalog()
    label = catalog[channel_id].copy_rules.headline_label if channel_id in catalog else "headline"
    if language == "zh":
        label = HEADLINE_LABELS_ZH.get(label, label)
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


def brief_fields(brief: Brief, language: str = "en") -> list[tuple[str, str]]:
    """Return the brief as (field, plain-text value) rows, in the order a marketer reads a brief, labelled in
    ``language``."""
    audience = brief.audience
    ages = t("any", language)
    if audience.age_min is not None or audience.age_max is not None:
        low = audience.age_min if audience.age_min is not None else "?"
        high = audience.age_max if audience.age_max is not None else "?"
        ages = f"{low}–{high}"
    offer = (t("percent_off", language, discount=f"{brief.offer.discount_percent:g}")
             if brief.offer.discount_percent is not None else "")
    if brief.offer.text:
        offer = f"{offer} ({brief.offer.text})" if offer else brief.offer.text
    bounds = "; ".join(
        f"{b.channel}: {format_number(b.min_spend)} – {format_number(b.max_spend)}"
        for b in brief.channel_bounds
    )
    budget = (
        format_money(brief.budget.amount, brief.budget.currency, language) if brief.budget
        else t("budget_missing", language)
    )
    none = t("none_lower", language)
    separator = t("list_separator", language)

    def shown(channel_id: str) -> str:  # an English brief table keeps the ids the brief was read into
        return channel_name(channel_id, language) if language != "en" else channel_id

    return [
        (t("brief_text", language), brief.text),
        (t("objective", language), objective_label(brief.objective, language)),
        (t("product", language), product_label(brief.product, language) or "—"),
        (t("budget", language), budget),
        (t("duration", language), _duration(brief, language)),
        (t("channels_allowed", language), separator.join(shown(c) for c in brief.channels_allowed)
         or t("only_channels_unknown" if brief.channels_only else "planners_choice", language)),
        (t("channels_excluded", language),
         separator.join(shown(c) for c in brief.channels_excluded) or none),
        (t("spend_bounds", language), bounds or none),
        (t("audience_ages", language), ages),
        (t("departments", language),
         separator.join(department_label(d, language) for d in audience.departments) or t("any", language)),
        (t("audience", language), audience.description or "—"),
        (t("behaviour", language), "; ".join(f.text or f.kind for f in audience.behaviour) or "—"),
        (t("offer", language), offer or none),
        (t("tone", language), brief.tone or "—"),
        (t("language", language), t(f"language_name_{brief.language}", language)
         if language != "en" else brief.language),
        (t("kpis", language), ", ".join(brief.kpis) or "—"),
        (t("constraints", language), "; ".join(brief.constraints) or "—"),
    ]


def _duration(brief: Brief, language: str = "en") -> str:
    # Days as the brief said them ("10 days"), with the whole weeks the tools planned.
    if brief.days is not None and abs(brief.days - 7 * (brief.weeks or 0)) >= 1:
        return t("days_as_weeks", language, days=f"{brief.days:g}", weeks=brief.weeks)
    return t("weeks", language, weeks=brief.weeks) if brief.weeks else "—"



def answers_in_order(plan: CampaignPlan) -> list[tuple[str, Answer | None]]:
    """Return (question, its answer or None when open) for each question of the brief, in the brief's order.

    A question with no :class:`Answer` is open: no tool of the plan answers it (the plan's open questions say
    so too), and the report lists it as open, never with an answer in prose.
    """
    answered: dict[str, list[Answer]] = {}
    for answer in plan.answers:
        answered.setdefault(answer.question, []).append(answer)
    rows: list[tuple[str, Answer | None]] = []
    for question in plan.brief.questions:
        waiting = answered.get(question.text)
        rows.append((question.text, waiting.pop(0) if waiting else None))
    rows += [(answer.question, answer) for answers in answered.values() for answer in answers]
    return rows


def answer_figure(value: float) -> str:
    """Return a tool number behind an answer as stored, readable: 18,020 · 0.041 · 3.6."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"


def answer_sources(answer: Answer, language: str = "en") -> str:
    """Return the plan sections an answer's numbers come from, named in ``language``."""
    names = [t(f"source_{s}", language) if f"source_{s}" in MESSAGES else s for s in answer.sources]
    return t("list_separator", language).join(names)


def definition_text(definition: dict[str, Any], language: str = "en") -> str:
    """Return a segment's filters as a marketer reads them ("age 31–35; departments: Dresses; rating 2–5
    stars"), in ``language``; a filter this does not know is shown as ``key = value``."""
    parts, rest = [], dict(definition)
    lo, hi = rest.pop("age_min", None), rest.pop("age_max", None)
    if lo is not None and hi is not None:
        parts.append(t("def_age", language, lo=lo, hi=hi))
    elif lo is not None:
        parts.append(t("def_age_min", language, lo=lo))
    elif hi is not None:
        parts.append(t("def_age_max", language, hi=hi))
    departments = rest.pop("departments", None)
    if departments:
        names = [department_label(str(d), language) for d in (departments if isinstance(departments, list)
                                                               else [departments])]
        parts.append(t("def_departments", language, departments=t("list_separator", language).join(names)))
    r_lo, r_hi = rest.pop("rating_min", None), rest.pop("rating_max", None)
    if r_lo is not None or r_hi is not None:
        parts.append(t("def_rating", language, lo=r_lo if r_lo is not None else 1, hi=r_hi if r_hi is not None else 5))
    parts += [f"{key} = {value}" for key, value in rest.items()]
    return t("clause_separator", language).join(parts)


def demographics_text(demographics: dict[str, Any], language: str = "en") -> str:
    """Return a segment's demographics as a marketer reads them ("median age 33; would recommend: 82%")."""
    parts = []
    for key, value in demographics.items():
        if value is None:
            continue
        if key == "age_median" and isinstance(value, int | float):
            value = f"{value:g}"
        elif key == "recommend_rate" and isinstance(value, int | float):
            value = format_percent(float(value))
        message = f"demo_{key}"
        parts.append(t(message, language, value=value) if message in MESSAGES else f"{key}: {value}")
    return t("clause_separator", language).join(parts)


def plan_title(plan: CampaignPlan) -> str:
    """Return what the plan's title names: the product (in the plan's language), else the objective."""
    language = language_of(plan)
    return (product_label(plan.brief.product, language) or objective_label(plan.brief.objective, language)
            or t("campaign", language))
