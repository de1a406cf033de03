"""The run configuration: what `run.py` reads from Hydra, as typed dataclasses (no Hydra import here).

Hydra uses `RunConfig` as the schema of `configs/config.yaml`, so a misspelt key or a value of the wrong type fails
when the config is composed; `validate_run` then checks ranges and names.

Example:
    >>> cfg = RunConfig(n_households=1000, years=5)
    >>> validate_run(cfg)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from simulator.errors import ConfigError
from simulator.params import ModelParams, validate


@dataclass
class CompareConfig:
    """The main job: every scenario in `scenarios` under every seed `0..seeds-1`, against `baseline`."""

    scenarios: list[str] = field(default_factory=lambda: [
        "baseline", "obj2_adaptation", "obj2_social_protection", "obj2_resilience", "obj5_more_places",
        "obj5_cheaper_faster", "obj5_flexible_pathways", "combined"])
    baseline: str = "baseline"
    seeds: int = 8                  # seeds 0..seeds-1, the same for every scenario (common random numbers)
    workers: int = 0                # parallel processes; 0 = all cores
    cache_dir: Optional[str] = None   # where finished runs are kept for resuming; None = outputs/cache


@dataclass
class RunConfig:
    """One simulation: scenario, outlooks, size, length, seed, and every model parameter."""

    scenario: Optional[str] = "baseline"    # scenarios/<name>.yaml or a path; run.py: null = compare packages
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
    compare: CompareConfig = field(default_factory=CompareConfig)


FIRST_YEAR, LAST_YEAR = 1800, 2250   # calendar dates are stored as datetime64[ns] (valid 1678-2262)


def check_calendar(start_year: object, years: object) -> None:
    """Raise ConfigError unless the run fits the calendar the outputs can store."""
    if isinstance(start_year, bool) or not isinstance(start_year, int) or not FIRST_YEAR <= start_year <= LAST_YEAR:
        raise ConfigError("start_year", start_year, f"an integer year in [{FIRST_YEAR}, {LAST_YEAR}]")
    if isinstance(years, bool) or not isinstance(years, (int, float)) or not 0 < years <= LAST_YEAR - start_year:
        raise ConfigError("years", years, f"a number in (0, {LAST_YEAR - start_year}] (the run must end by "
                                          f"{LAST_YEAR})")


def unknown_keys(data: object, obj: object, prefix: str = "") -> list[str]:
    """Dotted keys present in a nested mapping `data` but not in the dataclass `obj` (e.g. added with `+key=`)."""
    if not isinstance(data, dict) or not dataclasses.is_dataclass(obj):
        return []
    names = {f.name for f in dataclasses.fields(obj)}
    found = [f"{prefix}{k}" for k in data if k not in names]
    for key in names & set(data):
        found += unknown_keys(data[key], getattr(obj, key), f"{prefix}{key}.")
    return found


def validate_run(cfg: RunConfig) -> None:
    """Check the run-level values and every model parameter; raise ConfigError naming the first bad one."""
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError("seed", cfg.seed, "a non-negative integer")
    if isinstance(cfg.n_households, bool) or not isinstance(cfg.n_households, int) or cfg.n_households < 1:
        raise ConfigError("n_households", cfg.n_households, "an integer of at least 1")
    check_calendar(cfg.start_year, cfg.years)
    if cfg.agent_view_limit < 0:
        raise ConfigError("agent_view_limit", cfg.agent_view_limit, "an integer of at least 0")
    validate(cfg.model, "model")
    c = cfg.compare
    if isinstance(c.seeds, bool) or not isinstance(c.seeds, int) or c.seeds < 1:
        raise ConfigError("compare.seeds", c.seeds, "an integer of at least 1")
    if c.workers < 0:
        raise ConfigError("compare.workers", c.workers, "an integer of at least 0 (0 = all cores)")
    if not c.scenarios or len(set(c.scenarios)) != len(c.scenarios):
        raise ConfigError("compare.scenarios", c.scenarios, "a non-empty list of distinct scenario names")
    if c.baseline not in c.scenarios:
        raise ConfigError("compare.baseline", c.baseline, f"one of compare.scenarios {list(c.scenarios)}")
