"""Accounting identities of the outputs, on random small worlds, parameters, interventions and seeds.

The model runs on cases drawn by hypothesis: a world of 1-4 origins built in code (shares of households, household
sizes, wages, wealth, assets, farm dependence, skills, slow-onset decline, 0-2 hazards per origin with random return
periods, intensities and durations, city and destination wages, vacancies, travel costs), 50-400 households, 12-36
months, a seed, random values of the parameters that drive flows, random climate and labour outlooks, and a random
package of registered interventions with random parameters, start and end. Every value is drawn from a range chosen
here; `test_drawn_ranges_are_inside_the_declared_ranges` checks those ranges against the declared ones. Each case's
outputs must satisfy four properties, whose docstrings state the identities derived from the processes of
simulator/model/migration.py: people are conserved, stocks change by their flows, flows fit their stocks and capacities,
and counts are whole and amounts finite.

Notation, by origin and month `t`: stocks are taken at the end of the month, `X[t-1]` is the stock at the end of
the previous month, and before the first month every stock is 0 except the people at origin, `population[-1]`, all
the members of the origin's households (households keep their origin for the whole run). Flows are counted during
month `t`. `X[int]`, `X[reg]`, `X[irr]` are the pathways `internal`, `regular`, `irregular` of a variable with a
pathway dimension; `cum X` is the sum of `X` over the months up to and including `t`.

Tolerances: the identities of counts are exact. Counts are float64 arrays holding integers far below 2**53, so
their sums and differences are exact and compare with `==`. Only comparisons with sums of fractions allow for
rounding, at least a million times its size and far below any error of accounting: capacity bounds (counts against
sums of fractional visas per month) 1e-9 per month; the employment rate times its migrants is a whole number to 1e-9
per migrant; money identities (remittances and their fees; a Mesa reporter summing in another order) hold to a
relative 1e-9 and 1e-12.

Reproducible: the cases come from a fixed seed and no example database, so every run (CI included) checks the same
cases. (Hypothesis also mixes in constants it finds in the source of the modules loaded, which would make the cases
depend on which other tests were collected and on every literal in the code; `without_local_constants` turns that
off for this search.) For a longer search, `PROPERTY_SEED=<int>` draws other cases and `PROPERTY_EXAMPLES=<n>`
changes their number (default 250, about 30 s on one core).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from simulator import MigrationModel, build_interventions
from simulator.model.climate import ClimateOutlook
from simulator.policy.interventions import REGISTRY
from simulator.model.labour import LabourOutlook
from simulator.model.outputs import PATHWAYS, VARIABLES
from simulator.params import ModelParams
from simulator.world.regions import HAZARD_COLUMNS, REGION_COLUMNS, ROUTE_COLUMNS, World
from simulator.policy.scenarios import OUTLOOK_RANGES

from conftest import make_world

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "250"))
SEED = int(os.environ.get("PROPERTY_SEED", "0"))
MIN_CASES = 5   # cases in which each kind of flow must happen (of the EXAMPLES drawn and the three fixed ones)

# --- what is drawn, and from where (each range is checked against the declared one) --------------------------------

# column of regions.csv, routes.csv or hazards.csv -> (lo, hi) drawn here
ORIGIN_RANGES = {
    "households_share": (0.0, 1.0), "household_size_mean": (1.0, 8.0), "wage_usd": (0.0, 400.0),
    "wealth_median_usd": (0.0, 5000.0), "wealth_sigma": (0.0, 2.0), "assets_median_usd": (0.0, 10_000.0),
    "farm_dependence": (0.0, 1.0), "skill_share_mid": (0.0, 1.0), "skill_share_high": (0.0, 1.0),
    "female_head_share": (0.0, 1.0), "degradation_per_year": (0.0, 0.2)}
CITY_WAGE = (0.0, 600.0)            # wage_usd of the city
DESTINATION_WAGE = (0.0, 4000.0)    # wage_usd of the destination
VACANCIES = (0.0, 60.0)             # vacancies_per_1000 of the destination
COST_TO_CITY = (0.0, 200.0)         # travel_cost_usd
COST_TO_DESTINATION = (0.0, 2000.0)
HAZARD_RANGES = {"return_period_years": (0.05, 30.0), "mean_intensity": (0.0, 1.0), "duration_months": (1, 12)}

# model parameter -> (lo, hi): the levers of flows, wide enough to make every flow happen in a few years
PARAM_RANGES = {
    "decisions.asc_internal": (-6.0, -1.0), "decisions.asc_regular": (-5.0, 2.0),
    "decisions.asc_irregular": (-6.0, 0.0), "decisions.credit_fraction": (0.0, 1.0),
    "decisions.beta_risk": (0.0, 40.0), "decisions.risk_perception": (0.0, 3.0),
    "regular.quota_per_1000_per_year": (0.0, 80.0), "regular.processing_per_1000_per_month": (0.0, 10.0),
    "regular.fee_usd": (0.0, 3000.0), "regular.min_skill": (0, 3), "regular.max_wait_months": (0.0, 36.0),
    "regular.stay_months": (0, 36), "regular.return_rate": (0.0, 0.1),
    "irregular.smuggler_fee_usd": (0.0, 5000.0), "irregular.interception_probability": (0.0, 1.0),
    "irregular.death_probability": (0.0, 0.5), "irregular.journey_months": (1, 4),
    "irregular.deportation_rate": (0.0, 0.2), "irregular.return_rate": (0.0, 0.1),
    "abroad.transfer_cost": (0.0, 0.2), "abroad.internal_return_rate": (0.0, 0.2),
    "labour.job_separation_rate": (0.0, 0.2), "labour.irregular_hire_factor": (0.0, 1.0),
    "labour.city_employment_rate": (0.0, 1.0), "population.patience_sd": (0.0, 1.0),
    "decisions.credit_floor_usd": (0.0, 2000.0), "decisions.credit_floor_share": (0.0, 2.0),
    "decisions.startup_months": (0.0, 3.0), "decisions.subsistence_weight": (0.0, 1.0),
    "decisions.network_cost_cut": (0.0, 1.0), "decisions.aspiration_months": (0, 36),
    "budget.aspiring_consumption_share": (0.0, 1.0)}

# intervention -> parameter -> (lo, hi); start and end are drawn for every intervention (`package`)
INTERVENTION_RANGES = {
    "quota_expansion": {"factor": (0.0, 5.0)},
    "faster_processing": {"factor": (0.0, 5.0)},
    "fee_subsidy": {"share": (0.0, 1.0)},
    "skill_eligibility": {"min_skill": (0, 3)},
    "seasonal_scheme": {"places_per_1000_per_year": (0.0, 200.0), "stay_months": (1, 12)},
    "humanitarian_visas": {"places_per_1000_per_year": (0.0, 200.0), "min_loss": (0.0, 0.2),
                           "stay_months": (0, 24)},
    "family_reunification": {"monthly_rate": (0.0, 0.5), "min_months_abroad": (0, 6),
                             "income_requirement_usd": (0.0, 2000.0)},
    "enforcement": {"interception_factor": (0.0, 3.0), "fee_factor": (0.0, 3.0), "risk_factor": (0.0, 5.0),
                    "deportation_factor": (0.0, 10.0)},
    "social_protection": {"transfer_usd": (0.0, 100.0), "wealth_threshold_usd": (0.0, 1000.0),
                          "min_loss": (0.0, 0.5)},
    "adaptation": {"coverage": (0.0, 1.0), "efficacy": (0.0, 1.0)},
    "early_warning": {"coverage": (0.0, 1.0), "asset_protection": (0.0, 1.0), "cash_usd": (0.0, 200.0)},
    "local_jobs": {"coverage": (0.0, 1.0), "income_gain": (0.0, 1.0), "skill_upgrade": (0.0, 1.0)},
    "remittance_cost": {"transfer_cost": (0.0, 0.1)},
    "information_campaign": {"reach": (0.0, 1.0)},
}
MONTHS = (12, 36)         # length of a run
LENGTH_MONTHS = (1, 36)   # an intervention starts in a month of the run and lasts this long, or never ends

OUTLOOK_DRAWN = {"frequency_multiplier": (0.0, 4.0), "intensity_multiplier": (0.0, 2.0),
                 "degradation_multiplier": (0.0, 3.0), "demand_multiplier": (0.0, 3.0),
                 "demand_trend": (-0.5, 0.3), "wage_multiplier": (0.2, 2.0)}


def _param_meta(dotted: str) -> dict[str, Any]:
    group, name = dotted.split(".")
    section = {f.name: f for f in dataclasses.fields(ModelParams)}[group].default_factory
    return {f.name: f for f in dataclasses.fields(section)}[name].metadata


def _intervention_meta(name: str, key: str) -> dict[str, Any]:
    return {f.name: f for f in dataclasses.fields(REGISTRY[name])}[key].metadata


def test_drawn_ranges_are_inside_the_declared_ranges():
    """Every range drawn here lies inside the range its field declares, so the cases are valid inputs (and a
    declared range tightened later shows up here, by name, rather than as a failing example)."""
    outside = []

    def check(what: str, drawn: tuple[float, float], lo: float, hi: float, integer: bool = False) -> None:
        if not lo <= drawn[0] <= drawn[1] <= hi or (integer and not all(float(v).is_integer() for v in drawn)):
            outside.append(f"{what}: drawn from {list(drawn)}, declared [{lo}, {hi}]")

    for dotted, drawn in PARAM_RANGES.items():
        meta = _param_meta(dotted)
        check(f"model.{dotted}", drawn, meta["lo"], meta["hi"], meta["integer"])
    for name, ranges in INTERVENTION_RANGES.items():
        for key, drawn in ranges.items():
            meta = _intervention_meta(name, key)
            check(f"interventions.{name}.{key}", drawn, meta["lo"], meta["hi"], meta["integer"])
        start = _intervention_meta(name, "start_year")
        check(f"interventions.{name}.start_year", (0, (MONTHS[1] - 1) / 12), start["lo"], start["hi"])
        end = _intervention_meta(name, "end_year")
        latest = (MONTHS[1] - 1 + LENGTH_MONTHS[1]) / 12
        check(f"interventions.{name}.end_year", (LENGTH_MONTHS[0] / 12, latest), end["lo"], end["hi"])
    for column, drawn in ORIGIN_RANGES.items():
        check(f"regions.csv {column}", drawn, *REGION_COLUMNS[column][1:3])
    for what, drawn in (("city", CITY_WAGE), ("destination", DESTINATION_WAGE)):
        check(f"regions.csv wage_usd ({what})", drawn, *REGION_COLUMNS["wage_usd"][1:3])
    check("regions.csv vacancies_per_1000", VACANCIES, *REGION_COLUMNS["vacancies_per_1000"][1:3])
    for drawn in (COST_TO_CITY, COST_TO_DESTINATION):
        check("routes.csv travel_cost_usd", drawn, *ROUTE_COLUMNS["travel_cost_usd"][1:3])
    for column, drawn in HAZARD_RANGES.items():
        kind, lo, hi = HAZARD_COLUMNS[column]
        check(f"hazards.csv {column}", drawn, lo, hi, kind is int)
    for name, drawn in OUTLOOK_DRAWN.items():
        check(f"outlook {name}", drawn, *OUTLOOK_RANGES[name])
    assert not outside, "ranges drawn by the property tests fall outside the declared ones:\n" + "\n".join(outside)


# --- strategies --------------------------------------------------------------------------------------------------

@functools.cache   # each strategy is built once: building them anew for every draw slows the search
def number(lo: float, hi: float, integer: bool = False) -> st.SearchStrategy:
    """Integers in [lo, hi]; or floats in [lo, hi]: half of them from hypothesis's float strategy (which favours
    the bounds and extreme magnitudes), half from a grid of 101 evenly spaced values (typical values)."""
    if integer:
        return st.integers(int(lo), int(hi))
    return st.one_of(st.floats(lo, hi, allow_nan=False, allow_infinity=False),
                     st.integers(0, 100).map(lambda k: min(hi, lo + (hi - lo) * k / 100)))


@functools.cache
def numbers(lo: float, hi: float, size: int, integer: bool = False) -> st.SearchStrategy:
    """`size` numbers in [lo, hi], as `number`."""
    return st.lists(number(lo, hi, integer), min_size=size, max_size=size)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """A world of 1-4 origins, each with its own figures and 0-2 hazards, one city and one destination."""
    n = draw(st.integers(1, 4))

    def column(lo: float, hi: float) -> np.ndarray:
        return np.array(draw(numbers(lo, hi, n)))

    values = {name: column(*drawn) for name, drawn in ORIGIN_RANGES.items()}
    share = values["households_share"]
    share = share / share.sum() if share.sum() > 0 else np.full(n, 1.0 / n)   # as load_world normalizes
    mid = values["skill_share_mid"]
    high = values["skill_share_high"] * (1.0 - mid)   # mid + high <= 1, as load_world requires
    per_origin = draw(numbers(0, 2, n, integer=True))
    hazard_origin = np.repeat(np.arange(n), per_origin)
    k = len(hazard_origin)
    hazard = {name: np.array(draw(numbers(lo, hi, k, name == "duration_months")))
              for name, (lo, hi) in HAZARD_RANGES.items()}
    lo, hi = HAZARD_RANGES["return_period_years"]   # from monthly to rare, evenly on a log scale
    hazard["return_period_years"] = np.clip(np.exp(draw(numbers(math.log(lo), math.log(hi), k))), lo, hi)
    return World(
        name="random", origins=tuple(f"D{i}" for i in range(n)), city="City", destination="Abroad",
        households_share=share, household_size_mean=values["household_size_mean"], wage=values["wage_usd"],
        wealth_median=values["wealth_median_usd"], wealth_sigma=values["wealth_sigma"],
        assets_median=values["assets_median_usd"], farm_dependence=values["farm_dependence"],
        skill_share_mid=mid, skill_share_high=high, female_head_share=values["female_head_share"],
        degradation_per_year=values["degradation_per_year"], city_wage=draw(number(*CITY_WAGE)),
        destination_wage=draw(number(*DESTINATION_WAGE)), vacancies_per_1000=draw(number(*VACANCIES)),
        cost_to_city=column(*COST_TO_CITY), cost_to_destination=column(*COST_TO_DESTINATION),
        distance_to_city=np.full(n, 100.0), distance_to_destination=np.full(n, 3000.0),
        hazard_origin=hazard_origin, hazard_name=("hazard",) * k,
        hazard_return_period=hazard["return_period_years"].astype(float),
        hazard_mean_intensity=hazard["mean_intensity"].astype(float),
        hazard_duration=hazard["duration_months"].astype(np.int64), coordinates={})


_LENGTHS = st.none() | st.integers(*LENGTH_MONTHS)   # None: to the end of the run


@st.composite
def packages(draw: st.DrawFn, months: int) -> dict[str, dict[str, Any]]:
    """Registered interventions (each with a chance of about one in four), in random order, with random parameters,
    starting in one of the `months` of the run and lasting 1-36 months or to the end."""
    names = [name for name in draw(st.permutations(sorted(INTERVENTION_RANGES))) if draw(st.integers(0, 3)) == 0]
    spec = {}
    for name in names:
        values = {key: draw(number(lo, hi, _intervention_meta(name, key)["integer"]))
                  for key, (lo, hi) in INTERVENTION_RANGES[name].items()}
        start = draw(st.integers(0, months - 1))
        length = draw(_LENGTHS)
        values["start_year"] = start / 12
        values["end_year"] = math.inf if length is None else (start + length) / 12
        spec[name] = values
    return spec


@dataclass(frozen=True)
class Case:
    """One random run."""

    world: World
    n_households: int
    months: int
    seed: int
    overrides: dict[str, Any]
    interventions: dict[str, dict[str, Any]]
    climate: ClimateOutlook
    labour: LabourOutlook


@st.composite
def cases(draw: st.DrawFn) -> Case:
    overrides = {dotted: draw(number(lo, hi, _param_meta(dotted)["integer"]))
                 for dotted, (lo, hi) in PARAM_RANGES.items()}
    outlook = {name: draw(number(*drawn)) for name, drawn in OUTLOOK_DRAWN.items()}
    climate = ClimateOutlook(**{f.name: outlook[f.name] for f in dataclasses.fields(ClimateOutlook)})
    labour = LabourOutlook(**{f.name: outlook[f.name] for f in dataclasses.fields(LabourOutlook)})
    months = draw(st.integers(*MONTHS))
    return Case(world=draw(worlds()), n_households=draw(st.integers(50, 400)), months=months,
                seed=draw(st.integers(0, 2**32 - 1)), overrides=overrides, interventions=draw(packages(months)),
                climate=climate, labour=labour)


def _busy(**overrides: Any) -> dict[str, Any]:
    """Short stays and waits, cheap and deadly smuggling, frequent returns: every flow within three years."""
    return {"decisions.asc_internal": -3.0, "decisions.asc_regular": -2.0, "decisions.asc_irregular": 0.0,
            "decisions.beta_risk": 2.0, "regular.fee_usd": 300.0, "regular.quota_per_1000_per_year": 60.0,
            "regular.processing_per_1000_per_month": 5.0, "regular.max_wait_months": 3.0, "regular.stay_months": 6,
            "regular.return_rate": 0.02, "irregular.smuggler_fee_usd": 400.0, "irregular.death_probability": 0.2,
            "irregular.interception_probability": 0.3, "irregular.deportation_rate": 0.1,
            "irregular.return_rate": 0.05, "abroad.internal_return_rate": 0.05, **overrides}


def with_fixed_cases(test: Callable) -> Callable:
    """Three cases checked before the random ones: two in which every kind of flow happens (new channels opening and
    closing during the run; a package of levers on the ordinary pathways), and an edge case the search found."""
    channels = {"seasonal_scheme": {"places_per_1000_per_year": 30, "end_year": 2.5},
                "humanitarian_visas": {"min_loss": 0.05, "places_per_1000_per_year": 30, "stay_months": 12},
                "family_reunification": {"monthly_rate": 0.3, "min_months_abroad": 2, "income_requirement_usd": 0,
                                         "start_year": 0.5},
                "enforcement": {"start_year": 1}, "local_jobs": {"end_year": 2}}
    levers = {"quota_expansion": {"factor": 2, "start_year": 0.5, "end_year": 1.5}, "faster_processing": {},
              "skill_eligibility": {"start_year": 1}, "fee_subsidy": {}, "remittance_cost": {},
              "social_protection": {}, "adaptation": {"coverage": 0.5}}
    # irregular migrants only, hired at a subnormal 5e-324 times the regular rate: the hiring probability divided
    # the vacancies by 18 * 5e-324 seekers, which overflowed (abroad.hiring_probability)
    lowest = {dotted: lo for dotted, (lo, hi) in PARAM_RANGES.items()}
    tiny_hire_factor = {**lowest, "decisions.asc_internal": -1.0, "decisions.asc_regular": 0.0,
                        "decisions.asc_irregular": 0.0, "labour.irregular_hire_factor": 5e-324}
    for case in (
            Case(world=make_world(3, return_period=0.5, intensity=0.5), n_households=400, months=36, seed=5,
                 overrides=_busy(**{"irregular.journey_months": 2, "regular.stay_months": 0}),
                 interventions=channels, climate=ClimateOutlook(), labour=LabourOutlook()),
            Case(world=make_world(2, vacancies_per_1000=0.2), n_households=300, months=30, seed=6,
                 overrides=_busy(), interventions=levers, climate=ClimateOutlook(frequency_multiplier=3.0),
                 labour=LabourOutlook(demand_multiplier=0.5)),
            Case(world=make_world(1, wage=0.0, wealth=0.0, destination_wage=0.0), n_households=50, months=12, seed=0,
                 overrides=tiny_hire_factor, interventions={}, climate=ClimateOutlook(), labour=LabourOutlook())):
        test = example(case=case)(test)
    return test


# --- running a case ----------------------------------------------------------------------------------------------

def _setting(channel: str, name: str):
    """The setting in force of the version-1 world's channel `channel` (simulator.world.convert.version1_channels)."""
    return lambda model: next(c for c in model.channels if c.name == channel).settings[name]


