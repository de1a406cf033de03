"""Scenarios: what a planner edits. A scenario is a climate outlook, a labour outlook and a policy package.

A scenario file `scenarios/<name>.yaml` reads:

    description: Double regular places and halve visa fees.
    climate_outlook: current        # scenarios/outlooks/climate/current.yaml
    labour_outlook: steady          # scenarios/outlooks/labour/steady.yaml
    interventions:                  # registered names (simulator.policy.interventions) and their parameters
      quota_expansion: {factor: 2.0, start_year: 1}
      fee_subsidy: {share: 0.5, start_year: 1}

Several interventions of one kind are a list of parameter mappings under its name, each acting on its own (labels and
random streams: `build_interventions`):

    interventions:
      channel_closure:
        - {channel: Malaysia labour migration, start_year: 13.9166, end_year: 17.5833}
        - {start_year: 15.25, end_year: 15.5}   # every labour, seasonal and skills channel

A scenario may also replay shocks that happened (`recorded_shocks`, simulator.model.climate.RecordedShock), each
dated by calendar year and month, on the origins named (all those with the hazard when left out), with the world's
table giving the intensity and duration unless stated:

    recorded_shocks:
      - {hazard: hurricane, origins: [Norte, Petén], year: 2020, month: 11}
      - {hazard: drought (Dry Corridor), year: 2015, month: 7, duration_months: 14, intensity: 0.2}

Outlook files hold the multipliers of `ClimateOutlook` or `LabourOutlook`, and a description. Scenario and outlook
files are YAML saved as UTF-8 text; a file that cannot be read, or holds something else, stops with a ConfigError
naming the file and what is expected.

Example:
    >>> s = load_scenario("baseline")
    >>> s.name, s.interventions
    ('baseline', [])
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulator.config import FIRST_YEAR, LAST_YEAR
from simulator.model.climate import ClimateOutlook, RecordedShock
from simulator.errors import ConfigError
from simulator.policy.interventions import Intervention, build_interventions
from simulator.model.labour import LabourOutlook
from simulator.params import check_value, param

SCENARIO_KEYS = ("description", "climate_outlook", "labour_outlook", "interventions", "recorded_shocks")
SHOCK_KEYS = ("hazard", "origins", "year", "month", "intensity", "duration_months")
YEARS = (FIRST_YEAR, LAST_YEAR)   # calendar years a recorded shock may carry: those a run may cover
# allowed (lowest, highest) of each outlook field; every output stays finite for any values within them over the
# longest run (simulator/params.py explains the limits). demand_trend: a change of labour demand per year, at most
# +50% (beyond any sustained boom; compounded over a 450-year run the limit is what keeps wages finite) and -90%.
OUTLOOK_RANGES = {"frequency_multiplier": (0, 100), "intensity_multiplier": (0, 100),
                  "degradation_multiplier": (0, 100), "demand_multiplier": (0, 100), "demand_trend": (-0.9, 0.5),
                  "wage_multiplier": (0, 100)}


@dataclass
class Scenario:
    name: str
    description: str
    climate_outlook_name: str
    labour_outlook_name: str
    climate_outlook: ClimateOutlook
    labour_outlook: LabourOutlook
    interventions: list[Intervention]
    recorded_shocks: list[RecordedShock] = field(default_factory=list)

    def definition(self) -> dict[str, Any]:
        """The scenario in full, every setting of its outlooks and interventions included (defaults too): what a
        comparison's dataset records of each of its packages. Several interventions of one kind are a list of their
        settings, in order, as in a scenario file; recorded shocks, if any, are listed under `recorded_shocks`."""
        interventions: dict[str, Any] = {}
        for iv in self.interventions:
            name, settings = type(iv).name, dataclasses.asdict(iv)
            if name not in interventions:
                interventions[name] = settings
            elif isinstance(interventions[name], list):
                interventions[name].append(settings)
            else:
                interventions[name] = [interventions[name], settings]
        out = {"description": self.description,
               "climate_outlook": {"name": self.climate_outlook_name, **dataclasses.asdict(self.climate_outlook)},
               "labour_outlook": {"name": self.labour_outlook_name, **dataclasses.asdict(self.labour_outlook)},
               "interventions": interventions}
        if self.recorded_shocks:
            out["recorded_shocks"] = [{**dataclasses.asdict(s), "origins": list(s.origins)}
                                      for s in self.recorded_shocks]
        return out


def build_recorded_shocks(entries: Any, where: str = "recorded_shocks") -> list[RecordedShock]:
    """Recorded shocks from a scenario's list of mappings (keys SHOCK_KEYS; `hazard`, `year` and `month` required).

    Which hazards and origins a world has is checked when a model is built on it
    (simulator.model.climate.recorded_schedule).

    Raises:
        ConfigError: naming the entry by its position (`recorded_shocks[k].month`), the value and what is allowed.

    Example:
        >>> build_recorded_shocks([{"hazard": "hurricane", "origins": ["Norte"], "year": 2020, "month": 11}])[0].year
        2020
    """
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(where, entries, "a list of recorded shocks, each a mapping with hazard, year and month "
                                          "(and optionally origins, intensity, duration_months)")
    shocks = []
    for k, entry in enumerate(entries):
        at = f"{where}[{k}]"
        if not isinstance(entry, dict):
            raise ConfigError(at, entry, f"a mapping of the keys {list(SHOCK_KEYS)}")
        for key in entry:
            if key not in SHOCK_KEYS:
                raise ConfigError(f"{at}.{key}", entry[key], f"one of the keys {list(SHOCK_KEYS)}")
        for key in ("hazard", "year", "month"):
            if key not in entry:
                raise ConfigError(f"{at}.{key}", None, "a value: a recorded shock needs hazard, year and month")
        hazard = entry["hazard"]
        if not isinstance(hazard, str) or not hazard:
            raise ConfigError(f"{at}.hazard", hazard, "the name of a hazard of the world's hazards table")
        origins = entry.get("origins") or []
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise ConfigError(f"{at}.origins", origins, "a list of origin names (empty or left out: every origin "
                                                        "with the hazard)")

        def whole(key: str, lo: int, hi: int) -> int:
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ConfigError(f"{at}.{key}", value, f"a whole number from {lo} to {hi}")
            return value

        year, month = whole("year", *YEARS), whole("month", 1, 12)
        intensity = entry.get("intensity")
        if intensity is not None:
            check_value(f"{at}.intensity", intensity,
                        param(0.0, "share of farm income lost while it lasts", 0, 1).metadata)
        duration = whole("duration_months", 1, 1200) if entry.get("duration_months") is not None else None
        shocks.append(RecordedShock(hazard, tuple(origins), year, month,
                                    None if intensity is None else float(intensity), duration))
    return shocks


def scenarios_dir() -> Path:
    """The scenarios folder shipped with the project."""
    return Path(__file__).resolve().parents[2] / "scenarios"


def available(folder: Path | None = None) -> list[str]:
    """Names of the scenario files in `folder`."""
    return sorted(p.stem for p in (folder or scenarios_dir()).glob("*.yaml"))


@functools.lru_cache(maxsize=256)
def _parse_yaml(text: str) -> Any:
    """`yaml.safe_load(text)`, kept for the same text: a comparison reads each scenario and outlook file once per run
    and per check (dozens of times), and parsing is most of the cost of a run's key."""
    return yaml.safe_load(text)


