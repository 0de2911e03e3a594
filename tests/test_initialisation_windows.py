"""The README's table: windows of Griffin's and Mamba's default initialisations.

H_N from the closed-form envelope (per unit, ``eta H = 1``), from its asymptotic law, and
from the envelope of one freshly initialised layer of a real model's size (the RG-LRU of
recurrentgemma-2b, width 2560, recurrence gate at its init mean 1/2; the Mamba mixer of
mamba-130m, 1536 channels x 16 states, ``delta`` at its bias), whose retention is constant
in time, so that its envelope is the mean over its units of ``a**ell``.  Detection defaults
of :func:`theory.learnability_window` (sigma = c = 1, delta = 0.1).
Run as a script to print the table.
"""

from __future__ import annotations

import numpy as np
import pytest

import theory
from theory import initialisations as ini
from verify import recurrences as rec

ALPHAS = (1.5, 2.0)
NS = (1e3, 1e4, 1e5, 1e6)


def layers():
    """(name, closed form, retentions of one fresh layer)."""
    rg = rec.RGLRU.init(2560, heads=10, seed=0, gate=0.5)
    mb = rec.Mamba.init(768, states=16, seed=0, dt_scale=0.0)
    out = []
    for name, spec, net in (("RG-LRU", ini.rglru(), rg), ("Mamba", ini.S4DReal(16), mb)):
        a = net.forward(rec.random_inputs(1, 1, net.inputs, seed=1)).gates["a"][0, 0]
        out.append((name, spec, np.log(a)))
    return out


def simulated_log_envelope(log_a):
    def f(lag):
        v = lag * log_a
        m = v.max()
        return float(np.log(np.mean(np.exp(v - m))) + m)

    return f


def table():
    rows = []
    for name, spec, log_a in layers():
        sim = simulated_log_envelope(log_a)
        for alpha in ALPHAS:
            asym = theory.learnability_window(spec.law(), alpha)
            for n in NS:
                closed = ini.window(spec.log_envelope, alpha, n)
                simulated = ini.window(sim, alpha, n)
                rows.append({"layer": name, "alpha": alpha, "N": n, "closed": closed,
                             "law": int(asym(n)), "simulated": simulated})  # fmt: skip
    return rows


def markdown(rows) -> list[str]:
    out = []
    for r in rows:
        out.append(f"| {r['layer']} | {r['alpha']:g} | {r['N']:.0e} | {r['closed']} | "
                   f"{r['law']} | {r['simulated']} |")  # fmt: skip
    return out


@pytest.fixture(scope="module")
def rows():
    return table()


def test_simulated_windows_match_the_closed_forms(rows):
    for r in rows:
        assert abs(r["simulated"] - r["closed"]) <= max(1, 0.05 * r["closed"]), r


def test_readme_holds_the_table(rows):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [line for line in markdown(rows) if line not in readme]
    assert not missing, missing


if __name__ == "__main__":
    print("\n".join(markdown(table())))
