"""The claim registry's contract: verdicts, and a crash reported as ERROR."""

from __future__ import annotations

import numpy as np
import pytest

from verify.claims import CLAIMS, PROFILES, run_suite
from verify.claims.base import CheckResult, claim


@pytest.fixture
def crashing_claim():
    @claim("X1", "a check that raises")
    def _x1(profile, seed, false_alarm):
        raise OverflowError("int too large to convert to float")

    yield "X1"
    CLAIMS.pop("X1")


def test_crash_becomes_error_verdict_and_suite_goes_on(crashing_claim):
    suite = run_suite([crashing_claim, "C5"], "quick", seed=1)
    err, c5 = suite.results
    assert err.verdict == "error" and not err.passed
    assert "OverflowError" in err.measured and "int too large" in err.notes[0]
    assert c5.claim == "C5" and c5.verdict in ("pass", "partial", "fail")
    assert not suite.passed


def test_unknown_verdict_refused():
    with pytest.raises(ValueError, match="verdict must be one of"):
        CheckResult("C0", "t", "ok", "-", "-", "-")


def test_partial_does_not_fail_the_run():
    assert CheckResult("C0", "t", "partial", "-", "-", "-").passed
    assert not CheckResult("C0", "t", "fail", "-", "-", "-").passed
    assert PROFILES["quick"].name == "quick"


def test_combine_takes_the_worst_verdict():
    from verify.claims.base import combine

    assert combine("pass", "pass") == "pass"
    assert combine("pass", "inconclusive", "partial") == "inconclusive"
    assert combine("inconclusive", "fail", "pass") == "fail"
    assert combine("fail", "error") == "error"
    with pytest.raises(ValueError, match="verdicts must be among"):
        combine("pass", "maybe")


def test_equivalence_is_three_way_with_stated_error_rates():
    from scipy import stats

    from verify.claims.base import PASS_ERROR, equivalence

    z, tol = 4.0, 0.05
    assert equivalence(0.0, 0.01, tol, z) == "pass"  # interval [-0.013, 0.013] inside
    assert equivalence(0.038, 0.01, tol, z) == "inconclusive"  # not refuted, not shown
    assert equivalence(0.0, 0.05, tol, z) == "inconclusive"  # too noisy to show it
    assert equivalence(0.05, 0.01, tol, z) == "fail"  # refuted at z
    # an effect exactly at the tolerance passes with probability <= PASS_ERROR
    se = 0.01
    draws = np.random.default_rng(0).normal(tol, se, 20_000)
    share = np.mean([equivalence(d, se, tol, z) == "pass" for d in draws])
    assert share <= PASS_ERROR + 3 * np.sqrt(PASS_ERROR / draws.size)
    assert share == pytest.approx(stats.norm.cdf(-1.2815515655446004), abs=0.01)
    # with the resolution (z + 1.28) SE as tolerance, PASS and FAIL are complementary
    res = (z + 1.2815515655446004) * se
    verdicts = {equivalence(d, se, res, z) for d in np.linspace(-0.1, 0.1, 401)}
    assert verdicts == {"pass", "fail"}
