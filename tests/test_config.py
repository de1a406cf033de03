"""Configuration: the Hydra config composes against the schema, every scenario and outlook builds a model, every
model parameter can be set from the command line, and bad keys or values fail with a message naming them. Every value
inside the declared ranges gives finite outputs; inf, nan and files that are not readable UTF-8 text are refused."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from simulator import MigrationModel, build_interventions, one_city_world_path
from simulator.model.climate import ClimateOutlook
from simulator.config import RunConfig, unknown_keys, validate_run
from simulator.errors import ConfigError
from simulator.policy.interventions import REGISTRY
from simulator.model.labour import LabourOutlook
from simulator.model.outputs import PATHWAYS
from simulator.params import USD_MAX, ModelParams, RegularPathwayParams, iter_params, param
from simulator.world.convert import TABLE_PARAMETERS
from simulator.world.tables import default_world_path, load_corridors
from simulator.experiments.runner import build_model
from simulator.policy.scenarios import OUTLOOK_RANGES, load_outlook, load_scenario

from conftest import make_world

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "configs"
SCENARIOS = ROOT / "scenarios"
SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
CLIMATE_OUTLOOKS = sorted(p.stem for p in (SCENARIOS / "outlooks" / "climate").glob("*.yaml"))
LABOUR_OUTLOOKS = sorted(p.stem for p in (SCENARIOS / "outlooks" / "labour").glob("*.yaml"))
OUTLOOK_FILES = [pytest.param(kind, name, id=f"{kind}-{name}")
                 for kind, names in (("climate", CLIMATE_OUTLOOKS), ("labour", LABOUR_OUTLOOKS)) for name in names]
COMBINATIONS = [pytest.param(scenario, climate, labour, id=f"{scenario}-{climate}-{labour}")
                for scenario in SCENARIO_NAMES for climate in CLIMATE_OUTLOOKS for labour in LABOUR_OUTLOOKS]
PARAMS = iter_params(ModelParams())
ORIGINS = list(load_corridors(default_world_path()).origins)
TINY = ("n_households=50", "years=0.25")
COMPOSE_ERRORS = (ConfigCompositionException, OmegaConfBaseException)


@pytest.fixture(scope="module", autouse=True)
def run_schema() -> None:
    """Register the schema under the name configs/config.yaml uses in its defaults list, as run.py does."""
    ConfigStore.instance().store(name="run_schema", node=RunConfig)


def compose_cfg(*overrides: str, config_dir: Path = CONFIG_DIR):
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def run_config(*overrides: str) -> RunConfig:
    run_cfg = OmegaConf.to_object(compose_cfg(*overrides))
    assert isinstance(run_cfg, RunConfig)
    return run_cfg


def error_text(exc: BaseException) -> str:
    """The message of an exception and of the exceptions it was raised from."""
    parts = []
    while exc is not None:
        parts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def write_yaml(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def scenario_file(tmp_path: Path, data, name: str = "bad") -> str:
    return str(write_yaml(tmp_path / f"{name}.yaml", data))


# --- the default config and the shipped scenarios -----------------------------------------------------------------

def test_found_the_shipped_files():
    assert "baseline" in SCENARIO_NAMES and len(SCENARIO_NAMES) >= 2
    assert CLIMATE_OUTLOOKS and LABOUR_OUTLOOKS


def test_default_config_composes_to_a_valid_run_config():
    cfg = compose_cfg()
    run_cfg = OmegaConf.to_object(cfg)
    assert isinstance(run_cfg, RunConfig)
    assert isinstance(run_cfg.model, ModelParams)
    assert isinstance(run_cfg.model.regular, RegularPathwayParams)
    validate_run(run_cfg)
    assert run_cfg.model == ModelParams()   # the config file leaves every model parameter at its schema default
    assert run_cfg.seed >= 0 and run_cfg.n_households >= 1 and run_cfg.years > 0


def test_run_level_overrides_reach_the_run_config():
    run_cfg = run_config("scenario=obj5_more_places", "seed=3", "n_households=123", "years=2.5",
                         "start_year=2030", "climate_outlook=severe", "labour_outlook=bust", "figures=false")
    assert (run_cfg.scenario, run_cfg.seed, run_cfg.n_households, run_cfg.years, run_cfg.start_year) == (
        "obj5_more_places", 3, 123, 2.5, 2030)
    assert (run_cfg.climate_outlook, run_cfg.labour_outlook, run_cfg.figures) == ("severe", "bust", False)
    validate_run(run_cfg)


@pytest.mark.parametrize("kind,name", OUTLOOK_FILES)
def test_every_outlook_file_loads(kind, name):
    loaded = load_scenario("baseline", **{f"{kind}_outlook": name})
    assert getattr(loaded, f"{kind}_outlook_name") == name
    data = yaml.safe_load((SCENARIOS / "outlooks" / kind / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict) and str(data.get("description", "")).strip()
    for key, value in data.items():
        if key != "description":
            assert getattr(getattr(loaded, f"{kind}_outlook"), key) == value


@pytest.mark.parametrize("scenario,climate,labour", COMBINATIONS)
def test_every_scenario_builds_under_every_outlook(scenario, climate, labour):
    run_cfg = run_config(f"scenario={scenario}", f"climate_outlook={climate}", f"labour_outlook={labour}", *TINY)
    validate_run(run_cfg)
    loaded = load_scenario(scenario, climate_outlook=climate, labour_outlook=labour)
    assert loaded.name == scenario
    assert (loaded.climate_outlook_name, loaded.labour_outlook_name) == (climate, labour)
    model = build_model(run_cfg)
    assert model.households.n == 50 and model.n_steps == 3
    assert model.climate_outlook == loaded.climate_outlook and model.labour_outlook == loaded.labour_outlook
    assert [iv.name for iv in model.interventions] == [iv.name for iv in loaded.interventions]
    ds = model.run()
    assert ds.sizes["time"] == 3 and ds.attrs["scenario"] == scenario


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_every_scenario_file_uses_only_known_keys_and_its_own_outlooks(scenario):
    data = yaml.safe_load((SCENARIOS / f"{scenario}.yaml").read_text(encoding="utf-8")) or {}
    loaded = load_scenario(scenario)
    assert loaded.climate_outlook_name == data.get("climate_outlook", "current")
    assert loaded.labour_outlook_name == data.get("labour_outlook", "steady")
    assert sorted(iv.name for iv in loaded.interventions) == sorted(data.get("interventions") or {})


# --- every model parameter from the command line -------------------------------------------------------------------

def other_value(default, meta):
    """A value other than the default, inside the declared range, of the declared kind."""
    lo, hi = meta["lo"], meta["hi"]
    if meta["integer"]:
        candidates = [default + 1, default - 1, lo, hi]
    else:
        candidates = [default * 0.5, default * 2, default + 0.5, default - 0.5, (lo + hi) / 2, lo, hi]
    for value in candidates:
        if math.isfinite(value) and lo <= value <= hi and value != default:
            return int(value) if meta["integer"] else float(value)
    raise AssertionError(f"no other value in [{lo}, {hi}] for default {default}")


def test_parameter_list_covers_every_group():
    groups = {name.split(".")[0] for name, _, _ in PARAMS}
    assert groups == {"decisions", "climate", "labour", "regular", "irregular", "abroad", "budget", "population"}
    assert all({"units", "lo", "hi", "integer"} <= set(meta) for _, _, meta in PARAMS)


@pytest.mark.parametrize("name,default,meta", PARAMS, ids=[p[0] for p in PARAMS])
def test_every_model_parameter_can_be_overridden(name, default, meta):
    value = other_value(default, meta)
    cfg = compose_cfg(f"model.{name}={value!r}")
    assert OmegaConf.select(cfg, f"model.{name}") == pytest.approx(value)
    run_cfg = OmegaConf.to_object(cfg)
    obj = run_cfg.model
    for part in name.split("."):
        obj = getattr(obj, part)
    assert obj == pytest.approx(value)
    if meta["integer"]:
        assert isinstance(obj, int) and not isinstance(obj, bool)
    validate_run(run_cfg)
    untouched = [(n, v) for n, v, _ in iter_params(run_cfg.model) if n != name]
    assert untouched == [(n, v) for n, v, _ in PARAMS if n != name]


# --- misspelt keys fail when the config is composed ---------------------------------------------------------------

@pytest.mark.parametrize("override,key", [
    ("model.regular.quota_per_1000_per_yr=1", "quota_per_1000_per_yr"),
    ("model.irregular.death_probabilty=0.1", "death_probabilty"),
    ("model.regulr.fee_usd=800", "regulr"),
    ("n_household=10", "n_household"),
    ("sead=3", "sead"),
])
def test_misspelt_key_fails_at_compose_time_naming_the_key(override, key):
    with pytest.raises(COMPOSE_ERRORS) as info:
        compose_cfg(override)
    assert key in error_text(info.value)


def test_misspelt_key_in_the_config_file_fails_at_compose_time(tmp_path):
    config_dir = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, config_dir)
    path = config_dir / "config.yaml"
    text = path.read_text(encoding="utf-8")
    assert "\nn_households:" in text
    path.write_text(text.replace("\nn_households:", "\nn_housholds:"), encoding="utf-8")
    with pytest.raises(COMPOSE_ERRORS) as info:
        compose_cfg(config_dir=config_dir)
    assert "n_housholds" in error_text(info.value)


def test_appended_unknown_key_is_not_silently_ignored():
    """Hydra's message for a misspelt key suggests '+key=value', which composes; run.py then refuses keys outside
    the schema (simulator.config.unknown_keys) instead of dropping them."""
    cfg = compose_cfg("+model.regular.quota_per_1000_per_yr=1")
    assert unknown_keys(OmegaConf.to_container(cfg), OmegaConf.to_object(cfg)) == [
        "model.regular.quota_per_1000_per_yr"]
    assert unknown_keys(OmegaConf.to_container(compose_cfg()), OmegaConf.to_object(compose_cfg())) == []


def test_wrong_type_fails_at_compose_time_naming_key_and_value():
    with pytest.raises(COMPOSE_ERRORS) as info:
        compose_cfg("model.regular.min_skill=1.5")
    text = error_text(info.value)
    assert "min_skill" in text and "1.5" in text
    with pytest.raises(COMPOSE_ERRORS) as info:
        compose_cfg("seed=abc")
    assert "seed" in error_text(info.value) and "abc" in error_text(info.value)


# --- bad values: a ConfigError naming the field, the value and the allowed range ----------------------------------

@pytest.mark.parametrize("override,field,value,allowed", [
    ("model.regular.quota_per_1000_per_year=-1", "model.regular.quota_per_1000_per_year", "-1", "[0, 1000]"),
    ("model.irregular.death_probability=1.5", "model.irregular.death_probability", "1.5", "[0, 1]"),
    ("model.irregular.interception_probability=-0.1", "model.irregular.interception_probability", "-0.1",
     "[0, 1]"),
    ("model.regular.min_skill=4", "model.regular.min_skill", "4", "an integer in [0, 3]"),
    ("model.irregular.journey_months=0", "model.irregular.journey_months", "0", "an integer in [1, 120]"),
    ("model.decisions.asc_internal=-51", "model.decisions.asc_internal", "-51", "[-50, 50]"),
    ("n_households=0", "n_households", "0", "at least 1"),
    ("n_households=-5", "n_households", "-5", "at least 1"),
    ("seed=-1", "seed", "-1", "non-negative integer"),
    ("years=0", "years", "0", "(0, 225]"),
    ("years=501", "years", "501", "(0, 225]"),
    ("agent_view_limit=-1", "agent_view_limit", "-1", "at least 0"),
    ("threads=0", "threads", "0", "an integer from 1 to"),
])
def test_bad_value_gives_config_error_naming_field_value_and_range(override, field, value, allowed):
    run_cfg = run_config("scenario=baseline", override)
    with pytest.raises(ConfigError) as info:
        validate_run(run_cfg)
    message = str(info.value)
    assert info.value.field == field
    assert f"{field} = {value}" in message
    assert allowed in message
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        build_model(run_cfg)   # the model is never built from a bad config


def test_non_integer_where_an_integer_is_required_in_plain_python():
    cfg = RunConfig(model=ModelParams(regular=RegularPathwayParams(min_skill=1.5)))
    with pytest.raises(ConfigError) as info:
        validate_run(cfg)
    assert "model.regular.min_skill = 1.5" in str(info.value)
    assert "an integer in [0, 3]" in str(info.value)


@pytest.mark.parametrize("bad", [True, 2.5, "3"])
def test_seed_and_households_must_be_integers_in_plain_python(bad):
    with pytest.raises(ConfigError, match="seed"):
        validate_run(RunConfig(seed=bad))
    with pytest.raises(ConfigError, match="n_households"):
        validate_run(RunConfig(n_households=bad))


def test_start_year_outside_the_representable_dates_is_refused_or_recorded_correctly():
    run_cfg = run_config("scenario=baseline", "start_year=2300", *TINY)
    try:
        validate_run(run_cfg)
        ds = build_model(run_cfg).run()
    except ConfigError as exc:
        assert "start_year" in str(exc) and "2300" in str(exc)
        return
    assert (ds["time"].dt.year.values == ds["year"].values).all()


def test_unknown_scenario_lists_the_available_ones():
    run_cfg = run_config("scenario=no_such_scenario", *TINY)
    with pytest.raises(ConfigError) as info:
        build_model(run_cfg)
    message = str(info.value)
    assert info.value.field == "scenario" and "no_such_scenario" in message
    assert all(name in message for name in SCENARIO_NAMES)


@pytest.mark.parametrize("kind,available", [("climate", CLIMATE_OUTLOOKS), ("labour", LABOUR_OUTLOOKS)])
def test_unknown_outlook_lists_the_available_ones(kind, available):
    run_cfg = run_config("scenario=baseline", f"{kind}_outlook=no_such_outlook", *TINY)
    with pytest.raises(ConfigError) as info:
        build_model(run_cfg)
    message = str(info.value)
    assert info.value.field == f"{kind}_outlook" and "no_such_outlook" in message
    assert all(name in message for name in available)


# --- bad scenario files ---------------------------------------------------------------------------------------

def test_a_scenario_file_outside_the_project_loads(tmp_path):
    path = scenario_file(tmp_path, {"description": "test", "climate_outlook": "severe", "labour_outlook": "steady",
                                    "interventions": {"fee_subsidy": {"share": 0.25, "start_year": 1}}},
                         name="custom")
    loaded = load_scenario(path)
    assert loaded.name == "custom" and loaded.climate_outlook_name == "severe"
    assert loaded.climate_outlook == load_scenario("baseline", climate_outlook="severe").climate_outlook
    assert [iv.name for iv in loaded.interventions] == ["fee_subsidy"]
    assert loaded.interventions[0].share == 0.25
    model = build_model(RunConfig(scenario=path, n_households=50, years=0.25, progress=False, figures=False))
    assert model.scenario_name == "custom"


def test_scenario_file_with_an_unknown_key(tmp_path):
    path = scenario_file(tmp_path, {"climate_outlok": "severe"})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "climate_outlok" in message and "severe" in message
    assert all(key in message for key in ("description", "climate_outlook", "labour_outlook", "interventions"))


@pytest.mark.parametrize("kind,available", [("climate", CLIMATE_OUTLOOKS), ("labour", LABOUR_OUTLOOKS)])
def test_scenario_file_with_an_unknown_outlook(tmp_path, kind, available):
    path = scenario_file(tmp_path, {f"{kind}_outlook": "apocalyptic"})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"{kind}_outlook" in message and "apocalyptic" in message
    assert all(name in message for name in available)


def test_unknown_intervention_lists_the_valid_ones(tmp_path):
    path = scenario_file(tmp_path, {"interventions": {"visa_lottery": {"start_year": 1}}})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "interventions" in message and "visa_lottery" in message
    assert all(name in message for name in REGISTRY)


def test_unknown_intervention_parameter_lists_the_valid_ones(tmp_path):
    path = scenario_file(tmp_path, {"interventions": {"quota_expansion": {"factr": 3}}})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "interventions.quota_expansion.factr = 3" in message
    assert all(name in message for name in ("factor", "start_year", "end_year", "scale_processing",
                                            "cost_per_visa_usd"))


@pytest.mark.parametrize("name,key,value,allowed", [
    ("fee_subsidy", "share", 1.5, "[0, 1]"),
    ("adaptation", "coverage", -0.2, "[0, 1]"),
    ("quota_expansion", "factor", -1, "[0, 1000]"),
    ("quota_expansion", "start_year", -1, "[0, 1000]"),
    ("quota_expansion", "factor", math.inf, "[0, 1000]"),
    ("enforcement", "fee_factor", math.nan, "[0, 100]"),
    ("social_protection", "end_year", -math.inf, "[0, 1000] or inf"),
    ("remittance_cost", "transfer_cost", 2, "[0, 1]"),
    ("humanitarian_visas", "min_loss", 1.5, "[0, 1] or null (remembered loss"),
    ("family_reunification", "min_months_abroad", 2.5, "an integer in [0, 1200] or null (months (null: each "
                                                       "channel's own))"),
    ("quota_expansion", "scale_processing", "yes", "true or false"),
    ("adaptation", "regions", "Delta Coast", "a list of origin names"),
])
def test_intervention_value_out_of_range(tmp_path, name, key, value, allowed):
    path = scenario_file(tmp_path, {"interventions": {name: {key: value}}})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"interventions.{name}.{key} = {value!r}" in message
    assert allowed in message


@pytest.mark.parametrize("start,end", [(3, 2), (1, 1)])
def test_end_year_before_start_year(tmp_path, start, end):
    path = scenario_file(tmp_path, {"interventions": {"quota_expansion": {"start_year": start, "end_year": end}}})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"interventions.quota_expansion.end_year = {end}" in message
    assert f"start_year = {start}" in message


def test_unknown_region_in_adaptation_regions_lists_the_origins(tmp_path):
    path = scenario_file(tmp_path, {"interventions": {"adaptation": {"regions": ["Delta Coast", "Atlantis"]}}})
    with pytest.raises(ConfigError) as info:
        build_model(RunConfig(scenario=path, n_households=50, years=0.25, progress=False, figures=False))
    message = str(info.value)
    assert "regions" in info.value.field and "Atlantis" in message
    assert all(origin in message for origin in ORIGINS)


@pytest.mark.parametrize("spec", [0.5, "all", [1, 2]], ids=["number", "text", "list"])
def test_intervention_parameters_that_are_not_a_mapping(tmp_path, spec):
    path = scenario_file(tmp_path, {"interventions": {"adaptation": spec}})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert "adaptation" in str(info.value)


@pytest.mark.parametrize("content,expected", [
    ("- a list\n- not a mapping\n", "a YAML mapping"),
    ("interventions: [adaptation]\n", "a mapping of intervention names"),
    ("description: [unclosed\n", "valid YAML"),
])
def test_scenario_file_of_the_wrong_shape(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="scenario") as info:
        load_scenario(str(path))
    assert expected in str(info.value)


# --- outlooks next to a scenario file -------------------------------------------------------------------------

def outlook_folder(tmp_path: Path, climate: dict, labour: dict | None = None) -> None:
    write_yaml(tmp_path / "outlooks" / "climate" / "hot.yaml", climate)
    write_yaml(tmp_path / "outlooks" / "labour" / "steady.yaml",
               labour or {"demand_multiplier": 1.0, "demand_trend": 0.0, "wage_multiplier": 1.0})


def test_outlooks_are_read_next_to_the_scenario_file(tmp_path):
    outlook_folder(tmp_path, {"description": "hotter", "frequency_multiplier": 2.0, "intensity_multiplier": 1.5,
                              "degradation_multiplier": 3.0})
    loaded = load_scenario(scenario_file(tmp_path, {"climate_outlook": "hot", "labour_outlook": "steady"}))
    assert loaded.climate_outlook.frequency_multiplier == 2.0
    assert loaded.climate_outlook.degradation_multiplier == 3.0
    with pytest.raises(ConfigError) as info:   # "severe" is not in the local outlooks folder
        load_scenario(scenario_file(tmp_path, {"climate_outlook": "severe"}, name="other"))
    assert "severe" in str(info.value) and "hot" in str(info.value)


def test_outlook_with_an_unknown_key(tmp_path):
    outlook_folder(tmp_path, {"frequency_multplier": 2.0})
    with pytest.raises(ConfigError) as info:
        load_scenario(scenario_file(tmp_path, {"climate_outlook": "hot"}))
    message = str(info.value)
    assert "frequency_multplier" in message and "frequency_multiplier" in message and "hot" in message


@pytest.mark.parametrize("key,value,allowed", [("frequency_multiplier", -1.0, "[0, 100]"),
                                               ("intensity_multiplier", "strong", "[0, 100]")])
def test_outlook_value_out_of_range(tmp_path, key, value, allowed):
    outlook_folder(tmp_path, {key: value})
    with pytest.raises(ConfigError) as info:
        load_scenario(scenario_file(tmp_path, {"climate_outlook": "hot"}))
    message = str(info.value)
    assert f"{key} = {value!r}" in message and allowed in message


def test_labour_outlook_value_out_of_range(tmp_path):
    outlook_folder(tmp_path, {}, labour={"demand_trend": -2.0})
    with pytest.raises(ConfigError) as info:
        load_scenario(scenario_file(tmp_path, {"climate_outlook": "hot", "labour_outlook": "steady"}))
    assert "demand_trend = -2.0" in str(info.value) and "[-0.9, 0.5]" in str(info.value)


# --- every value inside the ranges gives finite outputs; inf and nan are refused ------------------------------------

ONWARD_ROUTES = {r.name for r in load_corridors(default_world_path()).routes if r.kind == "onward"}


def assert_finite_outputs(ds: xr.Dataset) -> None:
    """Every output variable is finite, but `migrant_employment_rate`, which is NaN by definition exactly in the
    months when no migrant of the pathway is away as it is measured (docs/ODD.md, section 4.11): those away at the
    end of the month, those who came home during it, on the regular pathway those whose family joined them abroad and
    on the internal pathway those who moved on abroad from a city (who were still counted) are then all zero;
    otherwise the rate is a share in [0, 1]."""
    for name, var in ds.data_vars.items():
        if name != "migrant_employment_rate":
            assert np.isfinite(var.values).all(), (name, var.values[~np.isfinite(var.values)][:5])
    present = (ds["migrants_away"] + ds["returns"]).sum(["origin", "destination"])
    present = present.transpose("time", "pathway").values
    present[:, PATHWAYS.index("regular")] += ds["reunifications"].sum("origin").values
    onward = [r for r in (ds["route"].values if "route" in ds.coords else ()) if str(r) in ONWARD_ROUTES]
    if onward:   # migrants in a city who moved on abroad in the month were counted in the city's rate
        present[:, PATHWAYS.index("internal")] += ds["route_departures"].sel(route=onward).sum("route").values
    rate = ds["migrant_employment_rate"].transpose("time", "pathway").values
    np.testing.assert_array_equal(np.isnan(rate), present == 0)
    assert ((rate >= 0) & (rate <= 1))[present > 0].all()


def tiny_run(**kw) -> xr.Dataset:
    """A year of 200 households on the default world, or on the one-city world when a parameter that the default
    world's tables replace is set (it acts there only)."""
    world = one_city_world_path() if set(kw) & set(TABLE_PARAMETERS) else None
    return MigrationModel(n_households=200, years=1, rng=0, agent_view_limit=0, world=world, **kw).run()


