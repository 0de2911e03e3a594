"""Benchmark: one experiment cell split into its parts, and training against a plain loop.

Two measurements on the same cell of a profile (default: the first cell of ``standard``,
``gru/adamw`` at root seed 0):

* **the split** -- :func:`verify.training.train.run_cell` on a *slice* of the cell (the
  profile's model, task, batch and checkpoint grid, stopped at ``--n-max`` sequences), its
  :attr:`CellResult.timings` as measured, then extrapolated to the whole cell: the training
  and data time per optimizer step times the cell's steps, the checkpoint diagnostics (learned
  kernel and loss, envelope, gradient noise) per checkpoint times the cell's checkpoints,
  E6, E7 and psi once per cell as measured.  The grid is geometric, so a slice has more
  checkpoints per step than the whole cell: the measured slice overstates the diagnostics'
  share, the extrapolation is what a full cell spends.
* **training throughput** -- sequences per second of the cell's optimizer steps (batch
  generation included, as in the cell) against a plain PyTorch loop of the same model,
  batch, optimizer and thread count on batches made beforehand (forward, loss, backward,
  step, nothing else).  Ratio = ours / plain (< 1: what the cell's loop costs on top).

Run ``python bench/bench_training.py [--profile standard] [--n-max 2048] [--steps 64]
[--out bench/results/training.md]``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

from _common import machine, write_atomic

DIAGNOSTICS = ("kernel and loss", "envelope", "gradient noise")
ONCE = ("E6", "E7", "psi (E5)", "update check (E3)")
#: once per cell as well (model, optimizer and held-out batches; bookkeeping per checkpoint
#: is a few milliseconds of it)
SETUP = "setup"


def split(profile: str, n_max: int, seed: int = 0):
    """Run a slice of the profile's first cell; return (cell, slice result, extrapolation)."""
    from verify.training.experiment import PROFILES, build_cells
    from verify.training.train import checkpoint_steps, run_cell

    cell = build_cells(PROFILES[profile], seed=seed)[0]
    cfg = cell.train
    full_steps = cfg.n_max // cfg.batch
    full_ck = len(checkpoint_steps(cfg.n_first, cfg.n_max, cfg.batch, cfg.ratio))
    sliced = replace(cell, train=replace(cfg, n_max=min(n_max, cfg.n_max)))
    res = run_cell(sliced)
    t = dict(res.timings)
    steps = int(res.ns[-1]) // cfg.batch
    n_ck = len(res.ns)
    full = {
        SETUP: t[SETUP],
        "data": t["data"] * full_steps / steps,
        "training": t["training"] * full_steps / steps,
        **{k: t[k] * full_ck / n_ck for k in DIAGNOSTICS},
        **{k: t[k] for k in ONCE},
    }
    info = dict(steps=steps, checkpoints=n_ck, full_steps=full_steps, full_checkpoints=full_ck)
    return cell, t, full, info


def plain_loop(cell, steps: int) -> float:
    """Seconds per optimizer step of a plain PyTorch loop of the cell's model and optimizer."""
    import torch

    from verify import recurrences as rec
    from verify.training.models import Model
    from verify.training.task import make_batch
    from verify.training.train import _optimizer

    torch.set_num_threads(1)  # as run_cell
    task, cfg = cell.task, cell.train
    name, params = cfg.spectrum
    model = Model(cfg.arch, cfg.hidden, task.inputs, rec.make_spectrum(name, **dict(params)),
                  seed=1, dtype=torch.float64)  # fmt: skip
    opt = _optimizer(model, cfg)
    batches = []
    for k in range(8):
        b = make_batch(task, cfg.batch, "train", k)
        batches.append((torch.as_tensor(b.x), torch.as_tensor(b.y)))

    def one(k):
        x, y = batches[k % len(batches)]
        loss = torch.mean((model(x) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for k in range(4):  # warm-up
        one(k)
    t0 = time.perf_counter()
    for k in range(steps):
        one(k)
    return (time.perf_counter() - t0) / steps


def render(cell, t, full, info, plain_s, header) -> str:
    """The markdown page."""
    cfg = cell.train
    tot, tot_full = sum(t.values()), sum(full.values())
    ours_step = (t["data"] + t["training"]) / info["steps"]
    rows = []
    for k in t:
        rows.append(f"| {k} | {t[k]:.2f} | {t[k] / tot:.0%} | {full[k]:.1f} | "
                    f"{full[k] / tot_full:.0%} |")  # fmt: skip
    diag = sum(t[k] for k in DIAGNOSTICS)
    diag_full = sum(full[k] for k in DIAGNOSTICS)
    once_full = sum(full[k] for k in ONCE)
    return "\n".join(
        [
            "# One experiment cell: where its time goes, and training throughput",
            "",
            f"Machine: {header}.",
            "",
            f"Cell `{cell.name}` (arch {cfg.arch}, optimizer {cfg.optimizer}, H = {cfg.hidden}, "
            f"T = {cell.task.steps}, batch {cfg.batch}, n_boot {cfg.n_boot}); slice to "
            f"{info['steps']} optimizer steps and {info['checkpoints']} checkpoints, "
            f"extrapolated to the whole cell's {info['full_steps']} steps and "
            f"{info['full_checkpoints']} checkpoints (per step: data and training; per "
            "checkpoint: the diagnostics; set-up, E6 (measured at the start and the end), E7 "
            "and psi once).",
            "",
            "| part | slice s | slice share | whole cell s (extrapolated) | whole cell share |",
            "|---|---:|---:|---:|---:|",
            *rows,
            f"| **total** | {tot:.2f} | | {tot_full:.1f} | |",
            "",
            f"**Checkpoint diagnostics: {diag / tot:.0%} of the slice, "
            f"{diag_full / tot_full:.0%} of the whole cell** (with E6, E7 and psi: "
            f"{(diag_full + once_full) / tot_full:.0%}).",
            "",
            "| training loop | sequences/s |",
            "|---|---:|",
            f"| the cell's (batch generation + forward, loss, backward, step) | "
            f"{cfg.batch / ours_step:.1f} |",
            f"| plain PyTorch (same model, batch, optimizer, 1 thread; batches made "
            f"beforehand) | {cfg.batch / plain_s:.1f} |",
            "",
            f"**Training throughput ratio (ours / plain): {plain_s / ours_step:.2f}**.",
            "",
        ]
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="standard")
    p.add_argument("--n-max", type=int, default=2048, help="sequences of the slice")
    p.add_argument("--steps", type=int, default=64, help="steps of the plain loop")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the markdown page here")
    args = p.parse_args(argv)
    import torch

    header = machine(os.getloadavg()[0]) + f"; torch {torch.__version__}"
    cell, t, full, info = split(args.profile, args.n_max, args.seed)
    plain_s = plain_loop(cell, args.steps)
    text = render(cell, t, full, info, plain_s, header)
    print(text)
    if args.out:
        write_atomic(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
