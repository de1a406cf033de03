"""Faults a job must survive with nothing lost and nothing silently wrong: Ctrl-C, SIGTERM and SIGKILL of the main
job and of a sweep, two jobs started in the same second, a damaged or altered cache entry, a read-only output folder.
Each ends with results identical to an uninterrupted run's.

Every command runs from a temporary folder, exactly as a user would type it (outputs and the cache under that folder's
`outputs/`), so that "run the same command again" is literally the same command.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from test_cache import tamper

ROOT = Path(__file__).resolve().parent.parent
RUN = [sys.executable, str(ROOT / "run.py")]
# six runs of a few seconds in all: long enough to be stopped part-way
MAIN_JOB = ["n_households=20000", "years=4", "compare.seeds=3", "compare.scenarios=[baseline,obj5_more_places]",
            "compare.workers=2"]
SWEEP = ["-m", "scenario=baseline,obj5_more_places", "seed=0,1", "n_households=20000", "years=4", "figures=false"]
FINISHED = 1     # cache entries to wait for before stopping a job
GONE_S = 5.0     # a stopped job's worker processes must be gone within this (they look for their parent every 0.5 s)

pytestmark = pytest.mark.slow


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "MIGRATION_SIMULATOR_JOB_PID")}
    env["MPLBACKEND"] = "Agg"
    return env


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, *args], cwd=cwd, env=environment(), capture_output=True, text=True, timeout=600)


def children(pid: int) -> set[int]:
    """The process ids of `pid`'s child processes (Linux /proc)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def as_in_a_terminal() -> None:
    """In the child before it starts: Ctrl-C's signal handled as in a job started from a terminal. A test suite
    started in the background of a script (as .ci/run starts its two suites) inherits SIGINT ignored, and a program
    rightly keeps an ignored SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_part_way(cwd: Path, args: list[str], how: signal.Signals, running: str = ""
                  ) -> tuple[subprocess.CompletedProcess, set[int]]:
    """Start `python run.py <args>` in `cwd`, send it `how` once FINISHED runs are in its cache (and a file matching
    the glob `running` exists under cwd), and return how it ended and the worker processes it had."""
    proc = subprocess.Popen([*RUN, *args], cwd=cwd, env=environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=as_in_a_terminal)
    cache, workers = cwd / "outputs" / "cache", set()

    def ready() -> bool:
        return (len(list(cache.glob("*/entry.json"))) >= FINISHED
                and (not running or any(True for _ in cwd.glob(running))))

    deadline = time.time() + 300
    while not ready() and time.time() < deadline and proc.poll() is None:
        workers |= children(proc.pid)
        time.sleep(0.05)
    workers |= children(proc.pid)
    assert proc.poll() is None, "the job finished before it could be stopped: make it longer"
    proc.send_signal(how)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), workers


def assert_gone(workers: set[int]) -> None:
    deadline = time.time() + GONE_S
    while any(alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], "worker processes outlived the job"


def read(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def assert_same_results(a: xr.Dataset, b: xr.Dataset) -> None:
    """Equal data, coordinates and attributes, but for the resolved config (it names each run's own folders)."""
    xr.testing.assert_equal(a, b)
    assert {k: v for k, v in a.attrs.items() if k != "config"} == {k: v for k, v in b.attrs.items() if k != "config"}


def only(folder: Path) -> Path:
    found = [p for p in folder.iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, xr.Dataset]:
    """The main job and the sweep, run once each without interruption, in a folder of their own."""
    cwd = tmp_path_factory.mktemp("uninterrupted")
    for args in (MAIN_JOB, SWEEP):
        result = run(cwd, *args)
        assert result.returncode == 0, result.stderr[-2000:]
    return {"main": read(only(cwd / "outputs" / "comparisons") / "comparison.nc"),
            "sweep": read(only(cwd / "outputs" / "sweeps") / "sweep.nc")}


@pytest.mark.parametrize("how,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_main_job_says_so_stops_its_workers_and_resumes(tmp_path, uninterrupted, how, code):
    stopped, workers = stop_part_way(tmp_path, MAIN_JOB, how)
    assert stopped.returncode == code, stopped.stderr[-2000:]
    assert "Traceback" not in stopped.stderr
    last = [line for line in stopped.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("interrupted") and "run the same command to resume" in last, stopped.stderr[-2000:]
    assert workers, "the job had no worker processes to stop"
    assert_gone(workers)
    assert not list((tmp_path / "outputs" / "comparisons").iterdir())   # no half-made folder is left
    # A finished run is an entry with its index; a results file the signal caught before its index was written is,
    # by design, not used and is computed again (simulator/experiments/cache.py).
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "outputs" / "cache").glob("*/results.nc")
            if (p.parent / "entry.json").is_file()}
    assert len(kept) >= FINISHED

    again = run(tmp_path, *MAIN_JOB)
    assert again.returncode == 0, again.stderr[-2000:]
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())   # what had finished was not computed again
    assert_same_results(read(only(tmp_path / "outputs" / "comparisons") / "comparison.nc"), uninterrupted["main"])


def test_a_killed_main_job_takes_its_workers_with_it_and_marks_its_folder(tmp_path, uninterrupted):
    stopped, workers = stop_part_way(tmp_path, MAIN_JOB, signal.SIGKILL)
    assert stopped.returncode == -signal.SIGKILL
    assert workers
    assert_gone(workers)
    folder = only(tmp_path / "outputs" / "comparisons")
    assert (folder / "INCOMPLETE.txt").is_file() and not (folder / "comparison.nc").exists()

    again = run(tmp_path, *MAIN_JOB)
    assert again.returncode == 0, again.stderr[-2000:]
    done = [p for p in (tmp_path / "outputs" / "comparisons").iterdir() if (p / "comparison.nc").is_file()]
    assert len(done) == 1 and not (done[0] / "INCOMPLETE.txt").exists()
    assert_same_results(read(done[0] / "comparison.nc"), uninterrupted["main"])


