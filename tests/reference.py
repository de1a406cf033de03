"""A deliberately naive reference implementation of one model month, household by household.

`reference_step(model)` advances a `MigrationModel` by one month and mutates it as `model.step()` does, but it
writes every household rule again in plain Python: a loop over households, `math.log` and `math.exp`, an if/else per
household. It calls none of the array functions of decisions.py, pathways.py, abroad.py or budgets.py, nor the
model's own process methods; the equations follow the module docstrings. Region-level components are reused, since
they are not per household: `model.climate.step(t)`, `model.labour.step(t)`, `Policy.from_params`, each channel's
`begin_month()` (its settings back to the world's), each intervention's `step()` and `cost()`, and the `Options`
container (with its checks) for the month's options, whose figures the reference works out itself. The rules of each
kind of channel (simulator/policy/channels.py) are written again here from that module's docstring, reading the
channels' settings and keeping their counts and queue book-keeping. The household decision is `reference_decision`,
below, over any options table.

Random numbers: the fast path draws whole-population arrays from named streams in a fixed order each month, and so
does the reference, which then reads the entries household by household:

- "decisions": `(n, w)` float32 uniforms, `w` the options table's `uniforms_per_household`; all but the last
  become Gumbel noise `-ln(-ln u)` (u clipped to [1e-12, 1 - 1e-7]) for the two-stage nested-logit choice, the last
  is the visa queue tie-break;
- "channel.<name>" of each humanitarian channel: `n` float64 uniforms, only in months with places;
- "journeys": `(n, K)` float32 uniforms, `K` = `decisions.max_members_away`: a migrant reads the entry of its
  household and slot;
- "abroad": `(n, K, 2)` float32 uniforms, read by household and slot (0: employment, 1: returns);
- "channel.<name>" of each family channel: `n` float64 uniforms, only in months in which it is open;
- "migrants": a departing member's two keyed uniforms (`Streams.keyed_uniforms`, by household and departure
  number), the first for its sex, the second for its age (through the normal quantile `scipy.special.ndtri`).

Arithmetic is in float64 throughout; a float32 column (shock memory) is rounded once, when it is stored.

Where a docstring leaves a detail open, the reference takes the documented meaning of the columns (households.py,
migrants.py): `since` is "the step at which the current status began", so it is set on every change of status.

Migrants (members away) are a Python list of `Member` records during the step, read from `model.migrants` at its
start and written back at its end in household and slot order (the order the fast path keeps); a household's
members are found by scanning that list. A member takes its household's lowest slot not held by another member.

`reference_step` returns a `StepLog`: how often each branch of the household rules ran this month, so that a test can
check that an agreement between the two implementations was not vacuous.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from scipy.special import ndtri

from simulator.model.households import (ABROAD_IRREGULAR, ABROAD_REGULAR, AT_HOME, FAMILY_ABROAD, IN_CITY, IN_TRANSIT,
                                        WAITING)
from simulator.model.migrants import NO_CONTRACT, Migrants
from simulator.model.outputs import AGE_EDGES
from simulator.model.decisions import Options
from simulator.model.levers import Policy

STAY = 0                         # a household's choice; then one per city, per chosen channel, per irregular route
OFFER_TAKEN = -2                 # ... or the household took a channel's offer (a humanitarian visa)
P_INTERNAL, P_REGULAR, P_IRREGULAR = range(3)                 # the `pathway` dimension of the outputs
QUEUE_KINDS = ("labour_scheme", "seasonal", "skills_partnership")   # channels with a queue of applicants
MAX_WAIT_MONTHS = 1200.0        # expected visa waits are capped at 100 years


class StepLog(Counter):
    """Counts of the branches taken in one month (a Counter: missing keys count 0), plus `min_margin`: the smallest
    gap between the winning and the runner-up noisy utility in any household's choice this month."""

    min_margin: float = math.inf


class Member:
    """One member away (a row of the migrants table), as plain Python values."""

    COLUMNS = ("household", "origin", "slot", "trip", "status", "place", "channel", "route", "since", "employed",
               "contract_end", "female", "age", "skill")

    def __init__(self, **values) -> None:
        for name in self.COLUMNS:
            setattr(self, name, values[name])


def read_members(model) -> list[Member]:
    m = model.migrants
    return [Member(**{name: getattr(m, name)[j].item() for name in Member.COLUMNS}) for j in range(m.n)]


def write_members(model, members: list[Member]) -> None:
    table = Migrants.empty()
    members = sorted(members, key=lambda r: (r.household, r.slot))
    if members:
        table.add(**{name: np.array([getattr(r, name) for r in members]) for name in Member.COLUMNS})
    model.migrants = table


def members_of(model, i: int) -> list[Member]:
    return [r for r in model.members if r.household == i]


def reference_step(model) -> StepLog:
    """Advance `model` by one month, as `model.step()` would, with per-household and per-migrant loops."""
    if model.t >= model.n_steps:
        raise RuntimeError(f"the run is over: all {model.n_steps} months have been simulated")
    model.steps += 1          # Mesa's wrapper of Model.step counts the step before running it
    model.members = read_members(model)
    log = StepLog()
    t = model.t
    climate_hits_households(model, t)
    model.labour.step(t)
    policy_of_the_month(model)
    households_decide(model, t, log)
    regular_queue(model, t, log)
    journeys(model, t, log)
    migrants_away(model, t, log)
    budgets(model, log)
    record(model, t)
    write_members(model, model.members)
    del model.members
    model.t += 1
    model.running = model.t < model.n_steps
    model.datacollector.collect(model)
    return log


# --- small helpers ------------------------------------------------------------------------------------------------

def skill_wage(model, skill: int) -> float:
    """Wage multiplier of a skill level: 1 (low), mid, high."""
    lab = model.params.labour
    return (1.0, lab.skill_wage_mid, lab.skill_wage_high)[int(skill)]


def persons_at_origin(model, i: int, away: int) -> int:
    """Members living at origin: everybody but the `away` members away, nobody once the family has joined its
    migrant."""
    if int(model.households.status[i]) == FAMILY_ABROAD:
        return 0
    return int(model.households.size[i]) - away


def adults_at_origin(model, i: int, away: int) -> int:
    if int(model.households.status[i]) == FAMILY_ABROAD:
        return 0
    return max(int(model.households.adults[i]) - away, 0)


def away_counts(model) -> list[int]:
    """Members away per household (every member on the list; a reunited family's migrant too)."""
    counts = [0] * model.households.n
    for r in model.members:
        counts[r.household] += 1
    return counts


def gumbel(u: float) -> float:
    """A standard Gumbel draw from a uniform, clipped away from 0 and 1 as decisions.gumbel documents."""
    u = min(max(float(u), 1e-12), 1.0 - 1e-7)
    return -math.log(-math.log(u))


BY_DESTINATION = ("emigrants", "arrivals", "returns", "migrants_away")   # outputs by destination and pathway


