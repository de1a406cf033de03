"""What-if in the trainer dashboard: an emulator's prediction of the run's outcomes for the sliders as they stand,
before any run, and the run's own value beside it once the run reaches the emulator's horizon.

An emulator (simulator/experiments/emulate.py, docs/emulator.md) predicts, for values of its levers, the mean over its
seeds of whole-run outcomes, with a predictive interval, for the world, number of households, years, outlooks and
model parameters it was fitted on. The dashboard may use it only where its sliders mean what the emulator's levers
mean, so a prediction is given only when:

- the world, the calendar start, the model parameters (other than those among the levers) and the base scenario's
  recorded shocks are the dashboard's, and the climate and labour outlooks are those the sliders set (an emulator is
  fitted under one of each);
- every lever has its value from the dashboard: a slider with the same meaning and units (`SLIDER_LEVERS`), the
  dashboard model's parameter for a model-parameter lever, or the value at which an intervention the dashboard never
  switches on is absent (`OFF_VALUES`); each value inside the lever's design bounds (an emulator does not extrapolate);
- the interventions the sliders switch on are those of the emulator's design point, with the same settings (the same
  targeted districts, costs, start year), apart from the emulator's interventions at their "absent" value; a slider
  moved from today's value whose intervention the emulator does not cover ("not emulated") withholds the prediction.

Otherwise the panel says in one line why there is no prediction (`Forecast.message`); never an extrapolated number.

Units. The emulator predicts totals over its run (e.g. 5,000 households over 20 years); the dashboard runs another
number of households. Totals (departures, deaths, trapped household-months, money) are shown per 1,000 households a
year over the first `years` of the run, mean levels (the visa queue) per 1,000 households, shares and consumption as
they are (`SCALES`). The world's quotas and capacities are scaled to the simulated population
(simulator/model/channels.py `SCALED`) and the interventions' places are per 1,000 households, so rates per household
should not depend on the number of households simulated. Measured with the model before its expectations became
scale-free (a household then counted itself as one simulated household in a visa queue; docs/performance.md, "A whole
country"), with DashboardModel ("double the quota" and "adaptation first" from the first month, 3 years, 6 seeds each,
at 300, 1,000, 3,000, 10,000 and 20,000 households): from 1,000 households up, every outcome per 1,000 households a year
agreed across sizes within about two standard errors of its seed mean, except the visa queue, which rose with the size
(per 1,000 households: 124-134 at 1,000, 161 at 3,000, 191-192 at 10,000, 203 at 20,000); at 300 households irregular
departures per household were 2.5 times those at 1,000 and more. So the panel rescales between sizes only from
`MIN_RESCALE_HOUSEHOLDS` up. With the scale-free model the queue per household no longer grows with the size
(`obj5_more_places`, default world, 3 seeds, 3 years: 233, 230 and 229 applications per 1,000 households at 1,000,
3,000 and 20,000 households; docs/emulator.md, "In the dashboard"), so it is rescaled like the others; an outcome
marked as depending on the size (`Scale.size_free` false; none at present) would be shown only when the dashboard runs
the emulator's number of households. The run is compared over the same first years: at month 12 x `years`, when it
gets there.

Example:
    >>> round(rescale("irregular", 100.0, n_households=5000, years=20), 3)   # 100 departures over a run
    1.0
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import ConfigError, InputError
from simulator.experiments.emulate import EMULATE_OUTPUTS, Emulator, base_definition, load_emulator, point_scenario
from simulator.experiments.sensitivity import number_text, outcomes_of
from simulator.model.climate import ClimateOutlook
from simulator.model.labour import LabourOutlook
from simulator.params import ModelParams, iter_params
from simulator.policy.interventions import EXPOSED, build_interventions, exposed_origins
from simulator.policy.scenarios import load_scenario
from simulator.world.tables import default_world_path, world_folder

EMULATOR_ENV = "DASHBOARD_EMULATOR"   # environment variable: path of the emulator.joblib the dashboard uses
ROOT = Path(__file__).resolve().parents[2]   # the repository
DEFAULT_EMULATOR = ROOT / "outputs" / "emulate" / "dashboard" / "emulator.joblib"   # where the documented command
                                                                                   # (docs/emulator.md) writes it
FIT_HINT = "docs/emulator.md, \"In the dashboard\""

# Dashboard slider -> emulator lever with the same meaning in the same units (tests/test_dashboard.py checks that the
# slider sets that very setting of that intervention). Enforcement has none: its one level moves five settings.
SLIDER_LEVERS = {
    "quota_factor": "interventions.quota_expansion.factor",                                 # x today's quota
    "processing_factor": "interventions.faster_processing.factor",                          # x today's capacity
    "fee_subsidy": "interventions.fee_subsidy.share",                                       # share of the fee
    "adaptation_coverage": "interventions.adaptation.coverage",                             # share covered
    "cash_transfer_usd": "interventions.social_protection.transfer_usd",                    # USD/household/month
    "seasonal_places": "interventions.seasonal_scheme.places_per_1000_per_year",            # per 1,000 a year
    "humanitarian_places": "interventions.humanitarian_visas.places_per_1000_per_year",     # per 1,000 a year
}
SLIDER_INTERVENTIONS = {"enforcement": "enforcement", **{s: lv.split(".")[1] for s, lv in SLIDER_LEVERS.items()}}
CONDITIONS = ("climate_severity", "labour_demand", "policy_start_year")   # sliders an emulator fixes, not levers

# Emulator lever -> the value at which its intervention changes nothing (today's policy): what the dashboard runs
# when the intervention is off. By definition of each setting (simulator/policy/interventions.py): no one covered,
# no transfer, no subsidy, no places added, quotas and capacities times 1; the sliders' defaults are these values, and
# tests/test_dashboard.py checks that each leaves the flows as they are, at no cost.
OFF_VALUES = {
    "interventions.quota_expansion.factor": 1.0,
    "interventions.faster_processing.factor": 1.0,
    "interventions.fee_subsidy.share": 0.0,
    "interventions.adaptation.coverage": 0.0,
    "interventions.social_protection.transfer_usd": 0.0,
    "interventions.seasonal_scheme.places_per_1000_per_year": 0.0,
    "interventions.humanitarian_visas.places_per_1000_per_year": 0.0,
    "interventions.early_warning.coverage": 0.0,
    "interventions.local_jobs.coverage": 0.0,
    "interventions.information_campaign.reach": 0.0,
}


@dataclass(frozen=True)
class Scale:
    """How an outcome of a whole run is shown: `total` over the run (per 1,000 households a year), `mean` level over
    the months (per 1,000 households) or `level` as it is; `factor` converts its units to those of `units`;
    `size_free`: whether it may be compared between runs of different numbers of households (module docstring)."""

    kind: str
    units: str
    factor: float = 1.0
    size_free: bool = True   # the same per household at any number of households from MIN_RESCALE_HOUSEHOLDS up


MIN_RESCALE_HOUSEHOLDS = 1000   # fewest households a prediction is rescaled from or to (measured: module docstring)
SCALES = {
    "irregular": Scale("total", "per 1,000 households a year"),
    "regular": Scale("total", "per 1,000 households a year"),
    "internal": Scale("total", "per 1,000 households a year"),
    "deaths": Scale("total", "per 1,000 households a year"),
    "expected_deaths": Scale("total", "per 1,000 households a year"),
    "trapped": Scale("total", "household-months per 1,000 households a year"),
    "remittances": Scale("total", "thousand USD per 1,000 households a year", 1000.0),   # from million USD
    "cost": Scale("total", "thousand USD per 1,000 households a year", 1000.0),          # from million USD
    "visa_wait_queue": Scale("mean", "applications per 1,000 households"),   # size-free since the model is: above
    "irregular_share": Scale("level", "%"),
    "regular_share": Scale("level", "%"),
    "consumption": Scale("level", "USD a month per person"),
    "poorest_consumption": Scale("level", "USD a month per person"),
}


def rescale(output: str, value: float | np.ndarray, n_households: int, years: float) -> float | np.ndarray:
    """An outcome of a run of `n_households` over `years` (units of EMULATE_OUTPUTS) in the panel's units
    (`SCALES`)."""
    scale = SCALES[output]
    if scale.kind == "total":
        return value * scale.factor * 1000.0 / n_households / years
    if scale.kind == "mean":
        return value * scale.factor * 1000.0 / n_households
    return value * scale.factor


# --- the emulator file ----------------------------------------------------------------------------------------------

@dataclass
class EmulatorFile:
    """An emulator as the dashboard found it: the path and how it was given, the emulator with its base scenario and
    outlooks read once, or `error`: one line saying why there is none. `forecasts` keeps the predictions made (the
    page is redrawn after every step, the sliders change less often)."""

    path: Path | None
    given: str
    emulator: Emulator | None = None
    scenario: Any = None
    base_def: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    forecasts: dict[Any, Any] = field(default_factory=dict, repr=False)   # a cache, by the sliders' settings


def emulator_path(environ: Mapping[str, str] | None = None) -> tuple[Path | None, str]:
    """The emulator file the dashboard uses and how it was given: `DASHBOARD_EMULATOR` if set, else
    `DEFAULT_EMULATOR` if it exists, else none."""
    value = (os.environ if environ is None else environ).get(EMULATOR_ENV, "").strip()
    if value:
        return Path(value).expanduser(), EMULATOR_ENV
    if DEFAULT_EMULATOR.is_file():
        return DEFAULT_EMULATOR, "the default location"
    return None, ""


def open_emulator(path: str | Path | None = None, given: str = "") -> EmulatorFile:
    """The emulator at `path` (default: `emulator_path()`), read once per version of the file; a missing or
    unreadable file, or one without its run settings, gives an EmulatorFile whose `error` says so."""
    if path is None:
        path, given = emulator_path()
    if path is None:
        return EmulatorFile(None, "", error=f"no emulator given (start the dashboard with {EMULATOR_ENV}=<path of an "
                                            f"emulator.joblib>, or fit one into {_short(DEFAULT_EMULATOR.parent)}/: "
                                            f"{FIT_HINT})")
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return EmulatorFile(path, given, error=f"the emulator file {path} ({given or 'given'}) does not exist")
    return _open(str(path), given, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _open(path: str, given: str, mtime_ns: int, size: int) -> EmulatorFile:
    try:
        em = load_emulator(path)
    except InputError as exc:
        return EmulatorFile(Path(path), given, error=str(exc))
    if not isinstance(em, Emulator) or em.base is None:
        return EmulatorFile(Path(path), given, error=f"the emulator file {path} keeps no run settings (world, "
                                                     "households, years): fit it with python run.py experiment=emulate")
    try:
        base_def = base_definition(em.base)
        scenario = load_scenario(em.base.scenario or "baseline", climate_outlook=em.base.climate_outlook,
                                 labour_outlook=em.base.labour_outlook)
    except (ConfigError, InputError) as exc:
        return EmulatorFile(Path(path), given, error=f"the base scenario of the emulator file {path} cannot be read "
                                                     f"here ({exc})")
    return EmulatorFile(Path(path), given, em, scenario, base_def)


def _short(path: Path) -> str:
    """`path` relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# --- the sliders against the emulator -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sliders:
    """What the dashboard's sliders set, in the terms an emulator is checked against.

    Attributes:
        values: every slider's value in force (name -> value; a preset's levers resolved).
        labels: slider name -> its label, for the policy, outlook and policy-start sliders.
        today: slider name -> its value today (its default: policy off).
        interventions: what the sliders switch on (registered name -> settings; dashboard.py `intervention_spec`).
        world, world_folder, world_label: the world the sliders choose.
        climate, labour: the outlooks the sliders set.
        params: the dashboard model's parameters; start_year: its calendar start.
    """

    values: dict[str, Any]
    labels: dict[str, str]
    today: dict[str, Any]
    interventions: dict[str, dict[str, Any]]
    world: Any
    world_folder: Path
    world_label: str
    climate: ClimateOutlook
    labour: LabourOutlook
    params: ModelParams
    start_year: int


