"""The multi-lag regression task of THEORY.md section 8 and its lag-kernel estimator.

``x_t ~ N(0, I_D)``; ``y_t = sum_k c_k u^T x_{t - l_k} + eps_t`` with a fixed random unit vector
``u``, planted lags ``l_k`` and noise ``eps_t`` drawn by :func:`verify.stable.sample`
(symmetric alpha-stable with scale ``noise_scale``; ``noise_alpha = 2`` is Gaussian with
standard deviation ``sqrt(2) * noise_scale``).  Terms with ``t - l_k < 0`` are absent.

Two negative controls are part of the task itself:

* ``removed``: planted lags whose term is left out of the target (their nominal ``c_k`` is
  still used to normalise the measured kernel, so they must never look learned);
* ``shuffle_targets``: each sequence is paired with the target of its neighbour in the batch
  (independent inputs), so the target carries no information about the inputs.

Everything here is NumPy (no torch): a batch is a pure function of the task and a
``(stream, index)`` key, so training, held-out and diagnostic data never overlap and are
reproducible in any order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from theory._validate import check_in_range, check_int

__all__ = ["STREAMS", "Batch", "TaskConfig", "kernel_estimate", "make_batch"]

#: Independent data streams of one task (a batch key is ``(stream, index)``).
STREAMS = {"train": 0, "heldout": 1, "noise": 2, "psi": 3, "update": 4}


@dataclass(frozen=True)
class TaskConfig:
    """The regression task.

    Attributes
    ----------
    inputs : int
        Input dimension ``D``.
    steps : int
        Sequence length ``T``.
    lags : tuple of int
        Planted lags, strictly increasing, each in [1, T - 1].
    coefs : tuple of float
        ``c_k`` > 0, one per lag (equal, or decreasing as in the paper's runs).
    noise_alpha : float
        Tail index of the target noise in (1, 2].
    noise_scale : float
        Scale of the target noise (stable parameterisation), >= 0.
    removed : tuple of int
        Planted lags left out of the target (negative control).
    shuffle_targets : bool
        Pair every sequence with another sequence's target (negative control).
    seed : int
        Seed of ``u`` and of every data stream.
    """

    inputs: int = 4
    steps: int = 128
    lags: tuple = (2, 8, 16, 32, 64, 96)
    coefs: tuple = (0.4, 0.4, 0.4, 0.4, 0.4, 0.4)
    noise_alpha: float = 2.0
    noise_scale: float = 0.3 / np.sqrt(2.0)
    removed: tuple = ()
    shuffle_targets: bool = False
    seed: int = 0

    def __post_init__(self):
        check_int("inputs", self.inputs, lo=1)
        steps = check_int("steps", self.steps, lo=2)
        lags = tuple(int(v) for v in self.lags)
        if not lags or any(a >= b for a, b in zip(lags, lags[1:], strict=False)):
            raise ValueError(f"lags must be a non-empty increasing sequence, got {self.lags}")
        if lags[0] < 1 or lags[-1] > steps - 1:
            raise ValueError(f"lags must lie in [1, steps - 1] = [1, {steps - 1}], got {lags}")
        if len(self.coefs) != len(lags):
            raise ValueError(f"coefs must have one value per lag ({len(lags)}), got {self.coefs}")
        for c in self.coefs:
            check_in_range("coefs", c, 0.0, lo_open=True)
        check_in_range("noise_alpha", self.noise_alpha, 1.0, 2.0, lo_open=True)
        check_in_range("noise_scale", self.noise_scale, 0.0)
        if not set(self.removed) <= set(lags):
            raise ValueError(f"removed must be planted lags {lags}, got {self.removed}")
        check_int("seed", self.seed, lo=0)
        object.__setattr__(self, "lags", lags)
        object.__setattr__(self, "coefs", tuple(float(c) for c in self.coefs))
        object.__setattr__(self, "removed", tuple(int(v) for v in self.removed))

    @property
    def max_lag(self) -> int:
        """The longest planted lag."""
        return self.lags[-1]

    def direction(self) -> np.ndarray:
        """The fixed random unit vector ``u`` (D,)."""
        v = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(99,)))
        u = v.standard_normal(self.inputs)
        return u / np.linalg.norm(u)

    def as_dict(self) -> dict:
        """Plain-data record of the task."""
        return asdict(self)


@dataclass(frozen=True)
class Batch:
    """One batch: inputs ``x`` (B, T, D), targets ``y`` (B, T), projections ``s = x u`` (B, T)."""

    x: np.ndarray
    y: np.ndarray
    s: np.ndarray


def make_batch(task: TaskConfig, size: int, stream: str = "train", index: int = 0) -> Batch:
    """Draw batch ``index`` of ``stream`` (deterministic in ``(task.seed, stream, index)``).

    Parameters
    ----------
    task : TaskConfig
    size : int
        Number of sequences, >= 1.
    stream : {"train", "heldout", "noise", "psi", "update"}
    index : int
        Batch index within the stream, >= 0.
    """
    from verify import stable

    size = check_int("size", size, lo=1)
    index = check_int("index", index, lo=0)
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {sorted(STREAMS)}, got {stream!r}")
    ss = np.random.SeedSequence(task.seed, spawn_key=(STREAMS[stream], index))
    k_x, k_noise = ss.spawn(2)
    T = task.steps
    x = np.random.default_rng(k_x).standard_normal((size, T, task.inputs))
    s = x @ task.direction()
    y = np.zeros((size, T))
    for lag, c in zip(task.lags, task.coefs, strict=True):
        if lag not in task.removed:
            y[:, lag:] += c * s[:, :-lag]
    if task.noise_scale > 0:
        eps = stable.sample(task.noise_alpha, 0.0, task.noise_scale, size=size * T, seed=k_noise)
        y += eps.reshape(size, T)
    if task.shuffle_targets:
        # every sequence gets the target of its neighbour: independent of its own inputs
        y = np.roll(y, 1, axis=0)
    return Batch(x=x, y=y, s=s)


def kernel_estimate(y_hat, s, lags, *, start=None, n_boot=200, level=0.95, seed=0):
    """The learned lag kernel ``c_hat(l) = E[y_hat_t u^T x_{t-l}]`` with a bootstrap interval.

    Since ``u^T x_t`` are i.i.d. N(0, 1), ``c_hat(l)`` is an unbiased estimate of the lag-``l``
    coefficient of any output that is linear in the inputs, and of the lag-``l`` part of the
    output's covariance with the inputs in general.

    Parameters
    ----------
    y_hat : array_like, shape (B, T)
        The network's outputs on held-out sequences.
    s : array_like, shape (B, T)
        The projections ``u^T x_t`` of the same sequences.
    lags : sequence of int
        Lags to measure, each in [0, T - 1].
    start : int, optional
        First position used (default ``max(lags)``: every lag averaged over the same positions).
    n_boot : int
        Bootstrap resamples over sequences (>= 10).
    level : float
        Confidence level of the percentile interval.
    seed : int
        Seed of the resampling.

    Returns
    -------
    tuple of ndarray
        ``(c_hat, lo, hi)``, each of shape (len(lags),).
    """
    y_hat = np.asarray(y_hat, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    if y_hat.ndim != 2 or y_hat.shape != s.shape:
        raise ValueError(
            f"y_hat and s must have the same shape (B, T), got {y_hat.shape}, {s.shape}"
        )
    B, T = y_hat.shape
    lags = [check_int("lags", v, lo=0, hi=T - 1) for v in lags]
    start = max(lags) if start is None else check_int("start", start, lo=max(lags), hi=T - 1)
    n_boot = check_int("n_boot", n_boot, lo=10)
    per_seq = np.stack(
        [np.mean(y_hat[:, start:] * s[:, start - lag : T - lag], axis=1) for lag in lags], axis=1
    )
    est = per_seq.mean(axis=0)
    idx = np.random.default_rng(seed).integers(0, B, size=(n_boot, B))
    boot = per_seq[idx].mean(axis=1)
    tails = [50.0 * (1.0 - level), 50.0 * (1.0 + level)]
    lo, hi = np.percentile(boot, tails, axis=0)
    return est, lo, hi
