"""Plotting helpers: Korean font, image and filter grids, heatmap overlays."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager

KOREAN_FONT = "NanumGothic"
HEATMAP_CMAP = "inferno"
DIVERGING_CMAP = "RdBu_r"


def korean_font_path() -> Path | None:
    """NanumGothic.ttf shipped by the ``koreanize-matplotlib`` package (found without importing it)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "NanumGothic.ttf"
    return path if path.is_file() else None


def setup_korean_font() -> str:
    """Register NanumGothic and make it matplotlib's default (DejaVu Sans for missing glyphs like U+2212)."""
    path = korean_font_path()
    if path is None:
        raise RuntimeError("NanumGothic not found: `pip install koreanize-matplotlib` (it ships the font)")
    font_manager.fontManager.addfont(str(path))
    matplotlib.rcParams["font.family"] = [KOREAN_FONT, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = True
    matplotlib.rcParams["axes.titley"] = 1.0  # fixed title position: skips a costly layout search per axes
    return KOREAN_FONT


def _to_numpy(a) -> np.ndarray:
    return a.detach().cpu().float().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def normalize(a, per_item: bool = False) -> np.ndarray:
    """Scale to [0, 1]: over the whole array, or each item (first axis) on its own."""
    a = _to_numpy(a).astype(np.float32)
    axes = tuple(range(1, a.ndim)) if per_item else None
    lo, hi = a.min(axis=axes, keepdims=True), a.max(axis=axes, keepdims=True)
    return (a - lo) / np.maximum(hi - lo, 1e-12)


def image_grid(images: Sequence, titles: Sequence[str] | None = None, ncols: int = 8,
               cmap: str = "gray", size: float = 1.4, suptitle: str | None = None,
               vmin: float | None = None, vmax: float | None = None) -> plt.Figure:
    """Show images (HxW or HxWx3 each) in a grid with optional titles."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.1 + (0.4 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_to_numpy(images[i]), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def filter_grid(weights, normalization: str = "per_filter", ncols: int = 16, size: float = 0.6,
                title: str | None = None) -> plt.Figure:
    """Show conv filters (out, in, kh, kw). RGB filters are shown in colour, others channel-averaged.

    ``normalization`` is ``"per_filter"`` (each filter stretched to [0, 1]) or
    ``"shared"`` (one scale for all, so magnitudes compare).
    """
    if normalization not in ("per_filter", "shared"):
        raise ValueError(f"unknown normalization {normalization!r}; allowed: 'per_filter', 'shared'")
    w = _to_numpy(weights)
    if w.ndim != 4:
        raise ValueError(f"expected conv weights (out, in, kh, kw); got shape {w.shape}")
    w = w.transpose(0, 2, 3, 1) if w.shape[1] == 3 else w.mean(axis=1)
    w = normalize(w, per_item=normalization == "per_filter")
    return image_grid(list(w), ncols=ncols, size=size, suptitle=title)


def heatmap_overlay(ax: plt.Axes, image, heatmap, alpha: float = 0.5, cmap: str = HEATMAP_CMAP,
                    title: str | None = None) -> None:
    """Draw ``image`` with ``heatmap`` (any size; stretched over the image) on top."""
    img = _to_numpy(image)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    h, w = img.shape[:2]
    ax.imshow(_to_numpy(heatmap), cmap=cmap, alpha=alpha, extent=(-0.5, w - 0.5, h - 0.5, -0.5),
              interpolation="bilinear")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)


def activation_grid(act, ncols: int = 16, size: float = 0.7, title: str | None = None, max_maps: int = 64) -> plt.Figure:
    """Show the channels of one activation (C, H, W) with a shared scale (black = 0)."""
    a = _to_numpy(act)[:max_maps]
    vmax = float(a.max()) if a.size and a.max() > 0 else 1.0
    return image_grid(list(a), ncols=ncols, size=size, suptitle=title, cmap="gray", vmin=0.0, vmax=vmax)
