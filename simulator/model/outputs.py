"""Recording (process 9) and outputs: preallocated arrays per step, turned into a labelled `xarray.Dataset`.

The dataset follows the output contract (ARCHITECTURE.md section 3): dims `time` (the first day of each calendar month,
so `ds.sel(time="2030")` selects a year; with `month`, the month of the run from 0, and `year` coordinates), `origin`,
`destination` (the cities, then the international destinations, by name), `pathway`, `channel` (the regular channels)
and `route` (the irregular routes); variables `emigrants(time, origin, destination, pathway)` (its sum over
`destination` is the version-1 variable), `deaths(time, origin)`, `trapped(time, origin)`, `population(time, origin)`,
`remittances(time, origin)` and more, each with `long_name`, `units` and, where the units are a count or money, what is
counted in `unit_label` (persons, households, USD/month...). Attributes carry the resolved config, seed, scenario and
simulator version.

Files are NetCDF-4 (netCDF4 engine, zlib), written atomically (a temporary file in the same folder, then a rename) and
following the CF-1.8 conventions, as the IOOS compliance checker's `cf:1.8` suite checks them: a CF time coordinate
(days since the first month, standard calendar), UDUNITS units (a count or an amount of money is dimensionless, "1", or
"month-1" for money in a month, with `unit_label` saying what it counts), no 64-bit integers, `long_name` on every
coordinate, `history` and `source` attributes.

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

from simulator.files import as_created

PATHWAYS = ("internal", "regular", "irregular")
SEXES = ("female", "male")
AGE_GROUPS = ("18-34", "35-54", "55+")
AGE_EDGES = (35.0, 55.0)
SKILLS = ("low", "mid", "high")
WEALTH_QUINTILES = ("Q1", "Q2", "Q3", "Q4", "Q5")   # of the households' wealth at the start, Q1 the poorest

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
    "remittances": (("time", "origin"), "remittances sent to households, net of transfer fees (what repays network "
                                        "loans included)", "USD/month"),
    "remittance_fees": (("time", "origin"), "fees paid to send remittances (SDG 10.c.1)", "USD/month"),
    "network_lent": (("time", "origin"), "what the district's members abroad lent in the month for its households' "
                                         "moves abroad (network loans, repaid from remittances)", "USD"),
    "network_debt": (("time", "origin"), "what the district's households owe the network that lent for their "
                                         "members' moves, end of month", "USD"),
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
    "route_expected_deaths": (("time", "route"), "deaths and missing expected on each irregular route in the month: "
                                                 "the sum, over the journeys ending, of the route's death probability "
                                                 "(the mean of route_deaths given the journeys, without the noise of "
                                                 "whether each one dies)", "persons"),
    "channel_costs": (("time", "channel"), "migration costs paid by the households granted a place by each regular "
                                           "channel in the month: its fee, recruitment cost and fare (SDG 10.7.1)",
                      "USD"),
    "emigrants_by_quintile": (("time", "pathway", "wealth_quintile"), "departures of members by pathway and their "
                                                                      "household's wealth quintile (families joining "
                                                                      "not counted)", "persons"),
    "trapped_by_quintile": (("time", "wealth_quintile"), "trapped households by wealth quintile", "households"),
    "population_by_quintile": (("time", "wealth_quintile"), "people living at origin by their household's wealth "
                                                            "quintile, end of month", "persons"),
    "consumption_by_quintile": (("time", "wealth_quintile"), "mean consumption per person at origin by wealth "
                                                             "quintile", "USD/month"),
    "log_consumption_by_quintile": (("time", "wealth_quintile"), "mean over the people at origin of the natural log "
                                                                 "of their household's consumption per person in USD "
                                                                 "a month (consumption-equivalent welfare)", "1"),
}


class Recorder:
    """Preallocated arrays, one per output variable, filled step by step."""

    def __init__(self, n_steps: int, origins: tuple[str, ...], interventions: tuple[str, ...],
                 places: tuple[str, ...], channels: tuple[str, ...] = (), routes: tuple[str, ...] = (),
                 channel_destinations: tuple[str, ...] | None = None,
                 coordinates: dict[str, tuple[float, float]] | None = None) -> None:
        sizes = {"time": n_steps, "origin": len(origins), "destination": len(places), "pathway": len(PATHWAYS),
                 "sex": len(SEXES), "age_group": len(AGE_GROUPS), "skill": len(SKILLS),
                 "intervention": len(interventions), "channel": len(channels), "route": len(routes),
                 "wealth_quintile": len(WEALTH_QUINTILES)}
        self.sizes, self.origins, self.interventions = sizes, origins, interventions
        self.places, self.channels, self.routes = places, channels, routes
        self.channel_destinations = tuple(channel_destinations or ("",) * len(channels))   # where each channel leads
        self.coordinates = dict(coordinates or {})   # place name -> (x, y) on the world's map
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
            if len(origin) == 0:   # nothing to add (most calls of a small model's month)
                return
            counts = tally_by_destination(origin, destination, _weights(weights), self.sizes["origin"],
                                          self.sizes["destination"])
            self.data[name][t, :, :, pathway] += counts
            return
        if len(origin) == 0:
            return
        row = self.data[name][t]
        if row.ndim != (1 if pathway is None else 2) or (pathway is not None and not 0 <= pathway < row.shape[1]):
            raise IndexError(f"output {name!r} has dimensions {VARIABLES[name][0]}: pathway {pathway!r} is not one "
                             f"of them")
        # one compiled version of the tally for every variable: the month's row as a flat view (the arrays are
        # C-contiguous), each origin's entry at `offset + origin * stride`, and no weights as an empty array
        add_tally(row.reshape(-1), 0 if pathway is None else int(pathway), 1 if row.ndim == 1 else row.shape[1],
                  origin, _weights(weights))


def _weights(weights: np.ndarray | None) -> np.ndarray:
    """The weights of a tally as the compiled tallies take them: float64, or empty when each household counts 1."""
    return _NO_WEIGHTS if weights is None else np.asarray(weights, np.float64)


@numba.njit(cache=True)
def add_at(target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """`np.add.at(target, index, values)`: each value added to its entry of `target`, one by one in order."""
    n = target.shape[0]
    for i in range(index.shape[0]):
        j = index[i]
        if j < 0:   # numpy's negative indices
            j += n
        if j < 0 or j >= n:
            raise IndexError("add_at: an index out of range")
        target[j] += values[i]


_NO_WEIGHTS = np.empty(0)   # the compiled tallies' weights when each household counts 1


@numba.njit(cache=True)
def add_tally(target: np.ndarray, offset: int, stride: int, origin: np.ndarray, weights: np.ndarray) -> None:
    """`target[offset::stride] += np.bincount(origin, weights, minlength=n_origins)`: the households (or their
    `weights`, summed in order; none if `weights` is empty) of each origin, added to every `stride`-th entry of the
    flat `target` from `offset` (one per origin), without the temporaries."""
    n = (target.shape[0] - offset + stride - 1) // stride
    counts = np.zeros(n)
    weighted = weights.shape[0] > 0
    for i in range(origin.shape[0]):
        o = origin[i]
        if o < 0 or o >= n:
            raise IndexError("add_tally: an origin out of range")
        if weighted:
            counts[o] += weights[i]
        else:
            counts[o] += 1.0
    for o in range(n):
        target[offset + o * stride] += counts[o]


@numba.njit(cache=True)
def tally_by_destination(origin: np.ndarray, destination: np.ndarray, weights: np.ndarray, n_origins: int,
                         n_destinations: int) -> np.ndarray:
    """(n_origins, n_destinations) float64: the households (or their `weights`, summed in order) of each origin and
    destination, in one pass: `np.bincount(origin * n_destinations + destination, weights)` without its four
    temporaries (a small model's month makes dozens of such counts of a few households)."""
    counts = np.zeros((n_origins, n_destinations))
    weighted = weights.shape[0] > 0
    for i in range(origin.shape[0]):
        o, d = origin[i], destination[i]
        if o < 0 or o >= n_origins or d < 0 or d >= n_destinations:
            raise IndexError("tally_by_destination: an origin or destination out of range")
        if weighted:
            counts[o, d] += weights[i]
        else:
            counts[o, d] += 1.0
    return counts


@numba.njit(cache=True)
def count_departures(emigrants: np.ndarray, by_quintile: np.ndarray, by_group: np.ndarray, t: int, pathway: int,
                     place: int, origin: np.ndarray, quintile: np.ndarray, female: np.ndarray, age: np.ndarray,
                     skill: np.ndarray, age_edges: np.ndarray) -> None:
    """A month's departures of members for `place` by `pathway` (one entry per member: its household's `origin` and
    wealth `quintile`, its sex, age and skill) added to the recorder's arrays `emigrants` (by origin and
    destination), `by_quintile` and `by_group` (by sex, age group of `age_edges` (right-closed: an age equal to an
    edge is in the group above) and skill), in one pass: the counts `np.bincount` and `np.add.at` make."""
    n_o, n_d, n_q = emigrants.shape[1], emigrants.shape[2], by_quintile.shape[2]
    counts = np.zeros((n_o, n_d))
    quintiles = np.zeros(n_q)
    for i in range(origin.shape[0]):
        o, q = origin[i], quintile[i]
        if o < 0 or o >= n_o or q < 0 or q >= n_q or place < 0 or place >= n_d or skill[i] < 0 or skill[i] > 2:
            raise IndexError("count_departures: an origin, quintile, place or skill out of range")
        counts[o, place] += 1.0
        quintiles[q] += 1.0
    for o in range(n_o):
        for d in range(n_d):
            emigrants[t, o, d, pathway] += counts[o, d]
    for q in range(n_q):
        by_quintile[t, pathway, q] += quintiles[q]
    for i in range(origin.shape[0]):   # np.add.at: one by one, in order
        a = np.float64(age[i])
        group = len(age_edges) if np.isnan(a) else 0   # np.searchsorted sorts NaN last
        for edge in age_edges:
            if a >= edge:
                group += 1
        by_group[t, pathway, 0 if female[i] else 1, group, skill[i]] += 1.0


# The units of the output contract that UDUNITS does not know: (CF units, what is counted). A count of people or
# things is dimensionless; money has no UDUNITS unit either, so an amount is "1" and an amount in a month "month-1".
UNIT_LABELS = {"persons": "1", "households": "1", "applications": "1", "visas": "1", "jobs": "1", "USD": "1",
               "USD/month": "month-1"}

# long_name of coordinates added around runs (comparisons, sweeps) when they have none
COORDINATE_NAMES = {"scenario": "policy package (scenario) or swept setting", "seed": "random seed of the run",
                    "stat": "statistic"}


def cf_attrs(long_name: str, units: str) -> dict[str, str]:
    """The attributes of an output variable: its UDUNITS `units`, and `unit_label` for a count or an amount."""
    if units in UNIT_LABELS:
        return {"long_name": long_name, "units": UNIT_LABELS[units], "unit_label": units}
    return {"long_name": long_name, "units": units}


def unit_label(da: xr.DataArray) -> str:
    """What a variable's numbers are, for a reader: `unit_label` (persons, USD/month...) or its `units`."""
    return str(da.attrs.get("unit_label", da.attrs.get("units", "")))


def month_starts(start_year: int, n_steps: int) -> np.ndarray:
    """The first day of each of `n_steps` months from January of `start_year`, as datetime64[ns]."""
    return (np.datetime64(f"{start_year:04d}-01", "M") + np.arange(n_steps)).astype("datetime64[ns]")


def wealth_quintiles(wealth: np.ndarray) -> np.ndarray:
    """Each household's quintile (0 the poorest) of `wealth` among all the households, as int8."""
    edges = np.quantile(wealth, [0.2, 0.4, 0.6, 0.8]) if wealth.size else np.zeros(4)
    return np.searchsorted(edges, wealth, side="right").astype(np.int8)


def cf_global_attrs() -> dict[str, str]:
    """The global attributes CF-1.8 asks of every file (no date in them: the same run gives the same file)."""
    from simulator.version import __version__   # here: the version module reads the installed package's metadata

    return {"Conventions": "CF-1.8",
            "source": f"migration-simulator {__version__}: agent-based model of household migration decisions (the "
                      "config attribute holds the resolved settings)",
            "history": f"written by migration-simulator {__version__}"}


def to_dataset(recorder: Recorder, start_year: int, n_steps: int, attrs: dict[str, Any]) -> xr.Dataset:
    """The recorded arrays of the first `n_steps` steps as a labelled Dataset following the output contract."""
    month = np.arange(n_steps, dtype=np.int32)
    coords = {"time": ("time", month_starts(start_year, n_steps),
                       {"standard_name": "time", "long_name": "calendar month (its first day)", "axis": "T"}),
              "month": ("time", month, {"long_name": "month of the run, from 0", "units": "1"}),
              "year": ("time", (start_year + month // 12).astype(np.int32), {"long_name": "calendar year",
                                                                            "units": "1"}),
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
              "channel_destination": ("channel", np.array(recorder.channel_destinations, dtype=str),
                                      {"long_name": "destination of the regular channel"}),
              "route": ("route", np.array(recorder.routes, dtype=str), {"long_name": "irregular route"}),
              "wealth_quintile": ("wealth_quintile", list(WEALTH_QUINTILES),
                                  {"long_name": "quintile of household wealth (liquid wealth and assets) at the start "
                                                "of the run, Q1 the poorest"})}
    for dim, names in (("origin", recorder.origins), ("destination", recorder.places)):
        for axis, k in (("x", 0), ("y", 1)):
            coords[f"{dim}_{axis}"] = (dim, np.array([recorder.coordinates.get(n, (np.nan, np.nan))[k] for n in names],
                                                     dtype=float),
                                       {"long_name": f"map {axis} of the {dim} (the world table's {axis}: degrees "
                                                     f"{'east' if axis == 'x' else 'north'} on the shipped worlds)"})
    variables = {}
    for name, (dims, long_name, units) in VARIABLES.items():
        variables[name] = (dims, recorder.data[name][:n_steps], cf_attrs(long_name, units))
    return xr.Dataset(variables, coords=coords, attrs={**cf_global_attrs(), **attrs})


def cf_dataset(ds: xr.Dataset) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """`ds` ready for a CF-1.8 file, and its encoding: `long_name` on every coordinate, `history` and `source`
    attributes, the time coordinate as int32 days since its first month, other 64-bit integers as int32."""
    ds = ds.copy()
    for name, coord in ds.coords.items():
        if "long_name" not in coord.attrs:
            coord.attrs["long_name"] = COORDINATE_NAMES.get(str(name), str(name).replace("_", " "))
    ds.attrs = {**cf_global_attrs(), **ds.attrs}
    encoding: dict[str, dict[str, Any]] = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    for name, var in ds.variables.items():
        if var.dtype == np.int64:
            values = var.values
            if values.size and (values.min() < np.iinfo(np.int32).min or values.max() > np.iinfo(np.int32).max):
                raise ValueError(f"{name}: values beyond 32-bit integers cannot be written to a CF-1.8 file")
            encoding.setdefault(str(name), {})["dtype"] = "int32"
        elif np.issubdtype(var.dtype, np.datetime64) and var.size:
            first = np.datetime_as_string(var.values.min(), unit="D")
            encoding.setdefault(str(name), {}).update(
                {"units": f"days since {first}", "calendar": "standard", "dtype": "int32"})
    return ds, encoding


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write `ds` to NetCDF-4 (zlib) atomically, following CF-1.8 (`cf_dataset`): a temporary file in the same folder,
    then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds, encoding = cf_dataset(ds.drop_encoding())
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
        as_created(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@numba.njit(cache=True)
def month_sums(origin: np.ndarray, status: np.ndarray, quintile: np.ndarray, persons_home: np.ndarray,
               size: np.ndarray, consumption: np.ndarray, wealth: np.ndarray, aspiration: np.ndarray,
               aspired: np.ndarray, t: int, months: int, at_home: int, living_abroad: int, n_origins: int,
               n_statuses: int, n_quintiles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the month's recording needs of the households, in one pass, each summed in household order: households
    by origin and status (as `households.status_by_origin`); per origin (n_origins, 5), the people at origin, the
    members of households living abroad (status `living_abroad`), then over the households living at origin their
    consumption, wealth and number; per wealth quintile (n_quintiles, 3), over the households living at origin with
    someone there, the people, their consumption and the sum over them of the log of their household's consumption per
    person (at least 1 USD a month); and the households at home (`at_home`) aspiring at step `t` (an `aspiration`,
    trapped at step `aspired` within `months`), (n_origins, 3) by the pathway of their aspiration."""
    counts = np.zeros((n_origins, n_statuses), np.int64)
    sums = np.zeros((n_origins, 5))
    by_quintile = np.zeros((n_quintiles, 3))
    aspiring = np.zeros((n_origins, 3))
    for i in range(origin.shape[0]):
        o = origin[i]
        counts[o, status[i]] += 1
        sums[o, 0] += persons_home[i]
        if status[i] != living_abroad:
            sums[o, 2] += consumption[i]
            sums[o, 3] += wealth[i]
            sums[o, 4] += 1.0
        else:
            sums[o, 1] += size[i]
        if not (status[i] == living_abroad or persons_home[i] <= 0):
            q, n = quintile[i], persons_home[i]
            by_quintile[q, 0] += n
            by_quintile[q, 1] += consumption[i]
            by_quintile[q, 2] += n * np.log(max(consumption[i] / n, 1.0))
        if aspiration[i] > 0 and status[i] == at_home and t - aspired[i] < months:
            aspiring[origin[i], aspiration[i] - 1] += 1.0
    return counts, sums, by_quintile, aspiring