LEVERS = {"quota_per_year": _setting("ordinary", "quota_per_year"),
          "processing_per_month": _setting("ordinary", "processing_per_month"),
          "seasonal_quota_per_year": _setting("seasonal", "quota_per_year"),
          "seasonal_processing_per_month": _setting("seasonal", "processing_per_month"),
          "humanitarian_per_year": _setting("humanitarian", "quota_per_year"),
          # the version-1 destination's transfer cost in force: the world's, at most the cap of the month
          "transfer_cost": lambda model: min(model.places.transfer_cost[1], model.policy.transfer_cost_cap)}


@dataclass
class Run:
    """A case's outputs, with what the outputs do not hold: the people and households of each origin before the
    first month, the members of each origin alive or dead in the household columns after each month, the policy
    levers in force each month, and the model's parameters and Mesa reporters."""

    case: Case
    ds: xr.Dataset
    params: ModelParams
    initial_people: np.ndarray       # (origin,)
    households: np.ndarray           # (origin,)
    members_ever: np.ndarray         # (time, origin): sum of size + dead over the origin's households
    levers: dict[str, np.ndarray]    # lever -> (time,)
    reporters: dict[str, np.ndarray]   # Mesa DataCollector column -> (time + 1,): the initial state, then each month

    def __post_init__(self) -> None:
        assert tuple(self.ds.pathway.values) == PATHWAYS
        # plain arrays, checked often; the outputs by destination summed over it (the version-1 variables, whose
        # identities are checked here; `places_fit_the_pathways` checks the destination dim itself)
        self.values = {name: (self.ds[name].sum("destination") if "destination" in self.ds[name].dims
                              else self.ds[name]).values for name in self.ds.data_vars}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def path(self, name: str, pathway: str) -> np.ndarray:
        """Variable `name` on one pathway, (time, origin)."""
        return self.values[name][:, :, PATHWAYS.index(pathway)]


