"""``learnwin window``: the measured and fitted learnability window of a trained network.

A thin shell: the weights are loaded strictly (:mod:`verify.recurrences.loading`), the
envelope is measured on probe sequences (the model's own inputs from ``--inputs``, or
seeded random ones), and :func:`verify.recurrences.trained_window.estimate_window` gives
one result that :func:`verify.report.window.window_text` prints and ``--json`` writes.
What each input was and where it came from (given, estimated, default, the file) is part
of that result.
"""

from __future__ import annotations

import json
from pathlib import Path

from .usage import EXIT_OK, UsageError, check_device, check_json_path, check_ns, write_atomic

__all__ = ["cmd_window"]


def _load_inputs(path, net):
    """Input sequences from a ``.npy`` file, shape (batch, steps, inputs) exactly.

    A 2-D array is refused (it could be one sequence or a batch of one-step sequences);
    the shape and finiteness are then checked by the network's own ``check_inputs``.
    """
    x = _load_array(path, "--inputs", text_ok=False)
    if x.ndim != 3:
        hint = (f"; for one sequence of shape {x.shape} save x[None] (1, T, D)"
                if x.ndim == 2 else "")  # fmt: skip
        raise UsageError(f"--inputs {path}: expected a 3-D array (batch, steps, inputs), got "
                         f"shape {x.shape}{hint}")  # fmt: skip
    try:
        return net.check_inputs(x)
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


#: Defaults of the options whose source (given or default) the result records.
DEFAULTS = {"max_lag": 100, "steps": 200, "batch": 8, "order": "first", "lr": 1.0, "c": 1.0,
            "delta": 0.1}  # fmt: skip
#: Assumed throughput (floating-point operations per second) of the costly orders on two
#: cores: both run on BLAS matrix products (the sparse table of
#: :mod:`verify.recurrences.full_transport`).
RATES = {"exact": 2e10, "full": 2e10}
#: Estimated seconds beyond which ``exact`` and ``full`` are refused without ``--force``.
MAX_SECONDS = 120.0


def _opt(args, name):
    """``(value, source)`` of an option whose default is ``None`` on the parser."""
    v = getattr(args, name)
    return (DEFAULTS[name], "default") if v is None else (v, "given")


def _check_cost(order, net, batch, steps, max_lag, force):
    """Refuse ``exact``/``full`` beyond :data:`MAX_SECONDS` (estimated) unless forced."""
    from ..recurrences.full_transport import exact_diagonal_cost, full_transport_cost

    cost = (exact_diagonal_cost if order == "exact" else full_transport_cost)(
        batch, steps, max_lag, net.hidden, net.state_size
    )
    seconds = cost / RATES[order]
    if seconds > MAX_SECONDS and not force:
        from ..recurrences import DiagonalRecurrence

        hint = ""
        if order == "exact" and isinstance(net, DiagonalRecurrence):
            hint = (f"; this layer ({net.hidden} state units) is a diagonal linear recurrence, "
                    "whose first order is its exact transport: use --order first")  # fmt: skip
        raise UsageError(
            f"--order {order}: about {cost:.3g} floating-point operations, an estimated "
            f"{seconds / 60:.1f} min at {RATES[order]:.0e} flop/s (more than {MAX_SECONDS:g} s); "
            f"lower --max-lag, --batch or --steps, or run it anyway with --force{hint}"
        )
    return seconds


def _progress(what, estimate):
    import sys
    import time

    start = time.monotonic()

    def say(done, total):
        spent = time.monotonic() - start
        left = spent / done * (total - done)
        print(f"{what}: {done}/{total} sequences, {spent:.0f} s (about {left:.0f} s left; "
              f"estimated {estimate:.0f} s in all)", file=sys.stderr, flush=True)  # fmt: skip

    return say


def _probe(args, loaded):
    """The inputs of the chosen layer and the probe's assumption."""
    from .. import recurrences as rec
    from ..recurrences.trained_window import Assumption

    first = loaded.cells[0]
    if args.inputs is not None:
        x = _load_inputs(args.inputs, first)
        if args.steps is not None or args.batch is not None:
            raise UsageError("--steps and --batch size the random probes; --inputs gives its own")
        what = f"the file {args.inputs} ({x.shape[0]} x {x.shape[1]} x {x.shape[2]})"
        probe = Assumption("probe", what, "file")
    else:
        (b, _), (t, _) = _opt(args, "batch"), _opt(args, "steps")
        x = rec.random_inputs(b, t, first.inputs, seed=args.seed)
        probe = Assumption(
            "probe", f"random N(0, 1) inputs, {b} x {t} x {first.inputs}, seed {args.seed}",
            "default", "not the model's inputs: its real inputs can change the envelope by "
            "orders of magnitude (give --inputs)",
        )  # fmt: skip
    if loaded.layer > 0:
        x = loaded.layer_inputs(x)
    return x, probe


