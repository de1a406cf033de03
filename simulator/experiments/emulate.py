"""Emulation: a space-filling design over policy levers and uncertain parameters, run through the cached parallel
runner, and a statistical emulator of each whole-run outcome fitted on it, scored on held-out points and saved.

A lever is an intervention setting, named `interventions.<intervention>.<setting>` (simulator/policy/interventions.py,
e.g. `interventions.adaptation.coverage`), or a model parameter by its dotted name (`model.decisions.credit_fraction`),
varied within bounds inside its declared range. A design point becomes a run config: the base scenario (the run's
`scenario`, baseline by default) with every intervention that a lever names added (starting at `emulate.start_year`,
with the fixed settings of `emulate.interventions`) and the lever values set. The scenario is written as a YAML file
named by a hash of its content under `<cache>/scenarios/`, so the same point is the same file and the same cached run
in every job, and a chosen point can be rerun with `python run.py scenario=<that file>` (and the point's model
parameters on the command line; `Emulator.run_config` gives the whole config). A lever
at its lower bound should mean the intervention absent or at zero intensity (coverage 0, a factor of 1, a share of 0),
so that the design spans the baseline.

The training design is a scrambled Sobol' sequence (or a Latin hypercube) on the unit hypercube (scipy.stats.qmc,
seeded by `sample_seed`); the held-out design is a Latin hypercube of a seed of its own, so that no held-out point is
a training point. Each point runs under seeds 0..seeds-1 (common random numbers) through
simulator/experiments/comparison.py `run_all` (resumable through `outputs/cache/`) and its outcomes are averaged.

Emulators (scikit-learn), one per outcome, on the unit-cube coordinates of the levers:
- `gp`: a Gaussian process, constant x anisotropic Matern (nu = 5/2) + white noise, on standardised outcomes
  (Rasmussen & Williams 2006, ch. 4-5); its predictive standard deviation includes the fitted noise, so its intervals
  are for a new seed-averaged simulation, the quantity held out;
- `gbt`: histogram gradient boosting for the mean, and two quantile models for the interval (Friedman 2001).
For each outcome, the candidate with the higher held-out R² is kept (the GP when they tie). The held-out R² and the
coverage of the predictive intervals are reported for every candidate.

Example (a tiny emulator: 1 lever, 1 outcome):
    >>> import tempfile
    >>> from simulator.config import RunConfig, EmulateConfig, EmulateLever
    >>> cfg = RunConfig(n_households=100, years=1, progress=False, emulate=EmulateConfig(
    ...     levers=[EmulateLever("interventions.fee_subsidy.share", [0.0, 1.0])], outputs=["internal"],
    ...     samples=4, test_samples=2, seeds=1, emulators=["gp"], workers=1))
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     ds, emulator = run_emulate(cfg, cache, progress=False)
    >>> emulator.lever_names, ds["r2"].dims
    (['interventions.fee_subsidy.share'], ('emulator', 'output'))
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import json
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
import yaml  # noqa: E402
from scipy import stats  # noqa: E402
from scipy.stats import qmc  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from simulator.config import EmulateConfig, EmulateLever, RunConfig, validate_run  # noqa: E402
from simulator.errors import ConfigError, InputError  # noqa: E402
from simulator.experiments.comparison import cached_run  # noqa: E402
from simulator.experiments.sensitivity import (MODEL_PARAMETERS, OUTPUTS, Output, check_count,  # noqa: E402
                                               experiment_base, noise_share, number_text, read_all, run_cached,
                                               run_outputs, sample_outputs, with_values)
from simulator.policy.interventions import REGISTRY, build_interventions  # noqa: E402
from simulator.policy.scenarios import load_scenario  # noqa: E402
from simulator.version import __version__  # noqa: E402

# --- levers ---------------------------------------------------------------------------------------------------------

PREFIX = "interventions."
# a lever on an intervention setting: interventions.<intervention>.<setting>, or on one entry of a list of entries of
# that intervention (one per district, channel or route: emulate.interventions gives the list), <intervention>[k]
LEVER = re.compile(r"^interventions\.([A-Za-z_]+)(?:\[(\d+)\])?\.([A-Za-z_]+)$")


def split_lever(name: str) -> tuple[str, int | None, str]:
    """(intervention, entry or None, setting) of an intervention lever's name.

    Example:
        >>> split_lever("interventions.adaptation[1].coverage"), split_lever("interventions.fee_subsidy.share")
        (('adaptation', 1, 'coverage'), ('fee_subsidy', None, 'share'))
    """
    found = LEVER.match(name)
    if found is None:
        raise ValueError(f"{name!r} is not the name of an intervention lever")
    return found.group(1), None if found.group(2) is None else int(found.group(2)), found.group(3)


@dataclass(frozen=True)
class Lever:
    """A lever with its bounds, units and kind, as an emulator keeps it."""

    name: str
    lower: float
    upper: float
    units: str
    integer: bool = False


def intervention_settings() -> dict[str, dict[str, Any]]:
    """Every numeric intervention setting by lever name (`interventions.<name>.<setting>`), with its metadata."""
    found = {}
    for name, cls in REGISTRY.items():
        for f in dataclasses.fields(cls):
            if "units" in f.metadata and f.name not in ("start_year", "end_year"):
                found[f"{PREFIX}{name}.{f.name}"] = dict(f.metadata)
    return found


def lever_meta(field_name: str, name: object) -> dict[str, Any]:
    """The metadata of lever `name` (units, lo, hi, integer), or a ConfigError on `field_name` naming close names."""
    settings = intervention_settings()
    if isinstance(name, str) and name in settings:
        return settings[name]
    if isinstance(name, str) and LEVER.match(name):   # an entry of a list: the setting's metadata
        intervention, _, setting = split_lever(name)
        if f"{PREFIX}{intervention}.{setting}" in settings:
            return settings[f"{PREFIX}{intervention}.{setting}"]
    if isinstance(name, str) and name in MODEL_PARAMETERS:
        return MODEL_PARAMETERS[name]
    close = difflib.get_close_matches(str(name), list(settings) + list(MODEL_PARAMETERS), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ConfigError(field_name, name, "interventions.<intervention>.<setting>, such as "
                      f"interventions.adaptation.coverage (interventions.<intervention>[k].<setting> for entry k of "
                      f"a list in emulate.interventions), or a model parameter's dotted name, such as "
                      f"model.decisions.credit_fraction{hint}; interventions and their settings: "
                      f"{', '.join(sorted(REGISTRY))} (simulator/policy/interventions.py)")


def make_levers(entries: Sequence[EmulateLever], section: str = "emulate.levers") -> list[Lever]:
    """Check the lever entries (names, bounds inside each setting's range, no repeats) and return them as Levers."""
    if not entries:
        raise ConfigError(section, [], "a non-empty list of levers, each with a name and bounds")
    levers = []
    for i, entry in enumerate(entries):
        where = f"{section}[{i}]"
        meta = lever_meta(f"{where}.name", entry.name)
        if entry.name in [lv.name for lv in levers]:
            raise ConfigError(f"{where}.name", entry.name, "a lever not listed before")
        allowed = (f"[lower, upper] with lower < upper inside the allowed range of {entry.name}: "
                   f"[{meta['lo']:g}, {meta['hi']:g}] ({meta['units']})")
        b = entry.bounds
        if (not isinstance(b, (list, tuple)) or len(b) != 2
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) for x in b)):
            raise ConfigError(f"{where}.bounds", b, allowed)
        lo, hi = float(b[0]), float(b[1])
        if not meta["lo"] <= lo < hi <= meta["hi"]:
            raise ConfigError(f"{where}.bounds", list(b), allowed)
        levers.append(Lever(entry.name, lo, hi, str(meta["units"]), bool(meta.get("integer", False))))
    return levers


