"""``learnwin window`` on trained-model files: strict loading, measured vs fitted windows,
assumptions, the cost limit of the costly orders (in process, in a temporary folder)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _cli_calls import call

import theory
import verify.recurrences as rec
from verify.recurrences.envelope import EnvelopeResult
from verify.recurrences.trained_window import (
    DECAY_WARN,
    STABILITY_TOL,
    decay_comparison,
    estimate_window,
    measured_interval,
)


def _lstm_stack(path, layers=2, hidden=6, inputs=3, prefix="", seed=0):
    """A torch.nn.LSTM-style state dict (keys weight_ih_l0, ...) written with numpy."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for k in range(layers):
        d = inputs if k == 0 else hidden
        arrays[f"{prefix}weight_ih_l{k}"] = rng.normal(0, 0.4, (4 * hidden, d))
        arrays[f"{prefix}weight_hh_l{k}"] = rng.normal(0, 0.4, (4 * hidden, hidden))
        arrays[f"{prefix}bias_ih_l{k}"] = rng.normal(0, 0.1, 4 * hidden)
        arrays[f"{prefix}bias_hh_l{k}"] = rng.normal(0, 0.1, 4 * hidden)
    np.savez(path, **arrays)
    return path


BASE = ["window", "--arch", "lstm", "--alpha", "1.5", "--max-lag", "20", "--steps", "40",
        "--batch", "2", "--N", "1e4"]  # fmt: skip


def test_a_misspelled_key_is_a_usage_error(cwd, capsys):
    net = rec.LSTM.init(hidden=4, inputs=2, spectrum=rec.Chrono(t_max=20), seed=0)
    np.savez("m.npz", weight_ih=net.weight_ih, weight_hh=net.weight_hh, bias_ih=net.bias_ih,
             bias_hhh=net.bias_hh)  # fmt: skip
    code, out, err = call([*BASE, "--weights", "m.npz"], capsys)
    assert code == 2 and out == ""
    assert "--weights" in err and "'bias_hhh' (did you mean 'bias_hh'?)" in err


def test_a_stack_without_layer_is_a_usage_error_and_with_it_feeds_the_layer(cwd, capsys):
    _lstm_stack("s.npz")
    code, _, err = call([*BASE, "--weights", "s.npz"], capsys)
    assert code == 2 and "2-layer LSTM stack" in err and "--layer K" in err
    code, out, _ = call([*BASE, "--weights", "s.npz", "--layer", "1", "--json", "o.json"], capsys)
    assert code == 0 and "LSTM layer 1 of 2" in out
    data = json.loads((cwd / "o.json").read_text(encoding="utf-8"))
    loaded = rec.load("lstm", "s.npz", layer=1)
    x = loaded.layer_inputs(rec.random_inputs(2, 40, 3, seed=0))
    want = rec.measure_envelope(loaded.cell, x, 20).log_f
    np.testing.assert_allclose(data["log_envelope"], want, rtol=1e-12)
    assert {"name": "layer", "value": "1 of 2", "source": "given",
            "note": "fed the outputs of the layers below it"} in data["assumptions"]  # fmt: skip


def test_a_wrong_prefix_suggests_the_one_that_matches(cwd, capsys):
    _lstm_stack("p.npz", layers=1, prefix="decoder.rnn.")
    code, _, err = call([*BASE, "--weights", "p.npz"], capsys)
    assert code == 2 and "--prefix decoder.rnn." in err
    code, _, _ = call([*BASE, "--weights", "p.npz", "--prefix", "decoder.rnn."], capsys)
    assert code == 0


def test_two_dimensional_inputs_are_a_usage_error(cwd, capsys):
    _lstm_stack("s.npz", layers=1)
    np.save("x.npy", np.zeros((40, 3)))
    code, _, err = call(["window", "--arch", "lstm", "--alpha", "1.5", "--weights", "s.npz",
                         "--inputs", "x.npy", "--max-lag", "10"], capsys)  # fmt: skip
    assert code == 2 and "expected a 3-D array" in err and "x[None]" in err


