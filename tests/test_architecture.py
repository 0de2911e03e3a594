"""The house rules of ARCHITECTURE.md: no import circle, each room imports only below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for d in ("theory", "verify") for p in (ROOT / d).rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                # ``from pkg import sub`` imports a submodule; otherwise the package
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base
                         for a in node.names]  # fmt: skip
            else:
                continue
            for name in names:
                while name and name not in files:
                    name = name.rpartition(".")[0]
                if name and name != mod:
                    graph[mod].add(name)
    return graph


GRAPH = _graph()


def _imports(prefix: str) -> set[str]:
    return {t for m, ts in GRAPH.items() if m == prefix or m.startswith(prefix + ".") for t in ts}


def test_no_import_circle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(GRAPH[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                pytest.fail("import circle: " + " -> ".join(cycle))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [
        ("theory", ("verify",)),
        (
            "verify.noise",
            (
                "verify.recurrences",
                "verify.detection",
                "verify.claims",
                "verify.report",
                "verify.training",
                "verify.cli",
            ),
        ),  # fmt: skip
        (
            "verify.recurrences",
            ("verify.detection", "verify.claims", "verify.report", "verify.training", "verify.cli"),
        ),  # fmt: skip
        (
            "verify.gpu",
            (
                "verify.noise.stable",
                "verify.recurrences.transport",
                "verify.claims",
                "verify.report",
                "verify.cli",
            ),
        ),  # fmt: skip
        ("verify.detection", ("verify.claims", "verify.report", "verify.cli")),
        ("verify.claims", ("verify.report", "verify.cli")),
    ],
)
def test_room_imports_only_below(room, forbidden):
    bad = sorted(
        t for t in _imports(room) if any(t == f or t.startswith(f + ".") for f in forbidden)
    )
    assert not bad, f"{room} imports {bad}"


def test_kernels_never_import_their_face():
    assert "verify.noise.stable" not in GRAPH["verify.noise.cms"]
    assert "verify.noise.stable" not in GRAPH["verify.gpu.noise"]


def test_torch_only_under_training():
    for mod, path in (
        (_module(p), p) for d in ("theory", "verify") for p in (ROOT / d).rglob("*.py")
    ):
        if mod.startswith("verify.training"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            assert not any(n == "torch" or n.startswith("torch.") for n in names), mod


def test_graph_sees_real_edges():
    # the checker itself must be able to fail: it sees the known downward edges
    assert "verify.noise.cms" in GRAPH["verify.gpu.noise"]
    assert "verify.noise.stable" in GRAPH["verify.detection.power"]
    assert "verify.recurrences.cells" in GRAPH["verify.recurrences.gru"]


def test_only_the_command_line_imports_the_selftest():
    users = {m for m, ts in GRAPH.items() if any(t.startswith("verify.selftest") for t in ts)}
    assert {u for u in users if not u.startswith("verify.selftest")} <= {"verify.cli"}


def test_only_the_command_line_imports_the_command_handlers():
    users = {m for m, ts in GRAPH.items() if any(t.startswith("verify.commands") for t in ts)}
    assert {u for u in users if not u.startswith("verify.commands")} == {"verify.cli"}
