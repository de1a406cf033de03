"""Interventions move their levers in the expected direction and account for their costs; every parameter value
inside the declared ranges gives finite outputs, and inf and nan are refused.

Effects are measured as paired differences against the baseline over the same seeds (common random numbers), and
asserted to be more than 3 standard errors of the mean difference away from zero in the expected direction (a false
alarm under no effect about once in 700 runs for a normal mean; 8 seeds).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from simulator import MigrationModel, build_interventions, one_city_world_path
from simulator.errors import ConfigError
from simulator.policy.interventions import REGISTRY, exposed_origins

from conftest import make_world
from test_config import assert_finite_outputs, bound, ends

SEEDS = range(8)
WORLD = one_city_world_path()   # the version-1 world these tests were designed on (one city, one destination)
SMALL = dict(n_households=1500, years=6, world=WORLD)


def paired(metric, spec: dict, **kw) -> np.ndarray:
    """metric(policy run) - metric(baseline run), per seed."""
    out = []
    for seed in SEEDS:
        base = MigrationModel(rng=seed, **SMALL, **kw).run()
        policy = MigrationModel(rng=seed, interventions=build_interventions(spec), **SMALL, **kw).run()
        out.append(metric(policy) - metric(base))
    return np.array(out, dtype=float)


def assert_positive(diff: np.ndarray) -> None:
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert diff.mean() > 3 * se, (diff.mean(), se, diff)


def total(name, **sel):
    return lambda ds: float(ds[name].sel(**sel).sum())


def test_quota_expansion_issues_more_visas():
    assert_positive(paired(total("visas_issued"), {"quota_expansion": {"factor": 3.0}}))


def test_fee_subsidy_raises_applications():
    assert_positive(paired(total("applications"), {"fee_subsidy": {"share": 0.8}}))


def interception_share(ds) -> float:
    """Interceptions per irregular journey that ended."""
    ended = ds.interceptions.sum() + ds.deaths.sum() + ds.arrivals.sel(pathway="irregular").sum()
    return float(ds.interceptions.sum() / ended)


def test_enforcement_raises_interceptions_per_journey_and_lowers_irregular_departures():
    kw = {"decisions.asc_irregular": -5.0}
    assert_positive(paired(interception_share, {"enforcement": {"interception_factor": 2.5}}, **kw))
    assert_positive(-paired(total("emigrants", pathway="irregular"), {"enforcement": {"fee_factor": 2.0}}, **kw))


def test_cheaper_remittances_cut_fees_and_raise_what_arrives():
    spec = {"remittance_cost": {"transfer_cost": 0.01}}
    assert_positive(-paired(total("remittance_fees"), spec))
    assert_positive(paired(total("remittances"), spec))


def test_adaptation_protects_consumption_in_exposed_districts():
    spec = {"adaptation": {"coverage": 1.0, "efficacy": 0.8}}
    assert_positive(paired(lambda ds: float(ds.consumption_per_capita.mean()), spec))


def test_social_protection_pays_poor_households_after_shocks():
    model = MigrationModel(rng=0, interventions=build_interventions({"social_protection": {}}), **SMALL)
    ds = model.run()
    cost = ds.intervention_cost.sel(intervention="social_protection")
    assert float(cost.sum()) > 0
    shocked = ds.shock_loss.max("origin") >= 0.05
    assert float(cost.where(~shocked, 0).sum()) == 0   # pays only while some district is hit


def test_intervention_is_active_only_between_start_and_end():
    spec = {"enforcement": {"start_year": 1, "end_year": 2, "cost_per_1000_usd_month": 1000}}
    ds = MigrationModel(world=WORLD, n_households=1000, years=3, rng=0, interventions=build_interventions(spec)).run()
    cost = ds.intervention_cost.sel(intervention="enforcement").values
    np.testing.assert_array_equal(cost, np.r_[np.zeros(12), np.full(12, 1000.0), np.zeros(12)])


def test_adaptation_ends_cleanly():
    spec = {"adaptation": {"coverage": 1.0, "end_year": 1}}
    model = MigrationModel(world=WORLD, n_households=300, years=2, rng=0, interventions=build_interventions(spec))
    for _ in range(6):
        model.step()
    assert (model.households.adaptation > 0).all()
    model.run()
    assert (model.households.adaptation == 0).all()


def test_adaptation_pays_once_then_upkeep():
    spec = {"adaptation": {"coverage": 0.5, "cost_per_household_usd": 100, "upkeep_per_household_usd_year": 12}}
    model = MigrationModel(world=WORLD, n_households=1000, years=1, rng=0, interventions=build_interventions(spec))
    ds = model.run()
    covered = len(model.interventions[0].covered)
    cost = ds.intervention_cost.sel(intervention="adaptation").values
    assert cost[0] == pytest.approx(100 * covered + covered)
    np.testing.assert_allclose(cost[1:], covered)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_intervention_runs_with_defaults(name):
    ds = MigrationModel(world=WORLD, n_households=200, years=1, rng=0,
                        interventions=build_interventions({name: {}})).run()
    assert ds.intervention.values.tolist() == [name]
    assert (ds.intervention_cost >= 0).all()


def test_seasonal_scheme_opens_regular_places_to_every_skill_and_lowers_irregular_departures():
    spec = {"seasonal_scheme": {"places_per_1000_per_year": 8}}
    assert_positive(paired(total("seasonal_visas"), spec))
    low_skill_regular = lambda ds: float(ds.emigrants_by_group.sel(pathway="regular", skill="low").sum())
    assert_positive(paired(low_skill_regular, spec))
    assert_positive(-paired(total("emigrants", pathway="irregular"), spec))


def test_seasonal_migrants_come_home_when_their_stay_ends():
    spec = {"seasonal_scheme": {"places_per_1000_per_year": 8, "stay_months": 4}}
    model = MigrationModel(world=WORLD, n_households=1500, years=3, rng=0, interventions=build_interventions(spec),
                           **{"regular.return_rate": 0.0})
    ds = model.run()
    seasonal = float(ds.seasonal_visas.sum())
    assert seasonal > 0
    m = model.migrants
    from simulator.model.households import ABROAD_REGULAR
    overdue = (m.status == ABROAD_REGULAR) & (m.contract_end >= 0) & (m.contract_end <= model.t - 1)
    assert not overdue.any()


def test_humanitarian_visas_go_to_households_hit_by_disasters():
    spec = {"humanitarian_visas": {"places_per_1000_per_year": 6, "min_loss": 0.1}}
    assert_positive(paired(total("humanitarian_visas"), spec))
    model = MigrationModel(world=WORLD, n_households=1500, years=6, rng=1, interventions=build_interventions(spec))
    ds = model.run()
    granted = ds.humanitarian_visas.sum("origin")
    assert float(granted.sum()) > 0
    # visas are granted only in months after some district suffered a shock
    hit_so_far = ds.shock_loss.max("origin").cumsum("time") > 0
    assert float(granted.where(~hit_so_far, 0).sum()) == 0


def test_family_reunification_moves_families_and_keeps_people_conserved():
    spec = {"family_reunification": {"monthly_rate": 0.1, "min_months_abroad": 6, "income_requirement_usd": 0}}
    model = MigrationModel(world=WORLD, n_households=1500, years=6, rng=2, interventions=build_interventions(spec),
                           **{"regular.stay_months": 0})
    ds = model.run()
    assert float(ds.reunifications.sum()) > 0 and float(ds.families_abroad[-1].sum()) > 0
    total_people = (ds.population.sum("origin") + ds.migrants_away.sum(["origin", "destination", "pathway"])
                    + ds.in_transit.sum("origin") + ds.families_abroad.sum("origin")
                    + ds.deaths.sum("origin").cumsum("time"))
    assert (total_people == model.initial_population).all()
    assert_positive(-paired(lambda d: float(d.population[-1].sum()), spec, **{"regular.stay_months": 0}))


@pytest.mark.parametrize("spec, expected", [
    # left null, a setting keeps the world's own: Northland's seasonal stay of 8 months, humanitarian visas for a
    # loss of 0.4 with no set end of stay, families after 12 months abroad earning 1,500 USD
    ({"seasonal_scheme": {}, "humanitarian_visas": {}, "family_reunification": {}},
     {"Northland seasonal": {"stay_months": 8}, "Northland humanitarian": {"min_loss": 0.4, "stay_months": 0},
      "Northland family": {"min_months_abroad": 12, "min_wage_usd": 1500.0, "monthly_probability": 0.02}}),
    # given, it replaces it
    ({"seasonal_scheme": {"stay_months": 5}, "humanitarian_visas": {"min_loss": 0.1, "stay_months": 36},
      "family_reunification": {"monthly_rate": 0.05, "min_months_abroad": 6, "income_requirement_usd": 0}},
     {"Northland seasonal": {"stay_months": 5}, "Northland humanitarian": {"min_loss": 0.1, "stay_months": 36},
      "Northland family": {"min_months_abroad": 6, "min_wage_usd": 0.0, "monthly_probability": 0.05}}),
])
def test_interventions_change_only_the_channel_settings_they_are_given(spec, expected):
    """On a world whose channels have settings of their own (the corridors world), an Objective 5 intervention adds
    its places and sets what it is given; what it is not given stays the world's."""
    from simulator.world.tables import default_world_path
    model = MigrationModel(n_households=300, years=1, rng=0, world=default_world_path(),
                           interventions=build_interventions(spec))
    model.step()
    channels = {c.name: c for c in model.channels}
    for name, settings in expected.items():
        for key, value in settings.items():
            assert channels[name].settings[key] == value, (name, key)
    assert channels["Northland seasonal"].settings["quota_per_year"] > channels["Northland seasonal"].base[
        "quota_per_year"]


