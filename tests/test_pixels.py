"""convvis_lib.pixels: conversions, bounds and the shared Gaussian blur, against hand-computed values."""
import math

import pytest
import torch

import convvis_lib as cv
from convvis_lib.pixels import gaussian_blur, normalize_pixels, pixel_bounds


def test_blur_of_a_delta_is_the_normalised_gaussian_kernel():
    sigma, side = 1.0, 15
    x = torch.zeros(1, 1, side, side)
    x[0, 0, 7, 7] = 1.0
    out = gaussian_blur(x, sigma)[0, 0]
    t = torch.arange(-3, 4, dtype=torch.float32)  # radius ceil(3 sigma) = 3
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    assert torch.allclose(out[4:11, 4:11], torch.outer(k, k), atol=1e-6)
    assert out.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert out[0].abs().max().item() == 0.0  # nothing beyond the 3-sigma kernel


def test_blur_keeps_a_constant_image_and_channels_apart():
    x = torch.stack([torch.full((9, 9), 0.25), torch.full((9, 9), -2.0)])[None]
    assert torch.allclose(gaussian_blur(x, 5.0), x, atol=1e-6)  # radius cut to side - 1 = 8, still reflect


@pytest.mark.parametrize("sigma", [0, -1.0, math.nan, True, "1"])
def test_blur_refuses_bad_sigma(sigma):
    with pytest.raises(cv.ConvVisError, match="allowed: a finite number > 0"):
        gaussian_blur(torch.zeros(1, 1, 5, 5), sigma)


def test_pixel_bounds_are_the_normalised_0_and_1():
    _, info = cv.load_model("fashionnet")
    like = torch.zeros(2, 1, 28, 28)
    lo, hi = pixel_bounds(info, like)
    px = torch.stack([torch.zeros(1, 28, 28), torch.ones(1, 28, 28)])
    x = normalize_pixels(info, px)
    assert lo.shape == hi.shape == (1, 1, 1, 1)
    assert lo.item() == pytest.approx(x[0].min().item()) and hi.item() == pytest.approx(x[1].max().item())
    lo, hi = pixel_bounds(None, torch.zeros(1, 3, 4, 4))
    assert lo.shape == (1, 3, 1, 1) and torch.isinf(lo).all() and (lo < 0).all() and (hi > 0).all()
