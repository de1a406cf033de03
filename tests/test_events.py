"""Dated events in scenarios: several interventions of one kind, channel closures and recorded shocks.

A list of entries under an intervention's name gives one intervention per entry: the first is the single form
(same label, same random stream, same results), the others act and are costed on their own. A recorded shock starts
its hazard in the named origins in its month and nowhere else. Malformed entries name the field, the value and what
is allowed. The worlds' events files load, bind to their worlds and are what the hindcast runs by default.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator import MigrationModel, build_interventions, one_city_world_path
from simulator.config import RunConfig
from simulator.errors import ConfigError
from simulator.experiments.hindcast import events_scenario
from simulator.experiments.runner import build_model, simulate
from simulator.model.climate import RecordedShock
from simulator.policy.scenarios import build_recorded_shocks, load_scenario

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = dict(n_households=8000, years=3, agent_view_limit=0)   # the default world: several channels of each kind


def assert_same_data(a: xr.Dataset, b: xr.Dataset) -> None:
    """Every variable of `a` and `b` equal (NaN equal to NaN), and the same variables."""
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=a[name].dtype.kind == "f"), name


def write(folder: Path, name: str, text: str) -> str:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- several interventions of one kind -------------------------------------------------------------------------------


def test_a_list_of_one_entry_is_the_single_form(tmp_path):
    """The same interventions, definition and results (bit for bit) from `name: {...}` and `name: [{...}]`."""
    single = write(tmp_path, "single", "interventions:\n  quota_expansion: {factor: 3.0, start_year: 1}\n"
                                       "  adaptation: {coverage: 0.4}\n")
    listed = write(tmp_path, "listed", "interventions:\n  quota_expansion: [{factor: 3.0, start_year: 1}]\n"
                                       "  adaptation:\n    - {coverage: 0.4}\n")
    a, b = load_scenario(single), load_scenario(listed)
    assert repr(a.interventions) == repr(b.interventions) and a.definition() == b.definition()
    assert [iv.name for iv in b.interventions] == ["quota_expansion", "adaptation"]
    runs = [simulate(RunConfig(scenario=s, n_households=600, years=3, seed=5, progress=False))
            for s in (single, listed)]
    assert_same_data(*runs)


def test_a_shipped_package_runs_as_before_when_written_as_lists(tmp_path):
    """obj5_more_places with each of its interventions written as a one-entry list: the same dataset."""
    import yaml

    spec = yaml.safe_load((ROOT / "scenarios" / "obj5_more_places.yaml").read_text(encoding="utf-8"))
    spec["interventions"] = {k: [v] for k, v in spec["interventions"].items()}
    listed = write(tmp_path, "obj5_more_places", yaml.safe_dump(spec))
    runs = [simulate(RunConfig(scenario=s, n_households=500, years=2, seed=1, progress=False))
            for s in ("obj5_more_places", listed)]
    assert_same_data(*runs)


def test_several_of_one_kind_act_independently_and_are_each_costed():
    """Two quota expansions on different channels of the default world: each raises its own channel's places and
    is costed under its own label."""
    spec = {"quota_expansion": [{"channel": "Gulf labour scheme", "factor": 3.0},
                                {"channel": "Northland work visas", "factor": 4.0, "cost_per_visa_usd": 100.0}]}
    both = MigrationModel(rng=3, interventions=build_interventions(spec), **DEFAULT)
    assert [iv.name for iv in both.interventions] == ["quota_expansion", "quota_expansion[1]"]
    assert [[c.name for c in iv.channels] for iv in both.interventions] == [["Gulf labour scheme"],
                                                                           ["Northland work visas"]]
    ds = both.run()
    base = MigrationModel(rng=3, **DEFAULT).run()
    assert ds["intervention"].values.tolist() == ["quota_expansion", "quota_expansion[1]"]
    cost = ds.intervention_cost.sum("time")
    assert float(cost.sel(intervention="quota_expansion")) > 0
    assert float(cost.sel(intervention="quota_expansion[1]")) > 0
    granted, granted_base = ds.channel_granted.sum("time"), base.channel_granted.sum("time")
    for channel in ("Gulf labour scheme", "Northland work visas"):
        assert float(granted.sel(channel=channel)) > float(granted_base.sel(channel=channel)), channel
    # each is costed for the visas beyond its own channel's base quota: the second's cost is a count of visas
    assert float(cost.sel(intervention="quota_expansion[1]")) % 100.0 == 0


def test_entries_of_one_kind_compose_in_order_and_have_their_own_streams():
    """Two factors on the same channel multiply; a later entry draws from its own stream, the first from the single
    form's (its households covered are those of the single form)."""
    one = MigrationModel(rng=0, interventions=build_interventions(
        {"quota_expansion": {"channel": "Gulf labour scheme", "factor": 6.0}}), **DEFAULT)
    two = MigrationModel(rng=0, interventions=build_interventions(
        {"quota_expansion": [{"channel": "Gulf labour scheme", "factor": 2.0},
                             {"channel": "Gulf labour scheme", "factor": 3.0}]}), **DEFAULT)
    for m in (one, two):
        m.step()
    assert one.channels[0].settings["quota_per_year"] == pytest.approx(two.channels[0].settings["quota_per_year"])
    single = MigrationModel(rng=0, interventions=build_interventions({"adaptation": {"coverage": 0.5}}), **DEFAULT)
    pair = MigrationModel(rng=0, interventions=build_interventions(
        {"adaptation": [{"coverage": 0.5}, {"coverage": 0.5}]}), **DEFAULT)
    assert np.array_equal(single.interventions[0].covered, pair.interventions[0].covered)
    assert not np.array_equal(pair.interventions[0].covered, pair.interventions[1].covered)


