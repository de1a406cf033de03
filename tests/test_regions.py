"""Version-1 world tables: the one-city world loads, every value inside the columns' ranges gives finite outputs, and
each malformed table (a value out of range, inf or nan, a column named twice, a file that is not UTF-8 text or cannot be
read) fails with a WorldError naming the file, the row or column, and the value."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from simulator import MigrationModel
from simulator.errors import InputError, WorldError
from simulator.world.regions import HAZARD_COLUMNS, KINDS, REGION_COLUMNS, ROUTE_COLUMNS, load_world

from test_config import assert_finite_outputs, unreadable

ROOT = Path(__file__).resolve().parent.parent
ONE_CITY_WORLD = ROOT / "scenarios" / "worlds" / "one_city"
FILES = ("regions.csv", "routes.csv", "hazards.csv")


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a world table, without its comment lines."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    return list(reader.fieldnames or []), list(reader)


def write_table(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def world(tmp_path) -> Path:
    """A writable copy of the version-1 world (one_city)."""
    folder = tmp_path / "world"
    shutil.copytree(ONE_CITY_WORLD, folder)
    return folder


def edit(folder: Path, file: str, row_no: int, **cells: str) -> dict[str, str]:
    """Set cells of data row `row_no` (1 = first row after the header) of a table; return the row."""
    header, rows = read_table(folder / file)
    rows[row_no - 1].update(cells)
    write_table(folder / file, header, rows)
    return rows[row_no - 1]


def row_of(file: str, **match: str) -> int:
    """Data row number (1-based) of the first row of a default table matching `match`."""
    _, rows = read_table(ONE_CITY_WORLD / file)
    return next(i for i, row in enumerate(rows, start=1) if all(row[k] == v for k, v in match.items()))


def world_error(folder: Path) -> str:
    with pytest.raises(WorldError) as info:
        load_world(folder)
    assert type(info.value) is WorldError and isinstance(info.value, InputError)
    return str(info.value)


# --- the version-1 world (one_city) ---------------------------------------------------------------------------------

def test_default_world_names_and_kinds():
    _, regions = read_table(ONE_CITY_WORLD / "regions.csv")
    w = load_world(ONE_CITY_WORLD)
    assert w.name == "one_city"
    assert list(w.origins) == [r["name"] for r in regions if r["kind"] == "origin"]
    assert w.origins == ("Delta Coast", "Dry Plateau", "River Valley", "Highlands", "Market Town")
    assert (w.city, w.destination) == ("Capital", "Northland")
    assert {r["kind"] for r in regions} == set(KINDS)
    assert w.n_origins == 5
    assert set(w.coordinates) == {r["name"] for r in regions}


def test_default_world_shares_and_values():
    w = load_world(ONE_CITY_WORLD)
    assert w.households_share.sum() == pytest.approx(1.0)
    assert (w.households_share > 0).all()
    assert ((w.skill_share_mid + w.skill_share_high) <= 1).all()
    assert ((0 <= w.farm_dependence) & (w.farm_dependence <= 1)).all()
    assert (w.wage > 0).all() and w.city_wage > 0 and w.destination_wage > w.city_wage
    assert w.vacancies_per_1000 > 0
    for name in ("household_size_mean", "wage", "wealth_median", "wealth_sigma", "assets_median",
                 "farm_dependence", "skill_share_mid", "skill_share_high", "female_head_share",
                 "degradation_per_year"):
        values = getattr(w, name)
        assert values.shape == (w.n_origins,) and np.isfinite(values).all(), name


def test_default_world_routes_are_complete():
    _, routes = read_table(ONE_CITY_WORLD / "routes.csv")
    w = load_world(ONE_CITY_WORLD)
    pairs = {(r["origin"], r["to"]) for r in routes}
    assert pairs == {(o, t) for o in w.origins for t in (w.city, w.destination)}
    for name in ("cost_to_city", "cost_to_destination", "distance_to_city", "distance_to_destination"):
        values = getattr(w, name)
        assert values.shape == (w.n_origins,) and np.isfinite(values).all() and (values >= 0).all(), name
    for r in routes:
        i = w.origins.index(r["origin"])
        cost = w.cost_to_city if r["to"] == w.city else w.cost_to_destination
        assert cost[i] == float(r["travel_cost_usd"])
    assert (w.cost_to_destination > w.cost_to_city).all()


def test_default_world_hazards():
    _, hazards = read_table(ONE_CITY_WORLD / "hazards.csv")
    w = load_world(ONE_CITY_WORLD)
    assert len(w.hazard_name) == len(hazards) > 0
    assert [w.origins[i] for i in w.hazard_origin] == [h["region"] for h in hazards]
    assert (w.hazard_return_period > 0).all()
    assert ((0 <= w.hazard_mean_intensity) & (w.hazard_mean_intensity <= 1)).all()
    assert w.hazard_duration.dtype.kind == "i" and (w.hazard_duration >= 1).all()


def test_a_copied_world_loads_like_the_default(world):
    a, b = load_world(ONE_CITY_WORLD), load_world(world)
    assert a.origins == b.origins
    np.testing.assert_array_equal(a.households_share, b.households_share)
    np.testing.assert_array_equal(a.cost_to_destination, b.cost_to_destination)


def test_a_world_with_a_header_only_hazard_table_has_no_hazards(world):
    header, _ = read_table(world / "hazards.csv")
    write_table(world / "hazards.csv", header, [])
    w = load_world(world)
    assert len(w.hazard_name) == 0 and w.hazard_return_period.size == 0


def test_unnormalised_shares_are_normalised(world):
    header, rows = read_table(world / "regions.csv")
    for row in rows:
        if row["kind"] == "origin":
            row["households_share"] = str(float(row["households_share"]) * 10)
    write_table(world / "regions.csv", header, rows)
    np.testing.assert_allclose(load_world(world).households_share, load_world(ONE_CITY_WORLD).households_share)


# --- malformed worlds -----------------------------------------------------------------------------------------

def test_world_folder_that_does_not_exist(tmp_path):
    message = world_error(tmp_path / "nowhere")
    assert "nowhere" in message and "not a folder" in message


@pytest.mark.parametrize("file", FILES)
def test_missing_file(world, file):
    (world / file).unlink()
    message = world_error(world)
    assert file in message and "not found" in message


@pytest.mark.parametrize("file", FILES)
def test_empty_file(world, file):
    (world / file).write_text("", encoding="utf-8")
    message = world_error(world)
    assert file in message and "empty" in message


@pytest.mark.parametrize("file", ["regions.csv", "routes.csv"])
def test_table_without_rows(world, file):
    header, _ = read_table(world / file)
    write_table(world / file, header, [])
    message = world_error(world)
    assert file in message and "no rows" in message




@pytest.mark.parametrize("file,column", [
    ("regions.csv", "name"), ("regions.csv", "kind"), ("regions.csv", "households_share"),
    ("regions.csv", "wage_usd"), ("regions.csv", "farm_dependence"), ("regions.csv", "skill_share_high"),
    ("regions.csv", "vacancies_per_1000"),
    ("routes.csv", "origin"), ("routes.csv", "to"),
    ("routes.csv", "travel_cost_usd"), ("routes.csv", "distance_km"),
    ("hazards.csv", "region"),
    ("hazards.csv", "return_period_years"), ("hazards.csv", "mean_intensity"), ("hazards.csv", "duration_months"),
])
def test_missing_column(world, file, column):
    header, rows = read_table(world / file)
    write_table(world / file, [c for c in header if c != column], rows)
    message = world_error(world)
    assert f"{file}: missing column '{column}'" in message


@pytest.mark.parametrize("file,column", [("regions.csv", "x"), ("regions.csv", "y"), ("hazards.csv", "hazard")])
def test_optional_column_may_be_missing(world, file, column):
    header, rows = read_table(world / file)
    write_table(world / file, [c for c in header if c != column], rows)
    load_world(world)


@pytest.mark.parametrize("file,match,column,text,allowed", [
    ("regions.csv", {"name": "Delta Coast"}, "wage_usd", "abc", "a number in [0, 1e+06]"),
    ("regions.csv", {"name": "Highlands"}, "households_share", "15%", "a number in [0, 1e+09]"),
    ("routes.csv", {"origin": "River Valley", "to": "Northland"}, "travel_cost_usd", "cheap",
     "a number in [0, 1e+06]"),
    ("hazards.csv", {"region": "Dry Plateau"}, "duration_months", "eight", "an integer in [1, 120]"),
    ("hazards.csv", {"region": "Dry Plateau"}, "duration_months", "8.5", "an integer in [1, 120]"),
])
def test_non_numeric_cell(world, file, match, column, text, allowed):
    row = row_of(file, **match)
    edit(world, file, row, **{column: text})
    message = world_error(world)
    assert f"{file} row {row}: {column} = {text!r}" in message
    assert allowed in message


@pytest.mark.parametrize("file,match,column,text,allowed", [
    ("regions.csv", {"name": "Dry Plateau"}, "farm_dependence", "1.5", "[0, 1]"),
    ("regions.csv", {"name": "Delta Coast"}, "wage_usd", "-110", "[0, 1e+06]"),
    ("regions.csv", {"name": "Capital"}, "wage_usd", "-250", "[0, 1e+06]"),
    ("regions.csv", {"name": "Northland"}, "vacancies_per_1000", "-0.8", "[0, 1000]"),
    ("regions.csv", {"name": "Market Town"}, "household_size_mean", "0.5", "[1, 30]"),
    ("regions.csv", {"name": "Highlands"}, "wealth_sigma", "nan", "[0, 5]"),
    ("routes.csv", {"origin": "Highlands", "to": "Capital"}, "distance_km", "-380", "[0, 50000]"),
    ("hazards.csv", {"region": "River Valley", "hazard": "flood"}, "mean_intensity", "1.2", "[0, 1]"),
    ("hazards.csv", {"region": "Highlands"}, "duration_months", "0", "[1, 120]"),
])
def test_out_of_range_value(world, file, match, column, text, allowed):
    row = row_of(file, **match)
    edit(world, file, row, **{column: text})
    message = world_error(world)
    assert f"{file} row {row}: {column} = {text!r}" in message
    assert allowed in message


def test_empty_required_cell_names_the_row_and_the_region(world):
    row = row_of("regions.csv", name="River Valley")
    edit(world, "regions.csv", row, farm_dependence="")
    message = world_error(world)
    assert f"regions.csv row {row}" in message and "River Valley" in message and "'farm_dependence'" in message
    assert "empty" in message


def test_row_with_more_cells_than_the_header(world):
    path = world / "routes.csv"
    path.write_text(path.read_text(encoding="utf-8") + "Highlands,Capital,45,380,extra\n", encoding="utf-8")
    message = world_error(world)
    assert "routes.csv row 11" in message and "more cells" in message


@pytest.mark.parametrize("kind", ["town", "Origin", ""])
def test_unknown_kind(world, kind):
    row = row_of("regions.csv", name="Market Town")
    edit(world, "regions.csv", row, kind=kind)
    message = world_error(world)
    assert f"regions.csv row {row}: kind = {kind!r}" in message
    assert all(k in message for k in KINDS)


def test_duplicate_region_name(world):
    row = row_of("regions.csv", name="River Valley")
    edit(world, "regions.csv", row, name="Delta Coast")
    message = world_error(world)
    assert f"regions.csv row {row}: name = 'Delta Coast'" in message and "twice" in message


def test_two_destinations(world):
    header, rows = read_table(world / "regions.csv")
    second = dict(next(r for r in rows if r["kind"] == "destination"), name="Southland")
    write_table(world / "regions.csv", header, rows + [second])
    message = world_error(world)
    assert "regions.csv" in message and "2 rows of kind 'destination'" in message


def test_no_city(world):
    header, rows = read_table(world / "regions.csv")
    write_table(world / "regions.csv", header, [r for r in rows if r["kind"] != "city"])
    message = world_error(world)
    assert "regions.csv" in message and "0 rows of kind 'city'" in message


def test_no_origins(world):
    header, rows = read_table(world / "regions.csv")
    write_table(world / "regions.csv", header, [r for r in rows if r["kind"] != "origin"])
    message = world_error(world)
    assert "regions.csv" in message and "origin" in message


def test_shares_summing_to_zero(world):
    header, rows = read_table(world / "regions.csv")
    for row in rows:
        if row["kind"] == "origin":
            row["households_share"] = "0"
    write_table(world / "regions.csv", header, rows)
    message = world_error(world)
    assert "regions.csv" in message and "households_share" in message


def test_skill_shares_summing_above_one(world):
    row = row_of("regions.csv", name="Highlands")
    edit(world, "regions.csv", row, skill_share_mid="0.6", skill_share_high="0.5")
    message = world_error(world)
    assert "regions.csv" in message and "'Highlands'" in message
    assert "skill_share_mid + skill_share_high = 1.1" in message and "at most 1" in message


@pytest.mark.parametrize("origin,to", [("Delta Coast", "Atlantis"), ("Atlantis", "Capital"), ("Capital", "Northland")])
def test_route_to_or_from_an_unknown_region(world, origin, to):
    edit(world, "routes.csv", 2, origin=origin, to=to)
    message = world_error(world)
    assert f"routes.csv row 2: route '{origin}' -> '{to}'" in message
    assert "Delta Coast" in message and "Capital" in message and "Northland" in message


def test_missing_route(world):
    header, rows = read_table(world / "routes.csv")
    write_table(world / "routes.csv", header, [r for r in rows if (r["origin"], r["to"]) != ("Highlands",
                                                                                               "Northland")])
    message = world_error(world)
    assert "routes.csv" in message and "Highlands -> Northland" in message


@pytest.mark.parametrize("region", ["Atlantis", "Capital", ""])
def test_hazard_for_an_unknown_region(world, region):
    row = row_of("hazards.csv", region="Highlands")
    edit(world, "hazards.csv", row, region=region)
    message = world_error(world)
    assert f"hazards.csv row {row}: region = {region!r}" in message
    assert "Delta Coast" in message


@pytest.mark.parametrize("text", ["0", "0.0", "5e-324"])
def test_zero_return_period(world, text):
    row = row_of("hazards.csv", region="Dry Plateau")
    edit(world, "hazards.csv", row, return_period_years=text)
    message = world_error(world)
    assert f"hazards.csv row {row}: return_period_years = {text!r}" in message and "[0.01, 10000]" in message


def test_negative_return_period(world):
    edit(world, "hazards.csv", 1, return_period_years="-5")
    message = world_error(world)
    assert "hazards.csv row 1: return_period_years = '-5'" in message


# --- formerly known gaps ---------------------------------------------------------------------------------------------

def test_infinite_share_is_refused(world):
    edit(world, "regions.csv", 1, households_share="inf")
    message = world_error(world)
    assert "regions.csv row 1: households_share = 'inf'" in message


def test_duplicate_route_is_refused(world):
    header, rows = read_table(world / "routes.csv")
    write_table(world / "routes.csv", header, rows + [dict(rows[0], travel_cost_usd="999")])
    message = world_error(world)
    assert "routes.csv" in message and rows[0]["origin"] in message


def test_table_saved_with_a_byte_order_mark_loads(world):
    path = world / "regions.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_world(world).origins == load_world(ONE_CITY_WORLD).origins



# --- every value inside the ranges gives finite outputs; inf, nan and huge values are refused ---------------------

COLUMNS = ([("regions.csv", c, lo, hi) for c, (_, lo, hi, _) in REGION_COLUMNS.items()]
           + [("routes.csv", c, lo, hi) for c, (_, lo, hi) in ROUTE_COLUMNS.items()]
           + [("hazards.csv", c, lo, hi) for c, (_, lo, hi) in HAZARD_COLUMNS.items()])


def set_column(folder: Path, file: str, column: str, text: str) -> None:
    """Set `column` to `text` in every row of a table that has a value there (rows of other kinds keep it empty).
    Where the tables' rules need it, the related cells follow: the other skill share becomes 0 (the two sum to at
    most 1); a zero households_share is set in the first origin only (the origins' shares must sum above 0)."""
    header, rows = read_table(folder / file)
    targets = [r for r in rows if r.get(column, "") != ""]
    if column == "households_share" and float(text) == 0:
        targets = targets[:1]
    for row in targets:
        row[column] = text
        other = {"skill_share_mid": "skill_share_high", "skill_share_high": "skill_share_mid"}.get(column)
        if other and float(text) > 0.5:
            row[other] = "0"
    write_table(folder / file, header, rows)


def test_every_numeric_column_has_a_finite_range():
    assert all(math.isfinite(lo) and math.isfinite(hi) and lo < hi for _, _, lo, hi in COLUMNS)
    assert {c for _, c, _, _ in COLUMNS} >= {"wage_usd", "travel_cost_usd", "return_period_years"}


@pytest.mark.parametrize("file,column,which", [pytest.param(f, c, w, id=f"{c}-{w}") for f, c, lo, _ in COLUMNS
                                               for w in ("lo", "hi") + (("tiny",) if lo == 0 else ())])
def test_every_numeric_column_at_either_end_of_its_range_gives_finite_outputs(world, file, column, which):
    """At the lower and the upper end of the range, and at the smallest positive number where the range starts at 0
    (a divisor close to 0 must not overflow)."""
    lo, hi = next((lo, hi) for f, c, lo, hi in COLUMNS if (f, c) == (file, column))
    value = {"lo": lo, "hi": hi, "tiny": 5e-324}[which]
    set_column(world, file, column, repr(value))
    ds = MigrationModel(n_households=200, years=1, rng=0, world=world, agent_view_limit=0).run()
    assert_finite_outputs(ds)


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e308", "-1e308", "9" * 400], ids=lambda t: t[:6])
@pytest.mark.parametrize("file,column", [pytest.param(f, c, id=c) for f, c, _, _ in COLUMNS])
def test_non_finite_or_huge_value_is_refused(world, file, column, text):
    lo, hi = next((lo, hi) for f, c, lo, hi in COLUMNS if (f, c) == (file, column))
    _, rows = read_table(world / file)
    row = next(i for i, r in enumerate(rows, start=1) if r.get(column, "") != "")
    edit(world, file, row, **{column: text})
    message = world_error(world)
    assert f"{file} row {row}: {column} = {text!r} is not allowed" in message
    assert f"[{lo:g}, {hi:g}]" in message


# --- tables that are not UTF-8 text, cannot be read, or name a column twice ---------------------------------------

NOT_TEXT = [pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "byte 0x89 at position 0", id="binary"),
            pytest.param("name,kind\nÉté,origin\n".encode("utf-16"), "is not UTF-8 text", id="utf-16"),
            pytest.param("name,kind\nÉté,origin\n".encode("latin-1"), "byte 0xc9 at position 10", id="latin-1"),
            pytest.param(b"name,kind\x00\n", "NUL bytes", id="nul-bytes")]
