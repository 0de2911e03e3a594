"""Tests of the tail-index estimators (THEORY.md section 6)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from verify.noise import accuracy as tail_accuracy
from verify.noise import stable, tail


@pytest.fixture(scope="module")
def sas15():
    return stable.sample(1.5, 0.0, 2.0, size=200_000, seed=17)


@pytest.mark.parametrize("alpha, beta", [(1.5, 0.0), (1.2, 0.6), (1.8, -0.4), (0.9, 0.3)])
def test_mcculloch_matches_scipy_fitstart(monkeypatch, alpha, beta):
    # an independent implementation of the same published tables and interpolation
    monkeypatch.setattr(stats.levy_stable, "parameterization", "S1")
    x = stable.sample(alpha, beta, 1.3, 0.4, size=50_000, seed=3)
    ours = tail.estimate(x, "mcculloch")
    a, b, loc, scale = stats.levy_stable._fitstart(x)
    np.testing.assert_allclose(
        [ours.alpha, ours.beta, ours.mu, ours.sigma], [a, b, loc, scale], rtol=1e-9, atol=1e-12
    )


def test_quick_accuracy_table():
    # one 200 000-sample repetition per alpha: the estimators' standard deviations are
    # about 0.003 (koutrouvelis), 0.006 (mcculloch) and 0.009 (blocksum); the bounds are
    # five of those, so a correct estimator fails with negligible probability
    t = tail_accuracy.accuracy_table((1.3, 1.7), n=200_000, reps=1, seed=1)
    bounds = {"mcculloch": 0.03, "koutrouvelis": 0.015, "blocksum": 0.045}
    for j, m in enumerate(t.methods):
        assert np.all(t.mae[:, j] <= bounds[m]), (m, t.mae[:, j])
        assert np.all(t.mae_sigma[:, j] <= 0.03), (m, t.mae_sigma[:, j])
    text = tail_accuracy.render_markdown(t)
    assert "| 1.3 |" in text and "koutrouvelis" in text and "Best:" in text


@pytest.mark.slow
def test_full_accuracy_grid_meets_the_paper():
    # THEORY.md section 6: MAE about 0.004-0.005 at n = 200 000, alpha 1.1 ... 2.0
    t = tail_accuracy.accuracy_table(n=200_000, reps=5, seed=0)
    best = t.best()
    j = t.methods.index(best)
    assert t.overall()[best] <= 0.005, tail_accuracy.render_markdown(t)
    assert np.all(t.mae[:, j] <= 0.005), tail_accuracy.render_markdown(t)


@pytest.mark.parametrize("method", tail.METHODS)
def test_estimates_near_truth(sas15, method):
    est = tail.estimate(sas15, method)
    assert est.method == method
    assert abs(est.alpha - 1.5) < 0.045
    assert abs(est.sigma - 2.0) < 0.06


def test_koutrouvelis_estimates_skewness_and_location():
    x = stable.sample(1.6, 0.5, 1.0, 3.0, size=200_000, seed=5)
    est = tail.estimate(x, "koutrouvelis")
    assert abs(est.alpha - 1.6) < 0.02
    assert abs(est.beta - 0.5) < 0.1
    assert abs(est.mu - 3.0) < 0.05


@pytest.mark.parametrize("method", tail.METHODS)
def test_bootstrap_interval_covers_truth_and_rejects_wrong_alpha(method):
    # a 99 % interval misses the truth with probability ~1 %; the wrong alpha must be outside
    x = stable.sample(1.5, size=20_000, seed=23)
    est = tail.estimate(x, method, ci=True, level=0.99, n_boot=40, seed=4)
    lo, hi = est.ci["alpha"]
    assert lo <= 1.5 <= hi
    assert not lo <= 1.7 <= hi
    s_lo, s_hi = est.ci["sigma"]
    assert s_lo <= 1.0 <= s_hi
    assert est.ci["level"] == 0.99
    again = tail.estimate(x, method, ci=True, level=0.99, n_boot=40, seed=4)
    assert again.ci == est.ci  # seeded


@pytest.mark.parametrize("n", [17, 100_003])  # primes: the remainder is dropped
def test_blocksum_any_sample_count(n):
    x = stable.sample(1.5, size=n, seed=2)
    est = tail.estimate(x, "blocksum", block_size=3 if n == 17 else 8)
    assert np.isfinite(est.alpha) and 0 < est.alpha <= 2
    if n > 1000:
        assert abs(est.alpha - 1.5) < 0.05


def test_blocksum_block_size_matters_and_negative_control():
    # Gaussian data: blocks scale as m^(1/2); Cauchy data: as m. The estimator tells them apart.
    g = tail.estimate(stable.sample(2.0, size=50_000, seed=8), "blocksum")
    c = tail.estimate(stable.sample(1.0, size=50_000, seed=8), "blocksum")
    assert abs(g.alpha - 2.0) < 0.1 and abs(c.alpha - 1.0) < 0.1


@given(scale=st.floats(1e-3, 1e3), method=st.sampled_from(tail.METHODS))
def test_sigma_scale_equivariance(scale, method):
    x = stable.sample(1.7, size=5000, seed=12)
    a = tail.estimate(x, method)
    b = tail.estimate(scale * x, method)
    assert b.alpha == pytest.approx(a.alpha, rel=1e-6)
    assert b.sigma == pytest.approx(scale * a.sigma, rel=1e-6)


BAD = [
    (dict(x=[np.nan] + [1.0] * 20), "non-finite"),
    (dict(x=[np.inf] + list(range(20))), "non-finite"),
    (dict(x=np.ones((5, 5))), "1-d"),
    (dict(x=np.arange(5.0)), "at least 16"),
    (dict(method="hill"), "method must be one of"),
    (dict(level=1.0), "level"),
    (dict(n_boot=3), "n_boot"),
    (dict(seed=-2), "seed"),
    (dict(block_size=1), "block_size"),
    (dict(block_size=100), "block_size"),
    (dict(x=np.ones(50)), "interquartile"),
]


@pytest.mark.parametrize("bad, msg", BAD)
def test_bad_input(bad, msg):
    kw = dict(x=np.arange(1.0, 51.0) - 25.5, method="mcculloch") | bad
    x = kw.pop("x")
    with pytest.raises(ValueError, match=msg):
        tail.estimate(x, **kw)


def test_accuracy_table_bad_input():
    with pytest.raises(ValueError, match="methods"):
        tail_accuracy.accuracy_table((1.5,), methods=("hill",), n=100, reps=1)
    with pytest.raises(ValueError, match="reps"):
        tail_accuracy.accuracy_table((1.5,), n=100, reps=0)


def test_cli_writes_markdown(tmp_path):
    out = tmp_path / "acc.md"
    assert tail_accuracy.main(["--out", str(out), "--n", "2000", "--reps", "1"]) == 0
    text = out.read_text()
    assert text.count("\n| ") == 12  # header, 10 alphas, mean and "| **mean** |" in text


# -- the fast ECF and the large-sample interval ------------------------------------------


def test_ecf_kernel_matches_the_numpy_definition_and_thread_count():
    z = stable.sample(1.3, size=(1 << 18) + 123, seed=3) / 2.0
    t = tail._DELTA * np.arange(1, 41)
    ref = tail._ecf(z[:5000], t)
    np.testing.assert_allclose(tail._ecf_grid(z[:5000], 40), ref, rtol=0, atol=1e-13)
    # the parallel and serial kernels sum the same fixed chunks: identical partial sums
    par = tail._ecf_powers_par(z, tail._DELTA, 40)
    ser = tail._ecf_powers_ser(z, tail._DELTA, 40)
    np.testing.assert_array_equal(par, ser)


def test_large_samples_use_a_subsampling_interval_that_covers_the_truth():
    # a 99 % interval misses the truth with probability ~1 % per method; 1.6 must be outside
    x = stable.sample(1.5, size=200_000, seed=31)
    for method in tail.METHODS:
        est = tail.estimate(x, method, ci=True, level=0.99, n_boot=40, seed=1)
        assert est.ci["resample_size"] == tail.subsample_size(x.size) == 10_000
        lo, hi = est.ci["alpha"]
        assert lo <= 1.5 <= hi and not lo <= 1.6 <= hi, (method, est.ci)
        assert est.ci["sigma"][0] <= 1.0 <= est.ci["sigma"][1], (method, est.ci)
        again = tail.estimate(x, method, ci=True, level=0.99, n_boot=40, seed=1)
        assert again.ci == est.ci


def test_subsample_size_grows_slower_than_n():
    assert tail.subsample_size(20_000) == 20_000  # full bootstrap up to here
    assert tail.subsample_size(10**6) == 10_000
    assert tail.subsample_size(10**8) == round(10 ** (16 / 3))
    assert tail.subsample_size(10**8) / 10**8 < 0.01


def test_sample_size_is_checked_before_anything_is_copied():
    huge = np.broadcast_to(0.0, (tail.MAX_SAMPLES + 1,))  # no memory behind it
    with pytest.raises(ValueError, match=r"x must hold at most"):
        tail.estimate(huge, "koutrouvelis", ci=True)
