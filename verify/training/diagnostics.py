"""Per-checkpoint measurements of a trained network.

* :func:`learned_kernel` -- ``c_hat(l) / c_l`` at the planted lags on held-out data, without
  gradients (:func:`verify.training.task.kernel_estimate`).
* :func:`network_envelope` -- the envelope ``f_hat`` of the checkpoint's weights by our
  first-order transport, with the optimizer's per-unit rates (:func:`optimizer_rates`).
* :func:`gradient_noise` -- tail index and scale of the per-sequence gradient noise:
  per-sequence gradients projected on fixed random directions (forward mode; the reverse-mode
  ``torch.func.vmap`` of ``grad`` is the reference), estimated by :func:`verify.tail.estimate`
  with a bootstrap interval.
* :func:`psi_samples` -- the per-lag statistic of the author's pipeline: output error times a
  forward-mode Jacobian-vector product along a random parameter direction injected at one
  position, so that the output ``l`` steps later carries the lag-``l`` part.
"""

from __future__ import annotations

import numpy as np
import torch

from verify import recurrences as rec

from .models import RECURRENT, readout, run_states
from .task import kernel_estimate

__all__ = [
    "GradientNoise",
    "gradient_noise",
    "learned_kernel",
    "network_envelope",
    "optimizer_rates",
    "psi_samples",
    "random_directions",
    "update_noise",
]


def learned_kernel(model, batch, task, seed=0):
    """Return ``(ratio, lo, hi)``: ``c_hat(l_k) / c_k`` with its 95 % bootstrap interval."""
    with torch.no_grad():
        dtype = next(model.parameters()).dtype
        y_hat = model(torch.as_tensor(batch.x, dtype=dtype)).double().cpu().numpy()
    est, lo, hi = kernel_estimate(y_hat, batch.s, task.lags, seed=seed)
    c = np.asarray(task.coefs)
    return est / c, lo / c, hi / c


def optimizer_rates(model, optimizer, name) -> dict:
    """The optimizer's per-unit rates ``Lambda^(q)``, as arguments of ``rec.measure_envelope``.

    ``sgd``: ``lr``; ``sgdm``: the heavy-ball stationary rate ``lr / (1 - momentum)``;
    ``adamw``: ``lr / (sqrt(v_hat) + eps)`` with Adam's bias-corrected second moments;
    ``rmsprop``: the same with RMSProp's running average (no bias correction).  Row-averaged
    over the recurrent weights of each unit (:func:`verify.recurrences.unit_rates`).

    Returns
    -------
    dict
        ``optimizer``, ``lr`` and (adaptive optimizers) ``v_hat``, ``eps``.
    """
    group = optimizer.param_groups[0]
    if name in ("sgd", "sgdm"):
        lr = group["lr"] / (1.0 - group["momentum"] if name == "sgdm" else 1.0)
        return {"optimizer": "sgd", "lr": lr}
    params = model.canonical()
    blocks = []
    for key in RECURRENT[model.arch]:
        state = optimizer.state[params[key]]
        if name == "adamw":
            step = float(state["step"])
            v = state["exp_avg_sq"] / (1.0 - group["betas"][1] ** step)
        else:
            v = state["square_avg"]
        blocks.append(v.detach().double().cpu().numpy())
    return {
        "optimizer": "adam",
        "lr": group["lr"],
        "v_hat": np.concatenate(blocks),
        "eps": group["eps"],
    }


def network_envelope(model, rates: dict, x_probe, max_lag):
    """``(log f_hat(l) for l = 0..max_lag, per-unit rates)`` by first-order transport.

    ``rates`` are the arguments returned by :func:`optimizer_rates`.
    """
    res = rec.measure_envelope(
        model.to_cell(), np.asarray(x_probe, dtype=np.float64), max_lag, order="first", **rates
    )
    return res.log_f, res.rates


def random_directions(params, k, seed, keys=None):
    """``k`` random unit directions over the (selected) parameters, as flat (k, P) arrays."""
    keys = list(params) if keys is None else list(keys)
    size = sum(params[key].numel() for key in keys)
    v = np.random.default_rng(seed).standard_normal((k, size))
    return v / np.linalg.norm(v, axis=1, keepdims=True), keys


def per_sequence_gradients(model, x, y):
    """Flat per-sequence gradients (B, P) of the sequence-mean squared error."""
    arch, s_const = model.arch, model.s_const
    params = {k: v.detach() for k, v in model.canonical().items()}

    def loss(p, xs, ys):
        y_hat = readout(p, run_states(arch, p, xs[None], s_const=s_const))[0]
        return torch.mean((y_hat - ys) ** 2)

    grads = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(params, x, y)
    return torch.cat([grads[k].reshape(x.shape[0], -1) for k in params], dim=1), list(params)


