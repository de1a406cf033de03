"""Hindcast: fit on the early years of a world's published series, run the later years untouched, and score the
model against the series and against naive forecasts (`python run.py experiment=hindcast`).

**Series.** The published annual series of the world (`simulator.world.observed.load_observed`, the CSVs of
`scenarios/worlds/<name>/observed/`). A series is scored when MAPPINGS maps its name to a model output and the world
has what the mapping selects (a destination, a route, a channel); the others are listed as not mapped.

**Simulated values.** For each seed, the mapped output's monthly values are summed over the series' year (calendar,
or a fiscal year: `year_basis`; only complete years count) and scaled from the simulated households to the world's:
world value = simulated value x world_households / n_households (the run's attributes), times the mapping's unit
factor (1e-6 for USD -> USD million). The value scored is the mean over seeds; the band is the 5th to 95th
percentile over seeds (`hindcast.band`).

**Skill.** The averaged relative difference (ARD) of a series over a set of years T with a published value,

    ARD = (1 / |T|) * sum_{t in T} |sim_t - obs_t| / obs_t,

is the measure Flee reports (Suleimenova, Bell and Groen 2017, "A generalized simulation development approach for
predicting refugee destinations", Scientific Reports 7: 13377, doi:10.1038/s41598-017-13828-9, eq. for the averaged
relative difference; there the absolute differences are summed over camps and divided by the total observed, which
for a single series is the formula above). Lower is better; 0 is a perfect fit; a model that predicts zero scores 1.
Years with an observed value of zero are left out (the ratio is undefined).

**Dated events.** With `scenario` left null (configs/experiment/hindcast.yaml), the runs use the world's events
scenario, `scenarios/worlds/<name>/hindcast_events.yaml`, when it has one (`events_scenario`): the dated
interventions (channels closed and opened) and recorded shocks (droughts, hurricanes) of the years the runs cover,
each with its source; the baseline otherwise. `scenario=baseline` runs without them.

**Naive forecasts** for the held-out years, from the published values of the calibration years only:
- last value: the last published calibration-year value, for every held-out year (persistence);
- linear trend: the least-squares line through the published calibration-year values (at least two), extended.
They are scored by the same ARD on the same held-out years. A model with a lower held-out ARD than a naive
forecast has skill against it; `skill_vs_*` = 1 - ARD_model / ARD_naive (> 0: the model is better).

**Fit.** The parameters of `hindcast.parameters` (model parameters by dotted name, with bounds, as in
`calibration.CalibrationParameter`) are fitted by Nelder-Mead (scipy.optimize.minimize, bounds mapped to [0, 1], an
initial simplex of a quarter of each range, at most `hindcast.max_evaluations` candidates) to minimise the mean, over
the mapped series with calibration-year values, of their calibration-year ARD. Each candidate runs the calibration
years only (start_year .. calibration_end), under seeds 0 .. seeds-1 (common random numbers, so the objective is a
deterministic function of the parameters). Every run starts `hindcast.spin_up_years` before start_year (the
model starts with nobody abroad; the spin-up lets the stock of migrants, hence remittances, build up) and those years
are dropped. The fitted model is then run from start_year to the end of the run
(start_year + years) under the same seeds; nothing of the held-out years enters the fit. Runs go through the result
cache (comparison.run_all), so a hindcast rerun replays the runs it has.

Example (tiny and unfitted, so quick; the real settings are in configs/experiment/hindcast.yaml):
    >>> import tempfile
    >>> from simulator.config import HindcastConfig, RunConfig
    >>> cfg = RunConfig(world="guatemala", n_households=200, years=6, start_year=2015, progress=False,
    ...                 hindcast=HindcastConfig(calibration_end=2018, seeds=1, max_evaluations=0, workers=1))
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     ds = run_hindcast(cfg, cache, progress=False)
    >>> "remittances" in ds["series"].values.tolist()
    True
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from scipy import optimize  # noqa: E402

from simulator.config import HindcastConfig, RunConfig, validate_run  # noqa: E402
from simulator.errors import ConfigError  # noqa: E402
from simulator.experiments.comparison import compare  # noqa: E402
from simulator.experiments.sensitivity import check_bounds, experiment_base, parameter_meta, with_values  # noqa: E402
from simulator.model.outputs import write_netcdf  # noqa: E402
from simulator.version import __version__  # noqa: E402
from simulator.world.observed import load_observed, series_names  # noqa: E402
from simulator.world.tables import default_world_path, world_folder  # noqa: E402

EVENTS_FILE = "hindcast_events.yaml"   # a world's dated events, in its folder (`events_scenario`)
FISCAL_START_MONTH = {"calendar": 1, "us_fiscal": 10, "bd_fiscal": 7}   # first month of the year of a year basis
PENALTY = 10.0   # objective of a candidate with no scorable series (an ARD of 10: ten times off)


# --- skill metrics --------------------------------------------------------------------------------------------------


def ard(simulated: Sequence[float], observed: Sequence[float]) -> float:
    """Averaged relative difference: the mean over the years with both values (observed > 0) of |sim - obs| / obs.

    NaN when no year has both.

    Example:
        >>> ard([110.0, 80.0, float("nan")], [100.0, 100.0, 50.0])
        0.15
    """
    s, o = np.asarray(simulated, dtype=float), np.asarray(observed, dtype=float)
    ok = np.isfinite(s) & np.isfinite(o) & (o > 0)
    if not ok.any():
        return math.nan
    return float(round(np.mean(np.abs(s[ok] - o[ok]) / o[ok]), 12))


def naive_last_value(years: Sequence[int], values: Sequence[float], target_years: Sequence[int]) -> np.ndarray:
    """Persistence: the last published value among (`years`, `values`), for every target year (NaN if none).

    Example:
        >>> naive_last_value([2015, 2016, 2017], [1.0, 2.0, float("nan")], [2020, 2021]).tolist()
        [2.0, 2.0]
    """
    y, v = np.asarray(years, dtype=float), np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    last = v[ok][np.argmax(y[ok])] if ok.any() else math.nan
    return np.full(len(target_years), last, dtype=float)


def naive_linear_trend(years: Sequence[int], values: Sequence[float], target_years: Sequence[int]) -> np.ndarray:
    """The least-squares line through the published (`years`, `values`), at the target years (NaN if fewer than two
    values are published). A trend below zero is kept: a naive forecast is not corrected.

    Example:
        >>> naive_linear_trend([2015, 2016, 2017], [1.0, 2.0, 3.0], [2019]).tolist()
        [5.0]
    """
    y, v = np.asarray(years, dtype=float), np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if ok.sum() < 2:
        return np.full(len(target_years), math.nan)
    centre = y[ok].mean()   # centred years: a well-conditioned fit
    slope, intercept = np.polyfit(y[ok] - centre, v[ok], 1)
    return intercept + slope * (np.asarray(target_years, dtype=float) - centre)


def skill_table(observed: xr.DataArray, simulated: xr.DataArray, calibration_end: int) -> xr.Dataset:
    """Per series: the model's ARD on the calibration and held-out years, the naive forecasts' ARD on the held-out
    years, how many years each ARD averages over, and the model's skill against each naive forecast.

    Args:
        observed: published values (series, year), NaN where not published.
        simulated: the model's values (series, year) on the same years (the mean over seeds).
        calibration_end: the last calibration year; later years are held out.

    Example:
        >>> obs = xr.DataArray([[100.0, 100.0, 100.0, 200.0]], dims=("series", "year"),
        ...                    coords={"series": ["s"], "year": [2015, 2016, 2017, 2018]})
        >>> t = skill_table(obs, obs * 1.1, calibration_end=2017)
        >>> round(float(t["ard_model_held_out"][0]), 3), float(t["ard_last_value"][0])
        (0.1, 0.5)
    """
    years = observed["year"].values
    cal, out = years <= calibration_end, years > calibration_end
    rows: dict[str, list[float]] = {k: [] for k in (
        "ard_model_calibration", "ard_model_held_out", "ard_last_value", "ard_linear_trend",
        "years_calibration", "years_held_out")}
    for name in observed["series"].values:
        o, s = observed.sel(series=name).values, simulated.sel(series=name).values
        last = naive_last_value(years[cal], o[cal], years[out])
        trend = naive_linear_trend(years[cal], o[cal], years[out])
        rows["ard_model_calibration"].append(ard(s[cal], o[cal]))
        rows["ard_model_held_out"].append(ard(s[out], o[out]))
        rows["ard_last_value"].append(ard(last, o[out]))
        rows["ard_linear_trend"].append(ard(trend, o[out]))
        rows["years_calibration"].append(int((np.isfinite(o[cal]) & (o[cal] > 0)).sum()))
        rows["years_held_out"].append(int((np.isfinite(o[out]) & (o[out] > 0)).sum()))
    coords = {"series": observed["series"].values}
    names = {"ard_model_calibration": "model's ARD on the calibration years",
             "ard_model_held_out": "model's ARD on the held-out years",
             "ard_last_value": "ARD of the last-value forecast on the held-out years",
             "ard_linear_trend": "ARD of the linear-trend forecast on the held-out years",
             "years_calibration": "calibration years with a published value",
             "years_held_out": "held-out years with a published value"}
    table = xr.Dataset({k: ("series", np.asarray(v), {"long_name": names[k], "units": "1"})
                        for k, v in rows.items()}, coords=coords)
    for naive in ("last_value", "linear_trend"):
        table[f"skill_vs_{naive}"] = (1 - table["ard_model_held_out"] / table[f"ard_{naive}"]).assign_attrs(
            long_name=f"1 - model ARD / {naive.replace('_', ' ')} ARD on the held-out years (> 0: model better)",
            units="1")
    return table


# --- observed series -> simulated quantities ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """How a published series is computed from a run: an output variable, the labels selected (each must exist in
    the world), the dims summed, and a unit factor."""

    variable: str
    select: dict[str, str] = field(default_factory=dict)
    factor: float = 1.0
    description: str = ""

    def available(self, ds: xr.Dataset) -> bool:
        """Whether the run has the variable and every label the mapping selects."""
        return self.variable in ds and all(dim in ds[self.variable].dims and label in ds[dim].values
                                           for dim, label in self.select.items())

    def monthly(self, ds: xr.Dataset) -> xr.DataArray:
        """The mapped quantity per month (dims time and, for a comparison, seed), in the simulated households."""
        da = ds[self.variable].sel(self.select)
        keep = {"time", "seed"}
        da = da.sum([d for d in da.dims if d not in keep]) * self.factor
        return da.drop_vars([c for c in da.coords if c not in keep])


def _departures(destination: str | None = None) -> Mapping:
    select = {"pathway": "regular"} | ({"destination": destination} if destination else {})
    where = f" to {destination}" if destination else ""
    return Mapping("emigrants", select, 1.0, f"regular departures{where} (emigrants, pathway regular)")


REMITTANCES = Mapping("remittances", {}, 1e-6, "remittances received, net of transfer fees, in USD million")

MAPPINGS: dict[str, Mapping] = {
    "bmet_departures_total": _departures(),
    "bmet_departures_saudi_arabia": _departures("Saudi Arabia"),
    "bmet_departures_malaysia": _departures("Malaysia"),
    "bmet_departures_singapore": _departures("Singapore"),
    "bmet_departures_italy": _departures("Italy"),
    "remittances": REMITTANCES,
    "remittances_fiscal_year": REMITTANCES,
    "italy_sea_arrivals_bangladeshi": Mapping(
        "route_arrivals", {"route": "Libya and the Central Mediterranean"}, 1.0,
        "irregular arrivals by the Libya and Central Mediterranean route (route_arrivals)"),
    "us_border_apprehensions_guatemalan": Mapping(
        "route_interceptions", {"route": "through Mexico"}, 1.0,
        "interceptions on the route through Mexico (route_interceptions); the published figure counts "
        "apprehensions (and, FY2021-22, encounters) of people, some of them more than once"),
    "h2a_visas_guatemalan": Mapping("channel_granted", {"channel": "H-2A"}, 1.0,
                                    "places granted by the H-2A channel (channel_granted)"),
}


def annual(monthly: xr.DataArray, year_basis: str) -> xr.DataArray:
    """Sum a monthly series over the years of `year_basis` (labelled by the year they end in); only complete years
    (12 months) are kept.

    Example:
        >>> t = xr.date_range("2015-01-01", periods=24, freq="MS", use_cftime=False)
        >>> m = xr.DataArray(np.ones(24), dims="time", coords={"time": t})
        >>> annual(m, "bd_fiscal")["year"].values.tolist(), annual(m, "calendar").values.tolist()
        ([2016], [12.0, 12.0])
    """
    if year_basis not in FISCAL_START_MONTH:
        raise ConfigError("year_basis", year_basis, "one of " + ", ".join(FISCAL_START_MONTH))
    start = FISCAL_START_MONTH[year_basis]
    time = monthly["time"]
    label = time.dt.year + (time.dt.month >= start).astype(int) * (start > 1)
    label = label.rename("year")
    summed = monthly.groupby(label).sum("time")
    counts = xr.ones_like(label).groupby(label).sum()
    return summed.where(counts == 12, drop=True)


def scale_of(ds: xr.Dataset, cfg: RunConfig) -> float:
    """Households of the world per simulated household: world_households / n_households."""
    world = float(ds.attrs.get("world_households", math.nan))
    if not math.isfinite(world) or world <= 0:
        raise ConfigError("world", cfg.world, "a world whose places give households (world_households) to scale "
                                              "the simulated series to the world")
    return world / float(ds.attrs.get("n_households", cfg.n_households))


def simulated_series(runs: xr.Dataset, observed: xr.Dataset, cfg: RunConfig) -> tuple[xr.DataArray, dict[str, str]]:
    """The mapped series of `runs` (dims seed, time) as world values (series, seed, year) on the observed years,
    and the reason each unmapped series is left out."""
    scale = scale_of(runs, cfg)
    mapped, skipped = {}, {}
    for name in series_names(observed):
        mapping = MAPPINGS.get(name)
        if mapping is None:
            skipped[name] = "no mapping to a model output (simulator/experiments/hindcast.py MAPPINGS)"
        elif not mapping.available(runs):
            skipped[name] = f"the world has no {mapping.variable} {mapping.select}"
        else:
            mapped[name] = annual(mapping.monthly(runs), observed[name].attrs["year_basis"]) * scale
    if not mapped:
        return xr.DataArray(np.empty((0, runs.sizes["seed"], observed.sizes["year"])),
                            dims=("series", "seed", "year"),
                            coords={"series": [], "seed": runs["seed"].values,
                                    "year": observed["year"].values}), skipped
    sim = xr.concat([mapped[k].reindex(year=observed["year"].values) for k in mapped],
                    dim=xr.DataArray(list(mapped), dims="series", name="series"))
    return sim.transpose("series", "seed", "year"), skipped


def observed_array(observed: xr.Dataset, names: Sequence[str]) -> xr.DataArray:
    """The published values of `names` as one array (series, year)."""
    return xr.concat([observed[n] for n in names], dim=xr.DataArray(list(names), dims="series", name="series"))


# --- the fit and the hindcast ---------------------------------------------------------------------------------------


def events_scenario(world: str | None) -> str:
    """The scenario a hindcast on `world` runs when none is named: the path of the world folder's EVENTS_FILE (its
    dated events, replayed over the years the runs cover), or "baseline" if the world has none.

    Example:
        >>> Path(events_scenario("guatemala")).name, events_scenario("one_city")
        ('hindcast_events.yaml', 'baseline')
    """
    path = (world_folder(world) if world else default_world_path()) / EVENTS_FILE
    return str(path) if path.is_file() else "baseline"


def validate_hindcast(cfg: RunConfig) -> None:
    """Check the hindcast settings; raise ConfigError naming the first bad one."""
    validate_run(cfg)
    h = cfg.hindcast
    end = cfg.start_year + int(math.ceil(cfg.years)) - 1
    if not cfg.start_year <= h.calibration_end < end:
        raise ConfigError("hindcast.calibration_end", h.calibration_end,
                          f"a year from start_year {cfg.start_year} to {end - 1}, before the run's last year {end}")
    if isinstance(h.seeds, bool) or not isinstance(h.seeds, int) or h.seeds < 1:
        raise ConfigError("hindcast.seeds", h.seeds, "an integer of at least 1")
    if isinstance(h.spin_up_years, bool) or not isinstance(h.spin_up_years, int) or h.spin_up_years < 0:
        raise ConfigError("hindcast.spin_up_years", h.spin_up_years, "an integer of at least 0")
    if h.max_evaluations < 0:
        raise ConfigError("hindcast.max_evaluations", h.max_evaluations, "an integer of at least 0 (0 = no fit)")
    if len(h.band) != 2 or not 0 <= h.band[0] < h.band[1] <= 100:
        raise ConfigError("hindcast.band", h.band, "two percentiles [low, high] with 0 <= low < high <= 100")
    for i, p in enumerate(h.parameters):
        parameter_meta(f"hindcast.parameters[{i}].name", p.name)
        check_bounds(f"hindcast.parameters[{i}].bounds", p.name, p.bounds)


def _runs(cfg: RunConfig, values: dict[str, float], years: float, cache_dir: str | Path,
          progress: bool) -> xr.Dataset:
    """The runs of `values` from start_year - spin_up_years for spin_up_years + `years`, under seeds 0..seeds-1,
    with the spin-up years dropped (dims seed, time)."""
    h = cfg.hindcast
    base = with_values(dataclasses.replace(cfg, years=years + h.spin_up_years,
                                           start_year=cfg.start_year - h.spin_up_years), values)
    ds = compare(base, [base.scenario], range(h.seeds), cache_dir, h.workers, progress=progress)
    ds = ds.isel(scenario=0, drop=True)
    return ds.isel(time=slice(12 * h.spin_up_years, None))


def _start(cfg: RunConfig, name: str, start: float | None) -> float:
    if start is not None:
        return float(start)
    obj: Any = cfg
    for part in name.split("."):
        obj = getattr(obj, part)
    return float(obj)


def fit(cfg: RunConfig, observed: xr.Dataset, cache_dir: str | Path, progress: bool = False) -> dict[str, Any]:
    """Fit `hindcast.parameters` on the calibration years (see the module docstring); the fitted values, the
    objective at the start and at the end, and the candidates evaluated."""
    h = cfg.hindcast
    names = [p.name for p in h.parameters]
    lower = np.array([p.bounds[0] for p in h.parameters], dtype=float)
    upper = np.array([p.bounds[1] for p in h.parameters], dtype=float)
    start = np.array([_start(cfg, p.name, p.start) for p in h.parameters], dtype=float)
    years = h.calibration_end - cfg.start_year + 1
    trace: list[dict[str, Any]] = []
    seen: dict[tuple[float, ...], float] = {}

    def objective(u: np.ndarray) -> float:
        theta = tuple(float(round(x, 6)) for x in lower + np.clip(u, 0, 1) * (upper - lower))
        if theta not in seen:
            runs = _runs(cfg, dict(zip(names, theta)), years, cache_dir, progress)
            sim, _ = simulated_series(runs, observed, cfg)
            calibration = sim["year"] <= h.calibration_end
            scores = [ard(sim.sel(series=s).mean("seed").values[calibration],
                          observed[s].values[calibration.values]) for s in sim["series"].values]
            scores = [x for x in scores if math.isfinite(x)]
            seen[theta] = float(np.mean(scores)) if scores else PENALTY
            trace.append({"values": dict(zip(names, theta)), "objective": seen[theta]})
        return seen[theta]

    if not names or h.max_evaluations == 0:
        return {"fitted": {}, "objective_at_start": math.nan, "objective": math.nan, "evaluations": 0, "trace": []}
    u0 = np.clip((start - lower) / (upper - lower), 0, 1)
    simplex = np.vstack([u0] + [np.clip(u0 + 0.25 * np.eye(len(names))[i] * (1 if u0[i] <= 0.75 else -1), 0, 1)
                                for i in range(len(names))])
    at_start = objective(u0)
    optimize.minimize(objective, u0, method="Nelder-Mead", bounds=[(0, 1)] * len(names),
                      options={"maxfev": max(h.max_evaluations - 1, 1), "initial_simplex": simplex,
                               "xatol": 0.01, "fatol": 1e-3})
    best = min(trace, key=lambda t: t["objective"])
    return {"fitted": best["values"], "objective_at_start": at_start, "objective": best["objective"],
            "evaluations": len(trace), "trace": trace}


def run_hindcast(cfg: RunConfig, cache_dir: str | Path, progress: bool = True) -> xr.Dataset:
    """Fit on the calibration years, run every year untouched, and score (see the module docstring).

    Returns:
        A Dataset with `observed`, `simulated_mean`, `simulated_low`, `simulated_high` (series, year),
        `simulated` (series, seed, year), the naive forecasts `naive_last_value` and `naive_linear_trend` (series,
        year; the held-out years), `period` (year: calibration or held out), the skill table's variables (series),
        and attributes with the fit, the settings and the series left out.
    """
    validate_hindcast(cfg)
    h = cfg.hindcast
    base = dataclasses.replace(experiment_base(cfg), hindcast=HindcastConfig())
    base = dataclasses.replace(base, scenario=cfg.scenario or events_scenario(cfg.world))
    full = dataclasses.replace(base, hindcast=h)   # carries the hindcast settings to the helpers, not into run keys
    observed = load_observed(cfg.world or default_world_path())
    first, last = cfg.start_year, cfg.start_year + int(math.ceil(cfg.years)) - 1
    observed = observed.sel(year=slice(first, last)).reindex(year=np.arange(first, last + 1, dtype="int32"))
    result = fit(full, observed, cache_dir, progress)
    runs = _runs(full, result["fitted"], cfg.years, cache_dir, progress)
    sim, skipped = simulated_series(runs, observed, cfg)
    names = list(sim["series"].values)
    obs = observed_array(observed, names) if names else sim.isel(seed=0) * np.nan
    obs = obs.where(np.isfinite(obs))
    mean = sim.mean("seed")
    with warnings.catch_warnings():   # years outside the run (a fiscal year not complete) are all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = sim.quantile(h.band[0] / 100, "seed"), sim.quantile(h.band[1] / 100, "seed")
    years = obs["year"].values
    out = years > h.calibration_end
    naive_last, naive_trend = (xr.full_like(obs, np.nan) for _ in range(2))
    for i, name in enumerate(names):
        o = obs.sel(series=name).values
        naive_last[i, out] = naive_last_value(years[~out], o[~out], years[out])
        naive_trend[i, out] = naive_linear_trend(years[~out], o[~out], years[out])
    units = [observed[n].attrs["units"] for n in names]
    ds = xr.Dataset(
        {"observed": obs.assign_attrs(long_name="published value", units="1", unit_label="see series_units"),
         "simulated": sim.assign_attrs(long_name="simulated value scaled to the world, by seed", units="1"),
         "simulated_mean": mean.assign_attrs(long_name="simulated value, mean over seeds", units="1"),
         "simulated_low": low.drop_vars("quantile").assign_attrs(
             long_name=f"simulated value, {h.band[0]:g}th percentile over seeds", units="1"),
         "simulated_high": high.drop_vars("quantile").assign_attrs(
             long_name=f"simulated value, {h.band[1]:g}th percentile over seeds", units="1"),
         "naive_last_value": naive_last.assign_attrs(long_name="last-value forecast (held-out years)", units="1"),
         "naive_linear_trend": naive_trend.assign_attrs(long_name="linear-trend forecast (held-out years)",
                                                        units="1"),
         "period": ("year", np.where(out, "held_out", "calibration"), {"long_name": "calibration or held out"})},
        coords={"series_units": ("series", np.asarray(units, dtype=str), {"long_name": "units of the series"}),
                "mapping": ("series", np.asarray([MAPPINGS[n].description for n in names], dtype=str),
                            {"long_name": "model output the series is compared with"})})
    ds = ds.merge(skill_table(ds["observed"], ds["simulated_mean"], h.calibration_end))
    ds.attrs.update({
        "title": "Hindcast: published series against the model fitted on the calibration years",
        "world": str(cfg.world or "default"), "scenario": base.scenario, "n_households": cfg.n_households,
        "start_year": first, "end_year": last, "calibration_end": h.calibration_end,
        "spin_up_years": h.spin_up_years,
        "seeds": ", ".join(str(s) for s in range(h.seeds)), "band_percentiles": f"{h.band[0]:g}, {h.band[1]:g}",
        "world_households": float(runs.attrs.get("world_households", math.nan)),
        "fitted": json.dumps(result["fitted"]), "fit_objective_at_start": result["objective_at_start"],
        "fit_objective": result["objective"], "fit_evaluations": result["evaluations"],
        "fit_trace": json.dumps(result["trace"]), "not_scored": json.dumps(skipped),
        "simulator_version": __version__,
        "metric": "ARD = mean over years of |sim - obs| / obs (Suleimenova, Bell and Groen 2017, Sci. Rep. 7: "
                  "13377); sim = mean over seeds"})
    return ds


# --- writing: NetCDF, figures, Markdown ----------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def _scenario_label(scenario: str) -> str:
    """A scenario as the report names it: a shipped name as it is, a file by its folder and name (a world's events
    file: `guatemala/hindcast_events.yaml`, the dated events)."""
    path = Path(scenario)
    if path.suffix not in (".yaml", ".yml"):
        return scenario
    label = f"{path.parent.name}/{path.name}"
    return f"{label} (the world's dated events)" if path.name == EVENTS_FILE else label


def markdown(ds: xr.Dataset) -> str:
    """The observed against simulated table of each series and the skill table, in Markdown."""
    lines = [f"# Hindcast: {ds.attrs['world']}", "",
             f"Calibration years {ds.attrs['start_year']}-{ds.attrs['calibration_end']}, held-out years "
             f"{ds.attrs['calibration_end'] + 1}-{ds.attrs['end_year']}; {ds.attrs['n_households']:,} households, "
             f"seeds {ds.attrs['seeds']}; simulated = mean over seeds scaled to the world's "
             f"{ds.attrs['world_households']:,.0f} households, band = {ds.attrs['band_percentiles']} percentiles.",
             f"Scenario: {_scenario_label(str(ds.attrs.get('scenario', '')))}.",
             f"Fitted: {ds.attrs['fitted']} (calibration-year mean ARD {ds.attrs['fit_objective_at_start']:.3f} at "
             f"the start, {ds.attrs['fit_objective']:.3f} fitted, {ds.attrs['fit_evaluations']} candidates).", ""]
    for name in ds["series"].values:
        s = ds.sel(series=name)
        lines += [f"## {name} ({s['series_units'].item()})", "", f"Model output: {s['mapping'].item()}.", "",
                  "| year | period | observed | simulated | band | last value | linear trend |",
                  "|---|---|---|---|---|---|---|"]
        for y in ds["year"].values:
            p = s.sel(year=y)
            if not math.isfinite(float(p["observed"])):
                continue
            lines.append(f"| {y} | {p['period'].item().replace('_', ' ')} | {_fmt(float(p['observed']))} | "
                         f"{_fmt(float(p['simulated_mean']))} | {_fmt(float(p['simulated_low']))}-"
                         f"{_fmt(float(p['simulated_high']))} | {_fmt(float(p['naive_last_value']))} | "
                         f"{_fmt(float(p['naive_linear_trend']))} |")
        lines.append("")
    lines += ["## Skill (ARD: mean of |sim - obs| / obs; lower is better)", "",
              "| series | ARD model, calibration (years) | ARD model, held out (years) | ARD last value | "
              "ARD linear trend | model beats last value | model beats trend |", "|---|---|---|---|---|---|---|"]
    for name in ds["series"].values:
        s = ds.sel(series=name)

        def beats(naive: str) -> str:
            m, n = float(s["ard_model_held_out"]), float(s[f"ard_{naive}"])
            return "-" if not (math.isfinite(m) and math.isfinite(n)) else ("yes" if m < n else "**no**")

        lines.append(f"| {name} | {_fmt(float(s['ard_model_calibration']))} ({int(s['years_calibration'])}) | "
                     f"{_fmt(float(s['ard_model_held_out']))} ({int(s['years_held_out'])}) | "
                     f"{_fmt(float(s['ard_last_value']))} | {_fmt(float(s['ard_linear_trend']))} | "
                     f"{beats('last_value')} | {beats('linear_trend')} |")
    skipped = json.loads(ds.attrs["not_scored"])
    if skipped:
        lines += ["", "Not scored: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()) + "."]
    return "\n".join(lines) + "\n"


def figure(ds: xr.Dataset, name: str, path: Path) -> Path:
    """Observed against simulated (mean and band over seeds) and the naive forecasts of one series, with the
    held-out years shaded."""
    s = ds.sel(series=name)
    years = ds["year"].values
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.axvspan(ds.attrs["calibration_end"] + 0.5, years[-1] + 0.5, color="0.92", label="held-out years")
    ax.fill_between(years, s["simulated_low"], s["simulated_high"], color="tab:blue", alpha=0.25,
                    label=f"simulated, {ds.attrs['band_percentiles']} percentiles over seeds")
    ax.plot(years, s["simulated_mean"], color="tab:blue", label="simulated (mean over seeds)")
    ax.plot(years, s["naive_last_value"], ":", color="tab:gray", label="last-value forecast")
    ax.plot(years, s["naive_linear_trend"], "--", color="tab:gray", label="linear-trend forecast")
    ax.plot(years, s["observed"], "o", color="black", label="published")
    ax.set_title(f"{ds.attrs['world']}: {name.replace('_', ' ')}")
    ax.set_xlabel("year")
    ax.set_ylabel(str(s["series_units"].item()))
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_hindcast(ds: xr.Dataset, folder: str | Path, figures: bool = True) -> Path:
    """Write `hindcast.nc`, `hindcast.md` and a figure per series (`hindcast_<series>.png`) into `folder`; returns
    the NetCDF path."""
    folder = Path(folder)
    path = write_netcdf(ds, folder / "hindcast.nc")
    (folder / "hindcast.md").write_text(markdown(ds), encoding="utf-8")
    if figures:
        for name in ds["series"].values:
            figure(ds, str(name), folder / f"hindcast_{name}.png")
    return path


def hindcast_experiment(cfg: RunConfig, output_dir: str | Path, cache_dir: str | Path) -> Path:
    """The entry point run.py calls for `mode: hindcast`."""
    return write_hindcast(run_hindcast(cfg, cache_dir, progress=cfg.progress), output_dir, figures=cfg.figures)


