"""Version-2 world tables (simulator/world): the shipped default world, the version-1 conversion, worlds named by
folder or shipped name, parameters a version-2 world's tables replace, and one clear error for each kind of bad
table."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator import MigrationModel
from simulator.errors import ConfigError, WorldError
from simulator.params import ModelParams
from simulator.world.regions import one_city_world_path, load_world
from simulator.world import CHANNEL_KINDS, load_corridors
from simulator.world.convert import TABLE_PARAMETERS, convert
from simulator.world.tables import PLACE_COLUMNS, Corridors, default_world_path, open_world

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    return convert(one_city_world_path(), tmp_path_factory.mktemp("v2") / "default", households=1_000_000)


def test_the_default_world_has_several_cities_destinations_channels_and_routes():
    world = load_corridors(default_world_path())
    assert len(world.origins) >= 5 and len(world.cities) >= 2 and len(world.destinations) >= 3
    assert (world.origin["households"] > 0).all() and world.households > 100_000   # absolute counts
    assert set(world.coordinates) == {*world.origins, *world.abroad}
    kinds = {c.kind for c in world.channels}
    assert {"labour_scheme", "free_movement"} <= kinds
    free = [c for c in world.channels if c.kind == "free_movement"]
    assert all("quota_per_year" not in c.settings for c in free)
    deadly = [r for r in world.routes if r.kind == "irregular" and r.death_probability > 0]
    assert deadly, "an irregular route with a death risk"
    # every origin reaches every city and every destination by a route of its own kind
    assert world.route_cost("internal").shape == (len(world.origins), len(world.cities))
    assert (world.route_cost("regular") > 0).all()


def test_the_model_runs_the_default_world_unless_told_otherwise_and_a_world_by_its_shipped_name():
    assert isinstance(MigrationModel(n_households=10, years=0.25).world, Corridors)
    assert open_world("one_city").name == "one_city" and open_world("default").name == "default"
    with pytest.raises(WorldError, match=r"world = 'no_such_world' is not a folder: .*\['bangladesh', 'default', "
                                         r"'guatemala', 'one_city'\]"):
        open_world("no_such_world")


@pytest.mark.parametrize("dotted", sorted(TABLE_PARAMETERS))
def test_a_parameter_the_tables_replace_is_refused_on_a_version_2_world_only(dotted):
    """Each such parameter, moved from its default, stops a run on the default world naming the table column to edit;
    the one-city world (version 1) takes it."""
    group, name = dotted.split(".")
    default = getattr(getattr(ModelParams(), group), name)
    value = type(default)(default + 1) if not 0 < default < 1 else default / 2
    with pytest.raises(ConfigError, match=rf"model\.{dotted} = .* expected its default .*"
                                          rf"{re.escape(TABLE_PARAMETERS[dotted])} in a copy of the world"):
        MigrationModel(n_households=10, years=0.25, **{dotted: value})
    MigrationModel(n_households=10, years=0.25, world=one_city_world_path(), **{dotted: value})


def test_a_version_1_world_converts_to_the_same_figures(converted):
    v1, v2 = load_world(one_city_world_path()), load_corridors(converted)
    assert v2.origins == v1.origins and v2.cities == (v1.city,) and v2.destinations == (v1.destination,)
    assert v2.households == 1_000_000
    np.testing.assert_allclose(v2.origin["households"] / v2.households, v1.households_share, atol=1e-6)
    for column, values in (("wage_usd", v1.wage), ("wealth_median_usd", v1.wealth_median),
                           ("farm_dependence", v1.farm_dependence), ("skill_share_high", v1.skill_share_high),
                           ("degradation_per_year", v1.degradation_per_year)):
        np.testing.assert_allclose(v2.origin[column], values, rtol=1e-9)
    np.testing.assert_allclose(v2.route_cost("internal")[:, 0], v1.cost_to_city)
    np.testing.assert_allclose(v2.route_cost("regular")[:, 0], v1.cost_to_destination)
    np.testing.assert_array_equal(v2.hazard_origin, v1.hazard_origin)
    np.testing.assert_allclose(v2.hazard_return_period, v1.hazard_return_period)
    assert [c.kind for c in v2.channels] == ["labour_scheme"]
    assert [r.kind for r in v2.routes if r.kind == "irregular"] == ["irregular"]


def test_the_conversion_command_writes_a_new_folder_and_never_overwrites(tmp_path):
    command = [sys.executable, "-m", "simulator.world.convert", str(one_city_world_path()), str(tmp_path / "w"),
               "--households", "5000"]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert load_corridors(tmp_path / "w").households == 5000
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "the folder exists" in again.stderr and "Traceback" not in again.stderr


def test_a_failed_conversion_leaves_nothing(tmp_path):
    v1 = tmp_path / "v1"
    shutil.copytree(one_city_world_path(), v1)
    regions = (v1 / "regions.csv").read_text().replace(",3.2,1.6\n", ",,\n")   # the city loses its coordinates
    (v1 / "regions.csv").write_text(regions)
    with pytest.raises(WorldError, match="region 'Capital' has no x, y"):
        convert(v1, tmp_path / "out", households=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1"]


def test_a_version_1_folder_is_named_as_such():
    with pytest.raises(WorldError, match="this is a version-1 world: convert it with"):
        load_corridors(one_city_world_path())


def test_a_row_naming_an_origin_overrides_the_every_origin_row(converted, tmp_path):
    world = tmp_path / "w"
    shutil.copytree(converted, world)
    routes = (world / "routes.csv").read_text()
    routes = routes.replace("Delta Coast to Northland,regular,Delta Coast,Northland,450",
                            "to Northland,regular,*,Northland,999")
    (world / "routes.csv").write_text(routes)
    cost = load_corridors(world).route_cost("regular")[:, 0]
    assert cost[0] == 999 and cost[1] == 500   # Delta Coast by the '*' row; Dry Plateau by its own row


def edit(file: str, old: str, new: str):
    return file, old, new


BAD = {
    "unknown place kind": (edit("places.csv", "Capital,city", "Capital,town"), "kind = 'town' is not allowed"),
    "place named twice": (edit("places.csv", "Highlands,origin", "Dry Plateau,origin"),
                          "name = 'Dry Plateau' appears twice"),
    "negative households": (edit("places.csv", "Highlands,origin,150000", "Highlands,origin,-5"),
                            "households = '-5' is not allowed"),
    "fractional households": (edit("places.csv", "Highlands,origin,150000", "Highlands,origin,4.5"),
                              "households = '4.5' is not allowed: expected an integer"),
    "place without coordinates": (edit("places.csv", ",3.2,1.6\n", ",,1.6\n"), "column 'x' is empty"),
    "destination without living cost": (edit("places.csv", "2880,700,", "2880,,"),
                                        "column 'living_cost_usd' is empty"),
    "city with vacancies": (edit("places.csv", "450,120,0.02,,", "450,120,0.02,500,"),
                            "vacancies_per_month = '500' is not allowed for a place of kind 'city'"),
    "origin with a demand cycle": (edit("places.csv", "Highlands,origin,150000,4.5,130,,,,,,,,450",
                                        "Highlands,origin,150000,4.5,130,,,,,,0.2,,450"),
                                   "demand_cycle_amplitude = '0.2' is not allowed for a place of kind 'origin'"),
    "mid-skill wage of zero": (edit("places.csv", "1600,2080,2880", "1600,0,2880"),
                               "wage_usd, wage_mid_usd, wage_high_usd = 1600, 0, 2880 is not allowed"),
    "too many places abroad": (edit("places.csv", "Capital,city,", "".join(
        f"City {k},city," + ",".join({"wage_usd": "250", "wage_mid_usd": "325", "wage_high_usd": "450",
                                      "living_cost_usd": "120", "remittance_cost_share": "0.02", "x": "3.2",
                                      "y": "1.6"}.get(c, "") for c in PLACE_COLUMNS) + "\n"
        for k in range(126)) + "Capital,city,"),
        "128 cities and destinations is not allowed: expected at most 127"),
    "route to a city by a regular route": (edit("routes.csv", "regular,Highlands,Northland",
                                                "regular,Highlands,Capital"),
                                           "to = 'Capital' is not allowed for a route of kind 'regular'"),
    "origin without a regular route": (edit("routes.csv", "Highlands to Northland,regular,Highlands,Northland,480,"
                                            "5400,,,\n", ""), "no regular route Highlands -> Northland"),
    "route given twice": (edit("routes.csv", "Highlands to Northland,regular,Highlands",
                               "Highlands again,regular,Dry Plateau"),
                          "a regular route from 'Dry Plateau' to 'Northland' is already given"),
    "irregular route without death risk": (edit("routes.csv", "0.3,0.01", "0.3,"),
                                           "column 'death_probability' is empty"),
    "outcomes above one": (edit("routes.csv", "0.3,0.01", "0.95,0.1"),
                           "interception_probability + death_probability = 1.05"),
    "unknown channel kind": (edit("channels.csv", "labour_scheme", "lottery"), "kind = 'lottery' is not allowed"),
    "channel to an unknown destination": (edit("channels.csv", "ordinary,Northland", "ordinary,Southland"),
                                          "destination = 'Southland' is not allowed"),
    "negative quota": (edit("channels.csv", "labour_scheme,4000", "labour_scheme,-1"),
                       "quota_per_year = '-1' is not allowed"),
    "skill level out of range": (edit("channels.csv", ",1200,1,", ",1200,3,"), "min_skill = '3' is not allowed"),
    "free movement with a quota": (edit("channels.csv", "labour_scheme,4000", "free_movement,4000"),
                                   "quota_per_year = '4000' is not allowed for a channel of kind 'free_movement'"),
    "hazard of an unknown district": (edit("hazards.csv", "Highlands,drought", "Lowlands,drought"),
                                      "district = 'Lowlands' is not allowed"),
    "misspelt place column": (edit("places.csv", "demand_cycle_amplitude", "demand_cycle_amplitud"),
                              "column 'demand_cycle_amplitud' is not a column of this table (did you mean "
                              "'demand_cycle_amplitude'?)"),
    "unknown route column": (edit("routes.csv", "duration_months", "months"),
                             "column 'months' is not a column of this table"),
    "misspelt channel column": (edit("channels.csv", "max_wait_months", "max_wait"),
                                "column 'max_wait' is not a column of this table (did you mean 'max_wait_months'?)"),
    "unknown hazard column": (edit("hazards.csv", "duration_months", "length"),
                              "column 'length' is not a column of this table"),
}


def test_a_source_column_is_allowed_in_every_table(converted, tmp_path):
    """Each table may carry a free-text `source` column (where a row's figures come from, or "assumption")."""
    world = tmp_path / "w"
    shutil.copytree(converted, world)
    for file in ("places.csv", "routes.csv", "channels.csv", "hazards.csv"):
        lines = (world / file).read_text().splitlines()
        header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        lines = lines[:header] + [lines[header] + ",source"] + [f'{line},"assumption, for the test"'
                                                                 for line in lines[header + 1:]]
        (world / file).write_text("\n".join(lines) + "\n")
    assert load_corridors(world).origins == load_corridors(converted).origins


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_table_stops_with_one_clear_error(case, converted, tmp_path):
    (file, old, new), expected = BAD[case]
    world = tmp_path / "w"
    shutil.copytree(converted, world)
    text = (world / file).read_text()
    assert old in text, f"the case does not apply: {old!r} is not in {file}"
    (world / file).write_text(text.replace(old, new, 1))
    with pytest.raises(WorldError) as caught:
        load_corridors(world)
    assert expected in str(caught.value)
    assert file in str(caught.value)


def test_every_channel_kind_names_known_columns_and_a_meaning():
    for kind in CHANNEL_KINDS.values():
        assert kind.meaning and kind.required
        assert not set(kind.required) & set(kind.optional)


def test_the_check_command_summarises_a_world_or_names_its_first_problem(converted, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "simulator.world", str(converted)], cwd=ROOT, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "1,000,000 households" in ok.stdout and "ordinary: Northland, labour_scheme" in ok.stdout
    bad = tmp_path / "bad"
    shutil.copytree(converted, bad)
    (bad / "channels.csv").write_text((bad / "channels.csv").read_text().replace("labour_scheme", "lottery"))
    out = subprocess.run([sys.executable, "-m", "simulator.world", str(bad)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "kind = 'lottery' is not allowed" in out.stderr
