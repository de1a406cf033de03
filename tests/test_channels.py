"""Regular channels as objects of a registered kind (simulator.model.channels, simulator.policy.channels): their
places, queues and offers, interventions acting on them by name, and what closing one does to the others."""

from __future__ import annotations

import re

import numpy as np
import pytest

from simulator import MigrationModel, build_interventions, one_city_world_path, load_world
from simulator.errors import ConfigError
from simulator.model.channels import CHANNEL_CLASSES
from simulator.model.climate import ClimateOutlook
from simulator.model.households import AT_HOME, WAITING
from simulator.model.pathways import RegularQueue
from simulator.world.tables import Channel as Row

# A busy world: households want to leave, so that quotas bind (decision constants raised; assumption for the test).
BUSY = {"decisions.asc_internal": -3.0, "decisions.asc_regular": 0.0, "decisions.asc_irregular": -1.0,
        "irregular.smuggler_fee_usd": 400.0, "regular.max_wait_months": 6.0}
N = 20_000
WORLD = one_city_world_path()   # one city, one destination: the channels of each test are all there is
DESTINATION = load_world(WORLD).destination


def scheme(name: str, quota: float, processing: float, fee: float = 300.0, min_skill: int = 0,
           stay: int = 24) -> Row:
    """A labour scheme with `quota` places a year and `processing` a month, per 1,000 households."""
    return Row(name, DESTINATION, "labour_scheme", {"quota_per_year": quota, "processing_per_month": processing,
                                                 "fee_usd": fee, "recruitment_cost_usd": 0.0, "min_skill": min_skill,
                                                 "stay_months": stay, "max_wait_months": 6})


def model(channels, years: float = 3, seed: int = 1, interventions=None, **extra) -> MigrationModel:
    return MigrationModel(n_households=N, years=years, rng=seed, channels=channels, world=WORLD,
                          interventions=build_interventions(interventions or {}), **{**BUSY, **extra})


def test_a_channel_never_grants_more_places_than_its_quota_and_processing_allow():
    quota, processing = 3.0, 0.3     # per 1,000 households: 60 places a year, 6 decided a month
    m = model([scheme("A", quota, processing), scheme("B", 1.0, 1.0)])
    granted = {c.name: [] for c in m.channels}
    while m.running:
        m.step()
        for c in m.channels:
            granted[c.name].append(len(c.granted))
    a = np.array(granted["A"])
    assert a.max() <= processing * N / 1000 + 1            # the monthly capacity (a fraction carries: at most 1)
    yearly = a.reshape(-1, 12).sum(axis=1)
    assert (yearly <= quota * N / 1000 + 1).all()   # the quota, with at most one place carried from a year
    assert yearly[-1] >= quota * N / 1000 - 1       # and it binds: the world is busy
    b = np.array(granted["B"]).reshape(-1, 12).sum(axis=1)
    assert (b <= 1.0 * N / 1000 + 1).all() and b[-1] >= N / 1000 - 1
    ds = m.dataset()
    assert ds.visas_issued.sum() == a.sum() + b.sum()


def test_a_paced_book_keeps_the_places_no_one_took_and_a_staffed_one_loses_them():
    """A quota of 3 a year released a twelfth a month (0.25 places). With no one eligible from January to July, a
    paced book (humanitarian, family) offers in August the two places released by then; a book of processing capacity
    (staff time) has lost the whole unit nobody used in April and offers one. Neither gives more than the quota."""
    paced, staffed = RegularQueue(paced=True), RegularQueue()
    for month in range(7):   # January to July: no one eligible
        for book in (paced, staffed):
            book.capacity(month, 3.0, 0.25)
            book.use(0)
    assert (paced.capacity(7, 3.0, 0.25), staffed.capacity(7, 3.0, 0.25)) == (2, 1)
    paced.use(2)
    for month in range(8, 12):   # the rest of the year, every place offered is taken: one more, in December
        paced.use(paced.capacity(month, 3.0, 0.25))
    assert paced.issued_this_year == 3
    idle = RegularQueue(paced=True)   # two years with no one eligible keep a year's quota, no more
    for month in range(24):
        k = idle.capacity(month % 12, 3.0, 0.25)
        idle.use(0)
    assert k == 3 and idle.processing_credit == 3.0


def test_capacity_accrued_in_tenths_reaches_a_whole_place_in_the_tenth_month():
    """Ten monthly credits of 0.1 add up to 0.9999999999999999 in floating point: the book still counts the whole
    place they make (a tolerance of 1e-9, as the quota's), in the tenth month and not the eleventh."""
    book = RegularQueue()
    places = []
    for month in range(10):
        places.append(book.capacity(month, 1.2, 0.1))
        book.use(0)
    assert places == [0] * 9 + [1]