@dataclass
class Forecast:
    """The emulator's prediction for the sliders, in the panel's units (`SCALES`), or `message`: why there is none.

    `values` are the emulator's lever values the sliders give (lever name -> value), `mean`, `lower` and `upper`
    (one per output of the emulator) its prediction and interval rescaled; `emulated`, `held` and `not_emulated`
    describe the sliders' coverage for the panel; `withheld` the outcomes not shown, with the reason."""

    file: EmulatorFile
    message: str = ""
    values: dict[str, float] = field(default_factory=dict)
    mean: np.ndarray = field(default_factory=lambda: np.empty(0))
    lower: np.ndarray = field(default_factory=lambda: np.empty(0))
    upper: np.ndarray = field(default_factory=lambda: np.empty(0))
    emulated: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    not_emulated: list[str] = field(default_factory=list)
    withheld: dict[str, str] = field(default_factory=dict)   # output -> why it is not shown (NaN in mean etc.)

    @property
    def emulator(self) -> Emulator | None:
        return self.file.emulator

    @property
    def horizon(self) -> int:
        """Months of the emulator's runs: the run is compared over its first `horizon` months."""
        return max(1, int(round(self.emulator.base.years * 12)))


def param_value(params: Any, name: str) -> float:
    """The value of model parameter `name` ('model.<group>.<key>') in `params`."""
    obj = params
    for part in name.split(".")[1:]:
        obj = getattr(obj, part)
    return float(obj)


