"""The model as a whole: conservation, determinism, common random numbers, Mesa integration."""

from __future__ import annotations

import mesa
import numpy as np
import pytest
import xarray as xr

from simulator import MigrationModel, build_interventions, one_city_world_path
from simulator.errors import ConfigError
from simulator.model.households import AWAY, FAMILY_ABROAD, IN_TRANSIT
from simulator.model.outputs import write_netcdf

from conftest import make_world

BUSY = {"decisions.asc_internal": -4.0, "decisions.asc_regular": -4.0, "decisions.asc_irregular": -4.0,
        "irregular.death_probability": 0.05}   # more movement and deaths, so the checks below have work to do
WORLD = one_city_world_path()   # the version-1 world, whose irregular route the parameters above set


def test_people_are_conserved_every_step():
    """people at origin + away (city, abroad, in transit) + dead = initial population, in every month."""
    model = MigrationModel(world=WORLD, n_households=2000, years=5, rng=3, **BUSY)
    p0 = model.initial_population
    h = model.households
    for _ in range(model.n_steps):
        model.step()
        at_origin = int(h.people_at_origin().sum())
        away = int(np.isin(model.migrants.status, AWAY).sum())
        families = int(h.size[h.status == FAMILY_ABROAD].sum())
        assert at_origin + away + families + int(h.dead.sum()) == p0
    ds = model.dataset()
    recorded = (ds.population.sum("origin") + ds.migrants_away.sum(["origin", "destination", "pathway"])
                + ds.in_transit.sum("origin") + ds.deaths.sum("origin").cumsum("time"))
    assert (recorded == p0).all()
    assert ds.deaths.sum() > 0 and ds.emigrants.sum() > 0   # the identity was tested with flows under way


def test_households_stay_consistent():
    model = MigrationModel(world=WORLD, n_households=2000, years=5, rng=4, **BUSY)
    model.run()
    h = model.households
    assert (h.adults >= 0).all() and (h.size >= h.adults).all()
    assert (h.wealth >= 0).all() and (h.assets >= 0).all()
    assert (h.size >= 1).all() | (h.dead > 0).any()


def test_same_seed_gives_byte_identical_results(tmp_path):
    a = MigrationModel(world=WORLD, n_households=1000, years=3, rng=11, **BUSY).run()
    b = MigrationModel(world=WORLD, n_households=1000, years=3, rng=11, **BUSY).run()
    xr.testing.assert_identical(a, b)
    pa, pb = write_netcdf(a, tmp_path / "a.nc"), write_netcdf(b, tmp_path / "b.nc")
    assert pa.read_bytes() == pb.read_bytes()


def test_different_seeds_differ():
    a = MigrationModel(n_households=1000, years=3, rng=1).run()
    b = MigrationModel(n_households=1000, years=3, rng=2).run()
    assert not a.emigrants.equals(b.emigrants)


def test_global_random_state_is_not_used():
    np.random.seed(1)
    a = MigrationModel(n_households=500, years=2, rng=5).run()
    np.random.seed(2)
    b = MigrationModel(n_households=500, years=2, rng=5).run()
    xr.testing.assert_identical(a, b)


def test_a_policy_does_not_change_the_climate_shocks():
    """Common random numbers: every intervention switched on leaves the shock series untouched."""
    everything = build_interventions({"adaptation": {"coverage": 0.8}, "social_protection": {},
                                      "quota_expansion": {"factor": 3}, "faster_processing": {},
                                      "fee_subsidy": {}, "enforcement": {}, "remittance_cost": {}})
    base = MigrationModel(n_households=1500, years=10, rng=21).run()
    policy = MigrationModel(n_households=1500, years=10, rng=21, interventions=everything).run()
    assert base.shock_loss.sum() > 0
    xr.testing.assert_identical(base.shock_loss, policy.shock_loss)
    xr.testing.assert_identical(base.labour_demand, policy.labour_demand)
    assert not base.emigrants.equals(policy.emigrants)   # the policy did change behaviour


