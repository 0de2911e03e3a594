"""Networks that learn: the learnability window measured on trained GRUs and LSTMs.

The only package of ``verify`` that imports torch (the ``train`` extra).

Modules
-------
task
    The multi-lag regression task of THEORY.md section 8 (NumPy), and the learned-kernel
    estimator ``c_hat(l) = E[y_hat_t u^T x_{t-l}]`` with a bootstrap interval.
models
    GRU and LSTM (``torch.nn``), ConstGate and DiagGate in torch, matching our cells; a
    functional forward for per-sequence gradients and forward-mode products.
diagnostics
    Per-checkpoint measurements: learned kernel, envelope with the optimizer's per-unit
    rates, gradient-noise tail index, the psi statistic of the author's pipeline.
train
    One cell: train on fresh batches, measure on a geometric grid of sequences seen.
experiment
    Profiles, the list of independent cells, a serial map, the run.
lag_signal
    The per-sequence gradient carried through each lag (forward mode, time-averaged
    input-weight directions), for E6.
claims
    The reduce into the checks E1-E7 (thresholds fixed in advance), one module per family:
    ``learning`` (the learned criterion, summaries, training controls), ``learning_time``
    (E1, E2), ``windows`` and ``prediction`` (E3, E4), ``psi`` (E5), ``detection_size`` and
    ``gradient_detection`` (E6), ``transport_fidelity`` (E7: the first-order envelope against
    the exact and the full transport on trained networks); plain NumPy.
command
    ``learnwin experiment``.
"""
