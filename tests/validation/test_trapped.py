"""Case 2. Trapped populations: under severe shocks with tight budgets the poorest move less, not more.

Sources: Foresight (2011), "Migration and Global Environmental Change: Final Project Report", UK Government Office
for Science, London; Black, R., Bennett, S. R. G., Thomas, S. M. & Beddington, J. R. (2011), "Climate change:
Migration as adaptation", Nature 478, 447-449. Environmental change erodes the assets that people need to move, so
that the poorest may become trapped in place, the more so the more severe the change: those who most want to leave
are least able to.

Experiment (experiments.validation.trapped_populations): the poor world (see test_liquidity), 4,000 households, 5
years, under today's climate and under a severe outlook (hazards 3 times as frequent and 1.5 times as intense), same
seeds. Outcomes: trapped household-months per household (households whose preferred option is a move they cannot
afford), and departures per household per year by quintile of the initial means to move within each district.
"""

import pytest

from simulator.experiments.validation import Z, trapped_populations

pytestmark = pytest.mark.validation


def test_severe_shocks_raise_the_number_of_trapped_households():
    """Direction. Tolerance: mean paired rise (severe minus today, same seed) more than 3 standard errors above zero
    across 8 seeds (sampling error across seeds)."""
    rise = trapped_populations().trapped_rise
    assert rise.z > Z, f"trapped household-months per household: {rise.describe()}"


def test_departures_of_the_poorest_rise_less_than_those_of_the_richest():
    """Direction. The rise of the poorest quintile's departure rate minus the rise of the richest quintile's, paired
    by seed, must be more than 3 standard errors below zero (sampling error across 8 seeds)."""
    gap = trapped_populations().poorest_minus_richest
    assert gap.z < -Z, f"poorest minus richest rise, departures per 1,000 households a year: {gap.describe(1000)}"
