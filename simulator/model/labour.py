"""Labour markets: destination demand (vacancies and wage over a business cycle) and origin wages.

Process 2 of the step. The destination demand index is
`D_t = d * (1 + g)^y * (1 + A sin(2 pi y / C)) * exp(x_t)`, with `x_t = phi x_{t-1} + s e_t` (AR(1) noise from the
"labour" stream), years `y = t / 12`, outlook demand multiplier `d` and trend `g`, cycle amplitude `A` and length `C`.
New vacancies open to migrants each month: `V_t = v * N / 1000 * D_t` (v from the world table, per 1,000 origin
households). The destination wage is `w_t = w * m_w * D_t^e` (elasticity e), and origin wages grow at `g_o` a year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.params import LabourParams
from simulator.world.regions import World


@dataclass
class LabourOutlook:
    """A labour-demand future at the destination."""

    demand_multiplier: float = 1.0   # x vacancies
    demand_trend: float = 0.0        # growth of demand per year (e.g. -0.05 for a bust)
    wage_multiplier: float = 1.0     # x destination wage


class Labour:
    """Destination demand, vacancies and wages; origin wages by region."""

    def __init__(self, world: World, params: LabourParams, outlook: LabourOutlook, n_households: int,
                 rng: np.random.Generator) -> None:
        self.world, self.params, self.outlook, self.rng = world, params, outlook, rng
        self.scale = n_households / 1000.0
        self.noise = 0.0
        self.demand = 1.0
        self.vacancies = world.vacancies_per_1000 * self.scale
        self.destination_wage = world.destination_wage * outlook.wage_multiplier
        self.origin_wage = world.wage.copy()

    def step(self, t: int) -> None:
        p, o = self.params, self.outlook
        years = t / 12.0
        self.noise = p.demand_noise_persistence * self.noise + p.demand_noise_sd * self.rng.standard_normal()
        cycle = 1.0 + p.demand_cycle_amplitude * np.sin(2.0 * np.pi * years / p.demand_cycle_years)
        self.demand = o.demand_multiplier * (1.0 + o.demand_trend) ** years * cycle * np.exp(self.noise)
        self.vacancies = self.world.vacancies_per_1000 * self.scale * self.demand
        self.destination_wage = (self.world.destination_wage * o.wage_multiplier
                                 * self.demand ** p.wage_demand_elasticity)
        self.origin_wage = self.world.wage * (1.0 + p.origin_wage_growth) ** years


def skill_multiplier(skill: np.ndarray, params: LabourParams) -> np.ndarray:
    """Wage multiplier by skill level: 1 (low), `skill_wage_mid`, `skill_wage_high`."""
    return np.array([1.0, params.skill_wage_mid, params.skill_wage_high])[skill]

