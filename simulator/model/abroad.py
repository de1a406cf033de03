"""Migrants away: employment by labour demand and status, remittances net of transfer cost, returns (process 7).

Employment at each destination p: each employed migrant loses the job with probability `s` a month (separation);
the destination's vacancies `V_pt` are filled from its unemployed migrants, regular migrants first in the sense that
an irregular migrant is hired at `f` times the regular rate: hiring probability `h_p = min(1, V_pt / (U_reg,p + f
U_irr,p))` for regular and `f h_p` for irregular migrants, so that expected hires never exceed vacancies. Internal
migrants are employed with probability `e_city` each month. A migrant with a job sends home `share * max(0, wage -
living cost)` (the place's wage by skill and living cost); the household receives that amount less the corridor's
transfer cost `tc`, and the fee `tc * sent` is recorded (SDG indicator 10.c.1).

Returns: a regular migrant returns when the stay ends (set at departure: `stay_months` for an ordinary visa, shorter
for a seasonal scheme, none for a permanent one) or earlier at the voluntary return rate; an irregular migrant is
deported at the deportation rate or returns at the voluntary rate; an internal migrant returns at the internal return
rate.
"""

from __future__ import annotations

import numba
import numpy as np


def hiring_probability(vacancies: float, unemployed_regular: int, unemployed_irregular: int,
                       irregular_hire_factor: float) -> float:
    """Monthly hiring probability of an unemployed regular migrant: `min(1, V / (U_reg + f U_irr))`."""
    seekers = unemployed_regular + irregular_hire_factor * unemployed_irregular
    # Divide only when there are more seekers than vacancies: with a tiny (subnormal) hire factor and only irregular
    # seekers, `vacancies / seekers` would overflow to inf (and warn); the probability is 1 either way.
    return 1.0 if seekers <= vacancies else float(vacancies / seekers)


def hiring_probabilities(vacancies: np.ndarray, place: np.ndarray, unemployed_regular: np.ndarray,
                         unemployed_irregular: np.ndarray, irregular_hire_factor: float) -> np.ndarray:
    """The hiring probability of an unemployed regular migrant at each place (`hiring_probability` of its vacancies
    and seekers), from each migrant's `place` and whether it is an unemployed regular or irregular migrant."""
    n = len(vacancies)
    seekers = np.bincount(place[unemployed_regular], minlength=n) + irregular_hire_factor * np.bincount(
        place[unemployed_irregular], minlength=n)
    vacancies = np.asarray(vacancies, np.float64)
    # `hiring_probability` place by place: 1 where the seekers are no more than the vacancies, else V / seekers
    return np.divide(vacancies, seekers, out=np.ones(n), where=seekers > vacancies)


def update_employment(employed: np.ndarray, irregular: np.ndarray, uniform: np.ndarray, separation_rate: float,
                      hire_probability: float | np.ndarray, irregular_hire_factor: float) -> np.ndarray:
    """Employment after one month for migrants abroad (arrays over those migrants, one uniform each; the hiring
    probability of a regular migrant for all or each of them)."""
    keep = employed & (uniform >= separation_rate)
    hire_p = np.where(irregular, irregular_hire_factor * hire_probability, hire_probability)
    return keep | (~employed & (uniform < hire_p))


