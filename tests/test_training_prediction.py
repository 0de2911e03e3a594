"""E4's prediction in consistent units and its per-(architecture, optimizer) calibration."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from verify.training.learning import summarise, unit_envelope
from verify.training.prediction import calibrate, predicted_n
from verify.training.windows import calibrations, group_of


def _cell(name, condition, arch, opt, log_rate, learned_at=(1, 2, 3)):
    """A cell whose 3 planted lags are learned (lower bound >= 0.5) from checkpoint k on."""
    ns = np.array([64, 128, 256, 512, 1024])
    lo = np.zeros((5, 3))
    for j, k in enumerate(learned_at):
        lo[k:, j] = 0.9
    log_f = np.tile(-0.2 * np.arange(5.0), (5, 1)) + log_rate  # lags 0..4, rate folded in
    return SimpleNamespace(
        name=name, condition=condition, role="main", task={"lags": [1, 2, 4]},
        train={"arch": arch, "optimizer": opt}, ns=ns, ratio_lo=lo, log_f=log_f,
        log_rate=np.full(5, log_rate), alpha=np.full(5, 1.8), alpha_lo=np.full(5, 1.7),
        alpha_hi=np.full(5, 1.9), sigma=np.full(5, 0.5),
    )  # fmt: skip


def test_the_optimizers_rate_cancels():
    # two cells identical but for the optimizer's rate: same unit envelope, same N_pred
    slow, fast = _cell("a", "gru/sgd", "gru", "sgd", 0.0), _cell("b", "gru/sgd", "gru", "sgd", 5.0)
    np.testing.assert_allclose(unit_envelope(slow), unit_envelope(fast))
    s1, s2 = summarise(slow), summarise(fast)
    assert calibrate([s1]) == pytest.approx(calibrate([s2]))
    np.testing.assert_allclose(predicted_n(s1, 0.3), predicted_n(s2, 0.3))


def test_calibration_per_group_and_before_the_split():
    cells = [_cell("g", "gru/adamw", "gru", "adamw", -3.0),
             _cell("l", "lstm/sgdm", "lstm", "sgdm", 1.0, learned_at=(2, 3, 4))]  # fmt: skip
    sums = [summarise(c) for c in cells]
    cal = calibrations(cells, sums)
    assert set(cal) == {"gru/adamw", "lstm/sgdm"} == {group_of(c) for c in cells}
    assert cal["gru/adamw"]["split"] == 256.0
    # before the split only the lags learned by N = 256 calibrate C
    s = sums[0]
    k = s["kappa"]
    early = [math.log(n) / k + lf - math.log(0.5)
             for n, lf in zip(s["n_emp"], s["log_f_unit"], strict=True) if n <= 256]  # fmt: skip
    assert cal["gru/adamw"]["log_c_early"] == pytest.approx(np.mean(early))
    assert cal["gru/adamw"]["log_c"] != pytest.approx(cal["lstm/sgdm"]["log_c"])


def _e3(alpha_heavy, alpha_light=1.9, half=0.05):
    from verify.training.windows import check_e3

    cells = []
    for cond, a in (("gru/adamw", alpha_light), ("gru/adamw/alpha1.5", alpha_heavy)):
        c = _cell(cond, cond, "gru", "adamw", 0.0)
        c.role = "main" if cond == "gru/adamw" else "tails"
        c.alpha, c.alpha_lo, c.alpha_hi = (np.full(5, v) for v in (a, a - half, a + half))
        cells.append(c)
    sums = [summarise(c) for c in cells]
    control = {"rejected": True, "description": "", "detail": ""}
    return check_e3(cells, sums, control, 0.0, "gru/adamw", 1.5)


def test_e3_judges_only_where_the_gradient_alpha_moved():
    # overlapping gradient alpha_hat intervals: the manipulation did not reach the gradient
    res = _e3(alpha_heavy=1.87)
    assert res.verdict == "inconclusive"
    assert res.rows[0]["manipulation reached the gradient"] is False
    # separated: judged (the windows here are equal, so the shrinkage is not seen)
    res = _e3(alpha_heavy=1.5)
    assert res.rows[0]["manipulation reached the gradient"] is True
    assert res.verdict in ("fail", "partial", "pass") and res.verdict != "inconclusive"
