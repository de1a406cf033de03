"""Plain functions that run a configured simulation and write its outputs (called by run.py, usable anywhere).

Example:
    >>> from simulator.config import RunConfig
    >>> ds = simulate(RunConfig(n_households=300, years=1, progress=False))
    >>> ds.attrs["scenario"]
    'baseline'
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import xarray as xr
from tqdm import tqdm

from simulator.config import RunConfig, check_memory, validate_run
from simulator.errors import ConfigError
from simulator.model.migration import MigrationModel
from simulator.model.outputs import write_netcdf
from simulator.policy.scenarios import load_scenario

PROGRESS_DELAY_S = 3.0   # show a progress bar only for runs that last longer than this


CHECK_HOUSEHOLDS = 64   # households of the model `check_run` builds: enough to bind every intervention to the world


def build_model(cfg: RunConfig, config_text: str = "") -> MigrationModel:
    """Validate `cfg`, read its scenario and world, check that the run fits in memory, and construct the model."""
    validate_run(cfg)
    check_memory(cfg.n_households, cfg.agent_view_limit)
    return _construct(cfg, config_text)


def check_run(cfg: RunConfig, runs_at_once: int = 1) -> None:
    """Every check of a run short of simulating it: the config, the scenario and world files, the interventions
    against the world (a district they name must exist), and the memory `runs_at_once` such runs need together.

    Raises:
        InputError: the first problem found, as the run itself would raise it.
    """
    validate_run(cfg)
    check_memory(cfg.n_households, cfg.agent_view_limit, runs_at_once)
    _construct(dataclasses.replace(cfg, n_households=min(cfg.n_households, CHECK_HOUSEHOLDS)))


def _construct(cfg: RunConfig, config_text: str = "") -> MigrationModel:
    if cfg.scenario is None:
        raise ConfigError("scenario", None, "a scenario name or path for a single run (run.py compares the "
                          "packages of compare.scenarios when scenario is null)")
    scenario = load_scenario(cfg.scenario, climate_outlook=cfg.climate_outlook, labour_outlook=cfg.labour_outlook)
    return MigrationModel(
        n_households=cfg.n_households, years=cfg.years, rng=cfg.seed, world=cfg.world, params=cfg.model,
        interventions=scenario.interventions, climate_outlook=scenario.climate_outlook,
        labour_outlook=scenario.labour_outlook, start_year=cfg.start_year, scenario=scenario.name,
        agent_view_limit=cfg.agent_view_limit, threads=cfg.threads, config=config_text,
        recorded_shocks=scenario.recorded_shocks)


def simulate(cfg: RunConfig, config_text: str = "") -> xr.Dataset:
    """Run one simulation, with a progress bar on stderr if it takes more than a few seconds.

    The model is not returned, so its Mesa views (`agent_view_limit`: a `Household` agent per household and a
    `Migrant` agent per member away), which change no result and which nothing here would read, are not created: they
    cost about a tenth of a 5,000-household run. `cfg` is checked as given first."""
    validate_run(cfg)
    model = build_model(dataclasses.replace(cfg, agent_view_limit=0), config_text)
    with tqdm(total=model.n_steps, unit="month", desc=f"{model.scenario_name} seed {model.seed}", file=sys.stderr,
              delay=PROGRESS_DELAY_S, disable=not cfg.progress, leave=False) as bar:
        return model.run(progress=lambda done: bar.update(done - bar.n))


def save_run(ds: xr.Dataset, folder: str | Path) -> Path:
    """Write `results.nc` into `folder`, atomically (figures are the presentation layer's: plotting.save_figures)."""
    return write_netcdf(ds, Path(folder) / "results.nc")
