"""Benchmark: the GRU envelope against its strongest peers, on the same quantity.

The workload is THEORY.md's envelope ``f(l)`` of a chrono-initialised GRU (float64): the
per-unit first-order transport ``Gamma_{t,l} = prod r [1 + sum d / r]`` of every position
``t`` and lag ``l <= L``, summed in absolute value over units and averaged over sequences
and positions.  Work is counted in unit-updates, one per (sequence, position, lag >= 1,
unit): ``B * H * sum_t min(t, L)``.

Peers (each returns ``log f``, checked equal to ours to 1e-10 relative before timing):

* :func:`torch_prefix` — the prefix-sum method, vectorised over (batch, time, units) in
  PyTorch: ``S = cumsum log r`` and ``D = cumsum d / r`` over time, then one pass per lag,
  ``Gamma = exp(S_t - S_{t-l}) (1 + D_t - D_{t-l})``.  Handed ``r`` and ``d`` for free,
  as :func:`verify.recurrences.envelope.envelope_of_factors` (ours) is.
* :func:`numpy_prefix` — the same method in NumPy.
* :func:`torch_autograd` — the true GRU Jacobian products by reverse mode: an unrolled
  ``torch.nn.GRUCell`` with a zero probe added to the state at every step, one backward
  pass of ``sum(h_t)`` per position ``t`` (it includes the forward pass and all
  off-diagonal routes, so it is the exact order's column sums, not the first order).
* :func:`torch_pipeline` — end to end from the inputs: ``torch.nn.GRU`` for the states,
  the gates of all steps from them in one batched product, ``r`` and ``d``, then
  :func:`torch_prefix`; against :func:`ours_pipeline` (``log_envelope``: the fused
  forward kernel that writes the factors, then the envelope kernel).
* :func:`torch_exact` — the exact order (diagonal of the products of full Jacobians):
  per-step Jacobians by ``torch.func.vmap(torch.func.jacrev(cell))`` over every
  (sequence, step), then one batched matrix product per lag.

Run ``python bench/bench_transport.py [--batch 64 --hidden 64 --steps 256 --repeat 3]``;
``run_all.py`` calls these functions for its table.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import best_of

from verify import recurrences as rec
from verify.recurrences.envelope import envelope_of_factors

#: relative agreement required between ours and a peer before either is timed
AGREE = 1e-10


def updates(batch, hidden, steps, max_lag) -> int:
    """Unit-updates of the envelope: one per (sequence, position, lag >= 1, unit)."""
    return batch * hidden * sum(min(t, max_lag) for t in range(1, steps + 1))


def problem(batch, hidden, steps, seed=0):
    """The benchmark GRU, its inputs and its ``(r, d)`` (each (B, T, H))."""
    net = rec.GRU.init(hidden, 8, rec.Chrono(t_max=steps), seed=seed)
    x = rec.random_inputs(batch, steps, 8, seed=seed + 1)
    r, d = net.retention_and_correction(net.forward(x))
    return net, x, np.ascontiguousarray(r), np.ascontiguousarray(d)


def _counts(batch, steps, max_lag):
    lags = np.arange(max_lag + 1)
    return batch * (steps - np.maximum(lags, 1) + 1)


def ours_first(r, d, max_lag):
    """``log f`` of the first order from ``(r, d)``: :func:`envelope_of_factors`."""
    return envelope_of_factors(r, d, max_lag, "first").log_f


def torch_prefix(torch, r, d, max_lag):
    """``log f`` by prefix sums over time in PyTorch, one vectorised pass per lag."""
    B, T, H = r.shape
    zero = torch.zeros(B, 1, H, dtype=r.dtype)
    S = torch.cat([zero, torch.cumsum(torch.log(r), 1)], 1)  # S[:, t] = sum_{k<=t} log r
    D = torch.cat([zero, torch.cumsum(d / r, 1)], 1)
    f = torch.empty(max_lag + 1, dtype=r.dtype)
    for lag in range(max_lag + 1):
        lo = max(lag, 1)  # positions t = lo..T
        gamma = torch.exp(S[:, lo:] - S[:, lo - lag : T + 1 - lag])
        bracket = 1.0 + (D[:, lo:] - D[:, lo - lag : T + 1 - lag])
        f[lag] = (gamma * bracket).abs().sum()
    return np.log(f.numpy()) - np.log(_counts(B, T, max_lag))


def numpy_prefix(r, d, max_lag):
    """``log f`` by prefix sums over time in NumPy, one vectorised pass per lag."""
    B, T, H = r.shape
    zero = np.zeros((B, 1, H))
    S = np.concatenate([zero, np.cumsum(np.log(r), 1)], 1)
    D = np.concatenate([zero, np.cumsum(d / r, 1)], 1)
    f = np.empty(max_lag + 1)
    for lag in range(max_lag + 1):
        lo = max(lag, 1)
        gamma = np.exp(S[:, lo:] - S[:, lo - lag : T + 1 - lag])
        bracket = 1.0 + (D[:, lo:] - D[:, lo - lag : T + 1 - lag])
        f[lag] = np.abs(gamma * bracket).sum()
    return np.log(f) - np.log(_counts(B, T, max_lag))


def _torch_cell(torch, net):
    cell = torch.nn.GRUCell(net.weight_ih.shape[1], net.hidden).double()
    cell.load_state_dict(
        {
            k: torch.from_numpy(getattr(net, k))
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
    )
    return cell


def torch_autograd(torch, net, x):
    """``log f`` of the true Jacobian column sums by autograd, one backward per position."""
    B, T, _ = x.shape
    H = net.hidden
    cell = _torch_cell(torch, net)
    xt = torch.from_numpy(x)
    probes = [torch.zeros(B, H, dtype=torch.float64, requires_grad=True) for _ in range(T)]
    h = torch.zeros(B, H, dtype=torch.float64)
    hs = []
    for t in range(T):
        h = cell(xt[:, t], h) + probes[t]
        hs.append(h)
    sums = np.zeros(T + 1)
    for t in range(T):
        grads = torch.autograd.grad(hs[t].sum(), probes[: t + 1], retain_graph=True)
        for j, g in enumerate(grads):
            sums[t - j] += g.abs().sum().item()
    with np.errstate(divide="ignore"):
        return np.log(sums) - np.log(_counts(B, T, T))


def torch_exact(torch, net, x, max_lag):
    """``log f`` of the exact order: ``vmap(jacrev)`` Jacobians, batched products per lag."""
    from torch.func import jacrev, vmap

    B, T, D = x.shape
    H = net.hidden
    cell = _torch_cell(torch, net)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        h = torch.zeros(B, H, dtype=torch.float64)
        prev = []
        for t in range(T):
            prev.append(h)
            h = cell(xt[:, t], h)
        hp = torch.stack(prev, 1).reshape(B * T, H)  # h_{t-1} for every (sequence, step)

        def step(hv, xv):
            return cell(xv[None], hv[None])[0]

        jac = vmap(jacrev(step))(hp, xt.reshape(B * T, D)).reshape(B, T, H, H)
        f = np.empty(max_lag + 1)
        f[0] = B * T * H
        m = jac  # m[:, i] = J_{i+1} ... J_{i-lag+2}: the product ending at position i + 1
        for lag in range(1, max_lag + 1):
            if lag > 1:  # M_{t,lag} = M_{t,lag-1} J_{t-lag+1}, for positions t >= lag
                m = torch.matmul(m[:, 1:], jac[:, : T - lag + 1])
            f[lag] = torch.diagonal(m, dim1=-2, dim2=-1).abs().sum().item()
    return np.log(f) - np.log(_counts(B, T, max_lag))


def torch_gru(torch, net):
    """``torch.nn.GRU`` (float64) holding ``net``'s weights, built once, outside any timing."""
    gru = torch.nn.GRU(net.weight_ih.shape[1], net.hidden, batch_first=True).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(gru, name + "_l0").copy_(torch.from_numpy(getattr(net, name)))
    return gru


