"""Household budgets (process 8): income, remittances and transfers in; consumption out; savings carried.

With monthly income `I_i` (origin earnings of the adults at home, remittances received, cash transfers) and the
subsistence need `z * n_i` of the `n_i` members at home, consumption is `c_i = z n_i + k max(0, I_i - z n_i)` when
income covers need and `c_i = min(z n_i, I_i + W_i)` otherwise (households dissave down to zero, never below); the
rest is saved: `W_i' = W_i + I_i - c_i >= 0`. (A buffer-stock rule in the spirit of Deaton 1991 Econometrica;
the share `k` consumed out of surplus: assumption.) A household that aspires to a move it could not pay for
(`Households.aspiration`, within `decisions.aspiration_months` of the last month it was trapped) consumes the share
`k_a` (`aspiring_consumption_share`) of its surplus instead, saving toward the move: it can want to leave, wait, save
and leave later (aspiration and ability: Carling 2002).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _budget(income: float, wealth: float, persons: int, subsistence: float,
            consumption_share: float) -> tuple[float, float]:
    """(consumption, wealth after the month) of one household: the rule of the module docstring."""
    need = subsistence * persons
    surplus = income - need
    c = need + consumption_share * surplus if surplus >= 0 else min(need, income + wealth)
    return c, max(0.0, wealth + income - c)


@numba.njit(cache=True)
def household_budgets(adults: np.ndarray, size: np.ndarray, away: np.ndarray, settled: np.ndarray,
                      income_per_adult: np.ndarray, remittances: np.ndarray, cash: np.ndarray, wealth: np.ndarray,
                      subsistence: float, consumption_share: float, persons_home: np.ndarray,
                      consumption: np.ndarray, aspiration: np.ndarray, aspired: np.ndarray, t: int,
                      aspiration_months: int, aspiring_share: float) -> None:
    """The month's budgets from the household columns, in one pass: the income `I_i` of the adults at home (`adults`
    less the `away` members; none if the household has `settled` abroad), remittances and cash; the members at home
    (`size` less `away`; none if settled) into `persons_home`; consumption into `consumption`; wealth updated in
    place. Households with an `aspiration` trapped at step `aspired` within `aspiration_months` of step `t` consume
    `aspiring_share` of their surplus."""
    for i in range(wealth.shape[0]):
        if settled[i]:
            adults_home, persons = 0, 0
        else:
            adults_home, persons = max(adults[i] - away[i], 0), size[i] - away[i]
        y = adults_home * income_per_adult[i]
        y += remittances[i]
        y += cash[i]
        persons_home[i] = persons
        share = consumption_share
        if aspiration[i] > 0 and t - aspired[i] < aspiration_months:
            share = aspiring_share
        consumption[i], wealth[i] = _budget(y, wealth[i], persons, subsistence, share)


@numba.njit(cache=True)
def repay_network_loans(debt: np.ndarray, slots: np.ndarray, status: np.ndarray, waiting: int, remittances: np.ndarray,
                        origin: np.ndarray, owed: np.ndarray) -> None:
    """Each household's remittances of the month repay its debt to the network first (`remittances` is left with what
    the household receives); the debt of a household with no member away and no application waiting (`status` not
    `waiting`: the migrant came home, was intercepted or died, or the applicant gave up) is written off (assumption: the
    lenders bear the risk of a move that ends before it has repaid them). What is still owed is added to `owed` by the
    household's `origin`."""
    for i in range(debt.shape[0]):
        if debt[i] <= 0.0:
            continue
        if slots[i] == 0 and status[i] != waiting:
            debt[i] = 0.0
            continue
        repaid = min(np.float64(debt[i]), remittances[i])
        remittances[i] -= repaid
        debt[i] = np.float32(debt[i] - repaid)
        owed[origin[i]] += np.float64(debt[i])
