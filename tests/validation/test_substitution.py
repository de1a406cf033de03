"""Case 11. Where a regular channel is open to those who now go irregularly, its extra places replace irregular
journeys: each extra place cuts irregular departures by 0.3 to 1.

Source: Clemens, M. A. & Gough, K. (2018), "Can Regular Migration Channels Reduce Irregular Migration? Lessons for
Europe from the United States", CGD Brief, Center for Global Development, Washington DC (February 2018). In the
bracero era, as lawful seasonal places for low-skilled Mexican workers rose to several hundred thousand a year in the
1950s (with enforcement), apprehensions at the border fell by about as much; when the programme ended in 1964,
irregular crossings rose again: regular places open to the same workers replaced a large part of the irregular
journeys.

Experiment (experiments.validation.substitution): case 4's, with the regular channel open to every skill level
(`regular.min_skill` = 0): the one-city world, 5,000 households, 8 years, regular quota and processing capacity times
1, 1.5, 2 and 3, same seeds. Outcome: irregular departures avoided per extra regular visa issued (per seed, the
least-squares slope of irregular departures on visas issued across the four arms).
"""

import pytest

from simulator.experiments.validation import SUBSTITUTION, Z, substitution

pytestmark = pytest.mark.validation


def test_extra_places_replace_irregular_journeys():
    """Magnitude. Irregular departures avoided per extra visa: the mean across 8 seeds lies in 0.3-1, and more than
    3 standard errors above zero (sampling error across seeds; the arms of a seed share shocks and households)."""
    avoided = substitution().avoided_per_place
    low, high = SUBSTITUTION
    assert avoided.z > Z, f"irregular departures avoided per extra visa: {avoided.describe()}"
    assert low <= avoided.mean <= high, f"irregular departures avoided per extra visa: {avoided.describe()}"
