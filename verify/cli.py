"""The ``learnwin`` command line: a thin layer over :mod:`theory` and :mod:`verify`.

Commands
--------
verify   run the claims, print a summary table, write the report (exit 0 all pass, 1 a
         claim fails, 2 bad usage)
report   run the claims and write the markdown report with figures
formula  closed forms and numbers for one envelope law
window   a trained GRU/LSTM's envelope, fitted law and learnability window
experiment  train GRUs/LSTMs and check E1-E5 on them (verify.training.command)
selftest    plant errors and show which claim notices each (verify.selftest.command)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]

DEFAULT_SEED = 20251205
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments that argparse itself cannot detect."""


# ----------------------------------------------------------------------------- helpers
def _finite_number(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def _param(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param expects NAME=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), _finite_number(v)


def _check_device(device):
    from .device import DeviceUnavailableError, check_device

    try:
        check_device(device)
    except DeviceUnavailableError as exc:
        raise UsageError(f"--device {device}: {exc}") from None


def _write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _progress(stream):
    def show(cid, done, total, res):
        if res is None:
            print(f"[{done + 1}/{total}] {cid} ...", file=stream, flush=True)
        else:
            print(
                f"[{done}/{total}] {cid} {res.verdict.upper()} ({res.runtime_s:.1f} s)",
                file=stream,
                flush=True,
            )

    return show


# ----------------------------------------------------------------------------- commands
def _run(args, *, write_report: bool):
    from .claims import available, run_suite
    from .parallel import from_args, stderr_progress
    from .report import summary_table
    from .report import write_report as write

    _check_device(args.device)
    claims = None
    if args.claims:
        claims = [c.strip().upper() for c in args.claims.split(",") if c.strip()]
        bad = [c for c in claims if c not in available()]
        if bad:
            raise UsageError(f"--claims: unknown claim(s) {bad}; available: {available()}")
    profile = "full" if args.full else "quick"
    with from_args(args, progress=stderr_progress(sys.stderr)):  # closed also on Ctrl-C
        suite = run_suite(
            claims, profile, args.seed, progress=_progress(sys.stderr), device=args.device
        )
    suite.command = "learnwin " + " ".join(sys.argv[1:])
    print(summary_table(suite.results))
    print(f"{sum(r.passed for r in suite.results)}/{len(suite.results)} claims pass "
          f"({suite.runtime_s:.1f} s, seed {suite.seed}, profile {profile})")  # fmt: skip
    if args.json:
        _write_atomic(args.json, json.dumps(suite.as_dict(), indent=2, sort_keys=True))
    out = getattr(args, "report", None) or getattr(args, "out", None)
    if write_report and out:
        if getattr(args, "with_tail_table", True):
            suite.extras["alpha-estimator accuracy"] = ("tail_accuracy.md", *_tail_table(args))
        path = write(suite, out)
        print(f"report written to {path}/index.md")
    return EXIT_OK if suite.passed else EXIT_FAIL


def _tail_table(args):
    from .noise.accuracy import accuracy_table, render_markdown

    if args.full:
        table = accuracy_table(seed=args.seed % 2**32)
    else:
        table = accuracy_table(alphas=(1.1, 1.4, 1.7, 2.0), reps=2, seed=args.seed % 2**32)
    text = "# Tail-index estimator accuracy\n\n" + render_markdown(table)
    return text, {"accuracy": table.plot_data()}


def cmd_verify(args):
    """Run the claims; the report is written unless ``--no-report``."""
    if args.no_report:
        args.report = None
    return _run(args, write_report=True)


def cmd_report(args):
    """Run the claims and write the report to ``--out``."""
    args.json = None
    return _run(args, write_report=True)


def _formula_payload(args):
    import theory

    params = dict(args.param or [])
    law = theory.make_law(args.law, **params)
    n_of = theory.sample_complexity(law, args.alpha, args.sigma, args.c, args.delta)
    win = theory.learnability_window(law, args.alpha, args.sigma, args.c, args.delta)
    d = n_of.detection
    payload = {
        "law": law.name,
        "params": law.params,
        "detection": d.as_dict(),
        "kappa": theory.kappa(args.alpha),
        "envelope": {"text": law.text(), "latex": law.latex()},
        "sample_complexity": {"text": n_of.text(), "latex": n_of.latex()},
        "window": {
            "text": win.text(),
            "latex": win.latex(),
            "numeric_text": win.text(numeric=True),
            "regime": win.regime,
            "leading": str(win.leading),
        },
        "values": [],
    }
    for n in args.N or []:
        try:
            h = win(n)
        except OverflowError:
            h = None
        payload["values"].append(
            {"N": n, "H_N": h, "log1p_H_N": win.log1p(n), "theta_N": d.theta(n)}
        )
    return payload, law, n_of, win


def cmd_formula(args):
    """Print the closed forms for a law."""
    payload, law, n_of, win = _formula_payload(args)
    if args.format == "json":
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    latex = args.format == "latex"
    d = payload["detection"]
    print(f"law: {law!r}")
    print("f(ell) = " + (law.latex() if latex else law.text()))
    print(n_of.latex() if latex else n_of.text())
    print(win.latex() if latex else win.text())
    print(win.latex(numeric=True) if latex else win.text(numeric=True))
    print(
        f"alpha = {d['alpha']:g}, kappa = {payload['kappa']:.6g}, epsilon = {d['epsilon']:.6g}, "
        f"q_(1-delta) = {d['q_power']:.6g}, K = {d['prefactor']:.6g}"
    )
    print(f"growth in N: {win.regime}, leading term {win.leading}")
    for v in payload["values"]:
        h = v["H_N"] if v["H_N"] is not None else f"exp({v['log1p_H_N']:.6g}) (beyond 2**62)"
        print(f"N = {v['N']:g}: H_N = {h}")
    return EXIT_OK


def _load_inputs(path, net):
    """Input sequences from a ``.npy`` file, (B, T, D) or one sequence (T, D).

    The shape and finiteness are checked by the network's own ``check_inputs``.
    """
    import numpy as np

    if not Path(path).is_file():
        raise UsageError(f"--inputs: no such file {str(path)!r}")
    try:
        x = np.load(path, allow_pickle=False)
        return net.check_inputs(x[None] if x.ndim == 2 else x)
    except ValueError as exc:
        raise UsageError(f"--inputs {path}: {exc}") from None


def cmd_window(args):
    """Envelope, fitted law and learnability window of a trained network."""
    import numpy as np

    import theory

    from . import recurrences as rec
    from .recurrences.fit import fit_envelope

    _check_device(args.device)
    cls = {"gru": rec.GRU, "lstm": rec.LSTM}[args.arch]
    if not Path(args.weights).is_file():
        raise UsageError(f"--weights: no such file {args.weights!r}")
    net = cls.from_npz(args.weights, prefix=args.prefix)
    if args.alpha is None and args.noise_samples is None:
        raise UsageError("give --alpha or --noise-samples")
    alpha_info = {}
    if args.noise_samples is not None:
        from .noise import tail

        x = (
            np.load(args.noise_samples)
            if args.noise_samples.endswith(".npy")
            else np.loadtxt(args.noise_samples)
        )
        est = tail.estimate(np.ravel(x), method="koutrouvelis", ci=True, seed=args.seed % 2**32)
        alpha = est.alpha
        alpha_info = {"estimated_alpha": est.alpha, "ci": est.ci, "method": est.method}
        if alpha <= 1.0:
            raise UsageError(
                f"the noise samples give alpha = {alpha:.3f} <= 1: the sample mean does not exist"
            )
    else:
        alpha = args.alpha
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
    win = theory.learnability_window(law, alpha)
    rows = []
    for n in args.N or [1e3, 1e4, 1e5, 1e6]:
        try:
            h = win(n)
        except OverflowError:
            h = None
        rows.append({"N": n, "H_N": h, "log1p_H_N": win.log1p(n)})
    payload = {
        "arch": args.arch,
        "weights": str(args.weights),
        "alpha": alpha,
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
    print(
        f"alpha = {alpha:.4g}"
        + (f" (estimated, CI {alpha_info['ci']['alpha']})" if alpha_info else "")
    )
    print("fitted envelope laws (best first):")
    for f in fit.table():
        params = ", ".join(f"{k}={v:.4g}" for k, v in f["params"].items())
        print(f"  {f['name']:<22} {params:<40} delta-{fit.criterion.upper()} = {f['delta']:.2f}")
    print(f"chosen: {law!r}; H_N grows {win.regime}ally: {win.leading}")
    for r in rows:
        print(f"  N = {r['N']:g}: H_N = {r['H_N']}")
    if args.json:
        _write_atomic(args.json, json.dumps(payload, indent=2, default=str))
    return EXIT_OK


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``learnwin``."""
    p = argparse.ArgumentParser(
        prog="learnwin",
        description="Verify the theory of learnability windows in gated RNNs.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    def suite_opts(sp):
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--quick", action="store_true", help="the quick profile (default)")
        g.add_argument("--full", action="store_true", help="the thorough profile")
        sp.add_argument("--claims", help="comma-separated claim ids, e.g. C2,C5")
        sp.add_argument("--seed", type=int, default=DEFAULT_SEED, help="suite seed")
        sp.add_argument(
            "--device",
            choices=("cpu", "cuda"),
            default="cpu",
            help="where the kernels run (cuda: numba.cuda; the rest stays on the CPU)",
        )
        from .parallel import add_arguments as executor_opts

        executor_opts(sp)  # --workers, --scheduler, --scheduler-file

    v = sub.add_parser("verify", help="run the claims and print a summary")
    suite_opts(v)
    v.add_argument("--json", help="write all results as JSON to this file")
    v.add_argument("--report", default="reports", help="report folder (default: reports)")
    v.add_argument("--no-report", action="store_true", help="do not write a report")
    v.set_defaults(func=cmd_verify)

    r = sub.add_parser("report", help="run the claims and write the markdown report")
    suite_opts(r)
    r.add_argument("--out", default="reports", help="output folder (default: reports)")
    r.set_defaults(func=cmd_report)

    f = sub.add_parser("formula", help="closed forms and numbers for an envelope law")
    f.add_argument("law", help="exponential, polynomial, logarithmic, "
                   "stretched_exponential or tempered_power_law")  # fmt: skip
    f.add_argument("--param", action="append", type=_param, metavar="NAME=VALUE")
    f.add_argument("--alpha", type=_finite_number, default=1.5)
    f.add_argument("--sigma", type=_finite_number, default=1.0)
    f.add_argument("--c", type=_finite_number, default=1.0)
    f.add_argument("--delta", type=_finite_number, default=0.1)
    f.add_argument("--N", type=_finite_number, action="append", help="sample size(s)")
    f.add_argument("--format", choices=("text", "latex", "json"), default="text")
    f.set_defaults(func=cmd_formula)

    w = sub.add_parser("window", help="learnability window of a trained GRU/LSTM")
    w.add_argument("--arch", choices=("gru", "lstm"), required=True)
    w.add_argument(
        "--weights", required=True, help=".npz with weight_ih, weight_hh, bias_ih, bias_hh"
    )
    w.add_argument("--prefix", default="", help="key prefix inside the .npz")
    g = w.add_mutually_exclusive_group()
    g.add_argument("--alpha", type=_finite_number)
    g.add_argument("--noise-samples", help=".npy or text file of gradient-noise samples")
    w.add_argument("--N", type=_finite_number, action="append")
    w.add_argument("--max-lag", type=int, default=100)
    w.add_argument("--steps", type=int, default=200)
    w.add_argument("--batch", type=int, default=8)
    w.add_argument("--order", choices=("zeroth", "first", "exact"), default="first")
    w.add_argument("--lr", type=_finite_number, default=1.0)
    w.add_argument(
        "--inputs",
        help=".npy array (batch, steps, inputs) of real input sequences to probe the network "
        "with (default: seeded random sequences, --batch x --steps)",
    )
    w.add_argument("--seed", type=int, default=0, help="seed of the probe input sequences")
    w.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="where the transport runs (cuda: orders zeroth and first only)",
    )
    w.add_argument("--json", help="write the result as JSON to this file")
    w.set_defaults(func=cmd_window)

    from .training.command import add_parser as add_experiment  # torch only when it runs

    add_experiment(sub)

    from .selftest.command import add_parser as add_selftest

    add_selftest(sub)
    return p


def main(argv=None) -> int:
    """Entry point of ``learnwin``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, ValueError) as exc:
        print(f"learnwin {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
