"""The run configuration: what `run.py` reads from Hydra, as typed dataclasses (no Hydra import here).

Hydra uses `RunConfig` as the schema of `configs/config.yaml`, so a misspelt key or a value of the wrong type fails
when the config is composed; `validate_run` then checks ranges and names.

Example:
    >>> cfg = RunConfig(n_households=1000, years=5)
    >>> validate_run(cfg)
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Optional

import numba

from simulator.errors import ConfigError
from simulator.params import ModelParams, validate


@dataclass
class CompareConfig:
    """The main job: every scenario in `scenarios` under every seed `0..seeds-1`, against `baseline`."""

    scenarios: list[str] = field(default_factory=lambda: [
        "baseline", "obj2_adaptation", "obj2_social_protection", "obj2_resilience", "obj5_more_places",
        "obj5_cheaper_faster", "obj5_flexible_pathways", "combined"])
    baseline: str = "baseline"
    seeds: int = 8                  # seeds 0..seeds-1, the same for every scenario (common random numbers)
    workers: int = 0                # parallel processes; 0 = all cores
    cache_dir: Optional[str] = None   # where finished runs are kept for resuming; None = outputs/cache
    front: Optional[str] = None       # a front.nc of experiment=optimise: the report adds the budget question


@dataclass
class SensitivityParameter:
    """An uncertain model parameter of a sensitivity analysis (simulator/experiments/sensitivity.py) and how it is
    sampled."""

    name: str = ""                   # dotted name as on the command line, e.g. model.irregular.death_probability
    bounds: list[float] = field(default_factory=list)   # [lower, upper], inside the parameter's allowed range
    dist: str = "uniform"            # uniform, normal or lognormal; normal and lognormal are truncated to bounds
    mean: Optional[float] = None     # normal: mean; lognormal: median (None = middle / geometric middle of bounds)
    sd: Optional[float] = None       # normal: standard deviation; lognormal: standard deviation of the log


@dataclass
class SensitivityConfig:
    """`mode: sensitivity` (python run.py experiment=sensitivity): Morris screening and Sobol' indices (SALib) of
    `outputs` over `parameters`; every sample runs under seeds 0..seeds-1 (the same for all) and is averaged.

    With `contrast` = [a, b], two scenario names, every sample runs both scenarios under the same seeds and each output
    is b minus a, paired per seed (python run.py experiment=sensitivity_choice)."""

    parameters: list[SensitivityParameter] = field(default_factory=list)
    contrast: list[str] = field(default_factory=list)   # [] = the run's scenario; [a, b] = outputs of b minus a
    outputs: list[str] = field(default_factory=lambda: ["irregular", "deaths", "trapped", "regular_share"])
    methods: list[str] = field(default_factory=lambda: ["morris", "sobol"])
    seeds: int = 2                   # seeds per sample, averaged (common random numbers)
    morris_trajectories: int = 10    # r: r x (parameters + 1) samples
    morris_levels: int = 4           # p: grid levels of each parameter (even)
    sobol_samples: int = 64          # N, a power of 2: N x (parameters + 2) samples
    bootstrap: int = 1000            # bootstrap resamples for the confidence intervals
    confidence: float = 0.95         # level of the confidence intervals
    sample_seed: int = 0             # seed of the Morris and Sobol' designs (the same seed, the same samples)
    workers: int = 0                 # parallel processes; 0 = all cores


@dataclass
class CalibrationParameter:
    """A model parameter fitted by the calibration (simulator/experiments/calibration.py), searched within `bounds`."""

    name: str = ""                   # dotted name as on the command line, e.g. model.decisions.asc_internal
    bounds: list[float] = field(default_factory=list)   # [lower, upper], inside the parameter's allowed range
    start: Optional[float] = None    # starting value; None = the parameter's value in this config


@dataclass
class MomentTarget:
    """A target moment of the calibration: a name of simulator/experiments/calibration.py MOMENTS and its value in its
    units."""

    name: str = ""
    value: float = 0.0
    weight: float = 1.0              # weight of its squared relative error in the objective


@dataclass
class CalibrationConfig:
    """`mode: calibrate` (python run.py experiment=calibrate): fit `parameters` by minimising the objective: the
    weighted sum of squared relative errors of `targets`, or the validation cases' penalty; every candidate runs
    under seeds 0..seeds-1 (the same for all)."""

    parameters: list[CalibrationParameter] = field(default_factory=list)
    objective: str = "moments"       # moments: `targets` below; validation: the validation cases' published figures
                                     # (simulator/experiments/validation.py `penalty`), each case on its own world
    targets: list[MomentTarget] = field(default_factory=list)
    seeds: int = 4                   # seeds per candidate, pooled (common random numbers)
    burn_in_years: float = 2.0       # years at the start of each run left out of the moments
    method: str = "nelder-mead"      # nelder-mead or differential-evolution
    max_evaluations: int = 80        # candidates evaluated at most (each is `seeds` runs)
    x_tolerance: float = 0.01        # Nelder-Mead: stop when the simplex spans less than this share of each range
    f_tolerance: float = 1e-4        # ... and the objective varies less than this across it
    popsize: int = 8                 # differential-evolution: candidates per generation and parameter
    optimizer_seed: int = 0          # differential-evolution: seed of its initial population and mutations
    held_out_seed_sets: int = 0      # after the search, score the start and the fit on this many other sets of
                                     # `seeds` seeds (paired): is the gain above the objective's sampling error?
    workers: int = 0                 # parallel processes; 0 = all cores


@dataclass
class HindcastConfig:
    """`mode: hindcast` (python run.py experiment=hindcast, simulator/experiments/hindcast.py): fit `parameters` on
    the published series of the years start_year..calibration_end, then run every year from start_year untouched and
    score the later years against the published series and against naive forecasts."""

    calibration_end: int = 2019      # last calibration year; the years after it up to the run's end are held out
    spin_up_years: int = 0           # years simulated before start_year and not scored (migrants abroad build up)
    parameters: list[CalibrationParameter] = field(default_factory=list)   # fitted on the calibration years
    seeds: int = 4                   # seeds per candidate and for the bands (common random numbers)
    max_evaluations: int = 12        # candidates of the fit at most (each is `seeds` runs); 0 = no fit
    band: list[float] = field(default_factory=lambda: [5.0, 95.0])   # percentiles across seeds of the bands
    workers: int = 0                 # parallel processes; 0 = all cores


@dataclass
class EmulateLever:
    """A lever of an emulator's design (simulator/experiments/emulate.py): an intervention setting or a model
    parameter, varied within `bounds`."""

    name: str = ""                   # interventions.<name>.<setting> (e.g. interventions.adaptation.coverage) or a
                                     # model parameter by its dotted name (e.g. model.decisions.credit_fraction)
    bounds: list[float] = field(default_factory=list)   # [lower, upper], inside the setting's allowed range


@dataclass
class EmulateConfig:
    """`mode: emulate` (python run.py experiment=emulate): a space-filling design over `levers`, every point run under
    seeds 0..seeds-1 (the same for all) and averaged, and an emulator of each of `outputs` fitted on it and scored
    on a separate held-out design."""

    levers: list[EmulateLever] = field(default_factory=list)
    interventions: dict[str, Any] = field(default_factory=dict)   # fixed settings of interventions, by name
    start_year: float = 1.0          # start of the levers' interventions (years after the run starts) unless fixed
    outputs: list[str] = field(default_factory=lambda: ["irregular", "deaths", "expected_deaths", "trapped", "cost",
                                                        "regular", "poorest_consumption"])
    design: str = "sobol"            # training design: sobol (scrambled, a power of 2 points) or lhs (Latin hypercube)
    samples: int = 128               # points of the training design; about 10 per lever (Loeppky, Sacks & Welch 2009
                                     # Technometrics) for the 9 levers of experiment=emulate, up to a power of 2
    test_samples: int = 32           # points of the held-out design (a Latin hypercube of its own seed); assumption
    seeds: int = 2                   # seeds per point, averaged (common random numbers); docs/emulator.md: 4, 16
    emulators: list[str] = field(default_factory=lambda: ["gp", "gbt"])   # candidates, the best held-out R² kept
    interval: float = 0.9            # level of the predictive intervals whose coverage is reported; assumption
    sample_seed: int = 0             # seed of the designs and of the emulators' fits
    workers: int = 0                 # parallel processes; 0 = all cores
    point: Optional[int] = None      # run only this design point (training points first, then the held-out ones)
                                     # under `seed`, into the cache: a sweep over points and seeds runs the design
                                     # on any Hydra launcher (docs/emulator.md); None = the whole experiment


PACKAGES = ["obj2_adaptation", "obj2_resilience", "obj2_social_protection", "obj5_more_places",
            "obj5_cheaper_faster", "obj5_flexible_pathways", "combined"]   # the shipped packages of scenarios/


@dataclass
class OptimiseConfig:
    """`mode: optimise` (python run.py experiment=optimise, simulator/experiments/optimise.py): a budget-constrained
    multi-objective search (NSGA-II) over the policy levers of emulators fitted per climate outlook (`emulate`
    settings), robust across `outlooks`; chosen portfolios of the Pareto front and the named `packages` are then run
    with the model under seeds 0..seeds-1."""

    outlooks: list[str] = field(default_factory=lambda: ["current", "severe"])   # scenarios/outlooks/climate/
    aggregate: str = "worst"         # across outlooks: worst (each objective's worst outlook) or mean
    emulators: dict[str, Optional[str]] = field(default_factory=lambda: {"mild": None, "current": None,
                                                                        "severe": None})
                                     # emulator.joblib by outlook (optimise.emulators.severe=<path>); null: fitted
    budget_musd: float = 10.0        # intervention cost over the run, million USD (metrics.py cost); assumption:
                                     # about the middle of the emulated cost range at 5,000 households, 20 years
    ladder_musd: list[float] = field(default_factory=lambda: [2.0, 4.0, 6.0, 10.0, 15.0, 20.0])
                                     # budgets of the ladder (million USD, increasing; [] skips it): the best
                                     # emulated value with all, Objective 2 or Objective 5 levers at each; assumption:
                                     # spans the emulated cost of the corners (0.2-24 at the defaults, docs/optimise.md)
    objectives: list[str] = field(default_factory=lambda: ["irregular", "expected_deaths", "trapped",
                                                           "poorest_consumption"])   # expected deaths: the mean
                                     # of deaths without the draws' noise (emulate.py run_outcomes)
    population: int = 40             # NSGA-II population; assumption, sized for 4 objectives and 7 levers
    generations: int = 60            # NSGA-II generations; assumption (about 5 s of search, docs/optimise.md)
    seed: int = 0                    # seed of the search
    seeds: int = 4                   # model seeds for each re-run portfolio and package (common random numbers)
    packages: list[str] = field(default_factory=lambda: list(PACKAGES))   # named packages compared at their cost
    interval: float = 0.9            # level of the intervals reported; assumption
    workers: int = 0                 # parallel processes; 0 = all cores


MODES = ("run", "sensitivity", "calibrate", "hindcast", "emulate", "optimise")


@dataclass
class RunConfig:
    """One simulation: scenario, outlooks, size, length, seed, and every model parameter."""

    scenario: Optional[str] = "baseline"    # scenarios/<name>.yaml or a path; run.py: null = compare packages
    climate_outlook: Optional[str] = None   # replaces the scenario's: scenarios/outlooks/climate/<name>.yaml
    labour_outlook: Optional[str] = None    # replaces the scenario's: scenarios/outlooks/labour/<name>.yaml
    world: Optional[str] = None             # a world folder or shipped world's name; None = scenarios/worlds/default
    seed: int = 0
    n_households: int = 5000
    years: float = 20.0
    start_year: int = 2025
    agent_view_limit: int = 100_000         # create Household Mesa agents only up to this many households
    threads: int = 1                        # threads for the household decision; same results for any number
    progress: bool = True                   # progress bar on stderr for runs longer than a few seconds
    figures: bool = True                    # write PNG figures next to results.nc
    mode: str = "run"                       # run (the comparison or one run), sensitivity, calibrate, hindcast,
                                            # emulate or optimise
    model: ModelParams = field(default_factory=ModelParams)
    compare: CompareConfig = field(default_factory=CompareConfig)
    sensitivity: SensitivityConfig = field(default_factory=SensitivityConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    hindcast: HindcastConfig = field(default_factory=HindcastConfig)
    emulate: EmulateConfig = field(default_factory=EmulateConfig)
    optimise: OptimiseConfig = field(default_factory=OptimiseConfig)


FIRST_YEAR, LAST_YEAR = 1800, 2250   # calendar dates are stored as datetime64[ns] (valid 1678-2262)
MAX_SEED = 2**31 - 1                 # seeds are stored in the outputs as integers every NetCDF reader can hold

# Memory a run needs, measured on the default world (peak RSS; docs/performance.md): about 190 MB of interpreter,
# libraries and compiled kernels, 165-210 B per household at 1-3 million households, and about 600 B per Household
# Mesa agent (created up to agent_view_limit). Rounded up, so that the estimate errs on the safe side.
MEMORY_BASE_BYTES = 300e6
MEMORY_PER_HOUSEHOLD_BYTES = 220.0
MEMORY_PER_AGENT_BYTES = 600.0


def run_memory_bytes(n_households: int, agent_view_limit: int) -> float:
    """Estimated peak memory of one run, in bytes."""
    return (MEMORY_BASE_BYTES + MEMORY_PER_HOUSEHOLD_BYTES * n_households
            + MEMORY_PER_AGENT_BYTES * min(n_households, agent_view_limit))


def available_memory_bytes() -> float | None:
    """Memory this process can still use: the system's available memory, or the container's limit if lower; None
    where neither can be read."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found.append(float(line.split()[1]) * 1024)
    except OSError:
        try:
            found.append(float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")))
        except (ValueError, OSError, AttributeError):
            pass
    try:   # cgroup v2 limit of this container
        limit = open("/sys/fs/cgroup/memory.max", encoding="ascii").read().strip()
        used = open("/sys/fs/cgroup/memory.current", encoding="ascii").read().strip()
        if limit.isdigit() and used.isdigit():
            found.append(float(int(limit) - int(used)))
    except OSError:
        pass
    return min(found) if found else None


def check_memory(n_households: int, agent_view_limit: int, runs_at_once: int = 1) -> None:
    """Raise ConfigError if `runs_at_once` runs of this size would not fit in the memory available now."""
    available = available_memory_bytes()
    need = runs_at_once * run_memory_bytes(n_households, agent_view_limit)
    if available is None or need <= available:
        return
    per_run = available / max(runs_at_once, 1)
    most = int(max(0.0, per_run - MEMORY_BASE_BYTES - MEMORY_PER_AGENT_BYTES * min(n_households, agent_view_limit))
               / MEMORY_PER_HOUSEHOLD_BYTES)
    at_once = f" for each of {runs_at_once} runs at once (fewer with compare.workers)" if runs_at_once > 1 else ""
    raise ConfigError("n_households", n_households,
                      f"at most about {most:,} households{at_once} on this machine: {runs_at_once * n_households:,} "
                      f"households need about {need / 1e9:.1f} GB of memory and {available / 1e9:.1f} GB are "
                      f"available")


def check_threads(threads: object) -> None:
    """Raise ConfigError unless `threads` is a number of threads numba can run here (1 to its thread count)."""
    most = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= most:
        raise ConfigError("threads", threads, f"an integer from 1 to {most} (the threads numba can use on this "
                                              f"machine; NUMBA_NUM_THREADS raises the limit)")


def check_calendar(start_year: object, years: object) -> None:
    """Raise ConfigError unless the run fits the calendar the outputs can store."""
    if isinstance(start_year, bool) or not isinstance(start_year, int) or not FIRST_YEAR <= start_year <= LAST_YEAR:
        raise ConfigError("start_year", start_year, f"an integer year in [{FIRST_YEAR}, {LAST_YEAR}]")
    if isinstance(years, bool) or not isinstance(years, (int, float)) or not 0 < years <= LAST_YEAR - start_year:
        raise ConfigError("years", years, f"a number in (0, {LAST_YEAR - start_year}] (the run must end by "
                                          f"{LAST_YEAR})")


def unknown_keys(data: object, obj: object, prefix: str = "") -> list[str]:
    """Dotted keys present in a nested mapping `data` but not in the dataclass `obj` (e.g. added with `+key=`)."""
    if not isinstance(data, dict) or not dataclasses.is_dataclass(obj):
        return []
    names = {f.name for f in dataclasses.fields(obj)}
    found = [f"{prefix}{k}" for k in data if k not in names]
    for key in names & set(data):
        found += unknown_keys(data[key], getattr(obj, key), f"{prefix}{key}.")
    return found


def validate_run(cfg: RunConfig) -> None:
    """Check the run-level values and every model parameter; raise ConfigError naming the first bad one."""
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or not 0 <= cfg.seed <= MAX_SEED:
        raise ConfigError("seed", cfg.seed, f"a non-negative integer of at most {MAX_SEED}")
    if isinstance(cfg.n_households, bool) or not isinstance(cfg.n_households, int) or cfg.n_households < 1:
        raise ConfigError("n_households", cfg.n_households, "an integer of at least 1")
    check_calendar(cfg.start_year, cfg.years)
    if cfg.mode not in MODES:
        raise ConfigError("mode", cfg.mode, f"one of {', '.join(MODES)}")
    if cfg.agent_view_limit < 0:
        raise ConfigError("agent_view_limit", cfg.agent_view_limit, "an integer of at least 0")
    check_threads(cfg.threads)
    validate(cfg.model, "model")
    c = cfg.compare
    if isinstance(c.seeds, bool) or not isinstance(c.seeds, int) or c.seeds < 1:
        raise ConfigError("compare.seeds", c.seeds, "an integer of at least 1")
    if c.workers < 0:
        raise ConfigError("compare.workers", c.workers, "an integer of at least 0 (0 = all cores)")
    if not c.scenarios or len(set(c.scenarios)) != len(c.scenarios):
        raise ConfigError("compare.scenarios", c.scenarios, "a non-empty list of distinct scenario names")
    if c.baseline not in c.scenarios:
        raise ConfigError("compare.baseline", c.baseline, f"one of compare.scenarios {list(c.scenarios)}")
