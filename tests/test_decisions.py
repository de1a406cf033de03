"""The decision rule (decisions.py): probabilities, liquidity constraint, comparative statics, sampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.decisions import (INTERNAL, IRREGULAR, REGULAR, STAY, OptionTerms, choice_probabilities, choose,
                                 decide, gumbel, utilities)
from simulator.params import DecisionParams


def terms(n: int = 1, **kw) -> OptionTerms:
    """Option terms of `n` identical households; keyword arguments replace single terms."""
    base = dict(income_stay=np.full(n, 240.0), income_move=np.tile([300.0, 800.0, 450.0], (n, 1)),
                cost=np.tile([0.0, 30.0, 1600.0, 3000.0], (n, 1)), shock_memory=np.zeros(n),
                network_city=np.full(n, 0.05), network_abroad=np.full(n, 0.02), wait_months=12.0,
                patience=np.ones(n), risk_aversion=np.ones(n), death_probability=0.01,
                interception_probability=0.3, risk_perception=1.0)
    base.update(kw)
    return OptionTerms(**base)


def probs(params: DecisionParams | None = None, open_=None, **kw) -> np.ndarray:
    u = utilities(terms(**kw), params or DecisionParams())
    return choice_probabilities(u, np.ones_like(u, bool) if open_ is None else open_)


finite = st.floats(-30, 30, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(u=arrays(np.float64, (7, 4), elements=finite), open_=arrays(bool, (7, 4)), lam=st.floats(0.05, 1.0))
def test_probabilities_sum_to_one_and_closed_options_are_zero(u, open_, lam):
    open_[:, STAY] = True
    p = choice_probabilities(u, open_, lam)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-9)
    assert (p[~open_] == 0).all() and (p >= 0).all()
    assert (p[open_] > 0).all() or np.ptp(u) / lam > 20   # open options have positive probability unless underflow


@settings(max_examples=200, deadline=None)
@given(u=arrays(np.float64, (7, 4), elements=finite), open_=arrays(bool, (7, 4)))
def test_nested_logit_with_lambda_one_is_the_multinomial_logit(u, open_):
    open_[:, STAY] = True
    z = np.where(open_, u, -np.inf)
    mnl = np.exp(z - z.max(axis=1, keepdims=True))
    mnl /= mnl.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(choice_probabilities(u, open_, 1.0), mnl, rtol=1e-9, atol=1e-300)


def test_a_better_regular_pathway_draws_mainly_from_the_irregular_route():
    """Within the nest (lambda < 1), raising U_regular lowers P(irregular) by a larger share than P(stay)."""
    base = np.array([[3.0, 0.0, 0.0, 0.0]])
    better = base + [[0, 0, 0.5, 0]]
    open_ = np.ones((1, 4), bool)
    p0, p1 = choice_probabilities(base, open_, 0.5), choice_probabilities(better, open_, 0.5)
    assert p1[0, IRREGULAR] / p0[0, IRREGULAR] < p1[0, STAY] / p0[0, STAY] < 1
    m0, m1 = choice_probabilities(base, open_, 1.0), choice_probabilities(better, open_, 1.0)
    np.testing.assert_allclose(m1[0, IRREGULAR] / m0[0, IRREGULAR], m1[0, STAY] / m0[0, STAY])   # IIA


@settings(max_examples=200, deadline=None)
@given(u=arrays(np.float64, (5, 4), elements=finite), open_=arrays(bool, (5, 4)),
       noise=arrays(np.float64, (5, 5), elements=st.floats(-5, 5)), lam=st.floats(0.05, 1.0))
def test_choice_is_always_open_and_trapped_only_when_a_move_was_wanted(u, open_, noise, lam):
    eligible = open_.copy()
    eligible[:, STAY] = True
    affordable = np.ones_like(eligible)
    affordable[:, 1:] = noise[:, 1:4] > 0
    choice, trapped = decide(u, eligible, affordable, noise, lam)
    assert (eligible & affordable)[np.arange(5), choice].all()
    wanted = choose(u, eligible, noise, lam)
    assert (trapped == ((wanted != STAY) & (choice == STAY))).all()


def test_unaffordable_option_has_probability_zero():
    u = utilities(terms(), DecisionParams())
    budget = 1000.0   # pays the city (30) but neither the visa (1,600) nor the smuggler (3,000)
    affordable = terms().cost <= budget
    p = choice_probabilities(u, affordable)
    assert p[0, REGULAR] == 0 and p[0, IRREGULAR] == 0
    assert p[0, STAY] > 0 and p[0, INTERNAL] > 0


def test_raising_a_fee_lowers_that_pathways_share():
    cheap = probs(cost=np.array([[0.0, 30.0, 1000.0, 3000.0]]))
    dear = probs(cost=np.array([[0.0, 30.0, 2000.0, 3000.0]]))
    assert dear[0, REGULAR] < cheap[0, REGULAR]
    assert dear[0, IRREGULAR] > cheap[0, IRREGULAR]   # substitution toward the other options (IIA)
    assert dear[0, STAY] > cheap[0, STAY]


def test_larger_network_raises_migration():
    small = probs(network_abroad=np.array([0.0]), network_city=np.array([0.0]))
    large = probs(network_abroad=np.array([0.2]), network_city=np.array([0.2]))
    assert large[0, STAY] < small[0, STAY]
    assert large[0, REGULAR] > small[0, REGULAR] and large[0, IRREGULAR] > small[0, IRREGULAR]


def test_larger_shock_lowers_the_utility_of_staying():
    p = DecisionParams()
    calm = utilities(terms(shock_memory=np.array([0.0])), p)
    hit = utilities(terms(shock_memory=np.array([0.4])), p)
    assert hit[0, STAY] < calm[0, STAY]
    np.testing.assert_array_equal(hit[0, 1:], calm[0, 1:])
    assert probs(shock_memory=np.array([0.4]))[0, STAY] < probs(shock_memory=np.array([0.0]))[0, STAY]


def test_risk_and_waiting_lower_their_options():
    assert probs(death_probability=0.05)[0, IRREGULAR] < probs(death_probability=0.01)[0, IRREGULAR]
    assert probs(interception_probability=0.6)[0, IRREGULAR] < probs()[0, IRREGULAR]
    assert probs(wait_months=48.0)[0, REGULAR] < probs(wait_months=6.0)[0, REGULAR]
    assert probs(patience=np.array([2.0]), wait_months=48.0)[0, REGULAR] > probs(wait_months=48.0)[0, REGULAR]


@pytest.mark.parametrize("lam,closed", [(1.0, REGULAR), (0.5, None), (0.3, INTERNAL), (0.5, IRREGULAR)])
def test_two_stage_gumbel_sampling_matches_the_nested_logit_probabilities(lam, closed):
    """Frequencies of the sampled choice match the analytic probabilities.

    n = 200,000 draws of one household: each frequency has standard error sqrt(p (1 - p) / n) <= 0.0012; the
    tolerance is 5 standard errors (a false alarm about once in 3 million runs per option).
    """
    n = 200_000
    u = np.tile([0.0, 0.5, -0.3, 0.2], (n, 1))
    open_ = np.ones_like(u, bool)
    if closed is not None:
        open_[:, closed] = False
    rng = np.random.default_rng(5)
    choice = choose(u, open_, gumbel(rng.random((n, 5), dtype=np.float32)), lam)
    freq = np.bincount(choice, minlength=4) / n
    p = choice_probabilities(u[:1], open_[:1], lam)[0]
    se = np.sqrt(p * (1 - p) / n)
    if closed is not None:
        assert freq[closed] == 0
    assert (np.abs(freq - p) <= 5 * se + 1e-12).all(), (freq, p)


def test_staying_must_be_open():
    with pytest.raises(ValueError, match="staying"):
        choice_probabilities(np.zeros((1, 4)), np.array([[False, True, True, True]]))


# --- the compiled pass against the array statement ------------------------------------------------------------------

BUSY_DECISIONS = {"decisions.asc_internal": -3.0, "decisions.asc_regular": -2.0, "decisions.asc_irregular": 0.0,
                  "regular.fee_usd": 300.0, "irregular.smuggler_fee_usd": 400.0, "regular.max_wait_months": 3.0}


@pytest.mark.parametrize("nest_lambda,interventions", [
    (0.5, {}),
    (1.0, {"seasonal_scheme": {}, "humanitarian_visas": {"min_loss": 0.05}, "local_jobs": {"income_gain": 0.2}}),
    (0.2, {"skill_eligibility": {}, "adaptation": {"coverage": 0.5}, "fee_subsidy": {"share": 0.5}}),
])
def test_compiled_decision_equals_the_array_statement(monkeypatch, nest_lambda, interventions):
    """Every month of a run, on the model's own inputs, `decide_households` (what the model runs) gives exactly the
    incomes, choices and trapped households of `decide_households_arrays` (the equations written with this module's
    array functions). Both compute in float64 from the same float32 Gumbel terms; a difference would need a
    near-tie within a few float32 ulps (about 1e-7), not met by these seeds (and it would show here as a failure,
    not be absorbed by a tolerance)."""
    import simulator.model as model_module
    from simulator import MigrationModel, build_interventions
    from simulator.climate import ClimateOutlook
    from simulator.decisions import decide_households, decide_households_arrays

    seen = {"deciders": 0, "moves": 0, "trapped": 0, "regular": 0, "irregular": 0, "internal": 0}

    def both(*args, **kw):
        income_arrays = np.full_like(kw["income_per_adult"], np.nan)
        choice, trapped = decide_households(*args, **kw)
        expected_choice, expected_trapped = decide_households_arrays(*args, **{**kw, "income_per_adult":
                                                                                  income_arrays})
        np.testing.assert_array_equal(kw["income_per_adult"], income_arrays)
        np.testing.assert_array_equal(choice, expected_choice)
        np.testing.assert_array_equal(trapped, expected_trapped)
        seen["deciders"] += np.count_nonzero(choice >= 0)
        seen["moves"] += np.count_nonzero(choice > 0)
        seen["trapped"] += np.count_nonzero(trapped)
        for name, code in (("internal", INTERNAL), ("regular", REGULAR), ("irregular", IRREGULAR)):
            seen[name] += np.count_nonzero(choice == code)
        return choice, trapped

    monkeypatch.setattr(model_module, "decide_households", both)
    model = MigrationModel(n_households=5000, years=2, rng=9, interventions=build_interventions(interventions),
                           climate_outlook=ClimateOutlook(frequency_multiplier=8.0),
                           **{**BUSY_DECISIONS, "decisions.nest_lambda": nest_lambda})
    model.run()
    assert seen["deciders"] > 10_000 and min(seen.values()) > 20, seen   # every outcome was compared


def test_compiled_decision_checks_its_arrays():
    from simulator.decisions import MonthTerms, decide_households

    n = 3
    month = MonthTerms(1600.0, 250.0, (0.9, 0.9, 0.6), 700.0, 150.0, 0.7, 500.0, 3000.0, 12.0, 1, True, False,
                       0.01, 0.3, 1.0)
    cols = [np.zeros(n, np.int8), np.ones(n, np.int16), np.zeros(n, np.int16), np.zeros(n, np.int8)]
    f32, f64 = np.zeros(n, np.float32), np.zeros(n)
    args = cols + [f32, f64, f32, f32, f32 + 1, f32 + 1, f64, f64, f64 + 1]
    per_origin = [np.array([100.0]), np.array([0.0]), np.array([30.0]), np.array([450.0]), np.array([0.1]),
                  np.array([0.1])]
    with pytest.raises(ValueError, match="uniforms must be float32 of shape"):
        decide_households(*args, np.zeros((n, 6)), *per_origin, month=month, p=DecisionParams(),
                          income_per_adult=np.zeros(n))
    choice, trapped = decide_households(*args, np.full((n, 6), 0.5, np.float32), *per_origin, month=month,
                                        p=DecisionParams(), income_per_adult=np.zeros(n))
    assert choice.dtype == np.int8 and trapped.dtype == np.bool_ and (choice >= 0).all()
