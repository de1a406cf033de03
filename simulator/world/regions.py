"""Regions and worlds: the places of the model, loaded from tables a planner can edit.

A version-1 world is a folder of three CSV files (see scenarios/worlds/one_city/README.md for every column):

- `regions.csv`: one row per region. `kind` is `origin` (a district households live in), `city` (the domestic city,
  destination of internal moves) or `destination` (the international destination).
- `routes.csv`: travel cost from each origin to the city and to the destination.
- `hazards.csv`: sudden-onset hazards by origin: return period, mean intensity (share of farm income lost while the
  shock lasts) and duration.

This version supports exactly one city and one international destination; any number of origins. The tables are
comma-separated UTF-8 text, each column named once in the header; every number must be finite and within the range
given below (wide limits that keep every output finite, see simulator/params.py).

Example:
    >>> from simulator.world.regions import one_city_world_path, load_world
    >>> world = load_world(one_city_world_path())
    >>> world.n_origins > 1
    True
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.errors import WorldError
from simulator.params import PER_1000_MAX, USD_MAX

KINDS = ("origin", "city", "destination")
TEXT_CSV = "a comma-separated table saved as UTF-8 text (in a spreadsheet program: CSV UTF-8)"

# column -> (type, lo, hi, required for which kinds); every range is inclusive and finite
REGION_COLUMNS: dict[str, tuple[type, float, float, tuple[str, ...]]] = {
    "households_share": (float, 0.0, 1e9, ("origin",)),   # normalized, so household counts work too (1e9: a country)
    "household_size_mean": (float, 1.0, 30.0, ("origin",)),
    "wage_usd": (float, 0.0, USD_MAX, KINDS),                # a million USD a month
    "wealth_median_usd": (float, 0.0, 10 * USD_MAX, ("origin",)),   # ten million USD per household
    "wealth_sigma": (float, 0.0, 5.0, ("origin",)),
    "assets_median_usd": (float, 0.0, 10 * USD_MAX, ("origin",)),
    "farm_dependence": (float, 0.0, 1.0, ("origin",)),
    "skill_share_mid": (float, 0.0, 1.0, ("origin",)),
    "skill_share_high": (float, 0.0, 1.0, ("origin",)),
    "female_head_share": (float, 0.0, 1.0, ("origin",)),
    "degradation_per_year": (float, 0.0, 1.0, ("origin",)),
    "vacancies_per_1000": (float, 0.0, PER_1000_MAX, ("destination",)),   # a job for every household every month
    "x": (float, -1e9, 1e9, ()),   # map units: degrees or projected metres (the Earth is 4e7 m around)
    "y": (float, -1e9, 1e9, ()),
}
ROUTE_COLUMNS = {"travel_cost_usd": (float, 0.0, USD_MAX),
                 "distance_km": (float, 0.0, 50_000.0)}   # more than once around the Earth (40,075 km)
# return period: at 0.01 year (4 days) a hazard already starts in every month it is idle, so shorter ones change
# nothing (and a period near 0 would overflow the onset rate); a hazard rarer than 10,000 years does not occur in a run
HAZARD_COLUMNS = {"return_period_years": (float, 0.01, 10_000.0),
                  "mean_intensity": (float, 0.0, 1.0),
                  "duration_months": (int, 1, 120)}


@dataclass(frozen=True)
class World:
    """The places of one simulation, as arrays indexed by origin (and by hazard for the hazard table)."""

    name: str
    origins: tuple[str, ...]
    city: str
    destination: str
    households_share: np.ndarray      # share of households living in each origin (sums to 1)
    household_size_mean: np.ndarray   # persons
    wage: np.ndarray                  # USD/month per working adult at origin
    wealth_median: np.ndarray         # USD liquid wealth per household
    wealth_sigma: np.ndarray          # log-normal sigma of wealth
    assets_median: np.ndarray         # USD productive assets per household
    farm_dependence: np.ndarray       # share of income from farming
    skill_share_mid: np.ndarray
    skill_share_high: np.ndarray
    female_head_share: np.ndarray
    degradation_per_year: np.ndarray  # slow-onset decline of farm income, share per year
    city_wage: float                  # USD/month
    destination_wage: float           # USD/month
    vacancies_per_1000: float         # new jobs for migrants per 1,000 origin households per month
    cost_to_city: np.ndarray          # USD travel cost by origin
    cost_to_destination: np.ndarray   # USD travel cost by origin (added to the regular fee)
    distance_to_city: np.ndarray      # km
    distance_to_destination: np.ndarray  # km
    hazard_origin: np.ndarray         # origin index of each hazard row
    hazard_name: tuple[str, ...]
    hazard_return_period: np.ndarray  # years
    hazard_mean_intensity: np.ndarray  # share of farm income lost while the shock lasts
    hazard_duration: np.ndarray       # months
    coordinates: dict[str, tuple[float, float]]  # region name -> (x, y), for maps
    # (start month 1-12, months, share of farm income lost) per origin: a lean season, for worlds built in code (the
    # version-1 tables have no such columns); None: none
    lean_season: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def n_origins(self) -> int:
        return len(self.origins)

    def lean_season_loss(self, month: int) -> np.ndarray:
        """Share of farm income lost to the lean season in calendar `month` (1-12), per origin."""
        if self.lean_season is None:
            return np.zeros(self.n_origins)
        return lean_season_loss(*self.lean_season, month)


def lean_season_loss(start: np.ndarray, months: np.ndarray, loss: np.ndarray, month: int) -> np.ndarray:
    """Per origin, `loss` in the `months` calendar months from `start` (wrapping over the new year; months 0: no lean
    season), 0 in the other months of the year."""
    return np.where((month - start) % 12 < months, loss, 0.0)


def one_city_world_path() -> Path:
    """The illustrative version-1 world shipped in scenarios/worlds/one_city: the default world's five districts, one
    city and one destination (the default world until the corridors model; kept for version-1 studies)."""
    return Path(__file__).resolve().parents[2] / "scenarios" / "worlds" / "one_city"


def _read_text(path: Path) -> str:
    """The text of a world table; a file that is missing, cannot be read or is not UTF-8 text is a WorldError."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise WorldError(f"{path}: file not found (a world folder needs regions.csv, routes.csv, hazards.csv)") \
            from None
    except OSError as exc:   # a folder where the file should be, no permission, an I/O error
        raise WorldError(f"{path}: the file cannot be read ({exc.strerror or exc}): expected {TEXT_CSV}") from None
    try:
        text = raw.decode("utf-8-sig")   # -sig: tables saved by spreadsheet programs may start with a byte-order mark
    except UnicodeDecodeError as exc:
        position = exc.start + len(raw) - len(exc.object)
        raise WorldError(f"{path}: byte 0x{exc.object[exc.start]:02x} at position {position} is not UTF-8 text (a "
                         f"binary file, or text saved in another encoding): expected {TEXT_CSV}") from None
    if "\x00" in text:
        raise WorldError(f"{path}: the file holds NUL bytes, as binary files do: expected {TEXT_CSV}")
    return text


