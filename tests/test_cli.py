"""The ``learnwin`` command line end to end, each call in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

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


WINDOW = ["window", "--arch", "gru", "--N", "1e4", "--max-lag", "40", "--steps", "60"]


def test_window_with_alpha(tmp_path, gru_weights):
    proc = run([*WINDOW, "--weights", str(gru_weights), "--alpha", "1.5", "--json", "out.json"],
               tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert {"law", "windows"} <= set(data)
    assert data["alpha"] == 1.5
    assert len(data["windows"]) == 1
    assert data["windows"][0]["N"] == 1e4
    assert len(data["envelope"]) >= 40


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
    args = [*WINDOW, "--weights", str(gru_weights), "--alpha", "1.5", "--inputs", "x.npy",
            "--json", "out.json"]  # fmt: skip
    proc = run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["inputs"] == {"file": "x.npy", "batch": 3, "steps": 60}
    net = rec.GRU.from_npz(gru_weights)
    expected = rec.measure_envelope(net, x, 40, order="first").f
    np.testing.assert_allclose(data["envelope"], expected, rtol=1e-12)


def test_window_rejects_inputs_of_the_wrong_shape(tmp_path, gru_weights):
    np.save(tmp_path / "x.npy", np.zeros((3, 60, 5)))
    args = [*WINDOW, "--weights", str(gru_weights), "--alpha", "1.5", "--inputs", "x.npy"]
    assert_usage_error(run(args, tmp_path), "--inputs", "D = 2", "(3, 60, 5)")


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
    assert abs(data["estimated_alpha"] - 1.6) < 0.2
    assert data["alpha"] == data["estimated_alpha"]
    assert "windows" in data
