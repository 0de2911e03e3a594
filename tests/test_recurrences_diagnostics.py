"""The recurrence claims C6-C9, each with a negative control."""

import numpy as np
import pytest

from theory import spectra
from verify import recurrences as rec
from verify.recurrences import diagnostics as dg

SPECTRA = [
    spectra.Homogeneous(0.95),
    spectra.BetaRetention(4.5, 0.5),
    spectra.UniformRetention(0.5),
    spectra.LogUniformTimescales(2.0, 200.0),
]


@pytest.mark.parametrize("spec", SPECTRA, ids=repr)
def test_c6_networks_reproduce_spectrum_envelope(spec):
    res = dg.spectrum_envelope_check(spec, seed=60)
    assert res["passed"], (res["max_abs_z"], res["max_rel_error"])
    assert res["max_abs_z"] < 5.0


def test_c6_exact_transport_also_reproduces_it():
    res = dg.spectrum_envelope_check(SPECTRA[1], hidden=64, max_lag=60, order="exact", seed=61)
    assert res["passed"], (res["max_abs_z"], res["max_rel_error"])


def test_c6_wrong_spectrum_is_rejected():
    # same mean retention (0.9), different spread: the envelopes differ by many MC errors
    res = dg.spectrum_envelope_check(
        spectra.BetaRetention(4.5, 0.5), reference=spectra.UniformRetention(0.8), seed=62
    )
    assert not res["passed"] and res["max_abs_z"] > 10


def test_c6_broad_spectrum_has_larger_window():
    res = dg.broad_spectrum_windows(spectra.Homogeneous(0.9), spectra.BetaRetention(4.5, 0.5))
    assert res["passed"]
    assert res["law_names"]["narrow"] == "exponential"
    assert res["windows_broad"][-1] > 10 * res["windows_narrow"][-1]
    # control: the same spectrum twice gives no such gap
    same = dg.broad_spectrum_windows(spectra.Homogeneous(0.9), spectra.Homogeneous(0.9))
    assert not same["passed"]


def _nets():
    for kind, cls in [
        ("constgate", rec.ConstGate),
        ("sharedgate", rec.SharedGate),
        ("diaggate", rec.DiagGate),
        ("gru", rec.GRU),
        ("lstm", rec.LSTM),
    ]:
        spec = (
            spectra.Homogeneous(0.9)
            if kind in ("constgate", "sharedgate")
            else spectra.BetaRetention(9.0, 1.0)
        )
        yield kind, cls.init(16, 4, spec, seed=3, recurrent_scale=0.5)


@pytest.mark.parametrize("kind,net", list(_nets()), ids=lambda v: v if isinstance(v, str) else "")
def test_c7_first_order_is_faithful(kind, net):
    res = dg.first_order_fidelity(net, rec.random_inputs(4, 64, 4, seed=4), max_lag=48)
    assert res["rho"] >= 0.972  # the paper's minimum
    assert res["mean_unit_rho"] >= 0.95
    assert res["max_abs_log_error"] < 0.2


def test_c7_sign_flipped_correction_is_detected():
    base = rec.DiagGate.init(16, 4, spectra.BetaRetention(9, 1), seed=5, recurrent_scale=0.2)
    net = rec.DiagGate(base.w_x, base.w_h + 0.3 * np.eye(16), base.b, base.w_s, base.u_s, base.b_s)
    x = rec.random_inputs(4, 64, 4, seed=6)
    good = dg.first_order_fidelity(net, x, 48)
    bad = dg.first_order_fidelity(net, x, 48, correction_sign=-1.0)
    assert good["conservative"] and good["frac_lags_below"] == 1.0
    assert bad["max_abs_log_error"] > 5 * good["max_abs_log_error"]
    assert bad["mean_unit_rho"] < good["mean_unit_rho"]


def test_c8_stable_networks_with_different_windows():
    res = dg.stability_vs_learnability()
    assert np.all(res["norms"] < 1.0)
    assert res["ratio"] >= 10 and res["passed"]
    # control: two stable networks with the same retention have similar windows
    same = dg.stability_vs_learnability(retentions=(0.98, 0.98))
    assert np.all(same["norms"] < 1.0) and same["ratio"] < 2 and not same["passed"]


def test_c9_adam_rates_reshape_envelope():
    net = rec.GRU.init(16, 4, spectra.BetaRetention(9, 1), seed=7)
    x = rec.random_inputs(4, 64, 4, seed=8)
    z = net.forward(x).gates["z"].mean(axis=(0, 1))
    # fast units (small retention) see larger gradients: larger second moments
    v = np.tile(((1 - z) ** 2)[:, None], (3, 16))
    res = dg.optimizer_reshapes_envelope(net, x, 48, v_hat=v, lr=1e-3)
    assert res["max_abs_log_shape_change"] > 0.5 and res["rate_spread"] > 10
    # control: uniform second moments rescale but do not reshape the envelope
    flat = dg.optimizer_reshapes_envelope(net, x, 48, v_hat=np.full((48, 16), 0.3), lr=1e-3)
    assert flat["max_abs_log_shape_change"] < 1e-12


def test_tail_regime_names_power_laws_and_exponentials():
    lags = np.arange(301)
    power = spectra.BetaRetention(9.0, 1.0)
    res = dg.tail_regime(lags, power.log_envelope(lags), 37)
    assert res["regime"] == "power" and -1.0 < res["loglog_slope"] < -0.8
    expo = dg.tail_regime(lags, lags * np.log(0.9), 37)
    assert expo["regime"] == "exponential"
    assert expo["semilog_slope"] == pytest.approx(np.log(0.9), rel=1e-12)
    with pytest.raises(ValueError, match="start"):
        dg.tail_regime(lags, lags * np.log(0.9), 299)


@pytest.mark.parametrize("r", [0.3, 0.7, 0.95])
def test_equal_bound_constgate_respects_its_bound(r):
    net = dg.equal_bound_constgate(8, 2, r, 0.99, seed=1)
    x = rec.random_inputs(2, 50, 2, seed=2)
    assert dg.max_jacobian_norm(net, x) <= 0.99
    with pytest.raises(ValueError, match="retention"):
        dg.equal_bound_constgate(8, 2, 0.995, 0.99)


def test_sequence_envelopes_average_to_the_batch_envelope():
    net = rec.GRU.init(8, 2, rec.Chrono(t_max=20), seed=3)
    x = rec.random_inputs(3, 40, 2, seed=4)
    seq = dg.sequence_log_envelopes(net, x, 20)
    batch = rec.measure_envelope(net, x, 20).log_f
    np.testing.assert_allclose(np.log(np.exp(seq).mean(axis=0)), batch, rtol=0, atol=1e-12)


def test_expansion_accuracy_first_beats_zeroth_and_scaled_corrections():
    net = rec.DiagGate.init(16, 4, spectra.BetaRetention(9, 1), seed=5, recurrent_scale=0.5)
    res = dg.expansion_accuracy(net, rec.random_inputs(2, 64, 4, seed=6), 32)
    assert res["sq_err_first"] < 0.5 * res["sq_err_zeroth"]
    k3 = list(res["scales"]).index(3.0)
    assert res["sq_err_scaled"][k3] > res["sq_err_zeroth"]