def _read_yaml(path: Path, what: str) -> dict[str, Any] | None:
    """The mapping held by the YAML file `path`, or None if there is no such file (the caller says which files
    exist). Other content, or a file that cannot be read or decoded, is a ConfigError on `what` naming the file and
    what is expected."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:   # a folder, no permission, an I/O error
        raise ConfigError(what, str(path), f"a readable YAML file of UTF-8 text (reading it failed: "
                                           f"{exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(what, str(path), f"a YAML file of UTF-8 text (byte 0x{raw[exc.start]:02x} at position "
                                           f"{exc.start} is not UTF-8: is it a binary file, or saved in another "
                                           f"encoding?)") from None
    if "\x00" in text:
        raise ConfigError(what, str(path), "a YAML file of UTF-8 text (it holds NUL bytes, as binary files do)")
    try:
        data = copy.deepcopy(_parse_yaml(text))   # a copy: callers may change what they are given
    except yaml.YAMLError as exc:
        raise ConfigError(what, str(path), f"valid YAML ({' '.join(str(exc).split())})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(what, str(path), "a YAML mapping of keys to values")
    return data


def check_outlook(outlook: ClimateOutlook | LabourOutlook, where: str) -> None:
    """Raise ConfigError unless every field of `outlook` is a number within its OUTLOOK_RANGES (inf and nan are
    refused); `where` names the outlook in the message, e.g. "climate_outlook severe"."""
    for f in dataclasses.fields(outlook):
        lo, hi = OUTLOOK_RANGES[f.name]
        check_value(f"{where}: {f.name}", getattr(outlook, f.name), param(0.0, "multiplier", lo, hi).metadata)


def load_outlook(kind: str, name: str, folder: Path | None = None) -> ClimateOutlook | LabourOutlook:
    """Read scenarios/outlooks/<kind>/<name>.yaml into a ClimateOutlook or LabourOutlook."""
    cls = {"climate": ClimateOutlook, "labour": LabourOutlook}[kind]
    where = (folder or scenarios_dir()) / "outlooks" / kind
    path = where / f"{name}.yaml"
    data = _read_yaml(path, f"{kind}_outlook")
    if data is None:
        raise ConfigError(f"{kind}_outlook", name, f"one of {sorted(p.stem for p in where.glob('*.yaml'))}")
    data.pop("description", None)
    valid = [f.name for f in dataclasses.fields(cls)]
    for key, value in data.items():
        if key not in valid:
            raise ConfigError(f"{kind}_outlook {name}: {key}", value, f"one of the keys {valid + ['description']}")
    outlook = cls(**data)
    check_outlook(outlook, f"{kind}_outlook {name}")
    return outlook


def load_scenario(name: str, folder: Path | None = None, climate_outlook: str | None = None,
                  labour_outlook: str | None = None) -> Scenario:
    """Read a scenario by name (scenarios/<name>.yaml) or path; outlook names given here replace the file's."""
    folder = folder or scenarios_dir()
    path = Path(name) if name.endswith((".yaml", ".yml")) else folder / f"{name}.yaml"
    data = _read_yaml(path, "scenario")
    if data is None:
        raise ConfigError("scenario", name, f"one of {available(folder)} or a path to a .yaml file")
    for key in data:
        if key not in SCENARIO_KEYS:
            raise ConfigError(f"scenario {path.stem}: {key}", data[key], f"one of the keys {list(SCENARIO_KEYS)}")
    interventions = data.get("interventions") or {}
    if not isinstance(interventions, dict):
        raise ConfigError(f"scenario {path.stem}: interventions", interventions,
                          "a mapping of intervention names to their parameters (a list of parameter mappings for "
                          "several of one kind)")
    climate_name = climate_outlook or data.get("climate_outlook") or "current"
    labour_name = labour_outlook or data.get("labour_outlook") or "steady"
    outlook_folder = path.parent if (path.parent / "outlooks").is_dir() else folder
    return Scenario(
        name=path.stem, description=str(data.get("description", "")).strip(),
        climate_outlook_name=climate_name, labour_outlook_name=labour_name,
        climate_outlook=load_outlook("climate", climate_name, outlook_folder),
        labour_outlook=load_outlook("labour", labour_name, outlook_folder),
        interventions=build_interventions(interventions),
        recorded_shocks=build_recorded_shocks(data.get("recorded_shocks"), f"scenario {path.stem}: recorded_shocks"),
    )
