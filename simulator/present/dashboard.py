"""Trainer dashboard: the model in the browser, with policy levers as sliders and a baseline twin alongside.

Start it from the repository root (it needs the `dashboard` extra: `pip install -e ".[dashboard]"`), then open
http://127.0.0.1:8765 in a browser on the same machine. It needs no internet connection:

    export SOLARA_TELEMETRY_MIXPANEL_ENABLE=False   # no usage reports
    solara run simulator/present/dashboard.py --host 127.0.0.1 --port 8765 --production --no-check-version

`DashboardModel` is a `MigrationModel` built from plain numbers (what the sliders produce): the climate and labour
outlooks, the policy levers, the number of households, the length of the run and a seed, on one of the shipped
worlds (`WORLDS`: the default world of two cities and three destinations, or the version-1 world of one city and one
destination). It steps a second model, `model.baseline`, in lockstep: the same seed, population and random shocks,
with no new policy (and, if chosen, today's climate and labour demand), so the difference between the two is the
effect of the levers (common random numbers).

The page (`Page`) is built for a room: Mesa's run controls (`ModelController`: Reset, Play, Step) and its redraw
signal, with the dashboard's own sidebar and layout instead of SolaraViz's defaults (no playback settings, page tabs,
step counter or draggable grid). Choosing a preset (see `PRESETS`) moves the sliders: its levers to its values, the
other levers of the outlook and policy to today's (`choose_preset`); the world, the policy start and the run
settings stay. Moving a lever the preset set away from its value turns the preset into "custom" (`move_control`),
so the preset named on the page always describes the sliders. Programmatically, a preset sets the levers left at
their defaults and a lever given another value keeps it (`resolve_levers`). A change of a lever or preset takes
effect when the run is reset (Reset), and Step or Play advance both models a month at a time.

With an emulator of the model's outcomes (simulator/experiments/emulate.py), named by the environment variable
DASHBOARD_EMULATOR or fitted into outputs/emulate/dashboard/ (docs/emulator.md), a what-if panel under the map shows
the emulator's prediction for the sliders as soon as they move, and the run's value beside it once the run reaches
the emulator's horizon (`what_if`, simulator/present/whatif.py); without one, it says in one line why there is none.

Example:
    >>> model = DashboardModel(n_households=300, years=1, quota_factor=2.0, seed=1)
    >>> [iv.name for iv in model.interventions]
    ['quota_expansion']
    >>> model.step(); model.t == model.baseline.t == 1
    True
"""

from __future__ import annotations

import html
import io
import math
import os
import threading
import warnings
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import PIL.Image
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simulator.model.climate import ClimateOutlook
from simulator.errors import ConfigError
from simulator.policy.interventions import build_interventions, exposed_origins
from simulator.model.labour import LabourOutlook
from simulator.model.migration import P_INTERNAL, P_IRREGULAR, P_REGULAR, MigrationModel
from simulator.model.outputs import PATHWAYS
from simulator.present import whatif
from simulator.present.plotting import arc, schematic
from simulator.world.regions import World, one_city_world_path
from simulator.world.tables import Corridors, default_world_path, open_world
from simulator.policy.scenarios import load_outlook

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")   # no usage reports from the server

WORLDS = {"default (2 cities, 3 destinations)": default_world_path,
          "one city (1 city, 1 destination)": one_city_world_path}   # label -> folder of a shipped world
DEFAULT_WORLD = next(iter(WORLDS))
SAME_OUTLOOK = "same climate & labour, no policy"
TODAY = "today's climate & labour, no policy"
BASELINES = (SAME_OUTLOOK, TODAY)
CUSTOM = "custom (sliders only)"