SOURCE_COLUMN = "source"   # free text in any table: where the row's figures come from, or "assumption"


def _read_table(path: Path, allow_empty: bool = False, columns: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    """The data rows of a world table, cells stripped of spaces; comment (#) and blank lines are skipped. A header
    column not in `columns` (when given; `SOURCE_COLUMN` is always allowed) is a WorldError, so that a misspelt
    column stops the load instead of being ignored."""
    text = _read_text(path)
    lines = [line for line in io.StringIO(text, newline="") if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    if not lines:
        raise WorldError(f"{path.name}: the file is empty; it needs a header row")
    seen: set[str] = set()
    for name in (c.strip() for c in reader.fieldnames or []):
        if name in seen and name:
            raise WorldError(f"{path.name}: column '{name}' appears more than once in the header row; each column "
                             f"must appear once")
        seen.add(name)
        if columns is not None and name not in (*columns, SOURCE_COLUMN):
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise WorldError(f"{path.name}: column '{name}' is not a column of this table{hint}: expected columns "
                             f"among {[*columns, SOURCE_COLUMN]}")
    rows = []
    try:
        for row in reader:
            if None in row:
                raise WorldError(f"{path.name} row {reader.line_num - 1}: more cells than the header has columns")
            rows.append({k.strip(): (v or "").strip() for k, v in row.items()})
    except csv.Error as exc:
        raise WorldError(f"{path.name} row {reader.line_num - 1}: {exc}: expected {TEXT_CSV}") from None
    if not rows and not allow_empty:
        raise WorldError(f"{path.name}: the table has no rows")
    return rows


def _require_columns(table: str, rows: list[dict[str, str]], columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if rows and c not in rows[0]]
    if missing:
        raise WorldError(f"{table}: missing column '{missing[0]}'; the table needs the columns {list(columns)}")


def _cell(table: str, row_no: int, row: dict[str, str], column: str, kind: type, lo: float, hi: float,
          required: bool) -> float | None:
    if column not in row:
        if required:
            raise WorldError(f"{table}: missing column '{column}'")
        return None
    text = row[column]
    if text == "":
        if required:
            raise WorldError(f"{table} row {row_no} ({row.get('name') or row.get('origin')}): column '{column}' "
                             f"is empty; a value is required for this row")
        return None
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise WorldError(f"{table} row {row_no}: {column} = {text!r} is not allowed: expected {what} "
                         f"in [{lo:g}, {hi:g}]") from None
    if not (lo <= value <= hi) or not math.isfinite(value):   # range first: an int of 400 digits is no float
        raise WorldError(f"{table} row {row_no}: {column} = {text!r} is not allowed: expected a finite value "
                         f"in [{lo:g}, {hi:g}]")
    return value


def load_world(path: str | Path) -> World:
    """Read and validate a world folder.

    Raises:
        WorldError: naming the file, row, column, value and what is allowed.
    """
    folder = Path(path)
    if not os.path.isdir(folder):   # False, rather than an error, for a folder that cannot be looked into
        raise WorldError(f"world = '{path}' is not a folder: expected a folder with regions.csv, routes.csv, "
                         f"hazards.csv")
    regions = _read_table(folder / "regions.csv", columns=("name", "kind", *REGION_COLUMNS))
    for column in ("name", "kind"):
        if column not in regions[0]:
            raise WorldError(f"regions.csv: missing column '{column}'")
    values: dict[str, dict[str, float | None]] = {}
    kinds: dict[str, str] = {}
    for i, row in enumerate(regions, start=1):
        name, kind = row["name"], row["kind"]
        if not name:
            raise WorldError(f"regions.csv row {i}: name is empty")
        if name in kinds:
            raise WorldError(f"regions.csv row {i}: name = '{name}' appears twice; names must be unique")
        if kind not in KINDS:
            raise WorldError(f"regions.csv row {i}: kind = '{kind}' is not allowed: expected one of {list(KINDS)}")
        kinds[name] = kind
        values[name] = {c: _cell("regions.csv", i, row, c, t, lo, hi, kind in need)
                        for c, (t, lo, hi, need) in REGION_COLUMNS.items()}
    origins = tuple(n for n, k in kinds.items() if k == "origin")
    for kind in ("city", "destination"):
        count = sum(k == kind for k in kinds.values())
        if count != 1:
            raise WorldError(f"regions.csv: {count} rows of kind '{kind}'; this version needs exactly one")
    if not origins:
        raise WorldError("regions.csv: no rows of kind 'origin'; at least one is needed")
    city = next(n for n, k in kinds.items() if k == "city")
    destination = next(n for n, k in kinds.items() if k == "destination")

    def column(name: str) -> np.ndarray:
        return np.array([values[o][name] for o in origins], dtype=np.float64)

    share = column("households_share")
    if share.sum() <= 0:
        raise WorldError("regions.csv: households_share of the origins sums to 0; it must be positive")
    for o in origins:
        mid, high = values[o]["skill_share_mid"], values[o]["skill_share_high"]
        if mid + high > 1:
            raise WorldError(f"regions.csv: origin '{o}': skill_share_mid + skill_share_high = {mid + high:g} "
                             f"is not allowed: expected at most 1")

    routes = _read_table(folder / "routes.csv", columns=("origin", "to", *ROUTE_COLUMNS))
    _require_columns("routes.csv", routes, ("origin", "to", *ROUTE_COLUMNS))
    cost = {(o, t): None for o in origins for t in (city, destination)}
    distance = dict(cost)
    for i, row in enumerate(routes, start=1):
        origin, to = row["origin"], row["to"]
        if (origin, to) in cost and cost[origin, to] is not None:
            raise WorldError(f"routes.csv row {i}: route '{origin}' -> '{to}' appears twice; each route once")
        if (origin, to) not in cost:
            raise WorldError(f"routes.csv row {i}: route '{origin}' -> '{to}' is not allowed: expected an origin "
                             f"of {list(origins)} to '{city}' or '{destination}'")
        cost[origin, to] = _cell("routes.csv", i, row, "travel_cost_usd", *ROUTE_COLUMNS["travel_cost_usd"], True)
        distance[origin, to] = _cell("routes.csv", i, row, "distance_km", *ROUTE_COLUMNS["distance_km"], True)
    missing = [f"{o} -> {t}" for (o, t), v in cost.items() if v is None]
    if missing:
        raise WorldError(f"routes.csv: missing routes {missing}; every origin needs a route to the city and to "
                         f"the destination")

    hazards = _read_table(folder / "hazards.csv", allow_empty=True, columns=("region", "hazard", *HAZARD_COLUMNS))
    _require_columns("hazards.csv", hazards, ("region", *HAZARD_COLUMNS))
    h_origin, h_name, h_rp, h_int, h_dur = [], [], [], [], []
    for i, row in enumerate(hazards, start=1):
        region = row["region"]
        if region not in origins:
            raise WorldError(f"hazards.csv row {i}: region = '{region}' is not allowed: expected one of "
                             f"{list(origins)}")
        h_origin.append(origins.index(region))
        h_name.append(row.get("hazard", "") or "hazard")
        h_rp.append(_cell("hazards.csv", i, row, "return_period_years", *HAZARD_COLUMNS["return_period_years"], True))
        h_int.append(_cell("hazards.csv", i, row, "mean_intensity", *HAZARD_COLUMNS["mean_intensity"], True))
        h_dur.append(_cell("hazards.csv", i, row, "duration_months", *HAZARD_COLUMNS["duration_months"], True))

    coordinates = {n: (values[n]["x"], values[n]["y"]) for n in kinds
                   if values[n]["x"] is not None and values[n]["y"] is not None}
    return World(
        name=folder.name, origins=origins, city=city, destination=destination,
        households_share=share / share.sum(), household_size_mean=column("household_size_mean"),
        wage=column("wage_usd"), wealth_median=column("wealth_median_usd"), wealth_sigma=column("wealth_sigma"),
        assets_median=column("assets_median_usd"), farm_dependence=column("farm_dependence"),
        skill_share_mid=column("skill_share_mid"), skill_share_high=column("skill_share_high"),
        female_head_share=column("female_head_share"), degradation_per_year=column("degradation_per_year"),
        city_wage=float(values[city]["wage_usd"]), destination_wage=float(values[destination]["wage_usd"]),
        vacancies_per_1000=float(values[destination]["vacancies_per_1000"]),
        cost_to_city=np.array([cost[o, city] for o in origins]),
        cost_to_destination=np.array([cost[o, destination] for o in origins]),
        distance_to_city=np.array([distance[o, city] for o in origins]),
        distance_to_destination=np.array([distance[o, destination] for o in origins]),
        hazard_origin=np.array(h_origin, dtype=np.int64), hazard_name=tuple(h_name),
        hazard_return_period=np.array(h_rp), hazard_mean_intensity=np.array(h_int),
        hazard_duration=np.array(h_dur, dtype=np.int64), coordinates=coordinates,
    )
