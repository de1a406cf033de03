"""Optimisation (simulator/experiments/optimise.py): NSGA-II on synthetic problems with known optima, the choice of
portfolios, the checks of the settings, and a tiny experiment end to end (emulators fitted, searched, re-run with the
model, compared with a package; then again from the saved emulators and the cache)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import xarray as xr

from simulator.config import EmulateConfig, EmulateLever, OptimiseConfig, RunConfig
from simulator.errors import ConfigError
from simulator.experiments.comparison import compare
from simulator.experiments.optimise import (GROUPS, budget_ladder, change_sentence, check_optimise, chosen_points,
                                            compare_groups, dominates, gain_text, ladder_findings, ladder_sentence,
                                            marginal_gains, match_package, nsga2, optimise_experiment)
from simulator.present.report import _fmt, read_front, write_report

from test_sensitivity import run_cli

PNG = b"\x89PNG\r\n\x1a\n"
L = EmulateLever


# --- the search on problems with known optima ---------------------------------------------------------------------


def test_nsga2_finds_the_known_constrained_optimum_of_a_linear_problem():
    # maximise x0 + 2 x1 (minimise its negative) with x0 + x1 <= 1 on the unit square: the optimum is (0, 1), -2.
    # Tolerance 0.02 in the objective: 40 x 60 evaluations of a 2-variable problem (assumption, measured ~0.001).
    X, F, G = nsga2(lambda x: (-(x[:, :1] + 2 * x[:, 1:]), x.sum(1, keepdims=True) - 1), 2, 1, 1, 40, 60, 0)
    best = int(np.argmin(F[:, 0]))
    assert F[best, 0] == pytest.approx(-2.0, abs=0.02)
    np.testing.assert_allclose(X[best], [0.0, 1.0], atol=0.02)
    assert np.all(G <= 1e-9)


def test_nsga2_finds_the_known_pareto_front_of_a_two_objective_problem_under_a_budget():
    # f1 = |x - a|^2, f2 = |x - b|^2 with a = (0.2, 0.2), b = (0.8, 0.8): the Pareto set is the segment from a to b;
    # the budget x0 + x1 <= 1 cuts it at (0.5, 0.5), where f2 is least: 2 * 0.3^2 = 0.18.
    a, b = np.array([0.2, 0.2]), np.array([0.8, 0.8])

    def evaluate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.column_stack([((x - a) ** 2).sum(1), ((x - b) ** 2).sum(1)]), x.sum(1, keepdims=True) - 1.0)

    X, F, G = nsga2(evaluate, 2, 2, 1, 40, 80, 0)
    assert np.all(G <= 1e-9)
    # the true front: f = (0.72 t^2, 0.72 (1 - t)^2) for t in [0, 0.5]; every point found within 0.01 of it in the
    # objectives (measured: at most 0.006 for seeds 0-2 and 80 or 150 generations)
    t = np.linspace(0, 0.5, 2001)
    true = np.column_stack([0.72 * t ** 2, 0.72 * (1 - t) ** 2])
    assert np.linalg.norm(F[:, None, :] - true[None], axis=2).min(axis=1).max() < 0.01
    along = (X - a) @ (b - a) / ((b - a) @ (b - a))
    assert along.max() <= 0.5 + 1e-6        # none beyond the budget
    assert F[:, 0].min() == pytest.approx(0.0, abs=0.005)   # both ends of the front found
    assert F[:, 1].min() == pytest.approx(0.18, abs=0.01)
    X2, F2, _ = nsga2(evaluate, 2, 2, 1, 40, 80, 0)         # the same seed, the same front
    np.testing.assert_array_equal(F2, F)


def test_dominance_the_chosen_portfolios_and_the_match_of_a_package():
    assert dominates(np.array([1.0, 1.0]), np.array([1.0, 2.0]))
    assert not dominates(np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    F = np.array([[0.0, 9.0], [9.0, 0.0], [2.0, 2.0], [1.0, 8.0]])
    assert chosen_points(F, ["a", "b"]) == [("best a", 0), ("best b", 1), ("balanced", 2)]
    assert match_package(F, np.array([3.0, 3.0])) == 2            # the only row that dominates (3, 3)
    assert match_package(F, np.array([0.5, 8.5])) == 0            # none dominates: the least largest relative excess


# --- the budget ladder on a problem with known answers ---------------------------------------------------------------

# Four levers on [0, 1], off at 0, each costing 1 million USD at 1: two of Objective 2 (a, b), two of Objective 5 (c,
# d). Three linear objectives, all lowered from 10: A falls most with a (an Objective 2 lever), B with c (Objective
# 5), C with a at first and with c and d together beyond 1 million USD. The best within a budget spends it on the
# levers of the largest weights first, so every answer is known.
WEIGHTS = np.array([[3.0, 1.0, 0.5, 0.0],     # A
                    [0.2, 0.0, 2.0, 1.0],     # B
                    [2.0, 0.0, 1.0, 1.5]])    # C
MOVES = np.array([[True, True, True, True], [True, True, False, False], [False, False, True, True]])   # all, 2, 5
BUDGETS = [0.5, 1.0, 2.0, 4.0]
KNOWN = np.array([  # (budget, group: all, Objective 2, Objective 5, objective: A, B, C)
    [[8.5, 9.0, 9.0], [8.5, 9.9, 9.0], [9.75, 9.0, 9.25]],
    [[7.0, 8.0, 8.0], [7.0, 9.8, 8.0], [9.5, 8.0, 8.5]],
    [[6.0, 7.0, 6.5], [6.0, 9.8, 8.0], [9.5, 7.0, 7.5]],
    [[5.5, 6.8, 5.5], [6.0, 9.8, 8.0], [9.5, 7.0, 7.5]]])


def toy(values: np.ndarray, ks) -> tuple[np.ndarray, np.ndarray]:
    return 10.0 - values @ WEIGHTS[list(ks)].T, values.sum(axis=1)


def test_the_budget_ladder_finds_the_known_best_of_each_group_at_each_budget():
    assert GROUPS == ("all", "obj2", "obj5")
    values, F, cost = budget_ladder(toy, np.zeros(4), np.ones(4), np.zeros(4), MOVES, BUDGETS, 3, 8, 10, 0)
    # tolerance 1e-6: the genetic search then SLSQP from its best reach the vertex optima (measured within 1e-10 for
    # seeds 0-2 at population 8, 10 generations)
    np.testing.assert_allclose(F, KNOWN, atol=1e-6)
    assert np.all(cost <= np.array(BUDGETS)[:, None, None] + 1e-9)                     # within each budget
    assert np.all(values[:, 1, :, 2:] == 0) and np.all(values[:, 2, :, :2] == 0)     # the other group's levers off
    assert np.all(np.diff(F, axis=0) <= 0)                                           # never worse with more money
    assert np.all(F[:, 0] <= F[:, 1:].min(axis=1))                                   # all levers never worse
    gains = marginal_gains(np.full(3, 10.0), F, BUDGETS)
    np.testing.assert_allclose(gains[:, 0, 0], [3.0, 3.0, 1.0, 0.25], atol=1e-5)   # A with all levers, per million
    np.testing.assert_allclose(gains[:, 2, 1], [2.0, 2.0, 1.0, 0.0], atol=1e-5)    # B with Objective 5's


def test_objective_2_against_objective_5_and_the_sentences():
    # the known answers with predictive intervals of +-0.1: A is Objective 2's at every budget, B Objective 5's, C
    # Objective 2's up to 1 million USD and Objective 5's from 2; a raised objective compares the other way
    pair = np.moveaxis(KNOWN[:, 1:], 1, 0)
    advantage, better = compare_groups(pair, pair - 0.1, pair + 0.1, np.ones(3))
    np.testing.assert_allclose(advantage[:, 0], [1.25, 2.5, 3.5, 3.5])
    assert better.T.tolist() == [["obj2"] * 4, ["obj5"] * 4, ["obj2", "obj2", "obj5", "obj5"]]
    assert compare_groups(pair, pair - 0.1, pair + 0.1, -np.ones(3))[1][0, 0] == "obj5"
    _, close = compare_groups(pair, pair - 2.0, pair + 2.0, np.ones(3))          # wide intervals: overlapping
    assert set(close.ravel()) == {"neither"}
    assert ladder_sentence("A", BUDGETS, list(better[:, 0])) == "A: Objective 2 levers do better at every budget."
    assert ladder_sentence("C", BUDGETS, list(better[:, 2])) == ("C: Objective 2 levers do better up to 1 million USD; "
                                                                 "Objective 5 levers do better from 2 million USD.")
    assert ladder_sentence("D", BUDGETS, ["neither", "obj5", "obj5", "neither"]) == (
        "D: the two cannot be told apart up to 0.5 million USD; Objective 5 levers do better from 1 to 2 million "
        "USD; the two cannot be told apart from 4 million USD.")
    gains = marginal_gains(np.full(3, 10.0), KNOWN, BUDGETS)[:, 0, 0]                # A, all levers: 3, 3, 1, 0.25
    assert gain_text(gains, BUDGETS) == ("the first 0.5 million USD buy 3.00 per million; beyond 2 million USD, under "
                                         "a tenth of that")
    assert change_sentence("severe", BUDGETS, list(better[:, 0]), list(better[:, 0])) == (
        "Under the severe outlook the answer is the same at every budget.")
    assert change_sentence("severe", BUDGETS, list(better[:, 2]), ["obj2", "neither", "obj5", "obj5"]) == (
        "Under the severe outlook it changes at 1 million USD (Objective 2 to neither).")


def test_levers_on_entries_of_a_list_belong_to_their_interventions_objective():
    from simulator.experiments.emulate import Lever
    from simulator.experiments.optimise import lever_groups
    moves, off = lever_groups([Lever("interventions.adaptation[1].coverage", 0.0, 0.8, "share"),
                               Lever("interventions.quota_expansion[0].factor", 1.0, 4.0, "factor"),
                               Lever("interventions.adaptation.coverage", 0.0, 0.8, "share")], ["a", "b", "c"])
    assert moves.tolist() == [[True, True, True], [True, False, True], [False, True, False]]
    assert off.tolist() == [0.0, 1.0, 0.0]


# --- settings -------------------------------------------------------------------------------------------------------


TINY_EMULATE = EmulateConfig(
    levers=[L("interventions.social_protection.transfer_usd", [0, 80]),
            L("interventions.quota_expansion.factor", [1.0, 3.0])],
    outputs=["irregular", "expected_deaths", "trapped", "cost", "poorest_consumption"], samples=8, test_samples=2,
    seeds=1, emulators=["gp"], workers=2)

BAD = [
    pytest.param({"outlooks": ["current", "sever"]}, "optimise.outlooks[1] = 'sever'", "one of current, mild, severe",
                 id="unknown-outlook"),
    pytest.param({"outlooks": []}, "optimise.outlooks = []", "a non-empty list", id="no-outlooks"),
    pytest.param({"aggregate": "max"}, "optimise.aggregate = 'max'", "worst", id="aggregate"),
    pytest.param({"emulators": {"mild": "x.joblib"}}, "optimise.emulators.mild = 'x.joblib'",
                 "one of optimise.outlooks", id="emulator-of-another-outlook"),
    pytest.param({"emulators": {"current": "/nonexistent/emulator.joblib"}}, "optimise.emulators.current",
                 "an existing emulator.joblib", id="emulator-missing"),
    pytest.param({"budget_musd": 0}, "optimise.budget_musd = 0", "a positive number", id="budget"),
    pytest.param({"objectives": ["irregular", "cost"]}, "optimise.objectives[1] = 'cost'", "one of irregular",
                 id="cost-as-objective"),
    pytest.param({"population": 2}, "optimise.population = 2", "at least 4", id="population"),
    pytest.param({"seeds": 1}, "optimise.seeds = 1", "at least 2", id="seeds"),
    pytest.param({"packages": ["combined", "nosuch"]}, "optimise.packages[1] = 'nosuch'", "a scenario of",
                 id="package"),
    pytest.param({"interval": 0}, "optimise.interval = 0", "a number in (0, 1)", id="interval"),
    pytest.param({"ladder_musd": [4.0, 2.0]}, "optimise.ladder_musd = [4.0, 2.0]", "budgets in increasing order",
                 id="ladder-order"),
    pytest.param({"ladder_musd": [2.0, -1.0]}, "optimise.ladder_musd[1] = -1.0", "a positive number of million USD",
                 id="ladder-budget"),
]


@pytest.mark.parametrize("change, start, allowed", BAD)
def test_bad_settings_name_the_field_the_value_and_what_is_allowed(change, start, allowed):
    cfg = RunConfig(n_households=100, years=1, emulate=TINY_EMULATE,
                    optimise=dataclasses.replace(OptimiseConfig(), **change))
    with pytest.raises(ConfigError) as info:
        check_optimise(cfg)
    assert str(info.value).startswith(start), str(info.value)
    assert allowed in str(info.value), str(info.value)


def test_a_lever_whose_bounds_exclude_its_off_value_is_refused_when_there_is_a_ladder():
    levers = [TINY_EMULATE.levers[0], L("interventions.quota_expansion.factor", [1.5, 3.0])]
    cfg = RunConfig(n_households=100, years=1, emulate=dataclasses.replace(TINY_EMULATE, levers=levers))
    with pytest.raises(ConfigError, match=r"^emulate.levers\[1\].bounds = \[1.5, 3.0\] .*include 1, its off value.*"
                                          r"optimise.ladder_musd=\[\]"):
        check_optimise(cfg)
    check_optimise(dataclasses.replace(cfg, optimise=OptimiseConfig(ladder_musd=[])))   # no ladder: allowed


def test_the_emulation_must_give_the_objectives_and_the_cost():
    cfg = RunConfig(n_households=100, years=1, emulate=dataclasses.replace(TINY_EMULATE, outputs=["irregular"]))
    with pytest.raises(ConfigError,
                       match=r"emulate.outputs .*expected_deaths, trapped, poorest_consumption, cost missing"):
        check_optimise(cfg)


# --- end to end -----------------------------------------------------------------------------------------------------


def test_a_tiny_experiment_end_to_end_and_again_from_its_saved_emulators(tmp_path):
    cfg = RunConfig(n_households=100, years=2, progress=False, emulate=TINY_EMULATE, optimise=OptimiseConfig(
        outlooks=["current", "severe"], budget_musd=0.05, ladder_musd=[0.05], population=12, generations=10, seeds=2,
        packages=["obj2_social_protection"], workers=2))
    out = tmp_path / "out"
    out.mkdir()
    path = optimise_experiment(cfg, out, tmp_path / "cache")
    for name in ("optimise.md", "emulators/current/emulator.joblib", "emulators/severe/emulator.joblib"):
        assert (out / name).is_file(), name
    assert (out / "front.png").read_bytes()[:8] == PNG
    with xr.open_dataset(path, engine="netcdf4") as ds:
        ds = ds.load()
    assert ds.attrs["simulator_version"] and ds.attrs["pymoo_version"]
    assert np.all(ds["predicted_cost"].values <= 0.05 + 1e-9)      # the budget holds, as emulated
    assert set(ds["kind"].values) <= {"portfolio", "matched", "package"}
    assert ds["model_runs"].sizes == {"item": ds.sizes["item"], "outlook": 2, "seed": 2, "outcome": 5}
    assert np.all(ds["model_lower"] <= ds["model_mean"]) and np.all(ds["model_mean"] <= ds["model_upper"])
    portfolios = ds["kind"].values != "package"
    assert np.all(np.isfinite(ds["emulated_mean"].values[portfolios]))
    # the package: dominated by a re-run portfolio at no more cost, or the report says where its match is worse
    package = list(ds["kind"].values).index("package")
    assert ds["dominated_by"].values[package] or ds["worse_in"].values[package]
    text = (out / "optimise.md").read_text(encoding="utf-8")
    assert "| obj2_social_protection |" in text and "Emulator against model" in text
    # the budget ladder: its variables, labelled dims and units, and its section and figure
    assert (out / "ladder.png").read_bytes()[:8] == PNG
    assert ds["ladder_best"].dims == ("outlook", "budget", "group", "objective")
    assert ds["ladder_levers"].dims == ("outlook", "budget", "group", "objective", "lever")
    assert list(ds["group"].values) == ["all", "obj2", "obj5"] and ds["budget"].values.tolist() == [0.05]
    assert ds["budget"].attrs["units"] == "million USD" and ds["ladder_gain"].attrs["units"].startswith("irregular: ")
    for name in ("ladder_best", "ladder_lower", "ladder_upper", "ladder_cost", "ladder_gain", "ladder_advantage",
                 "ladder_better", "ladder_nothing", "ladder_sentence", "check_levers", "check_model_runs",
                 "check_emulated_mean", "check_model_mean"):
        assert ds[name].attrs["long_name"], name
    assert np.all(ds["ladder_cost"].values <= 0.05 + 1e-9)
    assert np.all(ds["ladder_best"].sel(group="all") * [1, 1, 1, -1]
                  <= ds["ladder_best"].sel(group=["obj2", "obj5"]).min("group") * [1, 1, 1, -1] + 1e-9)
    levers = ds["ladder_levers"]
    assert np.all(levers.sel(group="obj2", lever="interventions.quota_expansion.factor") == 1.0)   # off
    assert np.all(levers.sel(group="obj5", lever="interventions.social_protection.transfer_usd") == 0.0)
    assert set(ds["ladder_better"].values.ravel()) <= {"obj2", "obj5", "neither", "n/a"}
    assert ds["check_model_runs"].sizes == {"outlook": 2, "group": 3, "seed": 2, "outcome": 5}
    assert ds.attrs["check_objective"] == "irregular" and ds.attrs["check_budget_musd"] == 0.05
    assert "## What each extra million buys" in text and "### Outlook severe" in text
    for sentence in ds["ladder_sentence"].sel(outlook="current").values:
        assert str(sentence) in text
    # the planner's report gets a section on the front, built from the comparison's dataset and front.nc alone
    comparison = compare(RunConfig(n_households=100, years=2, progress=False), ["baseline", "obj2_social_protection"],
                         range(2), tmp_path / "cache", 2, progress=False)
    write_report(comparison, tmp_path / "report", front=read_front(path), front_source="front.nc")
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "## The budget question: what each extra million buys" in report
    assert "another setting than this comparison" not in report   # the same world, households and years
    for finding in ladder_findings(ds):
        assert finding in report
    for outlook in ("current", "severe"):
        d = ds.sel(outlook=outlook, objective="trapped", budget=0.05, group="obj5")
        assert f"{_fmt(float(d['ladder_best']))} [{_fmt(float(d['ladder_lower']))}, " in report, outlook
        check = ds.sel(outlook=outlook, group="obj2", outcome="irregular")
        assert f"model {_fmt(float(check['check_model_mean']))} [" in report, outlook
    assert "**obj2_social_protection** (model cost" in report
    assert (tmp_path / "report" / "budget_ladder.png").read_bytes()[:8] == PNG
    assert "The budget question" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    other = compare(RunConfig(n_households=200, years=2, progress=False), ["baseline", "obj2_social_protection"],
                    range(2), tmp_path / "cache", 2, progress=False)
    write_report(other, tmp_path / "other", front=read_front(path))
    assert "another setting than this comparison** (world default, 100 households" in (
        tmp_path / "other" / "report.md").read_text(encoding="utf-8")
    # again from the emulators it saved, through the cache: the same front and the same model results
    # (without the ladder this time: skipped, it leaves no trace)
    again_cfg = dataclasses.replace(cfg, optimise=dataclasses.replace(cfg.optimise, ladder_musd=[], emulators={
        o: str(out / "emulators" / o / "emulator.joblib") for o in ("current", "severe")}))
    out2 = tmp_path / "out2"
    out2.mkdir()
    with xr.open_dataset(optimise_experiment(again_cfg, out2, tmp_path / "cache"), engine="netcdf4") as again:
        np.testing.assert_array_equal(again["levers"].values, ds["levers"].values)
        np.testing.assert_array_equal(again["model_runs"].values, ds["model_runs"].values)
        assert json.loads(again.attrs["settings"])["emulators"]
        assert "ladder_best" not in again and "budget" not in again.dims
    assert not (out2 / "emulators").exists() and not (out2 / "ladder.png").exists()
    assert "What each extra million buys" not in (out2 / "optimise.md").read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^compare.front = .*out2/front.nc.* it lacks ladder_best"):
        read_front(out2 / "front.nc")   # a front without its ladder cannot answer the budget question


@pytest.mark.parametrize("overrides, start", [
    (["optimise.aggregate=max"], "error: optimise.aggregate = 'max'"),
    (["optimise.emulators.severe=/nonexistent.joblib"], "error: optimise.emulators.severe = '/nonexistent.joblib'"),
    (["optimise.ladder_musd=[4,2]"], "error: optimise.ladder_musd = [4.0, 2.0] is not allowed: expected budgets in "
                                     "increasing order"),
], ids=["aggregate", "emulator-file", "ladder"])
def test_a_bad_setting_stops_the_command_with_one_line(tmp_path, overrides, start):
    result = run_cli(tmp_path, "experiment=optimise", *overrides)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(start), result.stderr
    assert not (tmp_path / "run").exists()