def simulate(case: Case) -> Run:
    model = MigrationModel(n_households=case.n_households, years=case.months / 12, rng=case.seed,
                           world=case.world, interventions=build_interventions(case.interventions),
                           climate_outlook=case.climate, labour_outlook=case.labour, **case.overrides)
    assert model.n_steps == case.months
    h, n_o = model.households, case.world.n_origins
    initial = np.bincount(h.origin, weights=h.size, minlength=n_o)
    households = np.bincount(h.origin, minlength=n_o).astype(float)
    members_ever = np.empty((model.n_steps, n_o))
    levers = {name: np.empty(model.n_steps) for name in LEVERS}
    for t in range(model.n_steps):
        model.step()
        members_ever[t] = np.bincount(h.origin, weights=h.size + h.dead, minlength=n_o)
        for name, lever in LEVERS.items():
            levers[name][t] = lever(model)
    frame = model.datacollector.get_model_vars_dataframe()
    reporters = {name: frame[name].to_numpy(dtype=float) for name in frame.columns}
    return Run(case, model.dataset(), model.params, initial, households, members_ever, levers, reporters)


def before(stock: np.ndarray, start: np.ndarray | float = 0.0) -> np.ndarray:
    """`stock[t-1]`, the stock at the end of the previous month; `start` before the first month."""
    out = np.empty_like(stock)
    out[0] = start
    out[1:] = stock[:-1]
    return out