def test_definition_lists_several_of_one_kind_and_loads_back(tmp_path):
    import yaml

    path = write(tmp_path, "two", "interventions:\n  channel_closure:\n    - {end_year: 1}\n"
                                  "    - {channel: Gulf labour scheme, start_year: 2}\n  fee_subsidy: {share: 0.3}\n")
    scenario = load_scenario(path)
    definition = scenario.definition()
    assert isinstance(definition["interventions"]["channel_closure"], list)
    assert [d["start_year"] for d in definition["interventions"]["channel_closure"]] == [0.0, 2]
    again = load_scenario(write(tmp_path, "again", yaml.safe_dump({"interventions": definition["interventions"]})))
    assert repr(again.interventions) == repr(scenario.interventions)


@pytest.mark.parametrize("interventions, field", [
    ({"quota_expansion": []}, "interventions.quota_expansion"),
    ({"quota_expansion": [{"factor": 2.0}, 3]}, "interventions.quota_expansion[1]"),
    ({"quota_expansion": [{"factor": 2.0}, {"factr": 2.0}]}, "interventions.quota_expansion[1].factr"),
    ({"quota_expansion": [{"factor": 2.0}, {"factor": -1.0}]}, "interventions.quota_expansion[1].factor"),
    ({"channel_closure": [{"start_year": 2, "end_year": 1}]}, "interventions.channel_closure[0].end_year"),
])
def test_malformed_entries_name_the_field(interventions, field):
    with pytest.raises(ConfigError) as err:
        build_interventions(interventions)
    assert err.value.field == field


def test_an_unknown_channel_in_a_later_entry_names_it():
    ivs = build_interventions({"channel_closure": [{}, {"channel": "Atlantis visas"}]})
    with pytest.raises(ConfigError) as err:
        MigrationModel(rng=0, interventions=ivs, **DEFAULT)
    assert err.value.field == "interventions.channel_closure[1].channel" and "Gulf labour scheme" in err.value.allowed


# --- channel closure ----------------------------------------------------------------------------------------------