def test_applicants_wait_in_the_queue_of_the_channel_they_chose():
    m = model([scheme("A", 3.0, 0.2), scheme("B", 1.0, 1.0, min_skill=2)], years=1)
    admitted_by_b = 0
    for _ in range(6):
        m.step()
        h = m.households
        assert set(np.unique(h.channel[h.status == WAITING])) == {0, 1}
        granted = np.concatenate([c.granted for c in m.channels])
        assert len(np.unique(granted)) == len(granted)     # no household is admitted twice
        b = m.channels[1].granted
        rows = m.migrants.of(b)   # those not back home within the month (a voluntary return)
        assert (m.migrants.channel[rows] == 1).all() and (h.skill[b] == 2).all()
        admitted_by_b += len(b)
    assert admitted_by_b > 0


def test_free_movement_has_no_queue():
    free = Row("open border", DESTINATION, "free_movement", {"fee_usd": 20.0, "stay_months": 0})
    m = model([free], years=2)
    ds = m.run()
    assert float(ds.visa_queue.sum()) == 0 and float(ds.gave_up.sum()) == 0 and float(ds.visas_issued.sum()) == 0
    assert float(ds.emigrants.sel(pathway="regular").sum()) > 0          # people left by it
    assert float(ds.arrivals.sel(pathway="regular").sum()) == float(ds.emigrants.sel(pathway="regular").sum())
    # no applications: its departures are the places it granted
    assert float(ds.channel_applications.sum()) == 0
    assert float(ds.channel_granted.sum()) == float(ds.emigrants.sel(pathway="regular").sum())


def test_interventions_act_on_the_channel_they_name_only():
    m = model([scheme("A", 3.0, 0.2), scheme("B", 1.0, 1.0)], years=1,
              interventions={"quota_expansion": {"channel": "B", "factor": 3.0}, "fee_subsidy": {"share": 0.5}})
    m.step()
    a, b = m.channels
    assert a.settings["quota_per_year"] == a.base["quota_per_year"]
    assert b.settings["quota_per_year"] == 3.0 * b.base["quota_per_year"]
    assert a.settings["fee_usd"] == b.settings["fee_usd"] == 150.0    # no name: every channel of the kinds


@pytest.mark.parametrize("name,message", [("C", "a channel of the world"), ("B", "labour_scheme")])
def test_an_intervention_naming_a_channel_that_is_not_there_or_of_another_kind_stops(name, message):
    seasonal = Row("B", DESTINATION, "seasonal", {"quota_per_year": 1.0, "processing_per_month": 1.0, "fee_usd": 0.0,
                                               "stay_months": 6, "max_wait_months": 6})
    with pytest.raises(ConfigError) as info:
        model([scheme("A", 3.0, 0.2), seasonal], interventions={"quota_expansion": {"channel": name}})
    assert "interventions.quota_expansion.channel" in str(info.value) and message in str(info.value)


def partnership(training: int = 6, quota: float = 6.0, min_skill: int = 2) -> Row:
    """A skills partnership training for `training` months to `min_skill`, `quota` places a year per 1,000
    households."""
    return Row("GSP", DESTINATION, "skills_partnership", {
        "quota_per_year": quota, "processing_per_month": quota / 12, "training_months": training,
        "min_skill": min_skill, "stay_months": 24, "max_wait_months": 12, "fee_usd": 100.0,
        "recruitment_cost_usd": 0.0})


def test_a_kind_without_rules_in_the_model_stops_naming_the_channel(monkeypatch):
    monkeypatch.delitem(CHANNEL_CLASSES, "skills_partnership")
    with pytest.raises(ConfigError, match=r"channels\.GSP\.kind"):
        model([partnership()])


@pytest.mark.parametrize("setting, value, message", [
    ("min_skill", 3, "channels.GSP.min_skill = 3 is not allowed: expected a skill level: 0, 1 or 2"),
    ("training_months", 2.5, "channels.GSP.training_months = 2.5 is not allowed: expected a whole number"),
    ("training_months", 0, "channels.GSP.training_months = 0 is not allowed"),
])
def test_a_skills_partnership_refuses_a_skill_or_training_its_rules_cannot_use(setting, value, message):
    row = partnership()
    with pytest.raises(ConfigError, match=re.escape(message)):
        model([Row(row.name, row.destination, row.kind, {**row.settings, setting: value})], years=1)


