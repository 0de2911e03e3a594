"""The experiment end to end on its tiny profile: controls, reproducibility, report, CLI."""

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="the training tests need the 'train' extra")

from dataclasses import replace

from verify import recurrences as rec
from verify.cli import main
from verify.training import claims
from verify.training import psi as psi_pipeline
from verify.training.experiment import PROFILES, build_cells
from verify.training.train import TrainConfig, checkpoint_steps, run_cell

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)

SEED = 3


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One tiny run through the command line (seconds once numba's cache is warm)."""
    out = tmp_path_factory.mktemp("experiment")
    rc = main(["experiment", "--tiny", "--seed", str(SEED), "--report", str(out / "report"),
               "--json", str(out / "run.json")])  # fmt: skip
    assert rc in (0, 1)  # 1: some check did not pass -- a finding, not an error
    return out, json.loads((out / "run.json").read_text())


def _cell(run, role):
    return next(c for c in run["cells"] if c["role"] == role)


def test_shuffled_targets_learn_nothing(tiny):
    ratio = np.array(_cell(tiny[1], "control_shuffled")["ratio"])
    assert np.all(ratio < claims.LEARNED), ratio


def test_learned_uses_the_lower_bootstrap_bound(tiny):
    # the reference cell's learned lags are those whose lower bound clears the bar
    cell = _cell(tiny[1], "main")
    lo, ratio = np.array(cell["ratio_lo"]), np.array(cell["ratio"])
    assert np.all(lo <= ratio + 1e-12)


def test_e6_measured_at_the_start_and_the_end():
    cell = build_cells(PROFILES["tiny"], seed=SEED)[0]
    res = run_cell(cell)
    assert set(res.e6) == {"init", "final"}
    k, m, n_lags = res.e6["init"]["g"].shape
    assert (k, m, n_lags) == (1, 64, len(cell.task.lags))
    assert np.all(np.isfinite(res.e6["final"]["log_f"]))


def test_removed_lag_is_never_learned(tiny):
    cell = _cell(tiny[1], "control_removed")
    k = cell["task"]["lags"].index(cell["task"]["removed"][0])
    assert np.all(np.array(cell["ratio"])[:, k] < claims.LEARNED)


def test_the_reference_cell_does_learn(tiny):
    # the controls above are only informative if the same network learns without them
    ratio = np.array(_cell(tiny[1], "main")["ratio"])
    assert ratio[-1].max() >= claims.LEARNED


def test_same_seed_same_numbers(tiny):
    cell = build_cells(PROFILES["tiny"], seed=SEED)[0]
    again = run_cell(cell)
    first = _cell(tiny[1], "main")
    for key in ("ns", "ratio", "ratio_lo", "ratio_hi", "alpha", "sigma", "loss"):
        np.testing.assert_array_equal(np.asarray(first[key]), getattr(again, key), err_msg=key)


def test_report_pages_figures_and_weights(tiny):
    rep = tiny[0] / "report"
    for name in ("index.md", "e1.md", "e2.md", "e3.md", "e4.md", "e5.md", "e6.md", "results.json"):
        assert (rep / name).is_file(), name
    assert (rep / "figures" / "e1_heatmap.png").is_file()
    index = (rep / "index.md").read_text()
    assert "| E1 |" in index and "log C" in index
    assert (
        "not powered to decide" in index and "not powered to decide" in (rep / "e6.md").read_text()
    )
    weights = rep / "weights" / "gru_adamw_0.npz"
    net = rec.GRU.from_npz(weights)
    assert net.hidden == PROFILES["tiny"].train.hidden
    assert main(["window", "--arch", "gru", "--weights", str(weights), "--alpha", "1.8",
                 "--max-lag", "8", "--steps", "24", "--batch", "2"]) == 0  # fmt: skip


def test_verdicts_are_from_the_allowed_set(tiny):
    from verify.claims.base import VERDICTS

    assert [c["claim"] for c in tiny[1]["checks"]] == ["E1", "E2", "E3", "E4", "E5", "E6", "E7"]
    assert {c["verdict"] for c in tiny[1]["checks"]} <= set(VERDICTS)
    e6 = tiny[1]["checks"][5]
    assert e6["params"]["positive_control"]["recovered"]
    assert e6["params"]["positive_control"]["v1_rejected"]
    # E5's null grid: flip on/off x epsilon, observed beside theory.snr's prediction; the
    # flip at a larger epsilon cannot call more null lags detectable
    grid = tiny[1]["checks"][4]["params"]["null_grid"]
    assert [(g["flip"], g["epsilon"]) for g in grid] == [
        (f, e) for f in (True, False) for e in (0.05, 0.1, 0.2)
    ]
    assert all(0 <= g["observed"] <= 1 and 0 <= g["predicted"] <= 1 for g in grid)
    assert grid[0]["observed"] >= grid[1]["observed"] >= grid[2]["observed"]
    # the grid's (flip, 0.1) cell is the check's own author pipeline on the same null psi
    assert grid[1]["observed"] == pytest.approx(tiny[1]["checks"][4]["params"]["author_null_rate"])
    # E7 on the tiny profile's one independent network: measured, but undecided
    e7 = tiny[1]["checks"][6]
    assert e7["params"]["trained"]["n"] == 1 and e7["verdict"] == "inconclusive"
    assert {r["checkpoint"] for r in e7["rows"]} == {"init", "final"}
    # every E check states its resolution
    assert all(c["resolution"] for c in tiny[1]["checks"] if c["claim"] in ("E1", "E2", "E6", "E7"))


def test_sign_flip_makes_zero_mean_lags_detectable():
    # the author's pipeline on pure noise: every lag "detectable"; without the flip and with
    # the two-sided test the false detections stay near the nominal rate
    psi = np.random.default_rng(0).standard_normal((256, 41))
    flipped = psi_pipeline.author_pipeline(psi, 2.0)
    assert np.all(flipped <= 1e4)
    det = psi_pipeline.corrected_test(psi)
    # 41 lags at 5 %: more than 8 false detections has probability < 1e-3
    assert det.sum() <= 8


def test_corrected_test_detects_a_real_mean():
    psi = np.random.default_rng(1).standard_normal((256, 5)) + np.array([0, 0, 0.5, 0, 1.0])
    det = psi_pipeline.corrected_test(psi)
    assert det[2] and det[4]


def test_checkpoint_grid_is_geometric_and_ends_at_n_max():
    steps = checkpoint_steps(64, 4096, 16, 2**0.5)
    assert steps[0] == 4 and steps[-1] == 256
    assert all(b > a for a, b in zip(steps, steps[1:], strict=False))
    assert max(b / a for a, b in zip(steps, steps[1:], strict=False)) <= 1.5


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"arch": "rnn"}, "arch"), ({"optimizer": "adam"}, "optimizer"), ({"batch": 1}, "batch"),
     ({"clip": -1.0}, "clip"), ({"spectrum": ("flat", ())}, "spectrum")],
)  # fmt: skip
def test_bad_training_config_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**kwargs)


def test_cli_refuses_cuda_without_a_gpu(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    assert main(["experiment", "--tiny", "--device", "cuda", "--no-report"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_cli_refuses_a_negative_seed(capsys):
    assert main(["experiment", "--tiny", "--seed", "-1", "--no-report"]) == 2
    assert "--seed must be >= 0" in capsys.readouterr().err


def test_removed_block_is_probed_where_it_has_room():
    # quick: planted 2, 3, 4, 6, 8, 12, 16, 24, ...; removing 8, 12, 16 leaves 12 with
    # removed lags on both sides, six lags from the nearest kept one
    assert PROFILES["quick"].probe == 12
    assert PROFILES["full"].probe == 96
    with pytest.raises(ValueError, match="removed"):
        build_cells(replace(PROFILES["tiny"], removed=(1, 2, 4)))
