"""Global sensitivity analysis: Morris screening and Sobol' indices (SALib) of run outcomes over model parameters.

The parameter space is a list of `SensitivityParameter` entries (simulator/config.py): a model parameter by its
dotted name as on the command line (`model.irregular.death_probability`), the bounds it is sampled within (inside the
parameter's allowed range, simulator/params.py) and a distribution: `uniform` on the bounds, or `normal` / `lognormal`
truncated to them.

Designs are drawn on the unit hypercube (SALib's Morris trajectories and Saltelli's extension of the Sobol' sequence,
with bounds [0, 1]); each coordinate `u` becomes a parameter value through the inverse distribution function of that
parameter's (truncated) distribution. Morris elementary effects are therefore measured per unit of `u`: for a uniform
parameter, `mu_star` is the mean absolute change of the output, linearly extrapolated to a move across the whole range;
for normal and lognormal parameters, a move across the whole range of quantiles.

Every sample is a `RunConfig` with those parameter values set, run under seeds `0 .. seeds-1` (common random numbers:
the same seeds, hence the same shocks and household draws, for every sample) through the result cache and parallel
runner of simulator/experiments/comparison.py (`run_all`), and its outputs are averaged over the seeds. The designs are
seeded (`sample_seed`), so an interrupted analysis rerun with the same settings draws the same samples, finds the runs
it finished in the cache and runs only the others.

Outputs are whole-run outcomes of simulator/experiments/metrics.py `run_metrics` (OUTPUTS below). Shares are pooled over
the seeds of a sample (the share of the summed departures), so that a seed without international departures does not
leave the sample undefined. Seed noise left after averaging is reported as `noise_share` (see `noise_share`): the share
of the variance of the sample means across the design that is noise. A share near 1 means that the output's variation
over the design is mostly noise and its indices are not reliable: run more seeds or households.

A contrast (`sensitivity.contrast` = [a, b], two scenario names) compares two policy packages across the parameter
space: every sample runs both scenarios under the same seeds, and each output becomes b minus a, paired per seed
(the same shocks and households under both packages, so the noise they share cancels) and averaged over the seeds;
for a share, the difference of the shares pooled over the seeds. `noise_share` is then measured on the per-seed
differences, and the summary adds, per output, the mean difference over the samples, its 5th-95th percentile and the
share of samples in which b gives less of the output than a: whether the ranking of the two packages flips somewhere
in the parameter space (`python run.py experiment=sensitivity_choice`).

Example (a tiny analysis: 1 parameter, 1 output):
    >>> import tempfile
    >>> from simulator.config import RunConfig, SensitivityConfig, SensitivityParameter
    >>> cfg = RunConfig(n_households=100, years=1, progress=False, sensitivity=SensitivityConfig(
    ...     parameters=[SensitivityParameter("model.decisions.asc_internal", [-7.0, -5.0])], outputs=["internal"],
    ...     methods=["morris"], seeds=1, morris_trajectories=2, bootstrap=10, workers=1))
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     ds = run_sensitivity(cfg, cache, progress=False)
    >>> ds["value"].sel(index="mu_star").dims
    ('parameter', 'output')
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import math
import textwrap
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from scipy import stats  # noqa: E402

from simulator.version import __version__  # noqa: E402
from simulator.experiments.comparison import run_all  # noqa: E402
from simulator.config import (CalibrationConfig, CompareConfig, RunConfig, SensitivityConfig,  # noqa: E402
                              SensitivityParameter, validate_run)
from simulator.errors import ConfigError, InputError  # noqa: E402
from simulator.params import ModelParams, iter_params  # noqa: E402
from simulator.experiments.metrics import METRICS, run_metrics  # noqa: E402
from simulator.policy.scenarios import available, scenarios_dir  # noqa: E402

# --- the parameter space --------------------------------------------------------------------------------------------

#: every model parameter by its dotted command-line name, with its metadata (units, lo, hi, source, integer)
MODEL_PARAMETERS: dict[str, dict[str, Any]] = {f"model.{name}": meta for name, _, meta in iter_params(ModelParams())}

DISTRIBUTIONS = ("uniform", "normal", "lognormal")


def parameter_meta(field_name: str, name: object) -> dict[str, Any]:
    """The metadata of model parameter `name`, or a ConfigError on `field_name` suggesting close names."""
    if isinstance(name, str) and name in MODEL_PARAMETERS:
        return MODEL_PARAMETERS[name]
    close = difflib.get_close_matches(str(name), list(MODEL_PARAMETERS), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ConfigError(field_name, name, "the dotted name of a model parameter, such as "
                      f"model.irregular.death_probability{hint}; every name: simulator/params.py or docs/ODD.md")


def check_bounds(field_name: str, name: str, bounds: object) -> tuple[float, float]:
    """The (lower, upper) of `bounds`, checked against the declared range of parameter `name`."""
    meta = MODEL_PARAMETERS[name]
    allowed = (f"[lower, upper] with lower < upper inside the allowed range of {name}: "
               f"[{meta['lo']:g}, {meta['hi']:g}] ({meta['units']})")
    if (not isinstance(bounds, (list, tuple)) or len(bounds) != 2
            or any(isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) for b in bounds)):
        raise ConfigError(field_name, bounds, allowed)
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (meta["lo"] <= lo < hi <= meta["hi"]):
        raise ConfigError(field_name, list(bounds), allowed)
    return lo, hi


def check_count(field_name: str, value: object, least: int) -> None:
    """Raise ConfigError unless `value` is an integer of at least `least`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(field_name, value, f"an integer of at least {least}")