def add(model, name: str, t: int, origin: int, pathway: int | None = None, amount: float = 1.0,
        place: int | None = None) -> None:
    """Add `amount` to output variable `name` for step `t`, origin `origin` (and `pathway`; and `place`, the
    destination, for the outputs by destination)."""
    if name in BY_DESTINATION:
        assert place is not None and place >= 0, f"{name} is counted by destination"
        model.recorder[name][t, origin, place, pathway] += amount
    elif pathway is None:
        model.recorder[name][t, origin] += amount
    else:
        model.recorder[name][t, origin, pathway] += amount


def set_status(model, i: int, status: int, t: int) -> None:
    """A change of the household's status; `since` records the step at which the new status began."""
    model.households.status[i] = status
    model.households.since[i] = t


def floor_of(model, origin: int) -> float:
    """The assets a household of `origin` keeps and cannot borrow against or sell: the larger of credit_floor_usd
    and credit_floor_share of its district's median assets."""
    dp = model.params.decisions
    return max(dp.credit_floor_usd, dp.credit_floor_share * float(model.world.assets_median[origin]))


def network_loan_of(dp, share: float) -> float:
    """The share of a move abroad's cost due now that the district's `share` of members at its place lends."""
    s_k, h_k = share, dp.network_loan_half
    for _ in range(dp.network_loan_power - 1):
        s_k, h_k = s_k * share, h_k * dp.network_loan_half
    return dp.network_loan_share * s_k / (s_k + h_k)


def borrow(model, i: int, loan: float, log) -> None:
    """Household i owes `loan` more to the network that lent it (float32, as the model keeps it), recorded as lent this
    month."""
    if loan > 0:
        h = model.households
        h.debt[i] = h.debt[i] + np.float32(loan)
        add(model, "network_lent", model.t, int(h.origin[i]), amount=loan)
        log["network_loan"] += 1


def pay(model, i: int, amount: float) -> None:
    """Pay from liquid wealth first, the rest from assets (sold or borrowed against), never below zero."""
    h = model.households
    wealth = float(h.wealth[i])
    from_wealth = min(wealth, amount)
    h.wealth[i] = wealth - from_wealth
    h.assets[i] = max(0.0, float(h.assets[i]) - (amount - from_wealth))


def depart(model, i: int, pathway: int, status: int, t: int, place: int, channel: int = -1, route: int = -1,
           employed: bool = False, contract_end: int = NO_CONTRACT) -> Member:
    """A member of household i leaves for `place` (the city or destination, its index in `model.places`) in the
    household's lowest free slot; counted by origin and destination, and by the migrant's sex, age and skill."""
    h = model.households
    taken = {r.slot for r in members_of(model, i)}
    slot = min(s for s in range(8) if s not in taken)
    h.slots[i] = int(h.slots[i]) | (1 << slot)
    h.trips[i] += 1
    # who leaves: keyed uniforms of (household, departure number), the first for the sex, the second for the age
    pop = model.params.population
    u_sex, u_age = (float(model.streams.keyed_uniforms("migrants", np.array([i]), int(h.trips[i]), j)[0])
                    for j in (0, 1))
    female = u_sex < (pop.migrant_female_share_internal if pathway == P_INTERNAL else pop.migrant_female_share_abroad)
    age = float(np.float32(min(max(pop.migrant_age_mean + pop.migrant_age_sd * float(ndtri(u_age)), 18.0), 65.0)))
    member = Member(household=i, origin=int(h.origin[i]), slot=slot, trip=int(h.trips[i]), status=status,
                    place=place, channel=channel, route=route, since=t, employed=employed, contract_end=contract_end,
                    female=female, age=age, skill=int(h.skill[i]))
    model.members.append(member)
    add(model, "emigrants", t, member.origin, pathway, place=place)
    sex = 0 if member.female else 1                      # female, male
    age_group = sum(1 for edge in AGE_EDGES if member.age >= edge)   # 18-34, 35-54, 55+
    model.recorder["emigrants_by_group"][t, pathway, sex, age_group, member.skill] += 1
    model.recorder["emigrants_by_quintile"][t, pathway, int(model.quintile[i])] += 1   # its household's fifth
    return member


def leave_list(model, member: Member) -> None:
    """The member is no longer away (home, or dead): its slot is free."""
    h = model.households
    h.slots[member.household] = int(h.slots[member.household]) & ~(1 << member.slot)
    model.members.remove(member)


def come_home(model, member: Member, t: int, pathway: int) -> None:
    """The member returns home, counted in `returns` at the place it returns from."""
    add(model, "returns", t, member.origin, pathway, place=member.place)
    leave_list(model, member)


class QueueBook:
    """Capacity book-keeping of a visa channel, on the model's queue object (its fields), per the pathways
    docstring: the quota year starts in January (month 0); processing capacity accrues each month; unused whole
    units are lost at the end of the month, a fractional remainder carries over; a paced channel's (humanitarian,
    family: a twelfth of the quota a month) unused units are kept, up to a year's quota (at least one)."""

    def __init__(self, queue) -> None:
        self.queue = queue

    def places(self, month_of_year: int, quota_per_year: float, processing_per_month: float) -> int:
        q = self.queue
        if month_of_year == 0:   # a new quota year: carry the unused fraction of a place (at most one)
            unused = q.last_quota + q.quota_carry - q.issued_this_year
            q.quota_carry = unused - math.floor(unused) if unused > 0 else 0.0
            q.issued_this_year = 0
        q.last_quota = quota_per_year
        q.processing_credit += processing_per_month
        if q.paced:
            q.processing_credit = min(q.processing_credit, max(1.0, quota_per_year))
        quota_left = max(0.0, math.floor(quota_per_year + q.quota_carry + 1e-9) - q.issued_this_year)
        return int(min(math.floor(q.processing_credit + 1e-9), quota_left))

    def decided(self, k: int) -> None:
        q = self.queue
        q.issued_this_year += k
        left = q.processing_credit - k
        q.processing_credit = left - math.floor(left) if left >= 1 and not q.paced else left


# --- 1. climate ---------------------------------------------------------------------------------------------------

def climate_hits_households(model, t: int) -> None:
    """Shock onset destroys `r I farm (1 - a)(1 - e)` of assets; the month's loss `farm L (1 - a)` of income share is
    remembered as `max(rho m, loss)`."""
    c = model.climate
    c.step(t)
    h = model.households
    ratio = model.params.climate.asset_loss_ratio
    rho = model.params.decisions.shock_memory
    loss = np.zeros(h.n)
    for i in range(h.n):
        origin = int(h.origin[i])
        farm = float(h.farm_dependence[i])
        adaptation = float(h.adaptation[i])
        onset = float(c.region_onset_intensity[origin])
        if onset > 0:
            h.assets[i] = float(h.assets[i]) * (1.0 - ratio * onset * farm * (1.0 - adaptation)
                                                * (1.0 - float(h.asset_protection[i])))
        loss[i] = farm * float(c.region_loss[origin]) * (1.0 - adaptation)
        h.shock_memory[i] = max(rho * float(h.shock_memory[i]), loss[i])   # stored in the float32 column
    model.loss = loss


# --- 3. policy ----------------------------------------------------------------------------------------------------

def policy_of_the_month(model) -> None:
    model.policy = Policy.from_params(model.params, model.households.n)
    for channel in model.channels:
        channel.begin_month()
    for route in model.routes:   # the route's settings back to the world's, its counts to 0
        route.begin_month()
    model.cash[:] = 0.0
    for iv in model.interventions:
        iv.step(model)


