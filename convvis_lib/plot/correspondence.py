"""Drawing for convvis_lib.correspondence: matched keypoints between two images, one point's similarity map."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import ConnectionPatch

from ..correspondence import Pair, match_points, similarity_map
from .images import HEATMAP_CMAP

GOOD, BAD, TRUTH = "limegreen", "red", "cyan"  # match within the tolerance, outside it, true position


def _show(ax: plt.Axes, img: torch.Tensor, title: str) -> None:
    a = img.detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    ax.imshow(a[..., 0] if a.shape[2] == 1 else a, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def plot_matches(pair: Pair, pred: np.ndarray, tol: float, title: str = "") -> plt.Figure:
    """A and B side by side; each keypoint joined to its predicted match in B, green within ``tol`` pixels
    of the truth, red not; the true positions marked × on B."""
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(6.8, 3.2))
    _show(ax_a, pair.a, "A")
    _show(ax_b, pair.b, "B (× = 정답 위치)")
    ok = np.linalg.norm(pred - pair.truth, axis=1) <= tol
    for p, q, t, good in zip(pair.points, pred, pair.truth, ok):
        color = GOOD if good else BAD
        ax_a.plot(*p, "o", ms=4, color=color)
        ax_b.plot(*q, "o", ms=4, color=color)
        ax_b.plot(*t, "x", ms=4, color=TRUTH)
        fig.add_artist(ConnectionPatch(p, q, "data", "data", axesA=ax_a, axesB=ax_b, color=color, lw=0.6, alpha=0.7))
    fig.suptitle(f"{title}  (초록: {tol:.1f}px 안, {ok.mean():.0%})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_similarity(pair: Pair, feat_a: torch.Tensor, feat_b: torch.Tensor, index: int,
                    title: str = "") -> plt.Figure:
    """Keypoint ``index`` on A; B with the best match (○) and the truth (×); the cosine similarity of that
    point's feature with every position of B (:func:`~convvis_lib.correspondence.similarity_map`)."""
    p, t = pair.points[index], pair.truth[index]
    sim = similarity_map(feat_a, feat_b, p)
    best = match_points(feat_a, feat_b, p[None])[0]
    fig, axes = plt.subplots(1, 3, figsize=(6.8, 2.7))
    _show(axes[0], pair.a, f"A: 점 {index + 1} {tuple(int(v) for v in p)}")
    axes[0].plot(*p, "o", ms=7, mfc="none", mec="yellow", mew=2)
    _show(axes[1], pair.b, "B: ○ 예측, × 정답")
    axes[2].imshow(sim, cmap=HEATMAP_CMAP)
    axes[2].set_title("B 전체와의 코사인 유사도", fontsize=9)
    axes[2].axis("off")
    for ax in axes[1:]:
        ax.plot(*best, "o", ms=7, mfc="none", mec="yellow", mew=2)
        ax.plot(*t, "x", ms=7, color=TRUTH, mew=2)
    fig.suptitle(title, fontsize=10)
    # fixed margins (inches: 0.5 above for the suptitle and the titles) instead of tight_layout: a widget redraws this
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.1 / 2.7, top=1 - 0.5 / 2.7, wspace=0.08)
    return fig
