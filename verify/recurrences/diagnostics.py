"""The recurrence claims C6-C9 of THEORY.md as functions returning plain data.

The per-unit rates are looked up as ``verify.recurrences.envelope.unit_rates`` at call time,
so replacing that one function (e.g. Adam's rates by SGD's) reaches every function here.

Every function is deterministic given its seeds and returns a ``dict`` of floats, arrays and
law objects; deciding pass/fail belongs to the caller (the ``passed`` entries apply the
thresholds stated in each docstring).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from theory._validate import check_in_range, check_int, check_positive

from . import envelope as _envelope
from .envelope import envelope_of_trajectory, measure_envelope
from .fit import fit_envelope
from .gated import ConstGate, DiagGate
from .init import random_inputs
from .transport import check_lag, check_net

__all__ = [
    "CORRECTION_SCALES",
    "broad_spectrum_windows",
    "equal_bound_constgate",
    "expansion_accuracy",
    "first_order_fidelity",
    "max_jacobian_norm",
    "optimizer_reshapes_envelope",
    "sequence_log_envelopes",
    "spectrum_envelope_check",
    "spearman",
    "spectrum_network",
    "stability_vs_learnability",
    "tail_regime",
]


def spectrum_network(spectrum, hidden=512, inputs=2, seed=0, weight_scale=1e-5) -> DiagGate:
    """A DiagGate whose retentions are drawn from ``spectrum``; all other weights tiny.

    With ``weight_scale`` small, ``W_h`` and ``U_s`` barely move the transport, which is then
    the retention product of each unit: the network realises the spectrum.
    """
    ws = check_in_range("weight_scale", weight_scale, 0.0)
    return DiagGate.init(
        hidden, inputs, spectrum, seed=seed, input_scale=1.0, recurrent_scale=ws,
        gate_input_scale=ws, gate_recurrent_scale=ws,
    )  # fmt: skip


def spectrum_envelope_check(spectrum, reference=None, hidden=512, max_lag=200, batch=2,
                            seed=0, order="first", weight_scale=1e-5, z=5.0,
                            rtol=1e-3) -> dict:  # fmt: skip
    """C6: a network drawn from a spectrum reproduces the spectrum's envelope.

    Measures ``f(l) / (eta H)`` of :func:`spectrum_network` and compares it with
    ``reference.envelope(l)`` (default: the spectrum itself).  The finite sample of
    ``H`` units makes the measured mean of ``r**l`` a Monte Carlo estimate with standard
    error ``se(l) = sqrt((E r^{2l} - (E r^l)^2) / H)`` (from the reference's own envelope at
    ``2l``).  ``passed`` when ``|measured - predicted| <= z se + rtol predicted`` at every lag
    (``rtol`` bounds the transport's residual dependence on the tiny weights; with
    ``z = 5`` the false-alarm rate per lag is below 1e-6).

    Returns
    -------
    dict
        ``lags, measured, predicted, mc_se, z_scores, max_abs_z, max_rel_error, passed``.
    """
    reference = spectrum if reference is None else reference
    hidden = check_int("hidden", hidden, lo=2)
    max_lag = check_int("max_lag", max_lag, lo=1)
    z = check_positive("z", z)
    rtol = check_in_range("rtol", rtol, 0.0)
    net = spectrum_network(spectrum, hidden, seed=seed, weight_scale=weight_scale)
    x = random_inputs(check_int("batch", batch), max_lag + 1, net.inputs, seed=seed + 1)
    res = measure_envelope(net, x, max_lag, order=order, lr=1.0)
    lags = res.lags
    measured = res.f / hidden
    predicted = np.asarray(reference.envelope(lags), dtype=float)
    second = np.asarray(reference.envelope(2 * lags), dtype=float)
    se = np.sqrt(np.maximum(second - predicted**2, 0.0) / hidden)
    err = np.abs(measured - predicted)
    bound = z * se + rtol * predicted
    with np.errstate(divide="ignore", invalid="ignore"):
        # z-scores only where the Monte Carlo error is resolved (a homogeneous spectrum has
        # none: there the check is the rtol term alone)
        zs = np.where(se > 1e-9 * predicted, (measured - predicted) / se, 0.0)
    return dict(
        lags=lags, measured=measured, predicted=predicted, mc_se=se, z_scores=zs,
        max_abs_z=float(np.max(np.abs(zs))), max_rel_error=float(np.max(err / predicted)),
        passed=bool(np.all(err <= bound)),
    )  # fmt: skip


def broad_spectrum_windows(narrow, broad, n_values=(1e3, 1e5, 1e7), alpha=1.5, hidden=512,
                           max_lag=200, seed=0, criterion="bic") -> dict:  # fmt: skip
    """C6: at equal mean retention, the broader spectrum gives the larger window at large N.

    Both spectra are realised as networks (:func:`spectrum_network`, ``eta = 1/H`` so that
    ``f(0) = 1``); their measured envelopes are fitted (:func:`fit_envelope`) and the fitted
    laws passed to :func:`theory.learnability_window`.  ``passed`` when the mean retentions
    agree to 1e-9, and the broad window exceeds the narrow one at the largest N.

    Returns
    -------
    dict
        ``n_values, laws, law_names, windows_narrow, windows_broad, mean_retention, passed``.
    """
    import theory

    out = {"laws": {}, "law_names": {}, "windows": {}}
    for label, spec in (("narrow", narrow), ("broad", broad)):
        net = spectrum_network(spec, hidden, seed=seed)
        x = random_inputs(2, max_lag + 1, net.inputs, seed=seed + 1)
        res = measure_envelope(net, x, max_lag, order="first", lr=1.0 / hidden)
        fit = fit_envelope(res, criterion=criterion)
        win = theory.learnability_window(fit.best, alpha)
        out["laws"][label] = fit.best
        out["law_names"][label] = fit.best_name
        out["windows"][label] = np.array([win(float(n)) for n in n_values], dtype=float)
    means = (float(narrow.mean_retention), float(broad.mean_retention))
    return dict(
        n_values=np.asarray(n_values, dtype=float), laws=out["laws"],
        law_names=out["law_names"], windows_narrow=out["windows"]["narrow"],
        windows_broad=out["windows"]["broad"], mean_retention=means,
        passed=bool(abs(means[0] - means[1]) < 1e-9
                    and out["windows"]["broad"][-1] > out["windows"]["narrow"][-1]),
    )  # fmt: skip


def spearman(a, b) -> float:
    """Spearman rho of the finite pairs of ``a`` and ``b`` (NaN under 3 or a constant side)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def first_order_fidelity(net, x, max_lag, optimizer="sgd", lr=1.0, v_hat=None,
                         correction_sign=1.0) -> dict:  # fmt: skip
    """C7: whether the first-order Gamma keeps the ordering of the exact transport over lags.

    Parameters
    ----------
    net, x, max_lag, optimizer, lr, v_hat
        As in :func:`verify.recurrences.measure_envelope`.
    correction_sign : float
        Multiplies the first-order correction; ``-1`` is the negative control.

    Returns
    -------
    dict
        ``lags``, ``log_f_first``, ``log_f_exact``, ``rho`` (Spearman over lags of the two
        envelopes), ``unit_rho`` (per unit, over lags of the per-unit envelopes),
        ``mean_unit_rho``, ``min_unit_rho``, ``decay_first``/``decay_exact`` (least-squares
        slope of ``-log f`` per lag, lags >= 1), ``conservative`` (first order decays at
        least as fast), ``frac_lags_below`` (share of lags >= 1 where the normalised first
        order lies at or below the normalised exact envelope) and ``max_abs_log_error``.
    """
    net = check_net(net)
    x = net.check_inputs(x)
    max_lag = check_lag(max_lag, x.shape[1])
    rates = _envelope.unit_rates(net, optimizer, lr, v_hat)
    traj = net.forward(x)
    first = envelope_of_trajectory(net, traj, max_lag, "first", rates, optimizer,
                                   correction_scale=float(correction_sign))  # fmt: skip
    exact = envelope_of_trajectory(net, traj, max_lag, "exact", rates, optimizer)
    lags = first.lags
    rho = spearman(first.log_f, exact.log_f)
    unit_rho = np.array([spearman(first.log_unit[:, q], exact.log_unit[:, q])
                         for q in range(net.hidden)])  # fmt: skip
    sel = lags >= 1
    nf = first.log_f - first.log_f[0]
    ne = exact.log_f - exact.log_f[0]

    def slope(y):
        ok = sel & np.isfinite(y)
        return float(-np.polyfit(lags[ok], y[ok], 1)[0])

    d_first, d_exact = slope(first.log_f), slope(exact.log_f)
    return dict(
        lags=lags, log_f_first=first.log_f, log_f_exact=exact.log_f, rho=rho,
        unit_rho=unit_rho, mean_unit_rho=float(np.nanmean(unit_rho)),
        min_unit_rho=float(np.nanmin(unit_rho)), decay_first=d_first, decay_exact=d_exact,
        conservative=bool(d_first >= d_exact),
        frac_lags_below=float(np.mean(nf[sel] <= ne[sel] + 1e-12)),
        max_abs_log_error=float(np.max(np.abs(first.log_f - exact.log_f))),
    )  # fmt: skip