def _close(a: Any, b: Any) -> bool:
    """Outlooks compared field by field (the dashboard interpolates them, so to rounding)."""
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
               for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b)))


def _label(sliders: Sliders, name: str) -> str:
    return sliders.labels.get(name, name)


def run_conditions(file: EmulatorFile, sliders: Sliders) -> list[str]:
    """Why the emulator's runs are not the dashboard's, apart from the levers: world, calendar, outlooks, recorded
    shocks, model parameters. Empty when they are the same."""
    em, base, why = file.emulator, file.emulator.base, []
    try:
        folder = world_folder(base.world) if base.world else default_world_path()
    except (ConfigError, InputError):
        folder = Path(str(base.world))
    if folder.resolve() != Path(sliders.world_folder).resolve():
        why.append(f"the emulator was fitted on the world {base.world or 'default'} ({_short(folder)}), the "
                   f"dashboard runs the {sliders.world_label} world")
    if int(base.start_year) != int(sliders.start_year):
        why.append(f"the emulator's runs start in {base.start_year}, the dashboard's in {sliders.start_year}")
    if file.scenario.recorded_shocks:
        why.append(f"the emulator's base scenario ({base.scenario}) has recorded shocks, the dashboard has none")
    if not _close(file.scenario.climate_outlook, sliders.climate):
        why.append(f"the emulator was fitted under the {file.scenario.climate_outlook_name} climate outlook; "
                   f"{_label(sliders, 'climate_severity')} {sliders.values['climate_severity']:g} sets another")
    if not _close(file.scenario.labour_outlook, sliders.labour):
        why.append(f"the emulator was fitted under the {file.scenario.labour_outlook_name} labour outlook; "
                   f"{_label(sliders, 'labour_demand')} {sliders.values['labour_demand']:g} sets another")
    levers = set(em.lever_names)
    mine = {f"model.{n}": v for n, v, _ in iter_params(sliders.params)}
    theirs = {f"model.{n}": v for n, v, _ in iter_params(base.model)}
    other = [n for n in mine if n not in levers and mine[n] != theirs.get(n)]
    if other:
        why.append(f"the emulator was fitted with other model parameters ({', '.join(other[:3])}"
                   f"{', ...' if len(other) > 3 else ''}) than the dashboard's")
    return why


