"""The decision rule (decisions.py) over options as data: agreement with the naive oracle (tests/reference.py) on
worlds of several cities, destinations, channels and routes; sampling against the nested-logit probabilities; the
liquidity constraint and trapped households; substitution (diversion) when a destination closes; input checks."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.model.decisions import MAX_OPTIONS, NO_DECISION, STAY, Options, decide_households, means_to_move
from simulator.params import DecisionParams

from reference import OptionRows, nested_logit_probabilities, option_utilities, reference_decision

N_ORIGINS = 3
# a corridor world's month: two cities, a labour scheme and a seasonal scheme to one destination, work visas and a
# deadly sea route to a second, free movement and an overland route to a neighbour
NAMES = ("Capital", "Port City", "Gulfland labour scheme", "Gulfland seasonal", "Northland work visa",
         "Northland sea crossing", "Neighbourland free movement", "Neighbourland overland")
PATHWAY = (0, 0, 1, 1, 1, 2, 1, 2)
PLACE = (0, 1, 2, 2, 3, 3, 4, 4)
SKILL_RATIO = ((1.0, 1.3, 1.8), (1.0, 1.2, 1.6), (1.0, 1.4, 3.0), (1.0, 1.5, 2.2), (1.0, 1.1, 1.3))   # by place


def corridor_options(nest=(1, 1, 2, 2, 2, 2, 2, 2), nest_lambda=(1.0, 0.8, 0.5), open_=(True,) * 8,
                     min_skill=(0, 0, 0, 0, 2, 0, 0, 0), cost_scale=1.0, asc_shift=0.0, **replace) -> Options:
    travel = np.array([[20.0, 60.0, 3500.0, 1200.0, 900.0, 4000.0, 80.0, 300.0],
                       [40.0, 30.0, 3600.0, 1300.0, 950.0, 4000.0, 60.0, 250.0],
                       [35.0, 50.0, 3400.0, 1100.0, 1000.0, 4000.0, 120.0, 350.0]]) * cost_scale
    columns = dict(pathway=PATHWAY, place=PLACE, nest=nest, nest_lambda=nest_lambda,
                   wage=(260.0, 240.0, 900.0, 700.0, 2400.0, 2400.0, 450.0, 450.0),
                   skill_ratio=[SKILL_RATIO[q] for q in PLACE],
                   wage_factor=(1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 1.0, 0.8),
                   living_cost=(150.0, 140.0, 350.0, 300.0, 1100.0, 1100.0, 200.0, 200.0),
                   employment=(0.85, 0.8, 0.97, 0.99, 0.9, 0.5, 0.75, 0.6), cost=travel,
                   wait_months=(0.0, 0.0, 14.0, 5.0, 30.0, 0.0, 0.0, 0.0),
                   death=(0.0, 0.0, 0.0, 0.0, 0.0, 0.015, 0.0, 0.002),
                   interception=(0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0, 0.1),
                   asc=tuple(a + asc_shift for a in (-4.0, -4.5, -4.0, -4.2, -5.0, -4.0, -4.5, -4.5)),
                   network=(0, 0, 1, 1, 2, 2, 3, 3), min_skill=min_skill, open_=open_)
    columns.update(replace)
    return Options.build(NAMES, **columns)


def households(n: int, seed: int, wealth_scale: float = 2000.0) -> dict[str, np.ndarray]:
    """`n` households of varied origin, size, skill, shocks, preferences and wealth (some of them away)."""
    rng = np.random.default_rng(seed)
    return dict(status=np.where(rng.random(n) < 0.9, 0, 3).astype(np.int8),
                adults=rng.integers(0, 4, n).astype(np.int16), origin=rng.integers(0, N_ORIGINS, n).astype(np.int16),
                skill=rng.integers(0, 3, n).astype(np.int8), farm_dependence=rng.random(n),
                loss=rng.random(n) * 0.3 * (rng.random(n) < 0.2), income_boost=(rng.random(n) * 0.2).astype(np.float32),
                shock_memory=(rng.random(n) * 0.4).astype(np.float32),
                patience=rng.lognormal(0, 0.3, n).astype(np.float32),
                risk_aversion=rng.lognormal(0, 0.3, n).astype(np.float32),
                wealth=rng.exponential(wealth_scale, n) * np.where(rng.random(n) < 0.3, 20.0, 1.0),
                assets=rng.exponential(2 * wealth_scale, n),
                skill_mult=np.array([1.0, 1.5, 2.2])[rng.integers(0, 3, n)],
                persons=rng.integers(1, 9, n).astype(np.int16))


ORIGIN_WAGE = np.array([110.0, 95.0, 130.0])
SUBSISTENCE = 45.0   # USD a person a month
DEGRADATION = np.array([0.0, 0.05, 0.1])
NETWORK = np.array([[0.05, 0.03, 0.01, 0.02], [0.08, 0.01, 0.00, 0.05], [0.02, 0.06, 0.03, 0.00]])


def run_kernel(options: Options, h: dict, uniforms: np.ndarray, p: DecisionParams | None = None,
               risk_perception: float = 1.0, threads: int = 1, subsistence_usd: float = SUBSISTENCE,
               **replace) -> tuple[np.ndarray, ...]:
    h = {**h, **replace}
    income = np.full(len(h["status"]), np.nan)
    choice, trapped = decide_households(
        h["status"], h["adults"], h["persons"], h["origin"], h["skill"], h["farm_dependence"], h["loss"],
        h["income_boost"], h["shock_memory"], h["patience"], h["risk_aversion"], h["wealth"], h["assets"],
        h["skill_mult"], uniforms,
        ORIGIN_WAGE, DEGRADATION, NETWORK, options, p or DecisionParams(), risk_perception,
        income_per_adult=income, subsistence_usd=subsistence_usd, threads=threads)
    return choice, trapped, income


def oracle(options: Options, h: dict, uniforms: np.ndarray, p: DecisionParams | None = None,
           risk_perception: float = 1.0) -> tuple[np.ndarray, ...]:
    p = p or DecisionParams()
    table = OptionRows(options)
    rows = [reference_decision(
        table, p, risk_perception, ORIGIN_WAGE, DEGRADATION, NETWORK, status=int(h["status"][i]),
        adults=int(h["adults"][i]), origin=int(h["origin"][i]), skill=int(h["skill"][i]),
        skill_mult=float(h["skill_mult"][i]), farm=float(h["farm_dependence"][i]), loss=float(h["loss"][i]),
        boost=float(h["income_boost"][i]), memory=float(h["shock_memory"][i]), patience=float(h["patience"][i]),
        risk=float(h["risk_aversion"][i]), wealth=float(h["wealth"][i]), assets=float(h["assets"][i]),
        uniforms=uniforms[i], persons=int(h["persons"][i]), subsistence_usd=SUBSISTENCE)
        for i in range(len(h["status"]))]
    income, choice, trapped, _ = (np.array(column) for column in zip(*rows))
    return choice, trapped, income


@pytest.mark.parametrize("case", [
    dict(),   # two nests: the cities, and every international option
    dict(nest=(1, 2, 3, 3, 4, 4, 5, 5), nest_lambda=(1.0, 1.0, 1.0, 0.4, 0.6, 0.3)),   # a nest per destination
    dict(nest=(1, 2, 3, 4, 5, 6, 7, 8), nest_lambda=(1.0,) * 9),   # the multinomial logit
    dict(open_=(True, False, True, False, False, True, True, True), min_skill=(0, 0, 1, 0, 2, 0, 0, 2)),
    dict(nest=(1, 1, 2, 2, 2, 2, 2, 2), nest_lambda=(1.0, 1.0, 0.3, 0.7)),   # nest 3 is empty
    # routes from some districts only: option 5 serves origins 0 and 1, option 7 origins 1 and 2, option 1 origin 2
    dict(served=np.array([[True, False, True, True, True, True, True, False],
                          [True, False, True, True, True, True, True, True],
                          [True, True, True, True, True, False, True, True]])),
    # extremes for the screening bounds: tiny lambdas, an infinite and a very long wait
    dict(nest_lambda=(1.0, 0.05, 0.05), wait_months=(0.0, 0.0, np.inf, 1e4, 30.0, 0.0, 0.0, 0.0),
         every_option_taken=False),
    dict(subsistence_weight=0.8),   # income above most of the subsistence need in the logarithm (Stone-Geary)
])
def test_the_kernel_agrees_with_the_naive_oracle_household_by_household(case):
    """On 6,000 households and a month of eight options in five places, the compiled kernel (one and two threads)
    and the per-household oracle of tests/reference.py give the same income, choice and trapped flag for every
    household, exactly: both compute in float64 from the same float32 Gumbel terms, in the same order. (The
    kernel's screening, which lets most households stay without computing every utility, must not change a single
    choice.)"""
    case = dict(case)
    every_option_taken = case.pop("every_option_taken", True)
    p = DecisionParams(subsistence_weight=case.pop("subsistence_weight", 0.0))
    options = corridor_options(**{"asc_shift": 2.0, **case})
    h = households(6000, seed=len(str(case)), wealth_scale=400.0)
    uniforms = np.random.default_rng(1).random((6000, options.uniforms_per_household), dtype=np.float32)
    choice, trapped, income = run_kernel(options, h, uniforms, p)
    expected_choice, expected_trapped, expected_income = oracle(options, h, uniforms, p)
    np.testing.assert_array_equal(choice, expected_choice)
    np.testing.assert_array_equal(trapped, expected_trapped)
    np.testing.assert_array_equal(income, expected_income)
    for threads in (2,):
        again = run_kernel(options, h, uniforms, p, threads=threads)
        for a, b in zip(again, (choice, trapped, income)):
            np.testing.assert_array_equal(a, b)
    movers = choice > 0
    assert options.served[h["origin"][movers], choice[movers] - 1].all()   # no option outside the origins it serves
    taken = np.bincount(choice[movers], minlength=options.n + 1)[1:]
    assert (taken[~options.open] == 0).all(), taken
    assert (taken[options.open] > 0).all() if every_option_taken else (taken > 0).sum() >= 3, taken
    assert trapped.sum() > (20 if every_option_taken else 5)
    assert (choice == NO_DECISION).sum() > 0 and (choice == STAY).sum() > 0


def frequencies(options: Options, n: int = 200_000, seed: int = 5, **h_kw) -> tuple[np.ndarray, np.ndarray]:
    """Choice shares of `n` identical households (origin 0, two adults, low skill, rich enough for every option),
    with the nested-logit probabilities of the oracle beside them."""
    h = {k: np.repeat(v[:1], n) for k, v in households(1, seed=0).items()}
    h.update(status=np.zeros(n, np.int8), adults=np.full(n, 2, np.int16), origin=np.zeros(n, np.int16),
             skill=np.zeros(n, np.int8), wealth=np.full(n, 1e6), **h_kw)
    uniforms = np.random.default_rng(seed).random((n, options.uniforms_per_household), dtype=np.float32)
    choice, _, _ = run_kernel(options, h, uniforms)
    freq = np.bincount(choice, minlength=options.n + 1) / n
    table = OptionRows(options)
    _, u_stay, utility = option_utilities(
        table, DecisionParams(), 1.0, ORIGIN_WAGE, DEGRADATION, NETWORK, origin=0, adults=2, skill=0,
        skill_mult=float(h["skill_mult"][0]), farm=float(h["farm_dependence"][0]), loss=float(h["loss"][0]),
        boost=float(h["income_boost"][0]), memory=float(h["shock_memory"][0]), patience=float(h["patience"][0]),
        risk=float(h["risk_aversion"][0]), persons=int(h["persons"][0]), subsistence_usd=SUBSISTENCE)
    allowed = [bool(options.open[k]) and 0 >= options.min_skill[k] for k in range(options.n)]
    return freq, np.array(nested_logit_probabilities(table, u_stay, utility, allowed))


@pytest.mark.parametrize("case", [
    dict(asc_shift=3.0),
    dict(asc_shift=3.0, nest=(1, 2, 3, 3, 4, 4, 5, 5), nest_lambda=(1.0, 1.0, 1.0, 0.3, 0.5, 0.8)),
    dict(asc_shift=3.5, open_=(True, False, True, True, False, True, True, False), nest_lambda=(1.0, 0.3, 0.2)),
])
def test_sampled_choices_match_the_nested_logit_probabilities(case):
    """Frequencies of the kernel's choice over 200,000 identical households match the analytic nested-logit
    probabilities. Each frequency has standard error sqrt(p (1 - p) / n) <= 0.0012; the tolerance is 5 standard
    errors (a false alarm about once in 3 million runs per option)."""
    freq, p = frequencies(corridor_options(**case))
    assert p.sum() == pytest.approx(1.0) and (p[1:][~corridor_options(**case).open] == 0).all()
    se = np.sqrt(p * (1 - p) / 200_000)
    assert (np.abs(freq - p) <= 5 * se + 1e-12).all(), (freq.round(4), p.round(4))
    assert (p[1:] > 0.005).sum() >= 3   # a spread of options is actually tested


def test_closing_a_destination_diverts_its_flow_mainly_within_the_nest():
    """Closing Northland's work visa (lambda = 0.5 for the international nest) raises every other international
    option's share by a larger factor than staying's or the cities': substitution runs within the nest (the
    nested logit's point; the multinomial logit would raise all in one proportion). On the analytic probabilities,
    and on sampled frequencies with the sampling error stated."""
    base = dict(min_skill=(0,) * 8, asc=(-1.0, -1.5, -1.0, -1.2, 1.0, -0.5, -1.5, -1.5))
    open_ = np.ones(8, bool)
    closed = open_.copy()
    closed[4] = False
    f0, p0 = frequencies(corridor_options(**base, open_=open_))
    f1, p1 = frequencies(corridor_options(**base, open_=closed))
    assert p0[5] > 0.01 and f1[5] == 0   # it was used; now nobody takes it
    ratio = p1 / p0
    international = [3, 4, 6, 7, 8]   # choice codes of the other international options
    assert min(ratio[international]) > max(ratio[[0, 1, 2]]) > 1
    np.testing.assert_allclose(ratio[international], ratio[3])   # within the nest: proportional (IIA inside)
    # sampled: the sea crossing gains; the gain is > 5 standard errors of the difference of two shares
    se = np.sqrt(p0[6] * (1 - p0[6]) / 200_000 + p1[6] * (1 - p1[6]) / 200_000)
    assert f1[6] - f0[6] > 5 * se
    mnl = dict(base, nest_lambda=(1.0, 1.0, 1.0))
    _, q0 = frequencies(corridor_options(**mnl, open_=open_))
    _, q1 = frequencies(corridor_options(**mnl, open_=closed))
    np.testing.assert_allclose((q1 / q0)[[0, 1, 2, 3, 6]], (q1 / q0)[0])   # multinomial logit: one proportion


def test_the_liquidity_constraint_traps_exactly_those_who_wanted_a_move_they_cannot_pay():
    """With the same uniforms: the choice with unlimited wealth is what households want; a household is trapped iff
    it wanted a move and stays; every move chosen is affordable; and no household with unlimited wealth is
    trapped."""
    options = corridor_options(asc_shift=2.0)
    h = households(20_000, seed=3, wealth_scale=300.0)
    uniforms = np.random.default_rng(2).random((20_000, options.uniforms_per_household), dtype=np.float32)
    rich_choice, rich_trapped, _ = run_kernel(options, h, uniforms, wealth=np.full(20_000, np.inf))
    choice, trapped, _ = run_kernel(options, h, uniforms)
    assert not rich_trapped.any()
    np.testing.assert_array_equal(trapped, (rich_choice > 0) & (choice == STAY))
    moved = np.flatnonzero(choice > 0)
    budget = means_to_move(h["wealth"], h["assets"], DecisionParams())
    assert (options.cost[h["origin"][moved], choice[moved] - 1] <= budget[moved]).all()
    assert trapped.sum() > 100 and len(moved) > 100
    ineligible = (h["skill"] < 2) & (choice == 5)
    assert not ineligible.any()   # the skilled work visa goes only to the skilled


def test_a_rising_cost_risk_or_wait_lowers_that_option():
    """Comparative statics of the utilities: each term lowers its own option's probability."""
    def p(**kw):
        return frequencies(corridor_options(asc_shift=3.0, **kw), n=1)[1]
    base = p()
    assert p(cost_scale=3.0)[3] < base[3]
    assert p(death=(0, 0, 0, 0, 0, 0.05, 0, 0.002))[6] < base[6]
    assert p(interception=(0, 0, 0, 0, 0, 0.6, 0, 0.1))[6] < base[6]
    assert p(wait_months=(0, 0, 40, 5, 30, 0, 0, 0))[3] < base[3]


