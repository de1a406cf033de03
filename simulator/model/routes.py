"""Irregular and onward routes in the model: the settings in force of each named route, and the month's counts of its
journeys.

A world's irregular route (`simulator.world.tables.Route` of kind `irregular`: name, destination, the smuggler's fee,
interception and death probability per journey, and duration) becomes an `IrregularRoute`; so does an onward route
(kind `onward`: from a city to a destination, its fare, risks and duration), which households do not choose: members
in its city move on by it (process 7, `MigrationModel.move_on`) and their journeys end as the others' do. Each month:

1. `begin_month()`: the settings in force return to the world's; interventions then adjust `settings` (process 3),
   on every route or on one by name (`select_routes`);
2. households of the origins a route serves choose among the routes as options of their own (process 4); a
   migrant who takes one is in transit on it (the households' `route` column);
3. journeys on the route that have lasted its `duration_months` end in death, interception or arrival with the
   route's probabilities in force that month (process 6; simulator.model.pathways.journey_outcomes).

A route keeps the month's counts (`departures`, `deaths`, `interceptions`, `arrivals`) for the outputs and for
interventions that cost what they do (ARCHITECTURE.md section 2.5).

Example:
    >>> from simulator.world.tables import Route as Row
    >>> row = Row("sea crossing", "irregular", "*", "abroad", (0, 1), 3000.0, 9000.0, 2, 0.3, 0.02)
    >>> [sea] = build_routes([row], destinations=("abroad",), n_origins=2)
    >>> sea, sea.settings["death_probability"]
    (IrregularRoute('sea crossing', destination='abroad'), 0.02)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from simulator.errors import ConfigError
from simulator.world.tables import Route as RouteRow

SETTINGS = ("travel_cost_usd", "interception_probability", "death_probability", "duration_months")
PROBABILITIES = ("interception_probability", "death_probability")
DURATION_MAX = 120   # months a journey may last (the version-1 parameter's bound)


class IrregularRoute:
    """A named irregular route to a destination.

    Attributes:
        name, destination: from the world's routes table.
        index: the route's position in the model's routes (kept in the migrants' `route` column).
        origins: the origin indices it serves (every origin for a route `from = *`); none for an onward route.
        source: the city an onward route starts in ("" for an irregular route).
        base: the world's settings: `travel_cost_usd` (the smuggler's fee, USD per journey), `interception_probability`
            and `death_probability` (per journey), `duration_months` (from departure to the journey's outcome).
        settings: the settings in force this month (a copy of `base` adjusted by interventions).
        departures, deaths, interceptions, arrivals: this month's counts of journeys begun and ended.
        expected_deaths: this month's sum, over the journeys ending, of the death probability in force: the mean of
            `deaths` given the journeys, without the noise of the draws.
    """

    def __init__(self, row: RouteRow, index: int) -> None:
        self.name, self.destination, self.index, self.origins = row.name, row.to, index, row.origins
        self.source = row.source if row.kind == "onward" else ""
        self.base = {k: float(getattr(row, k)) for k in SETTINGS}
        self.settings = dict(self.base)
        self.departures = self.deaths = self.interceptions = self.arrivals = 0
        self.expected_deaths = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, destination={self.destination!r})"

    @property
    def onward(self) -> bool:
        """An onward route (from a city), not an option of the households."""
        return bool(self.source)

    def begin_month(self) -> None:
        self.settings = dict(self.base)
        self.departures = self.deaths = self.interceptions = self.arrivals = 0
        self.expected_deaths = 0.0


def build_routes(rows: Iterable[RouteRow], destinations: tuple[str, ...], n_origins: int,
                 cities: tuple[str, ...] = ()) -> list[IrregularRoute]:
    """The model's route objects for the irregular routes among `rows`, then the onward routes from one of `cities`
    (other kinds are skipped), each in the rows' order.

    Each is checked: a unique, non-empty name, a destination among `destinations`, at least one origin served, each
    one of the `n_origins` (an onward route: a city among `cities` instead), a fee of at least 0, probabilities in
    [0, 1] and a whole duration in [0, DURATION_MAX] months. An error names the route and the setting."""
    routes: list[IrregularRoute] = []
    rows = list(rows)
    for row in [r for r in rows if r.kind == "irregular"] + [r for r in rows if r.kind == "onward"]:
        where = f"routes.{row.name}"
        if not row.name or any(r.name == row.name for r in routes):
            raise ConfigError("routes", row.name, "a unique, non-empty name for each irregular or onward route")
        if row.to not in destinations:
            raise ConfigError(f"{where}.to", row.to, f"one of the destinations {list(destinations)}")
        if row.kind == "onward":
            if row.source not in cities:
                raise ConfigError(f"{where}.from", row.source, f"one of the cities {list(cities)}")
        elif not row.origins or any(not 0 <= o < n_origins for o in row.origins):
            raise ConfigError(f"{where}.origins", list(row.origins), f"one or more origin indices in [0, "
                                                                      f"{n_origins - 1}]")
        for column in SETTINGS:
            value = getattr(row, column)
            hi = 1.0 if column in PROBABILITIES else DURATION_MAX if column == "duration_months" else np.inf
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(value) or not 0 <= value <= hi:
                raise ConfigError(f"{where}.{column}", value, f"a finite number in [0, {hi:g}]")
        if row.duration_months != int(row.duration_months):
            raise ConfigError(f"{where}.duration_months", row.duration_months, "a whole number of months")
        routes.append(IrregularRoute(row, len(routes)))
    if len(routes) > np.iinfo(np.int8).max:
        raise ConfigError("routes", len(routes), f"at most {np.iinfo(np.int8).max} irregular and onward routes")
    return routes


def select_routes(routes: list[IrregularRoute], name: str, who: str) -> list[IrregularRoute]:
    """The route named `name`, or every route (onward routes too) if `name` is empty; `who` names the setting in
    errors."""
    if not name:
        return list(routes)
    for r in routes:
        if r.name == name:
            return [r]
    raise ConfigError(who, name, f"an irregular route of the world: {[r.name for r in routes]}, or empty for all")
