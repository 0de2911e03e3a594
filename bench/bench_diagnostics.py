"""Benchmark: per-checkpoint diagnostics of a trained network, ours against the author's.

Both sides measure, on the same trained GRU and the same sequences, what the theory needs at
one checkpoint:

* **ours** -- the envelope ``f_hat(l)`` for every lag ``0..L`` by our first-order transport
  (:func:`verify.recurrences.measure_envelope`, numba) plus the gradient-noise tail index
  ``alpha_hat`` with its bootstrap interval (:func:`verify.training.diagnostics.gradient_noise`:
  per-sequence gradients projected on random directions in forward mode, McCulloch);
* **author** -- the per-lag statistic ``psi(l)`` by forward-mode Jacobian-vector products in
  torch, one JVP per lag ``l = 1..L`` (a random parameter direction injected ``l`` steps
  before the last position, the output error times the derivative of the last output), then
  per lag its mean and McCulloch scale -- the inputs of the author's SNR.

The ratio is author time / our time (> 1: ours is faster); the goal is >= 10.

Run ``python bench/bench_diagnostics.py [--hidden 32 --steps 128 --max-lag 96 --batch 32]
[--out bench/results/diagnostics.md]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import best_of, machine

from verify import recurrences as rec
from verify import tail
from verify.training import diagnostics as dg
from verify.training.models import Model, readout, run_states
from verify.training.task import TaskConfig, make_batch

warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated")


def trained_gru(hidden, steps, max_lag, train_steps, seed=0):
    """A GRU trained for ``train_steps`` AdamW steps on the multi-lag task, and the task."""
    lags = tuple(v for v in (2, 4, 8, 16, 32, 64, 96, 128, 192, 256) if v <= max_lag)
    task = TaskConfig(inputs=4, steps=steps, lags=lags, coefs=(0.3,) * len(lags), seed=seed)
    model = Model("gru", hidden, 4, rec.Chrono(float(max_lag)), seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-2)
    for k in range(train_steps):
        b = make_batch(task, 16, "train", k)
        loss = torch.mean((model(torch.as_tensor(b.x)) - torch.as_tensor(b.y)) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, task


def ours(model, batch, probe, max_lag):
    """Envelope of every lag + gradient-noise alpha with its interval."""
    log_f, _ = dg.network_envelope(model, {"optimizer": "sgd", "lr": 1.0}, probe, max_lag)
    gn = dg.gradient_noise(model, batch, n_directions=8, seed=0, n_boot=100)
    return log_f, gn


def author(model, batch, max_lag, seed=0):
    """Per-lag psi by one forward-mode JVP per lag, then its mean and scale per lag."""
    arch, s_const = model.arch, model.s_const
    params = {k: p.detach() for k, p in model.canonical().items()}
    keys = [k for k in params if not k.startswith("readout")]
    v, _ = dg.random_directions(params, 1, seed, keys)
    tangent = dg._tangents(params, v, keys)[0]
    zero = {k: torch.zeros_like(t) for k, t in tangent.items()}
    x, y = torch.as_tensor(batch.x), torch.as_tensor(batch.y)
    T = x.shape[1]
    means, scales = np.empty(max_lag), np.empty(max_lag)
    with torch.no_grad():
        for lag in range(1, max_lag + 1):

            def last(delta, lag=lag):
                h = run_states(arch, params, x, s_const=s_const, inject=(T - 1 - lag, delta))
                return readout(params, h)[:, -1]

            y_hat, dy = torch.func.jvp(last, (zero,), (tangent,))
            psi = ((y_hat - y[:, -1]) * dy).numpy()
            means[lag - 1] = psi.mean()
            scales[lag - 1] = tail.estimate(psi, method="mcculloch").sigma
    return means, scales


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--steps", type=int, default=128)
    p.add_argument("--max-lag", type=int, default=96)
    p.add_argument("--batch", type=int, default=32, help="sequences for alpha and psi")
    p.add_argument("--probe", type=int, default=16, help="sequences for the envelope")
    p.add_argument("--train-steps", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default="bench/results/diagnostics.md")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    model, task = trained_gru(a.hidden, a.steps, a.max_lag, a.train_steps)
    batch = make_batch(task, a.batch, "noise")
    probe = make_batch(task, a.probe, "heldout").x
    ours(model, batch, probe, a.max_lag)  # compile / warm up both sides once
    author(model, batch, 4)
    t_ours = best_of(lambda: ours(model, batch, probe, a.max_lag), a.repeat)
    t_author = best_of(lambda: author(model, batch, a.max_lag), a.repeat)
    ratio = t_author / t_ours
    line = machine(load)
    text = "\n".join([
        "# Per-checkpoint diagnostics: ours against the author's per-lag JVPs\n",
        f"Machine: {line}; torch {torch.__version__} (1 thread)\n",
        f"Trained GRU: H = {a.hidden}, T = {a.steps}, lags 0..{a.max_lag}, "
        f"{a.train_steps} AdamW steps; {a.batch} sequences for alpha and psi, {a.probe} for "
        f"the envelope. Best of {a.repeat}; {time.strftime('%Y-%m-%d')}.\n",
        "| method | what it measures | seconds |",
        "|---|---|---|",
        f"| ours | f_hat at every lag (first-order transport) + alpha_hat with bootstrap CI "
        f"| {t_ours:.3f} |",
        f"| author | psi at every lag (one forward-mode JVP per lag) + mean and scale | "
        f"{t_author:.3f} |",
        f"\n**Ratio (author / ours): {ratio:.1f}x** (goal >= 10x).\n",
    ])  # fmt: skip
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