def torch_pipeline(torch, gru, x, max_lag):
    """``log f`` of the first order from the inputs, all in PyTorch: the strongest pipeline.

    ``torch.nn.GRU`` (one fused call over the sequence) gives the states; the gates of
    every step follow from the states in one batched matrix product (nothing sequential
    is left); then ``r``, ``d`` and :func:`torch_prefix`.  What a practitioner with PyTorch
    would run to get the envelope of a model from its inputs (eager mode; ``gru`` from
    :func:`torch_gru`).
    """
    B, T, D = x.shape
    H = gru.hidden_size
    with torch.no_grad():
        xt = torch.from_numpy(x)
        out, _ = gru(xt)
        hp = torch.cat([torch.zeros(B, 1, H, dtype=out.dtype), out[:, :-1]], 1)
        xi = xt @ gru.weight_ih_l0.T + gru.bias_ih_l0
        hh = hp @ gru.weight_hh_l0.T + gru.bias_hh_l0
        r = torch.sigmoid(xi[..., :H] + hh[..., :H])
        z = torch.sigmoid(xi[..., H : 2 * H] + hh[..., H : 2 * H])
        hn = hh[..., 2 * H :]
        n = torch.tanh(xi[..., 2 * H :] + r * hn)
        w = gru.weight_hh_l0
        dr, dz, dn = (torch.diagonal(w[i * H : (i + 1) * H]) for i in range(3))
        a = (1.0 - z) * (1.0 - n * n)
        d = a * r * dn + a * hn * r * (1.0 - r) * dr + (hp - n) * z * (1.0 - z) * dz
        return torch_prefix(torch, z, d, max_lag)