def check_entries(field_name: str, entries: Sequence[Any]) -> None:
    """Raise ConfigError unless `entries` is a non-empty list of entries with distinct names."""
    names = [e.name for e in entries]
    if not names:
        raise ConfigError(field_name, [], "a non-empty list of entries, each with at least a name and bounds")
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"{field_name}[{i}].name", name, "a parameter not listed before")


def validate_space(entries: Sequence[SensitivityParameter], section: str = "sensitivity.parameters") -> None:
    """Check every entry of a parameter space; raise ConfigError naming the first bad entry, its value and what is
    allowed."""
    check_entries(section, entries)
    for i, p in enumerate(entries):
        where = f"{section}[{i}]"
        meta = parameter_meta(f"{where}.name", p.name)
        lo, hi = check_bounds(f"{where}.bounds", p.name, p.bounds)
        if p.dist not in DISTRIBUTIONS:
            raise ConfigError(f"{where}.dist", p.dist, f"one of {', '.join(DISTRIBUTIONS)}")
        if p.dist == "uniform":
            for key in ("mean", "sd"):
                if getattr(p, key) is not None:
                    raise ConfigError(f"{where}.{key}", getattr(p, key), "null for a uniform distribution (mean "
                                      "and sd are for normal and lognormal)")
            continue
        if p.dist == "lognormal" and lo <= 0:
            raise ConfigError(f"{where}.bounds", list(p.bounds), "a lower bound above 0 for a lognormal distribution")
        if p.mean is not None and not lo <= p.mean <= hi:
            raise ConfigError(f"{where}.mean", p.mean, f"a {'median' if p.dist == 'lognormal' else 'mean'} within "
                              f"the bounds [{lo:g}, {hi:g}] ({meta['units']})")
        if p.sd is not None and not (isinstance(p.sd, (int, float)) and p.sd > 0 and math.isfinite(p.sd)):
            raise ConfigError(f"{where}.sd", p.sd, "a standard deviation above 0 (of the log for lognormal)")


def distribution(p: SensitivityParameter) -> tuple[str, float, float]:
    """(dist, centre, sd) of an entry with its defaults filled in: for lognormal, centre and sd are of the log."""
    lo, hi = float(p.bounds[0]), float(p.bounds[1])
    if p.dist == "normal":
        return "normal", float(p.mean if p.mean is not None else (lo + hi) / 2), float(p.sd or (hi - lo) / 4)
    if p.dist == "lognormal":
        centre = math.log(p.mean) if p.mean is not None else (math.log(lo) + math.log(hi)) / 2
        return "lognormal", centre, float(p.sd or (math.log(hi) - math.log(lo)) / 4)
    return "uniform", (lo + hi) / 2, (hi - lo) / math.sqrt(12)


def to_values(unit: np.ndarray, entries: Sequence[SensitivityParameter]) -> np.ndarray:
    """Map points of the unit hypercube (rows) to parameter values through each entry's truncated distribution.

    Integer parameters are rounded to the nearest integer.

    Example:
        >>> p = SensitivityParameter("model.irregular.death_probability", [0.001, 0.05], "lognormal", 0.01, 0.8)
        >>> float(np.round(to_values(np.array([[0.5]]), [p])[0, 0], 4))   # the median of the truncated lognormal
        0.0098
    """
    unit = np.asarray(unit, dtype=float)
    values = np.empty_like(unit)
    for j, p in enumerate(entries):
        lo, hi = float(p.bounds[0]), float(p.bounds[1])
        u = np.clip(unit[:, j], 0.0, 1.0)
        dist, centre, sd = distribution(p)
        if dist == "uniform":
            x = lo + u * (hi - lo)
        elif dist == "normal":
            x = stats.truncnorm.ppf(u, (lo - centre) / sd, (hi - centre) / sd, loc=centre, scale=sd)
        else:
            a, b = (math.log(lo) - centre) / sd, (math.log(hi) - centre) / sd
            x = np.exp(stats.truncnorm.ppf(u, a, b, loc=centre, scale=sd))
        x = np.clip(x, lo, hi)
        if MODEL_PARAMETERS[p.name]["integer"]:
            x = np.round(x)
        values[:, j] = x
    return values


def with_values(cfg: RunConfig, values: dict[str, float], seed: int | None = None) -> RunConfig:
    """A copy of `cfg` with model parameters set by dotted name (and the seed, if given)."""
    model = copy.deepcopy(cfg.model)
    for name, value in values.items():
        *groups, key = name.split(".")[1:]   # drop the leading "model"
        obj = model
        for group in groups:
            obj = getattr(obj, group)
        integer = MODEL_PARAMETERS[name]["integer"]
        setattr(obj, key, int(round(value)) if integer else float(value))
    return dataclasses.replace(cfg, model=model, seed=cfg.seed if seed is None else int(seed))