SMALLEST = 5e-324   # the smallest positive number: a divisor close to 0 must not overflow


def bound(meta: dict, which: str) -> float | int:
    """The lower ("lo") or upper ("hi") end of a declared range, of the declared kind, or SMALLEST ("tiny")."""
    return SMALLEST if which == "tiny" else (int if meta["integer"] else float)(meta[which])


def ends(meta: dict) -> tuple[str, ...]:
    """Where to try a range: its two ends, and the smallest positive number if a range of numbers starts at 0."""
    return ("lo", "hi") + (("tiny",) if meta["lo"] == 0 and not meta["integer"] else ())


META = {name: meta for name, _, meta in PARAMS}
BOUNDS = [pytest.param(name, which, id=f"{name}-{which}") for name, meta in META.items() for which in ends(meta)]
NON_FINITE = [pytest.param(v, id=repr(v)) for v in (math.inf, -math.inf, math.nan)]


def test_every_declared_range_is_finite():
    for name, _, meta in PARAMS:
        assert math.isfinite(meta["lo"]) and math.isfinite(meta["hi"]) and meta["lo"] < meta["hi"], name
    with pytest.raises(ValueError, match="finite"):
        param(1.0, "USD", 0, math.inf)


@pytest.mark.parametrize("name,which", BOUNDS)
def test_every_model_parameter_at_either_end_of_its_range_gives_finite_outputs(name, which):
    """One parameter at a time at an end of its range (or at SMALLEST), the others at their defaults."""
    assert_finite_outputs(tiny_run(**{name: bound(META[name], which)}))


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("name", [name for name, _, _ in PARAMS])
def test_every_model_parameter_refuses_inf_and_nan(name, value):
    with pytest.raises(ConfigError) as info:
        MigrationModel(n_households=10, **{name: value})
    assert info.value.field == f"model.{name}"
    assert f"model.{name} = {value!r} is not allowed: expected a" in str(info.value)
    assert f"[{META[name]['lo']:g}, {META[name]['hi']:g}]" in str(info.value)


