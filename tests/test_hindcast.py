"""The hindcast (simulator/experiments/hindcast.py): the skill metrics on known numbers, the annual sums by year
basis, the harness end to end on each shipped world at a small size, a user-dropped series, and the experiment
config composing."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from simulator.config import CalibrationParameter, HindcastConfig, RunConfig
from simulator.errors import ConfigError
from simulator.experiments.hindcast import (ard, annual, markdown, naive_last_value, naive_linear_trend,
                                            run_hindcast, skill_table, validate_hindcast, write_hindcast)
from simulator.world.tables import world_folder

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.mark.parametrize("basis, years, sums", [
    ("calendar", [2015, 2016], [12.0, 12.0]),
    ("us_fiscal", [2016], [12.0]),     # Oct 2015 - Sep 2016; FY2015 and FY2017 are incomplete
    ("bd_fiscal", [2016], [12.0]),     # Jul 2015 - Jun 2016
])
def test_annual_sums_complete_years_of_the_basis(basis, years, sums):
    t = xr.date_range("2015-01-01", periods=24, freq="MS", use_cftime=False)
    monthly = xr.DataArray(np.ones(24), dims="time", coords={"time": t})
    got = annual(monthly, basis)
    assert got["year"].values.tolist() == years and got.values.tolist() == sums


def test_annual_labels_fiscal_year_by_its_end():
    t = xr.date_range("2015-01-01", periods=36, freq="MS", use_cftime=False)
    monthly = xr.DataArray(np.arange(36.0), dims="time", coords={"time": t})   # month index 0 = Jan 2015
    got = annual(monthly, "us_fiscal")
    assert float(got.sel(year=2016)) == sum(range(9, 21))   # Oct 2015 (9) .. Sep 2016 (20)


# --- the harness ----------------------------------------------------------------------------------------------------


def small(world: str | Path, **hindcast) -> RunConfig:
    """Few households and seeds, a short fit: the harness end to end in seconds."""
    settings = dict(calibration_end=2016, spin_up_years=1, seeds=2, max_evaluations=3, workers=1,
                    parameters=[CalibrationParameter("model.decisions.asc_regular", [-8.0, -4.0])]) | hindcast
    return RunConfig(world=str(world), n_households=150, years=4, start_year=2015, progress=False,
                     hindcast=HindcastConfig(**settings))


@pytest.mark.parametrize("world, scored", [
    ("bangladesh", {"bmet_departures_total", "remittances", "remittances_fiscal_year"}),
    ("guatemala", {"remittances", "us_border_apprehensions_guatemalan", "h2a_visas_guatemalan"}),
])
def test_harness_end_to_end(tmp_path, world, scored):
    ds = run_hindcast(small(world), tmp_path / "cache", progress=False)
    assert scored <= set(ds["series"].values.tolist())
    assert set(SKILL) <= set(ds.data_vars)
    for name in ("observed", "simulated_mean", "simulated_low", "simulated_high", "naive_last_value",
                 "naive_linear_trend"):
        assert ds[name].dims == ("series", "year")
    assert ds["simulated"].dims == ("series", "seed", "year") and ds.sizes["seed"] == 2
    assert ds["year"].values.tolist() == [2015, 2016, 2017, 2018]
    assert ds["period"].values.tolist() == ["calibration", "calibration", "held_out", "held_out"]
    assert (ds["simulated_low"] <= ds["simulated_mean"] + 1e-9).where(np.isfinite(ds["simulated_mean"])).all()
    assert np.isnan(ds["naive_last_value"].sel(year=[2015, 2016])).all()     # naive forecasts: held-out years only
    assert 1 <= ds.attrs["fit_evaluations"] <= 3
    assert ds.attrs["fit_objective"] <= ds.attrs["fit_objective_at_start"]
    assert "model.decisions.asc_regular" in json.loads(ds.attrs["fitted"])
    path = write_hindcast(ds, tmp_path / "out")
    with xr.open_dataset(path) as back:
        assert set(SKILL) <= set(back.data_vars)
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert "hindcast.md" in names and all(f"hindcast_{s}.png" in names for s in scored)
    text = markdown(ds)
    assert "## Skill" in text and "model beats last value" in text


def test_user_dropped_series_is_loaded_and_a_new_year_is_scored(tmp_path):
    folder = tmp_path / "guatemala"
    shutil.copytree(world_folder("guatemala"), folder)
    observed = folder / "observed"
    before = run_hindcast(small(folder, max_evaluations=0), tmp_path / "cache", progress=False)
    (observed / "newer.csv").write_text(
        "series,year,value,units,year_basis,source,quote,note\n"
        "h2a_visas_guatemalan,2017,3000,visas/year,us_fiscal,https://example.org/dos,a quote,a test figure\n"
        "h2b_visas_guatemalan,2017,900,visas/year,us_fiscal,https://example.org/dos,a quote,a test figure\n",
        encoding="utf-8")
    after = run_hindcast(small(folder, max_evaluations=0), tmp_path / "cache", progress=False)
    assert int(after["years_held_out"].sel(series="h2a_visas_guatemalan")) == 2   # FY2018 published, FY2017 added
    assert int(before["years_held_out"].sel(series="h2a_visas_guatemalan")) == 1
    assert "h2b_visas_guatemalan" in json.loads(after.attrs["not_scored"])   # loaded, listed, not mapped


@pytest.mark.parametrize("change, field", [
    (dict(calibration_end=2018), "hindcast.calibration_end"),
    (dict(calibration_end=2014), "hindcast.calibration_end"),
    (dict(seeds=0), "hindcast.seeds"),
    (dict(spin_up_years=-1), "hindcast.spin_up_years"),
    (dict(band=[95.0, 5.0]), "hindcast.band"),
    (dict(parameters=[CalibrationParameter("model.decisions.asc_nosuch", [0.0, 1.0])]),
     "hindcast.parameters[0].name"),
    (dict(parameters=[CalibrationParameter("model.decisions.asc_regular", [-90.0, 1.0])]),
     "hindcast.parameters[0].bounds"),
])
def test_bad_settings_name_the_field(change, field):
    with pytest.raises(ConfigError) as err:
        validate_hindcast(small("guatemala", **change))
    assert err.value.field == field


def test_experiment_config_composes():
    ConfigStore.instance().store(name="run_schema", node=RunConfig)
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = OmegaConf.to_object(compose(config_name="config", overrides=["experiment=hindcast"]))
    assert cfg.mode == "hindcast" and cfg.world == "bangladesh" and cfg.hindcast.calibration_end == 2019
    validate_hindcast(cfg)


def test_bangladesh_events_close_malaysia_from_december_2018():
    """The dated events of the Bangladesh hindcast (scenarios/worlds/bangladesh/hindcast_events.yaml) act through an
    intervention: no place is granted in Malaysia while its market is closed (from December 2018: departures went
    on until 30 November), and places are granted before."""
    from simulator.experiments.runner import simulate

    events = ROOT / "scenarios" / "worlds" / "bangladesh" / "hindcast_events.yaml"
    ds = simulate(RunConfig(world="bangladesh", scenario=str(events), n_households=3000, years=15, start_year=2005,
                            progress=False))
    granted = ds["channel_granted"].sel(channel="Malaysia labour migration")
    assert float(granted.sel(time=slice("2018-12", "2019-12")).sum()) == 0
    assert float(granted.sel(time=slice("2005-01", "2018-11")).sum()) > 0


@pytest.mark.slow
def test_the_command_runs_a_hindcast_and_names_what_it_wrote(tmp_path):
    """`python run.py experiment=hindcast world=guatemala` at a tiny size: writes hindcast.nc (with its skill table),
    hindcast.md and the figures, and ends by naming them."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "experiment=hindcast", "world=guatemala",
                          "n_households=200", "hindcast.seeds=2", "hindcast.max_evaluations=2",
                          "hindcast.spin_up_years=1", f"hydra.run.dir={tmp_path / 'run'}",
                          f"compare.cache_dir={tmp_path / 'cache'}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    folder = tmp_path / "run"
    assert f"report: {folder / 'hindcast.md'}" in out.stdout and f"dataset: {folder / 'hindcast.nc'}" in out.stdout
    with xr.open_dataset(folder / "hindcast.nc") as ds:
        assert set(SKILL) <= set(ds.data_vars)
    assert list(folder.glob("hindcast_*.png"))
