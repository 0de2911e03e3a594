"""Strict loading of trained weights: keys, prefixes, layers (against torch's own modules)."""

from __future__ import annotations

import numpy as np
import pytest

from verify.recurrences import GRU, LSTM, LoadError, load, random_inputs

torch = pytest.importorskip("torch")


def _save(path, module, prefix=""):
    np.savez(path, **{prefix + k: v.detach().double().numpy()
                      for k, v in module.state_dict().items()})  # fmt: skip
    return path


@pytest.fixture
def stack(tmp_path):
    torch.manual_seed(0)
    return torch.nn.LSTM(3, 5, num_layers=2, batch_first=True).double()


def test_a_cell_loads_as_torch_runs_it(tmp_path):
    torch.manual_seed(1)
    cell = torch.nn.GRUCell(3, 4).double()
    got = load("gru", _save(tmp_path / "g.npz", cell, "enc.rnn."), prefix="enc.rnn.")
    assert got.layers == 1 and got.layer == 0 and got.notes == ()
    assert got.keys == ("enc.rnn.weight_ih", "enc.rnn.weight_hh", "enc.rnn.bias_ih",
                        "enc.rnn.bias_hh")  # fmt: skip
    x = random_inputs(2, 6, 3, seed=0)
    h = torch.zeros(2, 4, dtype=torch.float64)
    for t in range(6):
        h = cell(torch.from_numpy(x[:, t]), h)
    np.testing.assert_allclose(got.cell.forward(x).h[:, -1], h.detach().numpy(), atol=1e-13)


def test_a_stack_needs_its_layer_and_feeds_it_the_layers_below(tmp_path, stack):
    path = _save(tmp_path / "s.npz", stack)
    with pytest.raises(LoadError, match=r"2-layer LSTM stack.*--layer K"):
        load("lstm", path)
    with pytest.raises(LoadError, match="out of range"):
        load("lstm", path, layer=2)
    got = load("lstm", path, layer=1)
    assert got.layers == 2 and isinstance(got.cell, LSTM)
    x = random_inputs(2, 7, 3, seed=3)
    out, _ = stack(torch.from_numpy(x))
    top = got.cell.forward(got.layer_inputs(x)).h[:, 1:]
    np.testing.assert_allclose(top, out.detach().numpy(), atol=1e-12)


def test_one_layer_of_a_stack_loads_without_naming_it(tmp_path):
    torch.manual_seed(2)
    path = _save(tmp_path / "g.npz", torch.nn.GRU(2, 3).double())
    assert isinstance(load("gru", path).cell, GRU)


def test_a_misspelled_key_is_an_error_never_a_zero_bias(tmp_path):
    torch.manual_seed(3)
    sd = {k: v.double().numpy() for k, v in torch.nn.LSTMCell(2, 3).state_dict().items()}
    sd["bias_hhh"] = sd.pop("bias_hh")
    np.savez(tmp_path / "m.npz", **sd)
    with pytest.raises(LoadError, match=r"unknown key.*'bias_hhh' \(did you mean 'bias_hh'\?\)"):
        load("lstm", tmp_path / "m.npz")


def test_one_bias_missing_is_an_error_both_missing_is_stated(tmp_path):
    torch.manual_seed(4)
    sd = {k: v.double().numpy() for k, v in torch.nn.GRUCell(2, 3).state_dict().items()}
    np.savez(tmp_path / "one.npz", **{k: v for k, v in sd.items() if k != "bias_hh"})
    with pytest.raises(LoadError, match="missing key.*bias_hh"):
        load("gru", tmp_path / "one.npz")
    nb = torch.nn.GRUCell(2, 3, bias=False).double()
    got = load("gru", _save(tmp_path / "nb.npz", nb))
    assert len(got.notes) == 1 and "bias=False" in got.notes[0]
    assert np.all(got.cell.bias_ih == 0.0) and np.all(got.cell.bias_hh == 0.0)


def test_a_wrong_prefix_suggests_the_right_one(tmp_path, stack):
    path = _save(tmp_path / "p.npz", stack, "decoder.rnn.")
    for prefix in ("", "decoder.", "decoder.rnn"):
        with pytest.raises(LoadError, match=r"--prefix decoder\.rnn\."):
            load("lstm", path, prefix=prefix, layer=0)
    assert load("lstm", path, prefix="decoder.rnn.", layer=0).layers == 2


def test_other_modules_keys_are_left_alone_but_unknown_own_keys_are_not(tmp_path):
    torch.manual_seed(5)
    sd = {"rnn." + k: v.double().numpy() for k, v in torch.nn.GRUCell(2, 3).state_dict().items()}
    sd["head.weight"] = np.ones((1, 3))
    sd["rnn.sub.scale"] = np.ones(1)
    np.savez(tmp_path / "m.npz", **sd)
    assert load("gru", tmp_path / "m.npz", prefix="rnn.").layers == 1
    sd["rnn.weight_hr_l0"] = np.ones((3, 3))
    np.savez(tmp_path / "m.npz", **sd)
    with pytest.raises(LoadError, match="unknown key.*weight_hr_l0"):
        load("gru", tmp_path / "m.npz", prefix="rnn.")


def test_wrong_architecture_and_bidirectional_are_refused(tmp_path):
    torch.manual_seed(6)
    path = _save(tmp_path / "g.npz", torch.nn.GRUCell(2, 3).double())
    with pytest.raises(LoadError, match="not LSTM weights"):
        load("lstm", path)
    path = _save(tmp_path / "b.npz", torch.nn.GRU(2, 3, bidirectional=True).double())
    with pytest.raises(LoadError, match="bidirectional"):
        load("gru", path)
    with pytest.raises(LoadError, match="arch must be one of"):
        load("transformer", path)
    with pytest.raises(LoadError, match="use --arch gru or --arch lstm"):
        load("mamba", path)
