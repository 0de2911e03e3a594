"""The per-sequence gradient signal carried through lag ``l`` (torch side of E6).

For a network at a checkpoint and a batch of ``M`` sequences, :func:`lag_contributions`
returns, per random parameter direction ``v_k`` and per sequence ``n``,

* ``g[k, n, j]``: the part of sequence ``n``'s loss gradient along ``v_k`` that travels
  through lag ``l_j`` -- the parameters perturbed at one position ``s`` only
  (``theta_s = theta + eps v_k``), the forward-mode derivative of the output at ``s + l_j``
  times the output error there, averaged over ``P`` injection positions ``s`` (the
  time-averaged random projections of the corrected psi pipeline; no sign flip);
* ``total[k, n]``: the whole gradient of the sequence along ``v_k`` at the same positions
  (the error times the derivative summed over every output from ``s`` on), so that
  ``total - g`` is the gradient carried by all other lags.

One Jacobian-vector product per (direction, position) gives every lag at once.  The reduce
into the check E6 (:mod:`verify.training.detection_size`) is plain NumPy.
"""

from __future__ import annotations

import numpy as np
import torch

from .diagnostics import _tangents, random_directions
from .models import readout, run_states

__all__ = ["INPUT_WEIGHTS", "e6_measure", "injection_positions", "lag_contributions"]


def injection_positions(steps: int, max_lag: int, count: int) -> list[int]:
    """``count`` evenly spaced injection positions in ``[0, steps - 1 - max_lag]`` (unique)."""
    last = steps - 1 - max_lag
    if last < 0:
        raise ValueError(f"max_lag must be <= steps - 1 = {steps - 1}, got {max_lag}")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    return sorted({int(round(v)) for v in np.linspace(0, last, count)})


#: The parameters a lag's signal enters through: the input weights at the lag's source
#: position (the immediate parameter sensitivity ``B_{t-l}`` of THEORY.md section 1).
INPUT_WEIGHTS = {
    "gru": ("weight_ih",),
    "lstm": ("weight_ih",),
    "constgate": ("w_x",),
    "diaggate": ("w_x", "w_s"),
}


def lag_contributions(model, x, y, lags, n_directions=4, n_positions=4, seed=0):
    """Lag-resolved per-sequence gradients along random directions (module docstring).

    Parameters
    ----------
    model : verify.training.models.Model
    x : array_like, shape (M, T, D)
    y : array_like, shape (M, T)
    lags : sequence of int
        Lags ``l_j`` in [0, T - 1].
    n_directions : int
        Random unit directions over the input weights (:data:`INPUT_WEIGHTS`): the
        perturbation at position ``s`` then acts on ``x_s`` alone, so the output ``l`` steps
        later carries exactly the lag-``l`` path (a direction over the recurrent weights
        would also carry the state's history, i.e. longer lags).
    n_positions : int
        Injection positions averaged over.
    seed : int
        Seed of the directions.

    Returns
    -------
    dict
        ``g`` (K, M, len(lags)), ``total`` (K, M), ``positions`` (list of int).
    """
    arch, s_const = model.arch, model.s_const
    params = {k: v.detach() for k, v in model.canonical().items()}
    rec_keys = list(INPUT_WEIGHTS[arch])
    dtype = params[rec_keys[0]].dtype
    x = torch.as_tensor(np.asarray(x), dtype=dtype)
    y = torch.as_tensor(np.asarray(y), dtype=dtype)
    lags = [int(v) for v in lags]
    T = x.shape[1]
    if min(lags) < 0 or max(lags) > T - 1:
        raise ValueError(f"lags must lie in [0, T - 1] = [0, {T - 1}], got {lags}")
    positions = injection_positions(T, max(lags), n_positions)
    v, _ = random_directions(params, n_directions, seed, rec_keys)
    tangents = _tangents(params, v, rec_keys)
    idx = torch.as_tensor(lags)
    g = np.zeros((len(tangents), x.shape[0], len(lags)))
    total = np.zeros((len(tangents), x.shape[0]))
    with torch.no_grad():
        for k, tangent in enumerate(tangents):
            zero = {key: torch.zeros_like(t) for key, t in tangent.items()}
            for s0 in positions:

                def out(delta, s0=s0):
                    states = run_states(arch, params, x, s_const=s_const, inject=(s0, delta))
                    return readout(params, states)

                y_hat, dy = torch.func.jvp(out, (zero,), (tangent,))
                contrib = ((y_hat - y) * dy)[:, s0:]
                g[k] += contrib[:, idx].double().cpu().numpy()
                total[k] += contrib.sum(dim=1).double().cpu().numpy()
    g /= len(positions)
    total /= len(positions)
    return {"g": g, "total": total, "positions": positions}


def e6_measure(model, task, cfg, probe, seed):
    """The detection-size measurement of one network (E6), on the CPU.

    :func:`lag_contributions` on ``cfg.e6_batch`` sequences of the ``"psi"`` stream, and
    ``log f_hat`` at the planted lags with unit rates on the ``probe`` sequences.
    """
    from .diagnostics import network_envelope
    from .task import make_batch

    b = make_batch(task, cfg.e6_batch, "psi", 1)
    out = lag_contributions(
        model, b.x, b.y, task.lags, cfg.e6_directions, cfg.e6_positions, seed=seed
    )
    log_f, _ = network_envelope(model, {"optimizer": "sgd", "lr": 1.0}, probe, task.max_lag)
    return {"g": out["g"], "total": out["total"], "log_f": np.asarray(log_f)[list(task.lags)]}
