"""The ``learnwin`` command line end to end, each call in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from _cli_calls import call

import verify.recurrences as rec
from verify.device import cuda_available
from verify.noise import stable


def run(args, cwd, timeout=120):
    """``python -m verify ARGS`` in ``cwd``; returns the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "verify", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_usage_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    err = proc.stderr.lower()
    for needle in needles:
        assert needle.lower() in err, proc.stderr


# ----------------------------------------------------------------------------- formula
def test_formula_text(tmp_path):
    proc = run(["formula", "exponential", "--param", "tau=20", "--alpha", "1.5", "--N", "1e6"],
               tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "H_N = 54" in proc.stdout
    assert "law: Exponential(A=1, tau=20)" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_formula_json(tmp_path):
    args = ["formula", "exponential", "--param", "tau=20", "--N", "1e6", "--format", "json"]
    proc = run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"law", "window", "values"} <= set(data)
    assert data["values"][0]["H_N"] == 54
    assert data["window"]["regime"] == "logarithmic"


def test_formula_latex(tmp_path):
    proc = run(["formula", "exponential", "--param", "tau=20", "--format", "latex"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "\\lfloor" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["formula", "exponential", "--param", "tau=-1"], ["tau"]),
        (["formula", "exponential", "--param", "tau=20", "--alpha", "0.9"],
         ["mean does not exist"]),
        (["formula", "no_such_law"], ["unknown envelope law", "no_such_law"]),
        (["formula", "exponential", "--param", "tau"], ["NAME=VALUE"]),
        (["verify", "--claims", "C99", "--report", "out"], ["C99", "unknown claim"]),
        ([], ["required"]),
    ],
    ids=["negative-tau", "alpha-below-1", "unknown-law", "bad-param", "unknown-claim",
         "no-command"],
)  # fmt: skip
def test_usage_errors(tmp_path, args, needles):
    proc = run(args, tmp_path)
    assert_usage_error(proc, *needles)
    assert list(tmp_path.iterdir()) == []  # nothing written, "out" not created


