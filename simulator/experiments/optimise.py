"""Optimisation: a budget-constrained multi-objective search over the policy levers of the emulators
(simulator/experiments/emulate.py), robust across climate outlooks, and the portfolios it chooses re-run with the model.

Decision variables: the emulators' intervention levers (`interventions.<intervention>.<setting>`), on their design
bounds. The emulators' model-parameter levers (uncertain behavioural parameters) are held at the run's values (the
calibrated defaults unless set on the command line), which must lie inside their design bounds.

Objectives, all minimised: each of `optimise.objectives` (an outcome to be raised, such as the poorest quintile's
consumption, enters with its sign flipped), predicted by the emulator of each climate outlook of `optimise.outlooks`
and aggregated across them: `worst` takes each objective's worst outlook, `mean` their mean. Constraint: the
emulated intervention cost (million USD over the run), in its worst outlook, at most `optimise.budget_musd`.

Search: NSGA-II (Deb et al. 2002 IEEE TEC 6(2)), pymoo's implementation, seeded by `optimise.seed`, so the same
settings give the same front. Emulator predictions take milliseconds, so the search costs seconds.

Re-runs: from the front, the portfolio best in each objective and a balanced one (nearest the ideal point after
each objective is scaled to [0, 1] over the front) are run with the model under seeds 0..seeds-1 in every outlook
(simulator/experiments/comparison.py `run_all`, through the result cache, so a rerun of the command resumes), as are
the named packages of `optimise.packages` (scenarios/). Emulator against model is reported for each with intervals;
for each package a second search with the package's cost as the budget gives the portfolio that best beats it as
emulated (`match_package`), which is re-run too; the package's cost is its emulated cost when the package is a point
of the levers' space (`package_point`), so that the package itself is a candidate, and its model cost otherwise.
Each package is then compared with the re-run portfolios that cost no more (model costs): a portfolio dominates it if
it is no worse in every aggregated objective and better in one.

Budget ladder (`run_ladder`): the search repeated in each outlook at each budget of `optimise.ladder_musd`, for each
objective alone, with all levers, with the Objective 2 levers only and with the Objective 5 levers only (the others
off), on the fitted emulators (`budget_ladder`): the best emulated value at each budget, what each extra million buys
(`marginal_gains`), which group is better where by the emulator's intervals (`compare_groups`), sentences that say so
(`ladder_sentence`), and each group's best for the first objective at the budget nearest `optimise.budget_musd` run
with the model.

An outlook without a file in `optimise.emulators` gets its emulator fitted here with the `emulate` settings
(`run_emulate` with `climate_outlook` set to it); the fitted emulators are written next to the results.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from scipy import stats  # noqa: E402

from simulator.config import OptimiseConfig, RunConfig, validate_run  # noqa: E402
from simulator.errors import ConfigError, InputError  # noqa: E402
from simulator.experiments.emulate import (EMULATE_OUTPUTS, PREFIX, Emulator, Lever, split_lever,  # noqa: E402
                                           base_definition, check_emulate, load_emulator,
                                           point_scenario, run_emulate, run_outcomes, to_unit, write_emulate,
                                           write_scenario)
from simulator.experiments.sensitivity import check_count, number_text, run_cached  # noqa: E402
from simulator.policy.interventions import REGISTRY  # noqa: E402
from simulator.policy.scenarios import available, load_scenario, scenarios_dir  # noqa: E402
from simulator.version import __version__  # noqa: E402

AGGREGATES = ("worst", "mean")
RAISED = ("poorest_consumption", "regular")   # outcomes that are better when higher; the others when lower
COST_TOLERANCE = 0.05   # "no more than a package's cost" allows 5% over it: about the standard error of the model's
                        # mean cost over 4 seeds at 5,000 households (seed sd about 10% of the cost, measured)


# --- the search -----------------------------------------------------------------------------------------------------


def nsga2(evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], n_var: int, n_obj: int, n_constr: int,
          population: int, generations: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimise `n_obj` objectives over the unit hypercube of `n_var` variables subject to `n_constr` constraints
    g <= 0 with pymoo's NSGA-II; `evaluate(x)` takes points (n, n_var) and returns F (n, n_obj) and G (n, n_constr).
    Returns the feasible non-dominated points found: X, F, G. No feasible point is an InputError.

    Example (one objective, one constraint: the least x0 + x1 with x0 >= 0.5):
        >>> X, F, G = nsga2(lambda x: (x.sum(1, keepdims=True), 0.5 - x[:, :1]), 2, 1, 1, 20, 40, 0)
        >>> round(float(F.min()), 1)
        0.5
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    class _Problem(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=n_var, n_obj=n_obj, n_ieq_constr=n_constr, xl=0.0, xu=1.0)

        def _evaluate(self, x, out, *args, **kwargs):   # noqa: ANN001, ANN002, ANN003 - pymoo's signature
            f, g = evaluate(np.asarray(x, float))
            out["F"] = np.asarray(f, float).reshape(len(x), n_obj)
            if n_constr:
                out["G"] = np.asarray(g, float).reshape(len(x), n_constr)

    res = minimize(_Problem(), NSGA2(pop_size=population), ("n_gen", generations), seed=seed, verbose=False)
    if res.X is None:
        raise InputError("optimise: no point of the search satisfies the constraints (the budget is too low for any "
                         "portfolio); raise optimise.budget_musd")
    X = np.atleast_2d(res.X)
    F = np.atleast_2d(res.F).reshape(len(X), n_obj)
    G = np.atleast_2d(res.G).reshape(len(X), n_constr) if n_constr else np.empty((len(X), 0))
    return X, F, G


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether `a` is no worse than `b` in every (minimised) objective and better in one.

    Example:
        >>> dominates(np.array([1, 2]), np.array([1, 3])), dominates(np.array([1, 2]), np.array([2, 1]))
        (True, False)
    """
    return bool(np.all(a <= b) and np.any(a < b))


def aggregate(values: np.ndarray, how: str) -> np.ndarray:
    """Minimised objectives (..., outlooks, objectives) across outlooks: the worst (largest) or the mean."""
    return values.max(axis=-2) if how == "worst" else values.mean(axis=-2)


def match_package(F: np.ndarray, package: np.ndarray) -> int:
    """The row of F (minimised objectives of a front) that best beats a package's objectives `package`: the least
    largest relative excess max_k (F_k - package_k) / (|package_k| + 1), negative when the row dominates it (the
    + 1 keeps objectives near zero, such as deaths, from weighing without bound; assumption).

    Example:
        >>> match_package(np.array([[1.0, 5.0], [2.0, 2.0]]), np.array([3.0, 3.0]))
        1
    """
    excess = (F - package) / (np.abs(package) + 1.0)
    return int(np.argmin(excess.max(axis=1)))


def chosen_points(F: np.ndarray, names: Sequence[str]) -> list[tuple[str, int]]:
    """The front's portfolios to re-run, as (label, row of F): the best in each objective, then the balanced one
    (least Euclidean distance to the ideal point, each objective scaled to [0, 1] over the front); a row is kept
    once, under its first label."""
    rows = [(f"best {name}", int(np.argmin(F[:, k]))) for k, name in enumerate(names)]
    span = np.ptp(F, axis=0)
    scaled = (F - F.min(0)) / np.where(span > 0, span, 1)
    rows.append(("balanced", int(np.argmin(np.linalg.norm(scaled, axis=1)))))
    seen, kept = set(), []
    for label, row in rows:
        if row not in seen:
            seen.add(row)
            kept.append((label, row))
    return kept


# --- the budget ladder ----------------------------------------------------------------------------------------------

GROUPS = ("all", "obj2", "obj5")   # the levers a search of the ladder moves: all, Objective 2's, Objective 5's
GROUP_TEXT = {"all": "all levers", "obj2": "Objective 2 levers", "obj5": "Objective 5 levers"}
OFF = {"coverage": 0.0, "share": 0.0, "transfer_usd": 0.0, "factor": 1.0}
# by setting name: the value at which an intervention changes nothing (no one covered, no cash, a quota or a capacity
# times 1), so that the model costs nothing for it (simulator/policy/interventions.py)


SLACK = 1e-9   # a constraint g <= 0 counts as met up to this (million USD: a thousandth of a dollar), the rounding
               # of SLSQP's last step onto it


