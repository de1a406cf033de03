"""The command line end to end: `python run.py ...` as a user runs it, good and bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
import yaml

from simulator import __version__

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORLD = ROOT / "scenarios" / "worlds" / "default"
FIGURES = ("flows_by_pathway.png", "trapped.png", "deaths.png")

pytestmark = pytest.mark.slow


def run_cli(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    """Run `python run.py <overrides>` from the project folder, writing its run folder under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *overrides, f"hydra.run.dir={tmp_path / 'run'}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def corrupt_world(tmp_path: Path) -> Path:
    """A copy of the default world with farm_dependence = 1.5 in row 2 (Dry Plateau) of regions.csv."""
    folder = tmp_path / "bad_world"
    shutil.copytree(DEFAULT_WORLD, folder)
    path = folder / "regions.csv"
    text = path.read_text(encoding="utf-8")
    old = "Dry Plateau,origin,0.25,5.5,80,120,0.9,1200,0.80,"
    assert old in text
    path.write_text(text.replace(old, "Dry Plateau,origin,0.25,5.5,80,120,0.9,1200,1.5,"), encoding="utf-8")
    return folder


def test_a_tiny_run_writes_results_and_figures(tmp_path):
    result = run_cli(tmp_path, "scenario=baseline", "n_households=200", "years=1", "seed=3")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    run_dir = tmp_path / "run"
    assert (run_dir / "results.nc").is_file()
    assert str(run_dir / "results.nc") in result.stdout
    for name in FIGURES:
        path = run_dir / name
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    with xr.open_dataset(run_dir / "results.nc", engine="netcdf4") as ds:
        ds = ds.load()
    assert ds["emigrants"].dims == ("time", "origin", "pathway")
    assert {"time", "origin", "pathway"} <= set(ds.dims)
    assert ds.sizes["time"] == 12
    for name in ("deaths", "trapped", "population", "remittances"):
        assert name in ds.data_vars and ds[name].dims[:2] == ("time", "origin"), name
    assert ds.attrs["scenario"] == "baseline"
    assert int(ds.attrs["seed"]) == 3
    assert ds.attrs["simulator_version"] == __version__
    config = yaml.safe_load(ds.attrs["config"])
    assert config["n_households"] == 200 and config["seed"] == 3 and config["scenario"] == "baseline"
    assert config["model"]["irregular"]["death_probability"] == 0.01
    assert int(ds["population"].isel(time=0).sum()) > 0


BAD_INPUTS = [
    pytest.param(["scenario=baseline", "model.regular.quota_per_1000_per_yr=1"],
                 ["quota_per_1000_per_yr"], False, id="misspelt-key"),
    pytest.param(["scenario=baseline", "model.regular.quota_per_1000_per_year=-1"],
                 ["model.regular.quota_per_1000_per_year = -1", "[0, inf]"], True, id="negative-quota"),
    pytest.param(["scenario=baseline", "model.irregular.death_probability=1.5"],
                 ["model.irregular.death_probability = 1.5", "[0, 1]"], True, id="probability-above-1"),
    pytest.param(["scenario=baseline", "n_households=0"],
                 ["n_households = 0", "at least 1"], True, id="zero-households"),
    pytest.param(["scenario=no_such_scenario"],
                 ["scenario = 'no_such_scenario'", "baseline"], True, id="unknown-scenario"),
    pytest.param(["scenario=baseline", "world={bad_world}"],
                 ["regions.csv row 2: farm_dependence = '1.5'", "[0, 1]"], True, id="malformed-world"),
]


@pytest.mark.parametrize("overrides,expected,ours", BAD_INPUTS)
def test_bad_input_stops_with_one_clear_message(tmp_path, overrides, expected, ours):
    overrides = [o.format(bad_world=corrupt_world(tmp_path)) if "{bad_world}" in o else o for o in overrides]
    size = [] if any(o.startswith("n_households=") for o in overrides) else ["n_households=200"]
    result = run_cli(tmp_path, "years=1", *size, *overrides)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    for fragment in expected:
        assert fragment in result.stderr, (fragment, result.stderr)
    if ours:   # the simulator's own message: exactly one line
        assert lines == [lines[0]] and lines[0].startswith("error: "), result.stderr
    else:      # Hydra's message: the key is named in its first line
        assert expected[0] in lines[0], result.stderr
    assert not list(tmp_path.rglob("results.nc"))
    assert not list(tmp_path.rglob("*.png"))


def test_bad_input_does_not_delete_an_existing_folder(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("keep me", encoding="utf-8")
    result = run_cli(tmp_path, "scenario=baseline", "seed=-1")
    assert result.returncode != 0 and "seed = -1" in result.stderr
    assert (run_dir / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_intervention_parameters_that_are_not_a_mapping_stop_without_a_traceback(tmp_path):
    scenario = tmp_path / "bad_scenario.yaml"
    scenario.write_text("interventions:\n  adaptation: 0.5\n", encoding="utf-8")
    result = run_cli(tmp_path, f"scenario={scenario}", "n_households=200", "years=1")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "adaptation" in result.stderr
    assert not list(tmp_path.rglob("results.nc"))
