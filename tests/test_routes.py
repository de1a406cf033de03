"""Irregular routes as data (simulator.model.routes): each route an option of its own, its journeys resolved with its
own duration and risks, its outputs, enforcement on one route by name, and substitution between routes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from simulator import MigrationModel, build_interventions, one_city_world_path, load_world
from simulator.errors import ConfigError
from simulator.model.households import ABROAD_REGULAR, IN_CITY, IN_TRANSIT
from simulator.model.routes import build_routes
from simulator.world.tables import Route

WORLD = load_world(one_city_world_path())
DESTINATION, EVERY = WORLD.destination, tuple(range(WORLD.n_origins))
# Households keen to leave irregularly, so that every route carries journeys (decision constant raised: assumption
# for the test).
BUSY = {"decisions.asc_internal": -3.0, "decisions.asc_irregular": 0.5}
N = 20_000


def route(name: str, fee: float, months: int, interception: float, death: float, origins=EVERY) -> Route:
    return Route(name, "irregular", "*", DESTINATION, origins, fee, 5000.0, months, interception, death)


SEA, LAND = route("sea", 600.0, 3, 0.2, 0.1), route("land", 200.0, 1, 0.4, 0.0)


def model(routes=(SEA, LAND), years: float = 3, seed: int = 2, interventions=None, **extra) -> MigrationModel:
    return MigrationModel(world=WORLD, n_households=N, years=years, rng=seed, routes=list(routes),
                          interventions=build_interventions(interventions or {}), **{**BUSY, **extra})


def test_each_route_resolves_its_journeys_after_its_own_duration_with_its_own_risks():
    ds = model().run()
    assert list(ds.route.values) == ["sea", "land"]
    begun = ds.route_departures
    ended = ds.route_arrivals + ds.route_interceptions + ds.route_deaths
    assert (begun.sum("time") > 50).all()                  # both routes carry journeys
    for name, months in (("sea", 3), ("land", 1)):
        # every journey ends exactly `months` after it began (no other way out of transit)
        np.testing.assert_array_equal(ended.sel(route=name).values[months:],
                                      begun.sel(route=name).values[:-months], err_msg=name)
        assert ended.sel(route=name).values[:months].sum() == 0, name
    assert int(ds.route_deaths.sel(route="land").sum()) == 0    # a route without deaths has none
    assert int(ds.route_deaths.sel(route="sea").sum()) > 0
    # the routes' outputs add up to the pathway's totals
    by_time = ["origin", "destination"]
    np.testing.assert_array_equal(begun.sum("route"), ds.emigrants.sel(pathway="irregular").sum(by_time))
    np.testing.assert_array_equal(ds.route_arrivals.sum("route"), ds.arrivals.sel(pathway="irregular").sum(by_time))
    # journeys lead to the routes' destination
    assert float(ds.emigrants.sel(pathway="irregular", destination=DESTINATION).sum()) == float(begun.sum())
    np.testing.assert_array_equal(ds.route_deaths.sum("route"), ds.deaths.sum("origin"))
    np.testing.assert_array_equal(ds.route_interceptions.sum("route"), ds.interceptions.sum("origin"))


def test_outcomes_on_each_route_match_its_probabilities():
    """Ended journeys split into deaths, interceptions and arrivals with the route's probabilities; each share is
    within 4 binomial standard errors of its expectation (a false alarm about 1 in 16,000 per share)."""
    ds = model(years=6).run()
    for r in (SEA, LAND):
        ended = ds.sel(route=r.name)
        n = float((ended.route_arrivals + ended.route_interceptions + ended.route_deaths).sum())
        expected = {"route_deaths": r.death_probability,
                    "route_interceptions": (1 - r.death_probability) * r.interception_probability}
        for name, p in expected.items():
            share = float(ended[name].sum()) / n
            assert abs(share - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12, (r.name, name, share, p, n)


def test_expected_deaths_are_the_death_risk_of_the_journeys_ending():
    """`route_expected_deaths` is each month's journeys ending times the route's death probability (fixed here), and
    the deaths drawn are within 4 standard errors of it: sd = sqrt(sum of p (1 - p)) over the journeys ended, a
    Poisson-binomial count (a false alarm about 1 in 16,000 per route)."""
    ds = model(years=6).run()
    for r in (SEA, LAND):
        on = ds.sel(route=r.name)
        ended = (on.route_arrivals + on.route_interceptions + on.route_deaths).values
        np.testing.assert_allclose(on.route_expected_deaths.values, r.death_probability * ended, rtol=1e-12,
                                   atol=0, err_msg=r.name)
        expected, drawn = float(on.route_expected_deaths.sum()), float(on.route_deaths.sum())
        sd = np.sqrt(ended.sum() * r.death_probability * (1 - r.death_probability))
        assert abs(drawn - expected) <= 4 * sd + 1e-12, (r.name, drawn, expected, sd)
    assert float(ds.route_expected_deaths.sel(route="sea").sum()) > 0


def test_migrants_in_transit_carry_their_route():
    m = model(years=1)
    for _ in range(4):
        m.step()
        mig = m.migrants
        on_route = mig.route[mig.status == IN_TRANSIT]
        assert (on_route >= 0).all() and set(np.unique(on_route)) <= {0, 1}
        assert (mig.route[np.isin(mig.status, (IN_CITY, ABROAD_REGULAR))] == -1).all()   # not by a route: none


def test_enforcement_on_one_route_by_name_leaves_the_others_alone():
    m = model(years=1, interventions={"enforcement": {"route": "sea", "fee_factor": 2.0,
                                                      "interception_factor": 1.5, "risk_factor": 1.0}})
    m.step()
    sea, land = m.routes
    assert sea.settings["travel_cost_usd"] == 2 * SEA.travel_cost_usd
    assert sea.settings["interception_probability"] == pytest.approx(1.5 * SEA.interception_probability)
    assert land.settings == land.base
    every = model(years=1, interventions={"enforcement": {"fee_factor": 2.0}})
    every.step()
    assert [r.settings["travel_cost_usd"] for r in every.routes] == [1200.0, 400.0]


def test_a_dearer_route_diverts_journeys_to_the_other():
    """Common random numbers: the same households face the same draws, so raising the sea route's fee moves journeys
    from it to the land route (and some to staying). With 20,000 households over 3 years the effects are tens of
    journeys; the directions are what is asserted."""
    base = model().run()
    dear = model(interventions={"enforcement": {"route": "sea", "fee_factor": 5.0, "interception_factor": 1.0,
                                                "risk_factor": 1.0, "deportation_factor": 1.0}}).run()
    by_route = lambda ds: ds.route_departures.sum("time")   # noqa: E731
    assert float(by_route(dear).sel(route="sea")) < float(by_route(base).sel(route="sea"))
    assert float(by_route(dear).sel(route="land")) > float(by_route(base).sel(route="land"))


def test_version1_world_has_one_route_from_the_parameters():
    m = MigrationModel(world=WORLD, n_households=100, years=1, rng=0, **{"irregular.death_probability": 0.02,
                                                           "irregular.journey_months": 2})
    [smuggled] = m.routes
    assert smuggled.name == "smuggled" and smuggled.destination == DESTINATION
    assert smuggled.base["death_probability"] == 0.02 and smuggled.base["duration_months"] == 2
    assert smuggled.base["travel_cost_usd"] == m.params.irregular.smuggler_fee_usd


@pytest.mark.parametrize("routes, message", [
    ([SEA, SEA], "routes = 'sea' is not allowed: expected a unique"),
    ([route("sea", 600.0, 3, 0.2, 1.5)], "routes.sea.death_probability = 1.5"),
    ([route("sea", -1.0, 3, 0.2, 0.1)], "routes.sea.travel_cost_usd = -1"),
    ([route("sea", 600.0, 2.5, 0.2, 0.1)], "routes.sea.duration_months = 2.5 is not allowed: expected a whole"),
    ([Route("sea", "irregular", "*", "Elsewhere", EVERY, 600.0, 1.0, 1, 0.1, 0.1)],
     "routes.sea.to = 'Elsewhere' is not allowed: expected one of the destinations"),
    ([route("sea", 600.0, 3, 0.2, 0.1, origins=())], "routes.sea.origins = [] is not allowed"),
    ([route("sea", 600.0, 3, 0.2, 0.1, origins=(0, 9))], "routes.sea.origins = [0, 9] is not allowed"),
])
def test_bad_routes_stop_the_model_naming_the_route_and_setting(routes, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        MigrationModel(world=WORLD, n_households=50, years=1, rng=0, routes=routes)


def test_an_unknown_route_name_lists_the_routes():
    with pytest.raises(ConfigError, match=r"interventions\.enforcement\.route = 'air'.*\['sea', 'land'\]"):
        model(interventions={"enforcement": {"route": "air"}})
    with pytest.raises(ConfigError, match=r"interventions\.enforcement\.route = 3"):
        build_interventions({"enforcement": {"route": 3}})


def test_a_route_from_one_district_serves_that_district_only():
    """A route that serves one origin: its journeys all start there, and the other districts' journeys take the
    route that serves every origin; households elsewhere are not trapped by a route they are not offered."""
    local = route("local", 100.0, 1, 0.1, 0.0, origins=(1,))
    ds = model(routes=(SEA, local), years=2).run()
    by_origin = ds.emigrants.sel(pathway="irregular").sum(["time", "destination"])
    local_departures = float(ds.route_departures.sel(route="local").sum())
    assert local_departures > 50
    served_origin = WORLD.origins[1]
    # every journey on the local route started in its district: that district's departures cover them all
    assert float(by_origin.sel(origin=served_origin)) >= local_departures
    others = by_origin.drop_sel(origin=served_origin)
    assert float(others.sum()) == float(ds.route_departures.sel(route="sea").sum()) - (
        float(by_origin.sel(origin=served_origin)) - local_departures)


def test_enforcement_needs_a_route_to_act_on():
    with pytest.raises(ConfigError, match=r"interventions\.enforcement\.route = '' is not allowed: expected an "
                                          r"irregular route; the world has none"):
        model(routes=(), interventions={"enforcement": {}})


def test_other_route_kinds_are_not_irregular_routes():
    rows = [Route("air", "regular", "*", DESTINATION, EVERY, 700.0, 8000.0, 0, 0.0, 0.0), SEA]
    assert [r.name for r in build_routes(rows, destinations=(DESTINATION,), n_origins=len(EVERY))] == ["sea"]
