"""The household decision: stay, or take one of the month's options (a city, a regular channel, an irregular route).

Process 4 of the step; pure functions of arrays, no Mesa, no Hydra. The options are data: an `Options` table with
one row per option and the figures the utility needs, built each month by the model from the world and the policy in
force. Adding a city, a destination, a channel or a route adds rows; nothing here names a kind of channel.

Each household at home with a working-age adult compares the options by random utility (McFadden 1974; for
migration Grogger & Hanson 2011, Beine, Bertoli & Fernandez-Huertas Moraga 2016). With `y_i` the monthly income of
an adult at origin,

    y_i = max(0, w_o s_i (1 + b_i) (1 - farm_i deg_o - loss_i))

(origin wage `w_o`, the household's skill multiplier `s_i`, a local employment programme's gain `b_i`, the decline
`deg_o` of the farm part of income (slow-onset degradation plus the lean season: `Climate.farm_decline`), `loss_i`
the share of income lost to current shocks), and `a_i` the household's adults at origin, its expected monthly income
if it stays and under option k is

    Y_stay = a_i y_i
    Y_k    = (a_i - 1) y_i + e_k max(0, r_k(s) f_k w_k - c_k)

with the option's employment rate `e_k`, low-skill wage `w_k` (of the city or destination) and its ratio `r_k(s)` for
the household's skill level s (the place's wage of that skill over its low-skill wage), the wage factor `f_k` of the
status it gives (below 1 for irregular status) and living cost `c_k`. Income counts above a share `g` of the
subsistence need `z` (`budget.subsistence_usd`) of each of the household's `n_i` members at origin, one member fewer
once a migrant has left (the migrant's living cost is in `c_k`): a Stone-Geary utility (Stone 1954, Geary 1950), in
which a gain matters most to a household near subsistence; `g = decisions.subsistence_weight`, and `g = 0` gives the
log of income. Incomes enter as `ln max(Y - g z n, 1)`. The utilities are

    U_stay = b_y ln (Y_stay - g z n_i) - b_s m_i
    U_k    = b_y ln (Y_k - g z (n_i - 1)) - b_c C_ok / (12 Y_stay) - b_w W_k / (12 p_i) - b_r r_i q d_k - b_i h_k
             + b_n n_og(k) + asc_k

with `m_i` the remembered shock loss, `C_ok` the up-front cost of option k from origin o (so `C / 12 Y_stay` is in
years of household income), `W_k` the expected wait in months (capped at 1,200) and `p_i` the household's patience,
`d_k` the death and `h_k` the interception probability of the journey, `q` the perceived/true risk ratio and `r_i`
the household's risk aversion, `n_og` the share of the district's households with a member in the network `g(k)`
that the option draws on (the model's: the option's place, a city or a destination), and `asc_k` the option's
constant.

Choice is nested logit (McFadden 1978). Each option belongs to a declared nest with dissimilarity `lambda_n`; staying
is alone in nest 0. A nest of several options has the inclusive value `IV_n = lambda_n ln sum_k exp(U_k / lambda_n)`
over its open options, so that a better option draws households mainly from the others of its nest rather than in
proportion to every option's share, as the multinomial logit's independence of irrelevant alternatives would force
(the model puts all international options in one nest). The choice is sampled with Gumbel noise in two
stages: the upper stage picks the nest with the largest `IV_n + e_n` (for a nest of one option, `U_k + e_n`), the
lower stage the option of that nest with the largest `U_k / lambda_n + e_k`. With i.i.d. standard Gumbel noise this
samples the nested-logit probabilities exactly. Ties go to the earlier nest and the earlier option.

An option is open to a household when it is open this month, serves the household's origin (a route from one
district serves that district only) and the household's skill is at least the option's minimum (eligibility), and it
can pay what is due now (liquidity constraint: `D_ok <= W_i + kappa max(0, A_i - A_min)`, with `D_ok` the part of
`C_ok` due on choosing, all of it but for a channel that charges its fee on applying and the rest, which it must
then pay, when a place is granted; savings `W_i` and the share `kappa` (`credit_fraction`) of the assets `A_i` above
the floor `A_min` (the larger of `credit_floor_usd` and `credit_floor_share` of the district's median assets:
`credit_floor`) that a household keeps to live and cannot borrow against or sell: the poorest cannot borrow at all;
Banerjee & Newman 1993; what the district's members abroad lend for a move there is already taken off `D_ok`:
`MigrationModel.month_options`, `decisions.network_loan_share`). A household is *trapped* (involuntary immobility;
Carling 2002, Black et al. 2011) when the option it draws among the eligible ones, ignoring what it can afford, is a
move, while with the same noise under the liquidity constraint it stays: it wanted to move and could not pay.
(Closing an unaffordable option of a nest can also tip the upper stage to staying; such households are counted as
trapped too, since the closure made them stay.)

Random numbers: every household draws `Options.uniforms_per_household` float32 uniforms a month (common random
numbers: the count depends on the world's options, never on who decides). Column n feeds the Gumbel term of nest n;
then one column per option of each nest of several options, in option order, feeds its lower-stage term; the last
column is the model's tie-break in queues. The Gumbel draw is `-ln(-ln u)` with u clipped to [1e-12, 1 - 1e-7].

Screening (speed, not behaviour): most households stay in any month. Before computing every option's utility, the
kernel bounds each nest's value from above with one logarithm per nest (the nest's lowest cost, wait and death risk
and highest constant over its open options, and the household's highest income among them; plus
`lambda_n ln(options)` for a nest of several). A household whose staying value beats every bound with the same
Gumbel terms stays, exactly as the full computation would decide; the others are computed in full. The bounds
carry a margin far above rounding, so no choice depends on the screening (the tests require identical choices).

The naive per-household statement of this rule is `tests/reference.py`; the tests require the same choices.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from simulator.model.households import AT_HOME
from simulator.params import DecisionParams

STAY = 0                   # the choice code of staying; option k of the table has choice code k + 1
NO_DECISION = -1           # the choice code of a household that does not decide this month
MAX_WAIT_MONTHS = 1200.0   # expected waits are capped here (100 years: a closed pathway in all but name)
MAX_OPTIONS = 126          # options of a month: choice codes k + 1 fit in int8
NON_NEGATIVE = ("wage", "living_cost", "employment", "wait_months", "death", "interception")   # Options columns


@dataclass(frozen=True)
class Options:
    """The options of one month, one entry per option (staying is not a row: it is always open, choice code 0).

    Build it with `Options.build`, which checks every column and converts it to the kernel's types.
    """

    names: tuple[str, ...]   # for messages and outputs
    pathway: np.ndarray      # int8: index along the outputs' `pathway` dim (internal, regular, irregular)
    place: np.ndarray        # int64: the place the option leads to (the model's index of cities and destinations)
    nest: np.ndarray         # int64: the option's nest, 1 .. len(nest_lambda) - 1 (nest 0 is staying)
    nest_lambda: np.ndarray  # float64 per nest, in (0, 1]; entry 0 (staying) is 1
    wage: np.ndarray         # w_k, USD/month for the lowest skill
    skill_ratio: np.ndarray  # r_k(s), (n_options, 3): the option's wage of skill level s over its low-skill wage
    wage_factor: np.ndarray  # f_k, multiplier on the wage of the status the option gives
    living_cost: np.ndarray  # c_k, USD/month
    employment: np.ndarray   # e_k, expected employment rate
    cost: np.ndarray         # C_ok, (n_origins, n_options) USD paid up front
    due: np.ndarray          # (n_origins, n_options) USD of C_ok due on choosing (the rest when a place is granted):
                             # what the household must be able to pay this month
    wait_months: np.ndarray  # W_k, expected wait (may be inf; capped at MAX_WAIT_MONTHS)
    death: np.ndarray        # d_k, per journey
    interception: np.ndarray  # h_k, per journey
    asc: np.ndarray          # asc_k, utility
    network: np.ndarray      # int64: column g(k) of the network shares
    min_skill: np.ndarray    # int64: the lowest skill level eligible
    open: np.ndarray         # bool: open this month
    served: np.ndarray       # bool, (n_origins, n_options): the option is offered to households of the origin (a
                             # route from one district serves that district only)
    draw_column: np.ndarray  # int64: the uniform column of the option's lower-stage term (-1 in a nest of one)
    nest_members: np.ndarray  # int64: the options in nest order (option order within a nest)
    nest_start: np.ndarray   # int64: nest n's options are nest_members[nest_start[n]:nest_start[n + 1]]

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def uniforms_per_household(self) -> int:
        """Uniforms each household draws a month: one per nest, one per option in a nest of several, one
        tie-break."""
        return len(self.nest_lambda) + int(np.count_nonzero(self.draw_column >= 0)) + 1

    @classmethod
    def build(cls, names: Sequence[str], *, pathway, place, nest, nest_lambda, wage, skill_ratio, wage_factor,
              living_cost, employment, cost, wait_months, death, interception, asc, network, min_skill, open_,
              served=None, due=None) -> Options:
        """An options table from per-option sequences (and `skill_ratio` as (n_options, 3), `cost`, and `served`
        and `due` if given, as (n_origins, n_options); every option serves every origin when `served` is None, and
        its whole cost is due on choosing when `due` is None), checked."""
        k = len(names)
        if k == 0:
            raise ValueError("a month needs at least one option besides staying")
        if k > MAX_OPTIONS:
            raise ValueError(f"{k} options in a month: expected at most {MAX_OPTIONS} (choice codes are 8-bit)")
        columns = {"pathway": (pathway, np.int8), "place": (place, np.int64), "nest": (nest, np.int64),
                   "wage": (wage, np.float64), "wage_factor": (wage_factor, np.float64),
                   "living_cost": (living_cost, np.float64), "employment": (employment, np.float64),
                   "wait_months": (wait_months, np.float64), "death": (death, np.float64),
                   "interception": (interception, np.float64), "asc": (asc, np.float64),
                   "network": (network, np.int64), "min_skill": (min_skill, np.int64), "open": (open_, np.bool_)}
        out = {}
        for name, (values, dtype) in columns.items():
            a = np.ascontiguousarray(values, dtype=dtype)
            if a.shape != (k,):
                raise ValueError(f"options column {name!r} has shape {a.shape}: expected ({k},), one per option")
            out[name] = a
        ratio = np.ascontiguousarray(skill_ratio, dtype=np.float64)
        if ratio.shape != (k, 3) or not (np.isfinite(ratio) & (ratio >= 0)).all():
            raise ValueError(f"options skill_ratio has shape {ratio.shape}: expected ({k}, 3), one finite ratio >= 0 "
                             f"per option and skill level")
        cost = np.ascontiguousarray(cost, dtype=np.float64)
        if cost.ndim != 2 or cost.shape[1] != k:
            raise ValueError(f"options cost has shape {cost.shape}: expected (n_origins, {k})")
        lam = np.ascontiguousarray(nest_lambda, dtype=np.float64)
        if lam.ndim != 1 or len(lam) < 2 or lam[0] != 1.0 or not ((lam > 0) & (lam <= 1)).all():
            raise ValueError(f"nest_lambda = {lam.tolist()}: expected one value in (0, 1] per nest, with 1 for "
                             "nest 0 (staying)")
        nest_ = out["nest"]
        if not ((nest_ >= 1) & (nest_ < len(lam))).all():
            raise ValueError(f"option nests {nest_.tolist()}: expected nests 1 to {len(lam) - 1} (nest 0 is staying)")
        checked = np.concatenate([*(out[name] for name in NON_NEGATIVE), cost.ravel()])   # one test for all
        if (np.isnan(checked) | (checked < 0)).any():
            for name in NON_NEGATIVE:
                if (np.isnan(out[name]) | (out[name] < 0)).any():
                    raise ValueError(f"options column {name!r} = {out[name].tolist()}: expected numbers >= 0")
            raise ValueError("options cost: expected numbers >= 0")
        due = cost if due is None else np.ascontiguousarray(due, dtype=np.float64)
        if due.shape != cost.shape or (np.isnan(due) | (due < 0) | (due > cost)).any():
            raise ValueError(f"options due has shape {due.shape}: expected {cost.shape}, as cost, with "
                             f"0 <= due <= cost")
        served = np.ones(cost.shape, np.bool_) if served is None else np.ascontiguousarray(served, dtype=np.bool_)
        if served.shape != cost.shape:
            raise ValueError(f"options served has shape {served.shape}: expected {cost.shape}, as cost")
        draw, members, start = (a.copy() for a in _nest_structure(nest_.tobytes(), len(lam)))
        return cls(names=tuple(names), nest_lambda=lam, skill_ratio=ratio, cost=cost, due=due, served=served,
                   draw_column=draw, nest_members=members, nest_start=start, **out)


@functools.lru_cache(maxsize=64)
def _nest_structure(nest: bytes, n_nests: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the options' nests (int64 bytes) among `n_nests`: each option's lower-stage uniform column (-1 in a nest of
    one), the options in nest order and where each nest starts (`Options.draw_column`, `nest_members`,
    `nest_start`); the same every month of a run, so kept."""
    nest_ = np.frombuffer(nest, np.int64)
    size = np.bincount(nest_, minlength=n_nests)
    draw = np.full(len(nest_), -1, np.int64)
    multi = np.flatnonzero(size[nest_] > 1)
    draw[multi] = n_nests + np.arange(len(multi))
    members = np.argsort(nest_, kind="stable").astype(np.int64)
    start = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
    return draw, members, start


