"""Occlusion sensitivity: slide a grey patch over the image and watch the output.

Zeiler & Fergus (2014), "Visualizing and Understanding Convolutional Networks", ECCV 2014, section 4.2,
https://arxiv.org/abs/1311.2901 (doi:10.1007/978-3-319-10590-1_53). For a patch at position ``(i, j)``
with image ``x_ij`` (pixels under the patch set to ``fill``), the maps are

    p_c(i, j) = softmax(f(x_ij))_c          probability of class c    (the paper's panel d)
    top(i, j) = argmax_c p_c(i, j)          most probable class        (panel e)
    drop(i, j) = sum A_k(x) - sum A_k(x_ij)  loss of feature map k's total activation  (panel b)

The patch (side ``patch``) is placed at the top-left corners ``0, stride, 2*stride, ...`` that keep it
inside the image (as in Captum), **plus one last window flush with the far edge** when the stride
does not land there, so every pixel is occluded at least once (without it the last rows/columns
would never be covered and would read as "no effect"). Along an axis of ``n`` pixels there are
``ceil((n - patch) / stride) + 1`` windows; see :func:`occlusion_windows`. Cell ``(i, j)`` of a map is
the window pair ``(i, j)``; :func:`cell_edges` places cells over the image for drawing and
:func:`cells_to_pixels` turns a map into one value per pixel.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from .errors import ConvVisError
from .hooks import capture_activations, eval_mode
from .models import ModelInfo, get_module
from .preprocess import check_input
from .targets import one_class


@dataclass(frozen=True)
class OcclusionScan:
    """Everything recorded while the patch slid over one image.

    ``probs`` is ``(h', w', K)``: softmax probabilities with the patch at each cell;
    ``base_probs`` ``(K,)`` those of the unoccluded image. ``feature`` is ``(h', w', C)``: the total
    (summed over positions) activation of each channel of ``layer`` under occlusion, and
    ``base_feature`` ``(C,)`` the same for the unoccluded image (both ``None`` without a layer).
    """

    probs: torch.Tensor
    base_probs: torch.Tensor
    feature: torch.Tensor | None
    base_feature: torch.Tensor | None
    layer: str | None
    patch: int
    stride: int
    input_hw: tuple[int, int]

    def prob(self, cls: int) -> torch.Tensor:
        """(h', w') probability of class index ``cls`` for each patch position."""
        return self.probs[..., cls]

    def top_class(self) -> torch.Tensor:
        """(h', w') index of the most probable class for each patch position."""
        return self.probs.argmax(-1)

    def strongest_channel(self) -> int:
        """Channel of ``layer`` with the largest total activation on the unoccluded image."""
        if self.base_feature is None:
            raise ConvVisError("this scan recorded no layer; pass layer=... to occlusion_scan")
        return int(self.base_feature.argmax())

    def feature_drop(self, channel: int | None = None) -> torch.Tensor:
        """(h', w') drop of a channel's total activation (unoccluded minus occluded); positive = patch hurt it."""
        if self.feature is None or self.base_feature is None:
            raise ConvVisError("this scan recorded no layer; pass layer=... to occlusion_scan")
        c = self.strongest_channel() if channel is None else channel
        n = self.feature.shape[-1]
        if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < n:
            raise ConvVisError(f"channel {c!r} out of range for layer {self.layer!r}; allowed: 0..{n - 1}")
        return self.base_feature[c] - self.feature[..., c]

    def to_pixels(self, cells: torch.Tensor) -> torch.Tensor:
        """(H, W) per-pixel version of a (h', w') map of this scan (see :func:`cells_to_pixels`)."""
        return cells_to_pixels(cells, self.patch, self.stride, self.input_hw)


