"""Atomic report writing: build the whole report in a temporary folder, then swap it in."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .render import claim_page, index_page

__all__ = ["write_report"]


def write_report(suite, out_dir, *, figures: bool = True) -> Path:
    """Write ``index.md``, one page per claim and the figures to ``out_dir``.

    ``suite.extras`` maps a title to ``(file name, markdown)`` or ``(file name, markdown,
    figure data)``; figure data (key -> plain data) is drawn by
    :func:`verify.report.figures.make_extra_figures` and linked at the end of the page.

    Everything is written to a temporary sibling folder first; only when it is complete is
    ``out_dir`` replaced, so an interrupted or failed run leaves the previous report intact.
    """
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        pages = {}
        figs = {}
        if figures:
            from .figures import make_figures

            figs = make_figures(suite, tmp / "figures")
        for r in suite.results:
            name = f"{r.claim.lower()}.md"
            rel = {k: f"figures/{Path(v).name}" for k, v in figs.get(r.claim, {}).items()}
            (tmp / name).write_text(claim_page(r, suite, rel), encoding="utf-8")
            pages[r.claim] = name
        extras = []
        for title, (fname, text, *fig_data) in suite.extras.items():
            if figures and fig_data:
                from .figures import make_extra_figures

                for key, path in make_extra_figures(Path(fname).stem, fig_data[0], tmp / "figures"):
                    text += f"\n![{key}](figures/{Path(path).name})\n"
            (tmp / fname).write_text(text, encoding="utf-8")
            extras.append(f"[{title}]({fname})")
        (tmp / "index.md").write_text(index_page(suite, pages, extras), encoding="utf-8")
        (tmp / "results.json").write_text(_json(suite), encoding="utf-8")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}-old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _json(suite) -> str:
    import json

    return json.dumps(suite.as_dict(), indent=2, sort_keys=True)
