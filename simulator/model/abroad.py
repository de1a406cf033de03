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
