"""What a run request may ask of the server: which backends and which shop folders.

A request's ``backend`` and ``shop`` name things on the server (a model, files), so both are checked
against allow-lists: a backend must be one the operator enabled, a shop must lie under an allowed root.
Refusals are :class:`ProblemError` (403 for "not allowed here", 422 for "not valid").
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from campaign_planner.api.errors import ProblemError
from campaign_planner.api.schemas import RunCreate
from campaign_planner.llm import BackendError, ModelSpec, default_backend_spec
from campaign_planner.settings import Settings


def _normalise_spec(text: str) -> str:
    return str(ModelSpec.parse(text))


class RunPolicy:
    """Turns a run request into the run's :class:`Settings`, refusing what the server does not allow."""

    def __init__(self, base: Settings, *, allowed_backends: Iterable[str] | None = None,
                 shop_roots: Iterable[Path] | None = None) -> None:
        self.base = base
        default_backend = _normalise_spec(base.backend or default_backend_spec())
        self.allowed_backends = frozenset(
            _normalise_spec(b) for b in (allowed_backends if allowed_backends is not None else [default_backend])
        )
        roots = list(shop_roots) if shop_roots is not None else [
            base.data_dir, *([base.shop_dir] if base.shop_dir is not None else [])
        ]
        self.shop_roots = tuple(Path(r).expanduser().resolve() for r in roots)

    def run_settings(self, request: RunCreate) -> Settings:
        """Return the settings for ``request``: the server's, with the request's allowed overrides."""
        update: dict[str, object] = {k: v for k, v in request.settings.model_dump().items() if v is not None}
        if request.backend is not None:
            update["backend"] = self._backend(request.backend)
        if request.shop is not None:
            update["shop_dir"] = self._shop(request.shop)
        return self.base.model_copy(update=update)

    def _backend(self, text: str) -> str:
        try:
            spec = _normalise_spec(text)
        except BackendError as exc:
            raise ProblemError(422, str(exc)) from exc
        if spec not in self.allowed_backends:
            enabled = ", ".join(sorted(self.allowed_backends))
            raise ProblemError(403, f"backend {spec!r} is not enabled on this server; enabled: {enabled}")
        return spec

    def _shop(self, text: str) -> Path:
        try:  # a NUL byte or a lone surrogate ("\ud800") makes no path: the os calls raise ValueError
            path = Path(text).expanduser()
            resolved = path.resolve()
        except (ValueError, OSError) as exc:
            raise ProblemError(422, f"shop {text!r} is not a valid path") from exc
        if not path.is_absolute():
            raise ProblemError(422, f"shop {text!r} must be an absolute path on the server")
        if not any(resolved == root or resolved.is_relative_to(root) for root in self.shop_roots):
            raise ProblemError(403, f"shop {text!r} is outside the folders this server serves shops from")
        if not (resolved / "reviews.csv").is_file():
            raise ProblemError(422, f"{text} is not a shop (no reviews.csv); create one with "
                                    "`campaign-planner shop import` or `campaign-planner shop demo DIR`")
        return resolved
