"""The ``learnwin`` command line: a thin layer over :mod:`theory` and :mod:`verify`.

Commands
--------
verify   run the claims, print a summary table, write the report (exit 0 all pass, 1 a
         claim fails, 2 bad usage: nothing is run or written)
report   run the claims and write the markdown report with figures
formula  closed forms and numbers for one envelope law
window   a trained layer's measured and fitted learnability window
experiment  train GRUs/LSTMs and check E1-E7 on them (verify.training.command)
selftest    plant errors and show which claim notices each (verify.selftest.command)

This module builds the parser and dispatches; the handlers of the first four commands
live in :mod:`verify.commands`.
"""

from __future__ import annotations

import argparse
import sys

from ._argtypes import finite_number, integer
from .commands.formula import cmd_formula
from .commands.suite import cmd_report, cmd_verify
from .commands.usage import EXIT_USAGE, UsageError
from .commands.window import cmd_window

__all__ = ["main"]

DEFAULT_SEED = 20251205
_seed = integer(0, what="an integer seed")


def _param(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param expects NAME=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), finite_number(v)


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
    f.add_argument("--alpha", type=finite_number, default=1.5,
                   help="stability index of the noise, in (1, 2]")  # fmt: skip
    f.add_argument("--sigma", type=finite_number, default=1.0, help="noise scale, > 0")
    f.add_argument("--c", type=finite_number, default=1.0, help="signal gain, > 0")
    f.add_argument("--delta", type=finite_number, default=0.1,
                   help="one minus the required power, in (0, 1)")  # fmt: skip
    f.add_argument("--N", type=finite_number, action="append",
                   help="sample size(s) >= 1 at which to evaluate H_N, repeatable")  # fmt: skip
    f.add_argument("--format", choices=("text", "latex", "json"), default="text",
                   help="output format")  # fmt: skip
    f.set_defaults(func=cmd_formula)

    w = sub.add_parser(
        "window",
        help="measured and fitted learnability window of a trained recurrent layer",
        description="The envelope of a trained network on probe sequences, the window read "
        "off it (measured) and the window of the fitted law (flagged where it extrapolates "
        "beyond --max-lag or is unstable), with every assumption and its source.",
    )
    w.add_argument("--arch", required=True,
                   help="the architecture: gru, lstm, mingru, minlstm, rglru or mamba (a key "
                   "of the registry verify.recurrences.loading.LOADERS)")  # fmt: skip
    w.add_argument("--weights", required=True,
                   help="gru/lstm: .npz state dict (np.savez of model.state_dict() as arrays); "
                   "mingru/minlstm/rglru/mamba: the module's state dict as .npz or .safetensors "
                   "(keys as mingru-pytorch's minGRU/minLSTM, transformers' "
                   "RecurrentGemmaRglru/MambaMixer)")  # fmt: skip
    w.add_argument("--prefix", default="",
                   help="key prefix of the cell's module in the .npz, e.g. 'rnn.' "
                   "(default: none; a wrong one is refused naming one that matches)")  # fmt: skip
    w.add_argument("--layer", type=int, default=None,
                   help="layer of a torch.nn.GRU/LSTM stack (required when it has several); "
                   "its inputs are the outputs of the layers below")  # fmt: skip
    g = w.add_mutually_exclusive_group()
    g.add_argument("--alpha", type=finite_number,
                   help="tail index of the gradient noise, in (1, 2]")  # fmt: skip
    g.add_argument(
        "--noise-samples",
        help=".npy or text file of gradient-noise samples: alpha and sigma are estimated "
        "(Koutrouvelis' regression, bootstrap CI)",
    )
    w.add_argument("--sigma", type=finite_number, default=None,
                   help="noise scale with --alpha (default: 1)")  # fmt: skip
    w.add_argument("--c", type=finite_number, default=None,
                   help="signal gain of the detection test, > 0 (default: 1)")  # fmt: skip
    w.add_argument("--delta", type=finite_number, default=None,
                   help="one minus the required power, in (0, 1) (default: 0.1)")  # fmt: skip
    w.add_argument("--N", type=finite_number, action="append",
                   help="sample size(s) >= 1, repeatable (default: 1e3 1e4 1e5 1e6)")  # fmt: skip
    w.add_argument("--max-lag", type=integer(1), default=None,
                   help="largest lag measured, <= the probe length (default: 100)")  # fmt: skip
    w.add_argument("--steps", type=integer(1), default=None,
                   help="length of the random probe sequences (default: 200)")  # fmt: skip
    w.add_argument("--batch", type=integer(1), default=None,
                   help="number of random probe sequences (default: 8)")  # fmt: skip
    w.add_argument(
        "--order", choices=("zeroth", "first", "diagonal", "exact", "full"), default=None,
        help="transport of the envelope (default: first); exact: the diagonal of the full "
        "Jacobian products; full: the first order plus the Frobenius norms of the full "
        "products and how much faster the envelope decays",
    )  # fmt: skip
    w.add_argument("--force", action="store_true",
                   help="run --order exact/full even past the stated cost")  # fmt: skip
    w.add_argument("--lr", type=finite_number, default=None,
                   help="base learning rate (SGD), > 0 (default: 1)")  # fmt: skip
    w.add_argument(
        "--inputs",
        help=".npy array (batch, steps, inputs) of the model's own input sequences "
        "(default: seeded random N(0, 1) sequences, --batch x --steps)",
    )
    w.add_argument("--seed", type=_seed, default=0,
                   help="seed of the random probes and the bootstrap (default: 0)")  # fmt: skip
    w.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="where the transport runs (cuda: orders zeroth, first, diagonal; default: cpu)",
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
