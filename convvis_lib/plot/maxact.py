"""Drawing for :mod:`convvis_lib.maxact`: top images of a unit with their receptive-field boxes.

:func:`plot_top_k` shows one unit's top images (score above each, receptive field outlined), the
fields cut out below them and the classes among them; :func:`plot_top_rows` puts several units (or
random directions) in rows for comparison. Computing happens in :mod:`convvis_lib.maxact`.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from torch import nn

from ..maxact import TopK, model_view, top_boxes
from ..models import ModelInfo
from ..receptive_field import Box, crop_box, receptive_field


def draw_box(ax, box: Box, color: str = "red", linewidth: float = 1.5, origin: tuple[int, int] = (0, 0)) -> None:
    """Outline the inclusive pixel box ``(top, left, bottom, right)`` on an ``imshow`` axis,
    shifted by ``origin`` (the tile's top-left corner in a mosaic)."""
    top, left, bottom, right = box
    y0, x0 = origin
    ax.add_patch(Rectangle((x0 + left - 0.5, y0 + top - 0.5), right - left + 1, bottom - top + 1,
                           fill=False, edgecolor=color, linewidth=linewidth))


def tile(images: Sequence[np.ndarray], ncols: int, gap: tuple[int, int] = (2, 2),
         fill: float = 1.0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Equal-sized images side by side in rows of ``ncols``, ``gap = (rows, cols)`` pixels apart.

    Returns the mosaic and each image's top-left corner ``(y, x)`` in it.
    """
    h, w = images[0].shape[:2]
    nrows = int(np.ceil(len(images) / ncols))
    gy, gx = gap
    canvas = np.full((nrows * (h + gy) - gy, ncols * (w + gx) - gx, *images[0].shape[2:]), fill, dtype=np.float32)
    origins = []
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        y, x = r * (h + gy), c * (w + gx)
        canvas[y:y + h, x:x + w] = img
        origins.append((y, x))
    return canvas, origins


def _imshow(ax, img: np.ndarray) -> None:
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()


def _class_histogram(ax, info: ModelInfo, labels: np.ndarray, idx: np.ndarray) -> None:
    counts = np.bincount(np.asarray(labels)[idx], minlength=info.num_classes)
    ax.barh(range(info.num_classes), counts, color="tab:blue")
    ax.set_yticks(range(info.num_classes), [info.label(c) for c in range(info.num_classes)], fontsize=9)
    ax.invert_yaxis()
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(axis="x", labelsize=9)
    ax.set_xlabel(f"상위 {len(idx)}장 중 개수", fontsize=9)


def _field_patches(model: nn.Module, info: ModelInfo, top: TopK, unit: int,
                   views: list[np.ndarray]) -> tuple[list[Box], list[np.ndarray]]:
    """Draw-ready boxes (clipped) and cut-outs (unclipped, grey outside the image) of ``unit``'s top images."""
    rf = receptive_field(model, info, top.layer)
    hw = info.input_size[1:]
    where = [(int(r), int(c)) for r, c in top.positions[unit, :len(views)]]
    boxes = [rf.box(r, c, hw) for r, c in where]
    cuts = [crop_box(v, rf.box(r, c, hw, clip=False)) for v, (r, c) in zip(views, where)]
    return boxes, cuts


def plot_top_k(model: nn.Module, info: ModelInfo, images: Sequence, top: TopK, unit: int, k: int | None = None,
               labels: np.ndarray | None = None, title: str | None = None, ncols: int = 8):
    """Top images of ``unit`` with their receptive-field boxes, the receptive fields cut out below
    them (grey where the field reaches past the image) and, when ``labels`` are given, a histogram
    of the classes among the top images. Each part is one mosaic, so drawing is fast. The score is
    written above each image; the figure is at most 6.8 inches wide (the book's text column)."""
    k = top.k if k is None else min(k, top.k)
    idx, scores = top.indices[unit, :k], top.scores[unit, :k]
    views = [model_view(info, images[int(i)]) for i in idx]
    h, ncols = views[0].shape[0], min(ncols, k)
    spatial = top.map_size is not None
    with_hist = labels is not None and np.min(labels) >= 0
    cell = min(0.85, (6.8 - 2.0 * with_hist) / ncols)  # inches per image
    rows = [cell * np.ceil(k / ncols)] * (2 if spatial else 1)  # inches: the top images, then their fields
    top_in, bottom_in, label_in = 0.5, 0.55 if with_hist else 0.1, 0.9  # suptitle, histogram's x labels, class names
    width, height = cell * ncols + 2.0 * with_hist, max(sum(rows) + 0.15 * (len(rows) - 1) + top_in + bottom_in,
                                                       2.6 * with_hist)
    fig = plt.figure(figsize=(width, height))  # fixed places in inches, so nothing reaches past the edges

    def place(x: float, y: float, w: float, h: float) -> plt.Axes:  # inches from the bottom left corner
        return fig.add_axes((x / width, y / height, w / width, h / height))

    below_title = height - top_in
    ax = place(0.1, below_title - rows[0], cell * ncols - 0.2, rows[0])
    grid, origins = tile(views, ncols, gap=(int(h * 0.4), max(2, h // 14)))
    _imshow(ax, grid)
    for j, (y, x) in enumerate(origins):
        ax.text(x + h / 2, y - 1, f"{scores[j]:.2f}", ha="center", va="bottom", fontsize=9)
    if spatial:
        boxes, cuts = _field_patches(model, info, top, unit, views)
        for box, origin in zip(boxes, origins):
            draw_box(ax, box, origin=origin)
        fields = place(0.1, below_title - rows[0] - 0.15 - rows[1], cell * ncols - 0.2, rows[1])
        _imshow(fields, tile(cuts, ncols, gap=(max(2, cuts[0].shape[0] // 6),) * 2)[0])
    if with_hist:
        hist_w = 2.0 - label_in - 0.15
        _class_histogram(place(width - 0.15 - hist_w, bottom_in, hist_w, height - top_in - bottom_in), info, labels, idx)
    fig.suptitle(title or f"{top.layer} 유닛 {unit}: 가장 강하게 활성화한 이미지 {k}장", fontsize=10)
    return fig


def plot_top_rows(model: nn.Module, info: ModelInfo, images: Sequence, rows: Sequence[tuple[str, TopK, int]],
                  k: int = 8, labels: np.ndarray | None = None):
    """One row per ``(row_label, top, unit)``: the unit's top ``k`` images with receptive-field boxes
    (class names above them when ``labels`` are given)."""
    k = min(k, min(top.k for _, top, _ in rows))
    cell = min(0.85, 5.8 / k)  # inches per image: at most 6.8 inches in all
    fig, axes = plt.subplots(len(rows), 1, figsize=(cell * k + 1.0, 1.25 * cell / 0.85 * len(rows)), squeeze=False)
    for (name, top, unit), ax in zip(rows, axes[:, 0]):
        idx = top.indices[unit, :k]
        views = [model_view(info, images[int(i)]) for i in idx]
        h = views[0].shape[0]
        grid, origins = tile(views, k, gap=(0, max(2, h // 7)))
        _imshow(ax, grid)
        ax.text(-h * 0.15, h / 2, name, ha="right", va="center", fontsize=9)
        boxes = top_boxes(model, info, top, unit)
        for j, (y, x) in enumerate(origins):
            if top.map_size is not None:
                draw_box(ax, boxes[j], origin=(y, x))
            if labels is not None and labels[idx[j]] >= 0:
                ax.text(x + h / 2, -1, info.label(int(labels[idx[j]])), ha="center", va="bottom", fontsize=9)
    fig.tight_layout()
    return fig