def test_channel_closure_stops_queue_channels_for_its_months_only():
    """Every labour, seasonal and skills channel grants nothing while closed; applications stop too; the free
    movement channel stays open."""
    ivs = build_interventions({"channel_closure": {"start_year": 1, "end_year": 1.5}})
    ds = MigrationModel(rng=2, interventions=ivs, **DEFAULT).run()
    kinds = ["Gulf labour scheme", "Northland work visas", "Northland seasonal"]
    granted = ds.channel_granted.sel(channel=kinds)
    assert float(granted.isel(time=slice(12, 18)).sum()) == 0
    assert float(granted.isel(time=slice(0, 12)).sum()) > 0 and float(granted.isel(time=slice(18, None)).sum()) > 0
    assert float(ds.channel_granted.sel(channel="Neighbourland free movement").isel(time=slice(12, 18)).sum()) > 0
    assert float(ds.intervention_cost.sum()) == 0


# --- recorded shocks --------------------------------------------------------------------------------------------


GUATEMALA = dict(world="guatemala", n_households=600, years=8, start_year=2015, agent_view_limit=0)


def test_a_recorded_shock_hits_exactly_the_named_places_in_its_month():
    """Against the same run without it: the losses by origin differ only in the origins named, and first in the
    shock's month, where they are the table's intensities; the climate's draws are unchanged (so the other
    hazards' shocks are the same)."""
    shock = RecordedShock("hurricane", ("Norte", "Petén"), 2020, 11)
    plain = MigrationModel(rng=4, **{**GUATEMALA, "world": str(ROOT / "scenarios" / "worlds" / "guatemala")})
    hit = MigrationModel(rng=4, recorded_shocks=[shock],
                         **{**GUATEMALA, "world": str(ROOT / "scenarios" / "worlds" / "guatemala")})
    month = (2020 - 2015) * 12 + 10
    onsets = {}
    for t in range(month + 1):
        for m in (plain, hit):
            m.climate.step(t)
        assert np.array_equal(plain.climate.onset, hit.climate.onset) == (t != month), t
        onsets[t] = hit.climate.onset.copy()
    w = hit.world
    rows = [r for r in range(len(w.hazard_name)) if w.hazard_name[r] == "hurricane"
            and w.origins[w.hazard_origin[r]] in shock.origins]
    assert onsets[month][rows].all() and np.allclose(hit.climate.intensity[rows], w.hazard_mean_intensity[rows])
    assert np.array_equal(hit.climate.remaining[rows], w.hazard_duration[rows])
    # over a whole run: the losses differ in the named origins only, from the shock's month on
    a, b = (MigrationModel(rng=4, recorded_shocks=s, **GUATEMALA).run() for s in ((), [shock]))
    differs = (a.shock_loss != b.shock_loss)
    assert sorted(differs.any("time").to_series()[lambda s: s].index) == sorted(shock.origins)
    assert int(np.flatnonzero(differs.any("origin").values)[0]) == month


def test_a_recorded_shock_outside_the_run_does_nothing_and_costs_no_draw():
    early = RecordedShock("hurricane", (), 1990, 1)
    a, b = (MigrationModel(rng=1, recorded_shocks=s, **{**GUATEMALA, "years": 2}).run() for s in ((), [early]))
    assert_same_data(a, b)


def test_recorded_shock_with_its_own_intensity_and_duration():
    shock = RecordedShock("drought (Dry Corridor)", ("Nororiente",), 2015, 7, intensity=0.5, duration_months=14)
    ds = MigrationModel(rng=0, recorded_shocks=[shock], **{**GUATEMALA, "years": 3}).run()
    loss = ds.shock_loss.sel(origin="Nororiente")
    assert (loss.sel(time=slice("2015-07", "2016-08")) >= 0.5).all()


