"""Whole-run outcomes of a run (`run_metrics`) and their paired effects against a baseline (`paired_effects`):
the statistics that the planner's report presents and that sensitivity analysis and calibration take as outputs.

Effects are **paired differences** against the baseline: for each seed, a package's outcome minus the baseline's
outcome on the same seed. Runs with the same seed face the same climate shocks, labour cycle and household draws
(common random numbers), so the shared noise cancels and the differences measure the policy. The mean difference
across seeds gets a confidence interval from Student's t with `n_seeds - 1` degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class Metric:
    """An outcome of a run, summed (or averaged) over the whole horizon, and which direction is an improvement."""

    name: str
    label: str
    units: str
    better: int   # +1 higher is better, -1 lower is better, 0 neither (a flow to watch, not a goal)


METRICS = (
    Metric("irregular", "irregular departures", "persons", -1),
    Metric("regular", "regular departures", "persons", 0),
    Metric("internal", "internal moves", "persons", 0),
    Metric("irregular_share", "irregular share of international departures", "%", -1),
    Metric("deaths", "deaths on irregular journeys", "persons", -1),
    Metric("trapped", "trapped household-months", "household-months", -1),
    Metric("remittances", "remittances received", "million USD", +1),
    Metric("consumption", "consumption per person at origin", "USD/month", +1),
    Metric("visa_wait_queue", "visa queue, mean", "applications", -1),
    Metric("cost", "intervention cost", "million USD", 0),
)


def run_metrics(ds: xr.Dataset) -> xr.Dataset:
    """Whole-horizon outcomes per run (keeps any `scenario`/`seed` dims)."""
    flows = ds["emigrants"].sum(["time", "origin", "destination"])
    international = flows.sel(pathway="regular") + flows.sel(pathway="irregular")
    people = ds["population"].sum("origin")
    return xr.Dataset({
        "irregular": flows.sel(pathway="irregular", drop=True),
        "regular": flows.sel(pathway="regular", drop=True),
        "internal": flows.sel(pathway="internal", drop=True),
        "irregular_share": 100 * flows.sel(pathway="irregular", drop=True) / international.where(international > 0),
        "deaths": ds["deaths"].sum(["time", "origin"]),
        "trapped": ds["trapped"].sum(["time", "origin"]),
        "remittances": ds["remittances"].sum(["time", "origin"]) / 1e6,
        "consumption": ((ds["consumption_per_capita"] * ds["population"]).sum("origin") / people).mean("time"),
        "visa_wait_queue": ds["visa_queue"].sum("origin").mean("time"),
        "cost": ds["intervention_cost"].sum(["time", "intervention"]) / 1e6,
    })


def paired_effects(ds: xr.Dataset, baseline: str = "baseline", level: float = 0.95) -> xr.Dataset:
    """Mean paired difference (package - baseline, same seed) of each metric, with its confidence interval.

    Returns a Dataset with dims (scenario, stat), stat in (mean, low, high, baseline), one variable per metric;
    `baseline` is the baseline's mean level across seeds.
    """
    return paired_differences(run_metrics(ds), baseline, level)


def corridor_totals(ds: xr.Dataset) -> xr.Dataset:
    """Whole-horizon flows of each corridor per run (keeps any `scenario`/`seed` dims): departures by destination and
    pathway, places granted by each regular channel, journeys begun and deaths on each irregular route."""
    return xr.Dataset({
        "departures": ds["emigrants"].sum(["time", "origin"]),
        "channel_granted": ds["channel_granted"].sum("time"),
        "route_departures": ds["route_departures"].sum("time"),
        "route_deaths": ds["route_deaths"].sum("time"),
    })


def paired_differences(m: xr.Dataset | xr.DataArray, baseline: str = "baseline",
                       level: float = 0.95) -> xr.Dataset | xr.DataArray:
    """Per-run outcomes `m` (dims scenario, seed, ...) as mean paired differences against `baseline` with their
    confidence interval (Student's t across seeds) and the baseline's mean level: dim `stat` = (mean, low, high,
    baseline)."""
    if baseline not in m["scenario"].values:
        raise ValueError(f"baseline = {baseline!r} is not among the scenarios {m['scenario'].values.tolist()}")
    diff = m - m.sel(scenario=baseline)
    n = m.sizes["seed"]
    mean = diff.mean("seed")
    se = diff.std("seed", ddof=1) / np.sqrt(n) if n > 1 else diff.mean("seed") * np.nan
    from scipy import stats   # here: a worker process drawing the report's figures needs not import it (0.3 s)

    half = stats.t.ppf(0.5 + level / 2, n - 1) * se if n > 1 else se
    base = m.sel(scenario=baseline, drop=True).mean("seed").expand_dims(scenario=mean["scenario"]).transpose(
        *mean.dims) if isinstance(m, xr.DataArray) else xr.Dataset(
        {k: v.sel(scenario=baseline, drop=True).mean("seed").broadcast_like(mean[k]) for k, v in m.items()})
    return xr.concat([mean, mean - half, mean + half, base], dim="stat").assign_coords(
        stat=["mean", "low", "high", "baseline"])


def group_totals(ds: xr.Dataset) -> xr.Dataset:
    """Whole-horizon outcomes per run by group (keeps any `scenario`/`seed` dims): by the households' wealth quintile
    at the start, the mean over months of the mean log consumption per person at origin (`log_consumption`, whose
    paired difference d gives the consumption-equivalent welfare change exp(d) - 1), international departures of
    members, trapped household-months and people at origin at the start (`people`); by the migrants' sex, departures
    by pathway (`departures_by_sex`); by origin district, mean consumption per person (`consumption_by_origin`),
    departures by pathway (`departures_by_origin`) and trapped household-months (`trapped_by_origin`)."""
    by_group = ds["emigrants_by_group"].sum(["time", "age_group", "skill"])
    people = ds["population"]
    return xr.Dataset({
        "log_consumption": ds["log_consumption_by_quintile"].mean("time"),
        "international_by_quintile": ds["emigrants_by_quintile"].sel(pathway=["regular", "irregular"]).sum(
            ["time", "pathway"]),
        "trapped_by_quintile": ds["trapped_by_quintile"].sum("time"),
        "people_by_quintile": ds["population_by_quintile"].isel(time=0, drop=True),
        "departures_by_sex": by_group,
        "consumption_by_origin": (ds["consumption_per_capita"] * people).sum("time") / people.sum("time"),
        "departures_by_origin": ds["emigrants"].sum(["time", "destination"]),
        "trapped_by_origin": ds["trapped"].sum("time"),
    })


def welfare_change(log_consumption: xr.DataArray, baseline: str = "baseline", level: float = 0.95) -> xr.DataArray:
    """Consumption-equivalent welfare change against `baseline`, in percent, from per-run mean log consumption per
    person (dims scenario, seed, ...): with log utility, the change d in mean log consumption is worth a permanent
    change of exp(d) - 1 in everyone's consumption. The paired difference and its t interval are taken on the log
    scale and transformed (a monotone map keeps the interval's coverage); `stat` as in `paired_differences`, with
    `baseline` the baseline's geometric mean consumption per person (USD/month)."""
    d = paired_differences(log_consumption, baseline, level)
    change = 100 * np.expm1(d.sel(stat=["mean", "low", "high"]))
    base = np.exp(d.sel(stat=["baseline"]))
    return xr.concat([change, base], dim="stat")
