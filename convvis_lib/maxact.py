"""Images that maximally activate a unit (Girshick et al., R-CNN), found in one streaming pass.

The score of an image for a unit is the unit's activation; for a conv layer it
is the maximum over spatial positions, and the position is kept so the
receptive field can be drawn. A *direction* ``v`` in a layer's channel space
generalises a unit (a unit is a one-hot ``v``): the score is ``max_pos <a_pos, v>``.
Szegedy et al. (2014) showed that random directions give top images just as
coherent as single units do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .errors import ConvVisError
from .hooks import capture_activations, eval_mode, model_device
from .models import ModelInfo, get_module
from .preprocess import check_input, deprocess, preprocess
from .receptive_field import Box, crop_box, receptive_field

Batches = Iterable[tuple[torch.Tensor, np.ndarray]]


@dataclass(frozen=True)
class TopK:
    """The ``k`` best images of every unit (or direction) of one layer, best first.

    ``scores``, ``indices``: ``(units, k)``; ``positions``: ``(units, k, 2)`` row and
    column in the activation map where the maximum was (``-1`` for FC layers).
    """

    layer: str
    scores: np.ndarray
    indices: np.ndarray
    positions: np.ndarray
    map_size: tuple[int, int] | None

    @property
    def num_units(self) -> int:
        return self.scores.shape[0]

    @property
    def k(self) -> int:
        return self.scores.shape[1]


def unit_scores(act: torch.Tensor, directions: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores ``(N, U)`` and flat argmax positions ``(N, U)`` of an activation batch.

    ``act`` is ``(N, C, H, W)`` (conv) or ``(N, C)`` (FC). Without ``directions``
    each channel is a unit; with ``directions`` ``(U, C)`` the score is the
    projection onto each row. Conv scores are maxima over positions.
    """
    if directions is not None:
        if directions.ndim != 2 or directions.shape[1] != act.shape[1]:
            raise ConvVisError(f"directions must have shape (U, {act.shape[1]}) for this layer; "
                               f"got {tuple(directions.shape)}")
        act = torch.einsum("nc...,uc->nu...", act, directions.to(act))
    if act.ndim == 2:
        return act, torch.full_like(act, -1, dtype=torch.long)
    if act.ndim != 4:
        raise ConvVisError(f"expected an activation of shape (N, C) or (N, C, H, W); got {tuple(act.shape)}")
    return act.flatten(2).max(dim=2)


class RunningTopK:
    """Keep the ``k`` largest scores per unit while batches stream past (ties: earlier image first)."""

    def __init__(self, k: int) -> None:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ConvVisError(f"k must be a positive integer; got {k!r}")
        self.k = int(k)
        self.scores: torch.Tensor | None = None  # (U, <=k)
        self.ids = self.where = None

    def update(self, scores: torch.Tensor, ids: torch.Tensor, where: torch.Tensor) -> None:
        """Merge a batch: ``scores``, ``where`` ``(N, U)``; ``ids`` ``(N,)`` dataset indices."""
        s, w = scores.T.float().cpu(), where.T.cpu()
        i = ids.cpu().expand(s.shape[0], -1)
        if self.scores is not None:
            s, i, w = torch.cat([self.scores, s], 1), torch.cat([self.ids, i], 1), torch.cat([self.where, w], 1)
        order = torch.sort(s, dim=1, descending=True, stable=True).indices[:, :self.k]
        self.scores, self.ids, self.where = s.gather(1, order), i.gather(1, order), w.gather(1, order)


def image_batches(info: ModelInfo, images: Sequence, indices: Sequence[int] | None = None, batch_size: int = 256,
                  device: torch.device | str | None = None) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
    """Yield ``(x, ids)``: preprocessed batches of ``images[ids]``, made lazily one batch at a time."""
    ids = np.arange(len(images)) if indices is None else np.asarray(indices, dtype=np.int64)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        x = preprocess(info, [images[int(j)] for j in chunk])
        yield (x.to(device) if device is not None else x), chunk


