"""E5: the author's per-lag psi/SNR pipeline, reproduced, with its null control and a test.

The author's "empirical H_N" feeds a per-lag statistic psi (output error times a
forward-mode Jacobian-vector product along a random parameter direction) to
``SNR(N) = |mean psi| N^(1 - 1/alpha_hat) / sigma_hat`` and takes the first ``N`` of a grid
where ``SNR > epsilon``, after flipping psi's sign per diagnostic batch to that of the batch
mean (THEORY.md section 8). :func:`author_pipeline` reproduces it; :func:`corrected_test` is
a two-sided sign-randomisation test with no flip; :func:`check_e5` runs both on the trained
cells' psi and on a null psi with the same tails and zero mean. Plain NumPy, no torch.
"""

from __future__ import annotations

import math

import numpy as np

from theory import snr

__all__ = [
    "PSI_BATCH",
    "PSI_EPSILON",
    "PSI_GRID",
    "author_pipeline",
    "check_e5",
    "corrected_test",
    "snr_crossing",
]

#: E5: the author's SNR threshold and diagnostic batch size; the sample-size grid.
PSI_EPSILON, PSI_BATCH = 0.1, 16
PSI_GRID = np.unique(np.round(10 ** np.arange(0, 8.01, 0.125)).astype(np.int64))
#: E5: false-alarm rate of the corrected two-sided test, per lag, and its sign permutations.
PSI_FALSE_ALARM, PSI_PERMUTATIONS = 0.05, 400
#: E5: the author's pipeline fails its null control when at least this fraction of the
#: zero-mean lags is declared detectable within the sequences the cell saw.
PSI_NULL_FAIL = 0.5


def snr_crossing(psi, alpha, batch=PSI_BATCH, epsilon=PSI_EPSILON, flip=True, method="mcculloch"):
    """The ``N`` beyond which the author's SNR exceeds ``epsilon``, per lag (continuous).

    Per diagnostic batch of ``batch`` sequences the sign is flipped to that of the batch
    mean (``flip``); ``SNR(N) = |mean psi| N^(1 - 1/alpha) / sigma_hat`` with ``sigma_hat``
    the SaS scale of the unflipped ``psi`` (``method`` of :func:`verify.tail.estimate`), so
    ``SNR(N) > epsilon`` exactly when ``N > (epsilon sigma_hat / |mean psi|)**kappa``.
    A zero-mean Gaussian null crosses at :func:`theory.snr.null_crossing` (``epsilon**2 pi
    batch / 4`` with the flip).  ``psi``: (M, L + 1); returns (L + 1,), inf where the mean
    is 0.
    """
    from verify import tail

    psi = np.asarray(psi, dtype=float)
    m = (psi.shape[0] // batch) * batch
    if m == 0:
        raise ValueError(f"psi has {psi.shape[0]} samples, fewer than one batch of {batch}")
    x = psi[:m].reshape(-1, batch, psi.shape[1])
    if flip:
        x = x * np.sign(x.mean(axis=1, keepdims=True))
    mean = np.abs(x.reshape(m, -1).mean(axis=0))
    sig = np.array([tail.estimate(psi[:, k], method=method).sigma for k in range(psi.shape[1])])
    with np.errstate(divide="ignore"):
        return (epsilon * sig / mean) ** (alpha / (alpha - 1.0))


def author_pipeline(psi, alpha, batch=PSI_BATCH, epsilon=PSI_EPSILON, flip=True):
    """The author's ``N_required`` per lag from per-sequence ``psi`` (M, L + 1).

    The first ``N`` of :data:`PSI_GRID` with ``SNR(N) > epsilon``, i.e. beyond
    :func:`snr_crossing` (inf: none).
    """
    return _on_grid(snr_crossing(psi, alpha, batch, epsilon, flip))


def _on_grid(cross):
    """The first ``N`` of :data:`PSI_GRID` strictly beyond each crossing (inf: none)."""
    idx = np.searchsorted(PSI_GRID, cross, side="right")
    out = np.full(cross.shape, np.inf)
    ok = idx < PSI_GRID.size
    out[ok] = PSI_GRID[idx[ok]]
    return out


def corrected_test(psi, false_alarm=PSI_FALSE_ALARM, n_perm=PSI_PERMUTATIONS, seed=0):
    """Two-sided sign-randomisation test of a zero mean, per lag, at the available sample.

    No sign flip per batch: the statistic is ``|mean psi|`` over all ``M`` sequences, and
    its null distribution is that of ``|mean(xi psi)|`` with independent random signs
    ``xi`` per sequence -- exact for any symmetric zero-mean law, whatever its tails.  A lag
    is detected when the p-value ``(1 + #{null >= observed}) / (1 + n_perm)`` is below
    ``false_alarm``.  Returns a boolean per lag.
    """
    psi = np.asarray(psi, dtype=float)
    xi = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_perm, psi.shape[0]))
    null = np.abs(xi @ psi) / psi.shape[0]
    obs = np.abs(psi.mean(axis=0))
    p = (1.0 + np.sum(null >= obs, axis=0)) / (1.0 + n_perm)
    return p < false_alarm


