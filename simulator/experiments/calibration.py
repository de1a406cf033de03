"""Calibration: fit model parameters to target moments, or to the validation cases, with a bounded optimiser.

The parameters to fit are `CalibrationParameter` entries (simulator/config.py): a model parameter by its dotted
command-line name, the bounds searched (inside the parameter's allowed range) and a start. The targets are
`MomentTarget` entries: a moment of MOMENTS below, its target value in the moment's units and a weight.

Objective. For parameter values `theta`, each candidate is run under seeds `0 .. seeds-1` (common random numbers: the
same seeds, hence the same shocks and household draws, for every candidate), and each moment `m_k(theta)` is computed
from the runs pooled over the seeds (the sum of its numerators over the sum of its denominators), leaving out the
first `burn_in_years` of each run. The objective is the weighted sum of squared relative errors

    J(theta) = sum_k w_k * ((m_k(theta) - t_k) / t_k) ** 2,

a deterministic function of `theta` (the same seeds every time), so a deterministic optimiser can work on it. A
candidate whose moment is undefined (no international departures at all, for a share) gets J = PENALTY.

Search. Each parameter is mapped to [0, 1] (`u = (theta - lower) / (upper - lower)`), so that every direction is on
the same scale, and searched there within bounds:

- `nelder-mead` (default): scipy.optimize.minimize with bounds, from the start, with an initial simplex stepping a
  quarter of each range; stops when the simplex spans less than `x_tolerance` of each range and the objective varies
  less than `f_tolerance` across it, or after `max_evaluations` candidates.
- `differential-evolution`: scipy.optimize.differential_evolution, a global search; each generation of `popsize` x
  parameters candidates is run as one parallel batch; about `max_evaluations` candidates in all.

Every run goes through the result cache of simulator/experiments/comparison.py (`run_all`): an interrupted calibration
rerun with the same settings replays the candidates it finished from the cache and simulates only the rest.

The validation cases as the objective (`calibration.objective: validation`, `python run.py experiment=calibrate`).
Pattern-oriented: instead of moments of runs, each candidate runs the experiments of the validation cases
(simulator/experiments/validation.py: the published regularities of docs/validation.md, each on the world, size and
arms its design states) on seeds `0 .. seeds-1`, with the candidate's parameters and every other model parameter of
the config that differs from the defaults, and the objective is their `penalty`: 0 when every case lies inside its
band with a margin, growing with the squared distance outside it. The experiments of the new candidates run as one
parallel batch (one task per candidate and experiment), and each candidate's figures are kept in
`<cache>/validation/<key>.json` (the key covers the parameters, the seeds, the worlds' tables, the version and the
model's code), so that an interrupted calibration resumes.

Held-out check (`calibration.held_out_seed_sets`, 0 or at least 2): after the search, the start and the fit are scored
again on that many sets of `seeds` other seeds (seeds `seeds .. 2 seeds - 1`, and so on), which the search never saw;
the fit's objective minus the start's, paired by set, tells whether the search's gain exceeds the objective's
sampling error (`held_out_check`).

Example (one parameter, a tiny world, its own output as the target):
    >>> import tempfile
    >>> from simulator.config import (CalibrationConfig, CalibrationParameter, MomentTarget, RunConfig)
    >>> cfg = RunConfig(n_households=100, years=2, progress=False, calibration=CalibrationConfig(
    ...     parameters=[CalibrationParameter("model.decisions.asc_internal", [-8.0, -4.0], start=-6.5)],
    ...     targets=[MomentTarget("internal_move_rate", 40.0)], seeds=1, burn_in_years=0, max_evaluations=6,
    ...     workers=1))
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     result = run_calibration(cfg, cache, progress=False)
    >>> result["evaluations"] <= 6 and result["objective"] <= result["objective_at_start"]
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
import yaml  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from scipy import optimize  # noqa: E402
from tqdm import tqdm  # noqa: E402

from simulator.version import __version__  # noqa: E402
from simulator.config import CalibrationConfig, RunConfig, validate_run  # noqa: E402
from simulator.errors import ConfigError  # noqa: E402
from simulator.params import ModelParams, iter_params  # noqa: E402
from simulator.experiments import validation  # noqa: E402
from simulator.experiments.cache import code_fingerprint, file_sha256, write_json_atomic  # noqa: E402
from simulator.experiments.processes import mark_job_process, watch_parent  # noqa: E402
from simulator.world.regions import one_city_world_path  # noqa: E402
from simulator.world.tables import default_world_path  # noqa: E402
from simulator.experiments.sensitivity import (MODEL_PARAMETERS, check_bounds, check_count,  # noqa: E402
                                               check_entries, experiment_base, parameter_meta, read_all,
                                               run_cached, with_values)

PENALTY = 1e6   # objective of a candidate whose moments are undefined
METHODS = ("nelder-mead", "differential-evolution")
OBJECTIVES = ("moments", "validation")
OBJECTIVE_NAMES = {"moments": "weighted sum of squared relative errors",
                   "validation": "the validation cases' penalty, 0 when every case is inside its band"}


# --- moments --------------------------------------------------------------------------------------------------------


def _after(ds: xr.Dataset, burn_in_months: int) -> xr.Dataset:
    return ds.isel(time=slice(burn_in_months, None))


def _household_years(ds: xr.Dataset) -> float:
    return float(ds.attrs["n_households"]) * ds.sizes["time"] / 12.0


def _departures(ds: xr.Dataset, pathway: str) -> float:
    return float(ds["emigrants"].sel(pathway=pathway).sum())


@dataclass(frozen=True)
class Moment:
    """A summary statistic of runs: numerator / denominator x scale, pooled over runs.

    `parts(ds)` gives (numerator, denominator) of one run (already cut to the months after the burn-in).
    """

    name: str
    label: str
    units: str
    definition: str
    parts: Callable[[xr.Dataset], tuple[float, float]]
    scale: float = 1.0


MOMENTS: dict[str, Moment] = {m.name: m for m in (
    Moment("internal_move_rate", "annual internal move rate", "moves per 1,000 origin households per year",
           "departures to the domestic city (emigrants, pathway internal) per year, per 1,000 households simulated",
           lambda ds: (_departures(ds, "internal"), _household_years(ds)), 1000.0),
    Moment("regular_departures_per_1000", "annual regular departures", "departures per 1,000 origin households "
           "per year", "departures on a regular visa (emigrants, pathway regular) per year, per 1,000 households "
           "simulated", lambda ds: (_departures(ds, "regular"), _household_years(ds)), 1000.0),
    Moment("irregular_departures_per_1000", "annual irregular departures", "departures per 1,000 origin "
           "households per year", "irregular departures (emigrants, pathway irregular) per year, per 1,000 "
           "households simulated", lambda ds: (_departures(ds, "irregular"), _household_years(ds)), 1000.0),
    Moment("applications_per_1000", "annual regular visa applications", "applications per 1,000 origin households "
           "per year", "regular visa applications lodged per year, per 1,000 households simulated",
           lambda ds: (float(ds["applications"].sum()), _household_years(ds)), 1000.0),
    Moment("irregular_share", "irregular share of international departures", "%",
           "irregular departures / (regular + irregular departures), in percent",
           lambda ds: (_departures(ds, "irregular"), _departures(ds, "regular") + _departures(ds, "irregular")),
           100.0),
    Moment("remittances_per_migrant", "remittances per migrant per month", "USD per migrant per month",
           "remittances received at origin net of fees (all pathways) over migrant-months away (migrants_away, all "
           "pathways, end of each month)",
           lambda ds: (float(ds["remittances"].sum()), float(ds["migrants_away"].sum())), 1.0),
    Moment("trapped_share", "trapped households", "% of households in an average month",
           "households that wanted to move and could not afford to (trapped), per household simulated and month, "
           "in percent", lambda ds: (float(ds["trapped"].sum()), _household_years(ds) * 12.0), 100.0),
    Moment("aspiration_ratio", "wanting to go abroad and unable, per migrant leaving abroad a year",
           "households (a monthly stock) per migrant a year",
           "households at home aspiring to a regular or irregular move they could not pay for (aspiring) plus "
           "applications in a queue (visa_queue), averaged over the months, per migrant leaving by a regular or "
           "irregular pathway in a year (emigrants_by_group; families joining not counted): docs/validation.md, "
           "case 7", lambda ds: (_wanting_abroad(ds) / 12.0, _leaving_abroad(ds)), 1.0),
)}


def _wanting_abroad(ds: xr.Dataset) -> float:
    """Household-months of wanting to go abroad and being unable: aspiring to a regular or irregular move, or
    queued."""
    return float(ds["aspiring"].sel(pathway=["regular", "irregular"]).sum() + ds["visa_queue"].sum())


def _leaving_abroad(ds: xr.Dataset) -> float:
    return float(ds["emigrants_by_group"].sel(pathway=["regular", "irregular"]).sum())


def run_parts(path: Path, burn_in_months: int) -> dict[str, tuple[float, float]]:
    """(numerator, denominator) of every moment for one cached run, after the burn-in."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        cut = _after(ds, burn_in_months)
        return {name: m.parts(cut) for name, m in MOMENTS.items()}


