"""The executor: same results serially and on a cluster, faults, flags, progress, layering."""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import _parallel_cells as pc
import pytest

from verify import parallel
from verify.claims import run_suite

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "verify" / "parallel"


def _results(suite):
    """The suite's results as JSON text, runtimes aside."""
    out = []
    for r in suite.results:
        d = r.as_dict()
        d.pop("runtime_s")
        out.append(d)
    return json.dumps(out, sort_keys=True)


# ----------------------------------------------------------------------------- serial
def test_serial_map_in_order_with_progress():
    events = []
    ex = parallel.Serial(progress=events.append)
    with parallel.using(ex):
        assert parallel.map_cells(abs, [-3, 1, -2], label="T") == [3, 1, 2]
    assert [(p.label, p.done, p.total) for p in events] == [("T", i, 3) for i in range(4)]
    assert events[0].remaining_s is None and events[-1].remaining_s == 0
    assert [t.cells for t in ex.timings] == [1, 1, 1]


def test_using_sets_and_restores_the_executor():
    outer, inner = parallel.Serial(), parallel.Serial()
    assert parallel.current().name == "serial"
    with parallel.using(outer):
        with parallel.using(None) as same:
            assert same is outer
        with parallel.using(inner):
            assert parallel.current() is inner
        assert parallel.current() is outer
    assert parallel.current() not in (outer, inner)


def test_unknown_executor_refused():
    with pytest.raises(parallel.ExecutorError, match="distributed.Client"):
        with parallel.using("tcp://127.0.0.1:8786"):
            pass


def test_progress_estimate_and_stderr_lines():
    p = parallel.Progress("C3", 5, 20, 10.0)
    assert p.remaining_s == pytest.approx(30.0)
    buf = io.StringIO()
    show = parallel.stderr_progress(buf, every_s=3600)
    for done in range(4):
        show(parallel.Progress("C3", done, 3, 2.0 * done))
    lines = buf.getvalue().splitlines()  # first and last only: the middle ones are throttled
    assert lines == [
        "  C3: 0/3 cells, 0:00 elapsed",
        "  C3: 3/3 cells, 0:06 elapsed, ~0:00 remaining",
    ]


def test_grouping_rule():
    ex = parallel.DaskExecutor(None)  # the rule needs no cluster
    assert ex._group(100, None, 2) == 1  # nothing measured yet: one cell per task
    assert ex._group(100, 5.0, 2) == 1  # long cells travel alone
    assert ex._group(100, 0.01, 2) == 25  # short ones grouped, >= 2 tasks per worker left
    assert ex._group(1000, 0.01, 2) == 100  # ... to about task_s = 1 s per task
    assert parallel.DaskExecutor(None, chunksize=7)._group(100, 5.0, 2) == 7
    for bad in ({"chunksize": 0}, {"task_s": 0.0}, {"threads_per_cell": 0}):
        with pytest.raises(parallel.ExecutorError, match=next(iter(bad))):
            parallel.DaskExecutor(None, **bad)


# ----------------------------------------------------------------------------- flags
def _parser():
    p = argparse.ArgumentParser()
    parallel.add_arguments(p)
    return p


def test_flags_parse_and_exclude_each_other(capsys):
    a = _parser().parse_args(["--workers", "3"])
    assert (a.workers, a.scheduler, a.scheduler_file) == (3, None, None)
    assert _parser().parse_args(["--scheduler", "tcp://h:8786"]).scheduler == "tcp://h:8786"
    for argv in (
        ["--workers", "0"],
        ["--workers", "two"],
        ["--workers", "2", "--scheduler", "tcp://h:8786"],
    ):
        with pytest.raises(SystemExit):
            _parser().parse_args(argv)
    assert "--workers" in capsys.readouterr().err


def test_no_flags_is_serial():
    with parallel.from_args(_parser().parse_args([])) as ex:
        assert isinstance(ex, parallel.Serial) and parallel.current() is ex


