"""The multi-lag task: planted lags, seeded streams, the unbiased kernel estimator."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify.training.task import TaskConfig, kernel_estimate, make_batch


def test_target_is_the_planted_sum_without_noise():
    task = TaskConfig(inputs=3, steps=20, lags=(1, 4, 7), coefs=(0.5, 0.3, 0.2), noise_scale=0.0)
    b = make_batch(task, 5, "train", 0)
    u = task.direction()
    np.testing.assert_allclose(b.s, b.x @ u)
    expect = np.zeros((5, 20))
    for lag, c in zip(task.lags, task.coefs, strict=True):
        expect[:, lag:] += c * b.s[:, :-lag]
    np.testing.assert_allclose(b.y, expect, rtol=0, atol=1e-15)
    assert np.isclose(np.linalg.norm(u), 1.0)


def test_removed_lag_is_absent_and_shuffled_targets_belong_to_other_inputs():
    base = TaskConfig(inputs=2, steps=16, lags=(1, 3), coefs=(0.5, 0.5), noise_scale=0.0)
    rem = TaskConfig(**{**base.as_dict(), "removed": (3,)})
    shf = TaskConfig(**{**base.as_dict(), "shuffle_targets": True})
    b, r, s = (make_batch(t, 4, "train", 2) for t in (base, rem, shf))
    np.testing.assert_array_equal(b.x, r.x)
    np.testing.assert_allclose(r.y[:, 1:], 0.5 * b.s[:, :-1])
    np.testing.assert_array_equal(s.y, np.roll(b.y, 1, axis=0))


@given(seed=st.integers(0, 2**31 - 1), index=st.integers(0, 50))
def test_batches_are_pure_functions_of_their_key(seed, index):
    task = TaskConfig(inputs=2, steps=12, lags=(1, 2), coefs=(0.5, 0.5), noise_alpha=1.5, seed=seed)
    a, b = make_batch(task, 3, "train", index), make_batch(task, 3, "train", index)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    other = make_batch(task, 3, "heldout", index)
    assert not np.array_equal(a.x, other.x)


@given(
    coefs=st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3),
    seed=st.integers(0, 2**20),
)
def test_kernel_estimator_recovers_a_known_linear_model(coefs, seed):
    # y_hat = sum_k a_k s_{t-l_k}: E[y_hat_t s_{t-l}] = a_l exactly, 0 at other lags
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((400, 40))
    lags = (1, 3, 6)
    y_hat = np.zeros_like(s)
    for lag, a in zip(lags, coefs, strict=True):
        y_hat[:, lag:] += a * s[:, :-lag]
    est, lo, hi = kernel_estimate(y_hat, s, (*lags, 5), seed=seed)
    se = np.sqrt(np.sum(np.square(coefs)) / (400 * 34)) + 1e-12
    # 5 standard errors: false alarm < 1e-6 per value, negligible over the examples
    np.testing.assert_allclose(est, [*coefs, 0.0], rtol=0, atol=5 * se + 1e-12)
    assert np.all(lo <= est) and np.all(est <= hi)


def test_kernel_estimator_is_unbiased_over_repetitions():
    # the mean over independent repetitions converges to the coefficient (no shrinkage)
    rng = np.random.default_rng(7)
    reps = []
    for _ in range(200):
        s = rng.standard_normal((20, 30))
        y_hat = np.zeros_like(s)
        y_hat[:, 2:] = 0.7 * s[:, :-2] + rng.standard_normal((20, 28))
        reps.append(kernel_estimate(y_hat, s, (2,), n_boot=10)[0][0])
    se = np.std(reps) / np.sqrt(len(reps))
    assert abs(np.mean(reps) - 0.7) < 4 * se


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"lags": (3, 2), "coefs": (1, 1)}, "lags"),
        ({"lags": (1, 200), "coefs": (1, 1)}, "lags"),
        ({"lags": (1, 2), "coefs": (1,)}, "coefs"),
        ({"noise_alpha": 1.0}, "noise_alpha"),
        ({"removed": (5,)}, "removed"),
        ({"inputs": 0}, "inputs"),
    ],
)
def test_bad_task_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TaskConfig(**kwargs)


def test_bad_stream_is_named():
    with pytest.raises(ValueError, match="stream"):
        make_batch(TaskConfig(), 2, "test")
