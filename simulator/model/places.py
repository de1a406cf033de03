"""The places migrants go to: the cities, then the international destinations, as per-place arrays.

The model reads every figure of a place from here: its wage by skill, living and remittance costs, the share of a
migrant's surplus sent home, its labour demand (vacancies a month and their seasonal cycle) and the travel cost to
it from each origin. A version-2 world (`simulator.world.tables.Corridors`) gives them in its tables; a version-1
world (one city, one destination) gives wages and travel costs, and the rest comes from the model parameters, as in
version 1 (`Places.from_version1`).

Figures in households (vacancies a month) are for `unit` households at origin: the world's households (version 2)
or 1,000 (version 1, whose vacancies are per 1,000 households). The model scales them, and the channels' quotas, by
`n_households / unit`, the simulated households over the real ones.

Example:
    >>> from simulator.world.tables import default_world_path, load_corridors
    >>> from simulator.params import ModelParams
    >>> places = Places.from_corridors(load_corridors(default_world_path()), ModelParams())
    >>> places.names[:places.n_cities], places.names[places.n_cities:]
    (('Capital', 'Port City'), ('Gulfland', 'Northland', 'Neighbourland'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.errors import WorldError
from simulator.params import ModelParams
from simulator.world.regions import World
from simulator.world.tables import Corridors, wage_problem


@dataclass(frozen=True)
class Places:
    """Cities then destinations; every array has one entry (row) per place."""

    names: tuple[str, ...]
    n_cities: int
    wage: np.ndarray            # USD/month, low skill, regular status (before the labour outlook and demand)
    skill_ratio: np.ndarray     # (place, skill 0-2): the wage of each skill level over the low-skill wage
    living_cost: np.ndarray     # USD/month
    remittance_share: np.ndarray   # share of the surplus over the living cost sent home
    transfer_cost: np.ndarray   # share of remittances lost to fees (SDG 10.c.1)
    vacancies: np.ndarray       # jobs open to migrants a month at the world's scale (0 for cities: see Labour)
    demand_amplitude: np.ndarray   # seasonal cycle of labour demand: amplitude
    demand_peak_month: np.ndarray  # month of the year (1-12) when demand peaks
    travel_cost: np.ndarray     # (origin, place) USD one way: internal routes to cities, regular routes abroad
    unit: float                 # households of the world the figures in households are for

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def destinations(self) -> np.ndarray:
        """Indices of the international destinations."""
        return np.arange(self.n_cities, self.n)

    def index(self, name: str) -> int:
        return self.names.index(name)

    @classmethod
    def from_version1(cls, world: World, params: ModelParams) -> Places:
        """The city and the destination of a version-1 world: wages and travel costs from its tables; skill ratios
        (`labour.skill_wage_mid/high`), living costs, remittance shares and transfer costs from the parameters
        (`abroad`; the city's: `city_living_cost_usd`, `city_remittance_share`, `domestic_transfer_cost`);
        vacancies per 1,000 households, with no seasonal cycle."""
        lab, ab = params.labour, params.abroad
        ratio = [1.0, lab.skill_wage_mid, lab.skill_wage_high]
        return cls(names=(world.city, world.destination), n_cities=1,
                   wage=np.array([world.city_wage, world.destination_wage]), skill_ratio=np.array([ratio, ratio]),
                   living_cost=np.array([ab.city_living_cost_usd, ab.living_cost_usd]),
                   remittance_share=np.array([ab.city_remittance_share, ab.remittance_share]),
                   transfer_cost=np.array([ab.domestic_transfer_cost, ab.transfer_cost]),
                   vacancies=np.array([0.0, world.vacancies_per_1000]), demand_amplitude=np.zeros(2),
                   demand_peak_month=np.ones(2, np.int64),
                   travel_cost=np.column_stack([world.cost_to_city, world.cost_to_destination]), unit=1000.0)

    @classmethod
    def from_corridors(cls, world: Corridors, params: ModelParams) -> Places:
        """The cities and destinations of a version-2 world, from its places and routes tables; the share of the
        surplus sent home is the parameters' (`abroad.city_remittance_share` for cities, `remittance_share`
        abroad): behaviour, not a figure of the place."""
        ab = params.abroad
        low = world.place_wage[:, 0]
        for k, name in enumerate(world.abroad):   # checked on load; again here for worlds built in code
            problem = wage_problem(tuple(world.place_wage[k]))
            if problem:
                raise WorldError(f"places.csv ({name}): {problem}")
        ratio = np.ones_like(world.place_wage)
        positive = low > 0
        ratio[positive] = world.place_wage[positive] / low[positive, None]
        ratio[:, 0] = 1.0
        n_cities = len(world.cities)
        is_city = np.arange(len(world.abroad)) < n_cities
        return cls(names=world.abroad, n_cities=n_cities, wage=low.copy(), skill_ratio=ratio,
                   living_cost=world.living_cost.copy(),
                   remittance_share=np.where(is_city, ab.city_remittance_share, ab.remittance_share),
                   transfer_cost=world.remittance_cost_share.copy(),
                   vacancies=np.where(is_city, 0.0, world.vacancies_per_month),
                   demand_amplitude=np.where(is_city, 0.0, world.demand_cycle_amplitude),
                   demand_peak_month=world.demand_peak_month.copy(),
                   travel_cost=np.column_stack([world.route_cost("internal"), world.route_cost("regular")]),
                   unit=float(world.households))
