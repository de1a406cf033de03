"""The main job: comparison across scenarios and seeds, caching and resuming, sweeps, and the report."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator.experiments.comparison import compare, merge_sweep, run_configs, run_key
from simulator.config import RunConfig
from simulator.experiments.metrics import corridor_totals, paired_differences, paired_effects, run_metrics
from simulator.present.report import write_report

ROOT = Path(__file__).resolve().parent.parent
SMALL = RunConfig(n_households=300, years=2, progress=False)
PACKAGES = ["baseline", "obj5_more_places", "enforcement_only"]


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> xr.Dataset:
    return compare(SMALL, PACKAGES, seeds=[0, 1, 2], cache_dir=tmp_path_factory.mktemp("cache"), workers=2)


def test_comparison_has_the_contract_dims(comparison):
    assert comparison["emigrants"].dims[:2] == ("scenario", "seed")
    assert set(comparison["emigrants"].dims) == {"scenario", "seed", "time", "origin", "destination", "pathway"}
    for name in ("deaths", "trapped", "population", "remittances"):
        assert set(comparison[name].dims) == {"scenario", "seed", "time", "origin"}
    assert comparison["scenario"].values.tolist() == PACKAGES
    assert comparison["seed"].values.tolist() == [0, 1, 2]
    # interventions are the union over packages, with zero cost where a package does not have one
    assert comparison["intervention"].values.tolist() == ["enforcement", "quota_expansion"]
    assert float(comparison.intervention_cost.sel(scenario="baseline").sum()) == 0


def test_each_slice_equals_its_single_run(comparison):
    from simulator.experiments.runner import simulate
    import dataclasses
    one = simulate(dataclasses.replace(SMALL, scenario="obj5_more_places", seed=1))
    got = comparison["emigrants"].sel(scenario="obj5_more_places", seed=1).transpose(*one["emigrants"].dims)
    np.testing.assert_array_equal(got.values, one["emigrants"].values)


def test_results_do_not_depend_on_the_number_of_workers(comparison, tmp_path):
    serial = compare(SMALL, PACKAGES, seeds=[0, 1, 2], cache_dir=tmp_path, workers=1)
    xr.testing.assert_equal(serial, comparison)


def test_cache_key_changes_with_what_changes_results():
    base, other_seed, other_scenario = run_configs(SMALL, ["baseline"], [0])[0], *run_configs(
        SMALL, ["baseline", "combined"], [1])[:1], run_configs(SMALL, ["combined"], [0])[0]
    import dataclasses
    assert run_key(base) != run_key(other_seed) != run_key(other_scenario)
    faster = dataclasses.replace(base, progress=True, figures=True)
    assert run_key(base) == run_key(faster)   # display settings do not change results
    dearer = dataclasses.replace(base, model=dataclasses.replace(
        base.model, regular=dataclasses.replace(base.model.regular, fee_usd=5000.0)))
    assert run_key(dearer) != run_key(base)


def test_resumed_comparison_equals_an_uninterrupted_one(comparison, tmp_path):
    cache = tmp_path / "cache"
    compare(SMALL, PACKAGES, seeds=[0, 1, 2], cache_dir=cache, workers=1)
    runs = sorted(cache.glob("*/results.nc"))
    assert len(runs) == 9
    for lost in runs[::2]:          # as if the job had been killed before these finished
        lost.unlink()
    kept = {p: p.stat().st_mtime_ns for p in runs[1::2]}
    resumed = compare(SMALL, PACKAGES, seeds=[0, 1, 2], cache_dir=cache, workers=1)
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())   # finished runs were not redone
    xr.testing.assert_equal(resumed, comparison)


def assert_same_dataset(a: xr.Dataset, b: xr.Dataset) -> None:
    """`a` and `b` identical (values, dims, coordinates, attributes), and alike in what assert_identical does not
    check: the order of variables, coordinates and attributes, dtypes, encodings, the types of attribute values and
    the indexes (so that files written from them are the same too)."""
    xr.testing.assert_identical(a, b)
    assert list(a.variables) == list(b.variables) and list(a.coords) == list(b.coords)
    assert list(a.dims) == list(b.dims) and list(a.attrs) == list(b.attrs)
    assert [type(v) for v in a.attrs.values()] == [type(v) for v in b.attrs.values()]
    for name, var in a.variables.items():
        other = b.variables[name]
        assert (var.dtype, var.dims, list(var.attrs), var.encoding) == (other.dtype, other.dims, list(other.attrs),
                                                                        other.encoding), name
    assert list(a.xindexes) == list(b.xindexes)
    for name, index in a.xindexes.items():
        other = b.xindexes[name]
        assert type(index) is type(other) and index.index.dtype == other.index.dtype, name
        assert index.index.equals(other.index) and index.index.name == other.index.name, name


@pytest.mark.parametrize("scenario,world", [("baseline", None), ("combined", None), ("enforcement_only", "one_city"),
                                            ("obj5_flexible_pathways", "bangladesh")])
def test_a_run_kept_in_memory_equals_its_file(scenario, world, tmp_path):
    """compare() combines the runs it computes from memory (comparison.as_stored) and those it finds in the cache
    from their files: both must give the same dataset."""
    import dataclasses
    from simulator.experiments.comparison import _read, as_stored
    from simulator.experiments.runner import simulate
    from simulator.model.outputs import write_netcdf

    ds = simulate(dataclasses.replace(SMALL, scenario=scenario, world=world), "config text")
    assert_same_dataset(as_stored(ds), _read(write_netcdf(ds, tmp_path / "results.nc")).drop_encoding())


def test_stacking_a_grid_equals_combine_by_coords():
    """stack_runs builds a full grid of runs with numpy (comparison._stack_grid): the same dataset, in every
    respect, as xr.combine_by_coords makes of them (comparison._stack_by_coords), with interventions that differ
    between packages, the same in every run or none in any, and runs given in any order."""
    import dataclasses
    import warnings
    from simulator.experiments.comparison import _stack_by_coords, _stack_grid, as_stored, stack_runs
    from simulator.experiments.runner import simulate

    runs = {(s, k): as_stored(simulate(dataclasses.replace(SMALL, years=1, scenario=s, seed=k)))
            for s in (*PACKAGES, "combined") for k in (0, 1, 2)}
    grids = [[(s, s, k) for s in PACKAGES for k in (0, 1, 2)],
             [(s, s, k) for s in ("baseline", "combined") for k in (2, 0)],
             [(label, "baseline", k) for label in ("a", "b") for k in (0, 1)],   # no interventions in any run
             [(label, "combined", k) for label in ("a", "b") for k in (0, 1)],   # the same ones in every run
             [(s, s, k) for s in ("combined", "obj5_more_places", "baseline") for k in (1, 0)]]
    for grid in grids:
        grid = grid[::-1]
        labels, chosen = [label for label, _, _ in grid], [runs[s, k] for _, s, k in grid]
        names = sorted({str(n) for ds in chosen for n in ds["intervention"].values})
        assert _stack_grid(chosen, labels, names) is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            assert_same_dataset(stack_runs(chosen, labels), _stack_by_coords(chosen, labels, names))


def test_paired_effects_against_baseline(comparison):
    e = paired_effects(comparison)
    assert set(e["stat"].values) == {"mean", "low", "high", "baseline"}
    assert (e.sel(scenario="baseline", stat="mean").to_array() == 0).all()
    m = run_metrics(comparison)
    diff = (m["regular"].sel(scenario="obj5_more_places") - m["regular"].sel(scenario="baseline")).mean("seed")
    assert float(e["regular"].sel(scenario="obj5_more_places", stat="mean")) == pytest.approx(float(diff))
    lo, hi = (float(e["regular"].sel(scenario="obj5_more_places", stat=s)) for s in ("low", "high"))
    assert lo <= float(diff) <= hi


def test_corridor_effects_are_paired_differences(comparison):
    """The corridor tables' figures: per run totals of each corridor, then the mean paired difference against the
    baseline with its t interval and the baseline's level."""
    totals = corridor_totals(comparison)
    np.testing.assert_array_equal(totals["departures"].sum("destination"),
                                  comparison["emigrants"].sum(["time", "origin", "destination"]))
    e = paired_differences(totals)
    channel = str(totals["channel_granted"].sum(["scenario", "seed"]).idxmax("channel").values)   # the busiest
    granted = totals["channel_granted"].sel(channel=channel)
    assert float(granted.sum()) > 0
    diff = granted.sel(scenario="obj5_more_places") - granted.sel(scenario="baseline")
    got = e["channel_granted"].sel(channel=channel, scenario="obj5_more_places")
    half = 4.302652729911275 * float(diff.std("seed", ddof=1)) / np.sqrt(3)   # t(0.975, 2 degrees of freedom)
    assert float(got.sel(stat="mean")) == pytest.approx(float(diff.mean()))
    assert float(got.sel(stat="high") - got.sel(stat="mean")) == pytest.approx(half)
    assert float(got.sel(stat="baseline")) == pytest.approx(float(granted.sel(scenario="baseline").mean()))
    # a DataArray works the same way
    xr.testing.assert_allclose(paired_differences(totals["route_deaths"]), e["route_deaths"])


