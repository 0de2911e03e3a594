"""Benchmark: per-lag transport and envelope of a GRU against PyTorch autograd.

B = 64 sequences, H = 64 units, T = 256 steps, every lag L = T.  Throughput is reported in
sequence-steps per second (B * T / wall time, forward pass included).

* ``verify (first)`` / ``verify (diagonal)``: :func:`verify.recurrences.envelope` — the
  per-unit transport of every position and lag, reduced to the envelope in log space.
* ``torch autograd``: an unrolled ``torch.nn.GRUCell`` (float64) with a zero probe tensor
  added to the state at every step; for every position t one backward pass of
  ``sum(h_t)`` gives the transported error ``d(1.h_t)/d(probe_{t-l})`` at every lag, whose
  L1 norm summed over units and averaged over t and sequences is the autograd envelope.
  Skipped when torch is not installed.

Run: ``python bench/bench_transport.py [--batch 64 --hidden 64 --steps 256 --repeat 3]``.
"""

import argparse

import numpy as np
from _common import best_of

from verify import recurrences as rec


def torch_envelope(torch, net, x):
    B, T, D = x.shape
    H = net.hidden
    cell = torch.nn.GRUCell(D, H).double()
    cell.load_state_dict(
        {
            k: torch.from_numpy(getattr(net, k))
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
    )
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
    counts = B * (T - np.maximum(np.arange(T + 1), 1) + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    B, H, T = args.batch, args.hidden, args.steps
    net = rec.GRU.init(H, 8, rec.Chrono(t_max=T), seed=0)
    x = rec.random_inputs(B, T, 8, seed=1)
    rec.envelope(net, x[:2, :8], max_lag=8)  # compile (or load the cached kernels)
    torch_row = None
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: the PyTorch autograd peer is skipped")
    if torch is not None:
        torch.set_num_threads(max(1, torch.get_num_threads()))
        sec = best_of(lambda: torch_envelope(torch, net, x), max(1, args.repeat - 1))
        torch_row = (f"torch {torch.__version__} autograd", sec)
    rows = []
    for order in ("first", "diagonal"):
        sec = best_of(lambda o=order: rec.log_envelope(net, x, max_lag=T, order=o), args.repeat)
        rows.append((f"verify ({order})", sec))
    if torch_row is not None:
        rows.append(torch_row)
    ref = torch_row[1] if torch_row is not None else None
    print(f"\nGRU transport + envelope, B={B}, H={H}, T={T}, L={T}\n")
    print("| method | seconds | sequence-steps/s | speed-up vs torch |")
    print("|---|---:|---:|---:|")
    for name, sec in rows:
        ratio = f"{ref / sec:.1f}x" if ref else "n/a"
        print(f"| {name} | {sec:.3f} | {B * T / sec:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
