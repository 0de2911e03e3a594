"""Tests of the alpha-stable sampler and the streaming trial statistics (claim C1).

Statistical checks state their false-alarm rate. Every p-value threshold below is a
Bonferroni share of a family-wise budget FWER = 0.01 over the checks of its test, so a
correct sampler fails a given test with probability <= 1 %; the seeds are fixed, so the
outcome is reproducible. Each check is paired with a negative control that must fail.
"""

import math

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from verify.noise import cms, stable

FWER = 0.01


# --------------------------------------------------------------------------------------
# reproducibility: kernel == reference == serial, whatever the thread count
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "alpha, beta, param",
    [
        (1.5, 0.0, "S1"),
        (1.3, 0.7, "S1"),
        (1.7, -0.4, "S0"),
        (1.0, 0.0, "S1"),
        (1.0, 0.6, "S1"),
        (2.0, 0.0, "S1"),
        (0.7, 0.9, "S0"),
    ],
)
def test_kernel_equals_reference_exactly(alpha, beta, param):
    size = 2 * stable.CHUNK + 1234  # a ragged last chunk and a ragged last block
    kw = dict(size=size, seed=11, param=param)
    ref = stable.sample_reference(alpha, beta, 1.7, -0.2, **kw)
    par = stable.sample(alpha, beta, 1.7, -0.2, **kw)
    ser = stable.sample(alpha, beta, 1.7, -0.2, parallel=False, **kw)
    assert par.shape == (size,)
    np.testing.assert_array_equal(par, ref)
    np.testing.assert_array_equal(ser, ref)


def test_independent_of_thread_count():
    # 9 trials of 65 537 samples: 3 streams of 3 trials, dealt to different threads
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        x1 = stable.sample(1.5, size=3 * stable.CHUNK + 7, seed=3)
        m1 = stable.trial_means(1.5, n=65_537, trials=9, seed=3, estimator="median")
    finally:
        numba.set_num_threads(before)
    x2 = stable.sample(1.5, size=3 * stable.CHUNK + 7, seed=3)
    m2 = stable.trial_means(1.5, n=65_537, trials=9, seed=3, estimator="median")
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(m1, m2)


def test_seeds_give_different_streams():
    a = stable.sample(1.5, size=1000, seed=1)
    b = stable.sample(1.5, size=1000, seed=2)
    assert not np.array_equal(a, b)
    assert np.array_equal(a, stable.sample(1.5, size=1000, seed=np.random.SeedSequence(1)))