def tensor_batches(x: torch.Tensor, ids: Sequence[int] | None = None,
                   batch_size: int = 256) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
    """Split a normalised batch ``x`` into ``(x_chunk, ids_chunk)`` pieces."""
    ids = np.arange(len(x)) if ids is None else np.asarray(ids, dtype=np.int64)
    if len(ids) != len(x):
        raise ConvVisError(f"ids has {len(ids)} entries but x has {len(x)} images")
    for start in range(0, len(x), batch_size):
        yield x[start:start + batch_size], ids[start:start + batch_size]


def top_k(model: nn.Module, info: ModelInfo, data: torch.Tensor | Batches, layers: str | Sequence[str],
          k: int = 9, directions: dict[str, torch.Tensor] | None = None,
          batch_size: int = 256) -> TopK | dict[str, TopK]:
    """Top-``k`` images of every unit of each layer, in one streaming pass over ``data``.

    ``data`` is a normalised batch ``x`` (split into ``batch_size`` chunks) or an
    iterable of ``(x, ids)`` (see :func:`image_batches`); only a running top-k is
    kept, never all activations. ``directions`` maps a layer to ``(U, C)`` rows
    used instead of its channels. Returns one :class:`TopK` for a single layer
    name, else a dict.
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    directions = directions or {}
    for name in directions:
        if name not in names:
            raise ConvVisError(f"directions given for layer {name!r}, which is not scanned; scanned: {names}")
    batches = tensor_batches(data, batch_size=batch_size) if isinstance(data, torch.Tensor) else data
    running = {n: RunningTopK(k) for n in names}
    sizes: dict[str, tuple[int, int] | None] = {}
    device = model_device(model)
    with eval_mode(model), torch.inference_mode(), capture_activations(model, info, names) as acts:
        for x, ids in batches:
            check_input(info, x, model)
            model(x.to(device))
            for n in names:
                scores, where = unit_scores(acts[n], directions.get(n))
                running[n].update(scores, torch.as_tensor(np.asarray(ids)), where)
                sizes[n] = tuple(acts[n].shape[2:]) if acts[n].ndim == 4 else None
    if not sizes:
        raise ConvVisError("no images to scan (empty data)")
    out = {n: _finish(n, running[n], sizes[n]) for n in names}
    return out[names[0]] if isinstance(layers, str) else out


def _finish(layer: str, run: RunningTopK, size: tuple[int, int] | None) -> TopK:
    where = run.where.numpy()
    if size is None:
        pos = np.full((*where.shape, 2), -1, dtype=np.int64)
    else:
        pos = np.stack([where // size[1], where % size[1]], axis=-1)
    return TopK(layer, run.scores.numpy(), run.ids.numpy(), pos, size)


def random_directions(num_channels: int, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` random unit vectors ``(count, num_channels)`` (Gaussian, seeded)."""
    if num_channels < 1 or count < 1:
        raise ConvVisError(f"num_channels and count must be positive; got {num_channels}, {count}")
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(count, num_channels, generator=gen)
    return v / v.norm(dim=1, keepdim=True)


def layer_shape(model: nn.Module, info: ModelInfo, layer: str) -> tuple[int, ...]:
    """Shape of one image's activation at ``layer``: ``(C, H, W)`` or ``(C,)`` (one forward pass on zeros)."""
    get_module(model, info, layer)
    device = model_device(model)
    with eval_mode(model), torch.inference_mode(), capture_activations(model, info, layer) as acts:
        model(torch.zeros((1, *info.input_size), device=device))
    return tuple(acts[layer].shape[1:])


def suggested_layers(info: ModelInfo, count: int = 4) -> list[str]:
    """``count`` layers evenly spread from the first to the last hidden one (the logits layer is left out)."""
    hidden = info.layer_names[:-1]
    picks = np.linspace(0, len(hidden) - 1, min(count, len(hidden))).round().astype(int)
    return [hidden[i] for i in dict.fromkeys(picks)]


