"""Calibration (simulator/experiments/calibration.py): the moments, the objective, the settings, recovering known
parameters, resuming from the cache, the commands `python run.py experiment=calibrate_moments` (with the config it
writes) and `experiment=calibrate` (the validation cases as the objective)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

import simulator.experiments.comparison
from simulator.experiments.calibration import (MOMENTS, PENALTY, case_overrides, held_out_check, held_out_lines,
                                               objective, pooled, run_calibration, run_parts, simulated_moments,
                                               validate_calibration, write_calibration)
from simulator.config import CalibrationConfig, CalibrationParameter, MomentTarget, RunConfig
from simulator.errors import ConfigError
from simulator.params import DecisionParams
from simulator.model.outputs import write_netcdf

ROOT = Path(__file__).resolve().parent.parent


# --- the moments ----------------------------------------------------------------------------------------------------


def synthetic_run(path: Path, n_households: int = 500) -> Path:
    """24 months, 2 districts; month 0-11 (the burn-in below) hold numbers that must not count."""
    t, o = 24, 2
    emigrants = np.zeros((t, o, 3))
    emigrants[:12] = 1000.0                       # burn-in: ignored
    emigrants[12:, 0, 0] = 2.0                     # internal: 24 in the measured year
    emigrants[12:, 1, 1] = 0.5                     # regular: 6
    emigrants[12:, 1, 2] = 0.25                    # irregular: 3
    away = np.zeros((t, o, 3))
    away[12:, 0, 0] = 40.0                         # 40 + 10 migrants away in each measured month
    away[12:, 1, 1] = 10.0
    remittances = np.zeros((t, o))
    remittances[12:, 0] = 5000.0                   # USD a month: 100 USD per migrant
    applications = np.zeros((t, o))
    applications[12:, 1] = 1.0                     # 12 in the year
    trapped = np.zeros((t, o))
    trapped[12:, 0] = 5.0                          # 5 of 500 households each month: 1%
    aspiring = np.zeros((t, o, 3))
    aspiring[:12] = 1000.0
    aspiring[12:, 0, 0] = 7.0                      # aspiring to a city: not counted
    aspiring[12:, 1, 1] = 20.0                     # 20 + 10 aspiring to go abroad, 6 queued, each month: 36
    aspiring[12:, 1, 2] = 10.0
    queue = np.zeros((t, o))
    queue[12:, 1] = 6.0
    by_group = np.zeros((t, 3, 2, 3, 3))
    by_group[:12] = 1000.0
    by_group[12:, 1, 0, 0, 0] = 0.5                # 6 regular and 3 irregular migrants leave in the year: 9
    by_group[12:, 2, 1, 1, 1] = 0.25
    ds = xr.Dataset({"emigrants": (("time", "origin", "pathway"), emigrants),
                     "migrants_away": (("time", "origin", "pathway"), away),
                     "remittances": (("time", "origin"), remittances),
                     "applications": (("time", "origin"), applications),
                     "trapped": (("time", "origin"), trapped),
                     "aspiring": (("time", "origin", "pathway"), aspiring),
                     "visa_queue": (("time", "origin"), queue),
                     "emigrants_by_group": (("time", "pathway", "sex", "age_group", "skill"), by_group)},
                    coords={"time": np.arange(t), "origin": ["A", "B"],
                            "pathway": ["internal", "regular", "irregular"]},
                    attrs={"n_households": n_households})
    return write_netcdf(ds, path)


def test_each_moment_matches_its_definition_computed_by_hand(tmp_path):
    parts = run_parts(synthetic_run(tmp_path / "a.nc"), burn_in_months=12)
    m = pooled([parts])
    assert m["internal_move_rate"] == pytest.approx(24 / 500 * 1000)       # per 1,000 households a year
    assert m["regular_departures_per_1000"] == pytest.approx(6 / 500 * 1000)
    assert m["irregular_departures_per_1000"] == pytest.approx(3 / 500 * 1000)
    assert m["applications_per_1000"] == pytest.approx(12 / 500 * 1000)
    assert m["irregular_share"] == pytest.approx(100 * 3 / 9)
    assert m["remittances_per_migrant"] == pytest.approx(100.0)
    assert m["trapped_share"] == pytest.approx(1.0)
    assert m["aspiration_ratio"] == pytest.approx(36.0 / 9.0)   # a monthly stock of 36 against 9 leaving a year
    assert set(m) == set(MOMENTS)
    # pooled over runs: sums of numerators over sums of denominators (a run of 1,000 households, same flows)
    m2 = pooled([parts, run_parts(synthetic_run(tmp_path / "b.nc", 1000), burn_in_months=12)])
    assert m2["internal_move_rate"] == pytest.approx(48 / 1500 * 1000)
    assert m2["irregular_share"] == pytest.approx(100 * 3 / 9)


def test_the_objective_is_the_weighted_sum_of_squared_relative_errors():
    targets = [MomentTarget("internal_move_rate", 40.0, 1.0), MomentTarget("irregular_share", 20.0, 2.0)]
    assert objective({"internal_move_rate": 44.0, "irregular_share": 15.0}, targets) == pytest.approx(
        0.1 ** 2 + 2 * 0.25 ** 2)
    assert objective({"internal_move_rate": 40.0, "irregular_share": math.nan}, targets) == PENALTY


# --- the settings ---------------------------------------------------------------------------------------------------


def calibration(**changes) -> RunConfig:
    c = CalibrationConfig(parameters=[CalibrationParameter("model.decisions.asc_internal", [-10.0, -4.0])],
                          targets=[MomentTarget("internal_move_rate", 30.0)])
    return RunConfig(years=5, calibration=dataclasses.replace(c, **changes))


BAD = [
    pytest.param({"parameters": [CalibrationParameter("model.decisions.asc_intern", [-8.0, -4.0])]},
                 "calibration.parameters[0].name = 'model.decisions.asc_intern'", "did you mean", id="unknown-name"),
    pytest.param({"parameters": [CalibrationParameter("model.decisions.asc_internal", [-80.0, -4.0])]},
                 "calibration.parameters[0].bounds = [-80.0, -4.0]", "[-50, 50]", id="bounds-outside"),
    pytest.param({"parameters": [CalibrationParameter("model.decisions.asc_internal", [-8.0, -4.0], -2.0)]},
                 "calibration.parameters[0].start = -2.0", "within the bounds [-8, -4]", id="start-outside"),
    pytest.param({"parameters": [CalibrationParameter("model.decisions.asc_internal", [-5.0, -4.0])]},
                 "calibration.parameters[0].start = None",
                 f"the config's value {DecisionParams().asc_internal:g} is outside", id="default-outside"),
    pytest.param({"targets": [MomentTarget("internal_moves", 30.0)]},
                 "calibration.targets[0].name = 'internal_moves'", "internal_move_rate", id="unknown-moment"),
    pytest.param({"targets": [MomentTarget("internal_move_rate", 0.0)]},
                 "calibration.targets[0].value = 0.0", "above 0", id="zero-target"),
    pytest.param({"targets": [MomentTarget("internal_move_rate", 30.0, 0.0)]},
                 "calibration.targets = ['internal_move_rate']", "weight > 0", id="no-weight"),
    pytest.param({"burn_in_years": 5.0}, "calibration.burn_in_years = 5.0", "at least one month", id="burn-in"),
    pytest.param({"method": "bfgs"}, "calibration.method = 'bfgs'", "nelder-mead, differential-evolution",
                 id="method"),
    pytest.param({"seeds": 0}, "calibration.seeds = 0", "at least 1", id="seeds"),
    pytest.param({"held_out_seed_sets": -1}, "calibration.held_out_seed_sets = -1", "at least 0", id="held-out"),
    pytest.param({"held_out_seed_sets": 1}, "calibration.held_out_seed_sets = 1", "0, or at least 2",
                 id="one-held-out-set"),
    pytest.param({"objective": "cases"}, "calibration.objective = 'cases'", "moments, validation", id="objective"),
    pytest.param({"objective": "validation"}, "calibration.targets = ['internal_move_rate']",
                 "validation cases' published figures", id="validation-with-targets"),
]


@pytest.mark.parametrize("changes,start,allowed", [
    pytest.param({"world": "one_city"}, "world = 'one_city'", "the world, climate and labour outlook its design", id="world"),
    pytest.param({"climate_outlook": "severe"}, "climate_outlook = 'severe'", "null with", id="outlook"),
    pytest.param({"scenario": "combined"}, "scenario = 'combined'", "null or baseline", id="scenario"),
    pytest.param({"n_households": 2000}, "n_households = 2000", "each case sets its own size", id="size"),
    pytest.param({"years": 8.0}, "years = 8.0", "unset (20)", id="years"),
    pytest.param({"calibration": CalibrationConfig(objective="validation", burn_in_years=1.0)},
                 "calibration.burn_in_years = 1.0", "unset (2)", id="burn-in"),
    pytest.param({"calibration": CalibrationConfig(objective="validation", seeds=1)}, "calibration.seeds = 1",
                 "at least 2 with calibration.objective validation", id="one-seed"),
])
def test_the_validation_objective_refuses_settings_its_cases_fix(changes, start, allowed):
    cfg = dataclasses.replace(RunConfig(calibration=CalibrationConfig(
        objective="validation", parameters=[CalibrationParameter("model.decisions.beta_income", [2.0, 4.0])])),
        **changes)
    if "calibration" in changes:
        cfg.calibration.parameters = [CalibrationParameter("model.decisions.beta_income", [2.0, 4.0])]
    with pytest.raises(ConfigError) as err:
        validate_calibration(cfg)
    assert str(err.value).startswith(start), str(err.value)
    assert allowed in str(err.value), str(err.value)


@pytest.mark.parametrize("changes,start,allowed", BAD)
def test_bad_settings_name_the_entry_the_value_and_what_is_allowed(changes, start, allowed):
    with pytest.raises(ConfigError) as err:
        validate_calibration(calibration(**changes))
    assert str(err.value).startswith(start), str(err.value)
    assert allowed in str(err.value), str(err.value)


# --- recovering known parameters ------------------------------------------------------------------------------------

TRUTH = {"model.decisions.asc_internal": -5.6, "model.abroad.city_remittance_share": 0.55}


def small_world(cache: Path, **calibration_changes) -> RunConfig:
    c = CalibrationConfig(seeds=2, burn_in_years=1.0, workers=1)
    return RunConfig(n_households=300, years=3, progress=False,
                     calibration=dataclasses.replace(c, **calibration_changes),
                     compare=dataclasses.replace(RunConfig().compare, cache_dir=str(cache)))


@pytest.mark.slow
def test_calibration_recovers_parameters_from_data_the_model_generated(tmp_path):
    """Targets are the model's own moments at known values (300 households, 3 years, seeds 0-1); the calibration
    starts away from them (asc_internal -6.5 instead of -5.6, city_remittance_share 0.3 instead of 0.55) and must
    find them again.

    Tolerances. The objective is exactly 0 at the truth (the same seeds), but it is a step function of the
    parameters: the internal move rate counts about 65 moves in the pooled target, and for a logit with small
    probabilities d log(rate) / d asc is about 1, so one move more or less is about 0.015 of asc_internal; the
    remittances per migrant also shift by about 1% when the set of movers changes, which is worth about 0.01 of
    city_remittance_share. Nelder-Mead stops when its simplex spans 1% of each range (0.04 and 0.008). Four truths
    and starts gave errors of at most 0.005 and 0.012. The tolerances, 0.05 of asc_internal (1.25% of its range)
    and 0.03 of city_remittance_share (3.75% of its range), are a few such steps.
    """
    cache = tmp_path / "cache"
    targets = simulated_moments(small_world(cache), TRUTH, cache)
    cfg = small_world(cache, parameters=[
        CalibrationParameter("model.decisions.asc_internal", [-8.0, -4.0], start=-6.5),
        CalibrationParameter("model.abroad.city_remittance_share", [0.1, 0.9], start=0.3)],
        targets=[MomentTarget("internal_move_rate", targets["internal_move_rate"]),
                 MomentTarget("remittances_per_migrant", targets["remittances_per_migrant"])],
        max_evaluations=100)
    result = run_calibration(cfg, cache, progress=False)
    fitted = {p["name"]: p["fitted"] for p in result["parameters"]}
    assert fitted["model.decisions.asc_internal"] == pytest.approx(-5.6, abs=0.05)
    assert fitted["model.abroad.city_remittance_share"] == pytest.approx(0.55, abs=0.03)
    assert result["optimizer"]["converged"]
    assert result["objective"] < 1e-3 < result["objective_at_start"]
    for m in result["moments"]:
        assert abs(m["relative_error"]) < 0.02, m
    assert result["evaluations"] <= 100 and result["runs"] == 2 * result["evaluations"]


def quick(cache: Path, method: str = "nelder-mead") -> RunConfig:
    return RunConfig(n_households=100, years=2, progress=False, calibration=CalibrationConfig(
        parameters=[CalibrationParameter("model.decisions.asc_internal", [-8.0, -4.0], start=-7.0)],
        targets=[MomentTarget("internal_move_rate", 40.0)], seeds=1, burn_in_years=0.0, method=method, popsize=5,
        max_evaluations=10, workers=1))


def test_a_rerun_replays_the_candidates_from_the_cache(tmp_path, monkeypatch):
    first = run_calibration(quick(tmp_path), tmp_path, progress=False)
    assert 1 < first["evaluations"] <= 10

    def no_run(*args, **kwargs):
        raise AssertionError("simulated a candidate that was in the cache")

    monkeypatch.setattr(simulator.experiments.comparison, "simulate", no_run)
    again = run_calibration(quick(tmp_path), tmp_path, progress=False)
    assert again["trace"] == first["trace"]       # the objective is a deterministic function of the parameters
    assert again["parameters"] == first["parameters"]


def test_differential_evolution_runs_each_generation_as_one_batch(tmp_path, monkeypatch):
    batches = []
    real = simulator.experiments.calibration.run_cached

    def recorded(configs, *args, **kwargs):
        batches.append(len(configs))
        return real(configs, *args, **kwargs)

    monkeypatch.setattr(simulator.experiments.calibration, "run_cached", recorded)
    result = run_calibration(quick(tmp_path, "differential-evolution"), tmp_path, progress=False)
    assert result["optimizer"]["method"] == "differential-evolution"
    assert result["evaluations"] <= 10 and max(batches) > 1
    assert result["objective"] <= result["objective_at_start"]


# --- the command line -----------------------------------------------------------------------------------------------


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_the_calibrate_experiment_writes_a_config_that_reproduces_the_fit(tmp_path):
    run, cache = tmp_path / "run", tmp_path / "cache"
    size = ["n_households=200", "years=3"]
    result = run_cli(tmp_path, "experiment=calibrate_moments", *size, "calibration.seeds=2",
                     "calibration.burn_in_years=1", "calibration.max_evaluations=12", f"hydra.run.dir={run}",
                     f"compare.cache_dir={cache}")
    assert result.returncode == 0, result.stderr
    assert str(run / "calibration.json") in result.stdout
    fit = json.loads((run / "calibration.json").read_text())
    assert [p["name"] for p in fit["parameters"]] == ["model.decisions.asc_internal",
                                                      "model.decisions.asc_regular", "model.decisions.asc_irregular"]
    assert {m["name"] for m in fit["moments"]} == {"internal_move_rate", "applications_per_1000",
                                                   "irregular_departures_per_1000"}
    assert fit["evaluations"] <= 12 and fit["objective"] <= fit["objective_at_start"]
    for m in fit["moments"]:
        assert m["relative_error"] == pytest.approx((m["fitted"] - m["target"]) / m["target"])
    assert (run / "calibration_trace.png").read_bytes()[:4] == b"\x89PNG"
    assert "experiment=calibrated" in (run / "calibration.md").read_text()

    # the documented command uses the calibrated model ...
    shown = run_cli(tmp_path, "--config-dir", str(run), "experiment=calibrated", "--cfg", "job")
    assert shown.returncode == 0, shown.stderr
    job = yaml.safe_load(shown.stdout)
    assert job["mode"] == "run"
    for p in fit["parameters"]:
        group, key = p["name"].split(".")[1:]
        assert job["model"][group][key] == p["fitted"]
    # ... and that model, run as the calibration ran it, gives the fitted moments again
    calibrated = yaml.safe_load((run / "experiment" / "calibrated.yaml").read_text())
    values = {f"model.{g}.{k}": v for g, keys in calibrated["model"].items() for k, v in keys.items()}
    assert calibrated["world"] == "one_city"   # the experiment's world, kept with the fit
    cfg = RunConfig(n_households=200, years=3.0, progress=False, world=calibrated["world"],
                    calibration=CalibrationConfig(seeds=2, burn_in_years=1.0, workers=1))
    again = simulated_moments(cfg, values, cache)
    for m in fit["moments"]:
        assert again[m["name"]] == m["fitted"]
    one = run_cli(tmp_path, "--config-dir", str(run), "experiment=calibrated", "scenario=baseline", *size,
                  f"hydra.run.dir={tmp_path / 'one'}")
    assert one.returncode == 0, one.stderr
    assert (tmp_path / "one" / "results.nc").is_file()


def test_write_calibration_files(tmp_path):
    result = run_calibration(quick(tmp_path / "cache"), tmp_path / "cache", progress=False)
    path = write_calibration(result, tmp_path / "out")
    assert json.loads(path.read_text())["objective"] == result["objective"]
    text = (tmp_path / "out" / "experiment" / "calibrated.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    assert yaml.safe_load(text)["model"]["decisions"]["asc_internal"] == result["parameters"][0]["fitted"]


# --- the validation cases as the objective --------------------------------------------------------------------------


def test_the_calibrate_experiment_searches_the_box_the_defaults_were_calibrated_in():
    """configs/experiment/calibrate.yaml: the validation objective over validation.SPACE, starting from the defaults
    (every default inside its bounds)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    from simulator.experiments.validation import SEARCH_SEEDS, SPACE
    ConfigStore.instance().store(name="run_schema", node=RunConfig)
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = OmegaConf.to_object(compose(config_name="config", overrides=["experiment=calibrate"]))
    c = cfg.calibration
    assert cfg.mode == "calibrate" and c.objective == "validation" and c.targets == []
    assert {p.name: [float(b) for b in p.bounds] for p in c.parameters} == {
        f"model.{k}": [float(b) for b in v] for k, v in SPACE.items()}
    assert all(p.start is None for p in c.parameters)
    assert c.seeds == len(SEARCH_SEEDS) and c.held_out_seed_sets >= 2
    validate_calibration(cfg)


