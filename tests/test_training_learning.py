"""Learning time: the learned criterion, E1's strictly ordered pairs, E2's positive control."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from verify.training import learning_time as lt
from verify.training.learning import LEARNED, summarise


def _cell(lo, ns=(100, 200, 400, 800), lags=(1, 2), log_f=(0.0, -1.0), role="main"):
    lo = np.asarray(lo, dtype=float)
    c = lo.shape[0]
    lf = np.zeros((c, max(lags) + 1))
    lf[:, list(lags)] = log_f
    return SimpleNamespace(
        name="cell", role=role, task={"lags": list(lags)}, ns=np.asarray(ns), ratio=lo + 0.07,
        ratio_lo=lo, ratio_hi=lo + 0.14, log_f=lf, alpha=np.full(c, 1.8),
        alpha_lo=np.full(c, 1.7), alpha_hi=np.full(c, 1.9), sigma=np.ones(c),
    )  # fmt: skip


def test_learned_needs_the_lower_bound_and_stays_needs_the_end():
    # lag 1: lower bound 0.52, 0.45, 0.55, 0.6 -> first learned at 100, stays from 400 on;
    # lag 2: point estimate above 0.5 but lower bound below throughout -> never learned
    lo = [[0.52, 0.44], [0.45, 0.45], [0.55, 0.46], [0.60, 0.49]]
    s = summarise(_cell(lo))
    assert s["n_first"][0] == 100 and s["n_emp"][0] == 400
    assert np.isinf(s["n_emp"][1]) and np.isinf(s["n_first"][1])
    assert s["censored_first"][0] and not s["censored"][0]
    assert LEARNED == 0.5


def test_e1_counts_only_strictly_ordered_pairs():
    control = {"rejected": True, "detail": ""}
    # lag 1 (larger f) learned at 200, lag 2 at 800: one concordant pair
    lo = [[0.1, 0.1], [0.6, 0.1], [0.6, 0.2], [0.7, 0.6]]
    cell = _cell(lo)
    res = lt.check_e1([cell], [summarise(cell)], control)
    assert res.rows[0]["concordant"] == 1 and res.rows[0]["discordant"] == 0
    assert res.verdict == "inconclusive"  # one pair cannot decide
    # learned-vs-never pairs and ties are counted apart, never as concordant
    lo_never = [[0.1, 0.1], [0.6, 0.1], [0.6, 0.2], [0.7, 0.3]]
    cell = _cell(lo_never)
    res = lt.check_e1([cell], [summarise(cell)], control)
    assert res.rows[0]["concordant"] == 0 and res.rows[0]["learned vs never (apart)"] == 1


def test_synthetic_learner_is_recovered_and_v1_rejected():
    pc = lt.positive_control(seed=0)
    assert pc["recovered"], pc["kappa"]
    assert pc["v1_rejected"], pc["v1"]


def test_planting_a_wrong_slope_moves_the_estimate_by_that_much():
    kappa = 3.0
    for exponent in (2.0, 3.0, 4.0):
        d = [
            lt.cell_slope(summarise(lt.synthetic_learner(exponent, seed=i)))["slope"]
            for i in range(4)
        ]
        assert abs(np.mean(d) + exponent) < 0.3, (exponent, d)
    assert lt.MARGIN < kappa - lt.CONTROL_ALPHA


def test_unmeasurable_cell_has_no_slope():
    lo = [[0.6, 0.1], [0.6, 0.1], [0.6, 0.6], [0.7, 0.6]]
    out = lt.cell_slope(summarise(_cell(lo)))
    assert math.isnan(out["slope"])


@pytest.mark.parametrize("n", [0, 1])
def test_e2_with_too_few_cells_is_inconclusive(n):
    control = {"rejected": True, "detail": ""}
    cells = [lt.synthetic_learner(3.0, seed=i) for i in range(n)]
    for c in cells:
        c.name, c.role = "syn", "main"
    res = lt.check_e2(cells, [summarise(c) for c in cells], control)
    assert res.verdict == "inconclusive"


def test_isolation_control_compares_the_probe_seed_by_seed():
    from verify.training.learning import isolation

    lo_ref = [[0.1, 0.1], [0.1, 0.6], [0.6, 0.6], [0.7, 0.7]]  # lag 2 stays from 200
    lo_iso = [[0.1, 0.1], [0.1, 0.1], [0.6, 0.6], [0.7, 0.7]]  # lag 2 stays from 400
    ref, iso = _cell(lo_ref), _cell(lo_iso, role="control_isolated")
    ref.condition, ref.seed, ref.train = "gru/adamw", 7, {"ratio": 2.0}
    iso.condition, iso.seed, iso.train = "gru/adamw/isolated2", 7, {"ratio": 2.0}
    out = isolation([ref, iso], [summarise(ref), summarise(iso)], 2)
    assert out["cells"] == 1 and out["agree"] == 1  # one step of ratio 2 apart
    iso.train = {"ratio": 1.5}
    assert isolation([ref, iso], [summarise(ref), summarise(iso)], 2)["agree"] == 0


def test_standard_profile_is_sized_for_evidence():
    from verify.training.experiment import PROFILES, build_cells

    p = PROFILES["standard"]
    assert p.seeds >= 5 and max(p.task.lags) >= 128
    assert p.train.ratio == pytest.approx(2**0.25)
    lags = p.task.lags
    assert min(b / a for a, b in zip(lags, lags[1:], strict=False)) >= 2.0
    cells = build_cells(p, seed=1)
    assert len({c.name for c in cells}) == len(cells) == 60
    iso = [c for c in cells if c.role == "control_isolated"]
    assert len(iso) == p.seeds and set(iso[0].task.removed) == set(lags) - {p.probe}
