"""Household budgets (process 8): income, remittances and transfers in; consumption out; savings carried.

With monthly income `I_i` (origin earnings of the adults at home, remittances received, cash transfers) and the
subsistence need `z * n_i` of the `n_i` members at home, consumption is `c_i = z n_i + k max(0, I_i - z n_i)` when
income covers need and `c_i = min(z n_i, I_i + W_i)` otherwise (households dissave down to zero, never below); the
rest is saved: `W_i' = W_i + I_i - c_i >= 0`. (A buffer-stock rule in the spirit of Deaton 1991 Econometrica;
the share `k` consumed out of surplus: assumption.)
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def update_budgets(wealth: np.ndarray, income: np.ndarray, persons_home: np.ndarray, subsistence: float,
                   consumption_share: float, new_wealth: np.ndarray, consumption: np.ndarray) -> None:
    """Write the wealth after the month into `new_wealth` and the month's consumption into `consumption`, USD per
    household, in one pass. `new_wealth` may be `wealth` itself (updated in place), and `consumption` may be
    `income` (a household's income is read before its consumption is written)."""
    for i in range(wealth.shape[0]):
        y = income[i]
        need = subsistence * persons_home[i]
        surplus = y - need
        c = need + consumption_share * surplus if surplus >= 0 else min(need, y + wealth[i])
        consumption[i] = c
        new_wealth[i] = max(0.0, wealth[i] + y - c)
