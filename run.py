"""Run the migration simulator from the command line (Hydra).

    python run.py --help                            # what there is to choose from, and these examples
    python run.py                                   # the main job: compare the policy packages across seeds
    python run.py scenario=obj5_more_places seed=3  # one simulation of one scenario
    python run.py scenario=baseline climate_outlook=severe model.decisions.credit_fraction=0.4
    python run.py -m scenario=baseline,combined seed='range(0,5)'   # a Hydra sweep, merged with a report
    python run.py -m hydra/launcher=cores scenario=baseline,combined seed='range(0,5)'   # the same on all cores
    python run.py --cfg job                         # print the resolved config without running
    python run.py experiment=sensitivity            # Morris and Sobol' sensitivity analysis (outputs/sensitivity/)
    python run.py experiment=calibrate              # calibrate behaviour on the validation cases (outputs/calibration/)
    python run.py experiment=calibrate_moments      # fit parameters to moments of your data (outputs/calibration/)
    python run.py experiment=hindcast world=bangladesh   # fit on 2015-2019, score 2020-2024 (outputs/hindcast/)
    python run.py experiment=emulate                # emulators of the outcomes over policy levers (outputs/emulate/)
    python run.py experiment=optimise               # Pareto front of portfolios under a budget (outputs/optimise/)

Outputs go to outputs/comparisons/<time>/ (comparison.nc, report.md, figures), outputs/runs/<time>_<scenario>_seed<n>/
(results.nc, figures) or outputs/sweeps/<time>/ (a folder per run, sweep.nc, report.md). A job ends by printing the
absolute paths of what it wrote, one a line: `report: ...` (report.html, report.md), `dataset: ...` (the .nc file),
`figures: ...`. Finished runs are kept in outputs/cache/ so that an interrupted comparison or sweep resumes where it
stopped when the same command is rerun.

Every job the command would run is composed and checked before any of them starts: bad input (an unknown key, a
misspelt name of a scenario, outlook, world or experiment, a value of the wrong type or out of range, a malformed world
table, a run too large for this machine's memory) stops with one line naming the field, the value and what is allowed
(with the closest valid keys or names), exit code 2, and leaves no folder behind. Ctrl-C (or SIGTERM) stops the job
and its workers with one line and exit code 130 (143); the same command then resumes it. A job folder holds
INCOMPLETE.txt until its job has finished, so a job killed outright is marked as such.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import difflib
import inspect
import logging
import os
import re
import shutil
import signal
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import hydra
from hydra.conf import HydraConf
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError
import xarray as xr
import yaml

from simulator.experiments.cache import ResultCache
from simulator.experiments.comparison import cached_run, compare, merge_sweep
from simulator.config import RunConfig, unknown_keys, validate_run
from simulator.errors import ConfigError, InputError, WorldError
from simulator.model.outputs import write_netcdf
from simulator.policy.interventions import REGISTRY
from simulator.present.plotting import save_figures
from simulator.experiments.processes import exit_fast, mark_job_process
from simulator.present.report import read_front, write_report
from simulator.experiments.runner import check_run, save_run, simulate

ROOT = Path(__file__).resolve().parent
ConfigStore.instance().store(name="run_schema", node=RunConfig)

INCOMPLETE = "INCOMPLETE.txt"   # in a job folder until its job has finished
FAILED = "FAILED.txt"           # in the folder of a sweep's job that stopped on bad input, with the message
EXIT_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 130, 143


def run_folder(scenario: str | None, seed: int, now: str) -> str:
    """The run folder under outputs/: a comparison when no scenario is given, else one run."""
    return f"comparisons/{now}" if scenario is None else f"runs/{now}_{Path(str(scenario)).stem}_seed{seed}"


def unique_folder(path: str) -> str:
    """`path`, or `path_2`, `path_3`... if that folder exists: the folder is created here, so that two jobs started
    in the same second never share one. As a resolver (`hydra.run.dir`), its answer is cached in the config, as
    Hydra caches `now`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    candidate, n = path, 1
    while True:
        try:
            Path(candidate).mkdir()
            return candidate
        except FileExistsError:
            n += 1
            candidate = f"{path}_{n}"


OmegaConf.register_new_resolver("run_folder", run_folder, replace=True)
OmegaConf.register_new_resolver("unique_folder", unique_folder, replace=True, use_cache=True)


