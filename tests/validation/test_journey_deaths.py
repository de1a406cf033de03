"""Case 5. Deaths per thousand irregular journeys stay within the range observed on real routes.

Source: IOM Missing Migrants Project (International Organization for Migration, Global Migration Data Analysis Centre,
missingmigrants.iom.int, data since 2014). Deaths and disappearances per attempted crossing vary by route and year,
from about 1 to about 50 per 1,000; on the Central Mediterranean, the deadliest sea route, IOM reported 1 death in 88
attempts in 2016 and 1 in 36 in 2017 (IOM GMDAC briefing, 2017).

Experiment (experiments.validation.journey_deaths): the one-city world with the default route risks, 40,000
households, 8 years, 8 independent seeds. Deaths per 1,000 irregular journeys that ended (death, interception or
arrival), pooled over the runs.
"""

import pytest

from simulator.experiments.validation import journey_deaths

pytestmark = pytest.mark.validation

OBSERVED = (1.0, 50.0)   # deaths per 1,000 attempts, range across routes and years


def test_deaths_per_thousand_journeys_lie_in_the_observed_range():
    """Order of magnitude. Tolerance: the whole exact (Poisson) 95% confidence interval of the pooled rate must lie
    within 1-50 per 1,000, so that the check holds despite the sampling error of a few deaths."""
    rate, lo, hi, deaths, journeys = journey_deaths().deaths_per_1000
    assert deaths > 0 and journeys > 0
    assert OBSERVED[0] <= lo and hi <= OBSERVED[1], (
        f"{rate:.1f} per 1,000 (95% CI {lo:.1f}-{hi:.1f}; {deaths} deaths in {journeys} journeys)")