def test_on_a_world_with_places_of_its_own_the_places_added_are_what_costs():
    """The corridors world's seasonal and humanitarian channels have quotas of their own: an intervention adding no
    places costs nothing, and one adding places is charged for the places issued beyond the channel's own quota."""
    from simulator.world.tables import default_world_path
    none = {"seasonal_scheme": {"places_per_1000_per_year": 0}, "humanitarian_visas": {"places_per_1000_per_year": 0}}
    ds = MigrationModel(n_households=20_000, years=2, rng=1, world=default_world_path(),
                        interventions=build_interventions(none)).run()
    assert float(ds.channel_granted.sel(channel="Northland seasonal").sum()) > 0   # the world's own places
    assert float(ds.intervention_cost.sum()) == 0
    model = MigrationModel(n_households=20_000, years=2, rng=1, world=default_world_path(),
                           interventions=build_interventions({"seasonal_scheme": {"places_per_1000_per_year": 8}}))
    ds = model.run()
    seasonal = next(c for c in model.channels if c.name == "Northland seasonal")
    granted = ds.channel_granted.sel(channel="Northland seasonal")
    own = int(np.floor(seasonal.base["quota_per_year"] + 1e-9))   # places a quota year without the scheme
    beyond = sum(max(0, int(granted.isel(time=slice(y * 12, y * 12 + 12)).sum()) - own) for y in range(2))
    assert beyond > 0
    assert float(ds.intervention_cost.sum()) == beyond * model.interventions[0].cost_per_place_usd