def to_values(unit: np.ndarray, levers: Sequence[Lever]) -> np.ndarray:
    """Points of the unit hypercube (rows) as lever values: uniform between the bounds, integers rounded.

    Example:
        >>> float(to_values(np.array([[0.25]]), [Lever("x", 1.0, 3.0, "factor")])[0, 0])
        1.5
    """
    unit = np.clip(np.atleast_2d(np.asarray(unit, dtype=float)), 0.0, 1.0)
    lower = np.array([lv.lower for lv in levers])
    upper = np.array([lv.upper for lv in levers])
    values = lower + unit * (upper - lower)
    integer = np.array([lv.integer for lv in levers], bool)
    values[:, integer] = np.round(values[:, integer])
    return values


def to_unit(values: np.ndarray, levers: Sequence[Lever]) -> np.ndarray:
    """Lever values (rows) as points of the unit hypercube; a value outside its lever's bounds is a ConfigError."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    if values.ndim != 2 or values.shape[1] != len(levers):
        raise ConfigError("values", f"an array of shape {values.shape}",
                          f"rows of {len(levers)} lever values, in the order {[lv.name for lv in levers]}")
    lower = np.array([lv.lower for lv in levers])
    upper = np.array([lv.upper for lv in levers])
    bad = ~np.isfinite(values) | (values < lower - 1e-9 * (upper - lower)) | (values > upper + 1e-9 * (upper - lower))
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise ConfigError(levers[j].name, float(values[i, j]), f"a value within the emulator's design bounds "
                          f"[{levers[j].lower:g}, {levers[j].upper:g}] ({levers[j].units}); outside them it would "
                          f"extrapolate")
    return np.clip((values - lower) / (upper - lower), 0.0, 1.0)


# --- design points as scenarios and run configs ---------------------------------------------------------------------


def base_definition(base: RunConfig) -> dict[str, Any]:
    """The base scenario of the design (`base.scenario`) in full (`Scenario.definition`)."""
    return load_scenario(base.scenario or "baseline", climate_outlook=base.climate_outlook,
                         labour_outlook=base.labour_outlook).definition()


def point_scenario(base_def: dict[str, Any], levers: Sequence[Lever], values: Sequence[float],
                   fixed: Mapping[str, Any], start_year: float) -> dict[str, Any]:
    """The scenario of one design point, as a scenario file holds it: the base scenario's outlooks and interventions,
    plus each intervention a lever or `fixed` names (from `start_year`, unless the base scenario or `fixed` sets
    it), with `fixed`'s settings and the lever values set."""
    interventions = copy.deepcopy(dict(base_def["interventions"]))
    names = list(fixed) + [split_lever(lv.name)[0] for lv in levers if lv.name.startswith(PREFIX)]
    for name in dict.fromkeys(names):
        if isinstance(fixed.get(name), list):   # one intervention per entry (a district, channel or route each)
            interventions[name] = [{"start_year": float(start_year), **copy.deepcopy(dict(entry or {}))}
                                   for entry in fixed[name]]
            continue
        settings = interventions.setdefault(name, {"start_year": float(start_year)})
        settings.update(copy.deepcopy(dict(fixed.get(name) or {})))
    for lv, value in zip(levers, values):
        if lv.name.startswith(PREFIX):
            name, entry, key = split_lever(lv.name)
            target = interventions[name][entry or 0] if isinstance(interventions[name], list) else interventions[name]
            target[key] = int(round(value)) if lv.integer else float(value)
    return {"description": "A design point of an emulator (simulator/experiments/emulate.py): "
                           + ", ".join(f"{lv.name} = {v:g}" for lv, v in zip(levers, values)
                                       if lv.name.startswith(PREFIX)),
            "climate_outlook": base_def["climate_outlook"]["name"],
            "labour_outlook": base_def["labour_outlook"]["name"],
            "interventions": interventions}


