"""Recording (process 9) and outputs: preallocated arrays per step, turned into a labelled `xarray.Dataset`.

The dataset follows the output contract (ARCHITECTURE.md section 3): dims `time` (with `date` and `year`
coordinates), `origin`, `destination` (the cities, then the international destinations, by name), `pathway`,
`channel` (the regular channels) and `route` (the irregular routes); variables
`emigrants(time, origin, destination, pathway)` (its sum over `destination` is the version-1 variable),
`deaths(time, origin)`, `trapped(time, origin)`, `population(time, origin)`, `remittances(time, origin)` and more,
each with `long_name` and `units`. Attributes carry the resolved config, seed, scenario and simulator version. Files
are NetCDF-4 (netCDF4 engine, zlib), written atomically: to a temporary file in the same folder, then renamed.

Example:
    >>> from simulator import MigrationModel
    >>> ds = MigrationModel(n_households=300, years=1, rng=0).run()
    >>> ds["emigrants"].dims
    ('time', 'origin', 'destination', 'pathway')
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numba
import numpy as np
import xarray as xr

PATHWAYS = ("internal", "regular", "irregular")
SEXES = ("female", "male")
AGE_GROUPS = ("18-34", "35-54", "55+")
AGE_EDGES = (35.0, 55.0)
SKILLS = ("low", "mid", "high")

BY_DESTINATION = ("time", "origin", "destination", "pathway")

# name: (dims, long_name, units)
VARIABLES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "emigrants": (BY_DESTINATION, "departures from origin in the month, by destination (a city for internal moves; "
                                  "for irregular journeys, where the route leads) and pathway", "persons"),
    "arrivals": (BY_DESTINATION, "arrivals at the city or destination in the month", "persons"),
    "returns": (BY_DESTINATION, "migrants returning home in the month, by where they return from (deportations "
                                "included)", "persons"),
    "migrants_away": (BY_DESTINATION, "migrants living in a city or abroad, end of month", "persons"),
    "families_abroad": (("time", "origin"), "members of households reunited abroad (family reunification), end of "
                                            "month", "persons"),
    "deaths": (("time", "origin"), "deaths and missing on irregular journeys in the month (SDG 10.7.3)", "persons"),
    "interceptions": (("time", "origin"), "irregular journeys intercepted (migrant returned home)", "persons"),
    "deportations": (("time", "origin"), "irregular migrants deported home in the month", "persons"),
    "in_transit": (("time", "origin"), "migrants on irregular journeys, end of month", "persons"),
    "applications": (("time", "origin"), "regular visa applications lodged in the month", "applications"),
    "visas_issued": (("time", "origin"), "regular visas issued in the month", "visas"),
    "seasonal_visas": (("time", "origin"), "of the visas issued, seasonal or circular places", "visas"),
    "humanitarian_visas": (("time", "origin"), "humanitarian visas for people hit by disasters (not in visas_issued)",
                           "visas"),
    "reunifications": (("time", "origin"), "households joining their migrant abroad (family reunification)",
                       "households"),
    "gave_up": (("time", "origin"), "applicants who left the visa queue after waiting too long", "households"),
    "could_not_pay": (("time", "origin"), "applicants granted a place who could not pay the recruitment cost and "
                                          "fare, and lost it", "households"),
    "visa_queue": (("time", "origin"), "applications waiting for a decision, end of month", "applications"),
    "trapped": (("time", "origin"), "households that wanted to move but could not afford to (involuntary "
                                    "immobility)", "households"),
    "trapped_wanting": (("time", "origin", "pathway"), "trapped households by the pathway of the move they wanted "
                                                       "(aspiration without the ability: Carling 2002)", "households"),
    "aspiring": (("time", "origin", "pathway"), "households at home that aspire to a move they could not pay for "
                                                "(trapped within decisions.aspiration_months), by the pathway of "
                                                "that move, end of month", "households"),
    "population": (("time", "origin"), "people living at origin, end of month", "persons"),
    "remittances": (("time", "origin"), "remittances received by households, net of transfer fees", "USD/month"),
    "remittance_fees": (("time", "origin"), "fees paid to send remittances (SDG 10.c.1)", "USD/month"),
    "consumption_per_capita": (("time", "origin"), "mean consumption per person at origin", "USD/month"),
    "wealth_mean": (("time", "origin"), "mean liquid wealth per household at origin", "USD"),
    "shock_loss": (("time", "origin"), "share of farm income lost to sudden shocks in the month (before "
                                       "adaptation)", "1"),
    "labour_demand": (("time", "destination"), "labour-demand index of each destination (1 in cities, where "
                                               "migrants find work at a fixed rate)", "1"),
    "vacancies": (("time", "destination"), "new jobs open to migrants at each destination in the month (none "
                                           "counted in cities)", "jobs"),
    "destination_wage": (("time", "destination"), "monthly wage in each city and destination, low skill, regular "
                                                  "status", "USD/month"),
    "migrant_employment_rate": (("time", "pathway"), "share of migrants away with a job in the month (before the "
                                                     "month's returns)", "1"),
    "emigrants_by_group": (("time", "pathway", "sex", "age_group", "skill"),
                           "migrant departures by sex, age group (at departure) and skill of the migrant "
                           "(family members joining a migrant are not included)", "persons"),
    "intervention_cost": (("time", "intervention"), "cost of each intervention in the month", "USD"),
    "channel_applications": (("time", "channel"), "applications lodged with each regular channel in the month (none "
                                                  "for free movement: its departures are its places granted)",
                             "applications"),
    "channel_granted": (("time", "channel"), "places granted by each regular channel in the month (households "
                                             "joining their migrant, for family reunification)", "households"),
    "channel_queue": (("time", "channel"), "applications waiting for each regular channel, end of month",
                      "applications"),
    "route_departures": (("time", "route"), "irregular journeys begun on each route in the month", "persons"),
    "route_arrivals": (("time", "route"), "irregular journeys on each route ending in arrival in the month",
                       "persons"),
    "route_interceptions": (("time", "route"), "irregular journeys on each route intercepted in the month (migrant "
                                               "returned home)", "persons"),
    "route_deaths": (("time", "route"), "deaths and missing on each irregular route in the month (SDG 10.7.3)",
                     "persons"),
}


class Recorder:
    """Preallocated arrays, one per output variable, filled step by step."""

    def __init__(self, n_steps: int, origins: tuple[str, ...], interventions: tuple[str, ...],
                 places: tuple[str, ...], channels: tuple[str, ...] = (), routes: tuple[str, ...] = ()) -> None:
        sizes = {"time": n_steps, "origin": len(origins), "destination": len(places), "pathway": len(PATHWAYS),
                 "sex": len(SEXES), "age_group": len(AGE_GROUPS), "skill": len(SKILLS),
                 "intervention": len(interventions), "channel": len(channels), "route": len(routes)}
        self.sizes, self.origins, self.interventions = sizes, origins, interventions
        self.places, self.channels, self.routes = places, channels, routes
        self.data = {name: np.zeros(tuple(sizes[d] for d in dims)) for name, (dims, _, _) in VARIABLES.items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    def count(self, name: str, t: int, origin: np.ndarray, pathway: int | None = None,
              weights: np.ndarray | None = None, destination: np.ndarray | None = None) -> None:
        """Add the households (or `weights`) of `origin` codes to variable `name` at step `t` (and `pathway`); a
        variable by destination needs each household's `destination` (index into the places)."""
        if VARIABLES[name][0] == BY_DESTINATION:
            if destination is None:
                raise ValueError(f"output {name!r} is counted by destination: give each household's destination")
            n_o, n_d = self.sizes["origin"], self.sizes["destination"]
            counts = np.bincount(origin.astype(np.int64) * n_d + destination, weights,
                                 minlength=n_o * n_d).reshape(n_o, n_d)
            self.data[name][t, :, :, pathway] += counts
            return
        counts = np.bincount(origin, weights, minlength=self.sizes["origin"])
        if pathway is None:
            self.data[name][t] += counts
        else:
            self.data[name][t, :, pathway] += counts