def test_case_overrides_are_the_parameters_that_differ_from_the_defaults():
    cfg = dataclasses.replace(calibration(objective="validation", targets=[]))
    cfg.model.decisions.credit_fraction = 0.4                      # set in the config: applies to every case
    got = case_overrides(cfg, {"model.decisions.beta_income": 3.0, "model.decisions.aspiration_months": 50.4,
                               "model.decisions.asc_internal": DecisionParams().asc_internal})
    assert got == {"decisions.beta_income": 3.0, "decisions.aspiration_months": 50, "decisions.credit_fraction": 0.4}
    assert isinstance(got["decisions.aspiration_months"], int)


@pytest.mark.slow
def test_the_validation_objective_scores_the_cases_in_parallel_and_resumes(tmp_path, monkeypatch):
    """One candidate (the defaults but beta_income) on seeds 0-1: the figures computed by the calibration's workers
    (one task per experiment, on 2 processes) are those `validation.figures` computes in this process (with
    RUNS_PER_SEED runs a seed), and its objective is their penalty; the held-out check scores it on seeds 2-3 and 4-5;
    a rerun reads everything from the cache without running an experiment."""
    from simulator.experiments import validation
    cfg = RunConfig(progress=False, calibration=CalibrationConfig(
        objective="validation", seeds=2, max_evaluations=1, workers=2, held_out_seed_sets=2,
        parameters=[CalibrationParameter("model.decisions.beta_income", [2.0, 4.0], start=3.3)]))
    result = run_calibration(cfg, tmp_path, progress=False)
    made = []
    real_model = validation._model
    monkeypatch.setattr(validation, "_model", lambda *a, **kw: made.append(1) or real_model(*a, **kw))
    expected = validation.figures({"decisions.beta_income": 3.3}, seeds=(0, 1))
    assert len(made) == 2 * validation.RUNS_PER_SEED
    assert result["evaluations"] == 1 and result["runs"] == 2 * validation.RUNS_PER_SEED
    fitted = {m["name"]: m["fitted"] for m in result["cases"]}
    assert fitted == expected
    assert set(fitted) == set(validation.FIGURES)
    assert result["objective"] == validation.penalty(expected) == result["objective_at_start"]
    held = result["held_out"]   # the start (here the fit too) on seeds the search did not see
    assert held["seed_sets"] == [[2, 3], [4, 5]] and held["start"] == held["fitted"]
    assert held["difference_mean"] == 0 and held["z"] == 0
    monkeypatch.undo()
    assert "## The validation cases" in write_calibration(result, tmp_path / "out").with_name(
        "calibration.md").read_text()

    def no_run(*args, **kwargs):
        raise AssertionError("ran an experiment of a candidate that was in the cache")

    monkeypatch.setattr(validation, "experiment_figures", no_run)
    again = run_calibration(cfg, tmp_path, progress=False)
    assert again["trace"] == result["trace"] and again["cases"] == result["cases"]
    assert again["held_out"] == result["held_out"]