def _row(text: str, label: str) -> list[str]:
    """The cells of the Markdown table row of `text` that starts with `label`."""
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_report_is_produced_from_a_dataset_alone(comparison, tmp_path):
    """The HTML and Markdown reports, built from a saved comparison.nc alone: their sections, and their numbers
    recomputed here from the dataset (the paired differences per 1,000 households and for the world, the welfare of
    the poorest quintile, the remittance cost of SDG 10.c.1, the corridors)."""
    from simulator.model.outputs import write_netcdf
    from simulator.present.report import _fmt, _interval

    write_netcdf(comparison, tmp_path / "comparison.nc")
    with xr.open_dataset(tmp_path / "comparison.nc", engine="netcdf4") as ds:
        ds = ds.load()
    report = write_report(ds, tmp_path / "report")
    text = report.read_text()
    page = (tmp_path / "report" / "report.html").read_text()
    for title in ("Decision summary", "What one million USD buys", "Who gains and who loses",
                  "Consumption-equivalent welfare by wealth quintile", "SDG 10.7.1", "SDG 10.c.1",
                  "Effects against baseline, all outcomes", "Corridors: where migrants go", "Trade-offs", "Figures"):
        assert title in text and title in page, title
    assert text.index("Decision summary") < text.index("Who gains")   # the report opens with the decision
    assert "**Not a forecast.**" in text and "is invented" in text
    # the paired differences per 1,000 households and for the world's households, as in the summary's tables
    n, world = ds.attrs["n_households"], ds.attrs["world_households"]
    assert world > 0
    m = run_metrics(ds)
    for name, column in (("regular", 4), ("irregular", 1), ("trapped", 3)):
        diff = (m[name].sel(scenario="obj5_more_places") - m[name].sel(scenario="baseline")).values
        half = 4.302652729911275 * diff.std(ddof=1) / np.sqrt(3)   # t(0.975, 2 degrees of freedom)
        cells = [cell.removesuffix(" ✔").removesuffix(" ✘") for cell in _row(text, "**obj5_more_places**")]
        k = 1000 / n
        assert cells[column] == _interval(diff.mean() * k, (diff.mean() - half) * k, (diff.mean() + half) * k), name
        assert _interval(diff.mean() * world / n, (diff.mean() - half) * world / n,
                         (diff.mean() + half) * world / n) in text, name
    # consumption-equivalent welfare of the poorest fifth: exp of the mean paired change in mean log consumption
    log_c = ds["log_consumption_by_quintile"].sel(wealth_quintile="Q1").mean("time")
    d = (log_c.sel(scenario="enforcement_only") - log_c.sel(scenario="baseline")).values
    half = 4.302652729911275 * d.std(ddof=1) / np.sqrt(3)
    welfare = _row(text, "**enforcement_only**: welfare change (%)")[1]
    assert welfare == _interval(*(100 * np.expm1(x) for x in (d.mean(), d.mean() - half, d.mean() + half)))
    # SDG 10.c.1: fees over the amount sent, mean across seeds
    fees = ds["remittance_fees"].sel(scenario="baseline").sum(["time", "origin"])
    sent = fees + ds["remittances"].sel(scenario="baseline").sum(["time", "origin"])
    assert _row(text, "remittance cost, % of the amount sent")[1] == _fmt(float((100 * fees / sent).mean()))
    # each corridor: the world's cities and destinations, its channels and routes with a flow in some run (only those)
    section = text[text.index("## Corridors: where migrants go"):text.index("## Trade-offs")]
    for row in ("| Capital, internal |", "| Port City, internal |", "| Neighbourland, regular |"):
        assert row in section, row
    totals = corridor_totals(ds)
    for channel in ds["channel"].values:
        assert (f"| {channel} |" in section) == (float(totals["channel_granted"].sel(channel=channel).sum()) > 0)
    for route in ds["route"].values:
        assert (f"| {route}: journeys |" in section) == (float(totals["route_departures"].sel(route=route).sum()) > 0)
    irregular = float(ds["route_departures"].sum())
    assert ("**Irregular routes: journeys begun and deaths**: none in any package." in section) == (irregular == 0)
    # figures: PNG files beside the Markdown, embedded in the HTML, which links to nothing outside itself
    pngs = ("effects", "departures_by_pathway", "irregular_share", "deaths", "trapped", "remittances", "visas",
            "departures_by_destination", "welfare_by_quintile", "flows_map")
    for png in pngs:
        assert (tmp_path / "report" / f"{png}.png").stat().st_size > 10_000
        assert f"({png}.png)" in text
    assert page.count('src="data:image/png;base64,') == len(pngs)
    assert "http://" not in page and "https://" not in page and 'src="' not in page.replace('src="data:', "")
    # a report on another world does not call it invented
    write_report(ds.assign_attrs(world="bangladesh"), tmp_path / "other")
    assert "is invented" not in (tmp_path / "other" / "report.md").read_text()