@pytest.mark.parametrize("name", ["regular.stay_months", "regular.fee_usd"])
@pytest.mark.parametrize("value", [10**400, -10**400, 1e308, -1e308], ids=["1e400", "-1e400", "1e308", "-1e308"])
def test_huge_values_are_refused(name, value):
    """Integers beyond any float and floats near the largest one (an integer parameter and a number)."""
    with pytest.raises(ConfigError) as info:
        MigrationModel(n_households=10, **{name: value})
    assert info.value.field == f"model.{name}" and info.value.value == value


def test_the_smallest_and_the_largest_values_together_give_finite_outputs():
    for which in ("lo", "hi"):
        values = {name: bound(meta, which) for name, meta in META.items()}
        outlooks = {"climate_outlook": ClimateOutlook(*(OUTLOOK_RANGES[f.name][which == "hi"]
                                                         for f in dataclasses.fields(ClimateOutlook))),
                    "labour_outlook": LabourOutlook(*(OUTLOOK_RANGES[f.name][which == "hi"]
                                                      for f in dataclasses.fields(LabourOutlook)))}
        assert_finite_outputs(tiny_run(**outlooks, **values))   # on the one-city world
        assert_finite_outputs(tiny_run(**outlooks, **{k: v for k, v in values.items() if k not in TABLE_PARAMETERS}))