EXPECTED = "expected a comma-separated table saved as UTF-8 text"


@pytest.mark.parametrize("content,detail", NOT_TEXT)
@pytest.mark.parametrize("file", FILES)
def test_table_that_is_not_utf8_text(world, file, content, detail):
    (world / file).write_bytes(content)
    message = world_error(world)
    assert message.startswith(f"{world / file}: ") and detail in message and EXPECTED in message


@pytest.mark.parametrize("how", ["folder", "permission"])
@pytest.mark.parametrize("file", FILES)
def test_table_that_cannot_be_read(world, file, how):
    (world / file).unlink()
    unreadable(world / file, how)
    message = world_error(world)
    assert message.startswith(f"{world / file}: the file cannot be read") and EXPECTED in message


@pytest.mark.parametrize("file,column,spelling", [
    ("regions.csv", "wage_usd", "wage_usd"), ("regions.csv", "name", " name "),
    ("routes.csv", "travel_cost_usd", "travel_cost_usd"), ("hazards.csv", "mean_intensity", "mean_intensity "),
])
def test_column_named_twice_in_the_header(world, file, column, spelling):
    """The second copy holds the same values, so only the header is wrong (spaces around a name do not count)."""
    header, rows = read_table(world / file)
    with (world / file).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header + [spelling])
        writer.writerows([[row[c] for c in header] + [row[column]] for row in rows])
    message = world_error(world)
    assert message == (f"{file}: column '{column}' appears more than once in the header row; each column must "
                       f"appear once")


@pytest.mark.parametrize("file,column,spelling,hint", [
    ("regions.csv", "wage_usd", "wage_us", " (did you mean 'wage_usd'?)"),
    ("routes.csv", "distance_km", "km", ""),
    ("hazards.csv", "duration_months", "duration_month", " (did you mean 'duration_months'?)"),
])
def test_a_column_that_is_not_one_of_the_table_stops_the_load(world, file, column, spelling, hint):
    """A misspelt column would otherwise be ignored (and an optional setting silently left at its default)."""
    header, rows = read_table(world / file)
    text = (world / file).read_text(encoding="utf-8")
    (world / file).write_text(text.replace(",".join(header), ",".join(spelling if c == column else c for c in header)),
                              encoding="utf-8")
    message = world_error(world)
    assert message.startswith(f"{file}: column '{spelling}' is not a column of this table{hint}: expected columns "
                              f"among [")


def test_a_source_column_is_allowed(world):
    header, rows = read_table(world / "regions.csv")
    with (world / "regions.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header + ["source"])
        writer.writerows([[row[c] for c in header] + ["assumption"] for row in rows])
    assert load_world(world).origins == load_world(ONE_CITY_WORLD).origins
