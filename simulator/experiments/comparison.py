"""Scenario comparisons: many scenarios x seeds, run in parallel, cached, and combined into one dataset.

Every run is identified by a key: a hash of everything that determines its result (the run config, the scenario and
outlook files as loaded, the world tables, the simulator version, the model's code). A finished run is stored once under
`<cache>/<key>/results.nc` with a checksum in its index (simulator/experiments/cache.py, both written atomically), so an
interrupted comparison or sweep keeps the runs it finished, rerunning the same command skips them, and a damaged entry
is computed again. Each run is seeded by its own config, so results do not depend on the number of workers or the
launcher.

Example:
    >>> import tempfile
    >>> from simulator.config import RunConfig
    >>> base = RunConfig(n_households=200, years=1, progress=False)
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     ds = compare(base, ["baseline", "obj5_more_places"], seeds=[0, 1], cache_dir=cache, workers=1)
    >>> dict(ds.sizes)["scenario"], dict(ds.sizes)["seed"]
    (2, 2)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from joblib import Parallel, delayed
from tqdm import tqdm

from simulator.version import __version__
from simulator.experiments.cache import ResultCache, code_fingerprint
from simulator.config import RunConfig
from simulator.experiments.processes import mark_job_process, watch_parent
from simulator.world.tables import default_world_path, world_folder
from simulator.experiments.runner import check_run, simulate
from simulator.policy.scenarios import load_scenario

# settings that cannot change a single run's numbers (the experiment around the run, display options)
NOT_IN_KEY = ("progress", "figures", "agent_view_limit", "threads", "compare", "mode", "sensitivity",
              "calibration", "hindcast", "emulate", "optimise")


def run_key(cfg: RunConfig) -> str:
    """A 16-hex-digit key of everything that determines the run's results: its settings, the scenario and outlook
    files as loaded, the world tables, the simulator version and the model's code (`cache.code_fingerprint`)."""
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in NOT_IN_KEY}
    scenario = load_scenario(cfg.scenario, climate_outlook=cfg.climate_outlook, labour_outlook=cfg.labour_outlook)
    world = world_folder(cfg.world) if cfg.world else default_world_path()
    tables = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(world.glob("*.csv"))}
    text = json.dumps({"settings": settings, "scenario": repr(scenario), "world": tables,
                       "version": __version__, "code": code_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_run(cfg: RunConfig, cache_dir: str | Path, config_text: str = "") -> Path:
    """Path of the run's verified results in the cache, simulating it first unless a whole entry is there."""
    cache = ResultCache(cache_dir)
    return cache.get(run_key(cfg)) or _compute(cfg, cache, config_text)


def _compute(cfg: RunConfig, cache: ResultCache, config_text: str = "") -> Path:
    """Simulate and store the run under its key as the inputs are now (a world table edited since the job started
    files it under a new key; `sensitivity.run_cached` then makes the runs filed under old keys again)."""
    return _compute_kept(cfg, cache, config_text)[0]


def _compute_kept(cfg: RunConfig, cache: ResultCache, config_text: str = "") -> tuple[Path, xr.Dataset]:
    """`_compute`, also returning the run's dataset as reading the stored file gives it (`as_stored`), so that a
    comparison combines the runs it computed without reading their files back."""
    watch_parent()   # in a worker process: stop if the job that started it is gone
    key = run_key(cfg)
    ds = simulate(cfg, config_text)
    return cache.put(key, ds), as_stored(ds)


def as_stored(ds: xr.Dataset) -> xr.Dataset:
    """The run's dataset `ds` as reading its results file (`write_netcdf`, then `_read`) gives it: the same variables,
    coordinates, values and dtypes, and attributes, which the file keeps as numpy numbers (a Python int comes back
    as numpy.int64, a float as numpy.float64); without the file's encoding, which `stack_runs` drops.
    tests/test_comparison.py checks this against the file for every kind of run."""
    out = ds.copy(deep=False)
    out.attrs = {k: np.int64(v) if isinstance(v, int) and not isinstance(v, bool)
                 else np.float64(v) if isinstance(v, float) else v for k, v in ds.attrs.items()}
    return out


def run_configs(base: RunConfig, scenarios: Sequence[str], seeds: Sequence[int]) -> list[RunConfig]:
    """One config per (scenario, seed), every other setting taken from `base`."""
    return [dataclasses.replace(base, scenario=s, seed=int(seed), progress=False, figures=False)
            for s in scenarios for seed in seeds]


def _config_text(cfg: RunConfig) -> str:
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)


def run_all(configs: Sequence[RunConfig], cache_dir: str | Path, workers: int = 0,
            progress: bool = True) -> list[Path]:
    """Run every config not yet in the cache, in parallel over `workers` processes (0 = all cores).

    Every run is checked before any starts (`runner.check_run`: config, scenario and world files, interventions
    against the world, memory for the runs at once), so bad input stops the job before it has spent anything.
    A damaged cache entry is computed again, with a warning.
    """
    return _run_all(configs, cache_dir, workers, progress)[0]


def _run_all(configs: Sequence[RunConfig], cache_dir: str | Path, workers: int = 0, progress: bool = True,
             keep: bool = False) -> tuple[list[Path], dict[Path, xr.Dataset]]:
    """`run_all`, and with `keep` the datasets of the runs it computed (`as_stored`), by results file."""
    cache = ResultCache(cache_dir)
    keys = [run_key(cfg) for cfg in configs]
    todo = [(cfg, key) for cfg, key in zip(configs, keys) if cache.get(key) is None]
    n_jobs = min(workers or os.cpu_count() or 1, max(len(todo), 1))
    checked = set()
    for cfg, _ in todo:
        what = _config_text(dataclasses.replace(cfg, seed=0))   # the seed cannot make a run invalid
        if what not in checked:
            check_run(cfg, runs_at_once=n_jobs)
            checked.add(what)
    computed: dict[Path, xr.Dataset] = {}
    if todo:
        mark_job_process()   # the workers stop if this process is killed
        task = _compute_kept if keep else _compute
        jobs = (delayed(task)(cfg, cache, _config_text(cfg)) for cfg, _ in todo)
        runner = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        with tqdm(total=len(configs), initial=len(configs) - len(todo), unit="run", desc="runs",
                  file=sys.stderr, disable=not progress) as bar:
            for result in runner(jobs):
                if keep:
                    computed[result[0]] = result[1]
                bar.update()
    return [cache.path(key) for key in keys], computed


def _read(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def stack_runs(runs: Sequence[xr.Dataset], labels: Sequence[str]) -> xr.Dataset:
    """Stack runs along `scenario` (one label per run) and `seed` (from each run's attributes).

    Runs of different packages have different interventions: every run gets the union of them, with zero cost for
    those it does not have.
    """
    names = sorted({str(n) for ds in runs for n in ds["intervention"].values})
    grid = _stack_grid(runs, labels, names)
    return grid if grid is not None else _stack_by_coords(runs, labels, names)


def _stack_by_coords(runs: Sequence[xr.Dataset], labels: Sequence[str], names: list[str]) -> xr.Dataset:
    """`stack_runs` by `xr.combine_by_coords`, for any set of runs."""
    stacked = [ds.drop_encoding().reindex(intervention=names, fill_value=0.0)
               .expand_dims(scenario=[label], seed=[int(ds.attrs["seed"])]) for ds, label in zip(runs, labels)]
    combined = xr.combine_by_coords(stacked, combine_attrs="drop_conflicts")
    combined = combined.sel(scenario=list(dict.fromkeys(labels)))   # the order the runs were given in
    combined.attrs.pop("seed", None)
    return combined


def _same_attr(a: object, b: object) -> bool:
    """Attribute values `combine_attrs="drop_conflicts"` keeps: equal, or both NaN."""
    return bool(a == b) or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


def _stack_grid(runs: Sequence[xr.Dataset], labels: Sequence[str], names: list[str]) -> xr.Dataset | None:
    """`stack_runs` of a full grid of runs (every label with every seed, once; two of each at least), built with
    numpy: the dataset `xr.combine_by_coords` gives, variable by variable and attribute by attribute, in the same
    order and with the same dtypes and indexes (tests/test_comparison.py compares the two), in a sixth of the time
    (combining 64 runs took about 0.9 s). None for anything else (runs that differ in more than their interventions,
    their attributes or their data; a grid with holes; a single row or column), which `combine_by_coords` handles."""
    order = list(dict.fromkeys(labels))
    pairs = [(label, int(ds.attrs["seed"])) for ds, label in zip(runs, labels)]
    seeds = sorted({seed for _, seed in pairs})
    if len(order) < 2 or len(seeds) < 2 or len(set(pairs)) != len(runs) or len(runs) != len(order) * len(seeds):
        return None   # (combine_by_coords orders the variables of a single row or column of runs differently)
    first = runs[0].drop_encoding()
    data_names, coord_names, sizes = list(first.data_vars), list(first.coords), dict(first.sizes)
    plain = (str, int, float, np.integer, np.floating)
    if not all(isinstance(v, plain) for ds in runs for v in ds.attrs.values()):
        return None
    for ds in runs:
        if (list(ds.data_vars) != data_names or list(ds.coords) != coord_names or list(ds.attrs) != list(first.attrs)
                or {d: n for d, n in ds.sizes.items() if d != "intervention"}
                != {d: n for d, n in sizes.items() if d != "intervention"}
                or len(set(ds["intervention"].values.tolist())) != ds.sizes["intervention"]
                or ds["intervention"].attrs != first["intervention"].attrs):
            return None
        for name in coord_names:
            a, b = ds.variables[name], first.variables[name]
            if name != "intervention" and not ((a.dims == b.dims and a.attrs == b.attrs
                                                and np.array_equal(a.values, b.values)) or a.identical(b)):
                return None
        for name in data_names:
            a, b = ds.variables[name], first.variables[name]
            if a.dims != b.dims or a.dtype != b.dtype or a.attrs != b.attrs or (
                    "intervention" in a.dims and not np.issubdtype(a.dtype, np.floating)):
                return None
    # the scenario and seed coordinates exactly as combine_by_coords makes them (and their order), from runs of nothing
    skeleton = xr.combine_by_coords([xr.Dataset({"n": ((), 0)}).expand_dims(scenario=[label], seed=[seed])
                                     for label, seed in pairs], combine_attrs="drop_conflicts").sel(scenario=order)
    by_pair = dict(zip(pairs, runs))
    keys = [(str(label), int(seed)) for label in skeleton["scenario"].values for seed in skeleton["seed"].values]
    if set(keys) != set(by_pair):
        return None
    position = {name: j for j, name in enumerate(names)}
    data_vars = {}
    for name in data_names:
        dims = first.variables[name].dims
        arrays = []
        for key in keys:
            ds = by_pair[key]
            a = ds.variables[name].values
            if "intervention" in dims:   # the union of the interventions, zero cost where a run has none
                axis = dims.index("intervention")
                full = np.zeros(a.shape[:axis] + (len(names),) + a.shape[axis + 1:], a.dtype)
                full[(slice(None),) * axis + ([position[str(x)] for x in ds["intervention"].values],)] = a
                a = full
            arrays.append(a)
        data = np.stack(arrays).reshape((len(order), len(seeds)) + arrays[0].shape)
        data_vars[name] = (("scenario", "seed") + dims, data, dict(first.variables[name].attrs))
    coords = {}
    # reindexing a run to interventions it does not have puts its dimension coordinates first: if any run was,
    # combine_by_coords gives them first; else their own order
    same = all(ds["intervention"].values.tolist() == names for ds in runs)
    order_of_coords = coord_names if same else ([c for c in coord_names if c in first.dims]
                                                + [c for c in coord_names if c not in first.dims])
    for name in order_of_coords:
        coords[name] = (first.variables[name] if name != "intervention" or same
                        else ("intervention", names, dict(first["intervention"].attrs)))
    attrs = {k: v for k, v in first.attrs.items() if k != "seed" and all(_same_attr(ds.attrs[k], v) for ds in runs)}
    return xr.Dataset(data_vars, coords=skeleton.drop_vars("n").coords, attrs=attrs).assign_coords(coords)


def combine(paths: Sequence[Path]) -> xr.Dataset:
    """Runs combined along `scenario` and `seed` (their attributes become coordinates)."""
    runs = [_read(path) for path in paths]
    return stack_runs(runs, [str(ds.attrs["scenario"]) for ds in runs])


def load_results(folder: str | Path, name: str = "results.nc") -> xr.Dataset:
    """Read every `name` file under `folder` and combine them along `scenario` and `seed`.

    Each run's `scenario` and `seed` attributes become coordinates; a single run comes back with both dims of
    length one. Runs with different interventions share the union of them (zero cost where absent). Attributes
    that differ between runs (such as the config) are dropped from the combined dataset.
    """
    files = sorted(Path(folder).rglob(name))
    if not files:
        raise FileNotFoundError(f"no {name} under {folder}")
    return combine(files)


def compare(base: RunConfig, scenarios: Sequence[str], seeds: Sequence[int], cache_dir: str | Path,
            workers: int = 0, progress: bool = False) -> xr.Dataset:
    """Run (or reuse) every scenario x seed and return the comparison dataset.

    The dataset has the output contract's variables with dims `scenario` and `seed` added, and attributes listing the
    scenarios, the seeds, and the shared settings.
    """
    configs = run_configs(base, scenarios, seeds)
    paths, computed = _run_all(configs, cache_dir, workers, progress, keep=True)
    runs = [computed[path] if path in computed else _read(path) for path in paths]   # read only the cached runs
    ds = stack_runs(runs, [str(run.attrs["scenario"]) for run in runs])
    shared = {k: v for k, v in dataclasses.asdict(base).items() if k not in ("scenario", "seed") + NOT_IN_KEY}
    ds.attrs.update({"title": "Migration flow scenario comparison", "scenarios": ", ".join(scenarios),
                     "seeds": ", ".join(str(s) for s in seeds), "simulator_version": __version__,
                     "config": json.dumps(shared, sort_keys=True, default=str),
                     "scenario_definitions": definitions({s: (s, base.climate_outlook, base.labour_outlook)
                                                          for s in scenarios})})
    return ds


def definitions(scenario_of: dict[str, tuple[str, str | None, str | None]]) -> str:
    """JSON of each label's scenario (name, climate outlook, labour outlook; None: the scenario's own) in full
    (`Scenario.definition`: description, outlooks, every intervention setting), for the `scenario_definitions`
    attribute: a dataset names what each of its packages was."""
    return json.dumps({label: load_scenario(name, climate_outlook=climate, labour_outlook=labour).definition()
                       for label, (name, climate, labour) in scenario_of.items()}, sort_keys=True, default=str)


def merge_sweep(folder: str | Path) -> tuple[xr.Dataset, str]:
    """Combine the runs of a Hydra sweep folder into one dataset; return it and the label of its reference run.

    The overrides that vary between jobs (from each job's `.hydra/overrides.yaml`), other than the seed, form each
    run's label, used as the `scenario` coordinate ("baseline", or
    "scenario=combined,model.decisions.credit_fraction=0.4" when more than the scenario varies); each swept parameter
    other than the scenario is also a coordinate along `scenario`. The reference is the first label whose scenario is
    `baseline`, else the first label.
    """
    import yaml   # only needed here

    jobs = []
    def job_number(path: Path) -> tuple[int, str]:
        head = path.parent.name.split("_", 1)[0]
        return (int(head) if head.isdigit() else 0, path.parent.name)

    for path in sorted(Path(folder).glob("*/results.nc"), key=job_number):
        overrides_file = path.parent / ".hydra" / "overrides.yaml"
        overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else []
        jobs.append((path, dict(o.split("=", 1) for o in overrides if "=" in o)))
    if not jobs:
        raise FileNotFoundError(f"no */results.nc under {folder}")
    keys = list(dict.fromkeys(k for _, pairs in jobs for k in pairs if k != "seed"))
    varying = [k for k in keys if len({pairs.get(k) for _, pairs in jobs}) > 1]
    runs, labels, values = [], [], {k: {} for k in varying if k != "scenario"}
    for path, pairs in jobs:
        ds = _read(path)
        if varying == ["scenario"]:
            label = str(ds.attrs["scenario"])
        else:
            label = ",".join(f"{k}={pairs.get(k, '')}" for k in varying) or str(ds.attrs["scenario"])
        for key in values:
            values[key][label] = pairs.get(key, "")
        runs.append(ds)
        labels.append(label)
    combined = stack_runs(runs, labels)
    order = list(dict.fromkeys(labels))
    for key, by_label in values.items():
        combined = combined.assign_coords({key: ("scenario", [by_label[label] for label in order])})
    combined.attrs["title"] = "Migration flow sweep"
    seeds = sorted({int(s) for s in combined["seed"].values})
    combined.attrs["seeds"] = ", ".join(str(s) for s in seeds)
    scenario_of = {label: (pairs.get("scenario") or str(ds.attrs.get("scenario", "baseline")),
                           *(None if pairs.get(k) in (None, "", "null") else pairs[k]
                             for k in ("climate_outlook", "labour_outlook")))
                   for label, (_, pairs), ds in zip(labels, jobs, runs)}
    try:
        combined.attrs["scenario_definitions"] = definitions(scenario_of)
    except Exception:   # noqa: BLE001 - a scenario file since removed or renamed: its runs are still reported
        pass
    baseline = [label for label, (_, pairs) in zip(labels, jobs) if pairs.get("scenario", "baseline") == "baseline"]
    return combined, (baseline or order)[0]