@pytest.mark.slow
def test_the_values_that_make_incomes_largest_stay_finite_over_the_longest_run():
    """Wages, their growth and everything that adds to savings at the top of their ranges, everything that takes
    from them at the bottom, for the 450 years the calendar allows (about 8 s): wages and savings pass 1e50, so the
    growth the limits allow is exercised, and every output stays finite (simulator/params.py explains why)."""
    top = {name: bound(meta, "hi") for name, meta in META.items() if name.split(".")[0] in ("decisions", "labour")}
    nothing_lost = {name: 0.0 for name in (
        "labour.job_separation_rate", "abroad.living_cost_usd", "abroad.city_living_cost_usd", "abroad.transfer_cost",
        "abroad.domestic_transfer_cost", "abroad.internal_return_rate", "budget.subsistence_usd",
        "budget.consumption_share_of_surplus", "regular.return_rate", "regular.fee_usd", "irregular.smuggler_fee_usd",
        "irregular.death_probability", "irregular.interception_probability", "irregular.deportation_rate",
        "irregular.return_rate", "climate.asset_loss_ratio")}
    values = {**top, **nothing_lost, "decisions.nest_lambda": 0.05, "regular.stay_months": 0,
              "regular.quota_per_1000_per_year": 1000.0, "regular.processing_per_1000_per_month": 1000.0,
              "regular.min_skill": 0, "population.risk_aversion_sd": 5.0, "population.patience_sd": 5.0}
    world = dataclasses.replace(
        make_world(wage=USD_MAX, wealth=10 * USD_MAX, destination_wage=USD_MAX, vacancies_per_1000=1000.0,
                   degradation=0.0),
        city_wage=USD_MAX, assets_median=np.full(2, 10 * USD_MAX), wealth_sigma=np.full(2, 5.0),
        household_size_mean=np.full(2, 30.0))
    cash = build_interventions({
        "social_protection": {"transfer_usd": USD_MAX, "min_loss": 0.0, "wealth_threshold_usd": USD_MAX,
                              "admin_share": 10.0},
        "local_jobs": {"coverage": 1.0, "income_gain": 10.0, "cost_per_participant_usd_month": USD_MAX}})
    ds = MigrationModel(n_households=50, years=450, start_year=1800, rng=0, world=world, interventions=cash,
                        agent_view_limit=0, climate_outlook=ClimateOutlook(100.0, 100.0, 0.0),
                        labour_outlook=LabourOutlook(100.0, OUTLOOK_RANGES["demand_trend"][1], 100.0),
                        **values).run()
    assert_finite_outputs(ds)
    assert float(ds["destination_wage"].max()) > 1e50 and float(ds["wealth_mean"].max()) > 1e50