def max_jacobian_norm(net, x) -> float:
    """Largest spectral norm of the full Jacobians ``J_t`` over sequences and positions."""
    net = check_net(net)
    jac = net.jacobians(net.forward(x))
    return float(np.max(np.linalg.norm(jac, ord=2, axis=(-2, -1))))


def stability_vs_learnability(
    retentions=(0.5, 0.98), hidden=16, steps=400, max_lag=300, recurrent_scale=0.1, n=1e6,
    alpha=1.5, seeds=(0, 1),
) -> dict:  # fmt: skip
    """C8: two numerically stable networks whose learnability windows differ widely.

    Two ConstGate networks with the given retentions and small recurrent weights: both have
    every Jacobian's spectral norm below 1.  Their exact envelopes (``eta = 1/H``) are fitted
    and passed to :func:`theory.learnability_window` at ``n``.  ``passed`` when both norms
    are < 1 and the window ratio (larger over smaller) is >= 10.

    Returns
    -------
    dict
        ``norms``, ``laws``, ``windows``, ``ratio``, ``passed``.
    """
    import theory
    from theory.spectra import Homogeneous

    norms, laws, windows = [], [], []
    for r, seed in zip(retentions, seeds, strict=True):
        spec = Homogeneous(check_in_range("retention", r, 0.0, 1.0, lo_open=True, hi_open=True))
        net = ConstGate.init(hidden, 2, spec, seed=seed, recurrent_scale=recurrent_scale)
        x = random_inputs(2, steps, 2, seed=seed + 100)
        norms.append(max_jacobian_norm(net, x))
        res = measure_envelope(net, x, max_lag, order="exact", lr=1.0 / hidden)
        fit = fit_envelope(res)
        laws.append(fit.best)
        windows.append(int(theory.learnability_window(fit.best, alpha)(float(n))))
    lo, hi = min(windows), max(windows)
    ratio = float("inf") if lo == 0 and hi > 0 else (hi / lo if lo > 0 else float("nan"))
    return dict(norms=np.array(norms), laws=laws, windows=np.array(windows), ratio=ratio,
                passed=bool(max(norms) < 1.0 and ratio >= 10.0))  # fmt: skip