@dataclass(frozen=True)
class Lever:
    """A slider of the dashboard: a short label, default, range and step, what its values mean (`scale`, in the
    summary), its unit (in the slider's label) and one sentence of help shown under the slider."""

    label: str
    default: float
    lo: float
    hi: float
    step: float
    scale: str = ""
    integer: bool = False
    unit: str = ""
    help: str = ""

    @property
    def title(self) -> str:
        """The slider's label: the short label and its unit, e.g. 'Seasonal places (per 1,000 households a year)'."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def slider(self) -> dict[str, Any]:
        """The Mesa (SolaraViz) parameter description of this lever."""
        return {"type": "SliderInt" if self.integer else "SliderFloat", "label": self.title, "value": self.default,
                "min": self.lo, "max": self.hi, "step": self.step}


# The levers, in the order of the sidebar; DashboardModel's keyword arguments have the same names and defaults.
LEVERS: dict[str, Lever] = {
    "climate_severity": Lever(
        "Climate severity", 0.0, -1.0, 2.0, 0.25, "-1 mild, 0 today, 1 severe, 2 extreme", unit="level, 0 = today",
        help="How often and how hard floods, cyclones and droughts strike: -1 milder than today, 1 severe, "
             "2 extreme."),
    "labour_demand": Lever(
        "Labour demand abroad", 0.0, -1.0, 1.0, 0.25, "-1 bust, 0 steady, 1 boom", unit="level, 0 = steady",
        help="Jobs and wages for migrants abroad: -1 a bust, 1 a boom."),
    "quota_factor": Lever(
        "Regular quota", 1.0, 0.0, 4.0, 0.25, "times today's places", unit="× today's work visas a year",
        help="Places a year in the labour schemes: 2 doubles them, 0 closes them; processing grows with them."),
    "processing_factor": Lever(
        "Visa processing", 1.0, 0.5, 4.0, 0.25, "times today's capacity", unit="× today's decisions a month",
        help="Visa applications decided a month, within the quota: 2 decides twice as many."),
    "fee_subsidy": Lever(
        "Visa fee subsidy", 0.0, 0.0, 1.0, 0.1, "share of the fee paid publicly", unit="share of the fee, 0 to 1",
        help="Share of the work-visa fee paid from public funds: 0.5 halves what a migrant pays for the visa."),
    "enforcement": Lever(
        "Enforcement", 0.0, 0.0, 3.0, 0.25, "0 today, 1 reinforced, 3 maximal", unit="level, 0 = today",
        help="More interceptions and deportations, dearer smugglers, riskier journeys; each level costs 2,000 USD "
             "a month per 1,000 households."),
    "adaptation_coverage": Lever(
        "Adaptation", 0.0, 0.0, 1.0, 0.1, "share of households covered in the exposed districts",
        unit="share of households covered, 0 to 1",
        help="Households in the more exposed districts protected from part of their shock losses: 300 USD each up "
             "front, then 15 USD a year."),
    "cash_transfer_usd": Lever(
        "Cash transfers", 0.0, 0.0, 100.0, 5.0, "USD a month to poor households hit by a shock",
        unit="USD a month per household", help="Paid to poor households while their district suffers a shock."),
    "seasonal_places": Lever(
        "Seasonal places", 0.0, 0.0, 20.0, 1.0, "per 1,000 households a year", unit="per 1,000 households a year",
        help="Extra seasonal work visas, open to every skill level, with the return home built in."),
    "humanitarian_places": Lever(
        "Humanitarian visas", 0.0, 0.0, 10.0, 0.5, "per 1,000 households a year", unit="per 1,000 households a year",
        help="Visas for households hit hard by a disaster who want to leave."),
    "policy_start_year": Lever(
        "Policy starts", 1, 0, 10, 1, "years after the start", integer=True, unit="years after the start of the run",
        help="Every policy lever above takes effect then; 0: from the first month."),
    "n_households": Lever(
        "Households", 3000, 1000, 20000, 1000, integer=True, unit="number simulated",
        help="More households: smoother lines, slower steps."),
    "years": Lever("Years", 10, 1, 30, 1, integer=True, unit="length of the run",
                   help="Each click of Step is one month."),
    "seed": Lever(
        "Seed", 42, 0, 999, 1, "same seed: same shocks and draws", integer=True, unit="number of the random draws",
        help="The same seed repeats the same shocks and chances; another seed gives another, equally likely run."),
}
RUN_SETTINGS = ("n_households", "years", "seed")   # not policy: any value MigrationModel accepts, from Python


@dataclass(frozen=True)
class Preset:
    """A training exercise: lever values and the one-line trade-off it shows, on either of the dashboard's worlds
    (`WORLDS`; checked by tests/test_dashboard.py, paired over seeds at the dashboard's default size)."""

    explanation: str
    levers: dict[str, Any]


PRESETS: dict[str, Preset] = {
    CUSTOM: Preset("The levers as set on the sliders, against the baseline.", {}),
    "drought year": Preset(
        "A severe climate against today's: shocks push many more households to the city, and remittances rise with "
        "the members working away; departures abroad rise far less, since shocks also eat the savings a journey "
        "abroad needs.",
        {"climate_severity": 2.0, "baseline": TODAY}),
    "double the quota": Preset(
        "Twice the regular places: regular departures and remittances rise, at a public cost per extra visa; "
        "irregular departures fall, by fewer than the extra regular departures (a part of them replaces irregular "
        "journeys), and more poor households want a visa they cannot afford.",
        {"quota_factor": 2.0}),
    "adaptation first": Preset(
        "Adaptation and shock-responsive cash in the exposed districts: fewer distress moves to the city, for a large "
        "cost up front.",
        {"adaptation_coverage": 0.6, "cash_transfer_usd": 40.0}),
    "enforcement only": Preset(
        "Enforcement alone: each irregular journey is dearer and deadlier and more are intercepted, but departures "
        "fall little, or not at all where no other way abroad is open (the deported and intercepted try again); it "
        "opens no regular route, and it costs the same every month whether or not anyone moves.",
        {"enforcement": 1.0}),
    "open pathways": Preset(
        "Seasonal places for every skill level, half the visa fee and humanitarian visas after disasters: regular "
        "departures rise and some irregular ones give way, but cheaper visas draw more applicants than places, so "
        "the queue lengthens.",
        {"seasonal_places": 4.0, "fee_subsidy": 0.5, "humanitarian_places": 2.0}),
}


def _interpolate(low: Any, mid: Any, high: Any, level: float) -> dict[str, float]:
    """Outlook fields at `level`: `mid` at 0, `low` at -1, `high` at 1, linear in between and beyond 1."""
    anchor = high if level >= 0 else low
    weight = abs(level)
    return {k: float(v + weight * (getattr(anchor, k) - v)) for k, v in vars(mid).items()}


def climate_outlook(severity: float) -> ClimateOutlook:
    """The ClimateOutlook of a severity level: 0 current, 1 severe, -1 mild (scenarios/outlooks/climate); linear in
    between and beyond 1 (2 is twice the severe outlook's change from today)."""
    return ClimateOutlook(**_interpolate(load_outlook("climate", "mild"), load_outlook("climate", "current"),
                                         load_outlook("climate", "severe"), severity))


def labour_outlook(demand: float) -> LabourOutlook:
    """The LabourOutlook of a demand level: 0 steady, 1 boom, -1 bust (scenarios/outlooks/labour), linear between."""
    return LabourOutlook(**_interpolate(load_outlook("labour", "bust"), load_outlook("labour", "steady"),
                                        load_outlook("labour", "boom"), demand))


def intervention_spec(levers: dict[str, Any], world: World | Corridors) -> dict[str, dict[str, Any]]:
    """The interventions (registered names and parameters) that the policy levers switch on."""
    start = {"start_year": float(levers["policy_start_year"])}
    spec: dict[str, dict[str, Any]] = {}
    if levers["quota_factor"] != 1:
        spec["quota_expansion"] = {**start, "factor": float(levers["quota_factor"])}
    if levers["processing_factor"] != 1:
        spec["faster_processing"] = {**start, "factor": float(levers["processing_factor"])}
    if levers["fee_subsidy"] > 0:
        spec["fee_subsidy"] = {**start, "share": float(levers["fee_subsidy"])}
    level = float(levers["enforcement"])
    if level > 0:   # level 1 is the `enforcement` intervention's defaults (scenarios/enforcement_only.yaml)
        spec["enforcement"] = {**start, "interception_factor": 1 + 0.5 * level, "fee_factor": 1 + 0.2 * level,
                               "risk_factor": 1 + 0.3 * level, "deportation_factor": 1 + 1.0 * level,
                               "cost_per_1000_usd_month": 2000.0 * level}
    if levers["adaptation_coverage"] > 0:
        spec["adaptation"] = {**start, "coverage": float(levers["adaptation_coverage"]),
                              "regions": exposed_origins(world)}
    if levers["cash_transfer_usd"] > 0:
        spec["social_protection"] = {**start, "transfer_usd": float(levers["cash_transfer_usd"])}
    if levers["seasonal_places"] > 0:
        spec["seasonal_scheme"] = {**start, "places_per_1000_per_year": float(levers["seasonal_places"])}
    if levers["humanitarian_places"] > 0:
        spec["humanitarian_visas"] = {**start, "places_per_1000_per_year": float(levers["humanitarian_places"])}
    return spec


def resolve_levers(preset: str, given: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The levers in force: the preset's value for each lever left at its default, the given value otherwise.

    Returns the values (with `baseline`) and the names of the preset's levers at the preset's value (left at the
    default, or given that value, as the dashboard's sliders give it after the preset is chosen).
    """
    if preset not in PRESETS:
        raise ConfigError("preset", preset, f"one of {list(PRESETS)}")
    values = dict(given)
    for name, value in PRESETS[preset].levers.items():
        default = BASELINES[0] if name == "baseline" else LEVERS[name].default
        if given[name] == default:
            values[name] = value
    return values, {name for name, value in PRESETS[preset].levers.items() if values[name] == value}


@lru_cache(maxsize=len(WORLDS))
def _world(label: str) -> World | Corridors:
    if label not in WORLDS:
        raise ConfigError("world", label, f"one of {list(WORLDS)}")
    return open_world(WORLDS[label]())


class DashboardModel(MigrationModel):
    """A MigrationModel made from slider values, stepping a baseline twin (`self.baseline`) in lockstep.

    Args:
        preset: a name of `PRESETS`; it sets the levers left at their defaults.
        world: a label of `WORLDS`: the shipped world to run.
        baseline: what the twin keeps: `SAME_OUTLOOK` (this model's climate and labour outlooks, no new policy:
            the difference is the policy's) or `TODAY` (current climate, steady labour, no new policy: the
            difference is the outlook's and the policy's).
        climate_severity: -1 mild, 0 current, 1 severe (scenarios/outlooks/climate), linear between, up to 2.
        labour_demand: -1 bust, 0 steady, 1 boom (scenarios/outlooks/labour), linear between.
        quota_factor: regular quota times this (`quota_expansion`, processing capacity scaled with it).
        processing_factor: processing capacity times this (`faster_processing`).
        fee_subsidy: share of the regular fee paid publicly (`fee_subsidy`).
        enforcement: 0 none; 1 the `enforcement` intervention's defaults; each factor's change and the cost scale
            with the level.
        adaptation_coverage: share of households covered by `adaptation` in the more exposed half of the districts.
        cash_transfer_usd: USD a month to poor households in districts hit by a shock (`social_protection`).
        seasonal_places: seasonal places per 1,000 households a year (`seasonal_scheme`).
        humanitarian_places: humanitarian visas per 1,000 households a year (`humanitarian_visas`).
        policy_start_year: years after the start of the run at which every lever takes effect.
        n_households, years, seed: as in MigrationModel (`seed` is its `rng`).
    """

    def __init__(self, preset: str = CUSTOM, world: str = DEFAULT_WORLD, baseline: str = SAME_OUTLOOK,
                 climate_severity: float = 0.0, labour_demand: float = 0.0, quota_factor: float = 1.0,
                 processing_factor: float = 1.0, fee_subsidy: float = 0.0, enforcement: float = 0.0,
                 adaptation_coverage: float = 0.0, cash_transfer_usd: float = 0.0, seasonal_places: float = 0.0,
                 humanitarian_places: float = 0.0,
                 policy_start_year: int = 1, n_households: int = 3000, years: int = 10, seed: int = 42) -> None:
        given = {k: v for k, v in locals().items() if k in LEVERS or k == "baseline"}
        if not isinstance(world, str) or world not in WORLDS:
            raise ConfigError("world", world, f"one of {list(WORLDS)}")
        levers, self.from_preset = resolve_levers(preset, given)
        if levers["baseline"] not in BASELINES:
            raise ConfigError("baseline", levers["baseline"], f"one of {list(BASELINES)}")
        for name, lever in LEVERS.items():
            value = levers[name]
            lo, hi = (0, math.inf) if name in RUN_SETTINGS else (lever.lo, lever.hi)   # the model checks the rest
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
                    lo <= value <= hi) or (lever.integer and int(value) != value):
                kind = "an integer" if lever.integer else "a number"
                meaning = f"{lever.label}: {lever.scale}" if lever.scale else lever.label
                raise ConfigError(name, value, f"{kind} in [{lo:g}, {hi:g}] ({meaning})")
        self.preset, self.levers, self.world_label = preset, levers, world
        self.settings = {"preset": preset, "world": world, **given}   # as given: the page compares its controls
        world = _world(world)
        self.spec = intervention_spec(levers, world)
        climate, labour = climate_outlook(levers["climate_severity"]), labour_outlook(levers["labour_demand"])
        common = dict(n_households=int(levers["n_households"]), years=int(levers["years"]),
                      rng=int(levers["seed"]), world=world)
        super().__init__(**common, interventions=build_interventions(self.spec), climate_outlook=climate,
                         labour_outlook=labour, scenario=preset)
        if levers["baseline"] == TODAY:
            climate, labour = ClimateOutlook(), LabourOutlook()
        self.baseline = MigrationModel(**common, climate_outlook=climate, labour_outlook=labour, scenario="baseline")

    def step(self) -> None:
        """Advance this model and its baseline twin by one month."""
        super().step()
        self.baseline.step()


# --- series read from a model's recorder (months 0..t-1) ---------------------------------------------------------

def trailing_mean(x: np.ndarray, window: int = 12) -> np.ndarray:
    """Mean over the last `window` months (fewer at the start), along the first axis.

    >>> trailing_mean(np.array([1.0, 3.0, 5.0]), window=2).tolist()
    [1.0, 2.0, 4.0]
    """
    c = np.cumsum(np.concatenate([np.zeros((1, *x.shape[1:])), x]), axis=0)
    n = np.arange(1, len(x) + 1)
    lo = np.maximum(n - window, 0)
    count = (n - lo).reshape(-1, *([1] * (x.ndim - 1)))
    return (c[n] - c[lo]) / count


def series(model: MigrationModel, t: int | None = None) -> dict[str, np.ndarray]:
    """The dashboard's series of one model for months 0..t-1 (all months simulated when t is None)."""
    r = model.recorder
    t = model.t if t is None else t
    flows = r["emigrants"][:t].sum(axis=(1, 2))                   # time x pathway
    yearly = trailing_mean(flows) * 12.0                          # departures a year, trailing 12 months
    international = yearly[:, P_REGULAR] + yearly[:, P_IRREGULAR]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(international > 0, 100.0 * yearly[:, P_IRREGULAR] / international, np.nan)
    cost = r["intervention_cost"][:t]
    return {"departures": yearly, "irregular_share": share, "deaths": np.cumsum(r["deaths"][:t].sum(axis=1)),
            "trapped": trailing_mean(r["trapped"][:t].sum(axis=1)),
            "remittances": r["remittances"][:t].sum(axis=1) / 1000.0, "visa_queue": r["visa_queue"][:t].sum(axis=1),
            "cost": np.cumsum(cost, axis=0) / 1000.0, "flows": flows}


def _date(model: MigrationModel, t: int) -> str:
    """Calendar month of month `t` (1-based: the month just simulated)."""
    t = max(t - 1, 0)
    return f"{model.start_year + t // 12}-{t % 12 + 1:02d}"


# --- figures: drawn with matplotlib into PNG images ---------------------------------------------------------------

COLOURS = {"internal": "#1f77b4", "regular": "#2ca02c", "irregular": "#d62728", "settings": "#6a3d9a",
           "baseline": "#7f7f7f"}
COST_COLOURS = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e", "#9467bd", "#1f77b4", "#2ca02c", "#d62728")
DPI = 80
HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
FIGSIZE = (6.4, 4.0)   # inches: 512 x 320 pixels at DPI, about the shape of a dashboard cell


class Blitter:
    """A figure whose fixed parts (axes, ticks, labels, legend) are drawn once for each set of axis limits; each
    frame restores them and draws only the artists that change (blitting), ten times faster than a full draw."""

    def __init__(self, fig: Figure) -> None:
        self.fig, self.canvas = fig, FigureCanvasAgg(fig)
        self.background, self.key = None, None
        self.lock = threading.Lock()

    def png(self, key: Any, artists: list[Any]) -> bytes:
        """The figure as PNG with `artists` drawn over the fixed parts; `key` changes when the fixed parts do."""
        if self.background is None or key != self.key:
            for artist in artists:
                artist.set_visible(False)
            self.canvas.draw()
            self.background, self.key = self.canvas.copy_from_bbox(self.fig.bbox), key
            for artist in artists:
                artist.set_visible(True)
        self.canvas.restore_region(self.background)
        for artist in artists:
            (artist.axes or self.fig).draw_artist(artist)
        size = self.canvas.get_width_height()
        image = PIL.Image.frombuffer("RGBA", size, self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="png", compress_level=1)
        return out.getvalue()


def nice_top(value: float, minimum: float = 1.0) -> float:
    """An upper axis limit at least 10% above `value`: 1, 2, 2.5 or 5 times a power of ten.

    >>> nice_top(37.0), nice_top(0.0), nice_top(95.0)
    (50.0, 1.0, 200.0)
    """
    value = max(value * 1.1, minimum)
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def _frame(model: DashboardModel, title: str, ylabel: str) -> tuple[Figure, Any]:
    """A figure with one axes over the whole run: title and legend above it, policy start marked."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI, facecolor="white")
    ax = fig.subplots()
    fig.subplots_adjust(left=0.11, right=0.96, top=0.80, bottom=0.14)
    fig.text(0.01, 0.97, title, fontsize=11, va="top")
    fig.text(0.99, 0.012, one_run(model), fontsize=8, ha="right", va="bottom", color="#555555")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.set_xlim(model.start_year, model.start_year + max(model.n_steps, 12) / 12.0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    start = model.levers["policy_start_year"]
    if model.spec and 0 < start * 12 < model.n_steps:
        ax.axvline(model.start_year + start, color="black", lw=0.8, ls=":")
        ax.annotate("policy starts", (model.start_year + start, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -11), textcoords="offset points", fontsize=8)
    return fig, ax


def one_run(model: DashboardModel) -> str:
    """The note on every chart: its lines are one simulation's path, not an average over simulations.

    >>> one_run(DashboardModel(n_households=300, years=1, seed=7))
    'one simulation, seed 7: a single run, not an average'
    """
    return f"one simulation, seed {model.levers['seed']}: a single run, not an average"


def _legend(fig: Figure, handles: list[Any]) -> None:
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 0.90), ncols=len(handles), fontsize=8,
               frameon=False, handlelength=2.2, columnspacing=1.2)


class SeriesChart:
    """One variable of the settings (solid) against the baseline (dashed), over the months so far."""

    def __init__(self, model: DashboardModel, key: str, title: str, ylabel: str, percent: bool = False) -> None:
        self.key, self.percent = key, percent
        fig, self.ax = _frame(model, title, ylabel)
        self.base, = self.ax.plot([], [], color=COLOURS["baseline"], ls="--", lw=1.8, label="baseline")
        self.mine, = self.ax.plot([], [], color=COLOURS["settings"], lw=2.2, label="your settings")
        _legend(fig, [self.mine, self.base])
        self.blitter = Blitter(fig)

    def png(self, model: DashboardModel) -> bytes:
        with self.blitter.lock:
            t = model.t
            x = model.start_year + np.arange(1, t + 1) / 12.0
            mine, base = series(model, t)[self.key], series(model.baseline, t)[self.key]
            self.mine.set_data(x, mine)
            self.base.set_data(x, base)
            top = 100.0 if self.percent else nice_top(float(np.nanmax(np.concatenate([mine, base, [0.0]]))))
            self.ax.set_ylim(0, top)
            return self.blitter.png(top, [self.base, self.mine])


class DeparturesChart:
    """Departures a year by pathway (trailing 12 months): settings solid, baseline dashed."""

    def __init__(self, model: DashboardModel) -> None:
        fig, self.ax = _frame(model, "Departures by pathway (a year, past 12 months)", "people a year")
        self.lines = []
        for name in PATHWAYS:
            base, = self.ax.plot([], [], color=COLOURS[name], ls="--", lw=1.5, alpha=0.8)
            mine, = self.ax.plot([], [], color=COLOURS[name], lw=2.2, label=name)
            self.lines.append((mine, base))
        style = [Line2D([], [], color="black", lw=2.2, label="your settings"),
                 Line2D([], [], color="black", lw=1.5, ls="--", label="baseline")]
        _legend(fig, [mine for mine, _ in self.lines] + style)
        self.blitter = Blitter(fig)

    def png(self, model: DashboardModel) -> bytes:
        with self.blitter.lock:
            t = model.t
            x = model.start_year + np.arange(1, t + 1) / 12.0
            mine, base = series(model, t)["departures"], series(model.baseline, t)["departures"]
            for p, (line_mine, line_base) in enumerate(self.lines):
                line_mine.set_data(x, mine[:, p])
                line_base.set_data(x, base[:, p])
            top = nice_top(float(max(mine.max(initial=0), base.max(initial=0))))
            self.ax.set_ylim(0, top)
            return self.blitter.png(top, [a for pair in self.lines for a in pair[::-1]])


class CostChart:
    """Cumulative cost of each intervention, stacked, with the total (solid) against the baseline's (none: dashed)."""

    def __init__(self, model: DashboardModel) -> None:
        fig, self.ax = _frame(model, "Cumulative cost of the interventions", "thousand USD")
        self.names = model.recorder.interventions
        self.colours = [COST_COLOURS[i % len(COST_COLOURS)] for i in range(len(self.names))]
        self.base, = self.ax.plot([], [], color=COLOURS["baseline"], ls="--", lw=1.8, label="baseline (none)")
        self.total, = self.ax.plot([], [], color="black", lw=1.5, label="total")
        _legend(fig, [self.total, self.base])
        if self.names:   # inside, top left: cumulative costs are lowest there
            patches = [Patch(color=c, label=n.replace("_", " ")) for n, c in zip(self.names, self.colours)]
            self.ax.legend(handles=patches, loc="upper left", bbox_to_anchor=(0.0, 0.88), fontsize=7.5, frameon=False,
                           ncols=1 if len(self.names) <= 4 else 2)
        else:
            self.ax.text(0.5, 0.5, "no intervention switched on", transform=self.ax.transAxes, ha="center",
                         color="grey")
        self.areas: list[Any] = []
        self.blitter = Blitter(fig)

    def png(self, model: DashboardModel) -> bytes:
        with self.blitter.lock:
            for area in self.areas:
                area.remove()
            self.areas = []
            t = model.t
            x = model.start_year + np.arange(1, t + 1) / 12.0
            cost = series(model, t)["cost"]
            if t and self.names:
                self.areas = self.ax.stackplot(x, cost.T, colors=self.colours, alpha=0.85)
            total = cost.sum(axis=1)
            self.total.set_data(x, total)
            self.base.set_data(x, np.zeros(t))
            top = nice_top(float(total[-1]) if t else 0.0)
            self.ax.set_ylim(0, top)
            return self.blitter.png(top, [*self.areas, self.base, self.total])


def route_note(route: Any) -> str:
    """A named route's label on the map: its name and, for an irregular route, the smuggler's fee and the death risk
    per journey in force this month (they rise with enforcement)."""
    if route.onward:
        return f"{route.name} (onward)"
    s = route.settings
    return f"{route.name}\n{s['travel_cost_usd']:,.0f} USD, {100 * s['death_probability']:.2g}% die"


MAP_FIGSIZE = (8.4, 4.9)   # inches: 672 x 392 pixels at DPI, about its width beside the summary on the page
ROUTE_COLOUR = "#8b1a1a"
ROUTE_BEND = 0.2   # how far a named route's curve bows aside, as a share of its length


class WorldChart:
    """The world at its coordinates (distances compressed far from home: `schematic`), settings and baseline side by
    side: districts (circles), cities (squares) and destinations (stars), named; the internal and regular routes from
    each district to each city and destination (thin grey lines); the world's named irregular routes (dashed curves,
    from the districts they serve) and onward routes (dotted, from a city), labelled with their name and, for an
    irregular route, the smuggler's fee and death risk in force; the month's departures drawn along the routes by
    pathway (line width by departures per 1,000 households; regular and irregular side by side) and districts sized
    by the people at home and coloured by the month's shock loss."""

    def __init__(self, model: DashboardModel) -> None:
        w, places = model.world, model.places
        self.world, xy = w, schematic(w.coordinates, w.origins)
        fig = Figure(figsize=MAP_FIGSIZE, dpi=DPI, facecolor="white")
        self.axes = fig.subplots(1, 2, sharex=True, sharey=True)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.89, bottom=0.21, wspace=0.04)
        self.origin_xy = np.array([xy[o] for o in w.origins], dtype=float)
        self.place_xy = np.array([xy[p] for p in places.names], dtype=float)   # cities, then destinations
        every = np.array(list(xy.values()), dtype=float)
        span = every.max(axis=0) - every.min(axis=0)
        self.offset = 0.012 * float(np.hypot(*span))   # how far regular and irregular flows sit apart
        pairs = [(i, q) for i in range(w.n_origins) for q in range(places.n)]   # every district to every place
        if getattr(w, "routes", None):   # a version-2 world: its internal and regular routes
            pairs = sorted({(o, places.index(r.to)) for r in w.routes if r.kind in ("internal", "regular")
                            for o in r.origins})
        self.route_paths = []   # (route index, points, label point, side it bows to) of each named route
        taken = list(every)     # where names are written: the places, then the routes' labels
        for k, r in enumerate(model.routes):
            start = np.asarray(xy[r.source], dtype=float) if r.onward else self.origin_xy[list(r.origins)].mean(axis=0)
            end = np.asarray(xy[r.destination], dtype=float)
            chord = end - start
            left = np.array([-chord[1], chord[0]]) / max(float(np.hypot(*chord)), 1e-12)
            # bowed aside from the straight flows, to the side where its label (at the middle) is farthest from
            # the other names
            options = [(arc(start, end, bend=sign * ROUTE_BEND), sign * left) for sign in (1.0, -1.0)]
            points, side = max(options, key=lambda o: min(np.hypot(*((o[0][len(o[0]) // 2] - np.array(taken))
                                                                     / np.maximum(span, 1e-12)).T)))
            taken.append(points[len(points) // 2])
            self.route_paths.append((k, points, points[len(points) // 2], side))
        drawn = np.concatenate([every, *(points for _, points, _, _ in self.route_paths)])
        self.dynamic: list[tuple[Any, Any, Any, list[Any]]] = []   # (axes, title, scatter, route labels) of a panel
        self.labels: list[Any] = []
        for ax, label in zip(self.axes, ("your settings", "baseline")):
            for i, q in pairs:
                ax.plot(*zip(self.origin_xy[i], self.place_xy[q]), color="#cccccc", lw=0.8, zorder=1)
            notes = []
            for k, points, where, side in self.route_paths:
                ax.plot(*points.T, color=ROUTE_COLOUR, lw=1.3, ls=":" if model.routes[k].onward else "--", zorder=1.5)
                notes.append(ax.annotate(
                    "", where, xytext=tuple(5 * side), textcoords="offset points", fontsize=7, color=ROUTE_COLOUR,
                    style="italic", zorder=5, path_effects=HALO,
                    ha="left" if side[0] > 0.3 else "right" if side[0] < -0.3 else "center",
                    va="bottom" if side[1] > 0.3 else "top" if side[1] < -0.3 else "center"))
            ax.set_facecolor("none")   # names may reach into the other panel
            for name in xy:   # drawn each frame, over the flows, with a white halo
                where = _label_offset(np.array(xy[name], dtype=float), every)
                abroad = name in places.names[places.n_cities:]
                self.labels.append(ax.annotate(name, xy[name], fontsize=8.5 if abroad else 7.5, zorder=5,
                                               fontweight="bold" if abroad else "normal", path_effects=HALO, **where))
            for q, name in enumerate(places.names):
                marker, size = ("s", 60) if q < places.n_cities else ("*", 190)
                ax.scatter(*xy[name], marker=marker, s=size, color="black", zorder=4)
            scatter = ax.scatter(self.origin_xy[:, 0], self.origin_xy[:, 1], s=120, c=np.zeros(w.n_origins),
                                 cmap="YlOrBr", vmin=0, vmax=0.6, edgecolors="black", linewidths=0.8, zorder=4)
            box = ax.get_position()
            title = fig.text((box.x0 + box.x1) / 2, 0.985, label, ha="center", va="top", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            self.dynamic.append((ax, title, scatter, notes))
        low, high = drawn.min(axis=0), drawn.max(axis=0)
        span = high - low
        self.axes[0].set_xlim(low[0] - 0.30 * span[0], high[0] + 0.22 * span[0])
        self.axes[0].set_ylim(low[1] - 0.10 * span[1], high[1] + 0.10 * span[1])
        handles = [Line2D([], [], color=COLOURS[n], lw=4, label=f"{n} departures") for n in PATHWAYS]
        handles.append(Line2D([], [], color="#cccccc", lw=1.2, label="route"))
        for onward, ls, label in ((False, "--", "irregular route (smuggler)"),
                                  (True, ":", "onward route (from a city)")):
            if any(r.onward == onward for r in model.routes):
                handles.append(Line2D([], [], color=ROUTE_COLOUR, lw=1.3, ls=ls, label=label))
        handles += [Line2D([], [], color="black", marker="o", mfc="#fdd49e", ls="", label="district"),
                    Line2D([], [], color="black", marker="s", ls="", label="city"),
                    Line2D([], [], color="black", marker="*", ms=10, ls="", label="destination")]
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.035), ncols=4, fontsize=7.5,
                   frameon=False, title_fontsize=8, columnspacing=1.2, handlelength=2.0,
                   title="this month: line width = departures; district size = people at home, colour = shock loss")
        fig.text(0.99, 0.01, one_run(model), fontsize=8, ha="right", va="bottom", color="#555555")
        self.flows: list[Any] = []
        self.blitter = Blitter(fig)

    def png(self, model: DashboardModel) -> bytes:
        with self.blitter.lock:
            for line in self.flows:
                line.remove()
            self.flows = []
            t = model.t
            per_1000 = model.households.n / 1000.0
            artists = []
            for (ax, title, scatter, notes), m, label in zip(self.dynamic, (model, model.baseline),
                                                             ("your settings", "baseline")):
                flows = (m.recorder["emigrants"][t - 1] if t      # origin x place x pathway
                         else np.zeros((self.world.n_origins, len(self.place_xy), len(PATHWAYS))))
                for i, o in enumerate(self.origin_xy):
                    for q, end in enumerate(self.place_xy):
                        direction = end - o
                        normal = np.array([-direction[1], direction[0]]) / max(np.hypot(*direction), 1e-12)
                        for p, side in ((P_INTERNAL, 0.0), (P_REGULAR, 1.0), (P_IRREGULAR, -1.0)):
                            if flows[i, q, p] > 0:
                                shift = side * self.offset * normal
                                line, = ax.plot(*zip(o + shift, end + shift), color=COLOURS[PATHWAYS[p]],
                                                alpha=0.8, lw=min(14.0, 1.0 + 6.0 * flows[i, q, p] / per_1000),
                                                zorder=2, solid_capstyle="round")
                                self.flows.append(line)
                people = np.bincount(m.households.origin, m.households.people_at_origin(), self.world.n_origins)
                scatter.set_sizes(60 + 300 * people / max(people.max(), 1))
                scatter.set_array(m.climate.region_loss if t else np.zeros(self.world.n_origins))
                for (k, *_), note in zip(self.route_paths, notes):
                    note.set_text(route_note(m.routes[k]))
                total = flows.sum(axis=(0, 1))
                title.set_text(f"{label}, {_date(m, t)}\n" + ", ".join(f"{n} {int(v)}" for n, v in
                                                                         zip(PATHWAYS, total)))
                artists += [title, scatter, *notes]
            return self.blitter.png(None, self.flows + artists + self.labels)


def _label_offset(place: np.ndarray, places: np.ndarray) -> dict[str, Any]:
    """Where to write the name of a place: away from the other places, the nearest most."""
    others = places[np.any(places != place, axis=1)]
    if not len(others):
        return {"xytext": (0, -12), "textcoords": "offset points", "ha": "center", "va": "top"}
    push = place - others
    away = (push / np.hypot(*push.T)[:, None] ** 3).sum(axis=0)   # repelled by the other places, most by the nearest
    away = away / max(np.hypot(*away), 1e-9)
    return {"xytext": tuple(11 * away), "textcoords": "offset points",
            "ha": "left" if away[0] > 0.3 else "right" if away[0] < -0.3 else "center",
            "va": "bottom" if away[1] > 0.3 else "top" if away[1] < -0.3 else "center"}


CHARTS: dict[str, Any] = {   # in the order of the page, after the summary
    "world": WorldChart,
    "departures": DeparturesChart,
    "cost": CostChart,
    "irregular_share": lambda m: SeriesChart(m, "irregular_share", "Irregular share of departures abroad "
                                             "(past 12 months)", "% of departures abroad", percent=True),
    "trapped": lambda m: SeriesChart(m, "trapped", "Trapped households: wanted to move, could not afford it",
                                     "households (12-month mean)"),
    "remittances": lambda m: SeriesChart(m, "remittances", "Remittances received (net of fees)",
                                         "thousand USD a month"),
    "visa_queue": lambda m: SeriesChart(m, "visa_queue", "Visa queue: applications waiting", "applications"),
    "deaths": lambda m: SeriesChart(m, "deaths", "Deaths on irregular journeys (cumulative)", "people"),
}
_charts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # model -> {name: chart}, dropped with the model


def chart_png(model: DashboardModel, name: str) -> bytes:
    """The PNG of chart `name` (a key of CHARTS) for the months simulated so far.

    >>> model = DashboardModel(n_households=300, years=1)
    >>> chart_png(model, "world")[:4]
    b'\\x89PNG'
    """
    charts = _charts.setdefault(model, {})
    if name not in charts:
        charts[name] = CHARTS[name](model)
    return charts[name].png(model)


# --- the summary: preset, levers in force, totals against the baseline --------------------------------------------

def _usd(v: float) -> str:
    return f"{v:,.0f} USD" if abs(v) < 1e6 else f"{v / 1e6:,.2f} million USD"


def summary_rows(model: DashboardModel) -> list[tuple[str, float, float]]:
    """(what, settings, baseline) totals since the start of the run."""
    t = model.t
    r, b = model.recorder, model.baseline.recorder
    rows = [(f"departures: {name}", r["emigrants"][:t, ..., p].sum(), b["emigrants"][:t, ..., p].sum())
            for p, name in enumerate(PATHWAYS)]
    last = max(t - 1, 0)
    return rows + [
        ("deaths on irregular journeys", r["deaths"][:t].sum(), b["deaths"][:t].sum()),
        ("trapped (household-months)", r["trapped"][:t].sum(), b["trapped"][:t].sum()),
        ("remittances received (thousand USD)", r["remittances"][:t].sum() / 1e3, b["remittances"][:t].sum() / 1e3),
        ("visa queue now", r["visa_queue"][last].sum() if t else 0.0, b["visa_queue"][last].sum() if t else 0.0),
        ("cost of interventions (thousand USD)", r["intervention_cost"][:t].sum() / 1e3,
         b["intervention_cost"][:t].sum() / 1e3)]


def levers_in_force(model: DashboardModel) -> list[str]:
    """The levers away from today's values, as text ('(preset)' when the preset set them)."""
    moved = []
    for name, lever in LEVERS.items():
        value = model.levers[name]
        if name not in RUN_SETTINGS and value != lever.default:
            moved.append(f"{lever.label} {value:g}" + (f" ({lever.scale})" if lever.scale else "")
                         + (" [preset]" if name in model.from_preset else ""))
    if model.levers["baseline"] != SAME_OUTLOOK:
        moved.append("compared with today's climate and labour" + (" [preset]" if "baseline" in model.from_preset
                                                                   else ""))
    return moved


def summary_html(model: DashboardModel) -> str:
    """The preset, the levers in force and the totals so far against the baseline, as HTML."""
    e = html.escape
    moved = levers_in_force(model)
    parts = [f"<p><b>Preset: {e(model.preset)}.</b> {e(PRESETS[model.preset].explanation)}</p>",
             "<p>Levers in force: " + (e("; ".join(moved)) if moved else "none (today's policies)") + ".</p>",
             f"<p>Month <b>{model.t}</b> of {model.n_steps} ({_date(model, model.t)}), "
             f"{model.households.n:,} households, {e(model.world_label)} world. "
             f"Baseline: {e(model.levers['baseline'])}.</p>",
             f"<p class='dashboard-seed'><b>One simulation, seed {model.levers['seed']}:</b> every figure on this page "
             "is the path of a single run, not an average over runs; another seed gives another, equally likely "
             "path.</p>",
             '<table style="border-collapse: collapse">',
             "<tr><th style='text-align:left'>since the start</th><th>your settings</th><th>baseline</th>"
             "<th>difference</th></tr>"]
    for label, mine, base in summary_rows(model):
        cells = "".join(f"<td style='text-align:right'>{v}</td>"
                        for v in (f"{mine:,.0f}", f"{base:,.0f}", f"{mine - base:+,.0f}"))
        parts.append(f"<tr style='border-top: 1px solid #ddd'><td>{e(label)}</td>{cells}</tr>")
    parts.append("</table>")
    t = model.t
    cost = model.recorder["intervention_cost"][:t].sum()
    averted = (model.baseline.recorder["emigrants"][:t, ..., P_IRREGULAR].sum()
               - model.recorder["emigrants"][:t, ..., P_IRREGULAR].sum())
    if cost > 0 and averted > 0:
        parts.append(f"<p>Cost per irregular departure averted so far: <b>{_usd(cost / averted)}</b>.</p>")
    return "\n".join(parts)


# --- what-if: an emulator's prediction for the sliders, checked by the run (simulator/present/whatif.py) -------------

WHAT_IF_SLIDERS = [name for name in LEVERS if name not in RUN_SETTINGS]   # the policy, outlook and start sliders


def what_if_sliders(settings: dict[str, Any], model: DashboardModel) -> whatif.Sliders:
    """What the page's controls `settings` set (a preset's levers resolved as DashboardModel resolves them), in the
    terms an emulator is checked against; the model parameters and calendar start are the live `model`'s (the
    sliders change neither)."""
    levers, _ = resolve_levers(settings["preset"], settings)
    world = _world(settings["world"])
    return whatif.Sliders(
        values={name: levers[name] for name in LEVERS}, labels={name: LEVERS[name].label for name in WHAT_IF_SLIDERS},
        today={name: LEVERS[name].default for name in WHAT_IF_SLIDERS},
        interventions=intervention_spec(levers, world), world=world, world_folder=WORLDS[settings["world"]](),
        world_label=settings["world"], climate=climate_outlook(levers["climate_severity"]),
        labour=labour_outlook(levers["labour_demand"]), params=model.params, start_year=model.start_year)


def what_if(settings: dict[str, Any], model: DashboardModel,
            file: whatif.EmulatorFile | None = None) -> tuple[whatif.Forecast, whatif.Check]:
    """The emulator's prediction for the controls `settings`, and the run `model` beside it once it has reached the
    emulator's horizon with those settings. `file`: the emulator (default: `whatif.open_emulator()`, from the
    DASHBOARD_EMULATOR environment variable or the default location).

    >>> forecast, check = what_if(default_settings(), DashboardModel(n_households=300, years=1),
    ...                           whatif.open_emulator("no such file.joblib", "a test"))
    >>> forecast.message
    'No prediction: the emulator file no such file.joblib (a test) does not exist.'
    """
    file = whatif.open_emulator() if file is None else file
    key = (tuple(sorted(settings.items())), model.start_year, repr(model.params))
    result = file.forecasts.get(key)
    if result is None:
        if len(file.forecasts) >= 256:   # a day of training moves many sliders: keep the cache small
            file.forecasts.clear()
        result = file.forecasts[key] = whatif.forecast(file, what_if_sliders(settings, model))
    return result, whatif.check_run(result, model, same_settings=settings == model.settings)


def what_if_html(settings: dict[str, Any], model: DashboardModel, file: whatif.EmulatorFile | None = None) -> str:
    """The what-if panel (`what_if`) as HTML."""
    return whatif.panel_html(*what_if(settings, model, file))


# --- the page: Mesa's run controls and redraw signal, the dashboard's own sidebar and layout ------------------------

TITLE = "Migration flows: policy levers against the baseline"
PLAY_INTERVAL_MS = 100   # pause between months while playing
SECTIONS = {   # the sidebar's cards after the run controls: title -> controls (names of model_params())
    "Exercise": ("preset",),
    "Climate and labour": ("climate_severity", "labour_demand", "baseline"),
    "Policy levers": ("quota_factor", "processing_factor", "fee_subsidy", "enforcement", "adaptation_coverage",
                      "cash_transfer_usd", "seasonal_places", "humanitarian_places", "policy_start_year"),
    "Simulation": ("world", "n_households", "years", "seed"),
}
SELECT_HELP = {
    "baseline": "What the dashed lines show: the same households, seed and shocks with no new policy; with "
                "today's climate & labour, the gap shows the outlook's effect too.",
    "world": "The map's districts, cities, destinations and routes.",
}
# Slider values always shown (small, under the knob); each control's label above its slider, wrapped; help text small.
CSS = """
.v-slider .v-slider__thumb-label-container { display: block !important; }
.v-slider .v-slider__thumb-label.primary { transform: translateX(-50%) translateY(20px) !important;
    background-color: transparent !important; width: auto !important; height: 14px !important; }
.v-slider .v-slider__thumb-label > * { transform: none !important; }
.v-slider .v-slider__thumb-label span { color: #1565c0; font-size: 11px; white-space: nowrap; }
.dashboard-control .v-input__slot { flex-wrap: wrap; }
.dashboard-control .v-input__slot > .v-label { flex: 1 0 100%; max-width: 100%; white-space: normal;
    margin: 0 0 2px 0 !important; font-size: 14px; color: rgba(0, 0, 0, 0.87); }
.dashboard-control .v-slider { margin-left: 0; }
.dashboard-help { font-size: 12px; line-height: 1.3; color: #555; margin: 16px 0 10px 0; }
.dashboard-select-help { margin-top: -14px; }
.dashboard-run-help { font-size: 12px; line-height: 1.3; color: #555; margin-top: 8px; }
.dashboard-chart { max-height: 420px; object-fit: contain; object-position: left top; }
.dashboard-summary { font-size: 13px; line-height: 1.35; }
.dashboard-summary p { margin-bottom: 6px; }
.dashboard-summary .dashboard-seed { background: #fff8e1; border-left: 4px solid #f9a825; padding: 4px 8px; }
.dashboard-summary th, .dashboard-summary td { padding: 0 8px; }
.dashboard-summary th { text-align: right; }
.dashboard-whatif { font-size: 13px; line-height: 1.35; margin: 4px 0 12px 0; padding: 6px 10px;
    background: #f3f7fb; border-left: 4px solid #1565c0; }
.dashboard-whatif p { margin-bottom: 6px; }
.dashboard-whatif th, .dashboard-whatif td { padding: 0 8px; text-align: right; }
.dashboard-whatif .whatif-outcome, .dashboard-whatif .whatif-withheld { text-align: left; }
.dashboard-whatif tr.whatif-row { border-top: 1px solid #dde5ee; }
.dashboard-whatif .whatif-units, .dashboard-whatif .whatif-note, .dashboard-whatif .whatif-levers { font-size: 11px;
    color: #555; }
"""


def model_params() -> dict[str, Any]:
    """The controls of the page in Mesa's (SolaraViz's) model-parameter format: a preset, a world and a baseline
    choice, then one slider per lever, each labelled with its unit."""
    return {"preset": {"type": "Select", "label": "Preset (training exercise)", "value": CUSTOM,
                       "values": list(PRESETS)},
            "world": {"type": "Select", "label": "World", "value": DEFAULT_WORLD, "values": list(WORLDS)},
            "baseline": {"type": "Select", "label": "Compare with", "value": SAME_OUTLOOK, "values": list(BASELINES)},
            **{name: lever.slider() for name, lever in LEVERS.items()}}


def default_settings() -> dict[str, Any]:
    """What the page's controls show when it opens: DashboardModel's defaults (its keyword arguments)."""
    return {name: spec["value"] for name, spec in model_params().items()}


def choose_preset(settings: dict[str, Any], preset: str) -> dict[str, Any]:
    """The controls after choosing `preset`: its levers at its values, the other levers of the climate, labour and
    policy at today's and the baseline at `SAME_OUTLOOK` unless the preset sets it; the world, the policy start and
    the run settings stay. The custom preset moves nothing.

    >>> after = choose_preset(default_settings(), "double the quota")
    >>> after["preset"], after["quota_factor"], after["enforcement"]
    ('double the quota', 2.0, 0.0)
    """
    if preset not in PRESETS:
        raise ConfigError("preset", preset, f"one of {list(PRESETS)}")
    chosen = {**settings, "preset": preset}
    if preset == CUSTOM:
        return chosen
    for name, lever in LEVERS.items():
        if name not in RUN_SETTINGS and name != "policy_start_year":
            chosen[name] = lever.default
    return {**chosen, "baseline": SAME_OUTLOOK, **PRESETS[preset].levers}


def move_control(settings: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """The controls after moving `name` to `value`; moving a lever the preset sets away from the preset's value
    turns the preset into custom (the preset's explanation would no longer describe the sliders).

    >>> move_control(choose_preset(default_settings(), "double the quota"), "quota_factor", 3.0)["preset"]
    'custom (sliders only)'
    """
    moved = {**settings, name: value}
    levers = PRESETS[moved["preset"]].levers
    if name in levers and value != levers[name]:
        moved["preset"] = CUSTOM
    return moved


try:
    import solara
    with warnings.catch_warnings():   # Mesa 3.3.1's own components trip Solara's hook check when imported
        warnings.simplefilter("ignore", UserWarning)
        from mesa.visualization.solara_viz import ModelController
        from mesa.visualization.utils import update_counter
    import solara.server.settings as _server_settings
except ImportError:   # the model and figures above work without the dashboard extra
    solara = None

if solara is not None:
    _server_settings.theme.show_banner = False   # Solara's "This website runs on Solara" badge sits over the charts

    @solara.component
    def Summary(model: DashboardModel) -> Any:
        update_counter.get()   # redrawn after every step (Mesa's signal)
        return solara.HTML(tag="div", unsafe_innerHTML=summary_html(model), classes=["dashboard-summary"])

    @solara.component
    def WhatIf(model: DashboardModel, settings: dict[str, Any]) -> Any:
        """The emulator's prediction for the sliders, redrawn when they move and after every step."""
        update_counter.get()
        return solara.HTML(tag="div", unsafe_innerHTML=what_if_html(settings, model), classes=["dashboard-whatif"])

    @solara.component
    def Chart(model: DashboardModel, name: str) -> Any:
        update_counter.get()
        return solara.Image(chart_png(model, name), format="png", width="100%",
                            classes=["dashboard-chart", f"chart-{name}"])

    @solara.component
    def Control(name: str, settings: solara.Reactive[dict[str, Any]]) -> Any:
        """One control bound to `settings[name]` (so that a preset moves it), with its unit and help below."""
        spec = model_params()[name]

        def on_value(value: Any) -> None:
            update = choose_preset if name == "preset" else lambda s, v: move_control(s, name, v)
            settings.set(update(settings.value, value))

        value = settings.value[name]
        with solara.Column(gap="0px", classes=["dashboard-control", f"control-{name}"]) as column:
            if spec["type"] == "Select":
                solara.Select(spec["label"], values=spec["values"], value=value, on_value=on_value)
                note = PRESETS[value].explanation if name == "preset" else SELECT_HELP.get(name, "")
                if note:
                    solara.HTML(tag="div", unsafe_innerHTML=html.escape(note),
                                classes=["dashboard-help", "dashboard-select-help"])
            else:
                slider = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
                slider(spec["label"], value=value, on_value=on_value, min=spec["min"], max=spec["max"],
                       step=spec["step"])
                solara.HTML(tag="div", unsafe_innerHTML=html.escape(LEVERS[name].help), classes=["dashboard-help"])
        return column

    @solara.component
    def Page() -> Any:
        """One model per browser session. The sidebar: Mesa's Reset, Play and Step, then the settings; the main
        area: the summary and the map, the what-if panel, then the charts two by two."""
        model = solara.use_reactive(solara.use_memo(DashboardModel, []))
        settings = solara.use_reactive(default_settings())
        play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
        one_month = solara.use_reactive(1)   # months a click of Step (or a tick of Play) advances
        no_threads = solara.use_reactive(False)
        solara.Style(CSS)
        solara.Title(TITLE)
        with solara.AppBar():
            solara.AppBarTitle(TITLE)
        with solara.Sidebar(), solara.Column():
            with solara.Card("Run"):
                ModelController(model, model_parameters=settings, play_interval=play_interval,
                                render_interval=one_month, use_threads=no_threads)
                solara.HTML(tag="div", classes=["dashboard-run-help"], unsafe_innerHTML=(
                    "<b>Step</b>: one month. <b>▶</b> plays month after month, <b>❚❚</b> pauses. <b>Reset</b> "
                    "starts a new run with the settings below."))
                if settings.value != model.value.settings:
                    solara.Warning("Settings changed: press Reset to run them.", dense=True,
                                   classes=["dashboard-changed"])
            for title, names in SECTIONS.items():
                with solara.Card(title):
                    for name in names:
                        Control(name, settings)
        with solara.Column(style={"padding": "12px"}):
            with solara.Columns([2, 3]):
                Summary(model.value)
                Chart(model.value, "world")
            WhatIf(model.value, settings.value)
            with solara.GridFixed(columns=2, column_gap="24px", row_gap="16px", align_items="start"):
                for name in CHARTS:
                    if name != "world":
                        Chart(model.value, name)
