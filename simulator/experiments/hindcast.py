"""Hindcast skill: the averaged relative difference of a simulated series against a published one, and two naive
forecasts scored the same way (the harness that runs the model comes next).

**Skill.** The averaged relative difference (ARD) of a series over a set of years T with a published value,

    ARD = (1 / |T|) * sum_{t in T} |sim_t - obs_t| / obs_t,

is the measure Flee reports (Suleimenova, Bell and Groen 2017, "A generalized simulation development approach for
predicting refugee destinations", Scientific Reports 7: 13377, doi:10.1038/s41598-017-13828-9, eq. for the averaged
relative difference; there the absolute differences are summed over camps and divided by the total observed, which
for a single series is the formula above). Lower is better; 0 is a perfect fit; a model that predicts zero scores 1.
Years with an observed value of zero are left out (the ratio is undefined).

**Naive forecasts** for the held-out years, from the published values of the calibration years only:
- last value: the last published calibration-year value, for every held-out year (persistence);
- linear trend: the least-squares line through the published calibration-year values (at least two), extended.
They are scored by the same ARD on the same held-out years. A model with a lower held-out ARD than a naive
forecast has skill against it; `skill_vs_*` = 1 - ARD_model / ARD_naive (> 0: the model is better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr


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
