"""The household decision: stay, move to the city, apply for a regular visa, or leave irregularly.

Process 4 of the step; pure functions of arrays, no Mesa, no Hydra. Each household at home with a working-age adult
compares four options by random utility (McFadden 1974; for migration Grogger & Hanson 2011, Beine, Bertoli &
Fernandez-Huertas Moraga 2016). With `y_i` the monthly income of an adult at origin and `a_i` the household's adults,
the household's expected monthly income under each option is

    Y_stay = a_i y_i
    Y_j    = (a_i - 1) y_i + e_j max(0, s_i f_j w_j - c_j)    for a move j

with employment rate `e_j`, wage `w_j` (city or destination), the household's skill multiplier `s_i`, the irregular
wage factor `f_j` (1 for the city and a regular visa), and living cost `c_j`. Incomes enter as `ln max(Y, 1)`.

and the utilities are

    U_stay      = b_y ln Y_stay - b_s m_i
    U_internal  = b_y ln Y_int - b_c C_int / (12 Y_stay) + b_n n_city + asc_int
    U_regular   = b_y ln Y_reg - b_c C_reg / (12 Y_stay) - b_w W / (12 p_i) + b_n n_abroad + asc_reg
    U_irregular = b_y ln Y_irr - b_c C_irr / (12 Y_stay) - b_r r_i q d - b_i h + b_n n_abroad + asc_irr

with `m_i` the remembered shock loss, `C_j` the up-front cost (so `C_j / 12 Y_stay` is years of household income),
`W` the expected visa wait in months (capped at 1,200) and `p_i` the household's patience, `n` the share of the district's households
with a member already in the city or abroad (network), `d` the death and `h` the interception probability of an
irregular journey, `q` the perceived/true risk ratio and `r_i` the household's risk aversion.

Choice is nested logit (McFadden 1978): the two international options share a nest with dissimilarity `lambda`
(`nest_lambda`; 1 gives the multinomial logit), so that a better regular pathway draws households mainly from the
irregular route rather than in proportion to every option's share, as the multinomial logit's independence of
irrelevant alternatives would force. It is sampled with Gumbel noise (`choose`), over the options that are open:
eligible (a regular visa needs skill) and affordable (liquidity constraint: `C_j <= wealth + credit * assets`). A
household is *trapped* (involuntary immobility; Carling 2002, Black et al. 2011) when the option it draws among the
eligible ones, ignoring what it can afford, is a move, while with the same noise under the liquidity constraint it
stays: it wanted to move and could not pay. (Under the nested logit, closing an unaffordable option of the nest can
also tip the upper stage to staying; such households are counted as trapped too, since the closure made them stay.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from simulator.households import AT_HOME
from simulator.params import DecisionParams

STAY, INTERNAL, REGULAR, IRREGULAR = range(4)
OPTIONS = ("stay", "internal", "regular", "irregular")
MAX_WAIT_MONTHS = 1200.0   # expected waits are capped here (100 years: a closed pathway in all but name)


@dataclass
class OptionTerms:
    """The option-level quantities of the utilities, one array (per household) or scalar per term.

    Arrays have one entry per deciding household; `cost` is (n, 4) in USD (0 for staying).
    """

    income_stay: np.ndarray     # Y_stay, USD/month
    income_move: np.ndarray     # (n, 3): Y_internal, Y_regular, Y_irregular, USD/month
    cost: np.ndarray            # (n, 4), USD paid up front
    shock_memory: np.ndarray    # m_i, share of income
    network_city: np.ndarray    # share of district households with a member in the city
    network_abroad: np.ndarray  # share of district households with a member abroad
    wait_months: float          # expected regular visa wait W, months
    patience: np.ndarray        # p_i, multiplier (mean ~1)
    risk_aversion: np.ndarray   # r_i, multiplier (mean ~1)
    death_probability: float    # d, per journey
    interception_probability: float  # h, per journey
    risk_perception: float      # q, perceived / true


def utilities(t: OptionTerms, p: DecisionParams) -> np.ndarray:
    """Systematic utilities (n, 4) of stay, internal, regular, irregular (equations in the module docstring)."""
    ln_stay = np.log(np.maximum(t.income_stay, 1.0))
    ln_move = np.log(np.maximum(t.income_move, 1.0))
    years_of_income = t.cost / (12.0 * np.maximum(t.income_stay, 1.0))[:, None]
    wait_years = min(t.wait_months, MAX_WAIT_MONTHS) / 12.0
    memory, patience, risk = (np.asarray(x, np.float64) for x in (t.shock_memory, t.patience, t.risk_aversion))
    u = np.empty((len(t.income_stay), 4))
    u[:, STAY] = p.beta_income * ln_stay - p.beta_shock * memory
    u[:, INTERNAL] = (p.beta_income * ln_move[:, 0] - p.beta_cost * years_of_income[:, INTERNAL]
                      + p.beta_network * t.network_city + p.asc_internal)
    u[:, REGULAR] = (p.beta_income * ln_move[:, 1] - p.beta_cost * years_of_income[:, REGULAR]
                     - p.beta_wait * wait_years / patience + p.beta_network * t.network_abroad + p.asc_regular)
    u[:, IRREGULAR] = (p.beta_income * ln_move[:, 2] - p.beta_cost * years_of_income[:, IRREGULAR]
                       - p.beta_risk * risk * t.risk_perception * t.death_probability
                       - p.beta_interception * t.interception_probability
                       + p.beta_network * t.network_abroad + p.asc_irregular)
    return u


NEST = [REGULAR, IRREGULAR]   # the international options share a nest


def _nest_terms(u: np.ndarray, open_: np.ndarray, nest_lambda: float) -> tuple[np.ndarray, np.ndarray]:
    """Scaled utilities `U_k / lambda` of the international options (-inf if closed) and the nest's inclusive value
    `IV = lambda ln sum_k exp(U_k / lambda)` (-inf if both are closed)."""
    scaled = np.where(open_[:, NEST], u[:, NEST] / nest_lambda, -np.inf)
    top = np.max(scaled, axis=1)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        iv = nest_lambda * (safe + np.log(np.exp(scaled - safe[:, None]).sum(axis=1)))
    return scaled, np.where(np.isfinite(top), iv, -np.inf)


def choice_probabilities(u: np.ndarray, open_: np.ndarray, nest_lambda: float = 1.0) -> np.ndarray:
    """Nested-logit probabilities over the open options; closed options get probability exactly 0.

    The upper level chooses among staying, the city and the international nest with utilities `U_stay`, `U_int`
    and the inclusive value `IV`; within the nest, `P(k | nest) = exp(U_k / lambda) / sum_m exp(U_m / lambda)`.
    With `nest_lambda = 1` this is the multinomial logit `P_ij = exp(U_ij) / sum_k exp(U_ik)`. Staying must be open.

    Example:
        >>> u = np.array([[0.0, 1.0, 1.0, 1.0]]); o = np.array([[True, True, False, True]])
        >>> choice_probabilities(u, o).round(3).tolist()
        [[0.155, 0.422, 0.0, 0.422]]
    """
    if not open_[:, STAY].all():
        raise ValueError("staying must be open to every household")
    if not 0 < nest_lambda <= 1:
        raise ValueError(f"nest_lambda = {nest_lambda} is not allowed: expected a number in (0, 1]")
    scaled, iv = _nest_terms(u, open_, nest_lambda)
    upper = np.column_stack([u[:, STAY], np.where(open_[:, INTERNAL], u[:, INTERNAL], -np.inf), iv])
    upper = np.exp(upper - upper.max(axis=1, keepdims=True))
    upper /= upper.sum(axis=1, keepdims=True)
    within = np.exp(scaled - np.where(np.isfinite(iv), iv / nest_lambda, 0.0)[:, None])
    p = np.zeros_like(u, dtype=float)
    p[:, STAY], p[:, INTERNAL] = upper[:, 0], upper[:, 1]
    p[:, NEST] = upper[:, 2:3] * within
    return p


def gumbel(uniform: np.ndarray) -> np.ndarray:
    """Standard Gumbel draws from uniforms in [0, 1): `-ln(-ln u)` (u clipped away from 0 and 1)."""
    u = np.clip(uniform, 1e-12, 1.0 - 1e-7)
    return -np.log(-np.log(u))


def choose(u: np.ndarray, open_: np.ndarray, noise: np.ndarray, nest_lambda: float = 1.0) -> np.ndarray:
    """The chosen option of each household, sampled in two stages with five Gumbel draws per household (n, 5).

    Upper stage: `argmax(U_stay + e0, U_int + e1, IV + e2)` over open alternatives; if the nest wins, lower stage:
    `argmax_k (U_k / lambda + e_k)` over the open international options (e3, e4). With i.i.d. standard Gumbel
    noise this samples `choice_probabilities(u, open_, nest_lambda)` exactly (McFadden 1978).
    """
    scaled, iv = _nest_terms(u, open_, nest_lambda)
    upper = np.column_stack([u[:, STAY] + noise[:, 0],
                             np.where(open_[:, INTERNAL], u[:, INTERNAL] + noise[:, 1], -np.inf),
                             iv + noise[:, 2]])
    top = np.argmax(upper, axis=1)
    lower = np.argmax(scaled + noise[:, 3:5], axis=1)
    return np.where(top == 0, STAY, np.where(top == 1, INTERNAL, np.where(lower == 0, REGULAR, IRREGULAR)))


def decide(u: np.ndarray, eligible: np.ndarray, affordable: np.ndarray, noise: np.ndarray,
           nest_lambda: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Choices under the liquidity constraint, and who is trapped by it.

    Returns:
        choice: the option sampled among those eligible and affordable.
        trapped: True where the option sampled among the eligible ones (same noise) is a move, yet the household
            stays.
    """
    wanted = choose(u, eligible, noise, nest_lambda)
    # A household that stays with every eligible option open stays when some close too (closing options only lowers
    # the internal and nest terms of the upper stage), so the constrained choice is drawn only for the others.
    choice = np.full(len(wanted), STAY)
    movers = np.flatnonzero(wanted != STAY)
    choice[movers] = choose(u[movers], (eligible & affordable)[movers], noise[movers], nest_lambda)
    return choice, (wanted != STAY) & (choice == STAY)


