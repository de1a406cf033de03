"""The real-country worlds (scenarios/worlds/bangladesh, scenarios/worlds/guatemala): each loads, every data row of its
tables names its source or says "assumption", and a run at the default sample keeps every output finite and every
person counted."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
import yaml

from simulator import MigrationModel
from simulator.config import RunConfig
from simulator.experiments.comparison import compare
from simulator.world.tables import FILES, load_corridors

WORLDS = Path(__file__).resolve().parents[1] / "scenarios" / "worlds"
REAL = ["bangladesh", "guatemala"]
PACKAGES = yaml.safe_load((WORLDS.parents[1] / "configs" / "config.yaml").read_text())["compare"]["scenarios"]


def data_rows(path: Path) -> list[dict[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@pytest.mark.parametrize("name", REAL)
def test_every_row_names_a_source_or_says_assumption(name):
    for file in FILES:
        for i, row in enumerate(data_rows(WORLDS / name / file), start=1):
            source = (row.get("source") or "").strip()
            assert "http" in source or "assumption" in source.lower(), f"{name}/{file} row {i}: source = {source!r}"


@pytest.mark.parametrize("name", REAL)
def test_the_world_loads_and_a_decade_keeps_every_person_counted(name):
    world = load_corridors(WORLDS / name)
    assert len(world.cities) >= 1 and len(world.destinations) >= 3 and world.channels and world.routes
    model = MigrationModel(n_households=5000, years=10, rng=0, world=WORLDS / name)
    ds = model.run()
    for var in ds.data_vars:
        if var != "migrant_employment_rate":
            assert np.isfinite(ds[var].values).all(), var
    people = (ds.population.sum("origin") + ds.migrants_away.sum(["origin", "destination", "pathway"])
              + ds.in_transit.sum("origin") + ds.families_abroad.sum("origin")
              + ds.deaths.sum("origin").cumsum("time"))
    assert (people == model.initial_population).all()
    assert float(ds.emigrants.sel(pathway="regular").sum()) > 0


@pytest.mark.parametrize("name", REAL)
def test_the_main_job_compares_every_package_on_the_world(name, tmp_path):
    """The eight packages of the main job apply to the world (they name no district, and its closed seasonal,
    humanitarian and family channels are there for them to open)."""
    base = RunConfig(n_households=300, years=1, progress=False, world=name)
    ds = compare(base, PACKAGES, seeds=[0], cache_dir=tmp_path / "cache", workers=1)
    assert ds["scenario"].values.tolist() == PACKAGES and ds.attrs["world"] == name
    opened = ds["channel_granted"].sel(scenario="obj5_flexible_pathways").sum()
    assert float(opened) >= float(ds["channel_granted"].sel(scenario="baseline").sum())
