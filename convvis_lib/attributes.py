"""Accuracy as a function of image attributes (brightness, contrast, scale, ...), per class, confusion matrix.

Each attribute is a seeded, vectorised transform of a *pixel* batch (N, C, H, W) in [0, 1]
(see :mod:`convvis_lib.pixels`), applied before normalisation, with a severity sweep. The idea of
measuring accuracy per image attribute follows Russakovsky et al. (2015), "ImageNet Large Scale Visual
Recognition Challenge", IJCV 115(3), https://arxiv.org/abs/1409.0575 (section 6.3); here the attribute
is changed on purpose instead of grouping existing images. Drawing: :mod:`convvis_lib.plot.attributes`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConvVisError, choice_error
from .metrics import confusion_matrix
from .models import ModelInfo
from .pixels import check_pixels, normalize_pixels
from .predict import class_probabilities, predict_labels

Transform = Callable[[torch.Tensor, float, torch.Generator, ModelInfo], torch.Tensor]


def _uniform(gen: torch.Generator, n: int, like: torch.Tensor) -> torch.Tensor:
    """n seeded uniforms in [0, 1), drawn on the CPU (same numbers on every device)."""
    return torch.rand(n, generator=gen).to(device=like.device, dtype=like.dtype)


def brightness(p: torch.Tensor, level: float, gen: torch.Generator, info: ModelInfo) -> torch.Tensor:
    """Add ``level`` to every pixel (clipped to [0, 1])."""
    return (p + level).clamp(0, 1)


def contrast(p: torch.Tensor, level: float, gen: torch.Generator, info: ModelInfo) -> torch.Tensor:
    """Scale each image's deviation from its own mean by ``level`` (1 = unchanged, 0 = flat grey)."""
    mean = p.mean(dim=(1, 2, 3), keepdim=True)
    return (mean + level * (p - mean)).clamp(0, 1)