def optimizer_reshapes_envelope(net, x, max_lag, v_hat, lr=1.0, eps=1e-8,
                                order="first") -> dict:  # fmt: skip
    """C9: Adam-like per-unit rates change the envelope's shape relative to SGD.

    Compares the envelopes normalised at lag 0, ``f(l) / f(0)``, for SGD and for Adam with
    second moments ``v_hat`` (so a uniform rescaling does not count).

    Returns
    -------
    dict
        ``lags``, ``log_f_sgd``, ``log_f_adam``, ``rates_adam``, ``max_abs_log_shape_change``
        (max over lags of ``|log(f_adam(l)/f_adam(0)) - log(f_sgd(l)/f_sgd(0))|``),
        ``rate_spread`` (max/min of the Adam rates).
    """
    net = check_net(net)
    x = net.check_inputs(x)
    max_lag = check_lag(max_lag, x.shape[1])
    traj = net.forward(x)
    sgd = envelope_of_trajectory(net, traj, max_lag, order, _envelope.unit_rates(net, "sgd", lr))
    rates = _envelope.unit_rates(net, "adam", lr, v_hat, eps)
    adam = envelope_of_trajectory(net, traj, max_lag, order, rates, "adam")
    shape = (adam.log_f - adam.log_f[0]) - (sgd.log_f - sgd.log_f[0])
    return dict(
        lags=sgd.lags, log_f_sgd=sgd.log_f, log_f_adam=adam.log_f, rates_adam=rates,
        max_abs_log_shape_change=float(np.max(np.abs(shape))),
        rate_spread=float(rates.max() / rates.min()),
    )  # fmt: skip


