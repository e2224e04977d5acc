"""Deletion / insertion curves and AUC: hand-computed cases on a model whose score is the pixel sum."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib.errors import ConvVisError
from convvis_lib.faithfulness import (auc, baseline_image, blurred, deletion_curve, deletion_insertion_auc,
                                      insertion_curve, perturbation_curve, pixel_counts, pixel_ranks)
from convvis_lib.hooks import count_hooks


class SumNet(nn.Module):
    """One logit: the sum of all input values."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=(1, 2, 3))[:, None]


X = torch.tensor([[[[4.0, 3.0], [2.0, 1.0]]]])  # (1, 1, 2, 2)


@pytest.fixture(scope="module")
def fashion():
    model, info = cv.load_model("fashionnet")
    ex = cv.examples_for(info)
    idx = [ex.of_class(c)[0] for c in (0, 1, 7)]
    x = cv.preprocess(info, np.stack([ex.images[i] for i in idx]))
    return model, info, x, torch.tensor(ex.labels[idx])


def test_deletion_follows_hand_computed_sum():
    f, s = deletion_curve(SumNet(), None, X, X[:, 0], target=0, steps=4, score="logit")
    np.testing.assert_allclose(f, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(s[0], [10, 6, 3, 1, 0])          # 4, then 3, then 2, then 1 removed
    np.testing.assert_allclose(auc(f, s), [0.25 * (10 / 2 + 6 + 3 + 1 + 0 / 2)])  # = 3.75


def test_insertion_from_zero_and_coarser_steps():
    f, s = insertion_curve(SumNet(), None, X, X[:, 0], target=0, steps=4, score="logit", baseline="zero")
    np.testing.assert_allclose(s[0], [0, 4, 7, 9, 10])
    assert auc(f, s)[0] == pytest.approx(6.25)
    f, s = deletion_curve(SumNet(), None, X, X[:, 0], target=0, steps=3, score="logit")  # ceil(4/3) = 2 px/step
    np.testing.assert_allclose(f, [0, 0.5, 1.0])
    np.testing.assert_allclose(s[0], [10, 3, 0])
    assert auc(f, s)[0] == pytest.approx(0.5 * 6.5 + 0.5 * 1.5)


def test_reversed_map_is_worse_and_baseline_value():
    good = deletion_insertion_auc(SumNet(), None, X, X[:, 0], target=0, steps=4, score="logit")
    bad = deletion_insertion_auc(SumNet(), None, X, -X[:, 0], target=0, steps=4, score="logit")
    assert good["deletion"][0] == pytest.approx(3.75) and bad["deletion"][0] == pytest.approx(6.25)
    f, s = deletion_curve(SumNet(), None, X, X[:, 0], target=0, steps=4, score="logit", baseline=1.0)
    np.testing.assert_allclose(s[0], [10, 7, 5, 4, 4])


def test_ties_are_broken_in_raster_order():
    ranks = pixel_ranks(torch.tensor([[[1.0, 1.0], [2.0, 1.0]]]))
    assert ranks.tolist() == [[[1, 2], [0, 3]]]


def test_pixel_counts():
    counts = pixel_counts(784, 49)
    assert counts[1].item() == 16 and counts[-1].item() == 784 and len(counts) == 50
    assert pixel_counts(10, 3).tolist() == [0, 4, 8, 10]
    with pytest.raises(ConvVisError, match="steps 0"):
        pixel_counts(784, 0)


def test_blur_keeps_constants_and_smooths():
    const = torch.full((1, 3, 20, 20), 0.7)
    assert torch.allclose(blurred(const), const, atol=1e-6)
    spike = torch.zeros(1, 1, 28, 28)
    spike[0, 0, 14, 14] = 1.0
    b = blurred(spike)
    assert b.max() < 0.05 and b.sum().item() == pytest.approx(1.0, abs=1e-4)


def test_fashionnet_curve_end_points(fashion):
    model, info, x, y = fashion
    maps = torch.rand(len(x), 28, 28, generator=torch.Generator().manual_seed(0))
    hooks = count_hooks(model)
    f, s = deletion_curve(model, info, x, maps, target=y)
    with torch.no_grad():
        p_clean = model(x).softmax(1)[torch.arange(len(x)), y]
        p_blank = model(torch.zeros_like(x)).softmax(1)[torch.arange(len(x)), y]
    np.testing.assert_allclose(s[:, 0], p_clean.numpy(), atol=1e-5)
    np.testing.assert_allclose(s[:, -1], p_blank.numpy(), atol=1e-5)
    f, s = insertion_curve(model, info, x, maps, target=y)
    with torch.no_grad():
        p_blur = model(blurred(x)).softmax(1)[torch.arange(len(x)), y]
    np.testing.assert_allclose(s[:, 0], p_blur.numpy(), atol=1e-5)
    np.testing.assert_allclose(s[:, -1], p_clean.numpy(), atol=1e-5)
    assert count_hooks(model) == hooks and not model.training


def test_mode_restored_after_error(fashion):
    model, info, x, _ = fashion
    model.train()
    try:
        with pytest.raises(ConvVisError):
            deletion_curve(model, info, x, torch.zeros(len(x), 28, 28), target="unicorn")
        assert model.training
    finally:
        model.eval()


def test_bad_inputs(fashion):
    model, info, x, _ = fashion
    with pytest.raises(ConvVisError, match=r"\(N, H, W\)"):
        deletion_curve(model, info, x, torch.zeros(len(x), 1, 28, 28))
    with pytest.raises(ConvVisError, match="'sideways'.*'deletion', 'insertion'"):
        perturbation_curve(model, info, x, torch.zeros(len(x), 28, 28), mode="sideways")
    with pytest.raises(ConvVisError, match="'gray'.*'zero', 'blur'"):
        baseline_image(x, "gray")
    with pytest.raises(ConvVisError, match="'softmax'.*'prob', 'logit'"):
        deletion_curve(model, info, x, torch.zeros(len(x), 28, 28), score="softmax")
    with pytest.raises(ConvVisError, match="do not match"):
        auc(np.array([0.0, 1.0]), np.zeros((2, 3)))


def test_imagenet_path_random_weights():
    model, info = _resnet()
    x = torch.randn(1, 3, 64, 64)
    maps = torch.rand(1, 64, 64)
    f, s = deletion_curve(model, info, x, maps, target=3, steps=4)
    assert s.shape == (1, 5) and np.all((s >= 0) & (s <= 1))
    with torch.no_grad():
        assert s[0, 0] == pytest.approx(model(x).softmax(1)[0, 3].item(), abs=1e-5)


def _resnet():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cv.load_model("resnet18", allow_random=True, timeout=0.1)