def test_skill_eligibility_lets_low_skilled_apply():
    spec = {"skill_eligibility": {"min_skill": 0}}
    low_skill_applying = lambda ds: float(ds.emigrants_by_group.sel(pathway="regular", skill="low").sum())
    assert_positive(paired(low_skill_applying, spec))


def test_local_jobs_raise_origin_consumption_and_train_skills():
    spec = {"local_jobs": {"coverage": 0.6, "income_gain": 0.3, "skill_upgrade": 0.5}}
    assert_positive(paired(lambda ds: float(ds.consumption_per_capita.mean()), spec))
    base = MigrationModel(world=WORLD, n_households=500, years=1, rng=3)
    policy = MigrationModel(world=WORLD, n_households=500, years=1, rng=3, interventions=build_interventions(spec))
    policy.step()
    assert policy.households.skill.sum() > base.households.skill.sum()


def test_early_warning_protects_assets_and_pays_at_shock_onset():
    """Households at home end richer. Nobody moves in these runs (every option's constant at -50): with moves allowed,
    part of the cash and of the assets kept pays for moves that liquidity held back, and the wealth left at home mixes
    the two effects."""
    spec = {"early_warning": {"coverage": 1.0, "asset_protection": 0.8}}
    nobody_moves = {f"decisions.asc_{k}": -50.0 for k in ("internal", "regular", "irregular")}
    assert_positive(paired(lambda ds: float(ds.wealth_mean[-1].mean()), spec, **nobody_moves))
    model = MigrationModel(world=WORLD, n_households=800, years=6, rng=4, interventions=build_interventions(spec))
    ds = model.run()
    onsets = (ds.shock_loss.diff("time") > 0).any("origin")
    assert float(ds.intervention_cost.sum()) > 0 and bool(onsets.any())


def test_information_campaign_moves_beliefs_toward_the_truth():
    kw = {"decisions.risk_perception": 0.2, "decisions.asc_irregular": -5.0}
    assert_positive(-paired(total("emigrants", pathway="irregular"), {"information_campaign": {"reach": 1.0}}, **kw))


def test_faster_processing_shortens_the_wait_where_processing_binds():
    """The expected wait (the mean queue over the monthly processing capacity) falls and more visas are issued. The
    queue itself may lengthen: a shorter wait draws more applicants (`decisions.beta_wait`)."""
    kw = {"regular.quota_per_1000_per_year": 40.0, "regular.processing_per_1000_per_month": 0.3}
    factor = 3.0
    capacity = 0.3 * SMALL["n_households"] / 1000   # applications decided a month at the base rate

    def wait(ds) -> float:
        faster = "faster_processing" in ds.intervention.values
        return float(ds.visa_queue.sum("origin").mean()) / (capacity * (factor if faster else 1.0))
    spec = {"faster_processing": {"factor": factor}}
    assert_positive(-paired(wait, spec, **kw))
    assert_positive(paired(total("visas_issued"), spec, **kw))