def test_a_skills_partnership_trains_its_applicants_then_admits_them_with_the_skill_it_gave():
    """Low-skilled households, whom a labour scheme of the same skill floor turns away, apply to the partnership; none
    is admitted before `training_months`; each applicant reaches `min_skill` when its training ends, and the places
    go to trained applicants."""
    m = model([scheme("ordinary", 3.0, 0.25, min_skill=2), partnership(training=6)], years=2)
    skill_at_start = m.households.skill.copy()
    h, gsp = m.households, 1
    first_application = None
    admitted = []
    while m.running:
        m.step()
        [scheme_, partner] = m.channels
        if partner.applications and first_application is None:
            first_application = m.t - 1
        admitted.append(partner.granted.copy())
        waiting = (h.status == WAITING) & (h.channel == gsp)
        training = waiting & (m.t - 1 - h.since < 6)
        trained = waiting & ~training
        assert (h.skill[trained] == 2).all()            # trained applicants have the skill
        assert (h.skill[scheme_.granted] == 2).all()      # the scheme admits the high-skilled only (some of them
                                                         # trained by the partnership, which they left)
    assert first_application is not None
    assert all(len(g) == 0 for g in admitted[:first_application + 6])   # nobody before training ends
    granted = np.concatenate(admitted)
    assert len(granted) > 20
    assert (h.skill[granted] == 2).all()
    assert (skill_at_start[granted] < 2).mean() > 0.5   # most of them were not high-skilled before


def test_closing_a_channel_diverts_its_applicants_to_the_other_and_to_the_irregular_route():
    """The same seeds with channel A open and closed (quota 0): more applications to B and more irregular departures
    when A is closed. The effect is compared with its sampling error over 8 paired seeds (mean difference over its
    standard error, at least 3; with the network's loans the irregular departures vary more from seed to seed, and 4
    seeds left the diversion at 2.8 standard errors)."""
    diffs = []
    for seed in range(8):
        runs = []
        for quota_a in (3.0, 0.0):
            m = model([scheme("A", quota_a, 0.3), scheme("B", 1.0, 0.1, fee=900.0)], seed=seed,
                      climate_outlook=ClimateOutlook())
            counts = {"B": 0, "irregular": 0.0}
            while m.running:
                m.step()
                counts["B"] += m.channels[1].applications
            counts["irregular"] = float(m.dataset().emigrants.sel(pathway="irregular").sum())
            runs.append(counts)
        diffs.append([runs[1]["B"] - runs[0]["B"], runs[1]["irregular"] - runs[0]["irregular"]])
    d = np.array(diffs, float)
    mean, se = d.mean(axis=0), d.std(axis=0, ddof=1) / np.sqrt(len(d))
    assert (mean > 3 * np.maximum(se, 1e-9)).all(), (mean, se)


def test_malformed_channel_rows_stop_naming_the_channel_and_the_setting():
    good = scheme("A", 3.0, 0.2)
    missing = Row("B", DESTINATION, "labour_scheme", {k: v for k, v in good.settings.items() if k != "max_wait_months"})
    foreign = Row("B", DESTINATION, "labour_scheme", {**good.settings, "min_loss": 0.3})
    negative = Row("B", DESTINATION, "labour_scheme", {**good.settings, "quota_per_year": -1.0})
    elsewhere = Row("B", "Mars", "labour_scheme", good.settings)
    for rows, field in (([good, missing], "channels.B.max_wait_months"), ([good, foreign], "channels.B.min_loss"),
                        ([good, negative], "channels.B.quota_per_year"), ([good, elsewhere], "channels.B.destination"),
                        ([good, good], "channels")):
        with pytest.raises(ConfigError) as info:
            model(rows, years=1)
        assert info.value.field == field, (field, str(info.value))


def test_an_intervention_with_no_channel_of_its_kinds_stops():
    with pytest.raises(ConfigError, match="humanitarian"):
        model([scheme("A", 3.0, 0.2)], years=1, interventions={"humanitarian_visas": {}})


def test_places_an_intervention_adds_are_shared_among_the_channels_it_acts_on():
    seasonal = [Row(name, DESTINATION, "seasonal", {"quota_per_year": 0.0, "processing_per_month": 0.0, "fee_usd": 0.0,
                                                 "stay_months": 6, "max_wait_months": 6}) for name in ("S1", "S2")]
    m = model([scheme("A", 3.0, 0.2), *seasonal], years=1,
              interventions={"seasonal_scheme": {"places_per_1000_per_year": 4.0}})
    m.step()
    assert [c.settings["quota_per_year"] for c in m.channels[1:]] == [2.0 * N / 1000] * 2


def test_the_expected_wait_is_the_same_at_any_number_of_households():
    """An applicant counts as one household of the world in the queue (`scale` simulated ones), so the same queue per
    household gives the same expected wait whatever the number simulated (with `queue + 1` a sample of 400 waited
    longer than one of 40,000)."""
    waits = []
    for n in (400, 40_000):
        m = MigrationModel(n_households=n, years=1, rng=0, agent_view_limit=0)   # the default world's channels
        terms = [c.option_terms(n // 100) for c in m.channels]   # a queue of 1% of the households
        waits.append([t.wait_months for t in terms if t is not None])
    assert len(waits[0]) > 1 and np.isfinite(waits[0]).all()
    np.testing.assert_allclose(waits[0], waits[1], rtol=1e-9)
