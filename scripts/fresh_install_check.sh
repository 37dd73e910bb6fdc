#!/usr/bin/env bash
# Fresh-install check: build the wheel, install it (no dependencies) into a throwaway venv that sees this
# environment's packages, and import every module from outside the repository; then compare the imports
# with pyproject.toml. A few seconds: no dependency is downloaded.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python -m pip wheel --quiet --no-deps --no-build-isolation -w "$tmp/wheel" "$repo"
python -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --no-deps --no-index "$tmp"/wheel/*.whl
(cd "$tmp" && "$tmp/venv/bin/python" -I "$repo/scripts/import_all.py")
python "$repo/scripts/check_imports.py" --installed