class SweepReport(Callback):
    """Before a Hydra sweep (-m), give it a folder of its own; after it, merge its runs into sweep.nc and write the
    report next to them, or, if any job did not finish, say which, why and what to do (no sweep.nc, exit code 2)."""

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        hydra_overrides = list(config.hydra.overrides.hydra)
        if any(o.startswith("hydra.sweep.dir=") for o in hydra_overrides):
            # the user's own folder, perhaps of an earlier attempt at this sweep: its jobs run again now
            for mark in (INCOMPLETE, FAILED):
                for path in Path(config.hydra.sweep.dir).glob(f"*/{mark}"):
                    path.unlink(missing_ok=True)
            return
        try:
            folder = unique_folder(str(config.hydra.sweep.dir))
        except OSError:
            return   # the launcher's own attempt fails next, and says why (cli)
        # every job's config is composed again from these overrides, in this process or on a cluster's node
        with read_write(config.hydra), open_dict(config.hydra):
            config.hydra.sweep.dir = folder
            config.hydra.overrides.hydra = [*hydra_overrides, f"hydra.sweep.dir={folder}"]

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        folder = Path(config.hydra.sweep.dir)
        unfinished = sorted(p.parent for p in folder.glob(f"*/{INCOMPLETE}"))
        if unfinished:
            reasons = [(p / FAILED).read_text(encoding="utf-8").strip() if (p / FAILED).is_file()
                       else "it stopped before finishing" for p in unfinished]
            finished = len(list(folder.glob("*/results.nc")))
            print(f"error: {len(unfinished)} job(s) of the sweep did not finish: "
                  + "; ".join(f"{p.name}: {why}" for p, why in zip(unfinished, reasons))
                  + f". The {finished} finished run(s) are kept in the result cache: fix the input and run the same "
                    f"command again, and only the missing runs are computed (no sweep.nc was written)",
                  file=sys.stderr)
            raise SystemExit(EXIT_INPUT)
        if config.get("mode") == "emulate":   # a sweep over an emulation's design points (emulate.point)
            print(f"{len(list(folder.glob('*/results.nc')))} runs of the emulation's design are in the result cache; "
                  "the same command without -m and emulate.point reads them and fits the emulators")
            return
        try:
            ds, reference = merge_sweep(folder)
        except FileNotFoundError:
            return   # every job failed: their messages were printed already
        ds.attrs["config"] = OmegaConf.to_yaml(config, resolve=False)   # the sweep's own config and overrides
        write_with_report(ds, folder / "sweep.nc", reference if ds.sizes["seed"] > 1 and ds.sizes["scenario"] > 1
                          else None)
        print("\n".join(written(folder, folder / "sweep.nc")))


def written(folder: Path, main: Path) -> list[str]:
    """The closing lines of a job: what it wrote into its `folder`, by kind, with absolute paths, one a line.

    Reports (`report:`, HTML before Markdown) and datasets (`dataset:`, the .nc files) are found in the folder after
    the job, whatever wrote them; then other results (`results:`, JSON), configs made for reuse (`config:`,
    experiment/*.yaml) and the folders holding its figures (`figures:`, with the number of PNG files). `main`, the
    job's main output, is named even if it is of none of these kinds: e.g. `report: /abs/.../report.md`,
    `dataset: /abs/.../comparison.nc`, `figures: /abs/.../ (7 PNG files)`.
    """
    folder = folder.absolute()
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    kinds = [("report", [p for p in files if p.suffix == ".html"] + [p for p in files if p.suffix == ".md"]),
             ("dataset", [p for p in files if p.suffix == ".nc"]),
             ("results", [p for p in files if p.suffix == ".json"]),
             ("config", sorted(folder.glob("experiment/*.yaml")))]
    lines = [f"{kind}: {p}" for kind, paths in kinds for p in paths]
    if not any((folder / main).resolve() == p.resolve() for _, paths in kinds for p in paths):
        lines.append(f"wrote: {(folder / main).absolute()}")
    for place in (folder, folder / "figures"):
        n = len(list(place.glob("*.png")))
        if n:
            lines.append(f"figures: {place}{os.sep} ({n} PNG file{'s' if n > 1 else ''})")
    return lines


