"""C10: the correct code passes with a stated resolution, its controls are rejected."""

from __future__ import annotations

import numpy as np
import pytest

from verify.claims import base
from verify.claims import diagonal as c10


@pytest.fixture(scope="module")
def result():
    return base.CLAIMS["C10"][1](base.PROFILES["quick"], 20251205, 1e-3)


def test_correct_code_passes(result):
    assert result.verdict == "pass", (result.measured, result.rows)
    assert result.negative_control["rejected"]
    detail = result.negative_control["detail"]
    assert float(detail["GRU |log f_first - log f_exact|"]) > 100 * c10.ROUNDING
    assert all(v["verdict"] == "fail" for k, v in detail.items() if k.startswith(("Mamba", "RG")))
    assert set(result.resolution) == {f"{n} envelope (relative)" for n in c10.LAGS}
    assert all(0 < v < c10.TOLERANCE for v in result.resolution.values())


def test_judge_three_way():
    z = 3.0
    near = 1.0 + 0.001 * np.random.default_rng(0).standard_normal((20, 3))
    assert c10._judge(near, z)[-1] == "pass"
    assert c10._judge(near * 1.5, z)[-1] == "fail"
    # shown inside at one-sided 90 % though the interval at z reaches outside: PASS
    fair = 1.0 + 0.2 * np.random.default_rng(1).standard_normal((20, 3))
    _, se, lo, hi, verdict = c10._judge(fair, z)
    assert verdict == "pass" and (lo.min() < 0.9 or hi.max() > 1.1)
    wide = 1.0 + 0.4 * np.random.default_rng(1).standard_normal((20, 3))
    assert c10._judge(wide, z)[-1] == "inconclusive"


def test_spectrum_ratios_of_a_wrong_law_are_far_from_one():
    from theory import initialisations as ini

    ratios = c10.spectrum_ratios("RG-LRU", [1, 2], ini.rglru(gate=0.25))
    assert np.all(ratios[:, 1:] < 0.8)  # the closed form at gate 1/4 decays too slowly
