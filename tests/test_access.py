"""Who can afford a move: the lean season of an origin's farm calendar, credit that the poorest cannot get, the cost
of the first months at a place, and networks that lower the up-front cost (decisions.py, migration.py
`corridor_options`, climate.py)."""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil

import numpy as np
import pytest

from simulator import MigrationModel
from simulator.errors import WorldError
from simulator.model.budgets import repay_network_loans
from simulator.model.decisions import credit_floor, means_to_move
from simulator.model.households import AT_HOME, WAITING
from simulator.model.migration import corridor_options
from simulator.params import DecisionParams, ModelParams
from simulator.world.regions import lean_season_loss
from simulator.world.tables import LEAN_SEASON, default_world_path, load_corridors


def test_the_lean_season_covers_its_months_and_wraps_over_the_new_year():
    start, months, loss = np.array([9, 11, 1]), np.array([3, 3, 0]), np.array([0.5, 0.4, 0.9])
    in_season = np.array([lean_season_loss(start, months, loss, m) for m in range(1, 13)])   # (month, origin)
    assert in_season[:, 0].nonzero()[0].tolist() == [8, 9, 10]         # September to November
    assert in_season[:, 1].nonzero()[0].tolist() == [0, 10, 11]        # November to January
    assert not in_season[:, 2].any()                                   # no lean season
    assert in_season.max(axis=0).tolist() == [0.5, 0.4, 0.0]


def world_with(tmp_path, edit):
    """A copy of the default world whose places.csv rows are changed by `edit(row)` (a dict, in place)."""
    folder = tmp_path / "w"
    shutil.copytree(default_world_path(), folder)
    path = folder / "places.csv"
    lines = path.read_text().splitlines(keepends=True)
    comments = [line for line in lines if line.startswith("#")]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    for row in rows:
        edit(row)
    fields = list(rows[0])
    with path.open("w", newline="") as f:
        f.writelines(comments)
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)
    return folder


def lean(name, start="9", months="3", loss="0.6"):
    def edit(row):
        for column in LEAN_SEASON:
            row.setdefault(column, "")
        if row["name"] == name:
            row.update(zip(LEAN_SEASON, (start, months, loss)))
    return edit


def test_a_lean_season_lowers_farm_income_in_its_months_only(tmp_path):
    world = world_with(tmp_path, lean("Highlands"))   # a district without a lean season in the default world
    plateau = load_corridors(world).origins.index("Highlands")
    model = MigrationModel(n_households=2000, years=1, rng=4, world=world)
    twin = MigrationModel(n_households=2000, years=1, rng=4)   # the same world without that lean season
    here = model.households.origin == plateau
    farm = model.households.farm_dependence[here].astype(float)
    for month in range(1, 13):
        model.step()
        twin.step()
        season = 0.6 if month in (9, 10, 11) else 0.0
        assert model.climate.farm_decline[plateau] == pytest.approx(twin.climate.farm_decline[plateau] + season)
        if month in (8, 9):   # the income of every farm household falls by its farm share of the season's loss
            ratio = model.income_per_adult[here] / twin.income_per_adult[here]
            base = 1.0 - farm * twin.climate.farm_decline[plateau] - twin.loss[here]
            expected = np.maximum(0.0, base - farm * season) / base
            np.testing.assert_allclose(ratio[base > 0.7], expected[base > 0.7], rtol=1e-9)


@pytest.mark.parametrize("edit, message", [
    (lean("Capital"), "lean_season_start_month = '9' is not allowed for a place of kind 'city'"),
    (lean("Dry Plateau", loss=""), "is given without lean_season_loss"),
    (lean("Dry Plateau", start="13"), "lean_season_start_month = '13' is not allowed: expected a finite value in [1,"),
    (lean("Dry Plateau", months="12"), "lean_season_months = '12' is not allowed"),
    (lean("Dry Plateau", loss="1.5"), "lean_season_loss = '1.5' is not allowed"),
])
def test_a_bad_lean_season_stops_with_a_clear_error(tmp_path, edit, message):
    with pytest.raises(WorldError, match=re.escape(message)):
        load_corridors(world_with(tmp_path, edit))


def test_households_cannot_borrow_on_the_assets_they_keep():
    p = DecisionParams(credit_fraction=0.3, credit_floor_usd=1000.0)
    means = means_to_move(np.array([50.0, 50.0, 50.0]), np.array([400.0, 1000.0, 3000.0]), p)
    np.testing.assert_allclose(means, [50.0, 50.0, 50.0 + 0.3 * 2000.0])


