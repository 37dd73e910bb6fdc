"""Packaging: every third-party import is declared in pyproject.toml, and the version has one source."""

from __future__ import annotations

import importlib.util
import shutil
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_imports", ROOT / "scripts" / "check_imports.py")
check_imports = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(check_imports)  # type: ignore[union-attr]


def test_every_import_of_the_repository_is_declared() -> None:
    assert check_imports.undeclared(ROOT) == []


def test_an_undeclared_import_is_found(tmp_path: Path) -> None:
    (tmp_path / "src" / "campaign_planner").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # hypothesis is a dev dependency: fine in tests, undeclared in the package; jinja2 is runtime: fine in both.
    (tmp_path / "src" / "campaign_planner" / "client.py").write_text("import hypothesis\nimport jinja2\n")
    (tmp_path / "tests" / "test_client.py").write_text("import hypothesis\nfrom jinja2 import Template\n")
    found = check_imports.undeclared(tmp_path)
    assert [(file, name) for file, name, _ in found] == [("src/campaign_planner/client.py", "hypothesis")]


def test_installed_versions_satisfy_the_declared_ranges() -> None:
    assert check_imports.unsatisfied(ROOT) == []


def test_the_version_comes_from_the_package_metadata() -> None:
    import campaign_planner

    assert campaign_planner.__version__ == version("campaign-planner")
    text = (ROOT / "src" / "campaign_planner" / "api" / "app.py").read_text()
    assert 'version="' not in text and "version=__version__" in text
