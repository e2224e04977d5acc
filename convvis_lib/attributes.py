"""Accuracy as a function of image attributes (brightness, contrast, scale, ...), per class, confusion matrix.

Each attribute is a seeded, vectorised transform of a *pixel* batch (N, C, H, W) in [0, 1]
(see :mod:`convvis_lib.pixels`), applied before normalisation, with a severity sweep.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConvVisError, choice_error
from .hooks import eval_mode
from .models import ModelInfo
from .plot import MAX_FIGURE_WIDTH_IN, MIN_FONT_PT
from .pixels import check_pixels, normalize_pixels
from .preprocess import check_input

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


def predict_labels(model: nn.Module, info: ModelInfo, x: torch.Tensor, batch_size: int = 250) -> np.ndarray:
    """Arg-max class of each normalised input, in eval mode without gradients."""
    check_input(info, x, model)
    out = []
    with eval_mode(model), torch.inference_mode():
        for i in range(0, len(x), batch_size):
            out.append(model(x[i:i + batch_size]).argmax(1).cpu())
    return torch.cat(out).numpy()


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
                    levels: Sequence[float] | None = None, seed: int = 0, batch_size: int = 250,
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


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts ``cm[true, predicted]`` (rows: true class, columns: predicted class)."""
    y, p = np.asarray(labels).astype(np.int64).ravel(), np.asarray(predictions).astype(np.int64).ravel()
    if y.shape != p.shape:
        raise ConvVisError(f"labels ({y.size}) and predictions ({p.size}) must have the same length")
    bad = np.concatenate([y[(y < 0) | (y >= num_classes)], p[(p < 0) | (p >= num_classes)]])
    if bad.size:
        raise ConvVisError(f"class index {int(bad[0])} out of range; allowed: 0..{num_classes - 1}")
    return np.bincount(y * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def top_confusions(cm: np.ndarray, k: int = 5) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal cells as ``(true, predicted, count)``, largest first (ties: by index)."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off.ravel(), kind="stable")[:k]
    n = off.shape[1]
    return [(int(i // n), int(i % n), int(off.ravel()[i])) for i in order if off.ravel()[i] > 0]


# ---------------------------------------------------------------- plotting (no computation below)

def plot_sweep(sweep: Sweep, info: ModelInfo, cls: int | None = None, ax: plt.Axes | None = None,
               show_classes: bool = True, legend: bool = True) -> plt.Axes:
    """Accuracy vs severity: the overall curve, thin curves per class, ``cls`` highlighted.

    ``legend=False`` leaves the legend out (for all but one panel of a grid of sweeps).
    """
    attr = get_attribute(sweep.attribute)
    ax = ax or plt.subplots(figsize=(5.2, 3.4))[1]
    if show_classes:
        for c in range(sweep.per_class.shape[1]):
            if c != cls and not np.isnan(sweep.per_class[:, c]).all():
                ax.plot(sweep.levels, sweep.per_class[:, c], color="0.75", lw=0.8)
    ax.plot(sweep.levels, sweep.accuracy, "o-", color="C0", lw=2.2, label="전체")
    if cls is not None:
        ax.plot(sweep.levels, sweep.per_class[:, cls], "s--", color="C3", lw=1.8, label=info.label(cls))
    ax.axvline(attr.identity, color="0.4", ls=":", lw=1)
    ax.axhline(1 / info.num_classes, color="0.6", ls="--", lw=0.8)
    ax.set(xlabel=attr.unit, ylabel="정확도", ylim=(-0.02, 1.02), title=f"{attr.label}({attr.name})")
    if legend:
        ax.legend(fontsize=MIN_FONT_PT, loc="lower left")
    return ax


def plot_levels(info: ModelInfo, pixels: torch.Tensor, name: str, levels: Sequence[float] | None = None,
                seed: int = 0, size: float = 1.3) -> plt.Figure:
    """One row per image in ``pixels`` (keep it to a few), one column per severity level (at most 6.8 in wide)."""
    attr = get_attribute(name)
    levels = list(attr.levels if levels is None else levels)
    size = min(size, MAX_FIGURE_WIDTH_IN / len(levels))
    fig, axes = plt.subplots(len(pixels), len(levels), figsize=(len(levels) * size, len(pixels) * size + 0.3),
                             squeeze=False)
    for j, level in enumerate(levels):
        imgs = apply_attribute(info, pixels, name, level, seed).permute(0, 2, 3, 1).cpu().numpy()
        for i, img in enumerate(imgs):
            ax = axes[i, j]
            ax.imshow(img[..., 0] if img.shape[2] == 1 else img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(f"{level:g}", fontsize=MIN_FONT_PT)
    fig.suptitle(f"{attr.label}: {attr.unit}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], ax: plt.Axes | None = None,
                   title: str = "혼동 행렬") -> plt.Axes:
    """Row-normalised confusion matrix (each row sums to 1) with the counts written in the cells."""
    ax = ax or plt.subplots(figsize=(6.4, 5.6))[1]
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    n = len(class_names)
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=MIN_FONT_PT,
                        color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), class_names, rotation=60, ha="right", fontsize=MIN_FONT_PT)
    ax.set_yticks(range(n), class_names, fontsize=MIN_FONT_PT)
    ax.set(xlabel="예측한 클래스", ylabel="정답 클래스", title=title)
    return ax
