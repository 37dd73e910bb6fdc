"""Renderers of a campaign plan: JSON (the contract), Markdown (for reading), HTML (report with charts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from campaign_planner.domain import CampaignPlan
    from campaign_planner.render.html import render_html
    from campaign_planner.render.markdown import escape_md, render_markdown

PlanFormat = Literal["json", "md", "html"]
FORMATS: tuple[PlanFormat, ...] = ("json", "md", "html")

__all__ = ["FORMATS", "PlanFormat", "escape_md", "render_html", "render_markdown", "render_plan"]


def __getattr__(name: str) -> Any:
    # The renderers load on first use: the tools word their notices from render.messages without Jinja.
    if name == "render_html":
        from campaign_planner.render.html import render_html

        return render_html
    if name in {"render_markdown", "escape_md"}:
        from campaign_planner.render import markdown

        return getattr(markdown, name)
    raise AttributeError(name)


def render_plan(plan: CampaignPlan, fmt: PlanFormat) -> str:
    """Return ``plan`` rendered as ``fmt``: "json" (the stable contract), "md" or "html".

    Refuses (ValueError) any other format, naming the ones it knows.
    """
    if fmt == "json":
        return plan.model_dump_json(indent=2)
    if fmt == "md":
        from campaign_planner.render.markdown import render_markdown

        return render_markdown(plan)
    if fmt == "html":
        from campaign_planner.render.html import render_html

        return render_html(plan)
    raise ValueError(f"unknown plan format {fmt!r}; expected one of {', '.join(FORMATS)}")