def lever_values(file: EmulatorFile, sliders: Sliders) -> tuple[dict[str, float], list[str], list[str], list[str]]:
    """The emulator's lever values the sliders give, with the reasons there is no prediction (a lever without a
    value, or a value outside the design bounds), the emulated sliders and the levers held at the dashboard's value
    (as text for the panel)."""
    em = file.emulator
    by_lever = {lever: slider for slider, lever in SLIDER_LEVERS.items()}
    values, why, emulated, held = {}, [], [], []
    for lv in em.levers:
        span = f"{lv.lower:g} to {lv.upper:g}"
        if lv.name in by_lever:
            slider = by_lever[lv.name]
            value, what = float(sliders.values[slider]), f"{_label(sliders, slider)} {sliders.values[slider]:g}"
            emulated.append(f"{_label(sliders, slider)} ({span})")
        elif lv.name.startswith("model."):
            value = param_value(sliders.params, lv.name)
            what = f"the dashboard model's {lv.name} = {value:g}"
            held.append(f"{lv.name} {value:g}")
        elif lv.name in OFF_VALUES:
            value = OFF_VALUES[lv.name]
            what = f"{lv.name.split('.')[1].replace('_', ' ')} off ({lv.name} = {value:g})"
            held.append(f"{lv.name.split('.')[1].replace('_', ' ')} off")
        else:
            why.append(f"the emulator's lever {lv.name} is not on the dashboard")
            continue
        tolerance = 1e-9 * (lv.upper - lv.lower)
        if not lv.lower - tolerance <= value <= lv.upper + tolerance:
            why.append(f"{what} is outside the emulator's range {span} ({lv.units}): it does not extrapolate")
        values[lv.name] = value
    return values, why, emulated, held


