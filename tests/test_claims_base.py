"""The claim registry's contract: verdicts, and a crash reported as ERROR."""

from __future__ import annotations

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