# --- the month's decision as one compiled pass per household ------------------------------------------------------
#
# `decide_households` is what the model runs. It states the equations above for one household at a time, so that a
# million households decide in one pass over their columns: income at origin, the utility of staying and of each
# option (into a scratch row), the Gumbel terms, the nested-logit choice among the eligible options and, for those
# who would move (about 1%), among the eligible and affordable ones. The option and nest loops run over the table,
# so that one compiled kernel serves every world.

@numba.njit(cache=True)
def _gumbel32(u: np.float32) -> np.float32:
    """A standard Gumbel draw from one float32 uniform, in float32 arithmetic: `-ln(-ln u)`, u clipped."""
    u = min(max(u, np.float32(1e-12)), np.float32(1.0 - 1e-7))
    return np.float32(-math.log(np.float32(-math.log(u))))


BOUND_MARGIN = 1e-9   # relative margin of the screening bounds: far above the rounding of the utilities (~1e-15)


CHUNK = 1024   # households per chunk of the compiled pass (the unit shared among threads; one scratch per chunk)


def _decide_rows(status, adults, persons, origin, skill, farm, loss, boost, memory, patience, risk, wealth, assets,
                 skill_mult, uniforms, origin_wage, degradation, credit_floor, network, wage, skill_ratio, wage_factor,
                 living_cost, employment, cost, due, wait_years, death, interception, asc, network_column, min_skill,
                 open_, served, nest_members, nest_start, lam, draw_column, nest_open, nest_cost, nest_wait, nest_death,
                 nest_constant, nest_spread, nest_earning, scalars, income, choice, trapped, wanted):
    """Every household's income at origin, choice, trapped flag and wanted choice (among the eligible options,
    whether it can pay or not), written into `income`, `choice`, `trapped`, `wanted`.
    Households go in chunks of `CHUNK`; each chunk has one scratch row for the utilities, open flags and upper-stage
    Gumbel terms of the household in hand. Compiled twice below: on one thread, and with the chunks shared among numba's
    threads (each writes only its own rows, so the results are the same for any number of threads)."""
    (beta_income, beta_cost, beta_risk, beta_interception, beta_wait, beta_network, beta_shock, credit,
     perception, need_per_person) = scalars
    n_options = len(wage)
    n_nests = len(nest_start) - 1
    n = status.shape[0]
    for chunk in numba.prange((n + CHUNK - 1) // CHUNK):
        utility = np.empty(n_options)            # scratch of the household in hand
        allowed = np.empty(n_options, np.bool_)
        upper_noise = np.empty(n_nests)
        first = chunk * CHUNK
        for i in range(first, min(n, first + CHUNK)):
            o = origin[i]
            sm = skill_mult[i]
            y = max(0.0, origin_wage[o] * sm * (1.0 + np.float64(boost[i]))
                    * (1.0 - farm[i] * degradation[o] - loss[i]))
            income[i] = y
            trapped[i] = False
            if status[i] != AT_HOME or adults[i] < 1:   # only households at home with a working-age adult decide
                choice[i] = NO_DECISION
                wanted[i] = NO_DECISION
                continue
            a = np.float64(adults[i])
            s = skill[i]
            y_stay = a * y
            rest = (a - 1.0) * y
            per_year = 12.0 * max(y_stay, 1.0)
            need = need_per_person * np.float64(persons[i])      # the need weighed against income if all stay
            need_k = need_per_person * np.float64(max(persons[i] - 1, 0))   # and once a member has left
            u0 = beta_income * math.log(max(y_stay - need, 1.0)) - beta_shock * np.float64(memory[i])
            # Screening, which most households pass: an upper bound on each nest's value from the nest's bounds of
            # this month (the lowest cost from this origin, the lowest wait and death risk, the highest constant
            # terms and the highest earnings at the household's skill level, over its open options), one logarithm
            # per nest whatever its number of options; for a nest of several, plus lambda ln(options). If staying
            # beats every bound with the same Gumbel terms, the household stays, as the exact choice would (the
            # bounds exceed the exact values by a margin far above their rounding). A nest whose bound does not
            # settle it is valued exactly (its options only); the utilities of every option are computed only if
            # some nest's value beats staying.
            stay_value = u0 + _gumbel32(uniforms[i, 0])
            may_move = False
            for m in range(1, n_nests):
                if not nest_open[m]:
                    continue
                income_term = beta_income * math.log(max(rest + nest_earning[m, s] - need_k, 1.0))
                cost_term = beta_cost * (nest_cost[o, m] / per_year)
                wait_term = beta_wait * nest_wait[m] / np.float64(patience[i])
                risk_term = beta_risk * np.float64(risk[i]) * perception * nest_death[m]
                bound = income_term - cost_term - wait_term - risk_term + nest_constant[o, m]
                bound += BOUND_MARGIN * (1.0 + abs(income_term) + cost_term + wait_term + risk_term
                                         + abs(nest_constant[o, m])) + nest_spread[m]
                noise = _gumbel32(uniforms[i, m])
                if bound + noise < stay_value:
                    continue
                # The bound does not settle it: the nest's exact value, computed as the choice below computes it
                # (its options' utilities, then its inclusive value among the eligible ones). If that does not beat
                # staying either, the nest cannot be chosen (the choice takes a nest only if its value beats the
                # best before it, staying's at least).
                first_member, end_member = nest_start[m], nest_start[m + 1]
                for j in range(first_member, end_member):
                    k = nest_members[j]
                    y_k = rest + employment[k] * max(0.0, wage[k] * skill_ratio[k, s] * wage_factor[k]
                                                     - living_cost[k])
                    v = beta_income * math.log(max(y_k - need_k, 1.0)) - beta_cost * (cost[o, k] / per_year)
                    if wait_years[k] != 0.0:
                        v -= beta_wait * wait_years[k] / np.float64(patience[i])
                    if death[k] != 0.0:
                        v -= beta_risk * np.float64(risk[i]) * perception * death[k]
                    if interception[k] != 0.0:
                        v -= beta_interception * interception[k]
                    utility[k] = v + beta_network * network[o, network_column[k]] + asc[k]
                    allowed[k] = open_[k] and served[o, k] and s >= min_skill[k]
                value = -np.inf
                if end_member - first_member == 1:
                    k = nest_members[first_member]
                    if allowed[k]:
                        value = utility[k]
                else:
                    top = -np.inf
                    for j in range(first_member, end_member):
                        k = nest_members[j]
                        if allowed[k]:
                            top = max(top, utility[k] / lam[m])
                    if top != -np.inf:
                        total = 0.0
                        for j in range(first_member, end_member):
                            k = nest_members[j]
                            scaled = utility[k] / lam[m] if allowed[k] else -np.inf
                            total += math.exp(scaled - top)
                        value = lam[m] * (top + math.log(total))
                if value + noise < stay_value:
                    continue
                may_move = True
                break
            if not may_move:
                choice[i] = STAY
                wanted[i] = STAY
                continue
            for k in range(n_options):
                y_k = rest + employment[k] * max(0.0, wage[k] * skill_ratio[k, s] * wage_factor[k] - living_cost[k])
                v = beta_income * math.log(max(y_k - need_k, 1.0)) - beta_cost * (cost[o, k] / per_year)
                # terms that are zero for the option are skipped: subtracting 0.0 would change nothing
                if wait_years[k] != 0.0:
                    v -= beta_wait * wait_years[k] / np.float64(patience[i])
                if death[k] != 0.0:
                    v -= beta_risk * np.float64(risk[i]) * perception * death[k]
                if interception[k] != 0.0:
                    v -= beta_interception * interception[k]
                utility[k] = v + beta_network * network[o, network_column[k]] + asc[k]
                allowed[k] = open_[k] and served[o, k] and s >= min_skill[k]
            for m in range(n_nests):
                upper_noise[m] = _gumbel32(uniforms[i, m])
            # The nested-logit choice, twice with the same noise: among the eligible options (what the household
            # wants) and, if that is a move, among those it can also pay for. Written inline, not as a function:
            # passing the scratch arrays to a function costs atomic reference counts per household.
            for attempt in range(2):
                if attempt == 1:
                    budget = wealth[i] + credit * max(0.0, np.float64(assets[i]) - credit_floor[o])
                    for k in range(n_options):
                        allowed[k] = allowed[k] and due[o, k] <= budget
                best_nest = 0
                best_option = -1
                v = u0 + upper_noise[0]
                for m in range(1, n_nests):   # upper stage: staying, then each nest in order
                    first_member, end_member = nest_start[m], nest_start[m + 1]
                    if end_member - first_member == 1:   # a nest of one option: its utility, whatever lambda
                        k = nest_members[first_member]
                        if allowed[k] and utility[k] + upper_noise[m] > v:
                            best_nest, best_option, v = m, k, utility[k] + upper_noise[m]
                        continue
                    top = -np.inf
                    for j in range(first_member, end_member):
                        k = nest_members[j]
                        if allowed[k]:
                            top = max(top, utility[k] / lam[m])
                    if top == -np.inf:   # no open option in the nest
                        continue
                    total = 0.0
                    for j in range(first_member, end_member):
                        k = nest_members[j]
                        scaled = utility[k] / lam[m] if allowed[k] else -np.inf
                        total += math.exp(scaled - top)
                    iv = lam[m] * (top + math.log(total))   # the nest's inclusive value
                    if iv + upper_noise[m] > v:
                        best_nest, best_option, v = m, -1, iv + upper_noise[m]
                if best_nest != 0 and best_option < 0:   # lower stage within the winning nest
                    w = -np.inf
                    for j in range(nest_start[best_nest], nest_start[best_nest + 1]):
                        k = nest_members[j]
                        if allowed[k]:
                            x = utility[k] / lam[best_nest] + _gumbel32(uniforms[i, draw_column[k]])
                            if x > w:
                                best_option, w = k, x
                c = STAY if best_nest == 0 else best_option + 1
                if attempt == 0:
                    wanted[i] = c
                if attempt == 0 and c == STAY:   # stays with every eligible option open: stays when some close
                    break
                choice[i] = c
                trapped[i] = attempt == 1 and c == STAY
            else:
                continue
            choice[i] = STAY


_decide_kernel = numba.njit(cache=True)(_decide_rows)   # prange runs as range: no threading layer is started
# Compiled on first use in each process (not cached: numba's cache would not tell it from the one-thread version)
_decide_kernel_threads = numba.njit(parallel=True)(_decide_rows)


def decide_households(status: np.ndarray, adults: np.ndarray, persons: np.ndarray, origin: np.ndarray,
                      skill: np.ndarray,
                      farm_dependence: np.ndarray, loss: np.ndarray, income_boost: np.ndarray,
                      shock_memory: np.ndarray, patience: np.ndarray, risk_aversion: np.ndarray,
                      wealth: np.ndarray, assets: np.ndarray, skill_mult: np.ndarray, uniforms: np.ndarray,
                      origin_wage: np.ndarray, degradation: np.ndarray, network: np.ndarray, options: Options,
                      p: DecisionParams, risk_perception: float, income_per_adult: np.ndarray,
                      subsistence_usd: float = 0.0, threads: int = 1, wanted: np.ndarray | None = None,
                      credit_floor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every household's decision this month, in one compiled pass (the equations of the module docstring).

    Per-household arrays are the household columns (`simulator.model.households.Households`), the model's `loss` and
    the skill wage multipliers; `persons` the members at origin, each with the subsistence need `subsistence_usd`;
    `adults` are the adults at origin who may leave (0 for a household that may not send another member: the model
    passes 0 once `decisions.max_members_away` are away); `uniforms` holds these households' float32 draws of the
    month, `options.uniforms_per_household` columns. `origin_wage` and
    `degradation` are per origin; `network` is (n_origins, networks): the members of each district's households in
    each network, per household.

    Writes the monthly income of an adult at origin of every household into `income_per_adult`. Returns `choice`
    (int8: 0 to stay, k + 1 for option k of `options`, -1 for a household that does not decide: not at home, or
    without a working-age adult) and `trapped` (bool). Writes into `wanted` (int8, if given) the choice each household
    draws among the eligible options whether it can pay or not: its choice, except for a trapped household, whose
    wanted choice is the move it could not pay for. With `threads` above 1 the households are shared among that many
    of numba's threads; the results are the same.
    """
    n = len(status)
    width = options.uniforms_per_household
    if persons.shape != (n,):
        raise ValueError(f"persons must have shape ({n},), one per household: got {persons.shape}")
    if uniforms.shape != (n, width) or uniforms.dtype != np.float32 or income_per_adult.shape != (n,):
        raise ValueError(f"uniforms must be float32 of shape (n, {width}) and income_per_adult of shape (n,), "
                         f"n = {n}: got {uniforms.dtype} {uniforms.shape} and {income_per_adult.shape}")
    network = np.ascontiguousarray(network, np.float64)
    if network.ndim != 2 or network.shape[0] != len(origin_wage) or (
            options.n and network.shape[1] <= options.network.max()):
        raise ValueError(f"network shares have shape {network.shape}: expected (n_origins = {len(origin_wage)}, "
                         f"at least {options.network.max() + 1})")
    if options.cost.shape[0] != len(origin_wage):
        raise ValueError(f"options cost has {options.cost.shape[0]} rows: expected one per origin "
                         f"({len(origin_wage)})")
    scalars = tuple(map(float, (p.beta_income, p.beta_cost, p.beta_risk, p.beta_interception, p.beta_wait,
                                p.beta_network, p.beta_shock, p.credit_fraction, risk_perception,
                                p.subsistence_weight * subsistence_usd)))
    if credit_floor is None:
        credit_floor = np.full(len(origin_wage), float(p.credit_floor_usd))
    credit_floor = np.ascontiguousarray(credit_floor, np.float64)
    if credit_floor.shape != (len(origin_wage),):
        raise ValueError(f"credit_floor has shape {credit_floor.shape}: expected one per origin ({len(origin_wage)},)")
    wait_years = np.minimum(options.wait_months, MAX_WAIT_MONTHS) / 12.0
    screen = _nest_bounds(options, network, p)
    choice = np.empty(n, np.int8)
    trapped = np.empty(n, np.bool_)
    if wanted is None:
        wanted = np.empty(n, np.int8)
    elif wanted.shape != (n,) or wanted.dtype != np.int8:
        raise ValueError(f"wanted must be int8 of shape ({n},): got {wanted.dtype} {wanted.shape}")
    kernel = _decide_kernel
    if threads > 1:
        numba.set_num_threads(threads)
        kernel = _decide_kernel_threads
    kernel(status, adults, persons, origin, skill, farm_dependence, loss, income_boost, shock_memory, patience,
           risk_aversion, wealth, assets, skill_mult, uniforms, origin_wage, degradation, credit_floor, network,
           options.wage, options.skill_ratio, options.wage_factor,
           options.living_cost, options.employment, options.cost, options.due, wait_years, options.death,
           options.interception,
           options.asc, options.network, options.min_skill, options.open, options.served, options.nest_members,
           options.nest_start, options.nest_lambda, options.draw_column, *screen, scalars, income_per_adult, choice,
           trapped, wanted)
    return choice, trapped


def means_to_move(wealth: np.ndarray, assets: np.ndarray, p: DecisionParams,
                  floor: np.ndarray | float | None = None) -> np.ndarray:
    """What households can spend on a move: savings plus the borrowable share of their assets above the floor they
    keep, `W + kappa max(0, A - A_min)` (the liquidity constraint of the module docstring); `floor` is each household's
    `A_min` (`credit_floor`: its district's), `credit_floor_usd` if None."""
    floor = p.credit_floor_usd if floor is None else floor
    return wealth + p.credit_fraction * np.maximum(0.0, assets - floor)


def credit_floor(p: DecisionParams, assets_median: np.ndarray) -> np.ndarray:
    """Per district, the assets a household keeps and cannot borrow against or sell: `A_min = max(credit_floor_usd,
    credit_floor_share * the district's median assets)`."""
    return np.maximum(p.credit_floor_usd, p.credit_floor_share * np.asarray(assets_median, np.float64))


def _nest_bounds(options: Options, network: np.ndarray, p: DecisionParams) -> tuple[np.ndarray, ...]:
    """This month's screening bounds of each nest over its open options, whichever origins they serve (a bound over
    more options is still a bound) (see `_decide_rows`): whether it has an
    open option; the lowest cost from each origin; the lowest wait (years) and death risk; from each origin, the
    highest `b_n n_og(k) + asc_k - b_i h_k`; `lambda ln(options)` plus a margin for a nest of several
    (its inclusive value is at most its best utility plus that); and for each skill level the highest expected
    earnings `e_k max(0, w_k s_ks f_k - c_k)`."""
    n_nests, n_origins = len(options.nest_lambda), options.cost.shape[0]
    nest_open = np.zeros(n_nests, np.bool_)
    nest_cost = np.zeros((n_origins, n_nests))
    nest_wait, nest_death, nest_spread = np.zeros(n_nests), np.zeros(n_nests), np.zeros(n_nests)
    nest_constant = np.zeros((n_origins, n_nests))
    nest_earning = np.zeros((n_nests, options.skill_ratio.shape[1]))
    earning = options.employment[:, None] * np.maximum(0.0, options.wage[:, None] * options.skill_ratio
                                                       * options.wage_factor[:, None] - options.living_cost[:, None])
    constant = (p.beta_network * network[:, options.network] + options.asc
                - p.beta_interception * options.interception)   # (n_origins, n_options)
    nest_start = options.nest_start
    for m in range(1, n_nests):
        members = options.nest_members[nest_start[m]:nest_start[m + 1]]
        members = members[options.open[members]]
        if len(members) == 0:
            continue
        nest_open[m] = True
        nest_cost[:, m] = options.cost[:, members].min(axis=1)
        nest_wait[m] = np.minimum(options.wait_months[members], MAX_WAIT_MONTHS).min() / 12.0
        nest_death[m] = options.death[members].min()
        nest_constant[:, m] = constant[:, members].max(axis=1)
        nest_earning[m] = np.maximum(0.0, earning[members].max(axis=0))
        size = nest_start[m + 1] - nest_start[m]
        if size > 1:
            nest_spread[m] = options.nest_lambda[m] * np.log(size) * (1.0 + BOUND_MARGIN) + BOUND_MARGIN
    return nest_open, nest_cost, nest_wait, nest_death, nest_constant, nest_spread, nest_earning
