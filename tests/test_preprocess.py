"""Preprocessing: one path per model, with clear errors for bad images."""
from __future__ import annotations

import math

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


def test_imagenet_path_equals_resize_256_then_centre_crop_224():
    """Independent reference (torchvision's resize and crop): short side to 256, long side in proportion
    (rounded), the centre 224x224, then (x - mean) / std per channel."""
    from torchvision.transforms.v2 import functional as TF
    from convvis_lib.models import ModelInfo, IMAGENET_MEAN, IMAGENET_STD
    info = ModelInfo("x", "imagenet", ("a",), ("a",), (3, 224, 224), IMAGENET_MEAN, IMAGENET_STD)
    photo = cv.sample_photo("chelsea")  # 300x451
    t = torch.from_numpy(photo).permute(2, 0, 1).float() / 255
    resized = TF.resize(t, [256, round(451 * 256 / 300)], antialias=True)
    expected = TF.normalize(resized[:, 16:240, 80:304], IMAGENET_MEAN, IMAGENET_STD)
    torch.testing.assert_close(cv.preprocess(info, photo)[0], expected, atol=1e-4, rtol=0)


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


class _RaisesOnNaN(torch.nn.Module):
    """Raises its own (unclear) error when it sees a NaN, as some models' code does."""

    def __init__(self) -> None:
        super().__init__()
        self.relu = torch.nn.ReLU()
        self.fc = torch.nn.Linear(16, 3)
        self.saw_bad = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.saw_bad |= bool(~torch.isfinite(x).all())
        if torch.isnan(x).any():
            raise ValueError("bad value deep inside")
        return self.fc(self.relu(x.flatten(1)))


@pytest.mark.parametrize("call", ["occlusion", "gradient", "guided_backprop"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_input_is_refused_before_the_model_runs(call, bad):
    """NaN/Inf input gets one clear error before any forward pass (not the model's own, unclear one),
    no hook is left and the mode is restored; the same call works again once the value is fixed."""
    from convvis_lib import gradients, occlusion
    from convvis_lib.hooks import count_hooks
    model = _RaisesOnNaN().train()
    x = torch.zeros(1, 1, 4, 4)
    fn = {"occlusion": lambda x: occlusion.occlusion_map(model, None, x, 0, patch=2, stride=2),
          "gradient": lambda x: gradients.input_gradient(model, None, x, 0),
          "guided_backprop": lambda x: gradients.guided_backprop(model, None, x, 0)}[call]
    good = fn(x)
    x[0, 0, 1, 2] = bad
    with pytest.raises(cv.ConvVisError, match="input batch contains NaN or Inf values"):
        fn(x)
    assert not model.saw_bad  # refused at the door
    assert count_hooks(model) == 0 and model.training
    x[0, 0, 1, 2] = 0.0
    torch.testing.assert_close(fn(x), good)
