"""Run the migration simulator from the command line (Hydra).

    python run.py                                   # the main job: compare the policy packages across seeds
    python run.py scenario=obj5_more_places seed=3  # one simulation of one scenario
    python run.py scenario=baseline climate_outlook=severe model.regular.fee_usd=800
    python run.py -m scenario=baseline,combined seed='range(0,5)'   # a Hydra sweep, merged with a report
    python run.py -m hydra/launcher=cores scenario=baseline,combined seed='range(0,5)'   # the same on all cores
    python run.py --cfg job                         # print the resolved config without running
    python run.py experiment=sensitivity            # Morris and Sobol' sensitivity analysis (outputs/sensitivity/)
    python run.py experiment=calibrate              # fit parameters to target moments (outputs/calibration/)

Outputs go to outputs/comparisons/<time>/ (comparison.nc, report.md, figures), outputs/runs/<time>_<scenario>_seed<n>/
(results.nc, figures) or outputs/sweeps/<time>/ (a folder per run, sweep.nc, report.md). Finished runs are kept in
outputs/cache/ so that an interrupted comparison or sweep resumes where it stopped when the same command is rerun.
Bad input (an unknown key, a value out of range, a malformed world table) stops with one message naming the field,
the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from simulator.comparison import cached_run, compare, merge_sweep
from simulator.config import RunConfig, unknown_keys, validate_run
from simulator.errors import ConfigError, InputError
from simulator.outputs import write_netcdf
from simulator.plotting import save_figures
from simulator.report import write_report
from simulator.runner import save_run, simulate

ConfigStore.instance().store(name="run_schema", node=RunConfig)


def run_folder(scenario: str | None, seed: int, now: str) -> str:
    """The run folder under outputs/: a comparison when no scenario is given, else one run."""
    return f"comparisons/{now}" if scenario is None else f"runs/{now}_{Path(str(scenario)).stem}_seed{seed}"


OmegaConf.register_new_resolver("run_folder", run_folder, replace=True)


class SweepReport(Callback):
    """After a Hydra sweep (-m), merge its runs into sweep.nc and write the report next to them."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        folder = Path(config.hydra.sweep.dir)
        try:
            ds, reference = merge_sweep(folder)
        except FileNotFoundError:
            return   # every job failed: their messages were printed already
        ds.attrs["config"] = OmegaConf.to_yaml(config, resolve=False)   # the sweep's own config and overrides
        write_netcdf(ds, folder / "sweep.nc")
        if ds.sizes["seed"] > 1 and ds.sizes["scenario"] > 1:
            write_report(ds, folder, baseline=reference)
        print(f"wrote {folder / 'sweep.nc'}")


def remove_if_only_hydra_files(folder: Path) -> None:
    """Remove a run folder that holds nothing but what Hydra wrote on starting the job (no half-made runs are left
    behind); a folder with anything else in it, such as a user's folder given as hydra.run.dir, is kept."""
    hydra_files = {".hydra", f"{HydraConfig.get().job.name}.log"}
    if folder.is_dir() and {p.name for p in folder.iterdir()} <= hydra_files:
        shutil.rmtree(folder, ignore_errors=True)


def experiment(cfg: RunConfig, output_dir: Path, multirun: bool, cache_dir: Path) -> Path:
    """`mode: sensitivity` or `mode: calibrate` (simulator/sensitivity.py, simulator/calibration.py)."""
    if multirun:
        raise ConfigError("mode", cfg.mode, "mode run in a sweep (-m); a sensitivity analysis or calibration runs its "
                                            "samples in parallel itself: start it without -m")
    if cfg.mode == "sensitivity":
        from simulator.sensitivity import run_sensitivity, write_sensitivity
        return write_sensitivity(run_sensitivity(cfg, cache_dir, progress=cfg.progress), output_dir)
    from simulator.calibration import run_calibration, write_calibration
    return write_calibration(run_calibration(cfg, cache_dir, progress=cfg.progress), output_dir)


def job(cfg: RunConfig, config_text: str, output_dir: Path, multirun: bool, cache_dir: Path) -> Path:
    """Run what the config asks for and return the main output file."""
    if cfg.mode != "run":
        validate_run(cfg)
        return experiment(cfg, output_dir, multirun, cache_dir)
    if cfg.scenario is None and not multirun:
        c = cfg.compare
        validate_run(dataclasses.replace(cfg, scenario=c.baseline))
        ds = compare(cfg, c.scenarios, range(c.seeds), cache_dir, c.workers, progress=cfg.progress)
        path = write_netcdf(ds, output_dir / "comparison.nc")
        write_report(ds, output_dir, baseline=c.baseline)
        return path
    if cfg.scenario is None:
        cfg = dataclasses.replace(cfg, scenario="baseline")
    if multirun:   # sweeps go through the cache, so that a rerun skips the jobs that finished
        cached = cached_run(cfg, cache_dir, config_text)
        path = output_dir / "results.nc"
        tmp = output_dir / ".results.nc.tmp"
        shutil.copyfile(cached, tmp)
        tmp.replace(path)
        if cfg.figures:
            import xarray as xr
            with xr.open_dataset(path, engine="netcdf4") as ds:
                save_figures(ds.load(), output_dir)
        return path
    return save_run(simulate(cfg, config_text), output_dir, figures=cfg.figures)


@hydra.main(version_base="1.3", config_path="configs", config_name="config")
def main(cfg: DictConfig) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)   # Mesa logs every step at INFO
    hc = HydraConfig.get()
    output_dir = Path(hc.runtime.output_dir)
    try:
        run_cfg: RunConfig = OmegaConf.to_object(cfg)
        unknown = unknown_keys(OmegaConf.to_container(cfg), run_cfg)
        if unknown:   # keys appended with `+key=value` are not in the schema and would be silently ignored
            raise ConfigError(unknown[0], OmegaConf.select(cfg, unknown[0]), "a key of the schema (see "
                              "`python run.py --cfg job`); misspelt keys cannot be added with '+'")
        # the folder the command was run from: a relative cache_dir names the same folder in every job, whatever the
        # working folder of the launcher's worker process (or hydra.job.chdir=true)
        cache_dir = Path(hc.runtime.cwd) / (run_cfg.compare.cache_dir or Path("outputs") / "cache")
        path = job(run_cfg, OmegaConf.to_yaml(cfg, resolve=True), output_dir, hc.mode == RunMode.MULTIRUN,
                   cache_dir)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        remove_if_only_hydra_files(output_dir)
        sys.exit(2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
