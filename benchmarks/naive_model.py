"""A deliberately naive, per-household Mesa implementation of one month of `simulator.model.migration.MigrationModel`.

This is the reference against which the column-based fast path is timed: one `mesa.Agent` per household holding its
state as plain Python attributes, `model.agents.do(...)` once per process, and per-agent Python arithmetic for every
rule (the equations of simulator/model/decisions.py, through the test suite's oracle, and of pathways.py, abroad.py,
budgets.py and climate.py). It does the same
work per household as the fast path's `step()`:

1. climate: asset destruction at shock onset, the household's income loss and its shock memory;
2. labour markets (region level);
3. policy rebuilt from the parameters, transfers reset;
4. decisions: the month's options table (`simulator.model.migration.corridor_options`, region level), then for every
   household the naive oracle of the test suite (`reference_decision` in tests/reference.py): origin income per
   adult; for households at home with an adult, the utilities, Gumbel terms, eligibility and affordability, the
   two-stage nested-logit choice (among the eligible options, then among the affordable ones, to find who is
   trapped); then payment and departure (with the departure counts by origin, pathway, sex, age group and skill);
5. regular pathway: give-ups, then places offered first come, first served within quota and processing capacity,
   each to an applicant who pays the recruitment cost and fare then (one who cannot loses its place to the next);
6. irregular journeys: death, interception or arrival;
7. migrants away: employment, remittances net of fees, returns and deportations; expected employment updated;
8. budgets: income, consumption, savings;
9. recording of the month's flows and stocks into the same `Recorder` arrays, and Mesa's DataCollector.

Like the fast path (common random numbers), every household draws its uniforms every month whatever its status:
6 for the decision, 1 for the journey, 2 for the migrant abroad. The draws come from Python's `random` (Mesa's
`model.random`), so the naive model does not reproduce the fast path's random numbers; it starts from the same
synthesized population (`simulator.model.households.synthesize`) and shares the region-level climate and labour objects
(a handful of regions, not per-household work), so with the same seed both face the same shocks and their totals agree
up to household-level sampling noise.

It covers the step under the model parameters with no interventions (the `baseline` scenario, which is what the
benchmark times): the seasonal, humanitarian and family-reunification channels are closed there and do no work in
either implementation.

Example:
    >>> m = NaiveMigrationModel(n_households=200, years=1, rng=3)
    >>> for _ in range(3): m.step()
    >>> m.t
    3
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from simulator.model.climate import Climate, ClimateOutlook
from simulator.model.labour import Labour, LabourOutlook
from simulator.model.outputs import AGE_EDGES, Recorder
from simulator.params import ModelParams
from simulator.model.channels import build_channels
from simulator.model.levers import Policy
from simulator.model.migration import corridor_options, who_leaves
from simulator.model.places import Places
from simulator.model.routes import build_routes
from simulator.world.convert import version1_channels, version1_routes
from simulator.world.regions import one_city_world_path, load_world
from simulator.model.households import synthesize
from simulator.rng import Streams

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from reference import OptionRows, reference_decision  # noqa: E402  (the test suite's naive oracle)

AT_HOME, WAITING, IN_TRANSIT, ABROAD_REGULAR, ABROAD_IRREGULAR, IN_CITY, FAMILY_ABROAD = range(7)
AWAY = frozenset((IN_TRANSIT, ABROAD_REGULAR, ABROAD_IRREGULAR, IN_CITY))
NO_CONTRACT = -1
STAY, INTERNAL, REGULAR, IRREGULAR = range(4)
P_INTERNAL, P_REGULAR, P_IRREGULAR = range(3)
MAX_WAIT_MONTHS = 1200.0


class NaiveHousehold(mesa.Agent):
    """One household; every attribute a Python scalar. One method per process of the month."""

    def __init__(self, model: NaiveMigrationModel, origin: int, size: int, adults: int, head_female: bool,
                 head_age: float, skill: int, wealth: float, assets: float, farm: float, risk: float,
                 patience: float) -> None:
        super().__init__(model)
        self.origin, self.size, self.adults = origin, size, adults
        self.head_female, self.head_age, self.skill = head_female, head_age, skill
        self.wealth, self.assets = wealth, assets
        self.farm_dependence, self.risk_aversion, self.patience = farm, risk, patience
        self.adaptation = self.asset_protection = self.income_boost = 0.0
        self.shock_memory = 0.0
        self.status, self.since, self.queue_key, self.channel, self.route = AT_HOME, 0, 0.0, -1, -1
        self.employed, self.contract_end, self.trips, self.dead = False, NO_CONTRACT, 0, 0
        self.skill_mult = model.skill_wage[skill]
        self.loss = self.income_per_adult = self.remittances_in = self.cash = self.consumption = 0.0

    # --- process 1: climate ------------------------------------------------------------------------------------
    def suffer_climate(self) -> None:
        m = self.model
        o = self.origin
        if m.any_onset:
            self.assets *= 1.0 - (m.asset_loss_ratio * m.onset_intensity[o] * self.farm_dependence
                                  * (1.0 - self.adaptation) * (1.0 - self.asset_protection))
        self.loss = self.farm_dependence * m.region_loss[o] * (1.0 - self.adaptation)
        self.shock_memory = max(m.memory_persistence * self.shock_memory, self.loss)

    # --- process 4: decide -------------------------------------------------------------------------------------
    def decide(self) -> None:
        """The month's decision by the naive per-household oracle of tests/reference.py (`reference_decision`),
        over the month's options table; then payment and departure, or the application."""
        m = self.model
        rand = m.random.random
        uniforms = [rand() for _ in range(m.uniforms_per_household)]   # every household, every month
        self.cash = 0.0
        o = self.origin
        y, choice, trapped, _ = reference_decision(
            m.option_rows, m.params.decisions, m.policy.risk_perception, m.origin_wage, m.degradation, m.network,
            status=self.status, adults=self.adults, origin=o, skill=self.skill, skill_mult=self.skill_mult,
            farm=self.farm_dependence, loss=self.loss, boost=self.income_boost, memory=self.shock_memory,
            patience=self.patience, risk=self.risk_aversion, wealth=self.wealth, assets=self.assets,
            uniforms=uniforms, persons=self.size, subsistence_usd=m.subsistence)
        self.income_per_adult = y
        if trapped:
            m.month["trapped"][o] += 1
        if choice <= 0:
            return
        rows = m.option_rows
        k = choice - 1
        self.pay(rows.due[o][k])   # a queue channel's fee now; its recruitment cost and fare when granted
        pathway = rows.pathway[k]
        if pathway == P_INTERNAL:
            self.depart(P_INTERNAL, IN_CITY)
            m.month["arrivals"][o][P_INTERNAL] += 1
        elif pathway == P_REGULAR:
            self.status, self.since, self.queue_key = WAITING, m.t, m.t + uniforms[-1]
            self.channel = m.option_channels[k].index   # the version-1 world's chosen channels all have queues
            m.month["applications"][o] += 1
        else:
            self.depart(P_IRREGULAR, IN_TRANSIT)
            self.route = m.option_routes[k].index

    def pay(self, amount: float) -> None:
        from_wealth = min(self.wealth, amount)
        self.wealth -= from_wealth
        self.assets = max(0.0, self.assets - (amount - from_wealth))

    def depart(self, pathway: int, status: int) -> None:
        m = self.model
        self.status, self.since, self.employed, self.contract_end = status, m.t, False, NO_CONTRACT
        self.trips += 1
        m.month["emigrants"][self.origin][pathway] += 1
        female, age = who_leaves(m.streams, m.params.population, np.array([self.row]), np.array([self.trips]),
                                 pathway)   # who the migrant is (the fast path's rule)
        m.by_group[pathway][0 if female[0] else 1][bisect_right(AGE_EDGES, float(age[0]))][self.skill] += 1

    # --- process 5: regular pathway ----------------------------------------------------------------------------
    def wait_for_visa(self) -> None:
        if self.status != WAITING:
            return
        m = self.model
        settings = m.channels[self.channel].settings
        if m.t - self.since > settings["max_wait_months"] * self.patience:
            self.status, self.since, self.channel = AT_HOME, m.t, -1
            m.month["gave_up"][self.origin] += 1
        elif self.skill >= settings.get("min_skill", 0):
            m.visa_candidates[self.channel].append(self)

    def grant_visa(self, contract_end: int) -> None:
        m = self.model
        self.depart(P_REGULAR, ABROAD_REGULAR)
        self.employed = True
        self.contract_end = contract_end
        m.month["visas_issued"][self.origin] += 1
        m.month["arrivals"][self.origin][P_REGULAR] += 1

    # --- process 6: irregular journeys -------------------------------------------------------------------------
    def travel(self) -> None:
        m = self.model
        u = m.random.random()   # every household, every month
        if self.status != IN_TRANSIT:
            return
        route = m.routes[self.route].settings
        if m.t - self.since < route["duration_months"]:
            return
        o, d, h = self.origin, route["death_probability"], route["interception_probability"]
        if u < d:
            self.size -= 1
            self.adults -= 1
            self.dead += 1
            self.status, self.since = AT_HOME, m.t
            m.month["deaths"][o] += 1
        elif u < d + (1.0 - d) * h:
            self.status, self.since = AT_HOME, m.t
            m.month["interceptions"][o] += 1
        else:
            self.status, self.since, self.employed = ABROAD_IRREGULAR, m.t, False
            m.month["arrivals"][o][P_IRREGULAR] += 1

    # --- process 7: migrants away ------------------------------------------------------------------------------
    def work_away(self) -> None:
        m = self.model
        rand = m.random.random
        u0, u1 = rand(), rand()   # every household, every month
        self.remittances_in = 0.0
        status, o = self.status, self.origin
        if status == ABROAD_REGULAR or status == ABROAD_IRREGULAR:
            irregular = status == ABROAD_IRREGULAR
            hire = m.hire_probability * (m.irregular_hire_factor if irregular else 1.0)
            if self.employed:
                self.employed = u0 >= m.separation_rate
            else:
                self.employed = u0 < hire
            k = 1 if irregular else 0
            m.abroad_count[k] += 1
            wage = m.destination_wage * self.skill_mult * (m.irregular_wage_factor if irregular else 1.0)
            if self.employed:
                m.abroad_employed[k] += 1
                sent = m.remittance_share * max(0.0, wage - m.living_cost)
            else:
                sent = 0.0
            self.remittances_in = sent * (1.0 - m.transfer_cost)
            m.month["remittance_fees"][o] += sent * m.transfer_cost
            if irregular:
                if u1 < m.policy.deportation_rate:
                    m.month["deportations"][o] += 1
                    self.come_home(P_IRREGULAR)
                elif u1 < m.policy.deportation_rate + m.irregular_return_rate:
                    self.come_home(P_IRREGULAR)
            elif (0 <= self.contract_end <= m.t) or u1 < m.regular_return_rate:
                self.come_home(P_REGULAR)
        elif status == IN_CITY:
            self.employed = u0 < m.city_employment
            m.city_count += 1
            if self.employed:
                m.city_employed += 1
                sent = m.city_remittance_share * max(0.0, m.city_wage * self.skill_mult - m.city_living_cost)
            else:
                sent = 0.0
            self.remittances_in = sent * (1.0 - m.domestic_transfer_cost)
            m.month["remittance_fees"][o] += sent * m.domestic_transfer_cost
            if u1 < m.internal_return_rate:
                self.come_home(P_INTERNAL)
        m.month["remittances"][o] += self.remittances_in

    def come_home(self, pathway: int) -> None:
        self.status, self.since, self.employed, self.contract_end = AT_HOME, self.model.t, False, NO_CONTRACT
        self.model.month["returns"][self.origin][pathway] += 1

    # --- process 8: budgets ------------------------------------------------------------------------------------
    def budget(self) -> None:
        m = self.model
        if self.status == FAMILY_ABROAD:
            adults_away, persons_away = self.adults, self.size
        else:
            adults_away = persons_away = 1 if self.status in AWAY else 0
        income = max(self.adults - adults_away, 0) * self.income_per_adult + self.remittances_in + self.cash
        need = m.subsistence * (self.size - persons_away)
        surplus = income - need
        if surplus >= 0:
            consumption = need + m.consumption_share * surplus
        else:
            consumption = min(need, income + self.wealth)
        self.consumption = consumption
        self.wealth = max(0.0, self.wealth + income - consumption)

    # --- process 9: recording ----------------------------------------------------------------------------------
    def record(self) -> None:
        m = self.model
        o, status = self.origin, self.status
        s = m.stocks
        if status == FAMILY_ABROAD:
            s["families_abroad"][o] += self.size
        else:
            s["population"][o] += self.size - (1 if status in AWAY else 0)
            s["wealth_home"][o] += self.wealth
            s["households_home"][o] += 1
            if status == IN_CITY:
                s["migrants_away"][o][P_INTERNAL] += 1
            elif status == ABROAD_REGULAR:
                s["migrants_away"][o][P_REGULAR] += 1
            elif status == ABROAD_IRREGULAR:
                s["migrants_away"][o][P_IRREGULAR] += 1
            elif status == IN_TRANSIT:
                s["in_transit"][o] += 1
            elif status == WAITING:
                s["visa_queue"][o] += 1
            s["consumption"][o] += self.consumption