def test_a_killed_sweep_resumes_with_the_same_command(tmp_path, uninterrupted):
    stopped, _ = stop_part_way(tmp_path, SWEEP, signal.SIGKILL, running="outputs/sweeps/*/1_*/INCOMPLETE.txt")
    assert stopped.returncode == -signal.SIGKILL
    killed = only(tmp_path / "outputs" / "sweeps")
    assert not (killed / "sweep.nc").exists()
    assert list(killed.glob("*/INCOMPLETE.txt")), "the unfinished job's folder is not marked"

    again = run(tmp_path, *SWEEP)
    assert again.returncode == 0, again.stderr[-2000:]
    resumed = [p for p in (tmp_path / "outputs" / "sweeps").iterdir() if (p / "sweep.nc").is_file()]
    assert len(resumed) == 1 and not list(resumed[0].glob("*/INCOMPLETE.txt"))
    assert_same_results(read(resumed[0] / "sweep.nc"), uninterrupted["sweep"])


@pytest.mark.parametrize("args,kind,name", [
    (["n_households=300", "years=1", "compare.seeds=2", "compare.scenarios=[baseline,combined]"],
     "comparisons", "comparison.nc"),
    (["-m", "scenario=baseline,combined", "seed=0,1", "n_households=300", "years=1", "figures=false"],
     "sweeps", "sweep.nc"),
], ids=["main-job", "sweep"])
def test_two_jobs_started_together_never_share_a_folder(tmp_path, args, kind, name):
    procs = [subprocess.Popen([*RUN, *args], cwd=tmp_path, env=environment(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
    folders = sorted((tmp_path / "outputs" / kind).iterdir())
    assert len(folders) == 2
    first, second = (read(folder / name) for folder in folders)
    assert first.sizes["seed"] == second.sizes["seed"] == 2
    assert_same_results(first, second)
    for folder in folders:
        assert "Seeds: 2 per package (0, 1)" in (folder / "report.md").read_text(encoding="utf-8")


def test_a_sweep_with_a_failed_job_says_which_why_and_what_to_do(tmp_path, capsys):
    """A job that stopped on bad input after the checks (say, a world table edited while the sweep ran) leaves its
    message in its folder; the sweep then names it, keeps the finished runs and writes no sweep.nc."""
    import importlib.util

    from omegaconf import OmegaConf

    from simulator.config import RunConfig
    from simulator.experiments.runner import save_run, simulate

    spec = importlib.util.spec_from_file_location("run_cli", ROOT / "run.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    done, failed = tmp_path / "0_seed=0", tmp_path / "1_seed=1"
    save_run(simulate(RunConfig(n_households=100, years=1, progress=False)), done)
    failed.mkdir()
    (failed / cli.INCOMPLETE).write_text("running", encoding="utf-8")
    (failed / cli.FAILED).write_text("regions.csv row 2: farm_dependence = '1.5' is not allowed", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        cli.SweepReport().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 1 job(s) of the sweep did not finish: 1_seed=1: regions.csv row 2")
    assert "1 finished run(s) are kept" in err and "run the same command again" in err
    assert not (tmp_path / "sweep.nc").exists()


def test_an_altered_cache_entry_is_recomputed_in_a_sweep(tmp_path):
    args = ["-m", "scenario=baseline,combined", "seed=0,1", "n_households=300", "years=1", "figures=false"]
    first = run(tmp_path, *args)
    assert first.returncode == 0, first.stderr[-2000:]
    clean = read(only(tmp_path / "outputs" / "sweeps") / "sweep.nc")
    entry = sorted((tmp_path / "outputs" / "cache").glob("*/results.nc"))[0]
    tamper(entry)
    again = run(tmp_path, *args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"warning: cached run {entry.parent}" in again.stderr
    sweeps = sorted(p for p in (tmp_path / "outputs" / "sweeps").iterdir())
    assert len(sweeps) == 2   # the rerun got a folder of its own
    assert_same_results(read(sweeps[1] / "sweep.nc"), clean)


def read_only_mount_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt && ! touch /mnt/x"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.parametrize("args", [
    pytest.param(["scenario=baseline", "n_households=200", "years=1"], id="one-run"),
    pytest.param(["n_households=200", "years=1", "compare.seeds=1", "compare.scenarios=[baseline]"],
                 id="main-job"),
    pytest.param(["-m", "scenario=baseline", "seed=0,1", "n_households=200", "years=1"], id="sweep"),
])
def test_a_read_only_output_folder_stops_with_one_line(tmp_path, args):
    """`outputs/` on a read-only file system (root ignores permission bits, so a read-only mount is used where this
    runs as root; chmod otherwise)."""
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    if os.geteuid() == 0:
        if not read_only_mount_works():
            pytest.skip("running as root and a read-only mount cannot be made here (unshare -m)")
        command = ["unshare", "-m", "sh", "-c", f'mount -t tmpfs -o ro tmpfs "{outputs}" && exec "$@"', "sh",
                   *RUN, *args]
    else:
        outputs.chmod(0o555)
        command = [*RUN, *args]
    result = subprocess.run(command, cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=600)
    outputs.chmod(0o755)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot write "), result.stderr[-2000:]
    assert "outputs" in lines[0] and "folder you can write to" in lines[0]
    assert not list(outputs.iterdir()) and [p.name for p in tmp_path.iterdir()] == ["outputs"]
