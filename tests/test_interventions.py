"""Interventions move their levers in the expected direction and account for their costs.

Effects are measured as paired differences against the baseline over the same seeds (common random numbers), and
asserted to be more than 3 standard errors of the mean difference away from zero in the expected direction (a false
alarm under no effect about once in 700 runs for a normal mean; 8 seeds).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator import MigrationModel, build_interventions
from simulator.interventions import REGISTRY

SEEDS = range(8)
SMALL = dict(n_households=1500, years=6)


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
    ds = MigrationModel(n_households=1000, years=3, rng=0, interventions=build_interventions(spec)).run()
    cost = ds.intervention_cost.sel(intervention="enforcement").values
    np.testing.assert_array_equal(cost, np.r_[np.zeros(12), np.full(12, 1000.0), np.zeros(12)])


def test_adaptation_ends_cleanly():
    spec = {"adaptation": {"coverage": 1.0, "end_year": 1}}
    model = MigrationModel(n_households=300, years=2, rng=0, interventions=build_interventions(spec))
    for _ in range(6):
        model.step()
    assert (model.households.adaptation > 0).all()
    model.run()
    assert (model.households.adaptation == 0).all()


def test_adaptation_pays_once_then_upkeep():
    spec = {"adaptation": {"coverage": 0.5, "cost_per_household_usd": 100, "upkeep_per_household_usd_year": 12}}
    model = MigrationModel(n_households=1000, years=1, rng=0, interventions=build_interventions(spec))
    ds = model.run()
    covered = len(model.interventions[0].covered)
    cost = ds.intervention_cost.sel(intervention="adaptation").values
    assert cost[0] == pytest.approx(100 * covered + covered)
    np.testing.assert_allclose(cost[1:], covered)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_intervention_runs_with_defaults(name):
    ds = MigrationModel(n_households=200, years=1, rng=0, interventions=build_interventions({name: {}})).run()
    assert ds.intervention.values.tolist() == [name]
    assert (ds.intervention_cost >= 0).all()
