"""Loading the diagonal cells from state dicts: files, prefixes, strictness, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _cli_calls import call

import verify.recurrences as rec
from verify.recurrences.layer_state_dicts import read_safetensors


def mamba_arrays(prefix="", seed=0):
    net = rec.Mamba.init(4, states=3, conv=2, seed=seed)
    arrays = {
        "in_proj.weight": net.in_proj_weight, "conv1d.weight": net.conv_weight[:, None, :],
        "conv1d.bias": net.conv_bias, "x_proj.weight": net.x_proj_weight,
        "dt_proj.weight": net.dt_proj_weight, "dt_proj.bias": net.dt_proj_bias,
        "A_log": net.A_log, "D": net.D, "out_proj.weight": net.out_proj_weight,
    }  # fmt: skip
    return net, {prefix + k: v for k, v in arrays.items()}


def test_mamba_npz_round_trip_and_prefix(cwd):
    net, arrays = mamba_arrays()
    np.savez("m.npz", **arrays)
    back = rec.load_state_dict("mamba", "m.npz")
    x = rec.random_inputs(2, 9, 4, seed=1)
    np.testing.assert_array_equal(back.forward(x).h, net.forward(x).h)
    _, whole = mamba_arrays("backbone.layers.1.mixer.")
    np.savez("model.npz", **whole, **{"backbone.norm_f.weight": np.ones(4)})
    with pytest.raises(ValueError, match=r"prefixes \['backbone.layers.1.mixer.'\]"):
        rec.load_state_dict("mamba", "model.npz")
    inner = rec.load_state_dict("mamba", "model.npz", prefix="backbone.layers.1.mixer.")
    np.testing.assert_array_equal(inner.forward(x).h, net.forward(x).h)


def test_strict_keys(cwd):
    _, arrays = mamba_arrays()
    with pytest.raises(ValueError, match="does not define.*'x_proj.bias'"):
        rec.load_state_dict("mamba", {**arrays, "x_proj.bias": np.zeros(2)})
    del arrays["D"]
    with pytest.raises(ValueError, match=r"missing \['D'\]"):
        rec.load_state_dict("mamba", arrays)
    with pytest.raises(ValueError, match="arch must be one of"):
        rec.load_state_dict("mamba2", arrays)


def test_gru_file_refused_for_mamba(cwd):
    rec.GRU.init(4, 2, spectrum=rec.Chrono(t_max=10), seed=0).save_npz("gru.npz")
    with pytest.raises(ValueError, match="GRU/LSTM-layout weights.*--arch gru"):
        rec.load_state_dict("mamba", "gru.npz")


def test_other_architecture_named(cwd):
    net = rec.MinGRU.init(3, 2, seed=0)
    with pytest.raises(ValueError, match="holds mingru weights: use --arch mingru"):
        rec.load_state_dict("rglru", {"to_hidden_and_gate.weight": net.weight})


def test_safetensors_reader_against_the_library(cwd):
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    tensors = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5).astype(np.float32),
               "c": rng.standard_normal((2, 2)).astype(np.float16)}  # fmt: skip
    st.save_file(tensors, "t.safetensors")
    got = read_safetensors("t.safetensors")
    for k, v in tensors.items():
        np.testing.assert_array_equal(got[k], v.astype(np.float64))
    (cwd / "bad.safetensors").write_bytes(b"\xff" * 20)
    with pytest.raises(ValueError, match="not a .safetensors file"):
        rec.load_state_dict("mamba", "bad.safetensors")


def test_window_command_on_a_mamba_mixer(cwd, capsys):
    _, arrays = mamba_arrays()
    np.savez("mixer.npz", **arrays)
    code, out, err = call(["window", "--arch", "mamba", "--weights", "mixer.npz", "--alpha",
                           "1.8", "--max-lag", "30", "--steps", "40", "--batch", "2",
                           "--json", "w.json"], capsys)  # fmt: skip
    assert code == 0, err
    assert "MAMBA layer 0 of 1 from mixer.npz: hidden 24" in out
    data = json.loads((cwd / "w.json").read_text())
    assert data["arch"] == "mamba" and len(data["envelope"]) == 31


def test_window_command_refuses_a_gru_file_for_mamba(cwd, capsys):
    rec.GRU.init(4, 2, spectrum=rec.Chrono(t_max=10), seed=0).save_npz("gru.npz")
    code, out, err = call(["window", "--arch", "mamba", "--weights", "gru.npz", "--alpha",
                           "1.8"], capsys)  # fmt: skip
    assert code == 2 and out == ""
    assert "(mamba)" in err and "missing" in err and "use --arch gru" in err
    code, _, err = call(["window", "--arch", "rglru", "--weights", "none.npz", "--alpha",
                         "1.8"], capsys)  # fmt: skip
    assert code == 2 and "no such file" in err


def test_window_command_refuses_exact_order_on_a_large_state(cwd, capsys):
    net = rec.Mamba.init(8, states=40, seed=0)  # 16 channels x 40 states = 640 units
    _, arrays = mamba_arrays()
    arrays = {**arrays, "in_proj.weight": net.in_proj_weight, "A_log": net.A_log,
              "conv1d.weight": net.conv_weight[:, None, :], "conv1d.bias": net.conv_bias,
              "x_proj.weight": net.x_proj_weight, "dt_proj.weight": net.dt_proj_weight,
              "dt_proj.bias": net.dt_proj_bias, "D": net.D,
              "out_proj.weight": net.out_proj_weight}  # fmt: skip
    np.savez("big.npz", **arrays)
    code, _, err = call(["window", "--arch", "mamba", "--weights", "big.npz", "--alpha", "1.8",
                         "--order", "exact"], capsys)  # fmt: skip
    assert code == 2 and "--order first" in err and "640" in err
