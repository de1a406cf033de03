"""Trainer dashboard: the model on Mesa's SolaraViz, with policy levers as sliders and a baseline twin alongside.

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

A preset (see `PRESETS`) sets the levers that are left at their defaults; a lever moved away from its default keeps
the moved value, so presets combine with the sliders. As in every Mesa SolaraViz app, a change of a lever or preset
takes effect when the run is reset (Reset), and Step or Play advance both models a month at a time.

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
    """A slider of the dashboard: a short label, default, range and step, and what its values mean."""

    label: str
    default: float
    lo: float
    hi: float
    step: float
    scale: str = ""
    integer: bool = False

    def slider(self) -> dict[str, Any]:
        """The SolaraViz parameter description of this lever."""
        return {"type": "SliderInt" if self.integer else "SliderFloat", "label": self.label, "value": self.default,
                "min": self.lo, "max": self.hi, "step": self.step}


# The levers, in the order of the sidebar; DashboardModel's keyword arguments have the same names and defaults.
LEVERS: dict[str, Lever] = {
    "climate_severity": Lever("Climate severity", 0.0, -1.0, 2.0, 0.25, "-1 mild, 0 today, 1 severe, 2 extreme"),
    "labour_demand": Lever("Labour demand abroad", 0.0, -1.0, 1.0, 0.25, "-1 bust, 0 steady, 1 boom"),
    "quota_factor": Lever("Regular quota", 1.0, 0.0, 4.0, 0.25, "times today's places"),
    "processing_factor": Lever("Visa processing", 1.0, 0.5, 4.0, 0.25, "times today's capacity"),
    "fee_subsidy": Lever("Visa fee subsidy", 0.0, 0.0, 1.0, 0.1, "share of the fee paid publicly"),
    "enforcement": Lever("Enforcement", 0.0, 0.0, 3.0, 0.25, "0 today, 1 reinforced, 3 maximal"),
    "adaptation_coverage": Lever("Adaptation", 0.0, 0.0, 1.0, 0.1, "share of households covered in the exposed "
                                                                  "districts"),
    "cash_transfer_usd": Lever("Cash transfers", 0.0, 0.0, 100.0, 5.0, "USD a month to poor households hit by a "
                                                                      "shock"),
    "seasonal_places": Lever("Seasonal places", 0.0, 0.0, 20.0, 1.0, "per 1,000 households a year"),
    "humanitarian_places": Lever("Humanitarian visas", 0.0, 0.0, 10.0, 0.5, "per 1,000 households a year"),
    "policy_start_year": Lever("Policy starts", 1, 0, 10, 1, "years after the start", integer=True),
    "n_households": Lever("Households", 3000, 1000, 20000, 1000, integer=True),
    "years": Lever("Years", 10, 1, 30, 1, integer=True),
    "seed": Lever("Seed", 42, 0, 999, 1, "same seed: same shocks and draws", integer=True),
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

    Returns the values (with `baseline`) and the names whose value came from the preset.
    """
    if preset not in PRESETS:
        raise ConfigError("preset", preset, f"one of {list(PRESETS)}")
    values, from_preset = dict(given), set()
    for name, value in PRESETS[preset].levers.items():
        default = BASELINES[0] if name == "baseline" else LEVERS[name].default
        if given[name] == default:
            values[name] = value
            from_preset.add(name)
    return values, from_preset


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
    fig.subplots_adjust(left=0.11, right=0.96, top=0.80, bottom=0.09)
    fig.text(0.01, 0.97, title, fontsize=11, va="top")
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


