"""Bad and edge input everywhere: a clear error naming the parameter, never a crash.

Hypothesis draws, for every public entry point and every ``learnwin`` subcommand, one
argument at a time from a list of bad and edge values (NaN, infinities, zero, negatives,
huge numbers, wrong types, wrong shapes, corrupt files) with the others valid.  Each call
must either succeed with finite numbers or raise ``ValueError``/``TypeError`` whose message
names the parameter (exit status 2 on the command line, with the flag in the message) --
never an exception from deep inside NumPy, SciPy, SymPy or numba, never a traceback, and
never a file written outside the requested output.  Hangs are caught by Hypothesis'
deadline (generous: numba may compile on a first call); the bounded work comes from the
size guards.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theory
from verify.noise import stable, tail

BAD = [
    math.nan,
    math.inf,
    -math.inf,
    0,
    0.0,
    -1,
    -0.5,
    -1e300,
    1e300,
    10**30,
    2**63,
    "abc",
    "",
    None,
    [1.0, 2.0],
    complex(1.0, 1.0),
    True,
    np.float32("nan"),
    b"1",
]

FUZZ = settings(
    max_examples=40,
    deadline=timedelta(seconds=120),  # a hang detector, not a timing check
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_LAW = theory.Exponential(tau=20.0)
_X = stable.sample(1.5, size=400, seed=3)


@pytest.fixture(scope="module")
def window():
    return theory.learnability_window(_LAW, 1.5)


@pytest.fixture(scope="module")
def n_of():
    return theory.sample_complexity(_LAW, 1.5)


class _Stop(Exception):
    """Raised by a progress callback: the suite started, so the arguments were accepted."""


def _stop(*args):
    raise _Stop


def _api(window, n_of):
    """name -> (callable, valid keyword arguments, words a message about each may use)."""
    from verify.claims import run_suite

    return {
        "kappa": (theory.kappa, {"alpha": 1.5}),
        "mean_scale": (theory.mean_scale, {"alpha": 1.5, "sigma": 1.0, "n": 10}),
        "sas_cdf": (theory.sas_cdf, {"x": 0.3, "alpha": 1.5}),
        "sas_quantile": (theory.sas_quantile, {"p": 0.9, "alpha": 1.5}),
        "detection_threshold": (
            theory.detection_threshold,
            {"alpha": 1.5, "false_alarm": 0.05},
        ),
        "Exponential": (theory.Exponential, {"A": 1.0, "tau": 20.0}),
        "TemperedPowerLaw": (theory.TemperedPowerLaw, {"A": 1.0, "beta": 0.5, "lam": 5.0}),
        "make_law": (theory.make_law, {"name": "polynomial", "beta": 1.0}),
        "Detection": (
            theory.Detection,
            {"alpha": 1.5, "sigma": 1.0, "c": 1.0, "delta": 0.1, "false_alarm": 0.05},
        ),
        "N(ell)": (lambda lag: n_of(lag), {"lag": 3.0}),
        "H_N": (lambda N: window(N), {"N": 1e4}),
        "learnable": (lambda N: window.learnable(N), {"N": 1e4}),
        "log1p": (lambda N: window.log1p(N), {"N": 1e4}),
        "sample": (
            stable.sample,
            {"alpha": 1.5, "beta": 0.0, "sigma": 1.0, "mu": 0.0, "size": 10, "seed": 1},
        ),
        "trial_means": (
            stable.trial_means,
            {"alpha": 1.5, "sigma": 1.0, "signal": 0.0, "n": 10, "trials": 5, "seed": 1},
        ),
        "estimate": (
            tail.estimate,
            {
                "x": _X,
                "method": "mcculloch",
                "level": 0.9,
                "n_boot": 10,
                "seed": 0,
                "block_size": 8,
            },
        ),  # fmt: skip
        "run_suite": (
            lambda **kw: run_suite(**kw, progress=_stop),
            {"claims": ["C4"], "profile": "quick", "seed": 1, "false_alarm": 0.01},
        ),
    }


#: words an error message may use for a parameter instead of its name
ALIASES = {"n": ("n", "N"), "N": ("N",), "name": ("law",), "lag": ("lag",)}


def _names(param):
    return ALIASES.get(param, (param,))


def _finite(out) -> bool:
    if isinstance(out, bool | str | type(None)):
        return True
    if isinstance(out, int | float | np.number | np.ndarray):
        arr = np.asarray(out, dtype=float)
        return bool(np.all(np.isfinite(arr)))
    return True  # objects (laws, windows, estimates): their numbers are checked elsewhere


@contextlib.contextmanager
def _in_empty_folder():
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(old)


@FUZZ
@given(data=st.data())
def test_api_bad_input_gives_a_clear_error(window, n_of, data):
    api = _api(window, n_of)
    name = data.draw(st.sampled_from(sorted(api)), label="function")
    fn, kwargs = api[name]
    param = data.draw(st.sampled_from(sorted(kwargs)), label="parameter")
    value = data.draw(st.sampled_from(BAD), label="value")
    args = {**kwargs, param: value}
    with _in_empty_folder() as here:
        try:
            out = fn(**args)
        except _Stop:
            out = None  # run_suite accepted the arguments and was stopped at once
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            assert any(re.search(rf"(?<![A-Za-z_]){re.escape(w)}(?![A-Za-z_])", msg)
                       for w in _names(param)), (name, param, value, msg)  # fmt: skip
            return
        assert list(here.iterdir()) == []
    # N(ell) is documented as inf where it exceeds float64's range (a lag of 1e300)
    assert _finite(out) or name == "N(ell)", (name, param, value, out)


# ----------------------------------------------------------------------------- the CLI
def _main(argv):
    from verify.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors and --help
            code = exc.code
    return code, out.getvalue(), err.getvalue()


CLI_BAD = ["nan", "inf", "-inf", "-1", "0", "1e400", "abc", "", "1,5", "--", "ℵ"]


def _files(tmp: Path) -> dict:
    """Bad files for the file options, written into the working folder."""
    (tmp / "corrupt.npz").write_bytes(b"PK\x03\x04 not a zip archive")
    (tmp / "text.npz").write_text("hello", encoding="utf-8")
    np.save(tmp / "nan.npy", np.array([np.nan] * 50))
    np.save(tmp / "short.npy", np.arange(5.0))
    np.save(tmp / "cauchy.npy", stable.sample(0.6, size=2000, seed=1))
    np.save(tmp / "strings.npy", np.array(["a", "b"]))
    np.savez(tmp / "archive.npz", a=np.zeros(3))
    (tmp / "garbage.txt").write_text("1 2 x\n", encoding="utf-8")
    (tmp / "afile").write_text("precious", encoding="utf-8")
    (tmp / "foreign").mkdir()
    (tmp / "foreign" / "keep.txt").write_text("keep", encoding="utf-8")
    return {p.name: p.stat().st_mtime_ns for p in tmp.rglob("*")}


FILES = ["corrupt.npz", "text.npz", "nan.npy", "short.npy", "cauchy.npy", "strings.npy",
         "archive.npz", "garbage.txt", "missing.npy", "afile", "foreign", "/proc/x"]  # fmt: skip


def _cli_case(data):
    """One subcommand with one bad option; the rest valid but never reaching a long run."""
    cmd = data.draw(st.sampled_from(["verify", "report", "formula", "window", "experiment",
                                     "selftest"]), label="command")  # fmt: skip
    bad_num = data.draw(st.sampled_from(CLI_BAD), label="bad number")
    bad_file = data.draw(st.sampled_from(FILES), label="bad file")
    if cmd in ("verify", "report"):
        flag = data.draw(st.sampled_from(["--claims", "--seed", "--out", "--json"]))
        base = [cmd, "--claims", "C4"] + (["--no-report"] if cmd == "verify" else [])
        if flag == "--claims":
            return base + ["--claims", data.draw(st.sampled_from(["", " ,", "C0", "c4,x"]))], flag
        if flag == "--seed":
            return base + ["--seed", bad_num], flag
        if flag == "--out":
            out = "--report" if cmd == "verify" else "--out"
            args = [cmd, "--claims", "C4", out, data.draw(st.sampled_from(["afile", "foreign",
                                                                         "/proc/x"]))]  # fmt: skip
            return args, out
        if cmd == "report":
            return [cmd, "--claims", "C4", "--json", "x.json"], "--json"  # no such option
        return base + ["--json", data.draw(st.sampled_from(["missing/x.json", "/proc/x",
                                                            "foreign", "."]))], flag  # fmt: skip
    if cmd == "formula":
        flag = data.draw(st.sampled_from(["--alpha", "--sigma", "--c", "--delta", "--N",
                                          "--param", "law"]))  # fmt: skip
        base = ["formula", "exponential", "--param", "tau=20"]
        if flag == "law":
            return ["formula", data.draw(st.sampled_from(["", "expo", "nan"]))], "law"
        if flag == "--param":
            value = data.draw(st.sampled_from(["tau=" + bad_num, "nope=1", "tau", "=1"]))
            return ["formula", "exponential", "--param", value], "param|tau|nope|NAME=VALUE"
        if flag == "--N" and bad_num in ("0", "-1"):
            return base + ["--N", bad_num], "N"
        return base + [flag, bad_num], flag.strip("-")
    if cmd == "window":
        flag = data.draw(st.sampled_from(["--weights", "--noise-samples", "--inputs",
                                          "--alpha", "--N", "--max-lag", "--json"]))  # fmt: skip
        base = ["window", "--arch", "gru", "--max-lag", "20", "--steps", "30"]
        if flag == "--weights":
            return base + ["--weights", bad_file, "--alpha", "1.5"], flag
        if flag == "--noise-samples":
            bad = bad_file if bad_file not in ("/proc/x",) else "cauchy.npy"
            return base + ["--weights", "GRU", "--noise-samples", bad], flag
        if flag == "--inputs":
            return base + ["--weights", "GRU", "--alpha", "1.5", "--inputs", bad_file], flag
        if flag == "--json":
            return base + [
                "--weights",
                "GRU",
                "--alpha",
                "1.5",
                "--json",
                data.draw(st.sampled_from(["missing/x.json", "/proc/x", "."])),
            ], flag
        if flag == "--alpha" and bad_num == "1,5":
            bad_num = "0.9"
        if flag == "--N" and bad_num not in ("0", "-1"):
            bad_num = "0.5"
        return base + ["--weights", "GRU", "--alpha", "1.5", flag, bad_num], flag.strip("-")
    # the training experiment and the self-test: their options at the parser level only
    flag = data.draw(st.sampled_from(["--seed", "--no-such-option"]))
    value = bad_num if bad_num not in ("-1", "0", "--") else "abc"
    return [cmd, flag, value], flag if flag == "--seed" else "unrecognized"


@pytest.fixture(scope="module")
def gru_weights(tmp_path_factory):
    import verify.recurrences as rec

    path = tmp_path_factory.mktemp("weights") / "gru.npz"
    rec.GRU.init(hidden=4, inputs=2, spectrum=rec.Chrono(t_max=10), seed=0).save_npz(path)
    return str(path)


@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_cli_bad_input_exits_2_with_a_message(gru_weights, data):
    import verify.claims as claims

    argv, needle = _cli_case(data)
    argv = [gru_weights if a == "GRU" else a for a in argv]
    with _in_empty_folder() as here:
        before = _files(here)
        real = claims.run_suite
        claims.run_suite = _run_suite_must_not_start
        try:
            code, out, err = _main(argv)
        finally:
            claims.run_suite = real
        after = {p.name: p.stat().st_mtime_ns for p in here.rglob("*")}
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    assert code == 2, (argv, code, out, err)
    assert re.search(needle, err), (argv, needle, err)
    assert after == before, (argv, set(after) ^ set(before))  # nothing written or touched


def _run_suite_must_not_start(*args, **kwargs):
    raise AssertionError("the claims started running although an argument was bad")


def test_size_guards_refuse_at_once():
    with pytest.raises(ValueError, match=r"size must be at most \d+ .*memory"):
        stable.sample(1.5, size=10**12, seed=1)
    with pytest.raises(ValueError, match=r"n \* trials must be at most"):
        stable.trial_means(1.5, n=10**7, trials=10**6, seed=1)
