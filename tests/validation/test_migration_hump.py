"""Case 6. The migration hump: rising origin incomes first raise emigration, which peaks at lower-middle income and
then falls.

Sources: Clemens, M. A. (2014), "Does Development Reduce Migration?", IZA Discussion Paper 8592 (CGD Working Paper
359), published in Lucas, R. E. B. (ed.) (2015), International Handbook on Migration and Economic Development, Edward
Elgar, ch. 6, 152-185; Clemens, M. A. (2020), "The Emigration Life Cycle: How Development Shapes Emigration from Poor
Countries", CGD Working Paper 540; Dao, T. H., Docquier, F., Parsons, C. & Peri, G. (2018), "Migration and
development: Dissecting the anatomy of the mobility transition", Journal of Development Economics 132, 88-101. Across
countries, emigration rises with income per head until about 7,000-10,000 USD PPP (against about 60,000 in the main
destinations: an origin/destination ratio of 0.08-0.3) and then falls, by about half at upper-middle income.

Experiment (experiments.validation.development): worlds identical but for development, with origin wages at 0.025,
0.08, 0.15, 0.3, 0.6 and 1 times the destination wage (1,600 USD a month), savings and assets scaled with the wage
(2.5 and 16 months of wages) and fees and travel costs unchanged in dollars: only the origin's incomes, and the wealth
that goes with them, change. 3,000 households, 8 years, same seeds at every level. Outcome: international departures
(regular and irregular) per 1,000 households a year. The wage ratio stands in for the ratio of incomes per head.
"""

import pytest

from simulator.experiments.validation import FALL_RATIO, FALL_SHARE, PEAK_RATIOS, Z, development

pytestmark = pytest.mark.validation


def test_rising_incomes_first_raise_emigration():
    """Direction among the poor. International departures at a wage ratio of 0.15 minus those at 0.025, paired by
    seed: more than 3 standard errors above zero across 8 seeds (sampling error across seeds)."""
    hump = development()
    rise = hump.change(0, hump.ratios.index(0.15))
    assert rise.z > Z, f"international departures per 1,000 households a year: {rise.describe()}"


def test_emigration_peaks_at_lower_middle_income():
    """Where the hump turns. The level of development at which mean departures across the 8 seeds peak lies within
    Clemens's 0.08-0.3 of the destination's income, and departures there exceed those at every level outside that
    range by more than 3 standard errors, paired by seed (sampling error across seeds)."""
    hump = development()
    peak = hump.ratios[hump.peak]
    levels = hump.international.mean(axis=0).round(2).tolist()
    assert PEAK_RATIOS[0] <= peak <= PEAK_RATIOS[1], f"departures peak at a wage ratio of {peak}: {levels}"
    for j, ratio in enumerate(hump.ratios):
        if not PEAK_RATIOS[0] <= ratio <= PEAK_RATIOS[1]:
            rise = hump.change(j, hump.peak)
            assert rise.z > Z, f"departures at the peak minus at ratio {ratio}: {rise.describe()}"


def test_emigration_falls_by_half_at_upper_middle_income():
    """How far it falls. At 0.6 of the destination's income, departures over departures at the peak (per seed): the
    mean across 8 seeds is at most 0.6, and more than 3 standard errors below 1 (a fall, not noise)."""
    share = development().share_of_peak(FALL_RATIO)
    assert share.mean <= FALL_SHARE, f"departures at ratio {FALL_RATIO} over the peak: {share.describe()}"
    assert (1 - share.mean) / share.se > Z, f"departures at ratio {FALL_RATIO} over the peak: {share.describe()}"
