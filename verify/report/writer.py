"""Report writing: refuse what is not a report, merge partial runs, swap the folder in atomically.

A report folder is recognised by the marker file :data:`MARKER` that every write leaves in
it (or, for reports written before the marker existed, by an ``index.md`` with the report's
title next to a ``results.json``).  :func:`check_report_dir` refuses, before any run, a path
that is an existing file, a non-empty folder that is not a report, or a place that cannot be
written.  :func:`write_report` builds the new report in a temporary sibling folder -- a copy
of the previous report, so a run of some claims keeps the pages of the others -- and swaps
it in only when it is complete.  Every page carries its own provenance (seed, profile, date,
command); ``results.json`` and the index list every claim page present.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from .render import claim_page, index_page, markdown_table

__all__ = [
    "MARKER",
    "ReportPathError",
    "check_report_dir",
    "check_writable_file",
    "is_report_dir",
    "swap_folder",
    "umask_mode",
    "write_report",
    "write_text_atomic",
]

#: File left in every report folder; its presence lets a later run replace the folder.
MARKER = ".learnwin-report"
_TITLE = "# Learnability-window verification report"


class ReportPathError(ValueError):
    """An output path that must not be written (an existing file, a foreign folder)."""


def umask_mode(directory: bool = False) -> int:
    """Permissions a new file (0o666) or folder (0o777) gets under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def is_report_dir(path) -> bool:
    """Whether ``path`` is a folder written by :func:`write_report`."""
    p = Path(path)
    if (p / MARKER).is_file():
        return True
    index = p / "index.md"
    if not (index.is_file() and (p / "results.json").is_file()):
        return False
    with open(index, encoding="utf-8", errors="replace") as fh:
        return fh.readline().rstrip("\n") == _TITLE


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _probe_writable(folder: Path, what: str) -> None:
    try:
        probe = tempfile.mkdtemp(prefix=".learnwin-probe-", dir=folder)
    except OSError as exc:
        raise ReportPathError(f"{what}: cannot write in {str(folder)!r}: {exc.strerror}") from None
    os.rmdir(probe)


def check_report_dir(out_dir, *, what: str = "report folder") -> Path:
    """Check, before a run, that ``out_dir`` may receive a report; return it resolved.

    Raises
    ------
    ReportPathError
        ``out_dir`` is an existing file (or anything but a folder), a non-empty folder
        without the report marker, or lies where nothing can be written.
    """
    out = Path(out_dir).expanduser()
    if str(out_dir).strip() == "":
        raise ReportPathError(f"{what}: the path is empty")
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise ReportPathError(
                f"{what} {str(out_dir)!r} exists and is not a folder; refusing to replace it"
            )
        if any(out.iterdir()) and not is_report_dir(out):
            raise ReportPathError(
                f"{what} {str(out_dir)!r} is a non-empty folder that is not a learnwin report "
                f"(no {MARKER} marker); refusing to replace it -- choose another folder"
            )
        _probe_writable(out.resolve().parent, what)
    else:
        base = _nearest_existing(out.resolve().parent)
        if not base.is_dir():
            raise ReportPathError(f"{what} {str(out_dir)!r}: {str(base)!r} is not a folder")
        _probe_writable(base, what)
    return out.resolve()


def check_writable_file(path, *, what: str = "output file") -> Path:
    """Check, before a run, that ``path`` can be written as a file; return it resolved.

    Its folder must exist (it is not created) and be writable, and ``path`` must not be a
    folder.
    """
    p = Path(path).expanduser()
    if str(path).strip() == "":
        raise ReportPathError(f"{what}: the path is empty")
    if p.is_dir():
        raise ReportPathError(f"{what} {str(path)!r} is a folder")
    parent = p.resolve().parent
    if not parent.is_dir():
        raise ReportPathError(f"{what} {str(path)!r}: the folder {str(parent)!r} does not exist")
    _probe_writable(parent, what)
    return p.resolve()


# ----------------------------------------------------------------------------- merging
def _claim_key(cid: str):
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", cid)
    return (m.group(1) != "C", m.group(1), int(m.group(2))) if m else (True, cid, 0)


class _Stored(SimpleNamespace):
    """A claim result read back from ``results.json`` (enough to render the index)."""

    @property
    def passed(self) -> bool:
        return self.verdict in ("pass", "partial")


def _provenance(suite, date: str) -> dict:
    return {
        "seed": suite.seed,
        "profile": suite.profile,
        "date": date,
        "command": suite.command,
    }


def _read_previous(folder: Path) -> dict:
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _merge(previous: dict, suite, date: str):
    """Results by claim id: the previous run's, replaced by this run's."""
    old_prov = {
        "seed": previous.get("seed"),
        "profile": previous.get("profile"),
        "date": previous.get("date", ""),
        "command": previous.get("command", ""),
    }
    merged = {}
    for r in previous.get("results", []):
        if isinstance(r, dict) and "claim" in r and "verdict" in r:
            merged[r["claim"]] = {"provenance": old_prov, **r}
    here = _provenance(suite, date)
    for r in suite.results:
        merged[r.claim] = {**r.as_dict(), "provenance": here}
    return dict(sorted(merged.items(), key=lambda kv: _claim_key(kv[0])))