class _Parts:   # picklable for parallel reading
    def __init__(self, burn_in_months: int) -> None:
        self.burn_in_months = burn_in_months

    def __call__(self, path: Path) -> dict[str, tuple[float, float]]:
        return run_parts(path, self.burn_in_months)


def pooled(parts: Sequence[dict[str, tuple[float, float]]]) -> dict[str, float]:
    """Each moment from runs pooled: the sum of the numerators over the sum of the denominators, scaled."""
    out = {}
    for name, m in MOMENTS.items():
        num = sum(p[name][0] for p in parts)
        den = sum(p[name][1] for p in parts)
        out[name] = m.scale * num / den if den > 0 else math.nan
    return out


def burn_in_months(cfg: RunConfig) -> int:
    return int(round(12 * cfg.calibration.burn_in_years))


def simulated_moments(cfg: RunConfig, values: dict[str, float], cache_dir: str | Path,
                      progress: bool = False) -> dict[str, float]:
    """Every moment at parameter `values`, pooled over seeds 0..calibration.seeds-1, runs through the cache."""
    base = experiment_base(cfg)
    configs = [with_values(base, values, seed) for seed in range(cfg.calibration.seeds)]
    paths = run_cached(configs, cache_dir, cfg.calibration.workers, progress)
    return pooled(read_all(_Parts(burn_in_months(cfg)), paths, cfg.calibration.workers))