# --- outlook multipliers --------------------------------------------------------------------------------------------

OUTLOOK_FIELDS = [(kind, f.name) for kind, cls in (("climate", ClimateOutlook), ("labour", LabourOutlook))
                  for f in dataclasses.fields(cls)]


def test_every_outlook_field_has_a_finite_range():
    assert sorted(OUTLOOK_RANGES) == sorted(name for _, name in OUTLOOK_FIELDS)
    assert all(math.isfinite(lo) and math.isfinite(hi) and lo < hi for lo, hi in OUTLOOK_RANGES.values())


@pytest.mark.parametrize("kind,key,which", [
    pytest.param(kind, key, which, id=f"{key}-{which}") for kind, key in OUTLOOK_FIELDS
    for which in ("lo", "hi") + (("tiny",) if OUTLOOK_RANGES[key][0] == 0 else ())])
def test_every_outlook_field_at_either_end_of_its_range_gives_finite_outputs(tmp_path, kind, key, which):
    lo, hi = OUTLOOK_RANGES[key]
    value = {"lo": float(lo), "hi": float(hi), "tiny": SMALLEST}[which]
    climate, labour = ({key: value}, None) if kind == "climate" else ({}, {key: value})
    outlook_folder(tmp_path, climate, labour)
    loaded = load_scenario(scenario_file(tmp_path, {"climate_outlook": "hot", "labour_outlook": "steady"}))
    assert getattr(getattr(loaded, f"{kind}_outlook"), key) == value
    assert_finite_outputs(tiny_run(climate_outlook=loaded.climate_outlook, labour_outlook=loaded.labour_outlook))


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan"])
@pytest.mark.parametrize("kind,key", OUTLOOK_FIELDS)
def test_every_outlook_field_refuses_inf_and_nan(tmp_path, kind, key, text):
    path = tmp_path / "outlooks" / kind / "odd.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(f"{key}: {text}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_outlook(kind, "odd", tmp_path)
    lo, hi = OUTLOOK_RANGES[key]
    message = str(info.value)
    assert info.value.field == f"{kind}_outlook odd: {key}"
    assert f"{key} = {yaml.safe_load(text)!r} is not allowed" in message and f"[{lo:g}, {hi:g}]" in message