def test_report_with_figures_drawn_in_worker_processes_is_the_same(comparison, tmp_path):
    """`workers=2` draws the figures in two processes while the tables are made: the same Markdown, and the same
    HTML, whose embedded figures are the PNG files byte for byte."""
    serial = write_report(comparison, tmp_path / "serial")
    parallel = write_report(comparison, tmp_path / "parallel", workers=2)
    assert parallel.read_text() == serial.read_text()
    assert (parallel.parent / "report.html").read_bytes() == (serial.parent / "report.html").read_bytes()
    assert sorted(p.name for p in parallel.parent.iterdir()) == sorted(p.name for p in serial.parent.iterdir())


@pytest.mark.parametrize("fast", [True, False])
def test_a_job_process_exits_without_collecting_its_cyclic_garbage(fast):
    """`processes.exit_fast` (called by run.py and in every worker): the interpreter's last collection of cyclic
    garbage is skipped at exit, so an object in a reference cycle is not finalised; without it, it is."""
    script = "\n".join([
        "import gc, sys",
        "from simulator.experiments.processes import exit_fast",
        *(["exit_fast()"] if fast else []),
        "gc.disable()",
        "class Cycle:",
        "    def __del__(self): sys.stdout.write('collected\\n')",
        "c = Cycle(); c.me = c; del c",
        "print('end')"])
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == (["end"] if fast else ["end", "collected"])


