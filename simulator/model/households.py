"""Households: the deciding agents, stored as columns (one numpy array per attribute).

A household's members away are rows of the migrants table (simulator.model.migrants); the household keeps which of
its slots they occupy (`slots`) and its own state (`status`): at home, waiting for a place in a channel, or settled
abroad with its migrant (family reunification). The rules of the model are functions of these columns. A `Household`
Mesa agent is a thin view onto one row: reading or writing its attributes reads or writes the columns, so the Mesa
agent API and the fast path share the same data.

Example:
    >>> from simulator import MigrationModel
    >>> model = MigrationModel(n_households=200, rng=1)
    >>> agent = model.agents[0]
    >>> agent.wealth == float(model.households.wealth[agent.row])
    True
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import mesa
import numba
import numpy as np

from simulator.model.migrants import COLUMNS, ColumnView
from simulator.params import ModelParams
from simulator.world.regions import World

# Statuses. A household (`Households.status`) is AT_HOME (it may decide, whether or not members are away), WAITING
# (an application of one of its members is in a channel's queue) or FAMILY_ABROAD (it has joined its regular migrant
# abroad, family reunification, and no longer lives at origin). A migrant (`Migrants.status`) is IN_TRANSIT,
# ABROAD_REGULAR, ABROAD_IRREGULAR, IN_CITY, or FAMILY_ABROAD once its family has joined it.
AT_HOME, WAITING, IN_TRANSIT, ABROAD_REGULAR, ABROAD_IRREGULAR, IN_CITY, FAMILY_ABROAD = range(7)
STATUS_NAMES = ("at_home", "waiting", "in_transit", "abroad_regular", "abroad_irregular", "in_city", "family_abroad")
N_STATUSES = len(STATUS_NAMES)
AWAY = (IN_TRANSIT, ABROAD_REGULAR, ABROAD_IRREGULAR, IN_CITY)   # statuses of a migrant away on its own


@dataclass
class Households:
    """Column store of household state; every array has one entry per household."""

    origin: np.ndarray        # int16, index into World.origins
    size: np.ndarray          # int16, living members, including a member away
    adults: np.ndarray        # int16, living working-age members, including a member away
    head_female: np.ndarray   # bool, sex of the household head
    head_age: np.ndarray      # float32, years, age of the household head
    skill: np.ndarray         # int8, 0 low, 1 mid, 2 high (of the adult who would migrate)
    wealth: np.ndarray        # float64, USD, liquid savings
    assets: np.ndarray        # float64, USD, productive assets (land, livestock, tools)
    farm_dependence: np.ndarray  # float32, share of origin income from farming
    risk_aversion: np.ndarray    # float32, multiplier of perceived risk (mean ~1)
    patience: np.ndarray         # float32, multiplier of tolerated waiting (mean ~1)
    adaptation: np.ndarray       # float32, share of climate losses averted (set by interventions)
    asset_protection: np.ndarray  # float32, share of asset losses averted at shock onset (early warning)
    income_boost: np.ndarray     # float32, relative gain in origin income (local employment programmes)
    shock_memory: np.ndarray     # float32, remembered loss, share of origin income (climate.household_loss)
    status: np.ndarray           # int8, AT_HOME, WAITING or FAMILY_ABROAD
    since: np.ndarray            # int32, step at which the current status began
    queue_key: np.ndarray        # float64, visa queue order (application step + random tie-break)
    channel: np.ndarray          # int8, the channel applied to while WAITING (index in model.channels; -1: none)
    slots: np.ndarray            # uint8, bit s set: slot s is held by a member away (a row of model.migrants)
    trips: np.ndarray            # int16, departures of the household's migrants (journeys under way included)
    aspiration: np.ndarray       # int8, the pathway (1 internal, 2 regular, 3 irregular) of the move the household
                                 # wanted and could not pay for when last trapped; 0: none
    aspired: np.ndarray          # int16, the step at which it was last trapped (-1: never)
    dead: np.ndarray             # int16, members who died on a journey
    debt: np.ndarray             # float32, USD owed to the network lenders of a member's move (repaid from remittances)

    @property
    def n(self) -> int:
        return len(self.origin)

    def away(self) -> np.ndarray:
        """Members away (in transit, abroad or in a city; for a household reunited abroad, its migrant), per
        household: the slots held."""
        return np.bitwise_count(self.slots)

    def persons_away(self) -> np.ndarray:
        """Members not living at origin: the members away, or the whole household once reunited abroad."""
        return np.where(self.status == FAMILY_ABROAD, self.size, self.away())

    def people_at_origin(self) -> np.ndarray:
        """Members living at origin, per household."""
        return self.size - self.persons_away()


@numba.njit(cache=True)
def status_by_origin(origin: np.ndarray, status: np.ndarray, n_origins: int) -> np.ndarray:
    """Households by origin and status, (n_origins, N_STATUSES) int64, counted in one pass."""
    counts = np.zeros((n_origins, N_STATUSES), np.int64)
    for i in range(origin.shape[0]):
        counts[origin[i], status[i]] += 1
    return counts


@numba.njit(cache=True)
def status_by_origin_and_place(origin: np.ndarray, place: np.ndarray, status: np.ndarray, n_origins: int,
                               n_places: int) -> np.ndarray:
    """Migrants by origin, place and status, (n_origins, n_places, N_STATUSES) int64, counted in one pass."""
    counts = np.zeros((n_origins, n_places, N_STATUSES), np.int64)
    for i in range(origin.shape[0]):
        counts[origin[i], place[i], status[i]] += 1
    return counts


def synthesize(world: World, params: ModelParams, n: int, rng: np.random.Generator) -> Households:
    """Create the initial households from the world's region table.

    Households are allocated to origins in proportion to `households_share` (largest remainder, so the counts are
    exact); every other attribute is drawn per household from the region's distribution (see docs/ODD.md,
    Initialization).
    """
    pop = params.population
    quota = world.households_share * n
    counts = np.floor(quota).astype(np.int64)
    remainder_order = np.argsort(-(quota - counts), kind="stable")
    counts[remainder_order[: n - counts.sum()]] += 1
    origin = np.repeat(np.arange(world.n_origins), counts).astype(np.int16)

    size = (1 + rng.poisson(world.household_size_mean[origin] - 1)).astype(np.int16)
    adults = np.maximum(1, rng.binomial(size, pop.adults_share)).astype(np.int16)
    head_female = rng.random(n) < world.female_head_share[origin]
    head_age = np.clip(rng.normal(pop.head_age_mean, pop.head_age_sd, n), 18, 90).astype(np.float32)
    u = rng.random(n)
    mid, high = world.skill_share_mid[origin], world.skill_share_high[origin]
    skill = ((u >= 1 - mid - high).astype(np.int8) + (u >= 1 - high).astype(np.int8)).astype(np.int8)
    wealth = world.wealth_median[origin] * np.exp(world.wealth_sigma[origin] * rng.standard_normal(n))
    assets = world.assets_median[origin] * np.exp(world.wealth_sigma[origin] * rng.standard_normal(n))
    concentration = 5.0   # Beta a+b of farm dependence within a district: assumption
    mean_farm = np.clip(world.farm_dependence[origin], 1e-3, 1 - 1e-3)
    farm = rng.beta(mean_farm * concentration, (1 - mean_farm) * concentration).astype(np.float32)
    risk = np.exp(pop.risk_aversion_sd * rng.standard_normal(n)).astype(np.float32)
    patience = np.exp(pop.patience_sd * rng.standard_normal(n)).astype(np.float32)
    return Households(
        origin=origin, size=size, adults=adults, head_female=head_female, head_age=head_age, skill=skill,
        wealth=wealth, assets=assets, farm_dependence=farm, risk_aversion=risk, patience=patience,
        adaptation=np.zeros(n, np.float32), asset_protection=np.zeros(n, np.float32),
        income_boost=np.zeros(n, np.float32), shock_memory=np.zeros(n, np.float32),
        status=np.zeros(n, np.int8), since=np.zeros(n, np.int32), queue_key=np.zeros(n, np.float64),
        channel=np.full(n, -1, np.int8), slots=np.zeros(n, np.uint8), trips=np.zeros(n, np.int16),
        aspiration=np.zeros(n, np.int8), aspired=np.full(n, -1, np.int16), dead=np.zeros(n, np.int16),
        debt=np.zeros(n, np.float32),
    )


class Household(mesa.Agent):
    """A household as a Mesa agent: a view onto row `row` of `model.households`.

    Every column of `Households` is an attribute (`agent.wealth`, `agent.status`, ...), read and written in place.
    """

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = int(row)

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    @property
    def origin_name(self) -> str:
        return self.model.world.origins[self.origin]

    @property
    def members_away(self) -> list[dict[str, object]]:
        """The household's members away (its rows of `model.migrants`), each as a dict of its columns."""
        m = self.model.migrants
        return [{name: getattr(m, name)[j].item() for name in COLUMNS} for j in m.of(np.array([self.row]))]


for _f in fields(Households):
    setattr(Household, _f.name, ColumnView("households", _f.name))
