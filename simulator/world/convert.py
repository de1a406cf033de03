"""Convert a version-1 world folder (regions.csv, routes.csv, hazards.csv) into version-2 tables.

    python -m simulator.world.convert scenarios/worlds/one_city my_world --households 3000000

Version 1 gave households as shares and kept the regular pathway, the irregular route, living costs and remittance
costs in the model parameters. The version-2 tables hold them all, so the conversion takes:

- households: `--households` (the country's number of households) split by `households_share` (largest remainders,
  so the districts sum to it exactly);
- the destination's and city's mid- and high-skill wages: `model.labour.skill_wage_mid/high` times the low-skill
  wage; living and remittance costs: `model.abroad` (city: `city_living_cost_usd`, `domestic_transfer_cost`);
- vacancies: `vacancies_per_1000` times households / 1,000;
- one labour-scheme channel `ordinary` from `model.regular` (rates per 1,000 households times households / 1,000)
  and one irregular route `smuggled` from `model.irregular`;

all from the default parameters (simulator/params.py), the values a version-1 run used unless its config changed
them. Every place needs map coordinates in version 2: a region without `x` and `y` stops the conversion.
The new folder is written whole or not at all.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from simulator.errors import ConfigError, InputError, WorldError
from simulator.files import as_created
from simulator.params import ModelParams
from simulator.world.regions import World, load_world
from simulator.world.channels import QUOTA_MAX
from simulator.world.tables import EVERY_ORIGIN, FILES, HOUSEHOLDS_MAX, PLACE_COLUMNS, Channel, Route, load_corridors


def split_households(shares: np.ndarray, total: int) -> np.ndarray:
    """Whole households per district in proportion to `shares`, summing to `total` (largest remainders).

    >>> split_households(np.array([0.5, 0.25, 0.25]), 7).tolist()
    [3, 2, 2]
    """
    exact = shares / shares.sum() * total
    whole = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - whole), kind="stable")
    whole[order[: total - int(whole.sum())]] += 1
    return whole


# The model parameters that stand for a version-1 world's figures abroad, regular pathway and irregular route
# (version1_channels, version1_routes, Places.from_version1). A version-2 world's tables hold these figures, so on such
# a world the parameters have no effect: `check_table_parameters` refuses a config that sets one.
TABLE_PARAMETERS = {
    "abroad.living_cost_usd": "living_cost_usd of each destination in places.csv",
    "abroad.city_living_cost_usd": "living_cost_usd of each city in places.csv",
    "abroad.transfer_cost": "remittance_cost_share of each destination in places.csv (or the remittance_cost "
                            "intervention)",
    "abroad.domestic_transfer_cost": "remittance_cost_share of each city in places.csv",
    "regular.quota_per_1000_per_year": "quota_per_year of each channel in channels.csv (or the quota_expansion "
                                       "intervention)",
    "regular.processing_per_1000_per_month": "processing_per_month of each channel in channels.csv (or the "
                                             "faster_processing intervention)",
    "regular.fee_usd": "fee_usd of each channel in channels.csv (or the fee_subsidy intervention)",
    "regular.min_skill": "min_skill of each channel in channels.csv",
    "regular.stay_months": "stay_months of each channel in channels.csv",
    "regular.max_wait_months": "max_wait_months of each channel in channels.csv",
    "irregular.smuggler_fee_usd": "travel_cost_usd of each irregular route in routes.csv",
    "irregular.journey_months": "duration_months of each irregular route in routes.csv",
    "irregular.interception_probability": "interception_probability of each irregular route in routes.csv (or the "
                                          "enforcement intervention)",
    "irregular.death_probability": "death_probability of each irregular route in routes.csv",
}


def check_table_parameters(params: ModelParams, world: str) -> None:
    """Refuse, on the version-2 world named `world`, parameters of `TABLE_PARAMETERS` moved from their defaults:
    its tables set those figures and the setting would change nothing. The `ConfigError` names the first such
    parameter, its value and the column of the world that holds it.

    Example:
        >>> from dataclasses import replace
        >>> params = ModelParams()
        >>> params.regular = replace(params.regular, fee_usd=600.0)
        >>> check_table_parameters(params, "default")
        Traceback (most recent call last):
        ...
        simulator.errors.ConfigError: model.regular.fee_usd = 600.0 is not allowed: expected its default (1200.0) on ...
    """
    defaults = ModelParams()
    for dotted, where in TABLE_PARAMETERS.items():
        group, name = dotted.split(".")
        value, default = getattr(getattr(params, group), name), getattr(getattr(defaults, group), name)
        if value != default:
            raise ConfigError(f"model.{dotted}", value, f"its default ({default!r}) on the version-2 world "
                                                        f"'{world}', whose tables set it: change the {where} in a "
                                                        f"copy of the world")


def version1_channels(destination: str, params: ModelParams) -> list[Channel]:
    """The regular channels of a version-1 world, from the model parameters, quotas and processing per 1,000
    households (the model scales them to the simulated households):

    - `ordinary`, a labour scheme: `model.regular`;
    - `seasonal`, closed (no places) unless an intervention opens it: a 6-month stay (assumption; seasonal worker
      schemes run 6-9 months), the ordinary fee and patience;
    - `humanitarian`, closed unless an intervention opens it: losses of 0.15 of income qualify, 24-month stays
      (assumption; cf. temporary protection of two years, e.g. the EU Temporary Protection Directive 2001/55/EC, art.
      4: one year, extendable to three);
    - `family`, closed (probability 0) unless an intervention opens it: 24 months abroad and an income of 1,500 USD
      a month (assumption), no cap on places.
    """
    reg = params.regular
    return [
        Channel("ordinary", destination, "labour_scheme", {
            "quota_per_year": reg.quota_per_1000_per_year, "processing_per_month": reg.processing_per_1000_per_month,
            "fee_usd": reg.fee_usd, "recruitment_cost_usd": 0.0, "min_skill": reg.min_skill,
            "stay_months": reg.stay_months, "max_wait_months": reg.max_wait_months}),
        Channel("seasonal", destination, "seasonal", {
            "quota_per_year": 0.0, "processing_per_month": 0.0, "fee_usd": reg.fee_usd, "recruitment_cost_usd": 0.0,
            "min_skill": 0, "stay_months": 6, "max_wait_months": reg.max_wait_months}),
        Channel("humanitarian", destination, "humanitarian", {
            "quota_per_year": 0.0, "min_loss": 0.15, "fee_usd": 0.0, "stay_months": 24, "max_wait_months": 12}),
        Channel("family", destination, "family", {
            "quota_per_year": QUOTA_MAX, "min_months_abroad": 24, "min_wage_usd": 1500.0, "monthly_probability": 0.0,
            "fee_usd": 0.0}),
    ]


def version1_routes(world: World, params: ModelParams) -> list[Route]:
    """The irregular route of a version-1 world, from the parameters (`model.irregular`): one route `smuggled` from
    every origin to the destination, with the smuggler's fee, interception and death probability per journey and
    the journey's length in months; its distance is the districts' mean distance to the destination."""
    irr = params.irregular
    return [Route("smuggled", "irregular", EVERY_ORIGIN, world.destination, tuple(range(world.n_origins)),
                  irr.smuggler_fee_usd, float(np.mean(world.distance_to_destination)), irr.journey_months,
                  irr.interception_probability, irr.death_probability)]


def convert(source: str | Path, target: str | Path, households: int, params: ModelParams | None = None) -> Path:
    """Write the version-2 tables of the version-1 world `source` into the new folder `target`; returns it."""
    if isinstance(households, bool) or not isinstance(households, (int, np.integer)) or not \
            1 <= households <= HOUSEHOLDS_MAX:
        raise InputError(f"households = {households!r} is not allowed: expected an integer in [1, "
                         f"{HOUSEHOLDS_MAX:g}]")
    target = Path(target)
    if target.exists():
        raise WorldError(f"{target}: the folder exists: expected a new folder (nothing is overwritten)")
    p = params or ModelParams()
    w = load_world(source)
    missing = [n for n in (*w.origins, w.city, w.destination) if n not in w.coordinates]
    if missing:
        raise WorldError(f"{Path(source) / 'regions.csv'}: region '{missing[0]}' has no x, y: a version-2 world "
                         f"needs map coordinates for every place; add them, then convert")
    per_origin = split_households(w.households_share, int(households))
    scale = int(households) / 1000.0
    lab, ab, reg = p.labour, p.abroad, p.regular

    columns = ["name", "kind", *PLACE_COLUMNS]
    places = []
    for k, o in enumerate(w.origins):
        places.append({"name": o, "kind": "origin", "households": int(per_origin[k]),
                       "household_size_mean": w.household_size_mean[k], "wage_usd": w.wage[k],
                       "wealth_median_usd": w.wealth_median[k], "wealth_sigma": w.wealth_sigma[k],
                       "assets_median_usd": w.assets_median[k], "farm_dependence": w.farm_dependence[k],
                       "skill_share_mid": w.skill_share_mid[k], "skill_share_high": w.skill_share_high[k],
                       "female_head_share": w.female_head_share[k],
                       "degradation_per_year": w.degradation_per_year[k]})
    for name, kind, wage, living, remit in ((w.city, "city", w.city_wage, ab.city_living_cost_usd,
                                             ab.domestic_transfer_cost),
                                            (w.destination, "destination", w.destination_wage, ab.living_cost_usd,
                                             ab.transfer_cost)):
        places.append({"name": name, "kind": kind, "wage_usd": wage, "wage_mid_usd": wage * lab.skill_wage_mid,
                       "wage_high_usd": wage * lab.skill_wage_high, "living_cost_usd": living,
                       "remittance_cost_share": remit})
    places[-1]["vacancies_per_month"] = w.vacancies_per_1000 * scale
    for row in places:
        row["x"], row["y"] = w.coordinates[row["name"]]

    routes = []
    for k, o in enumerate(w.origins):
        routes.append({"name": f"{o} to {w.city}", "kind": "internal", "from": o, "to": w.city,
                       "travel_cost_usd": w.cost_to_city[k], "distance_km": w.distance_to_city[k]})
        routes.append({"name": f"{o} to {w.destination}", "kind": "regular", "from": o, "to": w.destination,
                       "travel_cost_usd": w.cost_to_destination[k], "distance_km": w.distance_to_destination[k]})
    for r in version1_routes(w, p):
        routes.append({"name": r.name, "kind": r.kind, "from": r.source, "to": r.to,
                       "travel_cost_usd": r.travel_cost_usd, "distance_km": r.distance_km,
                       "duration_months": r.duration_months, "interception_probability": r.interception_probability,
                       "death_probability": r.death_probability})
    channels = [{"name": "ordinary", "destination": w.destination, "kind": "labour_scheme",
                 "quota_per_year": reg.quota_per_1000_per_year * scale,
                 "processing_per_month": reg.processing_per_1000_per_month * scale, "fee_usd": reg.fee_usd,
                 "min_skill": min(reg.min_skill, 2), "stay_months": reg.stay_months,
                 "max_wait_months": max(1, round(reg.max_wait_months))}]
    hazards = [{"district": w.origins[o], "hazard": name, "return_period_years": rp, "mean_intensity": mi,
                "duration_months": d}
               for o, name, rp, mi, d in zip(w.hazard_origin, w.hazard_name, w.hazard_return_period,
                                             w.hazard_mean_intensity, w.hazard_duration)]
    tables = {
        "places.csv": (columns, places),
        "routes.csv": (["name", "kind", "from", "to", "travel_cost_usd", "distance_km", "duration_months",
                        "interception_probability", "death_probability"], routes),
        "channels.csv": (["name", "destination", "kind", "quota_per_year", "processing_per_month", "fee_usd",
                          "min_skill", "stay_months", "max_wait_months"], channels),
        "hazards.csv": (["district", "hazard", "return_period_years", "mean_intensity", "duration_months"], hazards),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for file in FILES:
            header, rows = tables[file]
            with open(staging / file, "w", newline="", encoding="utf-8") as f:
                f.write(f"# converted from the version-1 world '{w.name}' with --households {households} and the "
                        f"default model parameters (python -m simulator.world.convert)\n")
                writer = csv.DictWriter(f, header)
                writer.writeheader()
                writer.writerows({k: _text(v) for k, v in row.items()} for row in rows)
        load_corridors(staging)   # what was written loads
        as_created(staging)   # mkdtemp's 0700 would hide the world from other users
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _text(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.world.convert", description=__doc__.split("\n")[0])
    parser.add_argument("source", help="a version-1 world folder (regions.csv, routes.csv, hazards.csv)")
    parser.add_argument("target", help="the new folder for the version-2 tables (must not exist)")
    parser.add_argument("--households", type=int, required=True,
                        help="the number of households living in the origin districts together")
    args = parser.parse_args(argv)
    try:
        out = convert(args.source, args.target, args.households)
    except InputError as exc:
        print(f"python -m simulator.world.convert: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({', '.join(FILES)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
