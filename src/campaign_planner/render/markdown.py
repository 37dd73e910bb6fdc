"""The plan as Markdown a marketer can read: flags first, then the brief, segments, copy, numbers, why.

Text from reviews, the brief and the model is untrusted: :func:`escape_md` neutralises Markdown and HTML
in it, so a review containing ``<script>`` or ``**`` shows those characters instead of becoming markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from campaign_planner.domain import Answer, CampaignPlan, ForecastLine, Messaging, OutcomeCrossCheck, Segment
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
    short_hash,
    source_labels,
)
from campaign_planner.render.messages import (
    language_of,
    metric_label,
    objective_label,
    t,
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
    """Return the whole plan as one Markdown document (GitHub-flavoured tables), flags first, headings and
    labels in the plan's language (render/messages.py)."""
    lang = language_of(plan)
    title = plan_title(plan)
    lines = [f"# {t('title', lang, title=escape_md(title))}", ""]
    lines.append(f"**{t('status', lang)}:** {t(f'status_{plan.status}', lang)} · **{t('run', lang)}:** "
                 f"{_code(plan.provenance.run_id)}")
    lines.append("")
    for section in (
        _flags,
        _summary,
        _answers,
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
    lang = language_of(plan)
    if not plan.flags:
        return [f"## {t('flags', lang)}", "", t("flags_none", lang)]
    lines = [f"## {t('flags_heading', lang, n=len(plan.flags))}", ""]
    lines += [f"- **⚠ {_code(flag.code.value)}** — {escape_md(flag.message)}" for flag in plan.flags]
    return lines


def _summary(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    return [f"## {t('summary', lang)}", "",
            escape_md(plan.summary) if plan.summary else f"_{t('summary_none', lang)}_"]


def _answer(question: str, answer: Answer | None, lang: str) -> list[str]:
    lines = [f"**“{escape_md(question)}”**", ""]
    if answer is None:
        return [*lines, f"- ⚠ **{t('open_badge', lang)}** — {t('answer_open', lang)}"]
    lines.append(escape_md(answer.text))
    if answer.numbers:
        figures = "; ".join(f"{_code(key)} = {answer_figure(value)}" for key, value in answer.numbers.items())
        lines += ["", f"- {t('answer_figures', lang, sources=answer_sources(answer, lang))}: {figures}"]
    return lines


def _answers(plan: CampaignPlan) -> list[str]:
    rows = answers_in_order(plan)
    if not rows:
        return []
    lang = language_of(plan)
    lines = [f"## {t('answers', lang)}", ""]
    for question, answer in rows:
        lines += [*_answer(question, answer, lang), ""]
    return lines[:-1]


def _brief(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    rows = [(field, escape_md(value)) for field, value in brief_fields(plan.brief, lang)]
    return [f"## {t('brief', lang)}", "", *_table([t("field", lang), t("value", lang)], rows)]


def _assumptions(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    lines = [f"## {t('assumptions_heading', lang)}", "", f"**{t('assumptions', lang)}**", ""]
    lines += [
        f"- {escape_md(a.text)} _({t('confidence', lang, pct=format_percent(a.confidence))})_"
        for a in plan.assumptions
    ] or [f"- {t('none_recorded', lang)}"]
    lines += ["", f"**{t('open_questions', lang)}**", ""]
    lines += [f"- {escape_md(q)}" for q in plan.open_questions] or [f"- {t('none', lang)}"]
    return lines


def _profile_line(label: str, items: Sequence[str], lang: str = "en") -> list[str]:
    separator = t("clause_separator", lang)
    return [f"- **{label}:** {separator.join(escape_md(i) for i in items)}"] if items else []


def _quotes(evidence: Sequence, lang: str) -> list[str]:
    lines: list[str] = []
    for item in evidence:
        lines += [f"> “{escape_md(item.quote)}” — {t('review', lang)} {_code(item.review_id)}", ">"]
    return lines[:-1]


def _segment(segment: Segment, name: str, lang: str) -> list[str]:
    profile = segment.display_profile or segment.profile
    size = t("size_value", lang, customers=f"{segment.size.customers:,}", share=format_percent(segment.size.share, 1))
    lines = [f"### {escape_md(name)} ({_code(segment.id)})", "", f"- **{t('size', lang)}:** {size}"]
    if segment.definition:
        lines.append(f"- **{t('definition', lang)}:** {escape_md(definition_text(segment.definition, lang))}")
    if profile.demographics:
        lines.append(f"- **{t('demographics', lang)}:** {escape_md(demographics_text(profile.demographics, lang))}")
    lines += _profile_line(t("needs", lang), profile.needs, lang)
    lines += _profile_line(t("praised", lang), profile.praised_attributes, lang)
    lines += _profile_line(t("pain_points", lang), profile.pain_points, lang)
    if profile.average_rating is not None:
        lines.append(f"- **{t('average_rating', lang)}:** {profile.average_rating:.1f} / 5")
    if segment.evidence:
        lines += ["", t("quotes_intro", lang), "", *_quotes(segment.evidence, lang)]
    else:
        lines += ["", f"_{t('no_quotes', lang)}_"]
    if segment.pain_evidence and segment.pain_evidence != segment.evidence:
        lines += ["", t("pain_quotes_intro", lang), "", *_quotes(segment.pain_evidence, lang)]
    return lines


def _segments(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    lines = [f"## {t('segments', lang)}", ""]
    if not plan.segments:
        return [*lines, f"_{t('no_segments', lang)}_"]
    names = segment_names(plan)
    for segment in plan.segments:
        lines += [*_segment(segment, names[segment.id], lang), ""]
    return lines[:-1]


def _check_line(messaging: Messaging, variant_key: str, lang: str) -> str:
    checks = checks_by_variant(messaging).get(variant_key, [])
    marks = [
        f"✓ {check.rule}" if check.passed else f"✗ **{check.rule}** ({escape_md(check.detail)})"
        for check in checks
    ]
    return " · ".join(marks) if marks else t("not_checked", lang)


def _messaging_cell(messaging: Messaging, names: dict[str, str], lang: str) -> list[str]:
    segment = names.get(messaging.segment_id, messaging.segment_id)
    channel = channel_name(messaging.channel, lang)
    lines = [f"### {escape_md(segment)} × {escape_md(channel)} ({messaging.language})", ""]
    if messaging.degraded:
        lines += [f"> ⚠ **{t('degraded', lang)}**", ""]
    label = headline_label(messaging.channel, lang)
    for index, variant in enumerate(messaging.variants, start=1):
        lines += [
            f"**{t('variant', lang, n=index)}**",
            "",
            f"- **{escape_md(label)}:** {escape_md(variant.headline)}",
            f"- **{t('body', lang)}:** {escape_md(variant.body)}",
            f"- **{t('cta', lang)}:** {escape_md(variant.cta) or '—'}",
            *([f"- **{t('legal_footer', lang)}:** {escape_md(variant.footer)}"] if variant.footer else []),
            *([f"- **{t('inspired_by', lang)}:** {', '.join(_code(rid) for rid in variant.inspired_by)}"]
              if variant.inspired_by else []),
            f"- **{t('checks', lang)}:** {_check_line(messaging, f'v{index}', lang)}",
            "",
        ]
    if "all" in checks_by_variant(messaging):
        lines += [f"**{t('checks_all', lang)}:** {_check_line(messaging, 'all', lang)}", ""]
    evidence = ", ".join(_code(rid) for rid in messaging.inspired_by) or t("not_from_reviews", lang)
    lines.append(f"{t('inspired_by_reviews', lang)}: {evidence}")
    return lines


def _messaging(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    lines = [f"## {t('messaging', lang)}", ""]
    if not plan.messaging:
        return [*lines, f"_{t('no_copy', lang)}_"]
    names = segment_names(plan)
    for messaging in plan.messaging:
        lines += [*_messaging_cell(messaging, names, lang), ""]
    return lines[:-1]


def _basis_cell(line: ForecastLine, lang: str) -> str:
    customers = f"{t('customers_n', lang, n=f'{line.customers:,}')}; " if line.customers is not None else ""
    return customers + basis_labels(lang).get(line.basis or "", "—")


def _interval(bounds: tuple[float, float]) -> str:
    return f"{format_number(bounds[0])} – {format_number(bounds[1])}"


def _forecast(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    lines = [f"## {t('forecast', lang)}", ""]
    if not plan.forecast:
        return [*lines, f"_{t('no_forecast', lang)}_"]
    names, currency, sources = segment_names(plan), plan_currency(plan), source_labels(lang)
    header = [t(key, lang) for key in (
        "col_segment", "col_channel", "col_metric", "col_expected", "col_interval_80", "col_interval_95",
        "col_incremental_revenue", "col_roi", "col_spend", "col_counted_over", "col_source", "col_backtest_error")]
    rows = [
        [
            escape_md(names.get(line.segment_id, line.segment_id)),
            escape_md(channel_name(line.channel, lang)),
            escape_md(metric_label(line.metric, lang)),
            format_outcome(line.expected, metric_unit(line.metric, line.currency or currency), lang),
            _interval(line.interval_80),
            _interval(line.interval_95),
            format_money(line.incremental_revenue, line.currency or currency, lang),
            format_ratio(line.roi),
            format_money(line.spend, line.currency or currency, lang),
            _basis_cell(line, lang),
            sources.get(line.source, line.source),
            format_percent(line.backtest_error, 1) if line.backtest_error is not None else "—",
        ]
        for line in plan.forecast
    ]
    lines += _table(header, rows)
    if any(line.source == "prior" for line in plan.forecast):
        lines += ["", f"_{t('prior_note', lang)}_"]
    return lines


def _targeting(plan: CampaignPlan) -> list[str]:
    if not plan.targeting:
        return []
    lang = language_of(plan)
    lines = [f"## {t('targeting', lang)}", "", t("targeting_intro", lang), ""]
    header = [t(key, lang) for key in (
        "col_channel", "col_outcome", "col_top_share", "col_customers", "col_lift_top", "col_interval_95",
        "col_lift_everyone", "col_recommendation", "col_top_differs")]
    rows = [
        [
            escape_md(channel_name(row.channel, lang)),
            escape_md(row.outcome),
            format_percent(row.top_share),
            f"{row.customers:,}",
            format_lift(row.observed_lift, row.outcome, lang),
            " – ".join(format_lift(v, row.outcome, lang) for v in row.observed_lift_interval_95),
            format_lift(row.overall_lift, row.outcome, lang),
            t("target_top" if row.recommendation == "target_top" else "send_to_all", lang),
            escape_md("; ".join(f"{k}: {v}" for k, v in row.profile.items())) or "—",
        ]
        for row in plan.targeting
    ]
    return lines + _table(header, rows)


def _budget(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    lines = [f"## {t('budget', lang)}", ""]
    budget = plan.budget
    if budget is None:
        return [*lines, f"_{t('no_budget', lang)}_"]
    unit = budget.outcome_unit or objective_label(budget.objective, lang)
    sources = source_labels(lang)
    if budget.recommendation:
        lines += [f"**{escape_md(budget.recommendation)}**", ""]
    header = [
        t("col_channel", lang),
        t("col_spend_whole", lang),
        t("col_share", lang),
        t("col_recommended_spend", lang),
        t("col_expected_outcome", lang, unit=escape_md(unit)),
        t("col_roi", lang),
        t("col_marginal_roi", lang),
        t("col_break_even", lang),
        t("col_binding", lang),
        t("col_figure_from", lang),
        t("col_cross_check", lang),
    ]
    rows = [
        [
            escape_md(channel_name(a.channel, lang)),
            format_money(a.spend, budget.currency, lang),
            format_percent(a.spend / budget.total if budget.total else None, 1),
            format_money(a.recommended_spend, budget.currency, lang),
            format_outcome(a.expected_outcome, a.outcome_unit, lang),
            format_ratio((a.expected_outcome - a.spend) / a.spend)
            if a.spend > 0 and budget.objective == "revenue" else "—",
            format_ratio(a.marginal_roi),
            format_money(a.spend_at_marginal_roi_1, budget.currency, lang),
            ", ".join(escape_md(b) for b in a.binding) or "—",
            sources.get(a.outcome_source or a.source, a.outcome_source or a.source),
            _cross_check_cell(a.cross_check, a.outcome_unit, lang),
        ]
        for a in budget.allocations
    ]
    total = allocation_total(plan)
    rows.append([
        f"**{t('total', lang)}**", f"**{format_money(total, budget.currency, lang)}**", "",
        f"**{format_money(budget.recommended_total, budget.currency, lang)}**",
        f"**{format_outcome(budget.expected_outcome, budget.outcome_unit, lang)}**", "", "", "", "", "", "",
    ])
    lines += _table(header, rows)
    lines += ["", t("budget_line", lang, objective=escape_md(objective_label(budget.objective, lang)),
                    budget=format_money(budget.total, budget.currency, lang))]
    if budget.unallocated > 0.005:
        lines.append(t("held_back", lang, amount=format_money(budget.unallocated, budget.currency, lang),
                       outcome=format_outcome(budget.unallocated_return, budget.outcome_unit, lang)))
    for a in budget.allocations:
        if a.cross_check is not None:
            label = t("cross_check_of", lang, channel=escape_md(channel_name(a.channel, lang)))
            lines.append(f"- **{label}:** {escape_md(a.cross_check.reason)}")
    if abs(total - budget.total) > 0.5:
        lines.append("**" + t("allocations_mismatch", lang, total=format_money(total, budget.currency, lang),
                              budget=format_money(budget.total, budget.currency, lang)) + "**")
    return lines


def _cross_check_cell(check: OutcomeCrossCheck | None, unit: str, lang: str = "en") -> str:
    if check is None:
        return "—"
    low, high = (format_outcome(v, unit, lang) for v in check.interval_80) if check.interval_80 else ("", "")
    interval = f" (80%: {low} – {high})" if check.interval_80 else ""
    source = source_labels(lang).get(check.source, check.source).split(" (")[0].split("（")[0]
    return f"{source}: {format_outcome(check.expected, unit, lang)}{interval}"


def _measurement(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    lines = [f"## {t('measurement', lang)}", ""]
    measurement = plan.measurement
    if measurement is None:
        return [*lines, f"_{t('no_measurement', lang)}_"]
    sample = "—" if measurement.sample_size is None else f"{measurement.sample_size:,}"
    lines += [
        f"- **{t('design', lang)}:** {escape_md(measurement.design)}",
        f"- **{t('holdout_share', lang)}:** {format_percent(measurement.holdout_share, 1)}",
        f"- **{t('sample_size', lang)}:** {sample}",
        f"- **{t('min_detectable_lift', lang)}:** {format_percent(measurement.minimum_detectable_lift, 1)}",
    ]
    if measurement.channels:
        header = [t(key, lang) for key in (
            "col_channel", "col_design", "col_audience", "col_baseline", "col_sized_for", "col_per_arm",
            "col_holdout", "col_detectable", "col_powered", "col_copy_ab")]
        rows = [
            [
                escape_md(channel_name(test.channel, lang)),
                escape_md(t(f"design_{test.design}", lang)),
                f"{test.audience:,}",
                format_percent(test.baseline_rate, 2),
                format_lift(test.expected_lift, "conversion", lang)
                + (t("assumed", lang) if test.lift_source == "assumption" else ""),
                "—" if test.sample_size_per_arm is None else f"{test.sample_size_per_arm:,}",
                format_percent(test.holdout_share, 1),
                format_lift(test.minimum_detectable_lift, "conversion", lang),
                t("na_regions", lang) if test.powered is None
                else (t("yes", lang) if test.powered else f"**{t('no', lang)}**"),
                format_lift(test.variant_test_mde, "conversion", lang),
            ]
            for test in measurement.channels
        ]
        lines += ["", *_table(header, rows), ""]
        lines += [
            f"- **{escape_md(channel_name(test.channel, lang))}:** {escape_md(test.description)}"
            for test in measurement.channels
        ]
    return lines


def _risks(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    return [f"## {t('risks', lang)}", "",
            *([f"- {escape_md(r)}" for r in plan.risks] or [f"- {t('none_recorded', lang)}"])]


def _rationale(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    lines = [f"## {t('rationale', lang)}", ""]
    for item in plan.rationale:
        evidence = ", ".join(_code(e) for e in item.evidence_ids) or t("no_evidence", lang)
        lines.append(f"- {escape_md(item.decision)} — {t('evidence', lang)}: {evidence}")
    return lines if plan.rationale else [*lines, f"- {t('none_recorded', lang)}"]


def _provenance(plan: CampaignPlan) -> list[str]:
    lang = language_of(plan)
    p = plan.provenance
    run = t("run_seconds", lang, run=_code(p.run_id), seconds=f"{p.seconds:.1f}", llm=f"{p.llm_seconds:.1f}")
    calls = t("tokens", lang, calls=p.llm_calls, prompt=f"{p.prompt_tokens:,}", completion=f"{p.completion_tokens:,}")
    lines = [
        f"## {t('provenance', lang)}",
        "",
        f"- **{t('backend_model', lang)}:** {escape_md(p.backend)} / {escape_md(p.model)}",
        f"- **{t('run', lang)}:** {run}",
        f"- **{t('llm_calls', lang)}:** {calls}",
    ]
    if p.tool_calls:
        lines.append(f"- **{t('tool_calls', lang)}:** {', '.join(escape_md(x) for x in p.tool_calls)}")
    for name, digest in p.data.items():
        lines.append(f"- **{t('data', lang)}** {escape_md(name)}: {_code(short_hash(digest))}")
    return lines
