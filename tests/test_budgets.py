"""Household budgets (budgets.py): property-based checks over random inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.model.budgets import update_budgets as update_in_place


def update_budgets(wealth, income, persons, subsistence, share):
    """(wealth after the month, consumption), leaving `wealth` as it was."""
    new, consumption = np.empty_like(wealth), np.empty_like(wealth)
    update_in_place(wealth, income, persons, subsistence, share, new, consumption)
    return new, consumption

money = st.floats(0, 1e6, allow_nan=False)
N = 16


@settings(max_examples=300, deadline=None)
@given(wealth=arrays(np.float64, N, elements=money), income=arrays(np.float64, N, elements=money),
       persons=arrays(np.int64, N, elements=st.integers(0, 15)), subsistence=st.floats(0, 200),
       share=st.floats(0, 1))
def test_budget_identity_and_bounds(wealth, income, persons, subsistence, share):
    new, consumption = update_budgets(wealth, income, persons, subsistence, share)
    need = subsistence * persons
    assert (new >= 0).all() and (consumption >= 0).all()
    # money is conserved: what is not consumed is saved
    np.testing.assert_allclose(new, wealth + income - consumption, rtol=1e-9, atol=1e-6)
    # consumption never exceeds what the household has, and meets need whenever it can
    assert (consumption <= wealth + income + 1e-6).all()
    can_meet = wealth + income >= need
    assert (consumption[can_meet] >= need[can_meet] - 1e-6).all()
    # with income above need, savings never fall
    assert (new[income >= need] >= wealth[income >= need] - 1e-6).all()


@settings(max_examples=200, deadline=None)
@given(wealth=money, income=money, extra=st.floats(0, 1e4), persons=st.integers(1, 10))
def test_more_income_never_lowers_wealth_or_consumption(wealth, income, extra, persons):
    w1, c1 = update_budgets(np.array([wealth]), np.array([income]), np.array([persons]), 45.0, 0.9)
    w2, c2 = update_budgets(np.array([wealth]), np.array([income + extra]), np.array([persons]), 45.0, 0.9)
    assert w2[0] >= w1[0] - 1e-6 and c2[0] >= c1[0] - 1e-6


def test_wealth_can_be_updated_in_place():
    wealth, income, persons = np.array([100.0, 0.0, 50.0]), np.array([300.0, 10.0, 0.0]), np.array([2, 3, 1])
    expected, consumption = update_budgets(wealth, income, persons, 45.0, 0.9)
    out = np.empty(3)
    update_in_place(wealth, income, persons, 45.0, 0.9, wealth, out)
    np.testing.assert_array_equal(wealth, expected)
    np.testing.assert_array_equal(out, consumption)
