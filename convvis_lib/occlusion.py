"""Occlusion sensitivity (Zeiler & Fergus, 2014): slide a patch over the image and watch the output.

The patch (side ``patch``) is placed at the top-left corners ``0, stride, 2*stride, ...`` that keep it
inside the image, as in the paper and in Captum, so maps have ``(H - patch) // stride + 1`` rows and
``(W - patch) // stride + 1`` columns; cell ``(i, j)`` is the patch whose top-left pixel is
``(i*stride, j*stride)``. :func:`map_extent` places a map over the image, each cell at its patch centre.

All occluded copies are built batch-wise with one broadcast mask and one ``torch.where``; one
scan gives the three panels of the paper: the probability of a class, the most probable class,
and the total activation of one feature map, each as a function of the patch position.
"""
from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConvVisError
from .hooks import capture_activations, eval_mode
from .models import ModelInfo, get_module
from .preprocess import checked_input
from .targets import one_class

PROGRESS_MIN_PIXELS = 96 * 96  # inputs at least this large (ImageNet) get a progress bar by default
PREBUILT_BYTES = 16 << 20  # all occluded copies built at once when they fit in this (28x28: 626 copies = 2 MB)


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


def cells_to_pixels(cells: torch.Tensor, patch: int, stride: int, hw: tuple[int, int]) -> torch.Tensor:
    """(H, W) map: each pixel gets the mean of the cells whose patch covered it (0 where none did)."""
    gh, gw = (len(occlusion_windows(n, patch, stride)[0]) for n in hw)
    if tuple(cells.shape) != (gh, gw):
        raise ConvVisError(f"map of shape {tuple(cells.shape)} does not fit patch {patch}, stride {stride} on "
                           f"{hw[0]}x{hw[1]} pixels; allowed: shape {(gh, gw)}")
    values = cells.float().reshape(1, 1, gh * gw).expand(1, patch * patch, gh * gw)
    sums = F.fold(values, hw, patch, stride=stride)[0, 0]
    counts = F.fold(torch.ones_like(values), hw, patch, stride=stride)[0, 0]
    return torch.where(counts > 0, sums / counts.clamp_min(1), torch.zeros_like(sums))