def test_measured_window_is_read_off_the_envelope(cwd, capsys):
    net = rec.GRU.init(hidden=6, inputs=2, spectrum=rec.Chrono(t_max=6), seed=1)
    net.save_npz("g.npz")
    args = ["window", "--arch", "gru", "--weights", "g.npz", "--alpha", "1.5", "--max-lag",
            "30", "--steps", "60", "--batch", "3", "--N", "1e3", "--N", "1e12", "--json",
            "o.json"]  # fmt: skip
    code, out, _ = call(args, capsys)
    assert code == 0
    data = json.loads((cwd / "o.json").read_text(encoding="utf-8"))
    env = rec.measure_envelope(net, rec.random_inputs(3, 60, 2, seed=0), 30)
    det = theory.complexity.Detection(1.5)
    for row in data["windows"]:
        theta = det.theta(row["N"])
        ok = np.flatnonzero(env.f >= theta)
        want = int(ok[-1]) if len(ok) else None
        assert row["measured"]["H_N"] == want
        assert row["measured"]["censored"] == bool(env.f[30] >= theta)
        lo, hi = row["measured"]["interval"]
        if want is not None:
            assert lo is not None and lo <= want <= hi
        fitted = row["fitted"]
        assert fitted["extrapolated"] == (fitted["H_N"] is not None and fitted["H_N"] > 30)
        if fitted["extrapolated"]:
            assert fitted["max_lag_needed"] == fitted["H_N"] + 1
            assert "EXTRAPOLATED beyond max-lag 30" in out
    assert "measured H_N" in out and "fitted   H_N" in out
    assert "95% bootstrap over the sequences" in out


def test_slow_memory_is_flagged_as_extrapolated(cwd, capsys):
    net = rec.GRU.init(hidden=6, inputs=2, spectrum=rec.Chrono(t_max=400), seed=2)
    net.save_npz("g.npz")
    code, out, _ = call(["window", "--arch", "gru", "--weights", "g.npz", "--alpha", "1.5",
                         "--max-lag", "10", "--steps", "30", "--N", "1e8", "--json", "o.json"],
                        capsys)  # fmt: skip
    assert code == 0
    row = json.loads((cwd / "o.json").read_text(encoding="utf-8"))["windows"][0]
    assert row["measured"]["censored"] and row["measured"]["H_N"] == 10
    assert row["fitted"]["extrapolated"] and row["fitted"]["H_N"] > 10
    assert ">= 10 (every measured lag clears theta_N; censored at max-lag 10)" in out
    assert "extrapolation of the law, not a measurement" in out


def test_nothing_learnable_is_null_in_json_and_none_in_text(cwd, capsys):
    net = rec.GRU.init(hidden=6, inputs=2, spectrum=rec.Chrono(t_max=6), seed=1)
    net.save_npz("g.npz")
    code, out, _ = call(["window", "--arch", "gru", "--weights", "g.npz", "--alpha", "1.5",
                         "--max-lag", "20", "--steps", "40", "--lr", "1e-9", "--N", "10",
                         "--json", "o.json"], capsys)  # fmt: skip
    assert code == 0
    row = json.loads((cwd / "o.json").read_text(encoding="utf-8"))["windows"][0]
    assert row["measured"] == {"H_N": None, "learnable": False, "censored": False,
                               "interval": [None, None]}  # fmt: skip
    assert row["fitted"]["H_N"] is None and row["fitted"]["learnable"] is False
    assert "measured H_N = none" in out and "fitted   H_N = none" in out
    assert "lr         1e-09 [given]" in out


def test_exact_and_full_refuse_past_their_cost_unless_forced(cwd, capsys, monkeypatch):
    _lstm_stack("s.npz", layers=1, hidden=128, inputs=4)
    base = ["window", "--arch", "lstm", "--alpha", "1.5", "--weights", "s.npz"]
    cases = [("exact", ["--steps", "2000", "--max-lag", "1000"]),
             ("full", ["--steps", "2000", "--max-lag", "1000"])]  # fmt: skip
    for order, sizes in cases:
        code, out, err = call([*base, *sizes, "--order", order], capsys)
        assert code == 2 and out == "", err
        assert f"--order {order}" in err and "estimated" in err and "--force" in err
    _lstm_stack("s.npz", layers=1, hidden=32)
    import verify.commands.window as w

    monkeypatch.setattr(w, "MAX_SECONDS", 0.0)  # a small run past a zero limit, forced
    small = ["window", "--arch", "lstm", "--alpha", "1.5", "--weights", "s.npz", "--steps",
             "30", "--max-lag", "10", "--batch", "2"]  # fmt: skip
    code, _, err = call([*small, "--order", "exact"], capsys)
    assert code == 2
    code, out, err = call([*small, "--order", "exact", "--force"], capsys)
    assert code == 0 and "exact transport: 2/2 sequences" in err
    code, out, err = call([*small, "--order", "full", "--force", "--json", "o.json"], capsys)
    assert code == 0 and "full transport: 2/2 sequences" in err
    ft = json.loads((cwd / "o.json").read_text(encoding="utf-8"))["full_transport"]
    assert set(ft["log_norm"]) == {"h", "c"} and len(ft["log_norm"]["c"]) == 11
    assert "||dc_t/dc_(t-l)||_F" in out


