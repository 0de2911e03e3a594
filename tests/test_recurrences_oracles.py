"""The diagonal cells against the reference PyTorch modules, in float64, to 1e-10.

Forward passes, and the transport ``dh_t / dh_0`` computed by autograd through the
modules' own code (their CPU paths, built from a config with random weights: nothing is
downloaded), against our forward pass and our exact transport (the product of retentions).
``mingru-pytorch`` and ``transformers`` are the ``oracle`` extra.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from verify import recurrences as rec  # noqa: E402

TOL = 1e-10
B, T = 3, 12


def state_dict(module) -> dict:
    return {k: v.detach().to(torch.float64).numpy() for k, v in module.state_dict().items()}


def our_transport_from_zero(net, x):
    """Our exact transport from ``h_0`` to ``h_t`` for t = 1..T: (B, T, S)."""
    diag = rec.transport(net, x, x.shape[1], order="exact").diagonal
    return np.stack([diag[:, t, t + 1] for t in range(x.shape[1])], axis=1)


def full_jacobians(states, h0):
    """``d states[t] / d h0`` for every t, (B, T, S, S) (batch rows independent)."""
    out = []
    for st in states:
        flat = st.reshape(st.shape[0], -1)
        rows = [torch.autograd.grad(flat[:, q].sum(), h0, retain_graph=True)[0].reshape(
            flat.shape[0], -1) for q in range(flat.shape[1])]  # fmt: skip
        out.append(torch.stack(rows, dim=1))
    return torch.stack(out, dim=1).numpy()


def check_diagonal_transport(jac, ours):
    """The autograd Jacobians are diagonal and their diagonal is our transport."""
    S = jac.shape[-1]
    diag = jac[..., np.arange(S), np.arange(S)]
    off = jac.copy()
    off[..., np.arange(S), np.arange(S)] = 0.0
    assert np.max(np.abs(off)) == 0.0
    np.testing.assert_allclose(diag, ours, rtol=0, atol=TOL)
    assert np.median(np.abs(ours[:, 0])) > 1e-2  # a transport that is not trivially zero


# ----------------------------------------------------------------------- mingru-pytorch
@pytest.fixture(scope="module")
def mingru_mod():
    return pytest.importorskip("minGRU_pytorch")


@pytest.mark.parametrize("arch", ["mingru", "minlstm"])
@pytest.mark.parametrize("expansion", [1.0, 1.5])
def test_min_rnn_forward_and_transport(mingru_mod, arch, expansion):
    from minGRU_pytorch.minGRU import minGRU
    from minGRU_pytorch.minLSTM import minLSTM

    torch.manual_seed(3)
    ref = {"mingru": minGRU, "minlstm": minLSTM}[arch](6, expansion_factor=expansion).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0.0, 0.8)
    net = rec.load_state_dict(arch, state_dict(ref))
    x = torch.randn(B, T, 6, dtype=torch.float64)
    ours = net.forward(x.numpy())
    np.testing.assert_allclose(net.outputs(ours), ref(x).detach().numpy(), rtol=0, atol=TOL)
    # the module's sequential mode (one position per call), from a leaf initial state
    h0 = torch.rand(B, 1, net.hidden, dtype=torch.float64, requires_grad=True)
    to_out, ref.to_out = ref.to_out, torch.nn.Identity()
    h, states = h0, []
    for t in range(T):
        h = ref(x[:, t : t + 1], prev_hidden=h)
        states.append(h[:, 0])
    ref.to_out = to_out
    traj = net.forward(x.numpy(), h0=h0.detach().numpy()[:, 0])
    np.testing.assert_allclose(torch.stack(states, 1).detach().numpy(), traj.h[:, 1:],
                               rtol=0, atol=TOL)  # fmt: skip
    check_diagonal_transport(full_jacobians(states, h0), our_transport_from_zero(net, x.numpy()))


# ----------------------------------------------------------------------- transformers
@pytest.fixture(scope="module")
def transformers():
    return pytest.importorskip("transformers")


def rglru_module(transformers, seed=0):
    from transformers.models.recurrent_gemma.modeling_recurrent_gemma import RecurrentGemmaRglru

    cfg = transformers.RecurrentGemmaConfig(hidden_size=8, lru_width=8, num_attention_heads=2)
    torch.manual_seed(seed)
    mod = RecurrentGemmaRglru(cfg).double()
    with torch.no_grad():
        for p in mod.parameters():
            p.normal_(0.0, 0.7)
    # the scan's accumulation dtype is a parameter of the module's own _rnn_scan: float64
    mod._rnn_scan = functools.partial(type(mod)._rnn_scan, mod, acc_dtype=torch.float64)
    return mod


def test_rglru_forward_and_transport(transformers):
    mod = rglru_module(transformers)
    net = rec.load_state_dict("rglru", state_dict(mod))
    x = torch.randn(B, T, 8, dtype=torch.float64)
    pos = torch.arange(1, T + 1)[None].expand(B, T)  # no document boundary in the window
    np.testing.assert_allclose(net.outputs(net.forward(x.numpy())), mod(x, pos).detach().numpy(),
                               rtol=0, atol=TOL)  # fmt: skip
    h0 = torch.randn(B, 8, dtype=torch.float64, requires_grad=True)
    mod.recurrent_states = h0
    out = mod(x, pos)
    states = [out[:, t] for t in range(T)]
    traj = net.forward(x.numpy(), h0=h0.detach().numpy())
    np.testing.assert_allclose(out.detach().numpy(), traj.h[:, 1:], rtol=0, atol=TOL)
    check_diagonal_transport(full_jacobians(states, h0), our_transport_from_zero(net, x.numpy()))


def test_rglru_reset_position_is_not_this_cell(transformers):
    """Negative control: at a document boundary (position 0) the module differs from the cell."""
    mod = rglru_module(transformers)
    net = rec.load_state_dict("rglru", state_dict(mod))
    x = torch.randn(B, T, 8, dtype=torch.float64)
    pos = torch.arange(0, T)[None].expand(B, T)
    gap = np.abs(net.outputs(net.forward(x.numpy())) - mod(x, pos).detach().numpy()).max()
    assert gap > 1e-3


class Float64Scan(torch.overrides.TorchFunctionMode):
    """Run ``MambaMixer``'s slow path in float64, with a leaf initial state.

    The path casts ``A_log``, ``D``, the ``delta`` bias, ``B`` and the scan input to float32
    with ``.float()``; on float64 tensors those casts are made identities.  The scan's
    zero initial state (a ``torch.zeros`` of float64) is replaced by ``h0``, and the state
    read at each position (the first argument of the ``matmul`` with ``C``) is recorded.
    """

    def __init__(self, h0=None):
        super().__init__()
        self.h0, self.states = h0, []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.Tensor.float and args[0].dtype == torch.float64:
            return args[0]
        if func is torch.zeros and self.h0 is not None and kwargs.get("dtype") == torch.float64:
            return self.h0.clone()
        if func is torch.matmul and self.h0 is not None:
            self.states.append(args[0])
        return func(*args, **kwargs)


def mamba_module(transformers, seed=0, **cfg):
    from transformers.models.mamba.modeling_mamba import MambaMixer

    conf = dict(hidden_size=6, state_size=4, expand=2, conv_kernel=3, time_step_rank=2,
                num_hidden_layers=1, use_bias=True)  # fmt: skip
    conf.update(cfg)
    torch.manual_seed(seed)
    mod = MambaMixer(transformers.MambaConfig(**conf), 0).double().eval()
    with torch.no_grad():
        for p in mod.parameters():
            p.normal_(0.0, 0.4)
    return mod


@pytest.mark.parametrize("use_bias", [True, False])
def test_mamba_forward_and_transport(transformers, use_bias):
    mod = mamba_module(transformers, use_bias=use_bias)
    net = rec.load_state_dict("mamba", state_dict(mod))
    x = torch.randn(B, T, 6, dtype=torch.float64)
    with torch.no_grad(), Float64Scan():
        y = mod(x)
    np.testing.assert_allclose(net.outputs(net.forward(x.numpy())), y.numpy(), rtol=0, atol=TOL)
    h0 = torch.zeros(B, net.channels, net.states, dtype=torch.float64, requires_grad=True)
    mode = Float64Scan(h0)
    with mode:
        mod(x)
    assert len(mode.states) == T
    check_diagonal_transport(full_jacobians(mode.states, h0),
                             our_transport_from_zero(net, x.numpy()))  # fmt: skip


def test_mamba_without_the_float64_mode_differs(transformers):
    """Negative control: the module's own float32 casts move its output beyond 1e-10."""
    mod = mamba_module(transformers, seed=1)
    net = rec.load_state_dict("mamba", state_dict(mod))
    x = torch.randn(B, T, 6, dtype=torch.float64)
    with torch.no_grad():
        y = mod(x).numpy()
    assert np.abs(net.outputs(net.forward(x.numpy())) - y).max() > TOL


