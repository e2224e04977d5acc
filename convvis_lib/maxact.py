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
from .hooks import capture_activations, default_batch_size, eval_mode, model_device
from .models import ModelInfo, get_module
from .preprocess import check_input, deprocess, preprocess
from .receptive_field import Box, receptive_field

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


def image_batches(info: ModelInfo, images: Sequence, indices: Sequence[int] | None = None,
                  batch_size: int | None = None,
                  device: torch.device | str | None = None) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
    """Yield ``(x, ids)``: preprocessed batches of ``images[ids]``, made lazily one batch at a time
    (``batch_size`` default: :func:`hooks.default_batch_size` for the model's input size)."""
    ids = np.arange(len(images)) if indices is None else np.asarray(indices, dtype=np.int64)
    batch_size = batch_size or default_batch_size(info.input_size)
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


def spread_layers(info: ModelInfo, count: int = 4) -> list[str]:
    """``count`` layers evenly spread from the first to the last hidden one (the logits layer is left out):
    the layers whose units chapter 2 compares, shallow to deep."""
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