# --- 4. decisions -------------------------------------------------------------------------------------------------

def chosen_channel_terms(channel, queue_length: int) -> tuple[float, float, int, bool, float | None] | None:
    """(fee, expected wait, lowest skill, open, fee on applying) of a channel households choose, or None if it is
    offered instead: a queue channel's wait is the queue (and the applicant) over its monthly capacity `min(processing,
    quota / 12)`, and it charges its fee on applying, the recruitment cost and fare when a place is granted; free
    movement has no wait and no eligibility rule, and is paid on choosing (None)."""
    s = channel.settings
    if channel.kind in QUEUE_KINDS:
        capacity = min(s["processing_per_month"], s["quota_per_year"] / 12.0)
        wait = (queue_length + channel.scale) / capacity if capacity > 0 else math.inf
        lowest_skill = int(s.get("min_skill", 0))
        if channel.kind == "skills_partnership":   # open to every skill; training, then the queue
            wait, lowest_skill = s["training_months"] + wait, 0
        return (s["fee_usd"] + s.get("recruitment_cost_usd", 0.0), wait, lowest_skill,
                s["quota_per_year"] > 0 and s["processing_per_month"] > 0, s["fee_usd"])
    if channel.kind == "free_movement":
        return s["fee_usd"], 0.0, 0, True, None
    return None


def households_decide(model, t: int, log: StepLog) -> None:
    h, p, pol, w = model.households, model.params, model.policy, model.world
    dp, lab, ab = p.decisions, p.labour, p.abroad
    n_origins = w.n_origins

    income_per_adult = np.zeros(h.n)   # every household's, deciding or not (budgets use it)
    for i in range(h.n):
        income_per_adult[i] = origin_income(model.labour.origin_wage, model.climate.farm_decline, int(h.origin[i]),
                                            skill_wage(model, h.skill[i]), float(h.farm_dependence[i]),
                                            float(model.loss[i]), float(h.income_boost[i]))
    model.income_per_adult = income_per_adult

    # what households see before anyone decides this month: the members of each origin's households at each place
    # (in a city; abroad, or reunited there), and the queues
    places = model.places
    households_in = [0] * n_origins
    members_at = [[0] * places.n for _ in range(n_origins)]
    went_by = [[[0, 0, 0] for _ in range(places.n)] for _ in range(n_origins)]   # by pathway, for the cost cut
    queue_length = [0] * len(model.channels)
    for i in range(h.n):
        households_in[int(h.origin[i])] += 1
        if h.status[i] == WAITING:
            queue_length[int(h.channel[i])] += 1
    for r in model.members:
        if r.status == IN_CITY if r.place < places.n_cities else r.status in (ABROAD_REGULAR, ABROAD_IRREGULAR,
                                                                               FAMILY_ABROAD):
            members_at[r.origin][r.place] += 1
        way = {IN_CITY: P_INTERNAL, ABROAD_REGULAR: P_REGULAR, FAMILY_ABROAD: P_REGULAR,
               ABROAD_IRREGULAR: P_IRREGULAR}.get(r.status)
        if way is not None:
            went_by[r.origin][r.place][way] += 1
    network = [[members_at[o][q] / max(households_in[o], 1) for q in range(places.n)] for o in range(n_origins)]
    by_way = [[[x / max(households_in[o], 1) for x in went_by[o][q]] for q in range(places.n)]
              for o in range(n_origins)]

    # the month's options: each city, each channel households choose (its fee, wait and eligibility) and each
    # irregular route (its smuggler's fee and risks in force, offered to the origins it serves); the cities share a
    # nest, the international options another; each at its place's wage, living cost and expected employment
    chosen = [(c, terms) for c in model.channels
              if (terms := chosen_channel_terms(c, queue_length[c.index])) is not None]
    offered = [r for r in model.routes if not r.source]   # the irregular routes (households do not choose onward)
    n, routes = len(chosen), [r.settings for r in offered]
    m, n_cities = len(routes), places.n_cities
    place = [*range(n_cities), *(places.index(c.destination) for c, _ in chosen),
             *(places.index(r.destination) for r in offered)]
    employment = [lab.city_employment_rate] * n_cities + [float(model.expected_employment[q][0])
                                                          for q in place[n_cities:n_cities + n]] + [
        float(model.expected_employment[q][1]) for q in place[n_cities + n:]]
    travel = places.travel_cost
    # the up-front cost: the fare (and a channel's fee), plus the first months' living cost of a migrant without a
    # job offer (cities, free movement, routes), lowered by the origin's members who went there the same way
    searching = [*[True] * n_cities, *(c.kind == "free_movement" for c, _ in chosen), *[True] * m]
    fare = [[*(float(travel[o][q]) for q in range(n_cities)),
             *(fee + float(travel[o][places.index(c.destination)]) for c, (fee, *_) in chosen),
             *(r["travel_cost_usd"] for r in routes)] for o in range(n_origins)]
    on_applying = [*[None] * n_cities, *(terms[4] for _, terms in chosen), *[None] * m]
    cost, due, lent = [], [], []
    for o in range(n_origins):
        row, row_due, row_lent = [], [], []
        for k, q in enumerate(place):
            x = fare[o][k] + (dp.startup_months * float(places.living_cost[q]) if searching[k] else 0.0)
            d = x if on_applying[k] is None else on_applying[k]   # a queue channel: its fee now, the rest later
            if dp.network_cost_cut > 0:
                way = P_INTERNAL if k < n_cities else P_REGULAR if k < n_cities + n else P_IRREGULAR
                s = by_way[o][q][way]
                cut = 1.0 - dp.network_cost_cut * s / (s + dp.network_cost_half)
                x, d = x * cut, d * cut
            loan = 0.0
            if dp.network_loan_share > 0 and k >= n_cities:   # a move abroad: the district's members there lend
                loan = d * network_loan_of(dp, sum(by_way[o][q]))
                d = d - loan
            row.append(x)
            row_due.append(d)
            row_lent.append(loan)
        cost.append(row)
        due.append(row_due)
        lent.append(row_lent)
    model.reference_network = by_way   # the month's shares by pathway, for the payments on departure
    options = Options.build(
        (*places.names[:n_cities], *(c.name for c, _ in chosen), *(r.name for r in offered)),
        pathway=(*[P_INTERNAL] * n_cities, *[P_REGULAR] * n, *[P_IRREGULAR] * m), place=place,
        nest=(*[1] * n_cities, *[2] * (n + m)), nest_lambda=(1.0, 1.0, dp.nest_lambda),
        wage=[float(model.labour.wage[q]) for q in place], skill_ratio=[places.skill_ratio[q] for q in place],
        wage_factor=(*[1.0] * (n_cities + n), *[lab.irregular_wage_factor] * m),
        living_cost=[float(places.living_cost[q]) for q in place], employment=employment,
        cost=cost, due=due,
        wait_months=(*[0.0] * n_cities, *[terms[1] for _, terms in chosen], *[0.0] * m),
        death=(*[0.0] * (n_cities + n), *[r["death_probability"] for r in routes]),
        interception=(*[0.0] * (n_cities + n), *[r["interception_probability"] for r in routes]),
        asc=(*[dp.asc_internal] * n_cities, *[dp.asc_regular] * n, *[dp.asc_irregular] * m), network=place,
        min_skill=(*[0] * n_cities, *[terms[2] for _, terms in chosen], *[0] * m),
        open_=(*[True] * n_cities, *[terms[3] for _, terms in chosen], *[True] * m),
        served=[[*[True] * (n_cities + n), *[o in r.origins for r in offered]] for o in range(n_origins)])
    rows = OptionRows(options)
    regular = n_cities + 1       # the choice of the first channel
    irregular = regular + n      # the choice of the first route
    draws = model.streams["decisions"].random((h.n, options.uniforms_per_household), dtype=np.float32)
    queue_column = options.uniforms_per_household - 1

    choices: dict[int, tuple[int, bool, list[float]]] = {}   # household -> (choice, trapped, costs)
    loans: dict[int, list[float]] = {}   # household -> what the network lends for each choice
    away = away_counts(model)
    log["several_away"] += sum(1 for a in away if a >= 2)
    for i in range(h.n):
        # households at home with fewer than the most members away, and an adult at origin, decide; the adults
        # counted are those at origin
        adults = int(h.adults[i]) - away[i]
        if h.status[i] != AT_HOME or away[i] >= p.decisions.max_members_away or adults < 1:
            continue
        origin = int(h.origin[i])
        _, choice, trapped, wanted = reference_decision(
            rows, dp, pol.risk_perception, model.labour.origin_wage, model.climate.farm_decline, network,
            status=int(h.status[i]), adults=adults, origin=origin, skill=int(h.skill[i]),
            skill_mult=skill_wage(model, h.skill[i]), farm=float(h.farm_dependence[i]), loss=float(model.loss[i]),
            boost=float(h.income_boost[i]), memory=float(h.shock_memory[i]), patience=float(h.patience[i]),
            risk=float(h.risk_aversion[i]), wealth=float(h.wealth[i]), assets=float(h.assets[i]),
            uniforms=draws[i], log=log, floor=floor_of(model, origin), persons=int(h.size[i]) - away[i],
            subsistence_usd=p.budget.subsistence_usd)
        choices[i] = (choice, trapped, [0.0, *rows.due[origin]], wanted)
        loans[i] = [0.0, *lent[origin]]
        if away[i] and choice not in (STAY, -1):
            log["another_member_leaves"] += 1

    for channel in model.channels:
        if channel.kind == "humanitarian":
            humanitarian_visas(model, channel, t, choices, log)

    for i, (choice, trapped, costs, wanted) in choices.items():
        origin = int(h.origin[i])
        if trapped:
            add(model, "trapped", t, origin)
            model.recorder["trapped_by_quintile"][t, int(model.quintile[i])] += 1
            aim = P_INTERNAL if wanted < regular else P_REGULAR if wanted < irregular else P_IRREGULAR
            add(model, "trapped_wanting", t, origin, aim)
            h.aspiration[i], h.aspired[i] = aim + 1, t   # it aspires to that pathway from now
            log["trapped"] += 1
        if choice > STAY:
            h.aspiration[i] = 0   # its aim is met (or an application lodged)
        if STAY < choice < regular:   # to a city
            pay(model, i, costs[choice])
            depart(model, i, P_INTERNAL, IN_CITY, t, place=choice - 1)
            add(model, "arrivals", t, origin, P_INTERNAL, place=choice - 1)
            log["internal"] += 1
        elif regular <= choice < irregular:
            pay(model, i, costs[choice])
            borrow(model, i, loans[i][choice], log)
            channel = chosen[choice - regular][0]
            if channel.kind in QUEUE_KINDS:
                channel.applications += 1
                set_status(model, i, WAITING, t)
                h.channel[i] = channel.index
                h.queue_key[i] = t + float(draws[i, queue_column])
                add(model, "applications", t, origin)
                log["applications"] += 1
            else:   # free movement: the migrant leaves at once, without a job offer
                stay = int(channel.settings["stay_months"])
                admit(model, i, t, channel, t + stay if stay > 0 else NO_CONTRACT, job_offer=False)
                channel.granted = np.append(channel.granted, i)
                log["free_movement"] += 1
        elif choice >= irregular:
            pay(model, i, costs[choice])
            borrow(model, i, loans[i][choice], log)
            route = offered[choice - irregular]
            depart(model, i, P_IRREGULAR, IN_TRANSIT, t, place=model.places.index(route.destination),
                   route=route.index)
            route.departures += 1
            log["irregular_departures"] += 1
        elif choice == STAY:
            log["stay"] += 1


