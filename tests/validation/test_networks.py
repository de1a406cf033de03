"""Case 3. Networks: a larger diaspora raises departures and lowers the wealth of those who leave.

Sources: Munshi, K. (2003), "Networks in the Modern Economy: Mexican Migrants in the U.S. Labor Market", Quarterly
Journal of Economics 118(2), 549-599: Mexican migrants with a larger network of earlier migrants from their community
at the destination are more likely to be employed and to hold better-paid jobs, so networks raise the return to
leaving. McKenzie, D. & Rapoport, H. (2010), "Self-Selection Patterns in Mexico-U.S. Migration: The Role of Migration
Networks", Review of Economics and Statistics 92(4), 811-821: selection of migrants (on education) is positive or
neutral in communities with weak networks and negative in communities with strong networks, consistent with networks
lowering the cost of migrating.

Experiment (experiments.validation.networks): the one-city world, 4,000 households, 10 years, with networks switched
off (no network term in the utilities, decisions.beta_network = 0, no cost saved through networks,
decisions.network_cost_cut = 0, and no network loans, decisions.network_loan_share = 0) and at their default
strength, same seeds; a third arm starts with a strong diaspora (a random 30% of households with a member settled and
employed abroad) under the default networks, whose loans let the poorer households that want to leave pay for the
move. The wealth of those who leave is measured as the percentile of the household's savings plus assets among the
households at home in its district, in the month it chooses to leave (0.5 = no selection).
"""

import pytest

from simulator.experiments.validation import Z, networks

pytestmark = pytest.mark.validation


def test_network_raises_departures():
    """Direction. Departures per 1,000 households a year (all pathways), network on minus off, paired by seed: more
    than 3 standard errors above zero across 8 seeds (sampling error across seeds)."""
    rise = networks().departures_rise
    assert rise.z > Z, f"departures per 1,000 households a year: {rise.describe()}"


def test_network_lowers_the_wealth_of_those_who_leave():
    """Direction. Mean wealth percentile of leavers, network on minus off, paired by seed: more than 3 standard
    errors below zero across 8 seeds (sampling error across seeds)."""
    change = networks().leaver_wealth_change
    assert change.z < -Z, f"leavers' mean wealth percentile, on minus off: {change.describe(100, 'points')}"


def test_strong_diaspora_makes_international_selection_neutral_or_negative():
    """Pattern of McKenzie & Rapoport (2010) in strong-network communities. Tolerance: the mean wealth percentile of
    international leavers (applicants and irregular departures) in the strong-diaspora arm must not lie more than 3
    standard errors above 0.5 (no selection) across 8 seeds (sampling error across seeds)."""
    excess = networks().diaspora_selection
    assert excess.z < Z, f"international leavers' wealth percentile minus 0.5: {excess.describe()}"