def _settings(iv: Any, world: Any) -> dict[str, Any]:
    """An intervention's settings, `regions: exposed` spelt out as the districts it means on `world`."""
    found = dataclasses.asdict(iv)
    if found.get("regions") == EXPOSED:
        found["regions"] = exposed_origins(world)
    return found


def intervention_differences(file: EmulatorFile, sliders: Sliders, values: Mapping[str, float]) -> list[str]:
    """Why the interventions of the emulator's design point at `values` are not those the sliders switch on: a
    slider whose intervention is not emulated, an intervention of the emulator the dashboard does not run, or one
    with other settings (a start year, the districts, a cost)."""
    em = file.emulator
    row = [values[n] for n in em.lever_names]
    theirs = {iv.name: iv for iv in build_interventions(
        point_scenario(file.base_def, em.levers, row, em.fixed, em.start_year)["interventions"])}
    mine = {iv.name: iv for iv in build_interventions(sliders.interventions)}
    slider_of = {iv: s for s, iv in SLIDER_INTERVENTIONS.items()}
    why = []
    for name, iv in mine.items():
        slider = slider_of.get(name)
        label = f"{_label(sliders, slider)} {sliders.values[slider]:g}" if slider else name.replace("_", " ")
        if name not in theirs:
            today = f"{sliders.today[slider]:g}, today's value," if slider in sliders.today else "today's value"
            why.append(f"{label} is not emulated (set it to {today} for a prediction)")
            continue
        a, b = _settings(theirs[name], sliders.world), _settings(iv, sliders.world)
        if a["start_year"] != b["start_year"]:
            why.append(f"the emulator's policies start in year {a['start_year']:g}; "
                       f"{_label(sliders, 'policy_start_year')} is {b['start_year']:g}")
            continue
        other = [k for k in a if k != "start_year" and a[k] != b.get(k)]
        if other:
            why.append(f"{label}: the emulator's {name.replace('_', ' ')} has other settings ("
                       + ", ".join(f"{k} {a[k]} against {b.get(k)}" for k in other[:2]) + ")")
    for name in theirs:
        off = [lv for lv in em.lever_names if lv.split(".")[1:2] == [name] and OFF_VALUES.get(lv) == values[lv]]
        if name not in mine and not off:
            why.append(f"the emulator's runs include {name.replace('_', ' ')}, which the dashboard does not run")
    return list(dict.fromkeys(why))


def not_emulated(file: EmulatorFile, sliders: Sliders) -> list[str]:
    """The policy sliders the emulator does not cover, by label."""
    levers = set(file.emulator.lever_names)
    return [_label(sliders, s) for s in sliders.labels
            if s not in CONDITIONS and SLIDER_LEVERS.get(s) not in levers]


