"""The README's quick start and the CI script run the same commands.

CI (``.ci/run``) is meant to be a user copying the README's two quick-start lines into a
fresh environment; this test fails as soon as the two drift apart, so that CI never tests
an environment (a pinned or pre-installed dependency) that the README does not give a user.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_lines(readme: str) -> list[str]:
    """The command lines of the first ``bash`` block under the ``## Quick start`` heading."""
    section = readme.split("## Quick start", 1)
    assert len(section) == 2, "README.md has no '## Quick start' section"
    block = re.search(r"```bash\n(.*?)```", section[1], flags=re.S)
    assert block, "the quick start has no ```bash block"
    return [ln.strip() for ln in block.group(1).splitlines() if ln.strip()]


def ci_commands(script: str) -> list[str]:
    """The commands of ``.ci/run`` after its preamble (shebang, comments, set, cd)."""
    out = []
    for ln in script.splitlines():
        s = ln.strip()
        if not s or s.startswith("#") or s.startswith("set ") or s.startswith("cd "):
            continue
        out.append(s)
    return out


def test_ci_runs_the_readme_quickstart_as_written():
    readme = quickstart_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    ci = ci_commands((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert len(readme) == 2, f"the quick start should be two commands, found {readme}"
    assert ci == readme, f".ci/run runs {ci}, the README's quick start says {readme}"


def test_quickstart_installs_then_runs_the_suite_and_the_tests():
    main_job, tests = quickstart_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    assert main_job.startswith("pip install") and "learnwin verify" in main_job
    assert tests.startswith("pip install") and "pytest" in tests


def test_the_parsers_see_a_divergence():
    readme = "# x\n## Quick start\n\n```bash\npip install -e .\npytest\n```\n"
    ci = (
        '#!/bin/sh\nset -e\ncd "$(dirname "$0")/.."\n'
        "pip install torch==2.13.0\npip install -e .\npytest\n"
    )
    assert ci_commands(ci) != quickstart_lines(readme)
