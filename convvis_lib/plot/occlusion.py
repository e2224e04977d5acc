"""Drawing for :mod:`convvis_lib.occlusion`: the panels of Zeiler & Fergus (2014), figure 7.

Each ``draw_*`` function draws one panel of an :class:`~convvis_lib.occlusion.OcclusionScan` on a
matplotlib axis: the map's cells are placed at their patch centres over the image
(:func:`~convvis_lib.occlusion.cell_edges`), so a map lines up with the picture it was measured on.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Patch, Rectangle

from ..errors import ConvVisError
from ..models import ModelInfo
from ..occlusion import OcclusionScan, cell_edges, occlusion_windows
from .images import DIVERGING_CMAP, HEATMAP_CMAP, to_numpy

TOP_CLASS_CMAP = "tab10"
PATCH_EDGE = "#ffd400"  # yellow: the mean-colour patch stays visible on grey and black backgrounds


def _image(ax: plt.Axes, image) -> None:
    ax.imshow(image, cmap="gray" if getattr(image, "ndim", 3) == 2 else None)
    ax.axis("off")


def draw_cells(ax: plt.Axes, image, scan: OcclusionScan, cells: torch.Tensor, title: str, colorbar: bool = True,
               **kwargs) -> None:
    """``image`` with a (h', w') map of ``scan``'s cells over it, each cell at its patch centre.

    ``kwargs`` go to ``pcolormesh`` (``cmap``, ``vmin``, ``vmax``, ``alpha``).
    """
    h, w = scan.input_hw
    _image(ax, image)
    im = ax.pcolormesh(cell_edges(w, scan.patch, scan.stride).numpy(), cell_edges(h, scan.patch, scan.stride).numpy(),
                       to_numpy(cells).astype("float32"), **kwargs)
    if colorbar:
        plt.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_title(title, fontsize=9, y=1.0)  # a fixed y skips matplotlib's costly title placement (no ticks here)


def draw_class_probability(ax: plt.Axes, image, scan: OcclusionScan, cls: int, info: ModelInfo | None = None,
                           title: str | None = None) -> None:
    """Panel (paper's d): probability of ``cls`` for each patch position (0..1)."""
    name = info.label(cls) if info is not None else str(cls)
    title = title or f"p({name}): 원래 {scan.base_probs[cls]:.2f}, 최저 {scan.prob(cls).min():.2f}"
    draw_cells(ax, image, scan, scan.prob(cls), title, cmap=HEATMAP_CMAP, vmin=0, vmax=1, alpha=0.9)


def draw_top_class(ax: plt.Axes, image, scan: OcclusionScan, info: ModelInfo | None = None,
                   max_legend: int = 6) -> None:
    """Panel (paper's e): the most probable class for each patch position, with a legend of the classes.

    Colours repeat every 10 classes; the legend lists the first ``max_legend`` classes that occur.
    """
    top = scan.top_class().cpu()
    colours = plt.get_cmap(TOP_CLASS_CMAP)
    draw_cells(ax, image, scan, top % 10, "가장 확률이 높은 클래스", colorbar=False, cmap=colours, vmin=-0.5,
               vmax=9.5, alpha=0.6)
    classes = sorted(set(top.flatten().tolist()))[:max_legend]
    label = info.label if info is not None else str
    ax.legend(handles=[Patch(color=colours(c % 10), label=label(c)) for c in classes], fontsize=9,
              loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(3, len(classes)), frameon=False)


def draw_feature_drop(ax: plt.Axes, image, scan: OcclusionScan, channel: int | None = None) -> None:
    """Panel (paper's b): drop of one channel's total activation (red: the patch lowered it, blue: raised it).

    ``channel`` defaults to the strongest one; the colour scale is symmetric around 0.
    """
    c = scan.strongest_channel() if channel is None else channel
    drop = scan.feature_drop(c)
    lim = float(drop.abs().max()) or 1.0
    draw_cells(ax, image, scan, drop, f"{scan.layer} 채널 {c}의 활성화 감소량", cmap=DIVERGING_CMAP, vmin=-lim,
               vmax=lim, alpha=0.9)


def draw_patch(ax: plt.Axes, image, scan: OcclusionScan, info: ModelInfo | None = None,
               at: tuple[int, int] = (0, 0)) -> None:
    """The input with the patch, in the dataset's mean colour (the default fill), at grid cell ``at``
    (row, column of the maps; the first window by default), outlined so it shows on grey too."""
    rows, cols = scan.probs.shape[:2]
    r, c = at
    if not (0 <= r < rows and 0 <= c < cols):
        raise ConvVisError(f"patch cell {at} is outside the {rows}x{cols} grid of this scan; "
                           f"allowed: rows 0..{rows - 1}, columns 0..{cols - 1}")
    h, w = scan.input_hw
    top = int(occlusion_windows(h, scan.patch, scan.stride)[0][r])
    left = int(occlusion_windows(w, scan.patch, scan.stride)[0][c])
    mean = tuple(info.mean) * (3 // len(info.mean)) if info is not None else (0.5, 0.5, 0.5)
    _image(ax, image)
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), scan.patch, scan.patch, fc=mean, ec=PATCH_EDGE, lw=1.5))
    ax.set_title(f"입력 ({scan.patch}×{scan.patch} 패치, 보폭 {scan.stride})", fontsize=9, y=1.0)


def draw_occlusion_panels(axes, image, scan: OcclusionScan, cls: int, info: ModelInfo | None = None,
                          channel: int | None = None) -> None:
    """The paper's panels on four axes: the image with one patch, p(cls), the top class, the feature drop.

    ``image`` is displayable (``deprocess(info, x)``); the last axis stays empty if the scan has no layer.
    """
    draw_patch(axes[0], image, scan, info)
    draw_class_probability(axes[1], image, scan, cls, info)
    draw_top_class(axes[2], image, scan, info)
    if scan.feature is not None:
        draw_feature_drop(axes[3], image, scan, channel)
    else:
        axes[3].axis("off")
