"""The published series of a world (simulator/world/observed.py): the shipped files load, and each kind of bad
input fails fast naming the file, the line, the field and the value."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from simulator.world.observed import ObservedError, load_observed, read_observed, series_names
from simulator.world.tables import world_folder

HEADER = "series,year,value,units,year_basis,source,quote,note\n"
GOOD = "remittances,2019,10.5,USD million/year,calendar,https://example.org/a,\"a quote, with a comma\",\n"


def world_with(tmp_path: Path, files: dict[str, str], base: str = "guatemala") -> Path:
    """A copy of a shipped world's tables with `files` (name -> text) as its only observed files."""
    folder = tmp_path / "world"
    shutil.copytree(world_folder(base), folder, ignore=shutil.ignore_patterns("observed"))
    (folder / "observed").mkdir()
    for name, text in files.items():
        (folder / "observed" / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("world", ["bangladesh", "guatemala"])
def test_shipped_series_load_with_sources(world):
    ds = load_observed(world)
    names = series_names(ds)
    assert "remittances" in names
    for name in names:
        given = ~np.isnan(ds[name].values)
        assert given.any()
        assert all(s.startswith("http") for s in ds[f"{name}__source"].values[given])
        assert all(q for q in ds[f"{name}__quote"].values[given])
        assert ds[name].attrs["units"] and ds[name].attrs["year_basis"]


def test_known_values():
    bd = load_observed("bangladesh")
    assert float(bd["bmet_departures_total"].sel(year=2019)) == 700159
    assert float(bd["italy_sea_arrivals_bangladeshi"].sel(year=2022)) == 14932
    gt = load_observed("guatemala")
    assert float(gt["us_border_apprehensions_guatemalan"].sel(year=2020)) == 48054
    assert np.isnan(float(gt["us_border_apprehensions_guatemalan"].sel(year=2023)))   # not found: left missing


def test_user_dropped_file_adds_a_series(tmp_path):
    folder = world_with(tmp_path, {"remittances.csv": HEADER + GOOD,
                                   "mine.csv": "# my newer figures\n" + HEADER
                                   + "h2b_visas_guatemalan,2023,5000,visas/year,us_fiscal,https://example.org/b,q,\n"})
    ds = load_observed(folder)
    assert set(series_names(ds)) == {"remittances", "h2b_visas_guatemalan"}
    assert float(ds["h2b_visas_guatemalan"].sel(year=2023)) == 5000
    assert ds["remittances__quote"].sel(year=2019).item() == "a quote, with a comma"


@pytest.mark.parametrize("row, field, allowed", [
    ("remittances,2019,ten,USD,calendar,https://e.org,q,\n", "value", "a number"),
    ("remittances,2019,1_000,USD,calendar,https://e.org,q,\n", "value", "a number"),
    ("remittances,2019,-3,USD,calendar,https://e.org,q,\n", "value", ">= 0"),
    ("remittances,2019,nan,USD,calendar,https://e.org,q,\n", "value", "finite"),
    ("remittances,20x9,3,USD,calendar,https://e.org,q,\n", "year", "integer"),
    ("remittances,1850,3,USD,calendar,https://e.org,q,\n", "year", "[1900, 2100]"),
    ("remittances,2019,3,USD,calendar,,q,\n", "source", "non-empty"),
    ("remittances,2019,3,USD,calendar,my notes,q,\n", "source", "http"),
    ("remittances,2019,3,USD,calendar,https://e.org,,\n", "quote", "non-empty"),
    ("remittances,2019,3,USD,fiscal,https://e.org,q,\n", "year_basis", "calendar"),
    ("Remittances!,2019,3,USD,calendar,https://e.org,q,\n", "series", "lower-case"),
    ("remittances,2019,3,USD,calendar,https://e.org,q,n,extra\n", "row", "8 comma-separated"),
])
def test_bad_rows_name_file_line_field_value(tmp_path, row, field, allowed):
    folder = world_with(tmp_path, {"bad.csv": "# comment\n" + HEADER + GOOD + row})
    with pytest.raises(ObservedError) as err:
        read_observed(folder)
    message = str(err.value)
    assert "bad.csv, line 4" in message and f"{field} = " in message and allowed in message
    assert err.value.field == field and err.value.line == 4


def test_missing_column(tmp_path):
    folder = world_with(tmp_path, {"bad.csv": "series,year,value,units,year_basis,quote\n"})
    with pytest.raises(ObservedError, match=r"bad.csv, line 1: columns = .*missing: source"):
        read_observed(folder)


def test_unknown_column(tmp_path):
    folder = world_with(tmp_path, {"bad.csv": HEADER.strip() + ",comment\n"})
    with pytest.raises(ObservedError, match=r"columns = 'comment'"):
        read_observed(folder)


def test_duplicate_series_year_across_files(tmp_path):
    folder = world_with(tmp_path, {"a.csv": HEADER + GOOD, "b.csv": HEADER + GOOD})
    with pytest.raises(ObservedError, match=r"b.csv, line 2: series, year = 'remittances, 2019'.*a.csv, line 2"):
        read_observed(folder)


def test_units_must_agree_within_a_series(tmp_path):
    other = "remittances,2020,3,USD billion/year,calendar,https://e.org,q,\n"
    folder = world_with(tmp_path, {"a.csv": HEADER + GOOD + other})
    with pytest.raises(ObservedError, match=r"line 3: units = 'USD billion/year'"):
        read_observed(folder)


def test_world_without_observed_files(tmp_path):
    folder = world_with(tmp_path, {})
    with pytest.raises(ObservedError, match="observed files"):
        read_observed(folder)
