"""Climate: sudden-onset shocks by region (return period, intensity, duration) and slow-onset decline.

Process 1 of the step. Each hazard of the world's hazard table starts, when idle, with the monthly probability `p = 1 -
exp(-f / (12 * T))` for return period `T` years and outlook frequency multiplier `f` (a Poisson process of rate f/T per
year while idle; since a hazard cannot start again while its shock lasts, the realised rate is somewhat lower for long
shocks: about `1 / (T/f + d/12)` a year for a shock lasting `d` months). Its intensity `I ~ Beta(m k, (1 - m) k)` (mean
`m` from the table, concentration `k`), scaled by the outlook intensity multiplier and capped at 1, is the share of farm
income lost for `duration_months`; at onset it also destroys a share `asset_loss_ratio * I` of farm assets. Households
lose in proportion to their farm dependence, reduced by their adaptation: `loss_i = farm_i * L_r * (1 - a_i)`
(Hallegatte et al. 2017, Unbreakable: losses scale with exposure and vulnerability). Slow-onset decline removes
`degradation_per_year * f_d * years` of farm income. An origin with a lean season in its world table (the months
between planting and harvest when farm work and farm wages collapse, such as the *monga* of northern Bangladesh:
Khandker 2012, Bryan, Chowdhury & Mobarak 2014) loses `lean_season_loss` of farm income in each of its
`lean_season_months` from `lean_season_start_month`, every year, whatever the outlook: `farm_decline` (the
degradation plus the lean season, at most 1) is the share of farm income lost besides shocks.

Draws come from the "climate" stream only, and every hazard draws its uniform and its intensity every month whether
or not it starts, so the shock series is the same under every policy (common random numbers).

**Recorded shocks.** A scenario may date shocks that happened (`RecordedShock`: a hazard of the world's table, the
origins it struck, a calendar year and month, an intensity and a duration), so that a run over past years replays
them (a hindcast). In its month a recorded shock starts the named hazard of each named origin, whatever the draws
(a shock of that hazard under way is replaced): its intensity (the table's mean intensity of the hazard unless
given; the outlook's multiplier does not apply: it is what happened) is lost for its duration (the table's unless
given), and it destroys assets at onset as any shock does. The draws go on as before, so the random shocks of every
other hazard and month are those of a run without it (common random numbers); the table's random shocks of the
same hazard still come at their return periods (assumption: a recorded shock is one the record names, not the only
one). A run without recorded shocks does one test of an empty mapping a month.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numba
import numpy as np

from simulator.errors import ConfigError
from simulator.params import ClimateParams
from simulator.world.regions import World


@dataclass
class ClimateOutlook:
    """A climate future: multipliers on the world's hazard frequencies, intensities and slow-onset decline."""

    frequency_multiplier: float = 1.0    # x hazard frequency (1 = the world table's return periods)
    intensity_multiplier: float = 1.0    # x shock intensity
    degradation_multiplier: float = 1.0  # x slow-onset decline per year


@dataclass(frozen=True)
class RecordedShock:
    """A shock that happened: the hazard `hazard` (a name of the world's hazards table) starts in the origins
    `origins` (all the origins with that hazard when empty) in calendar `month` (1-12) of `year`.

    `intensity`: share of farm income lost while it lasts (None: each origin's `mean_intensity` in the table);
    `duration_months`: how long it lasts (None: each origin's `duration_months` in the table). A shock dated outside
    the run does not happen in it.

    Example:
        >>> RecordedShock("hurricane", ("Norte", "Petén"), 2020, 11).month
        11
    """

    hazard: str
    origins: tuple[str, ...] = field(default_factory=tuple)
    year: int = 0
    month: int = 1
    intensity: float | None = None
    duration_months: int | None = None


