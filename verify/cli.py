"""The ``learnwin`` command line: a thin layer over :mod:`theory` and :mod:`verify`.

Commands
--------
verify   run the claims, print a summary table, write the report (exit 0 all pass, 1 a
         claim fails, 2 bad usage: nothing is run or written)
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
import sys
import zipfile
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


def _seed(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer seed >= 0, got {text!r}")
    return v


def _count(lo=1, hi=None):
    """An integer option in [lo, hi]."""

    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
            raise argparse.ArgumentTypeError(f"expected an integer {rng}, got {text!r}")
        return v

    return parse


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


def _check_json_path(path):
    """Refuse, before any run, a ``--json`` path that cannot be written."""
    from .report.writer import check_writable_file

    return None if path is None else check_writable_file(path, what="--json")


def _write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary sibling (its folder must exist)."""
    from .report.writer import write_text_atomic

    write_text_atomic(path, text)


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
    from .report.writer import check_report_dir

    _check_device(args.device)
    claims = None
    if args.claims is not None:
        claims = [c.strip().upper() for c in args.claims.split(",") if c.strip()]
        if not claims:
            raise UsageError(f"--claims: no claim ids given; available: {','.join(available())}")
        bad = [c for c in claims if c not in available()]
        if bad:
            raise UsageError(f"--claims: unknown claim(s) {bad}; available: {available()}")
        claims = list(dict.fromkeys(claims))  # C4,C4 runs C4 once
    out = getattr(args, "report", None) or getattr(args, "out", None)
    flag = "--report" if hasattr(args, "report") else "--out"
    if write_report and out:  # checked before the run: a refused path costs nothing
        check_report_dir(out, what=flag)
    _check_json_path(getattr(args, "json", None))
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


def _check_ns(ns):
    """``--N`` values, checked before any work: finite and >= 1."""
    for n in ns or []:
        if not n >= 1:
            raise UsageError(f"--N: N must be >= 1, got {n:g}")


def _formula_payload(args):
    import theory

    _check_ns(args.N)
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
        payload["values"].append({**_window_row(win, n), "theta_N": d.theta(n)})
    return payload, law, n_of, win


def _window_row(win, n):
    """H_N at one N: -1 and ``learnable: false`` when no lag is learnable."""
    try:
        h = win(n)
    except OverflowError:
        h = None
    return {"N": n, "H_N": h, "learnable": h is None or bool(win.learnable(n)),
            "log1p_H_N": win.log1p(n)}  # fmt: skip


def _window_text(win, v):
    """How one H_N reads: a lag, 'none', or its size where it exceeds float64."""
    if v["H_N"] is None:
        return f"exp({v['log1p_H_N']:.6g}) (beyond float64)"
    if not v["learnable"]:
        lo = win.law.min_lag
        n_lo = theory_n_of(win)(lo)
        return f"none: no lag is learnable (N({lo}) = {n_lo} > N)"
    return str(v["H_N"])


def theory_n_of(win):
    """N(ell) with the window's detection constants."""
    from theory import SampleComplexity

    return SampleComplexity(win.law, win.detection)


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
        print(f"N = {v['N']:g}: H_N = {_window_text(win, v)}")
    return EXIT_OK


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

    from .noise import tail

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

    from . import recurrences as rec
    from .recurrences.fit import fit_envelope

    _check_device(args.device)
    cls = {"gru": rec.GRU, "lstm": rec.LSTM}[args.arch]
    if not Path(args.weights).is_file():
        raise UsageError(f"--weights: no such file {args.weights!r}")
    if args.alpha is None and args.noise_samples is None:
        raise UsageError("give --alpha or --noise-samples")
    if args.noise_samples is not None and args.sigma is not None:
        raise UsageError("--sigma goes with --alpha; --noise-samples estimates sigma")
    _check_json_path(args.json)
    _check_ns(args.N)
    if not zipfile.is_zipfile(args.weights):  # np.load would leave the file open
        raise UsageError(f"--weights {str(args.weights)!r}: not an .npz archive")
    try:
        net = cls.from_npz(args.weights, prefix=args.prefix)
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
    rows = [_window_row(win, n) for n in args.N or [1e3, 1e4, 1e5, 1e6]]
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
        print(f"  N = {r['N']:g}: H_N = {_window_text(win, r)}")
    if args.json:
        _write_atomic(args.json, json.dumps(payload, indent=2, default=str))
    return EXIT_OK


# ----------------------------------------------------------------------------- parser
EXIT_CODES = """exit codes:
  0  every claim passes (or the command succeeded)
  1  a claim fails or errs
  2  bad usage or input: a clear message, nothing run or written
  130  interrupted (Ctrl-C); nothing written"""


def _version() -> str:
    from . import __version__

    return __version__


def _claims_epilog() -> str:
    from .claims import CLAIMS, available

    lines = ["claims:"] + [f"  {c:<4} {CLAIMS[c][0]}" for c in available()]
    return "\n".join(lines) + "\n\n" + EXIT_CODES


class _Parser(argparse.ArgumentParser):
    """A subcommand parser whose epilog (the claim list) is built only when help is shown."""

    epilog_fn = None

    def format_help(self):
        if self.epilog_fn is not None and self.epilog is None:
            self.epilog = self.epilog_fn()
            self.formatter_class = _RawEpilog
        return super().format_help()


