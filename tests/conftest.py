"""Shared test helpers: small worlds built in code."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from simulator.world.regions import World

pytest.register_assert_rewrite("sweeps")   # the sweep checks shared by launcher and cluster tests explain failures

MACHINE_LOCK = Path(tempfile.gettempdir()) / "migration-simulator-tests.lock"


@pytest.fixture(autouse=True)
def one_at_a_time_on_this_machine(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked `exclusive` (they start Ray clusters or submit to the machine's Slurm cluster) hold a lock on a
    file in the temporary folder, so that two test suites run at once on one machine (as .ci/run runs those of two
    Python versions) never run two of them together; other tests do not wait."""
    if request.node.get_closest_marker("exclusive") is None:
        yield
        return
    with open(MACHINE_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def make_world(n_origins: int = 2, wage: float = 100.0, wealth: float = 300.0, farm: float = 0.6,
               return_period: float | None = 5.0, intensity: float = 0.4, destination_wage: float = 1600.0,
               vacancies_per_1000: float = 1.0, degradation: float = 0.005) -> World:
    """A world of `n_origins` identical districts, one city and one destination; one hazard per district."""
    ones = np.ones(n_origins)
    hazards = n_origins if return_period is not None else 0
    return World(
        name="toy", origins=tuple(f"D{i}" for i in range(n_origins)), city="City", destination="Abroad",
        households_share=ones / n_origins, household_size_mean=5.0 * ones, wage=wage * ones,
        wealth_median=wealth * ones, wealth_sigma=1.0 * ones, assets_median=2000.0 * ones,
        farm_dependence=farm * ones, skill_share_mid=0.3 * ones, skill_share_high=0.1 * ones,
        female_head_share=0.2 * ones, degradation_per_year=degradation * ones, city_wage=250.0,
        destination_wage=destination_wage, vacancies_per_1000=vacancies_per_1000,
        cost_to_city=30.0 * ones, cost_to_destination=450.0 * ones, distance_to_city=200.0 * ones,
        distance_to_destination=5000.0 * ones, hazard_origin=np.arange(hazards),
        hazard_name=("drought",) * hazards, hazard_return_period=np.full(hazards, return_period or 1.0),
        hazard_mean_intensity=np.full(hazards, intensity), hazard_duration=np.full(hazards, 6),
        coordinates={})


@pytest.fixture
def toy_world() -> World:
    return make_world()
