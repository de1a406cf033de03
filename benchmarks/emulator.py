"""Benchmark of emulation (simulator/experiments/emulate.py): design runs per second on all cores, and the time to fit
and to predict with each kind of emulator.

    python benchmarks/emulator.py                      # 32 points x 2 seeds of 5,000 households x 20 years, 3 repeats
    python benchmarks/emulator.py --dataset outputs/emulate/<date>_<time>/emulator.nc   # fit on a real design
    python benchmarks/emulator.py --optimise 1         # the wall time of experiment=optimise, from an empty cache
    python benchmarks/emulator.py --optimise 3 --emulators outputs/optimise/<date>_<time>/emulators   # without fits

Design runs: the levers of configs/experiment/emulate.yaml, a Sobol' design of `--points` points under `--seeds`
seeds, run through `run_all` (the cached parallel runner) on `--workers` processes (0 = all cores) into a fresh,
empty cache each repeat; runs per second = runs / wall time, household-steps per second = runs x households x months
/ wall time. Fitting: every outcome of the design (the last repeat's, or `--dataset`'s training design), each kind
of emulator fitted `--repeats` times; prediction: the fitted emulator of each kind at `--predict-points` random
points (what an optimiser asks of it in a generation), `--repeats` times. Medians with min-max; wall-clock on
whatever else the machine is running. Figures are printed and written to `--output` (JSON).

With `--optimise R`, instead: `python run.py experiment=optimise` (the shipped experiment on the default world, at
`--households` and `--years`) run R times as a command, each into a fresh, empty result cache and output folder: its
wall time, the peak memory of the command and its workers, and the time of each step from the attributes of the
front.nc it wrote (the emulators' runs and fits, the search, the model re-runs, the budget ladder and its check).
`--emulators DIR` gives the emulators of an earlier job (DIR/<outlook>/emulator.joblib), so that no emulator is
fitted and the other steps are timed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
import yaml  # noqa: E402

from simulator.config import EmulateConfig, EmulateLever, RunConfig  # noqa: E402
from simulator.experiments.emulate import (KINDS, base_definition, designs, fit_outcome, make_levers,  # noqa: E402
                                           point_config, read_all, run_outcomes, to_values)
from simulator.experiments.comparison import run_all  # noqa: E402
from simulator.experiments.sensitivity import experiment_base, sample_outputs  # noqa: E402


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "values": values}


def shipped_levers() -> tuple[list[EmulateLever], dict]:
    """The levers and fixed intervention settings of configs/experiment/emulate.yaml."""
    data = yaml.safe_load((ROOT / "configs" / "experiment" / "emulate.yaml").read_text(encoding="utf-8"))
    e = data["emulate"]
    return [EmulateLever(lv["name"], lv["bounds"]) for lv in e["levers"]], e.get("interventions") or {}


def design_runs(args: argparse.Namespace) -> tuple[dict, np.ndarray, np.ndarray]:
    """Time the design's runs, each repeat into an empty cache; return the figures and the last design's unit
    points and seed-averaged outcomes."""
    entries, fixed = shipped_levers()
    levers = make_levers(entries)
    e = EmulateConfig(levers=entries, interventions=fixed, samples=args.points, test_samples=2, seeds=args.seeds)
    cfg = RunConfig(n_households=args.households, years=args.years, progress=False)
    base = dataclasses.replace(experiment_base(cfg), emulate=EmulateConfig())
    unit = designs(e, len(levers))[0]
    values = to_values(unit, levers)
    base_def = base_definition(base)
    seconds, outcomes = [], None
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            configs = [point_config(base, levers, row, fixed, e.start_year, Path(cache) / "scenarios", seed, base_def)
                       for row in values for seed in range(args.seeds)]
            start = time.perf_counter()
            paths = run_all(configs, cache, args.workers, progress=False)
            seconds.append(time.perf_counter() - start)
            runs = read_all(run_outcomes, paths)
        print(f"  repeat {r + 1}: {len(configs)} runs in {seconds[-1]:.1f} s", flush=True)
        outputs = list(EmulateConfig().outputs)
        outcomes = np.array([sample_outputs(runs[i * args.seeds:(i + 1) * args.seeds], outputs)[1]
                             for i in range(len(values))])
    n_runs = len(values) * args.seeds
    months = round(args.years * 12)
    result = {"runs": n_runs, "households": args.households, "months": months,
              "workers": args.workers or os.cpu_count(), "seconds": stats(seconds),
              "runs_per_second": stats([n_runs / s for s in seconds]),
              "household_steps_per_second": stats([n_runs * args.households * months / s for s in seconds])}
    return result, unit, outcomes


def fitting(unit: np.ndarray, outcomes: np.ndarray, names: list[str], args: argparse.Namespace) -> dict:
    """Time fitting each kind of emulator to every outcome, and predicting at many points."""
    rng = np.random.default_rng(0)
    points = rng.random((args.predict_points, unit.shape[1]))
    result = {"design_points": int(unit.shape[0]), "levers": int(unit.shape[1]), "outputs": names,
              "predict_points": args.predict_points}
    for kind in KINDS:
        fit_s, predict_s = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fitted = [fit_outcome(kind, unit, outcomes[:, k], 0.9, 0) for k in range(outcomes.shape[1])]
            fit_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            for em in fitted:
                em.predict(points)
            predict_s.append(time.perf_counter() - start)
        result[kind] = {"fit_seconds_all_outputs": stats(fit_s), "fit_seconds_per_output":
                        stats([s / len(names) for s in fit_s]), "predict_seconds_all_outputs": stats(predict_s),
                        "predictions_per_second": stats([args.predict_points * len(names) / s for s in predict_s])}
    return result


STEPS = (("emulators: runs and fits", "fit_seconds"), ("the search", "search_seconds"),
         ("model re-runs", "run_seconds"), ("budget ladder", "ladder_seconds"),
         ("ladder's model check", "check_seconds"), ("inside the experiment", "elapsed_seconds"))


def optimise_job(args: argparse.Namespace) -> dict:
    """Time `python run.py experiment=optimise` as a command, `args.optimise` times, each from an empty cache."""
    walls, peaks, steps = [], [], {name: [] for _, name in STEPS}
    for r in range(args.optimise):
        with tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, str(ROOT / "run.py"), "experiment=optimise",
                       f"n_households={args.households}", f"years={args.years:g}",
                       f"compare.cache_dir={Path(folder) / 'cache'}", f"hydra.run.dir={Path(folder) / 'job'}",
                       "progress=false"]
            if args.emulators is not None:
                command += [f"optimise.emulators.{o}={(args.emulators / o / 'emulator.joblib').resolve()}"
                            for o in ("current", "severe")]
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            start = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            walls.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"experiment=optimise failed:\n{done.stderr[-2000:]}")
            # the largest resident set of any child process so far (kB on Linux): the job, or one of its workers
            peaks.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
            with xr.open_dataset(Path(folder) / "job" / "front.nc", engine="netcdf4") as ds:
                for _, name in STEPS:
                    steps[name].append(float(ds.attrs.get(name, float("nan"))))
        print(f"  repeat {r + 1}: {walls[-1]:.1f} s", flush=True)
    return {"households": args.households, "years": args.years, "emulators_given": args.emulators is not None,
            "wall_seconds": stats(walls), "peak_rss_mib": stats(peaks),
            "steps_seconds": {label: stats(steps[name]) for label, name in STEPS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=5000, help="households per run (default 5000)")
    parser.add_argument("--years", type=float, default=20.0, help="years per run (default 20)")
    parser.add_argument("--points", type=int, default=32, help="design points, a power of 2 (default 32)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per point (default 2)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes, 0 = all cores (default)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of every measurement (default 3)")
    parser.add_argument("--predict-points", type=int, default=10_000, help="points per prediction (default 10000)")
    parser.add_argument("--dataset", type=Path, help="an emulator.nc whose training design the fits use")
    parser.add_argument("--skip-runs", action="store_true", help="only the fits (needs --dataset)")
    parser.add_argument("--optimise", type=int, default=0, metavar="R",
                        help="instead: time python run.py experiment=optimise R times, each from an empty cache")
    parser.add_argument("--emulators", type=Path, help="with --optimise: a folder of emulators/<outlook>/ to reuse")
    parser.add_argument("--output", type=Path, default=HERE / "emulator_results.json", help="the JSON written")
    args = parser.parse_args()
    if args.skip_runs and args.dataset is None:
        parser.error("--skip-runs needs --dataset")
    if args.emulators is not None and not args.optimise:
        parser.error("--emulators goes with --optimise")
    if args.emulators is not None and not all((args.emulators / o / "emulator.joblib").is_file()
                                              for o in ("current", "severe")):
        parser.error(f"--emulators {args.emulators}: expected current/emulator.joblib and severe/emulator.joblib in it")
    started = time.perf_counter()
    results: dict = {"machine": {"cpus": os.cpu_count()}}
    if args.optimise:
        print(f"experiment=optimise: {args.households} households x {args.years:g} years, {args.optimise} repeat(s)"
              + (f", emulators from {args.emulators}" if args.emulators else ", from an empty cache"), flush=True)
        o = results["optimise"] = optimise_job(args)
        w = o["wall_seconds"]
        print(f"wall time: {w['median']:.1f} s (min {w['min']:.1f}, max {w['max']:.1f}); peak memory of a process: "
              f"{o['peak_rss_mib']['median']:.0f} MiB")
        for label, s in o["steps_seconds"].items():
            print(f"  {label}: {s['median']:.1f} s (min {s['min']:.1f}, max {s['max']:.1f})")
        results["elapsed_s"] = time.perf_counter() - started
        args.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(f"wrote {args.output}")
        return
    unit = outcomes = None
    names = list(EmulateConfig().outputs)
    if not args.skip_runs:
        print(f"design runs: {args.points} points x {args.seeds} seeds, {args.households} households x "
              f"{args.years:g} years, {args.workers or os.cpu_count()} workers", flush=True)
        results["design_runs"], unit, outcomes = design_runs(args)
        d = results["design_runs"]
        print(f"design runs per second: {d['runs_per_second']['median']:.2f} (min {d['runs_per_second']['min']:.2f}, "
              f"max {d['runs_per_second']['max']:.2f}); household-steps per second: "
              f"{d['household_steps_per_second']['median'] / 1e6:.2f} M", flush=True)
    if args.dataset is not None:
        with xr.open_dataset(args.dataset, engine="netcdf4") as ds:
            unit, outcomes = ds["train_unit_inputs"].values, ds["train_mean"].values
            names = [str(o) for o in ds["output"].values]
    results["fitting"] = fitting(unit, outcomes, names, args)
    f = results["fitting"]
    print(f"fitting on {f['design_points']} points x {f['levers']} levers, {len(names)} outcomes:")
    for kind in KINDS:
        k = f[kind]
        print(f"  {kind}: fit {k['fit_seconds_per_output']['median']:.3f} s per outcome (min "
              f"{k['fit_seconds_per_output']['min']:.3f}, max {k['fit_seconds_per_output']['max']:.3f}); predict "
              f"{args.predict_points:,} points x {len(names)} outcomes in "
              f"{k['predict_seconds_all_outputs']['median']:.3f} s "
              f"({k['predictions_per_second']['median'] / 1e6:.2f} M predictions per second)")
    results["elapsed_s"] = time.perf_counter() - started
    args.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
