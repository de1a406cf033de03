"""Household budgets (budgets.py): property-based checks over random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.model.budgets import household_budgets


def update_budgets(wealth, income, persons, subsistence, share, aspired=None, t=0, months=0, aspiring_share=0.0):
    """(wealth after the month, consumption), leaving `wealth` as it was: `household_budgets` for households of
    `persons` members at home, one of them an adult earning `income` (1 x income + no remittances + no cash is
    `income` exactly); those with an `aspired` step (-1: none) aspire to a move at step `t` for `months`."""
    n = len(wealth)
    new, consumption, home = wealth.copy(), np.empty_like(wealth), np.empty(n, np.int64)
    aspired = np.full(n, -1, np.int16) if aspired is None else aspired
    household_budgets(np.ones(n, np.int16), persons, np.zeros(n, np.uint8), np.zeros(n, bool), income, np.zeros(n),
                      np.zeros(n), new, subsistence, share, home, consumption, (aspired >= 0).astype(np.int8),
                      aspired, t, months, aspiring_share)
    assert (home == persons).all()
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


def test_members_away_and_settled_households_earn_and_need_nothing_at_origin():
    """Adults at home are the adults less the members away (never below 0); a household settled abroad has nobody
    at home: only its remittances and cash count, and it needs nothing at origin."""
    adults, size = np.array([3, 1, 2, 4], np.int16), np.array([5, 3, 2, 6], np.int16)
    away, settled = np.array([1, 2, 0, 1], np.uint8), np.array([False, False, False, True])
    per_adult, remittances, cash = np.full(4, 100.0), np.array([50.0, 0.0, 0.0, 70.0]), np.array([0.0, 5.0, 0, 0])
    wealth, home, consumption = np.full(4, 1000.0), np.empty(4, np.int16), np.empty(4)
    household_budgets(adults, size, away, settled, per_adult, remittances, cash, wealth, 45.0, 0.9, home,
                      consumption, np.zeros(4, np.int8), np.full(4, -1, np.int16), 0, 0, 0.0)
    np.testing.assert_array_equal(home, [4, 1, 2, 0])
    income = np.array([2 * 100.0 + 50.0, 0.0 + 5.0, 200.0, 70.0])   # adults at home 2, 0 (not -1), 2, none
    expected, spent = update_budgets(np.full(4, 1000.0), income, home.astype(np.int64), 45.0, 0.9)
    np.testing.assert_array_equal(wealth, expected)
    np.testing.assert_array_equal(consumption, spent)


def test_a_household_aspiring_to_a_move_saves_its_share_of_the_surplus_until_the_aim_lapses():
    """Trapped at step 10 with an aspiration of 12 months: at steps 10-21 it consumes the aspiring share of its
    surplus; from step 22 the ordinary share again; a household short of its need saves nothing either way."""
    income, persons = np.array([300.0, 300.0, 100.0]), np.array([4, 4, 4])
    aspired = np.array([10, -1, 10], np.int16)
    for t, aspiring in ((10, True), (21, True), (22, False)):
        new, consumption = update_budgets(np.zeros(3), income, persons, 45.0, 0.95, aspired, t, 12, 0.5)
        surplus = 300.0 - 180.0
        assert consumption[0] == pytest.approx(180.0 + (0.5 if aspiring else 0.95) * surplus)
        assert consumption[1] == pytest.approx(180.0 + 0.95 * surplus)
        assert new[2] == 0.0 and consumption[2] == 100.0