# --- the month's decision as one compiled pass per household ------------------------------------------------------
#
# `decide_households` is what the model runs (process 4). It states the equations above once more, for one household
# at a time, so that a million households decide in one pass over their columns with no temporary arrays: income at
# origin (labour.origin_income_per_adult), incomes and costs of the options, `utilities`, the Gumbel terms of
# `gumbel`, the nested-logit choice of `choose` among the eligible options and, for those who would move, among the
# eligible and affordable ones, as in `decide`. tests/test_decisions.py checks that both statements give the same
# incomes, choices and trapped households.

@numba.njit(cache=True)
def _gumbel32(u: np.float32) -> np.float32:
    """`gumbel` for one float32 uniform, in float32 arithmetic as the array version."""
    u = min(max(u, np.float32(1e-12)), np.float32(1.0 - 1e-7))
    return np.float32(-math.log(np.float32(-math.log(u))))


@numba.njit(cache=True)
def _nested_choice(u0: float, u1: float, u2: float, u3: float, open1: bool, open2: bool, open3: bool,
                   e0: float, e1: float, e2: float, e3_u: np.float32, e4_u: np.float32, lam: float) -> int:
    """`choose` for one household: upper stage over stay, internal and the nest's inclusive value, then the lower
    stage within the nest (its Gumbel terms are transformed from the uniforms `e3_u`, `e4_u` only if it is reached).
    Ties go to the first option, as numpy's argmax."""
    s2 = u2 / lam if open2 else -np.inf
    s3 = u3 / lam if open3 else -np.inf
    top = max(s2, s3)
    iv = lam * (top + math.log(math.exp(s2 - top) + math.exp(s3 - top))) if top > -np.inf else -np.inf
    best = STAY
    v = u0 + e0
    if open1 and u1 + e1 > v:
        best = INTERNAL
        v = u1 + e1
    if iv + e2 > v:
        return REGULAR if s2 + _gumbel32(e3_u) >= s3 + _gumbel32(e4_u) else IRREGULAR
    return best


