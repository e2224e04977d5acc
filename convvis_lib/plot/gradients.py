"""Drawing for :mod:`convvis_lib.gradients`: saliency maps and signed gradient maps, scaled for display.

A saliency map (H, W) is a magnitude: black = 0, bright = large (``inferno``). A raw map (C, H, W) from
``plain``/``deconvnet``/``guided_backprop`` is signed: one channel in red (+) / blue (-) around white 0,
three channels as colour around grey 0. Each map is divided by a high percentile of its magnitude, so a
few extreme pixels do not leave the rest black.
"""
from __future__ import annotations

import torch

from .images import DIVERGING_CMAP, HEATMAP_CMAP


def to_display(grad: torch.Tensor, percentile: float = 99.0) -> torch.Tensor:
    """Show a raw gradient (C, H, W): 0 -> 0.5 grey, +-(percentile of |g|) -> 1 / 0; (H, W) or (H, W, 3)."""
    g = grad.detach().float().cpu()
    scale = torch.quantile(g.abs().flatten(), percentile / 100).clamp_min(1e-12)
    img = (0.5 + 0.5 * g / scale).clamp(0, 1)
    return img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)


def saliency_display(sal: torch.Tensor, percentile: float = 99.0) -> torch.Tensor:
    """Scale a saliency map (H, W) to [0, 1], clipping at the given percentile."""
    s = sal.detach().float().cpu()
    return (s / torch.quantile(s.flatten(), percentile / 100).clamp_min(1e-12)).clamp(0, 1)


def draw_map(ax, m: torch.Tensor, title: str | None = None, percentile: float = 99.0) -> None:
    """One map from :func:`convvis_lib.gradients.method_map` on ``ax``: a saliency map (H, W) in ``inferno``
    (black = 0); a raw map (C, H, W) signed around 0: one channel in ``RdBu_r`` (red +, blue -), three as colour
    (grey = 0)."""
    if m.ndim == 2:
        ax.imshow(saliency_display(m, percentile).numpy(), cmap=HEATMAP_CMAP, vmin=0, vmax=1)
    elif m.shape[0] == 1:
        ax.imshow(2 * to_display(m, percentile).numpy() - 1, cmap=DIVERGING_CMAP, vmin=-1, vmax=1)
    else:
        ax.imshow(to_display(m, percentile).numpy())
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