@pytest.mark.parametrize("entry, field", [
    ({"year": 2020, "month": 11}, "recorded_shocks[0].hazard"),
    ({"hazard": "hurricane", "month": 11}, "recorded_shocks[0].year"),
    ({"hazard": "hurricane", "year": 2020, "month": 13}, "recorded_shocks[0].month"),
    ({"hazard": "hurricane", "year": 2020.5, "month": 1}, "recorded_shocks[0].year"),
    ({"hazard": "hurricane", "year": 2020, "month": 1, "intensity": 1.5}, "recorded_shocks[0].intensity"),
    ({"hazard": "hurricane", "year": 2020, "month": 1, "duration_months": 0}, "recorded_shocks[0].duration_months"),
    ({"hazard": "hurricane", "year": 2020, "month": 1, "origins": "Norte"}, "recorded_shocks[0].origins"),
    ({"hazard": "hurricane", "year": 2020, "month": 1, "when": "November"}, "recorded_shocks[0].when"),
    ("hurricane", "recorded_shocks[0]"),
])
def test_malformed_recorded_shocks_name_the_field(entry, field):
    with pytest.raises(ConfigError) as err:
        build_recorded_shocks([entry])
    assert err.value.field == field


@pytest.mark.parametrize("shock, field, listed", [
    (RecordedShock("tsunami", (), 2020, 1), "recorded_shocks[0].hazard", "hurricane"),
    (RecordedShock("hurricane", ("Metropolitana",), 2020, 1), "recorded_shocks[0].origins", "Norte"),
])
def test_a_hazard_or_origin_the_world_lacks_is_refused_with_what_it_has(shock, field, listed):
    with pytest.raises(ConfigError) as err:
        MigrationModel(rng=0, recorded_shocks=[shock], **{**GUATEMALA, "years": 1})
    assert err.value.field == field and listed in err.value.allowed


def test_a_scenario_file_with_recorded_shocks_is_in_its_definition_and_run_key(tmp_path):
    from simulator.experiments.comparison import run_key

    plain = write(tmp_path, "plain", "description: none\n")
    shocked = write(tmp_path, "shocked", "recorded_shocks:\n  - {hazard: hurricane, year: 2020, month: 11}\n")
    assert "recorded_shocks" not in load_scenario(plain).definition()
    assert load_scenario(shocked).definition()["recorded_shocks"][0]["hazard"] == "hurricane"
    keys = {run_key(RunConfig(world="guatemala", scenario=s)) for s in (plain, shocked)}
    assert len(keys) == 2
    with pytest.raises(ConfigError) as err:
        load_scenario(write(tmp_path, "bad", "recorded_shocks: {hazard: hurricane}\n"))
    assert err.value.field == "scenario bad: recorded_shocks"


# --- the worlds' events files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("world, labels", [
    ("bangladesh", ["channel_closure", "channel_closure[1]", "channel_closure[2]"]),
    ("guatemala", ["channel_closure"] + ["quota_expansion"] + [f"quota_expansion[{k}]" for k in range(1, 5)]),
])
def test_events_files_bind_to_their_worlds_and_are_the_hindcast_default(world, labels):
    path = events_scenario(world)
    assert Path(path) == ROOT / "scenarios" / "worlds" / world / "hindcast_events.yaml"
    model = build_model(RunConfig(world=world, scenario=path, n_households=200, years=20, start_year=2005,
                                  progress=False))
    assert [iv.name for iv in model.interventions] == labels
    if world == "guatemala":   # runs from January 2005: July 2014, July 2015, July 2018, November 2020
        assert sorted(model.climate.recorded) == [114, 126, 162, 190]
    assert events_scenario("one_city") == "baseline"


def test_bangladesh_closures_and_stop_fall_in_their_months():
    """Malaysia grants no place December 2018 - July 2022 and from June 2024; no labour scheme grants one in
    April-June 2020."""
    ds = simulate(RunConfig(world="bangladesh", scenario=events_scenario("bangladesh"), n_households=3000,
                            years=20, start_year=2005, progress=False))
    malaysia = ds.channel_granted.sel(channel="Malaysia labour migration")
    assert float(malaysia.sel(time=slice("2018-12", "2022-07")).sum()) == 0
    assert float(malaysia.sel(time=slice("2024-06", "2024-12")).sum()) == 0
    assert float(malaysia.sel(time=slice("2022-08", "2024-05")).sum()) > 0
    assert float(malaysia.sel(time=slice("2016-01", "2018-11")).sum()) > 0
    assert float(ds.channel_granted.sel(time=slice("2020-04", "2020-06")).sum()) == 0