@pytest.mark.skipif(cuda_available(), reason="a CUDA device (or the simulator) is usable here")
def test_verify_device_cuda_without_a_gpu_is_refused(tmp_path):
    proc = run(["verify", "--device", "cuda", "--no-report"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.lower()
    assert "--device cuda" in err
    assert "no cuda gpu is available" in err and "device='cpu'" in err
    assert "traceback" not in err
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- verify
def test_verify_one_claim_json(tmp_path):
    proc = run(["verify", "--claims", "C7", "--no-report", "--json", "res.json"], tmp_path)
    # C7 involves no sampling: at the default seed it passes, so the exit status is 0
    assert proc.returncode == 0, proc.stderr
    assert "| C7 | PASS |" in proc.stdout
    data = json.loads((tmp_path / "res.json").read_text(encoding="utf-8"))
    assert isinstance(data["results"], list)
    assert len(data["results"]) == 1
    assert data["results"][0]["claim"] == "C7"
    assert (proc.returncode == 0) == data["passed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.json"]  # no report folder


# ----------------------------------------------------------------------------- window
@pytest.fixture(scope="module")
def gru_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "gru.npz"
    net = rec.GRU.init(hidden=8, inputs=2, spectrum=rec.Chrono(t_max=30), seed=0)
    net.save_npz(path)
    return path


WINDOW_X = ["window", "--arch", "gru", "--N", "1e4", "--max-lag", "40"]  # with --inputs
WINDOW = [*WINDOW_X, "--steps", "60"]


def test_window_with_alpha(tmp_path, gru_weights):
    proc = run([*WINDOW, "--weights", str(gru_weights), "--alpha", "1.5", "--json", "out.json"],
               tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert {"law", "windows", "assumptions", "warnings"} <= set(data)
    assert data["detection"]["alpha"] == 1.5
    assert len(data["windows"]) == 1
    row = data["windows"][0]
    assert row["N"] == 1e4 and {"measured", "fitted", "theta_N"} <= set(row)
    assert len(data["envelope"]) == 41
    src = {a["name"]: a["source"] for a in data["assumptions"]}
    assert src == {"probe": "default", "max-lag": "given", "order": "default",
                   "optimizer": "default", "lr": "default", "alpha": "given",
                   "sigma": "default", "c": "default", "delta": "default"}  # fmt: skip
    assert "random N(0, 1)" in proc.stdout and "max-lag    40 [given]" in proc.stdout


@pytest.mark.skipif(cuda_available(), reason="a CUDA device (or the simulator) is usable here")
def test_window_device_cuda_without_a_gpu_is_refused(tmp_path, gru_weights):
    args = [*WINDOW, "--weights", str(gru_weights), "--alpha", "1.5", "--device", "cuda",
            "--json", "out.json"]  # fmt: skip
    proc = run(args, tmp_path)
    assert_usage_error(proc, "--device cuda", "no CUDA GPU is available")
    assert not (tmp_path / "out.json").exists()


def test_window_with_real_input_sequences(tmp_path, gru_weights):
    x = rec.random_inputs(3, 60, 2, seed=9) * 2.0 + 0.5  # stands in for a data set
    np.save(tmp_path / "x.npy", x)
    args = [*WINDOW_X, "--weights", str(gru_weights), "--alpha", "1.5", "--inputs", "x.npy",
            "--json", "out.json"]  # fmt: skip
    proc = run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["probe"] == {"file": "x.npy", "batch": 3, "steps": 60, "seed": None}
    assert data["assumptions"][0]["source"] == "file"
    net = rec.GRU.from_npz(gru_weights)
    expected = rec.measure_envelope(net, x, 40, order="first").f
    np.testing.assert_allclose(data["envelope"], expected, rtol=1e-12)


def test_window_rejects_inputs_of_the_wrong_shape(tmp_path, gru_weights):
    np.save(tmp_path / "x.npy", np.zeros((3, 60, 5)))
    args = [*WINDOW_X, "--weights", str(gru_weights), "--alpha", "1.5", "--inputs", "x.npy"]
    assert_usage_error(run(args, tmp_path), "--inputs", "D = 2", "(3, 60, 5)")
    np.save(tmp_path / "ok.npy", np.zeros((3, 60, 2)))
    args = [*WINDOW, "--weights", str(gru_weights), "--alpha", "1.5", "--inputs", "ok.npy"]
    assert_usage_error(run(args, tmp_path), "--steps and --batch size the random probes")


def test_window_missing_weights(tmp_path):
    proc = run([*WINDOW, "--weights", "missing.npz", "--alpha", "1.5", "--json", "out.json"],
               tmp_path)  # fmt: skip
    assert_usage_error(proc, "--weights", "missing.npz")
    assert list(tmp_path.iterdir()) == []


def test_window_with_noise_samples(tmp_path, gru_weights):
    np.save(tmp_path / "noise.npy", stable.sample(alpha=1.6, size=5000, seed=1))
    args = [*WINDOW, "--weights", str(gru_weights), "--noise-samples", "noise.npy",
            "--json", "out.json"]  # fmt: skip
    proc = run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert abs(data["noise"]["estimated_alpha"] - 1.6) < 0.2
    assert data["detection"]["alpha"] == data["noise"]["estimated_alpha"]
    src = {a["name"]: a["source"] for a in data["assumptions"]}
    assert src["alpha"] == src["sigma"] == "estimated"


# ----------------------------------------------------------------------------- bad input
# in process (verify.cli.main), in a temporary working folder: fast, and the folder shows
# every file a call touched


@pytest.mark.parametrize("flag", ["--report", "--out"])
def test_an_existing_file_is_never_replaced_by_a_report(cwd, capsys, flag):
    (cwd / "f").write_text("precious", encoding="utf-8")
    cmd = "verify" if flag == "--report" else "report"
    code, out, err = call([cmd, "--claims", "C4", flag, "f"], capsys)
    assert code == 2 and "not a folder" in err and flag in err
    assert (cwd / "f").read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in cwd.iterdir()) == ["f"]
    assert "[1/1]" not in err  # refused before the run


def test_a_foreign_folder_is_refused(cwd, capsys):
    (cwd / "notes").mkdir()
    (cwd / "notes" / "todo.txt").write_text("x", encoding="utf-8")
    code, _, err = call(["verify", "--claims", "C4", "--report", "notes"], capsys)
    assert code == 2 and "not a learnwin report" in err
    assert [p.name for p in (cwd / "notes").iterdir()] == ["todo.txt"]


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["verify", "--claims", "", "--no-report"], ["--claims", "no claim ids"]),
        (["verify", "--claims", " , ", "--no-report"], ["--claims", "no claim ids"]),
        (["verify", "--seed", "-1", "--no-report"], ["--seed", ">= 0"]),
        (["verify", "--claims", "C4", "--json", "missing/r.json", "--no-report"],
         ["--json", "does not exist"]),
        (["verify", "--claims", "C4", "--json", "/proc/x.json", "--no-report"],
         ["--json", "cannot write"]),
        (["verify", "--claims", "C4", "--json", ".", "--no-report"], ["--json", "folder"]),
        (["formula", "exponential", "--param", "tau=20", "--N", "0.5"], ["N must"]),
        (["window", "--arch", "gru", "--weights", "w.npz", "--alpha", "1.5",
          "--max-lag", "0"], ["--max-lag", ">= 1"]),
    ],
    ids=["empty-claims", "blank-claims", "negative-seed", "json-missing-folder",
         "json-unwritable", "json-is-folder", "N-below-1", "max-lag-0"],
)  # fmt: skip
def test_usage_errors_in_process(cwd, capsys, argv, needles):
    from verify.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    for n in needles:
        assert n in err, err
    assert "Traceback" not in err
    assert list(cwd.iterdir()) == []


def test_duplicate_claims_run_once(cwd, capsys, monkeypatch):
    import verify.claims as claims

    seen = []

    def fake_run_suite(ids, *args, **kwargs):
        seen.append(ids)
        raise KeyboardInterrupt  # stop before any work

    monkeypatch.setattr(claims, "run_suite", fake_run_suite)
    code, _, _ = call(["verify", "--claims", "C4,c4,C4", "--no-report"], capsys)
    assert code == 130 and seen == [["C4"]]


