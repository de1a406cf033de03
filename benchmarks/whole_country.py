"""A whole country, every household: one run of a world with all of its households (no sampling), its wall time,
throughput and peak memory, and how close sampled runs, scaled up, come to it.

Usage (from the repository root):

    python benchmarks/whole_country.py          # Bangladesh: 41,010,051 households, 10 years, seed 0; then samples
                                                # of 5,000, 20,000 and 100,000 households under seeds 0-7
    python benchmarks/whole_country.py --world guatemala --samples 2000 5000 --seeds 4 --threads 2
    python benchmarks/whole_country.py --report  # the tables again, from benchmarks/results.json

Every run goes through the result cache (`outputs/cache/` unless `--cache`), like a job of `run.py`: an interrupted
benchmark, run again, finds the runs it finished and measures only the rest; a whole-country run found in the cache
keeps the figures measured when it was made (benchmarks/results.json, under `whole_country`, by the run's key).

The whole-country run takes place in a child process of its own, so that its peak memory (`VmHWM` of
/proc/self/status, the high-water mark of the resident set) is its own: the build of the model (households drawn,
members, wealth) and the months are timed apart; throughput = households x months / time in the months.

The comparison: for each outcome of `simulator.experiments.metrics.run_metrics` that adds up over households
(departures by pathway, deaths, trapped household-months, remittances, intervention cost), a sampled run's total is
scaled to the world (times the world's households over the simulated ones: the model's quotas and vacancies are
scaled the other way, `simulator.model.places`), and set against the whole country's total. Reported per sample
size: the mean of the scaled totals across seeds with its 95% interval (Student t), the mean's relative difference
from the whole country, and the relative error a single seed makes (root mean square over the seeds), which is what
one run of that size can be trusted to. The whole-country run is itself one seed; at tens of millions of households
its own seed-to-seed spread is below the samples' (the relative error falls about as one over the square root of
the households), so it stands for the model's expected totals.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark import load_results, proc_status_bytes, say  # noqa: E402  (this folder: the other benchmark)
from simulator.config import RunConfig  # noqa: E402
from simulator.experiments.cache import ResultCache  # noqa: E402
from simulator.experiments.comparison import run_all, run_key  # noqa: E402
from simulator.experiments.metrics import run_metrics  # noqa: E402
from simulator.version import __version__  # noqa: E402
from simulator.world.tables import load_corridors, world_folder  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.json"
# outcomes that add up over households, so that a sample's total scales to the world's (run_metrics' names)
ADDITIVE = ("internal", "regular", "irregular", "deaths", "trapped", "remittances", "cost")
LABELS = {"internal": "internal moves", "regular": "regular departures", "irregular": "irregular departures",
          "deaths": "deaths on irregular journeys", "trapped": "trapped household-months",
          "remittances": "remittances (million USD)", "cost": "intervention cost (million USD)"}


def config(world: str, households: int, years: int, seed: int, threads: int = 1) -> RunConfig:
    return RunConfig(world=world, n_households=households, years=years, seed=seed, threads=threads, progress=True,
                     figures=False)


def whole_run(spec: dict) -> dict:
    """In the child: build and run the whole country, store it in the cache, report times and the peak memory."""
    from tqdm import tqdm

    from simulator.experiments.runner import build_model
    cfg = config(**spec["config"])
    start = time.perf_counter()
    model = build_model(dataclasses.replace(cfg, agent_view_limit=0))
    built = time.perf_counter()
    with tqdm(total=model.n_steps, unit="month", desc=f"{cfg.world}, {cfg.n_households:,} households",
              file=sys.stderr) as bar:
        ds = model.run(progress=lambda done: bar.update(done - bar.n))
    ran = time.perf_counter()
    months = model.n_steps
    del model
    ResultCache(spec["cache"]).put(spec["key"], ds)
    return {"households": cfg.n_households, "months": months, "build_s": built - start, "run_s": ran - built,
            "throughput": cfg.n_households * months / (ran - built), "peak_rss_bytes": proc_status_bytes("VmHWM"),
            "threads": cfg.threads, "cpu_s": time.process_time(), "load_before": spec["load_before"]}


def totals(path: Path) -> dict[str, float]:
    import xarray as xr
    with xr.open_dataset(path) as ds:
        m = run_metrics(ds.load())
        scale = float(ds.attrs["world_households"]) / float(ds.attrs["n_households"])
    return {name: float(m[name]) * scale for name in ADDITIVE}


def compare(whole: dict[str, float], samples: dict[int, list[dict[str, float]]]) -> dict:
    """Per sample size and outcome: mean scaled total, its 95% interval, relative difference from the whole
    country, and a single seed's root-mean-square relative error."""
    out: dict = {}
    for n, runs in samples.items():
        rows = {}
        for name in ADDITIVE:
            truth = whole[name]
            values = np.array([r[name] for r in runs])
            mean = float(values.mean())
            half = (float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
                    if len(values) > 1 else float("nan"))
            rel = (lambda v: (v - truth) / truth) if truth != 0 else (lambda v: float("nan"))
            rows[name] = {"mean": mean, "low": mean - half, "high": mean + half, "whole": truth,
                          "mean_rel": rel(mean), "seed_rmse_rel": float(np.sqrt(np.mean(rel(values) ** 2)))
                          if truth != 0 else float("nan"), "covers": bool(mean - half <= truth <= mean + half)}
        out[str(n)] = rows
    return out


