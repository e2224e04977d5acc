"""Feature inversion: regularisers by hand, known-answer inversions, clean-up, refusals."""
import math

import numpy as np
import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib import inversion as inv
from convvis_lib.hooks import count_hooks, layer_function


# ---- regularisers and scores, by hand ---------------------------------------------------------

def test_alpha_norm_by_hand():
    x = torch.tensor([[1.0, -2.0, 0.5]])
    assert inv.alpha_norm(x, 2).item() == pytest.approx(1 + 4 + 0.25)
    assert inv.alpha_norm(x, 6).item() == pytest.approx(1 + 64 + 0.5 ** 6)
    assert inv.alpha_norm(torch.stack([x[0], 2 * x[0]]), 2).tolist() == pytest.approx([5.25, 21.0])


def test_total_variation_by_hand():
    # 3x3 ramp 0..8: 6 right steps of +1, 6 down steps of +3 (a difference past the border is 0)
    x = torch.arange(9.0).view(1, 1, 3, 3)
    assert inv.total_variation(x, beta=2).item() == pytest.approx(6 * 1 + 6 * 9)
    # beta=1: four inner pixels sqrt(1+9), bottom row (dx only) 1+1, right column (dy only) 3+3
    assert inv.total_variation(x, beta=1).item() == pytest.approx(4 * math.sqrt(10) + 2 + 6)
    # [[0, 1], [2, 4]]: (0,0): dx 1, dy 2 | (0,1): dy 3 | (1,0): dx 2 | (1,1): nothing
    y = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    assert inv.total_variation(y, beta=2).item() == pytest.approx(5 + 9 + 4)
    assert inv.total_variation(y, beta=1).item() == pytest.approx(math.sqrt(5) + 3 + 2)
    # channels add up; a constant image has none
    two = torch.cat([x, 2 * x], 1)
    assert inv.total_variation(two, beta=2).item() == pytest.approx(60 + 4 * 60)
    assert inv.total_variation(torch.full((2, 3, 5, 5), 0.7)).tolist() == [0.0, 0.0]


def test_relative_error_by_hand():
    code, target = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    assert inv.relative_error(code, target).tolist() == pytest.approx([4.0, 0.0])


def test_pixel_range(fashion):
    _, info = fashion
    assert inv.pixel_range(info) == pytest.approx((1 - 0.2860) / 0.3530)
    _, imagenet = cv.load_model("resnet18", pretrained=False)
    assert inv.pixel_range(imagenet) == pytest.approx((1 - 0.406) / 0.225)  # blue channel, white pixel


def test_scores_known_answers(fashion):
    _, info = fashion
    img = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    mean, std = info.mean[0], info.std[0]
    x = (img - mean) / std
    same = inv.reconstruction_scores(info, x, x)
    assert same["corr"] == pytest.approx([1, 1]) and same["mse"] == pytest.approx([0, 0], abs=1e-12)
    flipped = inv.reconstruction_scores(info, x, ((1 - img) - mean) / std)
    assert flipped["corr"] == pytest.approx([-1, -1], abs=1e-5)
    flat = inv.reconstruction_scores(info, x, torch.full_like(x, (0.5 - mean) / std))
    assert flat["corr"] == pytest.approx([0, 0])
    assert flat["mse"] == pytest.approx(((img - 0.5) ** 2).flatten(1).mean(1).numpy(), rel=1e-4)


# ---- the optimiser on problems with a known answer ---------------------------------------------

def test_identity_features_converge_to_target():
    target = torch.randn(1, 1, 4, 5, generator=torch.Generator().manual_seed(2))
    res = inv.invert_code(lambda x: x, target, target.shape, steps=300, lr=0.1)
    assert res.feature_error.item() < 1e-6
    assert torch.allclose(res.images, target, atol=1e-3)
    assert res.history[-1] < 1e-3 * res.history[0]


def test_linear_map_is_inverted():
    g = torch.Generator().manual_seed(3)
    a = torch.eye(20) + 0.3 * torch.randn(20, 20, generator=g) / math.sqrt(20)  # well conditioned
    x_true = torch.randn(2, 1, 4, 5, generator=g)

    def features(x):
        return x.flatten(1) @ a.T

    res = inv.invert_code(features, features(x_true), x_true.shape, steps=400, lr=0.1)
    assert torch.allclose(res.images, x_true, atol=1e-2)