def pick(candidates: list[tuple[object, float]], log: StepLog) -> object:
    """The option of highest noisy value (the first one on a tie); logs its lead over the runner-up."""
    best, best_value = candidates[0]
    for option, value in candidates[1:]:
        if value > best_value:
            best, best_value = option, value
    others = [value for option, value in candidates if option != best]
    if others:
        log.min_margin = min(log.min_margin, best_value - max(others))
    return best


def humanitarian_visas(model, channel, t: int, choices: dict, log: StepLog) -> None:
    """Households that want to leave this month (chose a move or are trapped) and whose remembered loss reaches the
    channel's threshold are offered a humanitarian visa in random order, within the month's places (a twelfth of the
    yearly quota a month, kept until taken); fee and travel are covered, and the visa replaces the move they chose."""
    h, s = model.households, channel.settings
    book = QueueBook(channel.queue)   # kept every month, open or closed
    places = book.places(t % 12, s["quota_per_year"], s["quota_per_year"] / 12.0)
    if s["quota_per_year"] <= 0:
        return
    priority = model.streams[f"channel.{channel.name}"].random(h.n)
    candidates = [i for i, (choice, trapped, _, _) in choices.items()
                  if float(h.shock_memory[i]) >= s["min_loss"] and (choice > STAY or trapped)]
    chosen = sorted(candidates, key=lambda i: (priority[i], i))[:places]
    book.decided(len(chosen))
    channel.granted = np.array(chosen, dtype=np.int64)
    for i in chosen:
        choices[i] = (OFFER_TAKEN, False, choices[i][2], choices[i][3])
        stay = int(s["stay_months"])
        admit(model, i, t, channel, t + stay if stay else NO_CONTRACT, job_offer=False)
        add(model, "humanitarian_visas", t, int(h.origin[i]))
        log["humanitarian_visas"] += 1


# --- 5. regular pathway -------------------------------------------------------------------------------------------

