"""The command line end to end: `python run.py ...` as a user runs it, good and bad input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
import yaml

from simulator import __version__
from simulator.policy.interventions import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
ONE_CITY_WORLD = ROOT / "scenarios" / "worlds" / "one_city"
FIGURES = ("flows_by_pathway.png", "flows_by_destination.png", "trapped.png", "deaths.png")

pytestmark = pytest.mark.slow


def run_cli(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    """Run `python run.py <overrides>` from the project folder, writing its run folder under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *overrides, f"hydra.run.dir={tmp_path / 'run'}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_a_run_on_the_default_world_records_each_place_channel_and_route(tmp_path):
    result = run_cli(tmp_path, "scenario=baseline", "n_households=3000", "years=1", "seed=3")
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "run" / "results.nc", engine="netcdf4") as ds:
        ds = ds.load()
    assert ds.attrs["world"] == "default"
    assert ds["destination"].values.tolist() == ["Capital", "Port City", "Gulfland", "Northland", "Neighbourland"]
    assert ds.sizes["channel"] == 7 and ds.sizes["route"] == 3   # two irregular routes and the onward one
    assert (tmp_path / "run" / "flows_by_destination.png").is_file()


def corrupt_world(tmp_path: Path) -> Path:
    """A copy of the version-1 world (one_city) with farm_dependence = 1.5 in row 2 (Dry Plateau) of regions.csv."""
    folder = tmp_path / "bad_world"
    shutil.copytree(ONE_CITY_WORLD, folder)
    path = folder / "regions.csv"
    text = path.read_text(encoding="utf-8")
    old = "Dry Plateau,origin,0.25,5.5,80,120,0.9,1200,0.80,"
    assert old in text
    path.write_text(text.replace(old, "Dry Plateau,origin,0.25,5.5,80,120,0.9,1200,1.5,"), encoding="utf-8")
    return folder


def test_a_tiny_run_writes_results_and_figures(tmp_path):
    result = run_cli(tmp_path, "scenario=baseline", "n_households=200", "years=1", "seed=3")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    run_dir = tmp_path / "run"
    assert (run_dir / "results.nc").is_file()
    assert result.stdout.splitlines()[-2:] == [f"dataset: {run_dir / 'results.nc'}",
                                               f"figures: {run_dir}{os.sep} ({len(FIGURES)} PNG files)"]
    for name in FIGURES:
        path = run_dir / name
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    with xr.open_dataset(run_dir / "results.nc", engine="netcdf4") as ds:
        ds = ds.load()
    assert ds["emigrants"].dims == ("time", "origin", "destination", "pathway")
    assert {"time", "origin", "destination", "pathway"} <= set(ds.dims)
    assert ds.sizes["time"] == 12
    for name in ("deaths", "trapped", "population", "remittances"):
        assert name in ds.data_vars and ds[name].dims[:2] == ("time", "origin"), name
    assert ds.attrs["scenario"] == "baseline"
    assert int(ds.attrs["seed"]) == 3
    assert ds.attrs["simulator_version"] == __version__
    config = yaml.safe_load(ds.attrs["config"])
    assert config["n_households"] == 200 and config["seed"] == 3 and config["scenario"] == "baseline"
    assert config["model"]["irregular"]["death_probability"] == 0.01
    assert int(ds["population"].isel(time=0).sum()) > 0


def help_lists(text: str) -> dict[str, dict[str, str]]:
    """The lists of `python run.py --help`, by the first word of their heading: {heading: {name: description}}."""
    lists = {}
    for block in text.split("\n\n"):
        heading, *entries = block.splitlines()
        if entries and all(line.startswith("  ") for line in entries):
            lists[heading.split(":")[0]] = dict((line.split(None, 1) + [""])[:2] for line in entries)
    return lists