def test_fresh_mixer_matches_our_initialiser_spectrum(transformers):
    """transformers' init: A = -(1..N), softplus(dt bias) log-uniform in [1e-3, 1e-1]."""
    from theory.initialisations import S4DReal

    mod = mamba_module(transformers, hidden_size=64, seed=2)
    mod.init_mamba_weights()
    net = rec.load_state_dict("mamba", state_dict(mod))
    np.testing.assert_allclose(-np.exp(net.A_log), -np.arange(1.0, 5.0)[None].repeat(128, 0),
                               rtol=1e-6)  # fmt: skip
    dt = np.logaddexp(0.0, net.dt_proj_bias)
    assert 1e-3 * (1 - 1e-6) <= dt.min() and dt.max() <= 1e-1 * (1 + 1e-6)
    assert S4DReal(states=4).states == net.states


# ----------------------------------------------------------------------- learnwin window
def test_window_command_on_transformers_state_dicts(transformers, tmp_path, monkeypatch, capsys):
    """A mixer's state dict (.npz, float32) and a whole model (.safetensors, --prefix)."""
    from safetensors.torch import save_file

    from verify.cli import main

    monkeypatch.chdir(tmp_path)
    mod = mamba_module(transformers, hidden_size=8, seed=4)
    mod.init_mamba_weights()
    np.savez("mixer.npz", **{k: v.float().numpy() for k, v in mod.state_dict().items()})
    cfg = transformers.MambaConfig(hidden_size=8, state_size=4, num_hidden_layers=2,
                                   vocab_size=16)  # fmt: skip
    model = transformers.MambaModel(cfg)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, "model.safetensors")
    base = ["--alpha", "1.8", "--max-lag", "20", "--steps", "30", "--batch", "2"]
    assert main(["window", "--arch", "mamba", "--weights", "mixer.npz", *base]) == 0
    assert "MAMBA layer 0 of 1 from mixer.npz: hidden 64" in capsys.readouterr().out
    assert main(["window", "--arch", "mamba", "--weights", "model.safetensors", "--prefix",
                 "layers.1.mixer.", *base]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["window", "--arch", "mamba", "--weights", "model.safetensors", *base]) == 2
    err = capsys.readouterr().err
    assert "layers.0.mixer." in err and "layers.1.mixer." in err and "prefix" in err
    net = rec.load_state_dict("mamba", "model.safetensors", prefix="layers.1.mixer.")
    ref = model.layers[1].mixer.double().eval()
    x = torch.randn(2, 7, 8, dtype=torch.float64)
    with torch.no_grad(), Float64Scan():
        y = ref(x).numpy()
    np.testing.assert_allclose(net.outputs(net.forward(x.numpy())), y, rtol=0, atol=TOL)
