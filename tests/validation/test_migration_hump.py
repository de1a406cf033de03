"""Case 6. The migration hump: rising origin incomes first raise emigration, which falls only beyond middle income.

Source: Clemens, M. A. (2014), "Does Development Reduce Migration?", IZA Discussion Paper 8592 (CGD Working Paper 359),
published in Lucas, R. E. B. (ed.) (2015), International Handbook on Migration and Economic Development, Edward Elgar,
ch. 6, 152-185. Across countries and in every decade since 1960, emigration rises with income per head until
countries reach upper-middle income, roughly 6,000-8,000 USD GDP per head at U.S. prices, and only then falls; the
rise is explained in part by more households being able to pay the cost of migrating.

Experiment (validation_experiments.development): worlds identical but for development, with origin wages at 0.025,
0.15, 0.5 and 1 times the destination wage (1,600 USD a month), savings and assets scaled with the wage (2.5 and 16
months of wages, about the ratios of the default world) and fees and travel costs unchanged in dollars; 3,000
households, 8 years, same seeds at every level. Outcome: international departures (regular and irregular) per 1,000
households a year. Clemens's turning point against a U.S. GDP per head of about 48,000 USD (2010) is an
origin/destination income ratio of about 0.15.
"""

import pytest

from validation_experiments import Z, development

pytestmark = pytest.mark.validation


def test_rising_incomes_first_raise_emigration():
    """Direction among the poor. International departures at a wage ratio of 0.15 minus those at 0.025, paired by
    seed: more than 3 standard errors above zero across 8 seeds (sampling error across seeds)."""
    rise = development().change(0, 1)
    assert rise.z > Z, f"international departures per 1,000 households a year: {rise.describe()}"


def test_emigration_falls_beyond_its_peak():
    """A hump rather than a rise: departures at parity with the destination (ratio 1) minus departures at the level
    where they peak, paired by seed, more than 3 standard errors below zero across 8 seeds."""
    hump = development()
    last = len(hump.ratios) - 1
    assert hump.peak < last, f"departures still rise at parity: {hump.international.mean(axis=0)}"
    fall = hump.change(hump.peak, last)
    assert fall.z < -Z, f"departures at parity minus at the peak: {fall.describe()}"


@pytest.mark.xfail(strict=True, reason=(
    "The model's emigration keeps rising until origin wages reach about half the destination wage (ratio 0.5, "
    "against Clemens's turning point of about 0.15) and is still within about 5% of its peak at parity: the rise "
    "comes from costs fixed in dollars becoming affordable and small relative to income, while the fall is weak "
    "because income enters the utilities only through the log ratio of household income with and without one "
    "migrant (a small term next to the alternative-specific constants), and regular departures are held at the quota "
    "at every level but the poorest."))
def test_emigration_turns_down_near_upper_middle_income():
    """Order of magnitude of the turning point. Departures at a wage ratio of 0.5 (three times the turning point)
    minus those at 0.15, paired by seed, must be more than 3 standard errors below zero across 8 seeds."""
    change = development().change(1, 2)
    assert change.z < -Z, f"departures at ratio 0.5 minus at 0.15: {change.describe()}"
