"""``learnwin window``: the envelope, fitted law and learnability window of a trained network.

The network's PyTorch-layout weights are read from an ``.npz``; its envelope is measured
on probe sequences (seeded random ones, or real ones from ``--inputs``), the envelope laws
are fitted, and the window of the best law is evaluated at the sample sizes asked for,
with alpha and sigma given or estimated from gradient-noise samples.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from .formula import window_row, window_text
from .layers import load_layer
from .usage import EXIT_OK, UsageError, check_device, check_json_path, check_ns, write_atomic

__all__ = ["cmd_window"]


def _load_inputs(path, net):
    """Input sequences from a ``.npy`` file, (B, T, D) or one sequence (T, D).

    The shape and finiteness are checked by the network's own ``check_inputs``.
    """
    x = _load_array(path, "--inputs", text_ok=False)
    try:
        return net.check_inputs(x[None] if x.ndim == 2 else x)
    except ValueError as exc:
        raise UsageError(f"--inputs {path}: {exc}") from None


def _load_array(path, flag, *, text_ok):
    """A numeric array from ``.npy`` (or a text file where ``text_ok``), or a UsageError."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{flag}: no such file {str(path)!r}")
    with open(p, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":  # np.load would open it as an archive, and leak it
            raise UsageError(f"{flag} {str(path)!r}: expected one .npy array, got a zip/.npz file")
    try:
        if p.suffix == ".npy" or not text_ok:
            x = np.load(p, allow_pickle=False)
        else:
            x = np.loadtxt(p, dtype=float, ndmin=1)
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        what = "a .npy array" if not text_ok else "a .npy array or a text file of numbers"
        raise UsageError(f"{flag} {str(path)!r}: not {what} ({exc})") from None
    if not isinstance(x, np.ndarray):  # e.g. an .npz archive
        raise UsageError(f"{flag} {str(path)!r}: expected one .npy array, got an archive")
    if x.dtype.kind not in "biuf":
        raise UsageError(f"{flag} {str(path)!r}: expected real numbers, got dtype {x.dtype}")
    return x


def _noise_alpha_sigma(args):
    """Alpha and sigma from gradient-noise samples: the alpha <= 1 check before the CI."""
    import numpy as np

    from ..noise import tail

    x = np.ravel(_load_array(args.noise_samples, "--noise-samples", text_ok=True))
    try:
        point = tail.estimate(x, method="koutrouvelis")  # size and finiteness checked first
    except ValueError as exc:
        raise UsageError(f"--noise-samples: {exc}") from None
    if point.alpha <= 1.0:
        raise UsageError(
            f"--noise-samples: the samples give alpha = {point.alpha:.3f} <= 1: the sample "
            "mean does not exist, so the theory does not apply"
        )
    est = tail.estimate(x, method="koutrouvelis", ci=True, seed=args.seed % 2**32)
    info = {"estimated_alpha": est.alpha, "estimated_sigma": est.sigma, "ci": est.ci,
            "method": est.method, "samples": int(x.size)}  # fmt: skip
    return est.alpha, est.sigma, info


def cmd_window(args):
    """Envelope, fitted law and learnability window of a trained network."""
    import theory

    from .. import recurrences as rec
    from ..recurrences.fit import fit_envelope

    check_device(args.device)
    cls = {"gru": rec.GRU, "lstm": rec.LSTM}.get(args.arch)  # None: a layer's state dict
    if not Path(args.weights).is_file():
        raise UsageError(f"--weights: no such file {args.weights!r}")
    if args.alpha is None and args.noise_samples is None:
        raise UsageError("give --alpha or --noise-samples")
    if args.noise_samples is not None and args.sigma is not None:
        raise UsageError("--sigma goes with --alpha; --noise-samples estimates sigma")
    check_json_path(args.json)
    check_ns(args.N)
    if cls is None:  # minGRU, minLSTM, RG-LRU, Mamba (commands/layers.py)
        net = load_layer(args.arch, args.weights, args.prefix, args.order)
    elif not zipfile.is_zipfile(args.weights):  # np.load would leave the file open
        raise UsageError(f"--weights {str(args.weights)!r}: not an .npz archive")
    try:
        net = net if cls is None else cls.from_npz(args.weights, prefix=args.prefix)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(
            f"--weights {str(args.weights)!r}: not a readable .npz of PyTorch-layout "
            f"{args.arch.upper()} weights ({type(exc).__name__}: {exc})"
        ) from None
    alpha_info = {}
    if args.noise_samples is not None:
        alpha, sigma, alpha_info = _noise_alpha_sigma(args)
    else:
        alpha, sigma = args.alpha, 1.0 if args.sigma is None else args.sigma
    inputs = net.inputs if hasattr(net, "inputs") else net.w_x.shape[1]
    if args.inputs is not None:
        x = _load_inputs(args.inputs, net)
        probe = {"file": str(args.inputs), "batch": x.shape[0], "steps": x.shape[1]}
    else:
        x = rec.random_inputs(args.batch, args.steps, inputs, seed=args.seed)
        probe = {"batch": args.batch, "steps": args.steps, "seed": args.seed}
    res = rec.measure_envelope(
        net, x, args.max_lag, order=args.order, lr=args.lr, device=args.device
    )
    fit = fit_envelope(res)
    law = fit.best
    win = theory.learnability_window(law, alpha, sigma=sigma)
    rows = [window_row(win, n) for n in args.N or [1e3, 1e4, 1e5, 1e6]]
    payload = {
        "arch": args.arch,
        "weights": str(args.weights),
        "alpha": alpha,
        "sigma": sigma,
        **alpha_info,
        "inputs": probe,
        "max_lag": args.max_lag,
        "order": args.order,
        "envelope": [float(v) for v in res.f],
        "fits": fit.table(),
        "law": repr(law),
        "regime": win.regime,
        "leading": str(win.leading),
        "windows": rows,
    }
    print(f"{args.arch.upper()} from {args.weights}: hidden={net.hidden}")
    if alpha_info:
        (a_lo, a_hi), (s_lo, s_hi) = alpha_info["ci"]["alpha"], alpha_info["ci"]["sigma"]
        level = alpha_info["ci"]["level"]
        print(
            f"alpha = {alpha:.4g} (estimated from {alpha_info['samples']} noise samples, "
            f"{level:.0%} CI [{a_lo:.4g}, {a_hi:.4g}])\n"
            f"sigma = {sigma:.4g} (estimated, {level:.0%} CI [{s_lo:.4g}, {s_hi:.4g}])"
        )
    else:
        print(f"alpha = {alpha:.4g} (given)\nsigma = {sigma:.4g} (given; c = 1)")
    print("fitted envelope laws (best first):")
    for f in fit.table():
        params = ", ".join(f"{k}={v:.4g}" for k, v in f["params"].items())
        print(f"  {f['name']:<22} {params:<40} delta-{fit.criterion.upper()} = {f['delta']:.2f}")
    print(f"chosen: {law!r}; H_N grows {win.regime}ally: {win.leading}")
    for r in rows:
        print(f"  N = {r['N']:g}: H_N = {window_text(win, r)}")
    if args.json:
        write_atomic(args.json, json.dumps(payload, indent=2, default=str))
    return EXIT_OK
