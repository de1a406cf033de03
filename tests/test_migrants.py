"""Migrants as their own rows: the table, households' slots, several members away, conservation of people."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulator import MigrationModel, build_interventions
from simulator.errors import ConfigError
from simulator.model.households import AWAY, FAMILY_ABROAD, IN_CITY, IN_TRANSIT
from simulator.model.migrants import LOWEST_FREE_SLOT, MAX_SLOTS, Migrant, Migrants, find, free_slots, take_slots
from simulator.world.tables import default_world_path, load_corridors

CORRIDORS = load_corridors(default_world_path())


def busy_corridors(**overrides) -> MigrationModel:
    """The corridors world with places enough for a small simulated population (its vacancies and every channel's
    places times 100) and cheap, frequent moves, so that households send several members within two years."""
    channels = []
    for c in CORRIDORS.channels:
        s = dict(c.settings)
        for key in ("quota_per_year", "processing_per_month"):
            if key in s:
                s[key] = min(100 * s[key], 1e9)
        s.update({k: v for k, v in {"min_months_abroad": 2, "min_wage_usd": 0.0, "monthly_probability": 0.3,
                                    "recruitment_cost_usd": 300.0}.items() if k in s})
        channels.append(dataclasses.replace(c, settings=s))
    world = dataclasses.replace(CORRIDORS, vacancies_per_month=100 * CORRIDORS.vacancies_per_month)
    return MigrationModel(n_households=3000, years=2, rng=11, world=world, channels=channels,
                          **{"decisions.asc_internal": -3.0, "decisions.asc_regular": -2.0,
                             "decisions.asc_irregular": -2.0,
                             "decisions.beta_income": 1.0,   # a weak pull of the best-paid options: all pathways busy
                             **overrides})


def test_the_table_keeps_household_and_slot_order_and_defaults():
    m = Migrants.empty()
    m.add(household=np.array([7, 2]), origin=np.array([1, 0]), slot=np.array([0, 1]), trip=1, status=IN_CITY, place=0,
          since=3, female=np.array([True, False]), age=np.array([30.0, 22.0]), skill=np.array([1, 0]))
    m.add(household=np.array([2]), origin=np.array([0]), slot=np.array([0]), trip=2, status=IN_TRANSIT, place=1,
          route=0, since=4, female=np.array([False]), age=np.array([19.0]), skill=np.array([0]))
    assert m.household.tolist() == [2, 2, 7] and m.slot.tolist() == [0, 1, 0]
    assert m.route.tolist() == [0, -1, -1] and m.channel.tolist() == [-1, -1, -1]
    assert m.female.tolist() == [False, False, True] and m.since.tolist() == [4, 3, 3]
    m.remove(np.array([1]))
    assert m.household.tolist() == [2, 7] and m.status.tolist() == [IN_TRANSIT, IN_CITY]
    with pytest.raises(TypeError, match="unknown columns"):
        m.add(household=np.array([1]), destination=np.array([0]))
    with pytest.raises(TypeError, match="missing columns ..origin"):
        m.add(household=np.array([1]), slot=0, trip=1, status=IN_CITY, place=0, since=0, female=False, age=30.0,
              skill=0)


def test_the_table_keeps_its_own_copy_of_what_it_is_given():
    household = np.array([3, 5], np.int32)
    m = Migrants.empty()
    m.add(household=household, origin=np.array([0, 0]), slot=np.array([0, 0]), trip=1, status=IN_CITY, place=0,
          since=0, female=np.array([False, True]), age=np.array([20.0, 30.0]), skill=np.array([0, 1]))
    household[:] = [9, 7]   # the caller reuses its array before the table is read
    assert m.household.tolist() == [3, 5]


def test_slots_are_taken_lowest_first_and_freed():
    slots = np.zeros(3, np.uint8)
    assert take_slots(slots, np.array([0, 2])).tolist() == [0, 0]
    assert take_slots(slots, np.array([0])).tolist() == [1]
    assert slots.tolist() == [0b11, 0, 0b1]
    free_slots(slots, np.array([0]), np.array([0]))
    assert slots.tolist() == [0b10, 0, 0b1]
    assert take_slots(slots, np.array([0])).tolist() == [0]
    assert LOWEST_FREE_SLOT[0b1011] == 2 and LOWEST_FREE_SLOT[255] == MAX_SLOTS
    with pytest.raises(RuntimeError, match="no free slot"):
        take_slots(np.array([255], np.uint8), np.array([0]))


@pytest.mark.parametrize("households, error", [([2, 0, 1, 0], ValueError), ([1, 0, 1], ValueError),
                                               ([0, 3], RuntimeError), ([3, 0, 1], RuntimeError),
                                               ([3, 3], RuntimeError)])
def test_a_refused_departure_leaves_every_slot_as_it_was(households, error):
    """A household listed twice (not next to each other), or one with no free slot (household 3; listed twice too,
    the missing slot is what is said), refuses the whole departure, and the slots marked for the other households
    are freed again."""
    slots = np.array([0b1, 0b101, 0, 255], np.uint8)
    with pytest.raises(error):
        take_slots(slots, np.array(households))
    assert slots.tolist() == [0b1, 0b101, 0, 255]


@pytest.mark.parametrize("value", [0, 9, 1.5])
def test_the_most_members_away_is_checked(value):
    with pytest.raises(ConfigError, match="max_members_away"):
        MigrationModel(n_households=10, years=1, rng=0, **{"decisions.max_members_away": value})


def assert_rows_match_slots(model: MigrationModel) -> None:
    """Every migrant holds a distinct slot of its household, and a household's mask is exactly its rows' slots."""
    h, m = model.households, model.migrants
    key = m.household.astype(np.int64) * MAX_SLOTS + m.slot
    assert (np.diff(key) > 0).all()   # in household and slot order, no slot held twice
    mask = np.zeros(h.n, np.int64)
    np.add.at(mask, m.household, 1 << m.slot.astype(np.int64))
    np.testing.assert_array_equal(mask, h.slots)
    assert (m.origin == h.origin[m.household]).all()


def test_households_send_several_members_and_people_are_conserved():
    """With up to three members away, households have two or three away at once, in different places; every month
    people at origin + members away (in transit, in a city, abroad) + families abroad + dead = initial population,
    and the recorded stocks add up to it too."""
    model = busy_corridors(**{"decisions.max_members_away": 3})
    h, p0 = model.households, model.initial_population
    most, apart = 0, 0
    for _ in range(model.n_steps):
        model.step()
        m = model.migrants
        assert_rows_match_slots(model)
        per_household = np.bincount(m.household, minlength=h.n)
        assert per_household.max() <= 3
        most = max(most, int(per_household.max()))
        several = np.flatnonzero(per_household >= 2)
        apart += sum(len(np.unique(m.place[m.household == i])) > 1 for i in several[:50])
        away = int(np.isin(m.status, AWAY).sum())
        families = int(h.size[h.status == FAMILY_ABROAD].sum())
        assert int(h.people_at_origin().sum()) + away + families + int(h.dead.sum()) == p0
        assert (h.adults >= 0).all() and (h.adults - h.away() >= 0)[h.status != FAMILY_ABROAD].all()
    assert most >= 2 and apart > 0
    ds = model.dataset()
    recorded = (ds.population.sum("origin") + ds.migrants_away.sum(["origin", "destination", "pathway"])
                + ds.in_transit.sum("origin") + ds.families_abroad.sum("origin")
                + ds.deaths.sum("origin").cumsum("time"))
    assert (recorded == p0).all()
    assert float(ds.deaths.sum()) > 0 and float(ds.reunifications.sum()) > 0


def test_with_one_member_away_at_most_a_household_waits_for_its_migrant():
    model = busy_corridors()
    for _ in range(model.n_steps):
        model.step()
        assert np.bincount(model.migrants.household).max(initial=0) <= 1
        assert_rows_match_slots(model)


def test_only_a_lone_member_away_is_joined_by_its_family():
    """Family reunification takes the whole household abroad, so it is open only to households whose one member
    away is the regular migrant: a reunited household never has another member away."""
    model = busy_corridors(**{"decisions.max_members_away": 3})
    joined = 0
    for _ in range(model.n_steps):
        model.step()
        m = model.migrants
        for c in model.channels:
            if c.kind == "family":
                joined += len(c.granted)
                assert (np.bincount(m.household, minlength=model.households.n)[c.granted] == 1).all()
        families = np.flatnonzero(model.households.status == FAMILY_ABROAD)
        assert (np.bincount(m.household, minlength=model.households.n)[families] == 1).all()
        assert (m.status[np.isin(m.household, families)] == FAMILY_ABROAD).all()
    assert joined > 0


def test_a_household_agent_lists_its_members_away():
    model = busy_corridors(**{"decisions.max_members_away": 3})
    for _ in range(12):
        model.step()
    m = model.migrants
    i = int(m.household[np.argmax(np.bincount(m.household))])
    agent = next(a for a in model.agents if a.row == i)
    members = agent.members_away
    assert len(members) == np.count_nonzero(m.household == i) >= 2
    assert all(member["household"] == i for member in members)
    assert sorted(member["slot"] for member in members) == list(range(len(members)))


def test_several_members_away_leave_climate_and_labour_alone_and_runs_repeat():
    """Same seed, same bytes; allowing more members away changes who leaves, not the climate or labour markets
    (their own random streams)."""
    runs = [busy_corridors(**{"decisions.max_members_away": k}).run() for k in (1, 3, 1)]
    assert runs[0].identical(runs[2])
    for name in ("shock_loss", "labour_demand", "destination_wage"):
        np.testing.assert_array_equal(runs[0][name].values, runs[1][name].values)
    assert not runs[0]["emigrants"].equals(runs[1]["emigrants"])


def test_stocks_away_are_the_tables_rows_with_several_members_away():
    model = busy_corridors(interventions=build_interventions({"remittance_cost": {}}),
                           **{"decisions.max_members_away": 2})
    ds = model.run()
    m = model.migrants
    assert ds.migrants_away.isel(time=-1).sum().item() == np.isin(m.status, AWAY[1:]).sum()   # city or abroad
    assert ds.in_transit.isel(time=-1).sum().item() == np.count_nonzero(m.status == IN_TRANSIT)
    assert float(ds.remittances.sum()) > 0


def test_outputs_by_sex_and_age_are_the_migrants():
    """Departures by group follow the population parameters of who leaves, within sampling error: the share of
    women among members leaving for abroad and for a city (binomial, 4 standard errors), and the share aged under
    35 (P(Z < (35 - 28) / 7) = 0.841 at the defaults; 4 standard errors). Heads of household (mean age 42, about a
    fifth female in the default world) would give other shares."""
    ds = busy_corridors(**{"decisions.max_members_away": 3}).run()
    pop = MigrationModel(n_households=1, years=1, rng=0).params.population
    g = ds.emigrants_by_group.sum("time")
    for pathways, share in ((["regular", "irregular"], pop.migrant_female_share_abroad),
                            (["internal"], pop.migrant_female_share_internal)):
        by_sex = g.sel(pathway=pathways).sum(["pathway", "age_group", "skill"])
        n = float(by_sex.sum())
        assert n > 300
        women = float(by_sex.isel(sex=0)) / n
        assert abs(women - share) <= 4 * np.sqrt(share * (1 - share) / n), (pathways, women, share, n)
    by_age = g.sum(["pathway", "sex", "skill"])
    n, p_young = float(by_age.sum()), 0.8413447
    young = float(by_age.isel(age_group=0)) / n
    assert abs(young - p_young) <= 4 * np.sqrt(p_young * (1 - p_young) / n), (young, n)


def test_members_away_are_mesa_agents_viewing_their_rows():
    """Each member away is a `Migrant` Mesa agent, created when it leaves and removed when it is back or dead; its
    attributes read and write its row, found by household and departure number however the rows move."""
    model = busy_corridors(**{"decisions.max_members_away": 3})
    seen_removed = 0
    for _ in range(model.n_steps):
        before = set(model.migrant_views)
        model.step()
        m = model.migrants
        views = list(model.agents_by_type[Migrant])
        assert len(views) == m.n == len(model.migrant_views)
        rows = find(m.household, m.trip, m)
        np.testing.assert_array_equal(rows, np.arange(m.n))
        for agent in views[:200]:
            row = agent.row
            assert (agent.household, agent.trip, agent.place, agent.status) == (
                int(m.household[row]), int(m.trip[row]), int(m.place[row]), int(m.status[row]))
        seen_removed += len(before - set(model.migrant_views))
    assert seen_removed > 0
    agent = views[0]
    agent.employed = not agent.employed
    assert bool(model.migrants.employed[agent.row]) == agent.employed
    gone = Migrant(model, 0, 10_000)
    with pytest.raises(LookupError, match="no longer away"):
        gone.place


def test_no_migrant_views_beyond_the_view_limit():
    model = MigrationModel(n_households=500, years=1, rng=2, agent_view_limit=100,
                           **{"decisions.asc_internal": -2.0})
    model.run()
    assert model.migrants.n > 0 and not model.migrant_views and not list(model.agents_by_type.get(Migrant, []))


def test_a_migrant_keeps_the_skill_it_left_with_and_households_send_one_member_at_a_time():
    """A training at origin (local jobs' skill upgrading, from the second year) raises the household's skill, not
    that of its members already away; and a household cannot be listed twice in one departure."""
    from simulator.policy.interventions import build_interventions as build
    model = busy_corridors(interventions=build({"local_jobs": {"start_year": 1, "income_gain": 0.1}}),
                           **{"decisions.max_members_away": 2})
    skill_of = {}
    raised = 0
    for _ in range(model.n_steps):
        model.step()
        m, h = model.migrants, model.households
        for i, trip, skill in zip(m.household.tolist(), m.trip.tolist(), m.skill.tolist()):
            assert skill_of.setdefault((i, trip), skill) == skill
        raised += int(np.count_nonzero(m.skill != h.skill[m.household]))
    assert raised > 0   # some households were trained while a member was away
    with pytest.raises(ValueError, match="listed twice"):
        take_slots(np.zeros(3, np.uint8), np.array([1, 1]))


def _month_of_migrants_in_numpy(status, place, employed, skill, household, origin, u, wage, vacancies, ratio, living,
                                share, transfer, cap, separation, hire_factor, wage_factor, city_rate, n_households,
                                n_origins):
    """The month's employment and remittances of the migrants as the model computed them with numpy (the functions
    of simulator.model.abroad), for comparison with the compiled pass."""
    from simulator.model.abroad import hiring_probabilities, remittances, update_employment
    from simulator.model.households import ABROAD_IRREGULAR, ABROAD_REGULAR
    employed, received = employed.copy(), np.zeros(n_households)
    abroad = np.flatnonzero((status == ABROAD_REGULAR) | (status == ABROAD_IRREGULAR))
    where, irregular, emp = place[abroad], status[abroad] == ABROAD_IRREGULAR, employed[abroad]
    hire = hiring_probabilities(vacancies, where, ~emp & ~irregular, ~emp & irregular, hire_factor)
    emp = update_employment(emp, irregular, u[abroad], separation, hire[where], hire_factor)
    employed[abroad] = emp
    pay = wage[where] * ratio[where, skill[abroad]] * np.where(irregular, wage_factor, 1.0)
    sent, fees = remittances(np.where(emp, pay, 0.0), living[where], share[where], np.minimum(transfer[where], cap))
    np.add.at(received, household[abroad], sent)
    fees_abroad = np.bincount(origin[abroad], fees, minlength=n_origins).astype(np.float64)
    city = np.flatnonzero(status == IN_CITY)
    where, city_emp = place[city], u[city] < city_rate
    employed[city] = city_emp
    sent, fees = remittances(np.where(city_emp, wage[where] * ratio[where, skill[city]], 0.0), living[where],
                             share[where], transfer[where])
    np.add.at(received, household[city], sent)
    fees_city = np.bincount(origin[city], fees, minlength=n_origins).astype(np.float64)
    return (abroad, irregular, emp, pay, city, city_emp, fees_abroad, fees_city, hire), employed, received


def test_the_compiled_month_of_migrants_is_the_numpy_statement():
    """abroad.employment_and_remittances, which the model runs, gives bit for bit what hiring_probabilities,
    update_employment and remittances give, draws equal to the float32 thresholds included (numpy compares float32
    draws with a Python number in float32)."""
    from simulator.model.abroad import employment_and_remittances, float32_threshold
    from simulator.model.households import ABROAD_IRREGULAR, ABROAD_REGULAR
    rng = np.random.default_rng(0)
    for _ in range(300):
        n, n_places, n_origins, n_households = int(rng.integers(0, 60)), int(rng.integers(1, 6)), 3, 40
        status = rng.integers(2, 7, n).astype(np.int8)
        place = rng.integers(0, n_places, n).astype(np.int8)
        employed = rng.random(n) < 0.5
        skill = rng.integers(0, 3, n).astype(np.int8)
        household = rng.integers(0, n_households, n).astype(np.int32)
        origin = rng.integers(0, n_origins, n).astype(np.int16)
        separation, city_rate = float(rng.choice([0.02, 1 / 3, 0.0, 1.0])), float(rng.choice([0.7, 0.1 + 1e-9]))
        u = rng.random(n).astype(np.float32)
        for threshold in (separation, city_rate):
            u[rng.random(n) < 0.2] = np.float32(threshold)
            u[rng.random(n) < 0.1] = np.nextafter(np.float32(threshold), np.float32(0))
        wage, vacancies = rng.random(n_places) * 2000, rng.choice([0.0, 0.5, 3.0, 1e6], n_places)
        ratio, living, share, transfer = (rng.random((n_places, 3)) * 3, rng.random(n_places) * 500,
                                          rng.random(n_places), rng.random(n_places) * 0.2)
        cap, hire_factor, wage_factor = float(rng.choice([1.0, 0.05])), float(rng.choice([0.3, 0.0])), 0.6
        got_employed, got_received = employed.copy(), np.full(n_households, 7.0)
        got = employment_and_remittances(status, place, got_employed, skill, household, origin, u, ABROAD_REGULAR,
                                         ABROAD_IRREGULAR, IN_CITY, wage, vacancies, ratio, living, share, transfer,
                                         cap, float32_threshold(separation), hire_factor, wage_factor,
                                         float32_threshold(city_rate), got_received, n_origins)
        want, want_employed, want_received = _month_of_migrants_in_numpy(
            status, place, employed, skill, household, origin, u, wage, vacancies, ratio, living, share, transfer, cap,
            separation, hire_factor, wage_factor, city_rate, n_households, n_origins)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8))
        np.testing.assert_array_equal(got_employed, want_employed)
        assert np.array_equal(got_received.view(np.int64), want_received.view(np.int64))


def test_expected_employment_is_the_share_of_a_stay_employed_and_does_not_count_simulated_migrants():
    """`h / (h + s + x)`, 0 where no one is hired (also with no separation and no exit), and before anyone is abroad
    the value at a hiring probability of 1, for any number of households (not a prior shrunk by simulated migrants)."""
    from simulator.model.abroad import expected_employment
    np.testing.assert_allclose(expected_employment(np.array([1.0, 0.5, 0.0, 0.0]), 0.02, 0.006),
                               [1 / 1.026, 0.5 / 0.526, 0.0, 0.0])
    assert expected_employment(np.array([0.0]), 0.0, 0.0)[0] == 0.0
    for n in (200, 20_000):
        m = MigrationModel(n_households=n, years=1, rng=0, agent_view_limit=0)
        p = m.params
        want = [expected_employment(np.ones(1), p.labour.job_separation_rate, p.regular.return_rate)[0],
                expected_employment(np.array([p.labour.irregular_hire_factor]), p.labour.job_separation_rate,
                                    p.irregular.return_rate + m.policy.deportation_rate)[0]]
        np.testing.assert_allclose(m.expected_employment, np.tile(want, (m.places.n, 1)))
