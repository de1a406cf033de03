"""Outputs: the dataset contract, metadata, atomic writes, and reading a folder of results back."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator import MigrationModel, __version__
from simulator.config import RunConfig
from simulator.experiments.comparison import compare, load_results
from simulator.model.outputs import VARIABLES, write_netcdf


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return MigrationModel(n_households=600, years=2, rng=9, scenario="test", config="seed: 9\n").run()


def test_contract_dims_and_variables(ds):
    assert ds["emigrants"].dims == ("time", "origin", "destination", "pathway")
    assert ds["destination"].values.tolist() == ["Capital", "Port City", "Gulfland", "Northland", "Neighbourland"]
    for name in ("deaths", "trapped", "population", "remittances"):
        assert ds[name].dims == ("time", "origin")
    assert {"regular", "irregular"} <= set(ds.pathway.values.tolist())
    assert ds.sizes["time"] == 24
    assert str(ds["time"].values[0])[:10] == "2025-01-01" and ds["time"].attrs["standard_name"] == "time"
    assert ds.sel(time="2026").sizes["time"] == 12 and ds["month"].values.tolist() == list(range(24))
    assert ds["year"].values[-1] == 2026


def test_every_variable_has_long_name_and_units(ds):
    for name in ds.data_vars:
        assert ds[name].attrs.get("long_name") and ds[name].attrs.get("units"), name
    assert set(ds.data_vars) == set(VARIABLES)


def test_metadata_carries_config_seed_scenario_version(ds):
    assert ds.attrs["seed"] == 9 and ds.attrs["scenario"] == "test"
    assert ds.attrs["simulator_version"] == __version__
    assert ds.attrs["config"] == "seed: 9\n"


def test_written_file_round_trips(ds, tmp_path):
    path = write_netcdf(ds, tmp_path / "run" / "results.nc")
    back = xr.open_dataset(path, engine="netcdf4").load()
    xr.testing.assert_identical(back, ds)
    assert [p.name for p in path.parent.iterdir()] == ["results.nc"]   # no temporary file left


def test_written_files_are_readable_as_if_created_in_place(ds, tmp_path):
    """The temporary file of an atomic write has mode 0600; the output renamed from it gets 0666 less the umask,
    like a file `open` creates, so colleagues sharing the folder can read it (the cache's index as well)."""
    from simulator.experiments.cache import write_json_atomic
    from simulator.files import UMASK
    expected = 0o666 & ~UMASK
    assert stat.S_IMODE(write_netcdf(ds, tmp_path / "results.nc").stat().st_mode) == expected
    write_json_atomic({"a": 1}, tmp_path / "entry.json")
    assert stat.S_IMODE((tmp_path / "entry.json").stat().st_mode) == expected
    (tmp_path / "own.txt").write_text("x")
    assert stat.S_IMODE((tmp_path / "own.txt").stat().st_mode) == expected


def test_failed_write_leaves_nothing(ds, tmp_path):
    bad = ds.assign_attrs(unstorable={"a": 1})   # NetCDF attributes cannot hold a dict
    with pytest.raises(Exception):
        write_netcdf(bad, tmp_path / "results.nc")
    assert list(tmp_path.iterdir()) == []


def test_load_results_combines_scenarios_and_seeds(tmp_path):
    for scenario in ("a", "b"):
        for seed in (1, 2):
            run = MigrationModel(n_households=200, years=1, rng=seed, scenario=scenario).run()
            write_netcdf(run, tmp_path / f"{scenario}_{seed}" / "results.nc")
    combined = load_results(tmp_path)
    assert combined["emigrants"].dims[:2] == ("scenario", "seed") or set(combined["emigrants"].dims) >= {
        "scenario", "seed", "time", "origin", "destination", "pathway"}
    assert combined.sizes["scenario"] == 2 and combined.sizes["seed"] == 2
    one = MigrationModel(n_households=200, years=1, rng=2, scenario="b").run()
    np.testing.assert_array_equal(combined["emigrants"].sel(scenario="b", seed=2).transpose(*one.emigrants.dims),
                                  one.emigrants)


def test_load_results_on_an_empty_folder_fails(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results.nc"):
        load_results(tmp_path)


def test_config_attribute_is_text(ds):
    json.dumps(dict(ds.attrs))   # every attribute is plain text or a number


def test_load_results_combines_runs_with_different_interventions(tmp_path):
    from simulator import build_interventions
    write_netcdf(MigrationModel(n_households=200, years=1, rng=0, scenario="base").run(), tmp_path / "a" / "results.nc")
    policy = MigrationModel(n_households=200, years=1, rng=0, scenario="more",
                            interventions=build_interventions({"quota_expansion": {}})).run()
    write_netcdf(policy, tmp_path / "b" / "results.nc")
    combined = load_results(tmp_path)
    assert combined["intervention"].values.tolist() == ["quota_expansion"]
    assert float(combined.intervention_cost.sel(scenario="base").sum()) == 0


def cf_errors(path: Path, tmp_path: Path) -> tuple[int, str]:
    """The IOOS compliance checker's errors (its high-priority failures) for `path` under CF-1.8, and its report."""
    checker = Path(sys.executable).parent / "compliance-checker"
    out = tmp_path / f"{path.stem}_cf.json"
    done = subprocess.run([str(checker), "--test=cf:1.8", "--format=json", "-o", str(out), str(path)],
                          capture_output=True, text=True, timeout=600)
    assert out.is_file(), done.stdout + done.stderr
    text = subprocess.run([str(checker), "--test=cf:1.8", str(path)], capture_output=True, text=True,
                          timeout=600).stdout
    return json.loads(out.read_text())["cf:1.8"]["high_count"], text


def test_results_and_comparison_pass_the_cf_checker(ds, tmp_path):
    """`compliance-checker --test=cf:1.8` finds 0 errors in a baseline run's results.nc and a comparison.nc (the
    written comparison keeps its time coordinate: a year is selected by date)."""
    run = write_netcdf(MigrationModel(n_households=300, years=1, rng=0, scenario="baseline").run(),
                       tmp_path / "run" / "results.nc")
    comparison = compare(RunConfig(n_households=200, years=2), ["baseline", "obj5_more_places"], [0, 1],
                         tmp_path / "cache", workers=1)
    both = write_netcdf(comparison, tmp_path / "comparison" / "comparison.nc")
    for path in (run, both):
        errors, report = cf_errors(path, tmp_path)
        assert errors == 0, report
    back = xr.open_dataset(both, engine="netcdf4")
    assert back.sel(time="2026").sizes["time"] == 12 and back["seed"].dtype == np.int32
    assert all(back[name].attrs.get("long_name") for name in back.coords)
    assert back.attrs["history"] and back.attrs["source"]


def test_a_tally_lands_in_its_cells_and_a_wrong_pathway_is_refused():
    """`Recorder.count` adds each origin's households (or weights) where `np.bincount` would, by pathway too, and
    refuses a pathway that the variable does not have instead of writing into other cells."""
    from simulator.model.outputs import Recorder
    rec = Recorder(3, ("a", "b", "c"), (), ("city",))
    origin = np.array([2, 0, 2], np.int16)
    rec.count("trapped", 1, origin)
    rec.count("trapped_wanting", 1, origin, 2, weights=np.array([0.5, 1.0, 2.0], np.float32))
    assert rec["trapped"][1].tolist() == [1, 0, 2]
    assert rec["trapped_wanting"][1].tolist() == [[0, 0, 1.0], [0, 0, 0], [0, 0, 2.5]]
    assert rec["trapped"].sum() == 3 and rec["trapped_wanting"].sum() == 3.5
    for name, pathway in (("trapped", 0), ("trapped_wanting", None), ("trapped_wanting", 3), ("trapped_wanting", -1)):
        with pytest.raises(IndexError, match="pathway"):
            rec.count(name, 1, origin, pathway)
