"""Global sensitivity analysis (simulator/experiments/sensitivity.py): the parameter space, the designs and indices,
resuming, and the command `python run.py experiment=sensitivity`."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

import simulator.experiments.comparison
from simulator.experiments.comparison import run_key
from simulator.config import RunConfig, SensitivityConfig, SensitivityParameter, validate_run
from simulator.errors import ConfigError
from simulator.world.regions import one_city_world_path
from simulator.experiments.sensitivity import (analyse, experiment_base, morris_design, noise_share, run_cached,
                                               run_outputs, run_sensitivity, sobol_design, to_values,
                                               validate_sensitivity, with_values, write_sensitivity)

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"


def P(name: str, bounds: list, dist: str = "uniform", mean=None, sd=None) -> SensitivityParameter:
    return SensitivityParameter(name=name, bounds=bounds, dist=dist, mean=mean, sd=sd)


# --- the parameter space ------------------------------------------------------------------------------------------


def test_quantiles_map_into_the_bounds_through_each_distribution():
    space = [P("model.regular.fee_usd", [400, 3000]),
             P("model.decisions.credit_fraction", [0.1, 0.5], "normal", 0.3, 0.1),
             P("model.irregular.death_probability", [0.001, 0.05], "lognormal", 0.01, 0.8),
             P("model.regular.stay_months", [12, 48])]
    u = np.array([[0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5], [1.0, 1.0, 1.0, 1.0], [0.25, 0.9, 0.1, 0.33]])
    x = to_values(u, space)
    np.testing.assert_allclose(x[0], [400, 0.1, 0.001, 12])          # quantile 0: the lower bounds
    np.testing.assert_allclose(x[2], [3000, 0.5, 0.05, 48])          # quantile 1: the upper bounds
    np.testing.assert_allclose(x[1, :2], [1700, 0.3])                 # uniform middle; symmetric normal: its mean
    assert 0.0097 < x[1, 2] < 0.0099      # lognormal median 0.01, truncated more above (2.0 sd) than below (2.9 sd)
    assert x[3, 0] == pytest.approx(1050)
    assert np.all(x[:, 3] == np.round(x[:, 3]))                       # an integer parameter is rounded


BAD_SPACES = [
    pytest.param([P("model.irregular.death_probability", [0.0, 0.1]), P("model.irregular.death_prob", [0.0, 0.1])],
                 "sensitivity.parameters[1].name = 'model.irregular.death_prob'",
                 "did you mean model.irregular.death_probability", id="unknown-name"),
    pytest.param([P("model.irregular.death_probability", [0.0, 2.0])],
                 "sensitivity.parameters[0].bounds = [0.0, 2.0]", "allowed range of "
                 "model.irregular.death_probability: [0, 1] (probability per journey)", id="bounds-outside-range"),
    pytest.param([P("model.regular.fee_usd", [3000, 400])],
                 "sensitivity.parameters[0].bounds = [3000, 400]", "lower < upper", id="bounds-reversed"),
    pytest.param([P("model.regular.fee_usd", [400])],
                 "sensitivity.parameters[0].bounds = [400]", "[lower, upper]", id="one-bound"),
    pytest.param([P("model.regular.fee_usd", [400, 3000], "beta")],
                 "sensitivity.parameters[0].dist = 'beta'", "uniform, normal, lognormal", id="unknown-dist"),
    pytest.param([P("model.regular.fee_usd", [0, 3000], "lognormal")],
                 "sensitivity.parameters[0].bounds = [0, 3000]", "above 0", id="lognormal-from-zero"),
    pytest.param([P("model.regular.fee_usd", [400, 3000], "normal", 5000.0)],
                 "sensitivity.parameters[0].mean = 5000.0", "within the bounds", id="mean-outside"),
    pytest.param([P("model.regular.fee_usd", [400, 3000], "uniform", None, 3.0)],
                 "sensitivity.parameters[0].sd = 3.0", "uniform", id="sd-for-uniform"),
    pytest.param([P("model.regular.fee_usd", [400, 3000]), P("model.regular.fee_usd", [500, 900])],
                 "sensitivity.parameters[1].name = 'model.regular.fee_usd'", "not listed before", id="twice"),
    pytest.param([], "sensitivity.parameters = []", "non-empty", id="empty"),
]


@pytest.mark.parametrize("space,start,allowed", BAD_SPACES)
def test_a_bad_parameter_space_names_the_entry_the_value_and_what_is_allowed(space, start, allowed):
    with pytest.raises(ConfigError) as err:
        validate_sensitivity(SensitivityConfig(parameters=space))
    assert str(err.value).startswith(start), str(err.value)
    assert allowed in str(err.value), str(err.value)


@pytest.mark.parametrize("change,field", [({"outputs": ["irregular", "migrants"]}, "sensitivity.outputs[1]"),
                                          ({"sobol_samples": 100}, "sensitivity.sobol_samples"),
                                          ({"morris_levels": 5}, "sensitivity.morris_levels"),
                                          ({"methods": ["fast"]}, "sensitivity.methods"),
                                          ({"seeds": 0}, "sensitivity.seeds")])
def test_bad_settings_are_named(change, field):
    s = dataclasses.replace(SensitivityConfig(parameters=[P("model.regular.fee_usd", [400, 3000])]), **change)
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        validate_sensitivity(s)


# --- the designs and indices on a function with known answers -----------------------------------------------------


def test_the_indices_rank_the_inputs_of_a_known_function():
    """y = 10 x0 + x1 + 0 x2 on the unit cube: S1 = ST = 100/101, 1/101, 0 (no interactions); mu* = 10, 1, 0."""
    names = ["a", "b", "c"]
    s = SensitivityConfig(bootstrap=200)

    def f(x):
        return 10 * x[:, 0] + x[:, 1]

    x = sobol_design(names, 256, seed=0)
    assert x.shape == (256 * 5, 3)
    sobol = analyse("sobol", names, x, f(x), s)
    np.testing.assert_allclose(sobol["S1"][0], [100 / 101, 1 / 101, 0], atol=0.03)
    np.testing.assert_allclose(sobol["ST"][0], [100 / 101, 1 / 101, 0], atol=0.03)
    assert np.all(sobol["ST"][1] >= 0) and sobol["ST"][1][0] < 0.2   # confidence half-widths
    x = morris_design(names, 10, 4, seed=0)
    assert x.shape == (10 * 4, 3)
    morris = analyse("morris", names, x, f(x), s)
    np.testing.assert_allclose(morris["mu_star"][0], [10, 1, 0], atol=1e-9)
    assert np.all(np.isnan(morris["sigma"][1]))                      # SALib gives no interval for sigma
    flat = analyse("sobol", names, sobol_design(names, 8, seed=0), np.ones(8 * 5), s)
    assert np.all(np.isnan(flat["S1"][0]))                           # a constant output has nothing to apportion


def test_noise_share_separates_seed_noise_from_the_effect_of_the_parameters():
    rng = np.random.default_rng(0)
    signal = np.linspace(0, 10, 200)[:, None, None]
    common = rng.normal(0, 5, (1, 4, 1))                             # a seed's shock shared by all samples
    assert noise_share(signal + common)[0] == pytest.approx(0, abs=1e-12)
    noisy = signal + rng.normal(0, 3, (200, 4, 1))                   # sample-specific noise, sd 3, 4 seeds
    expected = (9 / 4) / (np.var(signal, ddof=1) + 9 / 4)
    assert noise_share(noisy)[0] == pytest.approx(expected, rel=0.25)
    assert np.isnan(noise_share(signal[:, :1] + 0 * common[:, :1]))[0]   # one seed: no estimate
    gaps = noisy.copy()
    gaps[::7, 0, 0] = np.nan                                         # a share undefined under one seed of a sample
    assert 0 < noise_share(gaps)[0] < 1


# --- a small analysis of the model: resumes after an interruption -------------------------------------------------


def tiny(cache: Path) -> RunConfig:
    s = SensitivityConfig(parameters=[P("model.decisions.asc_internal", [-7.0, -5.0]),
                                      P("model.decisions.credit_fraction", [0.1, 0.5], "normal", 0.3, 0.1)],
                          outputs=["internal", "trapped"], seeds=2, morris_trajectories=2, sobol_samples=4,
                          bootstrap=50, workers=1)
    return RunConfig(n_households=100, years=1, progress=False, sensitivity=s,
                     compare=dataclasses.replace(RunConfig().compare, cache_dir=str(cache)))


def test_a_small_analysis_resumes_after_an_interruption_and_writes_its_outputs(tmp_path, monkeypatch):
    cfg = tiny(tmp_path / "cache")
    total = 2 * (2 * 3 + 4 * 4)   # seeds x (Morris r (d + 1) + Sobol' N (d + 2)) = 44 runs
    real = simulator.experiments.comparison.simulate
    calls = []

    def interrupted(*args, **kwargs):
        if len(calls) == 15:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(simulator.experiments.comparison, "simulate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sensitivity(cfg, tmp_path / "cache", progress=False)
    assert len(list((tmp_path / "cache").glob("*/results.nc"))) == 15

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    calls.clear()
    monkeypatch.setattr(simulator.experiments.comparison, "simulate", counted)
    ds = run_sensitivity(cfg, tmp_path / "cache", progress=False)
    assert len(calls) == total - 15                                  # the finished runs are not run again
    calls.clear()
    again = run_sensitivity(cfg, tmp_path / "cache", progress=False)
    assert not calls
    xr.testing.assert_identical(ds.drop_attrs(), again.drop_attrs())   # the same samples, indices and intervals

    assert dict(ds["value"].sizes) == {"parameter": 2, "output": 2, "index": 5}
    assert ds["index"].values.tolist() == ["mu_star", "mu", "sigma", "S1", "ST"]
    assert ds["method"].values.tolist() == ["morris"] * 3 + ["sobol"] * 2
    assert ds["conf"].dims == ("parameter", "output", "index")
    assert dict(ds["sobol_outputs"].sizes) == {"sobol_sample": 16, "seed": 2, "output": 2}
    x = ds["sobol_inputs"].sel(parameter="model.decisions.asc_internal")
    assert float(x.min()) >= -7.0 and float(x.max()) <= -5.0
    # asc_internal drives internal moves; credit_fraction does not
    mu = ds["value"].sel(output="internal", index="mu_star")
    assert float(mu.sel(parameter="model.decisions.asc_internal")) > float(
        mu.sel(parameter="model.decisions.credit_fraction"))

    out = tmp_path / "out"
    path = write_sensitivity(ds, out)
    assert path == out / "sensitivity.nc"
    with xr.open_dataset(path, engine="netcdf4") as back:
        np.testing.assert_allclose(back["value"].values, ds["value"].values)
    for name in ("morris.png", "sobol.png"):
        assert (out / name).read_bytes()[:8] == PNG
    text = (out / "sensitivity.md").read_text()
    assert "model.decisions.asc_internal" in text and "internal moves" in text


def test_runs_made_while_the_world_changes_are_made_again_from_the_world_as_it_is_now(tmp_path, monkeypatch):
    """A world table edited while the runs go on files the later runs under new keys: all are then made anew."""
    world = tmp_path / "world"
    shutil.copytree(one_city_world_path(), world)
    cfg = RunConfig(n_households=50, years=0.5, progress=False, world=str(world), figures=False)
    configs = [dataclasses.replace(cfg, seed=seed) for seed in range(4)]
    real = simulator.experiments.comparison.simulate
    calls = []

    def editing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:   # during the second run, someone edits hazards.csv
            (world / "hazards.csv").write_text((world / "hazards.csv").read_text() + "\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(simulator.experiments.comparison, "simulate", editing)
    paths = run_cached(configs, tmp_path / "cache", workers=1, progress=False)
    assert all(path.is_file() for path in paths)
    assert paths == [tmp_path / "cache" / run_key(c) / "results.nc" for c in configs]   # keys of the world as it is
    assert len(calls) == 4 + 2   # runs 1-2 were filed under the old keys (run 2's before the edit): made again


# --- a contrast of two scenarios -----------------------------------------------------------------------------------

CONTRAST = ["obj2_resilience", "obj5_flexible_pathways"]


def test_a_contrast_is_the_difference_of_the_two_scenarios_paired_by_seed(tmp_path):
    """Each sample's contrast output is obj5_flexible_pathways minus obj2_resilience on the same seed, from the two
    scenarios' runs made separately (another cache) and read with run_outputs; the seed average is the mean of those
    differences, and for a share the difference of the shares pooled over the seeds."""
    outputs = ["trapped", "irregular", "irregular_share", "poorest_consumption"]
    s = SensitivityConfig(parameters=[P("model.decisions.credit_fraction", [0.1, 0.5])], contrast=CONTRAST,
                          outputs=outputs, methods=["morris"], seeds=2, morris_trajectories=2, bootstrap=50, workers=1)
    cfg = RunConfig(n_households=200, years=2, progress=False, sensitivity=s)   # the packages start in year 1
    ds = run_sensitivity(cfg, tmp_path / "cache", progress=False)
    n = ds.sizes["morris_sample"]
    assert n == 4 and ds.attrs["runs"] == 4 * 2 * 2
    assert ds["scenario"].values.tolist() == CONTRAST and ds.attrs["contrast"] == "obj5_flexible_pathways minus "\
        "obj2_resilience"
    assert ds["output_label"].sel(output="irregular").item() == ("obj5_flexible_pathways minus obj2_resilience: "
                                                                 "irregular departures")

    # each scenario on its own, under each seed, at each sample's parameter value
    alone, departures = {}, {}
    for name in CONTRAST:
        base = dataclasses.replace(experiment_base(cfg), scenario=name)
        configs = [with_values(base, {"model.decisions.credit_fraction": float(x)}, seed)
                   for x in ds["morris_inputs"].values[:, 0] for seed in (0, 1)]
        runs = [run_outputs(p) for p in run_cached(configs, tmp_path / "separately", workers=1, progress=False)]
        alone[name] = np.array([[r[o] for o in outputs] for r in runs]).reshape(n, 2, len(outputs))
        departures[name] = np.array([[r["irregular"], r["regular"]] for r in runs]).reshape(n, 2, 2).sum(axis=1)
    first, second = alone[CONTRAST[0]], alone[CONTRAST[1]]
    np.testing.assert_allclose(ds["morris_scenario_outputs"].sel(scenario=CONTRAST[0]).values, first)
    np.testing.assert_allclose(ds["morris_scenario_outputs"].sel(scenario=CONTRAST[1]).values, second)
    np.testing.assert_allclose(ds["morris_outputs"].values, second - first)             # paired seed by seed
    counts = [outputs.index(o) for o in ("trapped", "irregular", "poorest_consumption")]
    np.testing.assert_allclose(ds["morris_means"].values[:, counts], (second - first).mean(axis=1)[:, counts])
    # the share: irregular over international departures, each summed over the seeds, then differenced
    pooled = {name: 100 * d[:, 0] / d.sum(axis=1) for name, d in departures.items()}
    np.testing.assert_allclose(ds["morris_means"].sel(output="irregular_share").values,
                               pooled[CONTRAST[1]] - pooled[CONTRAST[0]])
    # pairing across different seeds would give other numbers: the check above can tell them apart
    crossed = second[:, ::-1] - first
    assert not np.allclose(ds["morris_outputs"].sel(output="trapped").values, crossed[:, :, 0])
    # the trapped difference is not all zero: the two packages differ, or the test would prove nothing
    assert np.abs(second - first)[:, :, 0].max() > 0

    write_sensitivity(ds, tmp_path / "out")
    assert (tmp_path / "out" / "morris.png").read_bytes()[:8] == PNG
    text = (tmp_path / "out" / "sensitivity.md").read_text()
    assert "contrast obj5_flexible_pathways minus obj2_resilience" in text
    d = ds["morris_means"].sel(output="trapped").values
    assert (f"obj5_flexible_pathways gives less than obj2_resilience in {100 * np.mean(d < 0):.0f}% of the samples, "
            f"more in {100 * np.mean(d > 0):.0f}%") in text


@pytest.mark.parametrize("contrast,start,allowed", [
    (["obj2_resilience"], "sensitivity.contrast = ['obj2_resilience']", "two distinct scenario names"),
    (["obj2_resilience", "obj5_flexible_pathways", "baseline"], "sensitivity.contrast = ['obj2_resilience', ",
     "two distinct scenario names"),
    (["obj2_resilience", "obj5_flexible"], "sensitivity.contrast[1] = 'obj5_flexible'",
     "(closest: obj5_flexible_pathways"),
    (["obj2_resilence", "obj5_flexible_pathways"], "sensitivity.contrast[0] = 'obj2_resilence'",
     "(closest: obj2_resilience"),
    (["obj2_resilience", "obj2_resilience"], "sensitivity.contrast = ['obj2_resilience', 'obj2_resilience']",
     "two distinct scenario names"),
    ("obj2_resilience", "sensitivity.contrast = 'obj2_resilience'", "[a, b]"),
])
def test_a_bad_contrast_names_the_field_the_value_and_what_is_allowed(contrast, start, allowed):
    s = SensitivityConfig(parameters=[P("model.decisions.credit_fraction", [0.1, 0.5])], contrast=contrast)
    with pytest.raises(ConfigError) as err:
        validate_sensitivity(s)
    assert str(err.value).startswith(start), str(err.value)
    assert allowed in str(err.value), str(err.value)


def calibration_space() -> dict[str, list[float]]:
    """The calibration's search bounds (simulator/experiments/validation.py SPACE), as dotted config names."""
    from simulator.experiments.validation import SPACE
    return {f"model.{k}": [float(b) for b in v] for k, v in SPACE.items()}