def check_e5(cells, seed):
    """E5: the author's psi/SNR pipeline, its null control, and a corrected test.

    ``cells``: ``(CellResult, summary)`` pairs of the cells trained on the real target
    (the controls left out).
    """
    from verify.claims.base import CheckResult

    rows, fig, null_det, null_tot, cnull_det, nulls = [], [], 0, 0, 0, []
    rng = np.random.default_rng(seed)
    for r, s in cells:
        alpha = float(min(max(r.alpha[-1], 1.05), 2.0))
        signs = rng.choice([-1.0, 1.0], size=(r.psi.shape[0], 1))
        null = r.psi * signs  # zero mean by construction, same tails
        n_seen = float(r.ns[-1])
        nulls.append((alpha, n_seen, null))
        a_sig, a_null = author_pipeline(r.psi, alpha), author_pipeline(null, alpha)
        c_sig, c_null = corrected_test(r.psi, seed=seed), corrected_test(null, seed=seed + 1)
        L = r.psi.shape[1] - 1
        planted = np.asarray(s["lags"])
        det_null = int(np.sum(a_null[1:] <= n_seen))
        null_det, null_tot = null_det + det_null, null_tot + L
        cnull_det += int(c_null[1:].sum())
        win_a = int(np.max(np.nonzero(a_sig <= n_seen)[0])) if np.any(a_sig <= n_seen) else 0
        win_an = int(np.max(np.nonzero(a_null <= n_seen)[0])) if np.any(a_null <= n_seen) else 0
        rows.append(
            {
                "cell": r.name,
                "alpha_hat": alpha,
                "N seen": int(n_seen),
                "author window (psi)": win_a,
                "author window (null psi)": win_an,
                "null lags detectable (author)": f"{det_null}/{L}",
                "median N_required, null": float(np.median(a_null[1:])),
                "corrected: planted lags detected": f"{int(c_sig[planted].sum())}/{len(planted)}",
                "corrected: null lags detected": f"{int(c_null[1:].sum())}/{L}",
                "learned window (c_hat)": int(s["window"][-1]),
            }
        )
        fig.append(
            {
                "cell": r.name,
                "n_req": _inf_list(a_sig),
                "n_req_null": _inf_list(a_null),
                "n_seen": n_seen,
                "planted": planted.tolist(),
            }
        )
    grid = _null_grid(nulls) if nulls else []
    frac = null_det / null_tot if null_tot else math.nan
    cfrac = cnull_det / null_tot if null_tot else math.nan
    bound = PSI_FALSE_ALARM + 3.0 * math.sqrt(
        PSI_FALSE_ALARM * (1 - PSI_FALSE_ALARM) / max(null_tot, 1)
    )
    author_fails = frac >= PSI_NULL_FAIL
    control = {
        "description": "null psi: the same samples with a random sign per sequence (zero mean, "
        "same tails) -- no lag carries signal",
        "rejected": bool(not author_fails),
        "detail": f"author pipeline: {null_det}/{null_tot} null lags detectable; corrected test: "
        f"{cnull_det}/{null_tot} (bound {bound:.3f})",
    }
    verdict = "error" if not null_tot else ("fail" if author_fails else "pass")
    return CheckResult(
        claim="E5",
        title="the author's psi/SNR pipeline measures the learned window",
        verdict=verdict,
        predicted="a valid pipeline declares zero-mean (null) lags undetectable",
        measured=f"author pipeline: {frac:.3f} of null lags detectable within the sequences "
        f"seen; corrected two-sided test: {cfrac:.3f} false detections",
        tolerance=f"the pipeline fails when >= {PSI_NULL_FAIL} of null lags are detectable; the "
        f"corrected test must stay <= {bound:.3f} (false-alarm {PSI_FALSE_ALARM} + 3 binomial sd)",
        rows=rows,
        negative_control=control,
        figures={"e5_psi": fig},
        notes=[
            f"SNR threshold epsilon = {PSI_EPSILON}, diagnostic batches of {PSI_BATCH} "
            "sequences, sign flipped per batch to the sign of its mean.",
            "The mu weighting multiplies each lag's psi by one positive number and so "
            "cancels in SNR = |mean psi| N^(1-1/alpha) / sigma_hat.",
            "Where the flipped null saturates depends only on the diagnostic batch B "
            "(theory.snr.null_crossing): after the flip E|mean| = sigma B^(-1/kappa) E|S|, and "
            "sigma_hat (McCulloch's or the ECF's) estimates the SaS scale, which for a "
            "Gaussian is sd/sqrt(2), so SNR(N) > epsilon from N* = B (epsilon / E|S|)^kappa "
            f"on: epsilon^2 pi B / 4 at alpha = 2, {snr.null_crossing(PSI_EPSILON, PSI_BATCH):.3f} "
            f"at B = {PSI_BATCH} here; the N_required of about 1200 quoted for the author's "
            f"geometry corresponds to B of about {1200 / snr.null_crossing(PSI_EPSILON, 1):.2g}. "
            "Checked against simulation of this pipeline at B = 16, 128, 1024 (within 5 %, "
            "tests/test_theory_snr.py).",
            "Without the flip the null is still declared detectable: |mean psi| from M "
            "samples extrapolated to N gives P(N_required <= N) = P(|S| >= epsilon (N / "
            "M)^(-1/kappa)) (theory.snr.null_detect_probability), e.g. a median N_required "
            "of 1.4 at M = 128, epsilon = 0.1 (Gaussian). Null lags detectable within the "
            "sequences seen (observed / predicted), flip on/off x epsilon: "
            + "; ".join(
                f"{'flip' if g['flip'] else 'no flip'}, eps {g['epsilon']:g}: "
                f"{g['observed']:.2f} / {g['predicted']:.2f}"
                for g in grid
            )
            + " (predicted with the flip: the share of cells whose sequences seen exceed N*; "
            "the prediction ignores sigma_hat's error and the few batches per cell).",
            "Corrected test: no flip; |mean psi| over all sequences against its "
            f"sign-randomisation distribution ({PSI_PERMUTATIONS} random sign vectors), "
            f"two-sided at {PSI_FALSE_ALARM} per lag -- exact for a symmetric null whatever "
            f"the tails. Null detections: {cfrac:.3f} "
            f"({'within' if cfrac <= bound else 'beyond'} the bound).",
        ],
        params={
            "author_null_rate": frac,
            "corrected_null_rate": cfrac,
            "corrected_bound": bound,
            "null_grid": grid,
        },
    )