def test_bad_executor_requests_are_refused_clearly(tmp_path):
    with pytest.raises(parallel.ExecutorError, match="workers must be an integer >= 1"):
        parallel.local(0)
    with pytest.raises(parallel.ExecutorError, match="exactly one"):
        parallel.connect()
    with pytest.raises(parallel.ExecutorError, match="does not exist"):
        parallel.connect(scheduler_file=tmp_path / "missing.json")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_exits_2_with_a_message(capsys):
    pytest.importorskip("distributed", reason="needs the 'dist' extra")
    from verify.cli import main

    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    argv = ["verify", "--claims", "C1", "--no-report", "--scheduler", address]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}" in err
    assert f"within {parallel.CONNECT_TIMEOUT_S:g} s" in err
    assert parallel.CONNECT_TIMEOUT_S <= 15


@pytest.mark.parametrize("address", ["nonsense", "tcp://host:port", "foo://h:1"])
def test_a_malformed_scheduler_address_is_refused_before_a_client_exists(address):
    pytest.importorskip("distributed", reason="needs the 'dist' extra")
    with pytest.raises(parallel.ExecutorError, match="not a Dask scheduler address"):
        parallel.connect(address)


def test_a_scheduler_file_without_an_address_is_refused(tmp_path):
    pytest.importorskip("distributed", reason="needs the 'dist' extra")
    (tmp_path / "s.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "t.json").write_text('{"address": "nonsense"}', encoding="utf-8")
    with pytest.raises(parallel.ExecutorError, match="not a Dask scheduler file"):
        parallel.connect(scheduler_file=tmp_path / "s.json")
    with pytest.raises(parallel.ExecutorError, match="not a Dask scheduler address"):
        parallel.connect(scheduler_file=tmp_path / "t.json")


def test_a_malformed_scheduler_exits_2_at_once_and_cleanly(tmp_path):
    """No half-made client whose collection blocks for 20 s and prints a traceback."""
    pytest.importorskip("distributed", reason="needs the 'dist' extra")
    import subprocess
    import sys
    import time

    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "verify", "verify", "--scheduler", "nonsense", "--no-report"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    assert "not a Dask scheduler address: 'nonsense'" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert elapsed < 18.0, elapsed  # the old teardown alone waited 20 s


def test_the_executor_imports_only_the_device_module():
    # besides its own modules: the device and the shared argument types (both leaves)
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        above = {n.module or "" for n in imports if n.level > 1}
        above |= {n.module.removeprefix("verify.") for n in imports
                  if not n.level and n.module.split(".")[0] == "verify"}  # fmt: skip
        assert above <= {"device", "_argtypes"}, (path.name, above)


def test_dask_is_imported_only_by_the_executor():
    for path in [*(ROOT / "verify").rglob("*.py"), *(ROOT / "theory").rglob("*.py")]:
        if path.is_relative_to(PACKAGE):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            bad = [n for n in names if n.split(".")[0] in ("dask", "distributed")]
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
    code = (
        "import sys, verify.claims, verify.cli, verify.parallel; "
        "sys.exit('distributed' in sys.modules or 'dask' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=300).returncode == 0


# ----------------------------------------------------------------------------- a cluster
@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed", reason="the cluster tests need the 'dist' extra")
    with parallel.local(2) as ex:
        yield ex


@pytest.fixture
def synthetic_claim():
    yield pc.register(n_cells=8)
    pc.unregister()


def test_workers_run_cells_on_one_numba_thread(cluster):
    states = cluster.map(pc.worker_state, range(4))
    assert {(s["env"], s["threads"]) for s in states} == {("1", 1)}


def test_claim_json_identical_serial_and_on_two_workers(cluster, synthetic_claim):
    serial = run_suite([synthetic_claim], "quick", seed=11)
    on_cluster = run_suite([synthetic_claim], "quick", seed=11, client=cluster)
    on_client = run_suite([synthetic_claim], "quick", seed=11, client=cluster.client)
    assert serial.machine["executor"] == "serial"
    assert on_cluster.machine["executor"].startswith("dask (2 worker threads")
    assert {len(t) for t in (serial.results, on_cluster.results)} == {1}
    assert _results(on_cluster) == _results(serial)
    assert _results(on_client) == _results(serial)
    assert serial.results[0].rows[0]["seed"] != serial.results[0].rows[1]["seed"]


def _claims_with_cells():
    """The registered claims whose module maps cells through ``map_cells``."""
    import inspect

    from verify.claims import CLAIMS, available, networks, noise, window

    out = []
    for cid in available():
        run = CLAIMS[cid][1]
        for module in (networks, noise, window):
            if getattr(module, run.__name__, None) is run and "map_cells(" in inspect.getsource(
                module
            ):
                out.append(cid)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("cid", _claims_with_cells())
def test_real_claim_json_identical_on_two_workers(cluster, cid):
    serial = run_suite([cid], "quick", seed=5)
    assert _results(run_suite([cid], "quick", seed=5, client=cluster)) == _results(serial)


def test_short_cells_grouped_and_returned_in_order(cluster):
    cells = pc.cells(5, 120, size=64)
    before = len(cluster.timings)
    got = cluster.map(pc.draw_cell, cells, "tiny")
    tasks = cluster.timings[before:]
    assert got == [pc.draw_cell(c) for c in cells]
    assert sum(t.cells for t in tasks) == len(cells)
    assert len(tasks) < len(cells)  # microsecond cells travel in groups


def test_a_failing_cell_raises_its_own_exception(cluster):
    with pytest.raises(ArithmeticError, match="cell 3 cannot be computed"):
        cluster.map(pc.failing_cell, range(8))
    assert cluster.map(pc.failing_cell, [0, 1, 2]) == [0, 1, 2]  # the cluster is still usable


def test_a_killed_worker_changes_nothing(cluster):
    cells = pc.cells(23, 16, size=20_000, pause=0.3)
    killed = []

    def kill_one_busy_worker(p):
        if killed or p.done < 2:
            return
        pids = cluster.client.run(os.getpid)
        busy = [w for w, keys in cluster.client.processing().items() if keys] or list(pids)
        killed.append(pids[busy[0]])
        os.kill(killed[0], signal.SIGKILL)

    cluster.progress = kill_one_busy_worker
    try:
        got = cluster.map(pc.draw_cell, cells, "kill")
    finally:
        cluster.progress = None
    assert killed, "no worker was killed: the test did not test anything"
    assert got == [pc.draw_cell(c) for c in cells]
    cluster.client.wait_for_workers(2, timeout=120)  # the nanny restarted it
    assert killed[0] not in cluster.client.run(os.getpid).values()


# ----------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_leaves_no_report_and_no_worker_processes(tmp_path):
    pytest.importorskip("distributed", reason="needs the 'dist' extra")
    psutil = pytest.importorskip("psutil")
    report = tmp_path / "report"
    env = {
        **os.environ,
        "XP_CELLS": "40",
        "XP_PAUSE": "0.5",
        "XP_SIZE": "0",  # cells that only wait: nothing to compile in the workers
    }
    cmd = [
        sys.executable,
        str(ROOT / "tests" / "_parallel_cells.py"),
        "verify",
        "--claims",
        pc.CLAIM_ID,
        "--workers",
        "2",
        "--report",
        str(report),
    ]
    with subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True) as proc:
        try:
            children = []
            for line in proc.stderr:  # wait until cells are running on the workers
                if line.startswith(f"  {pc.CLAIM_ID}: ") and f": 0/{40}" not in line:
                    children = psutil.Process(proc.pid).children(recursive=True)
                    break
            assert len(children) >= 2, "no worker processes were found to watch"
            proc.send_signal(signal.SIGINT)
            rest = proc.stderr.read()
            assert proc.wait(timeout=120) == 130, rest
        finally:
            if proc.poll() is None:
                proc.kill()
    assert "interrupted; nothing was written" in rest
    assert not report.exists() or not any(report.iterdir())
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"stray processes after Ctrl-C: {alive}"


def test_without_dask_a_cluster_request_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(parallel.ExecutorError, match="'dist' extra"):
        parallel.local(2)
    with parallel.using(None):  # the serial default does not need it
        assert parallel.map_cells(abs, [-1]) == [1]