class _RawEpilog(argparse.HelpFormatter):
    """Keeps the epilog's line breaks (the claim table)."""

    def _fill_text(self, text, width, indent):
        return "".join(indent + line for line in text.splitlines(keepends=True))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``learnwin``."""
    p = argparse.ArgumentParser(
        prog="learnwin",
        description="Verify the theory of learnability windows in gated RNNs.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def suite_opts(sp):
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--quick", action="store_true", help="the quick profile (default)")
        g.add_argument("--full", action="store_true", help="the thorough profile")
        sp.add_argument(
            "--claims", help="comma-separated claim ids, e.g. C2,C5 (default: all; listed below)"
        )
        sp.add_argument(
            "--seed",
            type=_seed,
            default=DEFAULT_SEED,
            help="suite seed, >= 0 (default: %(default)s)",
        )
        sp.add_argument(
            "--device",
            choices=("cpu", "cuda"),
            default="cpu",
            help="where the kernels run (cuda: numba.cuda; the rest stays on the CPU)",
        )
        from .parallel import add_arguments as executor_opts

        executor_opts(sp)  # --workers, --scheduler, --scheduler-file

    v = sub.add_parser("verify", help="run the claims and print a summary")
    v.epilog_fn = _claims_epilog
    suite_opts(v)
    v.add_argument("--json", help="write all results as JSON to this file (its folder must exist)")
    v.add_argument(
        "--report",
        default="reports",
        help="report folder: new, empty or an earlier report, whose other pages are kept "
        "(default: reports)",
    )
    v.add_argument("--no-report", action="store_true", help="do not write a report")
    v.set_defaults(func=cmd_verify)

    r = sub.add_parser("report", help="run the claims and write the markdown report")
    r.epilog_fn = _claims_epilog
    suite_opts(r)
    r.add_argument(
        "--out",
        default="reports",
        help="report folder: new, empty or an earlier report (default: reports)",
    )
    r.set_defaults(func=cmd_report)

    f = sub.add_parser(
        "formula",
        help="closed forms and numbers for an envelope law",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    f.add_argument("law", help="exponential, polynomial, logarithmic, "
                   "stretched_exponential or tempered_power_law")  # fmt: skip
    f.add_argument(
        "--param",
        action="append",
        type=_param,
        metavar="NAME=VALUE",
        help="a law parameter, repeatable: A (scale, default 1), tau, beta, gamma, lam",
    )
    f.add_argument("--alpha", type=_finite_number, default=1.5,
                   help="stability index of the noise, in (1, 2]")  # fmt: skip
    f.add_argument("--sigma", type=_finite_number, default=1.0, help="noise scale, > 0")
    f.add_argument("--c", type=_finite_number, default=1.0, help="signal gain, > 0")
    f.add_argument("--delta", type=_finite_number, default=0.1,
                   help="one minus the required power, in (0, 1)")  # fmt: skip
    f.add_argument("--N", type=_finite_number, action="append",
                   help="sample size(s) >= 1 at which to evaluate H_N, repeatable")  # fmt: skip
    f.add_argument("--format", choices=("text", "latex", "json"), default="text",
                   help="output format")  # fmt: skip
    f.set_defaults(func=cmd_formula)

    w = sub.add_parser(
        "window",
        help="learnability window of a trained GRU/LSTM",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    w.add_argument("--arch", choices=("gru", "lstm"), required=True, help="the architecture")
    w.add_argument(
        "--weights", required=True, help=".npz with weight_ih, weight_hh, bias_ih, bias_hh"
    )
    w.add_argument("--prefix", default="", help="key prefix inside the .npz")
    g = w.add_mutually_exclusive_group()
    g.add_argument("--alpha", type=_finite_number,
                   help="tail index of the gradient noise, in (1, 2]")  # fmt: skip
    g.add_argument(
        "--noise-samples",
        help=".npy or text file of gradient-noise samples: alpha and sigma are estimated "
        "(Koutrouvelis' regression, bootstrap CI)",
    )
    w.add_argument("--sigma", type=_finite_number, default=None,
                   help="noise scale with --alpha (default: 1)")  # fmt: skip
    w.add_argument("--N", type=_finite_number, action="append",
                   help="sample size(s) >= 1, repeatable (default: 1e3 1e4 1e5 1e6)")  # fmt: skip
    w.add_argument("--max-lag", type=_count(1), default=100, help="largest lag measured")
    w.add_argument("--steps", type=_count(1), default=200, help="length of the probe sequences")
    w.add_argument("--batch", type=_count(1), default=8, help="number of probe sequences")
    w.add_argument("--order", choices=("zeroth", "first", "exact"), default="first",
                   help="order of the transport expansion")  # fmt: skip
    w.add_argument("--lr", type=_finite_number, default=1.0, help="base learning rate, > 0")
    w.add_argument(
        "--inputs",
        help=".npy array (batch, steps, inputs) of real input sequences to probe the network "
        "with (default: seeded random sequences, --batch x --steps)",
    )
    w.add_argument("--seed", type=_seed, default=0,
                   help="seed of the probe sequences and the bootstrap, >= 0")  # fmt: skip
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
    except (UsageError, ValueError, TypeError) as exc:
        print(f"learnwin {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a write that the checks before the run could not foresee
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"learnwin {args.command}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