def test_faster_processing_pays_only_for_the_capacity_it_adds():
    """At factor 1 it adds no capacity and costs nothing, also beside a quota expansion (which scales processing with
    the quota and is not this intervention's to pay for); at factor 2 beside it, it pays for the places decided beyond
    half the capacity in force."""
    kw = {"regular.quota_per_1000_per_year": 40.0, "regular.processing_per_1000_per_month": 0.3}
    for factor, pays in ((1.0, False), (2.0, True)):
        ivs = build_interventions({"quota_expansion": {"factor": 2.0}, "faster_processing": {"factor": factor}})
        ds = MigrationModel(rng=0, interventions=ivs, **SMALL, **kw).run()
        spent = float(ds.intervention_cost.sel(intervention="faster_processing").sum())
        assert (spent > 0) == pays, (factor, spent)


# --- every parameter value inside the ranges gives finite outputs; inf and nan are refused -------------------------

FIELDS = [(name, f) for name, cls in sorted(REGISTRY.items()) for f in dataclasses.fields(cls) if "units" in f.metadata]


def test_every_intervention_parameter_has_a_finite_range():
    assert {name for name, _ in FIELDS} == set(REGISTRY)
    for name, f in FIELDS:
        assert math.isfinite(f.metadata["lo"]) and math.isfinite(f.metadata["hi"]), (name, f.name)
        assert (f.default is None and f.metadata["or_none"]) or f.metadata["lo"] <= f.default <= f.metadata["hi"] \
            or (f.default == math.inf and f.metadata["or_inf"])


@pytest.mark.parametrize("name,field,which", [pytest.param(name, f.name, which, id=f"{name}.{f.name}-{which}")
                                              for name, f in FIELDS for which in ends(f.metadata)])
def test_every_intervention_parameter_at_either_end_of_its_range_gives_finite_outputs(name, field, which):
    """One parameter at a time at an end of its range (or at the smallest positive number), the others at their
    defaults; every intervention is active from the start of the run."""
    value = bound(next(f for n, f in FIELDS if n == name and f.name == field).metadata, which)
    if field == "end_year" and which == "lo":   # 0: not after start_year = 0, so it is refused
        with pytest.raises(ConfigError, match=f"interventions.{name}.end_year = 0"):
            build_interventions({name: {field: value}})
        return
    ivs = build_interventions({name: {field: value}})
    assert getattr(ivs[0], field) == value
    ds = MigrationModel(world=WORLD, n_households=200, years=1, rng=0, agent_view_limit=0, interventions=ivs).run()
    assert_finite_outputs(ds)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=repr)
@pytest.mark.parametrize("name,field", [pytest.param(name, f.name, id=f"{name}.{f.name}") for name, f in FIELDS])
def test_every_intervention_parameter_refuses_inf_and_nan(name, field, value):
    if field == "end_year" and value == math.inf:   # the default: the intervention never ends
        assert build_interventions({name: {field: value}})[0].end_year == math.inf
        return
    where = f"interventions.{name}.{field}"
    for build in (lambda: build_interventions({name: {field: value}}),   # from a scenario or config
                  lambda: REGISTRY[name](**{field: value})):              # from Python
        with pytest.raises(ConfigError) as info:
            build()
        assert info.value.field == where and f"{where} = {value!r} is not allowed" in str(info.value)


def test_regions_exposed_targets_the_more_exposed_half_of_any_world():
    """`regions: exposed` names no district, so a package runs on any world: there it covers the districts of the
    larger expected farm-income loss to shocks (three of five: rounded up), and only their households."""
    world = make_world(n_origins=5)
    world = dataclasses.replace(world, hazard_mean_intensity=np.array([0.1, 0.5, 0.2, 0.4, 0.3]))
    assert exposed_origins(world) == ["D1", "D3", "D4"]
    model = MigrationModel(world=world, n_households=2000, years=1, rng=0,
                           interventions=build_interventions({"adaptation": {"regions": "exposed", "coverage": 1}}))
    covered = model.interventions[0].covered
    assert set(model.households.origin[covered].tolist()) == {1, 3, 4}
    assert len(covered) == int(np.isin(model.households.origin, [1, 3, 4]).sum())
    with pytest.raises(ConfigError, match=r"regions = 'most' is not allowed: expected a list of origin names, or "
                                          r"'exposed'"):
        build_interventions({"adaptation": {"regions": "most"}})
