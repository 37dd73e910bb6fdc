"""The channel catalog: which channels exist, their copy rules, costs and prior response curves.

A shop may ship its own ``channels.yaml`` (same shape as the packaged default); channels it lists
replace the default entries with the same id and add new ones.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from campaign_planner.tools.copy_length import CopyUnit, character_budget


class CatalogError(ValueError):
    """A channel catalog file that cannot be read or does not match the catalog schema."""


class CopyRules(BaseModel):
    """A channel's copy limits, in the unit its platform counts (``unit``; the headline may differ)."""

    model_config = ConfigDict(extra="forbid")

    headline_max: int = Field(gt=0)
    body_max: int = Field(gt=0)
    cta_required: bool = True
    hashtags: bool = False
    headline_label: str = "headline"
    unit: CopyUnit = Field(default="characters", description="The unit of body_max (and headline_max).")
    headline_unit: CopyUnit | None = Field(default=None, description="The unit of headline_max, if not unit.")

    def unit_of(self, part: Literal["headline", "body"]) -> CopyUnit:
        """Return the unit the ``part``'s limit is counted in."""
        return (self.headline_unit or self.unit) if part == "headline" else self.unit

    def characters(self, part: Literal["headline", "body"], language: Literal["en", "zh"]) -> int:
        """Return how many characters of ``language`` copy surely fit the ``part``'s limit: the number a
        prompt or a draft schema states (a 30-width search headline holds 15 Chinese characters)."""
        limit = self.headline_max if part == "headline" else self.body_max
        return character_budget(limit, self.unit_of(part), language)


class UnitCost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per: Literal["message", "cpm", "cpc", "post"]
    amount: float = Field(ge=0)


class PriorCurve(BaseModel):
    """A weekly Hill response curve with geometric adstock, used when a channel has no history."""

    model_config = ConfigDict(extra="forbid")

    beta: float = Field(gt=0, description="Saturated weekly revenue.")
    half_saturation: float = Field(gt=0, description="Weekly (adstocked) spend giving half of beta.")
    slope: float = Field(gt=0)
    decay: float = Field(ge=0, lt=1, description="Geometric adstock carry-over per week.")
    prior_cv: float = Field(gt=0, description="Coefficient of variation of the prior, for intervals.")


class ChannelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    kind: Literal["owned", "paid"]
    aliases: list[str] = Field(default_factory=list)
    copy_rules: CopyRules = Field(alias="copy")
    unit_cost: UnitCost
    prior: PriorCurve
    min_spend: float | None = Field(default=None, ge=0)
    max_spend: float | None = Field(default=None, ge=0)


class ChannelCatalog:
    """Channels by id, with alias resolution for channel names as people write them in briefs."""

    def __init__(self, channels: dict[str, ChannelSpec]) -> None:
        self.channels = channels
        self._alias_index: dict[str, str] = {}
        for channel_id, spec in channels.items():
            for name in [channel_id, spec.name, *spec.aliases]:
                self._alias_index[_normalise(name)] = channel_id

    def __contains__(self, channel_id: object) -> bool:
        return channel_id in self.channels

    def __getitem__(self, channel_id: str) -> ChannelSpec:
        return self.channels[channel_id]

    def ids(self) -> list[str]:
        """Return all channel ids in catalog order."""
        return list(self.channels)

    def resolve(self, name: str) -> str | None:
        """Return the channel id that ``name`` (an id, display name or alias) means, or None."""
        return self._alias_index.get(_normalise(name))

    def aliases(self) -> dict[str, str]:
        """Return every known spelling (normalised) mapped to its channel id."""
        return dict(self._alias_index)

    def with_overrides(self, path: Path) -> ChannelCatalog:
        """Return a catalog where the channels of ``path`` replace or extend these."""
        merged = dict(self.channels)
        merged.update(_parse_catalog(path.read_text(encoding="utf-8"), str(path)))
        return ChannelCatalog(merged)


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def _parse_catalog(text: str, source: str) -> dict[str, ChannelSpec]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from exc
    raw = document.get("channels") if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        raise CatalogError(f"{source}: expected a top-level 'channels:' mapping of channel id to spec")
    channels: dict[str, ChannelSpec] = {}
    for channel_id, body in raw.items():
        if not isinstance(channel_id, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", channel_id):
            raise CatalogError(f"{source}: channel id {channel_id!r} must be lowercase letters, digits, '_'")
        try:
            channels[channel_id] = ChannelSpec.model_validate({"id": channel_id, **(body or {})})
        except ValidationError as exc:
            raise CatalogError(f"{source}: channel {channel_id!r}: {exc}") from exc
    return channels


@cache
def default_catalog() -> ChannelCatalog:
    """Return the packaged default catalog (20 channels, Western and Chinese)."""
    text = resources.files("campaign_planner.data").joinpath("channels.yaml").read_text(encoding="utf-8")
    return ChannelCatalog(_parse_catalog(text, "campaign_planner/data/channels.yaml"))


def load_catalog(shop_dir: Path | None) -> ChannelCatalog:
    """Return the default catalog, extended by ``shop_dir/channels.yaml`` where it exists."""
    catalog = default_catalog()
    if shop_dir is not None and (shop_dir / "channels.yaml").is_file():
        catalog = catalog.with_overrides(shop_dir / "channels.yaml")
    return catalog
