"""What a revision changed: two plans side by side, section by section.

:func:`diff_plans` compares the plan before a follow-up with the revised one: the budget per channel, the
segments added, removed or resized, the copy cells rewritten, added or dropped, the forecast totals, the
brief fields a follow-up may change, and the flags raised or cleared. The result is JSON-ready (it travels
with the revised plan through the API and the chat); :func:`describe_diff` says it in short sentences.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from campaign_planner.domain import Brief, CampaignPlan, CopyVariant

MONEY_TOLERANCE = 0.005  # half a cent
RELATIVE_TOLERANCE = 1e-9


class ChannelSpend(BaseModel):
    """One channel's spend before and after (0.0 where the plan gives it nothing)."""

    channel: str
    before: float
    after: float
    delta: float

    @property
    def changed(self) -> bool:
        return abs(self.delta) > MONEY_TOLERANCE


class SegmentRef(BaseModel):
    id: str
    name: str
    customers: int


class SegmentResize(BaseModel):
    id: str
    name: str
    customers_before: int
    customers_after: int


class CopyText(BaseModel):
    headline: str
    body: str
    cta: str


class CopyCellChange(BaseModel):
    """A segment × channel copy cell that was rewritten, added or dropped."""

    segment_id: str
    channel: str
    change: Literal["rewritten", "added", "removed"]
    before: list[CopyText] = Field(default_factory=list)
    after: list[CopyText] = Field(default_factory=list)


class TotalChange(BaseModel):
    """A forecast total (summed over every line) before and after."""

    metric: str = Field(description="incremental_revenue, or a forecast metric such as incremental_conversions.")
    before: float
    after: float
    delta: float


class FieldChange(BaseModel):
    field: str
    before: Any = None
    after: Any = None


class PlanDiff(BaseModel):
    """The differences between two plans (JSON-ready). ``budget`` lists every channel of either plan."""

    currency: str | None = None
    budget_total_before: float | None = None
    budget_total_after: float | None = None
    budget: list[ChannelSpend] = Field(default_factory=list)
    segments_added: list[SegmentRef] = Field(default_factory=list)
    segments_removed: list[SegmentRef] = Field(default_factory=list)
    segments_resized: list[SegmentResize] = Field(default_factory=list)
    copy_changes: list[CopyCellChange] = Field(default_factory=list)
    copy_unchanged: int = Field(default=0, description="Copy cells identical in both plans.")
    forecast: list[TotalChange] = Field(default_factory=list)
    brief: list[FieldChange] = Field(default_factory=list)
    flags_added: list[str] = Field(default_factory=list)
    flags_removed: list[str] = Field(default_factory=list)

    @property
    def budget_changed(self) -> list[ChannelSpend]:
        return [row for row in self.budget if row.changed]

    @property
    def forecast_changed(self) -> list[TotalChange]:
        return [row for row in self.forecast if _changed(row.before, row.after)]

    def is_empty(self) -> bool:
        """Return True when the two plans agree on everything compared here."""
        return not (self.budget_changed or self.segments_added or self.segments_removed or self.segments_resized
                    or self.copy_changes or self.forecast_changed or self.brief or self.flags_added
                    or self.flags_removed or _changed(self.budget_total_before, self.budget_total_after))


def _changed(before: float | None, after: float | None) -> bool:
    if before is None or after is None:
        return before is not after
    return abs(after - before) > max(MONEY_TOLERANCE, RELATIVE_TOLERANCE * max(abs(before), abs(after)))


def _spends(plan: CampaignPlan) -> dict[str, float]:
    if plan.budget is None:
        return {}
    spends: dict[str, float] = {}
    for allocation in plan.budget.allocations:
        spends[allocation.channel] = spends.get(allocation.channel, 0.0) + allocation.spend
    return spends