def test_report_refuses_a_dataset_without_the_outputs_it_needs(comparison, tmp_path):
    with pytest.raises(ValueError, match="channel_costs.*older version"):
        write_report(comparison.drop_vars("channel_costs"), tmp_path)


@pytest.mark.slow
def test_main_job_resumes_after_being_killed(tmp_path):
    """Kill `python run.py` part-way, rerun the same command: the finished runs are kept and the result equals an
    uninterrupted run's."""
    args = [sys.executable, "run.py", "n_households=400", "years=3", "compare.seeds=3", "compare.workers=1",
            "compare.scenarios=[baseline,obj2_adaptation,obj5_more_places,combined]"]
    cache = tmp_path / "cache"
    first = args + [f"compare.cache_dir={cache}", f"hydra.run.dir={tmp_path / 'first'}"]
    proc = subprocess.Popen(first, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(cache.glob("*/results.nc"))) < 3 and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    finished = len(list(cache.glob("*/results.nc")))
    assert 3 <= finished < 12, finished
    assert not (tmp_path / "first" / "comparison.nc").exists()
    subprocess.run(first, cwd=ROOT, check=True, capture_output=True)
    assert len(list(cache.glob("*/results.nc"))) == 12
    fresh = args + [f"compare.cache_dir={tmp_path / 'fresh_cache'}", f"hydra.run.dir={tmp_path / 'fresh'}"]
    subprocess.run(fresh, cwd=ROOT, check=True, capture_output=True)
    with xr.open_dataset(tmp_path / "first" / "comparison.nc") as a, \
            xr.open_dataset(tmp_path / "fresh" / "comparison.nc") as b:
        xr.testing.assert_equal(a.load(), b.load())
    assert (tmp_path / "first" / "report.md").is_file()


@pytest.mark.slow
def test_hydra_sweep_is_merged_with_swept_parameters_as_coordinates(tmp_path):
    cmd = [sys.executable, "run.py", "-m", "scenario=baseline", "model.decisions.credit_fraction=0.2,0.4", "seed=0,1",
           "n_households=300", "years=1", "figures=false", f"hydra.sweep.dir={tmp_path}",
           f"compare.cache_dir={tmp_path / 'cache'}"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    with xr.open_dataset(tmp_path / "sweep.nc") as ds:
        ds = ds.load()
    assert ds.sizes["scenario"] == 2 and ds.sizes["seed"] == 2
    assert sorted(ds["model.decisions.credit_fraction"].values.tolist()) == ["0.2", "0.4"]
    assert (tmp_path / "report.md").is_file()
    again, reference = merge_sweep(tmp_path)
    xr.testing.assert_equal(again, ds)
    assert reference == "model.decisions.credit_fraction=0.2"   # the first job
