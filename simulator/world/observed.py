"""Published annual series of a world, for hindcasts: every CSV in `scenarios/worlds/<name>/observed/`.

Each file is a tidy table, one row per (series, year), with the columns of COLUMNS (lines starting with `#` are
comments):

    series      name of the series, lower case with underscores (e.g. `bmet_departures_total`)
    year        the year the value belongs to (an integer; `year_basis` says which year that is)
    value       the published figure, a finite number >= 0, in `units`
    units       the units, the same for every row of a series (e.g. `workers/year`, `USD million/year`)
    year_basis  `calendar`; `us_fiscal` (October to September, labelled by the year it ends); `bd_fiscal`
                (Bangladesh, July to June, labelled by the year it ends); the same for every row of a series
    source      the address (http or https) of the page or document the figure was read in
    quote       the words of the source the figure comes from
    note        optional: rounding, bounds, conflicts between sources, derivations

A user with newer figures drops a file (or rows) in the folder; a series may be spread over several files, but a
(series, year) pair may appear only once. Every problem fails fast with an `ObservedError` naming the file, the
row (the line number in the file), the field, the value and what is allowed.

Example:
    >>> from simulator.world.observed import load_observed
    >>> obs = load_observed("guatemala")
    >>> float(obs["remittances"].sel(year=2019))
    10508.31
    >>> obs["remittances"].attrs["units"]
    'USD million/year'
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from simulator.errors import WorldError
from simulator.world.tables import world_folder

COLUMNS = ("series", "year", "value", "units", "year_basis", "source", "quote", "note")
REQUIRED = ("series", "year", "value", "units", "year_basis", "source", "quote")
YEAR_BASES = ("calendar", "us_fiscal", "bd_fiscal")
SERIES_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FIRST_YEAR, LAST_YEAR = 1900, 2100


class ObservedError(WorldError):
    """A file of observed series is malformed: names the file, the line, the field, the value and what is allowed."""

    def __init__(self, path: Path | str, line: int | None, field: str, value: object, allowed: str) -> None:
        self.path, self.line, self.field, self.value, self.allowed = path, line, field, value, allowed
        where = f"{path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {field} = {value!r} is not allowed: expected {allowed}")

    def __reduce__(self) -> tuple:
        return type(self), (self.path, self.line, self.field, self.value, self.allowed)


@dataclass(frozen=True)
class Observation:
    """One published figure: a row of an observed file."""

    series: str
    year: int
    value: float
    units: str
    year_basis: str
    source: str
    quote: str
    note: str
    path: str
    line: int


def observed_folder(world: str | Path) -> Path:
    """The `observed/` folder of a world (a shipped world's name or a folder)."""
    return world_folder(world) / "observed"


def read_observed_file(path: Path) -> list[Observation]:
    """The rows of one observed CSV file, each checked (not yet against the other files).

    Raises:
        ObservedError: a missing or unknown column, an empty required field, a value that is not a finite number
            >= 0, a year that is not an integer in [1900, 2100], an unknown year basis, a source that is not an
            http(s) address.
    """
    text = path.read_text(encoding="utf-8")
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if not line.lstrip().startswith("#")
             and line.strip()]
    if not lines:
        raise ObservedError(path, None, "header", "", "a header row with the columns " + ", ".join(COLUMNS))
    header_line, header_text = lines[0]
    header = next(csv.reader([header_text]))
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ObservedError(path, header_line, "columns", ", ".join(header),
                            "the columns " + ", ".join(COLUMNS) + f" (missing: {', '.join(missing)})")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise ObservedError(path, header_line, "columns", ", ".join(unknown),
                            "only the columns " + ", ".join(COLUMNS))
    rows: list[Observation] = []
    for number, line in lines[1:]:
        cells = next(csv.reader(io.StringIO(line)))
        if len(cells) != len(header):
            raise ObservedError(path, number, "row", line[:80],
                                f"{len(header)} comma-separated fields ({', '.join(header)}); found {len(cells)} "
                                "(quote a field that holds a comma)")
        row = {k: v.strip() for k, v in zip(header, cells)}
        for field in REQUIRED:
            if not row[field]:
                raise ObservedError(path, number, field, row[field], "a non-empty " + field)
        rows.append(_observation(path, number, row))
    return rows


