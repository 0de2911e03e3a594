"""Report rendering pinned by golden files, and the atomic report writer.

Regenerate the golden files after an intended change of the layout with
``LEARNWIN_UPDATE_GOLDEN=1 pytest tests/test_report_render.py`` and read the diff.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from verify.claims import SuiteResult
from verify.claims.base import CheckResult
from verify.report import writer
from verify.report.render import claim_page, index_page, markdown_table, summary_table
from verify.report.writer import write_report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LEARNWIN_UPDATE_GOLDEN") == "1"

MACHINE = {
    "learnability_window": "0.0.0-test",
    "python": "3.12.0",
    "numpy": "2.0.0",
    "threads": 2,
    "cpu": "x86_64",
}


def _results() -> list[CheckResult]:
    passing = CheckResult(
        claim="C2",
        title="N(ell) grows like f(ell)^(-kappa)",
        verdict="pass",
        predicted="slope -3",
        measured="slope -2.98 +- 0.05",
        tolerance="|z| <= 3.2 (Bonferroni share of 0.01)",
        rows=[
            {"alpha": 1.5, "lag": 10, "N": 1234.5678, "ok": True},
            {"alpha": 2.0, "lag": 20, "N": 0.000123456, "ok": False},
        ],
        negative_control={"description": "slope -alpha instead of -kappa", "rejected": True},
        params={"trials": 800, "alphas": (1.5, 2.0)},
        seed=11,
        runtime_s=1.25,
        notes=["first note", "second note"],
    )
    failing = CheckResult(
        claim="C5",
        title="windows shrink as alpha decreases",
        verdict="fail",
        predicted="H(1.2) < H(1.8)",
        measured="H(1.2) = H(1.8)",
        tolerance="strict order | exact",
        rows=[{"name": "a|b", "text": "two\nlines", "value": 3}],
        negative_control={"description": "reversed order", "rejected": False},
        params={"profile": "quick"},
        seed=22,
        runtime_s=0.04,
    )
    return [passing, failing]


def _suite(**kw) -> SuiteResult:
    return SuiteResult(
        results=_results(),
        seed=20251205,
        profile="quick",
        false_alarm=0.01,
        machine=dict(MACHINE),
        runtime_s=12.345,
        command="learnwin verify --claims C2,C5",
        **kw,
    )


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}; run with LEARNWIN_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- golden
def test_summary_table_golden():
    _check_golden("summary_table.md", summary_table(_suite().results))


@pytest.mark.parametrize("i", [0, 1])
def test_claim_page_golden(i):
    suite = _suite()
    res = suite.results[i]
    figs = {"slopes": "figures/c2_slopes.png"} if i == 0 else None
    _check_golden(f"claim_{res.claim.lower()}.md", claim_page(res, suite, figs))


def test_index_page_golden():
    suite = _suite()
    pages = {r.claim: f"{r.claim.lower()}.md" for r in suite.results}
    text = index_page(suite, pages, ["[alpha-estimator accuracy](tail_accuracy.md)"])
    _check_golden("index.md", text)


# ----------------------------------------------------------------------------- pure parts
def test_markdown_table_cells():
    assert markdown_table([]) == "_no rows_\n"
    text = markdown_table([{"a": 0.123456789, "b": True, "c": "x|y\nz"}, {"a": 2}])
    lines = text.splitlines()
    assert lines[0] == "| a | b | c |"
    assert lines[1] == "|---|---|---|"
    assert lines[2] == "| 0.1235 | yes | x\\|y z |"
    assert lines[3] == "| 2 |  |  |"  # missing keys render empty


def test_rendering_is_pure():
    suite = _suite()
    before = copy.deepcopy(suite.as_dict())
    first = claim_page(suite.results[0], suite)
    assert claim_page(suite.results[0], suite) == first
    assert suite.as_dict() == before
    assert "**Verdict: PASS**" in first
    assert "**Verdict: FAIL**" in claim_page(suite.results[1], suite)
    index = index_page(suite, {"C2": "c2.md", "C5": "c5.md"})
    assert "**1/2 claims pass.**" in index
    assert "- runtime: 12.3 s" in index


# ----------------------------------------------------------------------------- writer
def test_write_report_files(tmp_path):
    suite = _suite(extras={"extra table": ("extra.md", "# Extra\n")})
    out = write_report(suite, tmp_path / "report", figures=False)
    assert out == (tmp_path / "report").resolve()
    names = sorted(p.name for p in out.iterdir())
    assert names == [writer.MARKER, "c2.md", "c5.md", "extra.md", "index.md", "results.json"]
    pages = {"C2": "c2.md", "C5": "c5.md"}
    dated = copy.copy(suite)  # the writer adds the date to the provenance
    dated.machine = {
        **suite.machine,
        "date": json.loads((out / "results.json").read_text())["date"],
    }
    assert (out / "index.md").read_text(encoding="utf-8") == index_page(
        dated, pages, ["[extra table](extra.md)"]
    )
    assert (out / "c5.md").read_text(encoding="utf-8") == claim_page(suite.results[1], dated, {})
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["seed"] == 20251205
    assert data["passed"] is False
    assert [r["claim"] for r in data["results"]] == ["C2", "C5"]
    assert data["results"][0]["params"]["alphas"] == [1.5, 2.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temp folders


def test_write_report_replaces_previous(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / writer.MARKER).write_text("", encoding="utf-8")
    (out / "index.md").write_text("old", encoding="utf-8")
    write_report(_suite(), out, figures=False)
    assert (out / "index.md").read_text(encoding="utf-8") != "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_write_report_with_figures(tmp_path):
    suite = _suite()
    suite.results[0].figures = {
        "envelopes": {
            "gru": {
                "lags": [1, 2, 3, 4],
                "measured": [1.0, 0.5, 0.25, 0.125],
                "reference": [1.0, 0.5, 0.25, 0.125],
            },
        }
    }
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pytest.skip("matplotlib is not installed")
    out = write_report(suite, tmp_path / "report", figures=True)
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["c2_envelopes.png"]
    assert (out / "figures" / "c2_envelopes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![envelopes](figures/c2_envelopes.png)" in (out / "c2.md").read_text(encoding="utf-8")


#: Small synthetic plot data for every figure key, shaped as the claim checks attach it.
SYNTHETIC_FIGURES = {
    "quantiles": [
        {
            "alpha": a,
            "kappa": a / (a - 1),
            "levels": [0.1, 0.25, 0.75, 0.9],
            "predicted": [-2.0, -1.0, 1.0, 2.0],
            "N": [10, 100, 1000],
            "rescaled": [[-2.1, -1.0, 1.0, 2.1], [-1.9, -1.1, 0.9, 1.9], [-2.0, -1.0, 1.0, 2.0]],
            "clt_rescaled": [[-3.0, -1.5, 1.5, 3.0], [-6.0, -3.0, 3.0, 6.0], [-9, -5, 5, 9]],
        }
        for a in (1.5, 2.0)
    ],
    "slopes": [
        {
            "alpha": 1.5,
            "rate": 3.0,
            "prefactor": 2.0,
            "log_f": [-1.0, -2.0, -3.0],
            "log_n": [5.0, 8.0, 11.0],
            "log_lo": [4.9, 7.9, 10.9],
            "log_hi": [5.1, 8.1, 11.1],
        }
    ],
    "windows": [
        {"law": "exponential", "N": n, "predicted": h, "empirical": h, "v1": 2 * h}
        for n, h in ((100, 3), (1000, 7), (10_000, 11))
    ],
    "growth": [
        {
            "law": "exponential",
            "regime": "logarithmic",
            "N_grid": [100.0, 1000.0, 10_000.0],
            "H_continuous": [3.5, 7.2, 11.0],
            "H_v1_continuous": [10.0, 30.0, None],  # None: beyond float range
            "N": [100, 10_000],
            "predicted": [3, 11],
            "empirical": [0, 11],
        }
    ],
    "alphas": {
        "law": "exponential",
        "N": 10_000,
        "alpha": [1.2, 1.5, 2.0],
        "predicted": [1, 11, 20],
        "empirical": [1, 11, 21],
        "interval": [[0, None], [10, 11], [19, None]],
        "v1": [32, None, 20],
        "v1_power": [0.06, 0.04, 0.98],
    },
    "envelopes": {"gru": {"lags": [0, 1, 2], "measured": [1.0, 0.5, 0.25], "reference": None}},
    "transport": {
        "GRU": {
            "lags": [0, 1, 2, 3],
            "log_f_first": [0.0, -0.6, -1.2, -1.8],
            "log_f_exact": [0.0, -0.5, -1.0, -1.5],
            "mean_unit_rho": 0.999,
        }
    },
    "stable_windows": {
        "N": 1e6,
        "theta": 0.065,
        "networks": {
            f"r={r}": {
                "lags": [0, 1, 2, 3],
                "measured": [r**k for k in range(4)],
                "fitted": [None] + [r**k for k in range(1, 4)],  # None: diverges at 0
                "norm": r,
                "window": w,
            }
            for r, w in ((0.5, 1), (0.9, 3))
        },
    },
    "optimizers": {
        "lags": [0, 1, 2, 3],
        "N": 1e6,
        "theta": 0.3,
        "envelopes": {
            name: {"measured": [1.0, q, q**2, q**3], "fitted": [1.0, q, q**2, q**3], "window": w}
            for name, q, w in (("SGD", 0.7, 3), ("Adam", 0.6, 2))
        },
        "control": [1.0, 0.7, 0.49, 0.343],
    },
}


def test_every_maker_draws_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from verify.report import figures

    assert set(figures._MAKERS) == set(SYNTHETIC_FIGURES)
    suite = _suite()
    suite.results[0].figures = copy.deepcopy(SYNTHETIC_FIGURES)
    json.dumps(suite.as_dict())  # plot data is JSON-able
    made = figures.make_figures(suite, tmp_path)
    assert set(made) == {"C2"}
    assert set(made["C2"]) == set(SYNTHETIC_FIGURES)
    for key, path in made["C2"].items():
        assert Path(path).name == f"c2_{key}.png"
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "c5_slopes.png").exists()  # no data, no figure


def test_write_report_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "report"
    out.mkdir()
    (out / writer.MARKER).write_text("", encoding="utf-8")
    (out / "index.md").write_text("previous report", encoding="utf-8")
    (out / "c1.md").write_text("previous page", encoding="utf-8")
    calls = []

    def failing_claim_page(result, suite, figures=None):
        calls.append(result.claim)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return claim_page(result, suite, figures)

    monkeypatch.setattr(writer, "claim_page", failing_claim_page)
    with pytest.raises(RuntimeError, match="boom"):
        write_report(_suite(), out, figures=False)
    assert calls == ["C2", "C5"]
    assert sorted(p.name for p in out.iterdir()) == [writer.MARKER, "c1.md", "index.md"]
    assert (out / "index.md").read_text(encoding="utf-8") == "previous report"
    assert (out / "c1.md").read_text(encoding="utf-8") == "previous page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_extra_page_with_figure_data_gets_its_figure(tmp_path):
    pytest.importorskip("matplotlib")
    mae = {"mcculloch": [0.02, 0.01, 0.01], "koutrouvelis": [0.01, 0.005, 0.004]}
    data = {"accuracy": {"alphas": [1.1, 1.5, 2.0], "n": 1000, "reps": 2, "mae": mae}}
    suite = _suite(extras={"acc": ("tail_accuracy.md", "# Acc\n", data)})
    out = write_report(suite, tmp_path / "report", figures=True)
    page = (out / "tail_accuracy.md").read_text(encoding="utf-8")
    assert page.startswith("# Acc\n")
    assert "![accuracy](figures/tail_accuracy_accuracy.png)" in page
    assert (out / "figures" / "tail_accuracy_accuracy.png").read_bytes()[:4] == b"\x89PNG"
