"""Throughput, build time and memory of the migration simulator, against a naive per-agent Mesa implementation.

Usage (from the repository root):

    python benchmarks/benchmark.py                          # sizes 10k, 100k, 1M; 3 repeats of 24 months
    python benchmarks/benchmark.py --sizes 10000 100000 1000000 10000000 --repeats 3
    python benchmarks/benchmark.py --profile --sizes 1000000   # profile one run at the largest size (in process):
        # cProfile top 25, time and memory per process, single-operation costs, and the compiled decision
        # against the naive per-household oracle of tests/reference.py on a sample (a check that both choose the same)
    python benchmarks/benchmark.py --sweep                   # a sweep on 1 and on 2 worker processes
    python benchmarks/benchmark.py --main-job 3 --against REV  # python run.py 3 times, beside another version's
    python benchmarks/benchmark.py --plot docs/performance_throughput.png   # figure from benchmarks/results.json
    python benchmarks/benchmark.py --report                   # the table again, from benchmarks/results.json

Every measurement of the benchmark table runs in a fresh child process (`--child`, internal), so that each run
starts from a clean heap and its peak RSS is its own:

- fast path (`--steps` months for N up to 1M, `--large-steps` above):
  `MigrationModel(n_households=N, years=steps/12, rng=seed)` built with the model's default
  `agent_view_limit` (Mesa `Household` views only up to that many households), then `steps` calls of `model.step()`
  (all nine processes, recording and Mesa's DataCollector included). Throughput = N * steps / time in `step()`.
  For N up to `--view-max` the build is also measured with the other view setting (views off, or on), so that both
  build times and the cost of the views are reported.
- naive model (benchmarks/naive_model.py) for N up to `--naive-max`, over `--naive-steps` months; the speed ratio is
  the fast path's throughput over the same first months divided by the naive throughput, both medians. The naive
  model runs the one-city (version-1) world only, so these runs take place with `--world one_city` only.
- peak memory: the high-water mark of the child's resident set (`VmHWM` in /proc/self/status) after the run, minus
  the median of children that only import the package and load the compiled kernels (every child first runs six
  months of a 2,000-household model, in which households leave, apply, are granted places, travel and come back, so
  that every kernel a month calls is loaded; its time is reported as the kernel load). `ru_maxrss` is recorded as
  well but is not used: on Linux a child started with vfork/exec inherits the parent's maxrss, so it can report the
  parent's peak instead of its own.

The figures are printed as a table and written to benchmarks/results.json (a `profile` section, if present, is
kept). Timings are wall-clock on whatever else the machine is running: the table gives the median with min-max,
and the CPU share of each run (process CPU time / wall time while stepping) shows when it was contended.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import datetime as _dt
import gc
import hashlib
import io
import json
import math
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
WORLDS = ROOT / "scenarios" / "worlds"   # the shipped worlds
TARGET_THROUGHPUT = 5_000_000   # household-steps per second at 1M households, one core
TARGET_BYTES = 200              # bytes per household at peak
TARGET_N = 1_000_000
WARMUP_HOUSEHOLDS, WARMUP_MONTHS = 2_000, 6   # the model each child runs first, to load the compiled kernels
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CHECK_KEYS = ("internal", "regular", "irregular", "applications", "visas_issued", "trapped", "interceptions",
              "deaths", "returns", "remittances_kusd", "population_end")


# --- small helpers -----------------------------------------------------------------------------------------------

def proc_status_bytes(field: str) -> int:
    """A memory field of /proc/self/status (VmHWM, VmRSS) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "values": values}


