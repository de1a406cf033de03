"""Read and check a version-2 world folder: places, routes, channels and hazards (ARCHITECTURE.md section 1).

Every column is described in scenarios/worlds/default/README.md. Every problem is a `WorldError` naming the file,
the row, the column, the value and what is allowed; the first problem found stops the load.

Example:
    >>> from simulator.world.tables import default_world_path, load_corridors
    >>> world = load_corridors(default_world_path())
    >>> len(world.cities) >= 2 and len(world.destinations) >= 3
    True
    >>> {'free_movement', 'labour_scheme'} <= {c.kind for c in world.channels}
    True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import WorldError
from simulator.params import USD_MAX
from simulator.world.regions import (HAZARD_COLUMNS, REGION_COLUMNS, World, _cell, _read_table, lean_season_loss,
                                     load_world)
from simulator.world.channels import CHANNEL_KINDS, COLUMNS as CHANNEL_COLUMNS

FILES = ("places.csv", "routes.csv", "channels.csv", "hazards.csv")
PLACE_KINDS = ("origin", "city", "destination")
ROUTE_KINDS = ("internal", "regular", "irregular", "onward")
ABROAD = ("city", "destination")
EVERY_ORIGIN = "*"
DESTINATION_ONLY = ("vacancies_per_month", "demand_cycle_amplitude", "demand_peak_month")   # labour demand abroad
LEAN_SEASON = ("lean_season_start_month", "lean_season_months", "lean_season_loss")   # origins only, all or none
ABROAD_MAX = 127   # cities and destinations together: a migrant's place is stored in 8 bits
HOUSEHOLDS_MAX = 1e9   # households in one district: more than any country has

# column -> (type, lo, hi, kinds that must give it); every range inclusive and finite
PLACE_COLUMNS: dict[str, tuple[type, float, float, tuple[str, ...]]] = {
    "households": (int, 0, HOUSEHOLDS_MAX, ("origin",)),
    **{c: REGION_COLUMNS[c] for c in ("household_size_mean", "wage_usd")},   # as in version 1
    "wage_mid_usd": (float, 0.0, USD_MAX, ABROAD),
    "wage_high_usd": (float, 0.0, USD_MAX, ABROAD),
    "living_cost_usd": (float, 0.0, USD_MAX, ABROAD),
    "remittance_cost_share": (float, 0.0, 1.0, ABROAD),
    "vacancies_per_month": (float, 0.0, HOUSEHOLDS_MAX, ("destination",)),
    "demand_cycle_amplitude": (float, 0.0, 1.0, ()),
    "demand_peak_month": (int, 1, 12, ()),
    **{c: REGION_COLUMNS[c] for c in ("wealth_median_usd", "wealth_sigma", "assets_median_usd", "farm_dependence",
                                      "skill_share_mid", "skill_share_high", "female_head_share",
                                      "degradation_per_year")},   # origin columns as in version 1
    "lean_season_start_month": (int, 1, 12, ()),   # the lean season of an origin's farm calendar (optional)
    "lean_season_months": (int, 1, 11, ()),
    "lean_season_loss": (float, 0.0, 1.0, ()),
    "x": (*REGION_COLUMNS["x"][:3], PLACE_KINDS),   # required for every place in version 2
    "y": (*REGION_COLUMNS["y"][:3], PLACE_KINDS),
}
ORIGIN_COLUMNS = ("households", "household_size_mean", "wage_usd", "wealth_median_usd", "wealth_sigma",
                  "assets_median_usd", "farm_dependence", "skill_share_mid", "skill_share_high", "female_head_share",
                  "degradation_per_year", *LEAN_SEASON)
# column -> (type, lo, hi, value when empty: None = required for every route)
ROUTE_COLUMNS: dict[str, tuple[type, float, float, float | None]] = {
    "travel_cost_usd": (float, 0.0, USD_MAX, None),
    "distance_km": (float, 0.0, 50_000.0, None),     # more than once around the Earth (40,075 km)
    "duration_months": (int, 0, 24, 0.0),
    "interception_probability": (float, 0.0, 1.0, 0.0),
    "death_probability": (float, 0.0, 1.0, 0.0),
}


@dataclass(frozen=True)
class Route:
    """How migrants go from a place to another. `origins` holds the origin indices it serves (internal, regular and
    irregular routes), or is empty for an onward route, which starts in the city `source`."""

    name: str
    kind: str
    source: str
    to: str
    origins: tuple[int, ...]
    travel_cost_usd: float       # USD per migrant, one way (irregular: the smuggler's fee)
    distance_km: float
    duration_months: int         # months from departure to the journey's outcome (0: the same month)
    interception_probability: float   # per journey
    death_probability: float          # per journey


@dataclass(frozen=True)
class Channel:
    """A regular channel of a destination: a registered kind and its settings (channels.CHANNEL_KINDS)."""

    name: str
    destination: str
    kind: str
    settings: dict[str, float]


@dataclass(frozen=True)
class Corridors:
    """A version-2 world: origins as per-origin arrays, cities and destinations ("abroad places", cities first) as
    per-place arrays, routes and channels as records, hazards as per-hazard arrays."""

    name: str
    origins: tuple[str, ...]
    cities: tuple[str, ...]
    destinations: tuple[str, ...]
    origin: dict[str, np.ndarray]     # ORIGIN_COLUMNS -> array over origins
    place_wage: np.ndarray            # (abroad place, skill 0-2) USD/month
    living_cost: np.ndarray           # (abroad place,) USD/month
    remittance_cost_share: np.ndarray
    vacancies_per_month: np.ndarray   # (abroad place,) jobs/month; 0 for cities (they have no demand figures)
    demand_cycle_amplitude: np.ndarray
    demand_peak_month: np.ndarray     # 1-12; 1 where none is given
    routes: tuple[Route, ...]
    channels: tuple[Channel, ...]
    hazard_origin: np.ndarray
    hazard_name: tuple[str, ...]
    hazard_return_period: np.ndarray  # years
    hazard_mean_intensity: np.ndarray
    hazard_duration: np.ndarray       # months
    coordinates: dict[str, tuple[float, float]]

    @property
    def abroad(self) -> tuple[str, ...]:
        """Cities then destinations: the places migrants live in while away (the outputs' `destination` dim)."""
        return (*self.cities, *self.destinations)

    @property
    def households(self) -> int:
        return int(self.origin["households"].sum())

    # The origin columns under the names of version 1 (simulator.world.regions.World), which the model's households
    # and climate read from either kind of world.
    @property
    def n_origins(self) -> int:
        return len(self.origins)

    @property
    def households_share(self) -> np.ndarray:
        return self.origin["households"] / self.origin["households"].sum()

    @property
    def household_size_mean(self) -> np.ndarray:
        return self.origin["household_size_mean"]

    @property
    def wage(self) -> np.ndarray:
        """USD/month per working adult at origin (the places' wages are `place_wage`)."""
        return self.origin["wage_usd"]

    @property
    def wealth_median(self) -> np.ndarray:
        return self.origin["wealth_median_usd"]

    @property
    def wealth_sigma(self) -> np.ndarray:
        return self.origin["wealth_sigma"]

    @property
    def assets_median(self) -> np.ndarray:
        return self.origin["assets_median_usd"]

    @property
    def farm_dependence(self) -> np.ndarray:
        return self.origin["farm_dependence"]

    @property
    def skill_share_mid(self) -> np.ndarray:
        return self.origin["skill_share_mid"]

    @property
    def skill_share_high(self) -> np.ndarray:
        return self.origin["skill_share_high"]

    @property
    def female_head_share(self) -> np.ndarray:
        return self.origin["female_head_share"]

    @property
    def degradation_per_year(self) -> np.ndarray:
        return self.origin["degradation_per_year"]

    def lean_season_loss(self, month: int) -> np.ndarray:
        """The share of farm income each origin loses in calendar `month` (1-12) to its lean season, if it has one."""
        return lean_season_loss(self.origin["lean_season_start_month"], self.origin["lean_season_months"],
                                self.origin["lean_season_loss"], month)

    def route_cost(self, kind: str) -> np.ndarray:
        """(origin, city) travel costs of the internal routes, or (origin, destination) of the regular routes."""
        targets = self.cities if kind == "internal" else self.destinations
        cost = np.zeros((len(self.origins), len(targets)))
        for r in self.routes:
            if r.kind == kind:
                cost[list(r.origins), targets.index(r.to)] = r.travel_cost_usd
        return cost


def default_world_path() -> Path:
    """The illustrative default world shipped in scenarios/worlds/default: five districts, two cities and three
    destinations in the version-2 tables."""
    return Path(__file__).resolve().parents[2] / "scenarios" / "worlds" / "default"


def shipped_worlds() -> list[str]:
    """The names of the worlds shipped in scenarios/worlds."""
    return sorted(p.name for p in default_world_path().parent.iterdir() if p.is_dir())


def world_folder(world: str | Path) -> Path:
    """The folder a `world` setting names: a path to a folder, or the name of a world shipped in scenarios/worlds
    (`shipped_worlds()`) when no folder of that name is where the command runs.

    Raises:
        WorldError: if it is neither, listing the shipped worlds.
    """
    path = Path(world)
    if path.is_dir():
        return path
    if len(path.parts) == 1 and str(world) in shipped_worlds():
        return default_world_path().parent / str(world)
    raise WorldError(f"world = '{world}' is not a folder: expected a world folder, or one of the shipped worlds "
                     f"{shipped_worlds()}")


def open_world(world: str | Path) -> World | Corridors:
    """The world a folder or shipped world's name holds (`world_folder`), of either version: version 2
    (`load_corridors`) if it holds places.csv, else version 1 (`simulator.world.regions.load_world`)."""
    path = world_folder(world)
    if (path / "places.csv").exists():
        return load_corridors(path)
    return load_world(path)


def load_corridors(path: str | Path) -> Corridors:
    """Read and check a version-2 world folder.

    Raises:
        WorldError: naming the file, row, column, value and what is allowed.
    """
    folder = Path(path)
    if not os.path.isdir(folder):
        raise WorldError(f"world = '{path}' is not a folder: expected a folder with {', '.join(FILES)}")
    missing = [f for f in FILES if not (folder / f).exists()]
    if missing:
        hint = (" (this is a version-1 world: convert it with `python -m simulator.world.convert "
                f"{folder} NEW_FOLDER --households N`)" if (folder / "regions.csv").exists() else "")
        raise WorldError(f"{folder / missing[0]}: file not found: a version-2 world folder needs "
                         f"{', '.join(FILES)}{hint}")
    kinds, values = _places(_read_table(folder / "places.csv", columns=("name", "kind", *PLACE_COLUMNS)))
    origins = tuple(n for n, k in kinds.items() if k == "origin")
    cities = tuple(n for n, k in kinds.items() if k == "city")
    destinations = tuple(n for n, k in kinds.items() if k == "destination")
    abroad = (*cities, *destinations)
    routes = _routes(_read_table(folder / "routes.csv", columns=("name", "kind", "from", "to", *ROUTE_COLUMNS)),
                     origins, cities, destinations)
    channels = _channels(_read_table(folder / "channels.csv", allow_empty=True,
                                     columns=("name", "destination", "kind", *CHANNEL_COLUMNS)), destinations)
    hazards = _hazards(_read_table(folder / "hazards.csv", allow_empty=True,
                                   columns=("district", "hazard", *HAZARD_COLUMNS)), origins)

    def over(names: tuple[str, ...], column: str, empty: float = 0.0) -> np.ndarray:
        return np.array([empty if values[n][column] is None else values[n][column] for n in names], np.float64)

    origin = {c: over(origins, c) for c in ORIGIN_COLUMNS}
    origin["households"] = origin["households"].astype(np.int64)
    return Corridors(
        name=folder.name, origins=origins, cities=cities, destinations=destinations, origin=origin,
        place_wage=np.stack([over(abroad, "wage_usd"), over(abroad, "wage_mid_usd"), over(abroad, "wage_high_usd")], 1),
        living_cost=over(abroad, "living_cost_usd"), remittance_cost_share=over(abroad, "remittance_cost_share"),
        vacancies_per_month=over(abroad, "vacancies_per_month"),
        demand_cycle_amplitude=over(abroad, "demand_cycle_amplitude"),
        demand_peak_month=over(abroad, "demand_peak_month", 1.0).astype(np.int64),
        routes=routes, channels=channels, **hazards,
        coordinates={n: (values[n]["x"], values[n]["y"]) for n in kinds})


def wage_problem(wages: tuple[float, float, float]) -> str:
    """What is wrong with a city's or destination's wages by skill (low, mid, high), or "" if nothing: the model takes
    the mid- and high-skill wages relative to the low-skill one, so all three are positive or all three are 0."""
    if all(w > 0 for w in wages) or all(w == 0 for w in wages):
        return ""
    return (f"wage_usd, wage_mid_usd, wage_high_usd = {', '.join(f'{w:g}' for w in wages)} is not allowed: expected "
            f"all three positive, or all three 0 (the wages of skill levels are taken relative to wage_usd)")


def _places(rows: list[dict[str, str]]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    for column in ("name", "kind"):
        if column not in rows[0]:
            raise WorldError(f"places.csv: missing column '{column}'")
    kinds: dict[str, str] = {}
    values: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows, start=1):
        name, kind = row["name"], row["kind"]
        if not name:
            raise WorldError(f"places.csv row {i}: name is empty")
        if name == EVERY_ORIGIN:
            raise WorldError(f"places.csv row {i}: name = '{name}' is not allowed: '*' means every origin in "
                             f"routes.csv")
        if name in kinds:
            raise WorldError(f"places.csv row {i}: name = '{name}' appears twice; names must be unique")
        if kind not in PLACE_KINDS:
            raise WorldError(f"places.csv row {i}: kind = '{kind}' is not allowed: expected one of "
                             f"{list(PLACE_KINDS)}")
        kinds[name] = kind
        values[name] = {c: _cell("places.csv", i, row, c, t, lo, hi, kind in need)
                        for c, (t, lo, hi, need) in PLACE_COLUMNS.items()}
        given = [c for c in DESTINATION_ONLY if values[name][c] is not None]
        if kind != "destination" and given:
            raise WorldError(f"places.csv row {i} ({name}): {given[0]} = {row[given[0]]!r} is not allowed for a "
                             f"place of kind '{kind}': labour demand is a destination's (cities employ migrants at "
                             f"the rate model.labour.city_employment_rate); leave it empty")
        lean = [c for c in LEAN_SEASON if values[name][c] is not None]
        if lean and kind != "origin":
            raise WorldError(f"places.csv row {i} ({name}): {lean[0]} = {row[lean[0]]!r} is not allowed for a place "
                             f"of kind '{kind}': a lean season is an origin's farm calendar; leave it empty")
        if lean and len(lean) < len(LEAN_SEASON):
            missing = [c for c in LEAN_SEASON if c not in lean]
            raise WorldError(f"places.csv row {i} ({name}): {lean[0]} = {row[lean[0]]!r} is given without "
                             f"{', '.join(missing)}: a lean season needs all of {', '.join(LEAN_SEASON)}, or none")
        if kind in ABROAD:
            problem = wage_problem((values[name]["wage_usd"], values[name]["wage_mid_usd"],
                                    values[name]["wage_high_usd"]))
            if problem:
                raise WorldError(f"places.csv row {i} ({name}): {problem}")
        mid, high = values[name]["skill_share_mid"], values[name]["skill_share_high"]
        if kind == "origin" and mid + high > 1:
            raise WorldError(f"places.csv row {i} ({name}): skill_share_mid + skill_share_high = {mid + high:g} "
                             f"is not allowed: expected at most 1")
    for kind in PLACE_KINDS:
        if kind not in kinds.values():
            raise WorldError(f"places.csv: no rows of kind '{kind}'; at least one is needed")
    abroad = sum(k in ABROAD for k in kinds.values())
    if abroad > ABROAD_MAX:
        raise WorldError(f"places.csv: {abroad} cities and destinations is not allowed: expected at most "
                         f"{ABROAD_MAX}")
    if sum(values[n]["households"] for n, k in kinds.items() if k == "origin") <= 0:
        raise WorldError("places.csv: the origins' households sum to 0; at least one household is needed")
    return kinds, values


def _routes(rows: list[dict[str, str]], origins: tuple[str, ...], cities: tuple[str, ...],
            destinations: tuple[str, ...]) -> tuple[Route, ...]:
    for column in ("name", "kind", "from", "to", "travel_cost_usd", "distance_km"):
        if column not in rows[0]:
            raise WorldError(f"routes.csv: missing column '{column}'")
    targets = {"internal": cities, "regular": destinations, "irregular": destinations, "onward": destinations}
    names: set[str] = set()
    parsed: list[tuple[int, dict[str, str], dict[str, float]]] = []
    for i, row in enumerate(rows, start=1):
        name, kind, source, to = row["name"], row["kind"], row["from"], row["to"]
        if not name:
            raise WorldError(f"routes.csv row {i}: name is empty")
        if name in names:
            raise WorldError(f"routes.csv row {i}: name = '{name}' appears twice; route names must be unique")
        names.add(name)
        if kind not in ROUTE_KINDS:
            raise WorldError(f"routes.csv row {i} ({name}): kind = '{kind}' is not allowed: expected one of "
                             f"{list(ROUTE_KINDS)}")
        sources = cities if kind == "onward" else (EVERY_ORIGIN, *origins)
        if source not in sources:
            raise WorldError(f"routes.csv row {i} ({name}): from = '{source}' is not allowed for a route of kind "
                             f"'{kind}': expected one of {list(sources)}")
        if to not in targets[kind]:
            raise WorldError(f"routes.csv row {i} ({name}): to = '{to}' is not allowed for a route of kind "
                             f"'{kind}': expected one of {list(targets[kind])}")
        settings = {}
        for column, (t, lo, hi, empty) in ROUTE_COLUMNS.items():
            required = empty is None or (kind == "irregular" and column.endswith("probability"))
            value = _cell("routes.csv", i, row, column, t, lo, hi, required)
            settings[column] = empty if value is None else value
        if settings["interception_probability"] + settings["death_probability"] > 1:
            raise WorldError(f"routes.csv row {i} ({name}): interception_probability + death_probability = "
                             f"{settings['interception_probability'] + settings['death_probability']:g} is not "
                             f"allowed: expected at most 1 (the outcomes of one journey)")
        parsed.append((i, row, settings))

    # a row naming an origin overrides the '*' row of the same kind and destination for that origin
    named = {(row["kind"], row["from"], row["to"]) for _, row, _ in parsed if row["from"] != EVERY_ORIGIN}
    seen: dict[tuple[str, str, str], int] = {}
    routes = []
    for i, row, settings in parsed:
        kind, source, to = row["kind"], row["from"], row["to"]
        if kind in ("internal", "regular"):
            key = (kind, source, to)
            if key in seen:
                raise WorldError(f"routes.csv row {i} ({row['name']}): a {kind} route from '{source}' to '{to}' "
                                 f"is already given in row {seen[key]}; give each once")
            seen[key] = i
        if kind == "onward":
            served: tuple[int, ...] = ()
        elif source == EVERY_ORIGIN:
            served = tuple(k for k, o in enumerate(origins)
                           if kind == "irregular" or (kind, o, to) not in named)
        else:
            served = (origins.index(source),)
        routes.append(Route(row["name"], kind, source, to, served, settings["travel_cost_usd"],
                            settings["distance_km"], int(settings["duration_months"]),
                            settings["interception_probability"], settings["death_probability"]))
    for kind, places in (("internal", cities), ("regular", destinations)):
        covered = {(o, r.to) for r in routes if r.kind == kind for o in r.origins}
        gaps = [f"{o} -> {p}" for k, o in enumerate(origins) for p in places if (k, p) not in covered]
        if gaps:
            raise WorldError(f"routes.csv: no {kind} route {gaps[0]}" + (f" (and {len(gaps) - 1} more)"
                             if len(gaps) > 1 else "") + f"; every origin needs a {kind} route to every "
                             f"{'city' if kind == 'internal' else 'destination'} (from = '*' covers every origin)")
    return tuple(routes)


def _channels(rows: list[dict[str, str]], destinations: tuple[str, ...]) -> tuple[Channel, ...]:
    if rows:
        for column in ("name", "destination", "kind"):
            if column not in rows[0]:
                raise WorldError(f"channels.csv: missing column '{column}'")
    channels: list[Channel] = []
    for i, row in enumerate(rows, start=1):
        name, destination, kind = row["name"], row["destination"], row["kind"]
        if not name:
            raise WorldError(f"channels.csv row {i}: name is empty")
        if any(c.name == name for c in channels):
            raise WorldError(f"channels.csv row {i}: name = '{name}' appears twice; channel names must be unique")
        if destination not in destinations:
            raise WorldError(f"channels.csv row {i} ({name}): destination = '{destination}' is not allowed: "
                             f"expected one of {list(destinations)}")
        spec = CHANNEL_KINDS.get(kind)
        if spec is None:
            raise WorldError(f"channels.csv row {i} ({name}): kind = '{kind}' is not allowed: expected one of "
                             f"{sorted(CHANNEL_KINDS)}")
        settings: dict[str, float] = {}
        for column, (t, lo, hi) in CHANNEL_COLUMNS.items():
            given = row.get(column, "")
            if column not in spec.columns:
                if given:
                    raise WorldError(f"channels.csv row {i} ({name}): {column} = {given!r} is not allowed for a "
                                     f"channel of kind '{kind}': leave it empty (the kind takes "
                                     f"{list(spec.columns)})")
                continue
            value = _cell("channels.csv", i, row, column, t, lo, hi, column in spec.required)
            settings[column] = spec.optional[column] if value is None else value
        channels.append(Channel(name, destination, kind, settings))
    return tuple(channels)


def _hazards(rows: list[dict[str, str]], origins: tuple[str, ...]) -> dict[str, Any]:
    if rows:
        for column in ("district", *HAZARD_COLUMNS):
            if column not in rows[0]:
                raise WorldError(f"hazards.csv: missing column '{column}'")
    out: dict[str, list] = {"origin": [], "name": [], "rp": [], "intensity": [], "duration": []}
    for i, row in enumerate(rows, start=1):
        if row["district"] not in origins:
            raise WorldError(f"hazards.csv row {i}: district = '{row['district']}' is not allowed: expected one of "
                             f"{list(origins)}")
        out["origin"].append(origins.index(row["district"]))
        out["name"].append(row.get("hazard", "") or "hazard")
        for key, column in (("rp", "return_period_years"), ("intensity", "mean_intensity"),
                            ("duration", "duration_months")):
            out[key].append(_cell("hazards.csv", i, row, column, *HAZARD_COLUMNS[column], True))
    return {"hazard_origin": np.array(out["origin"], np.int64), "hazard_name": tuple(out["name"]),
            "hazard_return_period": np.array(out["rp"], np.float64),
            "hazard_mean_intensity": np.array(out["intensity"], np.float64),
            "hazard_duration": np.array(out["duration"], np.int64)}
