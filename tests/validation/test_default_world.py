"""Cases 7 to 10: regularities of the default world as a new user runs it (its tables, the default parameters).

Experiments (experiments.validation.default_world_runs and disasters): one baseline run of the default world per seed
(8 seeds, 4,000 households, 20 years; flows over the last 5 years), and paired runs under today's climate and under
the severe outlook of case 2 (8 seeds, 4,000 households, 10 years).

Sources:
- Case 7. Aspiration and ability (Carling 2002, "Migration in the age of involuntary immobility", Journal of Ethnic and
  Migration Studies 28(1); Gallup World Poll potential-migration surveys, Esipova, Ray & Pugliese 2011): those who
  want to leave but cannot outnumber those who leave by an order of magnitude. Checked: households that want to move
  abroad but cannot (aspiring to a regular or irregular move they could not pay for, or waiting in a visa queue; a
  monthly stock) are at least 5 times the migrants who leave abroad in a year.
- Case 8. Oversubscription of labour schemes (the US H-2B cap fills within days of opening; Korea's Employment Permit
  System has several applicants per place): applications to the default world's main labour scheme are at least 3
  times its places.
- Case 9. Disasters displace mostly nearby (IDMC, Global Report on Internal Displacement: the great majority of
  disaster displacement is internal): at least 80% of the extra departures under more frequent and intense sudden
  shocks go to the cities.
- Case 10. The migrant stock abroad is 2-5% of the origin population in low- and lower-middle-income countries (UN
  DESA International Migrant Stock 2020; World Bank Migration and Remittances Factbook 2016): after 20 years of the
  baseline, members abroad are 2-5% of the origin's people and them.
"""

import pytest

from simulator.experiments.validation import (ASPIRATION_RATIO, DISASTER_INTERNAL_SHARE, INTERNAL_PER_1000,
                                              INTERNATIONAL_PER_1000, IRREGULAR_SHARE, OVERSUBSCRIPTION, STOCK_ABROAD,
                                              Z, default_world_runs, disasters)

pytestmark = pytest.mark.validation


def test_those_who_want_to_leave_and_cannot_outnumber_those_who_leave():
    """Tolerance: the mean over 8 seeds of the per-seed ratio must be at least 5. The threshold is the evidence's
    order of magnitude; the sampling error of the mean ratio (quoted in docs/validation.md) is far smaller than the
    distance to it."""
    r = default_world_runs().aspiration_ratio
    assert r.mean() >= ASPIRATION_RATIO, f"ratio {r.mean():.2f} (SE {r.std(ddof=1) / len(r) ** 0.5:.3f})"


def test_applications_to_the_main_labour_scheme_exceed_its_places_several_times():
    """Tolerance: the mean over 8 seeds of applications over places must be at least 3 (its sampling error, quoted in
    docs/validation.md, is far smaller than the distance to it)."""
    r = default_world_runs()
    ratio = r.oversubscription
    assert ratio.mean() >= OVERSUBSCRIPTION, (f"{r.applications.mean():.1f} applications a year for "
                                              f"{r.places.mean():.0f} places: {ratio.mean():.2f} times")


def test_more_frequent_sudden_shocks_raise_departures_mostly_to_the_cities():
    """Direction: the extra internal departures exceed 3 standard errors (paired over 8 seeds). Magnitude: the share
    of the extra departures that is internal, pooled over the seeds, is at least 0.8; its sampling error (about
    0.015, from the standard errors of the two extras quoted in docs/validation.md) is far smaller than the distance
    to the threshold."""
    d = disasters()
    assert d.internal.z > Z, f"extra internal departures {d.internal.describe(1, 'per 1,000 a year')}"
    assert d.internal_share >= DISASTER_INTERNAL_SHARE, (
        f"internal share {d.internal_share:.2f}: internal {d.internal.describe()}, international "
        f"{d.international.describe()}")


def test_the_stock_abroad_after_twenty_years_is_that_of_a_lower_income_country():
    """Tolerance: the mean share over 8 seeds, plus and minus 3 standard errors, must lie within 2-5%."""
    share = default_world_runs().abroad_share
    mean, se = share.mean(), share.std(ddof=1) / len(share) ** 0.5
    assert STOCK_ABROAD[0] <= mean - Z * se and mean + Z * se <= STOCK_ABROAD[1], (
        f"{100 * mean:.2f}% (SE {100 * se:.2f})")


@pytest.mark.parametrize("flow, band", [("international", INTERNATIONAL_PER_1000), ("internal", INTERNAL_PER_1000),
                                        ("irregular_share", IRREGULAR_SHARE)])
def test_the_flows_lie_within_the_ranges_of_the_world_readme(flow, band):
    """The default world's flows over the last 5 of 20 years, against the ranges scenarios/worlds/default/README.md
    documents with their sources: migrants leaving abroad and moves to the cities per 1,000 households a year, and the
    irregular share of those leaving abroad. Tolerance: the mean over 8 seeds, plus and minus 3 standard errors, lies
    within the range."""
    values = getattr(default_world_runs(), flow)
    mean, se = values.mean(), values.std(ddof=1) / len(values) ** 0.5
    assert band[0] <= mean - Z * se and mean + Z * se <= band[1], f"{flow}: {mean:.3g} (SE {se:.2g}), range {band}"
