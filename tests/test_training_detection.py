"""E6: the lag-resolved gradients, the detection-size estimator and its controls."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="the training tests need the 'train' extra")

import torch

from verify import recurrences as rec
from verify.training import detection_size as ds
from verify.training import gradient_detection as gd
from verify.training.diagnostics import _tangents, random_directions
from verify.training.lag_signal import INPUT_WEIGHTS, injection_positions, lag_contributions
from verify.training.models import Model, readout, run_states
from verify.training.task import TaskConfig, make_batch

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)

LOG_F = np.linspace(0.0, -2.0, 8)


@pytest.mark.parametrize("arch", ["gru", "lstm", "diaggate"])
def test_lag_contribution_is_the_finite_difference_of_one_injection(arch):
    # one direction, one position: g[0, n, j] = e_{s+l} * d y_{s+l} / d eps, checked by a
    # central difference of the output with the input weights perturbed at s only
    task = TaskConfig(inputs=2, steps=12, lags=(1, 3, 5), coefs=(0.5,) * 3, seed=1)
    model = Model(arch, 4, 2, rec.make_spectrum("chrono", t_max=8.0), seed=2)
    b = make_batch(task, 3, "psi")
    out = lag_contributions(model, b.x, b.y, task.lags, n_directions=1, n_positions=1, seed=5)
    (s0,) = out["positions"]
    params = {k: v.detach() for k, v in model.canonical().items()}
    keys = list(INPUT_WEIGHTS[arch])
    v, _ = random_directions(params, 1, 5, keys)
    tangent = _tangents(params, v, keys)[0]
    x = torch.as_tensor(b.x)

    def y_at(eps):
        delta = {k: eps * t for k, t in tangent.items()}
        states = run_states(arch, params, x, s_const=model.s_const, inject=(s0, delta))
        return readout(params, states).numpy()

    h = 1e-6
    dy = (y_at(h) - y_at(-h)) / (2 * h)
    e = y_at(0.0) - b.y
    for j, lag in enumerate(task.lags):
        t = s0 + lag
        np.testing.assert_allclose(out["g"][0, :, j], e[:, t] * dy[:, t], rtol=1e-5, atol=1e-9)
    total = np.sum((e * dy)[:, s0:], axis=1)
    np.testing.assert_allclose(out["total"][0], total, rtol=1e-5, atol=1e-9)


def test_injection_positions_leave_room_for_the_longest_lag():
    assert injection_positions(128, 96, 4) == [0, 10, 21, 31]
    with pytest.raises(ValueError, match="max_lag"):
        injection_positions(10, 10, 2)


def test_evidence_signs_come_from_the_other_half():
    g, total = ds.synthetic_contributions(1.8, LOG_F, sequences=512, seed=1)
    x, signs = ds.evidence(g, total, "own")
    assert x.shape == (256, len(LOG_F))
    np.testing.assert_array_equal(signs, np.sign(g[:, :256].mean(axis=1)))
    with pytest.raises(ValueError, match="view"):
        ds.evidence(g, total, "flipped")


def test_crossing_interpolates_and_censors():
    ns = np.array([2, 4, 8, 16])
    power = np.array([[0.95, 0.1, 0.1], [0.99, 0.5, 0.1], [1.0, 0.9, 0.1], [1.0, 1.0, 0.2]])
    cr = ds.crossing(power, ns)
    assert cr["left_censored"].tolist() == [True, False, False]
    assert cr["n_det"][1] == pytest.approx(8.0)
    assert np.isinf(cr["n_det"][2])
    assert cr["lo"][1] <= cr["n_det"][1] <= cr["hi"][1]


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_synthetic_slope_is_minus_kappa(alpha):
    # the theorem's model with a known alpha: the estimator gives back -kappa, not -alpha
    g, total = ds.synthetic_contributions(alpha, LOG_F, sequences=4096, seed=3)
    m = ds.measure_network(g, total, LOG_F, view="own", seed=3)
    kappa = alpha / (alpha - 1.0)
    assert m["measurable"].sum() >= 6
    assert abs(m["alpha"] - alpha) < 0.05
    assert abs(m["slope"] + kappa) < 0.5
    assert abs(m["log_prefactor_ratio"]) < np.log(2.0)
    if alpha < 2.0:
        assert abs(m["slope"] + alpha) > 1.0


def test_random_signs_make_every_lag_undetectable():
    # a signal weak against its noise (as on real gradients): with random signs per sequence
    # the evidence is the symmetric noise law the test is calibrated for
    g, total = ds.synthetic_contributions(1.7, LOG_F, sequences=2048, n_first=300.0, seed=4)
    xi = np.random.default_rng(0).choice([-1.0, 1.0], size=(1, g.shape[1], 1))
    m = ds.measure_network(g * xi, total * xi[..., 0], LOG_F, view="own", seed=4)
    assert np.all(np.isinf(m["n_det"]))
    # the false-alarm rate at the largest N stays near the level delta0 = 0.05
    assert np.mean(m["power_at_max"]) < 0.12


def test_equivalence_decides_by_the_margin():
    assert gd.equivalence([0.1, -0.1, 0.05, 0.0])["verdict"] == "pass"
    assert gd.equivalence([1.5, 1.4, 1.6])["verdict"] == "fail"
    assert gd.equivalence([-1.0, 1.0, 0.0])["verdict"] == "inconclusive"
    assert gd.equivalence([0.0])["verdict"] == "inconclusive"  # one replicate cannot decide


@pytest.mark.slow  # the positive control alone is 8 synthetic networks of 8192 sequences
def test_check_e6_is_inconclusive_without_measurable_networks():
    # one network whose signal is far too weak for its sequences: the check cannot decide
    g, total = ds.synthetic_contributions(1.8, LOG_F, sequences=256, n_first=1e6, seed=6)
    res = gd.check_e6([("weak", {"init": {"g": g, "total": total, "log_f": LOG_F}})], seed=1)
    assert res.verdict == "inconclusive"
    assert res.negative_control["rejected"]
    assert res.params["positive_control"]["recovered"]
    assert res.params["positive_control"]["v1_rejected"]