@pytest.mark.parametrize("estimator", stable.ESTIMATORS)
@pytest.mark.parametrize("n", [1, 2, 4097, 10_000, 65_537])  # 65 537: 3 trials per stream
def test_trial_means_kernel_equals_reference(estimator, n):
    kw = dict(n=n, trials=7, seed=21, estimator=estimator, beta=0.3)
    par = stable.trial_means(1.4, 0.8, 0.25, **kw)
    ser = stable.trial_means(1.4, 0.8, 0.25, parallel=False, **kw)
    ref = stable.trial_means_reference(1.4, 0.8, 0.25, **kw)
    assert par.shape == (7,)
    np.testing.assert_array_equal(par, ser)
    if estimator == "trimmed":  # same values, summed in another order
        np.testing.assert_allclose(par, ref, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_array_equal(par, ref)


def _trial_stream(alpha, sigma, signal, n, trials, seed):
    """The raw samples of each trial, through the documented stream layout."""
    gens = cms.trial_generators(seed, n, trials)
    return [cms.stream_numpy(g, n, alpha, 0.0, sigma, signal) for g in gens]


def test_estimators_match_their_numpy_scipy_definitions():
    n, trials = 1001, 4
    raw = _trial_stream(1.5, 2.0, 0.3, n, trials, 5)
    kw = dict(n=n, trials=trials, seed=5)
    np.testing.assert_allclose(
        stable.trial_means(1.5, 2.0, 0.3, estimator="mean", **kw),
        [x.mean() for x in raw],
        rtol=1e-12,
    )
    np.testing.assert_array_equal(
        stable.trial_means(1.5, 2.0, 0.3, estimator="median", **kw), [np.median(x) for x in raw]
    )
    np.testing.assert_allclose(
        stable.trial_means(1.5, 2.0, 0.3, estimator="trimmed", trim=0.2, **kw),
        [stats.trim_mean(x, 0.2) for x in raw],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        stable.trial_means(1.5, 2.0, 0.3, estimator="clipped", clip=1.5, **kw),
        [np.clip(x, -3.0, 3.0).mean() for x in raw],
        rtol=1e-12,
    )


@given(
    data=st.lists(st.integers(-5, 5), min_size=1, max_size=60),
    frac=st.floats(0.0, 1.0, exclude_max=True),
)
def test_quickselect_matches_sort(data, frac):
    a = np.asarray(data, dtype=np.float64)
    k = int(frac * a.size)
    b = a.copy()
    cms.select(b, 0, b.size, k)
    s = np.sort(a)
    assert b[k] == s[k]
    assert np.all(b[:k] <= b[k]) and np.all(b[k + 1 :] >= b[k])
    np.testing.assert_array_equal(np.sort(b), s)


# --------------------------------------------------------------------------------------
# distribution: KS tests against exact laws and scipy.stats.levy_stable
# --------------------------------------------------------------------------------------
def test_alpha_two_is_gaussian_with_variance_two_sigma_squared():
    sigma = 1.3
    x = stable.sample(2.0, 0.0, sigma, size=50_000, seed=8)
    # two checks share the budget
    assert stats.kstest(x, stats.norm(0, math.sqrt(2) * sigma).cdf).pvalue > FWER / 2
    # negative control: N(0, sigma^2) (the other common convention) is rejected
    assert stats.kstest(x, stats.norm(0, sigma).cdf).pvalue < FWER / 2


def test_alpha_one_beta_zero_is_cauchy():
    sigma = 0.6
    x = stable.sample(1.0, 0.0, sigma, 2.0, size=50_000, seed=9)
    assert stats.kstest(x, stats.cauchy(2.0, sigma).cdf).pvalue > FWER / 2
    assert stats.kstest(x, stats.cauchy(2.0, 1.1 * sigma).cdf).pvalue < FWER / 2


KS_GRID = [(1.5, 0.0, "S1"), (1.2, 0.5, "S1"), (1.8, -0.3, "S0"), (0.8, 0.0, "S1")]
KS_GRID_SLOW = [
    (a, b, p)
    for a in (0.6, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9, 2.0)
    for b in (-1.0, -0.5, 0.0, 0.5, 1.0)
    for p in ("S1", "S0")
]


def _ks_levy(monkeypatch, alpha, beta, param, size, seed, alpha_test=None):
    monkeypatch.setattr(stats.levy_stable, "parameterization", param)
    x = stable.sample(alpha, beta, 1.5, 0.5, size=size, seed=seed, param=param)
    law = stats.levy_stable(alpha if alpha_test is None else alpha_test, beta, 0.5, 1.5)
    return stats.kstest(x, law.cdf).pvalue


@pytest.mark.parametrize("alpha, beta, param", KS_GRID)
def test_ks_against_scipy_levy_stable(monkeypatch, alpha, beta, param):
    # FWER budget split over the grid points: each is rejected when p < FWER / len(grid)
    assert _ks_levy(monkeypatch, alpha, beta, param, 3000, 100) > FWER / len(KS_GRID)


def test_ks_negative_control_rejects_wrong_alpha(monkeypatch):
    # samples at alpha = 1.5 tested against alpha = 1.7 must fail the same threshold
    p = _ks_levy(monkeypatch, 1.5, 0.0, "S1", 20_000, 101, alpha_test=1.7)
    assert p < FWER / len(KS_GRID)


def test_ks_negative_control_rejects_wrong_parameterisation(monkeypatch):
    # S0 samples tested as S1 (a shift of beta tan(pi alpha / 2)) must fail
    monkeypatch.setattr(stats.levy_stable, "parameterization", "S1")
    x = stable.sample(1.5, 0.5, 1.0, size=3000, seed=102, param="S0")
    assert stats.kstest(x, stats.levy_stable(1.5, 0.5).cdf).pvalue < FWER / len(KS_GRID)


@pytest.mark.slow
@pytest.mark.parametrize("alpha, beta, param", KS_GRID_SLOW)
def test_ks_against_scipy_levy_stable_full_grid(monkeypatch, alpha, beta, param):
    assert _ks_levy(monkeypatch, alpha, beta, param, 5000, 200) > FWER / len(KS_GRID_SLOW)


# --------------------------------------------------------------------------------------
# C1: the stability identity for the sample mean
# --------------------------------------------------------------------------------------
PROBS = (0.05, 0.25, 0.5, 0.75, 0.95)
NS = (10, 100, 1000)


def _order_stat_interval(sorted_x, p, z):
    """Distribution-free interval [x_(lo), x_(hi)] that covers the p-quantile.

    The number of sample points below the true p-quantile is Binomial(T, p); the normal
    approximation puts it within T p +- z sqrt(T p (1 - p)) with probability 1 - 2 Phi(-z).
    """
    t = sorted_x.size
    half = z * math.sqrt(t * p * (1 - p))
    lo = max(int(math.floor(t * p - half)) - 1, 0)
    hi = min(int(math.ceil(t * p + half)), t - 1)
    return sorted_x[lo], sorted_x[hi]


def _scaling_failures(alpha, sigma, exponent, trials=4000, seed=31):
    """Return the (N, p) where rescaled trial means miss the S(alpha, sigma) quantile."""
    checks = len(NS) * len(PROBS)
    z = stats.norm.isf(FWER / checks / 2)  # Bonferroni, two-sided
    q_true = sigma * stats.levy_stable(alpha, 0.0).ppf(PROBS)
    fails = []
    for n in NS:
        m = stable.trial_means(alpha, sigma, n=n, trials=trials, seed=seed + n)
        scaled = np.sort(m * n**exponent)
        for p, q in zip(PROBS, q_true, strict=True):
            lo, hi = _order_stat_interval(scaled, p, z)
            if not lo <= q <= hi:
                fails.append((n, p, lo, q, hi))
    return fails


@pytest.mark.parametrize("alpha", [1.5, 1.2])
def test_mean_quantiles_scale_as_n_to_minus_one_over_kappa(alpha):
    fails = _scaling_failures(alpha, 1.4, 1.0 / stable.kappa(alpha))
    assert not fails, f"(N, p, lo, true quantile, hi) outside interval: {fails}"


def test_scaling_negative_control_rejects_square_root_law():
    fails = _scaling_failures(1.5, 1.4, 0.5)
    assert {f[0] for f in fails} == set(NS)  # every N misses somewhere


def test_shortcut_matches_simulated_means():
    kw = dict(n=200, trials=3000, beta=0.4)
    sim = stable.trial_means(1.6, 0.7, 0.2, seed=41, **kw)
    short = stable.trial_means_shortcut(1.6, 0.7, 0.2, seed=42, **kw)
    assert stats.ks_2samp(sim, short).pvalue > FWER / 2
    # negative control: the Gaussian N^(-1/2) shortcut is a different law
    wrong = 0.2 + 0.7 * 200**-0.5 * stable.sample(1.6, 0.4, size=3000, seed=43)
    assert stats.ks_2samp(sim, wrong).pvalue < FWER / 2


@pytest.mark.parametrize("alpha, beta, param", [(1.0, 0.8, "S1"), (1.3, -0.6, "S0")])
def test_shortcut_skewed_and_alpha_one(alpha, beta, param):
    kw = dict(n=50, trials=3000, beta=beta, param=param)
    sim = stable.trial_means(alpha, 1.0, seed=51, **kw)
    short = stable.trial_means_shortcut(alpha, 1.0, seed=52, **kw)
    assert stats.ks_2samp(sim, short).pvalue > FWER / 2


def test_robust_estimators_concentrate_at_root_n():
    # at alpha = 1.2 the mean spreads as N^(-1/6) but the median as N^(-1/2)
    iqr = {}
    for est in ("mean", "median"):
        for n in (100, 10_000):
            m = stable.trial_means(1.2, n=n, trials=400, seed=61, estimator=est)
            q75, q25 = np.percentile(m, [75, 25])
            iqr[est, n] = q75 - q25
    med_ratio = iqr["median", 100] / iqr["median", 10_000]
    mean_ratio = iqr["mean", 100] / iqr["mean", 10_000]
    # 400 trials give each IQR a relative s.e. of ~6 %, so each ratio ~9 %; the bounds are
    # ~4-5 s.e. wide and still separate N^(-1/2) (ratio 10) from N^(-1/6) (ratio 2.15)
    assert 6.0 < med_ratio < 16.0
    assert 1.6 < mean_ratio < 3.0


# --------------------------------------------------------------------------------------
# properties and bad input
# --------------------------------------------------------------------------------------
@given(
    alpha=st.floats(0.5, 2.0),
    beta=st.floats(-1.0, 1.0),
    sigma=st.floats(0.01, 100.0),
    mu=st.floats(-10.0, 10.0),
    seed=st.integers(0, 2**32),
)
def test_scale_location_equivariance_and_finiteness(alpha, beta, sigma, mu, seed):
    z = stable.sample(alpha, beta, 1.0, size=257, seed=seed)
    x = stable.sample(alpha, beta, sigma, mu, size=257, seed=seed)
    assert np.all(np.isfinite(z))
    np.testing.assert_array_equal(x, mu + sigma * z)


@given(alpha=st.floats(1.05, 2.0), seed=st.integers(0, 2**32))
def test_symmetric_s0_equals_s1(alpha, seed):
    a = stable.sample(alpha, 0.0, size=100, seed=seed, param="S0")
    b = stable.sample(alpha, 0.0, size=100, seed=seed, param="S1")
    np.testing.assert_array_equal(a, b)


def test_kappa():
    assert stable.kappa(2.0) == 2.0
    assert stable.kappa(1.5) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="alpha"):
        stable.kappa(1.0)