def _decide_rows(status, adults, origin, skill, farm, loss, boost, memory, patience, risk, wealth, assets,
                 skill_mult, uniforms, origin_wage, degradation, cost_to_city, cost_to_destination, network_city,
                 network_abroad, scalars, income, choice, trapped):
    """Every household's income at origin, choice and trapped flag, written into `income`, `choice`, `trapped`.
    Compiled twice below: on one thread, and with the households shared among numba's threads (each writes only
    its own rows, so the results are the same for any number of threads)."""
    (destination_wage, city_wage, e_city, e_regular, e_irregular, living_cost, city_living_cost, irregular_factor,
     regular_fee, smuggler_fee, wait_years, beta_income, beta_cost, beta_risk, beta_interception, beta_wait,
     beta_network, beta_shock, asc_internal, asc_regular, asc_irregular, credit, min_skill, ordinary_open,
     seasonal_open, death, interception, perception, lam) = scalars
    for i in numba.prange(status.shape[0]):
        o = origin[i]
        sm = skill_mult[i]
        y = max(0.0, origin_wage[o] * sm * (1.0 + np.float64(boost[i]))
                * (1.0 - farm[i] * degradation[o] - loss[i]))
        income[i] = y
        trapped[i] = False
        if status[i] != AT_HOME or adults[i] < 1:   # only households at home with a working-age adult decide
            choice[i] = -1
            continue
        a = np.float64(adults[i])
        y_stay = a * y
        rest = (a - 1.0) * y
        dest = destination_wage * sm
        y_int = rest + e_city * max(0.0, city_wage * sm - city_living_cost)
        y_reg = rest + e_regular * max(0.0, dest - living_cost)
        y_irr = rest + e_irregular * max(0.0, dest * irregular_factor - living_cost)
        c_int = cost_to_city[o]
        c_reg = regular_fee + cost_to_destination[o]
        per_year = 12.0 * max(y_stay, 1.0)
        u0 = beta_income * math.log(max(y_stay, 1.0)) - beta_shock * np.float64(memory[i])
        u1 = (beta_income * math.log(max(y_int, 1.0)) - beta_cost * (c_int / per_year)
              + beta_network * network_city[o] + asc_internal)
        u2 = (beta_income * math.log(max(y_reg, 1.0)) - beta_cost * (c_reg / per_year)
              - beta_wait * wait_years / np.float64(patience[i]) + beta_network * network_abroad[o] + asc_regular)
        u3 = (beta_income * math.log(max(y_irr, 1.0)) - beta_cost * (smuggler_fee / per_year)
              - beta_risk * np.float64(risk[i]) * perception * death - beta_interception * interception
              + beta_network * network_abroad[o] + asc_irregular)
        e0 = _gumbel32(uniforms[i, 0])
        e1 = _gumbel32(uniforms[i, 1])
        e2 = _gumbel32(uniforms[i, 2])
        regular_eligible = (skill[i] >= min_skill and ordinary_open > 0) or seasonal_open > 0
        wanted = _nested_choice(u0, u1, u2, u3, True, regular_eligible, True, e0, e1, e2, uniforms[i, 3],
                                uniforms[i, 4], lam)
        if wanted == STAY:   # stays with every eligible option open: stays when some close too (see `decide`)
            choice[i] = STAY
            continue
        budget = wealth[i] + credit * assets[i]
        c = _nested_choice(u0, u1, u2, u3, c_int <= budget, regular_eligible and c_reg <= budget,
                           smuggler_fee <= budget, e0, e1, e2, uniforms[i, 3], uniforms[i, 4], lam)
        choice[i] = c
        trapped[i] = c == STAY


