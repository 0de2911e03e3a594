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


def _e3(alpha_heavy, seeds=1, alpha_light=2.0, half=0.05):
    from verify.training.windows import check_e3

    cells = []
    for k in range(seeds):
        for cond, a in (("gru/adamw/gradnoise2", alpha_light),
                        ("gru/adamw/gradnoise1.3", alpha_heavy)):  # fmt: skip
            c = _cell(f"{cond}#{k}", cond, "gru", "adamw", 0.0)
            c.role, c.train["batch"] = "tails", 16
            c.update_noise = {"alpha": a, "alpha_lo": a - half, "alpha_hi": a + half,
                              "sigma": 0.5, "sigma_set": 0.4, "samples": 1024}  # fmt: skip
            cells.append(c)
    sums = [summarise(c) for c in cells]
    control = {"rejected": True, "description": "", "detail": ""}
    return check_e3(cells, sums, control, "gru/adamw", (2.0, 1.3))


def test_e3_judges_only_where_the_update_alpha_moved():
    # overlapping update alpha_hat intervals: the manipulation did not reach the update
    res = _e3(alpha_heavy=1.93, seeds=5)
    assert res.verdict == "inconclusive"
    assert res.rows[0]["manipulation reached the update"] is False
    assert len(res.figures["tables"]["Manipulation check: the update's tail index, per cell"]) == 10
    # separated but one seed: no seed-level interval, the page says so
    res = _e3(alpha_heavy=1.3, seeds=1)
    assert res.rows[0]["manipulation reached the update"] is True
    assert res.verdict == "inconclusive" and any("One seed" in n for n in res.notes)
    # separated, five seeds: judged (a verdict other than inconclusive is possible)
    res = _e3(alpha_heavy=1.3, seeds=5)
    assert res.rows[0]["seeds"] == 5 and res.rows[0]["manipulation reached the update"]
    assert res.rows[0]["measured change per seed"] == [0.0] * 5  # identical windows
    # the prediction moves the window (heavier update noise, larger kappa and scale) while
    # the windows did not move in any seed: a FAIL, not a tie that looks decisive by zero
    # spread alone (the per-seed values carry their resolution, Sheppard's q^2 / 12)
    assert abs(res.rows[0]["predicted change (mean)"]) > 1
    assert res.verdict == "fail"


def test_e3_equivalence_at_the_seed_level():
    from verify.training.windows import _equivalence

    rng = np.random.default_rng(0)
    assert _equivalence(0.1 + 0.05 * rng.standard_normal(6), 1.0)[0] == "pass"
    assert _equivalence(3.0 + 0.05 * rng.standard_normal(6), 1.0)[0] == "fail"
    assert _equivalence(-3.0 + 0.05 * rng.standard_normal(6), 1.0)[0] == "fail"
    # too noisy to tell: neither inside nor outside the margin
    assert _equivalence(0.5 + 2.0 * rng.standard_normal(6), 1.0)[0] == "inconclusive"
    assert _equivalence([0.0], 1.0)[0] == "inconclusive"  # one seed
    # ties: zero sample spread, but the values' resolution keeps the interval open
    assert _equivalence([0.9, 0.9], 1.0, quantum=1.0)[0] == "inconclusive"
    assert _equivalence([0.9, 0.9], 1.0)[0] == "pass"  # without a resolution: spurious


def test_e4_decides_over_seeds():
    from verify.training.windows import seed_fraction_verdict

    assert seed_fraction_verdict([0.95, 0.9, 1.0, 0.92, 0.97], 0.8)[0] == "pass"
    assert seed_fraction_verdict([0.4, 0.5, 0.45, 0.55, 0.5], 0.8)[0] == "fail"
    assert seed_fraction_verdict([0.5, 1.0, 0.7, 0.95, 0.6], 0.8)[0] == "inconclusive"
    v, m, lo, ci = seed_fraction_verdict([0.9], 0.8)  # one seed: reported, not decided
    assert v == "inconclusive" and m == 0.9 and math.isnan(lo)
    assert seed_fraction_verdict([], 0.8)[0] == "error"
    assert seed_fraction_verdict([0.8, 0.8], 0.8, quantum=0.25)[0] == "inconclusive"