def clean_up(folder: Path) -> None:
    """Remove a job folder that holds nothing but what Hydra wrote on starting the job and our INCOMPLETE mark (no
    half-made runs are left behind); a folder with anything else in it, such as a user's folder given as
    hydra.run.dir, is kept (without the mark)."""
    (folder / INCOMPLETE).unlink(missing_ok=True)
    hydra_files = {".hydra", f"{HydraConfig.get().job.name}.log"}
    if folder.is_dir() and {p.name for p in folder.iterdir()} <= hydra_files:
        shutil.rmtree(folder, ignore_errors=True)


def experiment(cfg: RunConfig, output_dir: Path, cache_dir: Path) -> Path:
    """`mode: sensitivity`, `mode: calibrate`, `mode: hindcast`, `mode: emulate` or `mode: optimise`
    (simulator/experiments/sensitivity.py, calibration.py, hindcast.py, emulate.py, optimise.py)."""
    if cfg.mode == "sensitivity":
        from simulator.experiments.sensitivity import run_sensitivity, write_sensitivity
        return write_sensitivity(run_sensitivity(cfg, cache_dir, progress=cfg.progress), output_dir)
    if cfg.mode == "hindcast":
        from simulator.experiments.hindcast import hindcast_experiment
        return hindcast_experiment(cfg, output_dir, cache_dir)
    if cfg.mode == "emulate":
        from simulator.experiments.emulate import run_emulate, write_emulate
        return write_emulate(*run_emulate(cfg, cache_dir, progress=cfg.progress), output_dir)
    if cfg.mode == "optimise":
        from simulator.experiments.optimise import optimise_experiment
        return optimise_experiment(cfg, output_dir, cache_dir)
    from simulator.experiments.calibration import run_calibration, write_calibration
    return write_calibration(run_calibration(cfg, cache_dir, progress=cfg.progress), output_dir)


def check_job(cfg: RunConfig, multirun: bool) -> None:
    """Every check of the job that needs no simulation (see runner.check_run), for each run it would make."""
    if cfg.mode != "run":
        if multirun and not (cfg.mode == "emulate" and cfg.emulate.point is not None):
            raise ConfigError("mode", cfg.mode, "mode run in a sweep (-m); a sensitivity analysis, calibration, "
                              "hindcast, emulation or optimisation runs its samples in parallel itself: start it "
                              "without -m (an emulation's design points can be swept: emulate.point=...)")
        validate_run(cfg)
        if cfg.mode == "emulate":
            from simulator.experiments.emulate import check_emulate
            check_emulate(cfg)
        if cfg.mode == "optimise":
            from simulator.experiments.optimise import check_optimise
            check_optimise(cfg)
    elif cfg.scenario is None and not multirun:
        c = cfg.compare
        validate_run(dataclasses.replace(cfg, scenario=c.baseline))
        if c.front:
            read_front(Path.cwd() / c.front)
        at_once = min(c.workers or os.cpu_count() or 1, len(c.scenarios) * c.seeds)
        for scenario in c.scenarios:
            check_run(dataclasses.replace(cfg, scenario=scenario), runs_at_once=at_once)
    else:
        check_run(dataclasses.replace(cfg, scenario=cfg.scenario or "baseline"))


def write_with_report(ds: xr.Dataset, path: Path, baseline: str | None, front: xr.Dataset | None = None,
                      front_source: str = "", workers: int = 1) -> Path:
    """Write the dataset `ds` to `path` and, unless `baseline` is None, the report beside it, at the same time: the
    file's compression runs in the HDF5 library, outside Python's lock, while the report is made, its figures drawn
    by `workers` processes (`report.draw_figures`). Each is written atomically; an error in either is raised once
    both have ended. `front`: the front of experiment=optimise (`read_front`, from the file `front_source`), for
    the report's section on the budget question."""
    if baseline is None:
        return write_netcdf(ds, path)
    with ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(write_netcdf, ds, path)
        try:
            write_report(ds, path.parent, baseline=baseline, front=front, front_source=front_source,
                         workers=workers)
        finally:
            wait([written])
    return written.result()


def copy_run(cached: Path, output_dir: Path) -> Path:
    """A run's results file from the cache copied, atomically, to `output_dir`/results.nc."""
    path = output_dir / "results.nc"
    tmp = output_dir / ".results.nc.tmp"
    shutil.copyfile(cached, tmp)
    tmp.replace(path)
    return path