@pytest.mark.parametrize("field,value,message", [
    ("nest", (0, 1, 1, 2, 2, 2, 2, 2), "nest 0 is staying"),
    ("nest", (1, 1, 2, 2, 2, 2, 2, 3), "expected nests 1 to 2"),
    ("nest_lambda", (1.0, 0.0, 0.5), "in \\(0, 1\\]"),
    ("nest_lambda", (0.5, 1.0, 0.5), "with 1 for nest 0"),
    ("wage", (1.0,) * 7, "shape \\(7,\\)"),
    ("death", (0, 0, 0, 0, 0, -0.1, 0, 0), "'death'"),
    ("cost", np.zeros((3, 7)), "expected \\(n_origins, 8\\)"),
    ("skill_ratio", np.ones((8, 2)), "skill_ratio has shape \\(8, 2\\)"),
    ("skill_ratio", np.full((8, 3), -1.0), "one finite ratio >= 0"),
])
def test_a_malformed_options_table_fails_naming_the_column(field, value, message):
    with pytest.raises(ValueError, match=message):
        corridor_options(**{field: value})


def test_a_month_has_at_most_126_options():
    """Choice codes (option k is k + 1) are 8-bit."""
    k = MAX_OPTIONS + 1
    with pytest.raises(ValueError, match=f"{k} options in a month: expected at most {MAX_OPTIONS}"):
        Options.build([f"o{j}" for j in range(k)], pathway=[0] * k, place=[0] * k, nest=[1] * k,
                      nest_lambda=(1.0, 1.0), wage=[1.0] * k, skill_ratio=np.ones((k, 3)), wage_factor=[1.0] * k,
                      living_cost=[0.0] * k, employment=[1.0] * k, cost=np.zeros((1, k)), wait_months=[0.0] * k,
                      death=[0.0] * k, interception=[0.0] * k, asc=[0.0] * k, network=[0] * k, min_skill=[0] * k,
                      open_=[True] * k)


def test_the_kernel_checks_its_arrays():
    options = corridor_options()
    h = households(10, seed=0)
    with pytest.raises(ValueError, match=f"uniforms must be float32 of shape \\(n, {options.uniforms_per_household}"):
        run_kernel(options, h, np.zeros((10, 6), np.float32))
    assert options.uniforms_per_household == 3 + 8 + 1   # three nests, eight options in nests of several, tie-break
