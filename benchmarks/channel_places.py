"""Places granted by the regular channels per 1,000 households, by model size: does a small sample grant the places a
large one does? (docs/performance.md, "Channels whose monthly capacity is a fraction of a place").

    python benchmarks/channel_places.py                                  # 2,000 to 100,000 households
    python benchmarks/channel_places.py --sizes 5000 20000 --seeds 8 --scenario baseline

For each size, the mean over seeds 0..seeds-1 (one seed at 100,000 households and above, unless --seeds-large) of the
humanitarian visas, family reunifications (households that joined a migrant), regular visas issued and irregular
departures over the run, per 1,000 simulated households. A run of 100,000 households over 20 years takes about a
minute on one core.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from simulator.config import RunConfig
from simulator.experiments.runner import build_model

OUTCOMES = ("humanitarian_visas", "reunifications", "visas_issued")


def places(scenario: str, n: int, seed: int, years: float) -> list[float]:
    ds = build_model(RunConfig(scenario=scenario, n_households=n, years=years, seed=seed, progress=False)).run()
    counts = [float(ds[name].sum()) for name in OUTCOMES]
    counts.append(float(ds.emigrants.sel(pathway="irregular").sum()))
    return [c / n * 1000 for c in counts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 20000, 100000])
    parser.add_argument("--seeds", type=int, default=3, help="seeds below 100,000 households")
    parser.add_argument("--seeds-large", type=int, default=1, help="seeds at 100,000 households and above")
    parser.add_argument("--scenario", default="obj5_flexible_pathways",
                        help="a scenario whose humanitarian and family channels are open (default)")
    parser.add_argument("--years", type=float, default=20.0)
    args = parser.parse_args()
    print(f"{args.scenario}, {args.years:g} years; per 1,000 households over the run, mean over seeds (SE)")
    print(f"{'households':>10} {'seeds':>5}  " + "  ".join(f"{name:>22}" for name in (*OUTCOMES, "irregular")))
    for n in args.sizes:
        start = time.perf_counter()
        seeds = args.seeds if n < 100_000 else args.seeds_large
        rows = np.array([places(args.scenario, n, seed, args.years) for seed in range(seeds)])
        se = rows.std(axis=0, ddof=1) / np.sqrt(len(rows)) if len(rows) > 1 else np.full(rows.shape[1], np.nan)
        cells = "  ".join(f"{m:>14.2f} ({s:5.2f})" for m, s in zip(rows.mean(axis=0), se))
        print(f"{n:>10} {seeds:>5}  {cells}   {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