def job(cfg: RunConfig, config_text: str, output_dir: Path, multirun: bool, cache_dir: Path) -> Path:
    """Run what the config asks for and return the main output file."""
    if cfg.mode != "run":
        check_job(cfg, multirun)
        if cfg.mode == "emulate" and cfg.emulate.point is not None:   # one design point, into the cache
            from simulator.experiments.emulate import run_point
            return copy_run(run_point(cfg, cache_dir), output_dir)
        return experiment(cfg, output_dir, cache_dir)
    if cfg.scenario is None and not multirun:
        c = cfg.compare
        validate_run(dataclasses.replace(cfg, scenario=c.baseline))
        front = read_front(c.front) if c.front else None   # before the runs: a wrong file stops the job at once
        ds = compare(cfg, c.scenarios, range(c.seeds), cache_dir, c.workers, progress=cfg.progress)
        return write_with_report(ds, output_dir / "comparison.nc", c.baseline, front, c.front or "",
                                 workers=c.workers or os.cpu_count() or 1)
    if cfg.scenario is None:
        cfg = dataclasses.replace(cfg, scenario="baseline")
    if multirun:   # sweeps go through the cache, so that a rerun skips the jobs that finished
        path = copy_run(cached_run(cfg, cache_dir, config_text), output_dir)
        if cfg.figures:
            with xr.open_dataset(path, engine="netcdf4") as ds:
                save_figures(ds.load(), output_dir)
        return path
    ds = simulate(cfg, config_text)
    path = save_run(ds, output_dir)
    if cfg.figures:
        save_figures(ds, output_dir)
    return path


def run_config(cfg: DictConfig) -> RunConfig:
    """The typed config, refusing keys added with `+key=value` (they are not in the schema and would be ignored)."""
    run_cfg: RunConfig = OmegaConf.to_object(cfg)
    unknown = unknown_keys(OmegaConf.to_container(cfg), run_cfg)
    if unknown:
        raise ConfigError(unknown[0], OmegaConf.select(cfg, unknown[0]),
                          f"{key_hint(unknown[0])}; keys the schema does not have cannot be added with '+'")
    return run_cfg


def cache_folder(cwd: Path, cfg: RunConfig) -> Path:
    """The result cache under the folder the command was run from: a relative cache_dir names the same folder in
    every job, whatever the working folder of the launcher's worker process (or hydra.job.chdir=true)."""
    return cwd / (cfg.compare.cache_dir or Path("outputs") / "cache")


@hydra.main(version_base="1.3", config_path="configs", config_name="config")
def main(cfg: DictConfig) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)   # Mesa logs every step at INFO
    hc = HydraConfig.get()
    output_dir = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    (output_dir / INCOMPLETE).write_text(
        "This job has not finished: it is running, or it was stopped before writing its results. Runs that finished "
        "are kept in the result cache; run the same command again to resume.\n", encoding="utf-8")
    try:
        run_cfg = run_config(cfg)
        if run_cfg.compare.front:   # relative to the folder the command was run from, as the cache
            run_cfg = dataclasses.replace(run_cfg, compare=dataclasses.replace(
                run_cfg.compare, front=str(Path(hc.runtime.cwd) / run_cfg.compare.front)))
        path = job(run_cfg, OmegaConf.to_yaml(cfg, resolve=True), output_dir, multirun,
                   cache_folder(Path(hc.runtime.cwd), run_cfg))
    except (InputError, OSError) as exc:
        text = message(exc, sys.argv[1:])
        if text is None:   # an OSError that is not about a file: not the user's input
            clean_up(output_dir)
            raise
        if not multirun:
            clean_up(output_dir)
            print(f"error: {text}", file=sys.stderr)
            sys.exit(EXIT_INPUT)   # SystemExit passes Hydra by, which would add lines of its own to an exception
        # one job of a sweep: say why in its folder and let the other jobs go on (SweepReport sums up)
        print(f"error: {output_dir.name}: {text}", file=sys.stderr)
        with contextlib.suppress(OSError):
            (output_dir / FAILED).write_text(f"{text}\n", encoding="utf-8")
        return
    except BaseException:
        clean_up(output_dir)
        raise
    (output_dir / INCOMPLETE).unlink(missing_ok=True)
    if multirun:   # one job of a sweep: one line (SweepReport names what the sweep wrote)
        print(f"wrote {path}")
    else:
        print("\n".join(written(output_dir, path)))


