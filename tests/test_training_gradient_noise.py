"""E3's manipulation: SaS noise of a set tail index added to the gradient, and its check."""

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from verify import recurrences as rec  # noqa: E402
from verify.training import diagnostics as dg  # noqa: E402
from verify.training.models import Model  # noqa: E402
from verify.training.task import TaskConfig, make_batch  # noqa: E402
from verify.training.train import TrainConfig  # noqa: E402

TASK = TaskConfig(inputs=2, steps=24, lags=(1, 2, 4), coefs=(0.6,) * 3, seed=3)


def _model_with_gradient(seed=0):
    model = Model("gru", 8, 2, rec.Chrono(t_max=8.0), seed=seed, dtype=torch.float64)
    b = make_batch(TASK, 16, "train", 0)
    loss = torch.mean((model(torch.as_tensor(b.x)) - torch.as_tensor(b.y)) ** 2)
    loss.backward()
    return model


@pytest.mark.parametrize("alpha", [2.0, 1.6, 1.3])
def test_added_noise_has_the_set_interquartile_range(alpha):
    # IQR matching: every alpha's noise has the IQR of N(0, s^2), s = scale * gradient RMS
    model = _model_with_gradient()
    cfg = TrainConfig(arch="gru", hidden=8, grad_noise_alpha=alpha, grad_noise_scale=0.5)
    noise = dg.GradientNoise.matched(model, cfg, seed=1)
    g = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    s = 0.5 * float(torch.sqrt(torch.mean(g * g)))
    x = noise.draw(200_000, 0)
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    # the sample IQR's relative standard error at n = 2e5 is below 0.5 %: 2 % is > 4 SE
    assert iqr == pytest.approx(2 * 0.6744897501960817 * s, rel=0.02)
    # and the tails differ: the heavier noise has far more mass beyond 10 s
    beyond = np.mean(np.abs(x) > 10 * s)
    assert (beyond < 1e-4) if alpha == 2.0 else (beyond > 1e-3)


def test_noise_is_added_in_place_and_reproducibly():
    model = _model_with_gradient()
    cfg = TrainConfig(arch="gru", hidden=8, grad_noise_alpha=1.5)
    noise = dg.GradientNoise.matched(model, cfg, seed=2)
    before = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).clone()
    noise.add_to(model, step=7)
    after = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    want = before.numpy() + noise.draw(before.numel(), 7)
    np.testing.assert_array_equal(after.numpy(), want)
    assert not np.array_equal(noise.draw(10, 7), noise.draw(10, 8))  # one stream per step


def test_update_check_separates_the_tail_indices():
    # the manipulation check recovers the order of the set tail indices from >= 1000 samples
    cfg = TrainConfig(arch="gru", hidden=8, batch=16, clip=None, n_boot=50,
                      update_batches=64, update_directions=16)  # fmt: skip
    out = {}
    for alpha in (2.0, 1.3):
        model = _model_with_gradient()
        c = replace(cfg, grad_noise_alpha=alpha)
        noise = dg.GradientNoise.matched(model, c, seed=3)
        out[alpha] = dg.update_noise(model, TASK, c, noise, seed=4)
    assert out[2.0]["samples"] == 1024
    assert out[1.3]["alpha_hi"] < out[2.0]["alpha_lo"]
    # it reads the set index, diluted towards 2 by the mini-batch noise it rides on
    assert 1.2 < out[1.3]["alpha"] < 1.5 and out[2.0]["alpha_hi"] > 1.9


@pytest.mark.parametrize("alpha", [1.0, 0.7])
def test_alpha_without_a_mean_is_refused(alpha):
    with pytest.raises(ValueError, match=r"grad_noise_alpha must be in \(1, 2\].*no mean"):
        TrainConfig(grad_noise_alpha=alpha)


def test_bad_noise_settings_are_named():
    with pytest.raises(ValueError, match="grad_noise_alpha"):
        TrainConfig(grad_noise_alpha=2.5)
    with pytest.raises(ValueError, match="grad_noise_scale"):
        TrainConfig(grad_noise_scale=0.0)
    with pytest.raises(ValueError, match="update_batches"):
        TrainConfig(update_batches=2)
