"""Campaign Planner: a plain-language marketing brief in, a complete, justified campaign plan out."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The one place the version is written is pyproject.toml; the installed metadata carries it here.
    __version__ = version("campaign-planner")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