# --- scenario and outlook files that are not UTF-8 text, or cannot be read ----------------------------------------

NOT_TEXT = [pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "byte 0x89 at position 0", id="binary"),
            pytest.param("description: été\n".encode("utf-16"), "is not UTF-8", id="utf-16"),
            pytest.param("description: x\n".encode("latin-1") + b"\xe9\n", "is not UTF-8", id="latin-1"),
            pytest.param(b"description: x\x00\n", "NUL bytes", id="nul-bytes")]


def make_unreadable(path: Path) -> None:
    """Make the file `path` unreadable to this process through the operating system, so that opening it raises a real
    PermissionError. Removing its permissions does for an ordinary user; root reads any file regardless, so for root
    the path becomes a link to a file the kernel refuses to let even root read (a write-only kernel setting)."""
    path.write_text("description: unreadable\n", encoding="utf-8")
    path.chmod(0)
    if not os.access(path, os.R_OK):
        return
    path.unlink()
    for target in (Path("/proc/sys/vm/compact_memory"), Path("/proc/sys/vm/drop_caches")):
        try:
            target.open("rb").close()
        except PermissionError:
            path.symlink_to(target)
            return
        except OSError:
            continue
    pytest.skip("no file this process cannot read (root, without a write-only kernel setting to point at)")