def occlusion_windows(size: int, patch: int, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and stop (exclusive) of each patch window along an axis of ``size`` pixels.

    Starts ``0, stride, 2*stride, ...`` while the patch fits, then ``size - patch`` if the last of
    those does not already end at the edge: with ``stride <= patch`` every pixel lies in a window.
    """
    _check_size("patch", patch, size)
    _check_size("stride", stride, patch, "at most the patch, so that every pixel is occluded")
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    starts = torch.tensor(starts)
    return starts, starts + patch


def _axis_masks(size: int, patch: int, stride: int) -> torch.Tensor:
    """(windows, size) bool: row k is True on the pixels of the k-th window."""
    starts, stops = occlusion_windows(size, patch, stride)
    pix = torch.arange(size)
    return (pix >= starts[:, None]) & (pix < stops[:, None])


def cells_to_pixels(cells: torch.Tensor, patch: int, stride: int, hw: tuple[int, int]) -> torch.Tensor:
    """(H, W) map: each pixel gets the mean of the cells whose patch covered it (every pixel is covered).

    Windows are products of a row window and a column window, so with 0/1 masks ``R`` (h', H) and
    ``C`` (w', W) the sums are ``R^T cells C`` and the counts ``R^T 1 C``.
    """
    rows, cols = (_axis_masks(n, patch, stride).float() for n in hw)
    if tuple(cells.shape) != (len(rows), len(cols)):
        raise ConvVisError(f"map of shape {tuple(cells.shape)} does not fit patch {patch}, stride {stride} on "
                           f"{hw[0]}x{hw[1]} pixels; allowed: shape {(len(rows), len(cols))}")
    sums = rows.T @ cells.detach().float().cpu() @ cols
    return sums / (rows.sum(0)[:, None] * cols.sum(0)[None, :])


def default_patch(info: ModelInfo | None, x: torch.Tensor) -> int:
    """A patch of about 1/7 of the image side (4 px on 28x28, 32 px on 224x224)."""
    return max(1, min(x.shape[-2:]) // 7)


def _check_size(name: str, value: object, limit: int, why: str = "pixels") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ConvVisError(f"{name} {value!r} is not allowed; allowed: an int in 1..{limit} ({why})")
    return value


def _fill_tensor(fill: float | Sequence[float], x: torch.Tensor) -> torch.Tensor:
    """(1, C or 1, 1, 1) fill values on ``x``'s device; one finite number or one per channel."""
    try:
        values = torch.as_tensor(fill, dtype=torch.float64).flatten().tolist()
    except (TypeError, ValueError, RuntimeError):
        values = [math.nan]
    if len(values) not in (1, x.shape[1]) or not all(map(math.isfinite, values)):
        raise ConvVisError(f"fill {fill!r} is not allowed; allowed: one finite number or one per channel "
                           f"({x.shape[1]} values), in normalised units (0 = the dataset mean)")
    return torch.tensor(values, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)


def occluded_copies(x: torch.Tensor, row_masks: torch.Tensor, col_masks: torch.Tensor,
                    fill: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) copies of ``x`` (1, C, H, W), copy b with ``row_masks[b] x col_masks[b]`` set to ``fill``."""
    mask = row_masks[:, None, :, None] & col_masks[:, None, None, :]  # (B, 1, H, W)
    return torch.where(mask, fill, x)


def _channel_totals(act: torch.Tensor) -> torch.Tensor:
    """(B, C, ...) activation -> (B, C) total per channel."""
    return act.flatten(2).sum(-1) if act.ndim > 2 else act


def occlusion_scan(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, layer: str | None = None,
                   patch: int | None = None, stride: int | None = None, fill: float | Sequence[float] = 0.0,
                   batch_size: int = 64, progress: bool = False) -> OcclusionScan:
    """Slide the patch over ``x`` (1, C, H, W); record probabilities (and ``layer``'s channel totals).

    Zeiler & Fergus (2014), section 4.2, https://arxiv.org/abs/1311.2901: with the patch at window
    ``(i, j)`` (mask ``M_ij``), ``x_ij = (1 - M_ij) * x + M_ij * fill`` and ``probs[i, j] = softmax(f(x_ij))``.
    The clean image and every window (module docstring) go through the model in batches of
    ``batch_size`` copies. ``fill`` is in normalised units, so the default 0 is the dataset mean colour;
    ``stride`` defaults to half the patch; ``progress`` shows a tqdm bar. Runs in eval mode.
    """
    check_input(info, x, model)
    if len(x) != 1:
        raise ConvVisError(f"occlusion works on one image at a time; got a batch of {len(x)} (use x[i:i+1])")
    h, w = x.shape[-2:]
    patch = _check_size("patch", default_patch(info, x) if patch is None else patch, min(h, w))
    stride = _check_size("stride", max(1, patch // 2) if stride is None else stride, patch,
                         "at most the patch, so that every pixel is occluded")
    batch_size = _check_size("batch_size", batch_size, 1 << 20)
    if layer is not None:
        get_module(model, info, layer)  # validate the name before any work
    fill_t = _fill_tensor(fill, x)
    rows, cols = _axis_masks(h, patch, stride).to(x.device), _axis_masks(w, patch, stride).to(x.device)
    gh, gw = len(rows), len(cols)
    # item 0: the clean image (empty masks); items 1..: the positions, row by row
    item_rows = torch.cat([torch.zeros_like(rows[:1]), rows.repeat_interleave(gw, 0)])
    item_cols = torch.cat([torch.zeros_like(cols[:1]), cols.repeat(gh, 1)])
    logits, feats = [], []
    with eval_mode(model), torch.inference_mode(), capture_activations(model, info, [layer] if layer else []) as acts:
        for i in _progress(range(0, len(item_rows), batch_size), progress, batch_size):
            batch = occluded_copies(x, item_rows[i:i + batch_size], item_cols[i:i + batch_size], fill_t)
            logits.append(model(batch).float())
            if layer:
                feats.append(_channel_totals(acts[layer]).float())
    probs = torch.cat(logits).softmax(-1)
    feature = torch.cat(feats) if layer else None
    return OcclusionScan(probs[1:].view(gh, gw, -1), probs[0], feature[1:].view(gh, gw, -1) if layer else None,
                         feature[0] if layer else None, layer, patch, stride, (h, w))


def _progress(batches: range, show: bool, batch_size: int):
    """``batches``, wrapped in a tqdm bar counted in images when ``show``."""
    if not show:
        return batches
    from tqdm.auto import tqdm
    return tqdm(batches, unit="batch", desc=f"occlusion ({batch_size} images per batch)")


def occlusion_map(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: int | str,
                  patch: int | None = None, stride: int | None = None, fill: float | Sequence[float] = 0.0,
                  batch_size: int = 64, progress: bool = False) -> torch.Tensor:
    """(h', w') probability of class ``target`` (index or name) with the patch at each cell."""
    cls = one_class(info, target)
    scan = occlusion_scan(model, info, x, None, patch, stride, fill, batch_size, progress)
    if cls >= scan.probs.shape[-1]:
        raise ConvVisError(f"class index {cls} out of range; allowed: 0..{scan.probs.shape[-1] - 1}")
    return scan.prob(cls)


def occlusion_top_class(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, patch: int | None = None,
                        stride: int | None = None, fill: float | Sequence[float] = 0.0, batch_size: int = 64,
                        progress: bool = False) -> torch.Tensor:
    """(h', w') index of the most probable class with the patch at each cell."""
    return occlusion_scan(model, info, x, None, patch, stride, fill, batch_size, progress).top_class()


def occlusion_feature_drop(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, layer: str,
                           channel: int | None = None, patch: int | None = None, stride: int | None = None,
                           fill: float | Sequence[float] = 0.0, batch_size: int = 64,
                           progress: bool = False) -> tuple[torch.Tensor, int]:
    """Drop of one channel's total activation in ``layer`` per patch position, and that channel.

    ``channel`` defaults to the strongest channel on the unoccluded image (as in the paper).
    """
    scan = occlusion_scan(model, info, x, layer, patch, stride, fill, batch_size, progress)
    c = scan.strongest_channel() if channel is None else channel
    return scan.feature_drop(c), c


def cell_edges(size: int, patch: int, stride: int) -> torch.Tensor:
    """(windows + 1,) pixel coordinates of the cell boundaries along one axis, to draw a map over its image.

    Each cell is centred on its window's centre (pixel centres are integers); boundaries lie halfway
    between neighbouring centres and half a spacing beyond the outer ones, so a regular grid gives
    cells ``stride`` pixels wide and the extra edge window a narrower last cell.
    """
    centres = occlusion_windows(size, patch, stride)[0].double() + (patch - 1) / 2
    gaps = centres.diff() if len(centres) > 1 else torch.tensor([float(stride)], dtype=torch.float64)
    return torch.cat([centres[:1] - gaps[:1] / 2, (centres[:-1] + centres[1:]) / 2, centres[-1:] + gaps[-1:] / 2])

