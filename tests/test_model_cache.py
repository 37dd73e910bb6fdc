"""The uplift cache cannot run code: planted pickles (old name) and crafted files (new name) are not
executed, and planning refits past them."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from campaign_planner import cli
from campaign_planner.data.shop import load_shop
from campaign_planner.tools import model_cache
from campaign_planner.tools.uplift import (
    ForecasterDataError,
    UpliftConfig,
    history_fingerprint,
    load_or_fit_uplift_models,
)
from tests.fake_planner_model import competent_model
from uplift_synthetic import make_campaign, make_shop

BRIEF = "Summer dress launch for women 25-40, $50k over 4 weeks, email + Instagram + search, 15% off."


class _Payload:
    """Unpickling this touches ``marker``: proof that a cache file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant_pickle(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(_Payload(marker)))


def _plant_crafted_npz(path: Path, key: str, marker: Path) -> None:
    """A file under the new name with a manifest that passes the key check and an object (pickled)
    array where the row positions belong."""
    manifest = {
        "format": model_cache.CACHE_FORMAT,
        "models": {"history_sha256": key},
        "config": {k: v for k, v in vars(UpliftConfig()).items()},
        "encoder": {"values": {}, "arrays": []},
        "fits": [{"treatment": "t", "outcome": "conversion", "values": {}, "arrays": ["rows"]}],
    }
    manifest["config"]["candidates"] = list(manifest["config"]["candidates"])
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        np.savez(out, manifest=np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8), **{"fit0.rows": payload})


def test_pickled_payload_really_runs_when_unpickled(tmp_path: Path) -> None:
    # The control: the payload is live, so its absence below means the cache did not run it.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


def test_planted_files_are_neither_loaded_nor_run(tmp_path: Path) -> None:
    campaign = make_campaign(3_000, seed=5)
    shop = make_shop(tmp_path, campaign)
    key = history_fingerprint(campaign.history, campaign.spec, UpliftConfig())
    marker = tmp_path / "planted_pickle_executed"
    _plant_pickle(model_cache.legacy_pickle_path(tmp_path, key), marker)
    _plant_crafted_npz(model_cache.cache_path(tmp_path, key), key, marker)
    models, info = load_or_fit_uplift_models(shop)
    assert not marker.exists()
    assert info["cache"] == "miss" and "unreadable" in info["cache_problem"]
    assert info["legacy_pickle_ignored"] is True
    # The crafted file was replaced by a real cache, which reads back without the fitted estimators.
    again, info = load_or_fit_uplift_models(shop)
    assert info["cache"] == "hit" and not marker.exists()
    fit, cached = models.fits["Email promo"]["conversion"], again.fits["Email promo"]["conversion"]
    np.testing.assert_array_equal(fit.psi1, cached.psi1)
    np.testing.assert_array_equal(fit.rows, cached.rows)
    assert cached.scores == fit.scores or json.dumps(cached.scores) == json.dumps(fit.scores)
    assert again.encoder.categories == models.encoder.categories
    with pytest.raises(ForecasterDataError, match="model cache"):
        cached.predict_uplift(campaign.history.head(5))


def test_a_cache_for_another_config_is_refused(tmp_path: Path) -> None:
    campaign = make_campaign(3_000, seed=6)
    shop = make_shop(tmp_path, campaign)
    _, info = load_or_fit_uplift_models(shop)
    with pytest.raises(model_cache.CacheFormatError, match="configuration"):
        model_cache.load_uplift_models(Path(info["path"]), info["key"], UpliftConfig(folds=4))
    with pytest.raises(model_cache.CacheFormatError, match="another history"):
        model_cache.load_uplift_models(Path(info["path"]), "0" * 64, UpliftConfig())


def test_planning_on_a_shop_with_a_planted_pickle_does_not_run_it(
    demo_shop_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_dir = tmp_path / "shared-shop"
    shutil.copytree(demo_shop_dir, shop_dir)
    shop = load_shop(shop_dir)
    key = history_fingerprint(shop.campaign_history, shop.campaign_spec, UpliftConfig())
    marker = tmp_path / "planted_pickle_executed"
    _plant_pickle(model_cache.legacy_pickle_path(shop_dir, key), marker)
    _plant_crafted_npz(model_cache.cache_path(shop_dir, key), key, marker)
    handle = SimpleNamespace(model=competent_model(), backend="fake", model_name="scripted-fake")
    monkeypatch.setattr(cli, "_model_handle", lambda settings: handle)
    monkeypatch.setenv("CAMPAIGN_PLANNER_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(cli.app, ["plan", BRIEF, "--shop", str(shop_dir), "--format", "json",
                                          "--out", str(tmp_path / "plan.json")])
    assert result.exit_code == 0, result.output
    print(f"planted_pickle_executed={int(marker.exists())}")
    assert not marker.exists()
    assert json.loads((tmp_path / "plan.json").read_text())["forecast"]