def default_patch(info: ModelInfo | None, x: torch.Tensor) -> int:
    """A patch of about 1/7 of the image side (4 px on 28x28, 32 px on 224x224)."""
    return max(1, min(x.shape[-2:]) // 7)


def _check_size(name: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ConvVisError(f"{name} {value!r} is not allowed; allowed: an int in 1..{limit} (pixels)")
    return value


def occlusion_windows(size: int, patch: int, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and stop (exclusive) of the patch along one axis: ``(size - patch) // stride + 1`` windows."""
    starts = torch.arange(0, size - patch + 1, stride)
    return starts, starts + patch


def _axis_masks(size: int, patch: int, stride: int) -> torch.Tensor:
    """(cells + 1, size) bool on the CPU: row k covers the k-th window; the extra last row covers nothing."""
    starts, stops = occlusion_windows(size, patch, stride)
    pix = torch.arange(size)
    masks = (pix[None] >= starts[:, None]) & (pix[None] < stops[:, None])
    return torch.cat([masks, torch.zeros(1, size, dtype=torch.bool)])


class ScanMasks(NamedTuple):
    """Per-item masks of one scan grid (see :func:`_scan_masks`)."""

    rows: torch.Tensor
    cols: torch.Tensor
    full: torch.Tensor | None


@functools.lru_cache(maxsize=8)
def _scan_masks(h: int, w: int, patch: int, stride: int, device: torch.device) -> ScanMasks:
    """Row and column masks of every item of a scan, on ``device`` (cached: a widget rescans the same grid).

    Item 0 is the clean image (the all-False extra mask row), items 1.. the patch positions in
    row-major order; ``full`` is the (items, 1, H, W) mask itself where all copies are prebuilt.
    Read-only: callers slice them, never write.
    """
    rows, cols = _axis_masks(h, patch, stride), _axis_masks(w, patch, stride)
    gh, gw = len(rows) - 1, len(cols) - 1
    row_idx = torch.cat([torch.tensor([gh]), torch.arange(gh).repeat_interleave(gw)])
    col_idx = torch.cat([torch.tensor([gw]), torch.arange(gw).repeat(gh)])
    rows, cols = rows[row_idx].to(device), cols[col_idx].to(device)
    small = len(rows) * h * w * 4 <= PREBUILT_BYTES  # float32 copies of one channel fit
    full = rows[:, None, :, None] & cols[:, None, None, :] if small else None
    return ScanMasks(rows, cols, full)


def _fill_tensor(fill: float | Sequence[float], x: torch.Tensor) -> torch.Tensor:
    """(1, C or 1, 1, 1) fill values on ``x``'s device, checked on the CPU (no GPU round trip)."""
    try:
        values = tuple(torch.as_tensor(fill, dtype=torch.float64).flatten().tolist())
    except (TypeError, ValueError, RuntimeError):
        values = (math.nan,)
    if len(values) not in (1, x.shape[1]) or not all(map(math.isfinite, values)):
        raise ConvVisError(f"fill {fill!r} is not allowed; allowed: one finite number or one per channel "
                           f"({x.shape[1]} values), in normalised units (0 = the dataset mean)")
    return _fill_on(values, x.device, x.dtype)


@functools.lru_cache(maxsize=8)
def _fill_on(values: tuple[float, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, device=device).view(1, -1, 1, 1)


def occluded_copies(x: torch.Tensor, row_masks: torch.Tensor, col_masks: torch.Tensor,
                    fill: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """(B, C, H, W) copies of ``x`` (1, C, H, W), copy b with ``row_masks[b] x col_masks[b]`` set to ``fill``.

    ``out``, if given, is a (B, C, H, W) buffer to write into (reused across batches: no new allocation).
    """
    mask = row_masks[:, None, :, None] & col_masks[:, None, None, :]
    return torch.where(mask, fill, x) if out is None else torch.where(mask, fill, x, out=out)


def _channel_totals(act: torch.Tensor) -> torch.Tensor:
    """(B, C, ...) activation -> (B, C) total per channel."""
    return act.flatten(2).sum(-1) if act.ndim > 2 else act


def occlusion_scan(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, layer: str | None = None,
                   patch: int | None = None, stride: int | None = None, fill: float | Sequence[float] = 0.0,
                   batch_size: int = 64, progress: bool | None = None) -> OcclusionScan:
    """Slide the patch over ``x`` (1, C, H, W) and record probabilities (and ``layer``'s channel totals).

    ``fill`` is in normalised units, so the default 0 is the dataset mean colour. ``stride``
    defaults to half the patch. ``progress`` shows a tqdm bar; by default only for inputs of at
    least 96x96 pixels. Runs in eval mode under ``torch.inference_mode``.
    """
    with checked_input(info, x, model):  # on a GPU the NaN/Inf test is read at the end (no round trip)
        if len(x) != 1:
            raise ConvVisError(f"occlusion works on one image at a time; got a batch of {len(x)} (use x[i:i+1])")
        h, w = x.shape[-2:]
        patch = _check_size("patch", default_patch(info, x) if patch is None else patch, min(h, w))
        stride = _check_size("stride", max(1, patch // 2) if stride is None else stride, min(h, w))
        batch_size = _check_size("batch_size", batch_size, 1 << 20)
        if layer is not None:
            get_module(model, info, layer)  # validate the name before any work
        gh, gw = len(occlusion_windows(h, patch, stride)[0]), len(occlusion_windows(w, patch, stride)[0])
        probs, feats = _run_scan(model, info, x, layer, _scan_masks(h, w, patch, stride, x.device),
                                 _fill_tensor(fill, x), batch_size,
                                 (h * w >= PROGRESS_MIN_PIXELS) if progress is None else progress)
    feature = feats[1:].view(gh, gw, -1) if feats is not None else None
    return OcclusionScan(probs[1:].view(gh, gw, -1), probs[0], feature,
                         feats[0] if feats is not None else None, layer, patch, stride, (h, w))


def _run_scan(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, layer: str | None, masks: ScanMasks,
              fill: torch.Tensor, batch_size: int, progress: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Forward the occluded copies batch by batch; return (items, K) probabilities and (items, C) totals.

    Small inputs (all copies within :data:`PREBUILT_BYTES`, e.g. 28x28) get every copy built by one
    ``torch.where`` up front, so each batch is a plain slice, as in a bare forward loop (on a GPU the
    per-batch masking launches would otherwise cost as much as the tiny model); larger ones reuse one
    batch buffer, so memory stays at one batch of copies.
    """
    n = len(masks.rows)
    prebuilt = n * x[0].numel() * x.element_size() <= PREBUILT_BYTES
    logits, feats = [], []
    with eval_mode(model), torch.inference_mode(), \
            capture_activations(model, info, [layer] if layer else []) as acts, _progress(n, progress) as bar:
        if prebuilt:
            copies = (torch.where(masks.full, fill, x) if masks.full is not None
                      else occluded_copies(x, masks.rows, masks.cols, fill))
        else:
            buffer = torch.empty((min(batch_size, n), *x.shape[1:]), dtype=x.dtype, device=x.device)
        for i in range(0, n, batch_size):
            if prebuilt:
                batch = copies[i:i + batch_size]
            else:
                rows, cols = masks.rows[i:i + batch_size], masks.cols[i:i + batch_size]
                batch = occluded_copies(x, rows, cols, fill, out=buffer[:len(rows)])
            out = model(batch)
            logits.append(out if out.dtype == torch.float32 else out.float())
            if layer:  # reduced now, before the buffer is overwritten by the next batch
                feats.append(_channel_totals(acts[layer]).float())
            if bar is not None:
                bar.update(len(batch))
    return torch.cat(logits).softmax(-1), (torch.cat(feats) if layer else None)


def _progress(total: int, show: bool):
    """A tqdm bar over ``total`` images, or a no-op context (no tqdm object at all) when not shown."""
    if not show:
        return contextlib.nullcontext()
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="img", desc="occlusion")


def occlusion_map(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: int | str,
                  patch: int | None = None, stride: int | None = None, fill: float | Sequence[float] = 0.0,
                  batch_size: int = 64, progress: bool | None = None) -> torch.Tensor:
    """(h', w') probability of class ``target`` (index or name) with the patch centred on each cell."""
    cls = one_class(info, target)
    scan = occlusion_scan(model, info, x, None, patch, stride, fill, batch_size, progress)
    if cls >= scan.probs.shape[-1]:
        raise ConvVisError(f"class index {cls} out of range; allowed: 0..{scan.probs.shape[-1] - 1}")
    return scan.prob(cls)


def occlusion_top_class(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, patch: int | None = None,
                        stride: int | None = None, fill: float | Sequence[float] = 0.0, batch_size: int = 64,
                        progress: bool | None = None) -> torch.Tensor:
    """(h', w') index of the most probable class with the patch centred on each cell."""
    return occlusion_scan(model, info, x, None, patch, stride, fill, batch_size, progress).top_class()


def occlusion_feature_drop(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, layer: str,
                           channel: int | None = None, patch: int | None = None, stride: int | None = None,
                           fill: float | Sequence[float] = 0.0, batch_size: int = 64,
                           progress: bool | None = None) -> tuple[torch.Tensor, int]:
    """Drop of one channel's total activation in ``layer`` per patch position, and that channel.

    ``channel`` defaults to the strongest channel on the unoccluded image (as in the paper).
    """
    scan = occlusion_scan(model, info, x, layer, patch, stride, fill, batch_size, progress)
    c = scan.strongest_channel() if channel is None else channel
    return scan.feature_drop(c), c


def map_extent(shape: tuple[int, int], patch: int, stride: int) -> tuple[float, float, float, float]:
    """``imshow`` extent (left, right, bottom, top) that centres each cell of a map on its patch."""
    gh, gw = shape
    first = (patch - 1) / 2 - stride / 2  # pixel centres are integers, edges at -0.5
    return (first, first + gw * stride, first + gh * stride, first)


# ----------------------------------------------------------------------------- drawing (matplotlib)

def _show(ax, image, scan: OcclusionScan, cells, title: str, colorbar: bool = True, **kwargs) -> None:
    """``image`` in grey/colour with a map of ``scan``'s cells over it, each at its patch centre."""
    import matplotlib.pyplot as plt
    h, w = scan.input_hw
    cells = cells.detach().cpu().float().numpy() if isinstance(cells, torch.Tensor) else cells
    ax.imshow(image, cmap="gray" if getattr(image, "ndim", 3) == 2 else None)
    im = ax.imshow(cells, extent=map_extent(tuple(cells.shape), scan.patch, scan.stride), **kwargs)
    if colorbar:
        plt.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_title(title, fontsize=9, y=1.0)  # a fixed y skips matplotlib's costly title placement (no ticks here)
    ax.axis("off")


def draw_class_probability(ax, image, scan: OcclusionScan, cls: int, info: ModelInfo | None = None,
                           title: str | None = None) -> None:
    """Panel: probability of ``cls`` for each patch position (0..1, ``inferno``)."""
    name = info.label(cls) if info is not None else str(cls)
    title = title or f"p({name}): 원래 {scan.base_probs[cls]:.2f}, 최저 {scan.prob(cls).min():.2f}"
    _show(ax, image, scan, scan.prob(cls).cpu(), title, cmap="inferno", vmin=0, vmax=1, alpha=0.9)


def draw_top_class(ax, image, scan: OcclusionScan, info: ModelInfo | None = None, max_legend: int = 6) -> None:
    """Panel: the most probable class for each patch position, with a legend of the classes that occur."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    top = scan.top_class().cpu()
    colours = plt.get_cmap("tab10")
    _show(ax, image, scan, top % 10, "가장 확률이 높은 클래스", colorbar=False, cmap=colours, vmin=-0.5,
          vmax=9.5, alpha=0.6, interpolation="nearest")
    classes = sorted(set(top.flatten().tolist()))[:max_legend]
    label = info.label if info is not None else str
    ax.legend(handles=[Patch(color=colours(c % 10), label=label(c)) for c in classes], fontsize=7,
              loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(3, len(classes)), frameon=False)


def draw_feature_drop(ax, image, scan: OcclusionScan, channel: int | None = None) -> None:
    """Panel: drop of one channel's total activation (red: the patch lowered it, blue: raised it)."""
    c = scan.strongest_channel() if channel is None else channel
    drop = scan.feature_drop(c).cpu()
    lim = float(drop.abs().max()) or 1.0
    _show(ax, image, scan, drop, f"{scan.layer} 채널 {c}의 활성화 감소량", cmap="RdBu_r", vmin=-lim, vmax=lim,
          alpha=0.9)


def draw_occlusion_panels(axes, image, scan: OcclusionScan, cls: int, info: ModelInfo | None = None,
                          channel: int | None = None) -> None:
    """The paper's panels on four axes: the image with one patch, p(cls), the top class, the feature drop.

    ``image`` is displayable (``deprocess(info, x)``); the first panel draws one patch in the dataset's
    mean colour (the default fill); the last axis stays empty if the scan has no layer.
    """
    from matplotlib.patches import Rectangle
    mean = tuple(info.mean) * (3 // len(info.mean)) if info is not None else (0.5, 0.5, 0.5)
    ax = axes[0]
    ax.imshow(image, cmap="gray" if getattr(image, "ndim", 3) == 2 else None)
    ax.add_patch(Rectangle((-0.5, -0.5), scan.patch, scan.patch, color=mean, ec="w", lw=0.5))
    ax.set_title(f"입력 ({scan.patch}×{scan.patch} 패치, 간격 {scan.stride})", fontsize=9, y=1.0)
    ax.axis("off")
    draw_class_probability(axes[1], image, scan, cls, info)
    draw_top_class(axes[2], image, scan, info)
    if scan.feature is not None:
        draw_feature_drop(axes[3], image, scan, channel)
    else:
        axes[3].axis("off")