def by_destination(by_pathway: list[list[float]]) -> np.ndarray:
    """(origin, pathway) counts as the outputs' (origin, destination, pathway): in a version-1 world internal moves go
    to the city (destination 0) and the others to the destination (1)."""
    values = np.asarray(by_pathway, dtype=float)
    out = np.zeros((values.shape[0], 2, values.shape[1]))
    out[:, 0, P_INTERNAL] = values[:, P_INTERNAL]
    out[:, 1, P_REGULAR:] = values[:, P_REGULAR:]
    return out


class NaiveMigrationModel(mesa.Model):
    """The monthly step of MigrationModel (no interventions), written per agent. See the module docstring."""

    def __init__(self, n_households: int = 5000, years: float = 20, rng: int = 0, params: ModelParams | None = None,
                 world: Any = None) -> None:
        super().__init__(rng=int(rng))
        self.params = p = params or ModelParams()
        self.world = w = world or load_world(one_city_world_path())
        self.n_steps = max(1, int(round(years * 12)))
        self.t = 0
        self.streams = streams = Streams(int(rng))
        n_o = w.n_origins
        # region-level state, shared with the fast path: a few regions, no per-household work
        self.climate = Climate(w, p.climate, ClimateOutlook(), streams["climate"])
        self.places = Places.from_version1(w, p)   # the city and the destination, as per-place arrays
        self.labour = Labour(w, self.places, p.labour, LabourOutlook(), n_households / self.places.unit,
                             streams["labour"])
        self.channels = build_channels(version1_channels(w.destination, p), scale=n_households / 1000.0,
                                       destinations=(w.destination,))
        self.routes = build_routes(version1_routes(w, p), destinations=(w.destination,), n_origins=w.n_origins)
        self.policy = Policy.from_params(p, n_households)
        self.recorder = Recorder(self.n_steps, w.origins, (), (w.city, w.destination))
        # constants as Python scalars and lists, as a per-agent implementation would hold them
        lab, ab, b = p.labour, p.abroad, p.budget
        self.skill_wage = (1.0, lab.skill_wage_mid, lab.skill_wage_high)
        self.cost_to_city = w.cost_to_city.tolist()
        self.cost_to_destination = w.cost_to_destination.tolist()
        self.city_wage, self.city_employment = float(w.city_wage), lab.city_employment_rate
        self.city_living_cost, self.living_cost = ab.city_living_cost_usd, ab.living_cost_usd
        self.irregular_wage_factor, self.irregular_hire_factor = lab.irregular_wage_factor, lab.irregular_hire_factor
        self.separation_rate = lab.job_separation_rate
        self.remittance_share, self.city_remittance_share = ab.remittance_share, ab.city_remittance_share
        self.domestic_transfer_cost, self.internal_return_rate = ab.domestic_transfer_cost, ab.internal_return_rate
        self.transfer_cost = min(ab.transfer_cost, self.policy.transfer_cost_cap)   # no intervention lowers the cap
        self.regular_return_rate, self.irregular_return_rate = p.regular.return_rate, p.irregular.return_rate
        self.asset_loss_ratio, self.memory_persistence = p.climate.asset_loss_ratio, p.decisions.shock_memory
        self.subsistence, self.consumption_share = b.subsistence_usd, b.consumption_share_of_surplus
        self.expected_employment = [[0.0, 0.0], [0.0, 0.0]]   # city (unused), abroad
        self.expect_employment(1.0)   # before anyone is abroad, every place hires at once

        h = synthesize(w, p, int(n_households), streams["population"])   # the fast path's initial population
        self.households_per_origin = [0] * n_o
        for i, row in enumerate(zip(h.origin.tolist(), h.size.tolist(), h.adults.tolist(), h.head_female.tolist(),
                                    h.head_age.tolist(), h.skill.tolist(), h.wealth.tolist(), h.assets.tolist(),
                                    h.farm_dependence.tolist(), h.risk_aversion.tolist(), h.patience.tolist())):
            NaiveHousehold(self, *row).row = i   # its row in the fast path's population
            self.households_per_origin[row[0]] += 1
        self.datacollector = mesa.DataCollector(model_reporters={
            "departures_internal": lambda m: m._last("emigrants", P_INTERNAL),
            "departures_regular": lambda m: m._last("emigrants", P_REGULAR),
            "departures_irregular": lambda m: m._last("emigrants", P_IRREGULAR),
            "deaths": lambda m: m._last("deaths"), "trapped": lambda m: m._last("trapped"),
            "visa_queue": lambda m: m._last("visa_queue"),
            "population_at_origin": lambda m: m.population_at_origin,
            "remittances_usd": lambda m: m._last("remittances")})
        self.population_at_origin = float(h.people_at_origin().sum())
        self.datacollector.collect(self)

    def _last(self, name: str, pathway: int | None = None) -> float:
        if self.t == 0:
            return 0.0
        data = self.recorder[name][self.t - 1]
        return float(data[..., pathway].sum() if pathway is not None else data.sum())

    def expect_employment(self, hire: float) -> None:
        """Expected employment abroad of regular and irregular migrants: the share of a stay spent employed at the
        month's hiring probability (as simulator.model.abroad.expected_employment)."""
        irregular_hire = self.irregular_hire_factor * hire
        self.expected_employment[1] = [
            hire / (hire + self.separation_rate + self.regular_return_rate) if hire > 0 else 0.0,
            irregular_hire / (irregular_hire + self.separation_rate + self.irregular_return_rate
                              + self.policy.deportation_rate) if irregular_hire > 0 else 0.0]

    def step(self) -> None:
        n_o = self.world.n_origins
        by_origin = ("trapped", "applications", "gave_up", "visas_issued", "deaths", "interceptions",
                     "deportations", "remittances", "remittance_fees")
        by_pathway = ("emigrants", "arrivals", "returns")
        self.month = {k: [0.0] * n_o for k in by_origin}
        self.month.update({k: [[0.0] * 3 for _ in range(n_o)] for k in by_pathway})
        self.by_group = [[[[0] * 3 for _ in range(3)] for _ in range(2)] for _ in range(3)]
        t, agents = self.t, self.agents

        # 1. climate
        c = self.climate
        c.step(t)
        self.any_onset = bool(c.onset.any())
        self.onset_intensity, self.region_loss = c.region_onset_intensity.tolist(), c.region_loss.tolist()
        agents.do("suffer_climate")
        # 2. labour markets
        self.labour.step(t)
        self.origin_wage, self.degradation = self.labour.origin_wage.tolist(), c.degradation.tolist()
        self.destination_wage = float(self.labour.wage[1])
        # 3. policy (no interventions)
        self.policy = pol = Policy.from_params(self.params, len(agents))
        for channel in self.channels:
            channel.begin_month()
        for route in self.routes:
            route.begin_month()
        # 4. decisions: district networks and the visa queue as they stand before anyone decides
        city, abroad, queue = [0] * n_o, [0] * n_o, [0] * len(self.channels)
        for a in agents:
            if a.status == IN_CITY:
                city[a.origin] += 1
            elif a.status in (ABROAD_REGULAR, ABROAD_IRREGULAR, FAMILY_ABROAD):
                abroad[a.origin] += 1
            elif a.status == WAITING:
                queue[a.channel] += 1
        per_origin = [max(k, 1) for k in self.households_per_origin]
        self.network = [[city[o] / per_origin[o], abroad[o] / per_origin[o]] for o in range(n_o)]
        chosen = [(c, c.option_terms(queue[c.index])) for c in self.channels]
        chosen = [(c, terms) for c, terms in chosen if terms is not None]
        self.option_channels = [None, *(c for c, _ in chosen), *[None] * len(self.routes)]
        self.option_routes = [None] * (1 + len(chosen)) + self.routes
        options = corridor_options(self.places, self.params, self.labour.wage, np.array(self.expected_employment),
                                   [(c.name, 1, terms) for c, terms in chosen],
                                   [(r.name, 1, r.settings, r.origins) for r in self.routes])
        self.option_rows = OptionRows(options)
        self.uniforms_per_household = options.uniforms_per_household
        agents.do("decide")
        # 5. regular pathway
        self.visa_candidates = [[] for _ in self.channels]
        agents.do("wait_for_visa")
        for channel, candidates in zip(self.channels, self.visa_candidates):
            settings = channel.settings
            if "processing_per_month" not in settings:   # offered channels: closed without interventions
                continue
            k = channel.queue.capacity(t % 12, settings["quota_per_year"], settings["processing_per_month"])
            granted = []   # places offered down the queue: each pays its recruitment cost and fare then, or loses it
            dp = self.params.decisions
            for a in sorted(candidates, key=lambda a: a.queue_key) if k > 0 else []:
                if len(granted) == k:
                    break
                amount = settings.get("recruitment_cost_usd", 0.0) + float(self.places.travel_cost[a.origin][1])
                if a.wealth + dp.credit_fraction * max(0.0, a.assets - dp.credit_floor_usd) >= amount:
                    a.pay(amount)
                    granted.append(a)
                else:
                    a.status, a.since, a.channel = AT_HOME, t, -1
            channel.queue.use(len(granted))
            stay = int(settings["stay_months"])
            for a in granted:
                a.grant_visa(t + stay if stay > 0 else NO_CONTRACT)
        # 6. irregular journeys
        agents.do("travel")
        # 7. migrants away: hiring probability from the unemployed as they stand
        u_reg = u_irr = 0
        for a in agents:
            if not a.employed:
                if a.status == ABROAD_REGULAR:
                    u_reg += 1
                elif a.status == ABROAD_IRREGULAR:
                    u_irr += 1
        seekers = u_reg + self.irregular_hire_factor * u_irr
        self.hire_probability = 1.0 if seekers <= 0 else min(1.0, float(self.labour.vacancies[1]) / seekers)
        self.abroad_count, self.abroad_employed = [0, 0], [0, 0]
        self.city_count = self.city_employed = 0
        agents.do("work_away")
        rate = self.recorder["migrant_employment_rate"]
        rate[t, P_INTERNAL] = self.city_employed / self.city_count if self.city_count else np.nan
        for k, pathway in ((0, P_REGULAR), (1, P_IRREGULAR)):
            n, e = self.abroad_count[k], self.abroad_employed[k]
            rate[t, pathway] = e / n if n else np.nan
        self.expect_employment(self.hire_probability)
        # 8. budgets
        agents.do("budget")
        # 9. recording
        self.stocks = {k: [0.0] * n_o for k in ("population", "families_abroad", "in_transit", "visa_queue",
                                                 "consumption", "wealth_home", "households_home")}
        self.stocks["migrants_away"] = [[0.0] * 3 for _ in range(n_o)]
        agents.do("record")
        r, s = self.recorder, self.stocks
        for name, values in self.month.items():
            r[name][t] = by_destination(values) if name in ("emigrants", "arrivals", "returns") else values
        r["emigrants_by_group"][t] = self.by_group
        for name in ("population", "families_abroad", "in_transit", "visa_queue"):
            r[name][t] = s[name]
        r["migrants_away"][t] = by_destination(s["migrants_away"])
        r["consumption_per_capita"][t] = [s["consumption"][o] / max(s["population"][o], 1) for o in range(n_o)]
        r["wealth_mean"][t] = [s["wealth_home"][o] / max(s["households_home"][o], 1) for o in range(n_o)]
        r["shock_loss"][t] = self.region_loss
        r["labour_demand"][t] = self.labour.demand
        r["vacancies"][t] = self.labour.vacancies
        r["destination_wage"][t] = self.labour.wage
        self.population_at_origin = float(sum(s["population"]))
        self.t += 1
        self.running = self.t < self.n_steps
        self.datacollector.collect(self)
