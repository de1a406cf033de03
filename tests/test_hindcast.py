"""The hindcast skill metrics (simulator/experiments/hindcast.py) on known numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from simulator.experiments.hindcast import ard, naive_last_value, naive_linear_trend, skill_table

SKILL = ("ard_model_calibration", "ard_model_held_out", "ard_last_value", "ard_linear_trend", "years_calibration",
         "years_held_out", "skill_vs_last_value", "skill_vs_linear_trend")


# --- metrics on known numbers ---------------------------------------------------------------------------------------


def test_ard_known_numbers():
    assert ard([110.0, 90.0], [100.0, 100.0]) == pytest.approx(0.10)
    assert ard([0.0, 0.0], [5.0, 7.0]) == 1.0                          # predicting nothing scores 1
    assert ard([150.0, 1.0], [100.0, 0.0]) == pytest.approx(0.5)       # an observed zero is left out
    assert ard([150.0, np.nan], [100.0, 3.0]) == pytest.approx(0.5)    # a missing simulated year is left out
    assert math.isnan(ard([1.0], [np.nan]))


def test_naive_forecasts_known_numbers():
    years, values = [2015, 2016, 2017, 2018, 2019], [10.0, np.nan, 14.0, 16.0, np.nan]
    assert naive_last_value(years, values, [2020, 2021]).tolist() == [16.0, 16.0]
    # least squares through (2015, 10), (2017, 14), (2018, 16): slope 2, line 10 + 2 (t - 2015)
    assert naive_linear_trend(years, values, [2020, 2021]).tolist() == pytest.approx([20.0, 22.0])
    assert np.isnan(naive_linear_trend([2019], [5.0], [2020])).all()   # one point: no trend
    assert np.isnan(naive_last_value([2019], [np.nan], [2020])).all()


def test_skill_table_known_numbers():
    years = [2015, 2016, 2017, 2018, 2019]
    obs = xr.DataArray([[100.0, 110.0, 120.0, 200.0, 100.0]], dims=("series", "year"),
                       coords={"series": ["s"], "year": years})
    sim = xr.DataArray([[100.0, 110.0, 120.0, 180.0, 120.0]], dims=("series", "year"), coords=obs.coords)
    t = skill_table(obs, sim, calibration_end=2017).sel(series="s")
    assert set(SKILL) <= set(t.data_vars)
    assert float(t["ard_model_calibration"]) == 0.0
    assert float(t["ard_model_held_out"]) == pytest.approx((0.1 + 0.2) / 2)
    assert float(t["ard_last_value"]) == pytest.approx((80 / 200 + 20 / 100) / 2)      # 120 both years
    assert float(t["ard_linear_trend"]) == pytest.approx((70 / 200 + 40 / 100) / 2)    # 130, 140
    assert float(t["skill_vs_last_value"]) == pytest.approx(1 - 0.15 / 0.3)
    assert int(t["years_calibration"]) == 3 and int(t["years_held_out"]) == 2
