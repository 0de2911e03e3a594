"""The mutation catalogue: each planted error changes what it claims to, and is undone."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import theory
from theory import spectra
from verify import recurrences as rec
from verify.noise import stable
from verify.report.selftest import selftest_page
from verify.selftest import MUTATIONS, SeedRun
from verify.selftest.matrix import KillMatrix
from verify.selftest.mutations import clear_caches, get, patch_everywhere

_NET = rec.DiagGate.init(hidden=6, inputs=2, spectrum=spectra.BetaRetention(9, 1), seed=0)
_X = rec.random_inputs(2, 30, 2, seed=1)
_V = np.abs(np.random.default_rng(0).normal(size=(6, 6))) + 0.1
_MIN = rec.MinGRU.init(4, 2, seed=0)


def _snapshot() -> dict:
    det = theory.Detection(1.5)
    law = theory.Exponential(A=3.0, tau=5.0)
    stretched = theory.StretchedExponential(A=3.0, tau=5.0, gamma=0.5)
    x = stable.sample(1.5, size=20_000, seed=1)
    return {
        "rate": det.rate,
        "prefactor": det.prefactor,
        "q_power": det.q_power,
        "epsilon": det.epsilon,
        "window": int(theory.LearnabilityWindow(law, det)(1e4)),
        "stretched window": int(theory.LearnabilityWindow(stretched, det)(1e4)),
        "noise scale": float(np.median(np.abs(x))),
        "noise symmetry": float(np.mean(x > 0)),
        "first order": tuple(np.round(rec.log_envelope(_NET, _X, 10), 12)),
        "adam rates": tuple(np.round(rec.unit_rates(_NET, "adam", v_hat=_V), 12)),
        "beta spectrum": str(spectra.BetaRetention(9, 1).expr),
        "s4d envelope": round(float(theory.initialisations.S4DReal(4).envelope(10.0)), 12),
        "mamba init": tuple(np.round(np.exp(rec.Mamba.init(2, states=3).A_log[0]), 12)),
        "diagonal first order": tuple(np.round(rec.log_envelope(_MIN, _X, 10), 12)),
        "mean scale": float(theory.mean_scale(1.5, 1.0, 100)),
    }


#: what each mutation must change (at least these entries of the snapshot)
CHANGES = {
    "kappa->alpha": {"rate", "window"},
    "K*0.95": {"prefactor"},
    "K*1.05": {"prefactor"},
    "H+1": {"window"},
    "H-1": {"window"},
    "ceil": {"window"},
    "inverse": {"stretched window"},
    "q-gauss": {"q_power", "prefactor"},
    "q-two-sided": {"q_power", "prefactor"},
    "eps-one-sided": {"epsilon", "prefactor"},
    "sigma*1.05": {"noise scale"},
    "skewed": {"noise symmetry"},
    "zeroth-for-first": {"first order"},
    "correction*3": {"first order"},
    "adam-as-sgd": {"adam rates"},
    "mellin": {"beta spectrum"},
    "s4d-dt-range": {"s4d envelope"},
    "s4d-scaling": {"mamba init"},
    "diagonal-correction": {"diagonal first order"},
    "correction*2": {"first order"},
    "correction*0.5": {"first order"},
    "correction*-1": {"first order"},
    "scale-gauss": {"mean scale"},
    "K*1.0055": {"prefactor"},
    "K*0.9945": {"prefactor"},
    "sigma*1.021": {"noise scale"},
    "scale-exponent+0.009": {"mean scale"},
    "correction*1.5": {"first order"},
}


@pytest.fixture(scope="module")
def baseline():
    return _snapshot()


def test_catalogue_is_covered():
    assert {m.name for m in MUTATIONS} == set(CHANGES)
    assert len(MUTATIONS) >= 12
    assert all(m.expected for m in MUTATIONS)
    assert {m.kind for m in MUTATIONS} == {"error", "resolution"}


# each snapshot rebuilds the SymPy windows after the caches are cleared: a few seconds each
@pytest.mark.parametrize("name", sorted(CHANGES))
def test_mutation_changes_its_target_and_is_undone(name, baseline):
    with get(name).applied():
        mutated = _snapshot()
    changed = {k for k in baseline if mutated[k] != baseline[k]}
    assert CHANGES[name] <= changed, f"{name} changed only {sorted(changed)}"
    assert _snapshot() == baseline  # restored, caches cleared


def test_patch_reaches_names_imported_elsewhere():
    transport = importlib.import_module("verify.recurrences.transport")
    envelope = importlib.import_module("verify.recurrences.envelope")
    original = transport.check_order
    assert envelope.check_order is original
    with patch_everywhere(transport, "check_order", lambda orig: lambda order: "zeroth"):
        assert envelope.check_order("first") == "zeroth"
    assert envelope.check_order is original


def test_unknown_mutation_named():
    with pytest.raises(ValueError, match="unknown mutation 'nope'; available"):
        get("nope")


def test_clear_caches_finds_the_theory_caches():
    assert clear_caches() > 3


def test_matrix_bookkeeping_and_page():
    km = KillMatrix("quick", 1, ["C2", "C3"], {"C2": "pass", "C3": "pass"},
                    mutations=[{"name": "a", "description": "x", "expected": ["C2"]},
                               {"name": "b", "description": "y", "expected": ["C3"]}],
                    cells={"a": {"C2": "fail"}, "b": {"C3": "pass"}},
                    resolution={"C2": {"K (relative)": 0.03}})  # fmt: skip
    assert km.killers("a") == ["C2"] and not km.killed("b") and not km.all_killed
    page = selftest_page(km.as_dict())
    assert "1/2 planted errors killed" in page and "**NO**" in page and "**FAIL**" in page
    assert "K (relative) | 0.03" in page
    broken = KillMatrix("quick", 1, ["C2"], {"C2": "fail"}, cells={})
    assert not broken.baseline_passes


def test_inconclusive_is_neither_kill_nor_false_alarm_and_is_counted():
    km = KillMatrix("quick", 1, ["C7"], {"C7": "pass"},
                    mutations=[{"name": "a", "description": "x", "expected": ["C7"]},
                               {"name": "r", "description": "at the resolution",
                                "expected": ["C7"], "kind": "resolution"}],
                    cells={"a": {"C7": "fail"}, "r": {"C7": "inconclusive"}})  # fmt: skip
    assert km.killed("a") and not km.killed("r")
    assert km.all_killed  # a missed resolution row is power, not a required kill
    assert km.inconclusive() == {"C7": 1}
    page = selftest_page(km.as_dict())
    assert "1/1 planted errors killed" in page
    assert "Power against the stated resolutions" in page and "missed" in page
    assert "INCONCLUSIVE verdicts" in page and "C7: 1" in page
    inc = KillMatrix("quick", 1, ["C7"], {"C7": "inconclusive"}, cells={})
    assert inc.baseline_passes  # the correct code undecided is not a failing run


def test_seed_run_budget():
    ok = SeedRun("quick", ["C2"], list(range(50)), [{"C2": "pass"}] * 48 + [{"C2": "fail"}] * 2)
    assert ok.allowed == 2 and ok.consistent and ok.per_claim() == {"C2": 2}
    bad = SeedRun("quick", ["C2"], list(range(50)), [{"C2": "pass"}] * 45 + [{"C2": "fail"}] * 5)
    assert not bad.consistent
    lo, hi = bad.rate_ci()
    assert lo < 0.1 < hi
    mixed = SeedRun("quick", ["C8", "C9"], [1, 2, 3],
                    [{"C8": "pass", "C9": "inconclusive"}, {"C8": "fail", "C9": "inconclusive"},
                     {"C8": "pass", "C9": "pass"}])  # fmt: skip
    assert mixed.failed_runs == 1 and mixed.inconclusive_runs == 1
    assert mixed.inconclusive_per_claim() == {"C8": 0, "C9": 2}
    page = selftest_page(KillMatrix("quick", 1, ["C8"], {"C8": "pass"}).as_dict(), mixed.as_dict())
    assert "INCONCLUSIVE claim and no failure: **1/3**" in page and "C9: 2" in page


def _matrix(names, mode="expected"):
    from verify.selftest import kill_matrix

    return kill_matrix([get(n) for n in names], profile="quick", seed=20251205, mode=mode)


def test_kill_matrix_every_mutation_killed():
    # the whole matrix on the quick profile (a few minutes on 2 cores); the rows planted at
    # a stated resolution are power (>= 0.9 each), not required kills
    km = _matrix([m.name for m in MUTATIONS])
    errors = [m.name for m in MUTATIONS if m.kind == "error"]
    survivors = [n for n in errors if not km.killed(n)]
    assert km.baseline_passes and not survivors, (km.baseline, survivors)
    assert km.killers("K*1.05") == ["C2"] and km.killers("H-1") == ["C3"], km.cells
    assert km.cells["correction*2"]["C7"] == "fail" and km.cells["scale-gauss"]["C1"] == "fail"


def test_command_line_refuses_bad_usage_before_any_run(capsys):
    from verify import device
    from verify.cli import main

    assert main(["selftest", "--list"]) == 0
    assert "kappa->alpha" in capsys.readouterr().out
    assert main(["selftest", "--seed", "-1"]) == 2
    assert "--seed" in capsys.readouterr().err
    if not device.cuda_available():
        assert main(["selftest", "--device", "cuda"]) == 2
        assert "--device cuda" in capsys.readouterr().err