def forecast(file: EmulatorFile, sliders: Sliders) -> Forecast:
    """The emulator's prediction and interval for the sliders in the panel's units, or the reasons there is none.

    The numbers are `Emulator.predict` (mean) and `Emulator.predict_interval` at the lever values the sliders give,
    rescaled by `rescale` with the emulator's households and years."""
    if file.emulator is None:
        return Forecast(file, message=f"No prediction: {file.error}.")
    em = file.emulator
    values, out_of_range, emulated, held = lever_values(file, sliders)
    result = Forecast(file, values=values, emulated=emulated, held=held, not_emulated=not_emulated(file, sliders))
    why = run_conditions(file, sliders) + out_of_range
    if len(values) == len(em.levers):
        why += intervention_differences(file, sliders, values)
    unknown = [o for o in em.outputs if o not in SCALES]
    if unknown:
        why.append(f"the emulator's outcomes {unknown} have no unit on the dashboard")
    fitted, runs = int(em.base.n_households), int(sliders.values["n_households"])
    if fitted != runs and min(fitted, runs) < MIN_RESCALE_HOUSEHOLDS:
        why.append(f"the emulator was fitted at {fitted:,} households and the dashboard runs {runs:,}: below "
                   f"{MIN_RESCALE_HOUSEHOLDS:,} households the rates per household depend on the number simulated, "
                   "so the prediction cannot be rescaled (fit it at the dashboard's number)")
    if why:
        result.message = "No prediction: " + "; ".join(why) + "."
        return result
    row = [[values[n] for n in em.lever_names]]
    mean, _ = em.predict(row)
    lower, upper = em.predict_interval(row)
    n, years = em.base.n_households, em.base.years
    result.withheld = {o: f"per household it depends on the number of households simulated: shown when the "
                          f"dashboard runs the emulator's {fitted:,}" for o in em.outputs
                       if fitted != runs and not SCALES[o].size_free}
    result.mean, result.lower, result.upper = (np.array([math.nan if o in result.withheld else
                                                         rescale(o, float(x[0, k]), n, years)
                                                         for k, o in enumerate(em.outputs)])
                                               for x in (mean, lower, upper))
    return result


# --- the run against the prediction ---------------------------------------------------------------------------------

def model_outcomes(model: Any, months: int) -> dict[str, float]:
    """The whole-run outcomes of a live model over its first `months`, as emulate.py `run_outcomes` reads them from
    a run's file (sensitivity.py `outcomes_of`), and `regular_share` as sensitivity.py `sample_outputs` makes it of
    one run: NaN without international departures."""
    found = outcomes_of(model.dataset().isel(time=slice(0, months)))
    international = found["regular"] + found["irregular"]
    found["regular_share"] = 100.0 * found["regular"] / international if international > 0 else math.nan
    return found


@dataclass
class Check:
    """The run beside the prediction: `simulated` (one per output, the panel's units) once the run has reached the
    emulator's horizon with the sliders' settings, or `note`: why not yet or not at all."""

    simulated: np.ndarray | None = None
    note: str = ""


_at_horizon: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # model -> (months, outcomes)


def check_run(result: Forecast, model: Any, same_settings: bool) -> Check:
    """The run's outcomes over the emulator's horizon, in the panel's units, when the run is of the sliders'
    settings (`same_settings`) and has got there."""
    if result.message:
        return Check()
    months = result.horizon
    if not same_settings:
        return Check(note="The run shown has other settings than the sliders: press Reset to run them and check "
                          "the prediction.")
    if model.n_steps < months:
        return Check(note=f"This run ends at month {model.n_steps}, before the emulator's horizon (month {months}): "
                          f"set Years to {months / 12:g} or more to check the prediction.")
    if model.t < months:
        return Check(note=f"The run is checked against the prediction at month {months}; now at month {model.t}.")
    cached = _at_horizon.get(model)
    if cached is None or cached[0] != months:
        cached = (months, model_outcomes(model, months))
        _at_horizon[model] = cached
    em = result.emulator
    return Check(simulated=np.array([math.nan if o in result.withheld else
                                     rescale(o, cached[1][o], model.households.n, months / 12.0)
                                     for o in em.outputs]))


# --- the panel ------------------------------------------------------------------------------------------------------

def _number(x: float) -> str:
    return number_text(float(x))