def regular_queue(model, t: int, log: StepLog) -> None:
    """For each queue channel, in the world's order: give-ups among its applicants (`waited > max_wait *
    patience`), then places to eligible applicants, first come first served (application month + tie-break), within
    its quota and processing capacity. In a skills partnership, applicants whose `training_months` end this month
    reach `min_skill` first; the wait that counts towards giving up starts after the training, and only trained
    applicants get places."""
    h = model.households
    for channel in model.channels:
        if channel.kind not in QUEUE_KINDS:
            continue
        s = channel.settings
        training = int(s["training_months"]) if channel.kind == "skills_partnership" else 0
        waiting = []
        for i in range(h.n):
            if h.status[i] != WAITING or int(h.channel[i]) != channel.index:
                continue
            if training and t - int(h.since[i]) >= training and int(h.skill[i]) < s["min_skill"]:
                h.skill[i] = int(s["min_skill"])
                log["trained"] += 1
            if t - int(h.since[i]) - training > s["max_wait_months"] * float(h.patience[i]):
                set_status(model, i, AT_HOME, t)
                h.channel[i] = -1
                add(model, "gave_up", t, int(h.origin[i]))
                log["gave_up"] += 1
            else:
                waiting.append(i)
        book = QueueBook(channel.queue)
        places = book.places(t % 12, s["quota_per_year"], s["processing_per_month"])
        eligible = [i for i in waiting if int(h.skill[i]) >= s.get("min_skill", 0) and t - int(h.since[i]) >= training]
        queue = sorted(eligible, key=lambda i: (float(h.queue_key[i]), i))
        paid = []
        dp, q = model.params.decisions, model.places.index(channel.destination)
        for i in queue:   # offered in queue order: the recruitment cost and fare are due now, lowered by the network
            if len(paid) == places:
                break
            o = int(h.origin[i])
            amount = s.get("recruitment_cost_usd", 0.0) + float(model.places.travel_cost[o][q])
            if dp.network_cost_cut > 0:
                share = model.reference_network[o][q][P_REGULAR]
                amount *= 1.0 - dp.network_cost_cut * share / (share + dp.network_cost_half)
            loan = amount * network_loan_of(dp, sum(model.reference_network[o][q])) \
                if dp.network_loan_share > 0 else 0.0
            means = float(h.wealth[i]) + dp.credit_fraction * max(0.0, float(h.assets[i]) - floor_of(model, o))
            if means >= amount - loan:
                pay(model, i, amount - loan)
                borrow(model, i, loan, log)
                paid.append(i)
                # what the migrant paid for the place (SDG 10.7.1): the fee on applying, the rest now
                model.recorder["channel_costs"][t, channel.index] += amount + s.get("fee_usd", 0.0)
            else:   # it loses the place, leaves the queue and aspires to go regularly
                set_status(model, i, AT_HOME, t)
                h.channel[i] = -1
                h.aspiration[i], h.aspired[i] = P_REGULAR + 1, t
                add(model, "could_not_pay", t, o)
                log["could_not_pay"] += 1
        granted = paid
        book.decided(len(granted))
        channel.granted = np.array(granted, dtype=np.int64)   # read by interventions that pay per visa
        stay = int(s["stay_months"])
        for i in granted:
            admit(model, i, t, channel, t + stay if stay > 0 else NO_CONTRACT, job_offer=True)
            add(model, "visas_issued", t, int(h.origin[i]))
            log["visas"] += 1
            if channel.kind == "seasonal":
                add(model, "seasonal_visas", t, int(h.origin[i]))
                log["seasonal_visas"] += 1


def admit(model, i: int, t: int, channel, contract_end: int, job_offer: bool) -> None:
    """A member of household i leaves by a regular channel; with a job offer it arrives employed. The household's
    application, if it had one, is over."""
    h = model.households
    place = model.places.index(channel.destination)
    if h.status[i] == WAITING:
        set_status(model, i, AT_HOME, t)
    h.channel[i] = -1
    depart(model, i, P_REGULAR, ABROAD_REGULAR, t, place, channel=channel.index, employed=job_offer,
           contract_end=contract_end)
    add(model, "arrivals", t, int(h.origin[i]), P_REGULAR, place=place)


# --- 6. irregular journeys ----------------------------------------------------------------------------------------

def journeys(model, t: int, log: StepLog) -> None:
    """A journey that has lasted its route's `duration_months` ends, with the route's probabilities in force:
    `u < d` death; `u < d + (1 - d) h` interception; else arrival."""
    h = model.households
    u = model.streams["journeys"].random((h.n, model.params.decisions.max_members_away), dtype=np.float32)
    for r in list(model.members):
        if r.status != IN_TRANSIT:
            continue
        route = model.routes[r.route]
        s = route.settings
        if t - r.since < s["duration_months"]:
            continue
        i = r.household
        x = float(u[i, r.slot])
        d, hp = s["death_probability"], s["interception_probability"]
        route.expected_deaths += d
        if x < d:
            h.size[i] -= 1
            h.adults[i] -= 1
            h.dead[i] += 1
            leave_list(model, r)
            add(model, "deaths", t, r.origin)
            route.deaths += 1
            log["deaths"] += 1
        elif x < d + (1.0 - d) * hp:
            leave_list(model, r)
            add(model, "interceptions", t, r.origin)
            route.interceptions += 1
            log["interceptions"] += 1
        else:   # arrives at the route's destination; the route stays on record while abroad
            r.status, r.since, r.employed = ABROAD_IRREGULAR, t, False
            add(model, "arrivals", t, r.origin, P_IRREGULAR, place=r.place)
            route.arrivals += 1
            log["irregular_arrivals"] += 1


# --- 7. migrants away ---------------------------------------------------------------------------------------------

