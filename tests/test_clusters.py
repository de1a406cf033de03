"""Sweeps on real clusters started on this machine give the basic launcher's sweep.nc: a Ray cluster of two nodes
(`ray start`) joined with hydra/launcher=ray_cluster, and a single-node Slurm cluster running the sweep as a job array
through hydra/launcher=slurm (Submitit).

The Ray test starts its cluster and stops it afterwards, ending only the processes it started (`ray stop` would end
every Ray instance on the machine). The Slurm test uses the cluster that .ci/run starts with .ci/slurm_up.sh (run that
script as root to try the test by hand, and .ci/slurm_down.sh to stop it). Where an engine is not installed or cannot
be started, its test is skipped and says why; with CI=true (as .ci/run sets) it fails instead, so that CI cannot skip
it silently.
"""

from __future__ import annotations

import importlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import xarray as xr

from sweeps import N_JOBS, ROOT, check_sweep, launched_with, run_sweep  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ["sweeps"]   # basic_sweep: the basic launcher's sweep, run once per test session

CI = os.environ.get("CI", "").lower() == "true"
PARTITION = "debug"           # the partition of .ci/slurm_up.sh's cluster
SLURM_UP = "start a single-node cluster with `.ci/slurm_up.sh` (as root; .ci/run does)"


def unavailable(reason: str) -> NoReturn:
    """Skip the test, saying why; fail it under CI, which must run it."""
    if CI:
        pytest.fail(f"{reason} (CI=true: the cluster tests must run, not be skipped)", pytrace=False)
    pytest.skip(reason)