#: Multiples of the first-order correction scanned by :func:`expansion_accuracy`.
CORRECTION_SCALES = (0.5, 0.75, 1.25, 1.5, 2.0, 3.0)


def expansion_accuracy(net, x, max_lag, scales=CORRECTION_SCALES) -> dict:
    """C7 on one network: the first order against the exact transport and the zeroth order.

    The expansion's accuracy is judged against what it expands, the product of the exact
    diagonal Jacobian entries ``prod (r + d)`` (order ``"diagonal"``): the first-order
    envelope is recomputed with its correction ``d / r`` multiplied by each of ``scales``
    (1 is THEORY's Gamma) and the zeroth order (the retention product, its own transport
    order) is added.  Errors are sums over lags ``>= 1`` of squared differences of
    ``log f`` from the product's.  The ordering (per-unit Spearman rho) and the decay rates
    are against the exact transport (the diagonal of the full Jacobian product).

    Returns
    -------
    dict
        ``lags``, ``log_f_exact``, ``log_f_first``, ``log_f_zeroth``, ``err_first``,
        ``err_zeroth``, ``sq_err_scaled`` (sum of squared log errors per scale, array),
        ``sq_err_zeroth``, ``scales``, ``mean_unit_rho``, ``min_unit_rho``,
        ``decay_first``/``decay_exact`` (least-squares slope of ``-log f`` per lag over
        lags >= 1) and ``conservative`` (first order decays at least as fast).
    """
    net = check_net(net)
    x = net.check_inputs(x)
    max_lag = check_lag(max_lag, x.shape[1])
    rates = _envelope.unit_rates(net, "sgd", 1.0)
    traj = net.forward(x)
    exact = envelope_of_trajectory(net, traj, max_lag, "exact", rates)
    product = envelope_of_trajectory(net, traj, max_lag, "diagonal", rates)
    zeroth = envelope_of_trajectory(net, traj, max_lag, "zeroth", rates)
    first = envelope_of_trajectory(net, traj, max_lag, "first", rates)
    sel = exact.lags >= 1

    def sq(env_log):
        return float(np.sum((env_log[sel] - product.log_f[sel]) ** 2))

    scaled = np.array([sq(envelope_of_trajectory(net, traj, max_lag, "first", rates,
                                                 correction_scale=float(k)).log_f)
                       for k in scales])  # fmt: skip
    unit_rho = np.array([spearman(first.log_unit[:, q], exact.log_unit[:, q])
                         for q in range(net.hidden)])  # fmt: skip
    lags = exact.lags

    def slope(y):
        ok = sel & np.isfinite(y)
        return float(-np.polyfit(lags[ok], y[ok], 1)[0])

    d_first, d_exact = slope(first.log_f), slope(exact.log_f)
    n = int(sel.sum())
    return dict(
        lags=lags, log_f_exact=exact.log_f, log_f_first=first.log_f, log_f_zeroth=zeroth.log_f,
        err_first=float(np.sqrt(sq(first.log_f) / n)),
        err_zeroth=float(np.sqrt(sq(zeroth.log_f) / n)), sq_err_first=sq(first.log_f),
        sq_err_zeroth=sq(zeroth.log_f), sq_err_scaled=scaled, scales=np.asarray(scales),
        mean_unit_rho=float(np.nanmean(unit_rho)), min_unit_rho=float(np.nanmin(unit_rho)),
        decay_first=d_first, decay_exact=d_exact, conservative=bool(d_first >= d_exact),
    )  # fmt: skip