def test_the_floor_is_the_larger_of_a_sum_and_a_share_of_the_districts_median_assets():
    p = DecisionParams(credit_floor_usd=500.0, credit_floor_share=0.5)
    np.testing.assert_allclose(credit_floor(p, np.array([400.0, 1000.0, 3000.0])), [500.0, 500.0, 1500.0])
    model = MigrationModel(n_households=500, years=1, rng=0, **{"decisions.credit_floor_share": 0.5})
    np.testing.assert_allclose(model.credit_floor, 0.5 * load_corridors(default_world_path()).origin[
        "assets_median_usd"])


def test_a_relative_floor_leaves_the_better_off_of_a_poor_district_some_credit():
    """A floor in dollars above a district's assets leaves nobody there any credit; a floor relative to the district
    lets its better-off households borrow, whatever its level of wealth."""
    assets = np.array([50.0, 100.0, 200.0, 400.0])   # a poor district, median 100 USD
    in_dollars = means_to_move(np.zeros(4), assets, DecisionParams(credit_floor_usd=1300.0))
    relative = means_to_move(np.zeros(4), assets, DecisionParams(), credit_floor(
        DecisionParams(credit_floor_share=1.0), np.array([100.0]))[0])
    assert (in_dollars == 0).all()
    np.testing.assert_allclose(relative, [0.0, 0.0, 30.0, 90.0])


def test_a_credit_floor_traps_households_that_wanted_to_move_and_records_what_they_wanted():
    """The same households and draws with and without a floor (one run each, common random numbers): with it, more
    are trapped (about twice as many: 1,345 against 649 household-months) and fewer move; every trapped household is
    counted once by the pathway of the move it wanted."""
    free = MigrationModel(n_households=3000, years=3, rng=2, **{"decisions.credit_floor_share": 0.0}).run()
    floor = MigrationModel(n_households=3000, years=3, rng=2, **{"decisions.credit_floor_share": 0.0,
                                                                 "decisions.credit_floor_usd": 1500.0}).run()
    for ds in (free, floor):
        np.testing.assert_array_equal(ds["trapped_wanting"].sum("pathway"), ds["trapped"])
    assert floor["trapped"].sum() > 1.5 * free["trapped"].sum()
    assert floor["emigrants"].sel(pathway="internal").sum() < free["emigrants"].sel(pathway="internal").sum()
    assert (floor["trapped_wanting"].sum(["time", "origin"]) > 0).all()   # some wanted each pathway


def options_with(network=None, **decisions):
    model = MigrationModel(n_households=500, years=1, rng=0)
    params = dataclasses.replace(ModelParams(), decisions=DecisionParams(**decisions))
    chosen = [(c, c.option_terms(0)) for c in model.channels]
    chosen = [(c, terms) for c, terms in chosen if terms is not None]
    options = corridor_options(model.places, params, model.labour.wage, model.expected_employment,
                               [(c.name, model.places.index(c.destination), terms) for c, terms in chosen],
                               [(r.name, model.places.index(r.destination), r.settings, r.origins)
                                for r in model.route_options], network)
    return model, chosen, options


def test_a_migrant_without_a_job_offer_carries_the_first_months_living_cost():
    model, chosen, plain = options_with()
    _, _, carried = options_with(startup_months=1.5)
    living = model.places.living_cost[plain.place]
    searching = np.array([*[True] * model.places.n_cities, *(not t.job_offer for _, t in chosen),
                          *[True] * len(model.route_options)])
    assert searching.any() and not searching.all()   # the labour schemes place their migrants in a job
    assert [c.kind for c, t in chosen if not t.job_offer] == ["free_movement"]
    np.testing.assert_allclose(carried.cost, plain.cost + np.where(searching, 1.5 * living, 0.0))


def test_a_network_lowers_the_up_front_cost_of_the_way_its_members_went():
    """The cut of each option uses the district's members at the option's place who went by the option's pathway:
    a diaspora of irregular migrants cheapens the irregular route to its place, not the channels there."""
    model, _, plain = options_with()
    shape = (model.world.n_origins, model.places.n, 3)
    share = np.linspace(0.0, 0.4, np.prod(shape)).reshape(shape)
    _, _, cheaper = options_with(share, network_cost_cut=0.6, network_cost_half=0.1)
    s = share[:, plain.place, plain.pathway]
    np.testing.assert_allclose(cheaper.cost, plain.cost * (1.0 - 0.6 * s / (s + 0.1)))
    irregular_only = np.zeros(shape)
    irregular_only[:, :, 2] = 0.3
    _, _, smuggled = options_with(irregular_only, network_cost_cut=0.6)
    route = plain.pathway == 2
    assert (smuggled.cost[:, route] < plain.cost[:, route]).all()
    np.testing.assert_array_equal(smuggled.cost[:, ~route], plain.cost[:, ~route])
    _, _, same = options_with(share, network_cost_cut=0.0)   # no cut
    np.testing.assert_array_equal(same.cost, plain.cost)


