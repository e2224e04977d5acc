"""Deletion and insertion curves (Petsiuk et al., RISE, 2018) and their area under the curve.

Rank the pixels by an explanation map, most important first. *Deletion* replaces them, a few
at a time, by a baseline (0 = the dataset mean in normalised units) and records the class
probability after each step: a faithful map makes it fall fast (small AUC). *Insertion* starts
from a blurred copy of the image and puts the original pixels back in the same order: a faithful
map makes the probability rise fast (large AUC). A pixel is one spatial position (all channels).
Ties in the map are broken in raster order (a stable sort), so the curves are deterministic.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .errors import ConvVisError, choice_error
from .hooks import eval_mode
from .models import ModelInfo
from .pixels import gaussian_blur
from .preprocess import check_input
from .targets import ClassTarget, class_targets

BASELINES = ("zero", "blur")
SCORES = ("prob", "logit")


def blurred(x: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
    """Gaussian-blurred copy of a batch (:func:`~convvis_lib.pixels.gaussian_blur`); ``sigma`` defaults to a
    tenth of the image side."""
    return gaussian_blur(x, max(x.shape[-2:]) / 10 if sigma is None else sigma)


def baseline_image(x: torch.Tensor, baseline: str | float | torch.Tensor) -> torch.Tensor:
    """The image that replaces deleted pixels / that insertion starts from, shaped like ``x``."""
    if isinstance(baseline, str):
        if baseline not in BASELINES:
            raise choice_error("baseline", baseline, BASELINES)
        return torch.zeros_like(x) if baseline == "zero" else blurred(x)
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return torch.full_like(x, float(baseline))
    if isinstance(baseline, torch.Tensor):
        try:
            return torch.broadcast_to(baseline.to(x), x.shape).clone()
        except RuntimeError:
            raise ConvVisError(f"baseline of shape {tuple(baseline.shape)} does not broadcast to the input "
                               f"{tuple(x.shape)}") from None
    raise choice_error("baseline", baseline, list(BASELINES) + ["a number", "a tensor like x"])


def _check_maps(maps: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    maps = torch.as_tensor(maps).to(x.device).float()
    if maps.ndim == 2 and len(x) == 1:
        maps = maps[None]
    if maps.ndim != 3 or tuple(maps.shape) != (len(x), *x.shape[-2:]):
        raise ConvVisError(f"explanation maps must have shape (N, H, W) = {(len(x), *x.shape[-2:])}; "
                           f"got {tuple(maps.shape)}")
    if not torch.isfinite(maps).all():
        raise ConvVisError("explanation maps contain NaN or Inf values")
    return maps


def pixel_ranks(maps: torch.Tensor) -> torch.Tensor:
    """(N, H, W) rank of every pixel, 0 = largest value (ties in raster order)."""
    flat = maps.flatten(1)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    return ranks.view(maps.shape)


def pixel_counts(num_pixels: int, steps: int) -> torch.Tensor:
    """Pixels changed after each step 0..K: ``min(k * ceil(P / steps), P)``."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= num_pixels:
        raise ConvVisError(f"steps {steps!r} is not allowed; allowed: an int in 1..{num_pixels}")
    per_step = math.ceil(num_pixels / steps)
    k = math.ceil(num_pixels / per_step)
    return torch.clamp(torch.arange(k + 1) * per_step, max=num_pixels)


def _scores(model: nn.Module, batch: torch.Tensor, cls: int, score: str) -> torch.Tensor:
    out = model(batch).float()
    return (out.softmax(1) if score == "prob" else out)[:, cls]


def perturbation_curve(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, maps: torch.Tensor,
                       target: ClassTarget = None, mode: str = "deletion", steps: int = 49,
                       baseline: str | float | torch.Tensor | None = None, score: str = "prob",
                       batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of pixels changed (K+1,) and the class score after each step (N, K+1).

    ``mode`` is ``"deletion"`` (baseline ``"zero"`` by default) or ``"insertion"`` (``"blur"``).
    ``target`` is a class index or name, one per image, or ``None`` for the prediction on ``x``.
    """
    check_input(info, x, model)
    if mode not in ("deletion", "insertion"):
        raise choice_error("mode", mode, ("deletion", "insertion"))
    if score not in SCORES:
        raise choice_error("score", score, SCORES)
    maps = _check_maps(maps, x)
    counts = pixel_counts(maps[0].numel(), steps).to(x.device)
    base = baseline_image(x, ("zero" if mode == "deletion" else "blur") if baseline is None else baseline)
    ranks = pixel_ranks(maps)
    curves = torch.empty(len(x), len(counts))
    with eval_mode(model), torch.inference_mode():
        cls = class_targets(info, target, model(x))
        for i in range(len(x)):
            changed = ranks[i][None, None] < counts[:, None, None, None]       # (K+1, 1, H, W)
            for j in range(0, len(counts), batch_size):
                m = changed[j:j + batch_size]
                batch = torch.where(m, base[i], x[i]) if mode == "deletion" else torch.where(m, x[i], base[i])
                curves[i, j:j + batch_size] = _scores(model, batch, int(cls[i]), score).cpu()
    return (counts.cpu().double() / counts[-1].item()).numpy(), curves.double().numpy()


def deletion_curve(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, maps: torch.Tensor,
                   target: ClassTarget = None, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Deletion curve: see :func:`perturbation_curve`."""
    return perturbation_curve(model, info, x, maps, target, mode="deletion", **kwargs)


def insertion_curve(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, maps: torch.Tensor,
                    target: ClassTarget = None, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Insertion curve: see :func:`perturbation_curve`."""
    return perturbation_curve(model, info, x, maps, target, mode="insertion", **kwargs)


def auc(fractions: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Area under each curve by the trapezoid rule over the fraction axis: (N, K+1) -> (N,)."""
    f = np.asarray(fractions, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if f.ndim != 1 or s.shape[-1] != len(f) or len(f) < 2:
        raise ConvVisError(f"fractions (K+1,) and scores (..., K+1) do not match: {f.shape} vs {s.shape}")
    return ((s[..., 1:] + s[..., :-1]) / 2 * np.diff(f)).sum(-1)


def deletion_insertion_auc(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, maps: torch.Tensor,
                           target: ClassTarget = None, steps: int = 49, score: str = "prob",
                           batch_size: int = 128) -> dict[str, np.ndarray]:
    """Per-image AUCs ``{"deletion": (N,), "insertion": (N,)}`` with the default baselines."""
    out = {}
    for mode in ("deletion", "insertion"):
        f, s = perturbation_curve(model, info, x, maps, target, mode, steps, None, score, batch_size)
        out[mode] = auc(f, s)
    return out
