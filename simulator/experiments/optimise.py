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

An outlook without a file in `optimise.emulators` gets its emulator fitted here with the `emulate` settings
(`run_emulate` with `climate_outlook` set to it); the fitted emulators are written next to the results.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import time
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
from simulator.experiments.emulate import (EMULATE_OUTPUTS, PREFIX, Emulator, base_definition,  # noqa: E402
                                           check_emulate, load_emulator, point_scenario, run_emulate,
                                           run_outcomes, write_emulate, write_scenario)
from simulator.experiments.sensitivity import check_count, number_text, run_cached  # noqa: E402
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
    an emulator file (its settings, which must include the objectives and the cost among its outputs)."""
    o = cfg.optimise
    validate_optimise(o)
    validate_run(dataclasses.replace(cfg, optimise=OptimiseConfig()))
    if any(o.emulators.get(name) is None for name in o.outlooks):
        missing = [n for n in [*o.objectives, "cost"] if n not in cfg.emulate.outputs]
        if missing:
            raise ConfigError("emulate.outputs", list(cfg.emulate.outputs), f"outputs including the objectives and "
                              f"the cost ({', '.join(missing)} missing)")
        check_emulate(emulation(cfg, o.outlooks[0]))


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
    whose RunConfig had fewer fields (those missing take their defaults)."""
    fields = {f.name: getattr(old, f.name) for f in dataclasses.fields(RunConfig) if hasattr(old, f.name)}
    return RunConfig(**fields)


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
    return "\n".join(lines) + "\n"


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
    fd, tmp = tempfile.mkstemp(prefix=".optimise.md.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(summary(ds))
    os.replace(tmp, folder / "optimise.md")
    return path
