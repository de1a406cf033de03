"""Run the migration simulator from the command line (Hydra).

    python run.py                                   # baseline scenario, default world, seed 0
    python run.py scenario=obj5_more_places seed=3  # another scenario and seed
    python run.py climate_outlook=severe model.regular.fee_usd=800
    python run.py --cfg job                         # print the resolved config without running

Writes results.nc and PNG figures into the Hydra run folder (outputs/runs/...). Bad input (an unknown key, a value
out of range, a malformed world table) stops with one message naming the field, the value and what is allowed.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from simulator.config import RunConfig
from simulator.errors import InputError
from simulator.runner import save_run, simulate

ConfigStore.instance().store(name="run_schema", node=RunConfig)


@hydra.main(version_base="1.3", config_path="configs", config_name="config")
def main(cfg: DictConfig) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)   # Mesa logs every step at INFO
    output_dir = HydraConfig.get().runtime.output_dir
    try:
        run_cfg: RunConfig = OmegaConf.to_object(cfg)
        ds = simulate(run_cfg, OmegaConf.to_yaml(cfg, resolve=True))
        path = save_run(ds, output_dir, figures=run_cfg.figures)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if not any(Path(output_dir).glob("*.nc")):   # leave no half-made run folder behind
            shutil.rmtree(output_dir, ignore_errors=True)
        sys.exit(2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
