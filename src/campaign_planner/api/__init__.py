"""The HTTP API: ``create_app(settings)`` returns a FastAPI app serving planning runs (see ``docs/api.md``)."""

from campaign_planner.api.app import create_app
from campaign_planner.api.auth import api_key_hashes_from_env, generate_api_key, hash_api_key
from campaign_planner.api.config import ApiConfig

__all__ = ["ApiConfig", "api_key_hashes_from_env", "create_app", "generate_api_key", "hash_api_key"]
