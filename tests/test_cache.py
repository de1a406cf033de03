"""The result cache: entries are verified on every read, damaged ones are computed again, and the key covers the
model's code."""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from joblib import Parallel, delayed

import simulator.experiments.comparison as comparison
from simulator.experiments.cache import INDEX, PACKAGE, ResultCache, code_fingerprint
from simulator.experiments.comparison import compare, run_configs, run_key
from simulator.config import RunConfig
from simulator.errors import ConfigError, WorldError

SMALL = RunConfig(n_households=200, years=1, progress=False)


@pytest.fixture
def dataset() -> xr.Dataset:
    return xr.Dataset({"deaths": ("time", np.arange(12.0))}, attrs={"seed": 0})


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def tamper(path: Path) -> None:
    """Change the stored numbers and write the file again, as a hand edit would: a valid NetCDF file."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        altered = ds.load()
    altered["deaths"] = altered["deaths"] + 100_000
    path.unlink()
    altered.to_netcdf(path, engine="netcdf4")


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def drop_index(path: Path) -> None:
    (path.parent / INDEX).unlink()


def garble_index(path: Path) -> None:
    (path.parent / INDEX).write_text("{not json", encoding="utf-8")


@pytest.mark.parametrize("damage", [truncate, empty, tamper, flip_one_byte, drop_index, garble_index])
def test_a_damaged_entry_is_not_used(tmp_path, dataset, damage, capsys):
    cache = ResultCache(tmp_path)
    path = cache.put("k", dataset)
    assert cache.get("k") == path
    damage(path)
    assert cache.get("k") is None
    assert "cached run" in capsys.readouterr().err
    assert cache.put("k", dataset) == path and cache.get("k") == path   # computed again, the entry is whole


def test_an_absent_entry_is_quietly_absent(tmp_path, capsys):
    assert ResultCache(tmp_path).get("nothing") is None
    assert capsys.readouterr().err == ""


def test_the_index_records_checksum_size_and_code(tmp_path, dataset):
    path = ResultCache(tmp_path).put("k", dataset)
    entry = json.loads((path.parent / INDEX).read_text(encoding="utf-8"))
    assert entry["size"] == path.stat().st_size and len(entry["sha256"]) == 64
    assert entry["code"] == code_fingerprint()
    assert not list(tmp_path.rglob("*.tmp"))   # atomic writes leave no temporary files


def test_fingerprint_covers_model_code_and_not_presentation(tmp_path):
    copy = tmp_path / "simulator"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(copy) == code_fingerprint()
    report = copy / "present" / "report.py"
    report.write_text(report.read_text(encoding="utf-8") + "\n# a presentation change\n", encoding="utf-8")
    assert code_fingerprint.__wrapped__(copy) == code_fingerprint()
    rule = copy / "model" / "pathways.py"
    rule.write_text(rule.read_text(encoding="utf-8") + "\n# a rule changed\n", encoding="utf-8")
    assert code_fingerprint.__wrapped__(copy) != code_fingerprint()


def test_the_run_key_changes_with_the_code(monkeypatch):
    cfg = run_configs(SMALL, ["baseline"], [0])[0]
    before = run_key(cfg)
    monkeypatch.setattr(comparison, "code_fingerprint", lambda: "0" * 16)
    assert run_key(cfg) != before


@pytest.mark.parametrize("damage", [truncate, tamper])
def test_a_comparison_recomputes_a_damaged_entry_with_a_warning(tmp_path, damage, capsys):
    clean = compare(SMALL, ["baseline", "obj5_more_places"], seeds=[0, 1], cache_dir=tmp_path / "a", workers=1)
    entries = sorted((tmp_path / "a").glob("*/results.nc"))
    damage(entries[1])
    capsys.readouterr()
    again = compare(SMALL, ["baseline", "obj5_more_places"], seeds=[0, 1], cache_dir=tmp_path / "a", workers=1)
    assert f"cached run {entries[1].parent}" in capsys.readouterr().err
    xr.testing.assert_identical(again, clean)


def raise_config_error(field: str) -> None:
    raise ConfigError(field, 1.5, "a number in [0, 1]")


def test_errors_cross_process_boundaries_intact():
    for error in (ConfigError("model.x", [1, "a"], "a list"), WorldError("regions.csv row 2: bad")):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)
    with pytest.raises(ConfigError, match=r"model\.irregular\.death_probability = 1\.5 is not allowed"):
        Parallel(n_jobs=2)(delayed(raise_config_error)(f) for f in ["model.irregular.death_probability"] * 2)


def test_every_run_is_checked_before_any_starts(tmp_path):
    """A world whose district a package names is renamed: the comparison stops before computing anything."""
    from simulator.world.regions import one_city_world_path
    world = tmp_path / "renamed"
    shutil.copytree(one_city_world_path(), world)
    for table in world.glob("*.csv"):
        table.write_text(table.read_text(encoding="utf-8").replace("Dry Plateau", "Dry Highlands"), encoding="utf-8")
    package = tmp_path / "dry_plateau_adaptation.yaml"
    package.write_text("description: Adaptation in Dry Plateau.\ninterventions:\n  adaptation:\n"
                       "    regions: [Dry Plateau]\n", encoding="utf-8")
    cfg = dataclasses.replace(SMALL, world=str(world))
    with pytest.raises(ConfigError, match="Dry Plateau"):
        compare(cfg, ["baseline", str(package)], seeds=[0, 1], cache_dir=tmp_path / "cache", workers=2)
    assert not list((tmp_path / "cache").glob("*/results.nc"))