def _budget_rows(before: CampaignPlan, after: CampaignPlan) -> list[ChannelSpend]:
    old, new = _spends(before), _spends(after)
    channels = list(dict.fromkeys([*old, *new]))
    return [
        ChannelSpend(channel=c, before=round(old.get(c, 0.0), 2), after=round(new.get(c, 0.0), 2),
                     delta=round(new.get(c, 0.0) - old.get(c, 0.0), 2))
        for c in channels
    ]


def _segment_key(segment: Any) -> tuple[str, str]:
    return segment.id, segment.name


def _segments(before: CampaignPlan, after: CampaignPlan) -> tuple[list[SegmentRef], list[SegmentRef],
                                                                   list[SegmentResize]]:
    old = {_segment_key(s): s for s in before.segments}
    new = {_segment_key(s): s for s in after.segments}
    added = [SegmentRef(id=s.id, name=s.name, customers=s.size.customers) for k, s in new.items() if k not in old]
    removed = [SegmentRef(id=s.id, name=s.name, customers=s.size.customers) for k, s in old.items() if k not in new]
    resized = [
        SegmentResize(id=s.id, name=s.name, customers_before=old[k].size.customers, customers_after=s.size.customers)
        for k, s in new.items()
        if k in old and old[k].size.customers != s.size.customers
    ]
    return added, removed, resized


def _texts(variants: list[CopyVariant]) -> list[CopyText]:
    return [CopyText(headline=v.headline, body=v.body, cta=v.cta) for v in variants]


def _copy(before: CampaignPlan, after: CampaignPlan) -> tuple[list[CopyCellChange], int]:
    old = {(m.segment_id, m.channel): m for m in before.messaging}
    new = {(m.segment_id, m.channel): m for m in after.messaging}
    changes: list[CopyCellChange] = []
    unchanged = 0
    for key, cell in new.items():
        if key not in old:
            changes.append(CopyCellChange(segment_id=key[0], channel=key[1], change="added",
                                          after=_texts(cell.variants)))
        elif _texts(old[key].variants) != _texts(cell.variants):
            changes.append(CopyCellChange(segment_id=key[0], channel=key[1], change="rewritten",
                                          before=_texts(old[key].variants), after=_texts(cell.variants)))
        else:
            unchanged += 1
    changes.extend(
        CopyCellChange(segment_id=key[0], channel=key[1], change="removed", before=_texts(cell.variants))
        for key, cell in old.items()
        if key not in new
    )
    return changes, unchanged


def _forecast(before: CampaignPlan, after: CampaignPlan) -> list[TotalChange]:
    def totals(plan: CampaignPlan) -> dict[str, float]:
        sums: dict[str, float] = {"incremental_revenue": 0.0}
        for line in plan.forecast:
            sums["incremental_revenue"] += line.incremental_revenue
            if line.metric != "incremental_revenue":
                sums[line.metric] = sums.get(line.metric, 0.0) + line.expected
        return sums

    if not before.forecast and not after.forecast:
        return []
    old, new = totals(before), totals(after)
    return [
        TotalChange(metric=m, before=round(old.get(m, 0.0), 4), after=round(new.get(m, 0.0), 4),
                    delta=round(new.get(m, 0.0) - old.get(m, 0.0), 4))
        for m in dict.fromkeys([*old, *new])
    ]


def _brief_fields(brief: Brief) -> dict[str, Any]:
    return {
        "budget": brief.budget.model_dump() if brief.budget else None,
        "weeks": brief.weeks,
        "days": brief.days,
        "channels_allowed": list(brief.channels_allowed),
        "channels_only": brief.channels_only,
        "channels_excluded": list(brief.channels_excluded),
        "channel_bounds": [b.model_dump(exclude_none=True) for b in brief.channel_bounds],
        "audience.age_min": brief.audience.age_min,
        "audience.age_max": brief.audience.age_max,
        "audience.departments": list(brief.audience.departments),
        "offer.discount_percent": brief.offer.discount_percent,
        "tone": brief.tone,
    }


def _flag_texts(plan: CampaignPlan) -> list[str]:
    return [f"{flag.code.value}: {flag.message}" for flag in plan.flags]