def write_scenario(scenario: dict[str, Any], folder: str | Path) -> Path:
    """Write a scenario file named by a hash of its content into `folder` (atomically; kept if already there)."""
    text = yaml.safe_dump(scenario, sort_keys=True, allow_unicode=True)
    folder = Path(folder)
    path = folder / f"emulate-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path


def point_config(base: RunConfig, levers: Sequence[Lever], values: Sequence[float], fixed: Mapping[str, Any],
                 start_year: float, folder: str | Path, seed: int = 0,
                 base_def: dict[str, Any] | None = None) -> RunConfig:
    """The run config of one design point under `seed`: the point's scenario written into `folder`, the model
    parameters among the levers set."""
    base_def = base_def or base_definition(base)
    scenario = write_scenario(point_scenario(base_def, levers, values, fixed, start_year), folder)
    model_values = {lv.name: float(v) for lv, v in zip(levers, values) if lv.name.startswith("model.")}
    return dataclasses.replace(with_values(base, model_values, seed), scenario=str(scenario))


def check_interventions(base: RunConfig, levers: Sequence[Lever], fixed: Mapping[str, Any],
                        start_year: float) -> None:
    """Build the interventions of the design's lowest and highest corners, so that a bad fixed setting fails before
    any run, as a ConfigError naming it under `emulate.interventions`."""
    base_def = base_definition(base)
    if not isinstance(fixed, Mapping) or not all(
            isinstance(v, Mapping) or v is None or (isinstance(v, list) and v and all(isinstance(e, Mapping)
                                                                                    for e in v))
            for v in fixed.values()):
        raise ConfigError("emulate.interventions", fixed, "a mapping of intervention names to their fixed settings, "
                          "e.g. {adaptation: {regions: exposed}}, or to a list of settings, one intervention each "
                          "(e.g. one per district: [{regions: [Delta Coast]}, {regions: [Highlands]}])")
    for i, lv in enumerate(levers):
        if not lv.name.startswith(PREFIX):
            continue
        name, entry, _ = split_lever(lv.name)
        given = fixed.get(name)
        if entry is not None and not (isinstance(given, list) and entry < len(given)):
            raise ConfigError(f"emulate.levers[{i}].name", lv.name, f"an entry of emulate.interventions.{name}, "
                              f"which must then be a list of at least {entry + 1} entries (one intervention each, "
                              f"e.g. one per district, channel or route)")
        if entry is None and isinstance(given, list):
            raise ConfigError(f"emulate.levers[{i}].name", lv.name, f"interventions.{name}[k].{lv.name.split('.')[-1]}"
                              f", naming the entry k of the list emulate.interventions.{name}")
    for corner in ([lv.lower for lv in levers], [lv.upper for lv in levers]):
        scenario = point_scenario(base_def, levers, corner, fixed, start_year)
        try:
            build_interventions(scenario["interventions"])
        except ConfigError as exc:
            name = re.sub(r"\[\d+\]$", "", exc.field.split(".")[1]) if exc.field.startswith(PREFIX) else ""
            where = "emulate.interventions" + (f".{exc.field.removeprefix(PREFIX)}" if name in fixed else "")
            raise ConfigError(where, exc.value, exc.allowed) from None


# --- outcomes -------------------------------------------------------------------------------------------------------

EMULATE_OUTPUTS: dict[str, Output] = OUTPUTS   # the outcomes of sensitivity.py, expected deaths and the poorest's
run_outcomes = run_outputs   # the whole-run outcomes of one cached run (sensitivity.py `run_outputs`)


# --- emulators ------------------------------------------------------------------------------------------------------

KINDS = ("gp", "gbt")


@dataclass
class OutcomeEmulator:
    """A fitted emulator of one outcome on unit-cube inputs: `gp` (one GaussianProcessRegressor) or `gbt` (gradient
    boosting for the mean and the two interval quantiles)."""

    kind: str
    interval: float
    models: dict[str, Any]

    def predict(self, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, standard deviation and the interval's lower and upper ends at points of the unit hypercube."""
        z = stats.norm.ppf(0.5 + self.interval / 2)
        with threadpool_limits(1):
            return self._predict(unit, z)

    def _predict(self, unit: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self.kind == "gp":
            mean, sd = self.models["gp"].predict(unit, return_std=True)
            return mean, sd, mean - z * sd, mean + z * sd
        mean = self.models["mean"].predict(unit)
        lower = np.minimum(self.models["lower"].predict(unit), mean)
        upper = np.maximum(self.models["upper"].predict(unit), mean)
        return mean, (upper - lower) / (2 * z), lower, upper


def fit_outcome(kind: str, unit: np.ndarray, y: np.ndarray, interval: float, seed: int) -> OutcomeEmulator:
    """Fit an emulator of kind `gp` or `gbt` to outcome `y` at design points `unit` (rows on the unit hypercube).

    The GP's kernel: a constant (1e-3..1e3) times an anisotropic Matern 5/2 (length scales 0.01..100 in units of each
    lever's range) plus white noise (1e-8..10 of the standardised variance), its hyperparameters by maximum
    marginal likelihood from 4 starts (assumption: bounds wide enough for levers without effect and for pure noise).
    Gradient boosting: 300 trees, learning rate 0.05, leaves of 5 points at least (assumption: sized for designs of
    tens to hundreds of points), quantile loss for the interval's ends.

    Fits and predictions use one thread (threadpoolctl): on designs this small, OpenMP threads only wait for each
    other, and on a busy 2-core machine one gradient boosting fit of 128 points took 45 s with them and 1.3 s
    without (measured).
    """
    with threadpool_limits(1):
        return _fit_outcome(kind, unit, y, interval, seed)


def _fit_outcome(kind: str, unit: np.ndarray, y: np.ndarray, interval: float, seed: int) -> OutcomeEmulator:
    if kind == "gp":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
        d = unit.shape[1]
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, 0.5), (1e-2, 1e2), nu=2.5)
                  + WhiteKernel(1e-2, (1e-8, 1e1)))
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=3, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # a hyperparameter at its bound (a lever without effect) is expected
            gp.fit(unit, y)
        return OutcomeEmulator("gp", interval, {"gp": gp})
    from sklearn.ensemble import HistGradientBoostingRegressor
    settings = dict(max_iter=300, learning_rate=0.05, min_samples_leaf=5, random_state=seed)
    tail = (1 - interval) / 2
    models = {"mean": HistGradientBoostingRegressor(**settings).fit(unit, y),
              "lower": HistGradientBoostingRegressor(loss="quantile", quantile=tail, **settings).fit(unit, y),
              "upper": HistGradientBoostingRegressor(loss="quantile", quantile=1 - tail, **settings).fit(unit, y)}
    return OutcomeEmulator("gbt", interval, models)


