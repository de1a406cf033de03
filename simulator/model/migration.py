"""The migration model: households choosing to stay, move to a city, or migrate regularly or irregularly abroad.

`MigrationModel` is a Mesa model. Household state lives in columns (`model.households`); each household is also a
`Household` Mesa agent viewing its row (created for populations up to `agent_view_limit`). The rules are the pure
array functions of the process modules; `step()` calls them in the documented order.

Example:
    >>> from simulator import MigrationModel
    >>> model = MigrationModel(n_households=500, years=2, rng=7)
    >>> ds = model.run()
    >>> int(ds.sizes["time"])
    24
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import mesa
import numpy as np
import xarray as xr
from scipy.special import ndtri

from simulator.version import __version__
from simulator.model.abroad import (employment_and_remittances, expected_employment, float32_threshold, returns_irregular,
                                    returns_regular)
from simulator.model.budgets import household_budgets, repay_network_loans
from simulator.model.channels import OptionTerms, build_channels
from simulator.model.climate import (Climate, ClimateOutlook, RecordedShock, destroy_assets, household_loss,
                                     recorded_schedule, remember_shocks)
from simulator.model.decisions import Options, credit_floor, decide_households, means_to_move
from simulator.config import check_calendar, check_threads
from simulator.errors import ConfigError
from simulator.model.households import (ABROAD_IRREGULAR, ABROAD_REGULAR, AT_HOME, FAMILY_ABROAD, IN_CITY, IN_TRANSIT,
                                        N_STATUSES, WAITING, Household, status_by_origin_and_place, synthesize)
from simulator.model.migrants import NO_CONTRACT, Migrant, Migrants, free_slots, take_slots
from simulator.model.labour import Labour, LabourOutlook, skill_multiplier
from simulator.model.places import Places
from simulator.model.outputs import (AGE_EDGES, PATHWAYS, WEALTH_QUINTILES, Recorder, add_at, count_departures,
                                     month_sums, to_dataset, wealth_quintiles)
from simulator.params import DecisionParams, ModelParams, PopulationParams, validate
from simulator.model.pathways import journey_outcomes
from simulator.model.levers import Policy
from simulator.model.routes import build_routes
from simulator.world.convert import check_table_parameters, version1_channels, version1_routes
from simulator.world.regions import World
from simulator.world.tables import Channel as ChannelRow, Corridors, Route as RouteRow, default_world_path, open_world
from simulator.rng import Streams


class Intervention(Protocol):
    """What the model asks of an intervention (the policy layer's classes, simulator.policy.interventions, provide it):
    declared here so that the model does not import the layer built on it."""

    name: str

    def initialize(self, model: MigrationModel) -> None: ...

    def step(self, model: MigrationModel) -> None: ...

    def cost(self, model: MigrationModel) -> float: ...

P_INTERNAL, P_REGULAR, P_IRREGULAR = range(3)    # index along the output `pathway` dim
AGE_EDGES_ARRAY = np.array(AGE_EDGES, np.float64)   # for the compiled count of departures


def resolve_seed(rng: Any) -> int:
    """An integer seed from Mesa's `rng` argument: an int, a numpy Generator, or None (fresh entropy)."""
    if rng is None:
        return int(np.random.SeedSequence().entropy % 2**63)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or not 0 <= rng < 2**63:
        raise ConfigError("seed", rng, "a non-negative integer below 2**63 (the outputs store it as a 64-bit "
                                       "integer)")
    return int(rng)


SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"   # the shipped scenarios (read by the policy layer)


class MigrationModel(mesa.Model):
    """Households in origin districts deciding each month whether and how to migrate.

    Args:
        n_households: households simulated (all origins together).
        years: length of the run; one step is one month.
        rng: seed (int), numpy Generator, or None for a fresh seed; recorded in `self.seed` and in the outputs.
        world: a world (`World`, version 1, or `Corridors`, version 2), a path to a world folder of either version,
            or None for the illustrative default world.
        params: model parameters (`ModelParams`); defaults when None.
        interventions: active policy objects (see `simulator.policy.interventions.build_interventions`).
        climate_outlook, labour_outlook: the climate and labour future (multipliers on the world's figures).
        start_year: calendar year of the first month.
        scenario: a label recorded in the outputs (as `scenario_name`: Mesa 3.5 reserves `scenario`). The model
            does not build a scenario's interventions (the policy layer does: `simulator.experiments.runner.build_model`
            or `interventions=load_scenario(name).interventions`), so the name of a shipped scenario other than
            baseline, given without interventions or outlooks, is refused rather than run as the baseline.
        agent_view_limit: create `Household` Mesa agents, and `Migrant` agents for their members away, only up to
            this many households (views cost ~500 bytes and ~7 us each); the model computes the same either way.
        threads: threads for the household decision (numba), from 1 to the cores numba can use; the results are
            the same for any number. Sweeps run one model per core instead, so the default is 1.
        config: the resolved run config, recorded in the outputs' attributes.
        channels: the regular channels, rows of simulator.world.tables.Channel (the settings of their kind, as in
            a channels.csv), with quotas and processing for the world's households (a version-2 world's) or per
            1,000 households (a version-1 world); None for the world's own: a version-2 world's channels table, or
            the version-1 channels built from the parameters (simulator.world.convert.version1_channels).
        recorded_shocks: shocks that happened, by calendar month (simulator.model.climate.RecordedShock; a
            scenario's `recorded_shocks`), started in their month whatever the climate draws; none by default.
        routes: the irregular routes, rows of simulator.world.tables.Route (rows of other kinds are skipped), each
            offered to households of the origins it serves. None for the world's own: a version-2 world's routes
            table, or the version-1 route `smuggled` built from the parameters
            (simulator.world.convert.version1_routes).
        **overrides: dotted parameter overrides, e.g. `**{"decisions.credit_fraction": 0.4}` (on a version-2 world,
            those its tables replace are refused: simulator.world.convert.TABLE_PARAMETERS).
    """

    decision_block = 65_536   # households per block of the decision (process 4); results do not depend on it
    OFFER_TAKEN = -2          # a choice code outside the options': the household took a channel's offer instead

    def __init__(self, n_households: int = 5000, years: float = 20, rng: Any = None,
                 world: World | str | Path | None = None, params: ModelParams | None = None,
                 interventions: Iterable[Intervention] = (), climate_outlook: ClimateOutlook | None = None,
                 labour_outlook: LabourOutlook | None = None, start_year: int = 2025, scenario: str = "custom",
                 agent_view_limit: int = 100_000, threads: int = 1, config: str = "",
                 channels: Iterable[ChannelRow] | None = None, routes: Iterable[RouteRow] | None = None,
                 recorded_shocks: Iterable[RecordedShock] = (), **overrides: Any) -> None:
        interventions = list(interventions)
        if (scenario != "baseline" and not interventions and climate_outlook is None and labour_outlook is None
                and (SCENARIOS / f"{scenario}.yaml").is_file()):
            raise ConfigError("scenario", scenario, "a label only: the model does not build a scenario's "
                              "interventions. Build the scenario's model with simulator.experiments.runner.build_model("
                              f"RunConfig(scenario={scenario!r})), or pass interventions=load_scenario({scenario!r})"
                              ".interventions (simulator.policy.scenarios) with its outlooks")
        seed = resolve_seed(rng)
        super().__init__(rng=seed)
        if isinstance(n_households, bool) or not isinstance(n_households, (int, np.integer)) or n_households < 1:
            raise ConfigError("n_households", n_households, "an integer of at least 1")
        check_calendar(start_year, years)
        check_threads(threads)
        self.threads = int(threads)
        self.seed, self.scenario_name, self.start_year, self.config = seed, scenario, int(start_year), config
        self.params = _with_overrides(params or ModelParams(), overrides)
        validate(self.params)
        self.world = world if isinstance(world, (World, Corridors)) else open_world(world or default_world_path())
        self.climate_outlook = climate_outlook or ClimateOutlook()
        self.labour_outlook = labour_outlook or LabourOutlook()
        self.n_steps = max(1, int(round(years * 12)))
        self.t = 0   # months completed
        self.streams = Streams(seed)

        n = int(n_households)
        self.households = synthesize(self.world, self.params, n, self.streams["population"])
        self.households_per_origin = np.bincount(self.households.origin, minlength=self.world.n_origins)
        self.migrants = Migrants.empty()   # the members away, one row each (simulator.model.migrants)
        self.max_away = int(self.params.decisions.max_members_away)
        self.initial_population = int(self.households.size.sum())
        # wealth quintile at the start (liquid wealth and assets), the same households in every scenario of a seed
        self.quintile = wealth_quintiles(self.households.wealth + self.households.assets)
        self.climate = Climate(self.world, self.params.climate, self.climate_outlook, self.streams["climate"],
                               recorded_schedule(self.world, list(recorded_shocks), self.start_year, self.n_steps))
        # the places migrants go to, cities then destinations (the outputs' `destination` dim), and the world's
        # channels and routes
        if isinstance(self.world, Corridors):
            check_table_parameters(self.params, self.world.name)
            self.places = Places.from_corridors(self.world, self.params)
            channels = self.world.channels if channels is None else channels
            routes = self.world.routes if routes is None else routes
        else:
            self.places = Places.from_version1(self.world, self.params)
            channels = version1_channels(self.world.destination, self.params) if channels is None else channels
            routes = version1_routes(self.world, self.params) if routes is None else routes
        self.scale = n / self.places.unit   # simulated households per household of the world's figures
        self.labour = Labour(self.world, self.places, self.params.labour, self.labour_outlook, self.scale,
                             self.streams["labour"])
        destinations = self.places.names[self.places.n_cities:]
        # the regular channels (simulator.model.channels), quotas scaled to the simulated population
        self.channels = build_channels(list(channels), scale=self.scale, destinations=destinations)
        self.option_channels: list = []   # the channel of each of the month's options (None: not a channel)
        # the irregular routes (simulator.model.routes), each offered to the origins it serves
        self.routes = build_routes(list(routes), destinations=destinations, n_origins=self.world.n_origins,
                                   cities=self.places.names[:self.places.n_cities])
        self.route_options = [r for r in self.routes if not r.onward]   # the routes households choose
        self.onward_routes = [r for r in self.routes if r.onward]       # and those members in a city move on by
        most = max([sum(r.source == c for r in self.routes) for c in self.places.names[:self.places.n_cities]],
                   default=0)
        if most * self.params.abroad.onward_rate > 1:
            raise ConfigError("abroad.onward_rate", self.params.abroad.onward_rate,
                              f"at most 1/{most}: a city has {most} onward routes, each taken at this rate a month")
        self.option_routes: list = []     # the irregular route of each of the month's options (None: not a route)
        self._waiting: np.ndarray | None = None   # the households waiting when process 5 began (see `applicants`)
        self._layout: tuple | None = None   # the options' layout (corridor_layout) and what it is for
        self.policy = Policy.from_params(self.params, n)
        self.interventions = list(interventions)
        names = [iv.name for iv in self.interventions]
        if len(set(names)) != len(names):
            raise ConfigError("interventions", names, "each intervention label at most once (several of one kind: "
                                                      "a list of entries, simulator.policy.interventions."
                                                      "build_interventions)")
        for iv in self.interventions:
            iv.initialize(self)
        self.loss = np.zeros(n)             # share of origin income lost to this month's shocks (process 1)
        self.cash = np.zeros(n)             # transfers received this month, USD (set by interventions)
        self.remittances_in = np.zeros(n)   # remittances received this month, USD
        self.consumption = np.zeros(n)
        self.persons_home = self.households.people_at_origin()   # members living at origin, per household
        self.income_per_adult = np.zeros(n)
        self.credit_floor = credit_floor(self.params.decisions, self.world.assets_median)   # per district
        self.skill_wage = skill_multiplier(np.arange(3), self.params.labour)   # by skill level (labour.py)
        self.cost_network = np.zeros((self.world.n_origins, self.places.n, 3))   # and by pathway (the cost cut)
        # expected employment of regular and irregular migrants at each place (cities: unused, see month_options),
        # before anyone is abroad: every place hires at once (update_migrants renews it each month)
        self.expected_employment = np.empty((self.places.n, 2))
        self.expect_employment(np.ones(self.places.n))
        self.recorder = Recorder(self.n_steps, self.world.origins, tuple(names), self.places.names,
                                 channels=tuple(c.name for c in self.channels),
                                 channel_destinations=tuple(c.destination for c in self.channels),
                                 coordinates=getattr(self.world, "coordinates", None),
                                 routes=tuple(r.name for r in self.routes))
        self.views = n <= agent_view_limit   # Mesa agents for households and for members away
        self.migrant_views: dict[tuple[int, int], Migrant] = {}   # (household, departure number) -> its view
        if self.views:
            Household.create_agents(self, n, row=np.arange(n))
        self.datacollector = mesa.DataCollector(model_reporters={
            "departures_internal": "departures_internal", "departures_regular": "departures_regular",
            "departures_irregular": "departures_irregular", "deaths": "deaths", "trapped": "trapped",
            "visa_queue": "visa_queue", "population_at_origin": "population_at_origin",
            "remittances_usd": "remittances_usd"})
        self.datacollector.collect(self)

    # --- the step ------------------------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one month, in this order (ARCHITECTURE.md section 1; docs/ODD.md, process overview):

        1. climate: sudden shocks start or continue, slow-onset decline advances; losses hit households
        2. labour markets: destination demand, vacancies and wages; origin wages
        3. interventions adjust the policy in force (enforcement, smuggling, remittance cost...), the settings in
           force of the regular channels (quotas, fees, eligibility...) and household columns (adaptation, cash...)
        4. households at home decide: stay, internal, regular (apply), irregular (depart); trapped recorded
        5. regular pathway: give-ups, then visas issued within quota and processing capacity
        6. irregular journeys resolve: death, interception (return home) or arrival
        7. migrants away: employment, remittances net of transfer cost, returns and deportations
        8. household budgets: income, remittances, transfers, consumption, savings
        9. recording of the month's flows and stocks
        """
        if self.t >= self.n_steps:
            raise RuntimeError(f"the run is over: all {self.n_steps} months have been simulated")
        self.hit_by_climate()
        self.labour.step(self.t)
        self.apply_interventions()
        self.decide()
        self.process_visas()
        self.resolve_journeys()
        self.update_migrants()
        self.update_budgets()
        self.record()
        self.t += 1
        self.running = self.t < self.n_steps
        self.datacollector.collect(self)

    def run(self, progress: Any = None) -> xr.Dataset:
        """Run the remaining months and return the outputs; `progress` is an optional callable(months_done)."""
        while self.t < self.n_steps:
            self.step()
            if progress is not None:
                progress(self.t)
        return self.dataset()

    # --- processes -----------------------------------------------------------------------------------------------

    def hit_by_climate(self) -> None:
        """Process 1: advance the climate; shocks destroy assets at onset and are remembered by households."""
        h, c = self.households, self.climate
        c.step(self.t)
        if c.onset.any():
            destroy_assets(h.assets, c.region_onset_intensity, h.origin, h.farm_dependence, h.adaptation,
                           h.asset_protection, self.params.climate.asset_loss_ratio)
        household_loss(c.region_loss, h.origin, h.farm_dependence, h.adaptation, self.loss)
        remember_shocks(h.shock_memory, self.loss, self.params.decisions.shock_memory)

    def apply_interventions(self) -> None:
        """Process 3: rebuild the policy from the parameters and the settings of the channels and routes from the
        world's, then let each intervention act."""
        self.policy = Policy.from_params(self.params, self.households.n)
        for channel in self.channels:
            channel.begin_month()
        for route in self.routes:
            route.begin_month()
        self.cash[:] = 0.0
        for iv in self.interventions:
            iv.step(self)

    def month_options(self, cost_network: np.ndarray | None = None) -> Options:
        """The month's options (see `corridor_options`): each city, the channels households choose (their terms
        given the queue before anyone decides) and the irregular routes (their settings in force), their costs
        lowered by the `cost_network` shares by pathway (this month's `network_by_pathway()` if None), and what is
        due on choosing a move abroad lowered by what the network lends (`network_loan`); sets `option_channels`,
        `option_routes` and `option_lent` (USD lent per origin and option; None without loans)."""
        h, places = self.households, self.places
        queues = np.bincount(h.channel[h.status == WAITING], minlength=len(self.channels))
        chosen = [(c, c.option_terms(int(queues[c.index]))) for c in self.channels]
        chosen = [(c, terms) for c, terms in chosen if terms is not None]
        routes = self.route_options
        self.option_channels = [None] * places.n_cities + [c for c, _ in chosen] + [None] * len(routes)
        self.option_routes = [None] * (places.n_cities + len(chosen)) + list(routes)
        regular = [(c.name, places.index(c.destination), terms) for c, terms in chosen]
        irregular = [(r.name, places.index(r.destination), r.settings, r.origins) for r in routes]
        key = (tuple((name, q, terms.job_offer) for name, q, terms in regular),
               tuple((name, q, tuple(origins)) for name, q, _, origins in irregular))
        if self._layout is None or self._layout[0] != key:   # the same every month, unless an option comes or goes
            self._layout = (key, corridor_layout(places, self.params, regular, irregular))
        cost_network = self.network_by_pathway() if cost_network is None else cost_network
        options = corridor_options(places, self.params, self.labour.wage, self.expected_employment, regular,
                                   irregular, cost_network, layout=self._layout[1])
        # Network loans: of what is due on choosing a move abroad (a route, a channel's fee), the share
        # `network_loan` of the district's members at the place is lent; a channel's recruitment cost and fare, due
        # when its place is granted, are lent alike then (`pay_on_departure`). Moves to a city are not lent for.
        self.option_lent = None
        if self.params.decisions.network_loan_share > 0:
            share = cost_network.sum(axis=2)[:, options.place]   # (origin, option): members at the place
            abroad = options.pathway != P_INTERNAL
            lent = np.where(abroad, options.due * network_loan(share, self.params.decisions), 0.0)
            self.option_lent = lent
            options = dataclasses.replace(options, due=options.due - lent)
        return options

    def members_by_pathway(self) -> np.ndarray:
        """(origin, place, pathway), int64: the members of each district's households at each place, by the pathway
        they went by: in a city (internal); abroad with a regular status or reunited with their family (regular; a
        family counted once); abroad with an irregular status (irregular). One pass over the migrants."""
        m, n_cities = self.migrants, self.places.n_cities
        where = status_by_origin_and_place(m.origin, m.place, m.status, self.world.n_origins, self.places.n)
        members = np.zeros((self.world.n_origins, self.places.n, 3), np.int64)
        members[:, :n_cities, P_INTERNAL] = where[:, :n_cities, IN_CITY]
        members[:, n_cities:, P_REGULAR] = where[:, n_cities:, [ABROAD_REGULAR, FAMILY_ABROAD]].sum(axis=2)
        members[:, n_cities:, P_IRREGULAR] = where[:, n_cities:, ABROAD_IRREGULAR]
        return members

    def network_shares(self, members: np.ndarray | None = None) -> np.ndarray:
        """(origin, place): the members of each district's households living at each place, per household (Massey
        et al. 1993; destination-specific diasporas: Beine, Docquier & Ozden 2011): in a city, or abroad (migrants
        and families reunited there, a family counted once); from `members` (`members_by_pathway()` if None)."""
        members = self.members_by_pathway() if members is None else members
        return members.sum(axis=2) / np.maximum(self.households_per_origin, 1)[:, None]

    def network_by_pathway(self, members: np.ndarray | None = None) -> np.ndarray:
        """(origin, place, pathway): `members` (`members_by_pathway()` if None) per household of the district. A
        network lowers the costs of the way its members went (`network_cut`)."""
        members = self.members_by_pathway() if members is None else members
        return members / np.maximum(self.households_per_origin, 1)[:, None, None]

    def decide(self) -> None:
        """Process 4: households at home with an adult at origin and fewer than `decisions.max_members_away`
        members away choose among the open options (decisions.py); the adults who decide are those at origin."""
        h, p, pol, t = self.households, self.params, self.policy, self.t
        members = self.members_by_pathway()
        network = self.network_shares(members)
        self.cost_network = self.network_by_pathway(members)   # kept for the month's payments on departure
        options = self.month_options(self.cost_network)
        # Households decide in blocks of rows. Every household draws the same number of uniforms every month
        # (common random numbers): drawn block after block into one buffer, they are the numbers one (n, width)
        # draw would give, so results do not depend on the block size. Only households that move or are trapped
        # (a few percent) are kept. The last column is the queue tie-break.
        stream, block = self.streams["decisions"], max(1, int(self.decision_block))
        width = options.uniforms_per_household
        uniforms = np.empty((min(block, h.n), width), np.float32)
        wanted = np.empty(min(block, h.n), np.int8)
        kept: list[tuple[np.ndarray, ...]] = []
        for start in range(0, h.n, block):
            rows = slice(start, min(start + block, h.n))
            u = uniforms[: rows.stop - start]
            stream.random(out=u, dtype=np.float32)
            away = np.bitwise_count(h.slots[rows])
            free = np.where(away < self.max_away, h.adults[rows] - away, 0).astype(np.int16)   # 0: does not decide
            persons = h.size[rows] - away   # members at origin
            choice, trapped = decide_households(
                h.status[rows], free, persons, h.origin[rows], h.skill[rows], h.farm_dependence[rows],
                self.loss[rows], h.income_boost[rows], h.shock_memory[rows], h.patience[rows],
                h.risk_aversion[rows], h.wealth[rows], h.assets[rows], self.skill_wage[h.skill[rows]], u,
                self.labour.origin_wage, self.climate.farm_decline, network, options, p.decisions,
                pol.risk_perception, income_per_adult=self.income_per_adult[rows],
                subsistence_usd=p.budget.subsistence_usd, threads=self.threads,
                wanted=wanted[: rows.stop - start], credit_floor=self.credit_floor)
            rel = np.flatnonzero((choice > 0) | trapped)
            kept.append((rel + start, choice[rel], trapped[rel], u[rel, width - 1].astype(np.float64),
                         wanted[rel].astype(np.int64)))
        idx, choice, trapped, tie_break, wanted_ = (kept[0] if len(kept) == 1 else
                                                    (np.concatenate(parts) for parts in zip(*kept)))
        for channel in self.channels:   # places offered to households that want to leave (humanitarian visas)
            channel.offer(self, idx, choice, trapped)
        trapped &= choice != self.OFFER_TAKEN
        stuck = idx[trapped]
        stuck_origin = h.origin[stuck]
        self.recorder.count("trapped", t, stuck_origin)
        self.recorder["trapped_by_quintile"][t] += np.bincount(self.quintile[stuck], minlength=len(WEALTH_QUINTILES))
        # trapped households aspire to the pathway of the move they wanted (Carling 2002); movers' aims are met
        aim = options.pathway[np.maximum(wanted_[trapped] - 1, 0)].astype(np.int8)
        for pathway in range(len(PATHWAYS)):
            self.recorder.count("trapped_wanting", t, stuck_origin[aim == pathway], pathway)
        h.aspiration[stuck] = aim + 1
        h.aspired[stuck] = t
        h.aspiration[idx[choice > 0]] = 0

        chosen = np.bincount(choice[choice > 0], minlength=options.n + 1)   # households that chose each option
        for k in np.flatnonzero(chosen[1:]).tolist():   # (the others: nothing to do)
            took = choice == k + 1
            movers = idx[took]
            self._pay(movers, options.due[h.origin[movers], k])
            if self.option_lent is not None:   # what the network lent them, owed until repaid
                lent = self.option_lent[h.origin[movers], k]
                h.debt[movers] += lent.astype(np.float32)
                self.recorder.count("network_lent", t, h.origin[movers], weights=lent)
            pathway = options.pathway[k]
            if pathway == P_INTERNAL:
                self._depart(movers, P_INTERNAL, IN_CITY, options.place[k])
                self.recorder.count("arrivals", t, h.origin[movers], P_INTERNAL,
                                    destination=np.full(len(movers), options.place[k], np.int8))
            elif pathway == P_REGULAR:   # the channel's rule: an application, or a departure
                self.option_channels[k].apply(self, movers, tie_break[took])
            else:   # an irregular journey on the option's route, to its destination
                route = self.option_routes[k]
                self._depart(movers, P_IRREGULAR, IN_TRANSIT, options.place[k], route=route.index)
                route.departures += len(movers)

    def process_visas(self) -> None:
        """Process 5: each channel's rule, in the world's order: give-ups, then places granted within its quota and
        processing capacity, first come first served (simulator.policy.channels)."""
        # the month's applicants, found once (as int32: half the memory of a large model's queues), each channel
        # finding its own among them (`applicants`)
        self._waiting = np.flatnonzero(self.households.status == WAITING).astype(np.int32)
        try:
            for channel in self.channels:
                channel.admit(self)
        finally:
            self._waiting = None

    def applicants(self, channel: int) -> np.ndarray:
        """The households waiting in the queue of channel `channel` (its index), in row order. While the channels
        decide (process 5) they are found among the households that were waiting when it began: no household joins
        a queue then, and a channel changes the status of its own applicants only."""
        h, waiting = self.households, self._waiting
        if waiting is None:
            return np.flatnonzero((h.status == WAITING) & (h.channel == channel))
        return waiting[(h.status[waiting] == WAITING) & (h.channel[waiting] == channel)].astype(np.int64)

    def admit(self, households: np.ndarray, channel: Any, contract_end: int, job_offer: bool) -> None:
        """The migrants of `households` leave by a regular `channel` (which calls this); their stay ends at
        `contract_end` (NO_CONTRACT: no set end); with a `job_offer` they arrive employed."""
        if len(households) == 0:   # no one admitted this month: nothing changes
            return
        h, t = self.households, self.t
        place = self.places.index(channel.destination)
        waited = households[h.status[households] == WAITING]
        h.status[waited] = AT_HOME   # the application is over
        h.since[waited] = t
        h.channel[households] = -1
        self._depart(households, P_REGULAR, ABROAD_REGULAR, place, channel=channel.index, employed=job_offer,
                     contract_end=contract_end)
        self.recorder.count("arrivals", t, h.origin[households], P_REGULAR,
                            destination=np.full(len(households), place, np.int8))   # as the migrants' place column

    def pay_on_departure(self, queue: np.ndarray, places: int, channel: Any, recruitment_cost: float,
                         whole_queue: Callable[[], np.ndarray] | None = None) -> np.ndarray:
        """Up to `places` places of `channel` (which charged only its fee on applying) offered down its `queue` of
        eligible applicants, in queue order: each offered pays the `recruitment_cost` and the fare of the regular route
        to the channel's destination, lowered by this month's network at the destination as on choosing (`network_cut`),
        less what the network there lends (`network_loan`, owed in the household's `debt`), if it can (`means_to_move`),
        and the place is its; one that cannot loses the place to the next in the queue: it leaves the queue, aspires to
        the regular pathway (as if trapped this month) and is counted in `could_not_pay`. Returns the households that
        paid, in queue order. `queue` may be the front of the queue only, with `whole_queue()` giving all of it, in
        order, should the front hold too few payers."""
        h, t, dp = self.households, self.t, self.params.decisions
        if len(queue) == 0 or places <= 0:   # no place offered (most months of a small model): nothing paid (the
            # same sum as below, of nothing) and nothing changes
            self.recorder["channel_costs"][t, channel.index] += 0.0 + 0 * channel.settings.get("fee_usd", 0.0)
            return queue[:0]
        place = self.places.index(channel.destination)
        # The places go no further down the queue than its `places`-th payer: the front of the queue first (in a long
        # queue with few places, most months), the whole queue if the front holds fewer payers. Element by element,
        # the same amounts and payers either way.
        fronts = [queue[:2 * int(places) + 8], queue] if len(queue) > 2 * places + 8 else [queue]
        for front in fronts + ([None] if whole_queue is not None else []):
            front = whole_queue() if front is None else front
            origin = h.origin[front]
            amount = recruitment_cost + self.places.travel_cost[origin, place]
            if dp.network_cost_cut > 0:
                amount = amount * network_cut(self.cost_network[origin, place, P_REGULAR], dp)
            lent = (amount * network_loan(self.cost_network[origin, place].sum(axis=1), dp)
                    if dp.network_loan_share > 0 else np.zeros(len(front)))
            can = means_to_move(h.wealth[front], h.assets[front], dp, self.credit_floor[origin]) >= amount - lent
            if np.count_nonzero(can) >= places:
                break
        queue = front
        offered = np.cumsum(can) - can < places   # offered until the places are taken
        paid = offered & can
        self._pay(queue[paid], amount[paid] - lent[paid])
        if dp.network_loan_share > 0:
            h.debt[queue[paid]] += lent[paid].astype(np.float32)
            self.recorder.count("network_lent", t, h.origin[queue[paid]], weights=lent[paid])
        self.recorder["channel_costs"][t, channel.index] += amount[paid].sum() + paid.sum() * channel.settings.get(
            "fee_usd", 0.0)
        short = queue[offered & ~can]
        h.status[short] = AT_HOME
        h.since[short] = t
        h.channel[short] = -1
        h.aspiration[short], h.aspired[short] = P_REGULAR + 1, t
        self.recorder.count("could_not_pay", t, h.origin[short])
        return queue[paid]

    def reunite(self, migrants: np.ndarray) -> None:
        """The families of the regular migrants `migrants` (rows of `self.migrants`, each its household's only member
        away) join them abroad and settle (called by a channel)."""
        if len(migrants) == 0:
            return
        h, m, t = self.households, self.migrants, self.t
        households = m.household[migrants]
        h.status[households] = FAMILY_ABROAD
        h.since[households] = t
        m.status[migrants] = FAMILY_ABROAD
        m.since[migrants] = t
        m.contract_end[migrants] = NO_CONTRACT
        for name in ("emigrants", "arrivals"):   # the family members other than the migrant, where it lives
            self.recorder.count(name, t, h.origin[households], P_REGULAR, weights=h.size[households] - 1.0,
                                destination=m.place[migrants])

    def resolve_journeys(self) -> None:
        """Process 6: journeys that have lasted their route's `duration_months` end in death, interception or
        arrival, with the route's probabilities in force this month."""
        m, t = self.migrants, self.t
        u = self.member_draws("journeys", 1)[:, 0]
        if not self.routes:
            return
        settings = {k: np.array([r.settings[k] for r in self.routes]) for k in ("duration_months", "death_probability",
                                                                             "interception_probability")}
        transit = np.flatnonzero(m.status == IN_TRANSIT)
        route = m.route[transit]
        over = t - m.since[transit] >= settings["duration_months"][route]
        ending, route = transit[over], route[over]
        if len(ending) == 0:   # no journey ends this month (most months of a small model): nothing else changes
            for r in self.routes:
                r.deaths = r.interceptions = r.arrivals = 0
                r.expected_deaths = 0.0
            return
        died, intercepted, arrived = journey_outcomes(u[ending], settings["death_probability"][route],
                                                      settings["interception_probability"][route])
        n_routes = len(self.routes)
        risk = np.bincount(route, weights=settings["death_probability"][route], minlength=n_routes)
        for r, dead_, back_, landed_, risk_ in zip(self.routes, np.bincount(route[died], minlength=n_routes),
                                                   np.bincount(route[intercepted], minlength=n_routes),
                                                   np.bincount(route[arrived], minlength=n_routes), risk):
            r.deaths, r.interceptions, r.arrivals = int(dead_), int(back_), int(landed_)
            r.expected_deaths = float(risk_)
        dead = ending[died]
        h = self.households
        for column in (h.size, h.adults):
            np.subtract.at(column, m.household[dead], 1)
        np.add.at(h.dead, m.household[dead], 1)
        self.recorder.count("deaths", t, m.origin[dead])
        back = ending[intercepted]
        self.recorder.count("interceptions", t, m.origin[back])
        landed = ending[arrived]
        m.status[landed] = ABROAD_IRREGULAR
        m.since[landed] = t
        m.employed[landed] = False
        self.recorder.count("arrivals", t, m.origin[landed], P_IRREGULAR, destination=m.place[landed])
        self._remove(np.concatenate([dead, back]))

    def update_migrants(self) -> None:
        """Process 7: employment and wages at each place, remittances home, returns and deportations, and onward
        moves from the cities, per migrant. Each migrant draws two uniforms (employment, return) from the month's
        (household, slot) draws."""
        h, m, p, pol, t, places = self.households, self.migrants, self.params, self.policy, self.t, self.places
        lab, ab = p.labour, p.abroad
        draws = self.member_draws("abroad", 2)
        # employment, wages and remittances of the migrants abroad and in the cities, in one compiled pass
        # (abroad.employment_and_remittances: what hiring_probabilities, update_employment and remittances compute)
        # (the draws' column made contiguous: one compiled version of the pass, whatever the number of migrants)
        abroad, irregular, emp, wage, city, city_emp, fees_abroad, fees_city, hire = employment_and_remittances(
            m.status, m.place, m.employed, m.skill, m.household, m.origin, np.ascontiguousarray(draws[:, 0]),
            ABROAD_REGULAR, ABROAD_IRREGULAR, IN_CITY, self.labour.wage, self.labour.vacancies, places.skill_ratio,
            places.living_cost, places.remittance_share, places.transfer_cost, pol.transfer_cost_cap,
            float32_threshold(lab.job_separation_rate), lab.irregular_hire_factor, lab.irregular_wage_factor,
            float32_threshold(lab.city_employment_rate), self.remittances_in, self.world.n_origins)
        place = m.place[abroad]
        self.recorder["remittance_fees"][t] += fees_abroad   # the fees abroad, then those in the cities
        self.recorder["remittance_fees"][t] += fees_city
        self.recorder.count("remittances", t, h.origin, weights=self.remittances_in)

        rec = self.recorder["migrant_employment_rate"]
        # shares employed: the count over the number (what .mean() of the flags gives, without its overhead)
        rec[t, P_INTERNAL] = np.count_nonzero(city_emp) / len(city) if len(city) else np.nan
        for status_emp, pathway in ((~irregular, P_REGULAR), (irregular, P_IRREGULAR)):
            n_status = np.count_nonzero(status_emp)
            rec[t, pathway] = np.count_nonzero(emp & status_emp) / n_status if n_status else np.nan
        self.expect_employment(hire)

        reg, reg_employed, reg_wage = abroad[~irregular], emp[~irregular], wage[~irregular]
        for channel in self.channels:   # rules for regular migrants abroad (family reunification)
            still = channel.settle(self, reg, reg_employed, reg_wage)
            if len(still) != len(reg):
                keep = np.isin(reg, still, assume_unique=True)
                reg, reg_employed, reg_wage = reg[keep], reg_employed[keep], reg_wage[keep]
        home_reg = reg[returns_regular(m.contract_end[reg], t, draws[reg, 1], p.regular.return_rate)]
        irr = abroad[irregular]
        deported, voluntary = returns_irregular(draws[irr, 1], pol.deportation_rate, p.irregular.return_rate)
        back = draws[city, 1] < ab.internal_return_rate
        home_city = city[back]
        self.move_on(city[~back])   # the others (np.setdiff1d(city, home_city), in order)
        returned = []
        for rows, pathway in ((home_reg, P_REGULAR), (irr[deported | voluntary], P_IRREGULAR),
                              (home_city, P_INTERNAL)):
            self.recorder.count("returns", t, m.origin[rows], pathway, destination=m.place[rows])
            returned.append(rows)
        self.recorder.count("deportations", t, m.origin[irr[deported]])
        self._remove(np.concatenate(returned))

    def expect_employment(self, hire: np.ndarray) -> None:
        """The expected employment of regular and irregular migrants at each place for next month's decisions, from
        the month's hiring probability of an unemployed regular migrant there (`hire`): the share of a stay spent
        employed (abroad.expected_employment), irregular migrants hired at `labour.irregular_hire_factor` times that
        rate and leaving by voluntary return or deportation, regular ones leaving by voluntary return."""
        p, lab = self.params, self.params.labour
        self.expected_employment[:, 0] = expected_employment(hire, lab.job_separation_rate, p.regular.return_rate)
        self.expected_employment[:, 1] = expected_employment(lab.irregular_hire_factor * hire, lab.job_separation_rate,
                                                             p.irregular.return_rate + self.policy.deportation_rate)

    def move_on(self, city: np.ndarray) -> None:
        """Onward moves (stepwise migration: Paul 2011; King & Skeldon 2010), in process 7: each employed migrant of
        `city` (rows of the migrants in a city who stay there this month) who came before this month moves on by an
        onward route from its city with probability `abroad.onward_rate` a month for each route (its uniform `u` from
        the stream "onward": route k of its city's routes if `k r <= u < (k + 1) r`), if its household can pay the
        route's fare from savings and borrowable assets (`decisions.means_to_move`); one member of a household at most
        a month. It pays, and travels: in transit on the route from this month (counted as a departure by the irregular
        pathway to the route's destination), its journey ending as any route's does (process 6, from the next month)
        and, without a visa of the destination's channels, arriving with irregular status (assumption)."""
        onward = self.onward_routes
        if not onward:
            return
        h, m, t, rate = self.households, self.migrants, self.t, self.params.abroad.onward_rate
        u = self.member_draws("onward", 1)[:, 0]   # one per migrant, wherever it is (common random numbers)
        seen = np.zeros(0, np.int64)   # households whose member moved on this month
        for source in dict.fromkeys(r.source for r in onward):
            routes = [r for r in onward if r.source == source]
            here = city[u[city] < len(routes) * rate]   # the few whose draw falls in some route's range, then
            here = here[(m.place[here] == self.places.index(source)) & m.employed[here] & (m.since[here] < t)]
            for k, route in enumerate(routes):
                rows = here[(k * rate <= u[here]) & (u[here] < (k + 1) * rate)]
                if len(rows) == 0:   # no one moves on by this route this month (most months): nothing changes
                    continue
                rows = rows[~np.isin(m.household[rows], seen)]
                _, first = np.unique(m.household[rows], return_index=True)
                rows = rows[np.sort(first)]
                fare = route.settings["travel_cost_usd"]
                household = m.household[rows]
                can_pay = means_to_move(h.wealth[household], h.assets[household], self.params.decisions,
                                        self.credit_floor[h.origin[household]]) >= fare
                rows, household = rows[can_pay], household[can_pay]
                seen = np.concatenate([seen, household])
                self._pay(household, np.full(len(rows), fare))
                place = self.places.index(route.destination)
                m.status[rows], m.place[rows], m.route[rows] = IN_TRANSIT, place, route.index
                m.since[rows], m.employed[rows] = t, False
                route.departures += len(rows)
                self._count_departures(m.household[rows], m.origin[rows], P_IRREGULAR, place, m.female[rows],
                                       m.age[rows],
                                       m.skill[rows])

    def update_budgets(self) -> None:
        """Process 8: income at origin plus remittances and transfers, less consumption, into savings."""
        h, b = self.households, self.params.budget
        if self.params.decisions.network_loan_share > 0:   # loans repaid; what is owed, recorded as a stock
            repay_network_loans(h.debt, h.slots, h.status, WAITING, self.remittances_in, h.origin,
                                self.recorder["network_debt"][self.t])
        # members at home: reused by record() (statuses do not change again this month)
        household_budgets(h.adults, h.size, h.away(), h.status == FAMILY_ABROAD, self.income_per_adult,
                          self.remittances_in, self.cash, h.wealth, b.subsistence_usd, b.consumption_share_of_surplus,
                          self.persons_home, self.consumption, h.aspiration, h.aspired, self.t,
                          self.params.decisions.aspiration_months, b.aspiring_consumption_share)

    def record(self) -> None:
        """Process 9: the month's stocks, labour market and intervention costs into the preallocated arrays."""
        h, m, r, t, n_o = self.households, self.migrants, self.recorder, self.t, self.world.n_origins
        where = status_by_origin_and_place(m.origin, m.place, m.status, n_o, self.places.n)
        households, sums, by_quintile, aspiring = month_sums(
            h.origin, h.status, self.quintile, self.persons_home, h.size, self.consumption, h.wealth, h.aspiration,
            h.aspired, t, self.params.decisions.aspiration_months, AT_HOME, FAMILY_ABROAD, n_o, N_STATUSES,
            len(WEALTH_QUINTILES))
        r["population"][t] = sums[:, 0]
        people = np.maximum(by_quintile[:, 0], 1)
        r["population_by_quintile"][t] = by_quintile[:, 0]
        r["consumption_by_quintile"][t] = by_quintile[:, 1] / people
        r["log_consumption_by_quintile"][t] = by_quintile[:, 2] / people
        r["families_abroad"][t] = sums[:, 1]
        for status, pathway in ((IN_CITY, P_INTERNAL), (ABROAD_REGULAR, P_REGULAR),
                                (ABROAD_IRREGULAR, P_IRREGULAR)):
            r["migrants_away"][t, :, :, pathway] = where[:, :, status]
        r["in_transit"][t] = where[:, :, IN_TRANSIT].sum(axis=1)
        r["visa_queue"][t] = households[:, WAITING]
        r["aspiring"][t] = aspiring
        r["consumption_per_capita"][t] = sums[:, 2] / np.maximum(r["population"][t], 1)
        r["wealth_mean"][t] = sums[:, 3] / np.maximum(sums[:, 4], 1)
        r["shock_loss"][t] = self.climate.region_loss
        r["labour_demand"][t] = self.labour.demand
        r["vacancies"][t] = self.labour.vacancies
        r["destination_wage"][t] = self.labour.wage
        # channels and routes are in the order of their index
        r["channel_applications"][t] = [c.applications for c in self.channels]
        r["channel_granted"][t] = [len(c.granted) for c in self.channels]
        r["channel_queue"][t] = np.bincount(h.channel[h.status == WAITING], minlength=len(self.channels))
        for name in ("departures", "arrivals", "interceptions", "deaths", "expected_deaths"):
            r[f"route_{name}"][t] = [getattr(route, name) for route in self.routes]
        for j, iv in enumerate(self.interventions):
            r["intervention_cost"][t, j] = iv.cost(self)

    # --- helpers -------------------------------------------------------------------------------------------------

    def _pay(self, idx: np.ndarray, amount: np.ndarray) -> None:
        """Households pay `amount` from liquid wealth first, the rest from assets (sold or borrowed against)."""
        if len(idx) == 0:
            return
        h = self.households
        from_wealth = np.minimum(h.wealth[idx], amount)
        h.wealth[idx] -= from_wealth
        h.assets[idx] = np.maximum(0.0, h.assets[idx] - (amount - from_wealth))

    def _depart(self, idx: np.ndarray, pathway: int, status: int, place: int, channel: int = -1, route: int = -1,
                employed: bool = False, contract_end: int = NO_CONTRACT) -> None:
        """A member of each household of `idx` leaves by `pathway` for `place` (index into `places`), by `channel` or
        `route`: a new row of `self.migrants`, in the household's lowest free slot. Counted by origin and
        destination, and by the migrant's sex, age and skill (Objective 1)."""
        if len(idx) == 0:   # no one leaves: nothing drawn (the draws are keyed), added or counted
            return
        h, t = self.households, self.t
        trips = h.trips[idx] + 1   # the households' departure numbers (one member leaves each: `idx` are distinct)
        h.trips[idx] = trips
        female, age = who_leaves(self.streams, self.params.population, idx, trips, pathway)
        if self.views:
            for i, trip in zip(idx.tolist(), trips.tolist()):
                self.migrant_views[i, trip] = Migrant(self, i, trip)
        skill, origin = h.skill[idx], h.origin[idx]
        self.migrants.add(household=idx, origin=origin, slot=take_slots(h.slots, idx), trip=trips,
                          status=status, place=place, channel=channel, route=route, since=t, employed=employed,
                          contract_end=contract_end, female=female, age=age, skill=skill)
        self._count_departures(idx, origin, pathway, place, female, age, skill)

    def _count_departures(self, households: np.ndarray, origin: np.ndarray, pathway: int, place: int,
                          female: np.ndarray, age: np.ndarray, skill: np.ndarray) -> None:
        """Departures of members of `households` for `place` by `pathway` into `emigrants`, by origin and
        destination, into `emigrants_by_group`, by the migrants' sex, age group and skill (Objective 1), and into
        `emigrants_by_quintile`, by their household's wealth quintile."""
        if len(households) == 0:
            return
        r = self.recorder
        count_departures(r["emigrants"], r["emigrants_by_quintile"], r["emigrants_by_group"], self.t, pathway,
                         int(place), origin, self.quintile[households], female, age, skill, AGE_EDGES_ARRAY)

    def member_draws(self, stream: str, k: int) -> np.ndarray:
        """(migrants, k) float32 uniforms of `stream`: the rows of each migrant's household and slot in one
        (households, max_members_away, k) draw, the same every month whoever is away (common random numbers). Drawn
        in blocks of households into one buffer (the numbers of the one draw), keeping the rows of the migrants of
        each block (the table is in household order)."""
        h, m = self.households, self.migrants
        block = max(1, int(self.decision_block))
        buffer = np.empty((min(block, h.n), self.max_away, k), np.float32)
        household, slot = m.household, m.slot
        if h.n <= block:   # one block: every migrant's rows of the one draw
            self.streams[stream].random(out=buffer, dtype=np.float32)
            return buffer[household, slot]
        out = np.empty((m.n, k), np.float32)
        bounds = np.searchsorted(household, np.arange(0, h.n + block, block))
        for b, start in enumerate(range(0, h.n, block)):
            rows = buffer[: min(block, h.n - start)]
            self.streams[stream].random(out=rows, dtype=np.float32)
            lo, hi = bounds[b], bounds[b + 1]
            out[lo:hi] = rows[household[lo:hi] - start, slot[lo:hi]]
        return out

    def _remove(self, rows: np.ndarray) -> None:
        """The migrants of `rows` are no longer away (home, or dead): their slots are free, their rows gone."""
        if len(rows) == 0:   # (the rows added since the last read join the table when it is next read)
            return
        m = self.migrants
        free_slots(self.households.slots, m.household[rows], m.slot[rows])
        if self.views:
            for key in zip(m.household[rows].tolist(), m.trip[rows].tolist()):
                self.migrant_views.pop(key).remove()
        m.remove(rows)

    # --- outputs -------------------------------------------------------------------------------------------------

    def dataset(self) -> xr.Dataset:
        """The months simulated so far as a labelled Dataset (see simulator.model.outputs)."""
        attrs = {"title": "Migration flow simulation", "scenario": self.scenario_name, "seed": self.seed,
                 "simulator_version": __version__, "world": self.world.name,
                 "n_households": self.households.n, "initial_population": self.initial_population,
                 "config": self.config, "Conventions": "CF-1.8",
                 # the households the world's figures are for (a real country's, on a version-2 world): results per
                 # simulated household times this are the world's
                 "world_households": float(self.places.unit) if isinstance(self.world, Corridors) else 0.0,
                 "note": "Not a forecast: the behaviour is calibrated to published regularities "
                         "(docs/validation.md), not to this world's series."}
        return to_dataset(self.recorder, self.start_year, self.t, attrs)

    # reporters for Mesa's DataCollector: this month's totals
    def _last(self, name: str, pathway: int | None = None) -> float:
        if self.t == 0:
            return 0.0
        data = self.recorder[name][self.t - 1]
        return float(np.add.reduce(data[..., pathway] if pathway is not None else data, axis=None))   # .sum()

    @property
    def departures_internal(self) -> float:
        return self._last("emigrants", P_INTERNAL)

    @property
    def departures_regular(self) -> float:
        return self._last("emigrants", P_REGULAR)

    @property
    def departures_irregular(self) -> float:
        return self._last("emigrants", P_IRREGULAR)

    @property
    def deaths(self) -> float:
        return self._last("deaths")

    @property
    def trapped(self) -> float:
        return self._last("trapped")

    @property
    def visa_queue(self) -> float:
        return self._last("visa_queue")

    @property
    def remittances_usd(self) -> float:
        return self._last("remittances")

    @property
    def population_at_origin(self) -> float:
        return float(self.persons_home.sum())


def who_leaves(streams: Streams, pop: PopulationParams, households: np.ndarray, trips: np.ndarray,
               pathway: int) -> tuple[np.ndarray, np.ndarray]:
    """(female, age) of the members leaving `households` by `pathway` on their household's departure number `trips`:
    a woman with probability `population.migrant_female_share_internal` (to a city) or `..._abroad`; aged
    `migrant_age_mean + migrant_age_sd z`, z standard normal, clipped to 18-65 years. The draws are keyed by
    (household, departure number) in the stream "migrants" (`Streams.keyed_uniforms`), so the same departure is the
    same person in every scenario of a seed."""
    u = streams.keyed_uniforms("migrants", households, trips, np.arange(2)[:, None])
    share = pop.migrant_female_share_internal if pathway == P_INTERNAL else pop.migrant_female_share_abroad
    age = np.minimum(np.maximum(pop.migrant_age_mean + pop.migrant_age_sd * ndtri(u[1]), 18.0), 65.0)   # clipped
    return u[0] < share, age.astype(np.float32)


def corridor_options(places: Places, params: ModelParams, wage: np.ndarray, expected_employment: np.ndarray,
                     regular: Sequence[tuple[str, int, OptionTerms]],
                     irregular: Sequence[tuple[str, int, dict[str, float], Sequence[int]]],
                     cost_network: np.ndarray | None = None, layout: dict[str, Any] | None = None) -> Options:
    """The month's options (decisions.Options): each city, the channels households choose (`regular`: each channel's
    name, place and terms, simulator.model.channels.OptionTerms) and the irregular routes (`irregular`: each route's
    name, place, settings in force and the origins it serves, simulator.model.routes).

    The cities share nest 1, whose dissimilarity is 1 (assumption: no closer substitution among cities than with
    staying); every international option shares nest 2 (`decisions.nest_lambda`). An option's wage is its place's
    this month (`wage`, low skill; the place's skill ratios scale it), its network the households with a member at
    its place. A city's cost is the internal route's fare; a channel's its fee plus the regular route's fare to its
    destination; a route's the smuggler's fee. A migrant who arrives without a job offer (in a city, by free
    movement, by an irregular route) also carries `decisions.startup_months` of the place's living cost, paid up
    front with the rest. A network lowers the whole up-front cost by the share `network_cost_cut * s / (s +
    network_cost_half)`, `s` the origin's share of members who went to the option's place by the option's pathway
    (`cost_network`, (origin, place, pathway); no cut if None): a network lowers the costs of the way its members went
    (recruiters and employers' referrals for a channel, a smuggler's contact for a route, lodging in a city). A
    channel that charges only its fee on applying (`application_fee_usd`) has only that, lowered alike, due on
    choosing (`Options.due`), the rest when a place is granted. Employment: the city rate
    (`labour.city_employment_rate`) in cities; abroad the model's running estimate for regular and irregular migrants
    at the place (`expected_employment`, (place, 2))."""
    lab, dp = params.labour, params.decisions
    c, n, m = places.n_cities, len(regular), len(irregular)
    layout = layout or corridor_layout(places, params, regular, irregular)
    terms = [t for _, _, t in regular]
    routes = [r for _, _, r, _ in irregular]
    place = layout["place"]
    employment = np.concatenate([np.full(c, lab.city_employment_rate), expected_employment[place[c:c + n], 0],
                                 expected_employment[place[c + n:], 1]])
    cost = layout["travel"].copy()   # each channel's fee plus the regular route's fare; each route's fee
    cost[:, c:c + n] += [t.fee_usd for t in terms]
    cost[:, c + n:] = [r["travel_cost_usd"] for r in routes]
    cost = cost + layout["startup"]
    due = cost.copy()
    for j, t in enumerate(terms):
        if t.application_fee_usd is not None:
            due[:, c + j] = t.application_fee_usd
    if cost_network is not None and dp.network_cost_cut > 0:
        cut = network_cut(cost_network[:, place, layout["pathway"]], dp)
        cost, due = cost * cut, due * cut
    return Options.build(
        layout["names"], pathway=layout["pathway"], place=place, nest=layout["nest"],
        nest_lambda=layout["nest_lambda"], wage=wage[place], skill_ratio=layout["skill_ratio"],
        wage_factor=layout["wage_factor"], living_cost=layout["living_cost"], employment=employment, cost=cost,
        due=due, wait_months=(*[0.0] * c, *[t.wait_months for t in terms], *[0.0] * m),
        death=(*[0.0] * (c + n), *[r["death_probability"] for r in routes]),
        interception=(*[0.0] * (c + n), *[r["interception_probability"] for r in routes]),
        asc=layout["asc"], network=place, min_skill=(*[0] * c, *[t.min_skill for t in terms], *[0] * m),
        open_=(*[True] * c, *[t.open for t in terms], *[True] * m), served=layout["served"])


def corridor_layout(places: Places, params: ModelParams, regular: Sequence[tuple[str, int, OptionTerms]],
                    irregular: Sequence[tuple[str, int, dict[str, float], Sequence[int]]]) -> dict[str, Any]:
    """What `corridor_options` takes from the places, the parameters and which channels and routes are options
    (their names, places, whether a channel's migrants arrive with a job offer, the origins each route serves), and
    not from the month: the same from month to month while these are (`MigrationModel.month_options` keeps it)."""
    lab, dp = params.labour, params.decisions
    c, n, m = places.n_cities, len(regular), len(irregular)
    n_origins = places.travel_cost.shape[0]
    place = np.array([*range(c), *(q for _, q, _ in regular), *(q for _, q, _, _ in irregular)], np.int64)
    served = np.ones((n_origins, c + n + m), bool)
    for j, (_, _, _, origins) in enumerate(irregular):
        chosen = set(origins)   # np.isin(range(n_origins), origins), without its sort
        served[:, c + n + j] = [o in chosen for o in range(n_origins)]
    travel = np.column_stack([places.travel_cost[:, :c], *[places.travel_cost[:, q] for _, q, _ in regular],
                              np.zeros((n_origins, m))])
    searching = np.array([*[True] * c, *(not t.job_offer for _, _, t in regular), *[True] * m])
    return {"names": (*places.names[:c], *(name for name, _, _ in regular), *(name for name, _, _, _ in irregular)),
            "place": place, "served": served, "travel": travel,
            # a migrant who arrives without a job offer carries `startup_months` of the place's living cost
            "startup": np.where(searching, dp.startup_months * places.living_cost[place], 0.0),
            "pathway": np.array([*[P_INTERNAL] * c, *[P_REGULAR] * n, *[P_IRREGULAR] * m], np.int64),
            "nest": np.array([*[1] * c, *[2] * (n + m)], np.int64),
            "nest_lambda": np.array([1.0, 1.0, dp.nest_lambda], np.float64),
            "skill_ratio": places.skill_ratio[place], "living_cost": places.living_cost[place],
            "wage_factor": np.array([*[1.0] * (c + n), *[lab.irregular_wage_factor] * m], np.float64),
            "asc": np.array([*[dp.asc_internal] * c, *[dp.asc_regular] * n, *[dp.asc_irregular] * m], np.float64)}


def network_cut(share: np.ndarray, p: DecisionParams) -> np.ndarray:
    """The factor on up-front costs of a network `share` at the place: `1 - network_cost_cut s / (s +
    network_cost_half)` (networks lower migration costs: Munshi 2003, McKenzie & Rapoport 2010; size: assumption)."""
    return 1.0 - p.network_cost_cut * share / (share + p.network_cost_half)


def network_loan(share: np.ndarray, p: DecisionParams) -> np.ndarray:
    """The share of what a move costs on departure that the network lends, for a district's `share` of members at the
    move's place (any pathway): `network_loan_share s^k / (s^k + network_loan_half^k)`, `k` =
    `network_loan_power` (powers by repeated products, as the reference model computes them)."""
    share = np.asarray(share, np.float64)
    s_k, h_k = share, p.network_loan_half
    for _ in range(p.network_loan_power - 1):
        s_k, h_k = s_k * share, h_k * p.network_loan_half
    return p.network_loan_share * s_k / (s_k + h_k)


def _with_overrides(params: ModelParams, overrides: dict[str, Any]) -> ModelParams:
    """A copy of `params` with dotted overrides applied ("irregular.death_probability": 0.02)."""
    if not overrides:
        return params
    params = dataclasses.replace(params)
    for dotted, value in overrides.items():
        group, _, name = dotted.partition(".")
        section = getattr(params, group, None) if name else None
        if section is None or not dataclasses.is_dataclass(section) or name not in {
                f.name for f in dataclasses.fields(section)}:
            valid = [f"{g.name}.{f.name}" for g in dataclasses.fields(params)
                     for f in dataclasses.fields(getattr(params, g.name))]
            raise ConfigError(dotted, value, f"a keyword argument among MigrationModel's parameters or one of "
                                             f"the model parameters {valid}")
        setattr(params, group, dataclasses.replace(section, **{name: value}))
    return params
