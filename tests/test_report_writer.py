"""The report writer: refusing foreign paths, merging partial runs, permissions, atomicity."""

from __future__ import annotations

import json
import os
import stat

import pytest

from verify.claims import SuiteResult
from verify.claims.base import CheckResult
from verify.report import writer
from verify.report.writer import MARKER, ReportPathError, check_report_dir, write_report


def _result(cid, verdict="pass"):
    return CheckResult(
        claim=cid,
        title=f"claim {cid}",
        verdict=verdict,
        predicted="p",
        measured="m",
        tolerance="t",
        rows=[{"x": 1}],
        negative_control={"description": "nc", "rejected": True},
        seed=7,
    )


def _suite(cids, seed=1, command="learnwin verify"):
    return SuiteResult(
        results=[_result(c) for c in cids],
        seed=seed,
        profile="quick",
        false_alarm=0.01,
        machine={"threads": 2},
        runtime_s=1.0,
        command=command,
    )


def test_existing_file_is_refused_and_kept(tmp_path):
    f = tmp_path / "f"
    f.write_text("precious", encoding="utf-8")
    with pytest.raises(ReportPathError, match="not a folder"):
        write_report(_suite(["C4"]), f, figures=False)
    assert f.read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_foreign_folder_is_refused_and_kept(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    (d / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ReportPathError, match="not a learnwin report"):
        write_report(_suite(["C4"]), d, figures=False)
    assert [p.name for p in d.iterdir()] == ["cat.jpg"]


def test_empty_folder_and_new_path_are_accepted(tmp_path):
    (tmp_path / "empty").mkdir()
    for name in ("empty", "new/nested"):
        out = write_report(_suite(["C4"]), tmp_path / name, figures=False)
        assert (out / MARKER).is_file()
        assert (out / "c4.md").is_file()


def test_partial_run_keeps_other_pages_with_their_provenance(tmp_path):
    out = tmp_path / "reports"
    write_report(_suite(["C1", "C3", "C4"], seed=1, command="learnwin verify"), out,
                 figures=False)  # fmt: skip
    c1_before = (out / "c1.md").read_text(encoding="utf-8")
    write_report(_suite(["C4"], seed=2, command="learnwin verify --claims C4"), out,
                 figures=False)  # fmt: skip
    assert sorted(p.name for p in out.glob("c*.md")) == ["c1.md", "c3.md", "c4.md"]
    assert (out / "c1.md").read_text(encoding="utf-8") == c1_before  # untouched
    assert "--claims C4" in (out / "c4.md").read_text(encoding="utf-8")
    assert "- date: `" in (out / "c4.md").read_text(encoding="utf-8")
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    prov = {r["claim"]: r["provenance"] for r in data["results"]}
    assert list(prov) == ["C1", "C3", "C4"]
    assert prov["C1"]["seed"] == 1 and prov["C1"]["command"] == "learnwin verify"
    assert prov["C4"]["seed"] == 2 and prov["C4"]["command"] == "learnwin verify --claims C4"
    index = (out / "index.md").read_text(encoding="utf-8")
    for cid in ("c1", "c3", "c4"):
        assert f"({cid}.md)" in index
    assert "**3/3 claims pass.**" in index
    assert "Pages from earlier runs" in index and "| C1 | 1 |" in index


def test_legacy_report_without_marker_is_recognised(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "index.md").write_text("# Learnability-window verification report\n\nold\n")
    (out / "results.json").write_text("{}")
    assert check_report_dir(out) == out.resolve()
    write_report(_suite(["C2"]), out, figures=False)
    assert (out / MARKER).is_file()


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = write_report(_suite(["C4"]), tmp_path / "r", figures=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p


def test_unwritable_place_is_refused_before_anything(tmp_path):
    with pytest.raises(ReportPathError, match="cannot write|not a folder|does not exist"):
        check_report_dir("/proc/learnwin-report")
    with pytest.raises(ReportPathError, match="does not exist"):
        writer.check_writable_file(tmp_path / "missing" / "x.json", what="--json")
    with pytest.raises(ReportPathError, match="is a folder"):
        writer.check_writable_file(tmp_path, what="--json")


def test_failed_write_leaves_the_previous_report(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    write_report(_suite(["C1"]), out, figures=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(writer, "claim_page", boom)
    with pytest.raises(RuntimeError, match="boom"):
        write_report(_suite(["C2"]), out, figures=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]