def _tangents(params, v, keys):
    """Split flat directions (k, P) into per-parameter tangent dicts."""
    out = []
    for row in v:
        t, offset = {}, 0
        for key in keys:
            n = params[key].numel()
            t[key] = torch.as_tensor(row[offset : offset + n], dtype=params[key].dtype).reshape(
                params[key].shape
            )
            offset += n
        out.append(t)
    return out


def gradient_projections(model, x, y, v, keys):
    """Per-sequence gradients projected on the directions ``v`` (k, P): shape (B, k).

    Computed in forward mode -- one batched Jacobian-vector product of the per-sequence losses
    per direction (``torch.func.jvp``) -- which equals ``per_sequence_gradients(...) @ v.T``
    at a fraction of the cost.
    """
    arch, s_const = model.arch, model.s_const
    params = {k: p.detach() for k, p in model.canonical().items()}

    def losses(p):
        y_hat = readout(p, run_states(arch, p, x, s_const=s_const))
        return torch.mean((y_hat - y) ** 2, dim=1)

    cols = []
    with torch.no_grad():
        for t in _tangents(params, v, keys):
            full = {k: t.get(k, torch.zeros_like(p)) for k, p in params.items()}
            cols.append(torch.func.jvp(losses, (params,), (full,))[1])
    return torch.stack(cols, dim=1).double().cpu().numpy()


def gradient_noise(model, batch, n_directions=8, seed=0, n_boot=100):
    """Tail index and scale of the per-sequence gradient noise.

    The per-sequence gradients are projected on ``n_directions`` random unit directions
    (:func:`gradient_projections`); each projection is centred by its median and divided by
    its interquartile range (so the directions pool into one sample of the common tail
    index), and McCulloch's quantile method gives ``alpha`` with a percentile-bootstrap
    interval.  ``sigma`` is returned in gradient units (the pooled scale times the mean
    interquartile range).

    Returns
    -------
    dict
        ``alpha``, ``alpha_lo``, ``alpha_hi``, ``sigma``.
    """
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(batch.x, dtype=dtype)
    y = torch.as_tensor(batch.y, dtype=dtype)
    v, keys = random_directions(model.canonical(), n_directions, seed)
    return pooled_tail(gradient_projections(model, x, y, v, keys), n_boot, seed)


def pooled_tail(proj, n_boot, seed, level=0.95):
    """McCulloch's ``alpha`` (bootstrap interval) and scale of projections (M, K), pooled.

    Each column is centred by its median and divided by its interquartile range, so the
    directions pool into one sample of the common tail index; ``sigma`` is in the
    projections' units (the pooled scale times the mean interquartile range).  The interval
    is a percentile bootstrap over the M *rows*: the K directions project the same M
    vectors (sequences or batches), so a row's large draw shows in every column, and
    resampling the M x K values one by one would treat them as independent and give too
    narrow an interval.
    """
    from verify import tail

    q25, q50, q75 = np.percentile(proj, [25, 50, 75], axis=0)
    iqr = np.where(q75 > q25, q75 - q25, 1.0)
    z = (proj - q50) / iqr
    est = tail.estimate(z.ravel(), method="mcculloch")
    rng = np.random.default_rng(seed)
    m = z.shape[0]
    boot = [tail.estimate(z[rng.integers(0, m, m)].ravel(), method="mcculloch").alpha
            for _ in range(n_boot)]  # fmt: skip
    lo, hi = np.percentile(boot, [50 * (1 - level), 50 * (1 + level)])
    return {
        "alpha": est.alpha,
        "alpha_lo": float(lo),
        "alpha_hi": float(hi),
        "sigma": est.sigma * float(np.mean(iqr)),
    }


def _flat_grad(params) -> torch.Tensor:
    """The gradients held by ``params``, concatenated in order."""
    return torch.cat([p.grad.reshape(-1) for p in params])


