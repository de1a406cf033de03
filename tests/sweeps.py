"""A small sweep run through `python run.py -m` with any launcher, checked, and the same sweep run by Hydra's basic
launcher to compare it with: shared by the launcher tests (test_launchers.py) and the cluster tests
(test_clusters.py).

A test module uses it with `pytest_plugins = ["sweeps"]` (which makes `basic_sweep` one fixture for the whole test
session, run once) and imports the functions it calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
import yaml

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ("n_households=200", "years=1", "scenario=baseline,obj5_more_places", "seed=0,1", "figures=false")
N_JOBS = 4


def plugin(module: str) -> None:
    """Skip unless the launcher plugin (and what it needs) can be imported."""
    pytest.importorskip(module, reason=f"{module} is not installed: pip install -e '.[launchers]'")


def run_sweep(tmp_path: Path, name: str, *launcher: str, env: dict[str, str] | None = None
              ) -> tuple[subprocess.CompletedProcess, Path]:
    """`python run.py -m <launcher> <SWEEP>` from the project folder, into tmp_path/name with its own result cache."""
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    environment.update({"MPLBACKEND": "Agg", "RAY_USAGE_STATS_ENABLED": "0", **(env or {})})
    folder = tmp_path / name
    cmd = [sys.executable, "run.py", "-m", *launcher, *SWEEP, f"hydra.sweep.dir={folder}",
           f"compare.cache_dir={tmp_path / f'cache-{name}'}"]
    result = subprocess.run(cmd, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    return result, folder


def check_sweep(result: subprocess.CompletedProcess, folder: Path, cache: Path) -> xr.Dataset:
    """The sweep finished, wrote its report once, computed every run into its own cache; return its sweep.nc."""
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert (folder / "sweep.nc").is_file()
    assert (folder / "report.md").is_file()
    assert result.stdout.count("sweep.nc") == 1, result.stdout   # the callback ran once, in the launching process
    assert len(list(folder.glob("*/results.nc"))) == N_JOBS
    assert len(list(cache.glob("*/results.nc"))) == N_JOBS     # the absolute cache path reached every worker
    with xr.open_dataset(folder / "sweep.nc", engine="netcdf4") as ds:
        return ds.load()


def launched_with(folder: Path) -> str:
    """The launcher's class, as recorded in the sweep's multirun.yaml."""
    return yaml.safe_load((folder / "multirun.yaml").read_text())["hydra"]["launcher"]["_target_"]


@pytest.fixture(scope="session")
def basic_sweep(tmp_path_factory) -> xr.Dataset:
    """The sweep run by Hydra's basic launcher (one job after another in the launching process)."""
    tmp_path = tmp_path_factory.mktemp("basic")
    result, folder = run_sweep(tmp_path, "basic")
    ds = check_sweep(result, folder, tmp_path / "cache-basic")
    assert dict(ds.sizes)["scenario"] == 2 and dict(ds.sizes)["seed"] == 2
    return ds
