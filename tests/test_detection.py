"""Tests of the Monte Carlo of the detection test (verify.detection).

Statistical checks state their false-alarm rate: each test function below is one family
with a total false-alarm budget (usually ``FA = 1e-3``), split evenly (Bonferroni) over the
checks it makes, and its z threshold is ``z_for(budget, checks)``.  A power simulated with
``T`` trials is compared with an exact prediction ``p`` by the score test
``|p_hat - p| <= z sqrt(p (1 - p) / T)``, which is the same as ``p`` lying inside the Wilson
interval at ``z``.  The seeds are fixed and Hypothesis is derandomised, so every outcome is
reproducible.  The negative controls (v1 exponent, wrong law, wrong prefactor) must be
rejected by the same thresholds that the theory passes.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

import theory
from verify import detection as dm
from verify.claims.window import empirical_window

#: Family-wise false-alarm budget of each statistical test function.
FA = 1e-3
#: Hypothesis examples of the simulation-backed property tests (the Bonferroni divisor).
SIM_EXAMPLES = 10
#: Trials per simulated power in the property tests.
TRIALS = 600
#: The thorough profile (``-m slow``): more examples, more trials, same total budget.
THOROUGH_EXAMPLES = 60
THOROUGH_TRIALS = 3000

alphas = st.floats(1.2, 2.0, allow_nan=False)
# a target sample size, log-uniform in [50, 2000]
log_targets = st.floats(math.log(50.0), math.log(2000.0)).map(math.exp)
seeds = st.integers(0, 2**32 - 1)


def _mean_for(det, n_target):
    """Evidence mean whose closed-form N(ell) is ``n_target`` (c = 1)."""
    return det.prefactor * n_target ** (-1.0 / det.rate)


def _score_z(hits, trials, p):
    """Score statistic of ``hits`` out of ``trials`` against the proportion ``p``."""
    return (hits / trials - p) / math.sqrt(p * (1.0 - p) / trials)


# --------------------------------------------------------------------------------------
# z_for and wilson
# --------------------------------------------------------------------------------------
def test_z_for_known_values():
    assert dm.z_for(0.05) == pytest.approx(1.959963984540054, abs=1e-12)
    assert dm.z_for(0.01) == pytest.approx(2.5758293035489004, abs=1e-12)
    # Bonferroni: 5 tests at total 0.05 is one test at 0.01
    assert dm.z_for(0.05, 5) == pytest.approx(dm.z_for(0.01), abs=1e-12)


def test_z_for_monotone():
    zs = [dm.z_for(0.01, k) for k in (1, 2, 5, 10, 100, 10_000)]
    assert all(b > a for a, b in zip(zs, zs[1:], strict=False))
    zf = [dm.z_for(fa) for fa in (0.2, 0.05, 0.01, 1e-4, 1e-8)]
    assert all(b > a for a, b in zip(zf, zf[1:], strict=False))


@pytest.mark.parametrize(
    "hits, trials, lo, hi",
    [
        # Newcombe (1998), Stat. Med. 17:857, Table I, method 3 (Wilson score), 95 %
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_known_values(hits, trials, lo, hi):
    got = dm.wilson(hits, trials, dm.z_for(0.05))
    assert got == pytest.approx((lo, hi), abs=5e-5)


@given(st.integers(1, 10_000), st.floats(0.0, 1.0), st.floats(0.1, 6.0))
def test_wilson_contains_estimate_and_closed_forms(trials, frac, z):
    hits = round(frac * trials)
    lo, hi = dm.wilson(hits, trials, z)
    p = hits / trials
    # endpoints are exact up to rounding of a difference of O(1) terms
    assert 0.0 <= lo <= p + 1e-15
    assert p - 1e-15 <= hi <= 1.0
    if hits == 0:
        assert lo == pytest.approx(0.0, abs=1e-15)
        assert hi == pytest.approx(z * z / (trials + z * z), rel=1e-12)
    if hits == trials:
        assert hi == pytest.approx(1.0, abs=1e-15)
        assert lo == pytest.approx(trials / (trials + z * z), rel=1e-12)


@given(st.integers(0, 50), st.integers(51, 500), st.integers(2, 20), st.floats(0.5, 5.0))
def test_wilson_shrinks_with_trials(hits, trials, factor, z):
    lo1, hi1 = dm.wilson(hits, trials, z)
    lo2, hi2 = dm.wilson(hits * factor, trials * factor, z)  # same p_hat, more trials
    assert hi2 - lo2 < hi1 - lo1


def test_wilson_is_the_score_test_inversion():
    # p lies in the Wilson interval at z exactly when the score test at z accepts it
    hits, trials, z = 37, 120, dm.z_for(0.01)
    lo, hi = dm.wilson(hits, trials, z)
    for p in np.linspace(0.01, 0.99, 197):
        inside = lo <= p <= hi
        if min(abs(p - lo), abs(p - hi)) > 1e-9:
            assert inside == (abs(_score_z(hits, trials, p)) <= z)
    assert abs(_score_z(hits, trials, lo)) == pytest.approx(z, rel=1e-9)
    assert abs(_score_z(hits, trials, hi)) == pytest.approx(z, rel=1e-9)


# --------------------------------------------------------------------------------------
# predicted_power and exact_minimal_n (deterministic)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", ["mean", "median"])
@pytest.mark.parametrize("alpha", [1.2, 1.5, 2.0])
def test_predicted_power_at_zero_signal_is_false_alarm(alpha, estimator):
    det = theory.Detection(alpha, estimator=estimator)
    for n in (1, 10, 1000, 10**6):
        assert dm.predicted_power(det, 0.0, n) == pytest.approx(0.05, abs=1e-9)


@given(st.floats(1.2, 2.0), st.floats(0.005, 0.3))
def test_predicted_power_zero_signal_any_false_alarm(alpha, fa):
    det = theory.Detection(alpha, false_alarm=fa)
    assert dm.predicted_power(det, 0.0, 100) == pytest.approx(fa, abs=1e-9)


@given(alphas, st.floats(1e-3, 10.0), st.integers(1, 10**6))
def test_predicted_power_monotone(alpha, mean, n):
    det = theory.Detection(alpha)
    p = dm.predicted_power(det, mean, n)
    assert 0.05 - 1e-9 <= p <= 1.0
    assert dm.predicted_power(det, mean, 2 * n) >= p - 1e-12
    assert dm.predicted_power(det, 2 * mean, n) >= p - 1e-12


@given(alphas, log_targets)
def test_exact_minimal_n_solves_power_equation(alpha, n_target):
    det = theory.Detection(alpha)
    f = _mean_for(det, n_target)
    n_exact = dm.exact_minimal_n(det, f)
    assert dm.predicted_power(det, f, n_exact) == pytest.approx(1 - det.delta, abs=1e-9)
    # the closed form drops the wrong-side detections, so it is conservative
    assert n_exact <= n_target * (1 + 1e-9)
    assert dm.predicted_power(det, f, n_target) >= 1 - det.delta - 1e-9


# --------------------------------------------------------------------------------------
# simulate_power against the exact power (Hypothesis; Bonferroni over the examples)
# --------------------------------------------------------------------------------------
def _check_power_at_minimal_n(alpha, n_target, seed, examples, trials):
    # false alarm: FA in total over <= examples, one score test each
    z = dm.z_for(FA, examples)
    det = theory.Detection(alpha)
    f = _mean_for(det, n_target)
    n = max(1, round(dm.exact_minimal_n(det, f)))
    est = dm.simulate_power(det, f, n, trials=trials, seed=seed, z=z)
    assert est.predicted == pytest.approx(dm.predicted_power(det, f, n), abs=1e-15)
    assert est.n == n and est.trials == trials and est.hits == round(est.power * trials)
    assert abs(est.z_score) <= z, est
    assert est.ci[0] <= est.predicted <= est.ci[1]


@settings(max_examples=SIM_EXAMPLES)
@given(alphas, log_targets, seeds)
def test_simulated_power_at_minimal_n_matches_prediction(alpha, n_target, seed):
    _check_power_at_minimal_n(alpha, n_target, seed, SIM_EXAMPLES, TRIALS)


@pytest.mark.slow
@settings(max_examples=THOROUGH_EXAMPLES)
@given(alphas, log_targets, seeds)
def test_simulated_power_at_minimal_n_thorough(alpha, n_target, seed):
    _check_power_at_minimal_n(alpha, n_target, seed, THOROUGH_EXAMPLES, THOROUGH_TRIALS)


@st.composite
def window_cases(draw):
    """A law (exponential or polynomial) whose window at N is at least lag 0.

    ``A`` is drawn as a multiple ``m`` of theta_N (log-uniform in [2, 50]) so that lag 0 is
    always learnable; the decay parameter is drawn freely.
    """
    alpha = draw(alphas)
    n = round(draw(log_targets))
    det = theory.Detection(alpha)
    m = math.exp(draw(st.floats(math.log(2.0), math.log(50.0))))
    a = m * det.theta(n)
    if draw(st.sampled_from(["exponential", "polynomial"])) == "exponential":
        law = theory.Exponential(A=a, tau=draw(st.floats(1.0, 20.0)))
    else:
        law = theory.Polynomial(A=a, beta=draw(st.floats(0.4, 2.0)))
    return alpha, n, law, draw(seeds)


def _check_window(case, examples, trials):
    alpha, n, law, seed = case
    # false alarm: FA in total over <= examples x 2 score tests (lags H, H+1)
    z = dm.z_for(FA, 2 * examples)
    det = theory.Detection(alpha)
    win = theory.learnability_window(law, alpha)
    h = win(n)
    e = empirical_window(law, det, n, trials=trials, seed=seed, z=z)
    assert e["predicted"] == h
    assert set(e["powers"]) == {h, h + 1}
    p_h = dm.predicted_power(det, float(law(h)), n)
    p_next = dm.predicted_power(det, float(law(h + 1)), n)
    # deterministic: lag H reaches the target power, by the definition of the window
    assert p_h >= 1 - det.delta - 1e-9
    assert e["powers"][h].predicted == pytest.approx(p_h, abs=1e-15)
    assert e["powers"][h + 1].predicted == pytest.approx(p_next, abs=1e-15)
    # statistical: both simulated powers agree with their exact values
    assert e["max_abs_z"] <= z, e
    # implied by the line above (no further false alarm): when the exact power at H + 1
    # falls short of 1 - delta, the Wilson intervals bracket H
    if p_next < 1 - det.delta:
        assert e["consistent"], e


@settings(max_examples=SIM_EXAMPLES)
@given(window_cases())
def test_window_consistent_with_simulated_power(case):
    _check_window(case, SIM_EXAMPLES, TRIALS)


@pytest.mark.slow
@settings(max_examples=THOROUGH_EXAMPLES)
@given(window_cases())
def test_window_consistent_with_simulated_power_thorough(case):
    _check_window(case, THOROUGH_EXAMPLES, THOROUGH_TRIALS)


# --------------------------------------------------------------------------------------
# negative controls: each must be rejected
# --------------------------------------------------------------------------------------
V1_CASES = [(a, nt) for a in (1.2, 1.35, 1.5) for nt in (300, 2000)]


@pytest.mark.parametrize("alpha, n_target", V1_CASES)
def test_v1_exponent_rejected(alpha, n_target):
    # false alarm: FA in total over 2 score tests x len(V1_CASES) cases.  The same test
    # accepts the theory's N(ell) and rejects the v1 one (N ~ f**-alpha).
    z = dm.z_for(FA, 2 * len(V1_CASES))
    det = theory.Detection(alpha)
    v1 = theory.Detection(alpha, exponent="alpha")
    f = _mean_for(det, n_target)
    law = theory.Exponential(A=f, tau=1.0)  # f(0) = f
    n_cont = theory.sample_complexity(law, alpha).continuous(0)
    assert n_cont == pytest.approx(n_target, rel=1e-9)
    n_kappa = round(n_cont)
    n_v1 = math.ceil(theory.sample_complexity(law, alpha, exponent="alpha").continuous(0))
    assert n_v1 == math.ceil((v1.prefactor / f) ** v1.rate - 1e-9)
    seed = 1000 + V1_CASES.index((alpha, n_target))
    ok = dm.simulate_power(det, f, n_kappa, trials=TRIALS, seed=seed, z=z)
    bad = dm.simulate_power(det, f, n_v1, trials=TRIALS, seed=seed + 1, z=z)
    target = 1 - det.delta
    # the theory passes: the power at N_kappa is not below 1 - delta
    assert ok.ci[1] >= target, ok
    # v1 is rejected: 1 - delta lies above the Wilson interval at N_v1
    assert bad.ci[1] < target, bad
    assert abs(_score_z(bad.hits, bad.trials, target)) > z


@pytest.mark.parametrize(
    "used, actual, n",
    [
        # the polynomial law's window applied to an exponential envelope (too long)
        (theory.Polynomial(A=3.0, beta=0.8), theory.Exponential(A=3.0, tau=5.0), 10_000),
        # the exponential law's window applied to a polynomial envelope (too long)
        (theory.Exponential(A=3.0, tau=5.0), theory.Polynomial(A=3.0, beta=0.8), 1000),
    ],
)
def test_wrong_law_window_rejected(used, actual, n):
    # false alarm: FA in total over the 2 cases x 2 tests
    z = dm.z_for(FA, 4)
    det = theory.Detection(1.5)
    h_wrong = theory.learnability_window(used, 1.5)(n)
    h_right = theory.learnability_window(actual, 1.5)(n)
    assert h_wrong > h_right  # the control is only meaningful where they differ
    target = 1 - det.delta
    right = dm.simulate_power(det, float(actual(h_right)), n, trials=TRIALS, seed=7, z=z)
    wrong = dm.simulate_power(det, float(actual(h_wrong)), n, trials=TRIALS, seed=8, z=z)
    assert right.ci[1] >= target, right
    assert wrong.ci[1] < target, wrong


MINIMAL_N_ALPHAS = (1.2, 1.5, 2.0)


@pytest.mark.parametrize("alpha", MINIMAL_N_ALPHAS)
def test_minimal_n_ci_covers_exact_and_rejects_wrong_prefactor(alpha):
    # false alarm: FA in total over the cases; the CI level is 1 - FA / cases (its
    # bootstrap-normal coverage is nominal)
    level = 1.0 - FA / len(MINIMAL_N_ALPHAS)
    det = theory.Detection(alpha)
    f = _mean_for(det, 500.0)
    m = dm.minimal_n(det, f, trials=TRIALS, seed=20 + MINIMAL_N_ALPHAS.index(alpha), level=level)
    assert m.predicted_closed == pytest.approx(500.0, rel=1e-9)
    assert m.predicted_exact == pytest.approx(dm.exact_minimal_n(det, f), rel=1e-12)
    assert len(m.powers) == len(dm.GRID)
    assert m.ci[0] < m.n_hat < m.ci[1]
    assert m.agrees, m
    # a prediction with the prefactor K multiplied by 1.5 is outside the CI
    wrong = (1.5 * det.prefactor / f) ** det.rate
    assert not m.ci[0] <= wrong <= m.ci[1]
    if alpha <= 1.5:
        # and so is the v1 N(ell) = (K / f)**alpha
        v1 = theory.Detection(alpha, exponent="alpha")
        assert not m.ci[0] <= (v1.prefactor / f) ** v1.rate <= m.ci[1]


# --------------------------------------------------------------------------------------
# the stability shortcut and the median test
# --------------------------------------------------------------------------------------
SHORTCUT_CASES = [(1.2, 200), (1.5, 1000), (2.0, 50)]


@pytest.mark.parametrize("alpha, n", SHORTCUT_CASES)
def test_shortcut_agrees_with_sum_in_distribution(alpha, n):
    # false alarm: FA in total over the cases, one two-proportion z-test each.  The mean is
    # chosen for power ~ 1/2 (the most sensitive point).
    z = dm.z_for(FA, len(SHORTCUT_CASES))
    det = theory.Detection(alpha)
    f = optimize.brentq(lambda m: dm.predicted_power(det, m, n) - 0.5, 0.0, _mean_for(det, n))
    trials = 3000
    k = SHORTCUT_CASES.index((alpha, n))
    s = dm.simulate_power(det, f, n, trials=trials, seed=300 + k)
    c = dm.simulate_power(det, f, n, trials=trials, seed=400 + k, method="shortcut")
    assert s.predicted == pytest.approx(0.5, abs=1e-6)
    pool = (s.hits + c.hits) / (2 * trials)
    z2 = (s.power - c.power) / math.sqrt(2 * pool * (1 - pool) / trials)
    assert abs(z2) <= z, (s, c)


MEDIAN_CASES = [(a, n) for a in (1.2, 1.5, 2.0) for n in (300, 1001)]


@pytest.mark.parametrize("alpha, n", MEDIAN_CASES)
def test_median_test_size_at_zero_signal(alpha, n):
    # false alarm: FA in total over the cases, one score test against 0.05 each (the median
    # statistic is only asymptotically normal; N >= 300 keeps its size within binomial error)
    z = dm.z_for(FA, len(MEDIAN_CASES))
    det = theory.Detection(alpha, estimator="median")
    est = dm.simulate_power(det, 0.0, n, trials=2000, seed=500 + MEDIAN_CASES.index((alpha, n)))
    assert est.predicted == pytest.approx(0.05, abs=1e-12)
    assert abs(_score_z(est.hits, est.trials, 0.05)) <= z, est


def test_mean_test_size_at_zero_signal():
    # false alarm: FA, one score test per alpha (Bonferroni over 3); the mean statistic is
    # exactly SaS(1) under no signal, so the size is 0.05 at any N
    z = dm.z_for(FA, 3)
    for k, alpha in enumerate((1.2, 1.5, 2.0)):
        est = dm.simulate_power(theory.Detection(alpha), 0.0, 37, trials=2000, seed=600 + k)
        assert abs(_score_z(est.hits, est.trials, 0.05)) <= z, est


# --------------------------------------------------------------------------------------
# reproducibility, record and bad input
# --------------------------------------------------------------------------------------
def test_simulate_power_reproducible_and_record():
    det = theory.Detection(1.5)
    a = dm.simulate_power(det, 0.5, 300, trials=200, seed=42)
    b = dm.simulate_power(det, 0.5, 300, trials=200, seed=42)
    assert a == b
    d = a.as_dict()
    assert set(d) == {"n", "trials", "hits", "power", "ci", "predicted", "seed"}
    assert d["seed"] == 42 and d["hits"] == a.hits
    # the z of the interval only changes the interval
    c = dm.simulate_power(det, 0.5, 300, trials=200, seed=42, z=1.0)
    assert c.hits == a.hits and (c.ci[1] - c.ci[0]) < (a.ci[1] - a.ci[0])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(method="exact"), "method"),
        (dict(method=""), "method"),
        (dict(n=0), r"\bn\b"),
        (dict(n=-5), r"\bn\b"),
        (dict(n=2.5), r"\bn\b"),
        (dict(trials=0), "trials"),
        (dict(trials=1.5), "trials"),
        (dict(mean=-0.1), "mean"),
        (dict(mean=math.nan), "mean"),
    ],
)
def test_simulate_power_bad_input(kwargs, name):
    args = dict(mean=0.5, n=100, trials=10, seed=0)
    args.update(kwargs)
    mean, n = args.pop("mean"), args.pop("n")
    with pytest.raises(ValueError, match=name):
        dm.simulate_power(theory.Detection(1.5), mean, n, **args)


def test_shortcut_rejects_median():
    with pytest.raises(ValueError, match="shortcut"):
        dm.simulate_power(
            theory.Detection(1.5, estimator="median"),
            0.5,
            100,
            trials=10,
            seed=0,
            method="shortcut",
        )


def test_powers_at_is_reproducible_and_separates_lags():
    det = theory.Detection(1.5)
    means = {3: 2.0, 4: 0.05}  # s = mean N^(1/3): about 11.7 and 0.3 against eps = 4.48
    a = dm.powers_at(det, means, 200, trials=300, seed=11, z=3.0)
    b = dm.powers_at(det, means, 200, trials=300, seed=11, z=3.0)
    assert {k: v.hits for k, v in a.items()} == {k: v.hits for k, v in b.items()}
    # exact powers differ widely, so the simulated ones must be ordered the same way
    assert a[3].predicted > 0.9 > 0.2 > a[4].predicted
    assert a[3].power > a[4].power


def test_minimal_n_rejects_a_grid_that_collapses():
    det = theory.Detection(2.0)
    mean = det.prefactor * 1.0 ** (-1.0 / det.rate)  # closed-form N = 1
    with pytest.raises(ValueError, match="distinct sample sizes"):
        dm.minimal_n(det, mean, trials=50, seed=0)


# --------------------------------------------------------------------------------------
# the signed statistic, the critical level and the one-sided power
# --------------------------------------------------------------------------------------
def test_simulate_statistic_is_the_statistic_of_simulate_power():
    det = theory.Detection(1.5)
    for method in ("sum", "shortcut"):
        t = dm.simulate_statistic(det, 0.5, 300, trials=500, seed=42, method=method)
        p = dm.simulate_power(det, 0.5, 300, trials=500, seed=42, method=method)
        assert t.shape == (500,)
        assert int(np.count_nonzero(np.abs(t) > det.epsilon)) == p.hits


def test_one_sided_power_is_one_minus_delta_at_the_closed_form():
    det = theory.Detection(1.5)
    n = 1000
    mean = (det.epsilon + det.q_power) / dm.standardised_signal(det, 1.0, n)
    assert dm.one_sided_power(det, mean, n) == pytest.approx(1 - det.delta, abs=1e-9)
    # the wrong side adds exactly F(-2 eps - q)
    extra = theory.sas_cdf(-2 * det.epsilon - det.q_power, 1.5)
    assert dm.predicted_power(det, mean, n) == pytest.approx(1 - det.delta + extra, abs=1e-9)


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8])
def test_sas_density_matches_scipy(alpha):
    from scipy import stats

    for x in (0.3, 1.0, 2.5):
        ref = stats.levy_stable.pdf(x, alpha, 0.0)
        assert dm.sas_density(x, alpha) == pytest.approx(ref, rel=1e-5)


CRIT_CASES = [(1.2, 300), (1.5, 1000), (2.0, 100)]


@pytest.mark.parametrize("alpha, n", CRIT_CASES)
def test_critical_level_interval_covers_the_exact_levels(alpha, n):
    # false alarm: FA in total over the cases x 2 intervals (each a score test inverted at z)
    z = dm.z_for(FA, 2 * len(CRIT_CASES))
    det = theory.Detection(alpha)
    k = CRIT_CASES.index((alpha, n))
    cl = dm.critical_level(det, n, trials=100_000, seed=700 + k, z=z)
    s1 = dm.exact_critical_s(det, two_sided=False)
    s2 = dm.exact_critical_s(det, two_sided=True)
    assert s1 == pytest.approx(det.epsilon + det.q_power, rel=1e-9)
    assert s2 <= s1
    assert cl.s_one_ci[0] <= cl.s_one <= cl.s_one_ci[1]
    assert cl.s_two_ci[0] <= cl.s_two <= cl.s_two_ci[1]
    assert cl.s_one_ci[0] <= s1 <= cl.s_one_ci[1], cl
    assert cl.s_two_ci[0] <= s2 <= cl.s_two_ci[1], cl
    # negative control: a level 5 % off lies outside (the interval is ~1 % wide here)
    for wrong in (0.95 * s1, 1.05 * s1):
        assert not cl.s_one_ci[0] <= wrong <= cl.s_one_ci[1]
    assert cl.mean(s1) == pytest.approx(s1 / dm.standardised_signal(det, 1.0, n), rel=1e-12)
    # the drawn signal does not matter (the statistic is s + noise): same noise, same level
    moved = dm.critical_level(det, n, trials=100_000, seed=700 + k, z=z, signal=0.3)
    assert moved.s_one == pytest.approx(cl.s_one, rel=1e-9)