def _observation(path: Path, number: int, row: dict[str, str]) -> Observation:
    if not SERIES_NAME.match(row["series"]):
        raise ObservedError(path, number, "series", row["series"],
                            "a name of lower-case letters, digits and underscores, starting with a letter")
    try:
        year = int(row["year"])
    except ValueError:
        raise ObservedError(path, number, "year", row["year"], "an integer year") from None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ObservedError(path, number, "year", year, f"a year in [{FIRST_YEAR}, {LAST_YEAR}]")
    try:
        value = float(row["value"].replace("_", "x"))   # float() would accept 1_000; a table should not
    except ValueError:
        raise ObservedError(path, number, "value", row["value"],
                            "a number without thousands separators (e.g. 757731 or 14931.18)") from None
    if not math.isfinite(value) or value < 0:
        raise ObservedError(path, number, "value", row["value"], "a finite number >= 0")
    if row["year_basis"] not in YEAR_BASES:
        raise ObservedError(path, number, "year_basis", row["year_basis"], "one of " + ", ".join(YEAR_BASES))
    if not re.match(r"^https?://\S+$", row["source"]):
        raise ObservedError(path, number, "source", row["source"],
                            "the http(s) address of the page or document the figure was read in")
    return Observation(row["series"], year, value, row["units"], row["year_basis"], row["source"], row["quote"],
                       row.get("note", ""), str(path), number)


def read_observed(world: str | Path) -> list[Observation]:
    """Every row of every CSV in the world's `observed/` folder, checked across files.

    Raises:
        ObservedError: a problem in a file (`read_observed_file`), a (series, year) given twice, or a series whose
            rows disagree on units or year basis; a world without an observed folder or files.
    """
    folder = observed_folder(world)
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        raise ObservedError(folder, None, "observed files", "none", "at least one CSV of published series "
                            "(see scenarios/worlds/bangladesh/observed/README.md)")
    rows = [row for path in files for row in read_observed_file(path)]
    seen: dict[tuple[str, int], Observation] = {}
    first: dict[str, Observation] = {}
    for row in rows:
        key = (row.series, row.year)
        if key in seen:
            other = seen[key]
            raise ObservedError(row.path, row.line, "series, year", f"{row.series}, {row.year}",
                                f"one row per series and year; already given at {other.path}, line {other.line}")
        seen[key] = row
        ref = first.setdefault(row.series, row)
        for field in ("units", "year_basis"):
            if getattr(row, field) != getattr(ref, field):
                raise ObservedError(row.path, row.line, field, getattr(row, field),
                                    f"{getattr(ref, field)!r}, as in the series' first row "
                                    f"({ref.path}, line {ref.line})")
    return rows


def load_observed(world: str | Path) -> xr.Dataset:
    """The world's published series as a Dataset: one variable per series along `year` (NaN where not published),
    with `source`, `quote` and `note` variables along the same year, and `units` and `year_basis` attributes.

    Raises:
        ObservedError: see `read_observed`.
    """
    rows = read_observed(world)
    years = np.arange(min(r.year for r in rows), max(r.year for r in rows) + 1, dtype="int32")
    ds = xr.Dataset(coords={"year": ("year", years, {"long_name": "year of the observation (see year_basis)"})})
    for name in sorted({r.series for r in rows}):
        mine = [r for r in rows if r.series == name]
        values = np.full(len(years), np.nan)
        source = np.full(len(years), "", dtype=object)
        quote, note = source.copy(), source.copy()
        for r in mine:
            i = r.year - years[0]
            values[i], source[i], quote[i], note[i] = r.value, r.source, r.quote, r.note
        ds[name] = ("year", values, {"long_name": name.replace("_", " "), "units": mine[0].units,
                                     "year_basis": mine[0].year_basis})
        for part, arr in (("source", source), ("quote", quote), ("note", note)):
            ds[f"{name}__{part}"] = ("year", arr.astype(str), {"long_name": f"{part} of {name}"})
    ds.attrs.update({"title": "Published annual series", "world": str(world),
                     "observed_folder": str(observed_folder(world))})
    return ds


def series_names(ds: xr.Dataset) -> list[str]:
    """The names of the series in a `load_observed` Dataset (without their source, quote and note variables)."""
    return [str(k) for k in ds.data_vars if "__" not in str(k)]