def test_the_choice_experiment_composes_and_spans_the_calibration_space():
    ConfigStore.instance().store(name="run_schema", node=RunConfig)
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = OmegaConf.to_object(compose(config_name="config", overrides=["experiment=sensitivity_choice"]))
    s = cfg.sensitivity
    assert cfg.mode == "sensitivity" and cfg.world is None                  # the default world
    assert s.contrast == CONTRAST and s.methods == ["morris"]
    assert s.outputs == ["irregular", "deaths", "expected_deaths", "trapped", "poorest_consumption"]
    space = {p.name: [float(b) for b in p.bounds] for p in s.parameters}
    expected = {**calibration_space(), "model.decisions.credit_fraction": [0.05, 0.6]}
    assert space == expected
    validate_sensitivity(s)                                                # every bound inside its allowed range
    validate_run(experiment_base(cfg))


# --- the command line -----------------------------------------------------------------------------------------------


def run_cli(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *overrides, f"hydra.run.dir={tmp_path / 'run'}",
                           f"compare.cache_dir={tmp_path / 'cache'}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_sensitivity_experiment_from_the_command_line(tmp_path):
    result = run_cli(tmp_path, "experiment=sensitivity", "n_households=200", "years=2", "sensitivity.seeds=1",
                     "sensitivity.morris_trajectories=2", "sensitivity.sobol_samples=4", "sensitivity.bootstrap=50",
                     "sensitivity.outputs=[irregular,deaths,trapped,internal]")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    assert str(run / "sensitivity.nc") in result.stdout
    with xr.open_dataset(run / "sensitivity.nc", engine="netcdf4") as ds:
        assert ds.sizes["parameter"] == 6 and ds.sizes["output"] == 4
        assert "model.irregular.death_probability" in ds["parameter"].values
        assert ds.attrs["runs"] == 2 * 7 + 4 * 8
    for name in ("morris.png", "sobol.png"):
        assert (run / name).read_bytes()[:8] == PNG
    assert len(list((tmp_path / "cache").glob("*/results.nc"))) == 2 * 7 + 4 * 8


@pytest.mark.slow
@pytest.mark.parametrize("entry,expected", [
    ("{name: model.irregular.death_prob, bounds: [0, 0.1]}",
     ["sensitivity.parameters[0].name = 'model.irregular.death_prob'", "model.irregular.death_probability"]),
    ("{name: model.irregular.death_probability, bounds: [0, 2]}",
     ["sensitivity.parameters[0].bounds = [0.0, 2.0]", "[0, 1] (probability per journey)"]),
])
def test_a_bad_entry_stops_the_command_with_one_line(tmp_path, entry, expected):
    result = run_cli(tmp_path, "experiment=sensitivity", f"sensitivity.parameters=[{entry}]")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in expected:
        assert fragment in lines[0], lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_misspelt_contrast_stops_the_command_with_one_line_naming_the_closest(tmp_path):
    result = run_cli(tmp_path, "experiment=sensitivity_choice", "sensitivity.contrast=[obj2_resilience,obj5_flexibl]")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: sensitivity.contrast[1] = 'obj5_flexibl'"), result.stderr
    assert "closest: obj5_flexible_pathways" in lines[0], lines[0]
    assert not list((tmp_path / "cache").glob("*/results.nc"))