# --- the command line: checks before anything runs, and one line for every way it can stop -----------------------


def preflight(argv: list[str]) -> None:
    """Compose the config of every job the command would run, as Hydra will, and check each (`check_job`) before
    any starts: a bad value in the fifth job of a sweep stops the command before the first.

    Hydra composes the config of each distinct set of group choices (`experiment=...`, `hydra/launcher=...`); the
    values of plain keys are then set on a copy with Hydra's own parser of values, and jobs that differ only in their
    seed are checked once, each seed on its own (a sweep over 100 seeds costs one check, not 100).
    """
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = get_args_parser().parse_args(argv)
    if args.help or args.hydra_help or args.cfg or args.info or args.shell_completion or args.experimental_rerun:
        return   # Hydra prints something and runs nothing
    if args.config_path or args.config_dir or args.config_name:
        return   # another config tree: Hydra's own checks apply
    parser = OverridesParser.create()
    jobs = [list(args.overrides)]
    if args.multirun:
        parsed = parser.parse_overrides(list(args.overrides))
        jobs = [job for batch in BasicSweeper.split_arguments(parsed, max_batch_size=None) for job in batch]
    plain = set(schema_keys())
    composed: dict[tuple[str, ...], DictConfig] = {}
    checked: dict[tuple[str, ...], RunConfig] = {}
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3", job_name="run"):
        for job_overrides in jobs:
            parsed = parser.parse_overrides(job_overrides)
            for p in parsed:   # Hydra calls a key set to null "not there", and deletes any other without a word
                key = p.key_or_group
                if p.is_delete() and (key in plain or any(k.startswith(f"{key}.") for k in plain)):
                    raise InputError(deletion_message(key))
            rest = tuple(o for o, p in zip(job_overrides, parsed) if p.key_or_group != "seed")
            if rest not in checked:
                values = [p for p in parsed if p.key_or_group in plain and p.is_add() is False
                          and p.is_delete() is False and p.key_or_group != "seed"]
                groups = tuple(o for o, p in zip(job_overrides, parsed) if p not in values)
                if groups not in composed:
                    composed[groups] = compose(config_name="config", overrides=list(groups))
                cfg = copy.deepcopy(composed[groups])
                for p in values:
                    OmegaConf.update(cfg, p.key_or_group, p.value(), merge=True)
                checked[rest] = run_config(cfg)
                check_job(checked[rest], args.multirun)
            for p in parsed:
                if p.key_or_group == "seed":
                    seeded = dataclasses.replace(checked[rest], seed=p.value())
                    validate_run(seeded)
                    if seeded.mode == "emulate" and seeded.emulate.point is not None:
                        from simulator.experiments.emulate import check_emulate
                        check_emulate(seeded)   # the seed must be one of the design's
    for cfg in checked.values():   # comparisons, sweeps and experiments keep their runs in the result cache
        if args.multirun or cfg.scenario is None or cfg.mode != "run":
            ResultCache(cache_folder(Path.cwd(), cfg)).check_writable()


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def schema_keys(node: object = None, prefix: str = "") -> list[str]:
    """Every dotted key of the run config's schema."""
    node = RunConfig() if node is None else node
    keys = []
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        keys += schema_keys(value, f"{prefix}{f.name}.") if dataclasses.is_dataclass(value) else [prefix + f.name]
    return keys


def config_keys(key: str = "") -> list[str]:
    """The keys an override can name: the schema's, the config groups (experiment, hydra/launcher, ...) and, for a
    `key` under hydra, Hydra's own."""
    groups = [p.name for p in (ROOT / "configs").iterdir() if p.is_dir() and p.name != "hydra"]
    groups += [f"hydra/{group}" for entry in HydraConf().defaults for group in entry]
    return schema_keys() + groups + (schema_keys(HydraConf(), "hydra.") if key.startswith("hydra") else [])


def key_hint(key: str) -> str:
    """What is allowed in place of the unknown `key`: a key of the config, the closest ones named."""
    close = difflib.get_close_matches(key, config_keys(key), n=3, cutoff=0.6)
    such_as = f", such as {' or '.join(close)}" if close else ""
    return f"a key of the config{such_as} (`python run.py --cfg job` lists them all)"