def _earlier_pages(merged: dict, current: set) -> str:
    rows = [
        {"page": cid, **{k: d["provenance"].get(k, "") for k in ("seed", "profile", "date")},
         "command": d["provenance"].get("command", "")}
        for cid, d in merged.items()
        if cid not in current
    ]  # fmt: skip
    if not rows:
        return ""
    return (
        "\n## Pages from earlier runs\n\n"
        "These pages were not part of this run and are kept from the run named here.\n\n"
        + markdown_table(rows)
    )


# ----------------------------------------------------------------------------- writing
def write_report(suite, out_dir, *, figures: bool = True) -> Path:
    """Write ``index.md``, one page per claim and the figures to ``out_dir``.

    ``suite.extras`` maps a title to ``(file name, markdown)`` or ``(file name, markdown,
    figure data)``; figure data (key -> plain data) is drawn by
    :func:`verify.report.figures.make_extra_figures` and linked at the end of the page.

    Where ``out_dir`` already holds a report, its pages are kept and this run's pages
    replace theirs: the index and ``results.json`` list every claim page present, each with
    the provenance of the run that wrote it.  The report is built in a temporary sibling
    folder and swapped in only when complete, so an interrupted or failed run leaves the
    previous report intact.  Files and folders get the permissions of the umask.

    Raises
    ------
    ReportPathError
        See :func:`check_report_dir`; nothing is written.
    """
    out = check_report_dir(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True, mode=umask_mode(directory=True))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        os.chmod(tmp, umask_mode(directory=True))
        previous = {}
        if out.is_dir():
            shutil.copytree(out, tmp, symlinks=True, dirs_exist_ok=True)
            previous = _read_previous(out)
        date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        dated = copy.copy(suite)
        dated.machine = {**suite.machine, "date": date}
        figs = {}
        if figures:
            from .figures import make_figures

            figs = make_figures(dated, tmp / "figures")
        for r in suite.results:
            rel = {k: f"figures/{Path(v).name}" for k, v in figs.get(r.claim, {}).items()}
            _write_text(tmp / f"{r.claim.lower()}.md", claim_page(r, dated, rel))
        extras = (
            dict(previous.get("extras", {})) if isinstance(previous.get("extras"), dict) else {}
        )
        for title, (fname, text, *fig_data) in suite.extras.items():
            if figures and fig_data:
                from .figures import make_extra_figures

                for key, path in make_extra_figures(Path(fname).stem, fig_data[0], tmp / "figures"):
                    text += f"\n![{key}](figures/{Path(path).name})\n"
            _write_text(tmp / fname, text)
            extras[title] = fname
        extras = {t: f for t, f in extras.items() if (tmp / f).is_file()}
        merged = _merge(previous, suite, date)
        merged = {c: d for c, d in merged.items() if (tmp / f"{c.lower()}.md").is_file()}
        shown = SimpleNamespace(
            results=[_shown(d, suite) for d in merged.values()],
            seed=suite.seed,
            profile=suite.profile,
            false_alarm=suite.false_alarm,
            machine=dated.machine,
            runtime_s=suite.runtime_s,
            command=suite.command,
        )
        pages = {c: f"{c.lower()}.md" for c in merged}
        links = [f"[{t}]({f})" for t, f in extras.items()]
        index = index_page(shown, pages, links)
        index += _earlier_pages(merged, {r.claim for r in suite.results})
        _write_text(tmp / "index.md", index)
        data = {
            **suite.as_dict(),
            "date": date,
            "extras": extras,
            "results": list(merged.values()),
            "passed": all(d["verdict"] in ("pass", "partial") for d in merged.values()),
        }
        _write_text(tmp / "results.json", json.dumps(data, indent=2, sort_keys=True))
        swap_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _shown(d: dict, suite):
    for r in suite.results:
        if r.claim == d["claim"]:
            return r
    fields = {k: v for k, v in d.items() if k != "provenance"}
    fields.setdefault("negative_control", {})
    for key in ("title", "predicted", "measured", "tolerance"):
        fields.setdefault(key, "")
    return _Stored(**fields)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def swap_folder(tmp: Path, out: Path) -> None:
    """Mark the complete folder ``tmp`` as a report and put it in place of ``out``.

    ``out`` (if any) is moved aside first and removed only after the swap, so that an
    interruption leaves either the old or the new report, never half of one.
    """
    _write_text(tmp / MARKER, "learnwin report folder: learnwin may replace its contents\n")
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary sibling; its folder must exist.

    The file gets the permissions of the umask (``mkstemp`` alone makes 0600).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