def _affine(p: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample ``p`` with per-image affine maps (output coords -> input coords); black outside."""
    grid = F.affine_grid(theta, list(p.shape), align_corners=False)
    return F.grid_sample(p, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp(0, 1)


def scale(p: torch.Tensor, level: float, gen: torch.Generator, info: ModelInfo) -> torch.Tensor:
    """Zoom about the centre by ``level`` (< 1 shrinks the object, black border; > 1 crops into it)."""
    theta = torch.zeros(len(p), 2, 3, dtype=p.dtype, device=p.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / level
    return _affine(p, theta)


def rotation(p: torch.Tensor, level: float, gen: torch.Generator, info: ModelInfo) -> torch.Tensor:
    """Rotate about the centre by ``level`` degrees counter-clockwise as displayed (black corners)."""
    a = math.radians(level)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]],
                         dtype=p.dtype, device=p.device)
    return _affine(p, theta.expand(len(p), 2, 3))


def translation(p: torch.Tensor, level: float, gen: torch.Generator, info: ModelInfo) -> torch.Tensor:
    """Shift each image by ``level`` x its side in a seeded random direction (black where uncovered)."""
    angle = 2 * math.pi * _uniform(gen, len(p), p)
    theta = torch.zeros(len(p), 2, 3, dtype=p.dtype, device=p.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2 * level * torch.cos(angle)  # normalised coords span 2 per side
    theta[:, 1, 2] = -2 * level * torch.sin(angle)
    return _affine(p, theta)


def occlusion(p: torch.Tensor, level: float, gen: torch.Generator, info: ModelInfo) -> torch.Tensor:
    """Cover a square of ``level`` x the image area, at a seeded random place, with the data set's mean colour."""
    n, c, h, w = p.shape
    side_h, side_w = round(math.sqrt(level) * h), round(math.sqrt(level) * w)
    top = (_uniform(gen, n, p) * (h - side_h + 1)).floor().view(n, 1, 1, 1)
    left = (_uniform(gen, n, p) * (w - side_w + 1)).floor().view(n, 1, 1, 1)
    rows = torch.arange(h, device=p.device, dtype=p.dtype).view(1, 1, h, 1)
    cols = torch.arange(w, device=p.device, dtype=p.dtype).view(1, 1, 1, w)
    mask = (rows >= top) & (rows < top + side_h) & (cols >= left) & (cols < left + side_w)
    fill = torch.tensor(info.mean, dtype=p.dtype, device=p.device).view(1, c, 1, 1).expand_as(p)
    return torch.where(mask, fill, p)


def noise(p: torch.Tensor, level: float, gen: torch.Generator, info: ModelInfo) -> torch.Tensor:
    """Add seeded Gaussian noise with standard deviation ``level`` (pixel units), clipped to [0, 1]."""
    z = torch.randn(p.shape, generator=gen).to(device=p.device, dtype=p.dtype)
    return (p + level * z).clamp(0, 1)


@dataclass(frozen=True)
class Attribute:
    """One image attribute: its transform, default severity levels and the level that changes nothing."""

    name: str
    label: str
    unit: str
    levels: tuple[float, ...]
    identity: float
    valid: tuple[float, float]
    transform: Transform


ATTRIBUTES: dict[str, Attribute] = {a.name: a for a in (
    Attribute("brightness", "밝기", "픽셀값에 더한 양", (-0.6, -0.3, 0.0, 0.3, 0.6), 0.0, (-1.0, 1.0), brightness),
    Attribute("contrast", "대비", "대비 배율", (0.1, 0.25, 0.5, 1.0, 2.0, 4.0), 1.0, (0.0, 100.0), contrast),
    Attribute("scale", "크기", "확대 배율", (0.4, 0.6, 0.8, 1.0, 1.25, 1.6), 1.0, (0.05, 20.0), scale),
    Attribute("rotation", "회전", "회전 각도(도)", (0.0, 30.0, 60.0, 90.0, 135.0, 180.0), 0.0, (-360.0, 360.0),
              rotation),
    Attribute("translation", "이동", "이동 거리(한 변 대비 비율)", (0.0, 0.1, 0.2, 0.3, 0.4), 0.0, (0.0, 1.0),
              translation),
    Attribute("occlusion", "가림", "가린 면적 비율", (0.0, 0.1, 0.2, 0.35, 0.5), 0.0, (0.0, 1.0), occlusion),
    Attribute("noise", "잡음", "가우시안 잡음 표준편차", (0.0, 0.1, 0.2, 0.35, 0.5), 0.0, (0.0, 10.0), noise),
)}


def get_attribute(name: str) -> Attribute:
    """The :class:`Attribute` called ``name``; a clear error listing the allowed names otherwise."""
    if name not in ATTRIBUTES:
        raise choice_error("attribute", name, ATTRIBUTES)
    return ATTRIBUTES[name]


def apply_attribute(info: ModelInfo, pixels: torch.Tensor, name: str, level: float, seed: int = 0) -> torch.Tensor:
    """Pixels with attribute ``name`` set to ``level``; the identity level returns an unchanged copy.

    Random choices (noise, occluder place, shift direction) come from ``seed`` and are the
    same for every level, so a sweep changes only the severity.
    """
    attr = get_attribute(name)
    check_pixels(info, pixels)
    level = float(level)
    lo, hi = attr.valid
    if not (math.isfinite(level) and lo <= level <= hi):
        raise ConvVisError(f"{name} level {level!r} out of range; allowed: {lo} .. {hi}")
    if level == attr.identity:
        return pixels.clone()
    gen = torch.Generator().manual_seed(seed)
    return attr.transform(pixels, level, gen, info)


def reference_labels(labels: np.ndarray, clean_predictions: np.ndarray) -> np.ndarray:
    """True labels where known (>= 0), else the model's prediction on the clean image."""
    labels = np.asarray(labels)
    if labels.shape != np.shape(clean_predictions):
        raise ConvVisError(f"labels {labels.shape} and predictions {np.shape(clean_predictions)} differ in shape")
    return np.where(labels >= 0, labels, clean_predictions)


@dataclass(frozen=True)
class Sweep:
    """Accuracy of one attribute's severity sweep: overall, per (true) class, and every prediction."""

    attribute: str
    levels: np.ndarray
    accuracy: np.ndarray
    per_class: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray


def per_class_accuracy(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Accuracy of each class (NaN for a class with no image)."""
    cm = confusion_matrix(labels, predictions, num_classes)
    total = cm.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.diag(cm) / np.maximum(total, 1), np.nan)


def attribute_sweep(model: nn.Module, info: ModelInfo, pixels: torch.Tensor, labels: np.ndarray, name: str,
                    levels: Sequence[float] | None = None, seed: int = 0, batch_size: int | None = None,
                    clean_predictions: np.ndarray | None = None) -> Sweep:
    """Accuracy of ``model`` on ``pixels`` as attribute ``name`` runs through ``levels``.

    ``labels`` of -1 (unlabelled photos) are replaced by the clean prediction, so for those
    images the accuracy is "the prediction survived the change". Pass ``clean_predictions``
    to reuse them at the identity level.
    """
    attr = get_attribute(name)
    levels = np.asarray(attr.levels if levels is None else levels, dtype=np.float64)
    labels = np.asarray(labels)
    if labels.shape != (len(pixels),):
        raise ConvVisError(f"need one label per image: {len(pixels)} images, labels of shape {labels.shape}")
    if clean_predictions is None:
        clean_predictions = predict_labels(model, info, normalize_pixels(info, pixels), batch_size)
    ref = reference_labels(labels, clean_predictions)
    preds = []
    for level in levels:
        if level == attr.identity:
            preds.append(np.asarray(clean_predictions))
            continue
        x = normalize_pixels(info, apply_attribute(info, pixels, name, level, seed))
        preds.append(predict_labels(model, info, x, batch_size))
    preds = np.stack(preds)
    acc = (preds == ref[None]).mean(1)
    per_class = np.stack([per_class_accuracy(ref, p, info.num_classes) for p in preds])
    return Sweep(name, levels, acc, per_class, preds, ref)


@dataclass(frozen=True)
class PhotoSweep:
    """One attribute's sweep over photos that each have several acceptable classes (``levels`` x photos)."""

    attribute: str
    levels: np.ndarray
    correct: np.ndarray     # (L, N) bool: the top-1 class is one of the photo's acceptable classes
    confidence: np.ndarray  # (L, N) softmax probability summed over the photo's acceptable classes

    @property
    def accuracy(self) -> np.ndarray:
        """Fraction of photos whose top-1 class is acceptable, per level."""
        return self.correct.mean(1)


def accepted_sweeps(model: nn.Module, info: ModelInfo, pixels: torch.Tensor, accepted: Sequence[Sequence[int]],
                    levels: Mapping[str, Sequence[float]], seed: int = 0,
                    batch_size: int | None = None) -> dict[str, PhotoSweep]:
    """Attribute sweeps for photos with several acceptable classes each (``Examples.accepted``).

    ``levels`` maps attribute names to their levels. The unchanged photos are computed once for every
    attribute's identity level, and all inputs go through the model in one batched pass. Per level and
    photo: is the top-1 class acceptable, and how much probability the model puts on the acceptable
    classes together (a cat photo may be a tabby, a tiger cat or an Egyptian cat; moving probability
    among them is no mistake).
    """
    if len(accepted) != len(pixels) or not all(len(a) for a in accepted):
        raise ConvVisError(f"need a non-empty tuple of acceptable classes per photo: {len(pixels)} photos, "
                           f"{len(accepted)} entries (use labelled_photos().accepted)")
    batches, row = [normalize_pixels(info, pixels)], {}
    for name, lv in levels.items():
        for level in lv:
            if float(level) != get_attribute(name).identity and (name, float(level)) not in row:
                row[name, float(level)] = len(batches)
                batches.append(normalize_pixels(info, apply_attribute(info, pixels, name, level, seed)))
    probs = class_probabilities(model, info, torch.cat(batches), batch_size).cpu()
    probs = probs.view(len(batches), len(pixels), -1)  # (inputs per photo, photos, classes)
    ok = torch.zeros(len(pixels), probs.shape[-1], dtype=torch.bool)
    for i, classes in enumerate(accepted):
        ok[i, [info.class_index(int(c)) for c in classes]] = True
    correct = ok.gather(1, probs.argmax(-1).T).T.numpy()  # (batches, photos)
    confidence = (probs * ok).sum(-1).numpy()
    sweeps = {}
    for name, lv in levels.items():
        rows = [row.get((name, float(v)), 0) for v in lv]  # row 0: the unchanged photos
        sweeps[name] = PhotoSweep(name, np.asarray(lv, dtype=np.float64), correct[rows], confidence[rows])
    return sweeps
