"""Case 4. More regular places lower irregular departures, with an elasticity below one.

Source: Clemens, M. A. & Gough, K. (2018), "Can Regular Migration Channels Reduce Irregular Migration? Lessons for
Europe from the United States", CGD Brief, Center for Global Development, Washington DC (February 2018). In the
Mexico-U.S. episodes (the bracero programme of the 1950s; the expansion of H-2 seasonal work visas since the 2000s),
lawful channels suppressed irregular crossings, but only when combined with enforcement: regular places substitute for
part of irregular migration, not one for one. The check used here: the elasticity of irregular departures with
respect to regular places is negative and smaller than one in magnitude.

Experiment (experiments.validation.regular_places): the one-city world, 5,000 households, 8 years, with the regular
quota and processing capacity (intervention quota_expansion) times 1, 1.5, 2 and 3, same seeds. The elasticity is the
per-seed least-squares slope of log irregular departures on log regular visas issued across the four arms.
"""

import pytest

from simulator.experiments.validation import Z, regular_places

pytestmark = pytest.mark.validation


def test_more_regular_places_lower_irregular_departures():
    """Direction. Tolerance: the mean elasticity across 8 seeds must be more than 3 standard errors below zero
    (sampling error across seeds; the arms of a seed share shocks and households)."""
    e = regular_places().elasticity()
    assert e.z < -Z, f"elasticity of irregular departures to regular visas: {e.describe()}"


def test_irregular_departures_fall_less_than_proportionally():
    """Magnitude. The mean elasticity must lie more than 3 standard errors above -1 (sampling error across 8 seeds):
    regular places substitute for part of irregular migration, not one for one."""
    e = regular_places().elasticity()
    assert (e.mean + 1) / e.se > Z, f"elasticity of irregular departures to regular visas: {e.describe()}"
