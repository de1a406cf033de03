"""Emulation (simulator/experiments/emulate.py): levers and their checks, the designs, the emulators on a known
function, saving and loading, design points as runnable configs, and the command `python run.py experiment=emulate`."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import xarray as xr

from simulator.config import EmulateConfig, EmulateLever, RunConfig
from simulator.errors import ConfigError, InputError
from simulator.experiments.emulate import (FORMAT, Emulator, Lever, check_emulate, designs, load_emulator,
                                           make_levers, point_config, r2_score, run_emulate, run_point, to_unit,
                                           to_values, validate_emulate, write_emulate)
from simulator.policy.scenarios import load_scenario

from test_sensitivity import ROOT, run_cli

PNG = b"\x89PNG\r\n\x1a\n"

L = EmulateLever
LEVERS = [L("interventions.fee_subsidy.share", [0.0, 1.0]), L("interventions.quota_expansion.factor", [1.0, 4.0]),
          L("model.decisions.credit_fraction", [0.1, 0.5])]


def known(u: np.ndarray) -> np.ndarray:
    """A smooth function of three levers on the unit cube, with an interaction and a lever of little effect."""
    return 10 * u[:, 0] + 5 * np.sin(3 * u[:, 1]) + 4 * u[:, 0] * u[:, 1] + 0.2 * u[:, 2]


# --- levers and settings ------------------------------------------------------------------------------------------


BAD = [
    pytest.param({"levers": [L("interventions.fee_subsidy.shares", [0, 1])]},
                 "emulate.levers[0].name = 'interventions.fee_subsidy.shares'", "did you mean "
                 "interventions.fee_subsidy.share", id="unknown-setting"),
    pytest.param({"levers": [L("interventions.adaptation.coverage", [0, 1.5])]},
                 "emulate.levers[0].bounds = [0, 1.5]", "allowed range of interventions.adaptation.coverage: [0, 1]",
                 id="bounds-outside-range"),
    pytest.param({"levers": [L("model.decisions.asc_irregular", [-6, -7])]},
                 "emulate.levers[0].bounds = [-6, -7]", "lower < upper", id="bounds-reversed"),
    pytest.param({"levers": [L("model.decisions.credit_fraction", [0.1, 0.2])] * 2},
                 "emulate.levers[1].name = 'model.decisions.credit_fraction'", "not listed before", id="repeated"),
    pytest.param({"levers": []}, "emulate.levers = []", "a non-empty list of levers", id="no-levers"),
    pytest.param({"outputs": ["irregular", "death"]}, "emulate.outputs[1] = 'death'", "one of irregular",
                 id="unknown-output"),
    pytest.param({"design": "grid"}, "emulate.design = 'grid'", "sobol", id="design"),
    pytest.param({"samples": 100}, "emulate.samples = 100", "a power of 2", id="sobol-not-power-of-2"),
    pytest.param({"test_samples": 1}, "emulate.test_samples = 1", "an integer of at least 2", id="test-samples"),
    pytest.param({"seeds": 0}, "emulate.seeds = 0", "an integer of at least 1", id="seeds"),
    pytest.param({"emulators": ["gp", "krige"]}, "emulate.emulators = ['gp', 'krige']", "gp and/or gbt",
                 id="emulator-kind"),
    pytest.param({"interval": 1.0}, "emulate.interval = 1.0", "a number in (0, 1)", id="interval"),
    pytest.param({"start_year": -1}, "emulate.start_year = -1", "at least 0", id="start-year"),
    pytest.param({"interventions": {"adaptation": {"regions": "everywhere"}}},
                 "emulate.interventions.adaptation.regions = 'everywhere'", "a list of origin names",
                 id="fixed-setting"),
    pytest.param({"interventions": {"adaptaton": {}}}, "emulate.interventions = 'adaptaton'",
                 "one of the registered interventions", id="fixed-unknown-intervention"),
    pytest.param({"levers": [L("interventions.adaptation[1].coverage", [0, 0.8])],
                  "interventions": {"adaptation": [{"regions": ["Delta Coast"]}]}},
                 "emulate.levers[0].name = 'interventions.adaptation[1].coverage'",
                 "a list of at least 2 entries", id="entry-beyond-the-list"),
    pytest.param({"levers": [L("interventions.adaptation.coverage", [0, 0.8])],
                  "interventions": {"adaptation": [{"regions": ["Delta Coast"]}, {"regions": ["Highlands"]}]}},
                 "emulate.levers[0].name = 'interventions.adaptation.coverage'",
                 "interventions.adaptation[k].coverage, naming the entry k", id="list-without-entry"),
    pytest.param({"levers": [L("interventions.adaptation[0].coverage", [0, 0.8])],
                  "interventions": {"adaptation": [{"regions": "everywhere"}]}},
                 "emulate.interventions.adaptation[0].regions = 'everywhere'", "a list of origin names",
                 id="list-entry-setting"),
    pytest.param({"point": 160}, "emulate.point = 160", "a design point 0..159 (the 128 training points, then the "
                 "32 held-out ones)", id="point-beyond-the-design"),
    pytest.param({"point": -1}, "emulate.point = -1", "a design point 0..159", id="point-negative"),
]


@pytest.mark.parametrize("change, start, allowed", BAD)
def test_bad_settings_name_the_field_the_value_and_what_is_allowed(change, start, allowed):
    cfg = RunConfig(n_households=100, years=1, emulate=dataclasses.replace(EmulateConfig(levers=LEVERS), **change))
    with pytest.raises(ConfigError) as info:
        check_emulate(cfg)
    assert str(info.value).startswith(start), str(info.value)
    assert allowed in str(info.value), str(info.value)


def test_values_map_to_the_unit_cube_and_back_and_outside_the_bounds_are_refused():
    levers = make_levers(LEVERS + [L("interventions.skill_eligibility.min_skill", [0, 2])])
    assert [lv.integer for lv in levers] == [False, False, False, True]
    u = np.array([[0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.3], [1.0, 1.0, 1.0, 1.0]])
    x = to_values(u, levers)
    np.testing.assert_allclose(x, [[0, 1, 0.1, 0], [0.5, 2.5, 0.3, 1], [1, 4, 0.5, 2]])
    np.testing.assert_allclose(to_unit(x[:, :3], levers[:3]), u[:, :3])
    with pytest.raises(ConfigError, match=r"interventions.quota_expansion.factor = 5.0 .* bounds \[1, 4\]"):
        to_unit([[0.5, 5.0, 0.3]], levers[:3])


def test_the_designs_depend_on_the_sample_seed_alone_and_fill_the_cube():
    e = EmulateConfig(levers=LEVERS, samples=64, test_samples=16)
    train, test = designs(e, 3)
    again = designs(e, 3)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(test, again[1])
    assert train.shape == (64, 3) and test.shape == (16, 3)
    # every tenth of every lever's range holds training points (a space-filling design, not a clump)
    assert all(len(np.unique(np.floor(train[:, j] * 10))) == 10 for j in range(3))
    # a Latin hypercube: one held-out point in each sixteenth of each lever's range
    assert all(sorted(np.floor(test[:, j] * 16).astype(int)) == list(range(16)) for j in range(3))
    other = designs(dataclasses.replace(e, sample_seed=1), 3)[0]
    assert not np.allclose(train, other)


# --- the emulators on a known function ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, least_r2, least_coverage", [("gp", 0.99, 0.7), ("gbt", 0.9, 0.0)])
def test_the_emulator_recovers_a_known_function_of_the_levers(kind, least_r2, least_coverage):
    """Tolerance: fitted on 64 Sobol' points of a smooth function of three levers and scored on 64 Latin-hypercube
    points, the GP's R² measured 0.99999994 and gradient boosting's 0.96 (a sum of steps needs more points); the
    thresholds leave room for library changes, not for a broken fit. With noise of sd 0.3 added, the GP's 90%
    intervals covered 81% of 64 new noisy values (at least 70%: 64 draws at a true 85% fall below 70% about once in
    2,000); gradient boosting's quantile intervals covered 61%, too narrow on a design this small, so only the GP's
    coverage is asserted."""
    levers = make_levers(LEVERS)
    train, test = designs(EmulateConfig(levers=LEVERS, samples=64, test_samples=64), 3)
    em = Emulator.fit(levers, {"y": known(train)}, train, kinds={"y": kind})
    mean, sd = em.predict(to_values(test, levers))
    assert r2_score(known(test), mean[:, 0]) >= least_r2
    assert np.all(sd >= 0)
    rng = np.random.default_rng(0)
    noisy = Emulator.fit(levers, {"y": known(train) + rng.normal(0, 0.3, len(train))}, train, kinds={"y": kind})
    lower, upper = noisy.predict_interval(to_values(test, levers))
    assert np.all(lower <= upper)
    truth = known(test) + rng.normal(0, 0.3, len(test))
    assert np.mean((truth >= lower[:, 0]) & (truth <= upper[:, 0])) >= least_coverage


def test_a_saved_emulator_reloads_and_predicts_the_same(tmp_path):
    levers = make_levers(LEVERS)
    train, test = designs(EmulateConfig(levers=LEVERS, samples=32, test_samples=8), 3)
    em = Emulator.fit(levers, {"a": known(train), "b": train[:, 1] ** 2}, train, kinds={"a": "gp", "b": "gbt"},
                      base=RunConfig(n_households=100, years=1))
    path = em.save(tmp_path / "emulator.joblib")
    again = load_emulator(path)
    x = to_values(test, levers)
    for got, expected in zip(again.predict(x) + again.predict_interval(x), em.predict(x) + em.predict_interval(x)):
        np.testing.assert_array_equal(got, expected)
    assert again.lever_names == [lv.name for lv in LEVERS]
    np.testing.assert_array_equal(again.bounds, [[0, 1], [1, 4], [0.1, 0.5]])
    by_name = dict(zip(again.lever_names, x.T))
    np.testing.assert_array_equal(again.predict(by_name)[0], em.predict(x)[0])
    assert not list(tmp_path.glob(".*tmp"))   # written atomically: no temporary file left
    # a standard pickle, whose arrays load without joblib's wrapper (which sets each array's shape in place, deprecated
    # in NumPy 2.5); a file in joblib's format, as earlier versions wrote, still loads
    import pickle
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(pickle.load(handle)["emulator"].predict(x)[0], em.predict(x)[0])
    joblib.dump({**pickle.loads(path.read_bytes()), "note": "joblib's format"}, tmp_path / "old.joblib")
    with warnings.catch_warnings():   # joblib's format warns once per array under NumPy 2.5: why save no longer uses it
        warnings.simplefilter("ignore", DeprecationWarning)
        old = load_emulator(tmp_path / "old.joblib")
    np.testing.assert_array_equal(old.predict(x)[0], em.predict(x)[0])


def test_a_file_of_another_format_version_is_refused(tmp_path):
    path = tmp_path / "old.joblib"
    joblib.dump({"format": FORMAT, "format_version": 0, "simulator_version": "0.0.1", "emulator": None}, path)
    with pytest.raises(InputError, match="format version 0 .* reads format version 1 only"):
        load_emulator(path)
    joblib.dump({"something": "else"}, path)
    with pytest.raises(InputError, match="is not an emulator saved by"):
        load_emulator(path)


# --- design points as runs ------------------------------------------------------------------------------------------


def test_a_point_is_a_scenario_file_with_its_lever_values_and_the_same_point_is_the_same_file(tmp_path):
    levers = make_levers(LEVERS)
    base = RunConfig(n_households=100, years=1)
    cfg = point_config(base, levers, [0.25, 3.0, 0.2], {"fee_subsidy": {"start_year": 2}}, 1.0, tmp_path, seed=3)
    assert cfg.seed == 3 and cfg.model.decisions.credit_fraction == pytest.approx(0.2)
    scenario = load_scenario(cfg.scenario)
    settings = {iv.name: iv for iv in scenario.interventions}
    assert settings["fee_subsidy"].share == 0.25 and settings["fee_subsidy"].start_year == 2
    assert settings["quota_expansion"].factor == 3.0 and settings["quota_expansion"].start_year == 1
    again = point_config(base, levers, [0.25, 3.0, 0.4], {"fee_subsidy": {"start_year": 2}}, 1.0, tmp_path)
    assert again.scenario == cfg.scenario   # the model parameter is in the config, not the scenario file
    assert len(list(tmp_path.glob("*.yaml"))) == 1


def test_a_tiny_experiment_end_to_end_is_reproducible_and_resumes_from_the_cache(tmp_path):
    cfg = RunConfig(n_households=100, years=2, progress=False, emulate=EmulateConfig(
        levers=[L("interventions.social_protection.transfer_usd", [0, 80]),
                L("interventions.quota_expansion.factor", [1.0, 3.0])],
        outputs=["regular", "cost"], samples=8, test_samples=4, seeds=2, workers=2))
    ds, em = run_emulate(cfg, tmp_path / "cache", progress=False)
    assert ds.attrs["runs"] == 2 * (8 + 4)
    assert set(ds["chosen"].values) <= {"gp", "gbt"}
    assert ds["r2"].dims == ("emulator", "output")
    assert ds["coverage"].shape == (2, 2)
    assert np.all((ds["coverage"].values >= 0) & (ds["coverage"].values <= 1))
    mean, _ = em.predict([[0.0, 1.0]])
    path = write_emulate(ds, em, tmp_path / "out")
    for name in ("emulator.joblib", "emulate.md"):
        assert (tmp_path / "out" / name).is_file()
    for name in ("validation.png", "design.png"):
        assert (tmp_path / "out" / name).read_bytes()[:8] == PNG
    with xr.open_dataset(path, engine="netcdf4") as saved:
        assert saved.attrs["simulator_version"] and saved.attrs["sample_seed"] == 0
        np.testing.assert_array_equal(saved["train_outputs"].values, ds["train_outputs"].values)
    np.testing.assert_array_equal(load_emulator(tmp_path / "out" / "emulator.joblib").predict([[0.0, 1.0]])[0],
                                  mean)
    # the same settings with one worker: every run from the cache, the same numbers
    again, _ = run_emulate(dataclasses.replace(cfg, emulate=dataclasses.replace(cfg.emulate, workers=1)),
                           tmp_path / "cache", progress=False)
    for name in ("train_outputs", "test_outputs", "test_mean", "r2"):
        np.testing.assert_array_equal(again[name].values, ds[name].values)
    # a point of the design reruns as a plain run with the same outcome
    from simulator.experiments.emulate import run_outcomes
    from simulator.experiments.comparison import cached_run
    point = em.run_config(ds["train_inputs"].isel(sample=0).values, tmp_path / "cache" / "scenarios", seed=1)
    rerun = run_outcomes(cached_run(point, tmp_path / "cache"))
    assert rerun["regular"] == float(ds["train_outputs"].sel(output="regular").isel(sample=0, seed=1))


def test_a_lever_per_district_sets_its_own_entry_of_a_list_of_interventions(tmp_path):
    """`emulate.interventions` gives adaptation as a list (one district each) and the levers name the entries: a
    design point runs one adaptation per district, each with its own coverage and cost."""
    fixed = {"adaptation": [{"regions": ["Delta Coast"]}, {"regions": ["Highlands"]}]}
    entries = [L("interventions.adaptation[0].coverage", [0.0, 0.8]),
               L("interventions.adaptation[1].coverage", [0.0, 0.8]), L("interventions.fee_subsidy.share", [0, 1])]
    levers = make_levers(entries)
    assert [lv.units for lv in levers[:2]] == [levers[0].units] * 2 and levers[0].units.startswith("share")
    cfg = RunConfig(n_households=300, years=1, progress=False,
                    emulate=EmulateConfig(levers=entries, interventions=fixed, samples=4))
    check_emulate(cfg)
    point = point_config(RunConfig(n_households=300, years=1, progress=False), levers, [0.2, 0.6, 0.5], fixed, 0.0,
                         tmp_path / "scenarios")
    definition = load_scenario(point.scenario).definition()["interventions"]
    assert [(e["regions"], e["coverage"]) for e in definition["adaptation"]] == [(["Delta Coast"], 0.2),
                                                                                   (["Highlands"], 0.6)]
    assert definition["fee_subsidy"]["share"] == 0.5
    from simulator.experiments.runner import simulate
    ds = simulate(point)
    cost = ds["intervention_cost"].sum("time")
    assert float(cost.sel(intervention="adaptation")) > 0 and float(cost.sel(intervention="adaptation[1]")) > 0
    # 0.2 of Delta Coast's households (750,000 in the world) cost less than 0.6 of the Highlands' (450,000)
    assert float(cost.sel(intervention="adaptation")) < float(cost.sel(intervention="adaptation[1]"))


def cache_entries(cache) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if (p / "entry.json").is_file())


def test_a_sweep_over_the_design_points_fills_the_cache_that_the_experiment_then_reads(tmp_path):
    """`emulate.point` runs one design point under the run's seed into the cache (one job of a sweep, on any
    launcher); the experiment with the same settings then computes no run, and its numbers are those it computes
    alone. A point or seed mapped to the wrong run would leave the experiment runs to compute."""
    e = EmulateConfig(levers=[L("interventions.social_protection.transfer_usd", [0, 80])], outputs=["regular", "cost"],
                      samples=4, test_samples=2, seeds=2, emulators=["gp"], workers=1)
    cfg = RunConfig(n_households=100, years=1, progress=False, emulate=e)
    cache = tmp_path / "cache"
    for point in range(6):
        for seed in range(2):
            assert run_point(dataclasses.replace(cfg, seed=seed, emulate=dataclasses.replace(e, point=point)),
                             cache).is_file()
    entries = cache_entries(cache)
    assert len(entries) == 12
    ds, _ = run_emulate(cfg, cache, progress=False)
    assert cache_entries(cache) == entries   # every run of the experiment was in the cache
    alone, _ = run_emulate(cfg, tmp_path / "fresh", progress=False)
    for name in ("train_outputs", "test_outputs", "r2"):
        np.testing.assert_array_equal(ds[name].values, alone[name].values)
    with pytest.raises(ConfigError, match=r"^seed = 2 .*a seed of the design, 0\.\.1"):
        run_point(dataclasses.replace(cfg, seed=2, emulate=dataclasses.replace(e, point=0)), cache)


# --- the command line ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_sweep_of_design_points_from_the_command_line_then_the_fit(tmp_path):
    common = ["experiment=emulate", "n_households=100", "years=1", "emulate.samples=4", "emulate.test_samples=2",
              "emulate.seeds=1", "emulate.outputs=[regular,cost]"]
    sweep = subprocess.run([sys.executable, str(ROOT / "run.py"), "-m", *common, "emulate.point=range(0,6)",
                            f"hydra.sweep.dir={tmp_path / 'sweep'}", f"compare.cache_dir={tmp_path / 'cache'}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert sweep.returncode == 0, sweep.stderr
    assert len(list((tmp_path / "sweep").glob("*/results.nc"))) == 6
    assert "6 runs of the emulation's design are in the result cache" in sweep.stdout
    assert not (tmp_path / "sweep" / "sweep.nc").exists()   # design points are not packages to compare
    entries = cache_entries(tmp_path / "cache")
    assert len(entries) == 6
    fit = run_cli(tmp_path, *common)
    assert fit.returncode == 0, fit.stderr
    assert cache_entries(tmp_path / "cache") == entries   # the fit found every run of the sweep
    with xr.open_dataset(tmp_path / "run" / "emulator.nc", engine="netcdf4") as ds:
        assert ds.attrs["runs"] == 6
    refused = subprocess.run([sys.executable, str(ROOT / "run.py"), "-m", *common, "emulate.point=0", "seed=0,1",
                              f"hydra.sweep.dir={tmp_path / 'sweep2'}", f"compare.cache_dir={tmp_path / 'cache'}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and refused.stderr.startswith("error: seed = 1 "), refused.stderr
    assert "a seed of the design, 0..0" in refused.stderr



@pytest.mark.slow
def test_the_emulate_experiment_from_the_command_line(tmp_path):
    result = run_cli(tmp_path, "experiment=emulate", "n_households=150", "years=1", "emulate.samples=8",
                     "emulate.test_samples=4", "emulate.seeds=1", "emulate.outputs=[regular,cost]")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    assert f"dataset: {run / 'emulator.nc'}" in result.stdout
    with xr.open_dataset(run / "emulator.nc", engine="netcdf4") as ds:
        assert ds.sizes["lever"] == 9 and ds.attrs["runs"] == 12
    assert load_emulator(run / "emulator.joblib").outputs == ["regular", "cost"]


def test_a_bad_lever_stops_the_command_with_one_line(tmp_path):
    result = run_cli(tmp_path, "experiment=emulate", "emulate.levers=[{name: interventions.adaptation.coverag, "
                     "bounds: [0, 1]}]")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: emulate.levers[0].name"), result.stderr
    assert "did you mean interventions.adaptation.coverage" in lines[0]
    assert not (tmp_path / "run").exists()
