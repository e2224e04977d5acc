"""Image, filter and activation grids and heatmap overlays: the drawing every technique shares."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .figure import MAX_FIGURE_WIDTH_IN, MIN_FONT_PT

HEATMAP_CMAP = "inferno"
DIVERGING_CMAP = "RdBu_r"
GRID_MARGIN_IN = 0.1  # white around an image grid (a saved figure adds its own 0.1 in)


def to_numpy(a) -> np.ndarray:
    return a.detach().cpu().float().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def minmax_scale(a, per_item: bool = False) -> np.ndarray:
    """Min-max scale to [0, 1] for display: over the whole array, or each item (first axis) on its own."""
    a = to_numpy(a).astype(np.float32)
    axes = tuple(range(1, a.ndim)) if per_item else None
    lo, hi = a.min(axis=axes, keepdims=True), a.max(axis=axes, keepdims=True)
    return (a - lo) / np.maximum(hi - lo, 1e-12)


def image_grid(images: Sequence, titles: Sequence[str] | None = None, ncols: int = 8,
               cmap: str = "gray", size: float = 1.4, suptitle: str | None = None,
               vmin: float | None = None, vmax: float | None = None,
               row_labels: Sequence[str] | None = None) -> plt.Figure:
    """Show images (HxW or HxWx3 each) in a grid with optional titles and labels left of the rows.

    ``size`` (inches per image) shrinks so that the figure is at most :data:`MAX_FIGURE_WIDTH_IN` wide.
    Each image is scaled to its own minimum and maximum unless ``vmin``/``vmax`` are given.
    All images are drawn on one Axes (``fig.axes[0]``), each in its own cell, with the titles
    above them: one Axes per image made a grid of 12 take ~0.4 s to draw.
    """
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images; give one title per image or none")
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(f"{len(row_labels)} row labels for {nrows} rows; give one per row or none")
    label_w = _text_width_in(row_labels) + 0.1 if row_labels is not None else 0.0
    size = min(size, (MAX_FIGURE_WIDTH_IN - label_w) / ncols)
    top = 0.4 if suptitle else 0.0  # inches above the grid for the suptitle
    width, height = label_w + ncols * size, nrows * size * 1.1 + top
    fig = plt.figure(figsize=(width, height))
    grid_w, grid_h = width - label_w - 2 * GRID_MARGIN_IN, height - top - 2 * GRID_MARGIN_IN
    ax = fig.add_axes(((GRID_MARGIN_IN + label_w) / width, GRID_MARGIN_IN / height, grid_w / width, grid_h / height))
    cell_w, cell_h = grid_w / ncols, grid_h / nrows
    lines = max(str(t).count("\n") + 1 for t in titles) if titles is not None else 0
    title_h = lines * 1.4 * MIN_FONT_PT / 72  # a line of text is 1.2 font sizes high, and a little air
    gap = max(0.06 * size, 0.05)  # inches between cells: at least 5 px at 100 dpi
    for i, image in enumerate(images):  # data coordinates: inches from the grid's top left corner
        a = to_numpy(image)
        row, col = divmod(i, ncols)
        x0, y0, w, h = _fit(a.shape, col * cell_w + gap / 2, row * cell_h + title_h + gap / 2,
                            cell_w - gap, cell_h - title_h - gap)
        ax.imshow(a, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", extent=(x0, x0 + w, y0 + h, y0))
        if titles is not None:
            ax.text(x0 + w / 2, y0 - 0.03, titles[i], fontsize=MIN_FONT_PT, ha="center", va="bottom")
    for row, label in enumerate(row_labels or []):
        ax.text(-0.05, (row + 0.5) * cell_h + title_h / 2, label, fontsize=MIN_FONT_PT, ha="right", va="center")
    ax.set(xlim=(0, grid_w), ylim=(grid_h, 0))  # imshow set them to the last image
    ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def _text_width_in(texts: Sequence[str]) -> float:
    """A generous width of the longest line of ``texts`` at :data:`MIN_FONT_PT` (one em per character)."""
    return max(len(line) for t in texts for line in str(t).split("\n")) * MIN_FONT_PT / 72


def _fit(shape: tuple[int, ...], x0: float, y0: float, w: float, h: float) -> tuple[float, float, float, float]:
    """The largest box with the image's aspect ratio centred in the box (x0, y0, w, h)."""
    scale = min(w / shape[1], h / shape[0])
    fw, fh = shape[1] * scale, shape[0] * scale
    return x0 + (w - fw) / 2, y0 + (h - fh) / 2, fw, fh


def filter_grid(weights, normalization: str = "per_filter", ncols: int = 16, size: float = 0.6,
                title: str | None = None) -> plt.Figure:
    """Show conv filters (out, in, kh, kw). RGB filters are shown in colour, others channel-averaged.

    ``normalization`` is ``"per_filter"`` (each filter stretched to [0, 1]) or
    ``"shared"`` (one scale for all, so magnitudes compare).
    """
    if normalization not in ("per_filter", "shared"):
        raise ValueError(f"unknown normalization {normalization!r}; allowed: 'per_filter', 'shared'")
    w = to_numpy(weights)
    if w.ndim != 4:
        raise ValueError(f"expected conv weights (out, in, kh, kw); got shape {w.shape}")
    w = w.transpose(0, 2, 3, 1) if w.shape[1] == 3 else w.mean(axis=1)
    w = minmax_scale(w, per_item=normalization == "per_filter")
    return image_grid(list(w), ncols=ncols, size=size, suptitle=title)


def heatmap_overlay(ax: plt.Axes, image, heatmap, alpha: float = 0.5, cmap: str = HEATMAP_CMAP,
                    title: str | None = None) -> None:
    """Draw ``image`` with ``heatmap`` (any size; stretched over the image) on top."""
    img = to_numpy(image)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    h, w = img.shape[:2]
    ax.imshow(to_numpy(heatmap), cmap=cmap, alpha=alpha, extent=(-0.5, w - 0.5, h - 0.5, -0.5),
              interpolation="bilinear")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=MIN_FONT_PT)


def activation_grid(act, ncols: int = 16, size: float = 0.7, title: str | None = None, max_maps: int = 64) -> plt.Figure:
    """Show the channels of one activation (C, H, W) with a shared scale (black = 0)."""
    a = to_numpy(act)[:max_maps]
    vmax = float(a.max()) if a.size and a.max() > 0 else 1.0
    return image_grid(list(a), ncols=ncols, size=size, suptitle=title, cmap="gray", vmin=0.0, vmax=vmax)