@numba.njit(cache=True)
def aspiring_by_origin(origin: np.ndarray, status: np.ndarray, at_home: int, aspiration: np.ndarray,
                       aspired: np.ndarray, t: int, months: int, n_origins: int) -> np.ndarray:
    """Households at home (status `at_home`) aspiring at step `t` (an `aspiration`, trapped at step `aspired` within
    `months`), (n_origins, 3) by the pathway of their aspiration, counted in one pass."""
    counts = np.zeros((n_origins, 3))
    for i in range(origin.shape[0]):
        if aspiration[i] > 0 and status[i] == at_home and t - aspired[i] < months:
            counts[origin[i], aspiration[i] - 1] += 1.0
    return counts


@numba.njit(cache=True)
def sums_by_origin(origin: np.ndarray, status: np.ndarray, living_abroad: int, persons_home: np.ndarray,
                   size: np.ndarray, consumption: np.ndarray, wealth: np.ndarray, n_origins: int) -> np.ndarray:
    """The month's per-origin sums in one pass, (n_origins, 5) float64: people at origin, members of households
    living abroad (status `living_abroad`), then over the households living at origin: consumption, wealth, and
    their number."""
    sums = np.zeros((n_origins, 5))
    for i in range(origin.shape[0]):
        o = origin[i]
        sums[o, 0] += persons_home[i]
        if status[i] != living_abroad:
            sums[o, 2] += consumption[i]
            sums[o, 3] += wealth[i]
            sums[o, 4] += 1.0
        else:
            sums[o, 1] += size[i]
    return sums


def to_dataset(recorder: Recorder, start_year: int, n_steps: int, attrs: dict[str, Any]) -> xr.Dataset:
    """The recorded arrays of the first `n_steps` steps as a labelled Dataset following the output contract."""
    time = np.arange(n_steps)
    date = np.array([np.datetime64(f"{start_year + t // 12:04d}-{t % 12 + 1:02d}", "M") for t in time],
                    dtype="datetime64[ns]")
    coords = {"time": ("time", time, {"long_name": "month since the start of the run", "units": "months"}),
              "date": ("time", date, {"long_name": "calendar month"}),
              "year": ("time", start_year + time // 12, {"long_name": "calendar year", "units": "year"}),
              "origin": ("origin", list(recorder.origins), {"long_name": "origin district"}),
              "destination": ("destination", list(recorder.places),
                              {"long_name": "city or international destination"}),
              "pathway": ("pathway", list(PATHWAYS), {"long_name": "migration pathway"}),
              "sex": ("sex", list(SEXES), {"long_name": "sex of the migrant"}),
              "age_group": ("age_group", list(AGE_GROUPS), {"long_name": "age group of the migrant at departure"}),
              "skill": ("skill", list(SKILLS), {"long_name": "skill level of the migrant"}),
              "intervention": ("intervention", np.array(recorder.interventions, dtype=str),
                               {"long_name": "intervention"}),
              "channel": ("channel", np.array(recorder.channels, dtype=str), {"long_name": "regular channel"}),
              "route": ("route", np.array(recorder.routes, dtype=str), {"long_name": "irregular route"})}
    variables = {}
    for name, (dims, long_name, units) in VARIABLES.items():
        variables[name] = (dims, recorder.data[name][:n_steps], {"long_name": long_name, "units": units})
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write `ds` to NetCDF-4 (zlib) atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
