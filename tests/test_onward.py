"""Onward routes (stepwise migration): members in a city move on abroad by the routes of kind `onward` from it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulator import MigrationModel
from simulator.errors import ConfigError
from simulator.model.households import ABROAD_IRREGULAR, AWAY, FAMILY_ABROAD, IN_CITY, IN_TRANSIT
from simulator.model.routes import build_routes
from simulator.world.tables import Route, default_world_path, load_corridors

CORRIDORS = load_corridors(default_world_path())
ONWARD = next(r for r in CORRIDORS.routes if r.kind == "onward")   # Port City to Gulfland
N = 20_000


def corridors(rate: float, years: float = 3, **extra) -> MigrationModel:
    return MigrationModel(n_households=N, years=years, rng=4, world=CORRIDORS,
                          **{"decisions.asc_internal": -3.0, "abroad.onward_rate": rate, **extra})


def test_members_in_the_route_city_move_on_to_its_destination():
    """Each month the route takes employed members in Port City, who pay its fare and arrive in Gulfland with
    irregular status after its journey; members in the Capital (no onward route) never move on. The number moving
    on is about the rate times the employed members in Port City who stay (binomial, 4 standard errors over the
    run), and every person is still counted: at origin + away + families abroad + dead = initial population."""
    model = corridors(0.05)
    h, p0 = model.households, model.initial_population
    port, gulf, capital = (model.places.index(name) for name in ("Port City", "Gulfland", "Capital"))
    route = next(r for r in model.routes if r.onward)
    expected = moved = 0
    for _ in range(model.n_steps):
        m = model.migrants
        in_port = {(i, trip) for i, trip, place, status in zip(m.household, m.trip, m.place, m.status)
                   if place == port and status == IN_CITY}
        in_capital = {(i, trip) for i, trip, place, status in zip(m.household, m.trip, m.place, m.status)
                      if place == capital and status == IN_CITY}
        model.step()
        m = model.migrants
        on_route = {(i, trip) for i, trip, r, status, since in zip(m.household, m.trip, m.route, m.status, m.since)
                    if r == route.index and status == IN_TRANSIT and since == model.t - 1}
        assert on_route <= in_port and not on_route & in_capital
        assert route.departures == len(on_route)
        moved += len(on_route)
        expected += 0.05 * len(in_port)   # an upper bound's base: employed and able to pay are fewer
        away = int(np.isin(m.status, AWAY).sum())
        families = int(h.size[h.status == FAMILY_ABROAD].sum())
        assert int(h.people_at_origin().sum()) + away + families + int(h.dead.sum()) == p0
    assert 0 < moved <= expected + 4 * np.sqrt(expected)
    ds = model.dataset()
    assert float(ds.route_arrivals.sel(route=ONWARD.name).sum()) > 0
    arrived = (model.migrants.route == route.index) & (model.migrants.status == ABROAD_IRREGULAR)
    assert arrived.any() and (model.migrants.place[arrived] == gulf).all()


def test_households_that_cannot_pay_the_fare_do_not_move_on():
    model = corridors(0.2, years=1, **{"decisions.credit_fraction": 0.0})
    onward = next(r for r in model.routes if r.onward).index
    poor_before, moved = None, 0
    for _ in range(model.n_steps):
        h, m = model.households, model.migrants
        poor_before = {int(i) for i in m.household[(m.status == IN_CITY)] if h.wealth[i] < ONWARD.travel_cost_usd}
        model.step()
        m = model.migrants
        fresh = m.household[(m.route == onward) & (m.since == model.t - 1)
                            & (m.status == IN_TRANSIT)]
        assert not poor_before & {int(i) for i in fresh}
        moved += len(fresh)
    assert moved > 0


def test_no_onward_move_at_rate_zero_and_the_rest_of_the_run_unchanged_by_the_route():
    """With the rate at 0 the onward route carries nobody; and the route, with no traveller, changes nothing else:
    the run equals one on the world without it."""
    with_route = corridors(0.0, years=2).run()
    assert float(with_route.route_departures.sel(route=ONWARD.name).sum()) == 0
    without = MigrationModel(n_households=N, years=2, rng=4, world=dataclasses.replace(
        CORRIDORS, routes=tuple(r for r in CORRIDORS.routes if r.kind != "onward")),
        **{"decisions.asc_internal": -3.0, "abroad.onward_rate": 0.0}).run()
    for name in ("emigrants", "population", "migrants_away", "remittances", "wealth_mean"):
        np.testing.assert_array_equal(with_route[name].values, without[name].values, err_msg=name)


def test_onward_routes_are_checked():
    bad = Route("nowhere", "onward", "Atlantis", "Gulfland", (), 300.0, 3000.0, 0, 0.0, 0.0)
    with pytest.raises(ConfigError, match="routes.nowhere.from"):
        build_routes([bad], destinations=("Gulfland",), n_origins=5, cities=("Capital", "Port City"))
    two = [ONWARD, dataclasses.replace(ONWARD, name="Port City to Gulfland by sea")]
    with pytest.raises(ConfigError, match="abroad.onward_rate"):
        MigrationModel(n_households=100, years=1, rng=0, world=dataclasses.replace(
            CORRIDORS, routes=CORRIDORS.routes + (two[1],)), **{"abroad.onward_rate": 0.6})
