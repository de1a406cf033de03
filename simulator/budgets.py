"""Household budgets (process 8): income, remittances and transfers in; consumption out; savings carried.

With monthly income `I_i` (origin earnings of the adults at home, remittances received, cash transfers) and the
subsistence need `z * n_i` of the `n_i` members at home, consumption is `c_i = z n_i + k max(0, I_i - z n_i)` when
income covers need and `c_i = min(z n_i, I_i + W_i)` otherwise (households dissave down to zero, never below); the
rest is saved: `W_i' = W_i + I_i - c_i >= 0`. (A buffer-stock rule in the spirit of Deaton 1991 Econometrica;
the share `k` consumed out of surplus: assumption.)
"""

from __future__ import annotations

import numpy as np


def update_budgets(wealth: np.ndarray, income: np.ndarray, persons_home: np.ndarray, subsistence: float,
                   consumption_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (wealth after the month, consumption in the month), USD per household."""
    need = subsistence * persons_home
    surplus = income - need
    consumption = np.where(surplus >= 0, need + consumption_share * surplus, np.minimum(need, income + wealth))
    return np.maximum(0.0, wealth + income - consumption), consumption
