"""Application settings with one explicit precedence: CLI flag > environment > config file > default.

Environment variables are prefixed ``CAMPAIGN_PLANNER_`` (``CAMPAIGN_PLANNER_BACKEND=local``). The
config file is TOML, found at ``$CAMPAIGN_PLANNER_CONFIG`` or the user config dir
(``~/.config/campaign-planner/config.toml`` on Linux). Values passed to ``Settings(...)`` — which is
what the CLI does with its flags — win over both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_cache_dir, user_config_dir, user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "campaign-planner"
CONFIG_ENV = "CAMPAIGN_PLANNER_CONFIG"


def default_config_path() -> Path:
    """Return the config file path: ``$CAMPAIGN_PLANNER_CONFIG`` or the user config dir's config.toml."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(user_config_dir(APP_NAME)) / "config.toml"


class Settings(BaseSettings):
    """Everything a planning run can be configured with."""

    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_PLANNER_", extra="forbid", validate_default=True)

    backend: str | None = Field(
        default=None,
        description='LLM backend spec: "local", "openai:<model>", "gguf:<path>", "hf:<path>" or "fake". '
        "Unset: openai:gpt-4o-mini when OPENAI_API_KEY is set, else local.",
    )
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir(APP_NAME)))
    cache_dir: Path = Field(default_factory=lambda: Path(user_cache_dir(APP_NAME)))
    shop_dir: Path | None = Field(default=None, description="Shop folder; unset: the demo shop in data_dir.")
    chroma_url: str | None = Field(default=None, description="Chroma server URL; unset: embedded store.")
    checkpoint_url: str | None = Field(
        default=None, description="postgresql://… for Postgres; unset: SQLite in data_dir."
    )
    max_segments: int = Field(default=3, ge=2, le=6)
    variants_per_cell: int = Field(default=2, ge=1, le=4)
    language: Literal["en", "zh"] | None = Field(default=None, description="Copy language; unset: the brief's.")
    copy_workers: int = Field(default=1, ge=1, le=8)
    copy_method: Literal["slots", "draft"] = Field(
        default="slots",
        description="How the copywriter's model writes: short slots composed by the copywriter, or whole drafts.",
    )
    narrative: Literal["auto", "model", "tools"] = Field(
        default="auto",
        description="Who writes the plan's prose beyond the tool figures (summary sentences, rationale, "
        "risks): the model, or only the tools' own statements. auto: the tools for local models (a 1.5B "
        "model's narrative took ~15% of a plan's time and said nothing the tables do not), the model otherwise.",
    )
    llm_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="llama.cpp decoding threads for local models; unset: 2. On a machine whose cores are busy "
        "with other work, 1 is faster: threads that must meet at every token stall when one is descheduled.",
    )

    api_key_hashes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="SHA-256 hex digests of the HTTP API's keys (env: comma-separated); "
        "`campaign-planner api-key new` makes one.",
    )
    api_workers: int = Field(default=2, ge=1, le=32, description="HTTP API background worker threads.")
    api_rate_per_minute: float = Field(default=30.0, gt=0, description="Per-key rate limit on POST endpoints.")
    api_max_body_bytes: int = Field(default=65536, ge=1024)
    queue_url: str | None = Field(
        default=None,
        description="redis://… : API-triggered runs go to a Celery queue there and `campaign-planner worker` "
        "processes (on any machine) execute them; needs a postgresql:// checkpoint_url, which then also holds "
        "the run records. Unset: runs execute in the API process's threads.",
    )
    queue_lease_s: float = Field(
        default=30.0, ge=3.0, le=3600.0,
        description="A worker renews its claim on a run every lease/4 seconds; a run whose claim is older than "
        "this is taken over by another worker, which continues it from its last checkpoint.",
    )
    queue_visibility_timeout_s: float = Field(
        default=3600.0, ge=5.0,
        description="Redis broker: a queued message a worker took but did not acknowledge (the worker died) is "
        "delivered again after this many seconds.",
    )

    @field_validator("api_key_hashes", mode="before")
    @classmethod
    def _split_hashes(cls, value: Any) -> Any:
        return [part for part in re.split(r"[,\s]+", value) if part] if isinstance(value, str) else value

    @field_validator("data_dir", "cache_dir", "shop_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The order of this tuple IS the precedence: first wins.
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=default_config_path()),
        )

    @property
    def demo_shop_dir(self) -> Path:
        """Return where the demo shop lives (written on first use)."""
        return self.data_dir / "demo-shop"

    @property
    def effective_shop_dir(self) -> Path:
        """Return the shop folder a run uses: the explicit one, else the demo shop."""
        return self.shop_dir if self.shop_dir is not None else self.demo_shop_dir

    @property
    def checkpoint_path(self) -> Path:
        """Return the SQLite checkpoint database path used when no checkpoint_url is set."""
        return self.data_dir / "checkpoints.sqlite"


def load_settings(**cli_overrides: Any) -> Settings:
    """Build settings, where non-None ``cli_overrides`` (CLI flags) beat env, config file and defaults."""
    return Settings(**{key: value for key, value in cli_overrides.items() if value is not None})