def test_agent_views_do_not_change_results():
    with_views = MigrationModel(n_households=800, years=2, rng=8)
    without = MigrationModel(n_households=800, years=2, rng=8, agent_view_limit=0)
    assert len(with_views.agents) == 800 and len(without.agents) == 0
    xr.testing.assert_identical(with_views.run(), without.run())


def test_household_agents_read_and_write_their_row():
    model = MigrationModel(n_households=50, years=1, rng=0)
    agent = next(iter(model.agents.select(lambda a: a.row == 7)))
    assert agent.size == int(model.households.size[7])
    agent.wealth = 1234.5
    assert model.households.wealth[7] == 1234.5
    assert agent.status_name == "at_home" and agent.origin_name in model.world.origins
    poor = model.agents.select(lambda a: a.wealth < 100)
    assert len(poor) == int((model.households.wealth < 100).sum())


def test_runs_under_mesa_batch_run():
    results = mesa.batch_run(MigrationModel, parameters={"n_households": [200, 400], "years": 1, "rng": [1]},
                             max_steps=100, number_processes=1, data_collection_period=1, display_progress=False)
    # Mesa 3.3 reports steps 0..11 (the initial state and 11 months), Mesa 3.5 every collection, 0..12
    for run_id in (0, 1):
        steps = [r["Step"] for r in results if r["RunId"] == run_id]
        assert steps == list(range(len(steps))) and len(steps) in (12, 13)
    last = [r for r in results if r["Step"] == 11]
    assert len(last) == 2
    assert all(r["population_at_origin"] > 0 for r in last)
    model_data = MigrationModel(n_households=200, years=1, rng=1)
    model_data.run()
    frame = model_data.datacollector.get_model_vars_dataframe()
    assert len(frame) == 13 and frame["departures_internal"].sum() > 0


def test_toy_world_built_in_code(toy_world):
    ds = MigrationModel(n_households=300, years=2, rng=0, world=toy_world).run()
    assert ds.origin.values.tolist() == ["D0", "D1"]
    assert ds.attrs["world"] == "toy"


def test_a_world_without_hazards_has_no_shocks():
    ds = MigrationModel(n_households=300, years=2, rng=0, world=make_world(return_period=None)).run()
    assert float(ds.shock_loss.sum()) == 0.0


def test_journeys_take_their_months():
    model = MigrationModel(world=WORLD, n_households=2000, years=2, rng=2, **BUSY,
                           **{"irregular.journey_months": 3})
    model.run()
    ds = model.dataset()
    departures = ds.emigrants.sel(pathway="irregular").sum(["origin", "destination"]).values
    outcomes = (ds.arrivals.sel(pathway="irregular").sum("destination") + ds.deaths + ds.interceptions).sum(
        "origin").values
    np.testing.assert_array_equal(outcomes[3:], departures[:-3])
    assert outcomes[:3].sum() == 0 and departures.sum() > 0
    assert int((model.migrants.status == IN_TRANSIT).sum()) == departures[-3:].sum()


def test_bad_arguments_fail_clearly():
    from simulator.errors import ConfigError
    with pytest.raises(ConfigError, match="n_households = 0"):
        MigrationModel(n_households=0)
    with pytest.raises(ConfigError, match=r"irregular.death_probability = 2"):
        MigrationModel(world=WORLD, n_households=10, **{"irregular.death_probability": 2})
    with pytest.raises(ConfigError, match="irregular.death_probabilty"):
        MigrationModel(world=WORLD, n_households=10, **{"irregular.death_probabilty": 0.1})
    with pytest.raises(ConfigError, match="seed"):
        MigrationModel(n_households=10, rng=-1)