def test_tv_makes_an_underdetermined_inversion_flat():
    # The code is only the mean pixel: any image with that mean fits. TV picks the flat one.
    target = torch.tensor([[0.3], [0.3]])
    res = inv.invert_code(lambda x: x.mean((1, 2, 3))[:, None], target, (2, 1, 6, 6), steps=300, lr=0.05,
                          lambda_tv=[0.0, 1.0], init_std=0.5)
    noisy, flat = res.images
    assert flat.std().item() < 0.02 and flat.mean().item() == pytest.approx(0.3, abs=0.02)
    assert noisy.std().item() > 0.3               # without TV nothing removes the initial noise
    assert noisy.mean().item() == pytest.approx(0.3, abs=0.01)


def test_alpha_norm_shrinks_unconstrained_pixels():
    # Only pixel (0, 0) is in the code. With alpha=2, B=1 and D=9 pixels the objective for it is
    # (x - 1.5)² / 1.5² + x² / 9, smallest at x = 1.2; the alpha norm pulls the other pixels to 0.
    target = torch.tensor([[1.5]])
    res = inv.invert_code(lambda x: x[:, 0, 0, :1], target, (1, 1, 3, 3), steps=300, lr=0.05,
                          lambda_alpha=1.0, alpha=2.0, init_std=0.5)
    img = res.images[0, 0]
    assert img[0, 0].item() == pytest.approx(1.2, abs=1e-3)
    assert img.flatten()[1:].abs().max().item() < 0.02


def test_per_image_lambdas_are_independent():
    # a batch with lambda_tv = [0, 1] gives what two separate runs from the same start give
    features = lambda x: x.mean((1, 2, 3))[:, None]  # noqa: E731
    target = torch.tensor([[0.3], [0.3]])
    start = torch.randn((2, 1, 5, 5), generator=torch.Generator().manual_seed(4))
    both = inv.invert_code(features, target, (2, 1, 5, 5), steps=50, lambda_tv=[0.0, 1.0], init=start)
    for i, lam in enumerate([0.0, 1.0]):
        alone = inv.invert_code(features, target[i:i + 1], (1, 1, 5, 5), steps=50, lambda_tv=lam,
                                init=start[i:i + 1])
        assert torch.allclose(both.images[i], alone.images[0], atol=1e-5)
    assert inv.total_variation(both.images)[1] < 0.1 * inv.total_variation(both.images)[0]


# ---- on a real model -------------------------------------------------------------------------

def test_invert_fashionnet_conv1_reconstructs(fashion, sample):
    model, info = fashion
    x0 = cv.preprocess(info, sample.images[:2])
    model.train()
    try:
        res = inv.invert(model, info, x0, "conv1", steps=60, lr=0.1, lambda_alpha=1.0)
        assert model.training and model.drop1.training           # mode restored
    finally:
        model.eval()
    assert count_hooks(model) == 0
    assert all(p.grad is None for p in model.parameters())
    assert res.images.shape == x0.shape
    assert (res.feature_error < 0.05).all()
    assert (inv.reconstruction_scores(info, x0, res.images)["corr"] > 0.99).all()
    first, again = (inv.invert(model, info, x0, "conv1", steps=5, seed=7).images for _ in range(2))
    assert torch.equal(first, again)                             # seeded


def test_a_batch_solves_each_image_on_its_own(fashion, sample):
    """The objective is a sum of per-image terms and Adam updates each value on its own, so inverting a batch
    (with per-image lambdas) gives what inverting each image alone gives from the same start."""
    model, info = fashion
    x0 = cv.preprocess(info, sample.images[:2])
    start = torch.randn(x0.shape, generator=torch.Generator().manual_seed(5)) * 0.1
    both = inv.invert(model, info, x0, "conv2", steps=30, lambda_alpha=[0.0, 1.0], lambda_tv=[0.0, 0.5], init=start)
    for i, (lam_a, lam_tv) in enumerate([(0.0, 0.0), (1.0, 0.5)]):
        alone = inv.invert(model, info, x0[i:i + 1], "conv2", steps=30, lambda_alpha=lam_a, lambda_tv=lam_tv,
                           init=start[i:i + 1])
        assert torch.allclose(both.images[i], alone.images[0], atol=1e-4)
        assert both.feature_error[i].item() == pytest.approx(alone.feature_error[0].item(), rel=1e-3, abs=1e-6)
    smooth, plain = both.images[1:], both.images[:1]
    assert inv.total_variation(smooth) < inv.total_variation(plain)
    assert count_hooks(model) == 0