def tail_regime(lags, log_f, start) -> dict:
    """Power law or exponential: which straight line fits the envelope's tail.

    Over lags ``>= start`` fits ``log f = c - beta log l`` (power law) and
    ``log f = c - l / tau`` (exponential) by least squares; both have two parameters, so
    the smaller residual names the regime.

    Returns
    -------
    dict
        ``loglog_slope`` (``-beta``), ``semilog_slope`` (``-1/tau``), ``rss_power``,
        ``rss_exponential``, ``regime`` (``"power"`` or ``"exponential"``).
    """
    lags = np.asarray(lags, dtype=float)
    y = np.asarray(log_f, dtype=float)
    ok = (lags >= max(1.0, float(start))) & np.isfinite(y)
    if ok.sum() < 4:
        raise ValueError(f"start must leave at least 4 finite lags >= 1, got {int(ok.sum())}")
    ll, yl = lags[ok], y[ok]
    p_pow = np.polyfit(np.log(ll), yl, 1)
    p_exp = np.polyfit(ll, yl, 1)
    rss_pow = float(np.sum((np.polyval(p_pow, np.log(ll)) - yl) ** 2))
    rss_exp = float(np.sum((np.polyval(p_exp, ll) - yl) ** 2))
    return dict(loglog_slope=float(p_pow[0]), semilog_slope=float(p_exp[0]),
                rss_power=rss_pow, rss_exponential=rss_exp,
                regime="power" if rss_pow < rss_exp else "exponential")  # fmt: skip


def equal_bound_constgate(hidden, inputs, retention, bound, seed=0) -> ConstGate:
    """A ConstGate whose Jacobians all have spectral norm <= ``bound``, whatever its retention.

    ``J_t = r I + s diag(tanh'(a_t)) W_h`` with ``s = 1 - r``, so ``||J_t|| <= r + s ||W_h||``.
    A Gaussian ``W_h`` is rescaled to spectral norm ``1 - (1 - bound) / s``, which makes that
    bound equal to ``bound`` for every retention ``r < bound``.
    """
    r = check_in_range("retention", retention, 0.0, 1.0, lo_open=True, hi_open=True)
    b = check_in_range("bound", bound, 0.0, 1.0, lo_open=True, hi_open=True)
    if r >= b:
        raise ValueError(f"retention must be below bound={b:g}, got {r:g}")
    s = 1.0 - r
    rng = np.random.default_rng(seed)
    hidden = check_int("hidden", hidden, lo=1)
    w_h = rng.standard_normal((hidden, hidden))
    w_h *= (1.0 - (1.0 - b) / s) / np.linalg.norm(w_h, 2)
    w_x = rng.standard_normal((hidden, check_int("inputs", inputs, lo=1))) / np.sqrt(inputs)
    return ConstGate(w_x, w_h, np.zeros(hidden), s)


def sequence_log_envelopes(net, x, max_lag, order="first", optimizer="sgd", lr=1.0,
                           v_hat=None) -> np.ndarray:  # fmt: skip
    """``log f`` of each input sequence separately, shape (B, L + 1).

    The envelope of the batch is the mean of these (every sequence contributes the same
    number of positions per lag), so they give its sampling error over sequences.
    """
    net = check_net(net)
    x = net.check_inputs(x)
    max_lag = check_lag(max_lag, x.shape[1])
    rates = _envelope.unit_rates(net, optimizer, lr, v_hat)
    traj = net.forward(x)
    out = np.empty((x.shape[0], max_lag + 1))
    for b in range(x.shape[0]):
        sub = type(traj)(h=traj.h[b : b + 1], c=None if traj.c is None else traj.c[b : b + 1],
                         gates={k: v[b : b + 1] for k, v in traj.gates.items()})  # fmt: skip
        out[b] = envelope_of_trajectory(net, sub, max_lag, order, rates, optimizer).log_f
    return out