def migrants_away(model, t: int, log: StepLog) -> None:
    h, p, pol = model.households, model.params, model.policy
    lab, ab = p.labour, p.abroad
    draws = model.streams["abroad"].random((h.n, p.decisions.max_members_away, 2), dtype=np.float32)
    model.remittances_in[:] = 0.0

    places = model.places
    abroad = [r for r in model.members if r.status in (ABROAD_REGULAR, ABROAD_IRREGULAR)]
    seekers = [0.0] * places.n   # at each place; an irregular migrant counts `irregular_hire_factor`
    for r in abroad:
        if not r.employed:
            seekers[r.place] += lab.irregular_hire_factor if r.status == ABROAD_IRREGULAR else 1.0
    hire = [1.0 if seekers[q] <= 0 else min(1.0, float(model.labour.vacancies[q]) / seekers[q])
            for q in range(places.n)]

    wage = {}
    employed_count = [[0, 0] for _ in range(places.n)]   # regular, irregular at each place
    migrant_count = [[0, 0] for _ in range(places.n)]
    for r in abroad:
        irregular = r.status == ABROAD_IRREGULAR
        q = r.place
        x = float(draws[r.household, r.slot, 0])
        if r.employed:
            keeps = x >= lab.job_separation_rate
            log["kept_job" if keeps else "lost_job"] += 1
            r.employed = keeps
        else:
            hired = x < (lab.irregular_hire_factor * hire[q] if irregular else hire[q])
            log["hired" if hired else "not_hired"] += 1
            r.employed = hired
        wage[r] = float(model.labour.wage[q]) * float(places.skill_ratio[q][r.skill]) * (
            lab.irregular_wage_factor if irregular else 1.0)
        earnings = wage[r] if r.employed else 0.0
        sent = float(places.remittance_share[q]) * max(0.0, earnings - float(places.living_cost[q]))
        fee = min(float(places.transfer_cost[q]), pol.transfer_cost_cap)
        model.remittances_in[r.household] += sent * (1.0 - fee)
        add(model, "remittance_fees", t, r.origin, amount=sent * fee)
        migrant_count[q][irregular] += 1
        employed_count[q][irregular] += bool(r.employed)

    city = [r for r in model.members if r.status == IN_CITY]
    city_employed = 0
    for r in city:
        q = r.place
        works = float(draws[r.household, r.slot, 0]) < lab.city_employment_rate
        r.employed = works
        city_employed += works
        earnings = float(model.labour.wage[q]) * float(places.skill_ratio[q][r.skill]) if works else 0.0
        sent = float(places.remittance_share[q]) * max(0.0, earnings - float(places.living_cost[q]))
        model.remittances_in[r.household] += sent * (1.0 - float(places.transfer_cost[q]))
        add(model, "remittance_fees", t, r.origin, amount=sent * float(places.transfer_cost[q]))
    for i in range(h.n):
        add(model, "remittances", t, int(h.origin[i]), amount=float(model.remittances_in[i]))

    rate = model.recorder["migrant_employment_rate"]
    rate[t, P_INTERNAL] = city_employed / len(city) if city else math.nan
    for k, pathway in ((0, P_REGULAR), (1, P_IRREGULAR)):
        employed = sum(employed_count[q][k] for q in range(places.n))
        migrants = sum(migrant_count[q][k] for q in range(places.n))
        rate[t, pathway] = employed / migrants if migrants else math.nan
    # expected employment: the share of a stay spent employed, from the month's hiring probability at each place
    for q in range(places.n):
        regular_hire, irregular_hire = hire[q], lab.irregular_hire_factor * hire[q]
        model.expected_employment[q][0] = regular_hire / (regular_hire + lab.job_separation_rate
                                                          + p.regular.return_rate) if regular_hire > 0 else 0.0
        model.expected_employment[q][1] = irregular_hire / (irregular_hire + lab.job_separation_rate
                                                            + p.irregular.return_rate + pol.deportation_rate) \
            if irregular_hire > 0 else 0.0

    reunited = set()
    for channel in model.channels:
        s = channel.settings
        if channel.kind != "family":
            continue
        book = QueueBook(channel.queue)   # kept every month, open or closed
        places = book.places(t % 12, s["quota_per_year"], s["quota_per_year"] / 12.0)
        if s["monthly_probability"] <= 0:
            book.decided(0)
            continue
        u = model.streams[f"channel.{channel.name}"].random(h.n)
        away = away_counts(model)
        wanting = [r for r in abroad
                   if r not in reunited and r.status == ABROAD_REGULAR and r.employed
                   and model.channels[r.channel].destination == channel.destination
                   and t - r.since >= s["min_months_abroad"] and wage[r] >= s["min_wage_usd"]
                   and away[r.household] == 1 and h.status[r.household] == AT_HOME
                   and u[r.household] < s["monthly_probability"]]
        joined = sorted(wanting, key=lambda r: (u[r.household], r.household))[:places]
        book.decided(len(joined))
        channel.granted = np.array(sorted(r.household for r in joined), dtype=np.int64)
        for r in joined:
            i = r.household
            set_status(model, i, FAMILY_ABROAD, t)
            r.status, r.since = FAMILY_ABROAD, t
            r.contract_end = NO_CONTRACT           # the family settles: the stay no longer has a set end
            for name in ("emigrants", "arrivals"):   # the members other than the migrant, where it lives
                add(model, name, t, r.origin, P_REGULAR, amount=int(h.size[i]) - 1.0, place=r.place)
            add(model, "reunifications", t, r.origin)
            reunited.add(r)
            log["reunifications"] += 1

    for r in abroad:
        if r in reunited:
            continue
        origin, x = r.origin, float(draws[r.household, r.slot, 1])
        if r.status == ABROAD_REGULAR:
            end = r.contract_end
            if end != NO_CONTRACT and end <= t:
                log["regular_contract_over"] += 1
            elif x < p.regular.return_rate:
                log["regular_voluntary_return"] += 1
            else:
                continue
            come_home(model, r, t, P_REGULAR)
        else:
            if x < pol.deportation_rate:
                add(model, "deportations", t, origin)
                log["deportations"] += 1
            elif x < pol.deportation_rate + p.irregular.return_rate:
                log["irregular_voluntary_return"] += 1
            else:
                continue
            come_home(model, r, t, P_IRREGULAR)
    staying = []
    for r in city:
        if float(draws[r.household, r.slot, 1]) < ab.internal_return_rate:
            come_home(model, r, t, P_INTERNAL)
            log["internal_returns"] += 1
        else:
            staying.append(r)
    move_on(model, t, staying, log)


def move_on(model, t: int, city: list, log: StepLog) -> None:
    """Onward moves: an employed member in a city since an earlier month moves on by the k-th onward route from its
    city (in the routes' order) if its uniform `u` from the stream "onward" (per household and slot) is in
    `[k r, (k + 1) r)`, `r` = `abroad.onward_rate`, and its household can pay the fare from savings and borrowable
    assets; for each route the first such member of a household (in slot order) is the one considered, and a household
    sends one member on a month. It pays, is in transit on the route, and is counted as an irregular departure to the
    route's destination."""
    onward = [r for r in model.routes if r.source]
    if not onward:
        return
    h, p = model.households, model.params
    u = model.streams["onward"].random((h.n, p.decisions.max_members_away, 1), dtype=np.float32)
    rate, seen = p.abroad.onward_rate, set()
    for source in dict.fromkeys(r.source for r in onward):
        q = model.places.index(source)
        for k, route in enumerate([r for r in onward if r.source == source]):
            considered = set()
            for r in sorted(city, key=lambda r: (r.household, r.slot)):
                x = float(u[r.household, r.slot, 0])
                if r.place != q or not r.employed or r.since >= t or not k * rate <= x < (k + 1) * rate:
                    continue
                if r.household in seen or r.household in considered:
                    continue
                considered.add(r.household)
                fare = route.settings["travel_cost_usd"]
                if float(h.wealth[r.household]) + p.decisions.credit_fraction * max(
                        0.0, float(h.assets[r.household]) - floor_of(model, r.origin)) < fare:
                    continue
                seen.add(r.household)
                pay(model, r.household, fare)
                r.status, r.place, r.route, r.since, r.employed = IN_TRANSIT, model.places.index(route.destination), \
                    route.index, t, False
                route.departures += 1
                add(model, "emigrants", t, r.origin, P_IRREGULAR, place=r.place)
                age_group = sum(1 for edge in AGE_EDGES if r.age >= edge)
                model.recorder["emigrants_by_group"][t, P_IRREGULAR, 0 if r.female else 1, age_group, r.skill] += 1
                model.recorder["emigrants_by_quintile"][t, P_IRREGULAR, int(model.quintile[r.household])] += 1
                log["onward"] += 1


# --- 8. budgets ---------------------------------------------------------------------------------------------------