class GradientNoise:
    """E3's manipulation: SaS noise of a set tail index added to the gradient at each step.

    Every element of every parameter's gradient gets an independent
    ``S(alpha, 0, sigma_set)`` draw (the noise of step ``k`` from the seed's stream ``k``),
    with ``sigma_set`` chosen so that its interquartile range is that of ``N(0, s^2)``
    (:meth:`matched`): per element, conditions that differ in ``alpha`` differ in the tail,
    not in the bulk.  Projected on a unit direction over P parameters the noise is
    ``S(alpha, sigma_set ||u||_alpha)``, and ``||u||_alpha`` grows like ``P^(1/alpha - 1/2)``:
    at the update's level the heavier conditions are also wider, which is why E3 predicts
    with the update's measured scale, not with ``sigma_set``.
    """

    def __init__(self, alpha: float, sigma_set: float, seed: int):
        self.alpha, self.sigma_set, self.seed = float(alpha), float(sigma_set), int(seed)

    @classmethod
    def matched(cls, model, cfg, seed: int) -> GradientNoise:
        """IQR-matched noise from the gradient now held by ``model`` (the first batch's)."""
        import theory

        g = _flat_grad(model.parameters())
        s = cfg.grad_noise_scale * float(torch.sqrt(torch.mean(g * g)))
        if not s > 0.0:
            raise ValueError("the first batch's gradient is zero: no scale for the added noise")
        q = float(theory.sas_quantile(0.75, cfg.grad_noise_alpha))
        return cls(cfg.grad_noise_alpha, 0.6744897501960817 * s / q, seed)

    def draw(self, size: int, key: int) -> np.ndarray:
        """``size`` draws of the noise of stream ``key``."""
        from verify import stable

        seq = np.random.SeedSequence(self.seed, spawn_key=(key,))
        return stable.sample(self.alpha, 0.0, self.sigma_set, size=size, seed=seq,
                             parallel=False)  # fmt: skip

    def add_to(self, model, step: int) -> None:
        """Add step ``step``'s noise to every parameter's gradient, in place."""
        params = list(model.parameters())
        size = sum(p.numel() for p in params)
        noise = torch.as_tensor(self.draw(size, step), dtype=params[0].grad.dtype)
        off = 0
        for p in params:
            n = p.numel()
            p.grad += noise[off : off + n].reshape(p.shape).to(p.grad.device)
            off += n


def update_noise(model, task, cfg, added: GradientNoise, seed: int = 0) -> dict:
    """The manipulation check of E3: the tail index of the update the optimizer is handed.

    ``cfg.update_batches`` fresh batches (stream ``"update"``) each give the mini-batch
    gradient plus a fresh draw of the added noise; their fluctuation about the batches'
    mean, projected on ``cfg.update_directions`` random unit directions, is pooled
    (:func:`pooled_tail`).  Keys of the noise streams start past any training step.
    """
    from .task import make_batch

    params = list(model.parameters())
    dtype = params[0].dtype
    size = sum(p.numel() for p in params)
    rows = []
    for k in range(cfg.update_batches):
        b = make_batch(task, cfg.batch, "update", k)
        model.zero_grad()
        y_hat = model(torch.as_tensor(b.x, dtype=dtype))
        torch.mean((y_hat - torch.as_tensor(b.y, dtype=dtype)) ** 2).backward()
        if cfg.clip is not None:
            torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        g = _flat_grad(params).detach().cpu().numpy()
        rows.append(g + added.draw(size, 2**40 + k))
    model.zero_grad()
    u = np.random.default_rng(seed).standard_normal((cfg.update_directions, size))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    g = np.asarray(rows)
    proj = (g - g.mean(axis=0)) @ u.T
    out = pooled_tail(proj, cfg.n_boot, seed)
    return {"alpha_set": added.alpha, "sigma_set": added.sigma_set,
            "samples": int(proj.size), **out}  # fmt: skip


def psi_samples(model, batch, max_lag, seed=0):
    """Per-sequence, per-lag ``psi(l) = e_{s0+l} * d y_hat_{s0+l} / d eps`` (B, max_lag + 1).

    A random unit direction ``v`` over the recurrence's parameters is injected at position
    ``s0 = T - 1 - max_lag`` only (``theta_{s0} = theta + eps v``); the forward-mode derivative
    of the output ``l`` steps later is the lag-``l`` term of the gradient along ``v``, and times
    the output error it is that term of the loss gradient (``torch.func.jvp``).
    """
    arch, s_const = model.arch, model.s_const
    params = {k: v.detach() for k, v in model.canonical().items()}
    rec_keys = [k for k in params if not k.startswith("readout")]
    v, _ = random_directions(params, 1, seed, rec_keys)
    tangent = _tangents(params, v, rec_keys)[0]
    dtype = params[rec_keys[0]].dtype
    x = torch.as_tensor(batch.x, dtype=dtype)
    y = torch.as_tensor(batch.y, dtype=dtype)
    T = x.shape[1]
    s0 = T - 1 - max_lag
    if s0 < 0:
        raise ValueError(f"max_lag must be <= T - 1 = {T - 1}, got {max_lag}")
    zero = {k: torch.zeros_like(t) for k, t in tangent.items()}

    def out(delta):
        return readout(params, run_states(arch, params, x, s_const=s_const, inject=(s0, delta)))

    with torch.no_grad():
        y_hat, dy = torch.func.jvp(out, (zero,), (tangent,))
    e = (y_hat - y)[:, s0:]
    return (e * dy[:, s0:]).double().cpu().numpy()