def test_help_lists_the_scenarios_outlooks_worlds_interventions_and_experiments_from_their_files(tmp_path):
    result = run_cli(tmp_path, "--help")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "run").exists(), "--help ran a job"
    lines = result.stdout.splitlines()
    assert all(len(line) <= 120 for line in lines), [line for line in lines if len(line) > 120]
    lists = help_lists(result.stdout)
    scenarios = lists["Scenarios"]
    assert set(scenarios) == {p.stem for p in (ROOT / "scenarios").glob("*.yaml")}
    for name, text in scenarios.items():   # each with the start of its own description
        description = yaml.safe_load((ROOT / "scenarios" / f"{name}.yaml").read_text(encoding="utf-8"))["description"]
        description = " ".join(description.split())
        assert text and description.startswith(text.removesuffix(" ...")), (name, text)
    for kind in ("climate", "labour"):
        outlooks = lists[f"{kind.capitalize()} outlooks"]
        assert set(outlooks) == {p.stem for p in (ROOT / "scenarios" / "outlooks" / kind).glob("*.yaml")}
        assert all(outlooks.values()), outlooks
    worlds = lists["Worlds"]
    assert set(worlds) == {p.name for p in (ROOT / "scenarios" / "worlds").iterdir() if p.is_dir()}
    assert worlds["bangladesh"] == "The Bangladesh world (version-2 tables)"   # the title of its README.md
    interventions = lists["Interventions"]
    assert list(interventions) == list(REGISTRY)
    assert interventions["adaptation"] == REGISTRY["adaptation"].__doc__.split("\n")[0].strip()
    assert set(lists["Experiments"]) == {p.stem for p in (ROOT / "configs" / "experiment").glob("*.yaml")}
    assert "outputs/sensitivity/<time>/" in lists["Experiments"]["sensitivity"]
    assert "python run.py experiment=calibrate" in result.stdout   # the examples and notes of run.py's docstring
    assert "Outputs go to outputs/comparisons/" in result.stdout
    hydra_help = run_cli(tmp_path, "--hydra-help")   # Hydra's own help is still there
    assert hydra_help.returncode == 0 and "--hydra-help" in hydra_help.stdout, hydra_help.stderr


CLOSING = re.compile(r"^(report|dataset|results|config|figures|wrote): (/\S*)")


def test_a_comparison_ends_with_the_paths_of_its_reports_and_dataset(tmp_path):
    result = run_cli(tmp_path, "n_households=200", "years=1", "compare.seeds=2",
                     "compare.scenarios=[baseline,combined]", f"compare.cache_dir={tmp_path / 'cache'}")
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "run"
    closing = []   # the lines that end the output and name what the job wrote
    for line in reversed(result.stdout.splitlines()):
        if not CLOSING.match(line):
            break
        closing.insert(0, line)
    reports = [f"report: {run_dir / name}" for name in ("report.html", "report.md") if (run_dir / name).is_file()]
    assert f"report: {run_dir / 'report.md'}" in reports
    assert closing[:len(reports) + 1] == [*reports, f"dataset: {run_dir / 'comparison.nc'}"], closing
    for line in closing:   # absolute paths of files (or folders) that are there
        path = Path(CLOSING.match(line)[2])
        assert path.is_absolute() and path.exists(), line
    assert closing[-1].startswith(f"figures: {run_dir}{os.sep} (")


def edited_world(tmp_path: Path, name: str, edit, tables: str = "*.csv", encoding: str = "utf-8") -> Path:
    """A copy of the version-1 world (one_city) named `name` whose tables matching `tables` are `edit(text)`, saved in
    `encoding`."""
    folder = tmp_path / name
    shutil.copytree(ONE_CITY_WORLD, folder)
    for table in folder.glob(tables):
        table.write_bytes(edit(table.read_text(encoding="utf-8")).encode(encoding))
    return folder


def destination_wage(text: str, wage: str) -> str:
    """regions.csv with the destination's wage_usd cell replaced by `wage`."""
    lines = text.splitlines()
    column = next(line for line in lines if line.startswith("name,")).split(",").index("wage_usd")
    for i, cells in enumerate(line.split(",") for line in lines):
        if len(cells) > 1 and cells[1] == "destination":
            lines[i] = ",".join(cells[:column] + [wage] + cells[column + 1:])
    return "\n".join(lines) + "\n"