def test_layer_function_stops_early_and_cleans_up(fashion):
    model, info = fashion
    model.train()
    try:
        with pytest.raises(RuntimeError, match="boom"):
            with layer_function(model, info, "conv2") as f:
                out = f(torch.zeros(1, 1, 40, 52))                 # not 28x28: fc1 never runs
                assert out.shape == (1, 64, 20, 26)
                assert not model.training
                raise RuntimeError("boom")
        assert model.training and count_hooks(model) == 0
    finally:
        model.eval()


def test_hooks_removed_when_the_loop_fails(fashion, sample, monkeypatch):
    model, info = fashion
    x0 = cv.preprocess(info, sample.images[:1])

    def boom(*_args, **_kwargs):
        raise RuntimeError("regulariser failed")

    monkeypatch.setattr(inv, "total_variation", boom)
    with pytest.raises(RuntimeError, match="regulariser failed"):
        inv.invert(model, info, x0, "conv3", steps=5)
    assert count_hooks(model) == 0 and not model.training


def test_imagenet_path_with_random_weights():
    model, info = cv.load_model("resnet18", pretrained=False)
    x0 = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(5))
    res = inv.invert(model, info, x0, "layer1", steps=2, lambda_alpha=1.0, lambda_tv=0.05)
    assert res.images.shape == x0.shape and torch.isfinite(res.images).all()
    assert res.history.shape == (2,) and res.history[1] < res.history[0]
    assert count_hooks(model) == 0


# ---- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    ({"steps": 0}, "steps must be a positive integer; got 0"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"lambda_tv": [0.1, 0.2, 0.3]}, r"lambda_tv must be one number or one per image \(2\); got 3"),
    ({"lambda_alpha": -1.0}, "lambda_alpha must be finite and >= 0"),
    ({"init": torch.zeros(1, 1, 28, 28)}, r"init has shape \(1, 1, 28, 28\); expected \(2, 1, 28, 28\)"),
])
def test_bad_settings(fashion, sample, kwargs, match):
    model, info = fashion
    x0 = cv.preprocess(info, sample.images[:2])
    with pytest.raises(cv.ConvVisError, match=match):
        inv.invert(model, info, x0, "conv1", **kwargs)
    assert count_hooks(model) == 0


def test_bad_layer_and_input(fashion, sample):
    model, info = fashion
    x0 = cv.preprocess(info, sample.images[:1])
    with pytest.raises(cv.ConvVisError, match=r"unknown layer 'conv9'; allowed: 'conv1', 'pool1'"):
        inv.invert(model, info, x0, "conv9")
    with pytest.raises(cv.ConvVisError, match="expects 28x28"):
        inv.invert(model, info, torch.zeros(1, 1, 20, 20), "conv1")
    with pytest.raises(cv.ConvVisError, match="beta must be positive"):
        inv.total_variation(x0, beta=0)
    with pytest.raises(cv.ConvVisError, match=r"lambda_tv must be one number or one per image \(1\); got 2"):
        inv.invert(model, info, x0, "conv1", lambda_tv=[0.1, 0.2])
    with pytest.raises(cv.ConvVisError, match="differ in shape"):
        inv.reconstruction_scores(info, x0, x0[:, :, :10])


def test_invert_runs_small_cpu_work_on_one_thread(fashion, sample, monkeypatch):
    model, info = fashion
    seen = []
    real = inv.invert_code

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(inv, "invert_code", spy)
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        inv.invert(model, info, cv.preprocess(info, sample.images[:1]), "conv1", steps=1)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)


def test_efficientnet_lite0_stages_invert_and_clean_up():
    """Lite0 (ReLU6, depthwise convs, explicit padding modules) at a size other than 224: the objective falls."""
    model, info = cv.load_model("efficientnet_lite0")
    x0 = cv.preprocess(info, [cv.examples_for(info).images[0]])
    x0 = torch.nn.functional.interpolate(x0, size=(64, 64), mode="bilinear", antialias=True)
    res = inv.invert(model, info, x0, "stem", steps=30, lr=0.1, lambda_alpha=1.0, lambda_tv=0.03)
    assert res.images.shape == x0.shape and torch.isfinite(res.images).all()
    assert res.history[-1] < 0.5 * res.history[0]
    assert inv.reconstruction_scores(info, x0, res.images)["corr"][0] > 0.5
    assert count_hooks(model) == 0 and all(p.grad is None for p in model.parameters())
    deep = inv.invert(model, info, x0, "block4", steps=3)           # 4x4 map at 64x64: runs, stays finite
    assert torch.isfinite(deep.feature_error).all() and count_hooks(model) == 0