def unreadable(path: Path, how: str) -> Path:
    """`path` made unreadable: a folder where the file should be, or a file without read permission."""
    if how == "folder":
        path.mkdir(parents=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        make_unreadable(path)
        with pytest.raises(PermissionError):
            path.open("rb")
    return path


@pytest.mark.parametrize("content,detail", NOT_TEXT)
def test_scenario_file_that_is_not_utf8_text(tmp_path, content, detail):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_scenario(str(path))
    message = str(info.value)
    assert type(info.value) is ConfigError and info.value.field == "scenario" and str(path) in message
    assert "expected a YAML file of UTF-8 text" in message and detail in message


@pytest.mark.parametrize("how", ["folder", "permission"])
def test_scenario_file_that_cannot_be_read(tmp_path, how):
    path = unreadable(tmp_path / "locked.yaml", how)
    with pytest.raises(ConfigError) as info:
        load_scenario(str(path))
    message = str(info.value)
    assert type(info.value) is ConfigError and info.value.field == "scenario" and str(path) in message
    assert "expected a readable YAML file of UTF-8 text" in message


@pytest.mark.parametrize("how", ["binary", "folder", "permission"])
@pytest.mark.parametrize("kind", ["climate", "labour"])
def test_outlook_file_that_is_not_text_or_cannot_be_read(tmp_path, kind, how):
    path = tmp_path / "outlooks" / kind / "odd.yaml"
    other, default = ("labour", "steady") if kind == "climate" else ("climate", "current")
    write_yaml(tmp_path / "outlooks" / other / f"{default}.yaml", {})   # the scenario's other outlook, readable
    if how == "binary":
        path.parent.mkdir(parents=True)
        path.write_bytes(NOT_TEXT[0].values[0])
    else:
        unreadable(path, how)
    with pytest.raises(ConfigError) as info:
        load_scenario(scenario_file(tmp_path, {f"{kind}_outlook": "odd"}))
    message = str(info.value)
    assert type(info.value) is ConfigError and info.value.field == f"{kind}_outlook" and str(path) in message
    assert "YAML file of UTF-8 text" in message


def test_a_yaml_error_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("description: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenario(str(path))
    assert "\n" not in str(info.value) and "line 1" in str(info.value)