def deletion_message(key: str) -> str:
    """Our line for `~key`: a key of the schema cannot be deleted (every run needs it), and other keys are unknown."""
    keys = schema_keys()
    if key in keys:
        return (f"~{key} is not allowed: expected {key}=<value> (a key of the schema cannot be deleted; "
                f"`python run.py --cfg job` shows its value)")
    if any(k.startswith(f"{key}.") for k in keys):
        return (f"~{key} is not allowed: expected its keys set one by one, e.g. {key}.<key>=<value> (a part of the "
                f"schema cannot be deleted)")
    return f"~{key} is not allowed: expected {key_hint(key)}; keys of the schema are set, not deleted"


def given_key(argv: list[str], key: str) -> str:
    """The key of the override on the command line that the unknown `key` comes from: OmegaConf names the first
    unknown part of a dotted key (model.decison of model.decison.beta_income)."""
    for arg in reversed(argv):
        name = arg.lstrip("+~").partition("=")[0]
        if name == key or name.startswith(f"{key}."):
            return name
    return key


def override_value(argv: list[str], key: str) -> str | None:
    """The value `key` is given on the command line (the last one given, as Hydra takes), if it is."""
    for arg in reversed(argv):
        name, sep, value = arg.lstrip("+~").partition("=")
        if sep and name == key:
            return value
    return None


TYPES = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false", "String": "a string"}


def message(exc: BaseException, argv: list[str]) -> str | None:
    """Our one-line message for an error of the user's input, or None for anything else (a bug: a traceback)."""
    for cause in chain(exc):
        if isinstance(cause, InputError):
            return input_message(cause)
        if isinstance(cause, OSError) and cause.filename:
            return (f"cannot write {cause.filename}: {cause.strerror or cause}; choose a folder you can write to, "
                    f"e.g. with hydra.run.dir=... (one run or comparison), hydra.sweep.dir=... (a sweep) or "
                    f"compare.cache_dir=... (the result cache)")
    cause = exc.__cause__ if isinstance(exc, ConfigCompositionException) else exc
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and getattr(cause, "full_key", None):
        key = given_key(argv, str(cause.full_key))
        return str(ConfigError(key, override_value(argv, key), key_hint(key)))
    if isinstance(cause, ValidationError) and getattr(cause, "full_key", None):
        key, text = str(cause.full_key), str(cause.msg or cause).splitlines()[0]
        allowed = next((v for k, v in TYPES.items() if f"converted to {k}" in text), None)
        if allowed is None and "is not a subclass of" in text:
            allowed = f"its keys set one by one, e.g. {key}.<key>=<value> (see `python run.py --cfg job`)"
        value = cause.value if cause.value is not None else override_value(argv, key)
        return str(ConfigError(key, value, allowed or text))
    if isinstance(exc, MissingConfigException):
        group = getattr(exc, "missing_cfg_file", "") or ""
        options = getattr(exc, "options", None)
        name, _, choice = str(group).rpartition("/")
        if name and options:
            return with_closest(str(ConfigError(name, choice, f"one of {', '.join(sorted(options))}")), choice,
                                options)
        return str(exc).splitlines()[0]
    if isinstance(exc, OverrideParseException):
        return (f"the command line cannot be read: {str(exc).splitlines()[0]} (an override reads key=value; a "
                f"sweep (-m) lists values as key=a,b or key='range(0,5)')")
    if isinstance(exc, ConfigCompositionException):
        text = str(exc).splitlines()[0]
        return composition_message(text, argv) or text
    return None


def composition_message(text: str, argv: list[str]) -> str | None:
    """Our line for Hydra's refusal (`text`) of a `~key` or `+key=value` override, or None for any other refusal:
    Hydra's own lines suggest overrides that we refuse (`+key=value`) or its syntax of defaults lists."""
    if deleted := re.match(r"Could not delete from config\. '(.+)' does not exist", text):
        return deletion_message(deleted[1])
    if added := re.match(r"Could not append to config\. An item is already at '(.+)'", text):
        key = added[1]
        value = override_value(argv, key)
        return str(ConfigError(f"+{key}", value, f"{key}={value}, without '+' ({key} is already a key of the config)"))
    if added := re.match(r"Multiple values for (\S+?)\.", text):
        key = added[1]
        value = override_value(argv, key)
        return str(ConfigError(f"+{key}", value, f"{key}={value}, without '+' ({key} is already in the config)"))
    return None