def _envelope(log_f):
    log_f = np.asarray(log_f, dtype=float)
    L = len(log_f) - 1
    return EnvelopeResult(lags=np.arange(L + 1), log_f=log_f, log_unit=log_f[:, None],
                          rates=np.ones(1), counts=np.full(L + 1, 10), order="first",
                          optimizer="sgd")  # fmt: skip


def test_a_fit_that_changes_with_the_lags_is_flagged_unstable():
    lags = np.arange(41)
    clean = _envelope(np.log(50.0) - lags / 8.0)  # one exponential throughout
    est = estimate_window(clean, [1e3, 1e6], 1.5, steps=60)
    assert all(r["fitted"]["stable"] for r in est.rows) and est.degenerate == ()
    kinked = _envelope(np.where(lags <= 20, np.log(50.0) - lags / 8.0, np.log(50.0) - 2.5))
    est = estimate_window(kinked, [1e3, 1e6], 1.5, steps=60)
    unstable = [r for r in est.rows if r["fitted"]["stable"] is False]
    assert unstable and any("unstable" in w for w in est.warnings)
    for r in unstable:
        h, h2 = r["fitted"]["H_N"], r["fitted"]["half_lags_H_N"]
        assert h2 is None or h is None or abs(h - h2) > STABILITY_TOL * max(1, h)


def test_the_decay_warning_states_the_ratio():
    env = _envelope(np.log(10.0) - np.arange(21) / 2.0)

    class Full:
        def __init__(self, slope):
            self.log_norm = {"c": np.log(3.0) - np.arange(21) * slope}

    fast = decay_comparison(env, Full(0.01), "c")
    assert fast["warn"] and fast["ratio"] == pytest.approx(math.exp(-19 * 0.5 + 19 * 0.01))
    close = decay_comparison(env, Full(0.5 - math.log(DECAY_WARN) / 19 / 2), "c")
    assert not close["warn"] and close["ratio"] > 1.0 / DECAY_WARN


def test_the_measured_interval_widens_only_with_sequences_that_disagree():
    lags = np.arange(31)
    same = np.tile(np.log(10.0) - lags / 5.0, (6, 1))
    log_theta = np.log(10.0) - 12.5 / 5.0  # the window is lag 12
    assert measured_interval(same, log_theta) == (12, 12)
    spread = np.log(10.0) - lags[None, :] / np.linspace(3.0, 8.0, 6)[:, None]
    lo, hi = measured_interval(spread, log_theta)
    m = spread.max(axis=0)
    point = int(np.flatnonzero(np.log(np.exp(spread - m).mean(axis=0)) + m >= log_theta)[-1])
    assert lo < hi and lo <= point <= hi
    assert measured_interval(same[:1], log_theta) is None


@pytest.mark.parametrize(("flag", "value", "what"), [("--lr", "0", "> 0"), ("--c", "-1", "> 0"),
                         ("--delta", "1", "in (0, 1)"), ("--alpha", "2.5", "in (1, 2]"),
                         ("--sigma", "0", "> 0")])  # fmt: skip
def test_bad_numbers_are_refused_before_any_work(cwd, capsys, flag, value, what):
    code, out, err = call(["window", "--arch", "gru", "--weights", "missing.npz",
                           *(["--alpha", "1.5"] if flag != "--alpha" else []),
                           flag, value], capsys)  # fmt: skip
    assert code == 2 and out == "" and f"{flag} must be {what}" in err