def require(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        unavailable(f"{module} is not installed: pip install -e '.[launchers]'")


def free_ports(n: int) -> list[int]:
    """`n` different TCP ports that are free on this machine now, outside the ports Ray keeps for its workers."""
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            sockets.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sockets[-1].bind(("127.0.0.1", 0))
            port = sockets[-1].getsockname()[1]
            if not 10002 <= port <= 19999:   # Ray's default range of worker ports
                ports.append(port)
        return ports
    finally:
        for s in sockets:
            s.close()


# --- Ray ------------------------------------------------------------------------------------------------------------


@dataclass
class RayNode:
    """A node started by `ray start --block` (in a session of its own) with its session files in `temp_dir`."""
    process: subprocess.Popen
    temp_dir: Path

    @property
    def log(self) -> Path:
        return self.temp_dir / "ray-start.log"

    def runs(self, sweep: Path) -> list[str]:
        """The runs of `sweep` that this node's Ray workers made, from the lines they printed into its session logs."""
        lines = (line for path in self.temp_dir.glob("session_latest/logs/worker-*.out")
                 for line in path.read_text(errors="replace").splitlines())
        return [Path(line[len("wrote "):]).parent.name for line in lines
                if line.startswith(f"wrote {sweep}/") and line.endswith("/results.nc")]


@dataclass
class RayCluster:
    address: str
    env: dict[str, str]   # what the launching command needs to join it
    nodes: list[RayNode]


def start_ray_node(ray: Path, args: list[str], env: dict[str, str]) -> RayNode:
    """`ray start --block <args>` from the project folder, as the README says; returns when the node has joined."""
    node = RayNode(process=None, temp_dir=Path(tempfile.mkdtemp(prefix="ray-")))   # short: Ray's socket paths
    with node.log.open("w") as log:
        node.process = subprocess.Popen([str(ray), "start", "--block", *args, f"--temp-dir={node.temp_dir}"],
                                        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in node.log.read_text(errors="replace"):   # printed once the node is registered
        if node.process.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return node


def stop_ray_node(node: RayNode) -> None:
    """End the node's processes: SIGTERM to `ray start --block` makes it stop them; then anything left in its
    process group (its own session) is killed."""
    if node.process.poll() is None:
        node.process.send_signal(signal.SIGTERM)
        try:
            node.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(node.process.pid, 0)   # raises if no process of the group is left
    except ProcessLookupError:
        return
    os.killpg(node.process.pid, signal.SIGKILL)
    node.process.wait(timeout=30)


@pytest.fixture(scope="session")
def ray_command() -> Path:
    """Ray's `ray` command of this Python (the nodes run the Python of the `ray start` that started them); session
    scoped, so that a test requesting it before the basic sweep is skipped before that sweep runs."""
    require("hydra_plugins.hydra_ray_launcher")
    require("ray")
    ray = Path(sys.executable).with_name("ray")
    if not ray.is_file():
        unavailable(f"Ray's command `ray` is not next to {sys.executable}: pip install -e '.[launchers]'")
    return ray


@pytest.fixture
def ray_cluster(ray_command):
    """A Ray cluster of two nodes on this machine, one core each: `ray start --head` on a free port, then a second
    `ray start --address=127.0.0.1:PORT`. Its access token is in the environment (not ~/.ray), its session files in
    two short temporary folders; the nodes are stopped afterwards, whatever the test's outcome."""
    access = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, **access}
    port, client_port, head_agent_port, node_agent_port = free_ports(4)
    nodes: list[RayNode] = []
    try:
        # free ports for what would otherwise take fixed ones (and clash with another Ray instance on the machine)
        head = ["--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                f"--ray-client-server-port={client_port}", f"--dashboard-agent-listen-port={head_agent_port}"]
        second = [f"--address=127.0.0.1:{port}", "--num-cpus=1", f"--dashboard-agent-listen-port={node_agent_port}"]
        for role, args in (("head", head), ("second", second)):
            nodes.append(start_ray_node(ray_command, args, env))
            if "Ray runtime started" not in nodes[-1].log.read_text(errors="replace"):
                tail = "\n".join(nodes[-1].log.read_text(errors="replace").splitlines()[-15:])
                unavailable(f"the {role} node of a Ray cluster could not be started here (ray start {' '.join(args)}):"
                            f"\n{tail}")
        yield RayCluster(address=f"127.0.0.1:{port}", env=access, nodes=nodes)
    finally:
        for node in reversed(nodes):
            stop_ray_node(node)
            shutil.rmtree(node.temp_dir, ignore_errors=True)


@pytest.mark.exclusive
def test_a_ray_cluster_of_two_nodes_gives_the_basic_launchers_sweep(ray_command, basic_sweep, ray_cluster, tmp_path):
    result, folder = run_sweep(tmp_path, "ray_cluster", "hydra/launcher=ray_cluster",
                               f"hydra.launcher.ray.init.address={ray_cluster.address}", env=ray_cluster.env)
    ds = check_sweep(result, folder, tmp_path / "cache-ray_cluster")
    assert launched_with(folder).endswith("RayLauncher")
    # every job ran once, on a node of the cluster (each node keeps its own workers' logs), and both nodes ran some
    runs = sorted(p.parent.name for p in folder.glob("*/results.nc"))
    deadline = time.monotonic() + 10   # the workers' output reaches their log files shortly after the jobs end
    while True:
        by_node = [node.runs(folder) for node in ray_cluster.nodes]
        if sum(map(len, by_node)) >= N_JOBS or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sorted(run for node in by_node for run in node) == runs, by_node
    assert all(by_node), by_node
    xr.testing.assert_equal(ds, basic_sweep)


def test_the_ray_cluster_config_needs_the_clusters_address(tmp_path):
    """Without an address, a sweep with hydra/launcher=ray_cluster stops at once, naming the key, instead of
    starting a Ray instance of its own."""
    require("hydra_plugins.hydra_ray_launcher")
    result, folder = run_sweep(tmp_path, "no_address", "hydra/launcher=ray_cluster")
    assert result.returncode != 0
    assert "Missing mandatory value: hydra.launcher.ray.init.address" in result.stderr, result.stderr[-3000:]
    assert not folder.exists()
    assert "Initializing ray" not in result.stdout + result.stderr


# --- Slurm ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def slurm_partition() -> str:
    """The `debug` partition of a running Slurm cluster whose nodes can take jobs (session scoped, so that a test
    requesting it before the basic sweep is skipped before that sweep runs)."""
    require("hydra_plugins.hydra_submitit_launcher")
    require("submitit")
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        unavailable(f"Slurm is not installed here (no sinfo or sbatch on PATH): {SLURM_UP}")
    try:
        info = subprocess.run(["sinfo", "--noheader", f"--partition={PARTITION}", "--format=%a %T"],
                              capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        unavailable(f"no Slurm controller answers within 30 s: {SLURM_UP}")
    if info.returncode != 0 or not info.stdout.strip():
        why = info.stderr.strip() or f"no partition {PARTITION}"
        unavailable(f"no Slurm cluster with a `{PARTITION}` partition answers (sinfo: {why}): {SLURM_UP}")
    working = ("idle", "mixed", "allocated", "completing")
    usable = [line for line in info.stdout.splitlines()
              if line.startswith("up ") and line.split()[1].rstrip("*~#") in working]
    if not usable:
        unavailable(f"the `{PARTITION}` partition has no node that can take jobs (sinfo: {info.stdout.strip()})")
    return PARTITION


def slurm_tasks(array: str) -> list[dict[str, str]]:
    """The tasks of a job array, as the controller reports them (`scontrol show job`)."""
    shown = subprocess.run(["scontrol", "--oneliner", "show", "job", array], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0, shown.stderr
    return [dict(field.split("=", 1) for field in line.split() if "=" in field) for line in shown.stdout.splitlines()]


@pytest.mark.exclusive
def test_a_slurm_cluster_gives_the_basic_launchers_sweep(slurm_partition, basic_sweep, tmp_path):
    folder = tmp_path / "slurm"
    try:
        result, folder = run_sweep(tmp_path, "slurm", "hydra/launcher=slurm",
                                   f"hydra.launcher.partition={slurm_partition}", "hydra.launcher.timeout_min=5",
                                   "hydra.launcher.mem_gb=1", "hydra.launcher.cpus_per_task=1")
    finally:   # a sweep stopped half-way leaves no jobs on the cluster: cancel its arrays, by their ids
        arrays = [p.parent.name for p in folder.glob(".submitit/*/*_submission.sh")]
        if arrays and shutil.which("scancel"):
            subprocess.run(["scancel", *arrays], capture_output=True, timeout=30)
    ds = check_sweep(result, folder, tmp_path / "cache-slurm")
    assert launched_with(folder).endswith("SlurmLauncher")
    # one job array, for the partition, running this Python on the node
    assert len(arrays) == 1, arrays
    script = (folder / ".submitit" / arrays[0] / f"{arrays[0]}_submission.sh").read_text()
    assert f"#SBATCH --partition={slurm_partition}\n" in script, script
    assert f"#SBATCH --array=0-{N_JOBS - 1}" in script, script
    assert f" {sys.executable} -u -m submitit.core._submit " in script, script
    # Slurm ran every task to completion in that partition, and each task's output names the run it made
    tasks = slurm_tasks(arrays[0])
    assert len(tasks) == N_JOBS, tasks
    assert {(t["JobState"], t["Partition"]) for t in tasks} == {("COMPLETED", slurm_partition)}, tasks
    written = sorted(Path(line.split()[1]).parent.name for path in folder.glob(f".submitit/{arrays[0]}_*/*_log.out")
                     for line in path.read_text().splitlines() if line.startswith(f"wrote {folder}/"))
    assert written == sorted(p.parent.name for p in folder.glob("*/results.nc")), written
    xr.testing.assert_equal(ds, basic_sweep)