def input_message(exc: InputError) -> str:
    """The message of bad input, ending with the closest shipped names when it refuses the name of a scenario,
    outlook, world or experiment: the loaders list every choice, a misspelling needs the closest."""
    text = str(exc)
    field, value = getattr(exc, "field", None), getattr(exc, "value", None)
    if isinstance(exc, WorldError) and (world := re.match(r"world = '(.*)' is not a folder", text)):
        field, value = "world", world[1]
    if field in CHOICES and isinstance(value, str):
        return with_closest(text, value, shipped(field))
    return text


def with_closest(text: str, value: object, choices: Iterable[str]) -> str:
    """`text`, ending with the `choices` closest to `value` if any are close (difflib's ratio at least 0.6)."""
    close = difflib.get_close_matches(str(value), sorted(choices), n=3, cutoff=0.6)
    return f"{text} (closest: {', '.join(close)})" if close else text


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from (Hydra and OmegaConf wrap ours in theirs)."""
    found = []
    while exc is not None and exc not in found:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


# --- --help: what there is to choose from, read from the files when asked ------------------------------------------

CHOICES = {   # a setting that names a shipped file (a folder, for worlds): the folder of its choices, their pattern
    "scenario": ("scenarios", "*.yaml"),
    "climate_outlook": ("scenarios/outlooks/climate", "*.yaml"),
    "labour_outlook": ("scenarios/outlooks/labour", "*.yaml"),
    "world": ("scenarios/worlds", "*/"),
    "experiment": ("configs/experiment", "*.yaml"),
    "hydra/launcher": ("configs/hydra/launcher", "*.yaml"),
}
SECTIONS = {   # the heading of each list of --help: what the choices are, and how a command names one
    "scenario": ("Scenarios", "scenario=<name> for one run, compare.scenarios=[<name>,...] for the main job"),
    "climate_outlook": ("Climate outlooks", "climate_outlook=<name> replaces the scenario's"),
    "labour_outlook": ("Labour outlooks", "labour_outlook=<name> replaces the scenario's"),
    "world": ("Worlds", "world=<name>, or world=<a folder of world tables>; default: default"),
    "intervention": ("Interventions", "by name under `interventions:` in a scenario file"),
    "experiment": ("Experiments", "experiment=<name>"),
    "hydra/launcher": ("Launchers of a sweep", "-m hydra/launcher=<name>; default: Hydra's basic one, a job at a time"),
}


def shipped(setting: str) -> dict[str, Path]:
    """The choices of `setting` (a key of CHOICES) shipped with the project, by name: the files, or for worlds the
    folders, now in its folder."""
    folder, pattern = CHOICES[setting]
    paths = sorted((ROOT / folder).glob(pattern.rstrip("/")))
    return {p.name if p.is_dir() else p.stem: p for p in paths if p.is_dir() == pattern.endswith("/")}


def first_sentence(text: str) -> str:
    """The first sentence of `text` (up to a full stop outside brackets that a capital follows), on one line."""
    text = " ".join(text.split())
    depth = 0
    for i, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if char == "." and depth == 0 and text[i + 1:i + 2] == " " and text[i + 2:i + 3].isupper():
            return text[:i + 1]
    return text


def heading_comment(text: str) -> str:
    """The first sentence of the comment that heads a config file (after its `# @package` line, up to an empty or
    indented comment line), without the `python run.py ...` commands and the (module.py) it names."""
    lines = []
    for line in text.splitlines()[:20]:
        if not line.startswith("#") or line.strip() == "#" or line.startswith("#  "):
            break
        if not line.startswith("# @package"):
            lines.append(line[1:])
    summary = re.sub(r":?\s*`python run\.py[^`]*`", "", first_sentence(" ".join(lines)))
    summary = re.sub(r"\s*\([\w/]+\.py\)", "", summary)   # the module it runs: not what a user chooses by
    return re.sub(r":$", ".", summary)


def written_into(experiment: object) -> str:
    """" Writes into <folder>." for an experiment's config that sets its own hydra.run.dir, else ""."""
    folder = experiment
    for key in ("hydra", "run", "dir"):
        folder = folder.get(key) if isinstance(folder, dict) else None
    return f" Writes into {re.sub(r'[$][{]now:[^}]*[}]', '<time>', str(folder)).rstrip('/')}/." if folder else ""