_decide_kernel = numba.njit(cache=True)(_decide_rows)   # prange runs as range: no threading layer is started
# Compiled on first use in each process (not cached: numba's cache would not tell it from the one-thread version)
_decide_kernel_threads = numba.njit(parallel=True)(_decide_rows)


@dataclass(frozen=True)
class MonthTerms:
    """The option-level figures of one month, the same for every household (USD, months, probabilities)."""

    destination_wage: float      # w_t, low skill, regular status, USD/month
    city_wage: float             # USD/month
    employment: tuple[float, float, float]   # e_j expected by households: city, regular, irregular
    living_cost: float           # at the destination, USD/month
    city_living_cost: float      # USD/month
    irregular_wage_factor: float
    regular_fee: float           # USD, visa fee in force
    smuggler_fee: float          # USD
    wait_months: float           # expected regular visa wait W (may be inf)
    min_skill: int               # skill needed for an ordinary visa
    ordinary_open: bool          # quota and processing capacity above zero
    seasonal_open: bool          # a seasonal scheme has places (open to any skill)
    death_probability: float
    interception_probability: float
    risk_perception: float


def decide_households(status: np.ndarray, adults: np.ndarray, origin: np.ndarray, skill: np.ndarray,
                      farm_dependence: np.ndarray, loss: np.ndarray, income_boost: np.ndarray,
                      shock_memory: np.ndarray, patience: np.ndarray, risk_aversion: np.ndarray,
                      wealth: np.ndarray, assets: np.ndarray, skill_mult: np.ndarray, uniforms: np.ndarray,
                      origin_wage: np.ndarray, degradation: np.ndarray, cost_to_city: np.ndarray,
                      cost_to_destination: np.ndarray, network_city: np.ndarray, network_abroad: np.ndarray,
                      month: MonthTerms, p: DecisionParams, income_per_adult: np.ndarray,
                      threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Every household's decision this month, in one compiled pass (the same rules as `decide`).

    Per-household arrays are the household columns (`simulator.households.Households`) and the model's `loss` and
    `skill_mult`; `uniforms` holds these households' (n, 6) float32 draws of the month, of which columns 0-4 feed
    the Gumbel terms.
    Per-origin arrays are indexed by `origin`; the network shares are those of `OptionTerms`.

    Writes the monthly income of an adult at origin (labour.origin_income_per_adult) of every household into
    `income_per_adult`. Returns `choice` (int8: an option code, or -1 for a household that does not decide: not at
    home, or without a working-age adult) and `trapped` (bool). With `threads` above 1 the households are shared
    among that many of numba's threads; the results are the same.
    """
    n = len(status)
    if uniforms.shape != (n, 6) or uniforms.dtype != np.float32 or income_per_adult.shape != (n,):
        raise ValueError("uniforms must be float32 of shape (n, 6) and income_per_adult of shape (n,), "
                         f"n = {n}: got {uniforms.dtype} {uniforms.shape} and {income_per_adult.shape}")
    scalars = (month.destination_wage, month.city_wage, *month.employment, month.living_cost,
               month.city_living_cost, month.irregular_wage_factor, month.regular_fee, month.smuggler_fee,
               min(month.wait_months, MAX_WAIT_MONTHS) / 12.0, p.beta_income, p.beta_cost, p.beta_risk,
               p.beta_interception, p.beta_wait, p.beta_network, p.beta_shock, p.asc_internal, p.asc_regular,
               p.asc_irregular, p.credit_fraction, month.min_skill, month.ordinary_open, month.seasonal_open,
               month.death_probability, month.interception_probability, month.risk_perception, p.nest_lambda)
    choice = np.empty(n, np.int8)
    trapped = np.empty(n, np.bool_)
    kernel = _decide_kernel
    if threads > 1:
        numba.set_num_threads(threads)
        kernel = _decide_kernel_threads
    kernel(status, adults, origin, skill, farm_dependence, loss, income_boost, shock_memory, patience, risk_aversion,
           wealth, assets, skill_mult, uniforms, origin_wage, degradation, np.asarray(cost_to_city, np.float64),
           np.asarray(cost_to_destination, np.float64), np.asarray(network_city, np.float64),
           np.asarray(network_abroad, np.float64), tuple(map(float, scalars)), income_per_adult, choice, trapped)
    return choice, trapped


def decide_households_arrays(status: np.ndarray, adults: np.ndarray, origin: np.ndarray, skill: np.ndarray,
                             farm_dependence: np.ndarray, loss: np.ndarray, income_boost: np.ndarray,
                             shock_memory: np.ndarray, patience: np.ndarray, risk_aversion: np.ndarray,
                             wealth: np.ndarray, assets: np.ndarray, skill_mult: np.ndarray, uniforms: np.ndarray,
                             origin_wage: np.ndarray, degradation: np.ndarray, cost_to_city: np.ndarray,
                             cost_to_destination: np.ndarray, network_city: np.ndarray, network_abroad: np.ndarray,
                             month: MonthTerms, p: DecisionParams, income_per_adult: np.ndarray,
                             threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """`decide_households` written with the array functions of this module (`utilities`, `gumbel`, `decide`): the
    readable statement of the month's decision, against which the compiled pass is tested and benchmarked. Same
    arguments and results (`threads` is accepted and ignored: numpy runs on one); it allocates a dozen temporary
    arrays per deciding household."""
    from simulator.labour import origin_income_per_adult   # labour does not import this module

    income_per_adult[:] = origin_income_per_adult(origin_wage, origin, skill_mult, farm_dependence, degradation,
                                                  loss, income_boost)
    idx = np.flatnonzero((status == AT_HOME) & (adults >= 1))
    o, y, a = origin[idx], income_per_adult[idx], adults[idx].astype(np.float64)
    sm = skill_mult[idx]
    e_city, e_regular, e_irregular = month.employment
    rest = (a - 1) * y
    dest = month.destination_wage * sm
    income_move = np.column_stack([
        rest + e_city * np.maximum(0.0, month.city_wage * sm - month.city_living_cost),
        rest + e_regular * np.maximum(0.0, dest - month.living_cost),
        rest + e_irregular * np.maximum(0.0, dest * month.irregular_wage_factor - month.living_cost)])
    cost = np.column_stack([np.zeros(len(idx)), np.asarray(cost_to_city, np.float64)[o],
                            month.regular_fee + np.asarray(cost_to_destination, np.float64)[o],
                            np.full(len(idx), month.smuggler_fee)])
    terms = OptionTerms(
        income_stay=a * y, income_move=income_move, cost=cost, shock_memory=shock_memory[idx],
        network_city=np.asarray(network_city, np.float64)[o], network_abroad=np.asarray(network_abroad, np.float64)[o],
        wait_months=month.wait_months, patience=patience[idx], risk_aversion=risk_aversion[idx],
        death_probability=month.death_probability, interception_probability=month.interception_probability,
        risk_perception=month.risk_perception)
    u = utilities(terms, p)
    eligible = np.ones_like(u, dtype=bool)
    eligible[:, REGULAR] = (skill[idx] >= month.min_skill) & month.ordinary_open | month.seasonal_open
    affordable = cost <= (wealth[idx] + p.credit_fraction * assets[idx])[:, None]
    chosen, stuck = decide(u, eligible, affordable, gumbel(uniforms[idx, :5]), p.nest_lambda)
    choice = np.full(len(status), -1, np.int8)
    choice[idx] = chosen
    trapped = np.zeros(len(status), bool)
    trapped[idx] = stuck
    return choice, trapped
