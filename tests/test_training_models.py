"""The torch networks agree with our NumPy cells, and the functional forward with torch.nn."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the training tests need the 'train' extra")

from hypothesis import given
from hypothesis import strategies as st

from verify import recurrences as rec
from verify.training.models import ARCHS, Model, cell_from_arrays, run_states

# torch.func.jvp touches torch.jit.script internally, which warns of its own deprecation
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)


TOL = 1e-12  # float64 on both sides: the same operations in a different order


def _spectrum(arch):
    # ConstGate needs one shared retention; the others take a spread (chrono)
    return rec.make_spectrum("homogeneous", r0=0.8) if arch == "constgate" else rec.Chrono(12.0)


@given(
    arch=st.sampled_from(sorted(ARCHS)),
    hidden=st.integers(1, 6),
    inputs=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_torch_forward_matches_our_cells(arch, hidden, inputs, seed):
    torch.set_num_threads(1)
    model = Model(arch, hidden, inputs, _spectrum(arch), seed=seed)
    x = rec.random_inputs(3, 17, inputs, seed=seed + 1)
    with torch.no_grad():
        states = model.states(torch.as_tensor(x)).numpy()
    ours = model.to_cell().forward_reference(x).h[:, 1:]
    np.testing.assert_allclose(states, ours, rtol=0, atol=TOL)


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_functional_forward_matches_torch_nn(arch):
    model = Model(arch, 5, 3, _spectrum(arch), seed=3)
    x = torch.as_tensor(rec.random_inputs(2, 11, 3, seed=4))
    with torch.no_grad():
        fused = model.rnn(x)[0]
        functional = run_states(arch, model.canonical(), x)
    assert torch.max(torch.abs(fused - functional)).item() < TOL


def test_weights_are_the_pytorch_layout_our_cells_read(tmp_path):
    model = Model("gru", 4, 2, rec.Chrono(10.0), seed=0)
    a = model.arrays()
    path = tmp_path / "w.npz"
    np.savez(path, **{k: a[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    net = rec.GRU.from_npz(path)
    x = rec.random_inputs(2, 9, 2, seed=1)
    np.testing.assert_array_equal(net.forward(x).h, cell_from_arrays("gru", a).forward(x).h)


def test_initial_biases_realise_the_spectrum():
    model = Model("diaggate", 6, 2, rec.make_spectrum("homogeneous", r0=0.9), seed=0)
    b_s = model.canonical()["b_s"].detach().numpy()
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-b_s)), 0.1, rtol=1e-12)  # s = 1 - r


def test_injection_at_one_position_is_the_lag_resolved_gradient():
    # the forward-mode derivative along a perturbation injected at step s0 equals the
    # reverse-mode derivative of the same injected parameter
    model = Model("gru", 3, 2, rec.Chrono(8.0), seed=2)
    p = {k: v.detach() for k, v in model.canonical().items()}
    x = torch.as_tensor(rec.random_inputs(1, 8, 2, seed=5))
    delta = torch.zeros_like(p["weight_hh"]).requires_grad_(True)
    out = run_states("gru", p, x, inject=(2, {"weight_hh": delta}))[0, 6].sum()
    (grad,) = torch.autograd.grad(out, delta)
    v = torch.as_tensor(np.random.default_rng(0).standard_normal(delta.shape))
    _, jvp = torch.func.jvp(
        lambda d: run_states("gru", p, x, inject=(2, {"weight_hh": d}))[0, 6].sum(),
        (torch.zeros_like(delta),),
        (v,),
    )
    assert abs(jvp.item() - torch.sum(grad * v).item()) < TOL
    # and nothing of the injection reaches the positions before s0
    _, tangent = torch.func.jvp(
        lambda d: run_states("gru", p, x, inject=(2, {"weight_hh": d})),
        (torch.zeros_like(delta),),
        (v,),
    )
    assert torch.all(tangent[:, :2] == 0) and torch.any(tangent[:, 2:] != 0)


def test_bad_arch_is_named():
    with pytest.raises(ValueError, match="arch must be one of"):
        Model("rnn", 2, 2, rec.Chrono(8.0))


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_forward_mode_projections_equal_per_sequence_gradients(arch):
    from verify.training import diagnostics as dg
    from verify.training.task import TaskConfig, make_batch

    model = Model(arch, 4, 2, _spectrum(arch), seed=1)
    b = make_batch(TaskConfig(inputs=2, steps=10, lags=(1, 3), coefs=(0.5, 0.5)), 5, "noise")
    x, y = torch.as_tensor(b.x), torch.as_tensor(b.y)
    g, keys = dg.per_sequence_gradients(model, x, y)  # reverse mode, vmap of grad
    v, _ = dg.random_directions(model.canonical(), 3, seed=2)
    np.testing.assert_allclose(dg.gradient_projections(model, x, y, v, keys), g.numpy() @ v.T,
                               rtol=0, atol=1e-14)  # fmt: skip
