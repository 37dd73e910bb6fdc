"""The copywriter tool: the planner's entry point to :func:`campaign_planner.agents.copywriter.write_copy`.

The agent module holds the LLM-facing logic; this module resolves what a tool call leaves implicit
(the copy language from the brief, the shop's catalog and brand voice) and calls it.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models import BaseChatModel

from campaign_planner.agents.copywriter import CopyMethod, CopyResult, write_copy
from campaign_planner.data.catalog import ChannelCatalog, load_catalog
from campaign_planner.domain import Brief, Segment
from campaign_planner.tools.copy_rules import BrandVoice, Language, load_brand_voice

__all__ = ["CopyResult", "copywriter_tool", "write_copy"]


def copywriter_tool(
    model: BaseChatModel,
    *,
    brief: Brief,
    segments: list[Segment],
    channels: list[str],
    shop_dir: Path | None = None,
    catalog: ChannelCatalog | None = None,
    brand: BrandVoice | None = None,
    language: Language | None = None,
    variants_per_cell: int = 2,
    max_workers: int = 1,
    method: CopyMethod = "slots",
) -> CopyResult:
    """Return copy for every segment × channel (see :func:`write_copy`).

    Defaults: the language is the brief's; the catalog is the packaged one extended by
    ``shop_dir/channels.yaml``; the brand voice is ``shop_dir/brand.yaml`` where it exists. Explicit
    arguments win over what ``shop_dir`` holds. Raises ``BrandVoiceError``/``CatalogError`` for a shop
    file that cannot be read, and ValueError as ``write_copy`` does.
    """
    if catalog is None:
        catalog = load_catalog(shop_dir)
    if brand is None and shop_dir is not None:
        brand = load_brand_voice(shop_dir)
    return write_copy(
        model,
        brief=brief,
        segments=segments,
        channels=channels,
        catalog=catalog,
        language=language or brief.language,
        brand=brand,
        variants_per_cell=variants_per_cell,
        max_workers=max_workers,
        method=method,
    )