def experiment_base(cfg: RunConfig) -> RunConfig:
    """The run settings shared by every sample of an experiment.

    The experiment's own settings (mode, sensitivity, calibration, compare) are reset to their defaults: they do not
    change a run's numbers, so the cache key of a run depends only on what does, and the runs of a sensitivity
    analysis, a calibration and a comparison with the same settings are shared.
    """
    return dataclasses.replace(cfg, scenario=cfg.scenario or "baseline", seed=0, mode="run", progress=False,
                               figures=False, compare=CompareConfig(), sensitivity=SensitivityConfig(),
                               calibration=CalibrationConfig())


def run_cached(configs: Sequence[RunConfig], cache_dir: str | Path, workers: int = 0,
               progress: bool = True) -> list[Path]:
    """`run_all` (simulator/experiments/comparison.py), then check that every run is in the cache under its key.

    A run's key covers the world tables and scenario files: if one of them changes while the runs go on, the runs
    finished after the change are filed under new keys. `run_all` is then repeated, computing the keys anew, so that
    every run returned comes from the inputs as they are now.
    """
    for _ in range(3):
        paths = run_all(configs, cache_dir, workers, progress)
        if all(path.is_file() for path in paths):
            return paths
    raise InputError("the world tables or scenario files kept changing while the runs went on: run the command "
                     "again once they are settled")


def read_all(function: Any, paths: Sequence[Path], workers: int = 0) -> list[Any]:
    """`function(path)` for every path, in parallel for many paths (0 workers = all cores)."""
    if workers == 1 or len(paths) < 50:
        return [function(p) for p in paths]
    return Parallel(n_jobs=workers or -1, batch_size=16)(delayed(function)(p) for p in paths)


# --- outputs --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """A whole-run outcome that can be analysed."""

    name: str
    label: str
    units: str


OUTPUTS: dict[str, Output] = {m.name: Output(m.name, m.label, m.units) for m in METRICS}
OUTPUTS["regular_share"] = Output("regular_share", "regular share of international departures", "%")
OUTPUTS["expected_deaths"] = Output("expected_deaths", "deaths on irregular journeys, expected (the death risk of "
                                                        "the journeys ended, summed)", "persons")
OUTPUTS["poorest_consumption"] = Output("poorest_consumption",
                                        "consumption of the poorest wealth quintile (geometric mean)", "USD/month")
SHARES = ("irregular_share", "regular_share")   # pooled over seeds: from the summed departures


def outcomes_of(ds: xr.Dataset) -> dict[str, float]:
    """The whole-run outcomes (simulator/experiments/metrics.py run_metrics) of one run's dataset, as floats;
    `expected_deaths`, the sum over the run of `route_expected_deaths` (each journey ended weighs its route's death
    probability: the mean of `deaths` given the journeys, without the noise of who dies, which dominates the few
    deaths of a small run); and `poorest_consumption`: exp of the mean over months of the mean log consumption per
    person of the households in the poorest wealth quintile at the start (metrics.py `group_totals` log_consumption);
    its ratio between two runs minus 1 is the consumption-equivalent welfare change of the poorest."""
    m = run_metrics(ds)
    found = {name: float(m[name]) for name in m.data_vars}
    found["expected_deaths"] = float(ds["route_expected_deaths"].sum())
    log_c = ds["log_consumption_by_quintile"].mean("time").isel(wealth_quintile=0)
    found["poorest_consumption"] = float(np.exp(log_c))
    return found


def run_outputs(path: Path) -> dict[str, float]:
    """`outcomes_of` one cached run's results file."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return outcomes_of(ds)


def sample_outputs(runs: Sequence[dict[str, float]], outputs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed values (seeds, outputs) and their seed average (outputs) for the runs of one sample."""
    per_seed = np.empty((len(runs), len(outputs)))
    mean = np.empty(len(outputs))
    irregular = np.array([r["irregular"] for r in runs])
    regular = np.array([r["regular"] for r in runs])
    for k, name in enumerate(outputs):
        if name in SHARES:
            part = irregular if name == "irregular_share" else regular
            total = irregular + regular
            with np.errstate(invalid="ignore", divide="ignore"):
                per_seed[:, k] = np.where(total > 0, 100 * part / np.where(total > 0, total, 1), np.nan)
            mean[k] = 100 * part.sum() / total.sum() if total.sum() > 0 else np.nan
        else:
            per_seed[:, k] = [r[name] for r in runs]
            mean[k] = per_seed[:, k].mean()
    return per_seed, mean