def _assumptions(args, loaded, alpha_info, alpha, sigma):
    from ..recurrences.trained_window import Assumption

    out = []
    if loaded.layers > 1:
        below = "fed the outputs of the layers below it" if loaded.layer else ""
        out.append(Assumption("layer", f"{loaded.layer} of {loaded.layers}", "given", below))
    for name in ("max_lag", "order"):
        v, src = _opt(args, name)
        out.append(Assumption(name.replace("_", "-"), v, src))
    out.append(Assumption("optimizer", "sgd", "default",
                          "per-unit rate = lr (Adam-like rates need v_hat)"))  # fmt: skip
    lr, src = _opt(args, "lr")
    out.append(Assumption("lr", lr, src, "f(l) and so H_N scale with it: give the "
                          "training learning rate" if src == "default" else ""))  # fmt: skip
    if alpha_info:
        n, ci = alpha_info["samples"], alpha_info["ci"]
        for name, v in (("alpha", alpha), ("sigma", sigma)):
            lo, hi = ci[name]
            out.append(Assumption(name, v, "estimated", f"from {n} noise samples, "
                                  f"{ci['level']:.0%} CI [{lo:.4g}, {hi:.4g}]"))  # fmt: skip
    else:
        out.append(Assumption("alpha", alpha, "given"))
        given = args.sigma is not None
        out.append(Assumption("sigma", sigma, "given" if given else "default",
                              "" if given else "theta_N scales with it"))  # fmt: skip
    for name in ("c", "delta"):
        v, src = _opt(args, name)
        out.append(Assumption(name, v, src))
    out += [Assumption("weights", n, "file") for n in loaded.notes]
    return out


def _check_numbers(args):
    """The detection constants and the rate, checked before any work."""
    from theory.complexity import Detection

    checks = [("--lr", args.lr, lambda v: v > 0, "> 0"), ("--c", args.c, lambda v: v > 0, "> 0"),
              ("--sigma", args.sigma, lambda v: v > 0, "> 0"),
              ("--delta", args.delta, lambda v: 0 < v < 1, "in (0, 1)"),
              ("--alpha", args.alpha, lambda v: 1 < v <= 2, "in (1, 2]")]  # fmt: skip
    for flag, v, ok, what in checks:
        if v is not None and not ok(v):
            raise UsageError(f"{flag} must be {what}, got {v:g}")
    Detection(args.alpha or 1.5, args.sigma or 1.0, args.c or 1.0, args.delta or 0.1)


def cmd_window(args):
    """Measured and fitted learnability window of a trained network."""
    import numpy as np

    from .. import recurrences as rec
    from ..recurrences.trained_window import estimate_window
    from ..report.window import window_text

    check_device(args.device)
    if args.arch not in rec.LOADERS:
        raise UsageError(f"--arch must be one of {', '.join(sorted(rec.LOADERS))}, "
                         f"got {args.arch!r}")  # fmt: skip
    if args.alpha is None and args.noise_samples is None:
        raise UsageError("give --alpha or --noise-samples")
    if args.noise_samples is not None and args.sigma is not None:
        raise UsageError("--sigma goes with --alpha; --noise-samples estimates sigma")
    check_json_path(args.json)
    check_ns(args.N)
    if args.layer is not None and args.layer < 0:
        raise UsageError(f"--layer must be >= 0, got {args.layer}")
    _check_numbers(args)
    try:
        loaded = rec.load(args.arch, args.weights, prefix=args.prefix, layer=args.layer)
    except rec.LoadError as exc:
        raise UsageError(f"--weights {str(args.weights)!r} ({args.arch}): {exc}") from None
    net = loaded.cell
    x, probe = _probe(args, loaded)
    max_lag, _ = _opt(args, "max_lag")
    order, _ = _opt(args, "order")
    if max_lag > x.shape[1]:
        raise UsageError(f"--max-lag {max_lag} exceeds the probe length of {x.shape[1]} steps")
    if order in ("exact", "full") and args.device == "cuda":
        raise UsageError(f"--order {order} runs on the CPU only (--device cpu)")
    seconds = 0.0
    if order in ("exact", "full"):
        seconds = _check_cost(order, net, x.shape[0], x.shape[1], max_lag, args.force)
    alpha_info = {}
    if args.noise_samples is not None:
        alpha, sigma, alpha_info = _noise_alpha_sigma(args)
    else:
        alpha, sigma = args.alpha, 1.0 if args.sigma is None else args.sigma
    lr, _ = _opt(args, "lr")
    env_order = "first" if order == "full" else order
    say = _progress("exact transport", seconds) if order == "exact" else None
    res = rec.measure_envelope(net, x, max_lag, order=env_order, lr=lr, device=args.device,
                               progress=say, exact_method="table")  # fmt: skip
    seq = None
    if env_order != "exact":  # per-sequence envelopes (cheap orders): the window's interval
        one = {"order": env_order, "lr": lr, "device": args.device}
        seq = [rec.measure_envelope(net, x[b : b + 1], max_lag, **one).log_f
               for b in range(x.shape[0])]  # fmt: skip
    full = None
    if order == "full":
        from ..recurrences.full_transport import full_transport

        full = full_transport(net, x, max_lag, progress=_progress("full transport", seconds))
    meta = {"arch": args.arch, "weights": str(args.weights), "prefix": args.prefix,
            "layer": loaded.layer, "layers": loaded.layers, "keys": list(loaded.keys),
            "hidden": net.hidden, "inputs": net.inputs,
            "probe": {"file": args.inputs, "batch": x.shape[0], "steps": x.shape[1],
                      "seed": None if args.inputs else args.seed},
            **({"noise": alpha_info} if alpha_info else {})}  # fmt: skip
    est = estimate_window(
        res, args.N or [1e3, 1e4, 1e5, 1e6], alpha, sigma, _opt(args, "c")[0],
        _opt(args, "delta")[0], steps=x.shape[1],
        assumptions=[probe, *_assumptions(args, loaded, alpha_info, alpha, sigma)],
        meta=meta, full=full, full_kind="c" if net.state_size > net.hidden else "h",
        sequence_log_f=None if seq is None else np.array(seq),
    )  # fmt: skip
    payload = est.as_dict()
    print(window_text(payload), end="")
    if args.json:
        write_atomic(args.json, json.dumps(payload, indent=2, default=str))
    return EXIT_OK
