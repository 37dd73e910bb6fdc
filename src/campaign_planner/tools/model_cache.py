"""The uplift-model cache on disk, in a format that cannot run code when it is read.

A shop folder is data that colleagues share, unpack from archives and keep in repositories, so nothing
read from ``<shop>/.cache`` may execute: no pickle, no joblib. The cache is one ``.npz`` file holding
plain numeric arrays (read with ``allow_pickle=False``, so an object array planted in it is refused) and
one JSON manifest with every other field. The fitted boosted trees are not kept: planning needs only the
cross-fitted predictions, AIPW terms and scores, which are what the cache stores; a fit read back from the
cache therefore scores no new customers (``PairFit.predict_uplift`` refuses, naming the reason).

Legacy ``uplift-<key>.pkl`` files of older versions are never opened.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from campaign_planner.tools.uplift import UpliftConfig, UpliftModels

# Bump when the layout below changes: files of another format are ignored and refitted.
CACHE_FORMAT = "campaign-planner/uplift-cache/2"
SUFFIX = ".npz"
# Fields that hold fitted estimators: rebuilt never, stored never (they are what a pickle would carry).
_MODEL_FIELDS = frozenset({"fold_models", "encoder"})


class CacheFormatError(ValueError):
    """A cache file that is not a cache of this format for this key; the message says what is wrong."""


def cache_path(root: Path | str, key: str) -> Path:
    """Return the cache file of ``key`` under the shop ``root``."""
    return Path(root) / ".cache" / f"uplift-{key[:32]}{SUFFIX}"


def legacy_pickle_path(root: Path | str, key: str) -> Path:
    """Return where older versions kept a pickled cache for ``key`` (never opened; reported only)."""
    return Path(root) / ".cache" / f"uplift-{key[:32]}.pkl"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not a plain value the uplift cache can store")


def _split(values: dict[str, Any], prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Move numeric arrays of ``values`` into ``arrays`` (keyed ``prefix.name``); return the rest plus
    the array names, ready for JSON."""
    plain: dict[str, Any] = {}
    names: list[str] = []
    for name, value in values.items():
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError(f"{prefix}.{name} is an object array; the uplift cache stores numbers only")
            arrays[f"{prefix}.{name}"] = value
            names.append(name)
        else:
            plain[name] = value
    return {"values": plain, "arrays": names}


def save_uplift_models(path: Path, models: UpliftModels) -> None:
    """Write ``models`` to ``path`` atomically (a reader never sees half a file).

    Refuses (TypeError) a field that is neither a numeric array nor a JSON value, rather than storing it
    in a form that would need code to read back.
    """
    arrays: dict[str, np.ndarray] = {}
    fits = []
    for i, (treatment, outcome, fit) in enumerate(
        (t, o, f) for t, by_outcome in models.fits.items() for o, f in by_outcome.items()
    ):
        values = {f.name: getattr(fit, f.name) for f in fields(fit) if f.name not in _MODEL_FIELDS}
        fits.append({"treatment": treatment, "outcome": outcome, **_split(values, f"fit{i}", arrays)})
    top = {f.name: getattr(models, f.name) for f in fields(models) if f.name not in _MODEL_FIELDS | {"fits", "config"}}
    manifest = {
        "format": CACHE_FORMAT,
        "models": top,
        "config": {f.name: getattr(models.config, f.name) for f in fields(models.config)},
        "encoder": _split(dict(vars(models.encoder)), "encoder", arrays),
        "fits": fits,
    }
    text = json.dumps(manifest, default=_json_default, allow_nan=True)
    arrays["manifest"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".uplift-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_uplift_models(path: Path, key: str, config: UpliftConfig) -> UpliftModels:
    """Return the models cached at ``path`` for ``key`` and ``config``; their fits carry no estimators.

    Reads arrays with ``allow_pickle=False`` and the manifest as JSON, so no code in the file runs.
    Refuses (CacheFormatError) a file of another format, key or config, an object array, a missing array
    and a manifest whose fields do not build the models.
    """
    from campaign_planner.tools.uplift import FeatureEncoder, PairFit, UpliftModels

    try:
        with np.load(path, allow_pickle=False) as archive:
            manifest = json.loads(archive["manifest"].tobytes().decode("utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") != CACHE_FORMAT:
                raise CacheFormatError(f"not an uplift cache of format {CACHE_FORMAT}")

            def rebuild(part: dict[str, Any], prefix: str) -> dict[str, Any]:
                values = dict(part["values"])
                for name in part["arrays"]:
                    values[name] = archive[f"{prefix}.{name}"]
                return values

            top = manifest["models"]
            if top.get("history_sha256") != key:
                raise CacheFormatError("cached models belong to another history, spec, config or code")
            expected = json.loads(
                json.dumps({f.name: getattr(config, f.name) for f in fields(config)}, default=_json_default)
            )
            if manifest["config"] != expected:
                raise CacheFormatError("cached models were fitted with another configuration")
            encoder = FeatureEncoder.__new__(FeatureEncoder)
            vars(encoder).update(rebuild(manifest["encoder"], "encoder"))
            fits: dict[str, dict[str, Any]] = {}
            for i, entry in enumerate(manifest["fits"]):
                fit = PairFit(**rebuild(entry, f"fit{i}"), fold_models=[], encoder=encoder)
                fits.setdefault(str(entry["treatment"]), {})[str(entry["outcome"])] = fit
            return UpliftModels(**top, config=config, fits=fits, encoder=encoder)
    except CacheFormatError:
        raise
    except (KeyError, TypeError, ValueError, OSError, EOFError, AttributeError, zipfile.BadZipFile) as exc:
        # ValueError covers np.load's refusal of pickled (object) arrays and a file that is not an npz.
        raise CacheFormatError(f"{type(exc).__name__}: {exc}") from exc
