"""Pixel space <-> normalised model input, pixel bounds and Gaussian blur: the image arithmetic that several
techniques share (class model visualisation, attributes, adversarial, faithfulness)."""
from __future__ import annotations

import math

import torch

from .errors import ConvVisError
from .models import ModelInfo
from .preprocess import preprocess


def _stats(info: ModelInfo, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(info.mean, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)
    std = torch.tensor(info.std, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)
    return mean, std


def to_pixels(info: ModelInfo, images) -> torch.Tensor:
    """Raw images -> float batch (N, C, H, W) in [0, 1] at the model's input size (resized/cropped as
    :func:`preprocess` does, but not normalised)."""
    x = preprocess(info, images)
    return from_normalized(info, x).clamp(0, 1)


def normalize_pixels(info: ModelInfo, pixels: torch.Tensor) -> torch.Tensor:
    """Pixel batch in [0, 1] -> the normalised input the model expects."""
    check_pixels(info, pixels)
    mean, std = _stats(info, pixels)
    return (pixels - mean) / std


def from_normalized(info: ModelInfo, x: torch.Tensor) -> torch.Tensor:
    """Normalised batch -> pixel values (no clamping)."""
    mean, std = _stats(info, x)
    return x * std + mean


def pixel_bounds(info: ModelInfo | None, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised values of pixel 0 and pixel 1, shaped (1, C, 1, 1) like ``like``; without ``info``
    (a bare model, no known normalisation) -inf and +inf, i.e. no bounds."""
    if info is None:
        inf = torch.full((1, like.shape[1], 1, 1), torch.inf, dtype=like.dtype, device=like.device)
        return -inf, inf
    mean, std = _stats(info, like)
    return (0 - mean) / std, (1 - mean) / std


def pixel_step(info: ModelInfo, eps: float, like: torch.Tensor) -> torch.Tensor:
    """A step of ``eps`` in pixel units expressed in normalised units (eps / std), shaped (1, C, 1, 1)."""
    _, std = _stats(info, like)
    return eps / std


def check_pixels(info: ModelInfo | None, pixels) -> None:
    """Raise unless ``pixels`` is a finite float batch (N, C, H, W) with the model's channel count."""
    if not isinstance(pixels, torch.Tensor) or pixels.ndim != 4 or not pixels.is_floating_point():
        shape = tuple(pixels.shape) if hasattr(pixels, "shape") else type(pixels).__name__
        raise ConvVisError(f"expected a float pixel batch (N, C, H, W) in [0, 1]; got {shape} "
                           "(use convvis_lib.pixels.to_pixels(info, images))")
    if len(pixels) == 0:
        raise ConvVisError("empty pixel batch: N must be at least 1")
    if info is not None and pixels.shape[1] != info.input_size[0]:
        raise ConvVisError(f"{info.name} expects {info.input_size[0]} channel(s); got shape {tuple(pixels.shape)}")
    if not torch.isfinite(pixels).all():
        raise ConvVisError("pixel batch contains NaN or Inf values")


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of a batch (N, C, H, W) with a Gaussian of std ``sigma`` pixels (reflect padding).

    The kernel reaches 3 sigma (at least 1 pixel), cut to the image side - 1 where the image is smaller.
    """
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma <= 0:
        raise ConvVisError(f"blur sigma {sigma!r} is not allowed; allowed: a finite number > 0")
    from torchvision.transforms.functional import gaussian_blur as blur  # imported here: it costs seconds to load
    radius = min(max(1, math.ceil(3 * sigma)), min(x.shape[-2:]) - 1)
    if radius < 1:
        return x.clone()
    return blur(x, kernel_size=[2 * radius + 1] * 2, sigma=[float(sigma)] * 2)