def budgets(model, log: StepLog) -> None:
    """Income I (adults at origin x income per adult + remittances + cash); need z n (members at origin);
    consumption need + k (I - need) when I covers need, else min(need, I + W); W' = max(0, W + I - c); k is the
    aspiring share for a household trapped within the aspiration months."""
    h, b, t = model.households, model.params.budget, model.t
    consumption = np.zeros(h.n)
    away = away_counts(model)
    if model.params.decisions.network_loan_share > 0:
        for i in range(h.n):   # remittances repay the network first; nobody away and nothing pending: written off
            if h.debt[i] <= 0:
                continue
            if away[i] == 0 and h.status[i] != WAITING:
                h.debt[i] = 0.0
                log["loan_written_off"] += 1
                continue
            repaid = min(float(h.debt[i]), float(model.remittances_in[i]))
            model.remittances_in[i] -= repaid
            h.debt[i] = np.float32(float(h.debt[i]) - repaid)
            add(model, "network_debt", t, int(h.origin[i]), amount=float(h.debt[i]))   # still owed, end of month
            if h.debt[i] == 0:
                log["loan_repaid"] += 1
    for i in range(h.n):
        income = (adults_at_origin(model, i, away[i]) * float(model.income_per_adult[i])
                  + float(model.remittances_in[i]) + float(model.cash[i]))
        need = b.subsistence_usd * persons_at_origin(model, i, away[i])
        wealth = float(h.wealth[i])
        aspiring = h.aspiration[i] > 0 and t - int(h.aspired[i]) < model.params.decisions.aspiration_months
        share = b.aspiring_consumption_share if aspiring else b.consumption_share_of_surplus
        if income - need >= 0:
            consumption[i] = need + share * (income - need)
        else:
            consumption[i] = min(need, income + wealth)
        h.wealth[i] = max(0.0, wealth + income - consumption[i])
    model.consumption = consumption


# --- 9. recording -------------------------------------------------------------------------------------------------

def record(model, t: int) -> None:
    h, r, n_o = model.households, model.recorder, model.world.n_origins
    pathway_of = {IN_CITY: P_INTERNAL, ABROAD_REGULAR: P_REGULAR, ABROAD_IRREGULAR: P_IRREGULAR}
    for name in ("population", "families_abroad", "in_transit", "visa_queue"):
        r[name][t] = 0.0
    r["migrants_away"][t] = 0.0
    consumption = [0.0] * n_o
    wealth = [0.0] * n_o
    households_at_origin = [0] * n_o
    away = away_counts(model)
    model.persons_home = np.array([persons_at_origin(model, i, away[i]) for i in range(h.n)])   # DataCollector
    for i in range(h.n):
        origin, status = int(h.origin[i]), int(h.status[i])
        r["population"][t, origin] += persons_at_origin(model, i, away[i])
        if status == FAMILY_ABROAD:
            r["families_abroad"][t, origin] += int(h.size[i])
        else:
            wealth[origin] += float(h.wealth[i])
            households_at_origin[origin] += 1
            consumption[origin] += float(model.consumption[i])   # people abroad are not in the population
        r["visa_queue"][t, origin] += status == WAITING
        months = model.params.decisions.aspiration_months
        if status == AT_HOME and h.aspiration[i] > 0 and t - int(h.aspired[i]) < months:
            r["aspiring"][t, origin, int(h.aspiration[i]) - 1] += 1   # aims by pathway (1 internal .. 3 irregular)
    for member in model.members:
        if member.status in pathway_of:
            r["migrants_away"][t, member.origin, member.place, pathway_of[member.status]] += 1
        r["in_transit"][t, member.origin] += member.status == IN_TRANSIT
    # by the household's wealth quintile at the start: people at origin, their mean consumption per person and the
    # mean of its log (at least 1 USD a month), over the households not living abroad
    people, spent, logs = [0.0] * 5, [0.0] * 5, [0.0] * 5
    for i in range(h.n):
        n = persons_at_origin(model, i, away[i])
        if int(h.status[i]) == FAMILY_ABROAD or n <= 0:
            continue
        q = int(model.quintile[i])
        people[q] += n
        spent[q] += float(model.consumption[i])
        logs[q] += n * math.log(max(float(model.consumption[i]) / n, 1.0))
    for q in range(5):
        r["population_by_quintile"][t, q] = people[q]
        r["consumption_by_quintile"][t, q] = spent[q] / max(people[q], 1)
        r["log_consumption_by_quintile"][t, q] = logs[q] / max(people[q], 1)
    for origin in range(n_o):
        r["consumption_per_capita"][t, origin] = consumption[origin] / max(r["population"][t, origin], 1)
        r["wealth_mean"][t, origin] = wealth[origin] / max(households_at_origin[origin], 1)
    r["shock_loss"][t] = model.climate.region_loss
    r["labour_demand"][t] = model.labour.demand
    r["vacancies"][t] = model.labour.vacancies
    r["destination_wage"][t] = model.labour.wage
    for channel in model.channels:
        r["channel_applications"][t, channel.index] = channel.applications
        r["channel_granted"][t, channel.index] = len(channel.granted)
        r["channel_queue"][t, channel.index] = sum(1 for i in range(h.n) if h.status[i] == WAITING
                                                   and h.channel[i] == channel.index)
    for route in model.routes:
        for name in ("departures", "arrivals", "interceptions", "deaths", "expected_deaths"):
            r[f"route_{name}"][t, route.index] = getattr(route, name)
    for j, iv in enumerate(model.interventions):
        r["intervention_cost"][t, j] = iv.cost(model)


# --- the decision over an options table (several cities, destinations, channels and routes) ----------------------
#
# The decision rule for any table of options (simulator.model.decisions.Options: its data, not its rules), one
# household at a time, written from the docstring of simulator/model/decisions.py; `households_decide` above applies
# it to the version-1 world's three options. tests/test_decisions.py requires the compiled kernel to give the same
# incomes, choices and trapped flags, household by household; the naive Mesa model of
# benchmarks/naive_model.py decides with it.

class OptionRows:
    """An options table as plain Python lists (read once a month, then per household): the columns of
    `simulator.model.decisions.Options`, the options of each nest in option order (nest 0, staying, has none), and the
    uniform column of the lower-stage term of each option in a nest of several (after one column per nest)."""

    def __init__(self, options) -> None:
        for name in ("pathway", "nest", "nest_lambda", "wage", "wage_factor", "living_cost", "employment",
                     "wait_months", "death", "interception", "asc", "network", "min_skill", "open"):
            setattr(self, name, getattr(options, name).tolist())
        self.cost = options.cost.tolist()   # [origin][option]
        self.due = options.due.tolist()     # [origin][option]: what is paid, and must be affordable, on choosing
        self.skill_ratio = options.skill_ratio.tolist()   # [option][skill level]
        self.served = options.served.tolist()   # [origin][option]
        self.n = len(options.names)
        self.members: list[list[int]] = [[] for _ in self.nest_lambda]
        for k in range(self.n):
            self.members[self.nest[k]].append(k)
        column, self.lower = len(self.nest_lambda), {}
        for k in range(self.n):
            if len(self.members[self.nest[k]]) > 1:
                self.lower[k] = column
                column += 1