def diff_plans(before: CampaignPlan, after: CampaignPlan) -> PlanDiff:
    """Return what changed from ``before`` to ``after`` (see :class:`PlanDiff`)."""
    added, removed, resized = _segments(before, after)
    copy_changes, unchanged = _copy(before, after)
    old_brief, new_brief = _brief_fields(before.brief), _brief_fields(after.brief)
    old_flags, new_flags = _flag_texts(before), _flag_texts(after)
    currency = (after.budget or before.budget).currency if (after.budget or before.budget) else None
    return PlanDiff(
        currency=currency,
        budget_total_before=before.budget.total if before.budget else None,
        budget_total_after=after.budget.total if after.budget else None,
        budget=_budget_rows(before, after),
        segments_added=added,
        segments_removed=removed,
        segments_resized=resized,
        copy_changes=copy_changes,
        copy_unchanged=unchanged,
        forecast=_forecast(before, after),
        brief=[FieldChange(field=k, before=old_brief[k], after=new_brief[k]) for k in old_brief
               if old_brief[k] != new_brief[k]],
        flags_added=[f for f in new_flags if f not in old_flags],
        flags_removed=[f for f in old_flags if f not in new_flags],
    )


def _money(value: float, currency: str | None) -> str:
    return f"{value:,.0f} {currency}" if currency else f"{value:,.0f}"


def _signed(value: float, currency: str | None) -> str:
    return ("+" if value >= 0 else "−") + _money(abs(value), currency)


def _bound(bound: dict[str, Any]) -> str:
    low, high = bound.get("min_spend"), bound.get("max_spend")
    if low is not None and low == high:
        return f"{bound['channel']} fixed at {low:,.2f}"
    parts = [f"≥ {low:,.2f}" if low is not None else "", f"≤ {high:,.2f}" if high is not None else ""]
    return f"{bound['channel']} " + " ".join(part for part in parts if part)


def _show(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list) and all(isinstance(v, dict) and "channel" in v for v in value):
        return "; ".join(_bound(b) for b in value)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)


def describe_diff(diff: PlanDiff) -> list[str]:
    """Return the diff as short sentences, most important first (empty when nothing changed)."""
    lines: list[str] = []
    c = diff.currency
    if _changed(diff.budget_total_before, diff.budget_total_after):
        before = "none" if diff.budget_total_before is None else _money(diff.budget_total_before, c)
        after = "none" if diff.budget_total_after is None else _money(diff.budget_total_after, c)
        lines.append(f"Budget total: {before} → {after}")
    lines += [f"{row.channel}: {_money(row.before, c)} → {_money(row.after, c)} ({_signed(row.delta, c)})"
              for row in diff.budget_changed]
    lines += [f"Segment added: {s.name} ({s.customers:,} customers)" for s in diff.segments_added]
    lines += [f"Segment removed: {s.name} ({s.customers:,} customers)" for s in diff.segments_removed]
    lines += [f"Segment {s.name}: {s.customers_before:,} → {s.customers_after:,} customers"
              for s in diff.segments_resized]
    if diff.copy_changes:
        by_change: dict[str, list[str]] = {}
        for cell in diff.copy_changes:
            by_change.setdefault(cell.change, []).append(f"{cell.segment_id}/{cell.channel}")
        lines += [f"Copy {change}: {', '.join(cells)}" for change, cells in by_change.items()]
    for row in diff.forecast_changed:
        unit = c if row.metric == "incremental_revenue" else None
        lines.append(f"Forecast {row.metric.replace('_', ' ')}: {_money(row.before, unit)} → "
                     f"{_money(row.after, unit)}")
    lines += [f"Brief {f.field}: {_show(f.before)} → {_show(f.after)}" for f in diff.brief]
    lines += [f"New flag: {text}" for text in diff.flags_added]
    lines += [f"Flag cleared: {text}" for text in diff.flags_removed]
    return lines
