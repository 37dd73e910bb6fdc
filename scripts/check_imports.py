"""Compare the third-party imports of the package (and of its tests, benchmarks, evals) with pyproject.toml.

    python scripts/check_imports.py            # prints undeclared_imports=N (and each one), exit 1 if N > 0

The package's imports (src/) must be runtime dependencies; those of tests/, bench/, evals/ and scripts/
may also come from the ``dev`` extra. An import counts as declared when the distribution that provides it
(importlib.metadata's packages_distributions, or the import name itself where the distribution is not
installed) is named in the right list. Imports guarded by ``try``/``except ImportError`` are still checked:
an optional import that is not declared anywhere cannot be installed by a user either.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"campaign_planner", "tests", "bench", "evals", "scripts"}
# Modules of the test/bench trees that are siblings imported by name (sys.path tricks), not distributions.
_LOCAL_TREES = ("tests", "bench", "evals", "scripts")
# Scripts that run in their own environment, with their own requirements file (never the product's).
SEPARATE_ENVIRONMENTS = {"bench/bench_pymc_budget.py": "bench/pymc_env/requirements.txt"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _normalise(re.split(r"[\s\[<>=!~;@]", spec.strip(), maxsplit=1)[0])


def declared(pyproject: Path) -> tuple[set[str], set[str]]:
    """Return (runtime, runtime + every optional extra) distribution names of ``pyproject``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    runtime = {_requirement_name(s) for s in project.get("dependencies", [])}
    extras = {_requirement_name(s) for specs in project.get("optional-dependencies", {}).values() for s in specs}
    return runtime, runtime | extras


def imports_of(path: Path) -> set[str]:
    """Return the top-level module names ``path`` imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _local_modules(directory: Path) -> set[str]:
    return {p.stem for p in directory.rglob("*.py")} | {p.name for p in directory.iterdir() if p.is_dir()}


def undeclared(root: Path = ROOT) -> list[tuple[str, str, str]]:
    """Return (file, import, distribution) for every third-party import not declared where it must be."""
    runtime, everything = declared(root / "pyproject.toml")
    providers = packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    problems: list[tuple[str, str, str]] = []
    trees = [("src", runtime)] + [(name, everything) for name in _LOCAL_TREES]
    siblings = set().union(*(_local_modules(root / t) for t in _LOCAL_TREES if (root / t).is_dir()))
    for tree, allowed in trees:
        base = root / tree
        if not base.is_dir():
            continue
        local = siblings if tree != "src" else set()
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" in path.parts or path.relative_to(root).as_posix() in SEPARATE_ENVIRONMENTS:
                continue
            for name in sorted(imports_of(path) - stdlib - OWN - local - {"__future__"}):
                dists = {_normalise(d) for d in providers.get(name, [name])}
                if not dists & allowed:
                    problems.append((str(path.relative_to(root)), name, ", ".join(sorted(dists))))
    return problems


def unsatisfied(root: Path = ROOT, extras: tuple[str, ...] = ("dev",)) -> list[str]:
    """Return the runtime and ``extras`` requirements of pyproject.toml that the installed distributions do
    not satisfy (absent, or a version outside the declared range)."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    specs = list(project.get("dependencies", []))
    for extra in extras:
        specs += project.get("optional-dependencies", {}).get(extra, [])
    problems = []
    for spec in specs:
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            problems.append(f"{spec}: not installed")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"{spec}: installed {installed}")
    return problems


def main() -> int:
    """Print each undeclared import and ``undeclared_imports=N`` (with ``--installed`` also each unmet
    requirement and ``unsatisfied_requirements=N``); return 1 when any count is above 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--installed", action="store_true",
                        help="also check that the installed versions satisfy pyproject's runtime and dev ranges")
    args = parser.parse_args()
    problems = undeclared(args.root)
    for file, name, dists in problems:
        print(f"{file}: imports {name} (distribution {dists}) which pyproject.toml does not declare")
    print(f"undeclared_imports={len(problems)}")
    unmet = unsatisfied(args.root) if args.installed else []
    if args.installed:
        for line in unmet:
            print(f"unsatisfied requirement {line}")
        print(f"unsatisfied_requirements={len(unmet)}")
    return 1 if problems or unmet else 0


if __name__ == "__main__":
    sys.exit(main())