def test_the_held_out_check_pairs_the_start_and_the_fit_on_seeds_the_search_did_not_see():
    """`held_out_check` with a stand-in objective: on seed set k (seeds 3k..3k+2) the start scores 1 + k / 10 and the
    fit 0.2 less, plus 0.01 k^2; the result is the paired differences' mean and SE, computed here by hand."""
    asked = []

    def scores(thetas, on):
        asked.append((list(thetas), list(on)))
        k = on[0] // 3
        return [(1 + k / 10, None), (1 + k / 10 - 0.2 + 0.01 * k * k, None)]

    h = held_out_check([(0.0,), (1.0,)], 3, 3, scores)
    assert [on for _, on in asked] == [[3, 4, 5], [6, 7, 8], [9, 10, 11]] == h["seed_sets"]
    assert all(thetas == [(0.0,), (1.0,)] for thetas, _ in asked)
    diff = np.array([-0.2 + 0.01 * k * k for k in (1, 2, 3)])
    assert h["difference_mean"] == pytest.approx(diff.mean())
    assert h["difference_se"] == pytest.approx(diff.std(ddof=1) / math.sqrt(3))
    assert h["z"] == pytest.approx(diff.mean() / (diff.std(ddof=1) / math.sqrt(3))) and h["z"] < -2
    assert h["start_sd"] == pytest.approx(0.1)
    assert held_out_check([(0.0,), (1.0,)], 0, 3, scores) is None
    lines = "\n".join(held_out_lines(h))
    assert "3 other sets of 3 seeds (3-5 to 9-11)" in lines and "better than the start beyond" in lines