def panel_html(result: Forecast, check: Check) -> str:
    """The what-if panel as HTML: the prediction and interval of each outcome, the run's value beside it once
    checked, what the numbers are and which sliders the emulator covers."""
    e = html.escape
    file = result.file
    if result.emulator is None:
        return f"<p class='whatif-message'>{e(result.message)}</p>"
    em = result.emulator
    base = em.base
    seeds = seeds_text(em)
    level = f"{100 * em.interval:g}%"
    years = base.years
    source = f"{e(_short(file.path))}" + (f" ({e(file.given)})" if file.given else "")
    parts = [f"<p><b>Emulator's prediction</b> for the sliders, before any run: {source}, fitted on "
             f"{e(str(base.world or 'the default'))} world, {base.n_households:,} households, {years:g} years, "
             f"mean of {seeds} per point.</p>"]
    coverage = []
    if result.emulated:
        coverage.append("emulated: " + ", ".join(result.emulated))
    if result.held:
        coverage.append("held at the dashboard's value: " + ", ".join(result.held))
    if result.not_emulated:
        coverage.append("not emulated: " + ", ".join(result.not_emulated))
    if result.message:
        parts.append(f"<p class='whatif-message'>{e(result.message)}</p>")
    else:
        simulated = check.simulated
        head = "".join(f"<th>{h}</th>" for h in ("predicted", f"{level} interval", "held-out R²")) + (
            "<th>this run</th><th></th>" if simulated is not None else "")
        parts += ["<table class='whatif-table'>", f"<tr><th style='text-align:left'>outcome ({e(_units_note(years))})"
                                                  f"</th>{head}</tr>"]
        r2 = em.info.get("r2", {})
        columns = 5 if simulated is not None else 3
        for k, output in enumerate(em.outputs):
            name = (f"<td class='whatif-outcome'>{e(EMULATE_OUTPUTS[output].label)} <span class='whatif-units'>"
                    f"({e(SCALES[output].units)})</span></td>")
            if output in result.withheld:
                parts.append(f"<tr class='whatif-row whatif-{output}'>{name}<td class='whatif-withheld' "
                             f"colspan='{columns}'>not shown: {e(result.withheld[output])}</td></tr>")
                continue
            cells = [_number(result.mean[k]), f"{_number(result.lower[k])} to {_number(result.upper[k])}",
                     _number(r2[output]) if output in r2 else "n/a"]
            if simulated is not None:
                inside = result.lower[k] <= simulated[k] <= result.upper[k]
                verdict = "inside" if inside else "n/a" if np.isnan(simulated[k]) else "<b>outside</b>"
                cells += [_number(simulated[k]), verdict]
            row = "".join(f"<td class='whatif-{c}'>{v if c == 'verdict' else e(v)}</td>" for c, v in
                          zip(("mean", "interval", "r2", "simulated", "verdict"), cells))
            parts.append(f"<tr class='whatif-row whatif-{output}'>{name}{row}</tr>")
        parts.append("</table>")
        if simulated is not None:
            shown = ~np.isnan(simulated) & ~np.isnan(result.mean)
            inside = int(np.sum(shown & (result.lower <= simulated) & (simulated <= result.upper)))
            parts.append(f"<p class='whatif-checked'>This run over its first {years:g} years: {inside} of "
                         f"{int(shown.sum())} outcomes inside the {level} interval.</p>")
        elif check.note:
            parts.append(f"<p class='whatif-pending'>{e(check.note)}</p>")
        parts.append(f"<p class='whatif-note'>The emulator predicts the mean of {seeds} at these settings, with a "
                     f"{level} interval for that mean (held-out R²: its accuracy on points it was not fitted on). "
                     f"This run is one seed: it strays further from that mean than a mean of seeds does, so "
                     f"\"outside\" often means this seed rather than a wrong emulator; the Seed slider gives another "
                     f"run to compare.</p>")
    if coverage:
        text = "; ".join(coverage)
        parts.append(f"<p class='whatif-levers'>{e(text[0].upper() + text[1:])}.</p>")
    return "\n".join(parts)


def _units_note(years: float) -> str:
    return f"totals per 1,000 households a year over the first {years:g} years"


def seeds_text(em: Emulator) -> str:
    """The emulator's seeds per point, as text ('2 seeds')."""
    seeds = [s for s in str(em.info.get("seeds", "")).split(",") if s.strip()]
    return f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}" if seeds else "its seeds"