def renamed_district_world(tmp_path: Path) -> Path:
    """The district Dry Plateau renamed (the package of `district_package` names it in its regions)."""
    return edited_world(tmp_path, "renamed_world", lambda t: t.replace("Dry Plateau", "Dry Highlands"))


def district_package(tmp_path: Path) -> Path:
    """A package whose adaptation names the district Dry Plateau."""
    path = tmp_path / "dry_plateau_adaptation.yaml"
    path.write_text("description: Adaptation in Dry Plateau.\ninterventions:\n  adaptation:\n"
                    "    regions: [Dry Plateau]\n", encoding="utf-8")
    return path


def latin1_world(tmp_path: Path) -> Path:
    """Tables saved as Latin-1, with an accented district name."""
    return edited_world(tmp_path, "latin1_world", lambda t: t.replace("Market Town", "Marché Town"),
                        encoding="latin-1")


def rich_world(tmp_path: Path) -> Path:
    """A destination wage of 1e308 USD a month."""
    return edited_world(tmp_path, "rich_world", lambda t: destination_wage(t, "1e308"), tables="regions.csv")


def twice_named_column_world(tmp_path: Path) -> Path:
    """routes.csv names the column distance_km twice."""
    return edited_world(tmp_path, "twice_world", lambda t: t.replace("origin,to,travel_cost_usd,",
                                                                     "origin,to,distance_km,"), tables="routes.csv")


def binary_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "binary.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    return path


def infinite_factor_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "infinite.yaml"
    path.write_text("interventions:\n  quota_expansion: {factor: .inf}\n", encoding="utf-8")
    return path


INPUTS = {"bad_world": corrupt_world, "renamed_world": renamed_district_world, "district_package": district_package,
          "latin1_world": latin1_world,
          "rich_world": rich_world, "twice_world": twice_named_column_world, "binary_scenario": binary_scenario,
          "infinite_scenario": infinite_factor_scenario}