def equal(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    np.testing.assert_array_equal(actual, expected, err_msg=what)


def at_most(small: np.ndarray, large: np.ndarray, what: str, tolerance: float | np.ndarray = 0.0) -> None:
    bad = np.argwhere(np.asarray(small > large + tolerance))
    assert len(bad) == 0, f"{what}: fails at (time, ...) {bad[:5].tolist()}: {np.asarray(small)[tuple(bad[0])]} > " \
                          f"{np.broadcast_to(large, np.shape(small))[tuple(bad[0])]}"


def migrants_counted(run: Run) -> dict[str, np.ndarray]:
    """The migrants of each pathway that process 7 works on (after the month's departures and arrivals, before its
    reunifications and returns), (time, origin): `migrants_away[p][t] + returns[p]`, plus `reunifications` for the
    regular pathway."""
    counted = {p: run.path("migrants_away", p) + run.path("returns", p) for p in PATHWAYS}
    counted["regular"] = counted["regular"] + run["reunifications"]
    return counted


# --- the properties ----------------------------------------------------------------------------------------------

def people_are_conserved(run: Run) -> None:
    """Every person of an origin is, at the end of every month, in exactly one place:

        population[t] + sum over pathways of migrants_away[t] + in_transit[t] + families_abroad[t] + cum deaths[t]
            = population[-1]                                   (by origin; the total is attribute initial_population)

    People at origin include the households waiting for a visa and the members at home of a household with a
    migrant away; `migrants_away` counts one person per household whose migrant is in the city or abroad on its own;
    a household reunited abroad leaves `migrants_away` and counts in `families_abroad` with all its members, migrant
    included; an intercepted, returning or deported migrant is back in `population`; a migrant who dies in transit
    leaves `in_transit` and the household's size. Also, in the household columns, living members plus members dead
    on journeys stay the initial people of each origin, and the same identity read as flows:

        population[t] = population[t-1] - sum emigrants[t] + sum returns[t] + interceptions[t]
        migrants_away + in_transit + families_abroad = cum (sum emigrants - sum returns - interceptions - deaths)

    (a reunited family's other members, `size - 1`, count as emigrants; deaths leave no one at origin).
    """
    away = run["migrants_away"].sum(axis=2)
    accounted = (run["population"] + away + run["in_transit"] + run["families_abroad"]
                 + run["deaths"].cumsum(axis=0))
    equal(accounted, np.broadcast_to(run.initial_people, accounted.shape),
          "population + migrants_away + in_transit + families_abroad + cum deaths = initial people, by origin")
    assert run.ds.attrs["initial_population"] == run.initial_people.sum()
    equal(run.members_ever, np.broadcast_to(run.initial_people, accounted.shape),
          "living members + members dead on journeys = initial people, by origin, in the household columns")
    equal(run["population"], before(run["population"], run.initial_people) - run["emigrants"].sum(axis=2)
          + run["returns"].sum(axis=2) + run["interceptions"],
          "population[t] = population[t-1] - emigrants (all pathways) + returns (all pathways) + interceptions")
    equal(away + run["in_transit"] + run["families_abroad"],
          (run["emigrants"].sum(axis=2) - run["returns"].sum(axis=2) - run["interceptions"]
           - run["deaths"]).cumsum(axis=0),
          "people away = cum (emigrants - returns - interceptions - deaths), by origin")


def stocks_change_by_their_flows(run: Run) -> None:
    """Each stock changes by the flows into and out of it, by origin and month:

        visa_queue[t] - visa_queue[t-1] = applications - visas_issued - gave_up - could_not_pay
            (visas_issued includes the seasonal places; humanitarian visas do not pass through the queue)
        in_transit[t] - in_transit[t-1] = emigrants[irr] - arrivals[irr] - interceptions - deaths
        migrants_away[int][t] - migrants_away[int][t-1] = arrivals[int] - returns[int],  arrivals[int] = emigrants[int]
        migrants_away[irr][t] - migrants_away[irr][t-1] = arrivals[irr] - returns[irr]   (deportations in returns)
        migrants_away[reg][t] - migrants_away[reg][t-1]
            = visas_issued + humanitarian_visas - reunifications - returns[reg]
        (migrants_away[reg] + families_abroad)[t] - (...)[t-1] = arrivals[reg] - returns[reg]
        arrivals[reg] = emigrants[reg] = visas_issued + humanitarian_visas + members joining a migrant, where
            members joining = (families_abroad[t] - families_abroad[t-1]) - reunifications  (size - 1 per family)
        arrivals[irr] + deaths + interceptions in month t = emigrants[irr] in month t - journey_months (0 before)
        emigrants_by_group summed over sex, age and skill = emigrants summed over origins for the internal and
            irregular pathways, and visas_issued + humanitarian_visas for the regular one (joining members excluded)
    """
    queue, transit = run["visa_queue"], run["in_transit"]
    internal, regular, irregular = (run.path("migrants_away", p) for p in PATHWAYS)
    families, reunited = run["families_abroad"], run["reunifications"]
    visas, humanitarian = run["visas_issued"], run["humanitarian_visas"]
    emigrants = {p: run.path("emigrants", p) for p in PATHWAYS}
    arrivals = {p: run.path("arrivals", p) for p in PATHWAYS}
    returns = {p: run.path("returns", p) for p in PATHWAYS}
    equal(queue - before(queue), run["applications"] - visas - run["gave_up"] - run["could_not_pay"],
          "visa_queue[t] - visa_queue[t-1] = applications - visas_issued - gave_up - could_not_pay")
    equal(transit - before(transit),
          emigrants["irregular"] - arrivals["irregular"] - run["interceptions"] - run["deaths"],
          "in_transit[t] - in_transit[t-1] = emigrants[irr] - arrivals[irr] - interceptions - deaths")
    equal(internal - before(internal), arrivals["internal"] - returns["internal"],
          "migrants_away[int][t] - migrants_away[int][t-1] = arrivals[int] - returns[int]")
    equal(arrivals["internal"], emigrants["internal"], "arrivals[int] = emigrants[int]")
    equal(irregular - before(irregular), arrivals["irregular"] - returns["irregular"],
          "migrants_away[irr][t] - migrants_away[irr][t-1] = arrivals[irr] - returns[irr]")
    equal(regular - before(regular), visas + humanitarian - reunited - returns["regular"],
          "migrants_away[reg][t] - migrants_away[reg][t-1] = visas_issued + humanitarian_visas - reunifications "
          "- returns[reg]")
    equal(regular + families - before(regular + families), arrivals["regular"] - returns["regular"],
          "(migrants_away[reg] + families_abroad)[t] - (...)[t-1] = arrivals[reg] - returns[reg]")
    equal(arrivals["regular"], emigrants["regular"], "arrivals[reg] = emigrants[reg]")
    equal(emigrants["regular"], visas + humanitarian + (families - before(families)) - reunited,
          "emigrants[reg] = visas_issued + humanitarian_visas + (families_abroad[t] - families_abroad[t-1]) "
          "- reunifications")
    months = run.params.irregular.journey_months
    ended = arrivals["irregular"] + run["deaths"] + run["interceptions"]
    equal(ended[months:], emigrants["irregular"][:-months],
          "arrivals[irr] + deaths + interceptions in month t = emigrants[irr] in month t - journey_months")
    equal(ended[:months], 0 * ended[:months], "no journey ends before journey_months")
    by_group = run["emigrants_by_group"].sum(axis=(2, 3, 4))   # (time, pathway)
    for j, pathway in enumerate(PATHWAYS):
        single = visas + humanitarian if pathway == "regular" else emigrants[pathway]
        equal(by_group[:, j], single.sum(axis=1), f"emigrants_by_group[{pathway}] = departing migrants, families "
                                                  "joining them excluded")


def flows_fit_the_stocks_and_capacities(run: Run) -> None:
    """Flows never take more than their stock held, visas stay within their capacities, rates within their counts:

        visa_queue + in_transit + sum migrants_away + cum reunifications <= households of the origin
        cum reunifications <= families_abroad                       (a reunited household has at least its migrant)
        trapped + applications + emigrants[int] + emigrants[irr] + humanitarian_visas <= households at home at the
            start of the month (each household at home chooses once a month)
        gave_up <= visa_queue[t-1]   (this month's applicants have not waited)
        arrivals[irr] + deaths + interceptions <= in_transit[t-1]   (journeys last at least a month)
        returns[int] <= migrants_away[int][t-1] + emigrants[int];  returns[irr] <= migrants_away[irr][t-1] +
            arrivals[irr];  deportations <= returns[irr];  returns[reg] + reunifications <= migrants_away[reg][t-1]
            + visas_issued + humanitarian_visas;  seasonal_visas <= visas_issued
        for the ordinary (visas_issued - seasonal_visas), seasonal and humanitarian visas over all origins, with the
        levers in force each month (quota Q a year, processing P a month; P = Q/12 for seasonal and humanitarian):
            cum visas <= cum P;  visas in a calendar year < largest Q of the year + 1;  and with a fixed ordinary
            quota, cum ordinary visas by the end of calendar year y <= (y + 1) Q
        migrant_employment_rate[p] is NaN exactly when no migrant of pathway p was counted, else in [0, 1] and
            times that count a whole number; the migrants counted (after hiring, before reunifications and returns)
            are migrants_away[p][t] + returns[p] (+ reunifications for the regular pathway), over all origins
    """
    queue, transit, families = run["visa_queue"], run["in_transit"], run["families_abroad"]
    internal, regular, irregular = (run.path("migrants_away", p) for p in PATHWAYS)
    reunited, visas, humanitarian = run["reunifications"], run["visas_issued"], run["humanitarian_visas"]
    returns = {p: run.path("returns", p) for p in PATHWAYS}
    emigrants = {p: run.path("emigrants", p) for p in PATHWAYS}
    living_abroad = reunited.cumsum(axis=0)   # households reunited abroad
    away_or_waiting = queue + transit + run["migrants_away"].sum(axis=2) + living_abroad
    at_most(away_or_waiting, run.households, "households waiting, away or abroad <= households")
    at_most(living_abroad, families, "households reunited <= their members")
    at_home = run.households - before(away_or_waiting)
    at_most(run["trapped"] + run["applications"] + emigrants["internal"] + emigrants["irregular"] + humanitarian,
            at_home, "trapped + applications + departures (internal, irregular, humanitarian) <= households at home "
                     "at the start of the month")
    at_most(run["gave_up"], before(queue), "gave_up <= visa_queue[t-1]")
    at_most(run.path("arrivals", "irregular") + run["deaths"] + run["interceptions"], before(transit),
            "journeys ending <= in_transit[t-1]")
    at_most(returns["internal"], before(internal) + emigrants["internal"], "returns[int] <= migrants in the city")
    at_most(returns["irregular"], before(irregular) + run.path("arrivals", "irregular"),
            "returns[irr] <= irregular migrants abroad")
    at_most(run["deportations"], returns["irregular"], "deportations <= returns[irr]")
    at_most(returns["regular"] + reunited, before(regular) + visas + humanitarian,
            "returns[reg] + reunifications <= regular migrants abroad")
    at_most(run["seasonal_visas"], visas, "seasonal_visas <= visas_issued")

    # capacities: the books (pathways.RegularQueue) of the ordinary, seasonal and humanitarian channels, summed over
    # origins
    year = np.arange(run.case.months) // 12
    months = np.arange(1, run.case.months + 1)
    lev = run.levers
    ordinary = (visas - run["seasonal_visas"]).sum(axis=1)
    for granted, per_year, per_month, what in (
            (ordinary, lev["quota_per_year"], lev["processing_per_month"], "ordinary visas"),
            (run["seasonal_visas"].sum(axis=1), lev["seasonal_quota_per_year"], lev["seasonal_processing_per_month"],
             "seasonal visas"),
            (humanitarian.sum(axis=1), lev["humanitarian_per_year"], lev["humanitarian_per_year"] / 12,
             "humanitarian visas")):
        at_most(granted.cumsum(), per_month.cumsum(), f"cum {what} <= cum processing capacity", 1e-9 * months)
        for y in np.unique(year):
            in_year = year == y
            # the quota in whole places, plus less than one place carried from earlier years
            assert granted[in_year].sum() < per_year[in_year].max() + 1 + 1e-9, \
                f"{what} in year {y}: {granted[in_year].sum()} >= largest quota {per_year[in_year].max()} + 1"
    quota = lev["quota_per_year"]
    if (quota == quota[0]).all():
        # a fixed quota: the places issued in each year plus the fraction carried out of it are at most the quota
        # plus the fraction carried into it, so by the end of year y at most (y + 1) quotas
        at_most(ordinary.cumsum(), quota[0] * (year + 1), "cum ordinary visas <= quota x years begun",
                1e-9 * months)

    # the employment rate: measured over the migrants away after hiring, before reunifications and returns
    rate = run["migrant_employment_rate"]
    counted = migrants_counted(run)
    for j, pathway in enumerate(PATHWAYS):
        n = counted[pathway].sum(axis=1)
        equal(np.isnan(rate[:, j]), n == 0, f"migrant_employment_rate[{pathway}] is NaN exactly when no migrant of "
                                            "the pathway was away")
        employed = rate[n > 0, j] * n[n > 0]
        assert ((rate[n > 0, j] >= 0) & (rate[n > 0, j] <= 1)).all()
        np.testing.assert_allclose(employed, np.round(employed), rtol=0, atol=1e-9 * max(1, n.max()),
                                   err_msg=f"migrant_employment_rate[{pathway}] x migrants = a whole number employed")


PEOPLE = ("emigrants", "arrivals", "returns", "migrants_away", "families_abroad", "deaths", "interceptions",
          "deportations", "in_transit", "population", "emigrants_by_group", "route_departures", "route_arrivals",
          "route_interceptions", "route_deaths", "emigrants_by_quintile", "population_by_quintile")
HOUSEHOLD_COUNTS = ("applications", "visas_issued", "seasonal_visas", "humanitarian_visas", "reunifications",
                    "gave_up", "visa_queue", "trapped", "channel_applications", "channel_granted", "channel_queue",
                    "trapped_wanting", "aspiring", "could_not_pay", "trapped_by_quintile")
SHARES = ("shock_loss", "migrant_employment_rate")
EXPECTED_PEOPLE = ("route_expected_deaths",)   # persons, but a sum of probabilities: not whole


def counts_are_whole_and_amounts_finite(run: Run) -> None:
    """Every output is finite and non-negative (the employment rate may be missing, see above); every count of
    persons, households, applications or visas is a whole number; the shock loss and the employment rate are
    shares in [0, 1]; trapped households are at most the households of the origin; an intervention costs nothing
    in the months it is not active; the outputs by wealth quintile add up to the totals. Remittances come only from migrants counted (`migrants_counted`) and split the
    amount sent between the household and the fee at the transfer cost in force: with `tc` the international
    transfer cost of the month and `tc_d` = abroad.domestic_transfer_cost,

        no migrant counted in the origin:  remittances = remittance_fees = 0
        migrants abroad only:  remittance_fees (1 - tc) = remittances tc
        migrants in the city only:  remittance_fees (1 - tc_d) = remittances tc_d

    (both sides are `tc (1 - tc)` times the amount sent, summed in different orders: equal to a relative 1e-9)."""
    assert set(PEOPLE + HOUSEHOLD_COUNTS + EXPECTED_PEOPLE) == {n for n, (_, _, units) in VARIABLES.items()
                                             if units in ("persons", "households", "applications", "visas")}
    for name in run.ds.data_vars:
        values = run[name]
        if name == "migrant_employment_rate":   # missing when no migrant of the pathway is away (checked above)
            values = values[~np.isnan(values)]
        assert np.isfinite(values).all(), f"{name} is not finite"
        assert (values >= 0).all(), f"{name} < 0: {values.min()}"
        if name in PEOPLE + HOUSEHOLD_COUNTS:
            equal(values, np.round(values), f"{name} counts whole persons, households, applications or visas")
        if name in SHARES:
            assert (values <= 1).all(), f"{name} > 1: {values.max()}"
    at_most(run["trapped"], run.households, "trapped <= households")
    equal(run["trapped_wanting"].sum(axis=-1), run["trapped"], "trapped households by the pathway they wanted")
    # the outputs by wealth quintile split the totals: trapped households, departures of members, people at origin
    equal(run["trapped_by_quintile"].sum(axis=-1), run["trapped"].sum(axis=-1), "trapped by wealth quintile")
    equal(run["emigrants_by_quintile"].sum(axis=-1), run["emigrants_by_group"].sum(axis=(2, 3, 4)),
          "departures by wealth quintile = by sex, age and skill")
    equal(run["population_by_quintile"].sum(axis=-1), run["population"].sum(axis=-1), "people at origin by quintile")
    at_most(run["aspiring"].sum(axis=-1), run.households, "aspiring <= households")
    counted = migrants_counted(run)
    abroad, city = counted["regular"] + counted["irregular"], counted["internal"]
    received, fees = run["remittances"], run["remittance_fees"]
    tc = np.broadcast_to(run.levers["transfer_cost"][:, None], received.shape)
    tc_domestic = np.full(received.shape, run.params.abroad.domestic_transfer_cost)
    for only, cost, what in ((abroad + city == 0, None, "no migrant"), ((city == 0) & (abroad > 0), tc, "abroad"),
                             ((abroad == 0) & (city > 0), tc_domestic, "city")):
        if cost is None:
            equal(received[only] + fees[only], 0 * received[only], "no remittances to an origin with no migrant")
            continue
        gap = np.abs(fees[only] * (1 - cost[only]) - received[only] * cost[only])
        assert (gap <= 1e-9 * (received[only] + fees[only])).all(), \
            f"remittance_fees (1 - tc) = remittances tc with migrants only in the {what}: off by {gap.max()}"
    # an intervention costs nothing in the months it is not active
    for j, iv in enumerate(build_interventions(run.case.interventions)):
        assert run.ds.intervention.values[j] == iv.name
        inactive = [t for t in range(run.case.months) if not iv.active(t)]
        equal(run["intervention_cost"][inactive, j], np.zeros(len(inactive)), f"cost of {iv.name} when inactive")


def mesa_reporters_match_the_outputs(run: Run) -> None:
    """The Mesa DataCollector's columns (row 0: the state before the first month; row t + 1: month t) are the
    outputs summed over origins:

        departures_internal, departures_regular, departures_irregular = emigrants[int], emigrants[reg], emigrants[irr]
        deaths, trapped, visa_queue, remittances_usd = deaths, trapped, visa_queue, remittances;  0 in row 0
        population_at_origin = population;  initial_population in row 0
    """
    totals = {f"departures_{p}": run.path("emigrants", p).sum(axis=1) for p in PATHWAYS}
    totals.update({name: run[name].sum(axis=1) for name in ("deaths", "trapped", "visa_queue")})
    for name, total in totals.items():
        equal(run.reporters[name], np.concatenate([[0.0], total]), f"Mesa reporter {name}")
    remittances = np.concatenate([[0.0], run["remittances"].sum(axis=1)])
    np.testing.assert_allclose(run.reporters["remittances_usd"], remittances, rtol=1e-12,
                               err_msg="Mesa reporter remittances_usd (summed in another order)")
    equal(run.reporters["population_at_origin"],
          np.concatenate([[run.initial_people.sum()], run["population"].sum(axis=1)]),
          "Mesa reporter population_at_origin")


def places_fit_the_pathways(run: Run) -> None:
    """The outputs by destination put each pathway where it leads: internal moves to and from the city, regular and
    irregular moves to and from the destination (a version-1 world has one of each: `destination` = [city,
    destination]); every other cell is 0."""
    assert list(run.ds.destination.values) == [run.case.world.city, run.case.world.destination]
    for name in ("emigrants", "arrivals", "returns", "migrants_away"):
        values = run.ds[name].transpose("time", "origin", "destination", "pathway").values
        internal, international = PATHWAYS.index("internal"), [PATHWAYS.index(p) for p in ("regular", "irregular")]
        equal(values[:, :, 1, internal], 0 * values[:, :, 1, internal], f"{name}: no internal move abroad")
        equal(values[:, :, 0, international], 0 * values[:, :, 0, international],
              f"{name}: no international move to the city")


def channels_and_routes_add_up(run: Run) -> None:
    """The per-channel and per-route outputs add up to the totals, month by month, over origins:

        sum over routes of route_departures = emigrants[irr];  route_arrivals = arrivals[irr];
        route_interceptions = interceptions;  route_deaths = deaths
        sum over queue channels (labour schemes, seasonal) of channel_applications = applications;
        of channel_granted = visas_issued;  of channel_queue = visa_queue
        channel_granted of the seasonal channel = seasonal_visas; of the humanitarian channel = humanitarian_visas;
        of the family channel = reunifications
    """
    routes = {"route_departures": run.path("emigrants", "irregular"),
              "route_arrivals": run.path("arrivals", "irregular"), "route_interceptions": run["interceptions"],
              "route_deaths": run["deaths"]}
    for name, total in routes.items():
        equal(run[name].sum(axis=1), total.sum(axis=1), f"{name} summed over routes")
    ended = run["route_arrivals"] + run["route_interceptions"] + run["route_deaths"]
    at_most(run["route_expected_deaths"], ended, "expected deaths <= journeys ending (a probability each)")
    channels = list(run.ds.channel.values)
    queued = [channels.index(c) for c in ("ordinary", "seasonal")]   # the version-1 queue channels
    for name, total in (("channel_applications", "applications"), ("channel_granted", "visas_issued"),
                        ("channel_queue", "visa_queue")):
        equal(run[name][:, queued].sum(axis=1), run[total].sum(axis=1), f"{name} of the queue channels = {total}")
    for channel, total in (("seasonal", "seasonal_visas"), ("humanitarian", "humanitarian_visas"),
                           ("family", "reunifications")):
        equal(run["channel_granted"][:, channels.index(channel)], run[total].sum(axis=1),
              f"channel_granted[{channel}] = {total}")


FLOW_KINDS = {   # a kind of flow -> whether it happened in a run
    "internal departures": lambda r: r.path("emigrants", "internal").sum() > 0,
    "irregular departures": lambda r: r.path("emigrants", "irregular").sum() > 0,
    "irregular arrivals": lambda r: r.path("arrivals", "irregular").sum() > 0,
    "deaths": lambda r: r["deaths"].sum() > 0,
    "interceptions": lambda r: r["interceptions"].sum() > 0,
    "applications": lambda r: r["applications"].sum() > 0,
    "ordinary visas": lambda r: (r["visas_issued"] - r["seasonal_visas"]).sum() > 0,
    "seasonal visas": lambda r: r["seasonal_visas"].sum() > 0,
    "humanitarian visas": lambda r: r["humanitarian_visas"].sum() > 0,
    "give-ups": lambda r: r["gave_up"].sum() > 0,
    "reunifications": lambda r: r["reunifications"].sum() > 0,
    "internal returns": lambda r: r.path("returns", "internal").sum() > 0,
    "regular returns": lambda r: r.path("returns", "regular").sum() > 0,
    "irregular returns": lambda r: r.path("returns", "irregular").sum() > 0,
    "deportations": lambda r: r["deportations"].sum() > 0,
    "trapped": lambda r: r["trapped"].sum() > 0,
    "places lost for want of the recruitment cost": lambda r: r["could_not_pay"].sum() > 0,
}


PROPERTIES = (people_are_conserved, stocks_change_by_their_flows, flows_fit_the_stocks_and_capacities,
              counts_are_whole_and_amounts_finite, mesa_reporters_match_the_outputs, channels_and_routes_add_up,
              places_fit_the_pathways)


@contextlib.contextmanager
def without_local_constants() -> Iterator[None]:
    """Hypothesis (6.131 and later) draws, with a small probability, constants found in the source of the project's
    modules loaded so far (`hypothesis.internal.conjecture.providers._get_local_constants`): the cases would then
    change with the set of test files collected and with any literal anywhere in the code. Within this block it
    finds none, so the seed alone fixes the cases. A version of hypothesis without the function is left as it is."""
    from hypothesis.internal.conjecture import providers
    original = getattr(providers, "_get_local_constants", None)
    if original is None:
        yield
        return
    empty = type(providers.GLOBAL_CONSTANTS)(integers=providers.SortedSet(),
                                             floats=providers.SortedSet(key=providers.float_to_int),
                                             bytes=providers.SortedSet(), strings=providers.SortedSet())
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


@pytest.mark.slow
def test_accounting_identities_hold_on_random_cases():
    """The properties above, on the three fixed cases and EXAMPLES random cases, each run once; then every kind of
    flow must have happened in at least MIN_CASES of the cases, so that no identity held only because its terms were
    zero.

    A case that breaks a property fails with the identity named; hypothesis then shrinks it to a small case and
    reports each distinct failure.
    """
    seen: Counter[str] = Counter()

    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=cases())
    @with_fixed_cases
    def check(case: Case) -> None:
        run = simulate(case)
        for prop in PROPERTIES:
            prop(run)
        seen.update(kind for kind, happened in FLOW_KINDS.items() if happened(run))

    with without_local_constants():
        check()
    rare = {kind: seen[kind] for kind in FLOW_KINDS if seen[kind] < MIN_CASES}
    assert not rare, f"flows that happened in fewer than {MIN_CASES} cases, too few to test the identities: {rare}"