BAD_SAMPLE = [
    (dict(alpha=0.0), "alpha"),
    (dict(alpha=2.1), "alpha"),
    (dict(alpha=float("nan")), "alpha"),
    (dict(beta=1.5), "beta"),
    (dict(beta=-1.01), "beta"),
    (dict(sigma=0.0), "sigma"),
    (dict(sigma=-1.0), "sigma"),
    (dict(mu=float("inf")), "mu"),
    (dict(size=0), "size"),
    (dict(size=2.5), "size"),
    (dict(seed=-1), "seed"),
    (dict(param="S2"), "param"),
]


@pytest.mark.parametrize("bad, name", BAD_SAMPLE)
def test_sample_bad_input(bad, name):
    kw = dict(alpha=1.5, beta=0.0, sigma=1.0, mu=0.0, size=10, seed=0) | bad
    with pytest.raises(ValueError, match=name):
        stable.sample(**kw)
    with pytest.raises(ValueError, match=name):
        stable.sample_reference(**kw)


BAD_TRIALS = [
    (dict(alpha=-0.5), r"alpha must lie in \(0, 2\]"),
    (dict(sigma=0.0), "sigma"),
    (dict(n=0), "n must"),
    (dict(trials=0), "trials"),
    (dict(estimator="mode"), "estimator must be one of"),
    (dict(trim=0.5), r"trim must lie in \[0, 0.5\)"),
    (dict(clip=0.0), "clip"),
    (dict(signal=float("nan")), "signal"),
]


@pytest.mark.parametrize("bad, name", BAD_TRIALS)
def test_trial_means_bad_input(bad, name):
    kw = dict(alpha=1.5, sigma=1.0, signal=0.0, n=10, trials=3, seed=0) | bad
    with pytest.raises(ValueError, match=name):
        stable.trial_means(**kw)
    with pytest.raises(ValueError, match=name):
        stable.trial_means_reference(**kw)