def print_report(res: dict) -> None:
    w = res["whole"]
    print(f"Whole country: world {res['world']}, {w['households']:,} households, {w['months']} months, seed "
          f"{res['seed']}, {w['threads']} thread(s), simulator {res['version']} ({res['date']})")
    print(f"  build {w['build_s']:.0f} s, months {w['run_s']:.0f} s ({w['run_s'] / w['months']:.1f} s a month), "
          f"throughput {w['throughput'] / 1e6:.2f} M household-steps/s, peak memory {w['peak_rss_bytes'] / 1e9:.2f} GB "
          f"({w['peak_rss_bytes'] / w['households']:.0f} B per household); load average before "
          f"{w['load_before']:.2f}")
    print(f"Sampled runs scaled to the world against it ({res['seeds']} seeds per size; mean [95% interval]; "
          "difference of the mean; a single seed's RMS error):")
    for n, rows in res["comparison"].items():
        print(f"  {int(n):,} households (1 in {w['households'] / int(n):,.0f}):")
        for name, r in rows.items():
            if r["whole"] == 0 and r["mean"] == 0 and r["high"] == 0:
                print(f"    {LABELS[name]:32s} none in any run")
                continue
            print(f"    {LABELS[name]:32s} whole {r['whole']:14,.1f}  samples {r['mean']:14,.1f} [{r['low']:,.1f}, "
                  f"{r['high']:,.1f}]  {100 * r['mean_rel']:+6.1f}%  single seed {100 * r['seed_rmse_rel']:5.1f}%"
                  f"{'' if r['covers'] else '  (interval misses the whole country)'}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default="bangladesh", help="a shipped world or a world folder (default bangladesh)")
    ap.add_argument("--years", type=int, default=10, help="years of monthly steps (default 10)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the whole-country run (default 0)")
    ap.add_argument("--samples", type=int, nargs="+", default=[5_000, 20_000, 100_000],
                    help="households of the sampled runs (default 5000 20000 100000)")
    ap.add_argument("--seeds", type=int, default=8, help="seeds 0..K-1 of each sample size (default 8)")
    ap.add_argument("--threads", type=int, default=1, help="threads of the whole-country run (same results)")
    ap.add_argument("--workers", type=int, default=0, help="processes for the sampled runs (0: all cores)")
    ap.add_argument("--cache", type=Path, default=ROOT / "outputs" / "cache", help="result cache folder")
    ap.add_argument("--output", type=Path, default=RESULTS, help="JSON file for the figures")
    ap.add_argument("--report", action="store_true", help="only print the tables again from --output")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(whole_run(json.loads(args.child))))
        return
    previous = load_results(args.output)
    if args.report:
        if "whole_country" not in previous:
            ap.error(f"{args.output} has no whole-country figures: run the benchmark first")
        print_report(previous["whole_country"])
        return
    if args.years < 1 or args.seeds < 1 or min(args.samples) < 1:
        ap.error("--years, --seeds and every --samples size must be at least 1")
    try:
        households = load_corridors(world_folder(args.world)).households
    except Exception as error:   # an unknown world or a malformed table: the loader's message names it
        ap.error(f"--world {args.world}: {error}")
    whole_cfg = config(args.world, households, args.years, args.seed, args.threads)
    key = run_key(whole_cfg)
    cache = ResultCache(args.cache)
    kept = previous.get("whole_country", {})
    path = cache.get(key)
    if path is not None and kept.get("key") == key:
        say(f"the whole-country run is in the cache ({path}); its figures are those measured when it was made")
        whole = kept["whole"]
    else:
        say(f"whole country: {households:,} households of {args.world}, {args.years} years, seed {args.seed} "
            f"(every household; this takes a while: the progress bar says how long)")
        spec = {"config": {"world": args.world, "households": households, "years": args.years, "seed": args.seed,
                           "threads": args.threads}, "cache": str(args.cache), "key": key,
                "load_before": os.getloadavg()[0]}
        proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise SystemExit(f"the whole-country run failed (exit {proc.returncode}); its error is above")
        whole = json.loads(proc.stdout.strip().splitlines()[-1])
        path = cache.get(key)
    sample_cfgs = [dataclasses.replace(config(args.world, n, args.years, seed), progress=False)
                   for n in args.samples for seed in range(args.seeds)]
    say(f"sampled runs: {len(sample_cfgs)} ({', '.join(f'{n:,}' for n in args.samples)} households x "
        f"{args.seeds} seeds)")
    paths = run_all(sample_cfgs, args.cache, workers=args.workers)
    samples: dict[int, list[dict[str, float]]] = {}
    for cfg, p in zip(sample_cfgs, paths):
        samples.setdefault(cfg.n_households, []).append(totals(p))
    res = {"world": args.world, "years": args.years, "seed": args.seed, "seeds": args.seeds, "key": key,
           "version": __version__, "date": _dt.datetime.now().isoformat(timespec="seconds"), "whole": whole,
           "comparison": compare(totals(path), samples)}
    previous["whole_country"] = res
    tmp = args.output.with_name(f".{args.output.name}.tmp")
    tmp.write_text(json.dumps(previous, indent=1))
    tmp.replace(args.output)
    print_report(res)
    say(f"wrote {args.output}")


if __name__ == "__main__":
    main()
