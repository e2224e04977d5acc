"""Preprocessing: one path per model, with clear errors for bad images."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import convvis_lib as cv
from convvis_lib.errors import ConvVisError


def test_fashion_uint8_is_normalised_exactly(fashion):
    _, info = fashion
    img = np.full((28, 28), 255, dtype=np.uint8)
    x = cv.preprocess(info, img)
    assert x.shape == (1, 1, 28, 28)
    torch.testing.assert_close(x, torch.full_like(x, (1 - 0.2860) / 0.3530))
    np.testing.assert_allclose(cv.deprocess(info, x), np.ones((28, 28)), atol=1e-6)


def test_fashion_batch_and_rgb_become_gray(fashion, sample):
    _, info = fashion
    assert cv.preprocess(info, sample.images[:5]).shape == (5, 1, 28, 28)
    rgb = np.zeros((28, 28, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    x = cv.preprocess(info, rgb)
    assert x.shape == (1, 1, 28, 28)
    torch.testing.assert_close(x.mean(), torch.tensor((1 / 3 - 0.2860) / 0.3530))


def test_imagenet_path_resizes_crops_and_handles_gray_rgba_uint16():
    from convvis_lib.models import ModelInfo, IMAGENET_MEAN, IMAGENET_STD
    info = ModelInfo("x", "imagenet", ("a",), ("a",), (3, 224, 224), IMAGENET_MEAN, IMAGENET_STD)
    photo = cv.sample_photo("chelsea")  # 300x451
    x = cv.preprocess(info, photo)
    assert x.shape == (1, 3, 224, 224)
    assert cv.preprocess(info, photo[..., 0]).shape == (1, 3, 224, 224)
    rgba = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 255, np.uint8)], axis=2)
    torch.testing.assert_close(cv.preprocess(info, rgba), x)
    torch.testing.assert_close(cv.preprocess(info, photo.astype(np.uint16) * 257), x, atol=1e-5, rtol=0)
    back = cv.deprocess(info, x)
    assert back.shape == (224, 224, 3) and 0 <= back.min() and back.max() <= 1


@pytest.mark.parametrize("bad, match", [
    (np.zeros((28, 28, 5), np.uint8), "too small"),  # read as 28 images of 28x5
    (np.zeros((2, 3, 28, 28), np.uint8), "shape"),
    (np.zeros((4, 4), np.uint8), "too small"),
    (np.full((28, 28), 2.0, np.float32), r"\[0, 1\]"),
    (np.full((28, 28), np.nan, np.float32), "NaN"),
    (np.zeros((28, 28), np.int64), "dtype"),
    ([], "no images"),
])
def test_bad_images_raise(fashion, bad, match):
    _, info = fashion
    with pytest.raises(ConvVisError, match=match):
        cv.preprocess(info, bad)
