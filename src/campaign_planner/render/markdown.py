"""The plan as Markdown a marketer can read: flags first, then the brief, segments, copy, numbers, why.

Text from reviews, the brief and the model is untrusted: :func:`escape_md` neutralises Markdown and HTML
in it, so a review containing ``<script>`` or ``**`` shows those characters instead of becoming markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from campaign_planner.domain import CampaignPlan, ForecastLine, Messaging, OutcomeCrossCheck, Segment
from campaign_planner.render.formatting import (
    BASIS_LABELS,
    DEGRADED_LABEL,
    SOURCE_LABELS,
    allocation_total,
    brief_fields,
    channel_name,
    checks_by_variant,
    format_lift,
    format_money,
    format_number,
    format_outcome,
    format_percent,
    format_ratio,
    headline_label,
    metric_unit,
    plan_currency,
    segment_names,
    short_hash,
)

# Characters that start inline markup anywhere: emphasis, code, links/images, tables, strikethrough.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
# Characters that start block markup at the beginning of a line: headings, lists, quotes, rules.
_BLOCK_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")


def escape_md(text: object) -> str:
    """Return ``text`` as literal Markdown text on one line: no markup, no raw HTML, no new blocks.

    Newlines collapse to spaces (so text cannot open a heading or list); ``& < >`` become HTML entities
    (so no tag survives, even in renderers that allow raw HTML); inline markup characters and a leading
    block marker are backslash-escaped.
    """
    flat = " ".join(str(text).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = _INLINE_SPECIAL.sub(r"\\\1", flat)
    return _BLOCK_START.sub(_escape_block_marker, flat)


def _escape_block_marker(match: re.Match[str]) -> str:
    marker = match.group(2)
    # "1." becomes "1\." (a backslash before a digit is not an escape in CommonMark).
    escaped = f"{marker[:-1]}\\{marker[-1]}" if marker[0].isdigit() else f"\\{marker}"
    return match.group(1) + escaped


def _code(text: str) -> str:
    # Ids and codes in backticks read as identifiers; a backtick inside would end the span early.
    return f"`{text.replace('`', '')}`"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(plan: CampaignPlan) -> str:
    """Return the whole plan as one Markdown document (GitHub-flavoured tables), flags first."""
    title = plan.brief.product or plan.brief.objective or "campaign"
    lines = [f"# Campaign plan: {escape_md(title)}", ""]
    lines.append(f"**Status:** {plan.status} · **Run:** {_code(plan.provenance.run_id)}")
    lines.append("")
    for section in (
        _flags,
        _summary,
        _brief,
        _assumptions,
        _segments,
        _messaging,
        _forecast,
        _targeting,
        _budget,
        _measurement,
        _risks,
        _rationale,
        _provenance,
    ):
        part = section(plan)
        if part:
            lines += [*part, ""]
    return "\n".join(lines).rstrip() + "\n"


def _flags(plan: CampaignPlan) -> list[str]:
    if not plan.flags:
        return ["## Flags", "", "No flags raised."]
    lines = [f"## ⚠ Flags ({len(plan.flags)}): read these first", ""]
    lines += [f"- **⚠ {_code(flag.code.value)}** — {escape_md(flag.message)}" for flag in plan.flags]
    return lines


def _summary(plan: CampaignPlan) -> list[str]:
    return ["## Summary", "", escape_md(plan.summary) if plan.summary else "_No summary was written._"]


def _brief(plan: CampaignPlan) -> list[str]:
    rows = [(field, escape_md(value)) for field, value in brief_fields(plan.brief)]
    return ["## Brief", "", *_table(["Field", "Value"], rows)]


def _assumptions(plan: CampaignPlan) -> list[str]:
    lines = ["## Assumptions and open questions", "", "**Assumptions**", ""]
    lines += [
        f"- {escape_md(a.text)} _(confidence {format_percent(a.confidence)})_" for a in plan.assumptions
    ] or ["- None recorded."]
    lines += ["", "**Open questions for the team**", ""]
    lines += [f"- {escape_md(q)}" for q in plan.open_questions] or ["- None."]
    return lines


def _profile_line(label: str, items: Sequence[str]) -> list[str]:
    return [f"- **{label}:** {'; '.join(escape_md(i) for i in items)}"] if items else []


def _segment(segment: Segment) -> list[str]:
    profile = segment.profile
    lines = [
        f"### {escape_md(segment.name)} ({_code(segment.id)})",
        "",
        f"- **Size:** {segment.size.customers:,} customers "
        f"({format_percent(segment.size.share, 1)} of reviewers)",
    ]
    if segment.definition:
        definition = "; ".join(f"{escape_md(k)} = {escape_md(v)}" for k, v in segment.definition.items())
        lines.append(f"- **Definition:** {definition}")
    if profile.demographics:
        demographics = "; ".join(f"{escape_md(k)}: {escape_md(v)}" for k, v in profile.demographics.items())
        lines.append(f"- **Demographics:** {demographics}")
    lines += _profile_line("Needs", profile.needs)
    lines += _profile_line("Praised", profile.praised_attributes)
    lines += _profile_line("Pain points", profile.pain_points)
    if profile.average_rating is not None:
        lines.append(f"- **Average rating:** {profile.average_rating:.1f} / 5")
    if segment.evidence:
        lines += ["", "What these customers wrote:", ""]
        for evidence in segment.evidence:
            lines += [f"> “{escape_md(evidence.quote)}” — review {_code(evidence.review_id)}", ">"]
        lines.pop()
    else:
        lines += ["", "_No quotes: this segment rests on weak evidence._"]
    if segment.pain_evidence and segment.pain_evidence != segment.evidence:
        lines += ["", "What its low-rated reviews say about the pain points:", ""]
        for evidence in segment.pain_evidence:
            lines += [f"> “{escape_md(evidence.quote)}” — review {_code(evidence.review_id)}", ">"]
        lines.pop()
    return lines


def _segments(plan: CampaignPlan) -> list[str]:
    lines = ["## Segments", ""]
    if not plan.segments:
        return [*lines, "_No segments._"]
    for segment in plan.segments:
        lines += [*_segment(segment), ""]
    return lines[:-1]


def _check_line(messaging: Messaging, variant_key: str) -> str:
    checks = checks_by_variant(messaging).get(variant_key, [])
    marks = [
        f"✓ {check.rule}" if check.passed else f"✗ **{check.rule}** ({escape_md(check.detail)})"
        for check in checks
    ]
    return " · ".join(marks) if marks else "not checked"


def _messaging_cell(messaging: Messaging, names: dict[str, str]) -> list[str]:
    segment = names.get(messaging.segment_id, messaging.segment_id)
    lines = [
        f"### {escape_md(segment)} × {escape_md(channel_name(messaging.channel))} ({messaging.language})",
        "",
    ]
    if messaging.degraded:
        lines += [f"> ⚠ **{DEGRADED_LABEL}**", ""]
    label = headline_label(messaging.channel)
    for index, variant in enumerate(messaging.variants, start=1):
        lines += [
            f"**Variant {index}**",
            "",
            f"- **{escape_md(label)}:** {escape_md(variant.headline)}",
            f"- **Body:** {escape_md(variant.body)}",
            f"- **CTA:** {escape_md(variant.cta) or '—'}",
            *([f"- **Legal footer:** {escape_md(variant.footer)}"] if variant.footer else []),
            *([f"- **Inspired by:** {', '.join(_code(rid) for rid in variant.inspired_by)}"]
              if variant.inspired_by else []),
            f"- **Checks:** {_check_line(messaging, f'v{index}')}",
            "",
        ]
    if "all" in checks_by_variant(messaging):
        lines += [f"**Checks (all variants):** {_check_line(messaging, 'all')}", ""]
    evidence = ", ".join(_code(rid) for rid in messaging.inspired_by) or "none (not drawn from review quotes)"
    lines.append(f"Inspired by reviews: {evidence}")
    return lines


def _messaging(plan: CampaignPlan) -> list[str]:
    lines = ["## Messaging", ""]
    if not plan.messaging:
        return [*lines, "_No copy._"]
    names = segment_names(plan)
    for messaging in plan.messaging:
        lines += [*_messaging_cell(messaging, names), ""]
    return lines[:-1]




def _basis_cell(line: ForecastLine) -> str:
    customers = f"{line.customers:,} customers; " if line.customers is not None else ""
    return customers + BASIS_LABELS.get(line.basis or "", "—")


def _interval(bounds: tuple[float, float]) -> str:
    return f"{format_number(bounds[0])} – {format_number(bounds[1])}"


def _forecast(plan: CampaignPlan) -> list[str]:
    lines = ["## Forecast", ""]
    if not plan.forecast:
        return [*lines, "_No forecast._"]
    names, currency = segment_names(plan), plan_currency(plan)
    header = ["Segment", "Channel", "Metric", "Expected", "80% interval", "95% interval"]
    header += ["Incremental revenue", "ROI", "Spend", "Counted over", "Source", "Back-test error"]
    rows = [
        [
            escape_md(names.get(line.segment_id, line.segment_id)),
            escape_md(channel_name(line.channel)),
            escape_md(line.metric),
            format_outcome(line.expected, metric_unit(line.metric, line.currency or currency)),
            _interval(line.interval_80),
            _interval(line.interval_95),
            format_money(line.incremental_revenue, line.currency or currency),
            format_ratio(line.roi),
            format_money(line.spend, line.currency or currency),
            _basis_cell(line),
            SOURCE_LABELS.get(line.source, line.source),
            format_percent(line.backtest_error, 1) if line.backtest_error is not None else "—",
        ]
        for line in plan.forecast
    ]
    lines += _table(header, rows)
    if any(line.source == "prior" for line in plan.forecast):
        lines += ["", "_Lines sourced from a prior are assumptions, not fitted to this shop's data._"]
    return lines


def _targeting(plan: CampaignPlan) -> list[str]:
    if not plan.targeting:
        return []
    lines = [
        "## Whom to target",
        "",
        "Customers of the campaign history ranked by predicted uplift (cross-fitted): the lift observed in the "
        "top share against the lift across everyone.",
        "",
    ]
    header = ["Channel", "Outcome", "Top share", "Customers", "Lift in top share", "95% interval"]
    header += ["Lift, everyone", "Recommendation", "How the top group differs"]
    rows = [
        [
            escape_md(channel_name(row.channel)),
            escape_md(row.outcome),
            format_percent(row.top_share),
            f"{row.customers:,}",
            format_lift(row.observed_lift, row.outcome),
            " – ".join(format_lift(v, row.outcome) for v in row.observed_lift_interval_95),
            format_lift(row.overall_lift, row.outcome),
            "Target the top share" if row.recommendation == "target_top" else "Send to all",
            escape_md("; ".join(f"{k}: {v}" for k, v in row.profile.items())) or "—",
        ]
        for row in plan.targeting
    ]
    return lines + _table(header, rows)


def _budget(plan: CampaignPlan) -> list[str]:
    lines = ["## Budget", ""]
    budget = plan.budget
    if budget is None:
        return [*lines, "_No budget allocation: see the flags._"]
    unit = budget.outcome_unit or budget.objective
    if budget.recommendation:
        lines += [f"**{escape_md(budget.recommendation)}**", ""]
    header = [
        "Channel",
        "Spend (whole budget)",
        "Share",
        "Recommended spend",
        f"Expected outcome ({escape_md(unit)}, incremental over zero spend)",
        "ROI",
        "Marginal ROI",
        "Break-even spend",
        "Binding constraints",
        "Figure from",
        "Cross-check",
    ]
    rows = [
        [
            escape_md(channel_name(a.channel)),
            format_money(a.spend, budget.currency),
            format_percent(a.spend / budget.total if budget.total else None, 1),
            format_money(a.recommended_spend, budget.currency),
            format_outcome(a.expected_outcome, a.outcome_unit),
            format_ratio((a.expected_outcome - a.spend) / a.spend)
            if a.spend > 0 and budget.objective == "revenue" else "—",
            format_ratio(a.marginal_roi),
            format_money(a.spend_at_marginal_roi_1, budget.currency),
            ", ".join(escape_md(b) for b in a.binding) or "—",
            SOURCE_LABELS.get(a.outcome_source or a.source, a.outcome_source or a.source),
            _cross_check_cell(a.cross_check, a.outcome_unit),
        ]
        for a in budget.allocations
    ]
    total = allocation_total(plan)
    rows.append([
        "**Total**", f"**{format_money(total, budget.currency)}**", "",
        f"**{format_money(budget.recommended_total, budget.currency)}**",
        f"**{format_outcome(budget.expected_outcome, budget.outcome_unit)}**", "", "", "", "", "", "",
    ])
    lines += _table(header, rows)
    lines += [
        "",
        f"Objective: {escape_md(budget.objective)}. Budget: {format_money(budget.total, budget.currency)}. "
        "Expected outcomes are the sums of each channel's forecast lines below.",
    ]
    if budget.unallocated > 0.005:
        lines.append(
            f"Held back: {format_money(budget.unallocated, budget.currency)}; spending it would add "
            f"{format_outcome(budget.unallocated_return, budget.outcome_unit)} on the response curves."
        )
    for a in budget.allocations:
        if a.cross_check is not None:
            lines.append(f"- **{escape_md(channel_name(a.channel))} cross-check:** {escape_md(a.cross_check.reason)}")
    if abs(total - budget.total) > 0.5:
        lines.append(
            f"**⚠ The allocations sum to {format_money(total, budget.currency)}, "
            f"not the budget of {format_money(budget.total, budget.currency)}.**"
        )
    return lines


def _cross_check_cell(check: OutcomeCrossCheck | None, unit: str) -> str:
    if check is None:
        return "—"
    interval = (
        f" (80%: {format_outcome(check.interval_80[0], unit)} – {format_outcome(check.interval_80[1], unit)})"
        if check.interval_80 else ""
    )
    source = SOURCE_LABELS.get(check.source, check.source).split(" (")[0]
    return f"{source}: {format_outcome(check.expected, unit)}{interval}"


def _measurement(plan: CampaignPlan) -> list[str]:
    lines = ["## Measurement", ""]
    measurement = plan.measurement
    if measurement is None:
        return [*lines, "_No measurement design._"]
    lines += [
        f"- **Design:** {escape_md(measurement.design)}",
        f"- **Holdout share:** {format_percent(measurement.holdout_share, 1)}",
        f"- **Sample size:** {'—' if measurement.sample_size is None else f'{measurement.sample_size:,}'}",
        f"- **Minimum detectable lift:** {format_percent(measurement.minimum_detectable_lift, 1)}",
    ]
    if measurement.channels:
        header = ["Channel", "Design", "Audience", "Baseline", "Sized for lift", "Per arm (80% power, 5%)"]
        header += ["Holdout", "Detectable lift", "Powered", "Copy A/B detects"]
        rows = [
            [
                escape_md(channel_name(test.channel)),
                escape_md(test.design.replace("_", " ")),
                f"{test.audience:,}",
                format_percent(test.baseline_rate, 2),
                format_lift(test.expected_lift, "conversion")
                + (" (assumed)" if test.lift_source == "assumption" else ""),
                "—" if test.sample_size_per_arm is None else f"{test.sample_size_per_arm:,}",
                format_percent(test.holdout_share, 1),
                format_lift(test.minimum_detectable_lift, "conversion"),
                "n/a (regions)" if test.powered is None else ("yes" if test.powered else "**no**"),
                format_lift(test.variant_test_mde, "conversion"),
            ]
            for test in measurement.channels
        ]
        lines += ["", *_table(header, rows), ""]
        lines += [
            f"- **{escape_md(channel_name(test.channel))}:** {escape_md(test.description)}"
            for test in measurement.channels
        ]
    return lines


def _risks(plan: CampaignPlan) -> list[str]:
    return ["## Risks", "", *([f"- {escape_md(r)}" for r in plan.risks] or ["- None recorded."])]


def _rationale(plan: CampaignPlan) -> list[str]:
    lines = ["## Rationale", ""]
    for item in plan.rationale:
        evidence = ", ".join(_code(e) for e in item.evidence_ids) or "no evidence cited"
        lines.append(f"- {escape_md(item.decision)} — evidence: {evidence}")
    return lines if plan.rationale else [*lines, "- None recorded."]


def _provenance(plan: CampaignPlan) -> list[str]:
    p = plan.provenance
    lines = [
        "## Provenance",
        "",
        f"- **Backend / model:** {escape_md(p.backend)} / {escape_md(p.model)}",
        f"- **Run:** {_code(p.run_id)} in {p.seconds:.1f} s ({p.llm_seconds:.1f} s in the language model)",
        f"- **LLM calls:** {p.llm_calls} "
        f"({p.prompt_tokens:,} prompt + {p.completion_tokens:,} completion tokens)",
    ]
    if p.tool_calls:
        lines.append(f"- **Tool calls:** {', '.join(escape_md(t) for t in p.tool_calls)}")
    for name, digest in p.data.items():
        lines.append(f"- **Data** {escape_md(name)}: {_code(short_hash(digest))}")
    return lines