FORMAT = "migration-simulator emulator"
FORMAT_VERSION = 1   # raise when the saved object changes; files of another version are refused


@dataclass
class Emulator:
    """Emulators of whole-run outcomes over levers, with the design they were fitted on and how to run a point.

    Example (on a toy design, no model runs):
        >>> lv = [Lever("interventions.fee_subsidy.share", 0.0, 1.0, "share")]
        >>> u = np.linspace(0, 1, 12)[:, None]
        >>> em = Emulator.fit(lv, {"y": 3 * u[:, 0]}, u, kinds={"y": "gp"})
        >>> mean, sd = em.predict([[0.5]])
        >>> round(float(mean[0, 0]), 2)
        1.5
    """

    levers: list[Lever]
    outputs: list[str]
    emulators: dict[str, OutcomeEmulator]
    interval: float = 0.9
    design_unit: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    design_outputs: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    base: RunConfig | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    start_year: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, levers: Sequence[Lever], outputs: Mapping[str, np.ndarray], unit: np.ndarray,
            kinds: Mapping[str, str] | None = None, interval: float = 0.9, seed: int = 0, **kw: Any) -> Emulator:
        """Fit one emulator per outcome (`kinds`: gp or gbt by outcome, gp by default) at design points `unit`."""
        kinds = kinds or {}
        unit = np.atleast_2d(np.asarray(unit, dtype=float))
        fitted = {name: fit_outcome(kinds.get(name, "gp"), unit, np.asarray(y, float), interval, seed)
                  for name, y in outputs.items()}
        return cls(list(levers), list(outputs), fitted, interval, unit,
                   np.column_stack([np.asarray(y, float) for y in outputs.values()]), **kw)

    @property
    def lever_names(self) -> list[str]:
        """The levers' names, in the order of the columns of the values `predict` takes."""
        return [lv.name for lv in self.levers]

    @property
    def bounds(self) -> np.ndarray:
        """(levers, 2): each lever's lower and upper bound, as designed."""
        return np.array([[lv.lower, lv.upper] for lv in self.levers])

    @property
    def design_values(self) -> np.ndarray:
        """The training design as lever values (points, levers)."""
        return to_values(self.design_unit, self.levers)

    def values(self, values: Any) -> np.ndarray:
        """Lever values as an array (points, levers): from rows in `lever_names` order, or a mapping of every lever
        name to a value or an array of values."""
        if isinstance(values, Mapping):
            missing = [n for n in self.lever_names if n not in values]
            extra = [n for n in values if n not in self.lever_names]
            if missing or extra:
                raise ConfigError("values", sorted(values), f"exactly the levers {self.lever_names}")
            values = np.column_stack([np.atleast_1d(np.asarray(values[n], dtype=float)) for n in self.lever_names])
        return np.atleast_2d(np.asarray(values, dtype=float))

    def predict(self, values: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predicted mean and standard deviation (points, outputs) of each outcome, seed-averaged as designed, at
        lever values within the bounds (rows in `lever_names` order, or a mapping; see `values`)."""
        unit = to_unit(self.values(values), self.levers)
        found = [self.emulators[name].predict(unit)[:2] for name in self.outputs]
        return np.column_stack([f[0] for f in found]), np.column_stack([f[1] for f in found])

    def predict_interval(self, values: Any) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends (points, outputs) of each outcome's predictive interval at level `interval`."""
        unit = to_unit(self.values(values), self.levers)
        found = [self.emulators[name].predict(unit)[2:] for name in self.outputs]
        return np.column_stack([f[0] for f in found]), np.column_stack([f[1] for f in found])

    def run_config(self, values: Any, folder: str | Path, seed: int = 0) -> RunConfig:
        """The run config of one point of lever values under `seed`, its scenario file written into `folder`: run it
        with simulator/experiments/runner.py `simulate`, or `python run.py scenario=<its scenario>` with the same
        size, world and model parameters."""
        if self.base is None:
            raise InputError("this emulator keeps no base run config: it cannot make runs")
        row = self.values(values)
        if row.shape[0] != 1:
            raise ConfigError("values", f"{row.shape[0]} points", "one point of lever values")
        to_unit(row, self.levers)   # refuses values outside the bounds
        return point_config(self.base, self.levers, row[0], self.fixed, self.start_year, folder, seed)

    def save(self, path: str | Path) -> Path:
        """Write the emulator to `path`, atomically, with its format version and library versions: a standard
        pickle (which joblib.load reads too), so that loading it sets no array's shape in place, which NumPy 2.5
        deprecates and joblib's own array format does on every array (thousands of warnings per emulator)."""
        import pickle
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "simulator_version": __version__,
                   "sklearn_version": version("scikit-learn"), "numpy_version": np.__version__, "emulator": self}
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def load_emulator(path: str | Path) -> Emulator:
    """Read an emulator saved by `Emulator.save` (a standard pickle, or joblib's format of earlier versions). A file
    of another format version is refused (InputError). Like any pickle, load only files you trust."""
    import joblib
    try:
        payload = joblib.load(path)
    except (OSError, EOFError) as exc:
        raise InputError(f"emulator file {path} cannot be read: {exc}") from None
    except Exception as exc:   # noqa: BLE001 - a file of another kind or of other library versions
        raise InputError(f"emulator file {path} is not an emulator this version can read ({type(exc).__name__}: "
                         f"{exc}); fit it again with python run.py experiment=emulate") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"emulator file {path} is not an emulator saved by simulator/experiments/emulate.py")
    if payload.get("format_version") != FORMAT_VERSION:
        raise InputError(f"emulator file {path} has format version {payload.get('format_version')!r} (simulator "
                         f"{payload.get('simulator_version')}); this simulator ({__version__}) reads format version "
                         f"{FORMAT_VERSION} only: fit it again with python run.py experiment=emulate")
    return payload["emulator"]


