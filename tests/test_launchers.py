"""Sweeps through Hydra's launcher plugins: the same command on all cores (Joblib), as Submitit jobs, or on Ray gives
the same sweep.nc as Hydra's basic launcher, each launcher computing its own results.

The launchers come with the `launchers` extra (`pip install -e ".[test,launchers]"`); a launcher's tests are skipped
only when its plugin is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import xarray as xr

from sweeps import N_JOBS, ROOT, check_sweep, launched_with, plugin, run_sweep  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ["sweeps"]   # basic_sweep: the basic launcher's sweep, run once per test session


@pytest.fixture
def ray_temp_dir(tmp_path_factory):
    """A folder for Ray's session files under pytest's temporary folder, unless that path is too long for the Unix
    sockets Ray puts in it (107 bytes with its session and socket names); then a short one in the system's."""
    folder = tmp_path_factory.mktemp("ray")
    temporary = len(str(folder)) > 40
    if temporary:
        folder = Path(tempfile.mkdtemp(prefix="ray-"))
    yield folder
    if temporary:
        shutil.rmtree(folder, ignore_errors=True)


def test_joblib_on_all_cores_gives_the_basic_launchers_sweep(tmp_path, basic_sweep):
    plugin("hydra_plugins.hydra_joblib_launcher")
    result, folder = run_sweep(tmp_path, "joblib", "hydra/launcher=cores")
    ds = check_sweep(result, folder, tmp_path / "cache-joblib")
    assert launched_with(folder).endswith("JoblibLauncher")
    xr.testing.assert_equal(ds, basic_sweep)


def test_submitit_jobs_give_the_basic_launchers_sweep(tmp_path, basic_sweep):
    plugin("hydra_plugins.hydra_submitit_launcher")
    plugin("submitit")
    result, folder = run_sweep(tmp_path, "submitit_local", "hydra/launcher=submitit_local")
    ds = check_sweep(result, folder, tmp_path / "cache-submitit_local")
    assert launched_with(folder).endswith("submitit_launcher.LocalLauncher")
    assert (folder / ".submitit").is_dir()
    xr.testing.assert_equal(ds, basic_sweep)


@pytest.mark.exclusive
def test_ray_on_this_machine_gives_the_basic_launchers_sweep(tmp_path, basic_sweep, ray_temp_dir):
    plugin("hydra_plugins.hydra_ray_launcher")
    plugin("ray")
    # Ray's session files under the test's folder; its authentication token from the environment, not ~/.ray
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    result, folder = run_sweep(tmp_path, "ray", "hydra/launcher=ray_local",
                               f"+hydra.launcher.ray.init._temp_dir={ray_temp_dir}", env=env)
    ds = check_sweep(result, folder, tmp_path / "cache-ray")
    assert launched_with(folder).endswith("RayLauncher")
    assert any(ray_temp_dir.glob("session_*"))
    xr.testing.assert_equal(ds, basic_sweep)


def test_the_slurm_config_makes_the_batch_script_a_cluster_needs(tmp_path):
    """Without a cluster: stand-ins for `srun` and `sbatch` (which keeps the script and refuses the job) show what
    `hydra/launcher=slurm` would submit."""
    plugin("hydra_plugins.hydra_submitit_launcher")
    plugin("submitit")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\ncp "$1" {tmp_path / "job.sh"}\necho "no cluster here" >&2\nexit 1\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result, folder = run_sweep(tmp_path, "slurm", "hydra/launcher=slurm", "hydra.launcher.partition=compute",
                               "hydra.launcher.array_parallelism=3", env=env)
    assert result.returncode != 0 and "no cluster here" in result.stderr
    script = (tmp_path / "job.sh").read_text()
    for line in ("--partition=compute", "--time=60", "--cpus-per-task=1", "--mem=2GB", f"--array=0-{N_JOBS - 1}%3"):
        assert f"#SBATCH {line}\n" in script, script
    assert f"{sys.executable} -u -m submitit.core._submit {folder}/.submitit/" in script   # this Python, on the nodes


@pytest.fixture(scope="module")
def run_module():
    """run.py imported (it registers the config schema that configs/config.yaml starts from)."""
    spec = importlib.util.spec_from_file_location("run_for_launcher_tests", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, module, target, overrides", [
    ("cores", "hydra_plugins.hydra_joblib_launcher", "JoblibLauncher", []),
    ("slurm", "hydra_plugins.hydra_submitit_launcher", "SlurmLauncher", ["hydra.launcher.partition=compute"]),
    ("ray_local", "hydra_plugins.hydra_ray_launcher", "RayLauncher", []),
], ids=["cores", "slurm", "ray_local"])
def test_the_shipped_launcher_configs_extend_their_plugins(run_module, name, module, target, overrides):
    plugin(module)
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={name}", *overrides], return_hydra_config=True)
        launcher = instantiate(cfg.hydra.launcher)   # fails on a field the plugin does not have
    assert type(launcher).__name__ == target
    if name == "cores":
        assert launcher.joblib["n_jobs"] == -1
    if name == "slurm":   # the placeholders a user sets for their cluster, as the launcher passes them to Submitit
        assert launcher.params["partition"] == "compute"
        assert {"timeout_min", "cpus_per_task", "mem_gb", "array_parallelism"} <= set(launcher.params)
        assert launcher.params["submitit_folder"].endswith(".submitit/%j")
    if name == "ray_local":
        assert launcher.ray_cfg.init.address is None and launcher.ray_cfg.remote.num_cpus == 1