def remittances(earnings: np.ndarray, living_cost: float | np.ndarray, share: float | np.ndarray,
                transfer_cost: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(received by the household, fees paid), USD: sent = `share * max(0, earnings - living)`."""
    sent = share * np.maximum(0.0, earnings - living_cost)
    return sent * (1.0 - transfer_cost), sent * transfer_cost


def returns_regular(contract_end: np.ndarray, t: int, uniform: np.ndarray, return_rate: float) -> np.ndarray:
    """Regular migrants who come home this month: their stay has ended (`contract_end <= t`, -1 = no end), or they
    return voluntarily."""
    return ((contract_end >= 0) & (contract_end <= t)) | (uniform < return_rate)


def returns_irregular(uniform: np.ndarray, deportation_rate: float,
                      return_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(deported, returned voluntarily) masks for irregular migrants, one uniform each."""
    deported = uniform < deportation_rate
    voluntary = ~deported & (uniform < deportation_rate + return_rate)
    return deported, voluntary


def expected_employment(hire: np.ndarray, separation_rate: float, exit_rate: float) -> np.ndarray:
    """The share of its stay a migrant who arrives without a job spends employed, at each place, when it is hired with
    probability `hire` a month while unemployed, loses its job with probability `separation_rate` a month and leaves
    (returns, deportation) with probability `exit_rate` a month: `h / (h + s + x)`, the employed time over the whole
    stay of the two-state chain (in continuous time). The expected income abroad is the wage times this share
    (Harris & Todaro 1970, expected income as the wage weighted by the chance of a job); that households know the
    month's hiring chances at each destination is an assumption. It depends on rates, not on how many migrants are
    simulated, so a sample of households expects what the whole population would."""
    hire = np.asarray(hire, np.float64)
    # never hired: never employed (also when nothing ends a job or a stay, where the share would be 0 / 0)
    return np.divide(hire, hire + separation_rate + exit_rate, out=np.zeros_like(hire), where=hire > 0)


def float32_threshold(value: float) -> np.floating:
    """`value` as numpy compares it with an array of float32 draws: a Python number is cast to float32 (numpy's
    promotion of Python scalars), a numpy number keeps its own type."""
    return value if isinstance(value, np.generic) else np.float32(value)


@numba.njit(cache=True)
def _np_maximum0(x: float) -> float:
    """`np.maximum(0.0, x)` of one number (NaN propagates)."""
    return x if (x > 0.0 or x != x) else 0.0


@numba.njit(cache=True)
def _np_minimum(a: float, b: float) -> float:
    """`np.minimum(a, b)` of two numbers (NaN propagates)."""
    return a if (a < b or a != a) else b


@numba.njit(cache=True)
def employment_and_remittances(status: np.ndarray, place: np.ndarray, employed: np.ndarray, skill: np.ndarray,
                               household: np.ndarray, origin: np.ndarray, uniform: np.ndarray,
                               abroad_regular: int, abroad_irregular: int, in_city: int, wage: np.ndarray,
                               vacancies: np.ndarray, skill_ratio: np.ndarray, living_cost: np.ndarray,
                               remittance_share: np.ndarray, transfer_cost: np.ndarray, transfer_cost_cap: float,
                               separation_rate: np.floating, irregular_hire_factor: float,
                               irregular_wage_factor: float, city_employment_rate: np.floating,
                               remittances_in: np.ndarray, n_origins: int):
    """The month's employment and remittances of every migrant (rows of the migrants table with their `status`,
    `place`, `skill`, household and origin, and `uniform`, one draw each), in two passes, computed as
    `hiring_probabilities`, `update_employment` and `remittances` compute them for the migrants abroad (regular or
    irregular status; the transfer cost at most `transfer_cost_cap`) and for those in a city (employed if their draw
    is below `city_employment_rate`). The thresholds `separation_rate` and `city_employment_rate` come as numpy
    compares them with the float32 draws (`float32_threshold`). Writes `employed` and, from zero, `remittances_in` (each
    household's received remittances, abroad then in cities, in row order, as np.add.at sums them). Returns the
    rows abroad, their irregular flags, employment and wages (before employment), the rows in a city and their
    employment, the fees by origin of the migrants abroad and of those in a city (each as np.bincount sums them), and
    the month's hiring probability of an unemployed regular migrant at each place (`hiring_probabilities`)."""
    n, n_places = status.shape[0], wage.shape[0]
    n_abroad = n_city = 0
    for i in range(n):
        if status[i] == abroad_regular or status[i] == abroad_irregular:
            n_abroad += 1
        elif status[i] == in_city:
            n_city += 1
    abroad = np.empty(n_abroad, np.int64)
    city = np.empty(n_city, np.int64)
    a = c = 0
    for i in range(n):
        if status[i] == abroad_regular or status[i] == abroad_irregular:
            abroad[a] = i
            a += 1
        elif status[i] == in_city:
            city[c] = i
            c += 1
    # hiring probability at each place from its unemployed regular and irregular migrants (hiring_probabilities)
    regular_seekers = np.zeros(n_places, np.int64)
    irregular_seekers = np.zeros(n_places, np.int64)
    irregular = np.empty(n_abroad, np.bool_)
    for j in range(n_abroad):
        i = abroad[j]
        irregular[j] = status[i] == abroad_irregular
        if not employed[i]:
            if irregular[j]:
                irregular_seekers[place[i]] += 1
            else:
                regular_seekers[place[i]] += 1
    hire = np.ones(n_places)
    for p in range(n_places):
        seekers = np.float64(regular_seekers[p]) + irregular_hire_factor * np.float64(irregular_seekers[p])
        if seekers > vacancies[p]:
            hire[p] = vacancies[p] / seekers
    remittances_in[:] = 0.0
    emp = np.empty(n_abroad, np.bool_)
    wages = np.empty(n_abroad)
    fees_abroad = np.zeros(n_origins)
    for j in range(n_abroad):
        i = abroad[j]
        q = place[i]
        u = uniform[i]
        was = employed[i]
        hire_p = irregular_hire_factor * hire[q] if irregular[j] else hire[q]
        emp[j] = (was and u >= separation_rate) or (not was and np.float64(u) < hire_p)
        employed[i] = emp[j]
        wages[j] = wage[q] * skill_ratio[q, skill[i]] * (irregular_wage_factor if irregular[j] else 1.0)
        sent = remittance_share[q] * _np_maximum0((wages[j] if emp[j] else 0.0) - living_cost[q])
        tc = _np_minimum(transfer_cost[q], transfer_cost_cap)
        remittances_in[household[i]] += sent * (1.0 - tc)
        fees_abroad[origin[i]] += sent * tc
    city_emp = np.empty(n_city, np.bool_)
    fees_city = np.zeros(n_origins)
    for j in range(n_city):
        i = city[j]
        q = place[i]
        city_emp[j] = uniform[i] < city_employment_rate
        employed[i] = city_emp[j]
        earnings = wage[q] * skill_ratio[q, skill[i]]
        sent = remittance_share[q] * _np_maximum0((earnings if city_emp[j] else 0.0) - living_cost[q])
        tc = transfer_cost[q]
        remittances_in[household[i]] += sent * (1.0 - tc)
        fees_city[origin[i]] += sent * tc
    return abroad, irregular, emp, wages, city, city_emp, fees_abroad, fees_city, hire