def test_a_scenario_name_alone_is_refused_not_run_as_the_baseline():
    """`MigrationModel(scenario="combined")` would record the label and run no intervention: it is refused, with how
    to build the scenario; the scenario's interventions given, or a label of one's own, run."""
    from simulator.errors import ConfigError
    from simulator.policy.scenarios import load_scenario
    with pytest.raises(ConfigError, match=r"scenario = 'combined'.*build_model"):
        MigrationModel(n_households=10, scenario="combined")
    combined = load_scenario("combined")
    model = MigrationModel(n_households=50, years=1 / 12, rng=0, scenario="combined",
                           interventions=combined.interventions, climate_outlook=combined.climate_outlook,
                           labour_outlook=combined.labour_outlook)
    assert [iv.name for iv in model.interventions] == [iv.name for iv in combined.interventions]
    assert MigrationModel(n_households=10, scenario="baseline").scenario_name == "baseline"
    assert MigrationModel(n_households=10, scenario="my own label").scenario_name == "my own label"


def test_stepping_past_the_end_fails():
    model = MigrationModel(n_households=10, years=1 / 12, rng=0)
    model.step()
    assert not model.running
    with pytest.raises(RuntimeError, match="over"):
        model.step()


@pytest.mark.parametrize("most_away", [1, 3])
def test_results_do_not_depend_on_the_decision_block_size(most_away):
    """Households decide block by block (MigrationModel.decision_block), and the draws of members away are made in
    the same blocks of households (MigrationModel.member_draws); the uniforms drawn block after block are those of
    one draw for all, so any block size gives the same run, with one member away at most or several."""
    runs = []
    for block in (MigrationModel.decision_block, 1_000, 777):
        model = MigrationModel(world=WORLD, n_households=3000, years=2, rng=12, **BUSY,
                               **{"decisions.max_members_away": most_away})
        model.decision_block = block
        runs.append(model.run())
    for ds in runs[1:]:
        xr.testing.assert_identical(ds, runs[0])


def test_results_do_not_depend_on_the_number_of_threads():
    """The decision's households can be shared among numba's threads (`threads`); each writes only its own rows."""
    import numba

    most = numba.config.NUMBA_NUM_THREADS
    if most < 2:
        pytest.skip("numba can use one thread only on this machine")
    runs = [MigrationModel(n_households=3000, years=2, rng=13, threads=k).run() for k in sorted({1, 2, most})]
    for ds in runs[1:]:
        xr.testing.assert_identical(ds, runs[0])


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, 10_000])
def test_a_bad_thread_count_names_the_field(threads):
    with pytest.raises(ConfigError, match=r"threads.*an integer from 1 to"):
        MigrationModel(n_households=100, years=1, rng=0, threads=threads)


KERNEL_VERSIONS = """
import json, importlib, pkgutil
import numba
import simulator.model
from simulator.config import RunConfig
from simulator.experiments.runner import build_model
joined = 0
for scenario, n, years in (("baseline", 300, 2), ("combined", 300, 2), ("obj5_flexible_pathways", 2000, 5)):
    ds = build_model(RunConfig(scenario=scenario, n_households=n, years=years, seed=1, progress=False)).run()
    joined += int(ds.reunifications.sum())
modules = [importlib.import_module(f"simulator.model.{m.name}") for m in pkgutil.iter_modules(simulator.model.__path__)]
print(json.dumps({"joined": joined, "versions": {
    f"{mod.__name__}.{name}": [str(s) for s in f.signatures] for mod in modules for name, f in vars(mod).items()
    if isinstance(f, numba.core.registry.CPUDispatcher) and f.py_func.__module__ == mod.__name__}}))
"""


def test_runs_compile_one_version_of_each_kernel():
    """Each compiled kernel is compiled for one signature whatever the scenario and the month (a first run compiles
    every version in each worker: docs/performance.md, "A first run's compilations"); the column gather once per
    column type. In a fresh process, so that no other test's calls add versions."""
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", KERNEL_VERSIONS], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    versions = result["versions"]
    assert versions["simulator.model.decisions._decide_kernel"] and result["joined"] > 0   # families joined too
    gathered = versions.pop("simulator.model.migrants._gather")
    assert len(gathered) == len({s.split(",")[0] for s in gathered})   # one per column type
    assert {name: s for name, s in versions.items() if len(s) > 1} == {}
