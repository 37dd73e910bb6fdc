"""Import every module of the installed ``campaign_planner`` package, as a fresh install would.

    python scripts/import_all.py    # prints modules_imported=N and import_failures=N; exit 1 on a failure

Run it from outside the repository against a wheel install (.ci/run does): a module that imports an
undeclared dependency, or a file missing from the wheel, fails here rather than on a user's machine.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback


def main() -> int:
    """Import each module; print failures and the counts; return 1 when any import failed."""
    package = importlib.import_module("campaign_planner")
    where = package.__file__ or "?"
    failures = []
    # __main__ runs the CLI when imported; it is a one-line shim over cli.app, which is imported.
    names = [info.name for info in pkgutil.walk_packages(package.__path__, prefix="campaign_planner.")
             if not info.name.endswith(".__main__")]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # report every broken module, not only the first
            failures.append(name)
            print(f"cannot import {name}:\n{traceback.format_exc()}", file=sys.stderr)
    print(f"package={where} version={package.__version__}")
    print(f"modules_imported={len(names) - len(failures)}")
    print(f"import_failures={len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