def objective(moments: dict[str, float], targets: Sequence[Any]) -> float:
    """Weighted sum of squared relative errors of `moments` against `targets` (MomentTarget entries)."""
    total = 0.0
    for t in targets:
        m = moments[t.name]
        if not math.isfinite(m):
            return PENALTY
        total += t.weight * ((m - t.value) / t.value) ** 2
    return total


# --- the validation cases as the objective -------------------------------------------------------------------------


def case_overrides(cfg: RunConfig, values: dict[str, float]) -> dict[str, float | int]:
    """The model parameters of `cfg` with `values` set (dotted config names) that differ from the defaults, as the
    validation experiments take them (`decisions.beta_income`, without the leading `model.`)."""
    model = with_values(cfg, values).model
    defaults = {name: value for name, value, _ in iter_params(ModelParams())}
    return {name: value for name, value, _ in iter_params(model) if value != defaults[name]}


def _case_inputs() -> dict[str, Any]:
    """What determines every candidate's validation figures besides its parameters and seeds: the default and one-city
    worlds' tables, the simulator version, the model's code and the experiments' module (which is not part of the
    model's code fingerprint: editing it leaves the result cache's runs valid)."""
    tables = {f"{folder.name}/{p.name}": file_sha256(p)
              for folder in (default_world_path(), one_city_world_path()) for p in sorted(folder.glob("*.csv"))}
    return {"worlds": tables, "version": __version__, "code": code_fingerprint(),
            "cases": file_sha256(Path(validation.__file__))}