def lever_groups(levers: Sequence[Lever], fields: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which levers each group of GROUPS moves, (groups, levers) bool, and each lever's off value, at which the
    groups that do not move it hold it. A lever is Objective 2's or 5's by the objective its intervention is
    registered under (simulator/policy/interventions.py); `all` moves every lever. A lever without a known off value
    (OFF), or whose bounds exclude it, is a ConfigError on `fields[i]` (its `.name` or `.bounds`).

    Example:
        >>> lv = [Lever("interventions.adaptation.coverage", 0.0, 0.8, "share"),
        ...       Lever("interventions.quota_expansion.factor", 1.0, 4.0, "factor")]
        >>> moves, off = lever_groups(lv, ["a", "b"])
        >>> moves.tolist(), off.tolist()
        ([[True, True], [True, False], [False, True]], [0.0, 1.0])
    """
    moves = np.zeros((len(GROUPS), len(levers)), bool)
    off = np.empty(len(levers))
    skip = "; or skip the ladder with optimise.ladder_musd=[]"
    for i, lv in enumerate(levers):
        name, _, setting = split_lever(lv.name)
        if setting not in OFF:
            raise ConfigError(f"{fields[i]}.name", lv.name, f"a lever whose off value is known (settings "
                              f"{', '.join(OFF)}), at which the ladder's searches restricted to one objective's "
                              f"levers hold the others{skip}")
        off[i] = OFF[setting]
        if not lv.lower <= off[i] <= lv.upper:
            raise ConfigError(f"{fields[i]}.bounds", [lv.lower, lv.upper], f"bounds of {lv.name} that include "
                              f"{off[i]:g}, its off value, at which the ladder's searches restricted to one "
                              f"objective's levers hold it{skip}")
        objective = REGISTRY[name].objective
        moves[:, i] = [True, objective == "2", objective == "5"]
    return moves, off


def polish(search: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], start: np.ndarray,
           step: float = 1e-6) -> np.ndarray:
    """A local refinement of a genetic search's best point: SLSQP (scipy) from `start` on the unit cube, minimising
    the single objective of `search` (as for `nsga2`: F (n, 1), G (n, 1), feasible where G <= 0), with forward
    differences (backward at the upper bound) evaluated in one batch per point. A genetic search comes near an
    optimum on a constraint's edge but seldom onto it, where budget-bound optima lie. Returns the refined point, or
    `start` if it is not better and feasible.

    Example (the least x0 + x1 with x0 >= 0.5, from (0.9, 0.3)):
        >>> np.round(polish(lambda x: (x.sum(1, keepdims=True), 0.5 - x[:, :1]), np.array([0.9, 0.3])), 3).tolist()
        [0.5, 0.0]
    """
    from scipy.optimize import minimize
    memo: dict[bytes, tuple[float, np.ndarray, float, np.ndarray]] = {}

    def at(u: np.ndarray) -> tuple[float, np.ndarray, float, np.ndarray]:
        u = np.clip(np.asarray(u, float), 0.0, 1.0)
        key = u.tobytes()
        if key not in memo:
            h = np.where(u + step <= 1.0, step, -step)
            f, g = search(np.vstack([u, u + np.diag(h)]))
            f, g = np.asarray(f, float)[:, 0], np.asarray(g, float)[:, 0]
            memo.clear()
            memo[key] = (f[0], (f[1:] - f[0]) / h, -g[0], -(g[1:] - g[0]) / h)
        return memo[key]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # a flat emulator (gradient boosting) stops it at once, which is fine
        found = minimize(lambda u: at(u)[:2], start, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * len(start),
                         constraints=[{"type": "ineq", "fun": lambda u: at(u)[2], "jac": lambda u: at(u)[3]}],
                         options={"maxiter": 100})
    u = np.clip(found.x, 0.0, 1.0)
    f, g = (np.asarray(v, float)[:, 0] for v in search(np.vstack([start, u])))
    return u if g[1] <= SLACK and f[1] < f[0] else np.asarray(start, float)


def budget_ladder(evaluate: Callable[[np.ndarray, Sequence[int]], tuple[np.ndarray, np.ndarray]],
                  lower: np.ndarray, upper: np.ndarray, off: np.ndarray, moves: np.ndarray, budgets: Sequence[float],
                  n_obj: int, population: int, generations: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best portfolio of each group of levers at each budget for each (minimised) objective.

    `evaluate(values, ks)` takes portfolios (n, levers) and returns the objectives `ks` (n, len(ks)) and the cost (n,).
    For each group (a row of `moves`), budget and objective, a single-objective NSGA-II search (`nsga2`) moves the
    group's levers within [lower, upper], the others held at `off`, under cost <= budget, and SLSQP refines its best
    (`polish`). Then every portfolio found for the group, for any budget or objective, or for a group whose levers
    it also moves, and doing nothing (every lever off), is a candidate at every budget it fits: the best at a budget
    is the candidate of least objective (the cheaper of equals) whose cost is within it (SLACK allowed). So a larger
    budget is never worse, and all levers never worse than a subset, whatever the search's luck.

    Returns the portfolios (budgets, groups, objectives, levers), their objectives and their costs (budgets, groups,
    objectives); NaN where no candidate fits the budget.

    Example (one lever that lowers the objective by 2 per unit of cost, at most 1):
        >>> _, F, cost = budget_ladder(lambda v, ks: (1 - 2 * v[:, :1], v[:, 0]), np.zeros(1), np.ones(1),
        ...                            np.zeros(1), np.ones((1, 1), bool), [0.25, 2.0], 1, 20, 30, 0)
        >>> np.round(F[:, 0, 0], 2).tolist()
        [0.5, -1.0]
    """
    lower, upper, off = (np.asarray(a, float) for a in (lower, upper, off))
    moves = np.asarray(moves, bool)

    def portfolios(unit: np.ndarray, free: np.ndarray) -> np.ndarray:
        values = np.tile(off, (len(unit), 1))
        values[:, free] = lower[free] + np.clip(unit, 0, 1) * (upper[free] - lower[free])
        return values

    found = []
    for move in moves:
        free = np.flatnonzero(move)
        rows = [off[None]]
        for budget in budgets if free.size else []:
            for k in range(n_obj):
                def search(unit: np.ndarray, k: int = k, budget: float = budget,
                           free: np.ndarray = free) -> tuple[np.ndarray, np.ndarray]:
                    f, cost = evaluate(portfolios(unit, free), [k])
                    return f, (cost - budget)[:, None]
                try:
                    X, _, _ = nsga2(search, free.size, 1, 1, population, generations, seed)
                except InputError:
                    continue   # nothing of the group fits this budget
                rows.append(portfolios(np.vstack([X, polish(search, X[0])]), free))
        found.append(np.vstack(rows))
    shape = (len(budgets), len(moves), n_obj)
    values, F, cost = np.full(shape + (len(lower),), np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    for g, move in enumerate(moves):
        pool = np.unique(np.vstack([found[h] for h, other in enumerate(moves) if not np.any(other & ~move)]), axis=0)
        f, c = evaluate(pool, list(range(n_obj)))
        for i, budget in enumerate(budgets):
            fits = np.flatnonzero(c <= budget + SLACK)
            for k in range(n_obj) if fits.size else []:
                j = fits[np.lexsort((c[fits], f[fits, k]))[0]]
                values[i, g, k], F[i, g, k], cost[i, g, k] = pool[j], f[j, k], c[j]
    return values, F, cost


def marginal_gains(nothing: np.ndarray, best: np.ndarray, budgets: Sequence[float]) -> np.ndarray:
    """What each extra million buys: the fall of each minimised objective per million USD from the budget before
    (budgets, ..., objectives), the first step from doing nothing (`nothing`, objectives), which costs 0. Positive:
    better.

    Example (objective 10 with nothing, 7 at budget 2, 6 at budget 4):
        >>> marginal_gains(np.array([10.0]), np.array([[7.0], [6.0]]), [2.0, 4.0]).ravel().tolist()
        [1.5, 0.5]
    """
    best = np.asarray(best, float)
    before = np.concatenate([np.broadcast_to(nothing, (1, *best.shape[1:])), best[:-1]])
    steps = np.diff(np.concatenate([[0.0], np.asarray(budgets, float)]))
    return (before - best) / steps.reshape(-1, *[1] * (best.ndim - 1))


def compare_groups(value: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                   sign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Objective 2's best against Objective 5's: `value`, `lower`, `upper` (2, ..., objectives) are the emulated
    value and predictive interval of each group's best portfolio (Objective 2 first), in the objectives' units;
    `sign` is +1 for a lowered objective, -1 for a raised one. Returns how much better Objective 2's is (positive:
    better), and which is better: `obj2` or `obj5` when their intervals do not overlap, `neither` when they do (the
    emulator cannot tell them apart), `n/a` when a group has no portfolio within the budget.

    Example (lowered: 5 [4, 6] against 9 [8, 10], then 5 [4, 6] against 5.5 [4.5, 6.5]):
        >>> compare_groups(np.array([[5.0, 5.0], [9.0, 5.5]]), np.array([[4.0, 4.0], [8.0, 4.5]]),
        ...                np.array([[6.0, 6.0], [10.0, 6.5]]), np.array(1.0))[1].tolist()
        ['obj2', 'neither']
    """
    advantage = sign * (value[1] - value[0])
    apart = (upper[0] < lower[1]) | (upper[1] < lower[0])
    better = np.where(apart, np.where(advantage > 0, "obj2", "obj5"), "neither")
    better = np.where(np.isfinite(advantage), better, "n/a")
    return advantage, better.astype(object)


def budget_text(budgets: Sequence[float], start: int, end: int) -> str:
    """Where a run of budgets `start`..`end` (indices) lies on the ladder, in words."""
    first, last = f"{budgets[start]:g}", f"{budgets[end]:g}"
    if start == 0 and end == len(budgets) - 1:
        return "at every budget"
    if start == 0:
        return f"up to {last} million USD"
    if end == len(budgets) - 1:
        return f"from {first} million USD"
    return f"at {first} million USD" if start == end else f"from {first} to {last} million USD"


def ladder_sentence(label: str, budgets: Sequence[float], better: Sequence[str]) -> str:
    """A plain-language sentence on which group's levers do better for one objective along the ladder.

    Example:
        >>> ladder_sentence("Deaths", [2, 4, 6], ["obj2", "neither", "neither"])
        'Deaths: Objective 2 levers do better up to 2 million USD; the two cannot be told apart from 4 million USD.'
    """
    words = {"obj2": "Objective 2 levers do better", "obj5": "Objective 5 levers do better",
             "neither": "the two cannot be told apart", "n/a": "one group has no portfolio within the budget"}
    parts, start = [], 0
    for i in range(1, len(better) + 1):
        if i == len(better) or better[i] != better[start]:
            parts.append(f"{words[better[start]]} {budget_text(budgets, start, i - 1)}")
            start = i
    return f"{label}: {'; '.join(parts)}."


def gain_text(gains: Sequence[float], budgets: Sequence[float]) -> str:
    """What the money buys along the ladder, in words: the gain per million of the first step (`gains`, from
    `marginal_gains`), and the budget beyond which every further step buys less than a tenth of it per million.

    Example:
        >>> gain_text([40.0, 5.0, 0.5], [2, 4, 6])
        'the first 2 million USD buy 40.00 per million; beyond 4 million USD, under a tenth of that'
    """
    first = float(gains[0])
    if not first > 0:
        return f"the first {budgets[0]:g} million USD buy nothing"
    small = [i for i in range(len(budgets)) if all(float(g) < 0.1 * first for g in gains[i + 1:])][0]
    text = f"the first {budgets[0]:g} million USD buy {number_text(first)} per million"
    if small == len(budgets) - 1:
        return f"{text}; up to {budgets[-1]:g} million USD, at least a tenth of that"
    return f"{text}; beyond {budgets[small]:g} million USD, under a tenth of that"


def change_sentence(outlook: str, budgets: Sequence[float], before: Sequence[str], after: Sequence[str]) -> str:
    """How the answer of one objective changes under `outlook` (`after`) from the first outlook (`before`)."""
    changed = [i for i in range(len(budgets)) if before[i] != after[i]]
    if not changed:
        return f"Under the {outlook} outlook the answer is the same at every budget."
    short = {"obj2": "Objective 2", "obj5": "Objective 5", "neither": "neither", "n/a": "n/a"}
    return (f"Under the {outlook} outlook it changes at " + ", ".join(
        f"{budgets[i]:g} million USD ({short[before[i]]} to {short[after[i]]})" for i in changed) + ".")


# --- settings -------------------------------------------------------------------------------------------------------


def validate_optimise(o: OptimiseConfig) -> None:
    """Check the settings of an optimisation; raise ConfigError naming the first bad one."""
    outlooks = available(scenarios_dir() / "outlooks" / "climate")
    if not o.outlooks or len(set(o.outlooks)) != len(o.outlooks):
        raise ConfigError("optimise.outlooks", list(o.outlooks), f"a non-empty list of distinct climate outlooks "
                          f"among {', '.join(outlooks)}")
    for i, name in enumerate(o.outlooks):
        if name not in outlooks:
            raise ConfigError(f"optimise.outlooks[{i}]", name, f"one of {', '.join(outlooks)} "
                              "(scenarios/outlooks/climate/)")
    if o.aggregate not in AGGREGATES:
        raise ConfigError("optimise.aggregate", o.aggregate, "worst (each objective's worst outlook) or mean")
    for name, path in dict(o.emulators).items():
        if path is None:
            continue
        if name not in o.outlooks:
            raise ConfigError(f"optimise.emulators.{name}", path, f"an emulator file for one of optimise.outlooks: "
                              f"{', '.join(o.outlooks)}")
        if not isinstance(path, str) or not Path(path).is_file():
            raise ConfigError(f"optimise.emulators.{name}", path, "the path of an existing emulator.joblib (python "
                              "run.py experiment=emulate)")
    if (isinstance(o.budget_musd, bool) or not isinstance(o.budget_musd, (int, float))
            or not math.isfinite(o.budget_musd) or o.budget_musd <= 0):
        raise ConfigError("optimise.budget_musd", o.budget_musd, "a positive number of million USD")
    ladder = o.ladder_musd
    if isinstance(ladder, (str, bytes)) or not isinstance(ladder, Sequence):
        raise ConfigError("optimise.ladder_musd", ladder, "a list of budgets in million USD, e.g. [2, 4, 6, 10, 15, "
                          "20]; [] skips the ladder")
    for i, budget in enumerate(ladder):
        if (isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget)
                or budget <= 0):
            raise ConfigError(f"optimise.ladder_musd[{i}]", budget, "a positive number of million USD")
    if any(b <= a for a, b in zip(ladder, ladder[1:])):
        raise ConfigError("optimise.ladder_musd", list(ladder), "budgets in increasing order, each larger than the "
                          "one before, e.g. [2, 4, 6, 10, 15, 20]; [] skips the ladder")
    allowed = [n for n in EMULATE_OUTPUTS if n != "cost"]
    if not o.objectives or len(set(o.objectives)) != len(o.objectives):
        raise ConfigError("optimise.objectives", list(o.objectives), f"a non-empty list of distinct outcomes among "
                          f"{', '.join(allowed)}")
    for i, name in enumerate(o.objectives):
        if name not in allowed:
            raise ConfigError(f"optimise.objectives[{i}]", name, f"one of {', '.join(allowed)}")
    check_count("optimise.population", o.population, 4)
    check_count("optimise.generations", o.generations, 1)
    check_count("optimise.seed", o.seed, 0)
    check_count("optimise.seeds", o.seeds, 2)
    for i, name in enumerate(o.packages):
        try:
            load_scenario(name)
        except InputError as exc:
            raise ConfigError(f"optimise.packages[{i}]", name, f"a scenario of scenarios/ or a path ({exc})") from None
    if isinstance(o.interval, bool) or not isinstance(o.interval, (int, float)) or not 0 < o.interval < 1:
        raise ConfigError("optimise.interval", o.interval, "a number in (0, 1), e.g. 0.9")
    check_count("optimise.workers", o.workers, 0)


def check_optimise(cfg: RunConfig) -> None:
    """Every check of an optimisation short of running it: its settings, and the emulation of every outlook without
    an emulator file (its settings, which must include the objectives and the cost among its outputs, and levers
    whose bounds include their off values when there is a budget ladder)."""
    o = cfg.optimise
    validate_optimise(o)
    validate_run(dataclasses.replace(cfg, optimise=OptimiseConfig()))
    if any(o.emulators.get(name) is None for name in o.outlooks):
        missing = [n for n in [*o.objectives, "cost"] if n not in cfg.emulate.outputs]
        if missing:
            raise ConfigError("emulate.outputs", list(cfg.emulate.outputs), f"outputs including the objectives and "
                              f"the cost ({', '.join(missing)} missing)")
        levers = check_emulate(emulation(cfg, o.outlooks[0]))
        if o.ladder_musd:
            policy = [(i, lv) for i, lv in enumerate(levers) if lv.name.startswith(PREFIX)]
            lever_groups([lv for _, lv in policy], [f"emulate.levers[{i}]" for i, _ in policy])


def emulation(cfg: RunConfig, outlook: str) -> RunConfig:
    """The config of the emulation of `outlook`: the run's settings and `emulate` section, under that outlook."""
    return dataclasses.replace(cfg, mode="emulate", climate_outlook=outlook, optimise=OptimiseConfig())


# --- the experiment -------------------------------------------------------------------------------------------------


def emulators(cfg: RunConfig, cache_dir: str | Path, progress: bool) -> tuple[dict[str, Emulator], dict]:
    """The emulator of each outlook, read from `optimise.emulators` or fitted; and the fitted ones' datasets."""
    o = cfg.optimise
    found, fitted = {}, {}
    for outlook in o.outlooks:
        if o.emulators.get(outlook) is not None:
            em = load_emulator(o.emulators[outlook])
        else:
            fitted[outlook], em = run_emulate(emulation(cfg, outlook), cache_dir, progress=progress)
        missing = [n for n in [*o.objectives, "cost"] if n not in em.outputs]
        if missing:
            raise InputError(f"optimise.emulators.{outlook}: the emulator has no output {', '.join(missing)} "
                             f"(it has {', '.join(em.outputs)})")
        found[outlook] = em
    names = [em.lever_names for em in found.values()]
    if any(n != names[0] for n in names):
        raise InputError(f"optimise.emulators: the outlooks' emulators have different levers ({names[0]} and "
                         f"{next(n for n in names if n != names[0])}); fit them with the same emulate.levers")
    for outlook, em in found.items():
        if em.base is None:
            raise InputError(f"optimise.emulators.{outlook}: the emulator keeps no base run config, so its "
                             "portfolios cannot be re-run with the model; fit it with python run.py experiment=emulate")
        em.base = current_config(em.base)
        fitted_under = base_definition(em.base)["climate_outlook"]["name"]
        if fitted_under != outlook:
            raise InputError(f"optimise.emulators.{outlook}: the emulator was fitted under climate outlook "
                             f"{fitted_under}")
    return found, fitted


def package_point(package: str, em: Emulator, held: dict[str, float]) -> np.ndarray | None:
    """The lever values (in `em.lever_names` order, model parameters at `held`) at which the emulator's design point
    is the named package, or None if the package lies outside the levers' space: an intervention no lever sets, a
    lever's value outside its bounds, or another setting than the design's fixed ones. Interventions of the levers
    that the package lacks are at their lower bounds, which mean the intervention at zero intensity."""
    package_def = load_scenario(package).definition()["interventions"]
    values = {lv.name: lv.lower for lv in em.levers}
    values.update(held)
    for name, settings in package_def.items():
        if isinstance(settings, list):
            return None
        for lv in em.levers:
            if lv.name.startswith(f"{PREFIX}{name}."):
                value = settings.get(lv.name.split(".")[2])
                if not isinstance(value, (int, float)) or not lv.lower <= value <= lv.upper:
                    return None
                values[lv.name] = float(value)
    row = np.array([values[n] for n in em.lever_names])
    with tempfile.TemporaryDirectory() as tmp:
        scenario = point_scenario(base_definition(em.base), em.levers, row, em.fixed, em.start_year)
        point_def = load_scenario(str(write_scenario(scenario, tmp))).definition()["interventions"]
    return row if all(point_def.get(name) == settings for name, settings in package_def.items()) else None


def current_config(old: RunConfig) -> RunConfig:
    """A RunConfig of this version with the settings of `old`, which may come from a saved emulator of a version
    whose RunConfig, or a section of it (such as `optimise`), had fewer fields: those missing take their defaults.

    Example (a section saved before one of its fields existed):
        >>> old = RunConfig()
        >>> del old.optimise.ladder_musd
        >>> current_config(old).optimise.ladder_musd == OptimiseConfig().ladder_musd
        True
    """
    def rebuild(value: object) -> object:
        if isinstance(value, list):
            return [rebuild(v) for v in value]
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return value
        return type(value)(**{f.name: rebuild(getattr(value, f.name)) for f in dataclasses.fields(value)
                              if f.init and hasattr(value, f.name)})
    return rebuild(old)


def held_values(cfg: RunConfig, em: Emulator) -> dict[str, float]:
    """The model-parameter levers of `em`, held at the run's values, which must be inside their design bounds."""
    held = {}
    for lv in em.levers:
        if lv.name.startswith(PREFIX):
            continue
        obj = cfg.model
        for part in lv.name.split(".")[1:]:
            obj = getattr(obj, part)
        value = float(obj)
        if not lv.lower <= value <= lv.upper:
            raise ConfigError(lv.name, value, f"a value inside the emulator's bounds [{lv.lower:g}, {lv.upper:g}], "
                              "where it is held during the search")
        held[lv.name] = value
    return held


def seed_interval(per_seed: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over the seeds (axis 0) and the Student-t interval of that mean at `level`."""
    n = per_seed.shape[0]
    mean = per_seed.mean(0)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * per_seed.std(0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def emulated(em: Emulator, names: Sequence[str], values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The emulated mean and predictive interval ends (points, names) of the outputs `names` at full lever values
    (rows in `em.lever_names` order), below zero set to zero as in the search. It predicts the outputs named only,
    which keeps the ladder's many searches fast."""
    unit = to_unit(values, em.levers)
    found = [em.emulators[n].predict(unit) for n in names]
    mean, lower, upper = (np.maximum(np.column_stack([f[i] for f in found]), 0.0) for i in (0, 2, 3))
    return mean, lower, upper


def units_text(names: Sequence[str], per: str = "") -> str:
    """The units of a variable along `objective` or `outcome`, one per name, e.g. 'irregular: persons; ...'."""
    return "; ".join(f"{n}: {EMULATE_OUTPUTS[n].units}{per}" for n in names)


def run_ladder(o: OptimiseConfig, ems: dict[str, Emulator], policy: Sequence[Lever], held: dict[str, float],
               cache_dir: str | Path, progress: bool) -> tuple[dict, dict, dict]:
    """The budget ladder of each outlook: `budget_ladder` on that outlook's emulator, its cost in that outlook within
    each budget of `optimise.ladder_musd`; the gains per extra million; Objective 2's best against Objective 5's; a
    sentence per objective. Then the check with the model: each group's best portfolio for the first objective at
    the ladder's budget nearest `optimise.budget_musd`, run in its outlook under seeds 0..seeds-1 (through the
    cache). Returns the coordinates, variables and attributes it adds to the experiment's dataset."""
    outlooks, objectives = list(o.outlooks), list(o.objectives)
    names = [*objectives, "cost"]
    first = ems[outlooks[0]]
    moves, off = lever_groups(policy, [f"optimise.emulators (lever {lv.name})" for lv in policy])
    lower = np.array([lv.lower for lv in policy])
    upper = np.array([lv.upper for lv in policy])
    sign = np.array([-1.0 if n in RAISED else 1.0 for n in objectives])
    budgets = [float(b) for b in o.ladder_musd]
    n_out, n_b, n_g, n_k, n_l = len(outlooks), len(budgets), len(GROUPS), len(objectives), len(policy)

    def expand(values: np.ndarray) -> np.ndarray:
        cols = {lv.name: values[:, i] for i, lv in enumerate(policy)}
        cols.update({name: np.full(len(values), v) for name, v in held.items()})
        return np.column_stack([cols[n] for n in first.lever_names])

    levers = np.full((n_out, n_b, n_g, n_k, n_l), np.nan)
    best = {key: np.full((n_out, n_b, n_g, n_k), np.nan) for key in ("mean", "lower", "upper", "cost")}
    nothing = np.empty((n_out, n_k))
    t0 = time.perf_counter()
    for j, outlook in enumerate(outlooks):
        em = ems[outlook]

        def evaluate(values: np.ndarray, ks: Sequence[int], em: Emulator = em) -> tuple[np.ndarray, np.ndarray]:
            mean, _, _ = emulated(em, [*(objectives[k] for k in ks), "cost"], expand(values))
            return mean[:, :-1] * sign[list(ks)], mean[:, -1]

        levers[j], _, _ = budget_ladder(evaluate, lower, upper, off, moves, budgets, n_k, o.population,
                                        o.generations, o.seed)
        nothing[j] = emulated(em, objectives, expand(off[None]))[0][0]
        rows = levers[j].reshape(-1, n_l)
        fits = np.isfinite(rows).all(axis=1)
        found = [np.full((len(rows), len(names)), np.nan) for _ in range(3)]
        if fits.any():
            for into, part in zip(found, emulated(em, names, expand(rows[fits]))):
                into[fits] = part
        k = np.tile(np.arange(n_k), n_b * n_g)   # the objective each portfolio is best in
        for key, part in zip(("mean", "lower", "upper"), found):
            best[key][j] = part[np.arange(len(rows)), k].reshape(n_b, n_g, n_k)
        best["cost"][j] = found[0][:, -1].reshape(n_b, n_g, n_k)
    ladder_seconds = time.perf_counter() - t0
    gains = np.stack([marginal_gains(nothing[j] * sign, best["mean"][j] * sign, budgets) for j in range(n_out)])
    pairs = [compare_groups(*(np.moveaxis(best[key][j][:, 1:], 1, 0) for key in ("mean", "lower", "upper")), sign)
             for j in range(n_out)]
    advantage = np.stack([a for a, _ in pairs])
    better = np.stack([b for _, b in pairs])
    sentences = np.array([[ladder_sentence(EMULATE_OUTPUTS[n].label.capitalize(), budgets, better[j, :, k])
                           for k, n in enumerate(objectives)] for j in range(n_out)], dtype=object)

    # the check with the model: each group's best for the first objective at the budget nearest optimise.budget_musd
    at = int(np.argmin(np.abs(np.array(budgets) - o.budget_musd)))
    seeds = list(range(o.seeds))
    check = levers[:, at, :, 0, :]                                      # (outlook, group, lever)
    runnable = [(j, g) for j in range(n_out) for g in range(n_g) if np.isfinite(check[j, g]).all()]
    folder = Path(cache_dir) / "scenarios"
    configs = [ems[outlooks[j]].run_config(expand(check[j, g][None]), folder, seed=s) for j, g in runnable
               for s in seeds]
    t0 = time.perf_counter()
    paths = run_cached(configs, cache_dir, o.workers, progress)
    run_seconds = time.perf_counter() - t0
    runs = np.full((n_out, n_g, len(seeds), len(names)), np.nan)
    outcomes = np.array([[r[n] for n in names] for r in map(run_outcomes, paths)]).reshape(-1, len(seeds),
                                                                                             len(names))
    for (j, g), values in zip(runnable, outcomes):
        runs[j, g] = values
    m_mean, m_lo, m_hi = seed_interval(np.moveaxis(runs, 2, 0), o.interval)
    e_found = [np.full((n_out, n_g, len(names)), np.nan) for _ in range(3)]
    for j, g in runnable:
        for into, part in zip(e_found, emulated(ems[outlooks[j]], names, expand(check[j, g][None]))):
            into[j, g] = part[0]

    level = f"{100 * o.interval:g}%"
    units = units_text(objectives)
    dims = ("outlook", "budget", "group", "objective")
    coords = {
        "group": ("group", list(GROUPS), {"long_name": "levers a search of the ladder may move: all; obj2, the "
                                                       "Objective 2 levers (the others off); obj5, the Objective 5 "
                                                       "levers (the others off)"}),
        "budget": ("budget", budgets, {"long_name": "budget of the ladder (emulated intervention cost in the "
                                                    "outlook)", "units": "million USD"}),
        "objective_units": ("objective", [EMULATE_OUTPUTS[n].units for n in objectives])}
    variables = {
        "ladder_levers": (dims + ("lever",), levers, {"long_name": "lever values of the best portfolio of the group "
                                                                   "in the objective within the budget"}),
        "ladder_best": (dims, best["mean"], {"long_name": "best emulated value of the objective within the budget",
                                             "units": units}),
        "ladder_lower": (dims, best["lower"], {"long_name": f"lower end of the emulator's {level} interval at the "
                                                            "best portfolio", "units": units}),
        "ladder_upper": (dims, best["upper"], {"long_name": f"upper end of the emulator's {level} interval at the "
                                                            "best portfolio", "units": units}),
        "ladder_cost": (dims, best["cost"], {"long_name": "emulated intervention cost of the best portfolio",
                                             "units": "million USD"}),
        "ladder_nothing": (("outlook", "objective"), nothing,
                           {"long_name": "emulated value of the objective with every lever off (no intervention, "
                                         "which costs 0)", "units": units}),
        "ladder_gain": (dims, gains, {"long_name": "what each extra million buys: the improvement of the best value "
                                                   "(fall of a lowered objective, rise of a raised one) per million "
                                                   "USD from the budget before (the first from no intervention)",
                                      "units": units_text(objectives, " per million USD")}),
        "ladder_advantage": (("outlook", "budget", "objective"), advantage,
                             {"long_name": "how much better the best portfolio of Objective 2 levers is than that of "
                                           "Objective 5 levers (negative: worse)", "units": units}),
        "ladder_better": (("outlook", "budget", "objective"), better,
                          {"long_name": f"obj2 or obj5: whose best portfolio is better, their emulator's {level} "
                                        "intervals apart; neither: the intervals overlap; n/a: no portfolio of a "
                                        "group within the budget"}),
        "ladder_sentence": (("outlook", "objective"), sentences,
                            {"long_name": "which group's levers do better along the ladder, in words"}),
        "check_levers": (("outlook", "group", "lever"), check,
                         {"long_name": f"lever values of the portfolios of the model check: each group's best for "
                                       f"{objectives[0]} at {budgets[at]:g} million USD"}),
        "check_model_runs": (("outlook", "group", "seed", "outcome"), runs,
                             {"long_name": "model outcome of each run of the check", "units": units_text(names)})}
    for key, value, text in (("emulated_mean", e_found[0], "emulated mean"),
                             ("emulated_lower", e_found[1], f"lower end of the emulator's {level} interval"),
                             ("emulated_upper", e_found[2], f"upper end of the emulator's {level} interval"),
                             ("model_mean", m_mean, "model mean over the seeds"),
                             ("model_lower", m_lo, f"lower end of the {level} Student-t interval of the model mean"),
                             ("model_upper", m_hi, f"upper end of the {level} Student-t interval of the model mean")):
        variables[f"check_{key}"] = (("outlook", "group", "outcome"), value, {
            "long_name": f"{text}, portfolios of the model check", "units": units_text(names)})
    attrs = {"ladder_seconds": round(ladder_seconds, 1), "check_objective": objectives[0],
             "check_budget_musd": budgets[at], "check_runs": len(configs), "check_seconds": round(run_seconds, 1)}
    return coords, variables, attrs


def run_optimise(cfg: RunConfig, cache_dir: str | Path,
                 progress: bool = True) -> tuple[xr.Dataset, dict[str, tuple[xr.Dataset, Emulator]]]:
    """Fit or read the emulators, search, re-run the chosen portfolios and the packages with the model; return the
    dataset of the experiment and the emulators fitted here (by outlook, with their datasets)."""
    o = cfg.optimise
    check_optimise(cfg)
    started = time.perf_counter()
    ems, fitted_ds = emulators(cfg, cache_dir, progress)
    fit_seconds = time.perf_counter() - started
    first = next(iter(ems.values()))
    policy = [lv for lv in first.levers if lv.name.startswith(PREFIX)]
    if not policy:
        raise InputError("optimise: the emulators have no intervention lever to optimise over")
    held = held_values(cfg, first)
    lower = np.array([lv.lower for lv in policy])
    upper = np.array([lv.upper for lv in policy])
    sign = np.array([-1.0 if n in RAISED else 1.0 for n in o.objectives])
    outlooks = list(o.outlooks)

    def full(unit: np.ndarray) -> np.ndarray:
        values = lower + np.clip(unit, 0, 1) * (upper - lower)
        cols = {lv.name: values[:, i] for i, lv in enumerate(policy)}
        cols.update({name: np.full(len(values), v) for name, v in held.items()})
        return np.column_stack([cols[n] for n in first.lever_names])

    def predicted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, sd, lower, upper (points, outlooks, objectives + cost); means and interval ends below zero, which
        a Gaussian process can predict near a bound, are set to zero, so the search gains nothing from them."""
        names = [*o.objectives, "cost"]
        out = np.empty((4, len(values), len(outlooks), len(names)))
        for j, outlook in enumerate(outlooks):
            em = ems[outlook]
            idx = [em.outputs.index(n) for n in names]
            mean, sd = em.predict(values)
            lo, hi = em.predict_interval(values)
            out[:, :, j, :] = np.stack([mean[:, idx], sd[:, idx], lo[:, idx], hi[:, idx]])
        out[[0, 2, 3]] = np.maximum(out[[0, 2, 3]], 0.0)   # every outcome is a count, a cost or a consumption
        return out[0], out[1], out[2], out[3]

    def evaluate(unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, *_ = predicted(full(unit))
        return aggregate(mean[..., :-1] * sign, o.aggregate), mean[..., -1].max(axis=1) - o.budget_musd

    t0 = time.perf_counter()
    X, F, G = nsga2(evaluate, len(policy), len(o.objectives), 1, o.population, o.generations, o.seed)
    search_seconds = time.perf_counter() - t0
    order = np.lexsort(F.T[::-1])
    X, F, G = X[order], F[order], G[order]
    front_values = full(X)
    p_mean, p_sd, p_lo, p_hi = predicted(front_values)
    chosen = chosen_points(F, o.objectives)
    ladder = run_ladder(o, ems, policy, held, cache_dir, progress) if o.ladder_musd else None

    # the model: the packages first, then the chosen portfolios and one portfolio at each package's cost
    seeds = list(range(o.seeds))
    folder = Path(cache_dir) / "scenarios"
    names = [*o.objectives, "cost"]
    run_seconds = 0.0

    def model(portfolios: np.ndarray, packages: Sequence[str]) -> np.ndarray:
        """Outcomes (item, outlook, seed, outcome) of the portfolios (rows of full lever values), then packages."""
        nonlocal run_seconds
        configs = []
        for outlook in outlooks:
            em = ems[outlook]
            configs += [em.run_config(row, folder, seed=s) for row in portfolios for s in seeds]
            base = dataclasses.replace(em.base, climate_outlook=outlook)
            configs += [dataclasses.replace(base, scenario=package, seed=s) for package in packages for s in seeds]
        t0 = time.perf_counter()
        paths = run_cached(configs, cache_dir, o.workers, progress)
        run_seconds += time.perf_counter() - t0
        runs = np.array([[r[n] for n in names] for r in map(run_outcomes, paths)]).reshape(
            len(outlooks), len(portfolios) + len(packages), len(seeds), len(names))
        return runs.transpose(1, 0, 2, 3)

    package_runs = model(np.empty((0, len(first.lever_names))), o.packages)
    package_mean = package_runs.mean(axis=2)
    package_cost = package_mean[..., -1].max(axis=1)
    package_agg = aggregate(package_mean[..., :-1] * sign, o.aggregate)
    matched = []   # (label, unit point) of the portfolio searched at each package's cost
    in_space, budgets = [], []
    for k, package in enumerate(o.packages):
        # a package inside the levers' space is itself a point of the search at its emulated cost, so the search
        # compares like with like; otherwise the budget is the package's model cost
        row = package_point(package, first, held)
        in_space.append(row is not None)
        budgets.append(float(predicted(row[None])[0][0, :, -1].max()) if row is not None else float(package_cost[k]))

        def at_cost(unit: np.ndarray, budget: float = budgets[-1]) -> tuple[np.ndarray, np.ndarray]:
            mean, *_ = predicted(full(unit))
            return aggregate(mean[..., :-1] * sign, o.aggregate), mean[..., -1].max(axis=1) - budget
        try:
            Xk, Fk, _ = nsga2(at_cost, len(policy), len(o.objectives), 1, o.population, o.generations, o.seed)
        except InputError:
            continue   # no portfolio of the levers costs as little as the package
        # like with like: the package as emulated when it lies in the levers' space, else as run with the model
        target = (aggregate(predicted(row[None])[0][0, :, :-1] * sign, o.aggregate) if row is not None
                  else package_agg[k])
        matched.append((f"at the cost of {package}", Xk[match_package(Fk, target)]))
    chosen_values = np.vstack([front_values[[row for _, row in chosen]]]
                              + [full(np.atleast_2d(u)) for _, u in matched])
    portfolio_runs = model(chosen_values, [])
    runs = np.concatenate([portfolio_runs, package_runs])
    m_mean, m_lo, m_hi = seed_interval(np.moveaxis(runs, 2, 0), o.interval)

    n_port = len(chosen) + len(matched)
    labels = [label for label, _ in chosen] + [label for label, _ in matched] + list(o.packages)
    n_items = len(labels)
    kinds = ["portfolio"] * len(chosen) + ["matched"] * len(matched) + ["package"] * len(o.packages)
    e_mean, e_sd, e_lo, e_hi = predicted(chosen_values)
    pad = np.full((len(o.packages), len(outlooks), len(names)), np.nan)
    pc_mean, pc_lo, pc_hi = (np.concatenate([v, pad]) for v in (e_mean, e_lo, e_hi))
    item_levers = np.vstack([chosen_values[:, [first.lever_names.index(lv.name) for lv in policy]],
                             np.full((len(o.packages), len(policy)), np.nan)])
    # aggregated model objectives (minimised) and worst-outlook cost, for the comparison with the packages
    agg = aggregate(m_mean[..., :-1] * sign, o.aggregate)
    cost = m_mean[..., -1].max(axis=1)
    dominated_by = []
    for i in range(n_port, n_items):
        better = [labels[j] for j in range(n_port)
                  if cost[j] <= cost[i] * (1 + COST_TOLERANCE) and dominates(agg[j], agg[i])]
        dominated_by.append("; ".join(better))
    worse_in = []   # where the portfolio searched at a package's cost does worse than the package (model)
    for k, package in enumerate(o.packages):
        j = labels.index(f"at the cost of {package}") if f"at the cost of {package}" in labels else -1
        i = n_port + k
        worse_in.append("no portfolio costs as little" if j < 0 else
                        ", ".join(n for q, n in enumerate(o.objectives) if agg[j, q] > agg[i, q]) or "none")

    level = f"{100 * o.interval:g}%"
    ds = xr.Dataset(coords={
        "point": ("point", np.arange(len(X)), {"long_name": "portfolio of the Pareto front (emulated)"}),
        "lever": ("lever", [lv.name for lv in policy], {"long_name": "policy lever: interventions.<intervention>."
                                                                     "<setting>"}),
        "outlook": ("outlook", outlooks, {"long_name": "climate outlook (scenarios/outlooks/climate/)"}),
        "objective": ("objective", list(o.objectives), {"long_name": "objective (simulator/experiments/emulate.py "
                                                                     "EMULATE_OUTPUTS)"}),
        "outcome": ("outcome", names, {"long_name": "objective or the intervention cost"}),
        "item": ("item", labels, {"long_name": "re-run portfolio of the front (by what it is best in), portfolio "
                                               "searched at a package's cost, or named package"}),
        "seed": ("seed", seeds, {"long_name": "model seed (the same for every item)"})})
    ds = ds.assign_coords(
        lever_units=("lever", [lv.units for lv in policy]),
        lower=("lever", lower, {"long_name": "lower bound of the lever"}),
        upper=("lever", upper, {"long_name": "upper bound of the lever"}),
        outcome_units=("outcome", [EMULATE_OUTPUTS[n].units for n in names]),
        outcome_label=("outcome", [EMULATE_OUTPUTS[n].label for n in names]),
        kind=("item", kinds, {"long_name": "portfolio (of the front), matched (searched at a package's cost) or "
                                           "package"}),
        front_point=("item", [row for _, row in chosen] + [-1] * (n_items - len(chosen)),
                     {"long_name": "point of the front of a chosen portfolio (-1: otherwise)"}))
    ds["item_levers"] = (("item", "lever"), item_levers, {"long_name": "lever values of the re-run portfolios (NaN "
                                                                       "for packages)"})
    ds["levers"] = (("point", "lever"), front_values[:, [first.lever_names.index(lv.name) for lv in policy]],
                    {"long_name": "lever values of the front's portfolios"})
    ds["objectives"] = (("point", "objective"), F * sign, {"long_name": f"emulated objectives aggregated across "
                                                                        f"outlooks ({o.aggregate})"})
    ds["predicted_cost"] = (("point",), G[:, 0] + o.budget_musd, {"long_name": "emulated intervention cost, worst "
                                                                               "outlook", "units": "million USD"})
    for key, value, text in (("mean", p_mean, "emulated mean"), ("sd", p_sd, "emulated standard deviation"),
                             ("lower", p_lo, f"lower end of the emulator's {level} interval"),
                             ("upper", p_hi, f"upper end of the emulator's {level} interval")):
        ds[f"front_{key}"] = (("point", "outlook", "outcome"), value, {"long_name": f"{text} per outlook"})
    for key, value, text in (("mean", pc_mean, "emulated mean"), ("lower", pc_lo, f"lower end of the emulator's "
                                                                                  f"{level} interval"),
                             ("upper", pc_hi, f"upper end of the emulator's {level} interval")):
        ds[f"emulated_{key}"] = (("item", "outlook", "outcome"), value, {"long_name": f"{text} (NaN for packages)"})
    ds["model_runs"] = (("item", "outlook", "seed", "outcome"), runs, {"long_name": "model outcome of each run"})
    for key, value, text in (("mean", m_mean, "model mean over the seeds"),
                             ("lower", m_lo, f"lower end of the {level} Student-t interval of the model mean"),
                             ("upper", m_hi, f"upper end of the {level} Student-t interval of the model mean")):
        ds[f"model_{key}"] = (("item", "outlook", "outcome"), value, {"long_name": text})
    design_seeds = [int(v) for v in str(first.info.get("seeds", "")).split(",") if v.strip().isdigit()]
    on_design = [i for i, sd in enumerate(seeds) if sd in design_seeds]
    shift = (runs[:, :, on_design].mean(axis=2) - m_mean).mean(axis=(0, 1)) if on_design else np.full(len(names),
                                                                                                       np.nan)
    ds["seed_shift"] = (("outcome",), shift,
                        {"long_name": "model mean over the emulators' design seeds minus the mean over all seeds, "
                                      "averaged over items and outlooks: under common random numbers a shift shared "
                                      "by every point, which the emulators (fitted on the design seeds) carry"})
    ds["model_cost"] = (("item",), cost, {"long_name": "model intervention cost, worst outlook",
                                          "units": "million USD"})
    ds["dominated_by"] = (("item",), [""] * n_port + dominated_by,
                          {"long_name": "re-run portfolios that cost no more and dominate the package in the model's "
                                        "aggregated objectives ('' if none)"})
    ds["in_lever_space"] = (("item",), [True] * n_port + in_space,
                            {"long_name": "the package is a point of the levers' space (packages) or a portfolio"})
    ds["matched_budget"] = (("item",), [np.nan] * n_port + budgets,
                            {"long_name": "budget of the search at the package's cost: its emulated cost if it is in "
                                          "the levers' space, else its model cost", "units": "million USD"})
    ds["worse_in"] = (("item",), [""] * n_port + worse_in,
                      {"long_name": "objectives in which the portfolio searched at a package's cost does worse than "
                                    "the package (model means aggregated across outlooks)"})
    if ladder is not None:
        coords, variables, attrs = ladder
        ds = ds.assign_coords(coords)
        for key, value in variables.items():
            ds[key] = value
        ds.attrs.update(attrs)
    run_settings = {k: v for k, v in dataclasses.asdict(first.base or cfg).items()
                    if k in ("scenario", "labour_outlook", "world", "n_households", "years", "start_year")}
    ds.attrs.update({
        "title": "Migration flow policy optimisation: Pareto front over the emulators, re-run with the model",
        "simulator_version": __version__, "pymoo_version": version("pymoo"),
        "settings": json.dumps(dataclasses.asdict(o), default=str),
        "run_settings": json.dumps(run_settings, default=str), "held": json.dumps(held),
        "emulator_r2": json.dumps({k: em.info.get("r2", {}) for k, em in ems.items()}),
        "fit_seconds": round(fit_seconds, 1), "search_seconds": round(search_seconds, 2),
        "run_seconds": round(run_seconds, 1), "runs": int(np.prod(runs.shape[:3])),
        "elapsed_seconds": round(time.perf_counter() - started, 1)})
    return ds, {k: (fitted_ds[k], ems[k]) for k in fitted_ds}


# --- figure and summary ---------------------------------------------------------------------------------------------


def figure(ds: xr.Dataset, path: Path) -> Path:
    """front.png: per objective (rows) and outlook (columns), each front portfolio's emulated value against its
    emulated cost, and for the re-run portfolios and the packages the model mean with its interval against the model
    cost (the re-run portfolios' emulated values beside them)."""
    objectives = [str(v) for v in ds["objective"].values]
    outlooks = [str(v) for v in ds["outlook"].values]
    fig, axes = plt.subplots(len(objectives), len(outlooks), figsize=(5.0 * len(outlooks), 3.2 * len(objectives)),
                             squeeze=False)
    budget = json.loads(ds.attrs["settings"])["budget_musd"]
    for r, name in enumerate(objectives):
        for c, outlook in enumerate(outlooks):
            ax = axes[r, c]
            sel = dict(outlook=outlook, outcome=name)
            ax.scatter(ds["front_mean"].sel(outlook=outlook, outcome="cost"), ds["front_mean"].sel(**sel), s=8,
                       color="0.7", label="front (emulated)")
            for kind, color, marker in (("portfolio", "tab:blue", "o"), ("matched", "tab:green", "D"),
                                        ("package", "tab:red", "s")):
                items = ds["item"].values[ds["kind"].values == kind]
                if not len(items):
                    continue
                d = ds.sel(item=items, **sel)
                x = ds["model_mean"].sel(item=items, outlook=outlook, outcome="cost").values
                y = d["model_mean"].values
                ax.errorbar(x, y, yerr=[y - d["model_lower"].values, d["model_upper"].values - y], fmt=marker,
                            color=color, ms=5, capsize=2, label={"portfolio": "front portfolios (model)",
                                                                 "matched": "at a package's cost (model)",
                                                                 "package": "packages (model)"}[kind])
                if kind != "package":
                    xe = ds["emulated_mean"].sel(item=items, outlook=outlook, outcome="cost").values
                    ye = d["emulated_mean"].values
                    ax.errorbar(xe, ye, yerr=[ye - d["emulated_lower"].values, d["emulated_upper"].values - ye],
                                fmt="x", color="tab:cyan", ms=5, capsize=2,
                                label="portfolios (emulated)" if kind == "portfolio" else None)
            ax.axvline(budget, color="black", linewidth=0.8, linestyle="--", label="budget")
            units = str(ds["outcome_units"].sel(outcome=name).values)
            ax.set_xlabel("intervention cost (million USD)")
            ax.set_ylabel(f"{name} ({units})")
            ax.set_title(f"{ds['outcome_label'].sel(outcome=name).values}, {outlook} outlook", fontsize=9)
            ax.grid(alpha=0.3)
            if r == 0 and c == 0:
                ax.legend(fontsize=7)
    fig.suptitle(f"Pareto front ({ds.sizes['point']} portfolios) and re-runs with the model "
                 f"({ds.sizes['seed']} seeds, {100 * json.loads(ds.attrs['settings'])['interval']:g}% intervals)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def summary(ds: xr.Dataset) -> str:
    """optimise.md: settings, the re-run portfolios' levers, emulator against model for each item, the packages."""
    s = json.loads(ds.attrs["settings"])
    run = json.loads(ds.attrs["run_settings"])
    level = f"{100 * s['interval']:g}%"
    lines = ["# Policy optimisation", "",
             f"- Budget {s['budget_musd']:g} million USD (emulated cost, worst outlook); objectives "
             f"{', '.join(s['objectives'])} ({', '.join(n for n in s['objectives'] if n in RAISED) or 'none'} "
             f"raised, the others lowered), aggregated across outlooks {', '.join(s['outlooks'])} by the "
             f"{s['aggregate']}",
             f"- Held: {ds.attrs['held']}; world and run: {run}",
             f"- NSGA-II (pymoo {ds.attrs['pymoo_version']}), population {s['population']}, {s['generations']} "
             f"generations, seed {s['seed']}: {ds.sizes['point']} portfolios on the front in "
             f"{ds.attrs['search_seconds']} s",
             f"- Emulators' held-out R² by outlook: {ds.attrs['emulator_r2']}",
             f"- Model: {ds.attrs['runs']} runs ({ds.sizes['seed']} seeds per item and outlook) in "
             f"{ds.attrs['run_seconds']} s; emulators fitted in {ds.attrs['fit_seconds']} s; "
             f"{ds.attrs['elapsed_seconds']} s in all; simulator {ds.attrs['simulator_version']}",
             "- Seed shift (the model's mean over the emulators' design seeds minus its mean over all seeds, which the "
             "emulated values carry as a bias): " + ", ".join(f"{n} {number_text(float(v))}" for n, v in
                                                              zip(ds["outcome"].values, ds["seed_shift"].values)),
             "", "## Re-run portfolios", "", "| portfolio | " + " | ".join(str(v) for v in ds["lever"].values) + " |",
             "|---" * (1 + ds.sizes["lever"]) + "|"]
    items = ds["item"].values
    for i, item in enumerate(items):
        if ds["kind"].values[i] != "package":
            lev = ds["item_levers"].isel(item=i).values
            lines.append(f"| {item} | " + " | ".join(number_text(float(v)) for v in lev) + " |")
    lines += ["", f"## Emulator against model ({level} intervals: the emulator's predictive interval; the "
              f"Student-t interval of the model's mean over {ds.sizes['seed']} seeds)", ""]
    outcomes = [str(v) for v in ds["outcome"].values]
    for outlook in ds["outlook"].values:
        lines += [f"### Outlook {outlook}", "", "| item | " + " | ".join(
            f"{n} ({ds['outcome_units'].sel(outcome=n).values}) emulated / model" for n in outcomes) + " |",
            "|---" * (1 + len(outcomes)) + "|"]
        for item in items:
            cells = []
            for n in outcomes:
                d = ds.sel(item=item, outlook=outlook, outcome=n)
                em = (f"{number_text(float(d['emulated_mean']))} [{number_text(float(d['emulated_lower']))}, "
                      f"{number_text(float(d['emulated_upper']))}]" if np.isfinite(float(d["emulated_mean"])) else "-")
                cells.append(f"{em} / {number_text(float(d['model_mean']))} [{number_text(float(d['model_lower']))}, "
                             f"{number_text(float(d['model_upper']))}]")
            lines.append(f"| {item} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Named packages against the re-run portfolios", "",
              f"A package is dominated by a re-run portfolio that costs no more (model cost, worst outlook, "
              f"{100 * COST_TOLERANCE:g}% allowed for seed noise) and is no worse in every objective and better in "
              f"one (model means aggregated across outlooks by the {s['aggregate']}). 'At the cost of <package>' is "
              "the portfolio of a second search with the package's cost as the budget (its emulated cost if it lies "
              "in the levers' space, else its model cost) that best beats the package as emulated; the last column "
              "names the objectives in which it does worse than the package in the model.", "",
              "| package | model cost (million USD) | in the levers' space: budget of its search (million USD) "
              "| dominated by | its portfolio at the same cost is worse in |",
              "|---|---|---|---|---|"]
    for i, item in enumerate(items):
        if ds["kind"].values[i] == "package":
            by = str(ds["dominated_by"].values[i]) or "none of the re-run portfolios"
            space = "yes" if bool(ds["in_lever_space"].values[i]) else "no"
            lines.append(f"| {item} | {number_text(float(ds['model_cost'].values[i]))} | {space}: "
                         f"{number_text(float(ds['matched_budget'].values[i]))} | {by} | {ds['worse_in'].values[i]} |")
    if "ladder_best" in ds:
        lines += ladder_summary(ds)
    return "\n".join(lines) + "\n"


GROUP_STYLE = {"all": ("black", "o"), "obj2": ("tab:green", "s"), "obj5": ("tab:purple", "D")}


def ladder_figure(ds: xr.Dataset, path: Path) -> Path:
    """ladder.png: per outlook (rows) and objective (columns), the best emulated value against the budget with all
    levers, Objective 2 levers only and Objective 5 levers only (bands: the emulator's intervals), from the value
    with no intervention at budget 0, and the model check (mean and interval over the seeds) at its budget."""
    objectives = [str(v) for v in ds["objective"].values]
    outlooks = [str(v) for v in ds["outlook"].values]
    level = f"{100 * json.loads(ds.attrs['settings'])['interval']:g}%"
    fig, axes = plt.subplots(len(outlooks), len(objectives), figsize=(4.2 * len(objectives), 3.4 * len(outlooks)),
                             squeeze=False)
    budgets = ds["budget"].values
    step = 0.012 * budgets.max()   # the check's three groups side by side
    for r, outlook in enumerate(outlooks):
        for c, name in enumerate(objectives):
            ax = axes[r, c]
            for g, group in enumerate(ds["group"].values):
                color, marker = GROUP_STYLE[str(group)]
                d = ds.sel(outlook=outlook, objective=name, group=group)
                nothing = float(ds["ladder_nothing"].sel(outlook=outlook, objective=name))
                ax.plot(np.concatenate([[0.0], budgets]), np.concatenate([[nothing], d["ladder_best"]]),
                        marker=marker, markevery=slice(1, None), color=color, ms=4, label=GROUP_TEXT[str(group)])
                ax.fill_between(budgets, d["ladder_lower"], d["ladder_upper"], color=color, alpha=0.12)
                if name == ds.attrs["check_objective"]:
                    m = ds.sel(outlook=outlook, group=group, outcome=name)
                    y = float(m["check_model_mean"])
                    ax.errorbar(ds.attrs["check_budget_musd"] + (g - 1) * step, y, fmt=marker, mfc="white",
                                color=color, capsize=2, yerr=[[y - float(m["check_model_lower"])],
                                                              [float(m["check_model_upper"]) - y]],
                                label=f"model, {ds.sizes['seed']} seeds" if g == 0 else None)
            ax.axhline(float(ds["ladder_nothing"].sel(outlook=outlook, objective=name)), color="0.5", linestyle=":",
                       linewidth=1, label="no intervention (budget 0)")
            units = str(ds["objective_units"].sel(objective=name).values)
            ax.set_xlabel("budget (million USD)")
            ax.set_ylabel(f"{name} ({units})")
            ax.set_title(textwrap.fill(f"{EMULATE_OUTPUTS[name].label.capitalize()}, {outlook} outlook", 45),
                         fontsize=9)
            ax.grid(alpha=0.3)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.suptitle(f"Best emulated value within each budget, by the levers used (bands: the emulator's {level} "
                 f"intervals; open markers: the model)")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def ladder_method(ds: xr.Dataset) -> str:
    """How the budget ladder of a front dataset was searched and how to read it, in a paragraph."""
    level = f"{100 * json.loads(ds.attrs['settings'])['interval']:g}%"
    budgets = [float(b) for b in ds["budget"].values]
    levers = [str(v) for v in ds["lever"].values]
    group_of = {g: ", ".join(dict.fromkeys(split_lever(lv)[0].replace("_", " ") for lv in levers
                                           if lv.startswith(PREFIX) and REGISTRY[split_lever(lv)[0]].objective == g))
                or "none" for g in ("2", "5")}
    return (f"The search repeated at budgets of {', '.join(f'{b:g}' for b in budgets)} million USD, in each outlook "
            "on its own emulator (the emulated cost in that outlook within the budget), for each objective alone: "
            f"with all levers, with the Objective 2 levers only ({group_of['2']}) and with the Objective 5 levers "
            f"only ({group_of['5']}), the others off (coverage, share and cash 0, factor 1). 'Gain per extra "
            "million' is the improvement of the best value per million USD from the budget before (from no "
            "intervention, which costs 0, for the first). Objective 2 or 5 is 'better' when the "
            f"emulator's {level} predictive intervals of the two best values do not overlap; when they overlap "
            "the emulator cannot tell them apart ('neither'). The values are the emulator's: the check with the "
            "model is below.")


def ladder_findings(ds: xr.Dataset) -> list[str]:
    """Per objective of a front dataset's budget ladder, in words: which group's levers do better along the budgets
    in the first outlook, how that changes in the others, what each extra million buys with all levers, and which
    group is ahead at the budget of the model check."""
    objectives = [str(v) for v in ds["objective"].values]
    outlooks = [str(v) for v in ds["outlook"].values]
    budgets = [float(b) for b in ds["budget"].values]
    found = []
    for name in objectives:
        text = [str(ds["ladder_sentence"].sel(outlook=outlooks[0], objective=name).values)]
        for outlook in outlooks[1:]:
            before = [str(v) for v in ds["ladder_better"].sel(outlook=outlooks[0], objective=name).values]
            after = [str(v) for v in ds["ladder_better"].sel(outlook=outlook, objective=name).values]
            text.append(change_sentence(outlook, budgets, before, after))
            if before != after:
                text.append(str(ds["ladder_sentence"].sel(outlook=outlook, objective=name).values)
                            .replace(": ", f" ({outlook}): ", 1))
        units = str(ds["objective_units"].sel(objective=name).values)
        gains = [f"{gain_text(ds['ladder_gain'].sel(outlook=outlook, objective=name, group='all').values, budgets)} "
                 f"({outlook})" for outlook in outlooks]
        text.append(f"With all levers, in {units} per million USD: {'; '.join(gains)}.")
        at = ds.attrs["check_budget_musd"]
        leads = []
        for outlook in outlooks:
            d = ds.sel(outlook=outlook, objective=name, budget=at)
            advantage = float(d["ladder_advantage"])
            within = ", within the intervals" if str(d["ladder_better"].values) == "neither" else ""
            leads.append(f"Objective {2 if advantage > 0 else 5} ahead by {number_text(abs(advantage))} {units}"
                         f"{within} ({outlook})")
        text.append(f"At {at:g} million USD: {'; '.join(leads)}.")
        found.append(" ".join(text))
    return found


def ladder_summary(ds: xr.Dataset) -> list[str]:
    """The section of optimise.md on the budget ladder: what each extra million buys, where Objective 2 beats
    Objective 5 and the reverse, by outlook, and the model check."""
    s = json.loads(ds.attrs["settings"])
    level = f"{100 * s['interval']:g}%"
    objectives = [str(v) for v in ds["objective"].values]
    outlooks = [str(v) for v in ds["outlook"].values]
    budgets = [float(b) for b in ds["budget"].values]
    levers = [str(v) for v in ds["lever"].values]
    lines = ["", "## What each extra million buys", "", ladder_method(ds), ""]
    lines += [f"- {text}" for text in ladder_findings(ds)]
    for outlook in outlooks:
        lines += ["", f"### Outlook {outlook}", "",
                  "| objective | budget (million USD) | no intervention | all levers | Objective 2 levers | "
                  "Objective 5 levers | gain per extra million: all / O2 / O5 | better (by) |",
                  "|---|---|---|---|---|---|---|---|"]
        for name in objectives:
            units = str(ds["objective_units"].sel(objective=name).values)
            for i, budget in enumerate(budgets):
                d = ds.sel(outlook=outlook, objective=name).isel(budget=i)
                cells = [f"{number_text(float(d['ladder_best'].sel(group=g)))} "
                         f"[{number_text(float(d['ladder_lower'].sel(group=g)))}, "
                         f"{number_text(float(d['ladder_upper'].sel(group=g)))}]" for g in GROUPS]
                gains = " / ".join(number_text(float(d["ladder_gain"].sel(group=g))) for g in GROUPS)
                better = str(d["ladder_better"].values)
                ahead = "O2" if float(d["ladder_advantage"]) > 0 else "O5"
                by = number_text(abs(float(d["ladder_advantage"])))
                verdict = {"obj2": f"O2 by {by}", "obj5": f"O5 by {by}", "n/a": "n/a"}.get(
                    better, f"neither ({ahead} ahead by {by})" if float(d["ladder_advantage"]) else "neither (equal)")
                lines.append(f"| {name} ({units}) | {budget:g} | "
                             f"{number_text(float(ds['ladder_nothing'].sel(outlook=outlook, objective=name)))} | "
                             + " | ".join(cells) + f" | {gains} | {verdict} |")
    name, budget = ds.attrs["check_objective"], ds.attrs["check_budget_musd"]
    lines += ["", f"### Emulator against model: the best portfolios for {name} at {budget:g} million USD", "",
              f"Each group's best portfolio for {name} at the ladder's budget nearest the experiment's "
              f"({s['budget_musd']:g} million USD), run in its outlook under {ds.sizes['seed']} seeds "
              f"({ds.attrs['check_runs']} runs in {ds.attrs['check_seconds']} s); {level} intervals: the "
              "emulator's predictive interval, the Student-t interval of the model's mean.", "",
              "| outlook | portfolio of | " + " | ".join(levers) + f" | {name} emulated / model | cost (million USD) "
              "emulated / model |", "|---" * (4 + len(levers)) + "|"]
    for outlook in outlooks:
        for g in GROUPS:
            d = ds.sel(outlook=outlook, group=g)
            cells = []
            for n in (name, "cost"):
                e = d.sel(outcome=n)
                cells.append(" / ".join(f"{number_text(float(e[f'check_{w}_mean']))} "
                                        f"[{number_text(float(e[f'check_{w}_lower']))}, "
                                        f"{number_text(float(e[f'check_{w}_upper']))}]" for w in ("emulated", "model")))
            lines.append(f"| {outlook} | {GROUP_TEXT[g]} | "
                         + " | ".join(number_text(float(v)) for v in d["check_levers"].values) + " | "
                         + " | ".join(cells) + " |")
    return lines


def optimise_experiment(cfg: RunConfig, output_dir: str | Path, cache_dir: str | Path) -> Path:
    """`mode: optimise`: run it and write front.nc, front.png, optimise.md and the emulators fitted here
    (emulators/<outlook>/) into `output_dir`; return the path of front.nc."""
    from simulator.model.outputs import write_netcdf
    folder = Path(output_dir)
    ds, fitted = run_optimise(cfg, cache_dir, progress=cfg.progress)
    for outlook, (eds, em) in fitted.items():
        sub = folder / "emulators" / outlook
        sub.mkdir(parents=True, exist_ok=True)
        write_emulate(eds, em, sub)
    path = write_netcdf(ds, folder / "front.nc")
    figure(ds, folder / "front.png")
    if "ladder_best" in ds:
        ladder_figure(ds, folder / "ladder.png")
    fd, tmp = tempfile.mkstemp(prefix=".optimise.md.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(summary(ds))
    os.replace(tmp, folder / "optimise.md")
    return path