def _null_grid(nulls, epsilons=(0.05, 0.1, 0.2)):
    """Share of null lags the author's pipeline calls detectable, flip on/off x epsilon.

    ``nulls``: ``(alpha_hat, sequences seen, null psi)`` per cell, the null psi of the check
    itself; observed against :mod:`theory.snr`'s prediction at the cell's alpha_hat.  The
    crossing scales as ``epsilon**kappa``, so it is estimated once per cell and flip.
    """
    out = []
    unit = {(flip, i): snr_crossing(null, alpha, epsilon=1.0, flip=flip)[1:]
            for flip in (True, False) for i, (alpha, _, null) in enumerate(nulls)}  # fmt: skip
    for flip in (True, False):
        for eps in epsilons:
            det = tot = pred = 0.0
            for i, (alpha, n_seen, null) in enumerate(nulls):
                req = _on_grid(unit[flip, i] * eps ** (alpha / (alpha - 1.0)))
                m = (null.shape[0] // PSI_BATCH) * PSI_BATCH
                if flip:
                    p = float(n_seen > snr.null_crossing(eps, PSI_BATCH, alpha))
                else:
                    p = snr.null_detect_probability(n_seen, eps, m, alpha)
                det, tot, pred = det + np.sum(req <= n_seen), tot + req.size, pred + p * req.size
            out.append({"flip": flip, "epsilon": eps, "observed": det / tot,
                        "predicted": pred / tot})  # fmt: skip
    return out


def _inf_list(a):
    return [None if not np.isfinite(v) else float(v) for v in a]