def _case_key(overrides: dict[str, float | int], seeds: Sequence[int], inputs: dict[str, Any]) -> str:
    """A 16-hex-digit key of a candidate's validation figures: its parameters, the seeds and `_case_inputs()`."""
    text = json.dumps({"overrides": overrides, "seeds": list(seeds), **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _case_task(index: int, name: str, overrides: dict[str, float | int], seeds: tuple[int, ...]) -> tuple:
    watch_parent()   # in a worker process: stop if the job that started it is gone
    return index, name, validation.experiment_figures(name, overrides, seeds)


def validation_figures(candidates: Sequence[dict[str, float | int]], seeds: Sequence[int], cache_dir: str | Path,
                       workers: int = 0) -> list[dict[str, Any]]:
    """The validation figures (`validation.figures`) of every candidate (model overrides, `case_overrides`), on
    `seeds`: the experiments of all candidates not yet in `<cache_dir>/validation/` run as one parallel batch (one
    task per candidate and experiment, the costliest first; 0 workers = all cores), and each candidate's figures are
    stored there (atomically) as soon as its last experiment ends, so that an interrupted calibration resumes."""
    seeds = tuple(int(s) for s in seeds)
    folder = Path(cache_dir) / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    inputs = _case_inputs()
    paths = [folder / f"{_case_key(ov, seeds, inputs)}.json" for ov in candidates]
    out: list[dict[str, Any] | None] = [None] * len(candidates)
    for i, path in enumerate(paths):
        if path.exists():
            try:
                out[i] = json.loads(path.read_text(encoding="utf-8"))["figures"]
            except (OSError, ValueError, KeyError) as err:
                warnings.warn(f"validation figures {path} unreadable ({err}); computing them again", stacklevel=2)
    first: dict[Path, int] = {}
    for i, figures in enumerate(out):
        if figures is None:
            first.setdefault(paths[i], i)   # candidates with the same key (the same model) are computed once
    todo = list(first.values())
    tasks = [(i, name) for name in validation.EXPERIMENTS for i in todo]   # the costliest experiments first
    pieces: dict[int, dict[str, dict[str, Any]]] = {i: {} for i in todo}   # candidate: experiment: figures

    def finished(index: int, name: str, figures: dict[str, Any]) -> None:
        pieces[index][name] = figures
        if len(pieces[index]) == len(validation.EXPERIMENTS):
            merged = {k: v for n in validation.EXPERIMENTS for k, v in pieces[index][n].items()}
            write_json_atomic({"overrides": candidates[index], "seeds": list(seeds), "figures": merged,
                               "penalty": validation.penalty(merged), "simulator_version": __version__},
                              paths[index])

    if tasks:
        if workers == 1 or len(tasks) == 1:
            for i, name in tasks:
                finished(*_case_task(i, name, candidates[i], seeds))
        else:
            mark_job_process()
            runner = Parallel(n_jobs=workers or -1, return_as="generator_unordered")
            for result in runner(delayed(_case_task)(i, name, candidates[i], seeds) for i, name in tasks):
                finished(*result)
    by_path = {}   # the figures computed here are read back as a rerun reads them: the same values either way
    for i, path in enumerate(paths):
        if out[i] is None:
            by_path.setdefault(path, json.loads(path.read_text(encoding="utf-8"))["figures"])
            out[i] = by_path[path]
    return out   # type: ignore[return-value]


# --- validation -----------------------------------------------------------------------------------------------------


def current_value(cfg: RunConfig, name: str) -> float:
    """The value of model parameter `name` in `cfg`."""
    obj: Any = cfg
    for part in name.split("."):
        obj = getattr(obj, part)
    return float(obj)


def validate_calibration(cfg: RunConfig) -> None:
    """Check the calibration settings of `cfg`; raise ConfigError naming the first bad one."""
    c = cfg.calibration
    check_entries("calibration.parameters", c.parameters)
    for i, p in enumerate(c.parameters):
        where = f"calibration.parameters[{i}]"
        meta = parameter_meta(f"{where}.name", p.name)
        lo, hi = check_bounds(f"{where}.bounds", p.name, p.bounds)
        if p.start is None:
            value = current_value(cfg, p.name)
            if not lo <= value <= hi:
                raise ConfigError(f"{where}.start", None, f"a start within the bounds [{lo:g}, {hi:g}] "
                                  f"({meta['units']}): the config's value {value:g} is outside them")
        elif (isinstance(p.start, bool) or not isinstance(p.start, (int, float))
              or not lo <= p.start <= hi):
            raise ConfigError(f"{where}.start", p.start, f"null or a value within the bounds [{lo:g}, {hi:g}] "
                              f"({meta['units']})")
    check_count("calibration.seeds", c.seeds, 1)
    if c.objective not in OBJECTIVES:
        raise ConfigError("calibration.objective", c.objective, f"one of {', '.join(OBJECTIVES)}")
    if c.objective == "validation":
        _validate_validation_objective(cfg)
    else:
        _validate_targets(c.targets)
    if (isinstance(c.burn_in_years, bool) or not isinstance(c.burn_in_years, (int, float))
            or not 0 <= c.burn_in_years or int(round(12 * c.burn_in_years)) >= int(round(12 * cfg.years))):
        raise ConfigError("calibration.burn_in_years", c.burn_in_years, f"a number of years in [0, years = "
                          f"{cfg.years:g}) that leaves at least one month to measure")
    if c.method not in METHODS:
        raise ConfigError("calibration.method", c.method, f"one of {', '.join(METHODS)}")
    check_count("calibration.max_evaluations", c.max_evaluations, 1)
    for key in ("x_tolerance", "f_tolerance"):
        value = getattr(c, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ConfigError(f"calibration.{key}", value, "a number in [0, 1)")
    check_count("calibration.popsize", c.popsize, 2)
    if c.method == "differential-evolution" and c.popsize * len(c.parameters) < 5:
        raise ConfigError("calibration.popsize", c.popsize, f"at least {math.ceil(5 / len(c.parameters))} so that a "
                          "generation has 5 or more candidates")
    check_count("calibration.optimizer_seed", c.optimizer_seed, 0)
    check_count("calibration.held_out_seed_sets", c.held_out_seed_sets, 0)
    if c.held_out_seed_sets == 1:
        raise ConfigError("calibration.held_out_seed_sets", 1, "0, or at least 2 so that the paired difference of "
                          "the start and the fit has a standard error")
    check_count("calibration.workers", c.workers, 0)


def _validate_targets(targets: Sequence[Any]) -> None:
    """The moment targets of `calibration.objective: moments`."""
    check_entries("calibration.targets", targets)
    for i, t in enumerate(targets):
        where = f"calibration.targets[{i}]"
        if t.name not in MOMENTS:
            raise ConfigError(f"{where}.name", t.name, f"one of {', '.join(MOMENTS)}")
        if isinstance(t.value, bool) or not isinstance(t.value, (int, float)) or not (
                math.isfinite(t.value) and t.value > 0):
            raise ConfigError(f"{where}.value", t.value, f"a number above 0 ({MOMENTS[t.name].units}); errors are "
                              "relative to it")
        if isinstance(t.weight, bool) or not isinstance(t.weight, (int, float)) or not (
                math.isfinite(t.weight) and t.weight >= 0):
            raise ConfigError(f"{where}.weight", t.weight, "a number of at least 0")
    if not any(t.weight > 0 for t in targets):
        raise ConfigError("calibration.targets", [t.name for t in targets], "at least one target of weight > 0")


def _validate_validation_objective(cfg: RunConfig) -> None:
    """`calibration.objective: validation`: the cases are the targets and set their own worlds and runs."""
    c = cfg.calibration
    if c.targets:
        raise ConfigError("calibration.targets", [t.name for t in c.targets], "none with calibration.objective "
                          "validation: the validation cases' published figures are its targets "
                          "(simulator/experiments/validation.py FIGURES)")
    for key in ("world", "climate_outlook", "labour_outlook"):
        if getattr(cfg, key) is not None:
            raise ConfigError(key, getattr(cfg, key), "null with calibration.objective validation: each case runs "
                              "on the world, climate and labour outlook its design states (docs/validation.md)")
    if cfg.scenario not in (None, "baseline"):
        raise ConfigError("scenario", cfg.scenario, "null or baseline with calibration.objective validation: each "
                          "case sets the interventions its design states")
    for key, value, default in (("n_households", cfg.n_households, RunConfig.n_households),
                                ("years", cfg.years, RunConfig.years),
                                ("start_year", cfg.start_year, RunConfig.start_year),
                                ("calibration.burn_in_years", c.burn_in_years, CalibrationConfig.burn_in_years)):
        if value != default:
            raise ConfigError(key, value, f"unset ({default:g}) with calibration.objective validation: each case "
                              "sets its own size and length, and what it measures")
    if c.seeds == 1:
        raise ConfigError("calibration.seeds", 1, "at least 2 with calibration.objective validation: the cases' "
                          "direction checks are paired differences measured against their standard error across "
                          "seeds")


# --- the search -----------------------------------------------------------------------------------------------------


def run_calibration(cfg: RunConfig, cache_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Fit `cfg.calibration.parameters` to its targets; return the result as a JSON-ready dict.

    The dict has the fitted values (`parameters`); with the moments objective each moment's target, fitted value and
    relative error (`moments`), with the validation objective each case's figure at the start and at the fit and the
    band aimed at (`cases`); the objective at the start and at the fit; the held-out check (`held_out`, None without
    `held_out_seed_sets`); the number of candidates evaluated and of runs (nominal: runs found in a cache count); the
    optimiser's report and the trace of every candidate.
    """
    validate_calibration(cfg)
    c = cfg.calibration
    base = experiment_base(cfg)
    validate_run(base)
    started = time.perf_counter()
    names = [p.name for p in c.parameters]
    lo = np.array([float(p.bounds[0]) for p in c.parameters])
    hi = np.array([float(p.bounds[1]) for p in c.parameters])
    start = np.array([current_value(cfg, p.name) if p.start is None else float(p.start) for p in c.parameters])
    seeds = list(range(c.seeds))
    parts_of = _Parts(burn_in_months(cfg))
    memo: dict[tuple[float, ...], tuple[float, dict[str, float]]] = {}
    trace: list[dict[str, Any]] = []
    bar = tqdm(total=c.max_evaluations, desc="calibration", unit="candidate", disable=not progress)

    def theta_of(u: np.ndarray) -> tuple[float, ...]:
        return tuple(float(x) for x in np.clip(lo + np.clip(u, 0.0, 1.0) * (hi - lo), lo, hi))

    def scores(new: list[tuple[float, ...]], on: Sequence[int] = seeds) -> list[tuple[float, dict[str, Any]]]:
        """The objective and the moments (or the validation figures) of every candidate of `new`, on seeds `on`."""
        if c.objective == "validation":
            candidates = [case_overrides(cfg, dict(zip(names, t))) for t in new]
            figures = validation_figures(candidates, on, cache_dir, c.workers)
            return [(validation.penalty(m), m) for m in figures]
        configs = [with_values(base, dict(zip(names, t)), seed) for t in new for seed in on]
        parts = read_all(parts_of, run_cached(configs, cache_dir, c.workers, progress=False), c.workers)
        moments = [pooled(parts[i * len(on):(i + 1) * len(on)]) for i in range(len(new))]
        return [(objective(m, c.targets), m) for m in moments]

    def evaluate(thetas: Sequence[tuple[float, ...]]) -> None:
        """Run every new candidate (all seeds, one parallel batch) and record its moments and objective."""
        new = list(dict.fromkeys(t for t in thetas if t not in memo))
        if not new:
            return
        for theta, (value, moments) in zip(new, scores(new)):
            memo[theta] = (value, moments)
            trace.append({"evaluation": len(trace) + 1, "values": dict(zip(names, theta)), "objective": value})
            bar.update()
            bar.set_postfix(best=f"{min(memo.values(), key=lambda v: v[0])[0]:.4g}")

    def f(u: np.ndarray) -> float:
        theta = theta_of(u)
        evaluate([theta])
        return memo[theta][0]

    u0 = (start - lo) / (hi - lo)
    start_theta = theta_of(u0)
    evaluate([start_theta])
    d = len(names)
    if c.method == "nelder-mead":
        simplex = [u0]
        for j in range(d):
            step = np.zeros(d)
            step[j] = 0.25 if u0[j] + 0.25 <= 1.0 else -0.25
            simplex.append(u0 + step)
        res = optimize.minimize(f, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * d,
                                options={"initial_simplex": np.array(simplex), "maxfev": c.max_evaluations,
                                         "xatol": c.x_tolerance, "fatol": c.f_tolerance})
        iterations = int(res.nit)
    else:
        def batch(func: Callable[[np.ndarray], float], us: Any) -> list[float]:
            us = list(us)
            evaluate([theta_of(np.asarray(u)) for u in us])   # one parallel batch; the calls below hit the memo
            return [func(u) for u in us]

        generations = max(0, c.max_evaluations // (c.popsize * d) - 1)
        res = optimize.differential_evolution(f, [(0.0, 1.0)] * d, popsize=c.popsize, maxiter=generations,
                                              seed=c.optimizer_seed, workers=batch, updating="deferred",
                                              polish=False, tol=0.0, atol=c.f_tolerance, x0=u0,
                                              init="latinhypercube")
        iterations = int(res.nit)
    bar.close()
    best_theta = min(memo, key=lambda t: memo[t][0])   # the best candidate evaluated (the optimiser's, or better)
    best, moments = memo[best_theta]
    start_value, start_moments = memo[start_theta]
    held_out = held_out_check([start_theta, best_theta], c.held_out_seed_sets, len(seeds), scores, progress)
    meta = MODEL_PARAMETERS
    return {
        "title": "Migration flow calibration", "simulator_version": __version__,
        "parameters": [{"name": n, "units": meta[n]["units"], "bounds": [float(a), float(b)], "start": float(s),
                        "fitted": float(v)}
                       for n, a, b, s, v in zip(names, lo, hi, start_theta, best_theta)],
        "objective_kind": c.objective,
        "moments": [{"name": t.name, "label": MOMENTS[t.name].label, "units": MOMENTS[t.name].units,
                     "definition": MOMENTS[t.name].definition, "target": float(t.value), "weight": float(t.weight),
                     "fitted": moments[t.name], "relative_error": (moments[t.name] - t.value) / t.value,
                     "at_start": start_moments[t.name]} for t in c.targets],
        "other_moments": ({k: v for k, v in moments.items() if k not in {t.name for t in c.targets}}
                          if c.objective == "moments" else {}),
        "cases": [{"name": k, "case": case, "what": what, "band": band, "fitted": moments[k],
                   "at_start": start_moments[k]}
                  for k, (case, what, band) in validation.FIGURES.items()] if c.objective == "validation" else [],
        "objective": best, "objective_at_start": start_value,
        "held_out": held_out,
        "evaluations": len(memo),
        "runs": len(memo) * len(seeds) * (validation.RUNS_PER_SEED if c.objective == "validation" else 1),
        "optimizer": {"method": c.method, "converged": bool(res.success), "message": str(res.message),
                      "iterations": iterations, "function_calls": int(res.nfev)},
        "seeds": seeds, "burn_in_years": c.burn_in_years,
        "run_settings": {k: v for k, v in dataclasses.asdict(base).items()
                         if k not in ("model", "compare", "sensitivity", "calibration", "seed", "mode", "progress",
                                      "figures", "agent_view_limit", "threads")
                         and not (c.objective == "validation" and k in ("n_households", "years", "start_year"))},
        "model": calibrated_model(cfg, dict(zip(names, best_theta))),
        "settings": dataclasses.asdict(c),
        "trace": trace,
        "elapsed_seconds": round(time.perf_counter() - started, 1),
    }


def held_out_check(thetas: Sequence[Any], sets: int, size: int,
                   scores: Callable[..., list[tuple[float, Any]]], progress: bool = False) -> dict[str, Any] | None:
    """The start and the fit (`thetas`) scored again on `sets` sets of `size` other seeds (the k-th: seeds
    size * k .. size * (k + 1) - 1, k = 1..sets), which the search never saw: the fit's objective minus the start's
    on each set (paired: the same seeds), their mean and standard error, and the objective's spread across the sets at
    the start. It tells whether the search's gain over the start exceeds the objective's sampling error (|z| above
    2), or whether the fit and the start are equally good within it. None with no sets."""
    if sets <= 0:
        return None
    rows = []
    for k in tqdm(range(1, sets + 1), desc="held-out seeds", unit="set", disable=not progress):
        on = list(range(size * k, size * (k + 1)))
        rows.append([value for value, _ in scores(thetas, on)] + [on])
    start = np.array([r[0] for r in rows])
    fitted = np.array([r[1] for r in rows])
    diff = validation.paired(start, fitted)
    return {"seed_sets": [r[2] for r in rows], "start": start.tolist(), "fitted": fitted.tolist(),
            "difference_mean": diff.mean, "difference_se": diff.se, "z": float(diff.z),
            "start_sd": float(start.std(ddof=1))}


# --- outputs --------------------------------------------------------------------------------------------------------


def calibrated_model(cfg: RunConfig, fitted: dict[str, float]) -> dict[str, Any]:
    """The model parameters of the calibrated model that differ from the defaults (the fitted ones always), nested."""
    model = with_values(cfg, fitted).model
    defaults = {name: value for name, value, _ in iter_params(ModelParams())}
    out: dict[str, Any] = {}
    for name, value, _ in iter_params(model):
        if f"model.{name}" in fitted or value != defaults[name]:
            group, key = name.split(".", 1)
            out.setdefault(group, {})[key] = value
    return out


def overrides(result: dict[str, Any]) -> list[str]:
    """The calibrated model as command-line overrides, `model.group.key=value`."""
    return [f"model.{group}.{key}={value!r}" for group, keys in result["model"].items() for key, value in keys.items()]


def calibrated_yaml(result: dict[str, Any], folder: Path) -> str:
    """A Hydra experiment file (`# @package _global_`) that sets the calibrated model."""
    run = result["run_settings"]
    body: dict[str, Any] = {k: run[k] for k in ("world", "climate_outlook", "labour_outlook") if run.get(k)}
    body["model"] = result["model"]
    header = ("# @package _global_\n"
              f"# The calibrated model: python run.py --config-dir {folder} experiment=calibrated [other overrides]\n"
              f"# Fitted by a calibration (objective {result.get('objective_kind', 'moments')}: "
              f"{result['objective']:.4g}, "
              f"{result['evaluations']} candidates; see calibration.json). Model parameters not listed keep their "
              "defaults.\n")
    return header + yaml.safe_dump(body, sort_keys=False)


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:,.3f}" if abs(x) >= 1 else f"{x:.4g}"


def _figure(x: Any) -> str:
    return ", ".join(_num(v) for v in x) if isinstance(x, (list, tuple)) else _num(float(x))


def held_out_lines(h: dict[str, Any] | None, start: str = "the start") -> list[str]:
    """The held-out check as a Markdown paragraph (none without it); `start` names what the fit is compared with."""
    if not h:
        return []
    first, last = h["seed_sets"][0], h["seed_sets"][-1]
    verdict = (f"the fit is better than {start} beyond the objective's sampling error" if h["z"] < -2 else
               f"the fit is worse than {start} on seeds the search did not see" if h["z"] > 2 else
               f"the fit and {start} are equally good within the objective's sampling error")
    return ["## On seeds the search did not see", "",
            f"{start[0].upper()}{start[1:]} and the fit scored again on {len(h['seed_sets'])} other sets of "
            f"{len(first)} seeds ({first[0]}-{first[-1]} to {last[0]}-{last[-1]}): the fit's objective minus that of "
            f"{start}, paired, {h['difference_mean']:+.4g} (SE {h['difference_se']:.2g}, {h['z']:+.1f} SE); the "
            f"objective of {start} varies across the sets with a standard deviation of {h['start_sd']:.3g} (mean "
            f"{float(np.mean(h['start'])):.4g}; the fit's mean {float(np.mean(h['fitted'])):.4g}). So {verdict}.",
            ""]


def summary(result: dict[str, Any], folder: Path) -> str:
    """A Markdown summary: the fit, the held-out check, each moment against its target (or each validation case at
    the start and at the fit), and how to run the calibrated model."""
    run = result["run_settings"]
    opt = result["optimizer"]
    cases = result.get("objective_kind") == "validation"
    seeds = f"seeds {result['seeds'][0]}-{result['seeds'][-1]} (the same for every candidate)"
    lines = ["# Calibration", "",
             f"- Runs: the experiments of the validation cases (docs/validation.md), each on the world, size and "
             f"arms its design states, on {seeds}" if cases else
             f"- Runs: scenario {run['scenario']}, {run['n_households']} households, {run['years']:g} years, world "
             f"{run['world'] or 'default'}; moments after a burn-in of {result['burn_in_years']:g} years, pooled over "
             f"{seeds}",
             f"- Optimiser: {opt['method']}, {result['evaluations']} candidates ({result['runs']} runs), "
             f"{'converged' if opt['converged'] else 'not converged'}: {opt['message']}; "
             f"{result['elapsed_seconds']} s",
             f"- Objective ({OBJECTIVE_NAMES[result.get('objective_kind', 'moments')]}): {result['objective']:.4g} "
             f"(at the start: {result['objective_at_start']:.4g})", "",
             *held_out_lines(result.get("held_out")),
             "## Fitted parameters", "", "| parameter | units | bounds | start | fitted |", "|---|---|---|---|---|"]
    for p in result["parameters"]:
        lines.append(f"| {p['name']} | {p['units']} | [{p['bounds'][0]:g}, {p['bounds'][1]:g}] | "
                     f"{_num(p['start'])} | {_num(p['fitted'])} |")
    if cases:
        lines += ["", "## The validation cases", "", "Each figure on the search's seeds; the band is the one the "
                  "objective aims at, inside the published figure's (simulator/experiments/validation.py FIGURES).",
                  "", "| case | figure | band aimed at | fitted | at start |", "|---|---|---|---|---|"]
        for m in result["cases"]:
            lines.append(f"| {m['case']} | {m['what']} | {m['band']} | {_figure(m['fitted'])} | "
                         f"{_figure(m['at_start'])} |")
    else:
        lines += ["", "## Moments", "", "| moment | units | target | fitted | relative error | at start | weight |",
                  "|---|---|---|---|---|---|---|"]
        for m in result["moments"]:
            lines.append(f"| {m['name']} | {m['units']} | {_num(m['target'])} | {_num(m['fitted'])} | "
                         f"{100 * m['relative_error']:+.1f}% | {_num(m['at_start'])} | {m['weight']:g} |")
        lines += ["", "Definitions:", ""] + [f"- `{m['name']}`: {m['definition']}." for m in result["moments"]]
    lines += ["", "## The calibrated model", "",
              "As a Hydra experiment (`experiment/calibrated.yaml` in this folder), e.g. the main job or one run:", "",
              "```bash", f"python run.py --config-dir {folder} experiment=calibrated",
              f"python run.py --config-dir {folder} experiment=calibrated scenario=baseline", "```", "",
              "or as overrides:", "", "```bash", "python run.py " + " ".join(overrides(result)), "```"]
    return "\n".join(lines) + "\n"


def trace_figure(result: dict[str, Any], path: Path) -> Path:
    """The objective of every candidate in the order evaluated, and the best so far."""
    values = np.array([t["objective"] for t in result["trace"]])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(1, len(values) + 1)
    ax.plot(x, values, "o", markersize=3, color="tab:blue", alpha=0.6, label="candidate")
    ax.plot(x, np.minimum.accumulate(values), color="tab:red", label="best so far")
    if np.all(values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("candidate (in the order evaluated)")
    ax.set_ylabel(f"objective ({OBJECTIVE_NAMES[result.get('objective_kind', 'moments')]})")
    ax.set_title(f"Calibration: {result['optimizer']['method']}, {len(values)} candidates")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_calibration(result: dict[str, Any], folder: str | Path) -> Path:
    """Write calibration.json, calibration.md, calibration_trace.png and experiment/calibrated.yaml into `folder`;
    return the path of calibration.json."""
    folder = Path(folder).resolve()
    (folder / "experiment").mkdir(parents=True, exist_ok=True)
    path = folder / "calibration.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    (folder / "calibration.md").write_text(summary(result, folder), encoding="utf-8")
    (folder / "experiment" / "calibrated.yaml").write_text(calibrated_yaml(result, folder), encoding="utf-8")
    trace_figure(result, folder / "calibration_trace.png")
    return path