# overrides, fragments the one line must contain (the field, the value, what is allowed)
BAD_INPUTS = [
    pytest.param(["scenario=baseline", "model.regular.quota_per_1000_per_yr=1"],
                 ["model.regular.quota_per_1000_per_yr = '1'", "such as model.regular.quota_per_1000_per_year"],
                 id="misspelt-key"),
    pytest.param(["scenario=baseline", "n_households=abc"], ["n_households = 'abc'", "an integer"], id="wrong-type"),
    pytest.param(["scenario=baseline", "model.regular=3"], ["model.regular = 3", "model.regular.<key>="],
                 id="group-given-a-value"),
    pytest.param(["experiment=nosuch"],
                 ["experiment = 'nosuch'", "calibrate, calibrate_moments, emulate, hindcast, optimise"],
                 id="unknown-experiment"),
    pytest.param(["scenario=baseline", "seed=[1,2"], ["cannot be read", "key=value"], id="unreadable-override"),
    pytest.param(["scenario=baseline", "model.regular.quota_per_1000_per_year=-1"],
                 ["model.regular.quota_per_1000_per_year = -1", "[0, "], id="negative-quota"),
    pytest.param(["scenario=baseline", "model.regular.quota_per_1000_per_year=inf",
                  "model.regular.processing_per_1000_per_month=inf"],
                 ["model.regular.quota_per_1000_per_year = inf"], id="infinite-quota"),
    pytest.param(["scenario=baseline", "model.regular.fee_usd=600"],
                 ["model.regular.fee_usd = 600.0", "fee_usd of each channel in channels.csv"], id="table-parameter"),
    pytest.param(["scenario=baseline", "model.climate.intensity_concentration=inf"],
                 ["model.climate.intensity_concentration = inf"], id="infinite-concentration"),
    pytest.param(["scenario=baseline", "model.labour.skill_wage_high=inf"],
                 ["model.labour.skill_wage_high = inf"], id="infinite-skill-wage"),
    pytest.param(["scenario=baseline", "model.decisions.beta_income=inf"],
                 ["model.decisions.beta_income = inf"], id="infinite-beta"),
    pytest.param(["scenario=baseline", "model.decisions.beta_income=nan"],
                 ["model.decisions.beta_income = nan"], id="nan-beta"),
    pytest.param(["scenario=baseline", "model.irregular.death_probability=1.5"],
                 ["model.irregular.death_probability = 1.5", "[0, 1]"], id="probability-above-1"),
    pytest.param(["scenario=baseline", "n_households=0"], ["n_households = 0", "at least 1"], id="zero-households"),
    pytest.param(["scenario=baseline", "n_households=1000000000"],
                 ["n_households = 1000000000", "GB of memory", "available"], id="too-many-households"),
    pytest.param(["scenario=baseline", "seed=99999999999999999999"],
                 ["seed = 99999999999999999999", "at most 2147483647"], id="seed-too-large"),
    pytest.param(["scenario=no_such_scenario"], ["scenario = 'no_such_scenario'", "baseline"],
                 id="unknown-scenario"),
    pytest.param(["scenario={binary_scenario}"], ["binary.yaml", "UTF-8"], id="binary-scenario"),
    pytest.param(["scenario={infinite_scenario}"], ["factor", "inf"], id="infinite-intervention-factor"),
    pytest.param(["scenario=baseline", "world={bad_world}"],
                 ["regions.csv row 2: farm_dependence = '1.5'", "[0, 1]"], id="malformed-world"),
    pytest.param(["scenario=baseline", "world={latin1_world}"], ["regions.csv", "UTF-8"], id="latin1-world"),
    pytest.param(["scenario=baseline", "world={rich_world}"], ["wage_usd", "1e308"], id="wage-1e308"),
    pytest.param(["scenario=baseline", "world={twice_world}"], ["routes.csv", "distance_km"],
                 id="column-named-twice"),
    pytest.param(["world={renamed_world}", "compare.scenarios=[baseline,{district_package}]"],
                 ["regions", "Dry Plateau", "Dry Highlands"],
                 id="main-job-renamed-district"),
    pytest.param(["-m", "scenario=baseline,combined", "n_households=200,0"], ["n_households = 0"],
                 id="sweep-with-one-bad-value"),
    pytest.param(["-m", "scenario=baseline,no_such_scenario"], ["scenario = 'no_such_scenario'"],
                 id="sweep-with-one-unknown-scenario"),
    pytest.param(["-m", "experiment=sensitivity"], ["mode = 'sensitivity'", "without -m"], id="experiment-in-sweep"),
    # misspellings: our line with the closest valid keys or names, never Hydra's advice to add a key with '+'
    pytest.param(["+scenaro=x"], ["scenaro = 'x'", "such as scenario"], id="misspelt-key-added"),
    pytest.param(["++x=1"], ["x = 1", "a key of the config"], id="unknown-key-forced"),
    pytest.param(["~scenario"], ["~scenario", "scenario=<value>"], id="schema-key-deleted"),
    pytest.param(["~model.decisions"], ["~model.decisions", "model.decisions.<key>=<value>"], id="schema-part-deleted"),
    pytest.param(["~scenaro"], ["~scenaro", "such as scenario"], id="misspelt-key-deleted"),
    pytest.param(["scenario=baseline", "model.decisions.beta_incme=2"],
                 ["model.decisions.beta_incme = '2'", "such as model.decisions.beta_income"],
                 id="misspelt-key-in-group"),
    pytest.param(["scenario=baseline", "model.decison.beta_income=2"],
                 ["model.decison.beta_income = '2'", "such as model.decisions.beta_income"],
                 id="misspelt-group-of-key"),
    pytest.param(["scenario=baseline", "+model.decisions.beta_income=2"],
                 ["+model.decisions.beta_income = '2'", "model.decisions.beta_income=2, without '+'"],
                 id="existing-key-added"),
    pytest.param(["experiment=sensitivty"], ["experiment = 'sensitivty'", "(closest: sensitivity, sensitivity_choice)"],
                 id="misspelt-experiment"),
    pytest.param(["experimen=sensitivity"], ["experimen = 'sensitivity'", "such as experiment"],
                 id="misspelt-group"),
    pytest.param(["+experiment=sensitivity"],
                 ["+experiment = 'sensitivity'", "experiment=sensitivity, without '+'"], id="group-added"),
    pytest.param(["scenario=baselin"], ["scenario = 'baselin'", "(closest: baseline)"], id="misspelt-scenario"),
    pytest.param(["compare.front=/nonexistent/front.nc"],
                 ["compare.front = '/nonexistent/front.nc'", "an existing file", "experiment=optimise"],
                 id="front-missing"),
    pytest.param(["compare.scenarios=[baseline,combind]"], ["scenario = 'combind'", "(closest: combined)"],
                 id="misspelt-scenario-of-the-main-job"),
    pytest.param(["scenario=baseline", "climate_outlook=sever"], ["climate_outlook = 'sever'", "(closest: severe)"],
                 id="misspelt-climate-outlook"),
    pytest.param(["scenario=baseline", "labour_outlook=bom"], ["labour_outlook = 'bom'", "(closest: boom)"],
                 id="misspelt-labour-outlook"),
    pytest.param(["scenario=baseline", "world=bangladsh"], ["world = 'bangladsh'", "(closest: bangladesh)"],
                 id="misspelt-world"),
    pytest.param(["-m", "scenaro=baseline,combined"], ["scenaro = 'baseline,combined'", "such as scenario"],
                 id="misspelt-key-in-sweep"),
    pytest.param(["-m", "hydra/launcher=core", "scenario=baseline"], ["hydra/launcher = 'core'", "(closest: cores)"],
                 id="misspelt-launcher"),
]


