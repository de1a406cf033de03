"""The run configuration: what `run.py` reads from Hydra, as typed dataclasses (no Hydra import here).

Hydra uses `RunConfig` as the schema of `configs/config.yaml`, so a misspelt key or a value of the wrong type fails
when the config is composed; `validate_run` then checks ranges and names.

Example:
    >>> cfg = RunConfig(n_households=1000, years=5)
    >>> validate_run(cfg)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from simulator.errors import ConfigError
from simulator.params import ModelParams, validate


@dataclass
class RunConfig:
    """One simulation: scenario, outlooks, size, length, seed, and every model parameter."""

    scenario: str = "baseline"              # a file scenarios/<name>.yaml (or a path to a scenario file)
    climate_outlook: Optional[str] = None   # replaces the scenario's: scenarios/outlooks/climate/<name>.yaml
    labour_outlook: Optional[str] = None    # replaces the scenario's: scenarios/outlooks/labour/<name>.yaml
    world: Optional[str] = None             # a world folder; None = scenarios/worlds/default
    seed: int = 0
    n_households: int = 5000
    years: float = 20.0
    start_year: int = 2025
    agent_view_limit: int = 100_000         # create Household Mesa agents only up to this many households
    progress: bool = True                   # progress bar on stderr for runs longer than a few seconds
    figures: bool = True                    # write PNG figures next to results.nc
    model: ModelParams = field(default_factory=ModelParams)


def validate_run(cfg: RunConfig) -> None:
    """Check the run-level values and every model parameter; raise ConfigError naming the first bad one."""
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError("seed", cfg.seed, "a non-negative integer")
    if isinstance(cfg.n_households, bool) or not isinstance(cfg.n_households, int) or cfg.n_households < 1:
        raise ConfigError("n_households", cfg.n_households, "an integer of at least 1")
    if not 0 < cfg.years <= 500:
        raise ConfigError("years", cfg.years, "a number in (0, 500]")
    if cfg.agent_view_limit < 0:
        raise ConfigError("agent_view_limit", cfg.agent_view_limit, "an integer of at least 0")
    validate(cfg.model, "model")