def test_a_network_lends_part_of_what_a_move_abroad_costs_on_choosing():
    """With loans, what is due on choosing a move abroad falls by the share `network_loan_share s^k / (s^k +
    network_loan_half^k)` of the district's members at its place (any pathway; k = network_loan_power), and that share
    is what the model records as lent; moves to a city are not lent for. Without loans nothing changes."""
    loans = {"decisions.network_loan_share": 0.9, "decisions.network_loan_half": 0.05,
             "decisions.network_loan_power": 2}
    plain = MigrationModel(n_households=500, years=1, rng=0, **{"decisions.network_loan_share": 0.0})
    lending = MigrationModel(n_households=500, years=1, rng=0, **loans)
    shape = (plain.world.n_origins, plain.places.n, 3)
    network = np.linspace(0.0, 0.3, np.prod(shape)).reshape(shape)
    before, after = plain.month_options(network), lending.month_options(network)
    assert plain.option_lent is None
    s = network.sum(axis=2)[:, before.place]
    abroad = before.pathway != 0
    expected = np.where(abroad, before.due * 0.9 * s ** 2 / (s ** 2 + 0.05 ** 2), 0.0)
    np.testing.assert_allclose(lending.option_lent, expected, rtol=1e-12)
    np.testing.assert_allclose(after.due, before.due - expected, rtol=1e-12)
    np.testing.assert_array_equal(after.cost, before.cost)   # the whole cost is still weighed in the utility
    assert (lending.option_lent[:, abroad] > 0).any() and not lending.option_lent[:, ~abroad].any()


def test_remittances_repay_the_network_first_and_a_debt_is_written_off_when_nobody_is_away():
    debt = np.array([100.0, 50.0, 30.0, 30.0, 0.0], np.float32)
    slots = np.array([1, 1, 0, 0, 1], np.uint8)             # a member away in the first two and the last
    waiting = np.array([False, False, False, True, False])  # the fourth waits for a place it borrowed to apply for
    remittances = np.array([40.0, 80.0, 10.0, 0.0, 5.0])
    origin, owed = np.array([0, 1, 0, 1, 1], np.int16), np.zeros(2)
    repay_network_loans(debt, slots, np.where(waiting, WAITING, AT_HOME).astype(np.int8), WAITING, remittances, origin,
                        owed)
    assert debt.tolist() == [60.0, 0.0, 0.0, 30.0, 0.0]
    assert remittances.tolist() == [0.0, 30.0, 10.0, 0.0, 5.0]
    assert owed.tolist() == [60.0, 30.0]   # what is still owed, by origin


def test_with_network_loans_households_that_could_not_pay_leave_and_owe_what_was_lent():
    """The same households and draws with and without loans, with a strong diaspora at Gulfland (common random
    numbers): with loans, more leave abroad, no more are trapped in the first month, and the households owe at
    most what they were lent."""
    runs = {}
    for share in (0.0, 1.0):
        model = MigrationModel(n_households=3000, years=3, rng=4, **{"decisions.network_loan_share": share})
        gulf = model.places.index("Gulfland")
        lent = 0.0
        for _ in range(model.n_steps):
            network = model.network_by_pathway()
            network[:, gulf, 1] += 0.3   # as if 30% of each district's households had a regular migrant there
            members = model.members_by_pathway
            model.members_by_pathway = lambda: (network * np.maximum(model.households_per_origin, 1)[:, None, None])
            before = model.households.debt.astype(np.float64).sum()
            model.step()
            model.members_by_pathway = members
            lent += max(0.0, model.households.debt.astype(np.float64).sum() - before)
        runs[share] = model.dataset(), model.households.debt.copy(), lent
    (plain, no_debt, _), (lending, debt, lent) = runs[0.0], runs[1.0]
    assert not no_debt.any() and debt.min() >= 0 and 0 < debt.astype(np.float64).sum() <= lent
    # the outputs: what is owed at the end, as the households hold it; what was lent month by month, at least the
    # months' net rises of the debt (the rest was repaid or written off in the month it was lent)
    assert not plain["network_lent"].any() and not plain["network_debt"].any()
    np.testing.assert_allclose(float(lending["network_debt"].isel(time=-1).sum()), debt.astype(np.float64).sum(),
                               rtol=1e-9)
    assert float(lending["network_lent"].sum()) >= lent * (1 - 1e-6)
    abroad = ["regular", "irregular"]
    assert lending["emigrants"].sel(pathway=abroad).sum() > plain["emigrants"].sel(pathway=abroad).sum()
    # in the first month, from the same households and draws, a loan only opens options: no more are trapped (later
    # the migrants who left strengthen the network, and more want to go)
    assert lending["trapped"].isel(time=0).sum() <= plain["trapped"].isel(time=0).sum()
