"""Envelope-law fits: recovery of known laws, model choice, hand-off to theory."""

import numpy as np
import pytest

import theory
from verify import recurrences as rec
from verify.recurrences.fit import LAW_NAMES, fit_envelope, law_log_values

TRUTH = {
    "exponential": dict(A=2.0, tau=15.0),
    "polynomial": dict(A=3.0, beta=1.3),
    "logarithmic": dict(A=1.5, gamma=2.0),
    "stretched_exponential": dict(A=1.0, tau=5.0, gamma=0.5),
    "tempered_power_law": dict(A=2.0, beta=0.8, lam=40.0),
}


@pytest.mark.parametrize("name", LAW_NAMES)
def test_fit_recovers_law_and_chooses_it(name):
    lags = np.arange(1, 200)
    rng = np.random.default_rng(50)
    noise = 0.01  # log-scale noise: parameters recovered to ~1 % (checked at 3 %)
    y = law_log_values(name, TRUTH[name], lags) + noise * rng.standard_normal(len(lags))
    res = fit_envelope(y, lags=lags, log=True)
    assert res.best_name == name, res.table()
    for k, v in TRUTH[name].items():
        assert res.fit(name).params[k] == pytest.approx(v, rel=0.03), k
    assert isinstance(res.best, theory.LAWS[name])
    np.testing.assert_allclose(
        np.log(res.best(lags.astype(float))),
        law_log_values(name, res.fit(name).params, lags),
        rtol=1e-10,
    )
    assert [r["delta"] for r in res.table()][0] == 0.0


def test_wrong_law_fits_badly():
    # control: a polynomial envelope is not fitted well by an exponential
    lags = np.arange(1, 200)
    y = law_log_values("polynomial", TRUTH["polynomial"], lags)
    res = fit_envelope(y, lags=lags, log=True, laws=("exponential", "polynomial"))
    assert res.fit("exponential").rss > 1e3 * res.fit("polynomial").rss
    assert res.best_name == "polynomial"


def test_measured_envelope_flows_into_window():
    spec = theory.spectra.Homogeneous(0.9)
    net = rec.ConstGate.init(4, 2, spec, seed=51, recurrent_scale=0.0)
    res = rec.measure_envelope(net, rec.random_inputs(2, 80, 2, seed=52), 60, order="exact")
    fit = fit_envelope(res)
    assert fit.best_name == "exponential"
    assert fit.best.params["tau"] == pytest.approx(-1 / np.log(0.9), rel=1e-9)
    assert fit.best.params["A"] == pytest.approx(4.0, rel=1e-9)
    window = theory.learnability_window(fit.best, alpha=1.5)
    assert window(10**6) > window(10**3) > 0


def test_fit_bad_input():
    with pytest.raises(ValueError, match="criterion must be one of"):
        fit_envelope(np.ones(10), criterion="waic")
    with pytest.raises(ValueError, match="laws must be a non-empty subset"):
        fit_envelope(np.ones(10), laws=("gaussian",))
    with pytest.raises(ValueError, match="envelope values f must be >= 0"):
        fit_envelope(-np.ones(10))
    with pytest.raises(ValueError, match="at least 4 finite values"):
        fit_envelope(np.ones(4))
    with pytest.raises(ValueError, match="lags must have shape"):
        fit_envelope(np.ones(10), lags=np.arange(9))
