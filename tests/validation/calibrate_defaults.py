"""The search that set the default behavioural parameters: pattern-oriented, on the validation cases themselves.

Each candidate parameter set runs the validation experiments (simulator/experiments/validation.py) on 3 seeds (the
suite checks 8) and is scored by their `penalty`: zero when every case lies inside its band with a margin, growing
with the distance outside it (log ratios for rates and ratios, shortfalls of the z scores for the direction checks).
Case 3's strong-diaspora selection (which no candidate of the searches reached) has a small weight, so that it does
not steer the others. `python run.py experiment=calibrate` searches with the same score (one process per core).
The network's loans (`decisions.network_loan_share`, `network_loan_half`, `network_loan_power`), which
made case 3 pass, are not in `SPACE`: they were set by hand after the searches (docs/validation.md, Calibration), and
a search run now scores every candidate with the default loans.

The stages, as run for the defaults (docs/validation.md, "Calibration"), and a check of a calibration's fit:

    python tests/validation/calibrate_defaults.py sobol START COUNT OUT.jsonl
        quasi-random points START .. START+COUNT-1 of a scrambled Sobol sequence (scipy.stats.qmc, seed 12) over
        SPACE; each line of OUT.jsonl is one candidate: its parameters, its figures and its penalty.
    python tests/validation/calibrate_defaults.py local FROM.jsonl SEED COUNT OUT.jsonl
        a local random search from the best candidate of FROM.jsonl (scored again): COUNT steps, each perturbing a
        random half of the parameters by a normal step of 0.07 of their range (numpy seed SEED), kept when the
        penalty falls.
    python tests/validation/calibrate_defaults.py line PARAMETER LOW HIGH COUNT OUT.jsonl
        one parameter alone, the others at the defaults: a bounded Brent search (scipy.optimize.minimize_scalar)
        of the penalty over [LOW, HIGH], at most COUNT candidates; to set a constant again after a change of the
        model that moves it.

    python tests/validation/calibrate_defaults.py held_out CALIBRATION.json SETS
        the defaults and the calibrated model of a run of `python run.py experiment=calibrate` (its calibration.json:
        every model parameter it set) scored on SETS sets of seeds the search did not see (as many seeds a set as the
        search ran: 3-5, 6-8, ... for 3), paired: the calibration's own held-out check (`calibration.held_out_check`)
        with the defaults in place of the search's start.

Run from the repository root. A candidate takes about 30 s on one core; the stages can run side by side (one process
per core) and each appends to its own file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import qmc

from simulator.experiments.calibration import held_out_check, held_out_lines, validation_figures
from simulator.experiments.validation import SEARCH_SEEDS, SPACE, figures, penalty
from simulator.params import ModelParams


def _candidate(u: np.ndarray) -> dict[str, float]:
    values = {k: lo + ui * (hi - lo) for (k, (lo, hi)), ui in zip(SPACE.items(), u)}
    values["decisions.aspiration_months"] = int(round(values["decisions.aspiration_months"]))
    return values


def _record(out: str, values: dict[str, float]) -> float:
    m = figures(values, SEARCH_SEEDS)
    score = penalty(m)
    with open(out, "a") as f:
        f.write(json.dumps({"x": values, "m": m, "pen": score}) + "\n")
    return score


def sobol(start: int, count: int, out: str) -> None:
    points = qmc.Sobol(len(SPACE), scramble=True, seed=12).random(512)[start:start + count]
    for u in points:
        _record(out, _candidate(u))


def local(origin: str, seed: int, count: int, out: str) -> None:
    rows = [json.loads(line) for line in open(origin)]
    start = min(rows, key=lambda r: r["pen"])
    lo, hi = (np.array([b[i] for b in SPACE.values()]) for i in (0, 1))
    defaults = ModelParams()   # a parameter the candidate does not set (a `line` search's others) is the default's
    x = {k: start["x"].get(k, getattr(getattr(defaults, k.split(".")[0]), k.split(".")[1])) for k in SPACE}
    u = (np.array([x[k] for k in SPACE]) - lo) / (hi - lo)
    best = _record(out, _candidate(u))   # scored again: the penalty may have changed since
    rng = np.random.default_rng(seed)
    for step in range(count):
        v = np.clip(u + rng.normal(0, 0.07, len(u)) * (rng.random(len(u)) < 0.5), 0, 1)
        score = _record(out, _candidate(v))
        if score < best:
            best, u = score, v
            print(f"step {step}: penalty {score:.3f}", flush=True)


def line(parameter: str, low: float, high: float, count: int, out: str) -> None:
    result = minimize_scalar(lambda x: _record(out, {parameter: float(x)}), bounds=(low, high), method="bounded",
                             options={"maxiter": count, "xatol": 0.01 * (high - low)})
    print(f"{parameter} = {result.x:.4g}: penalty {result.fun:.4f} after {result.nfev} candidates", flush=True)


def held_out(path: str, sets: int) -> None:
    if sets < 2:
        sys.exit(f"held_out: SETS = {sets}; at least 2, so that the paired difference has a standard error")
    fit = json.loads(Path(path).read_text(encoding="utf-8"))
    if fit.get("objective_kind") != "validation":
        sys.exit(f"held_out: {path} is not a calibration on the validation cases (python run.py experiment=calibrate)")
    size = len(fit["seeds"])   # the k-th set: seeds size * k .. size * (k + 1) - 1, after the search's 0 .. size - 1
    fitted = {f"{group}.{key}": value for group, keys in fit["model"].items() for key, value in keys.items()}

    def scores(candidates: list[dict[str, float]], on: list[int]) -> list[tuple[float, dict]]:
        figures = validation_figures(candidates, on, "outputs/cache")
        return [(penalty(m), m) for m in figures]

    h = held_out_check([{}, fitted], sets, size, scores, progress=True)
    for on, a, b in zip(h["seed_sets"], h["start"], h["fitted"]):
        print(f"seeds {on[0]}-{on[-1]}: defaults {a:.4f}, fit {b:.4f}")
    print("\n".join(held_out_lines(h, start="the defaults")))


if __name__ == "__main__":
    stage, *args = sys.argv[1:]
    if stage == "sobol":
        sobol(int(args[0]), int(args[1]), args[2])
    elif stage == "local":
        local(args[0], int(args[1]), int(args[2]), args[3])
    elif stage == "line":
        line(args[0], float(args[1]), float(args[2]), int(args[3]), args[4])
    elif stage == "held_out":
        held_out(args[0], int(args[1]))
    else:
        sys.exit(__doc__)