def contrast_outputs(first: Sequence[dict[str, float]], second: Sequence[dict[str, float]],
                     outputs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed differences (seeds, outputs) and their seed average (outputs), `second` minus `first`: the runs of
    one sample under the two scenarios of a contrast, in the same order of seeds (run i of each has seed i).

    Counts and means are differenced seed by seed and averaged; a share is the difference of the two shares pooled
    over the seeds (as `sample_outputs`), and per seed the difference of that seed's shares (NaN where either is
    undefined).

    Example:
        >>> a = [{"irregular": 10.0, "regular": 10.0}, {"irregular": 4.0, "regular": 0.0}]
        >>> b = [{"irregular": 6.0, "regular": 14.0}, {"irregular": 1.0, "regular": 1.0}]
        >>> per_seed, mean = contrast_outputs(a, b, ["irregular", "irregular_share"])
        >>> per_seed.tolist(), mean.round(2).tolist()
        ([[-4.0, -20.0], [-3.0, -50.0]], [-3.5, -26.52])
    """
    per_first, mean_first = sample_outputs(first, outputs)
    per_second, mean_second = sample_outputs(second, outputs)
    return per_second - per_first, mean_second - mean_first


def noise_share(per_seed: np.ndarray) -> np.ndarray:
    """Share of the variance of the seed means across samples that is seed noise, per output.

    `per_seed` has dims (sample, seed, output). Under common random numbers a seed's effect shared by every sample
    cancels from the comparison of samples; what remains is the sample x seed interaction. Its variance, estimated
    from the residuals of a two-way (sample + seed) decomposition and divided by the number of seeds, is the noise in
    a sample's mean; the result is that noise over the variance of the sample means. NaN with a single seed or a
    constant output.
    """
    n_samples, n_seeds, _ = per_seed.shape
    if n_seeds < 2 or n_samples < 2:
        return np.full(per_seed.shape[2], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # a share undefined under some seeds: NaN, skipped
        sample_mean = np.nanmean(per_seed, axis=1, keepdims=True)
        seed_mean = np.nanmean(per_seed, axis=0, keepdims=True)
        grand = np.nanmean(per_seed, axis=(0, 1), keepdims=True)
        residual = per_seed - sample_mean - seed_mean + grand
        interaction = np.nansum(residual ** 2, axis=(0, 1)) / ((n_samples - 1) * (n_seeds - 1))
        total = np.nanvar(sample_mean[:, 0, :], axis=0, ddof=1)
        return np.where(total > 0, interaction / n_seeds / np.where(total > 0, total, 1), np.nan)


# --- designs and analyses -------------------------------------------------------------------------------------------


def unit_problem(names: Sequence[str]) -> dict[str, Any]:
    """A SALib problem on the unit hypercube, one dimension per parameter."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def morris_design(names: Sequence[str], trajectories: int, levels: int, seed: int) -> np.ndarray:
    """Morris trajectories on the unit hypercube: trajectories x (parameters + 1) rows."""
    from SALib.sample import morris
    return morris.sample(unit_problem(names), trajectories, num_levels=levels, seed=seed)


def sobol_design(names: Sequence[str], n: int, seed: int) -> np.ndarray:
    """Saltelli's design on the unit hypercube for first-order and total indices: n x (parameters + 2) rows."""
    from SALib.sample import sobol
    return sobol.sample(unit_problem(names), n, calc_second_order=False, scramble=True, seed=seed)


INDICES = {"morris": ("mu_star", "mu", "sigma"), "sobol": ("S1", "ST")}
CONF = {"mu_star": "mu_star_conf", "S1": "S1_conf", "ST": "ST_conf"}   # the others have no interval in SALib


