"""Integration tests run real components (llama.cpp on a small GGUF); they opt in to real models."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Registered here until pyproject's pytest section registers it for the whole suite.
    config.addinivalue_line(
        "markers", "integration: runs real components (llama.cpp, local model files); slower than unit tests"
    )