# --- the experiment -------------------------------------------------------------------------------------------------


def validate_emulate(e: EmulateConfig) -> list[Lever]:
    """Check the settings of an emulation; raise ConfigError naming the first bad one. Returns the levers."""
    levers = make_levers(e.levers)
    if not e.outputs or len(set(e.outputs)) != len(e.outputs):
        raise ConfigError("emulate.outputs", list(e.outputs), f"a non-empty list of distinct outputs among "
                          f"{', '.join(EMULATE_OUTPUTS)}")
    for i, name in enumerate(e.outputs):
        if name not in EMULATE_OUTPUTS:
            raise ConfigError(f"emulate.outputs[{i}]", name, f"one of {', '.join(EMULATE_OUTPUTS)}")
    if e.design not in ("sobol", "lhs"):
        raise ConfigError("emulate.design", e.design, "sobol (a scrambled Sobol' sequence) or lhs (a Latin "
                          "hypercube)")
    check_count("emulate.samples", e.samples, 4)
    if e.design == "sobol" and e.samples & (e.samples - 1):
        raise ConfigError("emulate.samples", e.samples, "a power of 2 for a Sobol' design (balanced at powers of "
                          "2), e.g. 64, 128, 256; or emulate.design=lhs")
    check_count("emulate.test_samples", e.test_samples, 2)
    check_count("emulate.seeds", e.seeds, 1)
    if not e.emulators or len(set(e.emulators)) != len(e.emulators) or not set(e.emulators) <= set(KINDS):
        raise ConfigError("emulate.emulators", list(e.emulators), f"a non-empty list of {' and/or '.join(KINDS)}")
    if isinstance(e.interval, bool) or not isinstance(e.interval, (int, float)) or not 0 < e.interval < 1:
        raise ConfigError("emulate.interval", e.interval, "a number in (0, 1), e.g. 0.9")
    if (isinstance(e.start_year, bool) or not isinstance(e.start_year, (int, float))
            or not math.isfinite(e.start_year) or e.start_year < 0):
        raise ConfigError("emulate.start_year", e.start_year, "a number of years of at least 0")
    check_count("emulate.sample_seed", e.sample_seed, 0)
    check_count("emulate.workers", e.workers, 0)
    if e.point is not None:
        points = e.samples + e.test_samples
        if isinstance(e.point, bool) or not isinstance(e.point, int) or not 0 <= e.point < points:
            raise ConfigError("emulate.point", e.point, f"null (the whole experiment) or a design point "
                              f"0..{points - 1} (the {e.samples} training points, then the {e.test_samples} "
                              "held-out ones)")
    return levers


def check_emulate(cfg: RunConfig) -> list[Lever]:
    """Every check of an emulation short of running it: its settings, the base run, the interventions of the
    design's corners, and for a single point (`emulate.point`) that the run's seed is one of the design's. Returns
    the levers."""
    levers = validate_emulate(cfg.emulate)
    if cfg.emulate.point is not None and not 0 <= cfg.seed < cfg.emulate.seeds:
        raise ConfigError("seed", cfg.seed, f"a seed of the design, 0..{cfg.emulate.seeds - 1} (emulate.seeds = "
                          f"{cfg.emulate.seeds}), for a single point (emulate.point = {cfg.emulate.point})")
    base = dataclasses.replace(experiment_base(cfg), emulate=EmulateConfig())
    validate_run(base)
    check_interventions(base, levers, cfg.emulate.interventions, cfg.emulate.start_year)
    return levers


