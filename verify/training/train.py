"""One training cell: a pure function of (task, training configuration, seed).

:func:`run_cell` trains one network on fresh batches of the task (every sequence is seen
once), and at every checkpoint of a geometric grid of sequences seen measures the learned
kernel, the envelope with the optimizer's per-unit rates and the gradient noise
(:mod:`verify.training.diagnostics`); after the last checkpoint it records the per-lag
statistic psi of the author's pipeline and the trained weights.  The result is a small
picklable :class:`CellResult`, so that cells can be mapped over any executor.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from theory._validate import check_in_range, check_int, check_positive

from .task import TaskConfig

__all__ = ["OPTIMIZERS", "Cell", "CellResult", "TrainConfig", "checkpoint_steps", "run_cell"]

#: Optimizers: name -> default learning rate.
OPTIMIZERS = {"sgd": 0.5, "sgdm": 0.1, "adamw": 2e-2, "rmsprop": 5e-3}
SPECTRA = ("homogeneous", "beta", "uniform", "log_uniform", "chrono")


@dataclass(frozen=True)
class TrainConfig:
    """How one network is trained and measured.

    Attributes
    ----------
    arch : {"constgate", "diaggate", "gru", "lstm"}
    hidden : int
    spectrum : tuple
        ``(name, ((param, value), ...))`` for :func:`verify.recurrences.make_spectrum`.
    optimizer : {"sgd", "sgdm", "adamw", "rmsprop"}
    lr : float or None
        Learning rate (None: the default of :data:`OPTIMIZERS`).
    momentum, weight_decay : float
        SGD momentum (``sgdm``) and AdamW's decoupled weight decay.
    clip : float or None
        Gradient-norm clipping threshold (None: no clipping).
    batch : int
        Sequences per step.
    n_max : int
        Sequences seen at the last checkpoint.
    n_first : int
        Sequences seen at the first checkpoint.
    ratio : float
        Ratio of the geometric checkpoint grid (> 1).
    n_boot : int
        Bootstrap resamples of the gradient-noise tail index.
    eval_batch, noise_batch, probe_batch, psi_batch : int
        Held-out sequences for the kernel, per-sequence gradients for alpha, probe sequences
        for the envelope, sequences for psi.
    n_directions : int
        Random projections of the per-sequence gradients.
    e6_batch : int
        Sequences of the detection-size measurement (E6) at the untrained start and at the
        last checkpoint; 0: not measured.
    e6_directions, e6_positions : int
        Its random input-weight directions and injection positions
        (:func:`verify.training.lag_signal.lag_contributions`).
    transport_probe : int
        Probe sequences of the transport comparison (E7: first order, exact diagonal and
        full transport) at the untrained start and at the last checkpoint; 0: not measured.
    grad_noise_alpha : float or None
        E3's manipulation: symmetric alpha-stable noise of this tail index in (1, 2] added
        to every element of the gradient before each optimizer step (after clipping, if
        any, so that the tail the optimizer sees is the one set); None: no added noise.
    grad_noise_scale : float
        Its size: the interquartile range of ``N(0, s^2)`` with ``s`` this multiple of the
        RMS of the first training batch's gradient, the same for every ``alpha`` (IQR
        matching: ``sigma_alpha = 0.67449 s / q_alpha(0.75)``, ``q_alpha`` the standard
        SaS quantile).
    update_batches, update_directions : int
        The manipulation check of a noisy cell, at the last checkpoint: the gradient of
        ``update_batches`` fresh batches plus the added noise, projected on
        ``update_directions`` random unit directions (their product: the samples of the
        update's alpha_hat, >= 1000 by default).
    device : {"cpu", "cuda"}
    """

    arch: str = "gru"
    hidden: int = 16
    spectrum: tuple = ("chrono", (("t_max", 96.0),))
    optimizer: str = "adamw"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 1e-4
    clip: float | None = 1.0
    batch: int = 64
    n_max: int = 16384
    n_first: int = 256
    ratio: float = float(np.sqrt(2.0))
    n_boot: int = 100
    eval_batch: int = 128
    noise_batch: int = 64
    probe_batch: int = 16
    psi_batch: int = 128
    n_directions: int = 8
    e6_batch: int = 0
    e6_directions: int = 2
    e6_positions: int = 2
    transport_probe: int = 4
    grad_noise_alpha: float | None = None
    grad_noise_scale: float = 1.0
    update_batches: int = 64
    update_directions: int = 16
    device: str = "cpu"

    def __post_init__(self):
        from .models import ARCHS

        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {sorted(ARCHS)}, got {self.arch!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.spectrum[0] not in SPECTRA:
            raise ValueError(f"spectrum must be one of {SPECTRA}, got {self.spectrum[0]!r}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        check_int("hidden", self.hidden, lo=1)
        check_int("batch", self.batch, lo=2)
        check_int("n_max", self.n_max, lo=self.batch)
        check_int("n_first", self.n_first, lo=self.batch, hi=self.n_max)
        check_int("n_boot", self.n_boot, lo=10)
        check_in_range("ratio", self.ratio, 1.0, lo_open=True)
        check_in_range("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        check_in_range("weight_decay", self.weight_decay, 0.0)
        if self.lr is not None:
            check_positive("lr", self.lr)
        if self.clip is not None:
            check_positive("clip", self.clip)
        for name in ("eval_batch", "noise_batch", "probe_batch", "psi_batch"):
            check_int(name, getattr(self, name), lo=16 if name != "probe_batch" else 1)
        check_int("n_directions", self.n_directions, lo=1)
        if self.e6_batch:
            check_int("e6_batch", self.e6_batch, lo=64)
        check_int("e6_directions", self.e6_directions, lo=1)
        check_int("e6_positions", self.e6_positions, lo=1)
        check_int("transport_probe", self.transport_probe, lo=0)
        if self.grad_noise_alpha is not None:
            a = check_in_range("grad_noise_alpha", self.grad_noise_alpha, 0.0, 2.0, lo_open=True)
            if a <= 1.0:
                raise ValueError(
                    f"grad_noise_alpha must be in (1, 2], got {a}: at alpha <= 1 the added "
                    "noise has no mean, so the update has none either"
                )
        check_positive("grad_noise_scale", self.grad_noise_scale)
        check_int("update_batches", self.update_batches, lo=8)
        check_int("update_directions", self.update_directions, lo=1)

    @property
    def learning_rate(self) -> float:
        """The learning rate in use."""
        return OPTIMIZERS[self.optimizer] if self.lr is None else float(self.lr)

    def as_dict(self) -> dict:
        """Plain-data record of the configuration."""
        return asdict(self)


@dataclass(frozen=True)
class Cell:
    """One independent unit of work: a labelled (task, training, seed) triple."""

    name: str
    condition: str
    task: TaskConfig
    train: TrainConfig
    seed: int
    role: str = "main"  # main | control_shuffled | control_removed


@dataclass
class CellResult:
    """What one cell returns (plain arrays; ``C`` checkpoints, ``K`` planted lags).

    Attributes
    ----------
    ns : ndarray (C,)
        Sequences seen at each checkpoint.
    ratio, ratio_lo, ratio_hi : ndarray (C, K)
        ``c_hat / c`` at the planted lags and its 95 % bootstrap interval.
    log_f : ndarray (C, L + 1)
        ``log f_hat`` at lags 0..L (``L`` the longest planted lag).
    alpha, alpha_lo, alpha_hi, sigma : ndarray (C,)
        Gradient-noise tail index (with its interval) and scale.
    loss : ndarray (C,)
        Held-out mean squared error.
    log_rate : ndarray (C,)
        ``log`` of the mean per-unit rate of the envelope at each checkpoint (the optimizer's
        rate: ``eta``, ``eta / (1 - m)`` or the mean of ``eta / sqrt(v_hat)``); ``log_f -
        log_rate`` is the envelope in the gradient's units (E3, E4).
    timings : dict
        Seconds per part of the cell (:data:`SPLIT`).
    psi : ndarray (M, L + 1)
        The per-lag statistic at the last checkpoint, weighted by ``f_hat``.
    weights : dict of ndarray
        Final canonical parameters (PyTorch layout for GRU/LSTM).
    transport : dict
        ``{"init": ..., "final": ...}`` of :func:`verify.training.transport_fidelity.measure`
        (empty when not measured).
    e6 : dict
        ``{"init": ..., "final": ...}``, each ``{"g", "total", "log_f"}``: the lag-resolved
        per-sequence gradients at the planted lags and ``log f_hat`` there with unit rates
        (empty when not measured).
    update_noise : dict
        For a cell with added gradient noise: the set ``alpha`` and absolute ``sigma_set``,
        and the update's measured ``alpha``, ``alpha_lo``, ``alpha_hi``, ``sigma`` and
        ``samples`` at the last checkpoint (:func:`verify.training.diagnostics.update_noise`);
        empty otherwise.
    """

    name: str
    condition: str
    role: str
    task: dict
    train: dict
    seed: int
    ns: np.ndarray
    ratio: np.ndarray
    ratio_lo: np.ndarray
    ratio_hi: np.ndarray
    log_f: np.ndarray
    alpha: np.ndarray
    alpha_lo: np.ndarray
    alpha_hi: np.ndarray
    sigma: np.ndarray
    loss: np.ndarray
    psi: np.ndarray
    weights: dict = field(default_factory=dict)
    e6: dict = field(default_factory=dict)
    transport: dict = field(default_factory=dict)
    log_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))
    timings: dict = field(default_factory=dict)
    update_noise: dict = field(default_factory=dict)
    runtime_s: float = 0.0
    versions: dict = field(default_factory=dict)


def checkpoint_steps(n_first: int, n_max: int, batch: int, ratio: float) -> list[int]:
    """Optimizer steps of the checkpoints, ``round(n_first / batch * ratio**k)`` made unique.

    The grid stops at ``n_max // batch`` steps.
    """
    first, last = max(1, n_first // batch), n_max // batch
    steps, k = [], 0
    while True:
        s = min(int(round(first * ratio**k)), last)
        if not steps or s > steps[-1]:
            steps.append(s)
        if s >= last:
            return steps
        k += 1


def _optimizer(model, cfg: TrainConfig):
    import torch

    p, lr = list(model.parameters()), cfg.learning_rate
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(p, lr=lr, momentum=0.0)
    if cfg.optimizer == "sgdm":
        return torch.optim.SGD(p, lr=lr, momentum=cfg.momentum)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(p, lr=lr, weight_decay=cfg.weight_decay)
    return torch.optim.RMSprop(p, lr=lr)


#: The parts of a cell's time (:attr:`CellResult.timings`, seconds): model and batches set
#: up and bookkeeping, training-batch generation, optimizer steps, and the per-checkpoint
#: diagnostics (learned kernel with held-out loss, envelope, gradient noise), then E6, E7,
#: psi and, in E3's added-noise cells, the update check.
SPLIT = ("setup", "data", "training", "kernel and loss", "envelope", "gradient noise", "E6",
         "E7", "psi (E5)", "update check (E3)")  # fmt: skip


class _Ticker:
    """Adds the time since the last call to ``spent[key]``."""

    def __init__(self, spent):
        self.spent, self.last = spent, time.perf_counter()

    def __call__(self, key):
        now = time.perf_counter()
        self.spent[key] += now - self.last
        self.last = now


def _transport(model, probe, max_lag):
    """The transport comparison of one network (E7), on the CPU."""
    from .transport_fidelity import measure

    return measure(model.to_cell(), np.asarray(probe, dtype=np.float64), max_lag)


def run_cell(cell: Cell) -> CellResult:
    """Train and measure one cell (module docstring); deterministic in ``cell``."""
    import torch

    from verify import recurrences as rec

    from . import diagnostics as dg
    from .lag_signal import e6_measure
    from .models import Model
    from .task import make_batch

    t0 = time.perf_counter()
    spent = dict.fromkeys(SPLIT, 0.0)
    tick = _Ticker(spent)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    task, cfg = cell.task, cell.train
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA GPU")
    if cfg.device == "cuda":
        # cuBLAS is deterministic only with a fixed workspace, read when its handle is made
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    device = torch.device(cfg.device)
    dtype = torch.float64
    name, params = cfg.spectrum
    spectrum = rec.make_spectrum(name, **dict(params))
    seeds = np.random.SeedSequence(cell.seed).generate_state(4)
    model = Model(cfg.arch, cfg.hidden, task.inputs, spectrum, seed=int(seeds[0]), dtype=dtype)
    opt = _optimizer(model, cfg)
    heldout = make_batch(task, cfg.eval_batch, "heldout")
    noise = make_batch(task, cfg.noise_batch, "noise")
    probe = heldout.x[: cfg.probe_batch]
    L = task.max_lag
    rows = {
        k: []
        for k in (
            "ns",
            "ratio",
            "ratio_lo",
            "ratio_hi",
            "log_f",
            "alpha",
            "alpha_lo",
            "alpha_hi",
            "sigma",
            "loss",
            "log_rate",
        )
    }
    tick("setup")
    e6 = {}
    measure_e6 = cfg.e6_batch > 0 and cell.role in ("main", "spectrum")
    if measure_e6:
        e6["init"] = e6_measure(model, task, cfg, probe, int(seeds[3]))
        tick("E6")
    transport = {}
    # the independent networks (the tails cells share their start with a main cell)
    measure_transport = cfg.transport_probe > 0 and cell.role in ("main", "spectrum")
    if measure_transport:
        transport["init"] = _transport(model, probe[: cfg.transport_probe], L)
        tick("E7")
    added = None  # E3's gradient noise: set at the first step, from its gradient's RMS
    step = 0
    for target in checkpoint_steps(cfg.n_first, cfg.n_max, cfg.batch, cfg.ratio):
        model.to(device)
        while step < target:
            b = make_batch(task, cfg.batch, "train", step)
            tick("data")
            x = torch.as_tensor(b.x, dtype=dtype, device=device)
            y = torch.as_tensor(b.y, dtype=dtype, device=device)
            loss = torch.mean((model(x) - y) ** 2)
            opt.zero_grad()
            loss.backward()
            if cfg.clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            if cfg.grad_noise_alpha is not None:
                if added is None:
                    added = dg.GradientNoise.matched(model, cfg, int(seeds[2]))
                added.add_to(model, step)
            opt.step()
            step += 1
            tick("training")
        model.to("cpu")
        ratio, lo, hi = dg.learned_kernel(model, heldout, task, seed=int(seeds[1]))
        with torch.no_grad():
            mse = float(
                torch.mean((model(torch.as_tensor(heldout.x)) - torch.as_tensor(heldout.y)) ** 2)
            )
        tick("kernel and loss")
        rates = dg.optimizer_rates(model, opt, cfg.optimizer)
        log_f, unit_rates = dg.network_envelope(model, rates, probe, L)
        tick("envelope")
        gn = dg.gradient_noise(
            model, noise, cfg.n_directions, seed=int(seeds[2]) % 2**31, n_boot=cfg.n_boot
        )
        tick("gradient noise")
        for key, val in (
            ("ns", step * cfg.batch),
            ("ratio", ratio),
            ("ratio_lo", lo),
            ("ratio_hi", hi),
            ("log_f", log_f),
            ("alpha", gn["alpha"]),
            ("alpha_lo", gn["alpha_lo"]),
            ("alpha_hi", gn["alpha_hi"]),
            ("sigma", gn["sigma"]),
            ("loss", mse),
            ("log_rate", float(np.log(np.mean(unit_rates)))),
        ):
            rows[key].append(val)
        tick("setup")  # bookkeeping
    if measure_e6:
        e6["final"] = e6_measure(model, task, cfg, probe, int(seeds[3]))
        tick("E6")
    if measure_transport:
        transport["final"] = _transport(model, probe[: cfg.transport_probe], L)
        tick("E7")
    update = {}
    if added is not None:
        update = dg.update_noise(model, task, cfg, added, seed=int(seeds[2]) % 2**31)
        tick("update check (E3)")
    psi = dg.psi_samples(model, make_batch(task, cfg.psi_batch, "psi"), L, seed=int(seeds[3]))
    psi = psi * np.exp(log_f - np.max(log_f))  # weighted by mu (the envelope), as the author
    tick("psi (E5)")
    return CellResult(
        name=cell.name,
        condition=cell.condition,
        role=cell.role,
        task=task.as_dict(),
        train=cfg.as_dict(),
        seed=cell.seed,
        **{k: np.asarray(v, dtype=np.int64 if k == "ns" else np.float64) for k, v in rows.items()},
        psi=psi,
        weights=model.arrays(),
        e6=e6,
        transport=transport,
        timings={k: round(v, 4) for k, v in spent.items()},
        update_noise=update,
        runtime_s=time.perf_counter() - t0,
        versions={"torch": torch.__version__, "numpy": np.__version__},
    )