def describe(setting: str, path: Path) -> str:
    """The one-line description of the shipped choice `path` of `setting`: the first sentence of a scenario's or
    outlook's `description`, the title of a world's README.md, or the first sentence of the comment heading an
    experiment's or launcher's config. A file that cannot be read says so, and the list goes on."""
    try:
        if setting == "world":
            readme = path / "README.md"
            lines = readme.read_text(encoding="utf-8").splitlines() if readme.is_file() else []
            return next((line[2:].strip() for line in lines if line.startswith("# ")), "")
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if setting in ("experiment", "hydra/launcher"):
            return heading_comment(text) + written_into(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return f"(cannot be read: {' '.join(str(exc).split())})"
    return first_sentence(str(data.get("description") or "")) if isinstance(data, dict) else ""


def cut(text: str, room: int) -> str:
    """`text`, or as many of its words as fit in `room` columns with " ..." after them."""
    return text if len(text) <= room else text[:room - 3].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def help_text(width: int = 120) -> str:
    """`python run.py --help`: this module's examples, what there is to choose from (scenarios, outlooks, worlds,
    interventions, experiments, launchers: read from their files and the intervention registry when asked, one line
    each, cut to `width` columns: the terminal's, at least 120) and this module's notes on outputs and errors.

    Example:
        >>> "baseline" in help_text()
        True
    """
    title, examples, *notes = (__doc__ or "").strip().split("\n\n")
    lists = {setting: {name: describe(setting, path) for name, path in shipped(setting).items()}
             for setting in CHOICES}
    lists["intervention"] = {name: first_sentence((inspect.getdoc(cls) or "").split("\n\n")[0])
                             for name, cls in REGISTRY.items()}   # in the order of registration: by objective
    column = max(len(name) for items in lists.values() for name in items)
    room = width - column - 4
    lines = [title, "", "Usage:", *("  " + line.strip() for line in examples.splitlines())]
    for setting, (what, how) in SECTIONS.items():
        where = CHOICES[setting][0] + "/" if setting in CHOICES else "simulator/policy/interventions.py"
        lines += ["", f"{what}: {how} ({where})"]
        lines += [f"  {name:<{column}}  {cut(text, room)}".rstrip() for name, text in lists[setting].items()]
    lines += ["", *"\n\n".join(notes).splitlines(), "",
              "Every setting and its value: python run.py --cfg job (the schema, with units and sources: "
              "simulator/config.py,", "simulator/params.py). Hydra's flags: python run.py --hydra-help."]
    return "\n".join(lines)


def help_asked(argv: list[str]) -> bool:
    """Whether the command asks for --help (or -h), as Hydra's parser of flags reads it."""
    from hydra._internal.utils import get_args_parser
    return bool(get_args_parser().parse_args(argv).help)


def cli() -> None:
    """`python run.py ...`: checks every job, then runs them with Hydra; ends in one line on bad input (exit 2) or
    interruption (exit 130, or 143 for SIGTERM). HYDRA_FULL_ERROR=1 shows full tracebacks instead."""
    argv = sys.argv[1:]
    debug = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"   # Hydra's errors reach us as exceptions
    mark_job_process()                      # worker processes stop when this one is gone
    exit_fast()                             # this one (and its workers: watch_parent) exits without a last GC
    # workers stopped by Ctrl-C leave semaphores that multiprocessing's resource tracker removes, saying so in a
    # warning at exit: the removal is what should happen, the warning only adds lines after ours
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"),
                                                          "ignore:resource_tracker:UserWarning"]))
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if help_asked(argv):   # ours, in place of Hydra's: what there is to choose from
            try:
                print(help_text(max(120, shutil.get_terminal_size((120, 24)).columns)), flush=True)
            except BrokenPipeError:   # `python run.py --help | head`: the reader has what it wanted
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        preflight(argv)
        main()
    except KeyboardInterrupt as exc:
        print("interrupted: the runs that finished are kept in the result cache; run the same command to resume",
              file=sys.stderr)
        sys.exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
    except Exception as exc:
        text = None if debug else message(exc, argv)
        if text is None:
            raise
        print(f"error: {text}", file=sys.stderr)
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":
    cli()
