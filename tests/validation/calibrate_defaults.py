"""The search that set the default behavioural parameters: pattern-oriented, on the validation cases themselves.

Each candidate parameter set runs the experiments of this folder (validation_experiments.py) on 3 seeds (the suite
checks 8) and is scored by `penalty`: zero when every case lies inside its band with a margin, growing with the
distance outside it (log ratios for rates and ratios, shortfalls of the z scores for the direction checks). Case 3's
strong-diaspora selection (which no candidate of the searches reached) has a small weight, so that it does not steer
the others. The network's loans (`decisions.network_loan_share`, `network_loan_half`, `network_loan_power`), which
made case 3 pass, are not in `SPACE`: they were set by hand after the searches (docs/validation.md, Calibration), and
a search run now scores every candidate with the default loans.

Two stages, as run for the defaults (docs/validation.md, "Calibration"):

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

Run from the repository root. A candidate takes about 30 s on one core; the stages can run side by side (one process
per core) and each appends to its own file.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import qmc

sys.path.insert(0, str(Path(__file__).resolve().parent))
import validation_experiments as V  # noqa: E402
from simulator.params import ModelParams  # noqa: E402

SEEDS = (0, 1, 2)
SPACE = {   # dotted parameter: bounds searched
    "decisions.subsistence_weight": (0.2, 0.9), "decisions.beta_income": (2.0, 4.0),
    "decisions.asc_internal": (-10.0, -7.0), "decisions.asc_regular": (-7.0, -4.0),
    "decisions.asc_irregular": (-9.0, -5.0), "decisions.beta_cost": (0.3, 2.0),
    "decisions.beta_wait": (0.1, 0.8), "decisions.aspiration_months": (24, 120),
    "decisions.credit_floor_share": (0.0, 1.0), "decisions.network_cost_cut": (0.2, 0.9),
    "budget.aspiring_consumption_share": (0.5, 0.95), "decisions.nest_lambda": (0.2, 0.8)}
EXPERIMENTS = (V.liquidity_relief, V.trapped_populations, V.networks, V.regular_places, V.development,
               V.default_world_runs, V.disasters, V.substitution)


def figures(values: dict[str, float]) -> dict[str, object]:
    """The validation figures of a parameter set, on `SEEDS`."""
    V.OVERRIDES.clear()
    V.OVERRIDES.update(values)
    for experiment in EXPERIMENTS:
        experiment.cache_clear()
    m: dict[str, object] = {"c1": 100 * V.liquidity_relief("poor", seeds=SEEDS).effect.mean}
    r = V.trapped_populations(seeds=SEEDS)
    m["c2_trap_z"], m["c2_sel_z"] = r.trapped_rise.z, r.poorest_minus_richest.z
    r = V.networks(seeds=SEEDS)
    m["c3_dep_z"], m["c3_wealth_z"] = r.departures_rise.z, r.leaver_wealth_change.z
    m["c3_diaspora"] = float(r.intl_leavers_diaspora.mean())
    m["c4_el"] = V.regular_places(seeds=SEEDS).elasticity().mean
    m["c6"] = V.development(seeds=SEEDS).international.mean(axis=0).round(2).tolist()
    r = V.default_world_runs(seeds=SEEDS)
    m["c7"], m["c8"] = float(r.aspiration_ratio.mean()), float(r.oversubscription.mean())
    m["c10"] = float(100 * r.abroad_share.mean())
    m["internal"], m["international"] = float(r.internal.mean()), float(r.international.mean())
    m["irregular_share"] = float(r.irregular_share.mean())
    m["c11"] = V.substitution(seeds=SEEDS).avoided_per_place.mean
    r = V.disasters(seeds=SEEDS)
    m["c9"], m["c9_z"] = float(r.internal_share), r.internal.z
    return m


def penalty(m: dict) -> float:
    """0 when every case lies inside its band with a margin; the squared distance outside it otherwise."""
    def lg(a: float) -> float:
        return math.log(max(a, 1e-3))
    p = 0.5 * lg(m["c1"] / 22) ** 2 + 4 * max(0, lg(15 / m["c1"]), lg(m["c1"] / 30)) ** 2
    p += 0.1 * max(0, 2.5 - m["c2_trap_z"]) ** 2 + 0.1 * max(0, m["c2_sel_z"] + 2.5) ** 2
    p += 0.1 * max(0, 2.5 - m["c3_dep_z"]) ** 2 + 0.1 * max(0, m["c3_wealth_z"] + 2.5) ** 2
    p += 0.05 * (max(0, m["c3_diaspora"] - 0.5) / 0.1) ** 2
    p += 4 * max(0, m["c4_el"] + 0.1, -1 - m["c4_el"]) ** 2
    levels = m["c6"]
    peak = int(np.argmax(levels))
    p += 0 if peak in (1, 2, 3) else 1.0
    # the rising side (case 6's first check): departures at 0.15 of the destination's income well above those at 0.025
    p += 4 * max(0, lg(1.5 * levels[0] / levels[2])) ** 2
    p += (max(0, levels[4] / levels[peak] - 0.5) / 0.1) ** 2
    p += 4 * max(0, lg(6.5 / m["c7"])) ** 2 + 4 * max(0, lg(4 / m["c8"])) ** 2
    p += (max(0, 0.85 - m["c9"]) / 0.05) ** 2
    p += 10 * max(0, lg(2.5 / m["c10"]), lg(m["c10"] / 4.2)) ** 2
    p += 4 * max(0, lg(0.4 / m["c11"]), lg(m["c11"] / 0.9)) ** 2
    if "internal" in m:   # the default world's flows, within the ranges of its README
        p += 4 * max(0, lg(20 / m["internal"]), lg(m["internal"] / 50)) ** 2
        p += 4 * max(0, lg(12 / m["international"]), lg(m["international"] / 26)) ** 2
        p += 4 * max(0, lg(0.08 / m["irregular_share"]), lg(m["irregular_share"] / 0.5)) ** 2
    return p


def _candidate(u: np.ndarray) -> dict[str, float]:
    values = {k: lo + ui * (hi - lo) for (k, (lo, hi)), ui in zip(SPACE.items(), u)}
    values["decisions.aspiration_months"] = int(round(values["decisions.aspiration_months"]))
    return values


def _record(out: str, values: dict[str, float]) -> float:
    m = figures(values)
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


if __name__ == "__main__":
    stage, *args = sys.argv[1:]
    if stage == "sobol":
        sobol(int(args[0]), int(args[1]), args[2])
    elif stage == "local":
        local(args[0], int(args[1]), int(args[2]), args[3])
    elif stage == "line":
        line(args[0], float(args[1]), float(args[2]), int(args[3]), args[4])
    else:
        sys.exit(__doc__)