def fmt_rate(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def fmt_mb(x: float | None) -> str:
    return "-" if x is None else f"{x / 2**20:,.0f} MiB"


def least_squares(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Slope and intercept of the least-squares line y = a x + b."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else float("nan")
    return slope, my - slope * mx


def machine_info() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, value = line.split(":", 1)
                if key in ("MemTotal", "MemAvailable"):
                    mem[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    import numpy
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "ram_bytes": mem.get("MemTotal"),
            "ram_available_bytes": mem.get("MemAvailable"), "kernel": platform.release(),
            "python": platform.python_version(), "numpy": numpy.__version__, "platform": platform.platform()}


def code_state() -> dict:
    """Git commit, whether simulator/ has uncommitted changes, and a hash of the simulator sources measured."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "simulator").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return {"commit": git("rev-parse", "HEAD"), "simulator_uncommitted_changes": bool(git("status", "--porcelain",
                                                                                          "simulator")),
            "simulator_sha256": digest.hexdigest()[:16]}


# --- child processes ---------------------------------------------------------------------------------------------

def recorder_summary(recorder, months: int) -> dict:
    """Totals over the first `months` months, to check that the naive model does the same work."""
    emigrants = recorder["emigrants"][:months]   # pathway last, with or without a destination dim (older commits)
    e = emigrants.reshape(-1, emigrants.shape[-1]).sum(axis=0)
    return {"internal": float(e[0]), "regular": float(e[1]), "irregular": float(e[2]),
            "applications": float(recorder["applications"][:months].sum()),
            "visas_issued": float(recorder["visas_issued"][:months].sum()),
            "trapped": float(recorder["trapped"][:months].sum()),
            "interceptions": float(recorder["interceptions"][:months].sum()),
            "deaths": float(recorder["deaths"][:months].sum()),
            "returns": float(recorder["returns"][:months].sum()),
            "remittances_kusd": float(recorder["remittances"][:months].sum()) / 1e3,
            "population_end": float(recorder["population"][months - 1].sum())}


def model_array_bytes(model) -> int:
    """Bytes of the numpy arrays the model keeps between steps: its per-household arrays (columns and model-level
    arrays) and the migrants table (one row per member away), if it has one."""
    import numpy as np
    n = model.households.n
    arrays = list(vars(model.households).values()) + list(vars(model).values())
    migrants = getattr(model, "migrants", None)
    total = migrants.nbytes if migrants is not None else 0
    seen = set()
    for a in arrays:
        if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == n and id(a) not in seen:
            seen.add(id(a))
            total += a.nbytes
    return total


def child(spec: dict) -> dict:
    """Run one measurement in this (fresh) process and return its figures."""
    kind, n, steps, seed = spec["kind"], spec.get("n", 0), spec.get("steps", 0), spec.get("seed", 0)
    t0 = time.perf_counter()
    import inspect

    import mesa
    import numpy as np
    import simulator
    from simulator import MigrationModel
    out = {"import_s": time.perf_counter() - t0}
    # Every child first runs six months of a 2,000-household model: this loads the compiled kernels (numba, from its
    # cache; compiling them if the cache is empty), a fixed cost per process (about 8 MiB and 0.3 s) that is reported
    # apart and is part of the baseline memory, not of the per-household figures. (One month of 100 households, the
    # warm-up until the performance commits after 969ee16, calls no departure kernel: those were loaded in the
    # measured run.)
    threads = spec.get("threads", 1)
    t0 = time.perf_counter()
    MigrationModel(n_households=WARMUP_HOUSEHOLDS, years=WARMUP_MONTHS / 12, rng=0, agent_view_limit=0,
                   threads=threads).run()
    out["warmup_s"] = time.perf_counter() - t0
    if kind == "import":
        out["agent_view_limit_default"] = inspect.signature(MigrationModel).parameters["agent_view_limit"].default
        import numba
        out["versions"] = {"mesa": mesa.__version__, "numpy": np.__version__, "numba": numba.__version__,
                           "simulator": simulator.__version__}
    elif kind in ("fast", "naive"):
        years = steps / 12.0
        gc.collect()
        t0 = time.perf_counter()
        if kind == "fast":
            kwargs = {} if spec["views"] == "default" else {"agent_view_limit": 0 if spec["views"] == "off" else n}
            if spec.get("world"):
                kwargs["world"] = spec["world"]
            model = MigrationModel(n_households=n, years=years, rng=seed, threads=threads, **kwargs)
        else:
            sys.path.insert(0, str(HERE))
            from naive_model import NaiveMigrationModel
            model = NaiveMigrationModel(n_households=n, years=years, rng=seed)
        out["build_s"] = time.perf_counter() - t0
        out["agents"] = len(model.agents)
        out["rss_after_build"] = proc_status_bytes("VmRSS")
        step_s = []
        import resource
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        step_cpu_s = []
        for _ in range(steps):
            s0, c0 = time.perf_counter(), time.process_time()
            model.step()
            step_s.append(time.perf_counter() - s0)
            step_cpu_s.append(time.process_time() - c0)
        wall = time.perf_counter() - wall0
        out["step_s"], out["step_cpu_s"] = step_s, step_cpu_s
        out["cpu_share"] = (time.process_time() - cpu0) / wall if wall > 0 else float("nan")
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        out["user_s"], out["sys_s"] = ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime
        out["minor_faults"] = ru1.ru_minflt - ru0.ru_minflt
        out["summary"] = recorder_summary(model.recorder, spec.get("check_months", steps))
        if kind == "fast":
            out["state_bytes"] = model_array_bytes(model)
    elif kind == "sweep":
        import tempfile

        import xarray as xr
        from simulator.experiments.comparison import run_all, run_configs
        from simulator.config import RunConfig
        base = RunConfig(n_households=n, years=steps / 12.0, progress=False)
        configs = run_configs(base, spec["scenarios"], seeds=range(spec["seeds"]))
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            paths = run_all(configs, cache, workers=spec["workers"], progress=False)
            out["elapsed_s"] = time.perf_counter() - t0
            digest = hashlib.sha256()
            for path in paths:
                with xr.open_dataset(path, engine="netcdf4") as ds:
                    for name in sorted(ds.data_vars):
                        digest.update(np.ascontiguousarray(ds[name].values).tobytes())
            out["results_sha256"] = digest.hexdigest()
        out["runs"] = len(configs)
    else:
        raise ValueError(kind)
    out["vm_hwm"] = proc_status_bytes("VmHWM")
    import resource
    out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


CHILD_ENV: dict[str, str] = {}


def run_child(spec: dict, code: Path | None = None) -> dict:
    """One measurement in a fresh process. With `code`, a folder holding another version's `simulator` package,
    the child imports that version instead (it comes first on PYTHONPATH); the measuring code is this script's."""
    env = dict(os.environ, **SINGLE_THREAD, **CHILD_ENV)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    load = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    return result


def extract_commit(rev: str, into: Path, paths: tuple[str, ...] = ("simulator", "scenarios")) -> dict:
    """The `simulator` package and `scenarios` folder (its default world) of commit `rev` of this repository (and any
    other `paths`: `run.py` and `configs` for the main job), written into `into` (git archive), so that children can
    import it; returns the commit's hash and subject. Fails with
    a clear message if `rev` is unknown."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        subject = subprocess.run(["git", "log", "-1", "--format=%s", commit], cwd=ROOT, capture_output=True,
                                 text=True, check=True).stdout.strip()
        archive = subprocess.run(["git", "archive", "--format=tar", commit, *paths], cwd=ROOT,
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"--against {rev}: not a commit of this repository ({e})") from None
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return {"rev": rev, "commit": commit, "subject": subject[:100]}


# --- the benchmark -----------------------------------------------------------------------------------------------

def summarise_fast(runs: list[dict], n: int, steps: int, k: int | None, baseline: float) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"]}
    out = {"repeats": len(ok), "steps": steps, "agents": ok[0]["agents"],
           "build_s": stats([r["build_s"] for r in ok]), "warmup_s": stats([r["warmup_s"] for r in ok]),
           "throughput": stats([n * steps / sum(r["step_s"]) for r in ok]),
           "throughput_per_cpu_s": stats([n * steps / (r["user_s"] + r["sys_s"]) for r in ok]),
           "step_ms": stats([1e3 * sum(r["step_s"]) / steps for r in ok]),
           "first_step_ms": stats([1e3 * r["step_s"][0] for r in ok]),
           "cpu_share": stats([r["cpu_share"] for r in ok]),
           "sys_share_of_cpu": stats([r["sys_s"] / max(r["user_s"] + r["sys_s"], 1e-9) for r in ok]),
           "minor_faults_per_step": stats([r["minor_faults"] / steps for r in ok]),
           "peak_rss": stats([r["vm_hwm"] for r in ok]),
           "rss_after_build": stats([r["rss_after_build"] for r in ok]),
           "ru_maxrss": stats([r["ru_maxrss"] for r in ok]),
           "load_before": [r["load_before"] for r in ok]}
    out["peak_net_bytes"] = out["peak_rss"]["median"] - baseline
    out["bytes_per_household"] = out["peak_net_bytes"] / n
    out["after_build_bytes_per_household"] = (out["rss_after_build"]["median"] - baseline) / n
    if "state_bytes" in ok[0]:
        out["state_bytes_per_household"] = ok[0]["state_bytes"] / n
    if k:
        out["throughput_first_months"] = stats([n * k / sum(r["step_s"][:k]) for r in ok])
        out["throughput_first_months_per_cpu_s"] = stats([n * k / sum(r["step_cpu_s"][:k]) for r in ok])
    out["summary"] = ok[0]["summary"]
    return out


def benchmark(args: argparse.Namespace) -> dict:
    started = time.time()
    meta = {"date": _dt.datetime.now().isoformat(timespec="seconds"),
            "command": "python " + " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
            "machine": machine_info(), "code": code_state(), "load_average_start": os.getloadavg(),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                         if k not in ("child", "plot", "profile")}}
    say(f"machine: {meta['machine']['cpu']}, {meta['machine']['logical_cpus']} logical CPUs, "
        f"load average {meta['load_average_start'][0]:.2f}")

    imports = [run_child({"kind": "import", "threads": args.threads}) for _ in range(args.repeats)]
    bad = [r for r in imports if "error" in r]
    if bad:
        raise SystemExit(f"cannot import the simulator in a child process: {bad[0]['error']}")
    baseline = statistics.median(r["vm_hwm"] for r in imports)
    limit = imports[0]["agent_view_limit_default"]
    meta["versions"] = imports[0]["versions"]
    meta["agent_view_limit_default"] = limit
    say(f"import-only child: peak RSS {fmt_mb(baseline)} (median of {len(imports)}); "
        f"default agent_view_limit = {limit:,}")
    against, against_baseline = None, None
    if args.against:
        against = Path(tempfile.mkdtemp(prefix="benchmark-against-"))
        atexit.register(shutil.rmtree, against, True)
        meta["against"] = extract_commit(args.against, against)
        # one unmeasured run first: numba compiles that commit's kernels into its (empty) cache
        warm = run_child({"kind": "fast", "n": 2000, "steps": 13, "seed": 0, "views": "default",
                          "threads": args.threads}, against)
        if "error" in warm:
            raise SystemExit(f"commit {args.against} fails to run: {warm['error']}")
        imports = [run_child({"kind": "import", "threads": args.threads}, against) for _ in range(args.repeats)]
        bad = [r for r in imports if "error" in r]
        if bad:
            raise SystemExit(f"cannot import commit {args.against} in a child process: {bad[0]['error']}")
        against_baseline = statistics.median(r["vm_hwm"] for r in imports)
        say(f"against commit {meta['against']['commit'][:10]} ({meta['against']['subject'][:60]}): import-only "
            f"peak RSS {fmt_mb(against_baseline)}; each repeat runs it beside this version (alternately after and "
            f"before), same seed")

    rows, per_household = [], None
    for n in sorted(args.sizes):
        steps = args.steps if n <= TARGET_N else args.large_steps
        available = machine_info().get("ram_available_bytes") or 0
        guess = baseline + n * (per_household or 600.0)
        if available and guess > 0.7 * available:
            say(f"N={n:,}: skipped, expected peak {fmt_mb(guess)} exceeds 70% of available memory "
                f"{fmt_mb(available)}")
            rows.append({"n": n, "skipped": f"expected peak {guess / 2**30:.1f} GiB > 70% of available memory"})
            continue
        default_views = n <= limit
        variant = ("off" if default_views else "on") if n <= args.view_max else None
        naive_k = min(args.naive_steps, steps) if n <= args.naive_max else None
        runs = {"default": [], "variant": [], "naive": [], "against": []}
        for rep in range(args.repeats):
            seed = args.seed + rep
            if against and rep % 2 == 1:   # the other commit first in every other repeat: no order advantage
                other = run_child({"kind": "fast", "n": n, "steps": steps, "seed": seed, "views": "default",
                                   "threads": args.threads}, against)
            r = run_child({"kind": "fast", "n": n, "steps": steps, "seed": seed, "views": "default",
                           "check_months": naive_k or steps, "threads": args.threads, "world": args.world})
            runs["default"].append(r)
            msg = (f"N={n:,} repeat {rep + 1}/{args.repeats}: " + (r["error"] if "error" in r else
                   f"fast {fmt_rate(n * steps / sum(r['step_s']))} hh-steps/s, build {r['build_s']:.2f} s, "
                   f"peak {fmt_mb(r['vm_hwm'])}, CPU share {r['cpu_share']:.2f}"))
            if against:
                if rep % 2 == 0:
                    other = run_child({"kind": "fast", "n": n, "steps": steps, "seed": seed, "views": "default",
                                       "threads": args.threads}, against)
                runs["against"].append(other)
                msg += (f"; against: {other['error']}" if "error" in other else
                        f"; against {fmt_rate(n * steps / sum(other['step_s']))} hh-steps/s, "
                        f"peak {fmt_mb(other['vm_hwm'])}")
            if variant:
                r = run_child({"kind": "fast", "n": n, "steps": steps, "seed": seed, "views": variant,
                               "threads": args.threads, "world": args.world})
                runs["variant"].append(r)
                msg += "" if "error" in r else f"; views {variant}: build {r['build_s']:.2f} s"
            if naive_k:
                r = run_child({"kind": "naive", "n": n, "steps": naive_k, "seed": seed})
                runs["naive"].append(r)
                msg += (f"; naive: {r['error']}" if "error" in r else
                        f"; naive {fmt_rate(n * naive_k / sum(r['step_s']))} hh-steps/s")
            say(msg)
        fast = summarise_fast(runs["default"], n, steps, naive_k, baseline)
        row = {"n": n, "steps": steps, "views_default": "on" if default_views else "off", "fast": fast}
        if variant:
            row["fast_views_" + variant] = summarise_fast(runs["variant"], n, steps, None, baseline)
        if against:
            other = summarise_fast(runs["against"], n, steps, None, against_baseline)
            row["against"] = other
            if "throughput" in other and "throughput" in fast:
                pairs = [a / b for a, b in zip(fast["throughput"]["values"], other["throughput"]["values"])]
                row["against_ratio"] = {"median": statistics.median(pairs), "min": min(pairs), "max": max(pairs)}
        if naive_k:
            ok = [r for r in runs["naive"] if "error" not in r]
            if ok:
                naive = {"repeats": len(ok), "steps": naive_k, "build_s": stats([r["build_s"] for r in ok]),
                         "throughput": stats([n * naive_k / sum(r["step_s"]) for r in ok]),
                         "throughput_per_cpu_s": stats([n * naive_k / sum(r["step_cpu_s"]) for r in ok]),
                         "cpu_share": stats([r["cpu_share"] for r in ok]),
                         "peak_rss": stats([r["vm_hwm"] for r in ok]), "summary": ok[0]["summary"]}
                naive["bytes_per_household"] = (naive["peak_rss"]["median"] - baseline) / n
                row["naive"] = naive
                if "throughput_first_months" in fast:
                    pairs = [f / s for f, s in zip(fast["throughput_first_months"]["values"],
                                                   naive["throughput"]["values"])]
                    row["ratio"] = {"median": fast["throughput_first_months"]["median"]
                                    / naive["throughput"]["median"], "min": min(pairs), "max": max(pairs),
                                    "months": naive_k,
                                    "per_cpu_s": fast["throughput_first_months_per_cpu_s"]["median"]
                                    / naive["throughput_per_cpu_s"]["median"]}
            else:
                row["naive"] = {"error": runs["naive"][0]["error"]}
        if "bytes_per_household" in fast:
            per_household = max(per_household or 0.0, fast["bytes_per_household"])
        rows.append(row)

    measured = [r for r in rows if "fast" in r and "peak_rss" in r["fast"]]
    fits = {}
    if len(measured) >= 2:
        xs = [r["n"] for r in measured]
        slope, intercept = least_squares(xs, [r["fast"]["peak_rss"]["median"] for r in measured])
        fits["default_views"] = {"slope_bytes_per_household": slope, "intercept_bytes": intercept, "sizes": xs}
        off = [(r["n"], (r["fast"] if r["views_default"] == "off" else r.get("fast_views_off", {}))
                .get("peak_rss", {}).get("median")) for r in measured]
        off = [(x, y) for x, y in off if y is not None]
        if len(off) >= 2:
            slope, intercept = least_squares([x for x, _ in off], [y for _, y in off])
            fits["views_off"] = {"slope_bytes_per_household": slope, "intercept_bytes": intercept,
                                 "sizes": [x for x, _ in off]}
    at_target = next((r for r in measured if r["n"] == TARGET_N), None)
    targets = {"throughput_hh_steps_per_s": TARGET_THROUGHPUT, "bytes_per_household": TARGET_BYTES, "at_n": TARGET_N}
    if at_target:
        f = at_target["fast"]
        targets["measured_throughput"] = f["throughput"]["median"]
        targets["measured_bytes_per_household"] = f["bytes_per_household"]
        targets["throughput_met"] = f["throughput"]["median"] >= TARGET_THROUGHPUT
        targets["memory_met"] = f["bytes_per_household"] <= TARGET_BYTES
    meta["load_average_end"] = os.getloadavg()
    meta["elapsed_s"] = time.time() - started
    return {"meta": meta, "import_peak_rss": stats([r["vm_hwm"] for r in imports]), "rows": rows,
            "memory_fit": fits, "targets": targets}


def print_report(res: dict) -> None:
    meta, rows = res["meta"], res["rows"]
    m = meta["machine"]
    print()
    print(f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['ram_bytes'] / 2**30:.1f} GiB RAM; "
          f"Python {m['python']}, numpy {m['numpy']}, numba {meta['versions'].get('numba', '-')}, "
          f"Mesa {meta['versions']['mesa']}")
    print(f"Code: commit {meta['code']['commit'][:10]}, simulator sources {meta['code']['simulator_sha256']}"
          + (" (uncommitted changes)" if meta['code']['simulator_uncommitted_changes'] else ""))
    print(f"Load average {meta['load_average_start'][0]:.2f} at start, {meta['load_average_end'][0]:.2f} at end; "
          f"{meta['elapsed_s']:.0f} s in all. Import-only child peak RSS {fmt_mb(res['import_peak_rss']['median'])}.")
    print(f"Default agent_view_limit = {meta['agent_view_limit_default']:,} (* marks the default view setting). "
          f"Threads of the decision: {meta['settings'].get('threads', 1)}.")
    loads = [r["fast"]["warmup_s"]["median"] for r in rows if "warmup_s" in r.get("fast", {})]
    if loads:
        print(f"Kernel load ({WARMUP_MONTHS} months of a {WARMUP_HOUSEHOLDS:,}-household model in each fresh process, "
              f"before measuring): median "
              f"{statistics.median(loads):.2f} s.")
    print()
    head = (f"{'N':>11} {'months':>6} {'build, views off':>17} {'build, views on':>16} "
            f"{'fast hh-steps/s: median [min-max]':>34} {'CPU':>5} {'per CPU-s':>9} {'peak RSS':>10} {'B/hh':>6} "
            f"{'naive hh-steps/s':>17} {'fast/naive':>17}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "skipped" in r:
            print(f"{r['n']:>11,} skipped: {r['skipped']}")
            continue
        f = r["fast"]
        if "error" in f:
            print(f"{r['n']:>11,} fast path failed: {f['error']}")
            continue
        builds = {r["views_default"]: f["build_s"]["median"]}
        for v in ("on", "off"):
            if "fast_views_" + v in r and "build_s" in r["fast_views_" + v]:
                builds[v] = r["fast_views_" + v]["build_s"]["median"]
        b = {v: (f"{builds[v]:.3f} s" + ("*" if v == r["views_default"] else " ") if v in builds else "-")
             for v in ("off", "on")}
        t = f["throughput"]
        tp = f"{fmt_rate(t['median'])} [{fmt_rate(t['min'])}-{fmt_rate(t['max'])}]"
        naive, ratio = "-", "-"
        if "naive" in r and "throughput" in r["naive"]:
            nt = r["naive"]["throughput"]
            naive = f"{fmt_rate(nt['median'])} ({r['naive']['steps']} mo)"
            ra = r.get("ratio")
            if ra:
                ratio = f"{ra['median']:.0f}x [{ra['min']:.0f}-{ra['max']:.0f}]"
        print(f"{r['n']:>11,} {r['steps']:>6} {b['off']:>17} {b['on']:>16} {tp:>34} "
              f"{f['cpu_share']['median']:>5.2f} {fmt_rate(f['throughput_per_cpu_s']['median']):>9} "
              f"{fmt_mb(f['peak_rss']['median']):>10} "
              f"{f['bytes_per_household']:>6.0f} {naive:>17} {ratio:>17}")
    print()
    print("hh-steps/s: households x months simulated per second of model.step() (all nine processes, recording "
          "included).")
    print("CPU: process CPU time / wall time while stepping (below 1: the run shared its core). per CPU-s: "
          "household-steps per second of the process's own CPU time (user + system), median.")
    print("B/hh: (peak RSS - import-only peak RSS) / N. fast/naive: fast throughput over the naive model's months "
          "/ naive throughput [range over paired repeats].")
    for r in rows:
        if r.get("ratio"):
            print(f"N={r['n']:,}: fast/naive over the first {r['ratio']['months']} months {r['ratio']['median']:.1f}x "
                  f"by wall time, {r['ratio']['per_cpu_s']:.1f}x by CPU time")
    if "against" in meta:
        a = meta["against"]
        print(f"\nAgainst commit {a['commit'][:10]} ({a['rev']}: {a['subject']}), run beside this version in each "
              f"repeat (alternately after and before it) with the same seed:")
        for r in rows:
            o, ra = r.get("against", {}), r.get("against_ratio")
            if "throughput" in o and ra:
                t = o["throughput"]
                print(f"  N={r['n']:,}: {fmt_rate(t['median'])} hh-steps/s "
                      f"[{fmt_rate(t['min'])}-{fmt_rate(t['max'])}], "
                      f"peak {o['bytes_per_household']:.0f} B/hh; this version / that commit, paired repeats: "
                      f"{ra['median']:.2f} [{ra['min']:.2f}-{ra['max']:.2f}] in throughput, "
                      f"{r['fast']['bytes_per_household']:.0f} against {o['bytes_per_household']:.0f} B/hh")
            elif "error" in o:
                print(f"  N={r['n']:,}: failed: {o['error']}")
    for key, label in (("views_off", "views off"), ("default_views", "default view setting")):
        fit = res["memory_fit"].get(key)
        if fit:
            print(f"Peak RSS slope ({label}, least squares over N = {', '.join(f'{x:,}' for x in fit['sizes'])}): "
                  f"{fit['slope_bytes_per_household']:.0f} bytes/household, intercept "
                  f"{fmt_mb(fit['intercept_bytes'])}")
    for r in rows:
        f = r.get("fast", {})
        if "state_bytes_per_household" in f:
            print(f"N={r['n']:,}: arrays kept between steps {f['state_bytes_per_household']:.0f} B/hh; RSS after "
                  f"build {f['after_build_bytes_per_household']:.0f} B/hh; peak {f['bytes_per_household']:.0f} B/hh; "
                  f"first month {f['first_step_ms']['median']:.0f} ms vs mean {f['step_ms']['median']:.0f} ms; "
                  f"kernel (sys) time {100 * f['sys_share_of_cpu']['median']:.0f}% of CPU time, "
                  f"{f['minor_faults_per_step']['median']:,.0f} page faults per month")
        if "naive" in r and "bytes_per_household" in r["naive"]:
            print(f"N={r['n']:,}: naive model peak {r['naive']['bytes_per_household']:.0f} B/hh, "
                  f"build {r['naive']['build_s']['median']:.2f} s")
    small = next((r for r in reversed(rows) if "naive" in r and "summary" in r["naive"]), None)
    if small:
        fs, ns = small["fast"]["summary"], small["naive"]["summary"]
        print(f"\nSame work check, N={small['n']:,}, first {small['naive']['steps']} months, seed "
              f"{res['meta']['settings']['seed']} (same population and shocks, different household draws):")
        print("  " + "  ".join(f"{k} {fs[k]:,.0f}/{ns[k]:,.0f}" for k in CHECK_KEYS) + "   (fast/naive)")
    if "sweep" in res:
        print()
        print_sweep(res["sweep"])
    print()
    t = res["targets"]
    if "measured_throughput" in t:
        print(f"\nTargets at N={t['at_n']:,}: >= {t['throughput_hh_steps_per_s'] / 1e6:.0f} M hh-steps/s: "
              f"{fmt_rate(t['measured_throughput'])} -> {'met' if t['throughput_met'] else 'NOT met'}; "
              f"<= {t['bytes_per_household']} B/hh at peak: {t['measured_bytes_per_household']:.0f} -> "
              f"{'met' if t['memory_met'] else 'NOT met'}")


# --- sweep scaling -------------------------------------------------------------------------------------------------

def sweep_scaling(args: argparse.Namespace) -> dict:
    """The same sweep (scenarios x seeds, each run `--sweep-households` households over `--sweep-months` months) run by
    `simulator.experiments.comparison.run_all` on 1 and on 2 worker processes, each time in a fresh process with an
    empty cache, alternating the order; the time is that of `run_all` (worker start-up included). The results of every
    run are hashed, to show they do not depend on the number of workers."""
    spec = {"kind": "sweep", "n": args.sweep_households, "steps": args.sweep_months,
            "scenarios": ["baseline", "obj5_more_places"], "seeds": args.sweep_seeds}
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for rep in range(args.repeats):
        for workers in ((1, 2) if rep % 2 == 0 else (2, 1)):
            r = run_child(dict(spec, workers=workers))
            if "error" in r:
                raise SystemExit(f"sweep on {workers} worker(s) failed: {r['error']}")
            runs[workers].append(r)
            say(f"sweep repeat {rep + 1}/{args.repeats}, {workers} worker(s): {r['runs']} runs in "
                f"{r['elapsed_s']:.1f} s")
    out = {"households": args.sweep_households, "months": args.sweep_months, "runs": runs[1][0]["runs"],
           "scenarios": spec["scenarios"], "seeds": args.sweep_seeds, "logical_cpus": os.cpu_count(),
           "elapsed_s": {str(w): stats([r["elapsed_s"] for r in v]) for w, v in runs.items()},
           "identical_results": len({r["results_sha256"] for v in runs.values() for r in v}) == 1}
    out["speedup"] = out["elapsed_s"]["1"]["median"] / out["elapsed_s"]["2"]["median"]
    pairs = [a["elapsed_s"] / b["elapsed_s"] for a, b in zip(runs[1], runs[2])]
    out["speedup_min"], out["speedup_max"] = min(pairs), max(pairs)
    print_sweep(out)
    return out


def print_sweep(sw: dict) -> None:
    one, two = sw["elapsed_s"]["1"], sw["elapsed_s"]["2"]
    print(f"Sweep of {sw['runs']} runs ({len(sw['scenarios'])} scenarios x {sw['seeds']} seeds, "
          f"{sw['households']:,} households x {sw['months']} months each), median [min-max] of "
          f"{len(one['values'])} fresh processes each:")
    print(f"  1 worker  {one['median']:.1f} s [{one['min']:.1f}-{one['max']:.1f}]")
    print(f"  2 workers {two['median']:.1f} s [{two['min']:.1f}-{two['max']:.1f}]")
    print(f"  speed-up on 2 workers {sw['speedup']:.2f}x (paired repeats {sw['speedup_min']:.2f}-"
          f"{sw['speedup_max']:.2f}x); results identical on 1 and 2 workers: {sw['identical_results']}")


# --- the main job ----------------------------------------------------------------------------------------------

def job_tree(rev: str) -> tuple[Path, dict]:
    """The folder of a version of the whole project to run `python run.py` in: a folder holding `run.py` and
    `simulator/` (a checkout or git worktree) as it is, or a commit of this repository extracted (git archive of
    run.py, configs, simulator and scenarios) into a temporary folder."""
    folder = Path(rev)
    if folder.is_dir():
        if not ((folder / "run.py").is_file() and (folder / "simulator").is_dir()):
            raise SystemExit(f"--against {rev}: a folder, but not a checkout of this project (no run.py and "
                             f"simulator/ in it)")
        def git(*args: str) -> str:
            try:
                return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                                      check=True).stdout.strip()
            except (OSError, subprocess.CalledProcessError):
                return ""
        status = git("status", "--porcelain", "simulator", "run.py", "configs", "scenarios")
        return folder.resolve(), {"rev": rev, "commit": git("rev-parse", "HEAD"),
                                  "subject": git("log", "-1", "--format=%s")[:100], "folder": str(folder.resolve()),
                                  "uncommitted_changes": bool(status)}
    into = Path(tempfile.mkdtemp(prefix="benchmark-job-"))
    atexit.register(shutil.rmtree, into, True)
    return into, extract_commit(rev, into, ("run.py", "configs", "simulator", "scenarios"))


def run_job(tree: Path, out: Path, extra: tuple[str, ...] = (), cold_kernels: bool = False) -> dict:
    """`python run.py` (the main job, or what `extra` overrides ask) of the project in `tree`, with the job folder and
    an empty result cache under `out`: its wall time, the CPU time of the job and its worker processes, and the runs
    it computed (the entries of its result cache). With `cold_kernels`, numba's cache is an empty folder under `out`
    too (NUMBA_CACHE_DIR, which the workers inherit): the job compiles every kernel, as the first run of a fresh
    clone does."""
    env = dict(os.environ, MPLBACKEND="Agg", **CHILD_ENV)
    if cold_kernels:
        env["NUMBA_CACHE_DIR"] = str(out / "numba-cache")
    env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cache = out / "cache"
    args = [sys.executable, "run.py", f"hydra.run.dir={out / 'job'}", f"compare.cache_dir={cache}", *extra]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]}
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "runs": len(list(cache.glob("*/results.nc"))), "load_before": load}


def main_job(args: argparse.Namespace) -> dict:
    """`python run.py` as a user runs it (the comparison of configs/config.yaml: 8 packages x 8 seeds of 5,000
    households over 20 years, on every core), `--main-job` times, each time with an empty result cache and a job
    folder of its own; with `--against`, the same job of another version of the project in every repeat, alternately
    after and before this one. One unmeasured job of each version first (a single seed of 200 households over a year:
    every scenario) fills numba's cache of its compiled kernels, as it is after the first run of a new version; with
    `--cold-kernels` there is none, and every job starts from an empty numba cache of its own (a fresh clone's first
    run)."""
    trees = {"this": (ROOT, code_state())}
    if args.against:
        trees["against"] = job_tree(args.against)
    scratch = Path(tempfile.mkdtemp(prefix="benchmark-main-job-"))
    atexit.register(shutil.rmtree, scratch, True)
    for name, (tree, _) in ({} if args.cold_kernels else trees).items():   # cold: no job fills numba's cache
        warm = run_job(tree, scratch / f"warm-{name}", ("n_households=200", "years=1", "compare.seeds=1"))
        if "error" in warm:
            raise SystemExit(f"the main job of {tree} fails: {warm['error']}")
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for rep in range(args.main_job):
        order = list(trees) if rep % 2 == 0 else list(trees)[::-1]
        for name in order:
            r = run_job(trees[name][0], scratch / f"{name}-{rep}", cold_kernels=args.cold_kernels)
            if "error" in r:
                raise SystemExit(f"the main job of {trees[name][0]} failed: {r['error']}")
            runs[name].append(r)
            shutil.rmtree(scratch / f"{name}-{rep}", ignore_errors=True)
            say(f"main job, repeat {rep + 1}/{args.main_job}, {name}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s "
                f"CPU, {r['runs']} runs ({r['wall_s'] / max(r['runs'], 1):.2f} s per run), load before "
                f"{r['load_before']:.2f}")
    out = {"repeats": args.main_job, "logical_cpus": os.cpu_count(), "cold_kernels": bool(args.cold_kernels),
           "versions": {name: meta for name, (_, meta) in trees.items()}}
    for name, rs in runs.items():
        out[name] = {"wall_s": stats([r["wall_s"] for r in rs]), "cpu_s": stats([r["cpu_s"] for r in rs]),
                     "runs": rs[0]["runs"], "per_run_s": stats([r["wall_s"] / max(r["runs"], 1) for r in rs]),
                     "load_before": [r["load_before"] for r in rs]}
    if "against" in runs:
        pairs = [a["wall_s"] / b["wall_s"] for a, b in zip(runs["this"], runs["against"])]
        out["ratio"] = {"median": statistics.median(pairs), "min": min(pairs), "max": max(pairs)}
    print_main_job(out)
    return out


def print_main_job(res: dict) -> None:
    print(f"The main job (python run.py: {res['this']['runs']} runs on {res['logical_cpus']} logical CPUs), "
          f"{res['repeats']} times each with an empty result cache, numba's cache "
          f"{'empty (every kernel compiled)' if res.get('cold_kernels') else 'warm'}:")
    for name in ("this", "against"):
        if name not in res:
            continue
        r, meta = res[name], res["versions"][name]
        w, c, p = r["wall_s"], r["cpu_s"], r["per_run_s"]
        label = "this version" if name == "this" else f"against {meta.get('rev', '')}"
        print(f"  {label} ({meta.get('commit', '')[:10]}): median {w['median']:.1f} s [min {w['min']:.1f}, max "
              f"{w['max']:.1f}] wall, {p['median']:.2f} s per run; CPU {c['median']:.1f} s; walls "
              + ", ".join(f"{v:.1f}" for v in w["values"]))
    if "ratio" in res:
        q = res["ratio"]
        print(f"  this / against, paired repeats: {q['median']:.2f} [{q['min']:.2f}-{q['max']:.2f}]")


# --- profile -----------------------------------------------------------------------------------------------------

PROCESSES = ("hit_by_climate", "labour.step", "apply_interventions", "decide", "process_visas", "resolve_journeys",
             "update_migrants", "update_budgets", "record", "datacollector.collect")


def instrument_processes(model) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Wrap the model's process methods (on this instance only): wall time of every call, and, while tracemalloc
    is tracing, the peak memory each call allocates above what was allocated when it started."""
    times: dict[str, list[float]] = {}
    peaks: dict[str, int] = {}
    for name in PROCESSES:
        owner, attr = (model, name) if "." not in name else (getattr(model, name.split(".")[0]), name.split(".")[1])
        fn = getattr(owner, attr, None)
        if fn is None:
            continue
        times[name] = []

        def wrapper(*a, _fn=fn, _name=name, **kw):
            tracing = tracemalloc.is_tracing()
            if tracing:
                start = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
            s0 = time.perf_counter()
            try:
                return _fn(*a, **kw)
            finally:
                times[_name].append(time.perf_counter() - s0)
                if tracing:
                    top = tracemalloc.get_traced_memory()[1]
                    peaks[_name] = max(peaks.get(_name, 0), top - start)
                    peaks["(absolute)"] = max(peaks.get("(absolute)", 0), top)
        setattr(owner, attr, wrapper)
    return times, peaks


def micro(fn, repeat: int = 9) -> tuple[float, float]:
    """(best, median) seconds of `fn()` over `repeat` calls after one warm-up call; the best is the least disturbed
    by other load on the machine."""
    fn()
    out = []
    for _ in range(repeat):
        s0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - s0)
    return min(out), statistics.median(out)


def profile(args: argparse.Namespace) -> dict:
    import numpy as np
    import simulator.model.migration as model_module
    from simulator import MigrationModel
    n = max(args.sizes)
    steps = args.steps if n <= TARGET_N else args.large_steps
    say(f"profile: N={n:,}, {steps} months, seed {args.seed}")
    MigrationModel(n_households=WARMUP_HOUSEHOLDS, years=WARMUP_MONTHS / 12, rng=0,
                   agent_view_limit=0).run()   # load the compiled kernels
    model = MigrationModel(n_households=n, years=steps / 12.0, rng=args.seed)
    prof = cProfile.Profile()
    wall0 = time.perf_counter()
    prof.enable()
    for _ in range(steps):
        model.step()
    prof.disable()
    wall = time.perf_counter() - wall0
    st = pstats.Stats(prof)
    out = {"n": n, "steps": steps, "wall_s": wall, "throughput_under_profiler": n * steps / wall}
    print(f"cProfile run: {wall:.1f} s for {steps} months ({fmt_rate(n * steps / wall)} household-steps/s under the "
          f"profiler)")
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(25)
        print(f"\n=== cProfile, N={n:,}, {steps} months, top 25 by {key} time ===")
        print("\n".join(line for line in buf.getvalue().splitlines() if line.strip()))
    entries = []
    for (file, line, func), (cc, nc, tt, ct, _) in st.stats.items():
        if file == "~":
            short = func
        elif file.startswith(str(ROOT)):
            short = f"{os.path.relpath(file, ROOT)}:{line}({func})"
        else:
            short = f"{'/'.join(Path(file).parts[-2:])}:{line}({func})"
        entries.append({"function": short, "ncalls": nc, "tottime_s": tt, "cumtime_s": ct})
    out["top_cumulative"] = sorted(entries, key=lambda e: -e["cumtime_s"])[:25]
    out["top_tottime"] = sorted(entries, key=lambda e: -e["tottime_s"])[:25]
    del model, prof, st
    gc.collect()

    # wall time of each process without the profiler, on a fresh model
    model = MigrationModel(n_households=n, years=(steps + 2) / 12.0, rng=args.seed)
    times, peaks = instrument_processes(model)
    step_s = []
    cpu0 = time.process_time()
    for _ in range(steps):
        s0 = time.perf_counter()
        model.step()
        step_s.append(time.perf_counter() - s0)
    total = sum(step_s)
    out["cpu_share"] = (time.process_time() - cpu0) / total
    out["step_ms_median"] = 1e3 * statistics.median(step_s)
    out["step_ms_mean"] = 1e3 * total / steps
    out["processes"] = {k: {"ms_per_step_median": 1e3 * statistics.median(v), "ms_per_step_mean": 1e3 * sum(v) / steps,
                            "share": sum(v) / total} for k, v in times.items() if v}
    print(f"\n=== wall time per process (no profiler), N={n:,}, {steps} months: mean step "
          f"{out['step_ms_mean']:.0f} ms, median {out['step_ms_median']:.0f} ms, CPU share {out['cpu_share']:.2f} ===")
    for k, v in out["processes"].items():
        print(f"  {k:<24} {v['ms_per_step_mean']:8.1f} ms/step (median {v['ms_per_step_median']:7.1f})  "
              f"{100 * v['share']:5.1f}%")
    other = total - sum(sum(v) for v in times.values())
    print(f"  {'(rest of step)':<24} {1e3 * other / steps:8.1f} ms/step  {100 * other / total:5.1f}%")

    # memory: one more month under tracemalloc (numpy reports its allocations to it)
    for v in times.values():
        v.clear()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    model.step()
    step_peak = max(tracemalloc.get_traced_memory()[1], peaks.pop("(absolute)", 0)) - start
    tracemalloc.stop()
    out["state_bytes_per_household"] = model_array_bytes(model) / n
    out["step_peak_alloc_bytes_per_household"] = step_peak / n
    out["process_peak_alloc_bytes_per_household"] = {k: v / n for k, v in peaks.items()}
    print(f"\n=== memory allocated within one month above the model's state, N={n:,} (tracemalloc) ===")
    print(f"  arrays kept between steps: {out['state_bytes_per_household']:.0f} B/household; peak allocated "
          f"during the step: {step_peak / n:.0f} B/household")
    for k, v in peaks.items():
        print(f"  {k:<24} peak {v / n:6.0f} B/household")

    # costs of single operations on the state at the end of the run, and the compiled decision against its array
    # statement on the same inputs (one month's decision of every household in one block)
    from simulator.model.households import status_by_origin
    from simulator.model.households import AT_HOME, FAMILY_ABROAD, N_STATUSES
    from simulator.model.outputs import WEALTH_QUINTILES, month_sums
    h = model.households
    status, origin = h.status, h.origin
    n_o = model.world.n_origins
    rng = np.random.default_rng(0)
    captured = {}
    kernel = model_module.decide_households

    def spy(*a, **kw):
        captured["args"], captured["kwargs"] = a, dict(kw, income_per_adult=kw["income_per_adult"].copy())
        return kernel(*a, **kw)
    model.decision_block = n
    model_module.decide_households = spy
    try:
        if model.t < model.n_steps:
            model.step()
    finally:
        model_module.decide_households = kernel
    width = model.month_options().uniforms_per_household
    buffer = np.empty((min(n, 65_536), width), np.float32)

    def draws_in_blocks():
        for start in range(0, n, len(buffer)):
            rng.random(out=buffer[: min(len(buffer), n - start)], dtype=np.float32)
    ops = {
        f"the month's decision uniforms, (N, {width}) float32, drawn in blocks of 65,536 rows into one buffer":
            draws_in_blocks,
        "status_by_origin (compiled): every status by origin in one pass": lambda: status_by_origin(origin, status,
                                                                                                   n_o),
        "8 x np.bincount(origin, status == s): the same counts with numpy":
            lambda: [np.bincount(origin, status == s, n_o) for s in range(8)],
        "month_sums (compiled): the month's counts and sums by origin, wealth quintile and aspiration":
            lambda: month_sums(origin, status, model.quintile, model.persons_home, h.size, model.consumption,
                               h.wealth, h.aspiration, h.aspired, model.t, model.params.decisions.aspiration_months,
                               AT_HOME, FAMILY_ABROAD, n_o, N_STATUSES, len(WEALTH_QUINTILES)),
        "households.people_at_origin()": h.people_at_origin,
    }
    if "args" in captured:
        a, kw = captured["args"], captured["kwargs"]
        choice, trapped = kernel(*a, **kw)
        income = kw["income_per_adult"].copy()
        out["decision_check"] = oracle_check(a, kw, choice, trapped, income)
        ops["decide_households (compiled, what the model runs): every household's decision, one pass"] = \
            lambda: kernel(*a, **kw)
    out["operations_ms"] = {}
    print(f"\n=== single operations at N={n:,}: best and median of 9 calls ===")
    for name, fn in ops.items():
        best, med = micro(fn)
        out["operations_ms"][name] = {"best": 1e3 * best, "median": 1e3 * med}
        print(f"  {1e3 * best:8.2f} ms {1e3 * med:8.2f} ms  {name}")
    if "decision_check" in out:
        c = out["decision_check"]
        print(f"  compiled decision against the naive oracle (tests/reference.py) on {c['sample']:,} households: "
              f"{c['deciders']:,} deciders ({c['movers']:,} move, {c['trapped']:,} trapped); choices differ for "
              f"{c['choice_mismatches']}, trapped for {c['trapped_mismatches']}; income per adult max abs "
              f"difference {c['income_max_abs_diff']:g}")
    return out


ORACLE_SAMPLE = 20_000   # households checked against the per-household oracle (about 20 us each in Python)


def oracle_check(args: tuple, kw: dict, choice, trapped, income) -> dict:
    """The compiled decision against the naive per-household oracle (tests/reference.py) on the first
    `ORACLE_SAMPLE` households of the captured call: counts of differing choices, trapped flags and incomes."""
    import numpy as np
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from reference import OptionRows, reference_decision
    (status, adults, persons, origin, skill, farm, loss, boost, memory, patience, risk, wealth, assets, skill_mult,
     uniforms, origin_wage, degradation, network, options, p, perception) = args
    floors = kw.get("credit_floor")
    m = min(ORACLE_SAMPLE, len(status))
    table = OptionRows(options)
    rows = [reference_decision(
        table, p, perception, origin_wage, degradation, network, status=int(status[i]), adults=int(adults[i]),
        origin=int(origin[i]), skill=int(skill[i]), skill_mult=float(skill_mult[i]), farm=float(farm[i]),
        loss=float(loss[i]), boost=float(boost[i]), memory=float(memory[i]), patience=float(patience[i]),
        risk=float(risk[i]), wealth=float(wealth[i]), assets=float(assets[i]), uniforms=uniforms[i],
        persons=int(persons[i]), subsistence_usd=float(kw.get("subsistence_usd", 0.0)),
        floor=None if floors is None else float(floors[int(origin[i])]))
        for i in range(m)]
    expected_income, expected_choice, expected_trapped, _ = (np.array(c) for c in zip(*rows))
    return {"sample": m, "deciders": int(np.count_nonzero(choice[:m] >= 0)),
            "movers": int(np.count_nonzero(choice[:m] > 0)), "trapped": int(np.count_nonzero(trapped[:m])),
            "choice_mismatches": int(np.count_nonzero(choice[:m] != expected_choice)),
            "trapped_mismatches": int(np.count_nonzero(trapped[:m] != expected_trapped)),
            "income_max_abs_diff": float(np.max(np.abs(income[:m] - expected_income)))}


# --- plot --------------------------------------------------------------------------------------------------------

def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    rows = [r for r in results["rows"] if "fast" in r and "throughput" in r["fast"]]
    fig, ax = plt.subplots(figsize=(7, 5.5))
    xs = [r["n"] for r in rows]
    med = [r["fast"]["throughput"]["median"] / 1e6 for r in rows]
    lo = [m - r["fast"]["throughput"]["min"] / 1e6 for m, r in zip(med, rows)]
    hi = [r["fast"]["throughput"]["max"] / 1e6 - m for m, r in zip(med, rows)]
    ax.errorbar(xs, med, yerr=[lo, hi], marker="o", capsize=4,
                label=f"fast path (numpy columns), median and min-max of {rows[0]['fast']['repeats']} runs")
    nv = [r for r in rows if "naive" in r and "throughput" in r["naive"]]
    nmed = []
    if nv:
        nmed = [r["naive"]["throughput"]["median"] / 1e6 for r in nv]
        nlo = [m - r["naive"]["throughput"]["min"] / 1e6 for m, r in zip(nmed, nv)]
        nhi = [r["naive"]["throughput"]["max"] / 1e6 - m for m, r in zip(nmed, nv)]
        ax.errorbar([r["n"] for r in nv], nmed, yerr=[nlo, nhi], marker="s", capsize=4,
                    label="naive per-agent Mesa model (benchmarks/naive_model.py), median and min-max")
    for x, y, r in zip(xs, med, rows):
        label = f"{y:.2f} M" + (f" ({r['steps']}-month runs)" if r["steps"] != rows[0]["steps"] else "")
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    for r, y in zip(nv, nmed):
        ax.annotate(f"{1e3 * y:.0f} k", (r["n"], y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.axhline(TARGET_THROUGHPUT / 1e6, color="grey", linestyle="--",
               label="target: 5 M household-steps/s at 1M households")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("households N (log scale)")
    ax.set_ylabel("throughput (million household-steps per second, log scale)")
    ax.set_title("Simulation throughput against population size\n(one household-step = one household, one month)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    m = results["meta"]["machine"]
    fig.text(0.99, 0.01, f"{m['cpu']}, {m['logical_cpus']} shared vCPUs; {results['meta']['date'][:10]}",
             ha="right", va="bottom", fontsize=7, color="grey")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    say(f"wrote {path}")


# --- command line ------------------------------------------------------------------------------------------------

def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_results(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="households N")
    ap.add_argument("--repeats", type=int, default=3, help="fresh runs per size (median, min, max)")
    ap.add_argument("--steps", type=int, default=24, help="months per fast-path run for N <= 1,000,000")
    ap.add_argument("--large-steps", type=int, default=6, help="months per fast-path run for N > 1,000,000")
    ap.add_argument("--naive-max", type=int, default=100_000, help="largest N for the naive model")
    ap.add_argument("--world", metavar="FOLDER",
                    help="a world folder, or a shipped world's name, for this version's fast runs (default: the "
                         "default world); runs of --against use that commit's default world; the naive model runs "
                         "the one-city world only, so the naive runs need --world one_city")
    ap.add_argument("--naive-steps", type=int, default=6, help="months per naive run")
    ap.add_argument("--view-max", type=int, default=100_000,
                    help="largest N at which the build is measured with both view settings")
    ap.add_argument("--against", metavar="REV",
                    help="also measure the simulator of another commit (e.g. a tag or hash) in the same run, in "
                         "every repeat beside this version's (alternately after and before it) with the same seed: "
                         "throughput and memory side by side, and their ratio over paired repeats")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads of the model's household decision (MigrationModel(threads=...)) in the fast runs")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first repeat (repeat r uses seed + r)")
    ap.add_argument("--output", type=Path, default=RESULTS, help="JSON file for the figures")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment variable for the measured child processes (repeatable), e.g. "
                         "MALLOC_MMAP_MAX_=0 to test the allocator's effect")
    ap.add_argument("--profile", action="store_true",
                    help="only profile one fast-path run at the largest N (cProfile top 25 by cumulative and by "
                         "total time, wall time and memory per process, single-operation costs, the compiled "
                         "decision against the naive oracle on a sample); stored under 'profile'")
    ap.add_argument("--sweep", action="store_true",
                    help="only measure a sweep on 1 and 2 worker processes (speed-up, identical results); "
                         "stored under 'sweep'")
    ap.add_argument("--sweep-households", type=int, default=200_000, help="households per run of --sweep")
    ap.add_argument("--sweep-months", type=int, default=60, help="months per run of --sweep")
    ap.add_argument("--sweep-seeds", type=int, default=4, help="seeds per scenario of --sweep (2 scenarios)")
    ap.add_argument("--main-job", type=int, metavar="R", default=0,
                    help="only time the main job, `python run.py`, R times (each with an empty result cache and a job "
                         "folder of its own, numba's cache warm): median, min and max wall time and the seconds per "
                         "run; with --against REV (a commit, or the folder of a checkout such as a git worktree) the "
                         "same job of that version alternately after and before this one; stored under 'main_job'")
    ap.add_argument("--cold-kernels", action="store_true",
                    help="with --main-job: every job starts with an empty numba cache of its own (NUMBA_CACHE_DIR), "
                         "so it compiles every kernel, as the first run of a fresh clone does")
    ap.add_argument("--plot", type=Path, metavar="PNG", help="only draw throughput against N from --output")
    ap.add_argument("--report", action="store_true", help="only print the table again from --output")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.cold_kernels and not args.main_job:
        ap.error("--cold-kernels times the main job: give it with --main-job R")
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.plot:
        plot(load_results(args.output), args.plot)
        return
    if args.report:
        print_report(load_results(args.output))
        return
    if args.repeats < 1 or args.steps < 1 or args.large_steps < 1 or args.naive_steps < 1:
        ap.error("--repeats and the step counts must be at least 1")
    if args.world:
        folder = Path(args.world) if Path(args.world).is_dir() else WORLDS / args.world
        if not folder.is_dir():
            shipped = ", ".join(sorted(p.name for p in WORLDS.iterdir() if p.is_dir()))
            ap.error(f"--world {args.world}: not a folder nor a shipped world ({shipped})")
        args.world = str(folder.resolve())
    if args.world != str((WORLDS / "one_city").resolve()):
        args.naive_max = 0   # the naive model runs the one-city world only: no like-for-like comparison elsewhere
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            ap.error(f"--env expects KEY=VALUE, got {item!r}")
        CHILD_ENV[key] = value
    previous = load_results(args.output)
    if args.main_job:
        job = main_job(args)
        job["date"] = _dt.datetime.now().isoformat(timespec="seconds")
        job["machine"] = machine_info()
        previous["main_job"] = job
        args.output.write_text(json.dumps(previous, indent=1))
        say(f"wrote the main job's figures into {args.output}")
        return
    if args.sweep:
        sweep = sweep_scaling(args)
        sweep["date"] = _dt.datetime.now().isoformat(timespec="seconds")
        sweep["code"] = code_state()
        previous["sweep"] = sweep
        args.output.write_text(json.dumps(previous, indent=1))
        say(f"wrote the sweep figures into {args.output}")
        return
    if args.profile:
        for k, v in SINGLE_THREAD.items():
            os.environ.setdefault(k, v)
        prof = profile(args)
        prof["date"] = _dt.datetime.now().isoformat(timespec="seconds")
        prof["code"] = code_state()
        prof["load_average"] = os.getloadavg()
        prof["python_executable"] = sys.executable
        previous["profile"] = prof
        args.output.write_text(json.dumps(previous, indent=1))
        say(f"wrote the profile into {args.output}")
        return
    res = benchmark(args)
    for kept in ("profile", "sweep"):
        if kept in previous:
            res[kept] = previous[kept]
    print_report(res)
    args.output.write_text(json.dumps(res, indent=1))
    say(f"wrote {args.output}")


if __name__ == "__main__":
    main()
