"""Figures of a results Dataset (never of a live model): titled, axes labelled with units, bands across seeds.

Every function takes a Dataset from `MigrationModel.run()`, `load_results` or a comparison, and returns a matplotlib
Figure. If the dataset has a `seed` dim, lines are medians across seeds with a 5-95% band; if it has a `scenario`
dim, there is one line per scenario.

Example:
    >>> from simulator import MigrationModel
    >>> fig = plot_flows(MigrationModel(n_households=300, years=2, rng=0).run())
    >>> fig.axes[0].get_title()
    'Departures by pathway'
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from simulator.model.outputs import unit_label  # noqa: E402

BAND = (0.05, 0.95)


def annual(da: xr.DataArray, how: str = "sum") -> xr.DataArray:
    """Calendar-year totals (or means) of a monthly variable."""
    grouped = da.groupby("year")
    return grouped.sum("time") if how == "sum" else grouped.mean("time")


def _line(ax: plt.Axes, da: xr.DataArray, label: str, **style) -> None:
    """Median across seeds with a 5-95% band (or the single run) against the `year` dim."""
    if "seed" in da.dims and da.sizes["seed"] > 1:
        with warnings.catch_warnings():   # a year with no value in any seed (e.g. a share of zero departures)
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, mid, hi = (da.quantile(q, dim="seed") for q in (BAND[0], 0.5, BAND[1]))
        line, = ax.plot(mid["year"], mid, label=label, **style)
        ax.fill_between(mid["year"].values, lo.values, hi.values, color=line.get_color(), alpha=0.2, lw=0)
    else:
        da = da.squeeze(drop=True) if "seed" in da.dims else da
        ax.plot(da["year"], da, label=label, **style)


def _by_scenario(ds: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    if "scenario" in ds.dims:
        return [(str(s), ds.sel(scenario=s)) for s in ds["scenario"].values]
    return [(str(ds.attrs.get("scenario", "")), ds)]


def _finish(fig: plt.Figure, ax: plt.Axes, title: str, ylabel: str, ds: xr.Dataset) -> plt.Figure:
    ax.set_title(title)
    ax.set_xlabel("year")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    if "seed" in ds.dims and ds.sizes["seed"] > 1:
        fig.text(0.99, 0.01, f"median and {BAND[0]:.0%}-{BAND[1]:.0%} band across {ds.sizes['seed']} seeds",
                 ha="right", fontsize=7, color="0.4")
    fig.tight_layout()
    return fig


def plot_flows(ds: xr.Dataset) -> plt.Figure:
    """Departures a year by pathway (all origins)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    styles = {"internal": ":", "regular": "-", "irregular": "--"}
    for name, part in _by_scenario(ds):
        for pathway in part["pathway"].values:
            flows = annual(part["emigrants"].sel(pathway=pathway).sum(["origin", "destination"]))
            label = f"{pathway}" if "scenario" not in ds.dims else f"{name}: {pathway}"
            _line(ax, flows, label, linestyle=styles.get(str(pathway), "-"))
    return _finish(fig, ax, "Departures by pathway", "departures per year (persons)", ds)


def plot_destinations(ds: xr.Dataset) -> plt.Figure:
    """Departures a year to each city and destination (all origins and pathways), one line per place (and
    scenario)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, part in _by_scenario(ds):
        for place in part["destination"].values:
            flows = annual(part["emigrants"].sel(destination=place).sum(["origin", "pathway"]))
            _line(ax, flows, f"{place}" if "scenario" not in ds.dims else f"{name}: {place}")
    return _finish(fig, ax, "Departures by city and destination", "departures per year (persons)", ds)


def plot_variable(ds: xr.Dataset, name: str, title: str, how: str = "sum") -> plt.Figure:
    """A (time, origin) variable summed over origins, as yearly totals (or means), one line per scenario."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for scenario, part in _by_scenario(ds):
        _line(ax, annual(part[name].sum("origin"), how), scenario or name)
    units = unit_label(ds[name])
    if how == "sum":   # a monthly count of households summed over a year is in household-months
        ylabel = "household-months a year" if units == "households" else f"{units} a year"
    else:
        ylabel = f"yearly mean ({units})"
    return _finish(fig, ax, title, ylabel, ds)


def save_figures(ds: xr.Dataset, folder: str | Path) -> list[Path]:
    """Write the standard figures of a run or comparison as PNG files; return their paths."""
    folder = Path(folder)
    figures = {
        "flows_by_pathway.png": plot_flows(ds),
        "flows_by_destination.png": plot_destinations(ds),
        "trapped.png": plot_variable(ds, "trapped", "Trapped households (wanted to move, could not afford to)"),
        "deaths.png": plot_variable(ds, "deaths", "Deaths and missing on irregular journeys"),
    }
    paths = []
    for name, fig in figures.items():
        path = folder / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


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


def arc(a: np.ndarray, b: np.ndarray, bend: float = 0.2, n: int = 41) -> np.ndarray:
    """`n` points of a quadratic Bezier curve from `a` to `b`, bowed to the left of a -> b by `bend` times the distance
    between them at its middle point (`n // 2`).

    >>> arc(np.array([0.0, 0.0]), np.array([2.0, 0.0]), bend=0.25, n=3).tolist()
    [[0.0, 0.0], [1.0, 0.5], [2.0, 0.0]]
    """
    d = b - a
    control = (a + b) / 2 + 2 * bend * np.array([-d[1], d[0]])
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * control + t ** 2 * b