def ours_pipeline(net, x, max_lag):
    """``log f`` of the first order from the inputs: :func:`verify.recurrences.log_envelope`."""
    return rec.log_envelope(net, x, max_lag=max_lag, order="first")


def ours_exact(net, x, max_lag):
    """``log f`` of the exact order: :func:`verify.recurrences.log_envelope` (CPU)."""
    return rec.log_envelope(net, x, max_lag=max_lag, order="exact", device="cpu")


def check_agree(name, ours, peer, tol=AGREE):
    """Raise unless ``exp(ours)`` and ``exp(peer)`` agree to ``tol`` relative; return the gap."""
    ours, peer = np.asarray(ours), np.asarray(peer)
    gap = float(np.max(np.abs(np.expm1(peer - ours))))
    if not gap <= tol:
        raise AssertionError(f"{name} differs from ours by {gap:.2e} (relative) > {tol:g}")
    return gap


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import torch

    B, H, T = args.batch, args.hidden, args.steps
    net, x, r, d = problem(B, H, T)
    rt, dt = torch.from_numpy(r), torch.from_numpy(d)
    ours = ours_first(r, d, T)
    for name, peer in (
        ("torch prefix-sum", torch_prefix(torch, rt, dt, T)),
        ("numpy prefix-sum", numpy_prefix(r, d, T)),
    ):
        print(f"{name}: agrees with ours to {check_agree(name, ours, peer):.1e}")
    n = updates(B, H, T, T)
    rows = [
        ("ours (numba)", best_of(lambda: ours_first(r, d, T), args.repeat)),
        ("torch prefix-sum", best_of(lambda: torch_prefix(torch, rt, dt, T), args.repeat)),
        ("numpy prefix-sum", best_of(lambda: numpy_prefix(r, d, T), args.repeat)),
    ]
    print(f"\nGRU first-order envelope from (r, d), B={B}, H={H}, T=L={T}\n")
    print("| method | seconds | unit-updates/s | ours / method |")
    print("|---|---:|---:|---:|")
    for name, sec in rows:
        print(f"| {name} | {sec:.4f} | {n / sec:.3g} | {sec / rows[0][1]:.1f}x |")


if __name__ == "__main__":
    main()
