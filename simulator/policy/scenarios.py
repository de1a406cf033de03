"""Scenarios: what a planner edits. A scenario is a climate outlook, a labour outlook and a policy package.

A scenario file `scenarios/<name>.yaml` reads:

    description: Double regular places and halve visa fees.
    climate_outlook: current        # scenarios/outlooks/climate/current.yaml
    labour_outlook: steady          # scenarios/outlooks/labour/steady.yaml
    interventions:                  # registered names (simulator.policy.interventions) and their parameters
      quota_expansion: {factor: 2.0, start_year: 1}
      fee_subsidy: {share: 0.5, start_year: 1}

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from simulator.model.climate import ClimateOutlook
from simulator.errors import ConfigError
from simulator.policy.interventions import Intervention, build_interventions
from simulator.model.labour import LabourOutlook
from simulator.params import check_value, param

SCENARIO_KEYS = ("description", "climate_outlook", "labour_outlook", "interventions")
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

    def definition(self) -> dict[str, Any]:
        """The scenario in full, every setting of its outlooks and interventions included (defaults too): what a
        comparison's dataset records of each of its packages."""
        return {"description": self.description,
                "climate_outlook": {"name": self.climate_outlook_name, **dataclasses.asdict(self.climate_outlook)},
                "labour_outlook": {"name": self.labour_outlook_name, **dataclasses.asdict(self.labour_outlook)},
                "interventions": {type(i).name: dataclasses.asdict(i) for i in self.interventions}}


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
                          "a mapping of intervention names to their parameters")
    climate_name = climate_outlook or data.get("climate_outlook") or "current"
    labour_name = labour_outlook or data.get("labour_outlook") or "steady"
    outlook_folder = path.parent if (path.parent / "outlooks").is_dir() else folder
    return Scenario(
        name=path.stem, description=str(data.get("description", "")).strip(),
        climate_outlook_name=climate_name, labour_outlook_name=labour_name,
        climate_outlook=load_outlook("climate", climate_name, outlook_folder),
        labour_outlook=load_outlook("labour", labour_name, outlook_folder),
        interventions=build_interventions(interventions),
    )
