"""Labour markets: demand at each destination (vacancies and wage over a business and a seasonal cycle), origin
wages.

Process 2 of the step. The demand index of destination p is
`D_pt = d * (1 + g)^y * (1 + A sin(2 pi y / C)) * (1 + a_p cos(2 pi (m_t - m_p) / 12)) * exp(x_pt)`, with
`x_pt = phi x_p,t-1 + s e_pt` (AR(1) noise from the "labour" stream, one draw per destination a month), years
`y = t / 12`, outlook demand multiplier `d` and trend `g`, business-cycle amplitude `A` and length `C` (parameters),
the destination's seasonal amplitude `a_p` and peak month `m_p` (world table; `m_t` the calendar month, 1-12). New
vacancies open to migrants at p each month: `V_pt = v_p * N / N_w * D_pt` (`v_p` from the world table, for `N_w`
households at origin; N simulated). The destination wage is `w_pt = w_p * m_w * D_pt^e` (elasticity e, outlook wage
multiplier `m_w`), and origin wages grow at `g_o` a year. Cities have no vacancies: migrants there find work at the
rate `labour.city_employment_rate` (simulator.model.abroad), at the city's wage.

Assumptions: the business cycle and the outlook are shared by every destination (not applied to cities); each
destination's noise is independent of the others'; the seasonal cycle is a cosine around the peak month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.model.places import Places
from simulator.params import LabourParams
from simulator.world.regions import World
from simulator.world.tables import Corridors


@dataclass
class LabourOutlook:
    """A labour-demand future at every destination (not the cities)."""

    demand_multiplier: float = 1.0   # x vacancies
    demand_trend: float = 0.0        # growth of demand per year (e.g. -0.05 for a bust)
    wage_multiplier: float = 1.0     # x destination wage


class Labour:
    """Demand, vacancies and wages at each place (arrays over `places`: cities then destinations); origin wages.

    A city's demand index stays 1 and its vacancies 0; its wage is the world's."""

    def __init__(self, world: World | Corridors, places: Places, params: LabourParams, outlook: LabourOutlook,
                 scale: float, rng: np.random.Generator) -> None:
        self.world, self.places, self.params, self.outlook, self.rng = world, places, params, outlook, rng
        self.scale = scale   # simulated households per household of the world's figures (n_households / unit)
        self.destinations = places.destinations
        self.noise = np.zeros(len(self.destinations))
        self.demand = np.ones(places.n)
        self.vacancies = places.vacancies * self.scale
        self.wage = places.wage.copy()
        self.wage[self.destinations] *= outlook.wage_multiplier
        self.origin_wage = world.wage.copy()

    def step(self, t: int) -> None:
        p, o, d = self.params, self.outlook, self.destinations
        years = t / 12.0
        self.noise = p.demand_noise_persistence * self.noise + p.demand_noise_sd * self.rng.standard_normal(len(d))
        cycle = 1.0 + p.demand_cycle_amplitude * np.sin(2.0 * np.pi * years / p.demand_cycle_years)
        month = t % 12 + 1   # runs start in January
        season = 1.0 + self.places.demand_amplitude[d] * np.cos(
            2.0 * np.pi * (month - self.places.demand_peak_month[d]) / 12.0)
        self.demand[d] = o.demand_multiplier * (1.0 + o.demand_trend) ** years * cycle * season * np.exp(self.noise)
        self.vacancies[d] = self.places.vacancies[d] * self.scale * self.demand[d]
        self.wage[d] = self.places.wage[d] * o.wage_multiplier * self.demand[d] ** p.wage_demand_elasticity
        self.origin_wage = self.world.wage * (1.0 + p.origin_wage_growth) ** years


def skill_multiplier(skill: np.ndarray, params: LabourParams) -> np.ndarray:
    """Wage multiplier by skill level: 1 (low), `skill_wage_mid`, `skill_wage_high`."""
    return np.array([1.0, params.skill_wage_mid, params.skill_wage_high])[skill]