def analyse(method: str, names: Sequence[str], unit: np.ndarray, y: np.ndarray, s: SensitivityConfig,
            ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """SALib's indices of one output `y` (one value per design row): {index: (value, conf half-width)} per parameter.

    A constant output has no variance to apportion: its indices are NaN.
    """
    d = len(names)
    if not np.all(np.isfinite(y)):
        raise ValueError("outputs must be finite")
    if np.ptp(y) == 0:
        return {k: (np.full(d, np.nan), np.full(d, np.nan)) for k in INDICES[method]}
    problem = unit_problem(names)
    with np.errstate(all="ignore"):
        if method == "morris":
            from SALib.analyze import morris
            res = morris.analyze(problem, unit, y, num_resamples=s.bootstrap, conf_level=s.confidence,
                                 num_levels=s.morris_levels, seed=s.sample_seed + 1)
        else:
            from SALib.analyze import sobol
            res = sobol.analyze(problem, y, calc_second_order=False, num_resamples=s.bootstrap,
                                conf_level=s.confidence, seed=s.sample_seed + 1)
    return {k: (np.asarray(res[k], dtype=float),
                np.asarray(res[CONF[k]], dtype=float) if k in CONF else np.full(d, np.nan))
            for k in INDICES[method]}


def check_contrast(contrast: object) -> None:
    """Raise ConfigError on `sensitivity.contrast` unless it is empty or two distinct names of scenarios/ files,
    suggesting the closest names for a misspelt one.

    Example:
        >>> check_contrast(["obj2_resilience", "obj5_flexible_pathways"])
        >>> try:
        ...     check_contrast(["obj2_resilience", "obj5_flexible"])
        ... except ConfigError as exc:
        ...     print(exc.field, "|", exc.allowed.split(":")[0], "|", exc.allowed.rsplit("(", 1)[1])
        sensitivity.contrast[1] | a scenario of scenarios/ | closest: obj5_flexible_pathways)
    """
    if contrast is None or (isinstance(contrast, (list, tuple)) and not contrast):
        return
    names = available(scenarios_dir())
    allowed = (f"[] (the run's own scenario) or [a, b], two distinct scenario names (outputs become b minus a), "
               f"each one of {', '.join(names)}")
    if (not isinstance(contrast, (list, tuple)) or len(contrast) != 2
            or not all(isinstance(name, str) for name in contrast)):
        raise ConfigError("sensitivity.contrast", list(contrast) if isinstance(contrast, tuple) else contrast,
                          allowed)
    for i, name in enumerate(contrast):
        if name not in names:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = f" (closest: {', '.join(close)})" if close else ""
            raise ConfigError(f"sensitivity.contrast[{i}]", name, f"a scenario of scenarios/: one of "
                              f"{', '.join(names)}{hint}")
    if contrast[0] == contrast[1]:
        raise ConfigError("sensitivity.contrast", list(contrast), "two distinct scenario names [a, b] (outputs "
                          "become b minus a): a scenario against itself differs by nothing")


def contrast_text(contrast: Sequence[str]) -> str:
    """The words "b minus a" for a contrast [a, b]."""
    return f"{contrast[1]} minus {contrast[0]}"


def validate_sensitivity(s: SensitivityConfig) -> None:
    """Check the settings of a sensitivity analysis; raise ConfigError naming the first bad one."""
    validate_space(s.parameters)
    check_contrast(s.contrast)
    if not s.outputs or len(set(s.outputs)) != len(s.outputs):
        raise ConfigError("sensitivity.outputs", list(s.outputs), f"a non-empty list of distinct outputs among "
                          f"{', '.join(OUTPUTS)}")
    for i, name in enumerate(s.outputs):
        if name not in OUTPUTS:
            raise ConfigError(f"sensitivity.outputs[{i}]", name, f"one of {', '.join(OUTPUTS)}")
    if not s.methods or len(set(s.methods)) != len(s.methods) or not set(s.methods) <= set(INDICES):
        raise ConfigError("sensitivity.methods", list(s.methods), "a non-empty list of morris and/or sobol")
    check_count("sensitivity.seeds", s.seeds, 1)
    check_count("sensitivity.morris_trajectories", s.morris_trajectories, 2)
    check_count("sensitivity.morris_levels", s.morris_levels, 2)
    if s.morris_levels % 2:
        raise ConfigError("sensitivity.morris_levels", s.morris_levels, "an even integer of at least 2")
    check_count("sensitivity.sobol_samples", s.sobol_samples, 2)
    if s.sobol_samples & (s.sobol_samples - 1):
        raise ConfigError("sensitivity.sobol_samples", s.sobol_samples, "a power of 2 (Sobol' sequences are "
                          "balanced at powers of 2), e.g. 64, 128, 1024")
    check_count("sensitivity.bootstrap", s.bootstrap, 10)
    if not isinstance(s.confidence, (int, float)) or not 0 < s.confidence < 1:
        raise ConfigError("sensitivity.confidence", s.confidence, "a number in (0, 1), e.g. 0.95")
    check_count("sensitivity.sample_seed", s.sample_seed, 0)
    check_count("sensitivity.workers", s.workers, 0)


def design_size(s: SensitivityConfig) -> dict[str, int]:
    """Samples per method (each is run under `s.seeds` seeds)."""
    d = len(s.parameters)
    sizes = {"morris": s.morris_trajectories * (d + 1), "sobol": s.sobol_samples * (d + 2)}
    return {m: sizes[m] for m in s.methods}


def run_sensitivity(cfg: RunConfig, cache_dir: str | Path, progress: bool = True) -> xr.Dataset:
    """Run the designs of `cfg.sensitivity` (through the cache, in parallel) and return the indices as a Dataset.

    The Dataset has `value` and `conf` (the half-width of SALib's bootstrap confidence interval; NaN where SALib
    gives none) with dims (parameter, output, index), `index` in mu_star, mu, sigma (method morris) and S1, ST
    (method sobol); `noise_share` (design, output); and each design's inputs, per-seed outputs and seed-averaged
    outputs. With a contrast [a, b], the outputs are b minus a (per seed, and averaged), each design's outputs of
    both scenarios per seed are kept too (`<method>_scenario_outputs`, dim `scenario`), and the attribute `contrast`
    says "b minus a".
    """
    s = cfg.sensitivity
    validate_sensitivity(s)
    base = experiment_base(cfg)
    validate_run(base)
    started = time.perf_counter()
    names = [p.name for p in s.parameters]
    seeds = list(range(s.seeds))
    units = {"morris": morris_design(names, s.morris_trajectories, s.morris_levels, s.sample_seed)
             if "morris" in s.methods else None,
             "sobol": sobol_design(names, s.sobol_samples, s.sample_seed) if "sobol" in s.methods else None}
    designs = {m: (units[m], to_values(units[m], s.parameters)) for m in s.methods}
    contrast = list(s.contrast)
    bases = [dataclasses.replace(base, scenario=name) for name in contrast] or [base]
    # per sample, per seed, per scenario of the contrast: run i of a scenario within a sample has seed i
    configs = [with_values(b, dict(zip(names, row)), seed)
               for m in s.methods for row in designs[m][1] for seed in seeds for b in bases]
    paths = run_cached(configs, cache_dir, s.workers, progress)
    runs = read_all(run_outputs, paths, s.workers)
    label = (lambda o: f"{contrast_text(contrast)}: {OUTPUTS[o].label}") if contrast else (lambda o: OUTPUTS[o].label)

    ds = xr.Dataset(coords={
        "parameter": ("parameter", names, {"long_name": "model parameter (dotted name as on the command line)"}),
        "output": ("output", list(s.outputs),
                   {"long_name": "whole-run outcome (simulator/experiments/sensitivity.py OUTPUTS)"}),
        "seed": ("seed", seeds, {"long_name": "seed of a run (the same seeds for every sample)"})})
    ds = ds.assign_coords(
        lower=("parameter", [float(p.bounds[0]) for p in s.parameters], {"long_name": "lower bound sampled"}),
        upper=("parameter", [float(p.bounds[1]) for p in s.parameters], {"long_name": "upper bound sampled"}),
        dist=("parameter", [distribution(p)[0] for p in s.parameters], {"long_name": "distribution sampled"}),
        parameter_units=("parameter", [MODEL_PARAMETERS[n]["units"] for n in names]),
        output_label=("output", [label(o) for o in s.outputs]),
        output_units=("output", [OUTPUTS[o].units for o in s.outputs]))
    index_names = [k for m in s.methods for k in INDICES[m]]
    value = np.full((len(names), len(s.outputs), len(index_names)), np.nan)
    conf = np.full_like(value, np.nan)
    noise = np.full((len(s.methods), len(s.outputs)), np.nan)
    start = 0
    per_sample = len(seeds) * len(bases)
    for i_m, method in enumerate(s.methods):
        unit, values = designs[method]
        n = len(values)
        chunk = runs[start:start + n * per_sample]
        start += n * per_sample
        per_seed = np.empty((n, len(seeds), len(s.outputs)))
        mean = np.empty((n, len(s.outputs)))
        levels = np.empty((n, len(contrast), len(seeds), len(s.outputs)))
        for i in range(n):
            sample = chunk[i * per_sample:(i + 1) * per_sample]
            if contrast:
                first, second = sample[0::2], sample[1::2]
                per_seed[i], mean[i] = contrast_outputs(first, second, s.outputs)
                levels[i, 0], levels[i, 1] = sample_outputs(first, s.outputs)[0], sample_outputs(second, s.outputs)[0]
            else:
                per_seed[i], mean[i] = sample_outputs(sample, s.outputs)
        for k, output in enumerate(s.outputs):
            if not np.all(np.isfinite(mean[:, k])):
                bad = int(np.flatnonzero(~np.isfinite(mean[:, k]))[0])
                raise InputError(f"sensitivity.outputs: {output} is undefined for {method} sample {bad} (no "
                                 "international departures under any seed"
                                 + (" of a scenario of the contrast" if contrast else "")
                                 + "): run more households or years, or drop this output")
            for index, (v, c) in analyse(method, names, unit, mean[:, k], s).items():
                j = index_names.index(index)
                value[:, k, j], conf[:, k, j] = v, c
        noise[i_m] = noise_share(per_seed)
        dim = f"{method}_sample"
        ds[f"{method}_inputs"] = ((dim, "parameter"), values, {"long_name": f"parameter values of the {method} "
                                                                            "design"})
        ds[f"{method}_unit_inputs"] = ((dim, "parameter"), unit, {"long_name": f"the {method} design on the unit "
                                                                               "hypercube (quantiles)"})
        what = f"{contrast_text(contrast)}, paired by seed, " if contrast else ""
        ds[f"{method}_outputs"] = ((dim, "seed", "output"), per_seed, {"long_name": f"outputs ({what}of each "
                                                                                    f"{method} sample under each "
                                                                                    "seed"})
        ds[f"{method}_means"] = ((dim, "output"), mean, {"long_name": f"outputs ({what}of each {method} sample "
                                                                      "averaged over its seeds (shares pooled)"})
        if contrast:
            ds[f"{method}_scenario_outputs"] = ((dim, "scenario", "seed", "output"), levels,
                                                {"long_name": f"outputs of each {method} sample under each scenario "
                                                              "of the contrast and each seed"})
    ds = ds.assign_coords(index=("index", index_names, {"long_name": "sensitivity index"}),
                          method=("index", [m for m in s.methods for _ in INDICES[m]]))
    ds["value"] = (("parameter", "output", "index"), value,
                   {"long_name": "sensitivity index: Morris mu_star, mu, sigma (output units per unit of quantile), "
                                 "Sobol' first-order S1 and total ST (share of variance)"})
    ds["conf"] = (("parameter", "output", "index"), conf,
                  {"long_name": f"half-width of SALib's {100 * s.confidence:g}% bootstrap confidence interval "
                                "(NaN: SALib gives none)"})
    ds["noise_share"] = (("design", "output"), noise,
                         {"long_name": "share of the variance of the seed-averaged output across samples that is "
                                       "seed noise (sample x seed interaction variance / seeds, over the variance "
                                       "of the sample means)"})
    ds = ds.assign_coords(design=("design", list(s.methods), {"long_name": "design (method) of the samples"}))
    if contrast:
        ds = ds.assign_coords(scenario=("scenario", contrast, {"long_name": "scenarios of the contrast: the outputs "
                                                                            "are the second minus the first"}))
    run_settings = {k: v for k, v in dataclasses.asdict(base).items()
                    if k not in ("model", "compare", "sensitivity", "calibration", "seed", "mode", "progress",
                                 "figures", "agent_view_limit", "threads")}
    if contrast:
        run_settings["scenario"] = contrast_text(contrast)
    ds.attrs.update({
        "title": "Migration flow global sensitivity analysis", "simulator_version": __version__,
        "salib_version": version("SALib"), "samples": json.dumps(design_size(s)), "runs": len(configs),
        "settings": json.dumps(dataclasses.asdict(s), default=str),
        "contrast": contrast_text(contrast) if contrast else "none",
        "run_settings": json.dumps(run_settings, default=str),
        "model": json.dumps(dataclasses.asdict(base.model)),
        "elapsed_seconds": round(time.perf_counter() - started, 1)})
    return ds


# --- figures and summary --------------------------------------------------------------------------------------------


def _grid(n: int, n_params: int) -> tuple[plt.Figure, np.ndarray]:
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols, 0.8 + rows * (1.4 + 0.45 * n_params)), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _short(name: str) -> str:
    return name.removeprefix("model.")


