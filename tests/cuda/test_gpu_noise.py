"""GPU alpha-stable sampler, trial means and detection Monte Carlo, against exact laws and
the CPU kernels (in distribution: the GPU streams are xoroshiro128+, the CPU's PCG64).

Every distributional check is a KS test at level ``LEVEL`` (a false alarm per check of
1e-3), each with a negative control that the same test must reject.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from theory import Detection
from verify import detection, device
from verify.gpu import noise, streams
from verify.noise import cms, stable

LEVEL = 1e-3


def ks_p(x, cdf):
    return stats.kstest(x, cdf).pvalue


@pytest.mark.parametrize(
    "alpha,beta,sigma,mu",
    [(1.5, 0.0, 1.0, 0.0), (1.2, 0.5, 2.0, 1.0), (1.0, 0.0, 1.0, 0.0), (2.0, 0.0, 0.5, 0.0)],
)
def test_gpu_sampler_matches_levy_stable(alpha, beta, sigma, mu):
    x = stable.sample(alpha, beta, sigma, mu, size=1500, seed=11, device="cuda")
    assert x.shape == (1500,) and np.all(np.isfinite(x))
    law = stats.levy_stable(alpha, beta, loc=mu, scale=sigma)
    assert ks_p(x, law.cdf) > LEVEL
    # negative control: the same test rejects a scale 1.5 times too large
    wrong = stats.levy_stable(alpha, beta, loc=mu, scale=1.5 * sigma)
    assert ks_p(x, wrong.cdf) < LEVEL


def test_gpu_sampler_exact_special_cases():
    x = stable.sample(2.0, size=1000, seed=3, device="cuda")
    assert ks_p(x, stats.norm(scale=math.sqrt(2.0)).cdf) > LEVEL
    c = stable.sample(1.0, size=1000, seed=4, device="cuda")
    assert ks_p(c, stats.cauchy().cdf) > LEVEL
    assert ks_p(c, stats.norm(scale=math.sqrt(2.0)).cdf) < LEVEL


def test_gpu_sampler_is_reproducible_and_seeded():
    a = stable.sample(1.5, size=300, seed=5, device="cuda")
    b = stable.sample(1.5, size=300, seed=5, device="cuda")
    c = stable.sample(1.5, size=300, seed=6, device="cuda")
    assert np.array_equal(a, b)
    assert not np.any(a == c)


def test_gpu_sampler_s0_shift():
    x1 = stable.sample(1.5, 0.5, size=200, seed=8, device="cuda")
    x0 = stable.sample(1.5, 0.5, size=200, seed=8, param="S0", device="cuda")
    np.testing.assert_allclose(x1 - x0, 0.5 * math.tan(0.75 * math.pi), rtol=1e-12)


def test_gpu_trial_means_follow_the_stability_law():
    # the mean of n SaS(sigma) draws is SaS(sigma n^(1/alpha - 1)): exact, no CPU involved
    alpha, n, sigma = 1.5, 40, 1.0
    m = stable.trial_means(alpha, sigma, 0.0, n=n, trials=400, seed=9, device="cuda")
    scale = sigma * n ** (1.0 / alpha - 1.0)
    assert ks_p(m, stats.levy_stable(alpha, 0.0, scale=scale).cdf) > LEVEL
    # negative control: the Gaussian-rate scale n^(-1/2) instead of n^(-1/kappa)
    wrong = stats.levy_stable(alpha, 0.0, scale=sigma * n**-0.5)
    assert ks_p(m, wrong.cdf) < LEVEL


@pytest.mark.parametrize("estimator", ["mean", "clipped"])
def test_gpu_trial_statistics_match_cpu_in_distribution(estimator):
    kw = dict(n=30, trials=150, estimator=estimator)
    g = stable.trial_means(1.3, 1.0, 0.2, seed=12, device="cuda", **kw)
    c = stable.trial_means(1.3, 1.0, 0.2, seed=13, device="cpu", **kw)
    assert stats.ks_2samp(g, c).pvalue > LEVEL
    # negative control: a CPU run with the signal moved by one noise scale is rejected
    shifted = stable.trial_means(1.3, 1.0, 1.2, seed=13, device="cpu", **kw)
    assert stats.ks_2samp(g, shifted).pvalue < LEVEL


def test_gpu_trial_means_span_several_parts():
    # n > PART: every trial is summed from several streams; the law is still exact
    from verify.gpu.noise import PART

    n = PART + 37
    m = stable.trial_means(2.0, 1.0, 0.0, n=n, trials=24, seed=14, device="cuda")
    assert ks_p(m, stats.norm(scale=math.sqrt(2.0 / n)).cdf) > LEVEL


def test_gpu_detection_kernel_counts_what_the_means_show():
    det = Detection(alpha=1.5, sigma=1.0, epsilon=2.0, delta=0.1, c=1.0)
    n, trials, seed, mean = 50, 200, 21, 0.3
    p = detection.simulate_power(det, mean, n, trials=trials, seed=seed, device="cuda")
    means = stable.trial_means(det.alpha, det.sigma, mean, n=n, trials=trials, seed=seed,
                               device="cuda")  # fmt: skip
    factor = det.stat_scale * float(n) ** (1.0 / det.rate)
    assert p.hits == int(np.count_nonzero(factor * np.abs(means) > det.epsilon))
    # and the power agrees with the exact prediction (binomial, two-sided at LEVEL)
    pval = stats.binomtest(p.hits, trials, p.predicted).pvalue
    assert pval > LEVEL
    # negative control: the prediction for a signal twice as large is rejected
    wrong = detection.predicted_power(det, 2 * mean, n)
    assert stats.binomtest(p.hits, trials, wrong).pvalue < LEVEL


def test_gpu_has_no_median_kernel():
    with pytest.raises(ValueError, match="estimator='median'.*device='cpu'"):
        stable.trial_means(1.5, n=5, trials=2, seed=0, estimator="median", device="cuda")


# --------------------------------------------------------------------- exact stream layout
def _tolerance():
    # the simulator runs the kernels' Python with the C library's math: bit-identical to the
    # reference; a GPU evaluates the same formula with libdevice (agreement to rounding)
    return dict(rtol=0, atol=0) if device.simulator_enabled() else dict(rtol=1e-12, atol=0)


@given(
    alpha=st.floats(0.5, 2.0),
    beta=st.floats(-1.0, 1.0),
    sigma=st.floats(0.1, 10.0),
    mu=st.floats(-5.0, 5.0),
    size=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
    param=st.sampled_from(["S1", "S0"]),
)
def test_gpu_sample_follows_its_documented_stream_layout(alpha, beta, sigma, mu, size, seed,
                                                         param):  # fmt: skip
    # element j comes from stream j % streams, from its (j // streams)-th (u, w) pair
    x = stable.sample(alpha, beta, sigma, mu, size=size, seed=seed, param=param, device="cuda")
    streams_ = -(-size // noise.SAMPLE_STREAM)
    draws = 2 * -(-size // streams_)
    u = streams.reference_uniforms(streams.key(seed), streams_, draws)
    ab, log_s = cms.constants(alpha, beta)
    loc = mu - sigma * cms.s0_shift(alpha, beta, param)
    ref = np.empty(size)
    for j in range(size):
        i, d = j % streams_, j // streams_
        w = -math.log1p(-u[i, 2 * d + 1])
        ref[j] = loc + sigma * cms.transform(u[i, 2 * d], w, alpha, beta, ab, log_s)
    np.testing.assert_allclose(x, ref, **_tolerance())


def test_gpu_trial_means_follow_their_documented_parts():
    # trial t, part p is stream t * parts + p; parts are summed in order, then divided by n
    n, trials, seed, alpha = 2 * noise.PART + 5, 2, 32, 1.7
    m = stable.trial_means(alpha, 1.0, 0.5, n=n, trials=trials, seed=seed, device="cuda")
    parts = -(-n // noise.PART)
    u = streams.reference_uniforms(streams.key(seed), trials * parts, 2 * noise.PART)
    ab, log_s = cms.constants(alpha, 0.0)
    ref = []
    for t in range(trials):
        total = 0.0
        for p in range(parts):
            k, s = t * parts + p, 0.0
            for d in range(min(noise.PART, n - p * noise.PART)):
                w = -math.log1p(-u[k, 2 * d + 1])
                s += 0.5 + cms.transform(u[k, 2 * d], w, alpha, 0.0, ab, log_s)
            total += s
        ref.append(total / n)
    np.testing.assert_allclose(m, ref, **_tolerance())


def test_gpu_clipping_is_in_units_of_sigma():
    kw = dict(n=20, trials=8, seed=33, device="cuda")
    mean = stable.trial_means(1.5, 2.0, 0.3, **kw)
    loose = stable.trial_means(1.5, 2.0, 0.3, estimator="clipped", clip=1e300, **kw)
    assert np.array_equal(mean, loose)
    tight = stable.trial_means(1.5, 2.0, 1e6, estimator="clipped", clip=1e-6, **kw)
    np.testing.assert_allclose(tight, 2e-6, rtol=1e-12)  # every sample clipped to clip * sigma


def test_gpu_seed_sequence_advances_like_the_cpu():
    ss = np.random.SeedSequence(34)
    a = stable.sample(1.5, size=50, seed=ss, device="cuda")
    b = stable.sample(1.5, size=50, seed=ss, device="cuda")
    assert ss.n_children_spawned == 2
    assert not np.any(a == b)
    assert np.array_equal(stable.sample(1.5, size=50, seed=34, device="cuda"), a)


def test_gpu_sampler_alpha_one_skewed():
    x = stable.sample(1.0, 0.5, size=1500, seed=35, device="cuda")
    assert ks_p(x, stats.levy_stable(1.0, 0.5).cdf) > LEVEL
    assert ks_p(x, stats.levy_stable(1.0, -0.5).cdf) < LEVEL


def test_cuda_context_routes_what_has_a_kernel():
    det = Detection(alpha=1.5)
    with device.using("cuda"):
        x = stable.sample(1.5, size=40, seed=36)
        m = stable.trial_means(1.5, n=10, trials=6, seed=37)
        p = detection.simulate_power(det, 0.5, 10, trials=6, seed=38)
        med = stable.trial_means(1.5, n=10, trials=6, seed=39, estimator="median")
        sc = detection.simulate_power(det, 0.5, 10, trials=30, seed=40, method="shortcut")
    assert np.array_equal(x, stable.sample(1.5, size=40, seed=36, device="cuda"))
    assert np.array_equal(m, stable.trial_means(1.5, n=10, trials=6, seed=37, device="cuda"))
    assert p == detection.simulate_power(det, 0.5, 10, trials=6, seed=38, device="cuda")
    # no GPU median: the context falls back to the CPU kernel
    cpu_med = stable.trial_means(1.5, n=10, trials=6, seed=39, estimator="median", device="cpu")
    assert np.array_equal(med, cpu_med)
    # the stability shortcut draws one GPU sample per trial
    z = stable.trial_means_shortcut(1.5, 1.0, 0.5, n=10, trials=30, seed=40, device="cuda")
    factor = det.stat_scale * 10.0 ** (1.0 / det.rate)
    assert sc.hits == int(np.count_nonzero(factor * np.abs(z) > det.epsilon))