def class_purity(labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Per unit (row of ``indices``): the share of its top images that carry its most common label."""
    lab = np.asarray(labels)[np.asarray(indices)]
    counts = np.stack([np.bincount(row, minlength=int(np.max(labels)) + 1) for row in lab])
    return counts.max(axis=1) / lab.shape[1]


def top_boxes(model: nn.Module, info: ModelInfo, top: TopK, unit: int) -> list[Box]:
    """Receptive-field boxes (in model-input pixels) of ``unit``'s top images."""
    if not 0 <= unit < top.num_units:
        raise ConvVisError(f"unit {unit} out of range for layer {top.layer!r}; allowed: 0..{top.num_units - 1}")
    rf = receptive_field(model, info, top.layer)
    hw = info.input_size[1:]
    if top.map_size is None:
        return [rf.box(0, 0, hw)] * top.k
    return [rf.box(int(r), int(c), hw) for r, c in top.positions[unit]]


def model_view(info: ModelInfo, image) -> np.ndarray:
    """The image as the model sees it (resized/cropped), for drawing boxes in model-input pixels."""
    return deprocess(info, preprocess(info, image))


# --- plotting -------------------------------------------------------------------------------

def draw_box(ax, box: Box, color: str = "red", linewidth: float = 1.5, origin: tuple[int, int] = (0, 0)) -> None:
    """Outline the inclusive pixel box ``(top, left, bottom, right)`` on an ``imshow`` axis,
    shifted by ``origin`` (the tile's top-left corner in a mosaic)."""
    from matplotlib.patches import Rectangle
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
    import matplotlib.pyplot as plt
    k = top.k if k is None else min(k, top.k)
    idx, scores = top.indices[unit, :k], top.scores[unit, :k]
    views = [model_view(info, images[int(i)]) for i in idx]
    h, ncols = views[0].shape[0], min(ncols, k)
    spatial = top.map_size is not None
    with_hist = labels is not None and np.min(labels) >= 0
    rows = [1.25 * np.ceil(k / ncols)] * (2 if spatial else 1)
    cell = min(0.85, (6.8 - 2.0 * with_hist) / ncols)  # inches per image
    rows = [r * cell / 1.25 for r in rows]
    fig = plt.figure(figsize=(cell * ncols + 2.0 * with_hist, max(sum(rows) + 0.6, 2.6 * with_hist)))
    gs = fig.add_gridspec(len(rows), 1 + with_hist, height_ratios=rows,
                          width_ratios=[cell * ncols, 2.0] if with_hist else None)
    ax = fig.add_subplot(gs[0, 0])
    grid, origins = tile(views, ncols, gap=(int(h * 0.4), max(2, h // 14)))
    _imshow(ax, grid)
    for j, (y, x) in enumerate(origins):
        ax.text(x + h / 2, y - 1, f"{scores[j]:.2f}", ha="center", va="bottom", fontsize=9)
    if spatial:
        boxes, cuts = _field_patches(model, info, top, unit, views)
        for box, origin in zip(boxes, origins):
            draw_box(ax, box, origin=origin)
        _imshow(fig.add_subplot(gs[1, 0]), tile(cuts, ncols, gap=(max(2, cuts[0].shape[0] // 6),) * 2)[0])
    if with_hist:
        _class_histogram(fig.add_subplot(gs[:, 1]), info, labels, idx)
    fig.suptitle(title or f"{top.layer} 유닛 {unit}: 가장 강하게 활성화한 이미지 {k}장", fontsize=10)
    return fig


def plot_top_rows(model: nn.Module, info: ModelInfo, images: Sequence, rows: Sequence[tuple[str, TopK, int]],
                  k: int = 8, labels: np.ndarray | None = None):
    """One row per ``(row_label, top, unit)``: the unit's top ``k`` images with receptive-field boxes
    (class names above them when ``labels`` are given)."""
    import matplotlib.pyplot as plt
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