@pytest.mark.parametrize("overrides,expected", BAD_INPUTS)
def test_bad_input_stops_with_one_clear_message(tmp_path, overrides, expected):
    """Exit code 2, one line naming the field, the value and what is allowed, no traceback, and nothing left behind
    (nothing under the run and sweep folders, nothing in the result cache)."""
    inputs = {name: make(tmp_path) for name, make in INPUTS.items()
              if any(f"{{{name}}}" in o for o in overrides)}
    overrides = [o.format(**inputs) for o in overrides]
    size = [] if any(o.startswith("n_households=") for o in overrides) else ["n_households=200"]
    before = set(tmp_path.iterdir())
    flags = [o for o in overrides if o.startswith("-")]   # before the overrides, as argparse needs them
    overrides = [o for o in overrides if not o.startswith("-")]
    result = run_cli(tmp_path, *flags, "years=1", *size, *overrides, f"hydra.sweep.dir={tmp_path / 'sweep'}",
                     f"compare.cache_dir={tmp_path / 'cache'}")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "To append" not in lines[0] and "use +" not in lines[0], lines[0]   # Hydra's advice, which we refuse
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])
    assert set(tmp_path.iterdir()) == before, "the job left files behind"


def test_bad_input_does_not_delete_an_existing_folder(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("keep me", encoding="utf-8")
    result = run_cli(tmp_path, "scenario=baseline", "seed=-1")
    assert result.returncode != 0 and "seed = -1" in result.stderr
    assert (run_dir / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_intervention_parameters_that_are_not_a_mapping_stop_without_a_traceback(tmp_path):
    scenario = tmp_path / "bad_scenario.yaml"
    scenario.write_text("interventions:\n  adaptation: 0.5\n", encoding="utf-8")
    result = run_cli(tmp_path, f"scenario={scenario}", "n_households=200", "years=1")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "adaptation" in result.stderr
    assert not list(tmp_path.rglob("results.nc"))