def recorded_schedule(world: World, shocks: Sequence[RecordedShock], start_year: int, n_steps: int
                      ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The month of the run (0 = January of `start_year`) of each recorded shock that falls within `n_steps` months,
    with the hazard rows it starts, their intensities and durations (shocks of the same month together, a later one
    winning on a row named twice).

    Raises:
        ConfigError: for a hazard the world's table does not have, or an origin without that hazard, naming the
            shock by its position (`recorded_shocks[k]`) and listing what the world has.
    """
    schedule: dict[int, dict[int, tuple[float, int]]] = {}
    names = np.asarray(world.hazard_name, dtype=object)
    for k, shock in enumerate(shocks):
        where = f"recorded_shocks[{k}]"
        rows = np.flatnonzero(names == shock.hazard)
        if len(rows) == 0:
            raise ConfigError(f"{where}.hazard", shock.hazard,
                              f"a hazard of the world's hazards table: {sorted(set(world.hazard_name))}")
        having = {world.origins[world.hazard_origin[r]]: r for r in rows}
        unknown = [o for o in shock.origins if o not in having]
        if unknown:
            raise ConfigError(f"{where}.origins", unknown, f"origins with the hazard {shock.hazard!r} in the world's "
                                                           f"hazards table: {sorted(having)} (empty: all of them)")
        t = (shock.year - start_year) * 12 + shock.month - 1
        if not 0 <= t < n_steps:
            continue
        month = schedule.setdefault(t, {})
        for origin in shock.origins or list(having):
            r = having[origin]
            intensity = world.hazard_mean_intensity[r] if shock.intensity is None else shock.intensity
            duration = world.hazard_duration[r] if shock.duration_months is None else shock.duration_months
            month[int(r)] = (float(intensity), int(duration))
    return {t: (np.array(list(rows), np.int64), np.array([v[0] for v in rows.values()]),
                np.array([v[1] for v in rows.values()], np.int64)) for t, rows in schedule.items()}


class Climate:
    """Shock state of each hazard and the resulting income-loss fraction of each origin region.

    `recorded`: the recorded shocks by month of the run (`recorded_schedule`), none by default."""

    def __init__(self, world: World, params: ClimateParams, outlook: ClimateOutlook, rng: np.random.Generator,
                 recorded: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None):
        self.world, self.params, self.outlook, self.rng = world, params, outlook, rng
        n_h = len(world.hazard_name)
        self.remaining = np.zeros(n_h, np.int64)     # months left of each hazard's current shock
        self.intensity = np.zeros(n_h)               # intensity of each hazard's current shock
        self.onset = np.zeros(n_h, bool)             # hazards that started this step
        self.region_loss = np.zeros(world.n_origins)   # share of farm income lost this step, by origin
        self.region_onset_intensity = np.zeros(world.n_origins)  # summed intensity of shocks started this step
        self.degradation = np.zeros(world.n_origins)   # cumulative slow-onset loss of farm income, by origin
        self.farm_decline = np.zeros(world.n_origins)  # degradation plus this month's lean season, at most 1
        self.onset_probability = -np.expm1(-outlook.frequency_multiplier / (12.0 * world.hazard_return_period))
        m = np.clip(world.hazard_mean_intensity, 1e-6, 1 - 1e-6)   # the Beta parameters of each hazard's intensity
        self.beta_a, self.beta_b = m * params.intensity_concentration, (1 - m) * params.intensity_concentration
        self.recorded = recorded or {}

    def step(self, t: int) -> None:
        """Advance shocks by one month and update the loss fractions by region."""
        w = self.world
        n_h = len(w.hazard_name)
        u = self.rng.random(n_h)
        draw = self.rng.beta(self.beta_a, self.beta_b, n_h)
        self.remaining = np.maximum(self.remaining - 1, 0)
        self.onset = (self.remaining == 0) & (u < self.onset_probability)
        self.intensity = np.where(self.onset, np.minimum(1.0, draw * self.outlook.intensity_multiplier),
                                  np.where(self.remaining > 0, self.intensity, 0.0))
        self.remaining = np.where(self.onset, w.hazard_duration, self.remaining)
        if self.recorded and t in self.recorded:   # shocks that happened this month start, whatever the draws
            rows, intensity, duration = self.recorded[t]
            self.onset[rows] = True
            self.intensity[rows] = intensity
            self.remaining[rows] = duration
        active = np.where(self.remaining > 0, self.intensity, 0.0)
        self.region_loss = np.minimum(1.0, np.bincount(w.hazard_origin, active, w.n_origins))
        self.region_onset_intensity = np.minimum(
            1.0, np.bincount(w.hazard_origin, np.where(self.onset, self.intensity, 0.0), w.n_origins))
        years = t / 12.0
        self.degradation = np.minimum(1.0, w.degradation_per_year * self.outlook.degradation_multiplier * years)
        self.farm_decline = np.minimum(1.0, self.degradation + w.lean_season_loss(t % 12 + 1))   # runs start in January


@numba.njit(cache=True)
def household_loss(region_loss: np.ndarray, origin: np.ndarray, farm_dependence: np.ndarray,
                   adaptation: np.ndarray, loss: np.ndarray) -> None:
    """Share of a household's origin income lost to current shocks, `farm_i * L_r(i) * (1 - a_i)`, written into
    `loss` (float64, one per household)."""
    for i in range(origin.shape[0]):
        loss[i] = np.float64(farm_dependence[i]) * region_loss[origin[i]] * (1.0 - np.float64(adaptation[i]))


@numba.njit(cache=True)
def destroy_assets(assets: np.ndarray, onset_intensity: np.ndarray, origin: np.ndarray,
                   farm_dependence: np.ndarray, adaptation: np.ndarray, protection: np.ndarray,
                   asset_loss_ratio: float) -> None:
    """Assets after the shocks that started this step, `A_i (1 - r I_r(i) farm_i (1 - a_i) (1 - e_i))`, in place.

    `a_i` is adaptation (averts income and asset losses), `e_i` asset protection by early warning (livestock moved,
    stocks stored before the shock).
    """
    for i in range(assets.shape[0]):
        averted = (1.0 - np.float64(adaptation[i])) * (1.0 - np.float64(protection[i]))
        assets[i] = assets[i] * (1.0 - asset_loss_ratio * onset_intensity[origin[i]]
                                 * np.float64(farm_dependence[i]) * averted)


@numba.njit(cache=True)
def remember_shocks(memory: np.ndarray, loss: np.ndarray, persistence: float) -> None:
    """Remembered shock loss, in place: the larger of the decayed memory and the current loss, `max(rho m_i, loss_i)`.

    `memory` is float32 (the household column) and is decayed in float32 arithmetic."""
    rho = np.float32(persistence)
    for i in range(memory.shape[0]):
        memory[i] = max(np.float64(rho * np.float32(memory[i])), loss[i])