def _suptitle(fig: plt.Figure, text: str) -> None:
    """The figure's title, wrapped, with room kept for its lines above the panels."""
    text = textwrap.fill(text, 110)
    fig.suptitle(text)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.1 + 0.22 * (text.count("\n") + 1)) / fig.get_figheight()))


def _title(ds: xr.Dataset, output: str) -> str:
    """The panel title of an output: its label (with the contrast, "b minus a: ...") and units, wrapped."""
    o = ds.sel(output=output)
    return textwrap.fill(f"{o['output_label'].item()} ({o['output_units'].item()})", 60)


def figures(ds: xr.Dataset, folder: str | Path) -> list[Path]:
    """Ranked bar charts of the indices, one panel per output, error bars = SALib's confidence intervals."""
    folder = Path(folder)
    paths = []
    level = json.loads(ds.attrs["settings"])["confidence"]
    outputs = [str(o) for o in ds["output"].values]
    params = [str(p) for p in ds["parameter"].values]
    methods = list(dict.fromkeys(str(m) for m in ds["method"].values))
    contrast = ds.attrs.get("contrast", "none")
    of = "" if contrast == "none" else f" of the difference {contrast}"
    if "morris" in methods:
        fig, axes = _grid(len(outputs), len(params))
        for ax, output in zip(axes, outputs):
            v = ds["value"].sel(output=output, index="mu_star").values
            c = ds["conf"].sel(output=output, index="mu_star").values
            order = np.argsort(np.nan_to_num(v, nan=-1))
            ax.barh(np.arange(len(params)), v[order], xerr=np.nan_to_num(c[order]), color="tab:blue",
                    capsize=3, ecolor="black")
            ax.set_yticks(np.arange(len(params)), [_short(params[i]) for i in order])
            units = str(ds["output_units"].sel(output=output).values)
            ax.set_xlabel(f"mu*{' of the difference' if of else ''} ({units} per full range of the parameter)")
            ax.set_ylabel("parameter")
            ax.set_title(_title(ds, output), fontsize=10)
            ax.grid(axis="x", alpha=0.3)
        _suptitle(fig, f"Morris screening{of}: mean absolute elementary effect mu*, ranked (error bars: "
                       f"{100 * level:g}% bootstrap CI)")
        paths.append(folder / "morris.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    if "sobol" in methods:
        fig, axes = _grid(len(outputs), len(params))
        for ax, output in zip(axes, outputs):
            st = ds["value"].sel(output=output, index="ST").values
            order = np.argsort(np.nan_to_num(st, nan=-1))
            y = np.arange(len(params))
            for offset, index, color in ((0.2, "ST", "tab:orange"), (-0.2, "S1", "tab:blue")):
                v = ds["value"].sel(output=output, index=index).values[order]
                c = ds["conf"].sel(output=output, index=index).values[order]
                ax.barh(y + offset, v, height=0.38, xerr=np.nan_to_num(c), color=color, capsize=3, ecolor="black",
                        label={"S1": "first-order S1", "ST": "total ST"}[index])
            ax.set_yticks(y, [_short(params[i]) for i in order])
            ax.axvline(0, color="grey", linewidth=0.8)
            ax.set_xlabel(f"Sobol' index (share of the variance of the {'difference' if of else 'output'})")
            ax.set_ylabel("parameter")
            ax.set_title(_title(ds, output), fontsize=10)
            ax.grid(axis="x", alpha=0.3)
            ax.legend(loc="lower right", fontsize=8)
        _suptitle(fig, f"Sobol' indices{of}, ranked by total index (error bars: {100 * level:g}% bootstrap CI)")
        paths.append(folder / "sobol.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def number_text(x: float) -> str:
    """A number for the experiments' Markdown summaries: no decimals from 100, two from 1, else three; "n/a" if not
    finite."""
    if not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}" if abs(x) >= 1 else f"{x:.3f}"


def summary(ds: xr.Dataset) -> str:
    """A Markdown summary of the analysis: settings, then per output the parameters ranked with their indices."""
    s = json.loads(ds.attrs["settings"])
    run = json.loads(ds.attrs["run_settings"])
    methods = list(dict.fromkeys(str(m) for m in ds["method"].values))
    level = f"{100 * s['confidence']:g}%"
    contrast = list(s.get("contrast") or [])
    what = (f"contrast {contrast_text(contrast)} (both scenarios under the same seeds; each output is the paired "
            f"difference)" if contrast else f"scenario {run['scenario']}")
    lines = ["# Global sensitivity analysis", "",
             f"- World and run: {what}, {run['n_households']} households, {run['years']:g} "
             f"years, world {run['world'] or 'default'}; seeds 0-{s['seeds'] - 1} per sample, averaged",
             f"- Designs: {', '.join(f'{m} {n} samples' for m, n in json.loads(ds.attrs['samples']).items())}; "
             f"{ds.attrs['runs']} runs; {ds.attrs['elapsed_seconds']} s; SALib {ds.attrs['salib_version']}",
             "", "| parameter | distribution | bounds |", "|---|---|---|"]
    for p in s["parameters"]:
        centre = "median" if p["dist"] == "lognormal" else "mean"
        extra = "" if p["dist"] == "uniform" else (f" ({centre} {p['mean'] if p['mean'] is not None else 'default'}, "
                                                   f"sd {p['sd'] if p['sd'] is not None else 'default'})")
        lines.append(f"| {p['name']} | {p['dist']}{extra} | [{p['bounds'][0]:g}, {p['bounds'][1]:g}] |")
    for output in ds["output"].values:
        o = ds.sel(output=output)
        lines += ["", f"## {o['output_label'].item()} ({o['output_units'].item()})", ""]
        noise = {m: float(ds["noise_share"].sel(design=m, output=output)) for m in methods}
        lines.append("Seed noise share of the variance across samples: " +
                     ", ".join(f"{m} {number_text(v)}" for m, v in noise.items()) + ".")
        if contrast:
            lines += ["", *contrast_lines(ds, str(output), methods, contrast)]
        lines.append("")
        cols = [k for k in ("mu_star", "sigma", "S1", "ST") if k in o["index"].values]
        lines += ["| parameter | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        key = "ST" if "ST" in cols else "mu_star"
        order = np.argsort(-np.nan_to_num(o["value"].sel(index=key).values, nan=-np.inf))
        for i in order:
            cells = []
            for k in cols:
                v, c = float(o["value"].sel(index=k)[i]), float(o["conf"].sel(index=k)[i])
                cells.append(number_text(v) + (f" ± {number_text(c)}" if np.isfinite(c) else ""))
            lines.append(f"| {o['parameter'].values[i]} | " + " | ".join(cells) + " |")
    lines += ["", f"± is the half-width of SALib's {level} bootstrap confidence interval. mu* and sigma are in the "
              "output's units per full range of the parameter (quantile range for normal and lognormal); S1 and ST "
              "are shares of the output's variance."]
    return "\n".join(lines) + "\n"


def contrast_lines(ds: xr.Dataset, output: str, methods: Sequence[str], contrast: Sequence[str]) -> list[str]:
    """Per design: the mean difference b minus a over the samples, its 5th-95th percentile, and the shares of samples
    in which b gives less (and more) of the output than a: whether the ranking of the two flips across the space."""
    a, b = contrast
    lines = []
    for m in methods:
        d = ds[f"{m}_means"].sel(output=output).values
        low, high = np.percentile(d, [5, 95])
        lines.append(f"- {m} ({d.size} samples): mean difference {number_text(float(d.mean()))} (5th-95th "
                     f"percentile {number_text(float(low))} to {number_text(float(high))}); {b} gives less than "
                     f"{a} in {100 * np.mean(d < 0):.0f}% of the samples, more in {100 * np.mean(d > 0):.0f}%.")
    return lines


def write_sensitivity(ds: xr.Dataset, folder: str | Path) -> Path:
    """Write sensitivity.nc, the figures and sensitivity.md into `folder`; return the path of sensitivity.nc."""
    from simulator.model.outputs import write_netcdf
    folder = Path(folder)
    path = write_netcdf(ds, folder / "sensitivity.nc")
    figures(ds, folder)
    (folder / "sensitivity.md").write_text(summary(ds), encoding="utf-8")
    return path