def designs(e: EmulateConfig, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The training and held-out designs on the unit hypercube, (samples, d) and (test_samples, d), from
    `sample_seed` alone: a scrambled Sobol' sequence (Owen scrambling) or a Latin hypercube for training, a Latin
    hypercube of a seed of its own for the held-out points."""
    train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(e.sample_seed).spawn(2))
    if e.design == "sobol":
        train = qmc.Sobol(d, scramble=True, rng=train_rng).random(e.samples)
    else:
        train = qmc.LatinHypercube(d, rng=train_rng).random(e.samples)
    return train, qmc.LatinHypercube(d, rng=test_rng).random(e.test_samples)


def r2_score(y: np.ndarray, prediction: np.ndarray) -> float:
    """The coefficient of determination of `prediction` for `y` (scikit-learn's r2_score; NaN for a constant y)."""
    from sklearn.metrics import r2_score as score
    return float(score(y, prediction)) if np.ptp(y) > 0 else float("nan")


def choose(kinds: Sequence[str], r2: np.ndarray) -> str:
    """The kind with the highest held-out R² (NaN counts as lowest; a tie goes to the GP, then to the first listed).

    Example:
        >>> choose(["gbt", "gp"], np.array([0.9, 0.9])), choose(["gp", "gbt"], np.array([0.5, 0.7]))
        ('gp', 'gbt')
    """
    score = np.where(np.isfinite(r2), r2, -np.inf)
    top = [k for k, v in zip(kinds, score) if v == score.max()]
    return "gp" if "gp" in top else top[0]


def design_values(cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The training and held-out designs of the emulation, on the unit cube and in the levers' values."""
    levers = make_levers(cfg.emulate.levers)
    train_unit, test_unit = designs(cfg.emulate, len(levers))
    return train_unit, test_unit, to_values(train_unit, levers), to_values(test_unit, levers)


def point_configs(cfg: RunConfig, rows: np.ndarray, seeds: Sequence[int], cache_dir: str | Path) -> list[RunConfig]:
    """The run configs of design points `rows` (lever values), point after point, each under `seeds`; the points'
    scenario files are written under `cache_dir`/scenarios."""
    e = cfg.emulate
    levers = make_levers(e.levers)
    base = dataclasses.replace(experiment_base(cfg), emulate=EmulateConfig())
    base_def = base_definition(base)
    folder = Path(cache_dir) / "scenarios"
    return [point_config(base, levers, row, e.interventions, e.start_year, folder, seed, base_def)
            for row in rows for seed in seeds]


def run_point(cfg: RunConfig, cache_dir: str | Path) -> Path:
    """Run design point `emulate.point` under the run's `seed` through the cache (computed only if not there), and
    return its results file: one job of a sweep over points and seeds, after which `run_emulate` with the same
    settings finds those runs in the cache.

    Example (any Hydra launcher; then the same command without -m and point fits the emulators):
        python run.py -m experiment=emulate 'emulate.point=range(0,160)' seed=0,1 hydra/launcher=slurm
    """
    check_emulate(cfg)
    _, _, train_values, test_values = design_values(cfg)
    row = np.vstack([train_values, test_values])[cfg.emulate.point]
    return cached_run(point_configs(cfg, row[None], [cfg.seed], cache_dir)[0], cache_dir)


def run_emulate(cfg: RunConfig, cache_dir: str | Path, progress: bool = True) -> tuple[xr.Dataset, Emulator]:
    """Run the designs of `cfg.emulate` (through the cache, in parallel), fit and score every candidate emulator,
    and return the dataset of the experiment and the emulator kept (the best held-out R² per outcome).

    The dataset has the training and held-out designs (`train_inputs`, `test_inputs`, with their unit-cube
    coordinates), every point's outcomes under every seed, the held-out predictions of each candidate (`test_mean`,
    `test_sd`, `test_lower`, `test_upper`), `r2` and `coverage` (emulator, output), fit and prediction times, the
    seed-noise share of each design and the kind kept for each outcome (`chosen`).
    """
    e = cfg.emulate
    levers = check_emulate(cfg)
    base = dataclasses.replace(experiment_base(cfg), emulate=EmulateConfig())
    started = time.perf_counter()
    d, names = len(levers), [lv.name for lv in levers]
    seeds = list(range(e.seeds))
    train_unit, test_unit, train_values, test_values = design_values(cfg)
    configs = point_configs(cfg, np.vstack([train_values, test_values]), seeds, cache_dir)
    base_def = base_definition(base)
    run_started = time.perf_counter()
    paths = run_cached(configs, cache_dir, e.workers, progress)
    run_seconds = time.perf_counter() - run_started
    runs = read_all(run_outcomes, paths, e.workers)

    def outcomes(chunk: list[dict[str, float]], n: int) -> tuple[np.ndarray, np.ndarray]:
        per_seed = np.empty((n, len(seeds), len(e.outputs)))
        mean = np.empty((n, len(e.outputs)))
        for i in range(n):
            per_seed[i], mean[i] = sample_outputs(chunk[i * len(seeds):(i + 1) * len(seeds)], e.outputs)
        return per_seed, mean

    n_train = len(train_values) * len(seeds)
    train_seed, train_mean = outcomes(runs[:n_train], len(train_values))
    test_seed, test_mean = outcomes(runs[n_train:], len(test_values))
    for where, mean in (("training", train_mean), ("held-out", test_mean)):
        if not np.all(np.isfinite(mean)):
            i, k = map(int, np.argwhere(~np.isfinite(mean))[0])
            raise InputError(f"emulate.outputs: {e.outputs[k]} is undefined at {where} point {i} (no international "
                             "departures under any seed): run more households or years, or drop this output")

    kinds = list(e.emulators)
    shape = (len(kinds), len(test_values), len(e.outputs))
    pred = {key: np.full(shape, np.nan) for key in ("mean", "sd", "lower", "upper")}
    r2 = np.full((len(kinds), len(e.outputs)), np.nan)
    coverage = np.full_like(r2, np.nan)
    fit_seconds = np.full_like(r2, np.nan)
    predict_seconds = np.full_like(r2, np.nan)
    fitted: dict[str, dict[str, OutcomeEmulator]] = {kind: {} for kind in kinds}
    for a, kind in enumerate(kinds):
        for k, output in enumerate(e.outputs):
            t0 = time.perf_counter()
            em = fit_outcome(kind, train_unit, train_mean[:, k], e.interval, e.sample_seed)
            t1 = time.perf_counter()
            found = em.predict(test_unit)
            predict_seconds[a, k] = time.perf_counter() - t1
            fit_seconds[a, k] = t1 - t0
            fitted[kind][output] = em
            for key, value in zip(("mean", "sd", "lower", "upper"), found):
                pred[key][a, :, k] = value
            r2[a, k] = r2_score(test_mean[:, k], found[0])
            coverage[a, k] = float(np.mean((test_mean[:, k] >= found[2]) & (test_mean[:, k] <= found[3])))
    best = [choose(kinds, r2[:, k]) for k in range(len(e.outputs))]
    chosen = dict(zip(e.outputs, best))
    emulator = Emulator(levers, list(e.outputs), {o: fitted[chosen[o]][o] for o in e.outputs}, float(e.interval),
                        train_unit, train_mean, base, copy.deepcopy(dict(e.interventions)), float(e.start_year))

    ds = xr.Dataset(coords={
        "lever": ("lever", names, {"long_name": "lever: interventions.<intervention>.<setting> or a model "
                                                "parameter"}),
        "output": ("output", list(e.outputs), {"long_name": "whole-run outcome (simulator/experiments/emulate.py "
                                                            "EMULATE_OUTPUTS)"}),
        "seed": ("seed", seeds, {"long_name": "seed of a run (the same seeds for every point)"}),
        "emulator": ("emulator", kinds, {"long_name": "candidate emulator: gp (Gaussian process), gbt (gradient "
                                                      "boosting)"}),
        "sample": ("sample", np.arange(len(train_values)), {"long_name": "point of the training design"}),
        "test_sample": ("test_sample", np.arange(len(test_values)), {"long_name": "point of the held-out design"})})
    ds = ds.assign_coords(
        lower=("lever", [lv.lower for lv in levers], {"long_name": "lower bound of the lever"}),
        upper=("lever", [lv.upper for lv in levers], {"long_name": "upper bound of the lever"}),
        lever_units=("lever", [lv.units for lv in levers]),
        output_label=("output", [EMULATE_OUTPUTS[o].label for o in e.outputs]),
        output_units=("output", [EMULATE_OUTPUTS[o].units for o in e.outputs]),
        chosen=("output", best, {"long_name": "emulator kept for the outcome (best held-out R2)"}))
    ds["train_inputs"] = (("sample", "lever"), train_values, {"long_name": "lever values of the training design"})
    ds["train_unit_inputs"] = (("sample", "lever"), train_unit, {"long_name": "the training design on the unit "
                                                                              "hypercube"})
    ds["train_outputs"] = (("sample", "seed", "output"), train_seed, {"long_name": "outcomes of each training "
                                                                                   "point under each seed"})
    ds["train_mean"] = (("sample", "output"), train_mean, {"long_name": "outcomes of each training point, averaged "
                                                                        "over the seeds (shares pooled)"})
    ds["test_inputs"] = (("test_sample", "lever"), test_values, {"long_name": "lever values of the held-out design"})
    ds["test_unit_inputs"] = (("test_sample", "lever"), test_unit, {"long_name": "the held-out design on the unit "
                                                                                 "hypercube"})
    ds["test_outputs"] = (("test_sample", "seed", "output"), test_seed, {"long_name": "outcomes of each held-out "
                                                                                      "point under each seed"})
    ds["test_simulated"] = (("test_sample", "output"), test_mean, {"long_name": "outcomes of each held-out point, "
                                                                                "averaged over the seeds"})
    level = f"{100 * e.interval:g}%"
    for key, text in (("mean", "predicted mean"), ("sd", "predictive standard deviation"),
                      ("lower", f"lower end of the {level} predictive interval"),
                      ("upper", f"upper end of the {level} predictive interval")):
        ds[f"test_{key}"] = (("emulator", "test_sample", "output"), pred[key],
                             {"long_name": f"{text} of each candidate at the held-out points"})
    ds["r2"] = (("emulator", "output"), r2, {"long_name": "held-out R2 of the predicted mean against the "
                                                          "seed-averaged simulation", "units": "1"})
    ds["coverage"] = (("emulator", "output"), coverage,
                      {"long_name": f"share of held-out points whose seed-averaged simulation lies in the {level} "
                                    "predictive interval", "units": "1"})
    ds["fit_seconds"] = (("emulator", "output"), fit_seconds, {"long_name": "time to fit", "units": "s"})
    ds["predict_seconds"] = (("emulator", "output"), predict_seconds,
                             {"long_name": "time to predict every held-out point", "units": "s"})
    ds["noise_share"] = (("design", "output"), np.vstack([noise_share(train_seed), noise_share(test_seed)]),
                         {"long_name": "share of the variance of the seed-averaged outcome across points that is seed "
                                       "noise (simulator/experiments/sensitivity.py noise_share); 1 minus it bounds "
                                       "the R2 any emulator can reach", "units": "1"})
    ds = ds.assign_coords(design=("design", ["training", "held-out"], {"long_name": "design"}))
    run_settings = {k: v for k, v in dataclasses.asdict(base).items()
                    if k not in ("model", "compare", "sensitivity", "calibration", "hindcast", "emulate", "seed",
                                 "mode", "progress", "figures", "agent_view_limit", "threads")}
    ds.attrs.update({
        "title": "Migration flow emulator: design, held-out validation", "simulator_version": __version__,
        "sklearn_version": version("scikit-learn"), "scipy_version": version("scipy"),
        "emulator_format_version": FORMAT_VERSION, "runs": len(configs), "sample_seed": e.sample_seed,
        "seeds": ", ".join(str(s) for s in seeds),
        "settings": json.dumps(dataclasses.asdict(e), default=str),
        "run_settings": json.dumps(run_settings, default=str), "model": json.dumps(dataclasses.asdict(base.model)),
        "base_scenario": json.dumps(base_def, default=str), "run_seconds": round(run_seconds, 1),
        "elapsed_seconds": round(time.perf_counter() - started, 1)})
    emulator.info = {k: ds.attrs[k] for k in ("simulator_version", "sklearn_version", "settings", "run_settings",
                                              "sample_seed", "seeds")}
    emulator.info.update({"r2": {o: float(r2[kinds.index(chosen[o]), k]) for k, o in enumerate(e.outputs)},
                          "coverage": {o: float(coverage[kinds.index(chosen[o]), k])
                                       for k, o in enumerate(e.outputs)}})
    return ds, emulator


# --- figures and summary --------------------------------------------------------------------------------------------


def _grid(n: int, width: float = 4.2, height: float = 3.8) -> tuple[plt.Figure, np.ndarray]:
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, 0.6 + height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def figures(ds: xr.Dataset, folder: str | Path) -> list[Path]:
    """`validation.png`: the kept emulator's predictions against the seed-averaged simulations at the held-out
    points, with their predictive intervals, per outcome; `design.png`: the two designs' points, lever by lever."""
    folder = Path(folder)
    level = f"{100 * json.loads(ds.attrs['settings'])['interval']:g}%"
    outputs = [str(o) for o in ds["output"].values]
    fig, axes = _grid(len(outputs))
    for ax, output in zip(axes, outputs):
        o = ds.sel(output=output)
        kind = str(o["chosen"].values)
        sim = o["test_simulated"].values
        mean, lower, upper = (o[f"test_{k}"].sel(emulator=kind).values for k in ("mean", "lower", "upper"))
        ax.errorbar(sim, mean, yerr=[mean - lower, upper - mean], fmt="o", ms=4, color="tab:blue", ecolor="0.6",
                    capsize=2, label=f"{level} predictive interval")
        ends = [min(sim.min(), lower.min()), max(sim.max(), upper.max())]
        ax.plot(ends, ends, color="black", linewidth=0.8, label="predicted = simulated")
        units = str(o["output_units"].values)
        ax.set_xlabel(f"simulated, seed average ({units})")
        ax.set_ylabel(f"predicted ({units})")
        ax.set_title(f"{o['output_label'].values}\n{kind}: R² {float(o['r2'].sel(emulator=kind)):.3f}, coverage "
                     f"{100 * float(o['coverage'].sel(emulator=kind)):.0f}%", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Emulator against the simulation at {ds.sizes['test_sample']} held-out points "
                 f"({ds.sizes['seed']} seeds each)")
    fig.tight_layout()
    paths = [folder / "validation.png"]
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    levers = [str(v) for v in ds["lever"].values]
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.45 * len(levers)))
    rng = np.random.default_rng(0)   # vertical jitter only, to separate the points
    for i in range(len(levers)):
        for var, color, label in (("train_unit_inputs", "tab:blue", "training"),
                                  ("test_unit_inputs", "tab:orange", "held-out")):
            x = ds[var].isel(lever=i).values
            ax.scatter(x, i + rng.uniform(-0.25, 0.25, len(x)), s=8, color=color, alpha=0.7,
                       label=label if i == 0 else None)
    ax.set_yticks(range(len(levers)), [f"{n} [{float(ds['lower'][i]):g}, {float(ds['upper'][i]):g}]"
                                       for i, n in enumerate(levers)], fontsize=8)
    ax.set_xlabel("position between the lever's lower (0) and upper (1) bound")
    ax.set_title(f"Designs: {ds.sizes['sample']} training points, {ds.sizes['test_sample']} held-out points",
                 loc="left")
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1, 1.0), ncol=2, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    paths.append(folder / "design.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def summary(ds: xr.Dataset) -> str:
    """A Markdown summary: settings, levers, then per outcome the held-out R² and coverage of each candidate."""
    s = json.loads(ds.attrs["settings"])
    run = json.loads(ds.attrs["run_settings"])
    level = f"{100 * s['interval']:g}%"
    kinds = [str(k) for k in ds["emulator"].values]
    outlook = run["climate_outlook"] or "the scenario's"
    lines = ["# Emulator", "",
             f"- World and run: base scenario {run['scenario']}, climate outlook {outlook}, {run['n_households']} "
             f"households, {run['years']:g} years, world "
             f"{run['world'] or 'default'}; seeds {ds.attrs['seeds']} per point, averaged",
             f"- Designs: {s['design']} {ds.sizes['sample']} training points, Latin hypercube {ds.sizes['test_sample']}"
             f" held-out points (sample_seed {s['sample_seed']}); {ds.attrs['runs']} runs in {ds.attrs['run_seconds']}"
             f" s; {ds.attrs['elapsed_seconds']} s in all",
             f"- Simulator {ds.attrs['simulator_version']}, scikit-learn {ds.attrs['sklearn_version']}",
             "", "| lever | bounds | units |", "|---|---|---|"]
    for i, name in enumerate(ds["lever"].values):
        lines.append(f"| {name} | [{float(ds['lower'][i]):g}, {float(ds['upper'][i]):g}] | "
                     f"{ds['lever_units'].values[i]} |")
    lines += ["", f"Held-out accuracy: R² of the predicted mean against the seed-averaged simulation, and the share "
              f"of held-out points inside the {level} predictive interval (coverage). The noise ceiling is 1 - the "
              "seed-noise share of the held-out design: no emulator of the seed average can do better on average.",
              "", "| outcome | units | kept | " + " | ".join(f"R² {k} | coverage {k}" for k in kinds)
              + " | noise ceiling | fit s (kept) |", "|---" * (5 + 2 * len(kinds)) + "|"]
    for output in ds["output"].values:
        o = ds.sel(output=output)
        kind = str(o["chosen"].values)
        cells = [f"{number_text(float(o['r2'].sel(emulator=k)))} | {100 * float(o['coverage'].sel(emulator=k)):.0f}%"
                 for k in kinds]
        ceiling = 1 - float(o["noise_share"].sel(design="held-out"))
        lines.append(f"| {o['output_label'].values} | {o['output_units'].values} | {kind} | " + " | ".join(cells)
                     + f" | {number_text(ceiling)} | {float(o['fit_seconds'].sel(emulator=kind)):.2f} |")
    lines += ["", "The emulator kept for each outcome is the candidate with the higher held-out R². Load it with "
              "`simulator.experiments.emulate.load_emulator('<this folder>/emulator.joblib')` (docs/emulator.md)."]
    return "\n".join(lines) + "\n"


def write_emulate(ds: xr.Dataset, emulator: Emulator, folder: str | Path) -> Path:
    """Write emulator.nc, emulator.joblib, the figures and emulate.md into `folder`; return the path of
    emulator.nc."""
    from simulator.model.outputs import write_netcdf
    folder = Path(folder)
    path = write_netcdf(ds, folder / "emulator.nc")
    emulator.save(folder / "emulator.joblib")
    figures(ds, folder)
    fd, tmp = tempfile.mkstemp(prefix=".emulate.md.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(summary(ds))
    os.replace(tmp, folder / "emulate.md")
    return path