def schematic(coordinates: dict[str, Any], origins: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Positions for drawing the map: a place within twice the districts' spread (their farthest distance from
    their centre `c`) of the centre keeps its coordinates; a farther one at distance `r` is drawn in the same
    direction at `r0 (1 + ln(r / r0))` (r0 = twice the spread), so that a distant destination stays in view without
    shrinking the districts to a point. Distances on the map are then true near home and compressed beyond."""
    xy = {name: np.array(p, dtype=float) for name, p in coordinates.items()}
    home = np.array([xy[o] for o in origins])
    centre = home.mean(axis=0)
    r0 = 2.0 * max(float(np.hypot(*(home - centre).T).max()), 1e-9)
    out = {}
    for name, p in xy.items():
        r = float(np.hypot(*(p - centre)))
        out[name] = p if r <= r0 else centre + (p - centre) / r * r0 * (1.0 + math.log(r / r0))
    return out


class WorldChart:
    """The world at its coordinates (distances compressed far from home: `schematic`), settings and baseline side by
    side: the routes from each district to each city (squares) and destination (stars), with the month's departures
    drawn along them by pathway (line width by departures per 1,000 households; regular and irregular side by side)
    and districts coloured by the month's shock loss."""

    def __init__(self, model: DashboardModel) -> None:
        w, places = model.world, model.places
        self.world, xy = w, schematic(w.coordinates, w.origins)
        fig = Figure(figsize=FIGSIZE, dpi=DPI, facecolor="white")
        self.axes = fig.subplots(1, 2, sharex=True, sharey=True)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.87, bottom=0.15, wspace=0.06)
        self.origin_xy = np.array([xy[o] for o in w.origins], dtype=float)
        self.place_xy = np.array([xy[p] for p in places.names], dtype=float)   # cities, then destinations
        every = np.array(list(xy.values()), dtype=float)
        span = every.max(axis=0) - every.min(axis=0)
        self.offset = 0.012 * float(np.hypot(*span))   # how far regular and irregular flows sit apart
        self.dynamic: list[tuple[Any, Any, Any]] = []   # (axes, title, scatter) of each panel
        self.labels: list[Any] = []
        for ax, label in zip(self.axes, ("your settings", "baseline")):
            for o in self.origin_xy:
                for end in self.place_xy:
                    ax.plot(*zip(o, end), color="#dddddd", lw=0.8, zorder=1)
            ax.set_facecolor("none")   # names may reach into the other panel
            for name in xy:   # drawn each frame, over the flows, with a white halo
                self.labels.append(ax.annotate(name, xy[name], fontsize=7, zorder=5, path_effects=HALO,
                                               **_label_offset(np.array(xy[name], dtype=float), every)))
            for q, name in enumerate(places.names):
                marker, size = ("s", 80) if q < places.n_cities else ("*", 170)
                ax.scatter(*xy[name], marker=marker, s=size, color="black", zorder=4)
            scatter = ax.scatter(self.origin_xy[:, 0], self.origin_xy[:, 1], s=120, c=np.zeros(w.n_origins),
                                 cmap="YlOrBr", vmin=0, vmax=0.6, edgecolors="black", linewidths=0.8, zorder=4)
            box = ax.get_position()
            title = fig.text((box.x0 + box.x1) / 2, 0.98, label, ha="center", va="top", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            self.dynamic.append((ax, title, scatter))
        self.axes[0].set_xlim(every[:, 0].min() - 0.42 * span[0], every[:, 0].max() + 0.34 * span[0])
        self.axes[0].set_ylim(every[:, 1].min() - 0.15 * span[1], every[:, 1].max() + 0.12 * span[1])
        handles = [Line2D([], [], color=COLOURS[n], lw=4, label=n) for n in PATHWAYS]
        fig.legend(handles=handles, loc="lower center", ncols=3, fontsize=8, frameon=False, title_fontsize=8,
                   title="departures this month (line width); district colour: shock loss this month")
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
            for (ax, title, scatter), m, label in zip(self.dynamic, (model, model.baseline),
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
                total = flows.sum(axis=(0, 1))
                title.set_text(f"{label}, {_date(m, t)}\n" + ", ".join(f"{n} {int(v)}" for n, v in
                                                                         zip(PATHWAYS, total)))
                artists += [title, scatter]
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


# --- the Solara page (needs the `dashboard` extra) ----------------------------------------------------------------

# Slider values always shown (small, under the knob) rather than only while dragging; table cells spaced.
CSS = """
.v-slider .v-slider__thumb-label-container { display: block !important; }
.v-slider .v-slider__thumb-label.primary { transform: translateX(-50%) translateY(20px) !important;
    background-color: transparent !important; width: auto !important; height: 14px !important; }
.v-slider .v-slider__thumb-label > * { transform: none !important; }
.v-slider .v-slider__thumb-label span { color: #1565c0; font-size: 11px; white-space: nowrap; }
.dashboard-chart { max-height: 380px; object-fit: contain; object-position: left top; }
.dashboard-summary { font-size: 13px; line-height: 1.35; }
.dashboard-summary p { margin-bottom: 6px; }
.dashboard-summary th, .dashboard-summary td { padding: 0 8px; }
.dashboard-summary th { text-align: right; }
"""

def model_params() -> dict[str, Any]:
    """SolaraViz's model parameters: a preset and a baseline choice, then one slider per lever."""
    return {"preset": {"type": "Select", "label": "Preset (training exercise)", "value": CUSTOM,
                       "values": list(PRESETS)},
            "world": {"type": "Select", "label": "World", "value": DEFAULT_WORLD, "values": list(WORLDS)},
            "baseline": {"type": "Select", "label": "Compare with", "value": SAME_OUTLOOK, "values": list(BASELINES)},
            **{name: lever.slider() for name, lever in LEVERS.items()}}


try:
    import solara
    with warnings.catch_warnings():   # Mesa 3.3.1's own components trip Solara's hook check when imported
        warnings.simplefilter("ignore", UserWarning)
        from mesa.visualization import SolaraViz
except ImportError:   # the model and figures above work without the dashboard extra
    solara = None

if solara is not None:
    def _chart(name: str, title: str) -> Any:
        def component(model: DashboardModel) -> Any:
            return solara.Image(chart_png(model, name), format="png", width="100%",
                                classes=["dashboard-chart", f"chart-{name}"])
        component.__name__ = title
        return component

    def Summary(model: DashboardModel) -> Any:
        with solara.Column(gap="0px") as main:
            solara.Style(CSS)
            solara.HTML(tag="div", unsafe_innerHTML=summary_html(model), classes=["dashboard-summary"])
        return main

    COMPONENTS = [Summary, *(_chart(name, name.title().replace("_", "")) for name in CHARTS)]

    @solara.component
    def Page() -> Any:
        """One model per browser session; SolaraViz gives the levers, Reset, Play and Step."""
        model = solara.use_memo(DashboardModel, [])
        return SolaraViz(model, components=[(c, 0) for c in COMPONENTS], model_params=model_params(),
                         name="Migration flows: policy levers against the baseline")