def origin_income(origin_wage, degradation, origin: int, skill_mult: float, farm: float, loss: float,
                  boost: float) -> float:
    """Monthly income of a working adult at origin: `max(0, w_o s_i (1 + b_i) (1 - farm_i deg_o - loss_i))`."""
    return max(0.0, float(origin_wage[origin]) * skill_mult * (1.0 + boost)
               * (1.0 - farm * float(degradation[origin]) - loss))


def option_utilities(rows: OptionRows, p, risk_perception: float, origin_wage, degradation, network, *,
                     origin: int, adults: int, skill: int, skill_mult: float, farm: float, loss: float, boost: float,
                     memory: float, patience: float, risk: float, persons: int = 0,
                     subsistence_usd: float = 0.0) -> tuple[float, float, list[float]]:
    """Income of an adult at origin, utility of staying and of each option (the equations of decisions.py), for a
    household of `persons` members at origin and a subsistence need of `subsistence_usd` a person."""
    y = origin_income(origin_wage, degradation, origin, skill_mult, farm, loss, boost)
    y_stay = adults * y
    rest = (adults - 1) * y
    yearly = 12.0 * max(y_stay, 1.0)
    need = p.subsistence_weight * subsistence_usd * persons                 # all at origin
    need_k = p.subsistence_weight * subsistence_usd * max(persons - 1, 0)   # once a member has left
    u_stay = p.beta_income * math.log(max(y_stay - need, 1.0)) - p.beta_shock * memory
    utility = []
    for k in range(rows.n):
        earned = max(0.0, rows.wage[k] * rows.skill_ratio[k][skill] * rows.wage_factor[k] - rows.living_cost[k])
        y_k = rest + rows.employment[k] * earned
        wait_years = min(rows.wait_months[k], MAX_WAIT_MONTHS) / 12.0
        utility.append(p.beta_income * math.log(max(y_k - need_k, 1.0))
                       - p.beta_cost * rows.cost[origin][k] / yearly
                       - p.beta_wait * wait_years / patience
                       - p.beta_risk * risk * risk_perception * rows.death[k]
                       - p.beta_interception * rows.interception[k]
                       + p.beta_network * float(network[origin][rows.network[k]])
                       + rows.asc[k])
    return y, u_stay, utility


def nested_logit_probabilities(rows: OptionRows, u_stay: float, utility: list[float],
                               allowed: list[bool]) -> list[float]:
    """Choice probabilities: staying first, then each option (0 where not allowed).

    Upper stage over staying and each nest with an allowed option, with weight `exp(U_stay)`, `exp(U_k)` for a
    nest of one option, `exp(IV_n)` with `IV_n = lambda_n ln sum_k exp(U_k / lambda_n)` otherwise; within a nest,
    `exp(U_k / lambda_n) / sum_m exp(U_m / lambda_n)`."""
    upper = [("stay", u_stay)]
    for n, ks in enumerate(rows.members):
        ks = [k for k in ks if allowed[k]]
        if ks:
            lam = rows.nest_lambda[n] if len(rows.members[n]) > 1 else 1.0
            upper.append((n, lam * math.log(sum(math.exp(utility[k] / lam) for k in ks))))
    top = max(v for _, v in upper)
    weight = {key: math.exp(v - top) for key, v in upper}
    total = sum(weight.values())
    probabilities = [weight["stay"] / total] + [0.0] * len(utility)
    for n, ks in enumerate(rows.members):
        ks = [k for k in ks if allowed[k]]
        if not ks:
            continue
        lam = rows.nest_lambda[n] if len(rows.members[n]) > 1 else 1.0
        within = [math.exp(utility[k] / lam) for k in ks]
        for k, w in zip(ks, within):
            probabilities[k + 1] = weight[n] / total * w / sum(within)
    return probabilities


def nested_logit_draw(rows: OptionRows, u_stay: float, utility: list[float], allowed: list[bool], uniforms,
                      log: StepLog | None = None) -> int:
    """The sampled choice (0 = stay, k + 1 = option k): upper stage `argmax(U_stay + e_0, V_n + e_n)` with
    `V_n = U_k` for a nest of one option and `IV_n` otherwise (nests with no allowed option take no part), then
    `argmax_k U_k / lambda_n + e_k` within the winning nest. Ties go to the earlier nest and option. With a `log`,
    the lead of each stage's winner over its runner-up is recorded (`StepLog.min_margin`)."""
    log = log if log is not None else StepLog()
    upper = [(None, u_stay + gumbel(uniforms[0]))]
    for n, ks in enumerate(rows.members):
        open_ks = [k for k in ks if allowed[k]]
        if not open_ks:
            continue
        if len(ks) == 1:
            value = utility[ks[0]] + gumbel(uniforms[n])
        else:
            lam = rows.nest_lambda[n]
            top = max(utility[k] / lam for k in open_ks)
            value = lam * (top + math.log(sum(math.exp(utility[k] / lam - top) for k in open_ks))) \
                + gumbel(uniforms[n])
        upper.append((n, value))
    best = pick(upper, log)
    if best is None:
        return 0
    ks = [k for k in rows.members[best] if allowed[k]]
    if len(rows.members[best]) == 1:
        return ks[0] + 1
    lam = rows.nest_lambda[best]
    return pick([(k, utility[k] / lam + gumbel(uniforms[rows.lower[k]])) for k in ks], log) + 1


def reference_decision(rows: OptionRows, p, risk_perception: float, origin_wage, degradation, network, *,
                       status: int, adults: int, origin: int, skill: int, skill_mult: float, farm: float,
                       loss: float, boost: float, memory: float, patience: float, risk: float, wealth: float,
                       assets: float, uniforms, log: StepLog | None = None,
                       floor: float | None = None, persons: int = 0,
                       subsistence_usd: float = 0.0) -> tuple[float, int, bool, int]:
    """(income of an adult at origin, choice, trapped, wanted) of one household: -1 if it does not decide (not at
    home, or no working-age adult); otherwise the draw among the eligible options (wanted) and, if that is a move,
    among the eligible options it can pay for (choice); trapped if it wanted to move and stays. `floor`: the assets it
    keeps (its district's credit floor; `credit_floor_usd` if None); `persons`: its members at origin, and
    `subsistence_usd` the need of each."""
    income, u_stay, utility = option_utilities(
        rows, p, risk_perception, origin_wage, degradation, network, origin=origin, adults=adults, skill=skill,
        skill_mult=skill_mult, farm=farm, loss=loss, boost=boost, memory=memory, patience=patience, risk=risk,
        persons=persons, subsistence_usd=subsistence_usd)
    if status != AT_HOME or adults < 1:
        return income, -1, False, -1
    eligible = [rows.open[k] and rows.served[origin][k] and skill >= rows.min_skill[k] for k in range(rows.n)]
    wanted = nested_logit_draw(rows, u_stay, utility, eligible, uniforms, log)
    if wanted == 0:
        return income, 0, False, 0
    floor = p.credit_floor_usd if floor is None else floor
    budget = wealth + p.credit_fraction * max(0.0, assets - floor)
    affordable = [eligible[k] and rows.due[origin][k] <= budget for k in range(rows.n)]
    choice = nested_logit_draw(rows, u_stay, utility, affordable, uniforms, log)
    return income, choice, choice == 0, wanted
