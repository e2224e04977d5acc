"""Drawing for :mod:`convvis_lib.attributes`: accuracy-vs-severity curves (labelled images or photos
with several acceptable classes), a row of transformed images per severity level, and a row-normalised
confusion matrix. Nothing here computes accuracy."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..attributes import PhotoSweep, Sweep, apply_attribute, get_attribute
from ..models import ModelInfo
from .figure import MIN_FONT_PT, one_axes
from .images import image_grid


def plot_sweep(sweep: Sweep, info: ModelInfo, cls: int | None = None, ax: plt.Axes | None = None,
               show_classes: bool = True, legend: bool = True) -> plt.Axes:
    """Accuracy vs severity: the overall curve, thin grey curves per class, ``cls`` highlighted in red.

    ``legend=False`` leaves the legend out (for all but one panel of a grid of sweeps).
    """
    attr = get_attribute(sweep.attribute)
    ax = ax or one_axes(5.2, 3.4)
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


def plot_photo_sweep(sweep: PhotoSweep, ax: plt.Axes | None = None, legend: bool = True) -> plt.Axes:
    """Photos with several acceptable classes: share of photos whose top-1 is acceptable, the mean
    probability on the acceptable classes, and (thin grey) each photo's probability."""
    attr = get_attribute(sweep.attribute)
    ax = ax or one_axes(5.2, 3.4)
    for i in range(sweep.confidence.shape[1]):
        ax.plot(sweep.levels, sweep.confidence[:, i], color="0.75", lw=0.8)
    ax.plot(sweep.levels, sweep.accuracy, "o-", color="C0", lw=2.2, label="1위가 정답 클래스인 비율")
    ax.plot(sweep.levels, sweep.confidence.mean(1), "s--", color="C3", lw=1.8, label="정답 클래스 확률(평균)")
    ax.axvline(attr.identity, color="0.4", ls=":", lw=1)
    ax.set(xlabel=attr.unit, ylim=(-0.02, 1.02), title=f"{attr.label}({attr.name})")
    if legend:
        ax.legend(fontsize=MIN_FONT_PT, loc="lower left")
    return ax


def plot_levels(info: ModelInfo, pixels: torch.Tensor, name: str, levels: Sequence[float] | None = None,
                seed: int = 0, size: float = 1.3) -> plt.Figure:
    """One row per image in ``pixels`` (keep it to a few), one column per severity level (at most 6.8 in wide),
    drawn with :func:`convvis_lib.plot.image_grid` (the levels are the first row's titles)."""
    attr = get_attribute(name)
    levels = list(attr.levels if levels is None else levels)
    columns = [apply_attribute(info, pixels, name, level, seed).permute(0, 2, 3, 1).cpu().numpy() for level in levels]
    images = [img[..., 0] if img.shape[2] == 1 else img for row in zip(*columns) for img in row]
    titles = [f"{level:g}" for level in levels] + [""] * (len(images) - len(levels))
    title = f"{attr.label}: {attr.unit}"
    fig = image_grid(images, titles, ncols=len(levels), size=size, vmin=0, vmax=1, suptitle=title)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], ax: plt.Axes | None = None,
                   title: str = "혼동 행렬") -> plt.Axes:
    """Row-normalised confusion matrix (each row sums to 1) with the counts written in the non-empty cells."""
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