def test_version_and_help_name_claims_and_exit_codes(capsys):
    from verify import __version__
    from verify.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = capsys.readouterr().out
    assert "C4" in text and "R1" in text and "exit codes" in text
    for sub in ("formula", "window"):
        with pytest.raises(SystemExit):
            main([sub, "--help"])
        text = capsys.readouterr().out
        assert "(default: 1.5)" in text or "(default: first)" in text, text


def test_formula_says_when_no_lag_is_learnable(capsys):
    code, out, _ = call(["formula", "exponential", "--param", "tau=20", "--N", "100", "--N",
                         "1"], capsys)  # fmt: skip
    assert code == 0
    assert "N = 100: H_N = none: no lag is learnable (N(0) = 281 > N)" in out
    assert "H_N = 0" not in out
    code, out, _ = call(["formula", "exponential", "--param", "tau=20", "--N", "100",
                         "--format", "json"], capsys)  # fmt: skip
    v = json.loads(out)["values"][0]
    assert v["H_N"] == -1 and v["learnable"] is False


def test_formula_prints_short_numbers(capsys):
    code, out, _ = call(["formula", "stretched_exponential", "--param", "tau=20", "--param",
                         "gamma=0.8447", "--format", "latex"], capsys)  # fmt: skip
    assert code == 0
    assert "00000000" not in out.split("growth in N")[1]
    assert "q_{1-delta}" not in out


def test_window_bad_files(cwd, capsys, gru_weights):
    (cwd / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip")
    np.save(cwd / "noise.npy", stable.sample(1.5, size=2000, seed=1))
    base = ["window", "--arch", "gru", "--max-lag", "20", "--steps", "30"]
    cases = [
        (["--weights", "corrupt.npz", "--alpha", "1.5"], "--weights"),
        (["--weights", str(gru_weights), "--noise-samples", "missing.npy"], "--noise-samples"),
        (["--weights", str(gru_weights), "--alpha", "1.5", "--inputs", str(gru_weights)],
         "--inputs"),
        (["--weights", str(gru_weights), "--alpha", "1.5", "--json", "/proc/x.json"], "--json"),
        (["--weights", str(gru_weights), "--noise-samples", "noise.npy", "--sigma", "2"],
         "--sigma"),
    ]  # fmt: skip
    for extra, needle in cases:
        code, out, err = call(base + extra, capsys)
        assert code == 2 and needle in err, (extra, err)
    assert sorted(p.name for p in cwd.iterdir()) == ["corrupt.npz", "noise.npy"]


def test_window_alpha_at_most_one_is_refused_before_the_bootstrap(cwd, capsys, gru_weights,
                                                                   monkeypatch):  # fmt: skip
    from verify.noise import tail

    np.save(cwd / "noise.npy", stable.sample(0.3, size=5000, seed=2))
    cis = []
    real = tail.estimate
    monkeypatch.setattr(tail, "estimate", lambda *a, **k: cis.append(k.get("ci")) or real(*a, **k))
    code, _, err = call(["window", "--arch", "gru", "--weights", str(gru_weights),
                         "--noise-samples", "noise.npy"], capsys)  # fmt: skip
    assert code == 2 and "<= 1" in err and "--noise-samples" in err
    assert True not in cis  # no bootstrap was run


def test_window_uses_the_estimated_sigma(cwd, capsys, gru_weights):
    x = stable.sample(1.6, size=5000, seed=1)
    np.save(cwd / "a.npy", x)
    np.save(cwd / "b.npy", 1000.0 * x)
    base = ["window", "--arch", "gru", "--weights", str(gru_weights), "--max-lag", "40",
            "--steps", "60", "--N", "1e8"]  # fmt: skip
    res = {}
    for name in ("a", "b"):
        code, out, _ = call([*base, "--noise-samples", f"{name}.npy", "--json", f"{name}.json"],
                            capsys)  # fmt: skip
        assert code == 0 and "sigma      " in out and "[estimated]" in out
        res[name] = json.loads((cwd / f"{name}.json").read_text(encoding="utf-8"))
    da, db = res["a"]["detection"], res["b"]["detection"]
    assert db["sigma"] == pytest.approx(1000.0 * da["sigma"], rel=1e-6)
    assert da["alpha"] == pytest.approx(db["alpha"], rel=1e-6)
    # theta_N is proportional to sigma: 1000 times the noise, a smaller window
    assert res["b"]["windows"][0]["theta_N"] == pytest.approx(
        1000.0 * res["a"]["windows"][0]["theta_N"], rel=1e-6)  # fmt: skip
    ha, hb = (res[k]["windows"][0]["fitted"]["H_N"] for k in "ab")
    assert hb is None or hb < ha


def test_json_files_follow_the_umask(tmp_path):
    import os
    import stat

    from verify.commands.usage import write_atomic

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
